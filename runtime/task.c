/* SPDX-License-Identifier: MIT */
/*
 * task.c - tasks: spawn, the switch in and out of a task, park and wake,
 * cancellation, sleep and yield, shield scopes, and the task queries.
 *
 * Every switch goes task -> scheduler -> task through the loop thread's own
 * stack, so a finished task's stack is released from the scheduler, never
 * from itself.  A task holds a reference to itself while it runs.
 */
#include "ctx.h"
#include "internal.h"
#include "san.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


_Atomic uint64_t cor__task_counter;

__thread const void *cor__spawn_site
    __attribute__((tls_model("initial-exec")));

int64_t cor_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void cor__need_task_fail(const char *call)
{
    cor__panic("%s: called outside a task (it suspends, so it must run "
               "on a coroutine started by cor_run or cor_spawn)",
               call);
}

/* ------------------------------------------------------------ switch ---- */

/* Scheduler -> t.  Returns when t parks or ends. */
static void switch_in(struct cor_loop *l, struct cor_task *t)
{
    size_t page = l->stacks.page;
    l->cur = t;
    COR__STAT(l->stats.switches++);
    san_start_switch(&l->sched_asan_fake, cor__stack_base(&t->stack, page),
                     t->stack.size - page);
    tsan_switch(t->tsan_fiber);
    cor__ctx_switch(&l->sched_sp, t->sp);
    san_finish_switch(l->sched_asan_fake);
    l->cur = NULL;
    /* An unguarded stack that overflowed has smashed its canary (or left its
     * stack pointer below the base); stop before any other task runs on
     * memory it may have hit. */
    if (t->stack.guard == COR__GUARD_NONE && !t->running_done &&
        (!cor__stack_canary_intact(&t->stack, page) ||
         (char *)t->sp < cor__stack_base(&t->stack, page) + 64))
        cor__stack_overflow(t->name, t->stack.size);
}

/* t -> scheduler.  Returns when t is resumed (never when dying). */
static void switch_out(struct cor_task *t, bool dying)
{
    struct cor_loop *l = t->fut.loop;
    san_start_switch(dying ? NULL : &t->asan_fake, l->sched_stack_lo,
                     l->sched_stack_size);
    tsan_switch(l->sched_tsan_fiber);
    cor__ctx_switch(&t->sp, l->sched_sp);
    san_finish_switch(t->asan_fake);
}

static void task_entry(void *p)
{
    struct cor_task *t = p;
    san_finish_switch(NULL);
    void *r = t->fn(t->arg);
    t->fut.result = r;
    t->running_done = true;
    switch_out(t, true);
    cor__panic("a finished task was resumed");
}

/* ---------------------------------------------------------- records ---- */

static struct cor_task *record_get(struct cor_loop *l)
{
    struct cor_task *t = l->free_tasks;
    if (t) {
        l->free_tasks = (struct cor_task *)(void *)t->soon.next;
        l->nfree_tasks--;
    } else {
        t = malloc(sizeof *t);
    }
    return t;
}

void cor__task_record_free(struct cor_task *t)
{
    struct cor_loop *l = t->fut.loop;
    if (cor__unlikely(l->debug) && !t->fut.observed)
        cor__debug_dropped(t);
    cor__list_del(&t->link);
    t->soon.next = (struct cor__soon *)(void *)l->free_tasks;
    l->free_tasks = t;
    l->nfree_tasks++;
}

/* Finish a task on the scheduler stack: release its stack, publish. */
static void task_finalize(struct cor_loop *l, struct cor_task *t, int state)
{
    if (t->stack.lo) {
        tsan_destroy(t->tsan_fiber);
        vg_deregister(t->vg_id);
        cor__stack_put(&l->stacks, &t->stack);
        t->stack.lo = NULL;
    }
    if (t->deadline != INT64_MAX)
        cor__timer_disarm(&l->timers, &t->dl_timer);
    t->fut.err = t->fail;
    t->fail = NULL;
    cor__list_del(&t->link);
    cor__list_push(&l->done_tasks, &t->link);
    l->ntasks--;
    l->recheck = true;
    cor__future_finish(&t->fut, state);
    cor_task_release(t);
}

