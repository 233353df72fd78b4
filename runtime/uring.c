/* SPDX-License-Identifier: MIT */
/*
 * uring.c - the io_uring backend (backend.h): each op one SQE whose
 * user_data points at the op, a linked timeout for a bounded op, the
 * iteration's one io_uring_enter, completions reaped from the CQ, other
 * loops woken with IORING_OP_MSG_RING, foreign threads through the loop's
 * eventfd (read by an SQE kept armed), the provided-buffer ring of receive
 * streams and the registered-file table of server connections.
 *
 * The loop's thread is the ring's only submitter (invariant 2).
 */
#include "uring.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

_Static_assert(COR__F_BUFFER == IORING_CQE_F_BUFFER, "completion flags");
_Static_assert(COR__F_MORE == IORING_CQE_F_MORE, "completion flags");
_Static_assert(COR__F_BUF_SHIFT == IORING_CQE_BUFFER_SHIFT, "buffer id");
_Static_assert(COR__FSYNC_DATASYNC == IORING_FSYNC_DATASYNC, "fsync flags");

/* user_data tags (ops are 8-aligned, so low bits are free). */
#define UD_IGNORE ((uint64_t)1)   /* e.g. async-cancel's own CQE */
#define UD_EVENTFD ((uint64_t)3)
#define UD_MSGRING ((uint64_t)5)

/* Buffer group id of each loop's provided buffers (one group per ring). */
#define BGID 7

_Atomic bool cor__wake_msgring = true;

/* ------------------------------------------------------------- set-up ---- */

/*
 * Why io_uring_setup failed with err, beginning "io_uring_setup: ENAME: ".
 * fallback: the cause only, for the one line an automatic runtime logs
 * before it runs on epoll; otherwise the cause and the fix, for a runtime
 * that asked for io_uring (or met an error that epoll does not answer).
 */
static const char *refused_text(int err, bool fallback, char *buf,
                                size_t len)
{
    const char *name, *why, *fix;
    char mem[160];
    if (err == -EPERM) {
        int v = -1;
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        if (f) {
            if (fscanf(f, "%d", &v) != 1)
                v = -1;
            fclose(f);
        }
        name = "EPERM";
        if (v == 2) {
            why = "io_uring is disabled on this system "
                  "(kernel.io_uring_disabled=2)";
            fix = "enable it with 'sysctl kernel.io_uring_disabled=0'";
        } else if (v == 1 && geteuid() != 0) {
            why = "io_uring is limited to root and the io_uring_group "
                  "(kernel.io_uring_disabled=1)";
            fix = "run as root, add this user to the group named by "
                  "kernel.io_uring_group, or 'sysctl "
                  "kernel.io_uring_disabled=0'";
        } else {
            why = "refused, most likely by a seccomp filter (Docker's "
                  "default profile refuses io_uring)";
            fix = "run the container with a seccomp profile that allows "
                  "io_uring_setup, io_uring_enter and io_uring_register "
                  "(e.g. --security-opt seccomp=unconfined)";
        }
    } else if (err == -ENOSYS) {
        name = "ENOSYS";
        why = "this kernel has no io_uring, or a seccomp filter hides it";
        fix = "the io_uring backend needs Linux 6.1 or newer built with "
              "CONFIG_IO_URING=y";
    } else if (err == -ENOMEM) {
        struct rlimit rl = {0, 0};
        getrlimit(RLIMIT_MEMLOCK, &rl);
        snprintf(mem, sizeof mem,
                 "out of memory (before Linux 5.12 the ring counts against "
                 "the locked-memory limit, ulimit -l: %llu KiB)",
                 (unsigned long long)rl.rlim_cur / 1024);
        name = "ENOMEM";
        why = mem;
        fix = "raise it (ulimit -l, LimitMEMLOCK=, --ulimit memlock=) or "
              "ask for fewer ring_entries";
    } else {
        snprintf(buf, len, "io_uring_setup: %s", cor_strerror(err));
        return buf;
    }
    if (fallback)
        snprintf(buf, len, "io_uring_setup: %s: %s", name, why);
    else
        snprintf(buf, len,
                 "io_uring_setup: %s: %s; %s; or let the backend be chosen "
                 "automatically, which runs on epoll here",
                 name, why, fix);
    return buf;
}

