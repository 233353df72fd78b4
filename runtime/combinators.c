/* SPDX-License-Identifier: MIT */
/*
 * combinators.c - gather, wait, wait_for, as_completed and shield.
 *
 * All of them wait on a set of futures of the caller's loop with one
 * struct cor__waiter per unfinished future; the waiters live on the
 * caller's stack (or, for large sets, in one allocation freed before the
 * call returns), and every one is unlinked before the call returns, so a
 * future that finishes later never touches freed memory.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------- wait on a set -- */

enum { SET_ALL, SET_ANY, SET_FIRST_ERROR, SET_FIRST_FAIL };

struct set;

struct set_node {
    struct cor__waiter w;
    struct set *s;
};

struct set {
    struct cor_task *t;
    struct cor__wait park;
    struct cor__timer tm;
    size_t pending; /* futures not finished yet */
    int mode;
    bool woken;
};

/* Whether a finished future satisfies the set's stop condition. */
static bool stops(int mode, const struct cor_future *f)
{
    int st = atomic_load_explicit(&f->state, memory_order_acquire);
    switch (mode) {
    case SET_ANY:
        return true;
    case SET_FIRST_ERROR:
        return st == COR__FAILED;
    case SET_FIRST_FAIL:
        return st != COR__RESULT;
    default:
        return false;
    }
}

static void set_wake(struct set *s, int rc)
{
    if (s->woken)
        return;
    s->woken = true;
    cor__wake(s->t, rc);
}

static void node_wake(struct cor__waiter *w, struct cor_future *f)
{
    struct set_node *n = cor__container_of(w, struct set_node, w);
    struct set *s = n->s;
    s->pending--;
    if (s->pending == 0 || stops(s->mode, f))
        set_wake(s, 0);
}

static void set_cancel(struct cor__wait *w, int reason)
{
    set_wake(cor__container_of(w, struct set, park), reason);
}

static void set_timer(struct cor__timer *tm)
{
    set_wake(cor__container_of(tm, struct set, tm), 1);
}

/* Every future given, and all of them at home on loop l. */
static int check_set(struct cor_loop *l, cor_future *const *fs, size_t n)
{
    if (!l)
        return -EPERM;
    if (n && !fs)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!fs[i])
            return -EINVAL;
        if (fs[i]->loop != l)
            return -EXDEV;
    }
    return 0;
}

/*
 * Park the caller until mode's condition holds over fs[] (or all finished),
 * or the absolute deadline passes.  Returns 0 when the condition holds, 1 on
 * the deadline, or the caller's interrupt code.
 */
static int wait_set(struct cor_task *self, cor_future *const *fs, size_t n,
                    int mode, int64_t deadline)
{
    struct set s = {.t = self, .park.cancel = set_cancel, .mode = mode};
    size_t npend = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cor__future_finished(fs[i]))
            npend++;
        else if (stops(mode, fs[i]))
            return 0;
    }
    if (npend == 0)
        return 0;
    int rc = cor__pending_interrupt(self);
    if (rc)
        return rc;
    if (deadline != INT64_MAX && deadline <= cor_now_ns())
        return 1;
    struct set_node stack_nodes[16];
    struct set_node *nodes = stack_nodes;
    if (npend > sizeof stack_nodes / sizeof stack_nodes[0]) {
        nodes = malloc(npend * sizeof *nodes);
        if (!nodes)
            return -ENOMEM;
    }
    s.pending = npend;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (cor__future_finished(fs[i]))
            continue;
        nodes[k].w.wake = node_wake;
        nodes[k].s = &s;
        cor__future_add_waiter(fs[i], &nodes[k].w);
        k++;
    }
    struct cor_loop *l = self->fut.loop;
    s.tm.idx = SIZE_MAX;
    if (deadline != INT64_MAX) {
        s.tm.deadline = deadline;
        s.tm.fire = set_timer;
        rc = cor__timer_arm(&l->timers, &s.tm);
        if (rc < 0)
            goto out;
    }
    struct cor__wait_many many = {fs, n};
    rc = cor__park_on(&s.park, cor__wait_many, &many);
    if (s.tm.idx != SIZE_MAX)
        cor__timer_disarm(&l->timers, &s.tm);
