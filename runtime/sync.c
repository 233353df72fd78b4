/* SPDX-License-Identifier: MIT */
/*
 * sync.c - loop-local Lock, Event, Condition, Semaphore, BoundedSemaphore,
 * Barrier, and the guards behind scoped acquire.  Fairness comes from
 * hand-off: a release gives the lock (or the unit) to the first waiter
 * before waking it, so the woken task owns it even if it is cancelled
 * before it runs, and no newcomer can overtake a waiter.
 */
#include "internal.h"
#include "waitq.h"

#include <stdlib.h>

/* ------------------------------------------------------------ Lock ---- */

struct cor_lock {
    struct cor_loop *loop;
    bool locked;
    struct cor__list waiters;
};

int cor_lock_create(cor_lock **out)
{
    if (!cor__tls_loop)
        return -EPERM;
    struct cor_lock *l = malloc(sizeof *l);
    if (!l)
        return -ENOMEM;
    l->loop = cor__tls_loop;
    l->locked = false;
    cor__list_init(&l->waiters);
    *out = l;
    return 0;
}

void cor_lock_destroy(cor_lock *l)
{
    free(l);
}

int cor_lock_acquire(cor_lock *l)
{
    int rc;
    struct cor_task *t = waitq_self("cor_lock_acquire", l->loop, &rc);
    if (!t)
        return rc;
    if (!l->locked) {
        l->locked = true;
        return 0;
    }
    struct waitq_node n;
    return waitq_park(&l->waiters, &n, t); /* 0: handed the lock */
}

int cor_lock_try_acquire(cor_lock *l)
{
    if (l->locked)
        return -EAGAIN;
    l->locked = true;
    return 0;
}

int cor_lock_release(cor_lock *l)
{
    if (!l->locked)
        return -EPERM;
    if (!waitq_wake_one(&l->waiters, 0))
        l->locked = false;
    return 0;
}

bool cor_lock_locked(const cor_lock *l)
{
    return l->locked;
}

/* ----------------------------------------------------------- Event ---- */

struct cor_event {
    struct cor_loop *loop;
    bool set;
    struct cor__list waiters;
};

int cor_event_create(cor_event **out)
{
    if (!cor__tls_loop)
        return -EPERM;
    struct cor_event *e = malloc(sizeof *e);
    if (!e)
        return -ENOMEM;
    e->loop = cor__tls_loop;
    e->set = false;
    cor__list_init(&e->waiters);
    *out = e;
    return 0;
}

void cor_event_destroy(cor_event *e)
{
    free(e);
}

void cor_event_set(cor_event *e)
{
    e->set = true;
    while (waitq_wake_one(&e->waiters, 0))
        ;
}

void cor_event_clear(cor_event *e)
{
    e->set = false;
}

bool cor_event_is_set(const cor_event *e)
{
    return e->set;
}

int cor_event_wait(cor_event *e)
{
    int rc;
    struct cor_task *t = waitq_self("cor_event_wait", e->loop, &rc);
    if (!t)
        return rc;
    if (e->set)
        return 0;
    struct waitq_node n;
    return waitq_park(&e->waiters, &n, t);
}

/* ------------------------------------------------------- Condition ---- */

struct cor_cond {
    cor_lock *lock;
    bool own_lock;
    struct cor__list waiters;
};

int cor_cond_create(cor_cond **out, cor_lock *lock)
{
    if (!cor__tls_loop)
        return -EPERM;
    struct cor_cond *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->own_lock = !lock;
    if (!lock) {
        int rc = cor_lock_create(&lock);
        if (rc < 0) {
            free(c);
            return rc;
        }
    }
    c->lock = lock;
    cor__list_init(&c->waiters);
    *out = c;
    return 0;
}

void cor_cond_destroy(cor_cond *c)
{
    if (!c)
        return;
    if (c->own_lock)
        cor_lock_destroy(c->lock);
    free(c);
}

cor_lock *cor_cond_lock(cor_cond *c)
{
    return c->lock;
}

int cor_cond_wait(cor_cond *c)
{
    int rc;
    struct cor_task *t = waitq_self("cor_cond_wait", c->lock->loop, &rc);
    if (!t)
        return rc;
    if (!c->lock->locked)
        return -EPERM;
    struct waitq_node n;
    rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    cor_lock_release(c->lock);
    rc = waitq_park(&c->waiters, &n, t);
    /* Take the lock back whatever happened, shielded, as asyncio does in
     * its finally: the caller's unlock must find the lock held. */
    t->shield++;
    cor_lock_acquire(c->lock);
    t->shield--;
    return rc;
}