/*
 * COR_RING in the environment narrows the ring's configuration, for the
 * test suite's ring-configuration matrix (docs/design.md): a comma list of
 *   nodefer  no DEFER_TASKRUN (SINGLE_ISSUER and COOP_TASKRUN only)
 *   coop     neither DEFER_TASKRUN nor SINGLE_ISSUER (COOP_TASKRUN only)
 *   basic    no setup flags at all (task work runs by signal)
 *   eventfd  other loops wake this one through its eventfd, not MSG_RING
 *   cq=N     N SQ and CQ entries (a power of two, 2..4096): a CQ small
 *            enough to overflow, the overflow list then drained by the loop
 * Unknown words are logged and ignored.
 */
struct ring_cfg {
    size_t first;  /* first entry of ring_setup's chain to try */
    unsigned cq;   /* 0: 4 x the SQ entries */
    bool eventfd;
};

static struct ring_cfg ring_cfg_from_env(void)
{
    struct ring_cfg c = {0};
    const char *env = getenv("COR_RING");
    if (!env)
        return c;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", env);
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        unsigned long n;
        char *end;
        if (strcmp(w, "nodefer") == 0) {
            c.first = c.first > 1 ? c.first : 1;
        } else if (strcmp(w, "coop") == 0) {
            c.first = c.first > 2 ? c.first : 2;
        } else if (strcmp(w, "basic") == 0) {
            c.first = 3;
        } else if (strcmp(w, "eventfd") == 0) {
            c.eventfd = true;
        } else if (strncmp(w, "cq=", 3) == 0 &&
                   (n = strtoul(w + 3, &end, 10)) >= 2 && n <= 4096 &&
                   *end == '\0' && (n & (n - 1)) == 0) {
            c.cq = (unsigned)n;
        } else {
            cor_log("COR_RING: ignoring '%s'", w);
        }
    }
    return c;
}

static int ring_try(struct cor__uring *u, unsigned entries, unsigned cq,
                    unsigned flags)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = cq;
    int rc = io_uring_queue_init_params(entries, &u->ring, &p);
    if (rc < 0)
        return rc;
    u->flags = p.flags;
    /* Not registered yet: the ring's number can still change (its
     * mappings do not depend on it). */
    int fd = cor__fd_above_stdio(u->ring.ring_fd);
    if (fd < 0) {
        u->ring.ring_fd = u->ring.enter_ring_fd = -1;
        io_uring_queue_exit(&u->ring);
        return fd;
    }
    u->ring.ring_fd = u->ring.enter_ring_fd = fd;
    return 0;
}

/*
 * The ring, with the best flags the kernel takes: SINGLE_ISSUER and
 * DEFER_TASKRUN (completions run only when we enter), then COOP_TASKRUN, then
 * none; TASKRUN_FLAG where taken (each set is tried with it, then without),
 * so that the loop sees whether completion work is already waiting when it
 * enters (receive streams choose their recv by it, io/recv_stream.c).
 * EINVAL means "not this flag set"; anything else is final.
 */