out:
    /* Unlinking a node that its future already took off is harmless: a
     * removed node points at itself. */
    for (size_t i = 0; i < k; i++)
        cor__list_del(&nodes[i].w.link);
    if (nodes != stack_nodes)
        free(nodes);
    return rc;
}

/* ----------------------------------------------------------- gather ---- */

static void collect(cor_future *const *fs, size_t n, void **results,
                    int *status)
{
    for (size_t i = 0; i < n; i++) {
        int st = cor__future_status(fs[i]);
        if (status)
            status[i] = st;
        if (results)
            results[i] = st == 0 ? fs[i]->result : NULL;
        /* Handing the error out in status[] counts as retrieving it. */
        if (st < 0 && st != -ECANCELED && st != COR_EINVALSTATE)
            fs[i]->retrieved = true;
    }
}

int cor_gather(cor_future *const *fs, size_t n, void **results, int *status,
               unsigned flags)
{
    struct cor_task *self = cor__need_task("cor_gather");
    int rc = check_set(self->fut.loop, fs, n);
    if (rc < 0)
        return rc;
    bool all = flags & COR_RETURN_ERRORS;
    rc = wait_set(self, fs, n, all ? SET_ALL : SET_FIRST_FAIL, INT64_MAX);
    if (rc < 0 && rc != -ENOMEM) {
        /* The caller was cancelled: so is the gather, and its children. */
        for (size_t i = 0; i < n; i++)
            if (fs[i]->is_task)
                cor_task_cancel((cor_task *)fs[i]);
        return rc;
    }
    if (rc < 0)
        return rc;
    collect(fs, n, results, status);
    if (all)
        return 0;
    /* The first failure in completion order is not known any more; the
     * first in input order among those finished is what asyncio reports
     * when several finished in the same step, and the only one otherwise. */
    for (size_t i = 0; i < n; i++) {
        int st = cor__future_status(fs[i]);
        if (st < 0 && st != COR_EINVALSTATE)
            return st;
    }
    return 0;
}

/* The future form: children finishing drive the outer future. */
struct gfut;

struct gnode {
    struct cor__waiter w;
    struct gfut *g;
    cor_future *f;
};

struct gfut {
    cor_future *outer;
    struct cor__waiter on_outer; /* cancels the children if outer is */
    size_t n, pending;
    bool all;
    void **results;
    int *status;
    cor_future **fs; /* the children, in input order */
    struct gnode nodes[];
};

static void gfut_free(struct gfut *g)
{
    cor__list_del(&g->on_outer.link);
    for (size_t i = 0; i < g->n; i++)
        cor_future_release(g->nodes[i].f);
    cor_future_release(g->outer);
    free(g);
}

static void gnode_wake(struct cor__waiter *w, struct cor_future *f)
{
    struct gnode *nd = cor__container_of(w, struct gnode, w);
    struct gfut *g = nd->g;
    g->pending--;
    int st = atomic_load(&f->state);
    if (!g->all && st != COR__RESULT && !cor__future_finished(g->outer)) {
        if (st == COR__FAILED) {
            f->retrieved = true;
            cor_future_set_error_obj(g->outer, f->err);
        } else {
            cor_future_set_error(g->outer, -ECANCELED, "a child was "
                                 "cancelled");
        }
    }
    if (g->pending)
        return;
    collect(g->fs, g->n, g->results, g->status);
    cor_future_set_result(g->outer, g->results);
    gfut_free(g);
}

static void outer_done(struct cor__waiter *w, struct cor_future *outer)
{
    struct gfut *g = cor__container_of(w, struct gfut, on_outer);
    if (atomic_load(&outer->state) != COR__CANCELLED)
        return;
    for (size_t i = 0; i < g->n; i++)
        if (!cor__future_finished(g->nodes[i].f))
            cor_future_cancel(g->nodes[i].f);
}

