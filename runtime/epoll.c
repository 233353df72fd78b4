/* SPDX-License-Identifier: MIT */
/*
 * epoll.c - the epoll backend (backend.h), for kernels and sandboxes that
 * refuse io_uring.  Sockets, pipes and other pollable fds work by
 * readiness: an op is tried without blocking in the loop's wait phase (an
 * unbounded socket send or recv, the ops of every request, at its start
 * already, unless its direction is known not ready or another op is
 * pending); one that would block waits on its fd and is tried again when
 * the fd reports the direction it needs (as the event is read).  Files,
 * whose reads never report "would block", go to the executor as libuv
 * does (a job per op, its result handed back on the loop).  Bounded ops are
 * loop timers; other threads and loops wake a sleeping loop through its
 * eventfd.
 *
 * What a request costs, as a hand-written epoll server's (one read, one
 * write, a share of one epoll_wait): an fd is registered once
 * (edge-triggered, input and output) and stays registered; each fd
 * remembers per direction whether it may be ready: a try that would block
 * (or a TCP read that took less than it asked for, which took everything
 * there was) says no, the fd's next event says yes, and an op started
 * while its direction is known not ready waits at once, without a try.
 * A raw close(2) can leave a number registered in our books and not in the
 * kernel's (its file gone, a new one under the number).  So only an fd we
 * saw made (an accept's, an open's, a socket we connected) keeps its
 * registration without a syscall; any other is registered again on every
 * wait (EEXIST: still the same file).  And a wait of the first kind that
 * still waits CHECK_NS to 2 x CHECK_NS later (no event for it came: its
 * number may have been closed and made again behind our back) renews its
 * registration: EPOLL_CTL_MOD, or ADD where the kernel has forgotten it,
 * either of which reports the fd's readiness anew (a loop with such waits
 * sleeps CHECK_NS at most).  A stale entry costs time, never a lost
 * wakeup.
 *
 * Completions are reported in the reap phase, never inside the call that
 * ended the op: one that ended at its start waits on the done list for the
 * next reap, and so does one that a completion's callback ended.
 *
 * Invariant 3: an op waiting for readiness has not touched its buffer, so a
 * cancel ends it at once with -ECANCELED (at the next reap, never inside the
 * cancelling call); an op on the executor cannot be stopped, so its cancel
 * waits for the job and returns the job's real outcome.
 */
#include "internal.h"

#include "coring/executor.h"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Where an op is (op->be_where): W_UNTRIED waits on its fd without having
 * been tried (its direction was known not ready when it started). */
enum { W_NONE, W_PENDING, W_WAITING, W_UNTRIED, W_DONE, W_EXEC };

/* What the fd is, for reads that tell that they emptied it. */
enum { P_UNKNOWN, P_TCP, P_OTHER };

/* How often waits on unrenewed registrations are renewed (see above). */
#define CHECK_NS 10000000 /* 10 ms */

#define EP_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET)

/* What kind of file an fd was when first used (a stale entry after a raw
 * close(2) only costs speed: a pollable fd sent to the executor still
 * works, and so does a file polled, which always reads ready). */
enum { K_UNKNOWN, K_POLL, K_FILE };

struct ep_fd {
    struct cor__list rq, wq; /* ops waiting for input, for output */
    struct cor__list ulink;  /* on ep.unconfirmed: while unseen, and
                              * until the next renewal looks */
    unsigned epoch;          /* ep.epoch when it became unseen */
    int fd;
    uint8_t kind;
    uint8_t proto;
    bool reg;                /* in the epoll set, as far as we know */
    bool owned;              /* we saw the file made: an accept's, an
                              * open's, a socket we connected */
    union {
        struct {
            bool rin, rout;  /* input, output may be ready */
        };
        bool ready[2];       /* the same, indexed by a recv's (0) or a
                              * send's (1) op code less COR__OP_RECV */
    };
    bool hup;                /* an end, an error or urgent data was
                              * reported: reads stop short of them */
    bool unseen;             /* a wait began on its kept registration
                              * and no event came since */
};

_Static_assert(sizeof(struct ep_fd) <= 64, "an fd's record is one cache line");
_Static_assert(COR__OP_SEND == COR__OP_RECV + 1, "ep_fd.ready by op code");

struct ep {
    int epfd;
    struct ep_fd **fds;
    unsigned nfds;
    struct cor__list pending; /* to try in the next wait or reap */
    struct cor__list done;    /* finished, to report in reap */
    /* the unseen fds (ep_fd.unseen), and those that saw an event since,
     * until the next renewal looks */
    struct cor__list unconfirmed;
    unsigned epoch;           /* renewals so far */
    int64_t next_renew;       /* coarse clock of the next renewal */
    bool no_pwait2;           /* epoll_pwait2 refused: epoll_wait */
    int nev;
    struct epoll_event evs[128];
};

