/* SPDX-License-Identifier: MIT */
/*
 * scaling.c - build/bench/scaling: one CPU-light coroutine workload (many
 * coroutines, short timers, in-loop handoffs through futures; no cross-loop
 * traffic in the hot path) run on 1 loop and on N loops, each loop doing the
 * same share.  Prints the throughput of each and scaling_ratio for the
 * largest N.  Usage: scaling [max_loops] (default: online cores).
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
    cor_future *ping[ROUNDS];
};

/* Waits for each ping and sets the next one: a handoff between two tasks
 * of one loop. */
static void *ponger(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (cor_future_await(p->ping[i], NULL) != 0)
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
        cor_future_set_result(p->ping[i], NULL);
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
        for (int r = 0; r < ROUNDS; r++)
            cor_future_create(&pairs[i].ping[r]);
        t[2 * i] = cor_spawn(ponger, &pairs[i]);
        t[2 * i + 1] = cor_spawn(pinger, &pairs[i]);
    }
    for (int i = 0; i < 2 * PAIRS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    for (int i = 0; i < PAIRS; i++)
        for (int r = 0; r < ROUNDS; r++)
            cor_future_release(pairs[i].ping[r]);
    free(pairs);
}

static void *shard(void *arg)
{
    (void)arg;
    for (int e = 0; e < EPOCHS; e++)
        shard_once();
    return NULL;
}

static double elapsed;

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

/* Handoffs per second with `loops` loops (best of 3). */
static double throughput(int loops)
{
    double best = 0;
    for (int r = 0; r < 3; r++) {
        cor_run_opts o = {.loops = loops, .pin = true};
        if (cor_run_ex(bench_main, NULL, &o, NULL) != 0)
            return 0;
        double ops = (double)loops * EPOCHS * PAIRS * ROUNDS / elapsed;
        best = ops > best ? ops : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int max = argc > 1 ? atoi(argv[1]) : (int)(cores > 0 ? cores : 1);
    if (max < 1)
        max = 1;
    double one = throughput(1);
    printf("loops_1_handoffs_per_s: %.0f handoffs/s\n", one);
    double last = one;
    for (int n = 2; n <= max; n *= 2) {
        last = throughput(n);
        printf("loops_%d_handoffs_per_s: %.0f handoffs/s\n", n, last);
    }
    if (max > 1 && (max & (max - 1))) { /* not a power of two: run max too */
        last = throughput(max);
        printf("loops_%d_handoffs_per_s: %.0f handoffs/s\n", max, last);
    }
    printf("scaling_ratio: %.2f (loops=%d)\n", one > 0 ? last / one : 0,
           max);
    return 0;
}
