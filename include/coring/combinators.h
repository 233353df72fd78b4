/* SPDX-License-Identifier: MIT */
/*
 * coring/combinators.h - asyncio's ways of waiting for several things:
 * gather, wait, wait_for, as_completed, shield, timeout scopes and task
 * groups.  Each works over futures of the calling loop (a task is a future:
 * cor_task_future()).  None of them takes ownership of the futures passed in.
 */
#ifndef CORING_COMBINATORS_H
#define CORING_COMBINATORS_H

#include "common.h"
#include "future.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A timeout argument meaning "no limit".  Any other timeout <= 0 (-0.5,
 * -INFINITY, a remaining time computed past its end) means "now": the
 * deadline has passed.  NaN is -EINVAL. */
#define COR_NO_TIMEOUT (-1.0)

/* cor_gather flag: keep going after a failure, like return_exceptions=True. */
#define COR_RETURN_ERRORS 1u

/*
 * cor_gather - wait for the n futures fs[] (asyncio.gather).  Results land in
 * input order: results[i] (may be NULL) gets fs[i]'s result, status[i] (may
 * be NULL) gets fs[i]'s status as cor_future_result() reports it
 * (COR_EINVALSTATE for one still running).
 *
 * Without COR_RETURN_ERRORS it returns at the first failure (an error or a
 * cancellation) with that child's code and leaves the other children
 * running.  With it, it waits for all and returns 0; the failures are in
 * status[].  If the caller is cancelled (or its deadline passes) while
 * waiting, every child that is a task is cancelled (as asyncio cancels a
 * gather's children with the gather) and the call returns -ECANCELED (or
 * -ETIMEDOUT) without waiting for them.
 *
 * Returns 0, a child's error code, -ECANCELED, -ETIMEDOUT, -EINVAL (fs NULL
 * with n > 0), -EXDEV (a future of another loop), -ENOMEM.
 * Lifetime: fs, results and status need only live during the call; the
 * errors of failed children stay with the children (cor_future_error()).
 * Suspends (unless every child is done).  Thread: a task.
 */
COR_API int cor_gather(cor_future *const *fs, size_t n, void **results,
                       int *status, unsigned flags);

/*
 * cor_gather_future - the future form of gather: *out finishes once the
 * gather is complete (with results[]/status[] filled as cor_gather fills
 * them, and result = results), or at the first failure without
 * COR_RETURN_ERRORS (with that child's error; a cancelled child gives an
 * -ECANCELED error, as asyncio's gather raises CancelledError).  The
 * children run whether or not *out is awaited.  Cancelling *out cancels
 * every child that has not finished.
 * Returns 0, -EINVAL, -EXDEV, -ENOMEM, -EPERM off a loop.
 * Lifetime: results and status (either may be NULL) must stay valid until
 * every child has finished; the children are referenced until then.
 * Thread: a loop thread.
 */
COR_API int cor_gather_future(cor_future *const *fs, size_t n,
                              void **results, int *status, unsigned flags,
                              cor_future **out);

/* cor_wait modes (asyncio's return_when). */
enum cor_wait_when {
    COR_ALL_COMPLETED = 0,
    COR_FIRST_COMPLETED = 1,
    COR_FIRST_EXCEPTION = 2, /* an error; a cancellation does not count */
};

/*
 * cor_wait - wait until `when` holds for fs[] or timeout seconds passed
 * (COR_NO_TIMEOUT: no limit).  done[i] (may be NULL) tells whether fs[i] is
 * finished.  Never cancels anything, and a timeout is not an error: the
 * split is returned as it is.
 * Returns the number of finished futures, -EINVAL (bad when, NaN timeout),
 * -EXDEV, -ENOMEM, or -ECANCELED / -ETIMEDOUT when the caller itself is
 * cancelled or its own deadline passes.  Suspends.  Thread: a task.
 */
COR_API int cor_wait(cor_future *const *fs, size_t n, int when,
                     double timeout, bool *done);

/*
 * cor_wait_for - await f for at most timeout seconds (COR_NO_TIMEOUT: no
 * limit).  On expiry it cancels f, waits until f has handled the
 * cancellation (a task's cleanup runs to its end), then returns -ETIMEDOUT
 * (or f's result, if f finished with one anyway).  If the caller is
 * cancelled while waiting, f is cancelled and joined the same way and
 * -ECANCELED is returned.  f's own error comes back unchanged.
 * Returns 0 and *result (may be NULL), f's error code, -ETIMEDOUT,
 * -ECANCELED, -EINVAL, -EXDEV.  Suspends.  Thread: a task.
 */
COR_API int cor_wait_for(cor_future *f, double timeout, void **result);

/*
 * cor_wait_for_fn - spawn fn(arg) as a task and cor_wait_for() it (the
 * coroutine form of wait_for).  Returns as cor_wait_for, or -ENOMEM.
 * Suspends.  Thread: a task.
 */
COR_API int cor_wait_for_fn(cor_fn *fn, void *arg, double timeout,
                            void **result);

/*
 * cor_shield - *outer = a new future that copies inner's outcome once inner
 * finishes.  Cancelling *outer never touches inner; cancelling inner
 * cancels *outer.  Returns 0 or -ENOMEM / -EPERM (off a loop).
 * Lifetime: *outer has one reference for the caller; inner is referenced
 * until it finishes.  Thread: inner's home loop.
 */
COR_API int cor_shield(cor_future *inner, cor_future **outer);

/*
 * As-completed iteration: the futures in the order they finish.
 */
typedef struct cor_as_completed cor_as_completed;

/*
 * cor_as_completed_create - start watching fs[0..n) (each is referenced
 * until destroy).  timeout (seconds, COR_NO_TIMEOUT) bounds the whole
 * iteration.  Returns 0, -EINVAL, -EXDEV, -ENOMEM.  Thread: a loop thread.
 */