static inline struct ep *ep_of(struct cor_loop *l)
{
    return l->bstate;
}

static struct ep_fd *fd_get(struct ep *e, int fd)
{
    if (fd < 0)
        return NULL;
    if ((unsigned)fd >= e->nfds) {
        unsigned n = e->nfds ? e->nfds : 64;
        while (n <= (unsigned)fd)
            n *= 2;
        struct ep_fd **m = realloc(e->fds, n * sizeof *m);
        if (!m)
            return NULL;
        memset(m + e->nfds, 0, (n - e->nfds) * sizeof *m);
        e->fds = m;
        e->nfds = n;
    }
    if (!e->fds[fd]) {
        struct ep_fd *f = cor__zalloc_line(sizeof *f);
        if (!f)
            return NULL;
        cor__list_init(&f->rq);
        cor__list_init(&f->wq);
        cor__list_init(&f->ulink);
        f->fd = fd;
        f->rin = f->rout = true;
        e->fds[fd] = f;
    }
    return e->fds[fd];
}

static int ep_init(struct cor_loop *l)
{
    struct ep *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->epfd = e->epfd < 0 ? -errno : cor__fd_above_stdio(e->epfd);
    if (e->epfd < 0) {
        int rc = e->epfd;
        free(e);
        return rc;
    }
    cor__list_init(&e->pending);
    cor__list_init(&e->done);
    cor__list_init(&e->unconfirmed);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, l->efd, &ev) < 0) {
        int rc = -errno;
        close(e->epfd);
        free(e);
        return rc;
    }
    l->bstate = e;
    return 0;
}

static void ep_leave_thread(struct cor_loop *l)
{
    (void)l;
}

static void ep_fini(struct cor_loop *l)
{
    struct ep *e = ep_of(l);
    for (unsigned i = 0; i < e->nfds; i++)
        free(e->fds[i]);
    free(e->fds);
    close(e->epfd);
    free(e);
    l->bstate = NULL;
}

/* ------------------------------------------------------------- files ---- */

static bool at_cur(const struct cor__op *op)
{
    return op->off == (uint64_t)-1;
}

/* The blocking syscall of a file op (on an executor worker). */
static long file_call(struct cor__op *op)
{
    long r;
    switch (op->code) {
    case COR__OP_READ:
        r = at_cur(op) ? read(op->fd, op->addr, op->len)
                       : pread(op->fd, op->addr, op->len, (off_t)op->off);
        break;
    case COR__OP_WRITE:
        r = at_cur(op) ? write(op->fd, op->addr, op->len)
                       : pwrite(op->fd, op->addr, op->len, (off_t)op->off);
        break;
    case COR__OP_READV:
        r = at_cur(op) ? readv(op->fd, op->addr, (int)op->len)
                       : preadv(op->fd, op->addr, (int)op->len,
                                (off_t)op->off);
        break;
    case COR__OP_WRITEV:
        r = at_cur(op) ? writev(op->fd, op->addr, (int)op->len)
                       : pwritev(op->fd, op->addr, (int)op->len,
                                 (off_t)op->off);
        break;
    case COR__OP_FSYNC:
        r = op->opflags & COR__FSYNC_DATASYNC ? fdatasync(op->fd)
                                              : fsync(op->fd);
        break;
    case COR__OP_STATX:
        r = statx(op->fd, op->addr, (int)op->opflags, op->len, op->addr2);
        break;
    case COR__OP_OPENAT:
        r = openat(op->fd, op->addr, (int)op->opflags, (mode_t)op->len);
        break;
    case COR__OP_UNLINKAT:
        r = unlinkat(AT_FDCWD, op->addr, (int)op->opflags);
        break;
    case COR__OP_RENAMEAT:
        r = renameat(AT_FDCWD, op->addr, AT_FDCWD, op->addr2);
        break;
    case COR__OP_MKDIRAT:
        r = mkdirat(AT_FDCWD, op->addr, (mode_t)op->len);
        break;
    default:
        return -EINVAL;
    }
    return r < 0 ? -errno : r;
}

static void *file_job(void *arg)
{
    return (void *)(intptr_t)file_call(arg);
}

static void finish(struct cor_loop *l, struct cor__op *op, int res);

static void file_done(cor_future *f, void *ud)
{
    struct cor__op *op = ud;
    struct cor_loop *l = cor__tls_loop;
    void *r = NULL;
    int rc = cor_future_result(f, &r);
    cor_future_release(f);
    finish(l, op, rc < 0 ? rc : (int)(intptr_t)r);
}

