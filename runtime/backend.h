/* SPDX-License-Identifier: MIT */
/*
 * backend.h - the seam between the loop and the kernel (docs/design.md,
 * "Backends").  An operation is described once, the same for every backend
 * (struct cor__op's request fields, below); a backend turns it into its
 * kernel's terms, waits for events, and reports each operation's outcome
 * through cor__op_complete().  The loop's phases call only this interface.
 *
 * What each op code reads from the op (fd always, unless said):
 *   READ, WRITE      addr = buffer, len, off (COR_OFF_CUR: current offset)
 *   READV, WRITEV    addr = iovec array, len = count, off
 *   FSYNC            opflags = COR__FSYNC_DATASYNC or 0
 *   STATX            fd = dirfd, addr = path, opflags = flags,
 *                    len = mask, addr2 = struct statx out
 *   OPENAT           fd = dirfd, addr = path, opflags = flags, len = mode
 *   CLOSE            -
 *   UNLINKAT         addr = path, opflags = flags (relative to the cwd)
 *   RENAMEAT         addr = old path, addr2 = new path (cwd)
 *   MKDIRAT          addr = path, len = mode (cwd)
 *   CONNECT          addr = sockaddr, len = its length
 *   ACCEPT           addr = sockaddr out or NULL, addr2 = socklen_t in/out
 *   RECV, SEND       addr = buffer, len, opflags = MSG_ flags
 *   RECVMSG, SENDMSG addr = struct msghdr, opflags = MSG_ flags
 *   SHUTDOWN         len = how
 *   POLL             opflags = poll mask; completes with the events
 *   RECV_MULTI       (multishot) completions until one without COR__F_MORE,
 *                    each with a buffer of the loop's provided buffers
 *                    (COR__F_BUFFER, its id at COR__F_BUF_SHIFT)
 *   ACCEPT_MULTI     (multishot) one completion per connection
 *   FILES_UPDATE     addr = int fds[len], off = first registered slot
 * op->fixed: fd is a slot of the loop's registered-file table.
 */
#ifndef CORING_BACKEND_H
#define CORING_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct cor_loop;
struct cor__op;

enum cor__opcode {
    COR__OP_READ = 1,
    COR__OP_WRITE,
    COR__OP_READV,
    COR__OP_WRITEV,
    COR__OP_FSYNC,
    COR__OP_STATX,
    COR__OP_OPENAT,
    COR__OP_CLOSE,
    COR__OP_UNLINKAT,
    COR__OP_RENAMEAT,
    COR__OP_MKDIRAT,
    COR__OP_CONNECT,
    COR__OP_ACCEPT,
    COR__OP_RECV,
    COR__OP_SEND,
    COR__OP_RECVMSG,
    COR__OP_SENDMSG,
    COR__OP_SHUTDOWN,
    COR__OP_POLL,
    COR__OP_RECV_MULTI,
    COR__OP_ACCEPT_MULTI,
    COR__OP_FILES_UPDATE,
};

#define COR__FSYNC_DATASYNC 1u

/* Completion flags (the io_uring backend's are the same bits). */
#define COR__F_BUFFER 1u
#define COR__F_MORE 2u
#define COR__F_BUF_SHIFT 16

/* A loop's provided buffers: `entries` buffers of `size` bytes at base. */
struct cor__bufs {
    char *base;
    unsigned entries, size;
};

struct cor__backend {
    const char *name;
    /* On the loop's thread: set up l's kernel side (l->efd is open). */
    int (*init)(struct cor_loop *l);
    /* The loop's thread will not wait on l again. */
    void (*leave_thread)(struct cor_loop *l);
    /* Free l's kernel side (any thread, after the loop stopped). */
    void (*fini)(struct cor_loop *l);
    /* Queue op (its request filled in; op->timeout_ns >= 0 bounds it: it
     * then ends with -ECANCELED unless it happened).  The kernel may see it
     * only at the next flush or wait. */
    void (*start)(struct cor_loop *l, struct cor__op *op);
    /* Hand what is queued to the kernel now. */
    void (*flush)(struct cor_loop *l);
    /* Ask the kernel to end a started op soon: it still completes, with
     * its real outcome or -ECANCELED. */
    void (*cancel)(struct cor_loop *l, struct cor__op *op);
    /* Hand over what is queued and wait up to timeout_ns for events (0:
     * do not block, -1: until one comes). */
    void (*wait)(struct cor_loop *l, int64_t timeout_ns);
    /* Report what the last wait collected (cor__op_complete per op). */
    void (*reap)(struct cor_loop *l);
    /* Add the kernel's counts since the last call to l->stats (sqes,
     * cqes: ops and completions handed over; cq_overflows). */
    void (*fold_stats)(struct cor_loop *l);
    /* Wake l, asleep in wait, from another thread or loop. */
    void (*wake)(struct cor_loop *l);
    /* The loop's provided buffers (made on first use with this
     * geometry), or NULL: the backend has none, RECV_MULTI is not
     * available.  put gives buffer bid back. */
    struct cor__bufs *(*bufs_get)(struct cor_loop *l, unsigned entries,
                                  unsigned size);
    void (*bufs_put)(struct cor_loop *l, struct cor__bufs *b, uint16_t bid);
    /* A registered-file table of n slots (< 0: none), and emptying one of
     * its slots without waiting. */
    int (*files_register)(struct cor_loop *l, unsigned n);
    void (*files_unset)(struct cor_loop *l, unsigned slot);
};

extern const struct cor__backend cor__backend_uring;
extern const struct cor__backend cor__backend_epoll;

/* The loop's part of a completion, cor__op_complete, is inline in
 * internal.h (a backend calls it for every completion). */
/* Wake l through its eventfd (any thread). */
void cor__loop_wake_eventfd(struct cor_loop *l);

#endif