COR_API int cor_as_completed_create(cor_as_completed **out,
                                    cor_future *const *fs, size_t n,
                                    double timeout);
/*
 * cor_as_completed_next - 1 and *f (borrowed from the caller's array) for the
 * next future to finish; 0 when all have been handed out; -ETIMEDOUT when
 * the iteration's timeout passed; -ECANCELED.  Suspends.  Thread: a task.
 */
COR_API int cor_as_completed_next(cor_as_completed *ac, cor_future **f);
/* Free it (never while a task waits in next).  Thread: its loop. */
COR_API void cor_as_completed_destroy(cor_as_completed *ac);

/*
 * The same over tasks, without building a future array first: each is
 * exactly its cor_* counterpart on cor_task_future(ts[i]), with the same
 * returns, plus -ENOMEM (more than 16 tasks need an array on the heap).
 * cor_as_completed_next_task gives the next task to finish (borrowed, as
 * the future is); -EINVAL if the iterator holds a plain future.
 * Suspends (except create).  Thread: as the counterparts.
 */
COR_API int cor_gather_tasks(cor_task *const *ts, size_t n, void **results,
                             int *status, unsigned flags);
COR_API int cor_wait_tasks(cor_task *const *ts, size_t n, int when,
                           double timeout, bool *done);
COR_API int cor_as_completed_create_tasks(cor_as_completed **out,
                                          cor_task *const *ts, size_t n,
                                          double timeout);
COR_API int cor_as_completed_next_task(cor_as_completed *ac, cor_task **t);

/*
 * Timeout scopes (asyncio.timeout): a deadline over a block.  Suspending
 * calls inside the block return -ETIMEDOUT once it passes, until the scope
 * ends.  Scopes nest (the earliest deadline wins) and must end in the reverse
 * order they began, in the task that began them.  The struct lives on the
 * caller's stack; its fields are private.
 */
typedef struct cor_timeout_scope {
    int64_t outer;    /* the deadline before the scope */
    int64_t deadline; /* this scope's deadline */
    bool outer_expired;
    struct cor_timeout_scope *prev; /* the scope it is nested in */
} cor_timeout_scope;

/*
 * cor_timeout_begin - open a scope of `seconds` (COR_NO_TIMEOUT: none).
 * Returns 0, -EINVAL (NaN), -ENOMEM (then no scope was opened: do not end
 * it).  Never suspends.  Thread: a task.
 */
COR_API int cor_timeout_begin(cor_timeout_scope *s, double seconds);
/* cor_timeout_begin with an absolute cor_now_ns() deadline. */
COR_API int cor_timeout_begin_at(cor_timeout_scope *s, int64_t deadline_ns);
/*
 * cor_timeout_end - close the scope; returns -ETIMEDOUT if this scope's own
 * deadline passed (so the block was cut short by it), else 0.  An outer
 * scope's expiry stays in force.  -EINVAL, changing nothing, when s is not
 * the innermost scope open in the calling task (ended already, ended
 * before a scope nested in it, another task's, or never opened).  Never
 * suspends.  Thread: the same task.
 */
COR_API int cor_timeout_end(cor_timeout_scope *s);

/*
 * Task groups (asyncio.TaskGroup): spawn children into a group, then join
 * it.  The first child failure that is not a cancellation cancels the other
 * children; join waits for all of them and reports every such failure in
 * one group error.  A cancelled child does not stop the others.
 */
typedef struct cor_group cor_group;

/* A new, empty group on the calling loop.  0, -ENOMEM, -EPERM off a loop. */
COR_API int cor_group_create(cor_group **out);

/*
 * cor_group_spawn - spawn fn(arg) into g.  *out (may be NULL) gets one
 * reference to the task.  Returns 0, COR_EINVALSTATE after the group was
 * joined, -ENOMEM, -EXDEV from another loop.  Never suspends.
 * Thread: g's loop (a task or a callback, children included).
 */
COR_API int cor_group_spawn(cor_group *g, cor_task **out, cor_fn *fn,
                            void *arg);

/*
 * cor_group_join - wait until every child (also those spawned meanwhile)
 * has finished.  Returns 0 if none failed; -ECANCELED if the caller was
 * cancelled (the children are then cancelled and still waited for); else
 * the code of the first failure, with *err (may be NULL) = a group error
 * (code of the first failure, children = every non-cancel failure in the
 * order they happened; valid until cor_group_destroy).  Afterwards the group
 * takes no more children.  Suspends.  Thread: a task on g's loop.
 */
COR_API int cor_group_join(cor_group *g, const cor_error **err);

/*
 * cor_group_close - join g, then destroy it, in one call: asyncio's
 * `async with TaskGroup()` exit.  Returns as cor_group_join; *err (may be
 * NULL) gets the group error as a reference the caller owns (release it
 * with cor_error_release), so it stays valid after the group is gone -
 * where join then destroy would leave it dangling.  On -EINVAL, -EXDEV or
 * -EBUSY (nothing was joined) the group is left as it was.
 * Suspends.  Thread: a task on g's loop.
 */
COR_API int cor_group_close(cor_group *g, const cor_error **err);

/* Number of children spawned so far.  Thread: g's loop. */
COR_API size_t cor_group_size(const cor_group *g);

/*
 * cor_group_destroy - free g.  Children still running are cancelled first
 * and keep running to their end on their own.  A join waiting in another
 * task returns -EBADF (*err NULL) once they have ended, and g goes then.
 * Thread: g's loop.
 */
COR_API void cor_group_destroy(cor_group *g);

#ifdef __cplusplus
}
#endif
#endif
