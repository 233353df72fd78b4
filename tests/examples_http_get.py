#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/http_get against a small HTTP server of its own on loopback.

    examples_http_get.py HTTP_GET

What a user of a command-line HTTP client relies on: the response on
stdout byte for byte (a body framed by Content-Length, larger than any
buffer, and one that runs to the close), exit status 0 only when all of it
was written; 1 with a message naming the host and port when the
connection is refused, the body is cut short of its Content-Length (also
one too large to hold in memory) or the Content-Length is not a number;
1 with "write error" when stdout is full; the way SIGPIPE ends a program
when stdout is a closed pipe; a long path sent whole; 2 for a port that is
no port and a path that would break the request line.
"""
import os
import socket
import subprocess
import sys
import threading

from checks import check, status
from fallback import without_fallback

GET = os.path.abspath(sys.argv[1])
BIG = os.urandom(3 << 20)

HEAD_OK = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n"
PAGES = {
    "/big": HEAD_OK % len(BIG) + BIG,
    "/close": b"HTTP/1.0 200 OK\r\n\r\n" + BIG,
    "/short": b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
    "/huge": b"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999\r\n\r\nbody",
    "/neg": b"HTTP/1.0 200 OK\r\nContent-Length: -5\r\n\r\nbody",
}


def serve(conn):
    """One request: the page for its path (a path not listed: its own
    length and last bytes as the body); after /big and those the
    connection stays open until the client closes it (keep-alive)."""
    with conn:
        req = b""
        while b"\r\n\r\n" not in req:
            data = conn.recv(65536)
            if not data:
                return
            req += data
        path = req.split(b" ")[1].decode()
        page = PAGES.get(path)
        if page is None:
            body = b"%d %s" % (len(path), path[-8:].encode())
            page = HEAD_OK % len(body) + body
        try:
            conn.sendall(page)
            if path == "/big" or path not in PAGES:
                conn.settimeout(30)
                conn.recv(1)  # until the client closes
        except OSError:
            pass


def accept(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def get(args, shell_tail="", trap=""):
    """Runs http_get with args, stdout through shell_tail (a redirection
    or a pipe) when given; (status, stdout, stderr)."""
    cmd = " ".join([trap, GET] + [f"'{a}'" for a in args]) + " " + shell_tail
    if shell_tail.startswith("|"):
        cmd += "; exit ${PIPESTATUS[0]}"
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=60)
    return p.returncode, p.stdout, without_fallback(p.stderr)


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = str(listener.getsockname()[1])
    threading.Thread(target=accept, args=(listener,), daemon=True).start()

    rc, out, err = get(["127.0.0.1", port, "/big"])
    check(rc == 0 and out == PAGES["/big"] and not err,
          f"/big (Content-Length, keep-alive): exit {rc}, the bytes "
          f"({len(out)} of {len(PAGES['/big'])}), {err!r}")
    rc, out, err = get(["127.0.0.1", port, "/close"])
    check(rc == 0 and out == PAGES["/close"] and not err,
          f"/close (to the end of the stream): exit {rc}, the bytes "
          f"({len(out)} of {len(PAGES['/close'])}), {err!r}")
    for path in ("/short", "/huge"):
        rc, out, err = get(["127.0.0.1", port, path])
        check(rc == 1 and out == PAGES[path] and
              err.startswith(b"http_get: reading from 127.0.0.1 port " +
                             port.encode()) and b"incomplete" in err,
              f"{path} (cut short of its Content-Length): exit {rc}, "
              f"{err!r}")
    rc, out, err = get(["127.0.0.1", port, "/neg"])
    check(rc == 1 and b"bad Content-Length" in err,
          f"/neg (Content-Length: -5): exit {rc}, {err!r}")
    long_path = "/" + "a" * 5000 + "/the-end"
    rc, out, err = get(["127.0.0.1", port, long_path])
    check(rc == 0 and out.endswith(b"%d /the-end" % len(long_path)),
          f"a path of {len(long_path)} bytes, sent whole: exit {rc}, "
          f"{out[-20:]!r} {err!r}")

    # Stdout that cannot take the response.
    rc, out, err = get(["127.0.0.1", port, "/big"], "> /dev/full")
    check(rc == 1 and err.startswith(b"http_get: write error: ENOSPC"),
          f"> /dev/full: exit {rc}, {err!r}")
    rc, out, err = get(["127.0.0.1", port, "/big"], "| head -c 10")
    check(rc == 141 and out == PAGES["/big"][:10] and not err,
          f"| head -c 10: ended by SIGPIPE (exit {rc}), quietly ({err!r})")
    rc, out, err = get(["127.0.0.1", port, "/big"], "| head -c 10",
                       trap="trap '' PIPE;")
    check(rc == 1 and err.startswith(b"http_get: write error: EPIPE"),
          f"| head -c 10, SIGPIPE ignored: exit {rc}, {err!r}")

    # Connections that fail, arguments that are wrong.
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    closed_port = str(free.getsockname()[1])
    free.close()
    rc, out, err = get(["127.0.0.1", closed_port, "/"])
    check(rc == 1 and err.startswith(
        b"http_get: connecting to 127.0.0.1 port " + closed_port.encode() +
        b": ECONNREFUSED"), f"a refused port: exit {rc}, {err!r}")
    for args, what in ((["127.0.0.1", "99999", "/"], "port 99999"),
                       (["127.0.0.1", "80x", "/"], "port 80x"),
                       (["127.0.0.1", port, "/a b"], "a space in the path"),
                       (["127.0.0.1", port, "/a\r\nX: y"], "CRLF in the path"),
                       (["127.0.0.1"], "no port")):
        rc, out, err = get(args)
        check(rc == 2 and out == b"" and err,
              f"{what}: refused, exit {rc}, {err!r}")
    return status()


if __name__ == "__main__":
    sys.exit(main())
