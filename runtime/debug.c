/* SPDX-License-Identifier: MIT */
/*
 * debug.c - seeing inside a running program: every loop's counters and a
 * dump of every task (each loop answers for itself, on its own thread,
 * through its inbox), debug mode (dropped tasks, slow steps and callbacks),
 * and the watchdog thread: the stall detector and the dump signal.  The
 * watchdog never touches a loop's state: it reads each loop's heartbeat, and
 * asks a stalled loop's thread for a backtrace with a signal whose handler
 * only copies into a buffer allocated before the loops started.
 */
#include "internal.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cor__wait_many[] = "gather or wait";
const char cor__wait_group[] = "group join";

/* A loop that takes longer than this to answer a question is stalled. */
#define ANSWER_NS 1000000000LL
/* Awaited futures kept per task for the dump (a gather lists more). */
#define MAX_ON 8
#define NFRAMES 48
/* A function's address, to name it (ISO C has no function-to-object cast). */
#define FNADDR(f) ((const void *)(uintptr_t)(f))

/* ------------------------------------------------------- symbols ---- */

/* "name+0xoff", or "file+0xoff" (for addr2line) when the symbol is not
 * exported, or the bare address. */
static const char *sym(const void *p, char *buf, size_t len)
{
    Dl_info di;
    if (!p) {
        snprintf(buf, len, "?");
        return buf;
    }
    if (dladdr(p, &di) && di.dli_sname && di.dli_saddr)
        snprintf(buf, len, "%s+0x%zx", di.dli_sname,
                 (size_t)((const char *)p - (const char *)di.dli_saddr));
    else if (dladdr(p, &di) && di.dli_fname && di.dli_fbase) {
        const char *base = strrchr(di.dli_fname, '/');
        snprintf(buf, len, "%s+0x%zx", base ? base + 1 : di.dli_fname,
                 (size_t)((const char *)p - (const char *)di.dli_fbase));
    } else
        snprintf(buf, len, "%p", p);
    return buf;
}

/* ------------------------------------------------ asking every loop ---- */

/*
 * A question to every loop: fn runs on each loop's thread and returns its
 * answer (malloc'd, or NULL when memory ran out).  Whoever drops the last
 * reference frees it all, so a loop that answers after the asker gave up
 * (stalled for longer than ANSWER_NS) writes into memory still alive.
 */
struct ask;

struct ask_msg {
    struct cor__msg msg;
    struct ask *a;
};

struct ask {
    _Atomic int refs;
    int n;
    void *(*fn)(struct cor_loop *l);
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;      /* under mu */
    bool *answered;   /* under mu */
    void **answers;   /* answers[i] is written before answered[i] */
    cor_future *done; /* a task asks: set once every loop answered */
    struct ask_msg *msgs;
};

