/* SPDX-License-Identifier: MIT */
/*
 * coring/channel.h - a bounded multi-producer multi-consumer channel of
 * pointers that tasks on any loop and plain threads may send to and receive
 * from.  Items come out in the order they went in; none is lost or
 * delivered twice, also when a waiting sender or receiver is cancelled.
 * Thread-safe: no home loop.  A NULL channel or item pointer is -EINVAL
 * (cor_chan_close and cor_chan_destroy do nothing, cor_chan_len is 0).
 */
#ifndef CORING_CHANNEL_H
#define CORING_CHANNEL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_chan cor_chan;

/*
 * cor_chan_create - a channel that buffers up to cap items (1 .. 2^24).
 * Returns 0 and *out, -EINVAL for a bad cap, -ENOMEM.  Lifetime: the creator
 * destroys it with cor_chan_destroy() once no one uses it.  Thread: any.
 */
COR_API int cor_chan_create(cor_chan **out, size_t cap);

/* cor_chan_destroy - free the channel; items still buffered are dropped.
 * No call may be in progress or follow.  Thread: any. */
COR_API void cor_chan_destroy(cor_chan *ch);

/*
 * cor_chan_send - put item in the channel, waiting while it is full: a task
 * suspends (its loop keeps running), a plain thread blocks.
 * Returns 0 once the item is in; -EPIPE if the channel is closed (the item
 * was not taken); -ECANCELED / -ETIMEDOUT if the task was interrupted while
 * waiting (the item was not taken).  An interrupt that comes after the item
 * was taken returns 0: the item is never lost nor duplicated, and the
 * cancellation stays pending for the next suspending call.
 * Suspends.  Thread: a task or a plain thread (a loop callback gets
 * -EAGAIN rather than block).
 */
COR_API int cor_chan_send(cor_chan *ch, void *item);

/*
 * cor_chan_recv - take the oldest item, waiting while the channel is empty.
 * Returns 0 and *item; -EPIPE once the channel is closed and empty;
 * -ECANCELED / -ETIMEDOUT if the task was interrupted (nothing taken).  A
 * task handed an item but interrupted before it ran gives the item back -
 * to the next receiver, or into the channel before every item sent after
 * it - and returns the interrupt (as asyncio's Queue.get); only if memory
 * runs out for that does it return 0 and the item.  Suspends.
 * Thread: as cor_chan_send.
 */
COR_API int cor_chan_recv(cor_chan *ch, void **item);

/* Never wait: -EAGAIN when full (send) or empty (recv), else as above.
 * Thread: any. */
COR_API int cor_chan_try_send(cor_chan *ch, void *item);
COR_API int cor_chan_try_recv(cor_chan *ch, void **item);

/*
 * cor_chan_close - no more sends: waiting senders get -EPIPE, receivers
 * drain what is buffered and then get -EPIPE.  Closing twice is harmless.
 * Thread: any.
 */
COR_API void cor_chan_close(cor_chan *ch);

/* Items buffered now (stale as soon as it returns).  Thread: any. */
COR_API size_t cor_chan_len(cor_chan *ch);

#ifdef __cplusplus
}
#endif
#endif
