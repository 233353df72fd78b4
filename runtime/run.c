/* SPDX-License-Identifier: MIT */
/*
 * run.c - cor_run(): boot the loops (loop 0 on the calling thread, the others
 * on threads of their own, each creating its own ring), run main as a task on
 * loop 0, then shut down: cancel every task on every loop, wait until each
 * has ended, and only then tear the loops down, each on its own thread.
 */
#include "internal.h"
#include "san.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct boot {
    struct cor_runtime *rt;
    int index;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 booting, 1 ready, <0 failed */
};

/* From the last loop to go idle: look at loop_done() again before
 * sleeping.  The message may be drained after this iteration's look (the
 * loop was not asleep, so it got no wakeup): without the recheck the loop
 * would sleep for good. */
static void recheck_msg(struct cor_loop *l, struct cor__msg *m)
{
    l->recheck = true;
    free(m);
}

static void wake_all(struct cor_runtime *rt)
{
    for (int i = 0; i < rt->nloops; i++) {
        struct cor__msg *m = malloc(sizeof *m);
        if (m) {
            m->fn = recheck_msg;
            cor__loop_post(rt->loops[i], m);
        }
    }
}

static void stop_msg(struct cor_loop *l, struct cor__msg *m)
{
    l->stopping = true;
    /* A loop without tasks must still look at loop_done() before it sleeps:
     * nothing else would wake it. */
    l->recheck = true;
    cor__task_cancel_all(l);
    free(m);
}

/*
 * A loop stops once the runtime shuts down, its own tasks have ended, and
 * every other loop's have too (until then it still serves messages that
 * other loops' ending tasks send it).
 */
static bool loop_done(struct cor_loop *l)
{
    struct cor_runtime *rt = l->rt;
    if (!l->stopping)
        return false;
    if (l->ntasks) {
        /* Tasks spawned while stopping are cancelled too. */
        cor__task_cancel_all(l);
        return false;
    }
    if (l->ready.head)
        return false; /* done callbacks of the last tasks still to run */
    if (!l->futures_cancelled) {
        /* No task is left to resolve them: cancel the pending futures so
         * the callbacks chained on them run and release what they hold. */
        l->futures_cancelled = true;
        cor__future_cancel_all(l);
        if (l->ready.head)
            return false;
    }
    if (!l->counted_idle) {
        l->counted_idle = true;
        if (atomic_fetch_add(&rt->idle, 1) + 1 == rt->nloops)
            wake_all(rt);
    }
    return atomic_load(&rt->idle) == rt->nloops;
}

/* Pin the calling thread to the index-th CPU the caller of cor_run could run
 * on (a container's cpuset need not start at CPU 0). */
static void pin_self(const cpu_set_t *allowed, int index)
{
    cpu_set_t set;
    int n = CPU_COUNT(allowed);
    if (n <= 0)
        return;
    int want = index % n;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, allowed) || want--)
            continue;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        return;
    }
}

static void *loop_thread(void *p)
{
    struct boot *b = p;
    struct cor_runtime *rt = b->rt;
    struct cor_loop *l = rt->loops[b->index];
    if (rt->opts.pin == COR_PIN_ALWAYS)
        pin_self(&rt->cpus, b->index);
    int rc = cor__loop_init(l, rt, b->index);
    pthread_mutex_lock(&b->mu);
    b->state = rc < 0 ? rc : 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    if (rc < 0)
        return NULL;
    cor__loop_run(l, loop_done);
    cor__loop_leave_thread(l);
    /* The loop itself is freed by cor_run once every loop has stopped. */
    cor__stack_thread_fini();
    cor__tls_loop = NULL;
    return NULL;
}

/*
 * Every loop has stopped: run what is still in their inboxes (releases of
 * records that live on another loop, late wakeups, a batch of executor jobs
 * not yet queued), until a whole pass finds nothing.  Messages run as if on
 * their loop.
 */
static void drain_inboxes(struct cor_loop **loops, int n)
{
    size_t ran;
    do {
        ran = 0;
        for (int i = 0; i < n; i++) {
            cor__tls_loop = loops[i];
            ran += cor__loop_drain(loops[i]);
        }
    } while (ran);
    cor__tls_loop = loops[0];
}

