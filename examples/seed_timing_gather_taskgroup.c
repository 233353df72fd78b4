/* SPDX-License-Identifier: MIT */
/*
 * seed_timing_gather_taskgroup - blocking sleeps one after another, awaited
 * sleeps one after another, then the same two jobs with cor_gather and with
 * a task group: 2.0, 2.0, 1.5, 1.5 seconds (seed 000).
 */
#include "seed_util.h"

#include <time.h>

static void sync_task(double f)
{
    double s = f * seed_scale();
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void *async_task(void *arg)
{
    double f = *(double *)arg;
    int rc = seed_sleep(f);
    return rc < 0 ? cor_fail(rc, "sleep") : "bar";
}

static double half = 0.5, one_half = 1.5;

static void *main_task(void *arg)
{
    (void)arg;
    int64_t t0 = cor_now_ns();
    sync_task(0.5); /* blocks the loop: nothing else runs meanwhile */
    sync_task(1.5);
    printf("['foo', 'foo']\n");
    printf("sequential_tasks used: %s seconds.\n", SECS(cor_now_ns() - t0, 0.5));

    t0 = cor_now_ns();
    char *r1 = async_task(&half), *r2 = async_task(&one_half);
    printf("['%s', '%s']\n", r1, r2);
    printf("async_sequential_tasks used: %s seconds.\n",
           SECS(cor_now_ns() - t0, 0.5));

    t0 = cor_now_ns();
    cor_task *t[2] = {cor_spawn(async_task, &half),
                      cor_spawn(async_task, &one_half)};
    cor_future *fs[2] = {cor_task_future(t[0]), cor_task_future(t[1])};
    void *res[2] = {NULL, NULL};
    int rc = cor_gather(fs, 2, res, NULL, 0);
    if (rc < 0)
        return cor_fail(rc, "gather");
    printf("['%s', '%s']\n", (char *)res[0], (char *)res[1]);
    printf("parallel_tasks used: %s seconds.\n", SECS(cor_now_ns() - t0, 0.5));
    cor_task_release(t[0]);
    cor_task_release(t[1]);

    t0 = cor_now_ns();
    cor_group *g;
    if ((rc = cor_group_create(&g)) < 0)
        return cor_fail(rc, "group");
    cor_group_spawn(g, &t[0], async_task, &half);
    cor_group_spawn(g, &t[1], async_task, &one_half);
    rc = cor_group_join(g, NULL);
    if (rc < 0)
        return cor_fail(rc, "task group");
    cor_task_result(t[0], &res[0]);
    cor_task_result(t[1], &res[1]);
    printf("['%s', '%s']\n", (char *)res[0], (char *)res[1]);
    printf("parallel_tasks_using_task_group used: %s seconds.\n",
           SECS(cor_now_ns() - t0, 0.5));
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    cor_group_destroy(g);
    return NULL;
}

int main(void)
{
    int rc = cor_run(main_task, NULL);
    if (rc < 0)
        fprintf(stderr, "seed_timing_gather_taskgroup: %s\n", cor_strerror(rc));
    return rc < 0;
}
