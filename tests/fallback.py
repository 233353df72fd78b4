# SPDX-License-Identifier: MIT
"""The one line a coring program logs where io_uring is refused, for the
test drivers that compare what a program writes on stderr.

Where io_uring_setup is refused (a seccomp filter such as tests/noring's,
a kernel without io_uring) and no backend is forced, an automatic runtime
runs on epoll and logs, once per cor_run:

    coring: using the epoll backend: io_uring_setup: ENAME: the cause

without_fallback() drops exactly those lines -- when they name the refusal
seen here -- and keeps every other, so an exact comparison still fails on
anything else; first_line() reads a server's first line past it.
"""
import ctypes
import errno
import os

_NR_IO_URING_SETUP = 425  # the same number on every architecture
_NAMES = {errno.ENOSYS: "ENOSYS", errno.EPERM: "EPERM", errno.ENOMEM: "ENOMEM"}
_refused = []


def refused():
    """io_uring_setup's errno name here ("ENOSYS", "EPERM", "ENOMEM"), or
    None when it works (or fails otherwise)."""
    if not _refused:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        params = ctypes.create_string_buffer(120)  # struct io_uring_params
        fd = libc.syscall(ctypes.c_long(_NR_IO_URING_SETUP), ctypes.c_uint(2),
                          params)
        if fd >= 0:
            os.close(fd)
            _refused.append(None)
        else:
            _refused.append(_NAMES.get(ctypes.get_errno()))
    return _refused[0]


def _line_head():
    """The start of the fallback line expected here, or None."""
    if os.environ.get("COR_BACKEND", "auto") not in ("", "auto"):
        return None  # forced: no fallback, no line
    name = refused()
    if not name:
        return None
    return f"coring: using the epoll backend: io_uring_setup: {name}: "


def without_fallback(data):
    """data (bytes or str, a program's stderr) without the fallback line."""
    head = _line_head()
    if head is None:
        return data
    if isinstance(data, bytes):
        head = head.encode()
    return type(data)().join(
        line for line in data.splitlines(keepends=True)
        if not line.startswith(head))


def first_line(stream):
    """The first line read from a binary stream (a server's stderr), as str,
    past the fallback line."""
    line = stream.readline()
    if without_fallback(line) == b"" and line:
        line = stream.readline()
    return line.decode(errors="replace")
