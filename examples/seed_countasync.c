/* SPDX-License-Identifier: MIT */
/*
 * seed_countasync - gather of three count()s: One One One, then a second
 * later Two Two Two; 1 s in all (seed 002e).
 */
#include "seed_util.h"

static void *count(void *arg)
{
    (void)arg;
    printf("One\n");
    int rc = seed_sleep(1);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("Two\n");
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    void *args[3] = {NULL, NULL, NULL};
    int rc = seed_gather(count, args, 3, NULL);
    return rc < 0 ? cor_fail(rc, "gather") : NULL;
}

int main(void)
{
    int64_t s = cor_now_ns();
    if (seed_run("seed_countasync", main_task, NULL) < 0)
        return 1;
    printf("countasync.py executed in %s seconds.\n", SECS(cor_now_ns() - s, 1));
    return 0;
}
