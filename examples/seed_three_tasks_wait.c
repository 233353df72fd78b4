/* SPDX-License-Identifier: MIT */
/*
 * seed_three_tasks_wait - seed 002b: three tasks created on the running
 * loop, waited for with cor_wait(): they start in order and overlap (1 s).
 */
#include "seed_util.h"

static void *async_func(void *arg)
{
    const char *task_no = arg;
    printf("%s: Starting ...\n", task_no);
    int rc = seed_sleep(1);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("%s: ... Done!\n", task_no);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    static const char *names[3] = {"taskA", "taskB", "taskC"};
    cor_task *t[3];
    cor_future *fs[3];
    for (int i = 0; i < 3; i++) {
        if (!(t[i] = cor_spawn(async_func, (void *)names[i])))
            return cor_fail(-ENOMEM, "spawn");
        fs[i] = cor_task_future(t[i]);
    }
    int rc = cor_wait(fs, 3, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    if (rc < 0)
        return cor_fail(rc, "wait");
    printf("elapsed %s s\n", SECS(cor_now_ns() - start, 1));
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);
    return NULL;
}

int main(void)
{
    return seed_run("seed_three_tasks_wait", main_task, NULL) < 0;
}