static void to_executor(struct cor_loop *l, struct cor__op *op)
{
    cor_future *f = NULL;
    op->be_where = W_EXEC;
    int rc = cor_executor_submit(file_job, op, NULL, NULL, &f);
    if (rc == 0)
        rc = cor_future_on_done(f, file_done, op);
    if (rc < 0) {
        if (f)
            cor_future_release(f);
        op->be_where = W_NONE;
        finish(l, op, rc);
    }
}

/* ------------------------------------------------------ readiness ops --- */

static bool ready(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    return poll(&p, 1, 0) > 0;
}

static bool wants_output(const struct cor__op *op)
{
    switch (op->code) {
    case COR__OP_WRITE:
    case COR__OP_WRITEV:
    case COR__OP_SEND:
    case COR__OP_SENDMSG:
    case COR__OP_CONNECT:
        return true;
    case COR__OP_POLL:
        return !(op->opflags & (POLLIN | POLLPRI)) &&
               (op->opflags & POLLOUT);
    default:
        return false;
    }
}

static int set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    int nfl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
    if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0)
        return -errno;
    return fl;
}

/* A read or write that does not wait (RWF_NOWAIT: pipes, sockets); where
 * the file does not take the flag, it runs once the fd polls ready. */
static long rw_nowait(struct cor__op *op)
{
    bool out = op->code == COR__OP_WRITE || op->code == COR__OP_WRITEV;
    struct iovec one = {.iov_base = op->addr, .iov_len = op->len};
    bool vec = op->code == COR__OP_READV || op->code == COR__OP_WRITEV;
    const struct iovec *iov = vec ? op->addr : &one;
    int n = vec ? (int)op->len : 1;
    /* Pollable files do not seek: the offset is the stream's. */
    off_t off = -1;
    ssize_t r = out ? pwritev2(op->fd, iov, n, off, RWF_NOWAIT)
                    : preadv2(op->fd, iov, n, off, RWF_NOWAIT);
    if (r >= 0)
        return r;
    if (errno == EAGAIN)
        return -EAGAIN;
    if (errno != EOPNOTSUPP)
        return -errno;
    if (!ready(op->fd, out ? POLLOUT : POLLIN))
        return -EAGAIN;
    r = vec ? (out ? writev(op->fd, iov, n) : readv(op->fd, iov, n))
            : (out ? write(op->fd, op->addr, op->len)
                   : read(op->fd, op->addr, op->len));
    return r < 0 ? -errno : r;
}

