/* SPDX-License-Identifier: MIT */
/*
 * coring/queue.h - asyncio.Queue for the tasks of one loop: FIFO, LIFO or
 * priority order, an optional maxsize, waiting and non-waiting put and get,
 * task_done and join.  Items are pointers; the queue never owns them.
 * Blocked getters and putters are served in the order they started waiting.
 * Loop-local: every call from any other thread returns -EXDEV and changes
 * nothing (the queries answer 0 / false there); see cor_xqueue for a queue
 * shared by loops.  A NULL queue or item pointer is -EINVAL (0 / false for
 * the queries).
 */
#ifndef CORING_QUEUE_H
#define CORING_QUEUE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_queue cor_queue;

enum cor_queue_kind {
    COR_QUEUE_FIFO = 0,
    COR_QUEUE_LIFO = 1,
    COR_QUEUE_PRIORITY = 2, /* smallest first by cmp; ties in put order */
};

typedef struct cor_queue_opts {
    size_t maxsize; /* 0: unbounded */
    int kind;       /* enum cor_queue_kind */
    /* PRIORITY: < 0 when a comes before b. */
    int (*cmp)(const void *a, const void *b);
} cor_queue_opts;

/*
 * cor_queue_create - a new queue on the calling loop (opts NULL: unbounded
 * FIFO).  Returns 0, -EINVAL (bad kind, PRIORITY without cmp), -ENOMEM,
 * -EPERM off a loop.  Thread: a loop thread.
 */
COR_API int cor_queue_create(cor_queue **out, const cor_queue_opts *opts);
/* Free it; no task may be waiting on it.  Thread: its loop. */
COR_API void cor_queue_destroy(cor_queue *q);

/*
 * cor_queue_put - add item, waiting while the queue is full.  A getter that
 * is waiting gets the item handed over (it runs later; put does not switch
 * to it).  Returns 0, -ECANCELED, -ETIMEDOUT, -EXDEV (the item was then not
 * added).  A blocked put whose item went in returns 0 even if the task was
 * cancelled before it ran (the cancellation stays pending).  Suspends only
 * when full.  Thread: a task on q's loop.
 */
COR_API int cor_queue_put(cor_queue *q, void *item);
/* Without waiting: 0 or -EAGAIN when full, -EXDEV.  Thread: q's loop. */
COR_API int cor_queue_put_nowait(cor_queue *q, void *item);

/*
 * cor_queue_get - take the next item, waiting while the queue is empty.
 * Returns 0 and *item, -ECANCELED, -ETIMEDOUT, -EXDEV (nothing was taken).
 * A getter handed an item but cancelled (or timed out) before it ran gives
 * the item back - to the next getter, or into the queue where its put order
 * places it - and returns the interrupt, so no item is lost to a
 * cancellation.  Suspends only when empty.  Thread: a task on q's loop.
 */
COR_API int cor_queue_get(cor_queue *q, void **item);
/* Without waiting: 0 and *item, or -EAGAIN when empty, -EXDEV. */
COR_API int cor_queue_get_nowait(cor_queue *q, void **item);

/*
 * cor_queue_task_done - one item taken earlier is processed.  Returns 0, or
 * COR_EINVALSTATE when called more times than items were put, -EXDEV.
 */
COR_API int cor_queue_task_done(cor_queue *q);
/*
 * cor_queue_join - wait until task_done was called for every item put.
 * Returns 0, -ECANCELED, -ETIMEDOUT, -EXDEV.  Suspends.  Thread: a task.
 */
COR_API int cor_queue_join(cor_queue *q);

COR_API size_t cor_queue_size(const cor_queue *q);
COR_API bool cor_queue_empty(const cor_queue *q);
COR_API bool cor_queue_full(const cor_queue *q);
COR_API size_t cor_queue_maxsize(const cor_queue *q);

#ifdef __cplusplus
}
#endif
#endif
