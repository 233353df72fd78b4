/* SPDX-License-Identifier: MIT */
/*
 * seed_chained - chained coroutines under gather (seed 002e chained.py):
 * each chain awaits part1 then part2; the three chains overlap, so the
 * program takes 11 s, the longest chain, not the sum.  Arguments: the chain
 * numbers (default 9 6 3); the delays are those of the seed's trace.
 */
#include "seed_util.h"

#include <string.h>

static int part1_delay(int n)
{
    return n == 9 ? 4 : n == 6 ? 4 : 0;
}

static int part2_delay(int n)
{
    return n == 9 ? 7 : 4;
}

struct chain {
    int n;
    char p1[32], p2[96];
};

/* Plain C calls are the awaited coroutines: they run on the task's stack. */
static int part1(struct chain *c)
{
    int i = part1_delay(c->n);
    printf("part1(%d) sleeping for %d seconds.\n", c->n, i);
    int rc = seed_sleep(i);
    snprintf(c->p1, sizeof c->p1, "result%d-1", c->n);
    printf("Returning part1(%d) == %s.\n", c->n, c->p1);
    return rc;
}

static int part2(struct chain *c)
{
    int i = part2_delay(c->n);
    printf("part2(%d, '%s') sleeping for %d seconds.\n", c->n, c->p1, i);
    int rc = seed_sleep(i);
    snprintf(c->p2, sizeof c->p2, "result%d-2 derived from %s", c->n, c->p1);
    printf("Returning part2(%d, '%s') == %s.\n", c->n, c->p1, c->p2);
    return rc;
}

static void *chain(void *arg)
{
    struct chain *c = arg;
    int64_t start = cor_now_ns();
    int rc = part1(c);
    if (rc == 0)
        rc = part2(c);
    if (rc < 0)
        return cor_fail(rc, "chain %d", c->n);
    printf("-->Chained result%d => %s (took %s seconds).\n", c->n, c->p2,
           SECS(cor_now_ns() - start, 1.0));
    return NULL;
}

struct args {
    int n;
    struct chain c[16];
};

static void *main_task(void *arg)
{
    struct args *a = arg;
    cor_task *t[16];
    cor_future *fs[16];
    for (int i = 0; i < a->n; i++) {
        t[i] = cor_spawn(chain, &a->c[i]);
        fs[i] = cor_task_future(t[i]);
    }
    int rc = cor_gather(fs, (size_t)a->n, NULL, NULL, 0);
    for (int i = 0; i < a->n; i++)
        cor_task_release(t[i]);
    return rc < 0 ? cor_fail(rc, "gather") : NULL;
}

int main(int argc, char **argv)
{
    static struct args a;
    static const int dflt[] = {9, 6, 3};
    a.n = argc > 1 ? argc - 1 : 3;
    if (a.n > 16)
        a.n = 16;
    for (int i = 0; i < a.n; i++)
        a.c[i].n = argc > 1 ? atoi(argv[i + 1]) : dflt[i];
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t start = cor_now_ns();
    int rc = cor_run(main_task, &a);
    printf("Program finished in %s seconds.\n", SECS(cor_now_ns() - start, 1.0));
    return rc < 0;
}