/* One try of a readiness op: its result, or -EAGAIN to wait. */
static long try_op(struct cor__op *op)
{
    long r;
    int fd = op->fd;
    switch (op->code) {
    case COR__OP_READ:
    case COR__OP_READV:
    case COR__OP_WRITE:
    case COR__OP_WRITEV:
        return rw_nowait(op);
    case COR__OP_RECV:
        if (!op->len)
            return 0; /* as io_uring: nothing asked, nothing waited for */
        r = recv(fd, op->addr, op->len, (int)op->opflags | MSG_DONTWAIT);
        break;
    case COR__OP_SEND:
        r = send(fd, op->addr, op->len, (int)op->opflags | MSG_DONTWAIT);
        break;
    case COR__OP_RECVMSG:
        r = recvmsg(fd, op->addr, (int)op->opflags | MSG_DONTWAIT);
        break;
    case COR__OP_SENDMSG:
        r = sendmsg(fd, op->addr, (int)op->opflags | MSG_DONTWAIT);
        break;
    case COR__OP_ACCEPT:
    case COR__OP_ACCEPT_MULTI:
        r = accept4(fd, op->addr, op->addr2, SOCK_CLOEXEC);
        break;
    case COR__OP_CONNECT:
        if (op->flags) { /* in progress: done when writable */
            if (!ready(fd, POLLOUT))
                return -EAGAIN;
            int err = 0;
            socklen_t el = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                return -errno;
            return -err;
        } else {
            int fl = set_nonblock(fd, true);
            if (fl < 0)
                return fl;
            r = connect(fd, op->addr, (socklen_t)op->len);
            int e = errno;
            if (!(fl & O_NONBLOCK))
                set_nonblock(fd, false);
            if (r < 0 && (e == EINPROGRESS || e == EALREADY)) {
                op->flags = 1;
                return -EAGAIN;
            }
            errno = e;
        }
        break;
    case COR__OP_SHUTDOWN:
        r = shutdown(fd, (int)op->len);
        break;
    case COR__OP_CLOSE:
        r = close(fd);
        break;
    case COR__OP_POLL: {
        struct pollfd p = {.fd = fd, .events = (short)op->opflags};
        r = poll(&p, 1, 0);
        if (r > 0)
            return p.revents;
        if (r == 0)
            return -EAGAIN;
        break;
    }
    default:
        cor__panic("epoll backend: op code %u is not available", op->code);
    }
    if (r < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return r;
}

/* Whether op takes the short ways: an unbounded socket recv or send, the
 * ops of every request. */
static inline bool short_way(const struct cor__op *op)
{
    return (op->code == COR__OP_RECV || op->code == COR__OP_SEND) &&
           op->timeout_ns < 0;
}

/* The try of a socket's recv or send, without try_op's switch. */
static inline long try_sock(struct cor__op *op)
{
    ssize_t r;
    if (op->code == COR__OP_SEND)
        r = send(op->fd, op->addr, op->len, (int)op->opflags | MSG_DONTWAIT);
    else if (op->len)
        r = recv(op->fd, op->addr, op->len, (int)op->opflags | MSG_DONTWAIT);
    else
        return 0; /* as io_uring: nothing asked, nothing waited for */
    return r < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : r;
}

/* Whether op is on a pending or waiting list. */
static bool waiting(const struct cor__op *op)
{
    return op->be_where == W_PENDING || op->be_where == W_WAITING ||
           op->be_where == W_UNTRIED;
}

static void fd_forget(struct ep *e, int fd, bool made);

/* op, on no list and without a timer, ended with res: reported at the
 * next reap (never inside the call that ended it). */
static inline void done(struct cor_loop *l, struct ep *e, struct cor__op *op,
                        int res)
{
    op->res = res;
    op->be_where = W_DONE;
    cor__list_push(&e->done, &op->be_link);
    l->unsubmitted++; /* the next wait must not block */
}

/* Report op at the next reap (never inside the call that ended it). */
static void finish(struct cor_loop *l, struct cor__op *op, int res)
{
    struct ep *e = ep_of(l);
    if (op->code == COR__OP_OPENAT && res >= 0)
        fd_forget(e, res, true);
    if (waiting(op))
        cor__list_del(&op->be_link);
    if (op->timeout_ns >= 0)
        cor__timer_disarm(&l->timers, &op->be_timer);
    done(l, e, op, res);
}

static void op_timeout(struct cor__timer *t)
{
    struct cor__op *op = cor__container_of(t, struct cor__op, be_timer);
    if (waiting(op))
        finish(op->task->fut.loop, op, -ECANCELED);
}

static bool is_file(struct ep *e, struct cor__op *op)
{
    switch (op->code) {
    case COR__OP_READ:
    case COR__OP_WRITE:
    case COR__OP_READV:
    case COR__OP_WRITEV:
        break;
    case COR__OP_FSYNC:
    case COR__OP_STATX:
    case COR__OP_OPENAT:
    case COR__OP_UNLINKAT:
    case COR__OP_RENAMEAT:
    case COR__OP_MKDIRAT:
        return true;
    default:
        return false;
    }
    struct ep_fd *f = fd_get(e, op->fd);
    if (!f)
        return true;
    if (f->kind == K_UNKNOWN) {
        struct stat st;
        f->kind = fstat(op->fd, &st) == 0 &&
                          (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) ||
                           S_ISBLK(st.st_mode))
                      ? K_FILE
                      : K_POLL;
    }
    return f->kind == K_FILE;
}

/* What we know of fd (if anything) is of a file it no longer names: it was
 * closed, or it was just made (an accept's, an open's, a socket about to
 * connect: made).  A registration left in the kernel goes with the old
 * file. */
static void fd_forget(struct ep *e, int fd, bool made)
{
    struct ep_fd *f = made                                    ? fd_get(e, fd)
                      : fd >= 0 && (unsigned)fd < e->nfds ? e->fds[fd]
                                                            : NULL;
    if (!f)
        return;
    f->owned = made;
    f->reg = false;
    f->kind = K_UNKNOWN;
    f->proto = P_UNKNOWN;
    f->rin = f->rout = true;
    f->hup = false;
    f->unseen = false;
    cor__list_del(&f->ulink);
}

static bool *ready_flag(struct ep_fd *f, const struct cor__op *op)
{
    return wants_output(op) ? &f->rout : &f->rin;
}

static bool is_rw(const struct cor__op *op)
{
    return op->code == COR__OP_READ || op->code == COR__OP_WRITE ||
           op->code == COR__OP_READV || op->code == COR__OP_WRITEV;
}

/* The ops whose try can only find the fd not ready (and those of a connect
 * or a poll, which look at readiness their own way, are not among them). */
static bool waits_untried(const struct cor__op *op)
{
    switch (op->code) {
    case COR__OP_RECV:
    case COR__OP_RECVMSG:
    case COR__OP_SEND:
    case COR__OP_SENDMSG:
    case COR__OP_ACCEPT:
    case COR__OP_ACCEPT_MULTI:
        return true;
    default:
        return is_rw(op);
    }
}

/* Register f's fd (edge-triggered, both ways); a new registration reports
 * the fd's readiness as an event.  0 or -errno. */
