/* SPDX-License-Identifier: MIT */
/*
 * micro_executor.c - the executor and cross-loop figures, each beside the
 * floor measured in the same run under the same placement: wake_floor_us, a
 * round trip between two unpinned plain threads over two eventfds (two
 * sleeping wakeups), and wake_floor_pinned_us, the same with the threads
 * pinned to cores 0 and 1 as pinned loops are.  Also libuv's uv_queue_work on
 * the same 10k-job batch.  Every figure is taken ROUNDS times, interleaved,
 * and the median printed; a ratio is the median of the per-round ratios.
 */
#include "internal.h"
#include "uring.h"
#include "micro.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#ifdef HAVE_LIBUV
#include <uv.h>
#endif

#define RTT_N 20000
#define PINNED_N 4000 /* pinned round trips: slow while cores are shared */
#define JOBS 10000
#define ROUNDS 5
#ifndef POOL
#define POOL 4 /* libuv's default pool size, for a like-for-like batch */
#endif

/* ------------------------------------------------------ wake floor ---- */

static int efd_ping, efd_pong;
static int floor_n;

/* cpu < 0: leave the thread where the scheduler puts it. */
static void pin_to(int cpu)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpu < 0 || n <= 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)n, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *pong_thread(void *arg)
{
    pin_to((int)(intptr_t)arg);
    uint64_t v;
    for (int i = 0; i < floor_n; i++) {
        if (read(efd_ping, &v, sizeof v) != sizeof v)
            break;
        v = 1;
        if (write(efd_pong, &v, sizeof v) != sizeof v)
            break;
    }
    return NULL;
}

/* The floor: ping on cpu a, pong on cpu b (-1: unpinned). */
static double wake_floor_us(int a, int b, int n)
{
    cpu_set_t saved;
    pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
    pin_to(a);
    floor_n = n;
    efd_ping = eventfd(0, EFD_CLOEXEC);
    efd_pong = eventfd(0, EFD_CLOEXEC);
    pthread_t th;
    pthread_create(&th, NULL, pong_thread, (void *)(intptr_t)b);
    uint64_t v = 1;
    int64_t t0 = micro_now_ns();
    for (int i = 0; i < n; i++) {
        v = 1;
        if (write(efd_ping, &v, sizeof v) != sizeof v ||
            read(efd_pong, &v, sizeof v) != sizeof v)
            break;
    }
    int64_t dt = micro_now_ns() - t0;
    pthread_join(th, NULL);
    close(efd_ping);
    close(efd_pong);
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    return dt / 1e3 / n;
}

/* ------------------------------------------------------- to_thread ---- */

static void *nothing(void *arg)
{
    return arg;
}

static double result_value;

/* ---------------------------------------------------- counters ---- */

/* The pool's shared-state costs per job over a run (cor_executor_stats):
 * lock acquisitions (and those of the pool-wide lock), those that waited,
 * workers woken, loop posts. */
enum { C_LOCKS, C_POOL_LOCKS, C_WAITS, C_WAKEUPS, C_POSTS, NCOUNT };

static cor_executor_stats stats_before;

static void counters_start(void)
{
    cor_executor_stats_get(&stats_before);
}

static void counters_end(double out[NCOUNT])
{
    cor_executor_stats a;
    cor_executor_stats_get(&a);
    const cor_executor_stats *b = &stats_before;
    double jobs = (double)(a.completed - b->completed);
    if (jobs < 1)
        jobs = 1;
    out[C_LOCKS] = (a.locks - b->locks) / jobs;
    out[C_POOL_LOCKS] = (a.pool_locks - b->pool_locks) / jobs;
    out[C_WAITS] = (a.lock_waits - b->lock_waits) / jobs;
    out[C_WAKEUPS] = (a.wakeups - b->wakeups) / jobs;
    out[C_POSTS] = (a.posts - b->posts) / jobs;
}

static void *rtt_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) /* warm: the worker exists */
        cor_to_thread(nothing, NULL, NULL);
    int64_t t0 = micro_now_ns();
    for (int i = 0; i < RTT_N; i++)
        cor_to_thread(nothing, NULL, NULL);
    result_value = (micro_now_ns() - t0) / 1e3 / RTT_N;
    return NULL;
}