static void task_resume(struct cor__soon *s)
{
    struct cor_task *t = cor__container_of(s, struct cor_task, soon);
    struct cor_loop *l = t->fut.loop;
    if (cor__unlikely(!t->started)) {
        t->started = true;
        if (t->cancel_req) { /* cancelled before its first run */
            task_finalize(l, t, COR__CANCELLED);
            return;
        }
    }
    switch_in(l, t);
    if (t->running_done) {
        int state = COR__RESULT;
        if (t->fail)
            state = t->fail->code == -ECANCELED ? COR__CANCELLED
                                                : COR__FAILED;
        task_finalize(l, t, state);
    }
}

struct cor_task *cor__soon_task(struct cor__soon *s)
{
    return s->run == task_resume ? cor__container_of(s, struct cor_task, soon)
                                 : NULL;
}

/* "Task-N" without snprintf: it is a third of an empty spawn's cost. */
static void default_name(char *out, uint64_t id)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + id % 10);
        id /= 10;
    } while (id);
    memcpy(out, "Task-", 5);
    out += 5;
    while (n)
        *out++ = digits[--n];
    *out = 0;
}

/*
 * Fill a fresh record for home l: future (two references: the caller's
 * handle and the task's own while it runs), body, id and name.  Touches
 * nothing of l, so any thread may prepare a record for any loop.
 */
void cor__task_prepare(struct cor_loop *l, struct cor_task *t, cor_fn *fn,
                       void *arg, const cor_spawn_opts *o)
{
    cor__future_init(&t->fut, l, true);
    atomic_store_explicit(&t->fut.refs, 2, memory_order_relaxed);
    t->soon.run = task_resume;
    t->fn = fn;
    t->arg = arg;
    t->wait = NULL;
    t->wake_rc = 0;
    t->started = t->running_done = t->cancel_req = false;
    t->shield = 0;
    t->deadline = INT64_MAX;
    t->expired = false;
    t->scope = NULL;
    t->dl_timer.idx = SIZE_MAX;
    t->fail = NULL;
    t->asan_fake = NULL;
    t->stack.lo = NULL;
    cor__list_init(&t->link);
    t->spawn_site = cor__spawn_site;
    cor__spawn_site = NULL;
    t->wait_what = NULL;
    t->wait_on = NULL;
    t->id = atomic_fetch_add(&cor__task_counter, 1) + 1;
    if (o && o->name)
        snprintf(t->name, sizeof t->name, "%s", o->name);
    else
        default_name(t->name, t->id);
}

/* On t's home loop: give a prepared record its stack and make it ready. */
int cor__task_start(struct cor_loop *l, struct cor_task *t, size_t stack_size)
{
    int rc = cor__stack_get(&l->stacks, stack_size, &t->stack);
    if (rc < 0) {
        t->stack.lo = NULL;
        if (rc == -ENOMEM)
            cor_log("cor_spawn: no memory for a task stack");
        return rc;
    }
    char *base = cor__stack_base(&t->stack, l->stacks.page);
    char *top = t->stack.lo + t->stack.size;
    t->sp = cor__ctx_make(top, task_entry, t);
    t->tsan_fiber = tsan_create();
    t->vg_id = vg_register(base, top);
    cor__list_push(&l->tasks, &t->link);
    l->ntasks++;
    cor__loop_push_ready(l, &t->soon);
    return 0;
}

int cor__task_spawn(struct cor_loop *l, struct cor_task **out, cor_fn *fn,
                    void *arg, const cor_spawn_opts *o)
{
    if (!fn)
        return -EINVAL;
    struct cor_task *t = record_get(l);
    if (!t)
        return -ENOMEM;
    cor__task_prepare(l, t, fn, arg, o);
    int rc = cor__task_start(l, t, o ? o->stack_size : 0);
    if (rc < 0) {
        t->soon.next = (struct cor__soon *)(void *)l->free_tasks;
        l->free_tasks = t;
        l->nfree_tasks++;
        return rc;
    }
    *out = t;
    return 0;
}

static int spawn_at(cor_task **out, cor_fn *fn, void *arg,
                    const cor_spawn_opts *opts, const void *site)
{
    struct cor_loop *l = cor__tls_loop;
    if (!out || !fn)
        return -EINVAL;
    if (!l)
        return -EPERM;
    cor__spawn_site = site;
    if (opts && opts->loop != 0 && opts->loop - 1 != l->index)
        return cor__xloop_spawn(l->rt, opts->loop - 1, out, fn, arg, opts);
    return cor__task_spawn(l, out, fn, arg, opts);
}

/* The spawn site (for debug mode and the task dump) is the caller's return
 * address: one store per spawn. */