static int fd_register(struct ep *e, struct ep_fd *f, int how)
{
    struct epoll_event ev = {.events = EP_EVENTS, .data.ptr = f};
    int rc = epoll_ctl(e->epfd, how, f->fd, &ev);
    if (rc < 0 && how == EPOLL_CTL_MOD && errno == ENOENT)
        how = EPOLL_CTL_ADD, rc = epoll_ctl(e->epfd, how, f->fd, &ev);
    if (rc < 0 && errno == EEXIST)
        rc = 0;
    else if (rc == 0 && how == EPOLL_CTL_ADD)
        f->proto = P_UNKNOWN, f->hup = false; /* a new file, maybe */
    if (rc < 0)
        return -errno;
    f->reg = true;
    return 0;
}

/* op cannot wait for f's readiness (the registration failed with rc). */
static void cannot_wait(struct cor_loop *l, struct cor__op *op,
                        struct ep_fd *f, int rc)
{
    if (waiting(op))
        cor__list_del(&op->be_link);
    op->be_where = W_NONE;
    if (rc == -EPERM && is_rw(op)) {
        /* Not pollable: a file after all (the number's old kind). */
        f->kind = K_FILE;
        to_executor(l, op);
    } else {
        finish(l, op, rc);
    }
}

/* park() of an fd registered again on every park, or not yet. */
static __attribute__((noinline)) void park_register(struct cor_loop *l,
                                                    struct cor__op *op,
                                                    struct ep_fd *f, bool out,
                                                    uint8_t where)
{
    int rc = fd_register(ep_of(l), f, EPOLL_CTL_ADD);
    op->be_where = W_NONE;
    if (rc < 0) {
        cannot_wait(l, op, f, rc);
        return;
    }
    op->be_where = where;
    cor__list_push(out ? &f->wq : &f->rq, &op->be_link);
}

/* op (off every list) would block: it waits for its fd's direction (where:
 * W_WAITING, or W_UNTRIED).  An fd we did not see made may be a new file
 * under an old number at any time: it is registered again (EEXIST: it is
 * the same) on every park, as a new one is; one we saw made is renewed
 * only if its wait lasts (above: it is unseen from its park to its next
 * event, which only clears the flag; the renewal takes it off the list). */
static inline void park(struct cor_loop *l, struct cor__op *op,
                        struct ep_fd *f, bool out, uint8_t where)
{
    if (cor__unlikely(!f->reg || !f->owned)) {
        park_register(l, op, f, out, where);
        return;
    }
    if (!f->unseen) {
        struct ep *e = ep_of(l);
        f->unseen = true;
        f->epoch = e->epoch;
        if (cor__list_empty(&f->ulink))
            cor__list_push(&e->unconfirmed, &f->ulink);
    }
    op->be_where = where;
    cor__list_push(out ? &f->wq : &f->rq, &op->be_link);
}

/* The start of an op that needs more than a queue: a close (its fd leaves
 * the epoll set), a connect (a new socket), an accept (a non-blocking
 * listener), a file op (the executor: true). */
static bool start_special(struct cor_loop *l, struct cor__op *op)
{
    struct ep *e = ep_of(l);
    switch (op->code) {
    case COR__OP_CLOSE: {
        struct ep_fd *f = (unsigned)op->fd < e->nfds ? e->fds[op->fd] : NULL;
        if (f && f->reg)
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, op->fd, NULL);
        fd_forget(e, op->fd, false);
        return false;
    }
    case COR__OP_CONNECT:
        fd_forget(e, op->fd, true); /* a socket's first op */
        return false;
    case COR__OP_ACCEPT:
    case COR__OP_ACCEPT_MULTI:
        /* accept4 has no "don't wait" flag: the listener goes O_NONBLOCK
         * (as libuv's do); its accepted sockets do not inherit it.  Looked
         * at on every start: the fd number may name a new listener now. */
        set_nonblock(op->fd, true);
        return false;
    default:
        if (!is_file(e, op))
            return false;
        to_executor(l, op); /* a deadline cannot stop a worker's call */
        return true;
    }
}

static __attribute__((noinline)) uint8_t sock_proto(int fd)
{
    int p = 0;
    socklen_t pl = sizeof p;
    return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &p, &pl) == 0 &&
                   p == IPPROTO_TCP
               ? P_TCP
               : P_OTHER;
}

/* A read of f's fd took fewer bytes than it asked for.  A TCP read takes
 * what the socket holds, up to len: it is empty now, and what comes next is
 * an edge.  Not so an end or an error already reported (a read after data
 * gets it, and its event has passed), nor urgent data (a read stops at its
 * mark). */
static inline void took_all(struct ep_fd *f, int fd)
{
    if (cor__unlikely(f->proto == P_UNKNOWN))
        f->proto = sock_proto(fd);
    if (f->proto == P_TCP && !f->hup)
        f->rin = false;
}

