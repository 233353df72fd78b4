/* SPDX-License-Identifier: MIT */
/*
 * seed_util.h - what the seed ports share: the TIME_SCALE knob and the
 * oracle's way of printing an elapsed time (seed seconds floored to a grid,
 * one decimal), so that a port prints exactly the lines asyncio prints.
 */
#ifndef CORING_SEED_UTIL_H
#define CORING_SEED_UTIL_H

#include <coring.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Every delay of a seed is multiplied by TIME_SCALE (default 1.0). */
static inline double seed_scale(void)
{
    const char *s = getenv("TIME_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

/* Sleep `seconds` seed seconds. */
static inline int seed_sleep(double seconds)
{
    return cor_sleep(seconds * seed_scale());
}

/* floor(elapsed / TIME_SCALE / grid + 0.05) * grid, as the oracle prints. */
static inline const char *seed_secs(int64_t elapsed_ns, double grid,
                                    char *buf, size_t len)
{
    double e = (double)elapsed_ns / 1e9 / seed_scale();
    snprintf(buf, len, "%.1f", floor(e / grid + 0.05) * grid);
    return buf;
}
#define SECS(ns, grid) seed_secs((ns), (grid), (char[32]){0}, 32)

/* time.sleep(seconds): blocks the thread (and the loop it runs), on purpose. */
static inline void seed_block(double seconds)
{
    double s = seconds * seed_scale();
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)(fmod(s, 1.0) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* An integer carried in a task's void * argument or result. */
#define IARG(i) ((void *)(intptr_t)(i))
#define IVAL(p) ((int)(intptr_t)(p))

/*
 * asyncio.gather(fn(args[0]), ..., fn(args[n-1])): spawn the n tasks in
 * order, wait for all, results[] in input order.  Returns cor_gather's code.
 */
#define SEED_MAX_TASKS 16
static inline int seed_gather(cor_fn *fn, void *const *args, size_t n,
                              void **results)
{
    cor_task *t[SEED_MAX_TASKS];
    cor_future *fs[SEED_MAX_TASKS];
    size_t made = 0;
    int rc = n <= SEED_MAX_TASKS ? 0 : -EINVAL;
    for (; rc == 0 && made < n; made++) {
        if (!(t[made] = cor_spawn(fn, args[made]))) {
            rc = -ENOMEM; /* cor_run cancels those spawned, at its end */
            break;
        }
        fs[made] = cor_task_future(t[made]);
    }
    if (rc == 0)
        rc = cor_gather(fs, n, results, NULL, 0);
    for (size_t i = 0; i < made; i++)
        cor_task_release(t[i]);
    return rc;
}

/*
 * Python's exception classes as the ports raise them: one error code each,
 * so that an error prints as the seed's repr, e.g. ValueError('boom').
 */
#define SEED_EXCEPTION (-EIO)        /* Exception */
#define SEED_RUNTIME_ERROR (-EPROTO) /* RuntimeError */

static inline const char *seed_err_kind(int code)
{
    switch (code) {
    case -EINVAL:
        return "ValueError";
    case -ECANCELED:
        return "CancelledError";
    case -ETIMEDOUT:
        return "TimeoutError";
    case SEED_RUNTIME_ERROR:
        return "RuntimeError";
    default:
        return "Exception";
    }
}

/* repr(exc): Kind('message') */
static inline const char *seed_repr(const cor_error *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s('%s')", seed_err_kind(e->code), e->message);
    return buf;
}
#define REPR(e) seed_repr((e), (char[256]){0}, 256)

/*
 * The oracle's describe(fut): <Task finished name='Task-2' result=1>,
 * <Future cancelled>, ... exception=ValueError('...').  Results are ints
 * (NULL is None).
 */
static inline const char *seed_describe(cor_future *f, char *buf, size_t len)
{
    cor_task *t = cor_future_task(f);
    const char *state = !cor_future_done(f)     ? "pending"
                        : cor_future_cancelled(f) ? "cancelled"
                                                  : "finished";
    int n = snprintf(buf, len, "<%s %s", t ? "Task" : "Future", state);
    if (t)
        n += snprintf(buf + n, len - (size_t)n, " name='%s'", cor_task_name(t));
    const cor_error *e = NULL;
    void *r = NULL;
    if (cor_future_done(f) && !cor_future_cancelled(f)) {
        if (cor_future_error(f, &e) == 0 && e)
            n += snprintf(buf + n, len - (size_t)n, " exception=%s", REPR(e));
        else if (cor_future_result(f, &r) == 0 && r)
            n += snprintf(buf + n, len - (size_t)n, " result=%d", IVAL(r));
        else
            n += snprintf(buf + n, len - (size_t)n, " result=None");
    }
    snprintf(buf + n, len - (size_t)n, ">");
    return buf;
}
#define DESCRIBE(f) seed_describe((f), (char[256]){0}, 256)

/*
 * The seed's scheduler: `for t in tasks: next(t)`, removing a finished
 * generator from the list while iterating it, as the seed does (Python's
 * list iterator then skips the element after the removed one).
 */
static inline int seed_schedule(cor_gen **tasks, int n)
{
    bool done = false;
    while (!done) {
        for (int i = 0; i < n; i++) {
            int rc = cor_gen_next(tasks[i], NULL);
            if (rc < 0)
                return rc;
            if (rc == 0) { /* StopIteration: tasks.remove(t) */
                cor_gen_destroy(tasks[i]);
                for (int j = i; j + 1 < n; j++)
                    tasks[j] = tasks[j + 1];
                n--;
            }
            if (n == 0)
                done = true;
        }
    }
    return 0;
}

/* asyncio.run(main()) on one loop; a failure is reported on stderr. */
static inline int seed_run(const char *prog, cor_fn *main_fn, void *arg)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(main_fn, arg, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", prog, cor_strerror(rc));
    return rc;
}

#endif