static void ask_put(struct ask *a)
{
    if (atomic_fetch_sub(&a->refs, 1) != 1)
        return;
    for (int i = 0; i < a->n; i++)
        free(a->answers[i]);
    free(a->answers);
    free(a->answered);
    free(a->msgs);
    cor_future_release(a->done);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

static void ask_answer(struct ask *a, struct cor_loop *l)
{
    void *ans = a->fn(l);
    pthread_mutex_lock(&a->mu);
    a->answers[l->index] = ans;
    a->answered[l->index] = true;
    bool last = --a->pending == 0;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (last && a->done)
        cor_future_set_result(a->done, NULL);
}

static void ask_run(struct cor_loop *l, struct cor__msg *m)
{
    struct ask *a = cor__container_of(m, struct ask_msg, msg)->a;
    ask_answer(a, l);
    ask_put(a);
}

/*
 * Ask every loop of rt.  From a task (self != NULL) the calling loop answers
 * at once and the task waits for the others, shielded (a dump in cleanup
 * still works); from a plain thread the caller blocks.  Either way it waits
 * at most ANSWER_NS.  Returns the question with the caller's reference.
 */
static struct ask *ask_all(struct cor_runtime *rt, struct cor_task *self,
                           void *(*fn)(struct cor_loop *l))
{
    int n = rt->nloops;
    struct ask *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->n = n;
    a->fn = fn;
    a->answered = calloc((size_t)n, sizeof *a->answered);
    a->answers = calloc((size_t)n, sizeof *a->answers);
    a->msgs = calloc((size_t)n, sizeof *a->msgs);
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&a->refs, 1);
    if (!a->answered || !a->answers || !a->msgs ||
        (self && cor_future_create(&a->done) < 0)) {
        ask_put(a);
        return NULL;
    }
    struct cor_loop *here = self ? self->fut.loop : NULL;
    a->pending = n;
    if (here)
        ask_answer(a, here);
    for (int i = 0; i < n; i++) {
        if (rt->loops[i] == here)
            continue;
        atomic_fetch_add(&a->refs, 1);
        a->msgs[i].a = a;
        a->msgs[i].msg.fn = ask_run;
        cor__loop_post(rt->loops[i], &a->msgs[i].msg);
    }
    if (self) {
        pthread_mutex_lock(&a->mu);
        bool all = a->pending == 0;
        pthread_mutex_unlock(&a->mu);
        if (!all) {
            cor_shield_begin();
            cor_wait_for(a->done, (double)ANSWER_NS / 1e9, NULL);
            cor_shield_end();
        }
        return a;
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += ANSWER_NS / 1000000000LL;
    pthread_mutex_lock(&a->mu);
    while (a->pending > 0 && pthread_cond_timedwait(&a->cv, &a->mu, &dl) == 0)
        ;
    pthread_mutex_unlock(&a->mu);
    return a;
}

/* Loop i's answer, or NULL if it has not answered (stalled) or ran out of
 * memory. */
static void *ask_get(struct ask *a, int i)
{
    pthread_mutex_lock(&a->mu);
    void *p = a->answered[i] ? a->answers[i] : NULL;
    pthread_mutex_unlock(&a->mu);
    return p;
}

static struct cor_task *asking_task(const char *call, int *rc)
{
    struct cor_loop *l = cor__tls_loop;
    *rc = 0;
    if (!l || !l->cur) {
        *rc = -EPERM;
        (void)call;
        return NULL;
    }
    return l->cur;
}

/* ----------------------------------------------------------- stats ---- */

static void *stats_answer(struct cor_loop *l)
{
    cor_loop_stats *st = malloc(sizeof *st);
    if (st)
        cor__loop_stats(l, st);
    return st;
}

int cor_loop_stats_all(cor_loop_stats *out, int cap)
{
    int rc;
    struct cor_task *self = asking_task("cor_loop_stats_all", &rc);
    if (!self)
        return rc;
    if (!out && cap > 0)
        return -EINVAL;
    struct cor_runtime *rt = self->fut.loop->rt;
    struct ask *a = ask_all(rt, self, stats_answer);
    if (!a)
        return -ENOMEM;
    for (int i = 0; i < rt->nloops && i < cap; i++) {
        cor_loop_stats *st = ask_get(a, i);
        if (st) {
            out[i] = *st;
        } else {
            memset(&out[i], 0, sizeof out[i]);
            out[i].loop = -1;
        }
    }
    ask_put(a);
    return rt->nloops;
}

void cor_loop_stats_print(FILE *f, const cor_loop_stats *s)
{
    if (!f || !s)
        return;
    if (s->loop < 0) {
        fprintf(f, "loop ?: did not answer (stalled)\n");
        return;
    }
    fprintf(f,
            "loop %d: iterations=%llu enters=%llu sqes=%llu cqes=%llu "
            "cq_overflows=%llu switches=%llu inbox_msgs=%llu tasks=%zu "
            "ready=%zu timers=%zu ops=%zu stacks_guarded=%zu "
            "stacks_canary=%zu fixed_files=%zu ring_flags=0x%x\n",
            s->loop, (unsigned long long)s->iterations,
            (unsigned long long)s->enters, (unsigned long long)s->sqes,
            (unsigned long long)s->cqes, (unsigned long long)s->cq_overflows,
            (unsigned long long)s->switches, (unsigned long long)s->inbox_msgs,
            s->tasks, s->ready, s->timers, s->ops, s->stacks_guarded,
            s->stacks_canary, s->fixed_files, s->ring_flags);
}

int cor_stats_print(FILE *f)
{
    int rc;
    struct cor_task *self = asking_task("cor_stats_print", &rc);
    if (!self)
        return rc;
    if (!f)
        return -EINVAL;
    struct cor_runtime *rt = self->fut.loop->rt;
    struct ask *a = ask_all(rt, self, stats_answer);
    if (!a)
        return -ENOMEM;
    for (int i = 0; i < rt->nloops; i++) {
        cor_loop_stats *st = ask_get(a, i);
        if (st)
            cor_loop_stats_print(f, st);
        else
            fprintf(f, "loop %d: did not answer within %.0f s (stalled)\n", i,
                    (double)ANSWER_NS / 1e9);
    }
    ask_put(a);
    cor_executor_stats ex;
    cor_executor_stats_get(&ex);
    fprintf(f,
            "executor: threads=%u idle=%u queued=%zu running=%zu "
            "completed=%llu cancelled=%llu waited=%llu\n",
            ex.threads, ex.idle, ex.queued, ex.running,
            (unsigned long long)ex.completed, (unsigned long long)ex.cancelled,
            (unsigned long long)ex.waited);
    fflush(f);
    return 0;
}

/* ----------------------------------------------------- task dump ---- */

enum { T_RUNNING, T_READY, T_NEW, T_WAITING };

struct trec {
    uint64_t id;
    const void *fut;
    const char *what;
    const void *on[MAX_ON];
    int non;      /* futures waited on, as far as kept */
    size_t nwait; /* futures waited on, all of them */
    int state;
    int loop;
    bool cancelling;
    cor_fn *fn;
    const void *site;
    char name[48];
};

struct tlist {
    size_t n;
    struct trec r[];
};

static void describe_wait(struct cor_task *t, struct trec *r)
{
    r->what = t->wait_what;
    if (!strcmp(r->what, "a wait") && cor__wait_is_op(t->wait))
        r->what = "io";
    r->non = 0;
    r->nwait = 0;
    if (r->what == cor__wait_many) {
        const struct cor__wait_many *m = t->wait_on;
        for (size_t i = 0; i < m->n; i++) {
            if (cor__future_finished(m->fs[i]))
                continue;
            if (r->non < MAX_ON)
                r->on[r->non++] = m->fs[i];
            r->nwait++;
        }
    } else if (r->what == cor__wait_group) {
        const cor_future *kids[MAX_ON];
        size_t k = cor__group_children(t->wait_on, kids, MAX_ON);
        for (size_t i = 0; i < k; i++)
            r->on[r->non++] = kids[i];
        r->nwait = k;
    } else if (t->wait_on) {
        r->on[r->non++] = t->wait_on;
        r->nwait = 1;
    }
}

static void *tasks_answer(struct cor_loop *l)
{
    struct tlist *tl = malloc(sizeof *tl + l->ntasks * sizeof tl->r[0]);
    if (!tl)
        return NULL;
    size_t n = 0;
    for (struct cor__list *p = l->tasks.next; p != &l->tasks && n < l->ntasks;
         p = p->next) {
        struct cor_task *t = cor__container_of(p, struct cor_task, link);
        struct trec *r = &tl->r[n++];
        memset(r, 0, sizeof *r);
        r->id = t->id;
        r->fut = &t->fut;
        r->loop = l->index;
        r->cancelling = t->cancel_req;
        r->fn = t->fn;
        r->site = t->spawn_site;
        memcpy(r->name, t->name, sizeof r->name);
        if (l->cur == t)
            r->state = T_RUNNING;
        else if (!t->started)
            r->state = T_NEW;
        else if (!t->wait_what || !strcmp(t->wait_what, "yield"))
            r->state = T_READY;
        else {
            r->state = T_WAITING;
            describe_wait(t, r);
        }
    }
    tl->n = n;
    return tl;
}

struct dump {
    struct trec **all;
    size_t n;
    FILE *f;
};

static struct trec *by_fut(struct dump *d, const void *fut)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->all[i]->fut == fut)
            return d->all[i];
    return NULL;
}