static int ring_setup(struct cor__uring *u, unsigned entries, bool no_defer,
                      bool forced)
{
    static const unsigned chain[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        0,
    };
    struct ring_cfg cfg = ring_cfg_from_env();
    if (no_defer && cfg.first < 1)
        cfg.first = 1;
    if (cfg.eventfd)
        atomic_store(&cor__wake_msgring, false);
    unsigned cq = cfg.cq ? cfg.cq : entries * 4;
    if (cfg.cq && entries > cfg.cq)
        entries = cfg.cq;
    int rc = -EINVAL;
    for (size_t i = cfg.first; i < sizeof chain / sizeof chain[0]; i++) {
        rc = ring_try(u, entries, cq, chain[i]);
        if (rc == -EINVAL && (chain[i] & IORING_SETUP_TASKRUN_FLAG))
            rc = ring_try(u, entries, cq,
                          chain[i] & ~IORING_SETUP_TASKRUN_FLAG);
        if (rc == 0)
            return 0;
        if (rc != -EINVAL)
            break;
    }
    char buf[640];
    bool fallback =
        !forced && (rc == -ENOSYS || rc == -EPERM || rc == -ENOMEM);
    if (fallback)
        cor_log("using the epoll backend: %s",
                refused_text(rc, true, buf, sizeof buf));
    else
        cor_log("cannot start an event loop: %s",
                refused_text(rc, false, buf, sizeof buf));
    return rc;
}

/* One io_uring_enter: a plain increment. */
static inline void count_enter(struct cor_loop *l)
{
    (void)l;
    COR__STAT(l->stats.enters++);
}

/* Full SQ: hand it to the kernel, then take a free SQE. */
static __attribute__((noinline)) struct io_uring_sqe *
get_sqe_flushing(struct cor_loop *l)
{
    struct cor__uring *u = cor__uring_of(l);
    io_uring_submit(&u->ring);
    l->unsubmitted = 0;
    count_enter(l);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe)
        cor__panic("io_uring: no SQE free after a submit");
    return sqe;
}

/*
 * A free SQE, flushing the SQ to the kernel first if it is full.  Our rings
 * have 64-byte SQEs and no SQPOLL thread (the head moves only inside our own
 * io_uring_enter), which is all that liburing's io_uring_get_sqe checks for
 * beyond this.
 */
static inline struct io_uring_sqe *get_sqe(struct cor_loop *l)
{
    struct cor__uring *u = cor__uring_of(l);
    struct io_uring_sq *sq = &u->ring.sq;
    unsigned tail = sq->sqe_tail;
    struct io_uring_sqe *sqe;
    if (cor__likely(tail + 1 - IO_URING_READ_ONCE(*sq->khead) <=
                    sq->ring_entries)) {
        sqe = &sq->sqes[tail & sq->ring_mask];
        sq->sqe_tail = tail + 1;
    } else {
        sqe = get_sqe_flushing(l);
    }
    l->unsubmitted++;
    /* The next SQE, written by the next op: the kernel read it last. */
    __builtin_prefetch(&sq->sqes[sq->sqe_tail & sq->ring_mask], 1);
    return sqe;
}

static void arm_eventfd(struct cor_loop *l)
{
    struct cor__uring *u = cor__uring_of(l);
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_read(sqe, l->efd, &u->efd_buf, sizeof u->efd_buf, 0);
    io_uring_sqe_set_data64(sqe, UD_EVENTFD);
    u->efd_armed = true;
}

/* Runs on the loop's own thread: the ring is created by its only issuer. */
static int uring_init(struct cor_loop *l)
{
    struct cor__uring *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    int rc = ring_setup(u, l->rt->opts.ring_entries ? l->rt->opts.ring_entries
                                                    : 1024,
                        l->rt->opts.no_defer_taskrun, l->rt->be != NULL);
    if (rc < 0) {
        free(u);
        return rc;
    }
    if (u->ring.flags & (IORING_SETUP_SQE128 | IORING_SETUP_SQPOLL))
        cor__panic("io_uring: get_sqe assumes 64-byte SQEs and no SQPOLL");
    l->bstate = u;
    /* The ring in this thread's registered-ring table: io_uring_enter then
     * skips the fd lookup (best effort; leave_thread undoes it). */
    u->registered = io_uring_register_ring_fd(&u->ring) == 1;
    l->stats.ring_flags = u->flags;
    arm_eventfd(l);
    return 0;
}

static void uring_leave_thread(struct cor_loop *l)
{
    struct cor__uring *u = cor__uring_of(l);
    if (u->registered)
        io_uring_unregister_ring_fd(&u->ring);
    u->registered = false;
}

