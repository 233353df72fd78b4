/* SPDX-License-Identifier: MIT */
/*
 * epoll.c - the epoll backend (backend.h), for kernels and sandboxes that
 * refuse io_uring.  Sockets, pipes and other pollable fds work by
 * readiness: an op is tried without blocking in the loop's wait phase; one
 * that would block waits on its fd (registered edge-triggered for input and
 * output, once per file) and is tried again when the fd reports the
 * direction it needs.  Files, whose reads never report "would block", go to
 * the executor as libuv does (a job per op, its result handed back on the
 * loop).  Bounded ops are loop timers; other threads and loops wake a
 * sleeping loop through its eventfd.
 *
 * Invariant 3: an op waiting for readiness has not touched its buffer, so a
 * cancel ends it at once with -ECANCELED (at the next reap, never inside the
 * cancelling call); an op on the executor cannot be stopped, so its cancel
 * waits for the job and returns the job's real outcome.
 */
#include "internal.h"

#include "coring/executor.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Where an op is (op->be_where). */
enum { W_NONE, W_PENDING, W_WAITING, W_DONE, W_EXEC };

/* What kind of file an fd was when first used (a stale entry after a raw
 * close(2) only costs speed: a pollable fd sent to the executor still
 * works, and so does a file polled, which always reads ready). */
enum { K_UNKNOWN, K_POLL, K_FILE };

struct ep_fd {
    struct cor__list rq, wq; /* ops waiting for input, for output */
    uint8_t kind;
};

struct ep {
    int epfd;
    struct ep_fd **fds;
    unsigned nfds;
    struct cor__list pending; /* to try in the next wait or reap */
    struct cor__list done;    /* finished, to report in reap */
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
        struct ep_fd *f = calloc(1, sizeof *f);
        if (!f)
            return NULL;
        cor__list_init(&f->rq);
        cor__list_init(&f->wq);
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
    if (e->epfd < 0) {
        int rc = -errno;
        free(e);
        return rc;
    }
    cor__list_init(&e->pending);
    cor__list_init(&e->done);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = l->efd};
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

/* Report op at the next reap (never inside the call that ended it). */
static void finish(struct cor_loop *l, struct cor__op *op, int res)
{
    struct ep *e = ep_of(l);
    if (op->be_where == W_PENDING || op->be_where == W_WAITING)
        cor__list_del(&op->be_link);
    if (op->be_timer.idx != SIZE_MAX)
        cor__timer_disarm(&l->timers, &op->be_timer);
    op->res = res;
    op->be_where = W_DONE;
    cor__list_push(&e->done, &op->be_link);
    l->unsubmitted++; /* the next wait must not block */
}

static void op_timeout(struct cor__timer *t)
{
    struct cor__op *op = cor__container_of(t, struct cor__op, be_timer);
    if (op->be_where == W_PENDING || op->be_where == W_WAITING)
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

static void ep_start(struct cor_loop *l, struct cor__op *op)
{
    struct ep *e = ep_of(l);
    op->be_where = W_NONE;
    op->be_timer.idx = SIZE_MAX;
    op->flags = 0;
    if (op->fixed)
        cor__panic("epoll backend: a registered file");
    if (op->code == COR__OP_CLOSE) {
        struct ep_fd *f = (unsigned)op->fd < e->nfds ? e->fds[op->fd] : NULL;
        if (f) {
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, op->fd, NULL);
            f->kind = K_UNKNOWN;
        }
    }
    if (op->code == COR__OP_ACCEPT || op->code == COR__OP_ACCEPT_MULTI) {
        /* accept4 has no "don't wait" flag: the listener goes O_NONBLOCK
         * (as libuv's do); its accepted sockets do not inherit it.  Looked
         * at on every start: the fd number may name a new listener now. */
        set_nonblock(op->fd, true);
    }
    if (op->timeout_ns >= 0) {
        op->be_timer.fire = op_timeout;
        op->be_timer.deadline = cor_now_ns() + op->timeout_ns;
        cor__timer_arm(&l->timers, &op->be_timer);
    }
    if (is_file(e, op)) {
        to_executor(l, op);
        return;
    }
    op->be_where = W_PENDING;
    cor__list_push(&e->pending, &op->be_link);
    l->unsubmitted++;
    COR__STAT(l->stats.sqes++);
}

