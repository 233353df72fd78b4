/* SPDX-License-Identifier: MIT */
/*
 * seed_coro_seq - seed 002e: a task awaited; two tasks under gather (10 s,
 * results in input order); the same two under as_completed (the 3 s one
 * first).  Three cor_run()s, as the seed calls asyncio.run three times.
 */
#include "seed_util.h"

struct seq {
    int in[3];
    int out[3]; /* the reversed list, the coroutine's result */
};

static void *coro(void *arg)
{
    struct seq *s = arg;
    int max = s->in[0];
    for (int i = 1; i < 3; i++)
        max = s->in[i] > max ? s->in[i] : max;
    int rc = seed_sleep(max); /* 'IO' wait proportional to the max element */
    if (rc < 0)
        return cor_fail(rc, "sleep");
    for (int i = 0; i < 3; i++)
        s->out[i] = s->in[2 - i];
    return s->out;
}

static const char *list(const int *v, char *buf, size_t len)
{
    snprintf(buf, len, "[%d, %d, %d]", v[0], v[1], v[2]);
    return buf;
}
#define LIST(v) list((v), (char[64]){0}, 64)

static void *main1(void *arg)
{
    (void)arg;
    struct seq s = {{3, 2, 1}, {0}};
    cor_task *t = cor_spawn(coro, &s);
    int rc = t ? cor_await(t, NULL) : -ENOMEM;
    if (rc < 0)
        return cor_fail(rc, "main1");
    printf("t: is a Task %s\n", cor_future_task(cor_task_future(t)) ? "True" : "False");
    printf("t done: %s\n", cor_task_done(t) ? "True" : "False");
    cor_task_release(t);
    return NULL;
}

static struct seq two[2] = {{{3, 2, 1}, {0}}, {{10, 5, 0}, {0}}};

static void *main2(void *arg)
{
    void **a = arg;
    int64_t start = cor_now_ns();
    cor_task *t[2] = {cor_spawn(coro, &two[0]), cor_spawn(coro, &two[1])};
    if (!t[0] || !t[1])
        return cor_fail(-ENOMEM, "spawn");
    printf("Start: %s\n", SECS(cor_now_ns() - start, 1));
    cor_future *fs[2] = {cor_task_future(t[0]), cor_task_future(t[1])};
    int rc = cor_gather(fs, 2, a, NULL, 0);
    if (rc < 0)
        return cor_fail(rc, "gather");
    printf("End: %s\n", SECS(cor_now_ns() - start, 1));
    printf("Both tasks done: %s\n",
           cor_task_done(t[0]) && cor_task_done(t[1]) ? "True" : "False");
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    return NULL;
}

static void *main3(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    cor_task *t[2] = {cor_spawn(coro, &two[0]), cor_spawn(coro, &two[1])};
    if (!t[0] || !t[1])
        return cor_fail(-ENOMEM, "spawn");
    printf("Start: %s\n", SECS(cor_now_ns() - start, 1));
    cor_future *fs[2] = {cor_task_future(t[0]), cor_task_future(t[1])};
    cor_as_completed *ac;
    int rc = cor_as_completed_create(&ac, fs, 2, COR_NO_TIMEOUT);
    if (rc < 0)
        return cor_fail(rc, "as_completed");
    cor_future *f;
    while ((rc = cor_as_completed_next(ac, &f)) == 1) {
        void *compl = NULL;
        if ((rc = cor_future_await(f, &compl)) < 0)
            break;
        printf("res: %s completed at %s\n", LIST(compl),
               SECS(cor_now_ns() - start, 1));
    }
    cor_as_completed_destroy(ac);
    if (rc < 0)
        return cor_fail(rc, "as_completed");
    printf("End: %s\n", SECS(cor_now_ns() - start, 1));
    printf("Both tasks done: %s\n",
           cor_task_done(t[0]) && cor_task_done(t[1]) ? "True" : "False");
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    return NULL;
}

int main(void)
{
    void *a[2] = {NULL, NULL};
    if (seed_run("seed_coro_seq", main1, NULL) < 0 ||
        seed_run("seed_coro_seq", main2, a) < 0)
        return 1;
    printf("[%s, %s]\n", LIST(a[0]), LIST(a[1]));
    return seed_run("seed_coro_seq", main3, NULL) < 0;
}
