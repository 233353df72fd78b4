/* SPDX-License-Identifier: MIT */
/*
 * seed_wait_for_001 - seed 001 (its error corrected): wait_for with a 3 s
 * limit on a 2 s coroutine completes.
 */
#include "seed_util.h"

static void *task_coroutine(void *arg)
{
    int index = IVAL(arg);
    printf("> task %d executing\n", index);
    int rc = seed_sleep(2);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("> task %d done after sleep %d seconds\n", index, 2);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    int rc = cor_wait_for_fn(task_coroutine, IARG(1), 3 * seed_scale(), NULL);
    if (rc == -ETIMEDOUT)
        printf("main gave up waiting , task cancelled\n");
    else if (rc < 0)
        return cor_fail(rc, "wait_for");
    else
        printf("main done\n");
    return NULL;
}

int main(void)
{
    return seed_run("seed_wait_for_001", main_task, NULL) < 0;
}
