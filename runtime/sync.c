/* SPDX-License-Identifier: MIT */
/*
 * sync.c - loop-local Lock, Event, Condition, Semaphore, BoundedSemaphore,
 * Barrier, and the guards behind scoped acquire.  Fairness comes from
 * hand-off: a release gives the lock (or the unit) to the first waiter
 * before waking it, so no newcomer can overtake a waiter.  A waiter that is
 * cancelled (or times out) after it was handed the lock, the unit or a
 * notification, but before it ran, passes it on to the next waiter and
 * returns the interrupt, as asyncio's primitives do.
 *
 * Every call checks its object's home loop first (cor__check_home: -EXDEV
 * from any other thread, nothing changed); queries that cannot return an
 * error answer false (or 0) there.  A NULL object is -EINVAL (false, 0).
 */
#include "internal.h"
#include "waitq.h"

#include <limits.h>
#include <stdlib.h>

/* ------------------------------------------------------------ Lock ---- */

struct cor_lock {
    struct cor_loop *loop;
    bool locked;
    struct cor__list waiters;
};

int cor_lock_create(cor_lock **out)
{
    if (!out)
        return -EINVAL;
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
    if (l)
        waitq_destroyed(&l->waiters, l->loop);
    free(l);
}

/* Give the held lock to the first waiter, or unlock it. */
static void lock_pass(cor_lock *l)
{
    if (!waitq_wake_one(&l->waiters, 0))
        l->locked = false;
}

int cor_lock_acquire(cor_lock *l)
{
    if (!l)
        return -EINVAL;
    int rc;
    struct cor_task *t = waitq_self("cor_lock_acquire", l->loop, &rc);
    if (!t)
        return rc;
    if (!l->locked) {
        l->locked = true;
        return 0;
    }
    struct waitq_node n;
    rc = waitq_park(&l->waiters, &n, t, "lock"); /* 0: handed the lock */
    if (!rc && (rc = waitq_late_interrupt(t)))
        lock_pass(l);
    return rc;
}

int cor_lock_try_acquire(cor_lock *l)
{
    if (!l)
        return -EINVAL;
    int rc = cor__check_home(l->loop);
    if (rc)
        return rc;
    if (l->locked)
        return -EAGAIN;
    l->locked = true;
    return 0;
}

int cor_lock_release(cor_lock *l)
{
    if (!l)
        return -EINVAL;
    int rc = cor__check_home(l->loop);
    if (rc)
        return rc;
    if (!l->locked)
        return -EPERM;
    lock_pass(l);
    return 0;
}

bool cor_lock_locked(const cor_lock *l)
{
    return l && !cor__check_home(l->loop) && l->locked;
}

/* ----------------------------------------------------------- Event ---- */

struct cor_event {
    struct cor_loop *loop;
    bool set;
    struct cor__list waiters;
};

int cor_event_create(cor_event **out)
{
    if (!out)
        return -EINVAL;
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
    if (e)
        waitq_destroyed(&e->waiters, e->loop);
    free(e);
}

int cor_event_set(cor_event *e)
{
    if (!e)
        return -EINVAL;
    int rc = cor__check_home(e->loop);
    if (rc)
        return rc;
    e->set = true;
    while (waitq_wake_one(&e->waiters, 0))
        ;
    return 0;
}

int cor_event_clear(cor_event *e)
{
    if (!e)
        return -EINVAL;
    int rc = cor__check_home(e->loop);
    if (rc)
        return rc;
    e->set = false;
    return 0;
}

bool cor_event_is_set(const cor_event *e)
{
    return e && !cor__check_home(e->loop) && e->set;
}

int cor_event_wait(cor_event *e)
{
    if (!e)
        return -EINVAL;
    int rc;
    struct cor_task *t = waitq_self("cor_event_wait", e->loop, &rc);
    if (!t)
        return rc;
    if (e->set)
        return 0;
    struct waitq_node n;
    return waitq_park(&e->waiters, &n, t, "event");
}

/* ------------------------------------------------------- Condition ---- */

struct cor_cond {
    cor_lock *lock;
    bool own_lock;
    struct cor__list waiters;
};

int cor_cond_create(cor_cond **out, cor_lock *lock)
{
    if (!out)
        return -EINVAL;
    if (lock && lock->loop != cor__tls_loop)
        return -EXDEV;
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
    return c ? c->lock : NULL;
}

