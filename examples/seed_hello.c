/* SPDX-License-Identifier: MIT */
/*
 * seed_hello - seeds 000/004: awaiting a coroutine that returns 42, then a
 * second cor_run() printing Hello ... World a second apart.
 */
#include "seed_util.h"

static void *task1(void *arg)
{
    (void)arg;
    int rc = seed_sleep(2);
    return rc < 0 ? cor_fail(rc, "sleep") : IARG(42);
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("%d\n", IVAL(task1(NULL))); /* rst = await task1() */
    return NULL;
}

static void *say_hello(void *arg)
{
    (void)arg;
    printf("Hello\n");
    int rc = seed_sleep(1);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("World\n");
    return NULL;
}

int main(void)
{
    if (seed_run("seed_hello", main_task, NULL) < 0)
        return 1;
    return seed_run("seed_hello", say_hello, NULL) < 0;
}
