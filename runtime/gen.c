/* SPDX-License-Identifier: MIT */
/*
 * gen.c - async generators as direct stack switches, not tasks.
 *
 * cor_gen_next switches from the calling task's stack to the generator's;
 * cor_gen_yield (or the body's end) switches back.  The body runs on behalf
 * of the caller: cor__tls_loop->cur stays the calling task the whole time,
 * so an await inside the body parks the calling task, and the task is later
 * resumed right there, on the generator's stack.  For that to hold, while
 * the body runs the task's stack record and TSan fiber are swapped for the
 * generator's (the scheduler's switch and overflow checks then describe the
 * stack actually in use), and swapped back when the body yields or ends.
 * Chosen over a producer task feeding a channel: no scheduler round trip per
 * item, current_task() is the consumer as in asyncio, and cancelling the
 * consumer reaches the body at its await.
 */
#include "ctx.h"
#include "internal.h"
#include "san.h"

#include <stdlib.h>

enum { GEN_NEW, GEN_SUSPENDED, GEN_RUNNING, GEN_DONE };

struct cor_gen {
    struct cor_loop *loop;
    cor_gen_fn *body;
    void *arg;
    int state;
    bool closing;
    bool doomed;       /* destroyed while running: freed by the next that
                        * runs it, as the body ends */
    int rc;            /* the body's return code, until reported */
    void *value;       /* the value being yielded */
    int resume_rc;     /* what cor_gen_yield returns when resumed */
    struct cor__stack stack;
    void *sp;          /* the generator's saved stack pointer */
    void *caller_sp;   /* the caller's, while the body runs */
    struct cor_task *caller;
    struct cor__stack caller_stack;
    void *caller_fiber;
    void *fiber;       /* TSan fiber of the generator's stack */
    void *asan_fake;
    void *caller_asan_fake;
    unsigned vg_id;
};

int cor_gen_create(cor_gen **out, cor_gen_fn *body, void *arg,
                   size_t stack_size)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l)
        return -EPERM;
    if (!out || !body)
        return -EINVAL;
    struct cor_gen *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->loop = l;
    g->body = body;
    g->arg = arg;
    g->state = GEN_NEW;
    int rc = cor__stack_get(&l->stacks, stack_size, &g->stack);
    if (rc < 0) {
        free(g);
        return rc;
    }
    *out = g;
    return 0;
}

static void switch_to_caller(struct cor_gen *g, bool dying)
{
    struct cor_loop *l = g->loop;
    san_start_switch(dying ? NULL : &g->asan_fake,
                     cor__stack_base(&g->caller_stack, l->stacks.page),
                     g->caller_stack.size - l->stacks.page);
    tsan_switch(g->caller_fiber);
    cor__ctx_switch(&g->sp, g->caller_sp);
    san_finish_switch(g->asan_fake);
}

static void gen_entry(void *p)
{
    struct cor_gen *g = p;
    san_finish_switch(NULL);
    g->rc = g->body(g, g->arg);
    g->state = GEN_DONE;
    switch_to_caller(g, true);
    cor__panic("a finished generator was resumed");
}

/* Run the body until it yields or ends; the caller is t. */
static void resume(struct cor_gen *g, struct cor_task *t)
{
    struct cor_loop *l = g->loop;
    size_t page = l->stacks.page;
    if (g->state == GEN_NEW) {
        g->sp = cor__ctx_make(g->stack.lo + g->stack.size, gen_entry, g);
        g->fiber = tsan_create();
        g->vg_id = vg_register(cor__stack_base(&g->stack, page),
                               g->stack.lo + g->stack.size);
    }
    g->state = GEN_RUNNING;
    g->caller = t;
    g->caller_stack = t->stack;
    g->caller_fiber = t->tsan_fiber;
    t->stack = g->stack;
    t->tsan_fiber = g->fiber;
    san_start_switch(&g->caller_asan_fake, cor__stack_base(&g->stack, page),
                     g->stack.size - page);
    tsan_switch(g->fiber);
    cor__ctx_switch(&g->caller_sp, g->sp);
    san_finish_switch(g->caller_asan_fake);
    t->stack = g->caller_stack;
    t->tsan_fiber = g->caller_fiber;
    g->caller = NULL;
}