static bool waits_on(const struct trec *w, const void *fut)
{
    for (int k = 0; k < w->non; k++)
        if (w->on[k] == fut)
            return true;
    return false;
}

/* The first task (after `after`) that waits on fut, or NULL. */
static struct trec *awaiter(struct dump *d, const void *fut, size_t *from)
{
    for (size_t i = *from; i < d->n; i++)
        if (waits_on(d->all[i], fut)) {
            *from = i + 1;
            return d->all[i];
        }
    *from = d->n;
    return NULL;
}

/* "awaited by 'a' <- 'b' <- 'c'": every direct awaiter, and for the first
 * one the chain above it (a cycle, a deadlock, is named). */
static void print_chain(struct dump *d, const struct trec *r)
{
    size_t from = 0;
    struct trec *w = awaiter(d, r->fut, &from);
    if (!w)
        return;
    fprintf(d->f, "; awaited by '%s'", w->name);
    const struct trec *seen[32];
    int ns = 0;
    seen[ns++] = r;
    struct trec *up = w;
    while (ns < 32) {
        for (int k = 0; k < ns; k++)
            if (seen[k] == up) {
                fprintf(d->f, " (a cycle: these tasks wait on each other)");
                goto others;
            }
        seen[ns++] = up;
        size_t f2 = 0;
        struct trec *next = awaiter(d, up->fut, &f2);
        if (!next)
            break;
        fprintf(d->f, " <- '%s'", next->name);
        up = next;
    }
others:
    while ((w = awaiter(d, r->fut, &from)))
        fprintf(d->f, ", '%s'", w->name);
}

