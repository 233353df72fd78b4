/* SPDX-License-Identifier: MIT */
/*
 * coring/task.h - tasks: stackful coroutines with asyncio's task model.
 *
 * A task runs fn(arg) on its own stack, on its home loop, from spawn to end.
 * It is a future (cor_task_future()); it finishes with a result (the pointer
 * fn returns), an error (fn returned cor_fail(...)) or cancelled (it failed
 * with -ECANCELED, or was cancelled before it first ran).
 *
 * Cancellation is a request delivered at suspension points, and it sticks:
 * after cor_task_cancel(t), every suspending call of t returns -ECANCELED
 * until t ends, except inside a shield scope.
 *
 * Handles: cor_spawn() returns one reference; release it with
 * cor_task_release().  A task whose error was never retrieved is reported
 * through the log hook when its last reference goes, or when cor_run() ends.
 * Every handle becomes invalid when cor_run() returns.
 */
#ifndef CORING_TASK_H
#define CORING_TASK_H

#include "common.h"
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_task cor_task;

typedef struct cor_spawn_opts {
    const char *name;  /* NULL: "Task-N"; longer than 47 bytes: truncated */
    size_t stack_size; /* 0: the runtime's default */
    int loop;          /* 0: the calling loop; COR_LOOP(i): loop i */
} cor_spawn_opts;

/* Name loop i in cor_spawn_opts.loop (zero-initialised options mean "here"). */
#define COR_LOOP(i) ((i) + 1)

/*
 * cor_spawn - start fn(arg) as a new task on the calling loop.  It does not
 * run until the caller suspends; tasks start in the order they were spawned.
 * Returns the task (one reference), or NULL if memory or stacks ran out (the
 * reason is logged).  Never suspends.  Thread: a loop thread (a task or a
 * callback).
 */
COR_API cor_task *cor_spawn(cor_fn *fn, void *arg);

/*
 * cor_spawn_ex - cor_spawn with options.  Returns 0 and *out, -EINVAL for a
 * bad option, -ENOMEM when memory or stacks ran out, -EPERM off a loop
 * thread.
 */
COR_API int cor_spawn_ex(cor_task **out, cor_fn *fn, void *arg,
                         const cor_spawn_opts *opts);

/*
 * cor_await - wait for t to finish.  Does not suspend if t is done.
 * Returns 0 and *result (if result != NULL); -ECANCELED if t was cancelled
 * or the caller was cancelled while waiting; -ETIMEDOUT if the caller's
 * deadline passed; -EDEADLK if t is the caller; otherwise t's error code
 * (cor_task_error() gives the error; awaiting marks it retrieved).  A task
 * may be awaited any number of times, by any number of tasks.
 * Suspends.  Thread: a task.
 */
COR_API int cor_await(cor_task *t, void **result);

/*
 * cor_task_cancel - request cancellation.  Returns false (and changes
 * nothing) if t is done, else true.  A task cancelled before its first run
 * never runs.  Thread: any (from another thread the request is delivered
 * through t's home loop).
 */
COR_API bool cor_task_cancel(cor_task *t);

/* State queries.  Thread: t's home loop. */
COR_API bool cor_task_done(const cor_task *t);
COR_API bool cor_task_cancelled(const cor_task *t);
/* Whether a cancellation was requested (and is pending) for t. */
COR_API bool cor_task_cancelling(const cor_task *t);

/* As cor_future_result / cor_future_error on the task. */
COR_API int cor_task_result(cor_task *t, void **result);
COR_API int cor_task_error(cor_task *t, const cor_error **err);

/* Names: "Task-N" by default, main is "Task-1" of the first cor_run();
 * NULL for t NULL (set_name then does nothing; a NULL name is ""). */
COR_API const char *cor_task_name(const cor_task *t);
COR_API void cor_task_set_name(cor_task *t, const char *name);
COR_API cor_fn *cor_task_fn(const cor_task *t);

/*
 * cor_task_describe - asyncio's repr: "<Task pending name='Task-2'>",
 * "<Task finished name='Task-2' result=0x...>", "... cancelled ...",
 * "... exception=ECODE('message')>".  Returns what snprintf returns, or
 * -EINVAL for t NULL or buf NULL with len > 0.
 */
COR_API int cor_task_describe(const cor_task *t, char *buf, size_t len);

/* The task as a future (same object, same references). */
COR_API cor_future *cor_task_future(cor_task *t);

/* The task that a future is, or NULL for a plain future. */
COR_API cor_task *cor_future_task(cor_future *f);

COR_API cor_task *cor_task_ref(cor_task *t);
COR_API void cor_task_release(cor_task *t);

/*
 * cor_task_detach - release the handle and say that nobody will read t's
 * result: a fire-and-forget task, which debug mode then does not report as
 * dropped (a failure nobody retrieved is still logged).  Thread: t's home
 * loop.
 */
COR_API void cor_task_detach(cor_task *t);

/*
 * Done callbacks: cb(t, ud) runs on the home loop after t finished (result,
 * error or cancelled), never on a task stack.  See cor_future_on_done.
 */
typedef void cor_task_cb(cor_task *t, void *ud);
COR_API int cor_task_on_done(cor_task *t, cor_task_cb *cb, void *ud);
COR_API int cor_task_off_done(cor_task *t, cor_task_cb *cb, void *ud);

/*
 * cor_fail - make the calling task fail with code (a negative errno; a
 * positive one is negated) and a printf-style message.  Returns NULL so a
 * body can `return cor_fail(...)`.  A later cor_fail replaces the error.
 * Failing with -ECANCELED ends the task cancelled.  Thread: a task.
 */
COR_API void *cor_fail(int code, const char *fmt, ...) COR_PRINTF(2, 3);

/* cor_fail with an existing error (a reference is taken): re-raise. */
COR_API void *cor_fail_error(const cor_error *e);

/* The running task, or NULL off a task.  Thread: any. */
COR_API cor_task *cor_current_task(void);

/*
 * cor_all_tasks - the tasks of the calling loop that are not done (main and
 * the caller included).  Fills up to cap pointers (borrowed: valid until the
 * caller next suspends) and returns how many there are.  Thread: a loop.
 */
COR_API size_t cor_all_tasks(cor_task **buf, size_t cap);

/*
 * cor_yield - let every other ready task run once (asyncio.sleep(0)).
 * Returns 0, -ECANCELED or -ETIMEDOUT.  Suspends.  Thread: a task.
 */
COR_API int cor_yield(void);

/*
 * cor_sleep / cor_sleep_ns - suspend for at least the given time (never
 * less).  A delay <= 0 is cor_yield().  Returns 0, -ECANCELED, -ETIMEDOUT,
 * or -EINVAL for a NaN delay.  Suspends.  Thread: a task.
 */
COR_API int cor_sleep(double seconds);
COR_API int cor_sleep_ns(int64_t ns);

/*
 * Shield scopes: between begin and end, suspending calls of the calling task
 * ignore a cancellation or an expired deadline (for cleanup that must
 * suspend).  A cancellation that arrived meanwhile is delivered at the first
 * suspension after the scope.  Scopes nest.  Thread: a task.
 */
COR_API void cor_shield_begin(void);
COR_API void cor_shield_end(void);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC).  Thread: any. */
COR_API int64_t cor_now_ns(void);

#ifdef __cplusplus
}
#endif
#endif