static void release_stack(struct cor_gen *g)
{
    if (!g->stack.lo)
        return;
    if (g->fiber)
        tsan_destroy(g->fiber);
    vg_deregister(g->vg_id);
    cor__stack_put(&g->loop->stacks, &g->stack);
    g->stack.lo = NULL;
}

/* The body's outcome once it has ended: its error once, then 0. */
static int finished(struct cor_gen *g)
{
    release_stack(g);
    int rc = g->rc;
    g->rc = 0;
    return rc < 0 ? rc : 0;
}

/* The checks of next and close: 0, or why the caller may not resume g. */
static int may_resume(const struct cor_gen *g, const struct cor_task *t)
{
    if (!g)
        return -EINVAL;
    if (t->fut.loop != g->loop)
        return -EXDEV;
    return g->state == GEN_RUNNING ? -EBUSY : 0;
}

static void gen_free(struct cor_gen *g);

int cor_gen_next(cor_gen *g, void **value)
{
    struct cor_task *t = cor__need_task("cor_gen_next");
    int rc = may_resume(g, t);
    if (rc < 0)
        return rc;
    if (g->state == GEN_DONE)
        return finished(g);
    g->resume_rc = 0;
    resume(g, t);
    if (g->doomed) {
        gen_free(g);
        return -EBADF;
    }
    if (g->state == GEN_DONE)
        return finished(g);
    if (value)
        *value = g->value;
    return 1;
}

int cor_gen_yield(cor_gen *g, void *value)
{
    if (!g || g->state != GEN_RUNNING || !g->caller ||
        cor__tls_loop != g->loop || g->loop->cur != g->caller)
        cor__panic("cor_gen_yield: called outside the generator's body");
    if (g->closing)
        return -ECANCELED;
    g->value = value;
    g->state = GEN_SUSPENDED;
    switch_to_caller(g, false);
    return g->resume_rc;
}

int cor_gen_close(cor_gen *g)
{
    struct cor_task *t = cor__need_task("cor_gen_close");
    int rc = may_resume(g, t);
    if (rc < 0)
        return rc;
    if (g->state == GEN_NEW) {
        g->state = GEN_DONE;
        return finished(g);
    }
    if (g->state == GEN_SUSPENDED) {
        g->closing = true;
        g->resume_rc = -ECANCELED;
        /* The body is told by its yield's return code; it must end, and a
         * yield during the cleanup returns at once, so one resume does. */
        resume(g, t);
    }
    rc = finished(g);
    return rc == -ECANCELED ? 0 : rc;
}

static void gen_free(struct cor_gen *g)
{
    if (g->state == GEN_SUSPENDED && cor__tls_loop && cor__tls_loop->cur)
        cor_gen_close(g);
    release_stack(g);
    free(g);
}

void cor_gen_destroy(cor_gen *g)
{
    if (!g || g->doomed || cor__check_home(g->loop))
        return;
    if (g->state == GEN_RUNNING) {
        /* Running in a next (of another task, or this destroy is the
         * body's own): its yields return -ECANCELED from now on, so the
         * body ends, and that next frees g and returns -EBADF. */
        g->doomed = g->closing = true;
        return;
    }
    gen_free(g);
}

int cor_gen_iter(void *gen, void **item)
{
    return cor_gen_next(gen, item);
}

long cor_collect(cor_next_fn *next, void *self, void **out, size_t cap,
                 bool (*pred)(void *item, void *ud), void *ud)
{
    if (!next || (!out && cap))
        return -EINVAL;
    size_t n = 0;
    void *item;
    int rc = 0;
    while (n < cap && (rc = next(self, &item)) > 0)
        if (!pred || pred(item, ud))
            out[n++] = item;
    if (n < cap && rc < 0)
        return rc;
    return (long)n;
}
