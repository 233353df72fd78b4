/* SPDX-License-Identifier: MIT */
/*
 * seed_gather_many - seeds 001/002f: gather of ten coroutines; each starts
 * in order, all sleep 2 s together, results in input order.
 */
#include "seed_util.h"

static void *task_coroutine(void *arg)
{
    int index = IVAL(arg);
    printf("> task %d executing\n", index);
    int rc = seed_sleep(2);
    return rc < 0 ? cor_fail(rc, "sleep") : IARG(index * index);
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    printf("main coroutine started\n");
    void *args[10], *results[10];
    for (int i = 0; i < 10; i++)
        args[i] = IARG(i);
    int rc = seed_gather(task_coroutine, args, 10, results);
    if (rc < 0)
        return cor_fail(rc, "gather");
    printf("results: [");
    for (int i = 0; i < 10; i++)
        printf("%s%d", i ? ", " : "", IVAL(results[i]));
    printf("]\n");
    printf("main done after %s seconds\n", SECS(cor_now_ns() - start, 1));
    return NULL;
}

int main(void)
{
    return seed_run("seed_gather_many", main_task, NULL) < 0;
}
