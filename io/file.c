/* SPDX-License-Identifier: MIT */
/*
 * file.c - file operations: open, read/write (positional or at the current
 * offset), readv/writev, fsync, statx, close, and the directory operations.
 * Each is one op whose record lives on the caller's stack; arguments are
 * checked before the op starts, so a bad call costs no kernel traffic.
 */
#include "io_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/stat.h>

/*
 * O_DIRECT reads and writes are submitted as they come rather than with the
 * loop iteration's batch: the kernel plugs the block requests of one
 * io_uring_enter and dispatches them together at its end, and on the virtio
 * disk of docs/api-io.md that batch ran at 0.80x the rate of requests
 * submitted one by one (fio's default).  Buffered IO stays batched: a page
 * cache hit completes inside the enter, and a syscall per read would cost
 * more than it gives.  Which fds are O_DIRECT is cached per thread (each loop
 * is a thread): F_GETFL on first use, set by cor_open, dropped by cor_close.
 * A stale entry (a raw close(2), the fd number reused) only costs speed.
 */
enum { KIND_UNKNOWN, KIND_DIRECT, KIND_BUFFERED, KIND_FDS = 1024 };
static __thread unsigned char fd_kind[KIND_FDS];

static bool fd_direct(int fd)
{
    if (fd >= KIND_FDS)
        return false;
    if (cor__unlikely(fd_kind[fd] == KIND_UNKNOWN)) {
        int fl = fcntl(fd, F_GETFL);
        fd_kind[fd] = fl >= 0 && (fl & O_DIRECT) ? KIND_DIRECT : KIND_BUFFERED;
    }
    return fd_kind[fd] == KIND_DIRECT;
}

static void fd_kind_set(int fd, unsigned char kind)
{
    if (fd >= 0 && fd < KIND_FDS)
        fd_kind[fd] = kind;
}

/* The wait of a read or write: O_DIRECT ones submitted at once (above). */
static ssize_t rw_wait(struct cor__op *op, int fd, int64_t timeout_ns)
{
    cor__fixed_apply(op);
    if (!cor__io_timed(timeout_ns) && fd_direct(fd))
        return cor__op_wait_now(op);
    return cor__op_wait(op, timeout_ns);
}

static inline unsigned cap_len(size_t len)
{
    return (unsigned)(len > COR__IO_MAX ? COR__IO_MAX : len);
}

static inline bool bad_off(int64_t off)
{
    return off < 0 && off != COR_OFF_CUR;
}

int cor_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    if (!path)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_open", COR__OP_OPENAT, dirfd);
    op.addr = (void *)(uintptr_t)path;
    op.opflags = (uint32_t)(flags | O_CLOEXEC);
    op.len = mode;
    int fd = cor__op_wait(&op, -1);
    fd_kind_set(fd, flags & O_DIRECT ? KIND_DIRECT : KIND_BUFFERED);
    return fd;
}

int cor_open(const char *path, int flags, mode_t mode)
{
    return cor_openat(AT_FDCWD, path, flags, mode);
}

ssize_t cor_read_timeout(int fd, void *buf, size_t len, int64_t off,
                         int64_t timeout_ns)
{
    if (fd < 0)
        return -EBADF;
    if ((!buf && len) || bad_off(off))
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_read", COR__OP_READ, fd);
    op.addr = buf;
    op.len = cap_len(len);
    op.off = (uint64_t)off;
    return rw_wait(&op, fd, timeout_ns);
}

ssize_t cor_read(int fd, void *buf, size_t len, int64_t off)
{
    return cor_read_timeout(fd, buf, len, off, -1);
}

ssize_t cor_write(int fd, const void *buf, size_t len, int64_t off)
{
    if (fd < 0)
        return -EBADF;
    if ((!buf && len) || bad_off(off))
        return -EINVAL;
    cor__io_sigpipe_once();
    struct cor__op op;
    cor__op_begin(&op, "cor_write", COR__OP_WRITE, fd);
    op.addr = (void *)(uintptr_t)buf;
    op.len = cap_len(len);
    op.off = (uint64_t)off;
    return rw_wait(&op, fd, -1);
}

/*
 * The loop of read_full / write_all.  An error after progress is not
 * reported now: the caller gets the progress, and the error (a sticky
 * cancel, a broken pipe) comes again on its next call.
 */