int cor_spawn_ex(cor_task **out, cor_fn *fn, void *arg,
                 const cor_spawn_opts *opts)
{
    return spawn_at(out, fn, arg, opts, __builtin_return_address(0));
}

cor_task *cor_spawn(cor_fn *fn, void *arg)
{
    cor_task *t = NULL;
    if (!cor__tls_loop)
        cor__panic("cor_spawn: called off a loop thread");
    int rc = spawn_at(&t, fn, arg, NULL, __builtin_return_address(0));
    return rc < 0 ? NULL : t;
}

/* -------------------------------------------------------- park / wake ---- */

int cor__pending_interrupt(struct cor_task *t)
{
    if (t->shield)
        return 0;
    if (t->cancel_req)
        return -ECANCELED;
    if (t->expired)
        return -ETIMEDOUT;
    return 0;
}

int cor__park_on(struct cor__wait *w, const char *what, const void *on)
{
    struct cor_task *t = cor__need_task("a suspending call");
    int rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    t->wait = w;
    t->wake_rc = 0;
    t->wait_what = what;
    t->wait_on = on;
    switch_out(t, false);
    t->wait_what = NULL;
    return t->wake_rc;
}

int cor__park(struct cor__wait *w)
{
    return cor__park_on(w, "a wait", NULL);
}

void cor__wake(struct cor_task *t, int rc)
{
    /* Its saved context, read when it is resumed later in the iteration:
     * fetched now, the miss overlaps the loop's other work. */
    __builtin_prefetch(t->sp);
    t->wait = NULL;
    t->wake_rc = rc;
    cor__loop_push_ready(t->fut.loop, &t->soon);
}

void cor__interrupt_wait(struct cor_task *t, int reason)
{
    struct cor__wait *w = t->wait;
    if (!w)
        return;
    t->wait = NULL;
    w->cancel(w, reason);
}

/* Interrupt t's current wait, if it has one and no shield is up. */
static void interrupt(struct cor_task *t, int reason)
{
    if (!t->shield)
        cor__interrupt_wait(t, reason);
}

struct xcancel {
    struct cor__msg msg;
    struct cor_task *t;
};

static void xcancel_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct xcancel *x = cor__container_of(m, struct xcancel, msg);
    cor_task_cancel(x->t);
    cor_task_release(x->t);
    free(x);
}

bool cor_task_cancel(cor_task *t)
{
    if (!t || cor__future_finished(&t->fut))
        return false;
    if (cor__tls_loop != t->fut.loop) {
        /* Another thread: deliver it on the home loop. */
        struct xcancel *x = malloc(sizeof *x);
        if (!x)
            return false;
        x->msg.fn = xcancel_run;
        x->t = cor_task_ref(t);
        cor__loop_post(t->fut.loop, &x->msg);
        return true;
    }
    if (t->cancel_req)
        return true;
    t->cancel_req = true;
    interrupt(t, -ECANCELED);
    return true;
}

void cor__task_cancel_all(struct cor_loop *l)
{
    for (struct cor__list *p = l->tasks.next; p != &l->tasks; p = p->next)
        cor_task_cancel(cor__container_of(p, struct cor_task, link));
}

/* ------------------------------------------------------------ deadlines - */

static void deadline_fire(struct cor__timer *tm)
{
    struct cor_task *t = cor__container_of(tm, struct cor_task, dl_timer);
    t->expired = true;
    interrupt(t, -ETIMEDOUT);
}

/*
 * Set (or with INT64_MAX clear) the calling task's absolute deadline.  Once
 * it passes, suspending calls return -ETIMEDOUT until it is cleared.
 */
int cor__task_set_deadline(struct cor_task *t, int64_t deadline)
{
    struct cor_loop *l = t->fut.loop;
    if (t->deadline != INT64_MAX)
        cor__timer_disarm(&l->timers, &t->dl_timer);
    t->deadline = deadline;
    t->expired = false;
    if (deadline == INT64_MAX)
        return 0;
    if (deadline <= cor_now_ns()) {
        t->expired = true;
        return 0;
    }
    t->dl_timer.deadline = deadline;
    t->dl_timer.fire = deadline_fire;
    int rc = cor__timer_arm(&l->timers, &t->dl_timer);
    if (rc < 0)
        t->deadline = INT64_MAX;
    return rc;
}

/* --------------------------------------------------------- sleep, yield - */