static void uring_fini(struct cor_loop *l)
{
    struct cor__uring *u = cor__uring_of(l);
    io_uring_queue_exit(&u->ring);
    free(u);
    l->bstate = NULL;
}

/* ------------------------------------------------------------- ops ------- */

static inline __attribute__((always_inline)) void
prep(struct io_uring_sqe *sqe, struct cor__op *op)
{
    int fd = op->fd;
    switch (op->code) {
    case COR__OP_READ:
        io_uring_prep_read(sqe, fd, op->addr, op->len, op->off);
        break;
    case COR__OP_WRITE:
        io_uring_prep_write(sqe, fd, op->addr, op->len, op->off);
        break;
    case COR__OP_READV:
        io_uring_prep_readv(sqe, fd, op->addr, op->len, op->off);
        break;
    case COR__OP_WRITEV:
        io_uring_prep_writev(sqe, fd, op->addr, op->len, op->off);
        break;
    case COR__OP_FSYNC:
        io_uring_prep_fsync(sqe, fd, op->opflags);
        break;
    case COR__OP_STATX:
        io_uring_prep_statx(sqe, fd, op->addr, (int)op->opflags, op->len,
                            op->addr2);
        break;
    case COR__OP_OPENAT:
        io_uring_prep_openat(sqe, fd, op->addr, (int)op->opflags,
                             (mode_t)op->len);
        break;
    case COR__OP_CLOSE:
        io_uring_prep_close(sqe, fd);
        break;
    case COR__OP_UNLINKAT:
        io_uring_prep_unlinkat(sqe, AT_FDCWD, op->addr, (int)op->opflags);
        break;
    case COR__OP_RENAMEAT:
        io_uring_prep_renameat(sqe, AT_FDCWD, op->addr, AT_FDCWD, op->addr2,
                               0);
        break;
    case COR__OP_MKDIRAT:
        io_uring_prep_mkdirat(sqe, AT_FDCWD, op->addr, (mode_t)op->len);
        break;
    case COR__OP_CONNECT:
        io_uring_prep_connect(sqe, fd, op->addr, (socklen_t)op->len);
        break;
    case COR__OP_ACCEPT:
        io_uring_prep_accept(sqe, fd, op->addr, op->addr2, SOCK_CLOEXEC);
        break;
    case COR__OP_RECV:
        io_uring_prep_recv(sqe, fd, op->addr, op->len, (int)op->opflags);
        break;
    case COR__OP_SEND:
        io_uring_prep_send(sqe, fd, op->addr, op->len, (int)op->opflags);
        break;
    case COR__OP_RECVMSG:
        io_uring_prep_recvmsg(sqe, fd, op->addr, op->opflags);
        break;
    case COR__OP_SENDMSG:
        io_uring_prep_sendmsg(sqe, fd, op->addr, op->opflags);
        break;
    case COR__OP_SHUTDOWN:
        io_uring_prep_shutdown(sqe, fd, (int)op->len);
        break;
    case COR__OP_POLL:
        io_uring_prep_poll_add(sqe, fd, op->opflags);
        break;
    case COR__OP_RECV_MULTI:
        io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BGID;
        break;
    case COR__OP_ACCEPT_MULTI:
        io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
        break;
    case COR__OP_FILES_UPDATE:
        io_uring_prep_files_update(sqe, op->addr, op->len, (int)op->off);
        break;
    default:
        cor__panic("io_uring backend: unknown op code %u", op->code);
    }
    if (op->fixed)
        sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, op);
}

