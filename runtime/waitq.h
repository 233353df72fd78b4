/* SPDX-License-Identifier: MIT */
/*
 * waitq.h - a FIFO of parked tasks, shared by the loop-local primitives
 * (sync.c, queue.c, gen.c).  A waiter lives on its task's stack; it is on
 * the queue exactly while its task is parked in waitq_park(), so memory is
 * never touched after the waiting call returned.  Loop-local: no locking.
 */
#ifndef CORING_WAITQ_H
#define CORING_WAITQ_H

#include "internal.h"

struct waitq_node {
    struct cor__list link;
    struct cor__wait park;
    struct cor_task *t;
    void *item;   /* a value handed over with the wake-up (queues) */
    uint64_t seq; /* the item's put order (queues) */
};

static inline void waitq_cancel(struct cor__wait *w, int reason)
{
    struct waitq_node *n = cor__container_of(w, struct waitq_node, park);
    cor__list_del(&n->link);
    cor__wake(n->t, reason);
}

/* Park the current task at the end of q.  Returns the wake code.  what
 * names the primitive for the task dump ("lock", "queue get", ...). */
static inline int waitq_park(struct cor__list *q, struct waitq_node *n,
                             struct cor_task *t, const char *what)
{
    n->t = t;
    n->park.cancel = waitq_cancel;
    n->item = NULL;
    int rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    cor__list_push(q, &n->link);
    return cor__park_on(&n->park, what, q);
}

/* The first waiter, taken off q (NULL when none). */
static inline struct waitq_node *waitq_pop(struct cor__list *q)
{
    if (cor__list_empty(q))
        return NULL;
    struct waitq_node *n = cor__container_of(q->next, struct waitq_node, link);
    cor__list_del(&n->link);
    return n;
}

/* Wake the first waiter with rc; false if there was none. */
static inline bool waitq_wake_one(struct cor__list *q, int rc)
{
    struct waitq_node *n = waitq_pop(q);
    if (!n)
        return false;
    cor__wake(n->t, rc);
    return true;
}

/* Wake every waiter with rc. */
static inline void waitq_wake_all(struct cor__list *q, int rc)
{
    while (waitq_wake_one(q, rc))
        ;
}

/* An object destroyed on its loop wakes its waiters with -EBADF (off its
 * loop there is nobody to wake safely: it is only freed). */
static inline void waitq_destroyed(struct cor__list *q,
                                   const struct cor_loop *home)
{
    if (!cor__check_home(home))
        waitq_wake_all(q, -EBADF);
}

/* The calling task, or NULL and *rc = -EXDEV when the caller is not on
 * home (checked first: a plain thread gets -EXDEV, not a panic). */
static inline struct cor_task *waitq_self(const char *call,
                                          struct cor_loop *home, int *rc)
{
    *rc = cor__check_home(home);
    return *rc ? NULL : cor__need_task(call);
}

/*
 * Called when waitq_park returned 0: the interrupt (-ECANCELED, -ETIMEDOUT)
 * that reached the task after it was woken and before it ran, else 0.
 * Such a waiter was handed something (a lock, a unit, an item, a
 * notification) that it passes on to the next waiter before returning the
 * interrupt, as asyncio's waiters do.
 */
static inline int waitq_late_interrupt(struct cor_task *t)
{
    return cor__pending_interrupt(t);
}

#endif
