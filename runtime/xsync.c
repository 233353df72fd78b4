/* SPDX-License-Identifier: MIT */
/*
 * xsync.c - cross-loop Semaphore, Event and Queue over the MPMC channel.
 * A semaphore is a channel of tokens (capacity = its bound).  An event is a
 * channel nobody sends on: set closes it, which wakes every receiver on
 * every loop; clear swaps in a fresh one, and a closed one is freed when the
 * last waiter that entered it has left.  A queue is a channel plus a count
 * of unfinished items whose zero is an event (join).
 */
#include "internal.h"
#include "coring/channel.h"
#include "coring/xsync.h"

#include <pthread.h>
#include <stdlib.h>

#define TOKEN ((void *)1) /* what a semaphore's channel holds */
#define MAX_CAP (1u << 24)

struct cor_xsem {
    cor_chan *ch;
};

int cor_xsem_create(cor_xsem **out, int value, int max)
{
    if (!out || value < 0 || max < 1 || value > max || (unsigned)max > MAX_CAP)
        return -EINVAL;
    cor_xsem *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    int rc = cor_chan_create(&s->ch, (size_t)max);
    if (rc < 0) {
        free(s);
        return rc;
    }
    for (int i = 0; i < value; i++)
        cor_chan_try_send(s->ch, TOKEN);
    *out = s;
    return 0;
}

void cor_xsem_destroy(cor_xsem *s)
{
    if (!s)
        return;
    cor_chan_destroy(s->ch);
    free(s);
}

int cor_xsem_acquire(cor_xsem *s)
{
    if (!s)
        return -EINVAL;
    void *tok;
    return cor_chan_recv(s->ch, &tok);
}

int cor_xsem_try_acquire(cor_xsem *s)
{
    if (!s)
        return -EINVAL;
    void *tok;
    return cor_chan_try_recv(s->ch, &tok);
}

int cor_xsem_release(cor_xsem *s)
{
    if (!s)
        return -EINVAL;
    int rc = cor_chan_try_send(s->ch, TOKEN);
    return rc == -EAGAIN ? -EOVERFLOW : rc;
}

int cor_xsem_value(cor_xsem *s)
{
    if (!s)
        return -EINVAL;
    return (int)cor_chan_len(s->ch);
}

/*
 * One generation of an event: the channel its waiters sleep on.  users
 * counts the waiters inside it; a retired generation (cleared after a set)
 * is freed by whoever brings users to 0.
 */
struct gen {
    cor_chan *ch;
    int users;
};

struct cor_xevent {
    pthread_mutex_t mu;
    struct gen *cur;
    bool set;
};

static struct gen *gen_new(void)
{
    struct gen *g = calloc(1, sizeof *g);
    if (g && cor_chan_create(&g->ch, 1) < 0) {
        free(g);
        g = NULL;
    }
    return g;
}

static void gen_free(struct gen *g)
{
    cor_chan_destroy(g->ch);
    free(g);
}

int cor_xevent_create(cor_xevent **out)
{
    if (!out)
        return -EINVAL;
    cor_xevent *e = calloc(1, sizeof *e);
    if (!e || !(e->cur = gen_new())) {
        free(e);
        return -ENOMEM;
    }
    pthread_mutex_init(&e->mu, NULL);
    *out = e;
    return 0;
}

void cor_xevent_destroy(cor_xevent *e)
{
    if (!e)
        return;
    gen_free(e->cur);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

void cor_xevent_set(cor_xevent *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    if (!e->set) {
        e->set = true;
        cor_chan_close(e->cur->ch); /* wakes every waiter, on its loop */
    }
    pthread_mutex_unlock(&e->mu);
}

int cor_xevent_clear(cor_xevent *e)
{
    if (!e)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&e->mu);
    if (e->set) {
        struct gen *g = gen_new();
        if (!g) {
            rc = -ENOMEM;
        } else {
            struct gen *old = e->cur;
            e->cur = g;
            e->set = false;
            old->users = -old->users; /* retired: < 0 while users remain */
            if (old->users == 0)
                gen_free(old);
        }
    }
    pthread_mutex_unlock(&e->mu);
    return rc;
}

