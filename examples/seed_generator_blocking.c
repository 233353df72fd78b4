/* SPDX-License-Identifier: MIT */
/*
 * seed_generator_blocking - seed 002c example_3: the generator scheduler
 * with blocking sleeps inside the generators: nothing overlaps, 32 s.
 */
#include "seed_util.h"

struct work {
    int items[4];
    int head, len;
};

struct gen_arg {
    const char *name;
    struct work *q;
};

static int task(cor_gen *g, void *arg)
{
    struct gen_arg *a = arg;
    while (a->q->head < a->q->len) {
        int delay = a->q->items[a->q->head++];
        printf("Task %s running\n", a->name);
        int64_t start = cor_now_ns();
        seed_block(delay);
        printf("Task %s elapsed time: %s\n", a->name,
               SECS(cor_now_ns() - start, 1));
        if (cor_gen_yield(g, NULL) < 0)
            return 0;
    }
    return 0;
}

static void *main_task(void *arg)
{
    (void)arg;
    struct work q = {{15, 10, 5, 2}, 0, 4};
    struct gen_arg one = {"One", &q}, two = {"Two", &q};
    cor_gen *tasks[2];
    int rc = cor_gen_create(&tasks[0], task, &one, 0);
    if (rc == 0 && (rc = cor_gen_create(&tasks[1], task, &two, 0)) < 0)
        cor_gen_destroy(tasks[0]);
    int64_t start = cor_now_ns();
    if (rc == 0)
        rc = seed_schedule(tasks, 2);
    if (rc < 0)
        return cor_fail(rc, "scheduler");
    printf("\nTotal elapsed time: %s\n", SECS(cor_now_ns() - start, 1));
    return NULL;
}

int main(void)
{
    return seed_run("seed_generator_blocking", main_task, NULL) < 0;
}
