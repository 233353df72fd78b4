/* SPDX-License-Identifier: MIT */
/*
 * coring/runtime.h - cor_run(), asyncio.run for C, and the loops it runs.
 */
#ifndef CORING_RUNTIME_H
#define CORING_RUNTIME_H

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_loop cor_loop;

/* cor_run_opts.backend: how loops reach the kernel (docs/api.md, "Backends"). */
enum { COR_BACKEND_AUTO = 0, COR_BACKEND_IO_URING = 1, COR_BACKEND_EPOLL = 2 };

/* cor_run_opts.pin: thread-per-core pinning of the loop threads. */
enum { COR_PIN_NEVER = -1, COR_PIN_AUTO = 0, COR_PIN_ALWAYS = 1 };

typedef struct cor_run_opts {
    int loops;              /* event loops; 0: one per online core */
    size_t stack_size;      /* default task stack; 0: 64 KiB (256 under ASan) */
    unsigned ring_entries;  /* SQ entries per ring; 0: 1024 */
    int pin;                /* COR_PIN_AUTO (0): pin loop i to core i when
                               there are several loops; COR_PIN_ALWAYS;
                               COR_PIN_NEVER */
    bool no_defer_taskrun;  /* skip SINGLE_ISSUER|DEFER_TASKRUN */
    bool guard_mprotect;    /* guard stacks with mprotect, not MADV_GUARD */
    size_t guard_budget;    /* with mprotect: guarded stacks at most; 0 auto */
    const cor_error **error; /* when not NULL: set to main's error when
                                cor_run fails, NULL when it returns 0 */
    /* Seeing inside (docs/api.md, "Seeing inside"); the environment's
     * COR_DEBUG, COR_STALL_MS, COR_SLOW_MS and COR_DUMP_SIGNAL apply where
     * these are 0. */
    bool debug;             /* debug mode: dropped tasks, slow steps, and
                               the stall detector at 1 s unless set */
    double slow_step;       /* debug mode: report a task step or callback
                               longer than this (seconds); 0: 0.1 */
    double stall_threshold; /* report a loop that does not come back to its
                               poll within this (seconds); 0: off (1 s in
                               debug mode) */
    int dump_signal;        /* on this signal, dump every task to stderr;
                               0: none */
    bool keep_sigint;       /* SIGINT does not cancel main (coring/signal.h
                               still forwards it to its usual action) */
    bool no_signals;        /* block no signal: coring/signal.h serves only
                               those the caller blocked before cor_run */
    int backend;            /* COR_BACKEND_AUTO (0): io_uring, epoll when
                               io_uring is refused (the environment's
                               COR_BACKEND=io_uring|epoll applies where 0);
                               COR_BACKEND_IO_URING; COR_BACKEND_EPOLL */
} cor_run_opts;

/* What cor_run returns when a SIGINT cancelled main and main ended
 * cancelled (asyncio.run's KeyboardInterrupt). */
#define COR_EINTERRUPTED (-EINTR)

/*
 * cor_run - run main(arg) as Task-1 until it returns, like asyncio.run: boot
 * the loops, run main, then cancel every task still alive and wait for each
 * to end, and free everything.  Handles to tasks become invalid on return.
 *
 * Ctrl-C, as asyncio.run: the first SIGINT (while SIGINT is at its default
 * disposition and no coring/signal.h handler or waiter wants it) cancels
 * main; main's cleanup runs, then the leftovers are cancelled and joined as
 * always, and cor_run returns COR_EINTERRUPTED if main ended cancelled (a
 * main that suppressed the cancellation returns as usual).  A second SIGINT
 * before main has ended takes its default action (the process dies).
 * opts.keep_sigint turns this off.
 *
 * Returns 0 (and *result = main's result when result != NULL), main's error
 * code if main failed (-ECANCELED if it was cancelled), or the reason the
 * runtime could not start: -EPERM / -ENOSYS / -ENOMEM when io_uring is
 * refused (a message naming the cause and the fix goes to the log hook),
 * -EBUSY when called from inside a running loop, -EINVAL for bad options.
 *
 * opts->error, when not NULL, receives why: on failure a reference to an
 * error whose code is the return value (main's own error, message included,
 * when main failed; one with an empty message otherwise), released by the
 * caller with cor_error_release(); NULL when cor_run returns 0.
 * Thread: any thread that is not a loop.
 */
COR_API int cor_run(cor_fn *main, void *arg);
COR_API int cor_run_ex(cor_fn *main, void *arg, const cor_run_opts *opts,
                       void **result);

/* The calling thread's loop, or NULL when no loop runs here.  Thread: any. */
COR_API cor_loop *cor_loop_current(void);

/* Index of the calling loop (0-based), -1 off a loop; and the loop count. */
COR_API int cor_loop_index(void);
COR_API int cor_loop_count(void);

/*
 * cor_call_soon - run fn(arg) on the calling loop soon, after the tasks that
 * are ready now, never on a task stack.  Returns 0 or -ENOMEM.
 * Thread: a loop thread.
 */
COR_API int cor_call_soon(void (*fn)(void *arg), void *arg);

/*
 * Counters of a loop, for observability and benchmarks.  The totals count
 * from the loop's start; the "now" fields are read when the snapshot is
 * taken.  cor_loop_stats_all() and cor_stats_print() (coring/debug.h) give
 * every loop's, and print them.
 */
typedef struct cor_loop_stats {
    uint64_t iterations;   /* loop iterations */
    uint64_t enters;       /* io_uring_enter calls made by the loop (epoll:
                              epoll_pwait2 calls) */
    uint64_t switches;     /* task resumptions */
    uint64_t cqes;         /* completions reaped (epoll: ops ended) */
    uint64_t inbox_msgs;   /* cross-thread messages drained */
    uint64_t sqes;         /* submission entries handed to the ring (epoll:
                              ops tried by the loop, not the executor's
                              file ops; docs/api-debug.md) */
    uint64_t cq_overflows; /* completions the kernel could not post at once
                              because the CQ ring was full (its counter) */
    size_t ready;          /* now: entries in the ready queue */
    size_t timers;         /* now: armed timers (sleeps, deadlines) */
    size_t ops;            /* now: operations in flight on the ring */
    int loop;              /* the loop's index */
    size_t tasks;          /* now: live tasks (not done) */
    size_t stacks_guarded; /* stacks allocated with a guard page */
    size_t stacks_canary;  /* stacks allocated without one (canary only) */
    unsigned ring_flags;   /* io_uring setup flags in effect */
    size_t fixed_files;    /* server connections in the ring's registered-file
                              table now (docs/api-io.md) */
} cor_loop_stats;
/* The calling loop's counters.  Returns 0, -EPERM off a loop.
 * Thread: a loop thread. */
/*
 * cor_backend_name - "io_uring" or "epoll": the backend of the calling
 * thread's loop; NULL off a loop.  Thread: any.
 */
COR_API const char *cor_backend_name(void);

COR_API int cor_loop_stats_get(cor_loop_stats *st);

#ifdef __cplusplus
}
#endif
#endif
