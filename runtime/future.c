/* SPDX-License-Identifier: MIT */
/*
 * future.c - futures.  State changes are atomic so that any thread may
 * resolve a future, but waiters and callbacks are touched only on the home
 * loop: a foreign thread claims the future (PENDING -> SETTING), stores the
 * outcome and posts the future's embedded message to the home loop, which
 * finishes it there.  The message holds a reference until it has run.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>


void cor__future_init(struct cor_future *f, struct cor_loop *l, bool task)
{
    atomic_init(&f->state, COR__PENDING);
    atomic_init(&f->refs, 1);
    f->is_task = task;
    f->retrieved = false;
    f->observed = false;
    f->result = NULL;
    f->err = NULL;
    cor__list_init(&f->waiters);
    f->loop = l;
    if (!task)
        cor__list_push(&l->futures, &f->flink);
}

int cor_future_create(cor_future **out)
{
    struct cor_loop *l = cor__tls_loop;
    if (!out)
        return -EINVAL;
    if (!l)
        return -EPERM;
    cor_future *f = malloc(sizeof *f);
    if (!f)
        return -ENOMEM;
    cor__future_init(f, l, false);
    *out = f;
    return 0;
}

cor_future *cor_future_ref(cor_future *f)
{
    if (!f)
        return NULL;
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    return f;
}

static void report_unretrieved(cor_future *f)
{
    char buf[512];
    cor_error_format(f->err, buf, sizeof buf);
    if (f->is_task)
        cor_log("Task error was never retrieved: task '%s' failed: %s",
                ((struct cor_task *)f)->name, buf);
    else
        cor_log("Future error was never retrieved: %s", buf);
}

static void future_free(cor_future *f)
{
    if (atomic_load(&f->state) == COR__FAILED && !f->retrieved)
        report_unretrieved(f);
    cor_error_release(f->err);
    if (f->is_task) {
        cor__task_record_free((struct cor_task *)f);
    } else {
        cor__list_del(&f->flink);
        free(f);
    }
}

static void free_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    future_free(cor__container_of(m, cor_future, msg));
}

void cor_future_release(cor_future *f)
{
    if (!f)
        return;
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Freed on the home loop's thread, which owns the lists that hold
     * them; a loop that is gone (after cor_run) has freed them all. */
    if (cor__tls_loop != f->loop) {
        f->msg.fn = free_msg;
        cor__loop_post(f->loop, &f->msg);
        return;
    }
    future_free(f);
}

void cor__future_cancel_all(struct cor_loop *l)
{
    size_t n = 0, i = 0;
    for (struct cor__list *p = l->futures.next; p != &l->futures; p = p->next)
        n++;
    cor_future **pending = malloc((n ? n : 1) * sizeof *pending);
    if (!pending)
        return;
    /* Collect first: finishing one may release (and unlink) another. */
    for (struct cor__list *p = l->futures.next; p != &l->futures; p = p->next) {
        cor_future *f = cor__container_of(p, cor_future, flink);
        if (atomic_load(&f->state) == COR__PENDING)
            pending[i++] = cor_future_ref(f);
    }
    for (size_t k = 0; k < i; k++) {
        cor_future_cancel(pending[k]);
        cor_future_release(pending[k]);
    }
    free(pending);
}

void cor__future_free_all(struct cor_loop *l)
{
    while (!cor__list_empty(&l->futures)) {
        cor_future *f = cor__container_of(l->futures.next, cor_future, flink);
        future_free(f);
    }
}

/* -------------------------------------------------------- finishing ---- */

static void callbacks_and_waiters(cor_future *f)
{
    /* Waiters may unlink themselves (or others) while we walk: take each
     * from the head. */
    while (!cor__list_empty(&f->waiters)) {
        struct cor__waiter *w =
            cor__container_of(f->waiters.next, struct cor__waiter, link);
        cor__list_del(&w->link);
        w->wake(w, f);
    }
}

void cor__future_finish(cor_future *f, int state)
{
    atomic_store_explicit(&f->state, state, memory_order_release);
    callbacks_and_waiters(f);
}

static void finish_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    cor_future *f = cor__container_of(m, cor_future, msg);
    cor__future_finish(f, f->final_state);
    cor_future_release(f);
}

/* Claim f for finishing; false if someone else finished it first. */
static bool claim(cor_future *f)
{
    int expect = COR__PENDING;
    return atomic_compare_exchange_strong(&f->state, &expect, COR__SETTING);
}

static void publish(cor_future *f, int state)
{
    if (cor__tls_loop == f->loop) {
        cor__future_finish(f, state);
        return;
    }
    cor_future_ref(f);
    f->msg.fn = finish_msg;
    f->final_state = state;
    cor__loop_post(f->loop, &f->msg);
}

int cor_future_set_result(cor_future *f, void *result)
{
    if (!f)
        return -EINVAL;
    if (f->is_task || !claim(f))
        return COR_EINVALSTATE;
    f->result = result;
    publish(f, COR__RESULT);
    return 0;
}

int cor_future_set_error_obj(cor_future *f, const cor_error *e)
{
    if (!f || !e)
        return -EINVAL;
    if (f->is_task || !claim(f))
        return COR_EINVALSTATE;
    f->err = cor_error_ref(e);
    publish(f, e->code == -ECANCELED ? COR__CANCELLED : COR__FAILED);
    return 0;
}

int cor_future_set_error(cor_future *f, int code, const char *fmt, ...)
{
    if (!f)
        return -EINVAL;
    va_list ap;
    va_start(ap, fmt);
    cor_error *e = cor__error_vnew(code, fmt, ap);
    va_end(ap);
    if (!e)
        return -ENOMEM;
    int rc = cor_future_set_error_obj(f, e);
    cor_error_release(e);
    return rc;
}

