/* SPDX-License-Identifier: MIT */
/*
 * seed_task_exception - seed 001: a task's error that nobody retrieves is
 * reported through the log hook when the task goes; cor_task_error() reads
 * it; awaiting the failing task returns it.  Three cor_run()s.
 */
#include "seed_util.h"

#include <string.h>

/*
 * asyncio's exception handler: the log hook receives
 * "Task error was never retrieved: task 'NAME' failed: ECODE('message')";
 * print it the way the seed's handler prints its context.
 */
static void handler(void *ud, const char *msg)
{
    (void)ud;
    const char *name = strchr(msg, '\'');
    const char *text = strstr(msg, "failed: ");
    text = text ? strstr(text, "('") : NULL;
    if (!name || !text) {
        fprintf(stderr, "%s\n", msg);
        return;
    }
    printf("Task exception was never retrieved\n");
    printf("future: <Task finished name='%.*s' exception=Exception%s>\n",
           (int)strcspn(name + 1, "'"), name + 1, text);
}

static void *task_coroutine(void *arg)
{
    (void)arg;
    printf("> executing the task\n");
    int rc = seed_sleep(1);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    return cor_fail(SEED_EXCEPTION, "Something went wrong");
}

static void *main_never_retrieved(void *arg)
{
    (void)arg;
    cor_set_log(handler, NULL);
    printf("main coroutine started\n");
    cor_task *task = cor_spawn(task_coroutine, NULL);
    int rc = seed_sleep(2);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("main coroutine done\n");
    cor_task_release(task); /* its error goes unread: the hook reports it */
    return NULL;
}

static void *main_exception(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *task = cor_spawn(task_coroutine, NULL);
    int rc = seed_sleep(2);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    const cor_error *ex = NULL;
    if (cor_task_error(task, &ex) == 0 && ex)
        printf("got exception: %s\n", ex->message);
    printf("main coroutine done\n");
    cor_task_release(task);
    return NULL;
}

static void *main_await(void *arg)
{
    (void)arg;
    printf("main coroutine started\n");
    cor_task *task = cor_spawn(task_coroutine, NULL);
    const cor_error *ex = NULL;
    if (cor_await(task, NULL) < 0 && cor_task_error(task, &ex) == 0 && ex)
        printf("got exception: %s\n", ex->message);
    printf("main coroutine done\n");
    cor_task_release(task);
    return NULL;
}

int main(void)
{
    printf("--- without exception() call\n");
    if (seed_run("seed_task_exception", main_never_retrieved, NULL) < 0)
        return 1;
    cor_set_log(NULL, NULL);
    printf("--- with exception()\n");
    if (seed_run("seed_task_exception", main_exception, NULL) < 0)
        return 1;
    printf("--- awaiting the failing task\n");
    return seed_run("seed_task_exception", main_await, NULL) < 0;
}
