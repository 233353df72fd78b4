#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The examples where io_uring is refused: they run on epoll.

    examples_noring.py NORING EXAMPLES_DIR PEERS_DIR

Under `noring ENOSYS` and `noring EPERM` (a seccomp filter refusing
io_uring_setup, io_uring_enter and io_uring_register): the seed programs
print what they print on io_uring, cp copies a file byte for byte, a child
process is waited for, the echo server passes the peers' check_server.py
(when it is there), and each run logs one line naming epoll.  Exit 77 when
seccomp is not available.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

from checks import check, status

NORING, EX = sys.argv[1], os.path.abspath(sys.argv[2])
PEERS = sys.argv[3] if len(sys.argv) > 3 else ""
SEEDS = ["seed_hello", "seed_countasync", "seed_gather_many",
         "seed_subprocess_exec", "seed_subprocess_shell"]
LINE = b"coring: using the epoll backend: "


def run(argv, err=None, **kw):
    env = dict(os.environ)
    env.pop("COR_BACKEND", None)
    cmd = [NORING, err, *argv] if err else argv
    return subprocess.run(cmd, capture_output=True, env=env, timeout=60, **kw)


probe = run(["true"], "ENOSYS")
if probe.returncode == 77:
    print("seccomp is not available here")
    sys.exit(77)

for err in ("ENOSYS", "EPERM"):
    for seed in SEEDS:
        want = run([os.path.join(EX, seed)])
        got = run([os.path.join(EX, seed)], err)
        check(got.returncode == want.returncode == 0,
              f"{err} {seed}: exit {got.returncode}")
        if "subprocess" not in seed and "rand" not in seed:
            check(got.stdout == want.stdout, f"{err} {seed}: same output")
        check(LINE in got.stderr, f"{err} {seed}: the log line names epoll")
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
        data = os.urandom(5 << 20)
        with open(src, "wb") as f:
            f.write(data)
        got = run([os.path.join(EX, "cp"), src, dst], err)
        with open(dst, "rb") as f:
            same = f.read() == data
        check(got.returncode == 0 and same, f"{err} cp: byte-exact copy")
        check(LINE in got.stderr, f"{err} cp: the log line names epoll")
    check_py = os.path.join(PEERS, "check_server.py") if PEERS else ""
    for mode in ("echo", "http"):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        env = dict(os.environ)
        env.pop("COR_BACKEND", None)
        srv = subprocess.Popen([NORING, err, os.path.join(EX, "echo_server"),
                                mode, str(port), "2"], env=env,
                               stderr=subprocess.PIPE)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        if os.path.exists(check_py):
            r = subprocess.run([sys.executable, check_py, mode, str(port)],
                               capture_output=True, timeout=120)
            check(r.returncode == 0, f"{err} echo_server {mode}: "
                  f"check_server.py {r.stdout[-200:]!r}")
        else:
            c = socket.create_connection(("127.0.0.1", port), 5)
            req = (b"ping\n" if mode == "echo" else
                   b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            c.sendall(req)
            check(len(c.recv(4096)) > 0, f"{err} echo_server {mode}: reply")
            c.close()
        srv.terminate()
        _, serr = srv.communicate(timeout=30)
        check(LINE in serr, f"{err} echo_server {mode}: log line")

sys.exit(status())