static void *batch_main(void *arg)
{
    (void)arg;
    static cor_future *f[JOBS];
    int64_t t0 = micro_now_ns();
    for (int i = 0; i < JOBS; i++)
        if (cor_executor_submit(nothing, NULL, NULL, NULL, &f[i]) < 0)
            f[i] = NULL;
    for (int i = 0; i < JOBS; i++) {
        if (f[i])
            cor_future_await(f[i], NULL);
        cor_future_release(f[i]);
    }
    result_value = JOBS / ((micro_now_ns() - t0) / 1e9);
    return NULL;
}

/* The counters' workload, on every loop at once: a batch of submits, then
 * tasks calling to_thread one job at a time. */
#define SWEEP_BATCH 2000
#define SWEEP_TASKS 32
#define SWEEP_CALLS 50

static void *sweep_caller(void *arg)
{
    (void)arg;
    for (int i = 0; i < SWEEP_CALLS; i++)
        cor_to_thread(nothing, NULL, NULL);
    return NULL;
}

static void *sweep_loop(void *arg)
{
    (void)arg;
    static _Thread_local cor_future *f[SWEEP_BATCH];
    for (int i = 0; i < SWEEP_BATCH; i++)
        if (cor_executor_submit(nothing, NULL, NULL, NULL, &f[i]) < 0)
            f[i] = NULL;
    for (int i = 0; i < SWEEP_BATCH; i++) {
        if (f[i])
            cor_future_await(f[i], NULL);
        cor_future_release(f[i]);
    }
    cor_task *t[SWEEP_TASKS];
    for (int i = 0; i < SWEEP_TASKS; i++)
        t[i] = cor_spawn(sweep_caller, NULL);
    for (int i = 0; i < SWEEP_TASKS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

static void *sweep_main(void *arg)
{
    (void)arg;
    int n = cor_loop_count();
    cor_task *t[64];
    for (int i = 0; i < n && i < 64; i++)
        t[i] = cor_spawn_on(i, sweep_loop, NULL);
    for (int i = 0; i < n && i < 64; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

#ifdef HAVE_LIBUV
static long uv_done;
static void uv_work(uv_work_t *r)
{
    (void)r;
}
static void uv_after(uv_work_t *r, int status)
{
    (void)r;
    (void)status;
    uv_done++;
}

/* The same batch through libuv's pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise). */
static double uv_jobs_per_s(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_work_t *reqs = calloc(JOBS, sizeof *reqs);
    uv_done = 0;
    int64_t t0 = micro_now_ns();
    for (int i = 0; i < JOBS; i++)
        uv_queue_work(&loop, &reqs[i], uv_work, uv_after);
    uv_run(&loop, UV_RUN_DEFAULT);
    double r = JOBS / ((micro_now_ns() - t0) / 1e9);
    free(reqs);
    uv_loop_close(&loop);
    return uv_done == JOBS ? r : 0;
}
#endif

/* ----------------------------------------------------- cross-loop ---- */

static cor_loop *far_loop;
static volatile bool spinning;

static void answer(void *arg)
{
    cor_future_set_result(arg, NULL);
}

/* One round trip: loop 0 asks loop 1 to resolve a loop-0 future. */
static void *xrtt_main(void *arg)
{
    int n = (int)(intptr_t)arg;
    far_loop = cor_loop_get(1);
    int64_t t0 = 0;
    for (int i = -200; i < n; i++) {
        if (i == 0)
            t0 = micro_now_ns();
        cor_future *f;
        cor_future_create(&f);
        cor_call_soon_threadsafe(far_loop, answer, f);
        cor_future_await(f, NULL);
        cor_future_release(f);
    }
    result_value = (micro_now_ns() - t0) / 1e3 / n;
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    while (spinning && cor_yield() == 0)
        ;
    return NULL;
}

/* Both loops busy with a yielding task: no one sleeps, no wake is made. */
static void *xrtt_busy_main(void *arg)
{
    spinning = true;
    cor_task *s0 = cor_spawn_on(0, spinner, NULL);
    cor_task *s1 = cor_spawn_on(1, spinner, NULL);
    xrtt_main(arg);
    spinning = false;
    cor_await(s0, NULL);
    cor_await(s1, NULL);
    cor_task_release(s0);
    cor_task_release(s1);
    return NULL;
}

#define CHAN_N 400000
static cor_chan *chan;

static void *chan_producer(void *arg)
{
    (void)arg;
    for (intptr_t i = 1; i <= CHAN_N; i++)
        cor_chan_send(chan, (void *)i);
    return NULL;
}

static void *chan_consumer(void *arg)
{
    (void)arg;
    void *it;
    long n = 0;
    while (n < CHAN_N && cor_chan_recv(chan, &it) == 0)
        n++;
    return NULL;
}

static void *chan_main(void *arg)
{
    (void)arg;
    cor_chan_create(&chan, 1024);
    int64_t t0 = micro_now_ns();
    cor_task *c = cor_spawn_on(1, chan_consumer, NULL);
    cor_task *p = cor_spawn_on(0, chan_producer, NULL);
    cor_await(p, NULL);
    cor_await(c, NULL);
    result_value = CHAN_N / ((micro_now_ns() - t0) / 1e9);
    cor_task_release(p);
    cor_task_release(c);
    cor_chan_destroy(chan);
    return NULL;
}

static bool no_defer; /* rings without DEFER_TASKRUN, for comparison */

static double run(cor_fn *fn, void *arg, int loops, bool pin)
{
    cor_run_opts o = {.loops = loops,
                      .pin = pin ? COR_PIN_ALWAYS : COR_PIN_NEVER,
                      .no_defer_taskrun = no_defer};
    result_value = 0;
    if (cor_run_ex(fn, arg, &o, NULL) != 0)
        return -1;
    return result_value;
}

static double xrtt(bool msgring, bool pin)
{
    atomic_store(&cor__wake_msgring, msgring);
    double r = run(xrtt_main, (void *)(intptr_t)(pin ? PINNED_N : RTT_N), 2,
                   pin);
    atomic_store(&cor__wake_msgring, true);
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v)
{
    double s[ROUNDS];
    memcpy(s, v, sizeof s);
    qsort(s, ROUNDS, sizeof s[0], cmp_double);
    return s[ROUNDS / 2];
}

static double median3(const double *v)
{
    double a = v[0], b = v[1], c = v[2];
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    return c < a ? a : c > b ? b : c;
}

/* Median of the per-round ratios a[i] / b[i]. */
static double median_ratio(const double *a, const double *b)
{
    double q[ROUNDS];
    for (int i = 0; i < ROUNDS; i++)
        q[i] = b[i] > 0 ? a[i] / b[i] : 0;
    return median(q);
}

enum {
    FLOOR,
    FLOOR_PINNED,
    TT_RTT,
    TT_JOBS,
    UV_JOBS,
    X_EFD_PINNED,
    X_MR_PINNED,
    X_EFD,
    X_MR,
    X_MR_NODEFER,
    X_MR_PINNED_NODEFER,
    X_BUSY,
    CHAN,
    NFIG
};

static double run(cor_fn *fn, void *arg, int loops, bool pin);

/* Counters per job against workers and submitting loops: the proof, on any
 * machine, that the pool's shared-state work per job does not grow with
 * them (timings need the cores; these counts do not). */
static void counter_sweep(void)
{
    static const unsigned workers[] = {2, 16, 64};
    static const int loops[] = {1, 4};
    static const char *names[NCOUNT] = {"locks", "pool_locks", "lock_waits",
                                        "wakeups", "posts"};
    for (size_t l = 0; l < sizeof loops / sizeof loops[0]; l++)
        for (size_t w = 0; w < sizeof workers / sizeof workers[0]; w++) {
            cor_executor_opts eo = {.max_threads = workers[w]};
            cor_executor_configure(&eo);
            double c[NCOUNT];
            counters_start();
            run(sweep_main, NULL, loops[l], false);
            counters_end(c);
            cor_executor_configure(NULL);
            for (int k = 0; k < NCOUNT; k++) {
                char name[96];
                snprintf(name, sizeof name, "to_thread_%s_per_job_%uw_%dl",
                         names[k], workers[w], loops[l]);
                micro_print(name, c[k], "/job");
            }
        }
}

void micro_executor(void)
{
    static double f[NFIG][ROUNDS], cnt[NCOUNT][ROUNDS];
    cor_executor_opts eo = {.queue_cap = JOBS, .max_threads = POOL};
    for (int r = 0; r < ROUNDS; r++) {
        f[FLOOR][r] = wake_floor_us(-1, -1, RTT_N);
        f[TT_RTT][r] = run(rtt_main, NULL, 1, false);
        f[FLOOR_PINNED][r] = wake_floor_us(0, 1, PINNED_N);
        f[X_MR_PINNED][r] = xrtt(true, true);
        f[X_EFD_PINNED][r] = xrtt(false, true);
        f[X_MR][r] = xrtt(true, false);
        f[X_EFD][r] = xrtt(false, false);
        no_defer = true;
        f[X_MR_NODEFER][r] = xrtt(true, false);
        f[X_MR_PINNED_NODEFER][r] = xrtt(true, true);
        no_defer = false;
        /* The batches are short (a few ms): each round takes the median of
         * three of each, alternating. */
        double cj[3], uj[3] = {0, 0, 0}, cc[NCOUNT][3];
        for (int k = 0; k < 3; k++) {
            cor_executor_configure(&eo);
            double c[NCOUNT];
            counters_start();
            cj[k] = run(batch_main, NULL, 1, false);
            counters_end(c);
            for (int i = 0; i < NCOUNT; i++)
                cc[i][k] = c[i];
            cor_executor_configure(NULL);
#ifdef HAVE_LIBUV
            uj[k] = uv_jobs_per_s();
#endif
        }
        f[TT_JOBS][r] = median3(cj);
        for (int i = 0; i < NCOUNT; i++)
            cnt[i][r] = median3(cc[i]);
        f[UV_JOBS][r] = median3(uj);
        f[X_BUSY][r] = run(xrtt_busy_main, (void *)(intptr_t)(RTT_N * 5), 2,
                           true);
        f[CHAN][r] = run(chan_main, NULL, 2, true);
    }
    micro_print("wake_floor_us", median(f[FLOOR]), "us");
    micro_print("wake_floor_pinned_us", median(f[FLOOR_PINNED]), "us");
    micro_print("to_thread_rtt_us", median(f[TT_RTT]), "us");
    micro_print("to_thread_rtt_vs_floor", median_ratio(f[TT_RTT], f[FLOOR]),
                "x");
    micro_print("to_thread_jobs_per_s", median(f[TT_JOBS]), "jobs/s");
    micro_print("to_thread_locks_per_job", median(cnt[C_LOCKS]), "/job");
    micro_print("to_thread_pool_locks_per_job", median(cnt[C_POOL_LOCKS]),
                "/job");
    micro_print("to_thread_lock_waits_per_job", median(cnt[C_WAITS]), "/job");
    micro_print("to_thread_wakeups_per_job", median(cnt[C_WAKEUPS]), "/job");
    micro_print("to_thread_posts_per_job", median(cnt[C_POSTS]), "/job");
#ifdef HAVE_LIBUV
    micro_print("uv_queue_work_jobs_per_s", median(f[UV_JOBS]), "jobs/s");
    micro_print("to_thread_jobs_vs_uv", median_ratio(f[TT_JOBS], f[UV_JOBS]),
                "x");
#endif
    micro_print("xloop_rtt_sleeping_eventfd_us", median(f[X_EFD]), "us");
    micro_print("xloop_rtt_sleeping_msgring_us", median(f[X_MR]), "us");
    micro_print("xloop_rtt_sleeping_us", median(f[X_MR]), "us");
    micro_print("xloop_rtt_sleeping_vs_floor", median_ratio(f[X_MR], f[FLOOR]),
                "x");
    micro_print("xloop_rtt_sleeping_pinned_eventfd_us",
                median(f[X_EFD_PINNED]), "us");
    micro_print("xloop_rtt_sleeping_pinned_msgring_us", median(f[X_MR_PINNED]),
                "us");
    micro_print("xloop_rtt_sleeping_pinned_vs_floor",
                median_ratio(f[X_MR_PINNED], f[FLOOR_PINNED]), "x");
    micro_print("xloop_rtt_sleeping_no_defer_taskrun_us",
                median(f[X_MR_NODEFER]), "us");
    micro_print("xloop_rtt_sleeping_pinned_no_defer_taskrun_us",
                median(f[X_MR_PINNED_NODEFER]), "us");
    micro_print("xloop_rtt_busy_us", median(f[X_BUSY]), "us");
    micro_print("xloop_channel_msgs_per_s", median(f[CHAN]), "msgs/s");
    counter_sweep();
}
