/* SPDX-License-Identifier: MIT */
/*
 * gather_timing - seed 000's timing program in C: two waits of 0.5 s and
 * 1.5 s, first blocking one after the other, then awaited one after the
 * other (2.0 s both ways), then run concurrently as two tasks (1.5 s).
 *
 *   ./gather_timing            TIME_SCALE=0.01 ./gather_timing (100x faster)
 */
#include <coring.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double scale = 1.0;

/* Seed seconds, floored to a 0.5 s grid as the oracle prints them. */
static double secs(int64_t ns)
{
    const double grid = 0.5;
    return floor((double)ns / 1e9 / scale / grid + 0.05) * grid;
}

static const char *sync_task(double f)
{
    struct timespec ts = {.tv_sec = (time_t)(f * scale),
                          .tv_nsec = (long)(fmod(f * scale, 1.0) * 1e9)};
    nanosleep(&ts, NULL); /* blocks the whole loop, on purpose */
    return "foo";
}

static void *async_task(void *arg)
{
    double f = *(double *)arg;
    int rc = cor_sleep(f * scale);
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
    printf("sequential_tasks used: %.1f seconds.\n", secs(cor_now_ns() - t0));
}

static void async_sequential_tasks(void)
{
    int64_t t0 = cor_now_ns();
    const char *r1 = async_task(&half); /* a direct call is `await f()` */
    const char *r2 = async_task(&one_and_half);
    printf("['%s', '%s']\n", r1, r2);
    printf("async_sequential_tasks used: %.1f seconds.\n",
           secs(cor_now_ns() - t0));
}

static int parallel_tasks(void)
{
    int64_t t0 = cor_now_ns();
    cor_task *t1 = cor_spawn(async_task, &half);
    cor_task *t2 = cor_spawn(async_task, &one_and_half);
    if (!t1 || !t2)
        return -ENOMEM;
    void *r1 = NULL, *r2 = NULL;
    int rc = cor_await(t1, &r1);
    if (rc == 0)
        rc = cor_await(t2, &r2);
    cor_task_release(t1);
    cor_task_release(t2);
    if (rc < 0)
        return rc;
    printf("['%s', '%s']\n", (char *)r1, (char *)r2);
    printf("parallel_tasks used: %.1f seconds.\n", secs(cor_now_ns() - t0));
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
    return NULL;
}

int main(void)
{
    const char *s = getenv("TIME_SCALE");
    if (s && atof(s) > 0)
        scale = atof(s);
    setvbuf(stdout, NULL, _IOLBF, 0);
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(main_task, NULL, &o, NULL);
    if (rc < 0) {
        fprintf(stderr, "gather_timing: %s\n", cor_strerror(rc));
        return 1;
    }
    return 0;
}
