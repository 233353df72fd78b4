/* SPDX-License-Identifier: MIT */
/*
 * coring/executor.h - work off the loops and work across them: the shared
 * blocking executor (to_thread), spawning on another loop, and the calls a
 * plain (non-loop) thread makes into a running runtime.
 *
 * One executor serves the whole process: every loop and every plain thread
 * submit to the same bounded, elastic pool of worker threads.
 */
#ifndef CORING_EXECUTOR_H
#define CORING_EXECUTOR_H

#include "common.h"
#include "future.h"
#include "runtime.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------- the executor --- */

typedef struct cor_executor_opts {
    unsigned max_threads;  /* workers at most; 0: 64 */
    size_t queue_cap;      /* queued (not yet running) jobs at most; 0: 4096 */
    unsigned keepalive_ms; /* an idle worker retires after this; 0: 10000 */
} cor_executor_opts;

/*
 * cor_executor_configure - set the pool's limits (NULL: the defaults).
 * Threads start lazily, one per queued job while none is idle, up to
 * max_threads.  New limits apply to what happens next: workers above a
 * lowered maximum retire when they next go idle; a raised queue_cap lets
 * submitters waiting for room in at once.
 * Returns 0, or -EINVAL for max_threads > 4096 or queue_cap > 2^24.
 * Thread: any.
 */
COR_API int cor_executor_configure(const cor_executor_opts *opts);

typedef struct cor_executor_stats {
    unsigned threads;    /* workers alive */
    unsigned idle;       /* of which waiting for a job */
    size_t queued;       /* jobs waiting for a worker */
    size_t running;      /* jobs running */
    uint64_t completed;  /* jobs that ran to the end */
    uint64_t cancelled;  /* jobs removed from the queue before they ran */
    uint64_t waited;     /* submissions that found the queue full */
    /* What the pool's work cost in shared state, for benchmarks (per job,
     * these must not grow with cores or workers): */
    uint64_t locks;      /* acquisitions of the pool's locks */
    uint64_t lock_waits; /* of which found the lock held */
    uint64_t pool_locks; /* of which of the lock every loop shares (the
                            others are one loop's, shared with workers) */
    uint64_t wakeups;    /* sleeping workers woken */
    uint64_t posts;      /* messages posted to loops (each may wake one) */
} cor_executor_stats;

/* cor_executor_stats_get - a snapshot of the pool.  Returns 0. Thread: any. */
COR_API int cor_executor_stats_get(cor_executor_stats *st);

/*
 * cor_executor_shutdown - wait until no job is queued or running, then stop
 * every worker and join it.  The pool starts again on the next submission.
 * cor_run() calls it before it returns; a program that used the executor
 * only from plain threads calls it before exit so that no thread is left.
 * On a worker (a job that runs cor_run() ends with it) it waits only until
 * every other job has ended, and stops nothing.
 * Thread: any thread that has no job of its own pending.
 */
COR_API void cor_executor_shutdown(void);

/* What becomes of the result of a job whose awaiting task was cancelled. */
typedef void cor_job_cleanup(void *result, void *ud);

typedef struct cor_to_thread_opts {
    /*
     * Called with the job's result when the job ran to the end but its
     * awaiting task was cancelled meanwhile (the result has no one to go
     * to).  Runs on the awaiting task's loop (or the plain thread), never
     * on a task stack.  NULL: the result is dropped.
     */
    cor_job_cleanup *cleanup;
    void *cleanup_ud;
    /* If not NULL, a failed job's error goes here (one reference: release
     * it with cor_error_release()); NULL is stored otherwise. */
    const cor_error **err;
} cor_to_thread_opts;

/*
 * cor_to_thread - run fn(arg) on the executor and wait for it (asyncio's
 * to_thread).  From a task it suspends only the task; when the queue is full
 * the task waits for room (backpressure), its loop keeps running.  From a
 * plain thread it blocks that thread.
 *
 * fn runs on a worker thread: it must not call suspending coring calls; it
 * fails with cor_job_fail().
 *
 * Cancellation (or a deadline) of the awaiting task: a job still queued is
 * removed and never runs, and the call returns -ECANCELED (-ETIMEDOUT) at
 * once.  A running job cannot be interrupted: the call waits until fn
 * returns, then returns -ECANCELED (-ETIMEDOUT) and hands fn's result to
 * opts->cleanup so that nothing leaks.
 *
 * A job that no worker can run because no worker thread could be started
 * (pthread_create failed) and none is alive ends without running with
 * -EAGAIN (its error says why); while a worker is alive, it waits for it.
 *
 * Returns 0 and *result (if result != NULL); the job's error code if it
 * failed; -ECANCELED / -ETIMEDOUT as above; -EAGAIN as above; -EINVAL if fn
 * is NULL; -ENOMEM if the loop's completion port could not be made (its
 * first use).
 * Lifetime: arg must stay valid until the call returns.
 * Thread: a task (suspends) or a plain thread (blocks); not a job itself,
 * but a task of a runtime that a job runs with cor_run() may call it.
 */
