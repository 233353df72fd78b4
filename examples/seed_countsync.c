/* SPDX-License-Identifier: MIT */
/*
 * seed_countsync - the same three count()s with blocking sleeps and no loop
 * at all: One Two, three times; 3 s in all (seed 002e).
 */
#include "seed_util.h"

static void count(void)
{
    printf("One\n");
    seed_block(1);
    printf("Two\n");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int64_t s = cor_now_ns();
    for (int i = 0; i < 3; i++)
        count();
    printf("countsync.py executed in %s seconds.\n", SECS(cor_now_ns() - s, 1));
    return 0;
}
