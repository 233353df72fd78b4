/* SPDX-License-Identifier: MIT */
/*
 * seed_all_tasks - seeds 001/002f: cor_all_tasks() lists main (Task-1) and
 * the ten tasks it started; once they are awaited only main is left.
 */
#include "seed_util.h"

#include <string.h>

static void *task_coroutine(void *arg)
{
    printf("task %d is running\n", IVAL(arg));
    int rc = seed_sleep(2);
    return rc < 0 ? cor_fail(rc, "sleep") : NULL;
}

static void *main_task(void *arg);

static const char *coro_name(const cor_task *t)
{
    return cor_task_fn(t) == main_task ? "main" : "task_coroutine";
}

static int by_number(const void *a, const void *b)
{
    int x = atoi(strchr(cor_task_name(*(cor_task *const *)a), '-') + 1);
    int y = atoi(strchr(cor_task_name(*(cor_task *const *)b), '-') + 1);
    return (x > y) - (x < y);
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *started[10];
    for (int i = 0; i < 10; i++)
        if (!(started[i] = cor_spawn(task_coroutine, IARG(i))))
            return cor_fail(-ENOMEM, "spawn");
    int rc = seed_sleep(1); /* allow the tasks time to start */
    if (rc < 0)
        return cor_fail(rc, "sleep");
    cor_task *tasks[16];
    size_t n = cor_all_tasks(tasks, 16);
    qsort(tasks, n, sizeof tasks[0], by_number);
    for (size_t i = 0; i < n; i++)
        printf("> %s, %s()\n", cor_task_name(tasks[i]), coro_name(tasks[i]));
    for (int i = 0; i < 10; i++) {
        if ((rc = cor_await(started[i], NULL)) < 0)
            return cor_fail(rc, "await");
        cor_task_release(started[i]);
    }
    n = cor_all_tasks(tasks, 16);
    printf("main coroutine done; all_tasks() now: [");
    for (size_t i = 0; i < n; i++)
        printf("%s'%s'", i ? ", " : "", cor_task_name(tasks[i]));
    printf("]\n");
    return NULL;
}

int main(void)
{
    return seed_run("seed_all_tasks", main_task, NULL) < 0;
}