static void ep_flush(struct cor_loop *l)
{
    (void)l; /* ops are handed to the kernel as they are tried */
}

static void ep_cancel(struct cor_loop *l, struct cor__op *op)
{
    if (op->be_where != W_PENDING && op->be_where != W_WAITING)
        return;
    /* As io_uring, which runs a request submitted in the same batch as its
     * cancel first: an op not tried yet is tried once (a recv whose data
     * is there gets it); one already waiting for readiness ends unstarted,
     * its data left for the next call. */
    long r = op->code == COR__OP_ACCEPT_MULTI || op->be_where == W_WAITING
                 ? -EAGAIN
                 : try_op(op);
    finish(l, op, r == -EAGAIN ? -ECANCELED : (int)r);
    /* W_EXEC: the job cannot be stopped; its outcome comes. */
}

/* Make sure fd reports readiness to us (edge-triggered, both ways). */
static void watch(struct ep *e, int fd)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
        .data.fd = fd,
    };
    epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Try every pending op: done, or waiting on its fd. */
static void run_pending(struct cor_loop *l)
{
    struct ep *e = ep_of(l);
    while (!cor__list_empty(&e->pending)) {
        struct cor__list *n = e->pending.next;
        struct cor__op *op = cor__container_of(n, struct cor__op, be_link);
        long r = try_op(op);
        if (r == -EAGAIN) {
            struct ep_fd *f = fd_get(e, op->fd);
            if (!f) {
                finish(l, op, -ENOMEM);
                continue;
            }
            /* Registered before the second try: what arrives after it
             * is reported. */
            watch(e, op->fd);
            r = try_op(op);
            if (r == -EAGAIN) {
                cor__list_del(n);
                op->be_where = W_WAITING;
                cor__list_push(wants_output(op) ? &f->wq : &f->rq, n);
                continue;
            }
        }
        if (op->code == COR__OP_ACCEPT_MULTI && r >= 0) {
            /* One more connection; the accept stays armed. */
            cor__op_complete(l, op, (int)r, COR__F_MORE);
            continue;
        }
        finish(l, op, (int)r);
    }
}

static void wake_list(struct ep *e, struct cor__list *q)
{
    while (!cor__list_empty(q)) {
        struct cor__list *n = q->next;
        struct cor__op *op = cor__container_of(n, struct cor__op, be_link);
        cor__list_del(n);
        op->be_where = W_PENDING;
        cor__list_push(&e->pending, n);
    }
}

static void ep_wait(struct cor_loop *l, int64_t timeout)
{
    struct ep *e = ep_of(l);
    run_pending(l);
    /* What the tries finished (or made ready: a multishot accept's
     * connection tasks) is for this iteration, not after a sleep. */
    if (!cor__list_empty(&e->done) || l->ready.head)
        timeout = 0;
    struct timespec ts = {.tv_sec = timeout / 1000000000,
                          .tv_nsec = timeout % 1000000000};
    int n = epoll_pwait2(e->epfd, e->evs, 128, timeout >= 0 ? &ts : NULL,
                         NULL);
    COR__STAT(l->stats.enters++);
    e->nev = n > 0 ? n : 0;
}

static void ep_reap(struct cor_loop *l)
{
    struct ep *e = ep_of(l);
    for (int i = 0; i < e->nev; i++) {
        int fd = e->evs[i].data.fd;
        uint32_t ev = e->evs[i].events;
        if (fd == l->efd) {
            uint64_t v;
            ssize_t r = read(l->efd, &v, sizeof v);
            (void)r;
            continue;
        }
        if ((unsigned)fd >= e->nfds || !e->fds[fd])
            continue;
        struct ep_fd *f = e->fds[fd];
        if (ev & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
            wake_list(e, &f->rq);
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            wake_list(e, &f->wq);
    }
    e->nev = 0;
    run_pending(l);
    size_t n = 0;
    while (!cor__list_empty(&e->done)) {
        struct cor__list *node = e->done.next;
        struct cor__op *op = cor__container_of(node, struct cor__op, be_link);
        cor__list_del(node);
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