static void print_task(struct dump *d, const struct trec *r)
{
    char b1[160], b2[160];
    fprintf(d->f, "  #%llu '%s' ", (unsigned long long)r->id, r->name);
    switch (r->state) {
    case T_RUNNING:
        fprintf(d->f, "running");
        break;
    case T_NEW:
        fprintf(d->f, "ready (not started)");
        break;
    case T_READY:
        fprintf(d->f, "ready");
        break;
    default:
        if (!strcmp(r->what, "a wait")) {
            fprintf(d->f, "waiting");
        } else if (r->what == cor__wait_many || r->what == cor__wait_group) {
            fprintf(d->f, "waiting on %s of %zu", r->what, r->nwait);
            for (int k = 0; k < r->non; k++) {
                struct trec *o = by_fut(d, r->on[k]);
                if (o)
                    fprintf(d->f, "%s'%s'", k ? ", " : ": ", o->name);
            }
        } else if (!strcmp(r->what, "task")) {
            struct trec *o = by_fut(d, r->on[0]);
            if (o)
                fprintf(d->f, "waiting on task '%s' (loop %d)", o->name,
                        o->loop);
            else
                fprintf(d->f, "waiting on a task");
        } else {
            fprintf(d->f, "waiting on %s", r->what);
        }
    }
    if (r->cancelling)
        fprintf(d->f, " (cancelling)");
    print_chain(d, r);
    fprintf(d->f, "\n      fn %s, spawned from %s\n",
            sym(FNADDR(r->fn), b1, sizeof b1),
            r->site ? sym(r->site, b2, sizeof b2) : "cor_run");
}

