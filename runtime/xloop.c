/* SPDX-License-Identifier: MIT */
/*
 * xloop.c - what crosses loops: spawning on another loop, awaiting a future
 * that lives on another loop, and the calls foreign threads make into a
 * loop (call_soon_threadsafe, run_coroutine_threadsafe, blocking waits).
 *
 * Everything goes through the home loop's inbox (invariant 1).  A message
 * node that lives on a task's stack is never touched by another thread after
 * the message that lets the task return has been posted: the cross-loop
 * await returns only after the home loop has sent its last message for it.
 */
#include "internal.h"

#include <stdlib.h>

/* ---------------------------------------------------------- spawning ---- */

struct spawn_msg {
    struct cor__msg msg;
    struct cor_task *t;
    size_t stack_size;
};

static void spawn_run(struct cor_loop *l, struct cor__msg *m)
{
    struct spawn_msg *sm = cor__container_of(m, struct spawn_msg, msg);
    struct cor_task *t = sm->t;
    size_t stack_size = sm->stack_size;
    free(sm);
    int rc = cor__task_start(l, t, stack_size);
    if (rc == 0)
        return;
    /* No stack here: the handle is already out, so the task finishes failed
     * and its record waits on done_tasks like any finished task's. */
    cor__list_push(&l->done_tasks, &t->link);
    cor_error *e = cor_error_create(rc, "spawn on loop %d: no stack for %s",
                                    l->index, t->name);
    t->fut.err = e ? e : cor_error_ref(cor__error_nomem());
    cor__future_finish(&t->fut, COR__FAILED);
    cor_task_release(t); /* the reference the task would have held */
}

int cor__xloop_spawn(struct cor_runtime *rt, int index, struct cor_task **out,
                     cor_fn *fn, void *arg, const cor_spawn_opts *o)
{
    if (!fn || index < 0 || index >= rt->nloops)
        return -EINVAL;
    struct cor_loop *target = rt->loops[index];
    if (cor__tls_loop == target)
        return cor__task_spawn(target, out, fn, arg, o);
    /* The record is prepared here so that the handle exists at once; only
     * the stack, which belongs to the target's pool, is taken there. */
    struct cor_task *t = malloc(sizeof *t);
    struct spawn_msg *sm = malloc(sizeof *sm);
    if (!t || !sm) {
        free(t);
        free(sm);
        return -ENOMEM;
    }
    cor__task_prepare(target, t, fn, arg, o);
    sm->msg.fn = spawn_run;
    sm->t = t;
    sm->stack_size = o ? o->stack_size : 0;
    *out = t;
    cor__loop_post(target, &sm->msg);
    return 0;
}

cor_task *cor_spawn_on(int index, cor_fn *fn, void *arg)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l)
        cor__panic("cor_spawn_on: called off a loop thread");
    cor_task *t = NULL;
    return cor__xloop_spawn(l->rt, index, &t, fn, arg, NULL) < 0 ? NULL : t;
}

cor_task *cor_spawn_next(cor_fn *fn, void *arg)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l)
        cor__panic("cor_spawn_next: called off a loop thread");
    unsigned i = atomic_fetch_add_explicit(&l->rt->next_loop, 1,
                                           memory_order_relaxed);
    return cor_spawn_on((int)(i % (unsigned)l->rt->nloops), fn, arg);
}

cor_loop *cor_loop_get(int index)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l || index < 0 || index >= l->rt->nloops)
        return NULL;
    return l->rt->loops[index];
}

/* -------------------------------------------------- cross-loop await ---- */

/*
 * The waiter's side and the home side talk in four messages, all in this
 * record on the waiter's stack:
 *   add  (waiter -> home)  add w to the future, or answer at once if done
 *   wake (home -> waiter)  the future finished
 *   del  (waiter -> home)  the waiter was interrupted: take w off
 *   ack  (home -> waiter)  w is off, nothing of this record is used any more
 * A loop drains one producer's messages in the order they were posted, so
 * an ack always comes after any wake posted before it.
 */
struct xwait {
    struct cor__msg add, del, wake, ack;
    struct cor__waiter w;
    struct cor__wait park;
    struct cor_task *t;
    struct cor_future *f;
    bool interrupted; /* waiter's loop only */
    int reason;
};

static void xw_wake_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct xwait *x = cor__container_of(m, struct xwait, wake);
    if (!x->interrupted) /* else the ack wakes it */
        cor__wake(x->t, 0);
}

static void xw_ack_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct xwait *x = cor__container_of(m, struct xwait, ack);
    cor__wake(x->t, x->reason);
}

