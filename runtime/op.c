/* SPDX-License-Identifier: MIT */
/*
 * op.c - the op protocol, the same on every backend: an op record (on the
 * awaiting task's stack, or in an io object), its request, the start, the
 * wait for its final completion whatever interrupts it (invariant 3: the
 * caller's buffers stay valid until the kernel is done with them), the
 * cancel (the submit and the completion's dispatch are inline in
 * internal.h).
 */
#include "internal.h"

#include <string.h>

static void op_cancel(struct cor__wait *w, int reason)
{
    struct cor__op *op = cor__container_of(w, struct cor__op, wait);
    struct cor_loop *l = op->task->fut.loop;
    op->cancelling = true;
    op->cancel_reason = reason;
    l->be->cancel(l, op);
}

bool cor__wait_is_op(const struct cor__wait *w)
{
    return w && w->cancel == op_cancel;
}

void cor__op_init(struct cor__op *op)
{
    memset(op, 0, offsetof(struct cor__op, be_link));
    op->wait.cancel = op_cancel;
    op->timeout_ns = -1;
}

struct cor_loop *cor__op_begin(struct cor__op *op, const char *call,
                               unsigned code, int fd)
{
    struct cor_loop *l = cor__need_task(call)->fut.loop;
    cor__op_init(op);
    op->code = (uint8_t)code;
    op->fd = fd;
    return l;
}

_Static_assert(offsetof(struct cor__op, task) + sizeof(void *) <= 64,
               "the hot part of an op fits one cache line");

void cor__op_cancel(struct cor_loop *l, struct cor__op *op)
{
    l->be->cancel(l, op);
}

/* Park until the op's final completion; what the waiting call returns. */
static int park_op(struct cor__op *op)
{
    cor__park_on(&op->wait, "io", op);
    /* Parked until the op's own completion (invariant 3), whatever
     * interrupted. */
    if (op->res == -ECANCELED && op->cancelling)
        return op->cancel_reason;
    /* -ECANCELED without a cancel of ours: its time ran out. */
    if (op->res == -ECANCELED && op->timeout_ns >= 0)
        return -ETIMEDOUT;
    return op->res;
}

int cor__op_wait(struct cor__op *op, int64_t timeout_ns)
{
    struct cor_task *t = cor__need_task("an io operation");
    /* Cancelled before it started: nothing is handed to the kernel. */
    int rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    op->task = t;
    /* The API's COR_NO_TIMEOUT_NS is none (-1 here); any other negative
     * time has already passed: 0, one chance at once. */
    op->timeout_ns = timeout_ns == COR_NO_TIMEOUT_NS ? -1
                     : timeout_ns < 0                ? 0
                                                     : timeout_ns;
    cor__op_submit(t->fut.loop, op);
    return park_op(op);
}

int cor__op_wait_now(struct cor__op *op)
{
    struct cor_task *t = cor__need_task("an io operation");
    int rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    struct cor_loop *l = t->fut.loop;
    op->task = t;
    cor__op_submit(l, op);
    l->be->flush(l);
    return park_op(op);
}