/* Print every loop's answer; returns the number of tasks. */
static int print_dump(FILE *f, struct ask *a, int nloops)
{
    size_t total = 0;
    for (int i = 0; i < nloops; i++) {
        struct tlist *tl = ask_get(a, i);
        if (tl)
            total += tl->n;
    }
    struct dump d = {.all = malloc((total ? total : 1) * sizeof *d.all),
                     .f = f};
    if (!d.all)
        return -ENOMEM;
    for (int i = 0; i < nloops; i++) {
        struct tlist *tl = ask_get(a, i);
        for (size_t k = 0; tl && k < tl->n; k++)
            d.all[d.n++] = &tl->r[k];
    }
    fprintf(f, "task dump: %zu tasks on %d loops\n", total, nloops);
    for (int i = 0; i < nloops; i++) {
        struct tlist *tl = ask_get(a, i);
        if (!tl) {
            fprintf(f, "loop %d: did not answer within %.0f s (stalled)\n", i,
                    (double)ANSWER_NS / 1e9);
            continue;
        }
        fprintf(f, "loop %d: %zu tasks\n", i, tl->n);
        for (size_t k = 0; k < tl->n; k++)
            print_task(&d, &tl->r[k]);
    }
    fprintf(f, "end of task dump\n");
    fflush(f);
    free(d.all);
    return (int)total;
}

int cor_dump_tasks(FILE *f)
{
    int rc;
    struct cor_task *self = asking_task("cor_dump_tasks", &rc);
    if (!self)
        return rc;
    if (!f)
        return -EINVAL;
    struct cor_runtime *rt = self->fut.loop->rt;
    struct ask *a = ask_all(rt, self, tasks_answer);
    if (!a)
        return -ENOMEM;
    rc = print_dump(f, a, rt->nloops);
    ask_put(a);
    return rc;
}

/* ------------------------------------------------------- debug mode ---- */

void cor__debug_dropped(struct cor_task *t)
{
    struct cor_runtime *rt = t->fut.loop->rt;
    int st = atomic_load(&t->fut.state);
    /* Main is read by cor_run; the leftovers that cor_run cancels at the
     * end were never meant to be read. */
    if (t == rt->main || (st == COR__CANCELLED && atomic_load(&rt->shutdown)))
        return;
    char b1[160], b2[160];
    cor_log("debug: task '%s' was released and nobody read its result "
            "(it %s; fn %s, spawned from %s)",
            t->name,
            st == COR__RESULT   ? "returned"
            : st == COR__FAILED ? "failed"
                                : "was cancelled",
            sym(FNADDR(t->fn), b1, sizeof b1),
            t->spawn_site ? sym(t->spawn_site, b2, sizeof b2) : "?");
}

static void run_timed(struct cor_loop *l, struct cor__soon *s)
{
    struct cor_task *t = cor__soon_task(s);
    char name[sizeof t->name];
    const void *what = t ? NULL : cor__soon_fn(s);
    if (t)
        memcpy(name, t->name, sizeof name);
    int64_t t0 = cor_now_ns();
    s->run(s); /* s may be freed from here on */
    int64_t d = cor_now_ns() - t0;
    if (d < l->slow_ns)
        return;
    char b[160];
    if (t)
        cor_log("debug: executing task '%s' took %.3f seconds (loop %d)", name,
                (double)d / 1e9, l->index);
    else
        cor_log("debug: callback %s took %.3f seconds (loop %d)",
                sym(what, b, sizeof b), (double)d / 1e9, l->index);
}

void cor__debug_run_timed(struct cor_loop *l, struct cor__soon *s)
{
    while (s) {
        struct cor__soon *next = s->next;
        run_timed(l, s);
        s = next;
    }
}

/* -------------------------------------------------------- watchdog ---- */

struct cor__stall_shot {
    _Atomic int state; /* SHOT_* */
    int depth;
    void *frames[NFRAMES];
    bool has_task;
    char name[48];
    cor_fn *fn;
    const void *site;
};

enum { SHOT_IDLE, SHOT_WANTED, SHOT_WRITING, SHOT_READY };

struct watch {
    uint64_t beat;
    int64_t busy_since; /* 0: asleep in its poll, or not looked at yet */
    bool reported;
};

struct cor__debug {
    struct cor_runtime *rt;
    bool debug;
    int64_t slow_ns, stall_ns;
    int dump_sig;
    pthread_t th;
    bool running;
    int pipe[2];
    bool dump_hub;       /* the dump signal is a cor_signal_add handler */
    bool dump_installed; /* ... or a sigaction of our own (old_dump) */
    struct sigaction old_dump;
    struct watch *w;
    struct cor__stall_shot *shots;
};