/* On the home loop, when the future finishes. */
static void xw_waiter_wake(struct cor__waiter *w, struct cor_future *f)
{
    (void)f;
    struct xwait *x = cor__container_of(w, struct xwait, w);
    cor__loop_post(x->t->fut.loop, &x->wake);
}

static void xw_add_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct xwait *x = cor__container_of(m, struct xwait, add);
    if (cor__future_finished(x->f))
        cor__loop_post(x->t->fut.loop, &x->wake);
    else
        cor__future_add_waiter(x->f, &x->w);
}

static void xw_del_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct xwait *x = cor__container_of(m, struct xwait, del);
    if (x->w.link.next != &x->w.link)
        cor__list_del(&x->w.link);
    cor__loop_post(x->t->fut.loop, &x->ack);
}

static void xw_cancel(struct cor__wait *p, int reason)
{
    struct xwait *x = cor__container_of(p, struct xwait, park);
    x->interrupted = true;
    x->reason = reason;
    cor__loop_post(x->f->loop, &x->del);
}

int cor__xloop_await(struct cor_future *f, struct cor_task *self)
{
    int rc = cor__pending_interrupt(self);
    if (rc)
        return rc;
    struct xwait x = {
        .add.fn = xw_add_run,
        .del.fn = xw_del_run,
        .wake.fn = xw_wake_run,
        .ack.fn = xw_ack_run,
        .w.wake = xw_waiter_wake,
        .park.cancel = xw_cancel,
        .t = self,
        .f = f,
    };
    cor__list_init(&x.w.link);
    cor__loop_post(f->loop, &x.add);
    return cor__park_on(&x.park, f->is_task ? "task" : "future", f);
}

/* --------------------------------------------- from foreign threads ---- */

struct call_msg {
    struct cor__msg msg;
    void (*fn)(void *);
    void *arg;
};

static void call_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct call_msg *c = cor__container_of(m, struct call_msg, msg);
    c->fn(c->arg);
    free(c);
}

int cor_call_soon_threadsafe(cor_loop *l, void (*fn)(void *arg), void *arg)
{
    if (!l || !fn)
        return -EINVAL;
    struct call_msg *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->msg.fn = call_run;
    c->fn = fn;
    c->arg = arg;
    cor__loop_post(l, &c->msg);
    return 0;
}

int cor_run_coroutine_threadsafe(cor_loop *l, cor_fn *fn, void *arg,
                                 cor_task **out)
{
    if (!l || !out)
        return -EINVAL;
    return cor__xloop_spawn(l->rt, l->index, out, fn, arg, NULL);
}

/*
 * A plain thread waiting for a future: the home loop adds a waiter whose
 * wake raises `done` under one process-wide mutex.  Blocking waits are rare
 * and slow anyway, and a shared condition variable outlives every waiter, so
 * the home loop never touches a condition variable that a waiter destroyed.
 */
static pthread_mutex_t tw_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tw_cv = PTHREAD_COND_INITIALIZER;

struct twait {
    struct cor__msg add;
    struct cor__waiter w;
    struct cor_future *f;
    bool done; /* under tw_mu */
};

static void tw_signal(struct twait *x)
{
    pthread_mutex_lock(&tw_mu);
    x->done = true;
    pthread_cond_broadcast(&tw_cv);
    pthread_mutex_unlock(&tw_mu);
}

static void tw_waiter_wake(struct cor__waiter *w, struct cor_future *f)
{
    (void)f;
    tw_signal(cor__container_of(w, struct twait, w));
}

static void tw_add_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct twait *x = cor__container_of(m, struct twait, add);
    if (cor__future_finished(x->f))
        tw_signal(x);
    else
        cor__future_add_waiter(x->f, &x->w);
}

int cor_future_wait_threadsafe(cor_future *f, void **result)
{
    if (cor__tls_loop)
        return -EPERM;
    if (!f)
        return -EINVAL;
    if (!cor__future_finished(f)) {
        struct twait x = {.add.fn = tw_add_run,
                          .w.wake = tw_waiter_wake,
                          .f = f};
        cor__list_init(&x.w.link);
        cor__loop_post(f->loop, &x.add);
        pthread_mutex_lock(&tw_mu);
        while (!x.done)
            pthread_cond_wait(&tw_cv, &tw_mu);
        pthread_mutex_unlock(&tw_mu);
    }
    int st = cor__future_status(f);
    if (st == 0 && result)
        *result = f->result;
    if (st < 0 && st != -ECANCELED)
        f->retrieved = true;
    return st;
}
