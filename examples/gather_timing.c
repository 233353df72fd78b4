/* SPDX-License-Identifier: MIT */
/*
 * gather_timing - seed 000's timing program in C: two waits of 0.5 s and
 * 1.5 s, first blocking one after the other, then awaited one after the
 * other (2.0 s both ways), then run concurrently with cor_gather and with a
 * task group (1.5 s both ways).  Prints exactly the oracle's lines.
 *
 *   ./gather_timing            TIME_SCALE=0.01 ./gather_timing (100x faster)
 */
#include "seed_util.h"

#include <time.h>

static const char *sync_task(double f)
{
    double s = f * seed_scale();
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)(fmod(s, 1.0) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) /* blocks the whole loop, on purpose */
        ;
    return "foo";
}

static void *async_task(void *arg)
{
    double f = *(double *)arg;
    int rc = seed_sleep(f);
    if (rc < 0)
        return cor_fail(rc, "sleeping %.1f s", f);
    return "bar";
}

static double half = 0.5, one_and_half = 1.5;

static void sequential_tasks(void)
{
    int64_t t0 = cor_now_ns();
    const char *r1 = sync_task(half);
    const char *r2 = sync_task(one_and_half);
    printf("['%s', '%s']\n", r1, r2);
    printf("sequential_tasks used: %s seconds.\n", SECS(cor_now_ns() - t0, 0.5));
}

static void async_sequential_tasks(void)
{
    int64_t t0 = cor_now_ns();
    const char *r1 = async_task(&half); /* a direct call is `await f()` */
    const char *r2 = async_task(&one_and_half);
    printf("['%s', '%s']\n", r1, r2);
    printf("async_sequential_tasks used: %s seconds.\n",
           SECS(cor_now_ns() - t0, 0.5));
}

/* asyncio.gather(async_task(0.5), async_task(1.5)) */
static int parallel_tasks(void)
{
    int64_t t0 = cor_now_ns();
    cor_task *t[2] = {cor_spawn(async_task, &half),
                      cor_spawn(async_task, &one_and_half)};
    cor_future *fs[2] = {t[0] ? cor_task_future(t[0]) : NULL,
                         t[1] ? cor_task_future(t[1]) : NULL};
    void *res[2] = {NULL, NULL};
    int rc = t[0] && t[1] ? cor_gather(fs, 2, res, NULL, 0) : -ENOMEM;
    for (int i = 0; i < 2; i++)
        if (t[i])
            cor_task_release(t[i]);
    if (rc < 0)
        return rc;
    printf("['%s', '%s']\n", (char *)res[0], (char *)res[1]);
    printf("parallel_tasks used: %s seconds.\n", SECS(cor_now_ns() - t0, 0.5));
    return 0;
}

/* async with asyncio.TaskGroup() as tg: tg.create_task(...) twice */
static int parallel_tasks_using_task_group(void)
{
    int64_t t0 = cor_now_ns();
    cor_group *g;
    int rc = cor_group_create(&g);
    if (rc < 0)
        return rc;
    cor_task *t[2] = {NULL, NULL};
    void *res[2] = {NULL, NULL};
    rc = cor_group_spawn(g, &t[0], async_task, &half);
    if (rc == 0)
        rc = cor_group_spawn(g, &t[1], async_task, &one_and_half);
    int jrc = cor_group_join(g, NULL); /* the end of the `async with` */
    if (rc == 0)
        rc = jrc;
    for (int i = 0; i < 2; i++) {
        if (t[i] && rc == 0)
            rc = cor_task_result(t[i], &res[i]);
        if (t[i])
            cor_task_release(t[i]);
    }
    cor_group_destroy(g);
    if (rc < 0)
        return rc;
    printf("['%s', '%s']\n", (char *)res[0], (char *)res[1]);
    printf("parallel_tasks_using_task_group used: %s seconds.\n",
           SECS(cor_now_ns() - t0, 0.5));
    return 0;
}

static void *main_task(void *arg)
{
    (void)arg;
    sequential_tasks();
    async_sequential_tasks();
    int rc = parallel_tasks();
    if (rc < 0)
        return cor_fail(rc, "parallel tasks");
    rc = parallel_tasks_using_task_group();
    if (rc < 0)
        return cor_fail(rc, "task group");
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(main_task, NULL, &o, NULL);
    if (rc < 0) {
        fprintf(stderr, "gather_timing: %s\n", cor_strerror(rc));
        return 1;
    }
    return 0;
}
