/* SPDX-License-Identifier: MIT */
/*
 * seed_wait_for_timeout - seed 002f: wait_for gives up after 0.2 s; the
 * inner task sees its cancellation (and says so) before wait_for returns.
 */
#include "seed_util.h"

static void *task_coro(void *arg)
{
    (void)arg;
    double value = 1 + 0.5;
    printf(">task got %.1f\n", value);
    int rc = seed_sleep(value);
    if (rc == -ECANCELED) {
        printf(">task cancelled\n");
        return cor_fail(rc, "cancelled"); /* re-raise */
    }
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf(">task done\n");
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    int rc = cor_wait_for_fn(task_coro, NULL, 0.2 * seed_scale(), NULL);
    if (rc == -ETIMEDOUT)
        printf("Gave up waiting, task canceled\n");
    else if (rc < 0)
        return cor_fail(rc, "wait_for");
    return NULL;
}

int main(void)
{
    return seed_run("seed_wait_for_timeout", main_task, NULL) < 0;
}