bool cor_future_cancel(cor_future *f)
{
    if (!f)
        return false;
    if (f->is_task)
        return cor_task_cancel((cor_task *)f);
    if (!claim(f))
        return false;
    publish(f, COR__CANCELLED);
    return true;
}

/* ---------------------------------------------------------- waiting ---- */

void cor__future_add_waiter(cor_future *f, struct cor__waiter *w)
{
    f->observed = true;
    cor__list_push(&f->waiters, &w->link);
}

int cor__future_status(const cor_future *f)
{
    switch (atomic_load_explicit(&f->state, memory_order_acquire)) {
    case COR__RESULT:
        return 0;
    case COR__FAILED:
        return f->err->code;
    case COR__CANCELLED:
        return -ECANCELED;
    default:
        return COR_EINVALSTATE;
    }
}

struct fwait {
    struct cor__waiter w;
    struct cor__wait park;
    struct cor_task *t;
};

static void fwait_wake(struct cor__waiter *w, cor_future *f)
{
    (void)f;
    struct fwait *fw = cor__container_of(w, struct fwait, w);
    cor__wake(fw->t, 0);
}

static void fwait_cancel(struct cor__wait *p, int reason)
{
    struct fwait *fw = cor__container_of(p, struct fwait, park);
    cor__list_del(&fw->w.link);
    cor__wake(fw->t, reason);
}

int cor_future_await(cor_future *f, void **result)
{
    struct cor_task *self = cor__need_task("cor_future_await");
    if (!f)
        return -EINVAL;
    if (&self->fut == f)
        return -EDEADLK;
    if (!cor__future_finished(f)) {
        if (f->loop != self->fut.loop) {
            int rc = cor__xloop_await(f, self);
            if (rc)
                return rc;
            goto finished;
        }
        struct fwait fw = {.w.wake = fwait_wake,
                           .park.cancel = fwait_cancel,
                           .t = self};
        int rc = cor__pending_interrupt(self);
        if (rc)
            return rc;
        cor__future_add_waiter(f, &fw.w);
        rc = cor__park_on(&fw.park, f->is_task ? "task" : "future", f);
        if (rc)
            return rc;
    }
finished:;
    f->observed = true;
    int st = cor__future_status(f);
    if (st == 0 && result)
        *result = f->result;
    if (st < 0 && st != -ECANCELED)
        f->retrieved = true;
    return st;
}

bool cor_future_done(const cor_future *f)
{
    return f && cor__future_finished(f);
}

bool cor_future_cancelled(const cor_future *f)
{
    return f && atomic_load(&f->state) == COR__CANCELLED;
}

int cor_future_result(cor_future *f, void **result)
{
    if (!f)
        return -EINVAL;
    f->observed = true;
    int st = cor__future_status(f);
    if (st == 0 && result)
        *result = f->result;
    if (atomic_load(&f->state) == COR__FAILED)
        f->retrieved = true;
    return st;
}

int cor_future_error(cor_future *f, const cor_error **err)
{
    if (!f || !err)
        return -EINVAL;
    f->observed = true;
    int st = cor__future_status(f);
    *err = NULL;
    if (st == COR_EINVALSTATE || st == -ECANCELED)
        return st;
    if (st < 0) {
        *err = f->err;
        f->retrieved = true;
    }
    return 0;
}

/* ------------------------------------------------------- callbacks ---- */

struct cbnode {
    struct cor__waiter w;
    struct cor__soon soon;
    cor_future *f;
    cor_future_cb *cb;
    void *ud;
};

static void cb_run(struct cor__soon *s)
{
    struct cbnode *n = cor__container_of(s, struct cbnode, soon);
    n->cb(n->f, n->ud);
    cor_future_release(n->f);
    free(n);
}

static void cb_wake(struct cor__waiter *w, cor_future *f)
{
    struct cbnode *n = cor__container_of(w, struct cbnode, w);
    (void)f;
    cor__loop_push_ready(n->f->loop, &n->soon);
}

int cor_future_on_done(cor_future *f, cor_future_cb *cb, void *ud)
{
    if (!f || !cb)
        return -EINVAL;
    int rc = cor__check_home(f->loop);
    if (rc)
        return rc;
    f->observed = true;
    struct cbnode *n = malloc(sizeof *n);
    if (!n)
        return -ENOMEM;
    n->w.wake = cb_wake;
    n->soon.run = cb_run;
    n->f = cor_future_ref(f);
    n->cb = cb;
    n->ud = ud;
    if (cor__future_finished(f))
        cor__loop_push_ready(f->loop, &n->soon);
    else
        cor__future_add_waiter(f, &n->w);
    return 0;
}

/* Remove the registrations of cb whose ud match() accepts. */
int cor__future_off_done_match(cor_future *f, cor_future_cb *cb,
                               bool (*match)(void *ud, void *key), void *key)
{
    if (!f)
        return -EINVAL;
    int removed = cor__check_home(f->loop);
    if (removed)
        return removed;
    struct cor__list *p = f->waiters.next;
    while (p != &f->waiters) {
        struct cor__list *next = p->next;
        struct cor__waiter *w = cor__container_of(p, struct cor__waiter, link);
        if (w->wake == cb_wake) {
            struct cbnode *n = cor__container_of(w, struct cbnode, w);
            if (n->cb == cb && match(n->ud, key)) {
                cor__list_del(&n->w.link);
                cor_future_release(n->f);
                free(n);
                removed++;
            }
        }
        p = next;
    }
    return removed;
}

static bool same_ud(void *ud, void *key)
{
    return ud == key;
}

int cor_future_off_done(cor_future *f, cor_future_cb *cb, void *ud)
{
    return cor__future_off_done_match(f, cb, same_ud, ud);
}