int cor_cond_wait(cor_cond *c)
{
    if (!c)
        return -EINVAL;
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
    lock_pass(c->lock);
    rc = waitq_park(&c->waiters, &n, t, "condition");
    /* Notified, then interrupted before it ran: the notification goes to
     * the next waiter (asyncio 3.13, gh-112202). */
    if (!rc && (rc = waitq_late_interrupt(t)))
        waitq_wake_one(&c->waiters, 0);
    /* Take the lock back whatever happened, shielded, as asyncio does in
     * its finally: the caller's unlock must find the lock held. */
    t->shield++;
    cor_lock_acquire(c->lock);
    t->shield--;
    return rc;
}

int cor_cond_wait_for(cor_cond *c, bool (*pred)(void *arg), void *arg)
{
    if (!c || !pred)
        return -EINVAL;
    while (!pred(arg)) {
        int rc = cor_cond_wait(c);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cor_cond_notify(cor_cond *c, int n)
{
    if (!c)
        return -EINVAL;
    int rc = cor__check_home(c->lock->loop);
    if (rc)
        return rc;
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
    if (!out || value < 0)
        return -EINVAL;
    if (!cor__tls_loop)
        return -EPERM;
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
    if (s)
        waitq_destroyed(&s->waiters, s->loop);
    free(s);
}

int cor_sem_acquire(cor_sem *s)
{
    if (!s)
        return -EINVAL;
    int rc;
    struct cor_task *t = waitq_self("cor_sem_acquire", s->loop, &rc);
    if (!t)
        return rc;
    if (s->value > 0) {
        s->value--;
        return 0;
    }
    struct waitq_node n;
    rc = waitq_park(&s->waiters, &n, t, "semaphore"); /* 0: handed a unit */
    /* Handed a unit, then interrupted before it ran: the unit goes to the
     * next waiter, or back (it was taken, so no bound is passed). */
    if (!rc && (rc = waitq_late_interrupt(t)) &&
        !waitq_wake_one(&s->waiters, 0))
        s->value++;
    return rc;
}

int cor_sem_try_acquire(cor_sem *s)
{
    if (!s)
        return -EINVAL;
    int rc = cor__check_home(s->loop);
    if (rc)
        return rc;
    if (s->value == 0)
        return -EAGAIN;
    s->value--;
    return 0;
}

int cor_sem_release(cor_sem *s)
{
    if (!s)
        return -EINVAL;
    int rc = cor__check_home(s->loop);
    if (rc)
        return rc;
    if (waitq_wake_one(&s->waiters, 0))
        return 0;
    if ((s->bound >= 0 && s->value >= s->bound) || s->value == INT_MAX)
        return -EOVERFLOW;
    s->value++;
    return 0;
}

int cor_sem_value(const cor_sem *s)
{
    if (!s)
        return -EINVAL;
    int rc = cor__check_home(s->loop);
    return rc ? rc : s->value;
}

bool cor_sem_locked(const cor_sem *s)
{
    return s && !cor__check_home(s->loop) && s->value == 0;
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
    if (!out || parties <= 0)
        return -EINVAL;
    if (!cor__tls_loop)
        return -EPERM;
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
    if (b)
        waitq_destroyed(&b->waiters, b->loop);
    free(b);
}

int cor_barrier_wait(cor_barrier *b)
{
    if (!b)
        return -EINVAL;
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
    rc = waitq_park(&b->waiters, &n, t, "barrier");
    if (rc == -ECANCELED || rc == -ETIMEDOUT)
        b->count--; /* left the round before it filled */
    return rc < 0 ? rc : index;
}

int cor_barrier_abort(cor_barrier *b)
{
    if (!b)
        return -EINVAL;
    int rc = cor__check_home(b->loop);
    if (rc)
        return rc;
    b->broken = true;
    b->count = 0;
    while (waitq_wake_one(&b->waiters, -EPIPE))
        ;
    return 0;
}

int cor_barrier_reset(cor_barrier *b)
{
    if (!b)
        return -EINVAL;
    int rc = cor__check_home(b->loop);
    if (rc)
        return rc;
    b->broken = false;
    b->count = 0;
    return 0;
}

int cor_barrier_n_waiting(const cor_barrier *b)
{
    if (!b)
        return -EINVAL;
    int rc = cor__check_home(b->loop);
    return rc ? rc : b->count;
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
    if (g && g->rc >= 0 && g->release)
        g->release(g->obj);
}

void cor_scope_end(cor_scope *s)
{
    if (!s || !s->exit)
        return;
    struct cor_task *t = cor__tls_loop ? cor__tls_loop->cur : NULL;
    if (t)
        t->shield++;
    s->exit(s->obj, s->status);
    if (t)
        t->shield--;
}
