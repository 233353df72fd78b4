/* SPDX-License-Identifier: MIT */
/*
 * micro_executor.c - the executor and cross-loop figures, each beside the
 * floor measured in the same run: wake_floor_us, a round trip between two
 * plain threads over two eventfds (two sleeping wakeups).  Also libuv's
 * uv_queue_work on the same 10k-job batch when libuv is there.
 */
#include "internal.h"
#include "micro.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#ifdef HAVE_LIBUV
#include <uv.h>
#endif

#define RTT_N 20000
#define JOBS 10000
#ifndef POOL
#define POOL 4 /* libuv's default pool size, for a like-for-like batch */
#endif

/* ------------------------------------------------------ wake floor ---- */

static int efd_ping, efd_pong;

static void *pong_thread(void *arg)
{
    (void)arg;
    uint64_t v;
    for (int i = 0; i < RTT_N; i++) {
        if (read(efd_ping, &v, sizeof v) != sizeof v)
            break;
        v = 1;
        if (write(efd_pong, &v, sizeof v) != sizeof v)
            break;
    }
    return NULL;
}

static double wake_floor_us(void)
{
    efd_ping = eventfd(0, EFD_CLOEXEC);
    efd_pong = eventfd(0, EFD_CLOEXEC);
    pthread_t th;
    pthread_create(&th, NULL, pong_thread, NULL);
    uint64_t v = 1;
    int64_t t0 = micro_now_ns();
    for (int i = 0; i < RTT_N; i++) {
        v = 1;
        if (write(efd_ping, &v, sizeof v) != sizeof v ||
            read(efd_pong, &v, sizeof v) != sizeof v)
            break;
    }
    int64_t dt = micro_now_ns() - t0;
    pthread_join(th, NULL);
    close(efd_ping);
    close(efd_pong);
    return dt / 1e3 / RTT_N;
}

/* ------------------------------------------------------- to_thread ---- */

static void *nothing(void *arg)
{
    return arg;
}

static double result_value;

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
    double best = 0;
    for (int round = 0; round < 3; round++) {
        uv_done = 0;
        int64_t t0 = micro_now_ns();
        for (int i = 0; i < JOBS; i++)
            uv_queue_work(&loop, &reqs[i], uv_work, uv_after);
        uv_run(&loop, UV_RUN_DEFAULT);
        double r = JOBS / ((micro_now_ns() - t0) / 1e9);
        if (uv_done == JOBS && r > best)
            best = r;
    }
    free(reqs);
    uv_loop_close(&loop);
    return best;
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

static double run(cor_fn *fn, void *arg, int loops)
{
    cor_run_opts o = {.loops = loops, .pin = true};
    result_value = 0;
    if (cor_run_ex(fn, arg, &o, NULL) != 0)
        return -1;
    return result_value;
}

void micro_executor(void)
{
    double floor = wake_floor_us();
    micro_print("wake_floor_us", floor, "us");
    double rtt = run(rtt_main, NULL, 1);
    micro_print("to_thread_rtt_us", rtt, "us");
    micro_print("to_thread_rtt_vs_floor", rtt / floor, "x");

    cor_executor_opts eo = {.queue_cap = JOBS, .max_threads = POOL};
    cor_executor_configure(&eo);
    double best = 0;
    for (int round = 0; round < 3; round++) {
        double r = run(batch_main, NULL, 1);
        best = r > best ? r : best;
    }
    cor_executor_configure(NULL);
    micro_print("to_thread_jobs_per_s", best, "jobs/s");
#ifdef HAVE_LIBUV
    double uv = uv_jobs_per_s();
    micro_print("uv_queue_work_jobs_per_s", uv, "jobs/s");
    micro_print("to_thread_jobs_vs_uv", best / uv, "x");
#endif

    atomic_store(&cor__wake_msgring, false);
    double efd = run(xrtt_main, (void *)(intptr_t)RTT_N, 2);
    atomic_store(&cor__wake_msgring, true);
    double mr = run(xrtt_main, (void *)(intptr_t)RTT_N, 2);
    micro_print("xloop_rtt_sleeping_eventfd_us", efd, "us");
    micro_print("xloop_rtt_sleeping_msgring_us", mr, "us");
    micro_print("xloop_rtt_sleeping_us", mr < efd ? mr : efd, "us");
    micro_print("xloop_rtt_sleeping_vs_floor", (mr < efd ? mr : efd) / floor,
                "x");
    micro_print("xloop_rtt_busy_us", run(xrtt_busy_main,
                                         (void *)(intptr_t)(RTT_N * 5), 2),
                "us");
    micro_print("xloop_channel_msgs_per_s", run(chan_main, NULL, 2),
                "msgs/s");
}
