/* SPDX-License-Identifier: MIT */
/*
 * seed_async_generator - seed 002f: a generator that sleeps a second and
 * yields 0..9; a for loop over it, two single steps, and cor_collect() over
 * the rest.
 */
#include "seed_util.h"

static int async_generator(cor_gen *g, void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        int rc = seed_sleep(1); /* block to simulate doing work */
        if (rc == 0)
            rc = cor_gen_yield(g, IARG(i));
        if (rc < 0)
            return rc == -ECANCELED ? 0 : rc; /* closed: nothing to clean */
    }
    return 0;
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    cor_gen *gen;
    int rc = cor_gen_create(&gen, async_generator, NULL, 0);
    if (rc < 0)
        return cor_fail(rc, "generator");
    void *item;
    for (COR_GEN_FOR(rc, gen, &item))
        printf("%d\n", IVAL(item));
    cor_gen_destroy(gen);
    if (rc < 0)
        return cor_fail(rc, "async for");
    double took = (double)(cor_now_ns() - start) / 1e9 / seed_scale();
    printf("async for took at least 10 s (one step at a time): %s\n",
           took >= 10 ? "True" : "False");

    if ((rc = cor_gen_create(&gen, async_generator, NULL, 0)) < 0)
        return cor_fail(rc, "generator");
    void *a = NULL, *b = NULL;
    if ((rc = cor_gen_next(gen, &a)) < 0 || (rc = cor_gen_next(gen, &b)) < 0)
        return cor_fail(rc, "anext");
    printf("anext: %d %d\n", IVAL(a), IVAL(b));
    void *rest[10];
    long n = cor_collect(cor_gen_iter, gen, rest, 10, NULL, NULL);
    cor_gen_destroy(gen);
    if (n < 0)
        return cor_fail((int)n, "collect");
    printf("comprehension over the rest: [");
    for (long i = 0; i < n; i++)
        printf("%s%d", i ? ", " : "", IVAL(rest[i]));
    printf("]\n");
    return NULL;
}

int main(void)
{
    return seed_run("seed_async_generator", main_task, NULL) < 0;
}