/* After the try of a socket's recv or send on f (op on no list, without a
 * timer) that gave r: done, or parked for f's next event.  What tried()
 * does for any op, in short.  In the reap (reaping) a task's op is
 * reported at once: waking a task runs nothing, a callback might. */
static inline __attribute__((always_inline)) void
settle(struct cor_loop *l, struct ep *e, struct ep_fd *f, struct cor__op *op,
       long r, bool reaping)
{
    if (r == -EAGAIN) {
        bool out = op->code == COR__OP_SEND;
        f->ready[out] = false;
        park(l, op, f, out, W_WAITING);
        return;
    }
    if (op->code == COR__OP_RECV && r > 0 && (uint64_t)r < op->len &&
        !(op->opflags & (MSG_PEEK | MSG_OOB)))
        took_all(f, op->fd);
    if (reaping && !op->complete) {
        op->be_where = W_NONE;
        COR__STAT(l->stats.cqes++);
        cor__op_complete(l, op, (int)r, 0);
        return;
    }
    done(l, e, op, (int)r);
}

/* Any other start. */
static __attribute__((noinline)) void start_any(struct cor_loop *l,
                                                struct cor__op *op)
{
    struct ep *e = ep_of(l);
    op->be_where = W_NONE;
    op->be_timer.idx = SIZE_MAX;
    op->flags = 0; /* a connect's state */
    if (cor__unlikely(op->fixed))
        cor__panic("epoll backend: a registered file");
    switch (op->code) {
    case COR__OP_RECV:
    case COR__OP_SEND:
    case COR__OP_RECVMSG:
    case COR__OP_SENDMSG:
        break; /* a socket's op */
    default:
        if (start_special(l, op))
            return;
    }
    COR__STAT(l->stats.sqes++);
    if (op->timeout_ns >= 0) {
        op->be_timer.fire = op_timeout;
        op->be_timer.deadline = cor_now_ns() + op->timeout_ns;
        if (cor__unlikely(cor__timer_arm(&l->timers, &op->be_timer) < 0)) {
            /* No room to grow the timer heap: a bounded op that could not
             * be bounded ends now, untried, rather than wait unbounded. */
            done(l, e, op, -ENOMEM);
            return;
        }
    } else if ((unsigned)op->fd < e->nfds && waits_untried(op)) {
        /* Known not ready: it waits for the fd's next event untried.  Not
         * a bounded op (its one chance is a try) nor a poll (its own
         * mask). */
        struct ep_fd *f = e->fds[op->fd];
        if (f && f->reg && !*ready_flag(f, op)) {
            park(l, op, f, wants_output(op), W_UNTRIED);
            return;
        }
    }
    op->be_where = W_PENDING;
    cor__list_push(&e->pending, &op->be_link);
    l->unsubmitted++;
}

/* The try at the start, out of line so that ep_start calls nothing but in
 * tail calls and saves no registers.  start_try keeps only l and op across
 * its syscall; what a send that went through does not need is
 * start_tried's. */
static __attribute__((noinline)) void start_tried(struct cor_loop *l,
                                                  struct cor__op *op, long r)
{
    struct ep *e = ep_of(l);
    settle(l, e, e->fds[op->fd], op, r, false);
}

static __attribute__((noinline)) void start_try(struct cor_loop *l,
                                                struct cor__op *op)
{
    long r = try_sock(op);
    COR__STAT(l->stats.sqes++);
    if (cor__likely(r >= 0 && op->code == COR__OP_SEND))
        done(l, ep_of(l), op, (int)r);
    else
        start_tried(l, op, r);
}

/* The ops of every request, an unbounded socket recv or send on an fd we
 * know, go the short way: tried at once when their direction may be ready
 * and no op is pending (that one goes first), parked untried when the
 * direction is known not ready (and the fd registered). */
static void ep_start(struct cor_loop *l, struct cor__op *op)
{
    struct ep *e = ep_of(l);
    struct ep_fd *f;
    unsigned send = (unsigned)op->code - COR__OP_RECV; /* 0 or 1: short */
    if (send < 2 && op->timeout_ns < 0 && !op->fixed &&
        (unsigned)op->fd < e->nfds && (f = e->fds[op->fd])) {
        if (f->ready[send]) {
            if (cor__list_empty(&e->pending)) {
                start_try(l, op);
                return;
            }
        } else if (f->reg) {
            COR__STAT(l->stats.sqes++);
            park(l, op, f, send, W_UNTRIED);
            return;
        }
    }
    start_any(l, op);
}

static void ep_flush(struct cor_loop *l)
{
    (void)l; /* ops are handed to the kernel as they are tried */
}

