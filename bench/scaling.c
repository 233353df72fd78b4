/* SPDX-License-Identifier: MIT */
/*
 * scaling.c - build/bench/scaling: one CPU-light coroutine workload (many
 * coroutines, short timers, in-loop handoffs through futures; no cross-loop
 * traffic in the hot path) run on 1 loop and on N loops, each loop doing the
 * same share.  Prints the throughput of each and scaling_ratio for the
 * largest N, and for each N the CPU share its loops got (their thread CPU
 * time over N x wall time): below 1, other processes took CPU time from
 * them, which the ratio then includes.  Where the rest of the wall time
 * went: done_early_share (loops that had finished while others still ran,
 * the run's imbalance), voluntary_switches (a loop waited in the kernel)
 * and involuntary_switches (the scheduler gave its CPU to another thread)
 * per loop.  Usage: scaling [max_loops] (default: online cores).
 */
#include "coring.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
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
/* Per loop, for the run just done: its shard's thread CPU time, its
 * context switches (voluntary: the loop waited in the kernel; involuntary:
 * something else was given its CPU) and when it finished, from the start. */
#define MAXL 1024
static double cpu_s[MAXL];
static long vcsw[MAXL], ivcsw[MAXL];
static double done_at[MAXL];
static struct timespec t_start;

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double since_start(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t_start.tv_sec) + (now.tv_nsec - t_start.tv_nsec) / 1e9;
}

static void *shard(void *arg)
{
    (void)arg;
    int i = cor_loop_index() % MAXL;
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int e = 0; e < EPOCHS; e++)
        shard_once();
    cpu_s[i] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
    getrusage(RUSAGE_THREAD, &r1);
    vcsw[i] = r1.ru_nvcsw - r0.ru_nvcsw;
    ivcsw[i] = r1.ru_nivcsw - r0.ru_nivcsw;
    done_at[i] = since_start();
    return NULL;
}

static void *bench_main(void *arg)
{
    (void)arg;
    int n = cor_loop_count();
    cor_task **t = calloc((size_t)n, sizeof *t);
    clock_gettime(CLOCK_MONOTONIC, &t_start);
    for (int i = 0; i < n; i++)
        t[i] = cor_spawn_on(i, shard, NULL);
    for (int i = 0; i < n; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    elapsed = since_start();
    free(t);
    return NULL;
}

/* Where the wall time of a run went, beyond the loops' own CPU time. */
struct run_stats {
    double ops;      /* handoffs per second */
    double share;    /* the loops' CPU time over loops x wall time */
    double idle;     /* wall time after a loop finished while others ran,
                        summed over loops, over loops x wall time */
    double vcsw;     /* voluntary context switches per loop */
    double ivcsw;    /* involuntary ones per loop (CPU given to another) */
};

/* Handoffs per second with `loops` loops (best of 3), and where the wall
 * time of that run went. */
static struct run_stats throughput(int loops)
{
    struct run_stats best = {0};
    int n = loops < MAXL ? loops : MAXL;
    for (int r = 0; r < 3; r++) {
        cor_run_opts o = {.loops = loops, .pin = COR_PIN_ALWAYS};
        if (cor_run_ex(bench_main, NULL, &o, NULL) != 0)
            return best;
        double ops = (double)loops * EPOCHS * PAIRS * ROUNDS / elapsed;
        if (ops <= best.ops)
            continue;
        struct run_stats s = {.ops = ops};
        for (int i = 0; i < n; i++) {
            s.share += cpu_s[i];
            s.idle += elapsed - done_at[i];
            s.vcsw += vcsw[i];
            s.ivcsw += ivcsw[i];
        }
        s.share /= n * elapsed;
        s.idle /= n * elapsed;
        s.vcsw /= n;
        s.ivcsw /= n;
        best = s;
    }
    return best;
}

static void report(int n, struct run_stats s)
{
    printf("loops_%d_handoffs_per_s: %.0f handoffs/s\n", n, s.ops);
    printf("loops_%d_cpu_share: %.2f x\n", n, s.share);
    printf("loops_%d_done_early_share: %.3f x\n", n, s.idle);
    printf("loops_%d_voluntary_switches: %.1f per loop\n", n, s.vcsw);
    printf("loops_%d_involuntary_switches: %.1f per loop\n", n, s.ivcsw);
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int max = argc > 1 ? atoi(argv[1]) : (int)(cores > 0 ? cores : 1);
    if (max < 1)
        max = 1;
    struct run_stats s = throughput(1);
    report(1, s);
    double one = s.ops, last = one;
    for (int n = 2; n <= max; n *= 2) {
        s = throughput(n);
        report(n, s);
        last = s.ops;
    }
    if (max > 1 && (max & (max - 1))) { /* not a power of two: run max too */
        s = throughput(max);
        report(max, s);
        last = s.ops;
    }
    printf("scaling_ratio: %.2f (loops=%d)\n", one > 0 ? last / one : 0,
           max);
    return 0;
}
