/* SPDX-License-Identifier: MIT */
/*
 * stacks.c - memory of a burst of tasks: N tasks (5000) each use U KiB
 * (32) of stack and wait; then they all end.  Prints the process's RSS
 * above where it started, at the peak and after the burst, with the loop's
 * stack pool as it is (free stacks past a bound give their pages back) and
 * with a pool that keeps every free stack warm (as before that bound).
 * Output: one `name: value unit` line per figure.
 *
 *   build/bench/stacks [TASKS [KIB]]
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct burst {
    int tasks;
    size_t use;      /* bytes of stack each task touches */
    bool keep_all;   /* the pool never releases */
    long base, peak, after; /* RSS, bytes */
    struct cor__stack_stats st;
};

static long rss(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * sysconf(_SC_PAGESIZE);
}

static __attribute__((noinline)) void use_stack(size_t n)
{
    char *p = __builtin_alloca(n);
    memset(p, 1, n);
    __asm__ volatile("" : : "r"(p) : "memory");
}

static void *task(void *arg)
{
    struct burst *b = *(struct burst **)arg;
    use_stack(b->use);
    cor_event_wait(((cor_event **)arg)[1]);
    return NULL;
}

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    if (b->keep_all)
        cor__tls_loop->stacks.keep = SIZE_MAX / 4;
    cor_event *e;
    if (cor_event_create(&e) < 0)
        return NULL;
    void *ctx[2] = {b, e};
    cor_task **t = calloc((size_t)b->tasks, sizeof *t);
    b->base = rss();
    for (int i = 0; i < b->tasks; i++)
        t[i] = cor_spawn(task, ctx);
    cor_yield(); /* every task runs up to its wait */
    b->peak = rss();
    cor_event_set(e);
    for (int i = 0; i < b->tasks; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    b->after = rss();
    cor__stack_pool_stats(&cor__tls_loop->stacks, &b->st);
    free(t);
    cor_event_destroy(e);
    return NULL;
}

static double mib(long bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

int main(int argc, char **argv)
{
    int tasks = argc > 1 ? atoi(argv[1]) : 5000;
    int kib = argc > 2 ? atoi(argv[2]) : 32;
    if (tasks <= 0 || kib <= 0 || kib > 48) {
        fprintf(stderr, "usage: stacks [TASKS [KIB (1..48)]]\n");
        return 2;
    }
    cor_run_opts o = {.loops = 1, .stack_size = 64 * 1024};
    struct burst b = {.tasks = tasks, .use = (size_t)kib * 1024};
    struct burst k = b;
    k.keep_all = true;
    if (cor_run_ex(burst_main, &b, &o, NULL) < 0 ||
        cor_run_ex(burst_main, &k, &o, NULL) < 0)
        return 1;
    printf("stacks_tasks: %d tasks\n", tasks);
    printf("stacks_used_per_task: %d KiB\n", kib);
    printf("stacks_rss_peak: %.1f MiB\n", mib(b.peak - b.base));
    printf("stacks_rss_peak_per_task: %.1f KiB\n",
           (double)(b.peak - b.base) / 1024.0 / tasks);
    printf("stacks_rss_after: %.1f MiB\n", mib(b.after - b.base));
    printf("stacks_rss_after_keep_all: %.1f MiB\n", mib(k.after - k.base));
    printf("stacks_free_after: %zu stacks\n", b.st.free);
    printf("stacks_warm_after: %zu stacks\n", b.st.warm);
    printf("stacks_released: %zu stacks\n", b.st.released);
    printf("stacks_mapped_after: %.1f MiB\n", mib((long)b.st.mapped));
    return 0;
}