bool cor_xevent_is_set(cor_xevent *e)
{
    if (!e)
        return false;
    pthread_mutex_lock(&e->mu);
    bool set = e->set;
    pthread_mutex_unlock(&e->mu);
    return set;
}

int cor_xevent_wait(cor_xevent *e)
{
    if (!e)
        return -EINVAL;
    pthread_mutex_lock(&e->mu);
    if (e->set) {
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
    struct gen *g = e->cur;
    g->users++;
    pthread_mutex_unlock(&e->mu);
    void *unused;
    int rc = cor_chan_recv(g->ch, &unused); /* only a close ends it: -EPIPE */
    pthread_mutex_lock(&e->mu);
    bool retired = g->users < 0;
    g->users += retired ? 1 : -1;
    if (retired && g->users == 0)
        gen_free(g);
    pthread_mutex_unlock(&e->mu);
    return rc == -EPIPE ? 0 : rc;
}

struct cor_xqueue {
    cor_chan *ch;
    pthread_mutex_t mu;
    size_t unfinished; /* put and not yet marked done */
    cor_xevent *all_done;
};

int cor_xqueue_create(cor_xqueue **out, size_t maxsize)
{
    if (!out || maxsize == 0 || maxsize > MAX_CAP)
        return -EINVAL;
    cor_xqueue *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    int rc = cor_chan_create(&q->ch, maxsize);
    if (rc == 0 && (rc = cor_xevent_create(&q->all_done)) < 0)
        cor_chan_destroy(q->ch);
    if (rc < 0) {
        free(q);
        return rc;
    }
    cor_xevent_set(q->all_done); /* nothing unfinished yet */
    pthread_mutex_init(&q->mu, NULL);
    *out = q;
    return 0;
}

void cor_xqueue_destroy(cor_xqueue *q)
{
    if (!q)
        return;
    cor_chan_destroy(q->ch);
    cor_xevent_destroy(q->all_done);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Count the item as unfinished before it becomes visible to getters, so a
 * task_done can never run ahead of it; undo if it was not queued. */
static int counted_put(cor_xqueue *q, void *item, bool wait)
{
    pthread_mutex_lock(&q->mu);
    if (q->unfinished++ == 0 && cor_xevent_clear(q->all_done) < 0) {
        q->unfinished--;
        pthread_mutex_unlock(&q->mu);
        return -ENOMEM;
    }
    pthread_mutex_unlock(&q->mu);
    int rc = wait ? cor_chan_send(q->ch, item) : cor_chan_try_send(q->ch, item);
    if (rc < 0) {
        pthread_mutex_lock(&q->mu);
        if (--q->unfinished == 0)
            cor_xevent_set(q->all_done);
        pthread_mutex_unlock(&q->mu);
    }
    return rc;
}

int cor_xqueue_put(cor_xqueue *q, void *item)
{
    if (!q)
        return -EINVAL;
    return counted_put(q, item, true);
}

int cor_xqueue_put_nowait(cor_xqueue *q, void *item)
{
    if (!q)
        return -EINVAL;
    return counted_put(q, item, false);
}

int cor_xqueue_get(cor_xqueue *q, void **item)
{
    if (!q || !item)
        return -EINVAL;
    return cor_chan_recv(q->ch, item);
}

int cor_xqueue_get_nowait(cor_xqueue *q, void **item)
{
    if (!q || !item)
        return -EINVAL;
    return cor_chan_try_recv(q->ch, item);
}

int cor_xqueue_task_done(cor_xqueue *q)
{
    if (!q)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    if (q->unfinished == 0)
        rc = -EINVAL;
    else if (--q->unfinished == 0)
        cor_xevent_set(q->all_done);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int cor_xqueue_join(cor_xqueue *q)
{
    if (!q)
        return -EINVAL;
    return cor_xevent_wait(q->all_done);
}

size_t cor_xqueue_size(cor_xqueue *q)
{
    if (!q)
        return 0;
    return cor_chan_len(q->ch);
}
