#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/echo_server stops gracefully on SIGTERM and SIGINT.

    examples_drain.py SERVER

For each mode (echo, http) and each signal, on 2 loops: one client has
read its reply and is idle (keep-alive), another has a reply the server
sent but the client has not read yet.  After the signal both read what
the server sent and then the end of the stream (a FIN), never a reset;
new connections are refused; the server exits 0 saying nothing was cut.
"""
import re
import select
import signal
import socket
import subprocess
import sys

from fallback import first_line, without_fallback

REQ = {"http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "echo": b"ping\n"}


def read_until_eof(s):
    data = b""
    while True:
        chunk = s.recv(65536)  # raises ConnectionResetError on a reset
        if not chunk:
            return data
        data += chunk


def reply_len(mode, data):
    if mode == "echo":
        return len(REQ["echo"])
    head, sep, _ = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    m = re.search(rb"Content-Length: (\d+)", head)
    return len(head) + 4 + int(m.group(1))


def read_reply(mode, s):
    data = b""
    while True:
        n = reply_len(mode, data)
        if n is not None and len(data) >= n:
            return data
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit(f"{mode}: connection closed before the reply")
        data += chunk


def run(server, mode, sig):
    proc = subprocess.Popen([server, mode, "0", "2"], stderr=subprocess.PIPE)
    line = first_line(proc.stderr)
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    port = int(m.group(1))
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    idle.sendall(REQ[mode])
    read_reply(mode, idle)
    unread = socket.create_connection(("127.0.0.1", port), timeout=10)
    unread.sendall(REQ[mode])
    # The server has answered once the reply is readable here (not read).
    if not select.select([unread], [], [], 10)[0]:
        raise SystemExit(f"{mode}: no reply within 10 s")
    proc.send_signal(sig)
    try:
        rest = read_until_eof(idle)
        got = read_until_eof(unread)
    except ConnectionResetError as e:
        proc.kill()
        raise SystemExit(f"{mode} {sig.name}: reset instead of a clean "
                         f"close: {e}")
    if rest != b"":
        raise SystemExit(f"{mode} {sig.name}: idle client got {rest!r}")
    if reply_len(mode, got) != len(got):
        raise SystemExit(f"{mode} {sig.name}: unread reply was {got!r}")
    rc = proc.wait(timeout=10)
    err = without_fallback(proc.stderr.read()).decode()
    if rc != 0 or "drained (0 connection(s) cut)" not in err:
        raise SystemExit(f"{mode} {sig.name}: exit {rc}, stderr {err!r}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        raise SystemExit(f"{mode} {sig.name}: still accepting after exit")
    except ConnectionRefusedError:
        pass
    idle.close()
    unread.close()
    print(f"{mode} {sig.name}: replies then EOF, exit 0")


def main():
    server = sys.argv[1]
    for mode in ("echo", "http"):
        for sig in (signal.SIGTERM, signal.SIGINT):
            run(server, mode, sig)


if __name__ == "__main__":
    main()
