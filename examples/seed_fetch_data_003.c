/* SPDX-License-Identifier: MIT */
/*
 * seed_fetch_data_003 - seed 003's fetch_data examples 2 to 7: two bare
 * coroutines awaited in turn (3 s), two tasks (2 s), awaiting the second
 * task first (2 s), blocking sleeps inside the tasks (3 s: the loop
 * stalls), to_thread (2 s), then gather and a task group (2 s each).
 * Each example runs in a fresh cor_run(), as the seed calls asyncio.run.
 */
#include "seed_util.h"

#include <string.h>

static const char *result_of(long param)
{
    static const char *r[] = {"Result of 0", "Result of 1", "Result of 2"};
    return r[param];
}

static void *fetch_data(void *arg)
{
    long param = (long)(intptr_t)arg;
    printf("Do something with %ld...\n", param);
    int rc = seed_sleep((double)param);
    if (rc < 0)
        return cor_fail(rc, "fetch_data(%ld)", param);
    printf("Done with %ld\n", param);
    return (void *)result_of(param);
}

static void *fetch_data_blocking(void *arg)
{
    long param = (long)(intptr_t)arg;
    printf("Do something with %ld...\n", param);
    seed_block((double)param); /* time.sleep: the whole loop waits */
    printf("Done with %ld\n", param);
    return (void *)result_of(param);
}

/* Runs on an executor thread: no print at the start, as in the seed. */
static void *fetch_data_sync(void *arg)
{
    long param = (long)(intptr_t)arg;
    seed_block((double)param);
    printf("Done with %ld\n", param);
    return (void *)result_of(param);
}

static void *to_thread_fetch(void *arg)
{
    void *r = NULL;
    int rc = cor_to_thread(fetch_data_sync, arg, &r);
    return rc < 0 ? cor_fail(rc, "to_thread") : r;
}

static const char *res[2];

static int example2(void)
{
    /* Bare coroutines: each direct call is its `await`, in turn. */
    res[0] = fetch_data(IARG(1));
    printf("Task 1 fully completed\n");
    res[1] = fetch_data(IARG(2));
    printf("Task 2 fully completed\n");
    return 0;
}

/* Two tasks of fn; awaited in the order first, second (0 or 1 first). */
static int two_tasks(cor_fn *fn, int first, const char *what)
{
    cor_task *t[2] = {cor_spawn(fn, IARG(1)), cor_spawn(fn, IARG(2))};
    if (!t[0] || !t[1])
        return -ENOMEM;
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
        int i = k == 0 ? first : 1 - first;
        void *r = NULL;
        rc = cor_await(t[i], &r);
        res[i] = r;
        if (rc == 0)
            printf("%s %d fully completed\n", what, i + 1);
    }
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    return rc;
}

static int example3(void)
{
    return two_tasks(fetch_data, 0, "Task");
}

static int example4(void)
{
    return two_tasks(fetch_data, 1, "Task");
}

static int example5(void)
{
    return two_tasks(fetch_data_blocking, 0, "Task");
}

static int example6(void)
{
    return two_tasks(to_thread_fetch, 0, "Thread");
}

static int example7(void)
{
    void *args[2] = {IARG(1), IARG(2)}, *r[2] = {NULL, NULL};
    int rc = seed_gather(fetch_data, args, 2, r);
    if (rc < 0)
        return rc;
    printf("gather: ['%s', '%s']\n", (char *)r[0], (char *)r[1]);
    cor_group *g;
    if ((rc = cor_group_create(&g)) < 0)
        return rc;
    cor_task *t[2] = {NULL, NULL};
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = cor_group_spawn(g, &t[i], fetch_data, args[i]);
    int jrc = cor_group_join(g, NULL); /* the end of `async with` */
    if (rc == 0)
        rc = jrc;
    for (int i = 0; i < 2; i++) {
        if (t[i] && rc == 0)
            rc = cor_task_result(t[i], (void **)&res[i]);
        cor_task_release(t[i]);
    }
    cor_group_destroy(g);
    return rc;
}

static int (*const examples[])(void) = {example2, example3, example4,
                                        example5, example6, example7};

static void *timed(void *arg)
{
    int (*example)(void) = *(int (**)(void))arg;
    int rc = example();
    return rc < 0 ? cor_fail(rc, "example") : NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        printf("--- example%zu\n", i + 2);
        memset(res, 0, sizeof res);
        cor_run_opts o = {.loops = 1};
        int64_t t0 = cor_now_ns();
        int rc = cor_run_ex(timed, (void *)&examples[i], &o, NULL);
        int64_t dt = cor_now_ns() - t0;
        if (rc < 0) {
            fprintf(stderr, "example%zu: %s\n", i + 2, cor_strerror(rc));
            return 1;
        }
        printf("['%s', '%s']\n", res[0], res[1]);
        printf("Finished in %s seconds\n", SECS(dt, 1.0));
    }
    return 0;
}
