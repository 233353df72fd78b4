/* SPDX-License-Identifier: MIT */
/*
 * seed_wait_first - seed 001's commented variants: cor_wait() with
 * FIRST_COMPLETED (one done, four pending) and FIRST_EXCEPTION (returns when
 * t3 fails; t1 and t4 still pending).
 */
#include "seed_util.h"

#include <string.h>

static const int values[5] = {2, 4, 1, 3, 5}; /* completions 1 s apart */
static int failing = -1;

static void *task_coroutine(void *arg)
{
    int index = IVAL(arg);
    int rc = seed_sleep(values[index]);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    if (index == failing) {
        printf("> task %d failing after sleep %d seconds\n", index,
               values[index]);
        return cor_fail(SEED_RUNTIME_ERROR, "task %d failed", index);
    }
    printf("> task %d done after sleep %d seconds\n", index, values[index]);
    return IARG(index);
}

static int spawn_all(cor_task **tasks, cor_future **fs)
{
    for (int i = 0; i < 5; i++) {
        if (!(tasks[i] = cor_spawn(task_coroutine, IARG(i))))
            return -ENOMEM;
        char name[8];
        snprintf(name, sizeof name, "t%d", i);
        cor_task_set_name(tasks[i], name);
        fs[i] = cor_task_future(tasks[i]);
    }
    return 0;
}

/* Prints "done [...] pending [...]" (names sorted, as t0..t4 already are)
 * and collects the pending futures into rest[], returning their count. */
static int split(cor_task **tasks, cor_future **fs, const bool *done,
                 cor_future **rest)
{
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        printf(pass ? " pending [" : " done [");
        int k = 0;
        for (int i = 0; i < 5; i++)
            if (done[i] == !pass)
                printf("%s'%s'", k++ ? ", " : "", cor_task_name(tasks[i]));
        printf("]");
    }
    printf("\n");
    for (int i = 0; i < 5; i++)
        if (!done[i])
            rest[n++] = fs[i];
    return n;
}

static void *main_task(void *arg)
{
    (void)arg;
    cor_task *tasks[5];
    cor_future *fs[5], *rest[5];
    bool done[5];
    int rc = spawn_all(tasks, fs);
    if (rc == 0)
        rc = cor_wait(fs, 5, COR_FIRST_COMPLETED, COR_NO_TIMEOUT, done);
    if (rc < 0)
        return cor_fail(rc, "wait");
    printf("FIRST_COMPLETED:");
    int n = split(tasks, fs, done, rest);
    if ((rc = cor_wait(rest, (size_t)n, COR_ALL_COMPLETED, COR_NO_TIMEOUT,
                       NULL)) < 0)
        return cor_fail(rc, "wait");
    for (int i = 0; i < 5; i++)
        cor_task_release(tasks[i]);

    failing = 3;
    rc = spawn_all(tasks, fs);
    if (rc == 0)
        rc = cor_wait(fs, 5, COR_FIRST_EXCEPTION, COR_NO_TIMEOUT, done);
    if (rc < 0)
        return cor_fail(rc, "wait");
    printf("FIRST_EXCEPTION:");
    n = split(tasks, fs, done, rest);
    if ((rc = cor_wait(rest, (size_t)n, COR_ALL_COMPLETED, COR_NO_TIMEOUT,
                       NULL)) < 0)
        return cor_fail(rc, "wait");
    printf("failed: [");
    int k = 0;
    for (int i = 0; i < 5; i++) {
        const cor_error *e = NULL;
        if (cor_task_error(tasks[i], &e) == 0 && e)
            printf("%s\"%s\"", k++ ? ", " : "", REPR(e));
        cor_task_release(tasks[i]);
    }
    printf("]\nmain done\n");
    return NULL;
}

int main(void)
{
    return seed_run("seed_wait_first", main_task, NULL) < 0;
}