static void uring_start(struct cor_loop *l, struct cor__op *op)
{
    struct cor__uring *u = cor__uring_of(l);
    if (op->timeout_ns < 0) {
        prep(get_sqe(l), op);
        return;
    }
    /* The op and its linked timeout go to the kernel together: a full SQ
     * would be flushed between them and the kernel would see an
     * unterminated link, so flush it now. */
    if (io_uring_sq_space_left(&u->ring) < 2) {
        io_uring_submit(&u->ring);
        l->unsubmitted = 0;
        count_enter(l);
    }
    struct io_uring_sqe *sqe = get_sqe(l);
    prep(sqe, op);
    sqe->flags |= IOSQE_IO_LINK;
    /* The kernel copies the timespec when the link is submitted, before
     * the op (on its task's stack) can go. */
    op->ts.sec = op->timeout_ns / 1000000000;
    op->ts.nsec = op->timeout_ns % 1000000000;
    struct io_uring_sqe *tsqe = get_sqe(l);
    io_uring_prep_link_timeout(tsqe, (struct __kernel_timespec *)&op->ts, 0);
    io_uring_sqe_set_data64(tsqe, UD_IGNORE);
}

static void uring_flush(struct cor_loop *l)
{
    io_uring_submit(&cor__uring_of(l)->ring);
    l->unsubmitted = 0;
    count_enter(l);
}

static void uring_cancel(struct cor_loop *l, struct cor__op *op)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

/* ------------------------------------------------------------ wakeups ---- */

/*
 * Wake sleeping loop l.  From another loop on a ring: one IORING_OP_MSG_RING
 * on the poster's own ring (its only submitter, invariant 2), which puts a
 * CQE in l's ring.  Its user_data on our side tags the target so that a
 * failed send (no CQE is posted on success) falls back to the eventfd.
 */
static void uring_wake(struct cor_loop *l)
{
    struct cor_loop *self = cor__tls_loop;
    if (!self || self->be != &cor__backend_uring || !self->bstate ||
        !atomic_load_explicit(&cor__wake_msgring, memory_order_relaxed)) {
        cor__loop_wake_eventfd(l);
        return;
    }
    struct io_uring_sqe *sqe = get_sqe(self);
    io_uring_prep_msg_ring(sqe, cor__uring_of(l)->ring.ring_fd, 0,
                           UD_MSGRING, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)l | UD_MSGRING);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    uring_flush(self);
}

/* ----------------------------------------------------- wait and reap ---- */

/*
 * The iteration's one io_uring_enter: the SQEs taken since the last one go
 * to the kernel, the completions' deferred work runs (GETEVENTS), and with
 * wait the call returns once a completion is there or ts (NULL: no limit)
 * has passed.  liburing's submit_and_wait_timeout makes the same system
 * call but first and again after it looks through the CQ for one
 * completion to hand back, which the reap phase does anyway.  The SQ's
 * tail is published as liburing does for a ring without SQPOLL (get_sqe
 * assumes none).
 */
static void enter(struct cor__uring *u, unsigned wait,
                  struct __kernel_timespec *ts)
{
    struct io_uring *ring = &u->ring;
    struct io_uring_sq *sq = &ring->sq;
    unsigned tail = sq->sqe_tail;
    if (sq->sqe_head != tail) {
        sq->sqe_head = tail;
        io_uring_smp_store_release(sq->ktail, tail);
    }
    unsigned submit = tail - IO_URING_READ_ONCE(*sq->khead);
    unsigned flags = IORING_ENTER_GETEVENTS;
    int fd = ring->ring_fd;
    if (u->registered) {
        flags |= IORING_ENTER_REGISTERED_RING;
        fd = ring->enter_ring_fd;
    }
    if (!ts) {
        io_uring_enter((unsigned)fd, submit, wait, flags, NULL);
        return;
    }
    struct io_uring_getevents_arg arg = {
        .sigmask_sz = _NSIG / 8,
        .ts = (uint64_t)(uintptr_t)ts,
    };
    io_uring_enter2((unsigned)fd, submit, wait, flags | IORING_ENTER_EXT_ARG,
                    (sigset_t *)&arg, sizeof arg);
}

