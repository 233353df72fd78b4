#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/echo_server in http mode, spoken to as HTTP clients speak.

    examples_http.py SERVER raw|tools

raw: over plain sockets: HTTP/1.0 with and without keep-alive, Connection:
close, bodies framed by Content-Length (one holding a blank line, one
larger than the server's buffer), pipelining in order, HEAD, Expect:
100-continue, 400 for malformed requests, 431 for an oversized head, 501
for Transfer-Encoding, and the idle timeout closing a connection whose
request line never ended.  tools: ab -k, plain ab, h2load --h1, and wrk
with "Connection: close" must finish every request without an error (exit
77, skipped, when none of them is installed).  raw also checks the
arguments: a PORT or LOOPS that is not a number in range exits 2, a port
in use exits 1 with the reason.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from fallback import first_line, without_fallback

IDLE = 1.0  # the server's idle timeout in this test, seconds
HELLO = b"Hello, World!"


class Server:
    def __init__(self, path, loops):
        self.proc = subprocess.Popen([path, "http", "0", loops, str(IDLE)],
                                     stderr=subprocess.PIPE)
        line = first_line(self.proc.stderr)
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not m:
            self.proc.kill()
            raise SystemExit(f"server did not start: {line!r}")
        self.port = int(m.group(1))

    def stop(self):
        """Stops the server; what it wrote on stderr, None if it died."""
        alive = self.proc.poll() is None
        self.proc.terminate()
        self.proc.wait(timeout=10)
        err = without_fallback(self.proc.stderr.read()).decode(
            errors="replace")
        sys.stdout.write(err)
        return err if alive else None


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, buf, head_only=False):
    """One response from s (buf: bytes already read); (status, headers,
    body, rest).  status None when the connection closed first."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return None, {}, b"", buf
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    status = int(lines[0].split()[1])
    assert lines[0].startswith("HTTP/1.1 "), lines[0]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head_only or status == 100 else int(headers["content-length"])
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed inside a body")
        buf += chunk
    return status, headers, buf[:n], buf[n:]


def closed(s, within=5.0):
    """True if the server closes s (EOF or reset) within the time."""
    s.settimeout(within)
    try:
        while True:
            if not s.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


GET11 = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def raw_cases(port):
    # HTTP/1.0 without keep-alive: the reply says close, then the server closes.
    s = connect(port)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    st, h, body, rest = read_response(s, b"")
    check(st == 200 and body == HELLO and h.get("connection") == "close",
          "HTTP/1.0 gets 200 and Connection: close")
    check(closed(s, 5) and rest == b"", "HTTP/1.0 connection closed after reply")
    s.close()

    # HTTP/1.0 keep-alive: said back, and the connection serves again.
    s = connect(port)
    req = b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
    s.sendall(req)
    st, h, body, rest = read_response(s, b"")
    check(st == 200 and h.get("connection") == "keep-alive",
          "HTTP/1.0 keep-alive is said back")
    s.sendall(req)
    st, h, body, rest = read_response(s, rest)
    check(st == 200 and body == HELLO, "HTTP/1.0 keep-alive serves again")
    s.close()

    # HTTP/1.1 Connection: close, pipelined with a request after it.
    s = connect(port)
    s.sendall(GET11 + b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
              + GET11)
    st1, h1, _, rest = read_response(s, b"")
    st2, h2, _, rest = read_response(s, rest)
    check(st1 == 200 and "connection" not in h1 and st2 == 200 and
          h2.get("connection") == "close", "HTTP/1.1 Connection: close said back")
    check(rest == b"" and closed(s, 5),
          "nothing answered after Connection: close, then closed")
    s.close()

    # Bodies framed by Content-Length, not by blank lines.
    s = connect(port)
    body = b"a\r\n\r\nGET / HTTP/1.1\r\n\r\n"
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body + GET11)
    st1, _, _, rest = read_response(s, b"")
    st2, _, _, rest = read_response(s, rest)
    s.settimeout(0.3)
    try:
        extra = s.recv(65536)
    except socket.timeout:
        extra = b""
    check(st1 == 200 and st2 == 200 and rest + extra == b"",
          "a body holding a blank line is one request (2 replies, not 3)")
    # A body larger than the buffer, in pieces, then a request after it.
    big = b"x" * 100000
    s.settimeout(10)
    s.sendall(b"PUT /u HTTP/1.1\r\nHost: t\r\ncontent-length:  %d \r\n\r\n"
              % len(big))
    for i in range(0, len(big), 7000):
        s.sendall(big[i:i + 7000])
    s.sendall(GET11)
    st1, _, _, rest = read_response(s, b"")
    st2, _, _, rest = read_response(s, rest)
    check(st1 == 200 and st2 == 200 and rest == b"",
          "a 100 kB body in pieces, then the next request")
    s.close()

    # Pipelining: replies in order (HEAD has no body), many in one write.
    s = connect(port)
    head = b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
    s.sendall((GET11 + head) * 100)
    rest = b""
    ok = True
    for i in range(200):
        st, h, body, rest = read_response(s, rest, head_only=(i % 2 == 1))
        ok = ok and st == 200 and body == (b"" if i % 2 else HELLO)
    check(ok and rest == b"", "200 pipelined GET/HEAD answered in order")
    # Expect: 100-continue gets 100 before the body is sent.
    s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
              b"Content-Length: 5\r\n\r\n")
    st, _, _, rest = read_response(s, rest)
    check(st == 100, "Expect: 100-continue gets 100 Continue")
    s.sendall(b"hello")
    st, _, body, rest = read_response(s, rest)
    check(st == 200 and body == HELLO, "then the reply once the body came")
    s.close()

    # Bad requests: a 400 (or 431, 501) and the connection closes.
    bad = [
        (b"garbage\r\n\r\n", 400, "garbage"),
        (b"\x00\x01\x02\xff\r\n\r\n", 400, "binary bytes"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host"),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 400, "an unknown version"),
        (b"GET  HTTP/1.1\r\nHost: t\r\n\r\n", 400, "no target"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nno colon\r\n\r\n", 400,
         "a field without a colon"),
        (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400, "a space before the colon"),
        (b"GET / HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", 400, "a folded line"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n", 400,
         "a Content-Length that is no number"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
         b"Content-Length: 2\r\n\r\nab", 400, "two different Content-Lengths"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400,
         "a negative Content-Length"),
        (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
         b"0\r\n\r\n", 501, "Transfer-Encoding"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 20000 + b"\r\n\r\n", 431,
         "a 20 kB header"),
        (b"GET /" + b"a" * 20000, 431, "a 20 kB request line"),
        # Malformed before its line ends: answered at once, not when idle.
        (b"GET /\x01", 400, "a control byte in the target, no line end yet"),
        (b"GET / HTTX", 400, "an unknown protocol, no line end yet"),
        (b"GET / HTTP/1.1\r\nHo st", 400, "a space in a field name, no colon yet"),
    ]
    for req, want, what in bad:
        s = connect(port)
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            st, h, _, _ = read_response(s, b"")
        except ConnectionResetError:
            st, h = None, {}
        check(st == want and h.get("connection") == "close",
              f"{what}: {want} and Connection: close (got {st})")
        check(closed(s, 5), f"{what}: then closed")
        s.close()

    # Idle timeout: a request line without CRLF, and an idle keep-alive
    # connection, are closed after about IDLE seconds, not before.
    s1 = connect(port)
    s1.sendall(b"GET / HTTP/1.1")
    s2 = connect(port)
    s2.sendall(GET11)
    read_response(s2, b"")
    t0 = time.monotonic()
    check(closed(s1, 20 * IDLE), "a request line without CRLF: closed when idle")
    took = time.monotonic() - t0
    check(took >= 0.9 * IDLE, f"... not before the timeout ({took:.2f} s)")
    check(closed(s2, 20 * IDLE), "an idle keep-alive connection: closed")
    s1.close()
    s2.close()
    # A connection in use is not closed by the timeout.
    s = connect(port)
    rest = b""
    end = time.monotonic() + 2.5 * IDLE
    ok = True
    while time.monotonic() < end:
        s.sendall(GET11)
        st, _, _, rest = read_response(s, rest)
        ok = ok and st == 200
        time.sleep(IDLE / 10)
    check(ok, "a connection in use for 2.5 timeouts stays open")
    s.close()


def run_tool(what, argv, checks, forbid=()):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{what}: no end within 60 s (a hang)")
    out = p.stdout + p.stderr
    print(f"--- {' '.join(argv)}\n{out.strip()}")
    check(p.returncode == 0, f"{what}: exit 0")
    for pat in checks:
        check(re.search(pat, out, re.M), f"{what}: /{pat}/")
    for pat in forbid:
        check(not re.search(pat, out, re.M), f"{what}: no /{pat}/")


def tool_cases(port):
    url = f"http://127.0.0.1:{port}/"
    ran = 0
    if shutil.which("ab"):
        run_tool("ab -k", ["ab", "-q", "-s", "20", "-k", "-n", "2000", "-c", "10",
                           url],
                 [r"^Complete requests:\s+2000$", r"^Failed requests:\s+0$",
                  r"^Keep-Alive requests:\s+2000$"])
        run_tool("ab", ["ab", "-q", "-s", "20", "-n", "500", "-c", "10", url],
                 [r"^Complete requests:\s+500$", r"^Failed requests:\s+0$"])
        ran += 1
    if shutil.which("h2load"):
        run_tool("h2load --h1", ["h2load", "--h1", "-n", "2000", "-c", "10", url],
                 [r"2000 succeeded, 0 failed, 0 errored", r"status codes: 2000 2xx"])
        ran += 1
    if shutil.which("wrk"):
        run_tool("wrk Connection: close",
                 ["wrk", "-t", "1", "-c", "10", "-d", "1s", "--timeout", "5s",
                  "-H", "Connection: close", url],
                 [r"[1-9]\d* requests in"], [r"Non-2xx", r"Socket errors"])
        ran += 1
    if not ran:
        print("none of ab, h2load, wrk is installed")
        sys.exit(77)


def arg_cases(path):
    """PORT and LOOPS are numbers in range, all of them: else exit 2 and
    a message, nothing served (atoi made "abc" port 0, a free port)."""
    for args in (["abc", "1"], ["8080x", "1"], ["", "1"], ["70000", "1"],
                 ["0", "1x"], ["0", "0"], ["0", "99999"]):
        try:
            p = subprocess.run([path, "echo"] + args, capture_output=True,
                               timeout=5)
            rc, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:  # killed: it was serving
            rc, err = None, b""
        check(rc == 2 and b"bad PORT" in err,
              f"echo_server echo {' '.join(args)}: exit {rc}, {err!r}")
    # A port taken by a listener without SO_REUSEPORT: exit 1, the reason.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    p = subprocess.run([path, "echo", port, "1"], capture_output=True,
                       timeout=10)
    taken.close()
    err = without_fallback(p.stderr)
    check(p.returncode == 1 and err == b"echo_server: cannot serve on port "
          + port.encode() + b": EADDRINUSE: Address already in use\n",
          f"a port in use: exit {p.returncode}, {err!r}")


def main():
    # raw: two loops, so two listeners and two idle sweepers share the work
    server = Server(sys.argv[1], "2" if sys.argv[2] == "raw" else "1")
    try:
        if sys.argv[2] == "raw":
            arg_cases(sys.argv[1])
        (raw_cases if sys.argv[2] == "raw" else tool_cases)(server.port)
    except AssertionError as e:
        print(f"FAIL: {e}")
        server.stop()
        return 1
    err = server.stop()
    if err is None or "Sanitizer" in err:
        print("FAIL: the server died or a sanitizer reported")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