/* After the executor was drained: what its last jobs posted, then free the
 * loops. */
static void quiesce_and_free(struct cor_loop **loops, int n)
{
    drain_inboxes(loops, n);
    cor__loop_leave_thread(loops[0]); /* ours: loop 0 ran on this thread */
    for (int i = 0; i < n; i++)
        cor__loop_fini(loops[i]);
    cor__tls_loop = NULL;
    cor__stack_thread_fini();
}

static size_t guard_budget(int nloops)
{
    long max = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 65530;
        fclose(f);
    }
    /* Each mprotect guard costs two mappings; leave room for the rest of the
     * process (libraries, heap arenas, rings). */
    long room = max - 8192;
    return room > 0 ? (size_t)(room / 2 / nloops) : 0;
}

/* What opts->error receives: main's error, or one carrying the code. */
static int run_result(const cor_run_opts *o, int rc, const cor_error *e)
{
    if (o && o->error) {
        if (rc < 0 && !e)
            e = cor_error_create(rc, "%s", "");
        *o->error = rc < 0 ? (e ? e : cor_error_ref(cor__error_nomem())) : NULL;
    } else {
        cor_error_release(e);
    }
    return rc;
}

static bool main_done(struct cor_loop *l)
{
    return cor__future_finished(&l->rt->main->fut);
}

int cor_run_ex(cor_fn *main, void *arg, const cor_run_opts *opts,
               void **result)
{
    if (cor__tls_loop) {
        cor_log("cor_run: called from inside a running loop (use cor_spawn)");
        return run_result(opts, -EBUSY, NULL);
    }
    cor_run_opts o = opts ? *opts : (cor_run_opts){0};
    if (!main || o.loops < 0 || o.loops > 1024 ||
        (o.stack_size && o.stack_size < 16384) || o.ring_entries > 32768 ||
        o.backend < COR_BACKEND_AUTO || o.backend > COR_BACKEND_EPOLL)
        return run_result(opts, -EINVAL, NULL);
    if (o.backend == COR_BACKEND_AUTO) {
        const char *env = getenv("COR_BACKEND");
        if (env && strcmp(env, "io_uring") == 0)
            o.backend = COR_BACKEND_IO_URING;
        else if (env && strcmp(env, "epoll") == 0)
            o.backend = COR_BACKEND_EPOLL;
        else if (env && *env && strcmp(env, "auto") != 0)
            cor_log("COR_BACKEND: ignoring '%s' (io_uring, epoll or auto)",
                    env);
    }
    int nloops = o.loops;
    if (nloops == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nloops = n > 0 ? (int)n : 1;
    }
    struct cor_runtime *rt = calloc(1, sizeof *rt);
    struct cor_loop **loops = calloc((size_t)nloops, sizeof *loops);
    const cor_error *main_err = NULL;
    int rc = -ENOMEM;
    if (!rt || !loops)
        goto out_free;
    rt->loops = loops;
    rt->nloops = nloops;
    rt->opts = o;
    rt->be = o.backend == COR_BACKEND_IO_URING ? &cor__backend_uring
             : o.backend == COR_BACKEND_EPOLL  ? &cor__backend_epoll
                                               : NULL;
#ifdef COR_ASAN
    rt->stack_size = o.stack_size ? o.stack_size : 256 * 1024;
#else
    rt->stack_size = o.stack_size ? o.stack_size : 64 * 1024;
#endif
    if (!rt->opts.guard_budget)
        rt->opts.guard_budget = guard_budget(nloops);
    rc = cor__debug_init(rt);
    if (rc < 0)
        goto out_free;
    rc = -ENOMEM;
    for (int i = 0; i < nloops; i++)
        if (!(loops[i] = calloc(1, sizeof *loops[i])))
            goto out_free;

    /* Thread per core by default once there are several loops; the calling
     * thread (loop 0) gets its affinity back when cor_run returns. */
    if (o.pin == COR_PIN_AUTO)
        rt->opts.pin = nloops > 1 ? COR_PIN_ALWAYS : COR_PIN_NEVER;
    cpu_set_t saved;
    if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0)
        rt->opts.pin = COR_PIN_NEVER; /* nothing to restore: do not pin */
    rt->cpus = saved;
    bool pinned = rt->opts.pin == COR_PIN_ALWAYS;
    if (pinned)
        pin_self(&rt->cpus, 0);
    rc = cor__loop_init(loops[0], rt, 0);
    if (rc < 0)
        goto out_unpin;

    struct cor_loop *l0 = loops[0];
    struct cor_task *mt = NULL;
    pthread_t *th = calloc((size_t)nloops, sizeof *th);
    struct boot *boots = calloc((size_t)nloops, sizeof *boots);
    int started = 1;
    if (!th || !boots) {
        rc = -ENOMEM;
        goto out_stop;
    }
    /* Before the other loops start: they inherit the signal mask. */
    if ((rc = cor__signal_start(rt, l0)) < 0)
        goto out_stop;
    for (; started < nloops; started++) {
        struct boot *b = &boots[started];
        b->rt = rt;
        b->index = started;
        pthread_mutex_init(&b->mu, NULL);
        pthread_cond_init(&b->cv, NULL);
        if (pthread_create(&th[started], NULL, loop_thread, b) != 0) {
            rc = -EAGAIN;
            break;
        }
        pthread_mutex_lock(&b->mu);
        while (b->state == 0)
            pthread_cond_wait(&b->cv, &b->mu);
        pthread_mutex_unlock(&b->mu);
        if (b->state < 0) {
            rc = b->state;
            pthread_join(th[started], NULL);
            break;
        }
    }

    if (started == nloops && (rc = cor__debug_start(rt)) < 0)
        cor_log("cor_run: the watchdog thread did not start: %s",
                cor_strerror(rc));
    if (started == nloops) {
        rc = cor__task_spawn(l0, &mt, main, arg, NULL);
        if (rc == 0) {
            rt->main = mt;
            cor__loop_run(l0, main_done);
            rc = cor__future_status(&mt->fut);
            mt->fut.retrieved = true;
            if (rc == -ECANCELED && cor__signal_interrupted(rt))
                rc = COR_EINTERRUPTED;
            if (rc == 0 && result)
                *result = mt->fut.result;
            if (rc < 0)
                main_err = cor_error_ref(mt->fut.err);
        }
    }

