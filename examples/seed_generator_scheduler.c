/* SPDX-License-Identifier: MIT */
/*
 * seed_generator_scheduler - seed 002c example_1/2: two synchronous tasks
 * draining a work queue, then the same as generators stepped one next() at
 * a time by a hand-rolled scheduler (interleaving, no loop needed beyond
 * the generators' own stacks).
 */
#include "seed_util.h"

struct work {
    int items[4];
    int head, len;
};

static bool empty(const struct work *q)
{
    return q->head == q->len;
}

static int get(struct work *q)
{
    return q->items[q->head++];
}

static void task1(const char *name, struct work *q)
{
    if (empty(q)) {
        printf("Task %s nothing to do\n", name);
        return;
    }
    while (!empty(q)) {
        int count = get(q), total = 0;
        printf("Task %s running\n", name);
        for (int x = 0; x < count; x++)
            total++;
        printf("Task %s total: %d\n", name, total);
    }
}

struct gen_arg {
    const char *name;
    struct work *q;
};

static int task2(cor_gen *g, void *arg)
{
    struct gen_arg *a = arg;
    while (!empty(a->q)) {
        int count = get(a->q), total = 0;
        printf("Task %s running\n", a->name);
        for (int x = 0; x < count; x++) {
            total++;
            if (cor_gen_yield(g, NULL) < 0)
                return 0;
        }
        printf("Task %s total: %d\n", a->name, total);
    }
    return 0;
}

static void *main_task(void *arg)
{
    (void)arg;
    printf("--- example_1: synchronous tasks\n");
    struct work q1 = {{15, 10, 5, 2}, 0, 4};
    task1("One", &q1);
    task1("Two", &q1);

    printf("--- example_2: generators stepped with next()\n");
    struct work q2 = {{15, 10, 5, 2}, 0, 4};
    struct gen_arg one = {"One", &q2}, two = {"Two", &q2};
    cor_gen *tasks[2];
    int rc = cor_gen_create(&tasks[0], task2, &one, 0);
    if (rc == 0 && (rc = cor_gen_create(&tasks[1], task2, &two, 0)) < 0)
        cor_gen_destroy(tasks[0]);
    if (rc == 0)
        rc = seed_schedule(tasks, 2);
    return rc < 0 ? cor_fail(rc, "scheduler") : NULL;
}

int main(void)
{
    return seed_run("seed_generator_scheduler", main_task, NULL) < 0;
}
