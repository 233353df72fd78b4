/* SPDX-License-Identifier: MIT */
/*
 * channel.c - the bounded MPMC channel: a ring buffer and two FIFOs of
 * waiters (senders, receivers) under one mutex, held only for a few stores.
 *
 * Invariants: an item moves exactly once, under the mutex - into the
 * buffer, or straight from a waiting sender to a waiting receiver - and the
 * waiter that gave or got it is completed in the same critical section, so a
 * cancel that comes later finds it completed and returns success.  A
 * waiting task is woken on its own loop: directly when the completer runs on
 * that loop, else through its inbox; the waiter lives on the task's stack
 * and the task returns only after that message ran.
 *
 * A receiving task handed an item but cancelled (or timed out) before it
 * ran gives the item back under the mutex: to the next receiver, or into
 * the buffer at the place its send order gives it (so the buffer may hold
 * more than cap items for a while; it grows).  Items carry their send
 * sequence for that.
 */
#include "internal.h"
#include "coring/channel.h"

#include <stdlib.h>

enum { W_WAITING, W_DONE };

struct chan_wait {
    struct cor__list link;
    void *item;             /* send: what to give; recv: what was got */
    uint64_t seq;           /* recv: the item's send order */
    int state;              /* under ch->mu */
    int rc;                 /* under ch->mu: 0 or -EPIPE once done */
    struct cor_task *t;     /* NULL: a plain thread */
    struct cor_chan *ch;
    struct cor__msg msg;
    struct cor__wait park;
};

struct slot {
    void *item;
    uint64_t seq;           /* send order */
};

struct cor_chan {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* plain threads waiting (either side) */
    struct slot *buf;       /* a ring of size slots, sorted by seq */
    size_t cap, size, head, len; /* sends see cap; given-back items may
                                  * take len past it (size grows) */
    uint64_t seq;
    bool closed;
    struct cor__list senders, receivers;
};

int cor_chan_create(cor_chan **out, size_t cap)
{
    if (!out || cap == 0 || cap > (1u << 24))
        return -EINVAL;
    cor_chan *ch = calloc(1, sizeof *ch);
    struct slot *buf = malloc(cap * sizeof *buf);
    if (!ch || !buf) {
        free(ch);
        free(buf);
        return -ENOMEM;
    }
    pthread_mutex_init(&ch->mu, NULL);
    pthread_cond_init(&ch->cv, NULL);
    ch->buf = buf;
    ch->cap = ch->size = cap;
    cor__list_init(&ch->senders);
    cor__list_init(&ch->receivers);
    *out = ch;
    return 0;
}

void cor_chan_destroy(cor_chan *ch)
{
    if (!ch)
        return;
    pthread_mutex_destroy(&ch->mu);
    pthread_cond_destroy(&ch->cv);
    free(ch->buf);
    free(ch);
}

static void wake_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    /* Done already (under the mutex): the task returns w->rc. */
    cor__wake(cor__container_of(m, struct chan_wait, msg)->t, 0);
}

/* Under ch->mu: w's operation has happened (or the channel closed). */
static void complete(cor_chan *ch, struct chan_wait *w, int rc)
{
    cor__list_del(&w->link);
    w->state = W_DONE;
    w->rc = rc;
    if (!w->t)
        pthread_cond_broadcast(&ch->cv);
    else if (cor__tls_loop == w->t->fut.loop)
        cor__wake(w->t, 0);
    else
        cor__loop_post(w->t->fut.loop, &w->msg);
}

static void wait_cancel(struct cor__wait *p, int reason)
{
    struct chan_wait *w = cor__container_of(p, struct chan_wait, park);
    cor_chan *ch = w->ch;
    pthread_mutex_lock(&ch->mu);
    bool waiting = w->state == W_WAITING;
    if (waiting)
        cor__list_del(&w->link);
    pthread_mutex_unlock(&ch->mu);
    /* Else it completed: its message wakes the task with success. */
    if (waiting)
        cor__wake(w->t, reason);
}

/*
 * Called with ch->mu held when the caller must wait on `q`; returns with it
 * released.  A task parks, a plain thread blocks, a loop callback gets
 * -EAGAIN.
 */
static int wait_on(cor_chan *ch, struct cor__list *q, struct chan_wait *w)
{
    struct cor_loop *l = cor__tls_loop;
    struct cor_task *t = l ? l->cur : NULL;
    int rc = t ? cor__pending_interrupt(t) : 0;
    if (rc || (l && !t)) {
        pthread_mutex_unlock(&ch->mu);
        return rc ? rc : -EAGAIN;
    }
    w->t = t;
    w->ch = ch;
    w->state = W_WAITING;
    w->msg.fn = wake_msg;
    w->park.cancel = wait_cancel;
    cor__list_push(q, &w->link);
    if (!t) {
        while (w->state == W_WAITING)
            pthread_cond_wait(&ch->cv, &ch->mu);
        rc = w->rc;
        pthread_mutex_unlock(&ch->mu);
        return rc;
    }
    pthread_mutex_unlock(&ch->mu);
    rc = cor__park_on(&w->park, "channel", NULL);
    if (rc)
        return rc; /* taken off the queue before anything happened */
    /* w->rc was written under the mutex before the wake was posted. */
    return w->rc;
}

