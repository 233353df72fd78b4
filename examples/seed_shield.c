/* SPDX-License-Identifier: MIT */
/*
 * seed_shield - seeds 001/002f: a task behind cor_shield(); cancelling the
 * shield cancels only the outer future.  With `inner_len` 1 s (shield) the
 * task finishes with result=1 before main looks; with 2 s (shield_001) it
 * is still pending.  One source, two programs: SEED_SHIELD_001 picks.
 */
#include "seed_util.h"

#ifdef SEED_SHIELD_001
#define INNER_SECONDS 2
#define CANCEL_AFTER 1.0
#define LOOK_AFTER 0.5
#else
#define INNER_SECONDS 1
#define CANCEL_AFTER 0.2
#define LOOK_AFTER 1.0
#endif

static void *simple_task(void *arg)
{
#ifdef SEED_SHIELD_001
    printf("> task %d executing\n", IVAL(arg));
#endif
    int rc = seed_sleep(INNER_SECONDS);
    if (rc < 0)
        return cor_fail(rc, "sleep");
#ifdef SEED_SHIELD_001
    printf("> task %d done after sleep %d seconds\n", IVAL(arg), INNER_SECONDS);
    return NULL;
#else
    return arg;
#endif
}

static void *cancel_task(void *arg)
{
    int rc = seed_sleep(CANCEL_AFTER);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("cancelled: %s\n", cor_future_cancel(arg) ? "True" : "False");
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
#ifdef SEED_SHIELD_001
    printf("main coroutine started\n");
#endif
    cor_task *task = cor_spawn(simple_task, IARG(1));
    cor_future *shielded;
    int rc = task ? cor_shield(cor_task_future(task), &shielded) : -ENOMEM;
    if (rc < 0)
        return cor_fail(rc, "shield");
    cor_task *canceller = cor_spawn(cancel_task, shielded);
    if (!canceller)
        return cor_fail(-ENOMEM, "spawn");
    void *result;
    rc = cor_future_await(shielded, &result);
    if (rc == -ECANCELED)
        printf("%s was cancelled\n",
#ifdef SEED_SHIELD_001
               "shield"
#else
               "shielded"
#endif
        );
    else if (rc < 0)
        return cor_fail(rc, "await");
    else
        printf(">got: %d\n", IVAL(result));
    if ((rc = seed_sleep(LOOK_AFTER)) < 0)
        return cor_fail(rc, "sleep");
    printf("shielded: %s\n", DESCRIBE(shielded));
    printf("task: %s\n", DESCRIBE(cor_task_future(task)));
#ifdef SEED_SHIELD_001
    printf("main done\n");
#endif
    /* asyncio cancels a task still pending when main ends; do it here so
     * the shield's watch on it ends before the loop does */
    cor_task_cancel(task);
    cor_future *ft = cor_task_future(task);
    cor_wait(&ft, 1, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    cor_future_release(shielded);
    cor_task_release(task);
    cor_task_release(canceller);
    return NULL;
}

int main(void)
{
    return seed_run("seed_shield", main_task, NULL) < 0;
}