static ssize_t transfer_all(int fd, char *buf, size_t len, int64_t off,
                            bool write)
{
    size_t done = 0;
    while (done < len) {
        int64_t at = off == COR_OFF_CUR ? COR_OFF_CUR : off + (int64_t)done;
        ssize_t n = write ? cor_write(fd, buf + done, len - done, at)
                          : cor_read(fd, buf + done, len - done, at);
        if (n < 0)
            return done ? (ssize_t)done : n;
        if (n == 0) {
            if (write)
                return done ? (ssize_t)done : -EIO;
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

ssize_t cor_read_full(int fd, void *buf, size_t len, int64_t off)
{
    if (fd < 0)
        return -EBADF;
    if ((!buf && len) || bad_off(off) || len > SSIZE_MAX)
        return -EINVAL;
    return transfer_all(fd, buf, len, off, false);
}

ssize_t cor_write_all(int fd, const void *buf, size_t len, int64_t off)
{
    if (fd < 0)
        return -EBADF;
    if ((!buf && len) || bad_off(off) || len > SSIZE_MAX)
        return -EINVAL;
    return transfer_all(fd, (char *)(uintptr_t)buf, len, off, true);
}

static ssize_t rwv(int fd, const struct iovec *iov, int iovcnt, int64_t off,
                   bool write)
{
    if (fd < 0)
        return -EBADF;
    if (!iov || iovcnt <= 0 || iovcnt > IOV_MAX || bad_off(off))
        return -EINVAL;
    struct cor__op op;
    if (write)
        cor__io_sigpipe_once();
    cor__op_begin(&op, write ? "cor_writev" : "cor_readv",
                  write ? COR__OP_WRITEV : COR__OP_READV, fd);
    op.addr = (void *)(uintptr_t)iov;
    op.len = (uint32_t)iovcnt;
    op.off = (uint64_t)off;
    return rw_wait(&op, fd, -1);
}

ssize_t cor_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
    return rwv(fd, iov, iovcnt, off, false);
}

ssize_t cor_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
    return rwv(fd, iov, iovcnt, off, true);
}

static int sync_op(int fd, unsigned flags, const char *call)
{
    if (fd < 0)
        return -EBADF;
    struct cor__op op;
    cor__op_begin(&op, call, COR__OP_FSYNC, fd);
    op.opflags = flags;
    return cor__op_wait(&op, -1);
}

int cor_fsync(int fd)
{
    return sync_op(fd, 0, "cor_fsync");
}

int cor_fdatasync(int fd)
{
    return sync_op(fd, COR__FSYNC_DATASYNC, "cor_fdatasync");
}

int cor_statx(int dirfd, const char *path, int flags, unsigned mask,
              struct statx *out)
{
    if (!path || !out)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_statx", COR__OP_STATX, dirfd);
    op.addr = (void *)(uintptr_t)path;
    op.opflags = (uint32_t)flags;
    op.len = mask;
    op.addr2 = out;
    return cor__op_wait(&op, -1);
}

int cor_close(int fd)
{
    if (fd < 0)
        return -EBADF;
    struct cor__op op;
    cor__op_begin(&op, "cor_close", COR__OP_CLOSE, fd);
    fd_kind_set(fd, KIND_UNKNOWN);
    cor__fixed_forget(fd); /* a server connection: no longer the server's */
    return cor__op_wait(&op, -1);
}

int cor_unlink(const char *path, int flags)
{
    if (!path || (flags & ~AT_REMOVEDIR))
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_unlink", COR__OP_UNLINKAT, AT_FDCWD);
    op.addr = (void *)(uintptr_t)path;
    op.opflags = (uint32_t)flags;
    return cor__op_wait(&op, -1);
}

int cor_rename(const char *oldpath, const char *newpath)
{
    if (!oldpath || !newpath)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_rename", COR__OP_RENAMEAT, AT_FDCWD);
    op.addr = (void *)(uintptr_t)oldpath;
    op.addr2 = (void *)(uintptr_t)newpath;
    return cor__op_wait(&op, -1);
}

int cor_mkdir(const char *path, mode_t mode)
{
    if (!path)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_mkdir", COR__OP_MKDIRAT, AT_FDCWD);
    op.addr = (void *)(uintptr_t)path;
    op.len = mode;
    return cor__op_wait(&op, -1);
}