/* The dump signal's pipe (one runtime at a time owns the signal). */
static _Atomic int dump_fd = -1;

static void dump_handler(int sig)
{
    (void)sig;
    int saved = errno;
    int fd = atomic_load(&dump_fd);
    if (fd >= 0) {
        char c = 'd';
        ssize_t r = write(fd, &c, 1);
        (void)r; /* a full pipe already holds a request */
    }
    errno = saved;
}

static int stall_signal(void)
{
    return SIGRTMAX - 4;
}

/* On the stalled loop's thread: copy where it is, nothing else. */
static void stall_handler(int sig)
{
    (void)sig;
    int saved = errno;
    struct cor_loop *l = cor__tls_loop;
    struct cor__stall_shot *s = l ? l->shot : NULL;
    int want = SHOT_WANTED;
    if (s && atomic_compare_exchange_strong(&s->state, &want, SHOT_WRITING)) {
        s->depth = backtrace(s->frames, NFRAMES);
        struct cor_task *t = l->cur;
        s->has_task = t != NULL;
        if (t) {
            memcpy(s->name, t->name, sizeof s->name);
            s->fn = t->fn;
            s->site = t->spawn_site;
        }
        atomic_store(&s->state, SHOT_READY);
    }
    errno = saved;
}

static void nap_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static void report_stall(struct cor__debug *d, int i, int64_t ns)
{
    struct cor_loop *l = d->rt->loops[i];
    struct cor__stall_shot *s = &d->shots[i];
    atomic_store(&s->state, SHOT_WANTED);
    pthread_kill(l->thread, stall_signal());
    /* The handler runs at once, except under sanitizers that hold signals
     * until the thread reaches a call they intercept: wait a little. */
    int st = SHOT_WANTED;
    for (int k = 0; k < 200; k++) {
        st = atomic_load(&s->state);
        if (st == SHOT_READY)
            break;
        nap_ms(1);
    }
    int want = SHOT_WANTED;
    if (st != SHOT_READY &&
        !atomic_compare_exchange_strong(&s->state, &want, SHOT_IDLE))
        while (atomic_load(&s->state) != SHOT_READY)
            nap_ms(1); /* the handler is writing: it ends soon */
    bool got = atomic_load(&s->state) == SHOT_READY;
    char b1[160], b2[160];
    cor_log("stall: loop %d has not come back to its poll for %.3f s "
            "(threshold %.3f s)",
            i, (double)ns / 1e9, (double)d->stall_ns / 1e9);
    if (!got) {
        cor_log("stall: loop %d did not answer the stall signal: no "
                "backtrace",
                i);
        return;
    }
    if (s->has_task)
        cor_log("stall: loop %d is running task '%s' (fn %s, spawned from "
                "%s)",
                i, s->name, sym(FNADDR(s->fn), b1, sizeof b1),
                s->site ? sym(s->site, b2, sizeof b2) : "cor_run");
    else
        cor_log("stall: loop %d is not in a task (a callback or the loop "
                "itself)",
                i);
    char **lines = backtrace_symbols(s->frames, s->depth);
    cor_log("stall: backtrace of loop %d (%d frames):", i, s->depth);
    for (int k = 0; k < s->depth; k++)
        cor_log("stall:   #%d %s", k, lines ? lines[k] : "?");
    free(lines);
    atomic_store(&s->state, SHOT_IDLE);
}

static void check_stalls(struct cor__debug *d)
{
    int64_t now = cor_now_ns();
    for (int i = 0; i < d->rt->nloops; i++) {
        struct cor_loop *l = d->rt->loops[i];
        struct watch *w = &d->w[i];
        uint64_t b = atomic_load_explicit(&l->beat, memory_order_relaxed);
        bool asleep = atomic_load(&l->sleeping);
        if (asleep || b != w->beat || !w->busy_since) {
            if (w->reported)
                cor_log("stall: loop %d is back after %.3f s", i,
                        (double)(now - w->busy_since) / 1e9);
            w->beat = b;
            w->busy_since = asleep ? 0 : now;
            w->reported = false;
            continue;
        }
        if (!w->reported && now - w->busy_since >= d->stall_ns) {
            w->reported = true;
            report_stall(d, i, now - w->busy_since);
        }
    }
}