int cor_cond_wait_for(cor_cond *c, bool (*pred)(void *arg), void *arg)
{
    while (!pred(arg)) {
        int rc = cor_cond_wait(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cor_cond_notify(cor_cond *c, int n)
{
    if (!c->lock->locked)
        return -EPERM;
    int k = 0;
    while (k < n && waitq_wake_one(&c->waiters, 0))
        k++;
    return k;
}

int cor_cond_notify_all(cor_cond *c)
{
    return cor_cond_notify(c, INT32_MAX);
}

/* ------------------------------------------------------- Semaphore ---- */

struct cor_sem {
    struct cor_loop *loop;
    int value, bound; /* bound < 0: unbounded */
    struct cor__list waiters;
};

static int sem_new(cor_sem **out, int value, bool bounded)
{
    if (!cor__tls_loop)
        return -EPERM;
    if (value < 0)
        return -EINVAL;
    struct cor_sem *s = malloc(sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = cor__tls_loop;
    s->value = value;
    s->bound = bounded ? value : -1;
    cor__list_init(&s->waiters);
    *out = s;
    return 0;
}

int cor_sem_create(cor_sem **out, int value)
{
    return sem_new(out, value, false);
}

int cor_sem_create_bounded(cor_sem **out, int value)
{
    return sem_new(out, value, true);
}

void cor_sem_destroy(cor_sem *s)
{
    free(s);
}

int cor_sem_acquire(cor_sem *s)
{
    int rc;
    struct cor_task *t = waitq_self("cor_sem_acquire", s->loop, &rc);
    if (!t)
        return rc;
    if (s->value > 0) {
        s->value--;
        return 0;
    }
    struct waitq_node n;
    return waitq_park(&s->waiters, &n, t); /* 0: handed a unit */
}

int cor_sem_try_acquire(cor_sem *s)
{
    if (s->value == 0)
        return -EAGAIN;
    s->value--;
    return 0;
}

int cor_sem_release(cor_sem *s)
{
    if (waitq_wake_one(&s->waiters, 0))
        return 0;
    if (s->bound >= 0 && s->value >= s->bound)
        return -EOVERFLOW;
    s->value++;
    return 0;
}

int cor_sem_value(const cor_sem *s)
{
    return s->value;
}

bool cor_sem_locked(const cor_sem *s)
{
    return s->value == 0;
}

/* --------------------------------------------------------- Barrier ---- */

struct cor_barrier {
    struct cor_loop *loop;
    int parties, count;
    bool broken;
    struct cor__list waiters;
};

int cor_barrier_create(cor_barrier **out, int parties)
{
    if (!cor__tls_loop)
        return -EPERM;
    if (parties <= 0)
        return -EINVAL;
    struct cor_barrier *b = malloc(sizeof *b);
    if (!b)
        return -ENOMEM;
    b->loop = cor__tls_loop;
    b->parties = parties;
    b->count = 0;
    b->broken = false;
    cor__list_init(&b->waiters);
    *out = b;
    return 0;
}

void cor_barrier_destroy(cor_barrier *b)
{
    free(b);
}

int cor_barrier_wait(cor_barrier *b)
{
    int rc;
    struct cor_task *t = waitq_self("cor_barrier_wait", b->loop, &rc);
    if (!t)
        return rc;
    if (b->broken)
        return -EPIPE;
    rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    int index = b->count++;
    if (b->count == b->parties) {
        /* The last arrival releases the round; the barrier is ready for
         * the next one at once. */
        b->count = 0;
        while (waitq_wake_one(&b->waiters, 0))
            ;
        return index;
    }
    struct waitq_node n;
    rc = waitq_park(&b->waiters, &n, t);
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        b->count--; /* left the round before it filled */
    return rc < 0 ? rc : index;
}

void cor_barrier_abort(cor_barrier *b)
{
    b->broken = true;
    b->count = 0;
    while (waitq_wake_one(&b->waiters, -EPIPE))
        ;
}

void cor_barrier_reset(cor_barrier *b)
{
    b->broken = false;
    b->count = 0;
}

int cor_barrier_n_waiting(const cor_barrier *b)
{
    return b->count;
}

/* ---------------------------------------------------------- guards ---- */

static int release_lock(void *o)
{
    return cor_lock_release(o);
}

static int release_sem(void *o)
{
    return cor_sem_release(o);
}

cor_guard cor_guard_lock(cor_lock *l)
{
    return (cor_guard){l, release_lock, cor_lock_acquire(l)};
}

cor_guard cor_guard_sem(cor_sem *s)
{
    return (cor_guard){s, release_sem, cor_sem_acquire(s)};
}

void cor_guard_end(cor_guard *g)
{
    if (g->rc >= 0 && g->release)
        g->release(g->obj);
}

void cor_scope_end(cor_scope *s)
{
    if (!s->exit)
        return;
    struct cor_task *t = cor__tls_loop ? cor__tls_loop->cur : NULL;
    if (t)
        t->shield++;
    s->exit(s->obj, s->status);
    if (t)
        t->shield--;
}
