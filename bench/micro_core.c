/* SPDX-License-Identifier: MIT */
/*
 * micro_core.c - the core's figures: the raw stack switch, spawn+join of an
 * empty task, a yield round, the memory of an idle coroutine, and a million
 * concurrent sleeping coroutines (in a child process, so that its peak RSS is
 * its own).
 */
#include "ctx.h"
#include "internal.h"
#include "micro.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------- raw switch ---- */

static void *sw_main_sp, *sw_co_sp;
static long sw_left;

static void sw_entry(void *arg)
{
    (void)arg;
    for (;;) {
        sw_left--;
        cor__ctx_switch(&sw_co_sp, sw_main_sp);
    }
}

static double bench_switch(void)
{
    size_t sz = 64 * 1024;
    char *stk = malloc(sz);
    sw_co_sp = cor__ctx_make(stk + sz, sw_entry, NULL);
    long n = 20 * 1000 * 1000;
    sw_left = n;
    int64_t t0 = micro_now_ns();
    while (sw_left > 0)
        cor__ctx_switch(&sw_main_sp, sw_co_sp);
    int64_t t1 = micro_now_ns();
    free(stk);
    return (double)(t1 - t0) / (double)(2 * n); /* two switches a round */
}

/* --------------------------------------------------------- in a loop ---- */

static void *empty(void *arg)
{
    return arg;
}

static double spawn_join_ns, yield_ns;

static void *spawn_join_main(void *arg)
{
    (void)arg;
    long n = 1000 * 1000;
    for (int warm = 0; warm < 1000; warm++) {
        cor_task *t = cor_spawn(empty, NULL);
        cor_await(t, NULL);
        cor_task_release(t);
    }
    int64_t t0 = micro_now_ns();
    for (long i = 0; i < n; i++) {
        cor_task *t = cor_spawn(empty, NULL);
        cor_await(t, NULL);
        cor_task_release(t);
    }
    spawn_join_ns = (double)(micro_now_ns() - t0) / (double)n;

    n = 10 * 1000 * 1000;
    t0 = micro_now_ns();
    for (long i = 0; i < n; i++)
        cor_yield();
    yield_ns = (double)(micro_now_ns() - t0) / (double)n;
    return NULL;
}

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

static long hwm_kib(void)
{
    char line[256];
    long v = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

static void *sleepy(void *arg)
{
    cor_sleep(*(double *)arg);
    return NULL;
}

struct many {
    long n;
    double sleep_s;
    long rss_before, rss_parked;
};

/* Spawn n sleeping tasks, measure memory once all are parked, join them. */
static void *many_main(void *arg)
{
    struct many *m = arg;
    cor_task **t = malloc((size_t)m->n * sizeof *t);
    if (!t)
        return cor_fail(-ENOMEM, "handles");
    m->rss_before = rss_bytes();
    for (long i = 0; i < m->n; i++) {
        t[i] = cor_spawn(sleepy, &m->sleep_s);
        if (!t[i])
            return cor_fail(-ENOMEM, "spawn %ld", i);
    }
    cor_yield(); /* every task runs once and parks on its timer */
    m->rss_parked = rss_bytes();
    for (long i = 0; i < m->n; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    free(t);
    return NULL;
}

static void bench_idle_rss(void)
{
    struct many m = {.n = 100000, .sleep_s = 0.2};
    cor_run_opts o = {.loops = 1};
    if (cor_run_ex(many_main, &m, &o, NULL) == 0)
        micro_print("idle_coroutine_rss_bytes",
                    (double)(m.rss_parked - m.rss_before) / (double)m.n,
                    "B");
}

static void bench_million(void)
{
    int fd[2];
    if (pipe(fd) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        struct many m = {.n = 1000000, .sleep_s = 0.5};
        cor_run_opts o = {.loops = 1};
        int64_t t0 = micro_now_ns();
        int rc = cor_run_ex(many_main, &m, &o, NULL);
        double s = (double)(micro_now_ns() - t0) / 1e9;
        double r[3] = {rc, s, (double)hwm_kib() / 1024.0};
        ssize_t w = write(fd[1], r, sizeof r);
        _exit(w == sizeof r ? 0 : 1);
    }
    close(fd[1]);
    double r[3];
    ssize_t got = read(fd[0], r, sizeof r);
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (got != sizeof r || r[0] != 0) {
        fprintf(stderr, "million coroutines failed: %s\n",
                got == sizeof r ? cor_strerror((int)r[0]) : "child died");
        return;
    }
    micro_print("million_coroutines_s", r[1], "s");
    micro_print("million_peak_rss_mib", r[2], "MiB");
}

void micro_core(void)
{
    micro_print("switch_ns", bench_switch(), "ns");
    cor_run_opts o = {.loops = 1};
    if (cor_run_ex(spawn_join_main, NULL, &o, NULL) == 0) {
        micro_print("spawn_join_ns", spawn_join_ns, "ns");
        micro_print("yield_ns", yield_ns, "ns");
    }
    bench_idle_rss();
    bench_million();
}
