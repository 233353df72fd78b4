/* SPDX-License-Identifier: MIT */
/*
 * op.c - the common path of every awaited IO operation: an SQE, an op record
 * on the awaiting task's stack, an optional linked timeout, and the wait for
 * the final completion (cor__op_wait keeps waiting through a cancel, so the
 * caller's buffers stay valid until the kernel is done with them).
 */
#include "io_internal.h"

#include <pthread.h>
#include <signal.h>

struct io_uring_sqe *cor__io_begin(struct cor__op *op, const char *call,
                                   bool timed)
{
    struct cor_loop *l = cor__need_task(call)->fut.loop;
    cor__op_init(op);
    if (timed && io_uring_sq_space_left(&l->ring) < 2) {
        /* A full SQ would be flushed between the op and its timeout and
         * the kernel would see an unterminated link: flush it now. */
        io_uring_submit(&l->ring);
        l->unsubmitted = 0;
        l->stats.enters++;
    }
    return cor__sqe(l);
}

struct cor_task *cor__io_home_task(const struct cor_loop *home,
                                   const char *call)
{
    if (cor__check_home(home))
        return NULL;
    return cor__need_task(call);
}

int cor__io_wait_now(struct cor__op *op, struct io_uring_sqe *sqe)
{
    struct cor_task *t = cor__need_task("an io operation");
    if (cor__pending_interrupt(t))
        return cor__op_wait(op, sqe); /* turns the SQE into a NOP */
    struct cor_loop *l = t->fut.loop;
    op->task = t;
    cor__op_submit(l, op, sqe);
    io_uring_submit(&l->ring);
    l->unsubmitted = 0;
    l->stats.enters++;
    cor__park(&op->wait);
    /* As cor__op_wait: parked until the op's own CQE (invariant 3). */
    if (op->res == -ECANCELED && op->cancelling)
        return op->cancel_reason;
    return op->res;
}

int cor__io_wait(struct cor__op *op, struct io_uring_sqe *sqe,
                 int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return cor__op_wait(op, sqe);
    struct cor_task *t = cor__need_task("an io operation");
    int rc = cor__pending_interrupt(t);
    if (rc)
        return cor__op_wait(op, sqe); /* turns the SQE into a NOP */
    /* The kernel copies the timespec when the link timeout is submitted,
     * which happens before this frame can go (we wait below). */
    struct __kernel_timespec ts = {
        .tv_sec = timeout_ns / 1000000000,
        .tv_nsec = timeout_ns % 1000000000,
    };
    struct cor_loop *l = t->fut.loop;
    sqe->flags |= IOSQE_IO_LINK;
    struct io_uring_sqe *tsqe = cor__sqe(l);
    io_uring_prep_link_timeout(tsqe, &ts, 0);
    io_uring_sqe_set_data64(tsqe, COR__UD_IGNORE);
    l->unsubmitted++;
    rc = cor__op_wait(op, sqe);
    /* -ECANCELED without a cancel of ours: the linked timeout fired. */
    if (rc == -ECANCELED && !op->cancelling)
        return -ETIMEDOUT;
    return rc;
}

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void sigpipe_ignore(void)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
        !(sa.sa_flags & SA_SIGINFO)) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

void cor__io_sigpipe_once(void)
{
    pthread_once(&sigpipe_once, sigpipe_ignore);
}
