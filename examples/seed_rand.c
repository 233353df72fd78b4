/* SPDX-License-Identifier: MIT */
/*
 * seed_rand - seed 002e rand.py: three makerandom() coroutines under gather,
 * each retrying after (idx + 1) s until its draw beats its threshold.  The
 * draws are the oracle's fixed ones.
 */
#include "seed_util.h"

static const int draws[3][3] = {{4, 10}, {6, 3, 9}, {2, 8}};
static int drawn[3];

static int randint(int idx)
{
    return draws[idx][drawn[idx]++];
}

static void *makerandom(void *arg)
{
    int idx = IVAL(arg), threshold = 10 - idx - 1;
    printf("Initiated makerandom(%d).\n", idx);
    int i = randint(idx);
    while (i <= threshold) {
        printf("makerandom(%d) == %d too low; retrying.\n", idx, i);
        int rc = seed_sleep(idx + 1);
        if (rc < 0)
            return cor_fail(rc, "sleep");
        i = randint(idx);
    }
    printf("---> Finished: makerandom(%d) == %d\n", idx, i);
    return IARG(i);
}

static void *main_task(void *arg)
{
    void **res = arg;
    int64_t start = cor_now_ns();
    void *args[3] = {IARG(0), IARG(1), IARG(2)};
    int rc = seed_gather(makerandom, args, 3, res);
    if (rc < 0)
        return cor_fail(rc, "gather");
    printf("gather took %s s\n", SECS(cor_now_ns() - start, 1));
    return NULL;
}

int main(void)
{
    void *r[3] = {NULL, NULL, NULL};
    if (seed_run("seed_rand", main_task, r) < 0)
        return 1;
    printf("\nr1: %d, r2: %d, r3: %d\n", IVAL(r[0]), IVAL(r[1]), IVAL(r[2]));
    return 0;
}
