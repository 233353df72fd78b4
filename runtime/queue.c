/* SPDX-License-Identifier: MIT */
/*
 * queue.c - the loop-local queue.  Items sit in a growable ring (FIFO and
 * LIFO) or a binary heap keyed by (cmp, put sequence) so equal priorities
 * leave in put order.  A put that finds a getter waiting hands the item to
 * it directly (the queue being empty, that is the item it would get), and
 * a get that frees a slot moves the first blocked putter's item in, so
 * waiters are served strictly in order and a woken task never finds its
 * item stolen.  A getter cancelled (or timed out) after it was handed an
 * item, before it ran, gives the item back: to the next getter, or into the
 * queue at the place its put order gives it (asyncio leaves the item in the
 * queue and wakes the next getter).  unfinished counts puts not yet matched
 * by task_done.  Every call checks the home loop (cor__check_home).
 */
#include "internal.h"
#include "waitq.h"

#include <stdlib.h>

struct slot {
    void *item;
    uint64_t seq;
};

struct cor_queue {
    struct cor_loop *loop;
    int kind;
    int (*cmp)(const void *, const void *);
    size_t maxsize;
    struct slot *a;
    size_t cap, head, n; /* ring: head..head+n; heap: a[0..n) */
    uint64_t seq;
    size_t unfinished;
    struct cor__list getters, putters, joiners;
};

int cor_queue_create(cor_queue **out, const cor_queue_opts *o)
{
    if (!out)
        return -EINVAL;
    if (!cor__tls_loop)
        return -EPERM;
    cor_queue_opts d = {0};
    if (!o)
        o = &d;
    if (o->kind < COR_QUEUE_FIFO || o->kind > COR_QUEUE_PRIORITY ||
        (o->kind == COR_QUEUE_PRIORITY && !o->cmp))
        return -EINVAL;
    struct cor_queue *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->loop = cor__tls_loop;
    q->kind = o->kind;
    q->cmp = o->cmp;
    q->maxsize = o->maxsize;
    cor__list_init(&q->getters);
    cor__list_init(&q->putters);
    cor__list_init(&q->joiners);
    *out = q;
    return 0;
}

void cor_queue_destroy(cor_queue *q)
{
    if (!q)
        return;
    free(q->a);
    free(q);
}

/* ------------------------------------------------------- storage ---- */

static bool before(const cor_queue *q, const struct slot *x,
                   const struct slot *y)
{
    int c = q->cmp(x->item, y->item);
    return c < 0 || (c == 0 && x->seq < y->seq);
}

static int grow(cor_queue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    struct slot *a = malloc(cap * sizeof *a);
    if (!a)
        return -ENOMEM;
    /* Unwrap the ring into the new array (a heap is never wrapped). */
    for (size_t i = 0; i < q->n; i++)
        a[i] = q->a[(q->head + i) % (q->cap ? q->cap : 1)];
    free(q->a);
    q->a = a;
    q->cap = cap;
    q->head = 0;
    return 0;
}

/* Add s: at the back of a ring, or sifted up the heap. */
static int store_slot(cor_queue *q, struct slot s)
{
    if (q->n == q->cap && grow(q) < 0)
        return -ENOMEM;
    if (q->kind != COR_QUEUE_PRIORITY) {
        /* In put order: a given-back item goes before those put after it
         * (the ring is sorted by seq; usually s is the newest). */
        size_t i = q->n;
        while (i > 0 && q->a[(q->head + i - 1) % q->cap].seq > s.seq) {
            q->a[(q->head + i) % q->cap] = q->a[(q->head + i - 1) % q->cap];
            i--;
        }
        q->a[(q->head + i) % q->cap] = s;
        q->n++;
        return 0;
    }
    size_t i = q->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(q, &s, &q->a[p]))
            break;
        q->a[i] = q->a[p];
        i = p;
    }
    q->a[i] = s;
    return 0;
}

static int store(cor_queue *q, void *item)
{
    return store_slot(q, (struct slot){item, q->seq++});
}

static void *take(cor_queue *q)
{
    void *item;
    switch (q->kind) {
    case COR_QUEUE_FIFO:
        item = q->a[q->head].item;
        q->head = (q->head + 1) % q->cap;
        q->n--;
        return item;
    case COR_QUEUE_LIFO:
        q->n--;
        return q->a[(q->head + q->n) % q->cap].item;
    default:
        break;
    }
    item = q->a[0].item;
    struct slot last = q->a[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && before(q, &q->a[c + 1], &q->a[c]))
            c++;
        if (!before(q, &q->a[c], &last))
            break;
        q->a[i] = q->a[c];
        i = c;
    }
    if (q->n)
        q->a[i] = last;
    return item;
}