/* After a try of op that gave r (not -EAGAIN): what it tells of the fds. */
static void tried(struct ep *e, struct cor__op *op, long r)
{
    switch (op->code) {
    case COR__OP_ACCEPT:
    case COR__OP_ACCEPT_MULTI:
        if (r >= 0)
            fd_forget(e, (int)r, true);
        break;
    case COR__OP_RECV:
        if (op->opflags & (MSG_PEEK | MSG_OOB))
            break;
        /* fall through */
    case COR__OP_READ:
        if (r > 0 && (uint64_t)r < op->len &&
            (unsigned)op->fd < e->nfds && e->fds[op->fd])
            took_all(e->fds[op->fd], op->fd);
        break;
    default:
        break;
    }
}

static void ep_cancel(struct cor_loop *l, struct cor__op *op)
{
    if (!waiting(op))
        return;
    /* As io_uring, which runs a request submitted in the same batch as its
     * cancel first: an op not tried yet is tried once (a recv whose data
     * is there gets it); one already waiting for readiness ends unstarted,
     * its data left for the next call. */
    long r = -EAGAIN;
    if (op->code != COR__OP_ACCEPT_MULTI && op->be_where != W_WAITING) {
        r = try_op(op);
        if (r != -EAGAIN)
            tried(ep_of(l), op, r);
    }
    finish(l, op, r == -EAGAIN ? -ECANCELED : (int)r);
    /* W_EXEC: the job cannot be stopped; its outcome comes. */
}

/* Try every pending op: done, or waiting on its fd. */
static void run_pending(struct cor_loop *l)
{
    struct ep *e = ep_of(l);
    while (!cor__list_empty(&e->pending)) {
        struct cor__list *n = e->pending.next;
        struct cor__op *op = cor__container_of(n, struct cor__op, be_link);
        if (short_way(op) && (unsigned)op->fd < e->nfds && e->fds[op->fd]) {
            cor__list_del(n);
            op->be_where = W_NONE;
            settle(l, e, e->fds[op->fd], op, try_sock(op), false);
            continue;
        }
        long r = try_op(op);
        if (r == -EAGAIN) {
            struct ep_fd *f = fd_get(e, op->fd);
            if (!f) {
                finish(l, op, -ENOMEM);
                continue;
            }
            if (op->code != COR__OP_POLL)
                *ready_flag(f, op) = false;
            cor__list_del(n);
            park(l, op, f, wants_output(op), W_WAITING);
            continue;
        }
        tried(e, op, r);
        if (op->code == COR__OP_ACCEPT_MULTI && r >= 0) {
            /* One more connection; the accept stays armed. */
            cor__op_complete(l, op, (int)r, COR__F_MORE);
            continue;
        }
        finish(l, op, (int)r);
    }
}

/* Move the ops on from (a list head) to to (an unused head). */
static inline void list_take(struct cor__list *to, struct cor__list *from)
{
    *to = *from;
    to->next->prev = to->prev->next = to;
    cor__list_init(from);
}

/* The ops waiting on f's list q (not empty), whose direction f reported:
 * in q's order, each unbounded socket recv or send is tried at once, up to
 * the first other op, which goes back to pending with all those after it
 * (tried once every event is in).  Those that would still block park
 * behind the last one there was. */
static inline __attribute__((always_inline)) void
wake_list(struct cor_loop *l, struct ep *e, struct ep_fd *f,
          struct cor__list *q)
{
    struct cor__list *last = q->prev, *n;
    do {
        n = q->next;
        struct cor__op *op = cor__container_of(n, struct cor__op, be_link);
        if (!short_way(op)) {
            for (;;) {
                n = q->next;
                cor__list_del(n);
                cor__container_of(n, struct cor__op, be_link)->be_where =
                    W_PENDING;
                cor__list_push(&e->pending, n);
                if (n == last)
                    return;
            }
        }
        cor__list_del(n);
        settle(l, e, f, op, try_sock(op), true); /* sets be_where */
    } while (n != last);
}

static int64_t coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Renew the registrations of the fds unseen since before the last renewal
 * whose ops still wait; those that saw an event leave the list. */
static void renew(struct cor_loop *l)
{
    struct ep *e = ep_of(l);
    struct cor__list *n = e->unconfirmed.next;
    while (n != &e->unconfirmed) {
        struct ep_fd *f = cor__container_of(n, struct ep_fd, ulink);
        n = n->next;
        if (f->unseen && f->epoch == e->epoch)
            continue;
        cor__list_del(&f->ulink);
        if (!f->unseen)
            continue; /* the registration works */
        f->unseen = false;
        if (cor__list_empty(&f->rq) && cor__list_empty(&f->wq))
            continue;
        int rc = fd_register(e, f, EPOLL_CTL_MOD);
        if (rc < 0) {
            /* Not pollable any more (closed, a new kind of file). */
            f->reg = false;
            while (!cor__list_empty(&f->rq))
                cannot_wait(l, cor__container_of(f->rq.next, struct cor__op,
                                                 be_link), f, rc);
            while (!cor__list_empty(&f->wq))
                cannot_wait(l, cor__container_of(f->wq.next, struct cor__op,
                                                 be_link), f, rc);
        }
    }
}