static void uring_wait(struct cor_loop *l, int64_t timeout)
{
    struct cor__uring *u = cor__uring_of(l);
    /* Work the kernel queued for us while we ran tasks (data arrived on an
     * armed recv, say): this enter will not sleep for it. */
    l->enter_hot = IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN;
    /* Completions already posted (a ring without DEFER_TASKRUN posts them
     * as they happen): nothing to wait for. */
    if (timeout != 0 && io_uring_cq_ready(&u->ring))
        timeout = 0;
    if (timeout <= 0) {
        enter(u, timeout < 0, NULL);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout / 1000000000,
                                       .tv_nsec = timeout % 1000000000};
        if (u->ring.features & IORING_FEAT_EXT_ARG) {
            enter(u, 1, &ts);
        } else { /* before Linux 5.11: liburing's timeout SQE */
            struct io_uring_cqe *cqe;
            io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
        }
    }
    count_enter(l);
}

static void dispatch(struct cor_loop *l, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    if (cor__likely(!(ud & 7))) { /* an op: the common case */
        cor__op_complete(l, (struct cor__op *)(uintptr_t)ud, cqe->res,
                         cqe->flags);
        return;
    }
    if (ud == UD_EVENTFD) {
        cor__uring_of(l)->efd_armed = false;
        arm_eventfd(l);
        return;
    }
    if ((ud & 7) == UD_MSGRING && ud != UD_MSGRING) {
        /* Our MSG_RING wakeup of another loop failed: use its eventfd. */
        cor__loop_wake_eventfd((struct cor_loop *)(uintptr_t)(ud & ~(uint64_t)7));
        return;
    }
    /* a MSG_RING wakeup, UD_IGNORE and other tags: nothing to do */
}

/* The op a CQE completes, fetched into the cache while the CQE before it
 * is dispatched: on a busy server each op (and the task it wakes) was
 * evicted by the kernel's work since it was last touched.  With it the two
 * lines after it: the fields of the object that embeds it (a stream's, a
 * writer's: they keep theirs right after the op) or the frame of the task
 * that waits on it. */
static inline void prefetch_target(const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    if (!(ud & 7)) {
        const char *op = (const char *)(uintptr_t)ud;
        __builtin_prefetch(op);
        __builtin_prefetch(op + sizeof(struct cor__op));
        __builtin_prefetch(op + sizeof(struct cor__op) + 64);
    }
}

static void uring_reap(struct cor_loop *l)
{
    struct io_uring *ring = &cor__uring_of(l)->ring;
    unsigned head = *ring->cq.khead;
    unsigned tail = io_uring_smp_load_acquire(ring->cq.ktail);
    if (head == tail)
        return;
    unsigned mask = ring->cq.ring_mask, shift = io_uring_cqe_shift(ring);
    struct io_uring_cqe *cqe = &ring->cq.cqes[(head & mask) << shift];
    prefetch_target(cqe);
    for (unsigned h = head; h != tail; h++) {
        struct io_uring_cqe *next = &ring->cq.cqes[((h + 1) & mask) << shift];
        if (h + 1 != tail)
            prefetch_target(next);
        dispatch(l, cqe);
        cqe = next;
    }
    io_uring_cq_advance(ring, tail - head); /* counted by uring_fold_stats */
}

/*
 * SQEs and CQEs are not counted one by one: the ring counts them already,
 * in 32 bits (the SQ tail counts every SQE taken, the CQ head every CQE
 * consumed).  This adds what they moved to the 64-bit totals; the loop
 * calls it when a snapshot is taken and every FOLD_EVERY iterations, long
 * before either can wrap (an iteration reaps at most the CQ's 2^17 entries,
 * and takes as many SQEs at most).
 */
static void uring_fold_stats(struct cor_loop *l)
{
    struct cor__uring *u = cor__uring_of(l);
    unsigned sq = u->ring.sq.sqe_tail, cq = *u->ring.cq.khead;
    l->stats.sqes += sq - u->sqe_seen;
    l->stats.cqes += cq - u->cqe_seen;
    u->sqe_seen = sq;
    u->cqe_seen = cq;
    l->stats.cq_overflows = u->ring.cq.koverflow ? *u->ring.cq.koverflow : 0;
}

