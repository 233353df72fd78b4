/* SPDX-License-Identifier: MIT */
/*
 * coring/xsync.h - cross-loop Semaphore, Event and Queue: usable from tasks
 * on any loop of the runtime and, where it is natural, from plain threads.
 * The loop-local primitives of sync.h and queue.h are faster and belong to
 * one loop (asyncio's objects are bound to one loop too); use these when
 * tasks on different loops share one object.  All are built on the MPMC
 * channel (channel.h), so waiters are served in FIFO order and a wake-up
 * that crosses loops goes through the waiter's inbox.
 */
#ifndef CORING_XSYNC_H
#define CORING_XSYNC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------- Semaphore --- */
typedef struct cor_xsem cor_xsem;

/*
 * cor_xsem_create - a semaphore with `value` units that can hold at most
 * `max` (a BoundedSemaphore: releasing past max is an error).
 * Returns 0 and *out, -EINVAL (value < 0, max < 1, value > max,
 * max > 2^24), -ENOMEM.  Lifetime: destroy it once no one uses it.
 * Thread: any.
 */
COR_API int cor_xsem_create(cor_xsem **out, int value, int max);
/* Free it; no call may be in progress or follow.  Thread: any. */
COR_API void cor_xsem_destroy(cor_xsem *s);
/*
 * cor_xsem_acquire - take one unit, waiting (FIFO across every loop and
 * thread) while there is none: a task suspends, a plain thread blocks.
 * Returns 0, -ECANCELED / -ETIMEDOUT (nothing taken), -EAGAIN from a loop
 * callback.  Suspends.  Thread: a task on any loop, or a plain thread.
 */
COR_API int cor_xsem_acquire(cor_xsem *s);
/* 0, or -EAGAIN when no unit is free.  Never waits.  Thread: any. */
COR_API int cor_xsem_try_acquire(cor_xsem *s);
/*
 * cor_xsem_release - give one unit back (to the oldest waiter, if any).
 * Returns 0, or -EOVERFLOW when the semaphore already holds max units.
 * Never waits.  Thread: any.
 */
COR_API int cor_xsem_release(cor_xsem *s);
/* Free units now (a snapshot).  Thread: any. */
COR_API int cor_xsem_value(cor_xsem *s);

/* ----------------------------------------------------------- Event --- */
typedef struct cor_xevent cor_xevent;

/* A cleared event.  Returns 0, -EINVAL, -ENOMEM.  Thread: any. */
COR_API int cor_xevent_create(cor_xevent **out);
/* Free it; no call may be in progress or follow.  Thread: any. */
COR_API void cor_xevent_destroy(cor_xevent *e);
/* Set it and wake every waiter, on whatever loop or thread.  Thread: any. */
COR_API void cor_xevent_set(cor_xevent *e);
/*
 * cor_xevent_clear - later waits wait again (those already woken by a set
 * stay woken).  Returns 0 or -ENOMEM (the event stays set).  Thread: any.
 */
COR_API int cor_xevent_clear(cor_xevent *e);
COR_API bool cor_xevent_is_set(cor_xevent *e);
/*
 * cor_xevent_wait - return once the event is set (at once if it is).
 * Returns 0, -ECANCELED, -ETIMEDOUT, -EAGAIN from a loop callback.
 * Suspends.  Thread: a task on any loop, or a plain thread.
 */
COR_API int cor_xevent_wait(cor_xevent *e);

/* ----------------------------------------------------------- Queue --- */
typedef struct cor_xqueue cor_xqueue;

/*
 * cor_xqueue_create - a FIFO queue of at most maxsize items (1 .. 2^24; the
 * buffer is allocated up front).  Returns 0, -EINVAL, -ENOMEM.  Thread: any.
 */
COR_API int cor_xqueue_create(cor_xqueue **out, size_t maxsize);
/* Free it; items still queued are dropped; no call may be in progress or
 * follow.  Thread: any. */
COR_API void cor_xqueue_destroy(cor_xqueue *q);
/*
 * cor_xqueue_put - append item, waiting while the queue is full.  Returns 0,
 * -ECANCELED / -ETIMEDOUT (not queued), -EAGAIN from a loop callback.
 * Suspends.  Thread: a task on any loop, or a plain thread.
 */
COR_API int cor_xqueue_put(cor_xqueue *q, void *item);
/* 0, or -EAGAIN when full.  Never waits.  Thread: any. */
COR_API int cor_xqueue_put_nowait(cor_xqueue *q, void *item);
/*
 * cor_xqueue_get - take the oldest item, waiting while the queue is empty
 * (getters are served FIFO).  Returns 0 and *item, -ECANCELED / -ETIMEDOUT
 * (nothing taken), -EAGAIN from a loop callback.  Suspends.
 * Thread: a task on any loop, or a plain thread.
 */
COR_API int cor_xqueue_get(cor_xqueue *q, void **item);
/* 0 and *item, or -EAGAIN when empty.  Never waits.  Thread: any. */
COR_API int cor_xqueue_get_nowait(cor_xqueue *q, void **item);
/*
 * cor_xqueue_task_done - one item taken earlier is fully processed.
 * Returns 0, or -EINVAL if called more times than items were put.
 * Thread: any.
 */
COR_API int cor_xqueue_task_done(cor_xqueue *q);
/*
 * cor_xqueue_join - wait until every item put has been marked done.
 * Returns 0, -ECANCELED, -ETIMEDOUT, -EAGAIN from a loop callback.
 * Suspends.  Thread: a task on any loop, or a plain thread.
 */
COR_API int cor_xqueue_join(cor_xqueue *q);
/* Items queued now (a snapshot).  Thread: any. */
COR_API size_t cor_xqueue_size(cor_xqueue *q);

#ifdef __cplusplus
}
#endif
#endif
