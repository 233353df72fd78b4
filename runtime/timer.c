/* SPDX-License-Identifier: MIT */
/*
 * timer.c - a loop's timers: a 4-ary min-heap of (deadline, sequence) keys
 * stored inline in the array (no pointer chase on compare), each entry
 * pointing at a timer that knows its index (O(log n) disarm).  The sequence
 * number makes equal deadlines fire in the order they were armed.  A million
 * armed timers cost 24 MB of heap and ~20 comparisons per operation.
 */
#include "internal.h"

#include <stdlib.h>

#define ARITY 4

static inline bool before(const struct cor__heap_ent *a,
                          const struct cor__heap_ent *b)
{
    return a->deadline < b->deadline ||
           (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void place(struct cor__timers *h, size_t i,
                         struct cor__heap_ent e)
{
    h->a[i] = e;
    e.t->idx = i;
}

static void sift_up(struct cor__timers *h, size_t i, struct cor__heap_ent e)
{
    while (i > 0) {
        size_t p = (i - 1) / ARITY;
        if (!before(&e, &h->a[p]))
            break;
        place(h, i, h->a[p]);
        i = p;
    }
    place(h, i, e);
}

static void sift_down(struct cor__timers *h, size_t i, struct cor__heap_ent e)
{
    for (;;) {
        size_t c = i * ARITY + 1;
        if (c >= h->n)
            break;
        size_t best = c, end = c + ARITY < h->n ? c + ARITY : h->n;
        for (size_t k = c + 1; k < end; k++)
            if (before(&h->a[k], &h->a[best]))
                best = k;
        if (!before(&h->a[best], &e))
            break;
        place(h, i, h->a[best]);
        i = best;
    }
    place(h, i, e);
}

int cor__timers_init(struct cor__timers *h)
{
    h->n = 0;
    h->seq = 0;
    h->cap = 256;
    h->a = malloc(h->cap * sizeof *h->a);
    return h->a ? 0 : -ENOMEM;
}

void cor__timers_fini(struct cor__timers *h)
{
    free(h->a);
    h->a = NULL;
    h->n = h->cap = 0;
}

_Atomic bool cor__timers_fail_grow;

int cor__timer_arm(struct cor__timers *h, struct cor__timer *t)
{
    if (h->n == h->cap) {
        if (cor__unlikely(atomic_exchange_explicit(&cor__timers_fail_grow,
                                                   false,
                                                   memory_order_relaxed)))
            return -ENOMEM;
        size_t cap = h->cap * 2;
        struct cor__heap_ent *a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return -ENOMEM;
        h->a = a;
        h->cap = cap;
    }
    struct cor__heap_ent e = {t->deadline, h->seq++, t};
    sift_up(h, h->n++, e);
    return 0;
}

void cor__timer_disarm(struct cor__timers *h, struct cor__timer *t)
{
    size_t i = t->idx;
    if (i == SIZE_MAX)
        return;
    t->idx = SIZE_MAX;
    struct cor__heap_ent last = h->a[--h->n];
    if (i == h->n)
        return;
    if (i > 0 && before(&last, &h->a[(i - 1) / ARITY]))
        sift_up(h, i, last);
    else
        sift_down(h, i, last);
}

size_t cor__timers_expire(struct cor__timers *h, int64_t now)
{
    size_t fired = 0;
    while (h->n && h->a[0].deadline <= now) {
        struct cor__timer *t = h->a[0].t;
        cor__timer_disarm(h, t);
        t->fire(t);
        fired++;
    }
    return fired;
}