/* Wait up to timeout ns (-1: no limit) for events.  epoll_pwait2 (Linux
 * 5.11) is refused by older kernels (ENOSYS) and by older container
 * profiles (EPERM): then epoll_wait, in milliseconds rounded up (a timer
 * is never woken for early). */
static int ep_poll(struct ep *e, int64_t timeout)
{
    if (!e->no_pwait2) {
        struct timespec ts = {.tv_sec = timeout / 1000000000,
                              .tv_nsec = timeout % 1000000000};
        int n = epoll_pwait2(e->epfd, e->evs, 128,
                             timeout >= 0 ? &ts : NULL, NULL);
        if (n >= 0 || (errno != ENOSYS && errno != EPERM))
            return n;
        e->no_pwait2 = true;
    }
    int ms = timeout < 0                       ? -1
             : timeout >= (int64_t)INT_MAX * 1000000 ? INT_MAX
                                               : (int)((timeout + 999999) /
                                                       1000000);
    return epoll_wait(e->epfd, e->evs, 128, ms);
}

static void ep_wait(struct cor_loop *l, int64_t timeout)
{
    struct ep *e = ep_of(l);
    run_pending(l);
    /* What the tries finished (or made ready: a multishot accept's
     * connection tasks) is for this iteration, not after a sleep. */
    if (!cor__list_empty(&e->done) || l->ready.head)
        timeout = 0;
    if (!cor__list_empty(&e->unconfirmed)) {
        int64_t now = coarse_now();
        if (now >= e->next_renew) {
            renew(l);
            e->epoch++;
            e->next_renew = now + CHECK_NS;
            if (!cor__list_empty(&e->done))
                timeout = 0;
        }
        if (!cor__list_empty(&e->unconfirmed) &&
            (timeout < 0 || timeout > CHECK_NS))
            timeout = CHECK_NS;
    }
    int n = ep_poll(e, timeout);
    COR__STAT(l->stats.enters++);
    e->nev = n > 0 ? n : 0;
}

static void ep_reap(struct cor_loop *l)
{
    struct ep *e = ep_of(l);
    for (int i = 0, nev = e->nev; i < nev; i++) {
        struct ep_fd *f = e->evs[i].data.ptr;
        uint32_t ev = e->evs[i].events;
        if (!f) { /* the eventfd */
            uint64_t v;
            ssize_t r = read(l->efd, &v, sizeof v);
            (void)r;
            continue;
        }
        f->unseen = false; /* the registration works */
        if (ev & (EPOLLRDHUP | EPOLLERR | EPOLLHUP | EPOLLPRI))
            f->hup = true;
        if (ev & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
            f->rin = true;
            if (!cor__list_empty(&f->rq))
                wake_list(l, e, f, &f->rq);
        }
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            f->rout = true;
            if (!cor__list_empty(&f->wq))
                wake_list(l, e, f, &f->wq);
        }
    }
    e->nev = 0;
    run_pending(l);
    if (cor__list_empty(&e->done))
        return;
    /* What ended so far: what the completions end in their turn (an op
     * started and done at once, a cancel) is for the next reap. */
    struct cor__list done;
    list_take(&done, &e->done);
    /* Nothing takes an op off the done list: it is read, not emptied. */
    size_t n = 0;
    for (struct cor__list *node = done.next, *next; node != &done;
         node = next) {
        next = node->next;
        struct cor__op *op = cor__container_of(node, struct cor__op, be_link);
        op->be_where = W_NONE;
        cor__op_complete(l, op, op->res, 0);
        n++;
    }
    COR__STAT(l->stats.cqes += n);
}

static void ep_fold_stats(struct cor_loop *l)
{
    (void)l; /* counted as they happen */
}

static void ep_wake(struct cor_loop *l)
{
    cor__loop_wake_eventfd(l);
}

static int ep_files_register(struct cor_loop *l, unsigned n)
{
    (void)l;
    (void)n;
    return -EOPNOTSUPP;
}

const struct cor__backend cor__backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .leave_thread = ep_leave_thread,
    .fini = ep_fini,
    .start = ep_start,
    .flush = ep_flush,
    .cancel = ep_cancel,
    .wait = ep_wait,
    .reap = ep_reap,
    .fold_stats = ep_fold_stats,
    .wake = ep_wake,
    .files_register = ep_files_register,
};