static struct chan_wait *first(struct cor__list *q)
{
    return cor__list_empty(q)
               ? NULL
               : cor__container_of(q->next, struct chan_wait, link);
}

/* Under ch->mu: append an item to the buffer (the caller checked room). */
static void push(cor_chan *ch, void *item)
{
    ch->buf[(ch->head + ch->len++) % ch->size] = (struct slot){item,
                                                               ch->seq++};
}

/* Under ch->mu: hand an item to the first waiting receiver, if any. */
static bool hand(cor_chan *ch, void *item, uint64_t seq)
{
    struct chan_wait *r = first(&ch->receivers);
    if (!r)
        return false;
    r->item = item;
    r->seq = seq;
    complete(ch, r, 0);
    return true;
}

/*
 * A receiver got (item, seq) but its task was interrupted before it ran:
 * the next receiver gets it, or it goes back into the buffer before every
 * item sent after it.  -ENOMEM when the buffer cannot grow for it.
 */
static int give_back(cor_chan *ch, void *item, uint64_t seq)
{
    int rc = 0;
    pthread_mutex_lock(&ch->mu);
    if (hand(ch, item, seq))
        goto out;
    if (ch->len == ch->size) {
        struct slot *b = malloc((ch->size + 1) * 2 * sizeof *b);
        if (!b) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < ch->len; i++)
            b[i] = ch->buf[(ch->head + i) % ch->size];
        free(ch->buf);
        ch->buf = b;
        ch->size = (ch->size + 1) * 2;
        ch->head = 0;
    }
    size_t i = ch->len;
    while (i > 0 && ch->buf[(ch->head + i - 1) % ch->size].seq > seq) {
        ch->buf[(ch->head + i) % ch->size] =
            ch->buf[(ch->head + i - 1) % ch->size];
        i--;
    }
    ch->buf[(ch->head + i) % ch->size] = (struct slot){item, seq};
    ch->len++;
out:
    pthread_mutex_unlock(&ch->mu);
    return rc;
}

static int chan_put(cor_chan *ch, void *item, bool wait)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->closed) {
        pthread_mutex_unlock(&ch->mu);
        return -EPIPE;
    }
    if (hand(ch, item, ch->seq)) {
        ch->seq++;
    } else if (ch->len < ch->cap) {
        push(ch, item);
    } else if (!wait) {
        pthread_mutex_unlock(&ch->mu);
        return -EAGAIN;
    } else {
        struct chan_wait w = {.item = item};
        return wait_on(ch, &ch->senders, &w);
    }
    pthread_mutex_unlock(&ch->mu);
    return 0;
}

static int chan_get(cor_chan *ch, void **item, bool wait)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->len) {
        *item = ch->buf[ch->head].item;
        ch->head = (ch->head + 1) % ch->size;
        ch->len--;
        /* Room now: the oldest waiting sender's item goes in. */
        struct chan_wait *s = ch->len < ch->cap ? first(&ch->senders) : NULL;
        if (s) {
            push(ch, s->item);
            complete(ch, s, 0);
        }
        pthread_mutex_unlock(&ch->mu);
        return 0;
    }
    if (ch->closed || !wait) {
        int rc = ch->closed ? -EPIPE : -EAGAIN;
        pthread_mutex_unlock(&ch->mu);
        return rc;
    }
    struct chan_wait w = {.item = NULL};
    int rc = wait_on(ch, &ch->receivers, &w);
    /* Handed an item, then interrupted before it ran: give it back.  Only
     * if it cannot go back (no memory) is it returned. */
    if (rc == 0 && w.t && (rc = cor__pending_interrupt(w.t)) &&
        give_back(ch, w.item, w.seq) < 0)
        rc = 0;
    if (rc == 0)
        *item = w.item;
    return rc;
}

int cor_chan_send(cor_chan *ch, void *item)
{
    return ch ? chan_put(ch, item, true) : -EINVAL;
}

int cor_chan_try_send(cor_chan *ch, void *item)
{
    return ch ? chan_put(ch, item, false) : -EINVAL;
}

int cor_chan_recv(cor_chan *ch, void **item)
{
    return ch && item ? chan_get(ch, item, true) : -EINVAL;
}

int cor_chan_try_recv(cor_chan *ch, void **item)
{
    return ch && item ? chan_get(ch, item, false) : -EINVAL;
}

void cor_chan_close(cor_chan *ch)
{
    if (!ch)
        return;
    pthread_mutex_lock(&ch->mu);
    ch->closed = true;
    struct chan_wait *w;
    while ((w = first(&ch->senders)))
        complete(ch, w, -EPIPE);
    while ((w = first(&ch->receivers)))
        complete(ch, w, -EPIPE);
    pthread_mutex_unlock(&ch->mu);
}

size_t cor_chan_len(cor_chan *ch)
{
    if (!ch)
        return 0;
    pthread_mutex_lock(&ch->mu);
    size_t n = ch->len;
    pthread_mutex_unlock(&ch->mu);
    return n;
}