struct yielder {
    struct cor__wait w;
    struct cor_task *t;
};

static void yield_cancel(struct cor__wait *w, int reason)
{
    /* Already in the ready queue: only change what the yield returns. */
    cor__container_of(w, struct yielder, w)->t->wake_rc = reason;
}

int cor_yield(void)
{
    struct cor_task *t = cor__need_task("cor_yield");
    int rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    struct yielder y = {.w.cancel = yield_cancel, .t = t};
    cor__loop_push_ready(t->fut.loop, &t->soon);
    return cor__park_on(&y.w, "yield", NULL);
}

struct sleeper {
    struct cor__timer tm;
    struct cor__wait w;
    struct cor_task *t;
};

static void sleep_fire(struct cor__timer *tm)
{
    cor__wake(cor__container_of(tm, struct sleeper, tm)->t, 0);
}

static void sleep_cancel(struct cor__wait *w, int reason)
{
    struct sleeper *s = cor__container_of(w, struct sleeper, w);
    cor__timer_disarm(&s->t->fut.loop->timers, &s->tm);
    cor__wake(s->t, reason);
}

int cor_sleep_ns(int64_t ns)
{
    struct cor_task *t = cor__need_task("cor_sleep");
    if (ns <= 0)
        return cor_yield();
    int rc = cor__pending_interrupt(t);
    if (rc)
        return rc;
    struct sleeper s = {.w.cancel = sleep_cancel, .t = t};
    s.tm.fire = sleep_fire;
    /* A fresh clock, not the loop's cached time: never return early. */
    int64_t now = cor_now_ns();
    s.tm.deadline = ns > INT64_MAX - now ? INT64_MAX : now + ns;
    rc = cor__timer_arm(&t->fut.loop->timers, &s.tm);
    if (rc < 0)
        return rc;
    return cor__park_on(&s.w, "sleep", NULL);
}

int cor_sleep(double seconds)
{
    if (seconds != seconds)
        return -EINVAL;
    if (seconds >= 9.2e9)
        return cor_sleep_ns(INT64_MAX);
    /* Round up so that the sleep is never shorter than asked. */
    double ns = seconds * 1e9;
    int64_t n = (int64_t)ns;
    if ((double)n < ns)
        n++;
    return cor_sleep_ns(n);
}

void cor_shield_begin(void)
{
    cor__need_task("cor_shield_begin")->shield++;
}

void cor_shield_end(void)
{
    struct cor_task *t = cor__need_task("cor_shield_end");
    if (t->shield == 0)
        cor__panic("cor_shield_end: no shield scope is open");
    t->shield--;
}

/* ------------------------------------------------------------ results ---- */

void *cor_fail(int code, const char *fmt, ...)
{
    struct cor_task *t = cor__need_task("cor_fail");
    va_list ap;
    va_start(ap, fmt);
    cor__error_vset(&t->fail, code, fmt, ap);
    va_end(ap);
    return NULL;
}

void *cor_fail_error(const cor_error *e)
{
    struct cor_task *t = cor__need_task("cor_fail_error");
    if (!e)
        return cor_fail(-EINVAL, "cor_fail_error: no error given");
    cor_error_ref(e);
    cor_error_release(t->fail);
    t->fail = e;
    return NULL;
}

/* A task is its future (the first member): NULL stays NULL. */
static cor_future *fut_of(cor_task *t)
{
    return (cor_future *)t;
}

int cor_await(cor_task *t, void **result)
{
    cor__need_task("cor_await");
    return cor_future_await(fut_of(t), result);
}

bool cor_task_done(const cor_task *t)
{
    return t && cor__future_finished(&t->fut);
}

bool cor_task_cancelled(const cor_task *t)
{
    return t && cor_future_cancelled(&t->fut);
}

bool cor_task_cancelling(const cor_task *t)
{
    return t && t->cancel_req && !cor__future_finished(&t->fut);
}

int cor_task_result(cor_task *t, void **result)
{
    return cor_future_result(fut_of(t), result);
}

int cor_task_error(cor_task *t, const cor_error **err)
{
    return cor_future_error(fut_of(t), err);
}

const char *cor_task_name(const cor_task *t)
{
    return t ? t->name : NULL;
}

void cor_task_set_name(cor_task *t, const char *name)
{
    if (t)
        snprintf(t->name, sizeof t->name, "%s", name ? name : "");
}