int cor_gather_future(cor_future *const *fs, size_t n, void **results,
                      int *status, unsigned flags, cor_future **out)
{
    if (!out)
        return -EINVAL;
    int rc = check_set(cor__tls_loop, fs, n);
    if (rc < 0)
        return rc;
    struct gfut *g =
        malloc(sizeof *g + n * (sizeof g->nodes[0] + sizeof(cor_future *)));
    if (!g)
        return -ENOMEM;
    rc = cor_future_create(&g->outer);
    if (rc < 0) {
        free(g);
        return rc;
    }
    *out = cor_future_ref(g->outer);
    g->n = n;
    g->pending = n;
    g->all = flags & COR_RETURN_ERRORS;
    g->results = results;
    g->status = status;
    g->fs = (cor_future **)(void *)&g->nodes[n];
    g->on_outer.wake = outer_done;
    cor__future_add_waiter(g->outer, &g->on_outer);
    for (size_t i = 0; i < n; i++) {
        g->nodes[i].g = g;
        g->nodes[i].f = g->fs[i] = cor_future_ref(fs[i]);
        g->nodes[i].w.wake = gnode_wake;
        cor__list_init(&g->nodes[i].w.link);
    }
    /* Register only after every node is initialised: a finished child
     * is handled at once, and the last one frees g. */
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        if (cor__future_finished(fs[i]))
            done++;
        else
            cor__future_add_waiter(fs[i], &g->nodes[i].w);
    g->pending = n - done;
    if (n == 0) {
        cor_future_set_result(g->outer, results);
        gfut_free(g);
    } else if (g->pending == 0) {
        /* All finished already: report as the last one finishing would,
         * with the first failure in input order. */
        size_t k = 0;
        while (k + 1 < n && atomic_load(&fs[k]->state) == COR__RESULT)
            k++;
        g->pending = 1;
        gnode_wake(&g->nodes[k].w, fs[k]);
    }
    return 0;
}

/* ------------------------------------------------------------- wait ---- */

int cor_wait(cor_future *const *fs, size_t n, int when, double timeout,
             bool *done)
{
    struct cor_task *self = cor__need_task("cor_wait");
    int rc = check_set(self->fut.loop, fs, n);
    if (rc < 0)
        return rc;
    static const int modes[] = {SET_ALL, SET_ANY, SET_FIRST_ERROR};
    if (when < 0 || when > COR_FIRST_EXCEPTION)
        return -EINVAL;
    int64_t deadline;
    rc = cor__deadline_of(timeout, &deadline);
    if (rc < 0)
        return rc;
    rc = wait_set(self, fs, n, modes[when], deadline);
    if (rc < 0)
        return rc;
    int ndone = 0;
    for (size_t i = 0; i < n; i++) {
        bool d = cor__future_finished(fs[i]);
        if (done)
            done[i] = d;
        ndone += d;
    }
    return ndone;
}

/* --------------------------------------------------------- wait_for ---- */

/* Cancel f and wait (shielded) until it has finished. */
static void cancel_and_join(struct cor_task *self, cor_future *f)
{
    cor_future_cancel(f);
    self->shield++;
    while (!cor__future_finished(f))
        (void)wait_set(self, &f, 1, SET_ALL, INT64_MAX);
    self->shield--;
}

int cor_wait_for(cor_future *f, double timeout, void **result)
{
    struct cor_task *self = cor__need_task("cor_wait_for");
    if (!f)
        return -EINVAL;
    if (f->loop != self->fut.loop)
        return -EXDEV;
    if (&self->fut == f)
        return -EDEADLK;
    int64_t deadline;
    int rc = cor__deadline_of(timeout, &deadline);
    if (rc < 0)
        return rc;
    rc = wait_set(self, &f, 1, SET_ALL, deadline);
    if (rc == -ENOMEM)
        return rc;
    if (rc != 0) {
        cancel_and_join(self, f);
        int st = cor__future_status(f);
        if (st == -ECANCELED)
            return rc == 1 ? -ETIMEDOUT : rc;
        if (rc < 0 && st == 0)
            return rc; /* the caller's own cancellation wins */
    }
    return cor_future_result(f, result);
}

