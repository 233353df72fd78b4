/* SPDX-License-Identifier: MIT */
/*
 * seed_run_in_executor - seed 001: cor_executor_submit() starts the job at
 * once; main awaits its future (2 s), then sleeps 10 s: 12 s.
 */
#include "seed_util.h"

static void *blocking_task(void *arg)
{
    (void)arg;
    printf("> task starting\n");
    seed_block(2);
    printf("> task done\n");
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    printf("main running the blocking task\n");
    cor_future *f;
    int rc = cor_executor_submit(blocking_task, NULL, NULL, NULL, &f);
    if (rc < 0)
        return cor_fail(rc, "submit");
    rc = cor_future_await(f, NULL);
    cor_future_release(f);
    if (rc < 0)
        return cor_fail(rc, "run_in_executor");
    printf("main doing other things\n");
    if ((rc = seed_sleep(10)) < 0)
        return cor_fail(rc, "sleep");
    printf("main finished after %s seconds\n", SECS(cor_now_ns() - start, 1));
    return NULL;
}

int main(void)
{
    return seed_run("seed_run_in_executor", main_task, NULL) < 0;
}
