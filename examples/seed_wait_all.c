/* SPDX-License-Identifier: MIT */
/*
 * seed_wait_all - seeds 001/002f: cor_wait() for ten tasks with fixed delays
 * (the oracle's, in place of random ones); they end in completion order.
 */
#include "seed_util.h"

static const double values[10] = {0.3, 0.8, 0.1, 0.6, 0.9,
                                  0.2, 0.7, 1.0, 0.4, 0.5};

static void *task_coroutine(void *arg)
{
    int index = IVAL(arg);
    printf("> task %d executing\n", index);
    int rc = seed_sleep(values[index]);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("> task %d done after sleep %.1f seconds\n", index, values[index]);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *tasks[10];
    cor_future *fs[10];
    for (int i = 0; i < 10; i++) {
        if (!(tasks[i] = cor_spawn(task_coroutine, IARG(i))))
            return cor_fail(-ENOMEM, "spawn");
        fs[i] = cor_task_future(tasks[i]);
    }
    int done = cor_wait(fs, 10, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    if (done < 0)
        return cor_fail(done, "wait");
    printf("done: %d pending: %d\n", done, 10 - done);
    printf("main done\n");
    for (int i = 0; i < 10; i++)
        cor_task_release(tasks[i]);
    return NULL;
}

int main(void)
{
    return seed_run("seed_wait_all", main_task, NULL) < 0;
}