int cor_wait_for_fn(cor_fn *fn, void *arg, double timeout, void **result)
{
    cor__need_task("cor_wait_for_fn");
    cor_task *t;
    int rc = cor_spawn_ex(&t, fn, arg, NULL);
    if (rc < 0)
        return rc;
    rc = cor_wait_for(&t->fut, timeout, result);
    cor_task_release(t);
    return rc;
}

/* ----------------------------------------------------------- shield ---- */

static void shield_copy(cor_future *inner, void *ud)
{
    cor_future *outer = ud;
    switch (atomic_load(&inner->state)) {
    case COR__RESULT:
        cor_future_set_result(outer, inner->result);
        break;
    case COR__FAILED:
        inner->retrieved = true;
        cor_future_set_error_obj(outer, inner->err);
        break;
    default:
        cor_future_cancel(outer);
        break;
    }
    cor_future_release(outer);
}

int cor_shield(cor_future *inner, cor_future **outer)
{
    if (!inner || !outer)
        return -EINVAL;
    if (cor__tls_loop != inner->loop)
        return -EXDEV;
    cor_future *o;
    int rc = cor_future_create(&o);
    if (rc < 0)
        return rc;
    rc = cor_future_on_done(inner, shield_copy, cor_future_ref(o));
    if (rc < 0) {
        cor_future_release(o);
        cor_future_release(o);
        return rc;
    }
    *outer = o;
    return 0;
}

/* ----------------------------------------------------- as_completed ---- */

struct ac_node {
    struct cor__waiter w;
    struct cor_as_completed *ac;
    cor_future *f;
};

struct cor_as_completed {
    size_t n, given, nready;
    size_t rhead;           /* next index of ready[] to hand out */
    cor_future **ready;     /* finished, in the order they finished */
    struct ac_node *nodes;
    struct cor_task *waiter;
    struct cor__wait park;
    struct cor__timer tm;
    int64_t deadline;
    struct cor_loop *loop;  /* home */
};

static void ac_node_wake(struct cor__waiter *w, struct cor_future *f)
{
    struct ac_node *n = cor__container_of(w, struct ac_node, w);
    struct cor_as_completed *ac = n->ac;
    ac->ready[ac->nready++] = f;
    if (ac->waiter) {
        struct cor_task *t = ac->waiter;
        ac->waiter = NULL;
        cor__wake(t, 0);
    }
}

static void ac_cancel(struct cor__wait *w, int reason)
{
    struct cor_as_completed *ac =
        cor__container_of(w, struct cor_as_completed, park);
    struct cor_task *t = ac->waiter;
    ac->waiter = NULL;
    cor__wake(t, reason);
}

static void ac_timer(struct cor__timer *tm)
{
    struct cor_as_completed *ac =
        cor__container_of(tm, struct cor_as_completed, tm);
    if (ac->waiter) {
        struct cor_task *t = ac->waiter;
        ac->waiter = NULL;
        cor__wake(t, -ETIMEDOUT);
    }
}

int cor_as_completed_create(cor_as_completed **out, cor_future *const *fs,
                            size_t n, double timeout)
{
    if (!out)
        return -EINVAL;
    int rc = check_set(cor__tls_loop, fs, n);
    if (rc < 0)
        return rc;
    int64_t deadline;
    rc = cor__deadline_of(timeout, &deadline);
    if (rc < 0)
        return rc;
    cor_as_completed *ac = calloc(1, sizeof *ac);
    if (!ac)
        return -ENOMEM;
    ac->ready = calloc(n ? n : 1, sizeof *ac->ready);
    ac->nodes = calloc(n ? n : 1, sizeof *ac->nodes);
    if (!ac->ready || !ac->nodes) {
        free(ac->ready);
        free(ac->nodes);
        free(ac);
        return -ENOMEM;
    }
    ac->n = n;
    ac->loop = cor__tls_loop;
    ac->deadline = deadline;
    ac->park.cancel = ac_cancel;
    ac->tm.idx = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        struct ac_node *nd = &ac->nodes[i];
        cor__list_init(&nd->w.link);
        nd->ac = ac;
        nd->f = cor_future_ref(fs[i]);
        if (cor__future_finished(fs[i])) {
            ac->ready[ac->nready++] = fs[i];
        } else {
            nd->w.wake = ac_node_wake;
            cor__future_add_waiter(fs[i], &nd->w);
        }
    }
    *out = ac;
    return 0;
}

