#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""examples/cp and examples/cat against coreutils' cp and cat.

    examples_files.py EXAMPLES_DIR [SANITIZE]

Each case runs the example and the coreutils tool on the same fresh files
and compares what a user sees: the exit status, the bytes written to stdout
and to the destination, and the messages (which name the file and the
reason).  Cases: a file copied onto itself (also through a hard link and
into its own directory), /proc/cpuinfo and a FIFO (sizes that say nothing),
a missing source, a directory, a full device, the copy into a directory;
cat with a missing file between two good ones, a directory, stdin and "-",
a closed pipe (cat ... | head), a full stdout and an input that is stdout
itself (cat f >> f); cp into a pipe (the chunks in order) and onto a
name that means the source only once the source is open (/dev/stdout with
stdout closed: the source must not be truncated), a sparse file copied
with its holes.  cp's own checks: bad
DEPTH and CHUNK_KIB, a worker that cannot get its buffer (a memory limit):
exit 1, a message, and no partial destination left.
"""
import os
import resource
import shutil
import subprocess
import sys
import tempfile

from checks import check, status
from fallback import without_fallback

EX = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build/examples")
SANITIZED = len(sys.argv) > 2 and sys.argv[2] not in ("", "none")
BIG = os.urandom(3 << 20)


def setup(d):
    with open(os.path.join(d, "f"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(d, "a"), "w") as f:
        f.write("a\n")
    with open(os.path.join(d, "b"), "w") as f:
        f.write("b\n")
    with open(os.path.join(d, "big"), "wb") as f:
        f.write(BIG)
    os.link(os.path.join(d, "f"), os.path.join(d, "hard"))
    os.mkdir(os.path.join(d, "dir"))
    os.mkfifo(os.path.join(d, "fifo"))


def run(argv, d, stdin=None):
    p = subprocess.run(argv, cwd=d, input=stdin, capture_output=True,
                       timeout=60)
    return p.returncode, p.stdout, without_fallback(p.stderr)


def files(d):
    out = {}
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out[os.path.relpath(p, d)] = f.read()
    return out


def same(what, cmd, stdin=None, feed_fifo=None):
    """Runs the bash command cmd ({cp} and {cat} stand for the programs)
    with the examples and with coreutils' tools, each in a fresh directory;
    compares exit status, stdout, stderr and the files left."""
    seen = []
    ex = EX
    for progs in ({"cp": ex + "/cp", "cat": ex + "/cat"},
                  {"cp": "cp", "cat": "cat"}):
        d = tempfile.mkdtemp(prefix="coring-ex-")
        try:
            setup(d)
            feeder = None
            if feed_fifo:
                feeder = subprocess.Popen(f"cat {feed_fifo} > fifo", cwd=d,
                                          shell=True)
            r = run(["bash", "-c", cmd.format(**progs)], d, stdin)
            r = (r[0], r[1], r[2].replace(ex.encode() + b"/", b""))
            seen.append(r + (files(d),))
            if feeder:
                feeder.wait(timeout=60)
        finally:
            shutil.rmtree(d)
    (erc, eout, eerr, efiles), (crc, cout, cerr, cfiles) = seen
    check(erc == crc, f"{what}: exit {erc} (coreutils {crc})")
    check(eout == cout, f"{what}: same stdout ({len(eout)} bytes)")
    check(eerr == cerr, f"{what}: same message {eerr!r} (coreutils {cerr!r})")
    check(efiles == cfiles, f"{what}: same files afterwards")


def cp_cases():
    same("cp f f", "{cp} f f")
    same("cp f hard (a hard link)", "{cp} f hard")
    same("cp ./f . (into its own directory)", "{cp} ./f .")
    same("cp /proc/cpuinfo x", "{cp} /proc/cpuinfo x")
    same("cp big y", "{cp} big y")
    same("cp big dir (into a directory)", "{cp} big dir")
    same("cp fifo y", "{cp} fifo y", feed_fifo="a big")
    same("cp nofile y", "{cp} nofile y")
    same("cp dir y", "{cp} dir y")
    same("cp f /dev/full", "{cp} f /dev/full")
    same("cp f nodir/y", "{cp} f nodir/y")
    # A pipe has no offsets: the chunks must reach it in order.
    same("cp big /dev/stdout (a pipe)", "{cp} big /dev/stdout")

    cp = os.path.join(EX, "cp")
    d = tempfile.mkdtemp(prefix="coring-ex-")
    try:
        setup(d)
        for args in (["64", "-1"], ["64", "0"], ["0"], ["-3"], ["x"],
                     ["64", "1k"], ["5000"]):
            rc, _, err = run([cp, "f", "y"] + args, d)
            check(rc == 2 and b"bad" in err and not os.path.exists(
                os.path.join(d, "y")), f"cp f y {' '.join(args)}: refused")
        # Many small chunks in flight, to a pipe: still in order.
        p = subprocess.run(f"{cp} big /dev/stdout 64 4 | cat", shell=True,
                           cwd=d, capture_output=True, timeout=60)
        check(p.returncode == 0 and p.stdout == BIG,
              "cp big /dev/stdout 64 4 | cat: the bytes in order")
        # With stdout closed, /dev/stdout names the source once it is
        # open (fd 1): refused, the source left whole (coreutils refuses
        # too: a dangling symlink).
        rc, _, err = run(["bash", "-c", f"{cp} big /dev/stdout >&-"], d)
        with open(os.path.join(d, "big"), "rb") as f:
            check(rc == 1 and f.read() == BIG and b"same file" in err,
                  f"cp big /dev/stdout >&-: exit {rc}, big intact, {err!r}")
        # A sparse file (8 MiB: a byte at 3 MiB, the rest holes) copied
        # sparse as coreutils copies it: the same bytes, the same size, not
        # 8 MiB of zeros on disk (at most one 256 KiB chunk written, or
        # what the source takes where the file system makes no holes).
        sparse, copy = os.path.join(d, "sparse"), os.path.join(d, "sparse2")
        with open(sparse, "wb") as f:
            f.truncate(8 << 20)
            f.seek(3 << 20)
            f.write(b"x")
        rc, _, _ = run([cp, "sparse", "sparse2"], d)
        with open(sparse, "rb") as a, open(copy, "rb") as b:
            same_bytes = a.read() == b.read()
        used = os.stat(copy).st_blocks * 512
        most = max(256 << 10, os.stat(sparse).st_blocks * 512)
        check(rc == 0 and same_bytes and os.path.getsize(copy) == 8 << 20 and
              used <= most, f"cp sparse: exit {rc}, the same bytes, "
              f"{used} bytes used on disk (at most {most})")
        # Chunks of 64 MiB copy the file...
        rc, _, _ = run([cp, "big", "z", "3", "65536"], d)
        with open(os.path.join(d, "big"), "rb") as a, \
                open(os.path.join(d, "z"), "rb") as b:
            check(rc == 0 and a.read() == b.read(), "cp big z 3 65536: a copy")
        # ... but under a 512 MiB address-space limit: the workers
        # that cannot get a buffer fail, and so does the copy.  (Sanitizers
        # reserve terabytes of address space: no limit can be set there.)
        if SANITIZED:
            return

        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
        p = subprocess.run([cp, "big", "y", "64", "65536"], cwd=d,
                           capture_output=True, preexec_fn=limit, timeout=60)
        check(p.returncode == 1, f"failing workers: exit {p.returncode}")
        err = without_fallback(p.stderr)
        check(err.startswith(b"cp: ") and b"big" in err and
              b"memory" in err, f"failing workers: message {err!r}")
        check(not os.path.exists(os.path.join(d, "y")),
              "failing workers: no partial destination left")
    finally:
        shutil.rmtree(d)


def cat_cases():
    same("cat a nofile b", "{cat} a nofile b")
    same("cat dir a", "{cat} dir a")
    same("cat nofile", "{cat} nofile")
    same("cat < stdin", "{cat}", stdin=b"from stdin\n")
    same("cat a - b", "{cat} a - b", stdin=b"dash\n")
    same("cat /proc/self/limits", "{cat} /proc/self/limits")
    # A closed pipe ends cat the way SIGPIPE does (status 141), quietly.
    same("cat big big | head -c 10",
         "{cat} big big big | head -c 10; exit ${{PIPESTATUS[0]}}")
    # With SIGPIPE ignored, cat says so (coreutils does too).
    same("cat big big | head -c 10, SIGPIPE ignored",
         "trap '' PIPE; {cat} big big | head -c 10; exit ${{PIPESTATUS[0]}}")
    same("cat a > /dev/full", "{cat} a > /dev/full")
    # A file that is stdout, with bytes left to read, is refused: it would
    # grow until the disk is full (ulimit -f bounds a cat that does not).
    same("cat f >> f", "ulimit -f 1024; {cat} f >> f")
    same("cat a f b >> f", "ulimit -f 1024; {cat} a f b >> f")
    same("cat - < f >> f", "ulimit -f 1024; {cat} - < f >> f")
    same("cat f 1<> f", "ulimit -f 1024; {cat} f 1<> f")
    same("cat f > f (nothing left to read)", "{cat} f > f")
    same("read; cat >> f, from f's end", "(read x; {cat} >> f) < f")


def main():
    if not shutil.which("cp") or not shutil.which("cat"):
        print("coreutils' cp and cat are needed")
        return 77
    cp_cases()
    cat_cases()
    return status()


if __name__ == "__main__":
    sys.exit(main())