static void *watchdog(void *p)
{
    struct cor__debug *d = p;
    pthread_setname_np(pthread_self(), "coring-watch");
    int period = -1;
    if (d->stall_ns) {
        int64_t ms = d->stall_ns / 4000000;
        period = ms < 1 ? 1 : ms > 1000 ? 1000 : (int)ms;
    }
    for (;;) {
        struct pollfd pfd = {.fd = d->pipe[0], .events = POLLIN};
        if (poll(&pfd, 1, period) > 0) {
            char buf[16];
            ssize_t n = read(d->pipe[0], buf, sizeof buf);
            bool quit = false, dump = false;
            for (ssize_t k = 0; k < n; k++) {
                quit |= buf[k] == 'q';
                dump |= buf[k] == 'd';
            }
            if (quit)
                return NULL;
            if (dump) {
                struct ask *a = ask_all(d->rt, NULL, tasks_answer);
                if (a) {
                    print_dump(stderr, a, d->rt->nloops);
                    ask_put(a);
                }
            }
        }
        if (d->stall_ns)
            check_stalls(d);
    }
}

static int64_t env_ms(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    long long ms = strtoll(v, &end, 10);
    if (*end || ms < 0) {
        cor_log("%s=%s: not a number of milliseconds (ignored)", name, v);
        return 0;
    }
    return ms * 1000000LL;
}

static int env_signal(void)
{
    const char *v = getenv("COR_DUMP_SIGNAL");
    if (!v || !*v)
        return 0;
    if (!strncmp(v, "SIG", 3))
        v += 3;
    static const struct {
        const char *name;
        int sig;
    } names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"QUIT", SIGQUIT},
                 {"HUP", SIGHUP},   {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(v, names[i].name))
            return names[i].sig;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n <= 0 || n >= NSIG) {
        cor_log("COR_DUMP_SIGNAL=%s: not a signal (ignored)", v);
        return 0;
    }
    return (int)n;
}

static void debug_free(struct cor__debug *d)
{
    free(d->w);
    free(d->shots);
    free(d);
}

int cor__debug_init(struct cor_runtime *rt)
{
    const cor_run_opts *o = &rt->opts;
    const char *env = getenv("COR_DEBUG");
    bool debug = o->debug || (env && *env && strcmp(env, "0") != 0);
    int64_t slow = o->slow_step > 0 ? (int64_t)(o->slow_step * 1e9)
                                    : env_ms("COR_SLOW_MS");
    int64_t stall = o->stall_threshold > 0 ? (int64_t)(o->stall_threshold * 1e9)
                                           : env_ms("COR_STALL_MS");
    int sig = o->dump_signal ? o->dump_signal : env_signal();
    if (o->slow_step < 0 || o->stall_threshold < 0 || sig < 0 || sig >= NSIG ||
        o->slow_step != o->slow_step ||
        o->stall_threshold != o->stall_threshold)
        return -EINVAL;
    if (debug && !slow)
        slow = 100000000LL; /* asyncio's slow_callback_duration */
    if (debug && !stall)
        stall = 1000000000LL;
    if (!debug && !stall && !sig)
        return 0;
    struct cor__debug *d = calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->rt = rt;
    d->debug = debug;
    d->slow_ns = debug ? slow : 0;
    d->stall_ns = stall;
    d->dump_sig = sig;
    d->pipe[0] = d->pipe[1] = -1;
    d->w = calloc((size_t)rt->nloops, sizeof *d->w);
    d->shots = calloc((size_t)rt->nloops, sizeof *d->shots);
    if (!d->w || !d->shots) {
        debug_free(d);
        return -ENOMEM;
    }
    rt->dbg = d;
    return 0;
}

void cor__debug_loop(struct cor_loop *l)
{
    struct cor__debug *d = l->rt->dbg;
    if (!d)
        return;
    l->debug = d->debug;
    l->slow_ns = d->slow_ns;
    l->shot = &d->shots[l->index];
}

