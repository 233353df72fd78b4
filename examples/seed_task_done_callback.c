/* SPDX-License-Identifier: MIT */
/*
 * seed_task_done_callback - seed 001: a spawned task runs only once main
 * suspends; its done callback runs when it ends, before main resumes.
 */
#include "seed_util.h"

static void callback(cor_task *task, void *ud)
{
    (void)ud;
    printf("this is a callback of %s\n", DESCRIBE(cor_task_future(task)));
}

static void *task_coroutine(void *arg)
{
    (void)arg;
    printf("execute the task\n");
    int rc = seed_sleep(2);
    return rc < 0 ? cor_fail(rc, "sleep") : NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *task = cor_spawn(task_coroutine, NULL);
    int rc = task ? cor_task_on_done(task, callback, NULL) : -ENOMEM;
    if (rc < 0)
        return cor_fail(rc, "spawn");
    printf("task created: %s\n", DESCRIBE(cor_task_future(task)));
    if ((rc = cor_await(task, NULL)) < 0)
        return cor_fail(rc, "await");
    printf("main coroutine done\n");
    cor_task_release(task);
    return NULL;
}

int main(void)
{
    return seed_run("seed_task_done_callback", main_task, NULL) < 0;
}
