/* SPDX-License-Identifier: MIT */
/*
 * seed_work_queue - two tasks draining a queue of delays [15, 10, 5, 2]
 * (seed 002c example_4): they overlap, so it takes 17 s, not 32.
 */
#include "seed_util.h"

struct worker {
    const char *name;
    cor_queue *q;
};

static void *task(void *arg)
{
    struct worker *w = arg;
    while (!cor_queue_empty(w->q)) {
        void *delay;
        int rc = cor_queue_get(w->q, &delay);
        if (rc < 0)
            return cor_fail(rc, "get");
        printf("Task %s running\n", w->name);
        int64_t start = cor_now_ns();
        if ((rc = seed_sleep((double)(long)delay)) < 0)
            return cor_fail(rc, "sleep");
        printf("Task %s elapsed time: %s\n", w->name,
               SECS(cor_now_ns() - start, 1.0));
    }
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    cor_queue *q;
    int rc = cor_queue_create(&q, NULL);
    if (rc < 0)
        return cor_fail(rc, "queue");
    static const long work[] = {15, 10, 5, 2};
    for (int i = 0; i < 4; i++)
        cor_queue_put(q, (void *)work[i]);
    int64_t start = cor_now_ns();
    struct worker one = {"One", q}, two = {"Two", q};
    cor_task *t[2] = {cor_spawn(task, &one), cor_spawn(task, &two)};
    cor_future *fs[2] = {cor_task_future(t[0]), cor_task_future(t[1])};
    rc = cor_gather(fs, 2, NULL, NULL, 0);
    printf("\nTotal elapsed time: %s\n", SECS(cor_now_ns() - start, 1.0));
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    cor_queue_destroy(q);
    return rc < 0 ? cor_fail(rc, "gather") : NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    return cor_run(main_task, NULL) < 0;
}
