/* SPDX-License-Identifier: MIT */
/*
 * seed_current_task - seed 002f: cor_current_task() in main is Task-1,
 * pending while it runs.
 */
#include "seed_util.h"

static void *main_task(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *task = cor_current_task();
    printf("<Task %s name='%s' coro=<%s() running>>\n",
           cor_task_done(task) ? "finished" : "pending", cor_task_name(task),
           cor_task_fn(task) == main_task ? "main" : "?");
    return NULL;
}

int main(void)
{
    return seed_run("seed_current_task", main_task, NULL) < 0;
}
