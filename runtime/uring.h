/* SPDX-License-Identifier: MIT */
/*
 * uring.h - the io_uring backend's state of a loop (uring.c), for the
 * backend itself and the tests that look at the ring.
 */
#ifndef CORING_URING_H
#define CORING_URING_H

#include "internal.h"

#include <liburing.h>

struct cor__uring {
    struct io_uring ring;
    unsigned flags;        /* setup flags in effect */
    bool registered;       /* in its thread's registered-ring table */
    bool efd_armed;
    uint64_t efd_buf;
    unsigned sqe_seen, cqe_seen; /* SQ tail and CQ head when last folded
                                    into the loop's stats */
};

static inline struct cor__uring *cor__uring_of(struct cor_loop *l)
{
    return (struct cor__uring *)l->bstate;
}

/*
 * Loop-to-loop wakeups: true (the default) wakes a sleeping loop with
 * IORING_OP_MSG_RING from the posting loop's ring, false with its eventfd.
 * Threads without a ring always use the eventfd.
 */
extern _Atomic bool cor__wake_msgring;

#endif
