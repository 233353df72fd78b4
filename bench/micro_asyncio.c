/* SPDX-License-Identifier: MIT */
/*
 * micro_asyncio.c - the asyncio model's figures: a queue ping-pong round
 * trip between two tasks of one loop, an uncontended lock acquire+release,
 * and a gather of 10k freshly spawned tasks (spawn + gather + release).
 */
#include "coring.h"
#include "micro.h"

#include <stdlib.h>

static double pingpong_ns, lock_ns, gather_us;

struct pp {
    cor_queue *to, *from;
    long n;
};

static void *ponger(void *arg)
{
    struct pp *p = arg;
    void *item;
    for (long i = 0; i < p->n; i++) {
        cor_queue_get(p->to, &item);
        cor_queue_put(p->from, item);
    }
    return NULL;
}

static void bench_pingpong(void)
{
    struct pp p;
    cor_queue_create(&p.to, NULL);
    cor_queue_create(&p.from, NULL);
    long warm = 10000, n = 2 * 1000 * 1000;
    p.n = warm + n;
    cor_task *t = cor_spawn(ponger, &p);
    void *item;
    int64_t t0 = 0;
    for (long i = 0; i < warm + n; i++) {
        if (i == warm)
            t0 = micro_now_ns();
        cor_queue_put(p.to, (void *)i);
        cor_queue_get(p.from, &item);
    }
    pingpong_ns = (double)(micro_now_ns() - t0) / (double)n;
    cor_await(t, NULL);
    cor_task_release(t);
    cor_queue_destroy(p.to);
    cor_queue_destroy(p.from);
}

static void bench_lock(void)
{
    cor_lock *l;
    cor_lock_create(&l);
    long n = 20 * 1000 * 1000;
    int64_t t0 = micro_now_ns();
    for (long i = 0; i < n; i++) {
        cor_lock_acquire(l);
        cor_lock_release(l);
    }
    lock_ns = (double)(micro_now_ns() - t0) / (double)n;
    cor_lock_destroy(l);
}

static void *empty(void *arg)
{
    return arg;
}

static void bench_gather(void)
{
    enum { N = 10000, ROUNDS = 20 };
    cor_task **t = malloc(N * sizeof *t);
    cor_future **fs = malloc(N * sizeof *fs);
    double best = 1e30;
    for (int r = 0; r < ROUNDS; r++) {
        int64_t t0 = micro_now_ns();
        for (int i = 0; i < N; i++) {
            t[i] = cor_spawn(empty, NULL);
            fs[i] = cor_task_future(t[i]);
        }
        cor_gather(fs, N, NULL, NULL, 0);
        for (int i = 0; i < N; i++)
            cor_task_release(t[i]);
        double us = (double)(micro_now_ns() - t0) / 1e3;
        if (us < best)
            best = us;
    }
    gather_us = best;
    free(t);
    free(fs);
}

static void *asyncio_main(void *arg)
{
    (void)arg;
    bench_pingpong();
    bench_lock();
    bench_gather();
    return NULL;
}

void micro_asyncio(void)
{
    cor_run_opts o = {.loops = 1};
    if (cor_run_ex(asyncio_main, NULL, &o, NULL) != 0)
        return;
    micro_print("queue_pingpong_ns", pingpong_ns, "ns");
    micro_print("lock_uncontended_ns", lock_ns, "ns");
    micro_print("gather_10k_tasks_us", gather_us, "us");
}
