/* SPDX-License-Identifier: MIT */
/*
 * scaling.c - build/bench/scaling: one CPU-light coroutine workload (many
 * coroutines, short timers, in-loop handoffs through futures; no cross-loop
 * traffic in the hot path) run on 1 loop and on N loops, each loop doing the
 * same share.  Prints the throughput of each and scaling_ratio for the
 * largest N, and for each N the CPU share its loops got (their thread CPU
 * time over N x wall time): below 1, other processes took CPU time from
 * them, which the ratio then includes.  Usage: scaling [max_loops]
 * (default: online cores).
 */
#include "coring.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 200      /* handoff pairs per loop */
#define ROUNDS 400     /* handoffs per pair */
#define SLEEP_EVERY 50 /* a short timer every this many handoffs */
#define EPOCHS 12      /* the whole share again, with fresh tasks */

struct pair {
    cor_future *f; /* the ponger's current future, NULL between rounds */
};

/* Hands the pinger a fresh future and waits for it: a handoff between two
 * tasks of one loop.  One future per pair is alive at a time, so the
 * working set stays small (many loops do not fight over the shared cache
 * for it). */
static void *ponger(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < ROUNDS; i++) {
        cor_future *f;
        if (cor_future_create(&f) != 0)
            return NULL;
        p->f = f;
        int rc = cor_future_await(f, NULL);
        cor_future_release(f);
        if (rc != 0)
            return NULL;
        if (i % SLEEP_EVERY == 0)
            cor_sleep_ns(1000);
    }
    return NULL;
}

static void *pinger(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < ROUNDS; i++) {
        while (!p->f)
            if (cor_yield() != 0)
                return NULL;
        cor_future *f = p->f;
        p->f = NULL;
        cor_future_set_result(f, NULL);
        cor_yield();
    }
    return NULL;
}

/* One loop's share: PAIRS pairs, all on this loop. */
static void shard_once(void)
{
    struct pair *pairs = calloc(PAIRS, sizeof *pairs);
    cor_task *t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        t[2 * i] = cor_spawn(ponger, &pairs[i]);
        t[2 * i + 1] = cor_spawn(pinger, &pairs[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    free(pairs);
}

static double elapsed;
static double cpu_s[1024]; /* per loop: thread CPU time of its shard */

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *shard(void *arg)
{
    (void)arg;
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int e = 0; e < EPOCHS; e++)
        shard_once();
    cpu_s[cor_loop_index() % 1024] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    return NULL;
}

static void *bench_main(void *arg)
{
    (void)arg;
    int n = cor_loop_count();
    cor_task **t = calloc((size_t)n, sizeof *t);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++)
        t[i] = cor_spawn_on(i, shard, NULL);
    for (int i = 0; i < n; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    elapsed = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    free(t);
    return NULL;
}

/* Handoffs per second with `loops` loops (best of 3), and the CPU share
 * of that run. */
static double throughput(int loops, double *share)
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        cor_run_opts o = {.loops = loops, .pin = COR_PIN_ALWAYS};
        if (cor_run_ex(bench_main, NULL, &o, NULL) != 0)
            return 0;
        double ops = (double)loops * EPOCHS * PAIRS * ROUNDS / elapsed;
        if (ops > best) {
            best = ops;
            double cpu = 0;
            for (int i = 0; i < loops && i < 1024; i++)
                cpu += cpu_s[i];
            *share = cpu / (loops * elapsed);
        }
    }
    return best;
}

static void report(int n, double ops, double share)
{
    printf("loops_%d_handoffs_per_s: %.0f handoffs/s\n", n, ops);
    printf("loops_%d_cpu_share: %.2f x\n", n, share);
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int max = argc > 1 ? atoi(argv[1]) : (int)(cores > 0 ? cores : 1);
    if (max < 1)
        max = 1;
    double share = 0;
    double one = throughput(1, &share);
    report(1, one, share);
    double last = one;
    for (int n = 2; n <= max; n *= 2) {
        last = throughput(n, &share);
        report(n, last, share);
    }
    if (max > 1 && (max & (max - 1))) { /* not a power of two: run max too */
        last = throughput(max, &share);
        report(max, last, share);
    }
    printf("scaling_ratio: %.2f (loops=%d)\n", one > 0 ? last / one : 0,
           max);
    return 0;
}