COR_API int cor_to_thread(cor_fn *fn, void *arg, void **result);
COR_API int cor_to_thread_ex(cor_fn *fn, void *arg, void **result,
                             const cor_to_thread_opts *opts);

/*
 * cor_job_fail - inside a job: make it fail with code (a negative errno; a
 * positive one is negated) and a message.  Returns NULL so that a job can
 * `return cor_job_fail(...)`.  Called off a job it stops with a message.
 * Thread: an executor worker running a job.
 */
COR_API void *cor_job_fail(int code, const char *fmt, ...) COR_PRINTF(2, 3);

/*
 * cor_executor_submit - queue fn(arg) on the executor and return at once
 * with a future (home: the calling loop) that the job's result or error
 * (cor_job_fail) resolves.  Many jobs can be in flight from one task.
 * Cancelling the future before the job starts means it never runs; after it
 * started, the job runs to the end and its result goes to cleanup(result,
 * cleanup_ud) on the calling loop, never on a task stack (cleanup may be
 * NULL).
 * A full queue suspends the calling task until there is room; called from a
 * loop callback (not a task) it returns -EAGAIN instead.  When no
 * worker thread can start, the future fails with -EAGAIN (see
 * cor_to_thread).
 * Returns 0 and *out (one reference, release with cor_future_release()),
 * -EINVAL, -ENOMEM, -EPERM off a loop, -ECANCELED / -ETIMEDOUT if the
 * caller was interrupted while waiting for room (nothing was queued then).
 * Lifetime: arg must stay valid until the job ran.  Thread: a loop thread.
 */
COR_API int cor_executor_submit(cor_fn *fn, void *arg,
                                cor_job_cleanup *cleanup, void *cleanup_ud,
                                cor_future **out);

/* -------------------------------------------------------- many loops ---- */

/*
 * cor_spawn_on / cor_spawn_next - start fn(arg) as a task on loop `index`
 * (0 .. cor_loop_count() - 1), or on the next loop in round-robin order.
 * They never suspend: the handle is returned at once and the task is created
 * on its loop when that loop next drains its inbox; if that loop then has no
 * stack for it, the task finishes failed with -ENOMEM.  The same program runs
 * on one loop or on N (with one loop, every index but 0 is -EINVAL).
 * cor_spawn_ex() with opts.loop = COR_LOOP(i) does the same with options.
 * Returns the task (one reference) or NULL (bad index, out of memory).
 * Thread: a loop thread.
 */
COR_API cor_task *cor_spawn_on(int index, cor_fn *fn, void *arg);
COR_API cor_task *cor_spawn_next(cor_fn *fn, void *arg);

/* cor_loop_get - loop `index` of the calling runtime, or NULL.  The pointer
 * is valid until cor_run() returns.  Thread: a loop thread. */
COR_API cor_loop *cor_loop_get(int index);

/* ----------------------------------------------- from foreign threads --- */

/*
 * cor_call_soon_threadsafe - run fn(arg) on loop l soon, on l's thread,
 * never on a task stack (asyncio's call_soon_threadsafe).  Returns 0, or
 * -ENOMEM / -EINVAL (nothing will run then).  Lifetime: l must be running
 * (the caller knows its runtime has not ended).  Thread: any.
 */
COR_API int cor_call_soon_threadsafe(cor_loop *l, void (*fn)(void *arg),
                                     void *arg);

/*
 * cor_run_coroutine_threadsafe - start fn(arg) as a task on loop l and give
 * its handle (asyncio's run_coroutine_threadsafe).  Wait for it from a plain
 * thread with cor_future_wait_threadsafe(cor_task_future(t), ...), cancel it
 * with cor_task_cancel() (any thread), release it with cor_task_release().
 * Returns 0 and *out (one reference), -EINVAL, -ENOMEM.  Never blocks.
 * Lifetime: l must be running.  Thread: any.
 */
COR_API int cor_run_coroutine_threadsafe(cor_loop *l, cor_fn *fn, void *arg,
                                         cor_task **out);

/*
 * cor_future_wait_threadsafe - block the calling plain thread until f (a
 * future or a task of any loop) is finished, then report as
 * cor_future_await() does: 0 and *result, -ECANCELED, or the error code.
 * Returns -EPERM on a loop thread (a loop must never block: await instead).
 * Lifetime: the caller holds a reference to f; f's loop must be running.
 * Thread: a thread that is not a loop.
 */
COR_API int cor_future_wait_threadsafe(cor_future *f, void **result);

#ifdef __cplusplus
}
#endif
#endif