/* --------------------------------------------------- provided buffers ---- */

/* One per loop, in loop->user[COR__SLOT_BUFRING], made by its first receive
 * stream and kept until the loop is freed (streams come and go with
 * connections: registering a ring per connection would cost more than the
 * reads it saves). */
struct bufring {
    struct cor__loop_slot slot; /* first: the loop frees us */
    struct cor__bufs bufs;
    struct io_uring_buf_ring *br;
    size_t br_bytes;
};

static void uring_bufs_put(struct cor_loop *l, struct cor__bufs *b,
                           uint16_t bid)
{
    (void)l;
    struct bufring *r = cor__container_of(b, struct bufring, bufs);
    io_uring_buf_ring_add(r->br, b->base + (size_t)bid * b->size, b->size,
                          bid, io_uring_buf_ring_mask(b->entries), 0);
    io_uring_buf_ring_advance(r->br, 1);
}

/* The loop's ring is closed: nothing of the kernel's points here now. */
static void bufring_fini(struct cor__loop_slot *slot)
{
    struct bufring *r = cor__container_of(slot, struct bufring, slot);
    munmap(r->br, r->br_bytes);
    free(r->bufs.base);
    free(r);
}

static struct cor__bufs *uring_bufs_get(struct cor_loop *l, unsigned entries,
                                        unsigned size)
{
    struct bufring *r = l->user[COR__SLOT_BUFRING];
    if (r)
        return &r->bufs;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->bufs.entries = entries;
    r->bufs.size = size;
    r->br_bytes = entries * sizeof(struct io_uring_buf);
    /* The kernel wants the ring page-aligned. */
    void *m = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    r->bufs.base = malloc((size_t)entries * size);
    if (m == MAP_FAILED || !r->bufs.base)
        goto fail;
    r->br = m;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uint64_t)(uintptr_t)m,
        .ring_entries = entries,
        .bgid = BGID,
    };
    io_uring_buf_ring_init(r->br);
    if (io_uring_register_buf_ring(&cor__uring_of(l)->ring, &reg, 0) < 0)
        goto fail;
    for (unsigned i = 0; i < entries; i++)
        io_uring_buf_ring_add(r->br, r->bufs.base + (size_t)i * size, size,
                              (unsigned short)i,
                              io_uring_buf_ring_mask(entries), (int)i);
    io_uring_buf_ring_advance(r->br, (int)entries);
    r->slot.fini = bufring_fini;
    l->user[COR__SLOT_BUFRING] = r;
    return &r->bufs;
fail:
    if (m != MAP_FAILED)
        munmap(m, r->br_bytes);
    free(r->bufs.base);
    free(r);
    return NULL;
}

/* --------------------------------------------------- registered files ---- */

static int uring_files_register(struct cor_loop *l, unsigned n)
{
    return io_uring_register_files_sparse(&cor__uring_of(l)->ring, n);
}

static void uring_files_unset(struct cor_loop *l, unsigned slot)
{
    static int none = -1; /* read at the next submit, so not on a stack */
    /* The update runs in submission order, before any later registration
     * that reuses the slot. */
    struct io_uring_sqe *sqe = get_sqe(l);
    io_uring_prep_files_update(sqe, &none, 1, (int)slot);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, UD_IGNORE);
}

const struct cor__backend cor__backend_uring = {
    .name = "io_uring",
    .init = uring_init,
    .leave_thread = uring_leave_thread,
    .fini = uring_fini,
    .start = uring_start,
    .flush = uring_flush,
    .cancel = uring_cancel,
    .wait = uring_wait,
    .reap = uring_reap,
    .fold_stats = uring_fold_stats,
    .wake = uring_wake,
    .bufs_get = uring_bufs_get,
    .bufs_put = uring_bufs_put,
    .files_register = uring_files_register,
    .files_unset = uring_files_unset,
};
