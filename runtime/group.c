/* SPDX-License-Identifier: MIT */
/*
 * group.c - task groups (asyncio.TaskGroup).  The group holds a reference
 * to each child and a waiter on it; the waiter runs on the loop when the
 * child finishes, records a non-cancel failure, and on the first one cancels
 * the siblings.  Join waits until no child is running; once joined the group
 * is closed to new children.  Everything runs on the group's loop.
 */
#include "internal.h"

#include <stdlib.h>

struct child {
    struct cor__waiter w;
    struct cor_group *g;
    struct cor_task *t;
};

struct cor_group {
    struct cor_loop *loop;
    struct child **kids;
    size_t n, cap, running;
    const cor_error **errs; /* non-cancel failures, in the order they came */
    size_t nerrs;
    cor_error *group_err;
    struct cor_task *joiner;  /* parked in join (until woken) */
    struct cor_task *joining; /* inside join (until it returns) */
    struct cor__wait park;
    bool aborting, closed;
    bool destroyed;           /* destroy came during a join: the join
                               * frees g as it returns */
};

static void cancel_all(struct cor_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (!cor__future_finished(&g->kids[i]->t->fut))
            cor_task_cancel(g->kids[i]->t);
}

static void child_done(struct cor__waiter *w, struct cor_future *f)
{
    struct child *c = cor__container_of(w, struct child, w);
    struct cor_group *g = c->g;
    g->running--;
    if (atomic_load(&f->state) == COR__FAILED) {
        f->retrieved = true; /* the group reports it */
        /* errs has room for every child (grown with kids). */
        g->errs[g->nerrs++] = cor_error_ref(f->err);
        if (!g->aborting) {
            g->aborting = true;
            cancel_all(g);
        }
    }
    if (g->running == 0 && g->joiner) {
        struct cor_task *t = g->joiner;
        g->joiner = NULL;
        cor__wake(t, 0);
    }
}

int cor_group_create(cor_group **out)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l)
        return -EPERM;
    if (!out)
        return -EINVAL;
    struct cor_group *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->loop = l;
    *out = g;
    return 0;
}

static int grow(struct cor_group *g)
{
    size_t cap = g->cap ? g->cap * 2 : 8;
    struct child **k = realloc(g->kids, cap * sizeof *k);
    if (!k)
        return -ENOMEM;
    g->kids = k;
    const cor_error **e = realloc(g->errs, cap * sizeof *e);
    if (!e)
        return -ENOMEM;
    g->errs = e;
    g->cap = cap;
    return 0;
}

int cor_group_spawn(cor_group *g, cor_task **out, cor_fn *fn, void *arg)
{
    if (!g || !fn)
        return -EINVAL;
    if (cor__tls_loop != g->loop)
        return -EXDEV;
    if (g->closed)
        return COR_EINVALSTATE;
    if (g->n == g->cap && grow(g) < 0)
        return -ENOMEM;
    struct child *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    cor__spawn_site = __builtin_return_address(0);
    int rc = cor__task_spawn(g->loop, &c->t, fn, arg, NULL);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->g = g;
    c->w.wake = child_done;
    cor__future_add_waiter(&c->t->fut, &c->w);
    g->kids[g->n++] = c;
    g->running++;
    /* A group that is already failing starts new children cancelled, as
     * asyncio's TaskGroup does. */
    if (g->aborting)
        cor_task_cancel(c->t);
    if (out)
        *out = cor_task_ref(c->t);
    return 0;
}

static void join_cancel(struct cor__wait *w, int reason)
{
    struct cor_group *g = cor__container_of(w, struct cor_group, park);
    struct cor_task *t = g->joiner;
    g->joiner = NULL;
    cor__wake(t, reason);
}

/* Why join must refuse g, before joining anything (0: it may join). */
static int join_refused(const struct cor_group *g, const struct cor_task *self)
{
    if (!g)
        return -EINVAL;
    if (self->fut.loop != g->loop)
        return -EXDEV;
    if (g->joining)
        return -EBUSY;
    return 0;
}

static void group_free(struct cor_group *g);

static int join_in(struct cor_group *g, struct cor_task *self,
                   const cor_error **err)
{
    int interrupted = 0;
    g->park.cancel = join_cancel;
    while (g->running) {
        g->joiner = self;
        int rc = cor__park_on(&g->park, cor__wait_group, g);
        if (rc && !interrupted) {
            /* Cancelled (or the deadline passed) in join: stop the children
             * and still wait for all of them, shielded. */
            interrupted = rc;
            g->aborting = true;
            cancel_all(g);
            self->shield++;
        }
    }
    g->joiner = NULL;
    if (interrupted)
        self->shield--;
    g->closed = true;
    if (interrupted)
        return interrupted;
    if (g->nerrs == 0)
        return 0;
    if (!g->group_err) {
        g->group_err = cor_error_group(g->errs[0]->code,
                                       "unhandled errors in a task group",
                                       g->errs, g->nerrs);
        if (!g->group_err)
            return -ENOMEM;
    }
    if (err)
        *err = g->group_err;
    return g->errs[0]->code;
}

int cor_group_join(cor_group *g, const cor_error **err)
{
    struct cor_task *self = cor__need_task("cor_group_join");
    if (err)
        *err = NULL;
    int refused = join_refused(g, self);
    if (refused)
        return refused;
    g->joining = self;
    int rc = join_in(g, self, err);
    g->joining = NULL;
    if (g->destroyed) {
        if (err)
            *err = NULL; /* it was g's */
        group_free(g);
        return -EBADF;
    }
    return rc;
}

size_t cor_group_size(const cor_group *g)
{
    return g && !cor__check_home(g->loop) ? g->n : 0;
}

void cor_group_destroy(cor_group *g)
{
    if (!g || g->destroyed || cor__check_home(g->loop))
        return;
    cancel_all(g);
    if (g->joining) {
        /* A join waiting in another task returns -EBADF once the
         * children it waits for have ended, and frees g. */
        g->destroyed = true;
        cor__interrupt_wait(g->joining, -EBADF);
        return;
    }
    group_free(g);
}

static void group_free(struct cor_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        cor__list_del(&g->kids[i]->w.link);
        cor_task_release(g->kids[i]->t);
        free(g->kids[i]);
    }
    for (size_t i = 0; i < g->nerrs; i++)
        cor_error_release(g->errs[i]);
    cor_error_release(g->group_err);
    free(g->kids);
    free(g->errs);
    free(g);
}

size_t cor__group_children(const void *gp, const cor_future **out, size_t cap)
{
    const struct cor_group *g = gp;
    size_t k = 0;
    for (size_t i = 0; i < g->n && k < cap; i++)
        if (!cor__future_finished(&g->kids[i]->t->fut))
            out[k++] = &g->kids[i]->t->fut;
    return k;
}

int cor_group_close(cor_group *g, const cor_error **err)
{
    struct cor_task *self = cor__need_task("cor_group_close");
    const cor_error *e = NULL;
    if (err)
        *err = NULL;
    /* join's own refusals, here, where they cannot be mistaken for a
     * child's error code: the group is then the caller's still. */
    int rc = join_refused(g, self);
    if (rc)
        return rc;
    rc = cor_group_join(g, &e);
    if (err && e)
        *err = cor_error_ref(e);
    cor_group_destroy(g);
    return rc;
}
