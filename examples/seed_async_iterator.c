/* SPDX-License-Identifier: MIT */
/*
 * seed_async_iterator - seed 002f: an object with an awaitable `next`
 * (__anext__) counting to 10 a second at a time; a for loop over it, two
 * single steps (anext), and cor_collect() over the rest (a comprehension).
 */
#include "seed_util.h"

struct async_iterator {
    int counter;
};

/* __anext__: 1 and the next count, 0 at the end (StopAsyncIteration). */
static int anext_(void *self, void **item)
{
    struct async_iterator *it = self;
    if (it->counter >= 10)
        return 0;
    it->counter++;
    int rc = seed_sleep(1); /* simulate work */
    if (rc < 0)
        return rc;
    *item = IARG(it->counter);
    return 1;
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    struct async_iterator it = {0};
    void *item;
    int rc;
    while ((rc = anext_(&it, &item)) > 0) /* async for item in ... */
        printf("%d\n", IVAL(item));
    if (rc < 0)
        return cor_fail(rc, "async for");
    double took = (double)(cor_now_ns() - start) / 1e9 / seed_scale();
    printf("async for took at least 10 s (one step at a time): %s\n",
           took >= 10 ? "True" : "False");

    struct async_iterator it2 = {0};
    void *a = NULL, *b = NULL;
    if ((rc = anext_(&it2, &a)) < 0 || (rc = anext_(&it2, &b)) < 0)
        return cor_fail(rc, "anext");
    printf("anext: %d %d\n", IVAL(a), IVAL(b));
    void *results[10];
    long n = cor_collect(anext_, &it2, results, 10, NULL, NULL);
    if (n < 0)
        return cor_fail((int)n, "collect");
    printf("comprehension over the rest: [");
    for (long i = 0; i < n; i++)
        printf("%s%d", i ? ", " : "", IVAL(results[i]));
    printf("]\n");
    return NULL;
}

int main(void)
{
    return seed_run("seed_async_iterator", main_task, NULL) < 0;
}
