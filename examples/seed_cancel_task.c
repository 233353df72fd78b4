/* SPDX-License-Identifier: MIT */
/*
 * seed_cancel_task - seed 002f: cancelling a running task; a moment later it
 * is cancelled.
 */
#include "seed_util.h"

static void *task_coroutine(void *arg)
{
    (void)arg;
    printf("executing the task\n");
    int rc = seed_sleep(1);
    return rc < 0 ? cor_fail(rc, "sleep") : NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *task = cor_spawn(task_coroutine, NULL);
    if (!task)
        return cor_fail(-ENOMEM, "spawn");
    int rc = seed_sleep(0.1);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("was canceled: %s\n", cor_task_cancel(task) ? "True" : "False");
    if ((rc = seed_sleep(0.1)) < 0)
        return cor_fail(rc, "sleep");
    printf("canceled: %s\n", cor_task_cancelled(task) ? "True" : "False");
    printf("main coroutine done\n");
    cor_task_release(task);
    return NULL;
}

int main(void)
{
    return seed_run("seed_cancel_task", main_task, NULL) < 0;
}
