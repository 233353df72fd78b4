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
 */
#include "internal.h"
#include "coring/channel.h"

#include <stdlib.h>

enum { W_WAITING, W_DONE };

struct chan_wait {
    struct cor__list link;
    void *item;             /* send: what to give; recv: what was got */
    int state;              /* under ch->mu */
    int rc;                 /* under ch->mu: 0 or -EPIPE once done */
    struct cor_task *t;     /* NULL: a plain thread */
    struct cor_chan *ch;
    struct cor__msg msg;
    struct cor__wait park;
};

struct cor_chan {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* plain threads waiting (either side) */
    void **buf;
    size_t cap, head, len;
    bool closed;
    struct cor__list senders, receivers;
};

int cor_chan_create(cor_chan **out, size_t cap)
{
    if (!out || cap == 0 || cap > (1u << 24))
        return -EINVAL;
    cor_chan *ch = calloc(1, sizeof *ch);
    void **buf = malloc(cap * sizeof *buf);
    if (!ch || !buf) {
        free(ch);
        free(buf);
        return -ENOMEM;
    }
    pthread_mutex_init(&ch->mu, NULL);
    pthread_cond_init(&ch->cv, NULL);
    ch->buf = buf;
    ch->cap = cap;
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
    rc = cor__park(&w->park);
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

static int chan_put(cor_chan *ch, void *item, bool wait)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->closed) {
        pthread_mutex_unlock(&ch->mu);
        return -EPIPE;
    }
    struct chan_wait *r = first(&ch->receivers);
    if (r) {
        r->item = item;
        complete(ch, r, 0);
    } else if (ch->len < ch->cap) {
        ch->buf[(ch->head + ch->len++) % ch->cap] = item;
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
        *item = ch->buf[ch->head];
        ch->head = (ch->head + 1) % ch->cap;
        ch->len--;
        /* Room now: the oldest waiting sender's item goes in. */
        struct chan_wait *s = first(&ch->senders);
        if (s) {
            ch->buf[(ch->head + ch->len++) % ch->cap] = s->item;
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
    if (rc == 0)
        *item = w.item;
    return rc;
}

int cor_chan_send(cor_chan *ch, void *item)
{
    return chan_put(ch, item, true);
}

int cor_chan_try_send(cor_chan *ch, void *item)
{
    return chan_put(ch, item, false);
}

int cor_chan_recv(cor_chan *ch, void **item)
{
    return chan_get(ch, item, true);
}

int cor_chan_try_recv(cor_chan *ch, void **item)
{
    return chan_get(ch, item, false);
}

void cor_chan_close(cor_chan *ch)
{
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
    pthread_mutex_lock(&ch->mu);
    size_t n = ch->len;
    pthread_mutex_unlock(&ch->mu);
    return n;
}
