/* SPDX-License-Identifier: MIT */
/*
 * coring/gen.h - async generators and iteration helpers.
 *
 * A generator runs body(g, arg) on a stack of its own.  cor_gen_next() runs
 * the body, on behalf of the calling task, until it yields a value
 * (cor_gen_yield) or returns; the body may await anything in between (it
 * then suspends the calling task, and other tasks run meanwhile), exactly
 * as the body of an async generator runs inside the task that awaits its
 * anext().  A generator left suspended after a `break` can be resumed later;
 * cor_gen_close() resumes it once more with cor_gen_yield() returning
 * -ECANCELED so its cleanup runs.
 */
#ifndef CORING_GEN_H
#define CORING_GEN_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_gen cor_gen;

/*
 * A generator body: yields with cor_gen_yield(g, v); returns 0 when it is
 * exhausted, or a negative errno that the pending cor_gen_next() returns
 * (its "exception").
 */
typedef int cor_gen_fn(cor_gen *g, void *arg);

/*
 * cor_gen_create - a generator that will run body(g, arg) on a stack of
 * stack_size bytes (0: the runtime's default).  Nothing runs until the first
 * cor_gen_next().  Returns 0, -EINVAL, -ENOMEM, -EPERM off a loop.
 * Thread: a loop thread; the generator belongs to that loop.
 */
COR_API int cor_gen_create(cor_gen **out, cor_gen_fn *body, void *arg,
                           size_t stack_size);

/*
 * cor_gen_next - resume the body until its next yield.  Returns 1 and
 * *value (may be NULL) for a yielded value; 0 when the body has returned 0
 * (and on every later call); the body's negative return code (once, then 0);
 * -EBUSY if the generator is already running (nested or from another task);
 * -EXDEV from another loop.  A cancellation of the caller reaches the body
 * at its next await.  Suspends (when the body does).  Thread: a task.
 */
COR_API int cor_gen_next(cor_gen *g, void **value);

/*
 * cor_gen_yield - called by the body: hand value to the caller of
 * cor_gen_next and wait to be resumed.  Returns 0 when resumed by next,
 * -ECANCELED when the generator is being closed (the body should clean up
 * and return; later yields return -ECANCELED at once).  Thread: the body.
 */
COR_API int cor_gen_yield(cor_gen *g, void *value);

/*
 * cor_gen_close - finish the generator: if it is suspended at a yield, resume
 * it with -ECANCELED and run it to its end (its cleanup may await).
 * Returns 0, the body's error, -EBUSY while running.  Suspends (when the
 * cleanup does).  Thread: a task on g's loop.
 */
COR_API int cor_gen_close(cor_gen *g);

/*
 * cor_gen_destroy - free g.  A generator still suspended inside its body is
 * closed first (which needs a task; off a task its stack is simply freed
 * without running the cleanup).  One running (in another task's
 * cor_gen_next, or destroyed by its own body) is freed once its body ends:
 * its yields return -ECANCELED from then on, and that cor_gen_next returns
 * -EBADF.  Thread: g's loop.
 */
COR_API void cor_gen_destroy(cor_gen *g);

/*
 * Iteration: anything with a `next` of this shape (1 and an item, 0 at the
 * end, < 0 an error) can be collected.  cor_gen_next fits via cor_gen_iter.
 */
typedef int cor_next_fn(void *self, void **item);
COR_API int cor_gen_iter(void *gen, void **item);

/*
 * cor_collect - pull every item of an iterator into out[0..cap), keeping
 * those pred(item, ud) accepts (pred NULL: all), sequentially (an async
 * comprehension; use cor_gather for concurrency).  Stops after cap kept
 * items.  Returns the number kept, the iterator's error, or -EINVAL (next
 * NULL, or out NULL with cap > 0).  Suspends when the iterator does.
 * Thread: a task.
 */
COR_API long cor_collect(cor_next_fn *next, void *self, void **out,
                         size_t cap, bool (*pred)(void *item, void *ud),
                         void *ud);

/* for (item in gen): `for (COR_GEN_FOR(rc, g, &v)) { ... }`; rc < 0 after
 * the loop is the body's error. */
#define COR_GEN_FOR(rc, g, vp)                                                 \
    (rc) = cor_gen_next((g), (vp));                                            \
    (rc) > 0;                                                                  \
    (rc) = cor_gen_next((g), (vp))

#ifdef __cplusplus
}
#endif
#endif