out_stop:
    cor__debug_stop(rt);
    /* Shutdown: every loop cancels its tasks and runs until all are done. */
    atomic_store(&rt->shutdown, 1);
    l0->stopping = true;
    cor__task_cancel_all(l0);
    for (int i = 1; i < started; i++) {
        struct cor__msg *m = malloc(sizeof *m);
        if (!m)
            cor__panic("cor_run: out of memory while shutting down");
        m->fn = stop_msg;
        cor__loop_post(loops[i], m);
    }
    if (started < nloops) /* loops that never started count as idle */
        atomic_fetch_add(&rt->idle, nloops - started);
    cor__loop_run(l0, loop_done);
    for (int i = 1; i < started; i++)
        pthread_join(th[i], NULL);
    /* Every task has ended; once the inboxes have handed their last batches
     * of jobs to the executor, it is drained: its threads are stopped and
     * joined (it restarts on the next use). */
    drain_inboxes(loops, started);
    cor__executor_drain();
    if (mt)
        cor_task_release(mt);
    quiesce_and_free(loops, started);
    cor__signal_fini(rt);
    if (boots)
        for (int i = 1; i < nloops; i++) {
            pthread_mutex_destroy(&boots[i].mu);
            pthread_cond_destroy(&boots[i].cv);
        }
    free(th);
    free(boots);
out_unpin:
    if (pinned)
        pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
out_free:
    if (rt)
        cor__debug_fini(rt);
    if (loops)
        for (int i = 0; i < nloops; i++)
            free(loops[i]);
    free(loops);
    free(rt);
    return run_result(opts, rc, main_err);
}

int cor_run(cor_fn *main, void *arg)
{
    return cor_run_ex(main, arg, NULL, NULL);
}
