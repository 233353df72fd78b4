/* SPDX-License-Identifier: MIT */
/*
 * seed_to_thread - seeds 001 and 002f: a task that runs a blocking function
 * with cor_to_thread().  It starts only once main suspends; in to_thread_001
 * main sleeps 1 s meanwhile and the whole takes 2 s, not 3; in
 * to_thread_002f (SEED_TO_THREAD_002F) main yields once and awaits it.
 */
#include "seed_util.h"

#ifdef SEED_TO_THREAD_002F
#define STARTING "Task starting"
#define DONE "Task done"
#define RUNNING "Main running the blocking task"
#define OTHER "Main doing other things"
#else
#define STARTING "> task starting"
#define DONE "> task done"
#define RUNNING "main running the blocking task"
#define OTHER "main doing other things"
#endif

static void *blocking_task(void *arg)
{
    (void)arg;
    printf("%s\n", STARTING);
    seed_block(2); /* on an executor thread: the loop goes on */
    printf("%s\n", DONE);
    return NULL;
}

/* asyncio.to_thread(blocking_task) as a coroutine */
static void *to_thread(void *arg)
{
    int rc = cor_to_thread(blocking_task, arg, NULL);
    return rc < 0 ? cor_fail(rc, "to_thread") : NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    printf("%s\n", RUNNING);
    cor_task *task = cor_spawn(to_thread, NULL);
    if (!task)
        return cor_fail(-ENOMEM, "spawn");
    printf("%s\n", OTHER);
#ifdef SEED_TO_THREAD_002F
    int rc = cor_yield(); /* allow the scheduled task to start */
#else
    int rc = seed_sleep(1);
#endif
    if (rc == 0)
        rc = cor_await(task, NULL);
    cor_task_release(task);
    if (rc < 0)
        return cor_fail(rc, "main");
#ifndef SEED_TO_THREAD_002F
    printf("main finished after %s seconds\n", SECS(cor_now_ns() - start, 1));
#else
    (void)start;
#endif
    return NULL;
}

int main(void)
{
    return seed_run("seed_to_thread", main_task, NULL) < 0;
}