cor_fn *cor_task_fn(const cor_task *t)
{
    return t ? t->fn : NULL;
}

cor_future *cor_task_future(cor_task *t)
{
    return fut_of(t);
}

cor_task *cor_future_task(cor_future *f)
{
    return f && f->is_task ? (cor_task *)f : NULL;
}

cor_task *cor_task_ref(cor_task *t)
{
    cor_future_ref(fut_of(t));
    return t;
}

void cor_task_release(cor_task *t)
{
    if (!t)
        return;
    /* Debug mode: a task that drops a handle to itself owns its lifetime
     * (a server's connection task): it is detached, not dropped. */
    if (cor__unlikely(t->fut.loop->debug) && cor__tls_loop &&
        cor__tls_loop->cur == t)
        t->fut.observed = true;
    cor_future_release(&t->fut);
}

void cor_task_detach(cor_task *t)
{
    if (!t)
        return;
    t->fut.observed = true;
    cor_future_release(&t->fut);
}

int cor_task_describe(const cor_task *t, char *buf, size_t len)
{
    char e[256];
    if (!t || (!buf && len))
        return -EINVAL;
    switch (atomic_load(&t->fut.state)) {
    case COR__RESULT:
        return snprintf(buf, len, "<Task finished name='%s' result=%p>",
                        t->name, t->fut.result);
    case COR__FAILED:
        cor_error_format(t->fut.err, e, sizeof e);
        return snprintf(buf, len, "<Task finished name='%s' exception=%s>",
                        t->name, e);
    case COR__CANCELLED:
        return snprintf(buf, len, "<Task cancelled name='%s'>", t->name);
    default:
        return snprintf(buf, len, "<Task pending name='%s'>", t->name);
    }
}

struct task_cb {
    cor_task_cb *cb;
    void *ud;
};

/* Task callbacks ride on future callbacks with the pair packed in ud; the
 * packing is undone here.  Registrations are matched by (cb, ud). */
static void task_cb_tramp(cor_future *f, void *ud)
{
    struct task_cb *c = ud;
    c->cb((cor_task *)f, c->ud);
    free(c);
}

int cor_task_on_done(cor_task *t, cor_task_cb *cb, void *ud)
{
    if (!t || !cb)
        return -EINVAL;
    int rc = cor__check_home(t->fut.loop);
    if (rc)
        return rc;
    struct task_cb *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->cb = cb;
    c->ud = ud;
    rc = cor_future_on_done(&t->fut, task_cb_tramp, c);
    if (rc < 0)
        free(c);
    return rc;
}

static bool task_cb_match(void *ud, void *key)
{
    struct task_cb *c = ud, *k = key;
    if (c->cb != k->cb || c->ud != k->ud)
        return false;
    free(c);
    return true;
}

int cor_task_off_done(cor_task *t, cor_task_cb *cb, void *ud)
{
    struct task_cb key = {cb, ud};
    return cor__future_off_done_match(fut_of(t), task_cb_tramp, task_cb_match,
                                      &key);
}

cor_task *cor_current_task(void)
{
    struct cor_loop *l = cor__tls_loop;
    return l ? l->cur : NULL;
}

size_t cor_all_tasks(cor_task **buf, size_t cap)
{
    struct cor_loop *l = cor__tls_loop;
    size_t n = 0;
    if (!l)
        return 0;
    for (struct cor__list *p = l->tasks.next; p != &l->tasks; p = p->next) {
        if (buf && n < cap)
            buf[n] = cor__container_of(p, struct cor_task, link);
        n++;
    }
    return n;
}

/* At the end of cor_run: every record still referenced is freed here. */
void cor__task_free_all(struct cor_loop *l)
{
    while (!cor__list_empty(&l->done_tasks)) {
        struct cor_task *t =
            cor__container_of(l->done_tasks.next, struct cor_task, link);
        cor__list_del(&t->link);
        if (atomic_load(&t->fut.state) == COR__FAILED && !t->fut.retrieved) {
            char buf[512];
            cor_error_format(t->fut.err, buf, sizeof buf);
            cor_log("Task error was never retrieved: task '%s' failed: %s",
                    t->name, buf);
        }
        cor_error_release(t->fut.err);
        free(t);
    }
    while (l->free_tasks) {
        struct cor_task *t = l->free_tasks;
        l->free_tasks = (struct cor_task *)(void *)t->soon.next;
        free(t);
    }
}