static bool full(const cor_queue *q)
{
    return q->maxsize && q->n >= q->maxsize;
}

/* ------------------------------------------------------------ put ---- */

/* Hand (item, seq) to the first waiting getter; false if none waits. */
static bool hand(cor_queue *q, void *item, uint64_t seq)
{
    struct waitq_node *g = waitq_pop(&q->getters);
    if (!g)
        return false;
    g->item = item;
    g->seq = seq;
    cor__wake(g->t, 0);
    return true;
}

/* Add item without waiting; the caller checked there is room. */
static int put_now(cor_queue *q, void *item)
{
    if (hand(q, item, q->seq)) {
        q->seq++;
    } else {
        int rc = store(q, item);
        if (rc < 0)
            return rc;
    }
    q->unfinished++;
    return 0;
}

int cor_queue_put_nowait(cor_queue *q, void *item)
{
    if (!q)
        return -EINVAL;
    int rc = cor__check_home(q->loop);
    if (rc)
        return rc;
    if (full(q))
        return -EAGAIN;
    return put_now(q, item);
}

int cor_queue_put(cor_queue *q, void *item)
{
    if (!q)
        return -EINVAL;
    int rc;
    struct cor_task *t = waitq_self("cor_queue_put", q->loop, &rc);
    if (!t)
        return rc;
    if (!full(q))
        return put_now(q, item);
    struct waitq_node n;
    n.t = t;
    rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    /* A getter that frees a slot moves n.item in and counts it. */
    n.park.cancel = waitq_cancel;
    n.item = item;
    cor__list_push(&q->putters, &n.link);
    return cor__park(&n.park);
}

/* ------------------------------------------------------------ get ---- */

static void *get_now(cor_queue *q)
{
    void *item = take(q);
    /* Still full only when a given-back item went over maxsize. */
    struct waitq_node *p = full(q) ? NULL : waitq_pop(&q->putters);
    if (p) {
        /* Room for exactly one: the first blocked putter's item.  store()
         * cannot fail here: the slot just taken is free. */
        (void)store(q, p->item);
        q->unfinished++;
        cor__wake(p->t, 0);
    }
    return item;
}

int cor_queue_get_nowait(cor_queue *q, void **item)
{
    if (!q || !item)
        return -EINVAL;
    int rc = cor__check_home(q->loop);
    if (rc)
        return rc;
    if (q->n == 0)
        return -EAGAIN;
    *item = get_now(q);
    return 0;
}

int cor_queue_get(cor_queue *q, void **item)
{
    if (!q || !item)
        return -EINVAL;
    int rc;
    struct cor_task *t = waitq_self("cor_queue_get", q->loop, &rc);
    if (!t)
        return rc;
    if (q->n) {
        *item = get_now(q);
        return 0;
    }
    struct waitq_node n;
    rc = waitq_park(&q->getters, &n, t, "queue get");
    if (rc)
        return rc;
    /* Handed an item, then interrupted before it ran: give it back, still
     * unfinished.  Only if it cannot go back (no memory) is it returned. */
    if ((rc = waitq_late_interrupt(t)) && !hand(q, n.item, n.seq) &&
        store_slot(q, (struct slot){n.item, n.seq}) < 0)
        rc = 0;
    if (rc == 0)
        *item = n.item;
    return rc;
}

/* --------------------------------------------------- done and join ---- */

int cor_queue_task_done(cor_queue *q)
{
    if (!q)
        return -EINVAL;
    int rc = cor__check_home(q->loop);
    if (rc)
        return rc;
    if (q->unfinished == 0)
        return COR_EINVALSTATE;
    if (--q->unfinished == 0)
        while (waitq_wake_one(&q->joiners, 0))
            ;
    return 0;
}

int cor_queue_join(cor_queue *q)
{
    if (!q)
        return -EINVAL;
    int rc;
    struct cor_task *t = waitq_self("cor_queue_join", q->loop, &rc);
    if (!t)
        return rc;
    if (q->unfinished == 0)
        return 0;
    struct waitq_node n;
    return waitq_park(&q->joiners, &n, t, "queue join");
}

/* The queries answer on the home loop; elsewhere (or for NULL) 0 / false. */
static bool may_query(const cor_queue *q)
{
    return q && !cor__check_home(q->loop);
}

size_t cor_queue_size(const cor_queue *q)
{
    return may_query(q) ? q->n : 0;
}

bool cor_queue_empty(const cor_queue *q)
{
    return may_query(q) && q->n == 0;
}

bool cor_queue_full(const cor_queue *q)
{
    return may_query(q) && full(q);
}

size_t cor_queue_maxsize(const cor_queue *q)
{
    return q ? q->maxsize : 0;
}
