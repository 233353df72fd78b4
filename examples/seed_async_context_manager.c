/* SPDX-License-Identifier: MIT */
/*
 * seed_async_context_manager - seed 002f: an awaited enter and an awaited
 * exit around a block (COR_SCOPE): 0.5 s + 0.5 s.
 */
#include "seed_util.h"

static int aenter(void)
{
    printf(">entering the context manager\n");
    return seed_sleep(0.5); /* block for a moment */
}

static int aexit(void *obj, int status)
{
    (void)obj;
    (void)status;
    printf(">exiting the context manager\n");
    return seed_sleep(0.5);
}

static void *custom_coroutine(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    int rc = aenter();
    if (rc < 0)
        return cor_fail(rc, "enter");
    {
        COR_SCOPE(manager, aexit, NULL); /* async with ... as manager */
        printf("within the manager (as-target: None)\n");
    }
    printf("async with took %s s\n", SECS(cor_now_ns() - start, 0.5));
    return NULL;
}

int main(void)
{
    return seed_run("seed_async_context_manager", custom_coroutine, NULL) < 0;
}
