/* SPDX-License-Identifier: MIT */
/*
 * seed_fun1_fun2 - seed 002a examples 2.2/4.3: two 3 s coroutines as tasks
 * overlap (3 s); called directly, as bare coroutines are awaited, they run
 * one after the other (6 s).
 */
#include "seed_util.h"

static void *fun1(void *arg)
{
    int x = IVAL(arg);
    printf("%d\n", x * x);
    int rc = seed_sleep(3);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("fun1 finished\n");
    return NULL;
}

static void *fun2(void *arg)
{
    int x = IVAL(arg);
    printf("%.1f\n", sqrt(x));
    int rc = seed_sleep(3);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("fun2 finished\n");
    return NULL;
}

static void *main_tasks(void *arg)
{
    (void)arg;
    cor_task *t1 = cor_spawn(fun1, IARG(4));
    cor_task *t2 = cor_spawn(fun2, IARG(4));
    int rc = t1 && t2 ? cor_await(t1, NULL) : -ENOMEM;
    if (rc == 0)
        rc = cor_await(t2, NULL);
    if (t1)
        cor_task_release(t1);
    if (t2)
        cor_task_release(t2);
    return rc < 0 ? cor_fail(rc, "main_tasks") : NULL;
}

static void *main_coroutines(void *arg)
{
    (void)arg;
    fun1(IARG(4));
    fun2(IARG(4));
    return NULL;
}

int main(void)
{
    struct { const char *name; cor_fn *fn; } mains[] = {
        {"main_tasks", main_tasks}, {"main_coroutines", main_coroutines}};
    for (int i = 0; i < 2; i++) {
        printf("--- %s\n", mains[i].name);
        int64_t start = cor_now_ns();
        if (seed_run("seed_fun1_fun2", mains[i].fn, NULL) < 0)
            return 1;
        printf("elapsed %s s\n", SECS(cor_now_ns() - start, 1));
    }
    return 0;
}