int cor_as_completed_next(cor_as_completed *ac, cor_future **f)
{
    struct cor_task *self = cor__need_task("cor_as_completed_next");
    if (!ac || !f)
        return -EINVAL;
    if (self->fut.loop != ac->loop)
        return -EXDEV;
    if (ac->given == ac->n)
        return 0;
    if (ac->rhead == ac->nready) {
        if (ac->waiter)
            return -EBUSY;
        int rc = cor__pending_interrupt(self);
        if (rc)
            return rc;
        if (ac->deadline != INT64_MAX && ac->deadline <= cor_now_ns())
            return -ETIMEDOUT;
        struct cor_loop *l = self->fut.loop;
        if (ac->deadline != INT64_MAX) {
            ac->tm.deadline = ac->deadline;
            ac->tm.fire = ac_timer;
            rc = cor__timer_arm(&l->timers, &ac->tm);
            if (rc < 0)
                return rc;
        }
        ac->waiter = self;
        rc = cor__park_on(&ac->park, "as_completed", ac);
        ac->waiter = NULL;
        if (ac->tm.idx != SIZE_MAX)
            cor__timer_disarm(&l->timers, &ac->tm);
        if (rc)
            return rc;
    }
    *f = ac->ready[ac->rhead++];
    ac->given++;
    return 1;
}

void cor_as_completed_destroy(cor_as_completed *ac)
{
    if (!ac || cor__check_home(ac->loop))
        return;
    for (size_t i = 0; i < ac->n; i++) {
        cor__list_del(&ac->nodes[i].w.link);
        cor_future_release(ac->nodes[i].f);
    }
    free(ac->nodes);
    free(ac->ready);
    free(ac);
}

/* ------------------------------------------------- tasks directly ---- */

/*
 * The combinators over an array of tasks: each task is converted to its
 * future (the same object), into a small array on the stack or, past
 * SMALL_SET, on the heap.  A NULL task becomes a NULL future, which the
 * combinator rejects with -EINVAL.
 */
#define SMALL_SET 16

struct task_set {
    cor_future **fs;
    cor_future *small[SMALL_SET];
};

static int task_set_get(struct task_set *s, cor_task *const *ts, size_t n)
{
    s->fs = s->small;
    if (n && !ts)
        return -EINVAL;
    if (n > SMALL_SET && !(s->fs = malloc(n * sizeof *s->fs)))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        s->fs[i] = ts[i] ? cor_task_future(ts[i]) : NULL;
    return 0;
}

static void task_set_put(struct task_set *s)
{
    if (s->fs != s->small)
        free(s->fs);
}

int cor_gather_tasks(cor_task *const *ts, size_t n, void **results,
                     int *status, unsigned flags)
{
    struct task_set s;
    int rc = task_set_get(&s, ts, n);
    if (rc == 0)
        rc = cor_gather(s.fs, n, results, status, flags);
    task_set_put(&s);
    return rc;
}

int cor_wait_tasks(cor_task *const *ts, size_t n, int when, double timeout,
                   bool *done)
{
    struct task_set s;
    int rc = task_set_get(&s, ts, n);
    if (rc == 0)
        rc = cor_wait(s.fs, n, when, timeout, done);
    task_set_put(&s);
    return rc;
}

int cor_as_completed_create_tasks(cor_as_completed **out,
                                  cor_task *const *ts, size_t n,
                                  double timeout)
{
    struct task_set s;
    int rc = task_set_get(&s, ts, n);
    if (rc == 0)
        rc = cor_as_completed_create(out, s.fs, n, timeout);
    task_set_put(&s);
    return rc;
}

int cor_as_completed_next_task(cor_as_completed *ac, cor_task **t)
{
    if (!t)
        return -EINVAL;
    cor_future *f = NULL;
    int rc = cor_as_completed_next(ac, &f);
    *t = rc == 1 ? cor_future_task(f) : NULL;
    if (rc == 1 && !*t)
        return -EINVAL; /* a plain future: use cor_as_completed_next */
    return rc;
}