/* The dump signal through the runtime's signal handling (runtime/signal.c):
 * its handler runs as a callback on loop 0 and starts a task that dumps. */
static void *dump_task(void *arg)
{
    (void)arg;
    cor_dump_tasks(stderr);
    return NULL;
}

static void on_dump_signal(int sig, void *arg)
{
    (void)sig;
    (void)arg;
    cor_spawn_opts o = {.name = "task-dump"};
    cor_task *t;
    if (cor_spawn_ex(&t, dump_task, NULL, &o) == 0)
        cor_task_detach(t);
}

/* A signal the runtime does not receive (see coring/signal.h): a handler of
 * our own that only writes to the watchdog's pipe. */
static void install_dump_handler(struct cor__debug *d)
{
    int none = -1;
    if (!atomic_compare_exchange_strong(&dump_fd, &none, d->pipe[1])) {
        cor_log("dump signal: another runtime has it (ignored)");
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = dump_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    d->dump_installed = sigaction(d->dump_sig, &sa, &d->old_dump) == 0;
    if (!d->dump_installed)
        atomic_store(&dump_fd, -1);
}

/* On loop 0's thread, once every loop has started. */
int cor__debug_start(struct cor_runtime *rt)
{
    struct cor__debug *d = rt->dbg;
    if (!d || (!d->stall_ns && !d->dump_sig))
        return 0;
    if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    d->pipe[0] = cor__fd_above_stdio(d->pipe[0]);
    d->pipe[1] = cor__fd_above_stdio(d->pipe[1]);
    if (d->pipe[0] < 0 || d->pipe[1] < 0) {
        int rc = d->pipe[0] < 0 ? d->pipe[0] : d->pipe[1];
        if (d->pipe[0] >= 0)
            close(d->pipe[0]);
        if (d->pipe[1] >= 0)
            close(d->pipe[1]);
        d->pipe[0] = d->pipe[1] = -1;
        return rc;
    }
    if (d->stall_ns) {
        /* backtrace() loads its unwinder on first use, which is not safe in
         * a signal handler: use it once here. */
        void *warm[2];
        backtrace(warm, 2);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stall_handler;
        sa.sa_flags = SA_RESTART | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        sigaction(stall_signal(), &sa, NULL);
    }
    if (d->dump_sig) {
        int rc = cor_signal_add(d->dump_sig, on_dump_signal, NULL);
        d->dump_hub = rc == 0;
        if (rc == -ENOTSUP)
            install_dump_handler(d);
        else if (rc < 0)
            cor_log("dump signal %d: %s (ignored)", d->dump_sig,
                    cor_strerror(rc));
    }
    if (!d->stall_ns && !d->dump_installed)
        return 0; /* the watchdog has nothing to do */
    int rc = pthread_create(&d->th, NULL, watchdog, d);
    if (rc != 0)
        return -rc;
    d->running = true;
    return 0;
}

void cor__debug_stop(struct cor_runtime *rt)
{
    struct cor__debug *d = rt->dbg;
    if (!d)
        return;
    if (d->dump_hub) {
        cor_signal_remove(d->dump_sig);
        d->dump_hub = false;
    }
    if (d->dump_installed) {
        sigaction(d->dump_sig, &d->old_dump, NULL);
        atomic_store(&dump_fd, -1);
        d->dump_installed = false;
    }
    if (d->running) {
        char q = 'q';
        while (write(d->pipe[1], &q, 1) < 0 &&
               (errno == EINTR || errno == EAGAIN))
            nap_ms(1); /* a full pipe: the watchdog is draining it */
        pthread_join(d->th, NULL);
        d->running = false;
    }
    if (d->pipe[0] >= 0) {
        close(d->pipe[0]);
        close(d->pipe[1]);
        d->pipe[0] = d->pipe[1] = -1;
    }
}

void cor__debug_fini(struct cor_runtime *rt)
{
    if (rt->dbg) {
        cor__debug_stop(rt);
        debug_free(rt->dbg);
        rt->dbg = NULL;
    }
}
