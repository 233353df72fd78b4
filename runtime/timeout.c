/* SPDX-License-Identifier: MIT */
/*
 * timeout.c - timeout scopes (asyncio.timeout) over the task deadline of
 * task.c.  A scope saves the deadline in force, installs the earlier of the
 * two, and on its end restores the saved one; so nested scopes keep the
 * earliest deadline, and an outer deadline that passed stays passed.
 */
#include "internal.h"

#include <math.h>

int cor_timeout_begin_at(cor_timeout_scope *s, int64_t deadline_ns)
{
    struct cor_task *t = cor__need_task("cor_timeout_begin");
    if (!s)
        return -EINVAL;
    s->outer = t->deadline;
    s->outer_expired = t->expired;
    s->deadline = deadline_ns;
    /* When the outer deadline comes first there is nothing to change. */
    if (deadline_ns < t->deadline && !t->expired) {
        int rc = cor__task_set_deadline(t, deadline_ns);
        if (rc < 0) {
            s->deadline = INT64_MAX;
            return rc; /* not opened */
        }
    }
    s->prev = t->scope;
    t->scope = s;
    return 0;
}

int cor__deadline_of(double seconds, int64_t *out)
{
    if (seconds != seconds)
        return -EINVAL;
    int64_t now = cor_now_ns();
    if (seconds == COR_NO_TIMEOUT || seconds >= 9.2e9)
        *out = INT64_MAX;
    else if (seconds <= 0)
        *out = now; /* e.g. a remaining time that went negative: now */
    else {
        double ns = ceil(seconds * 1e9);
        *out = ns >= (double)(INT64_MAX - now) ? INT64_MAX
                                               : now + (int64_t)ns;
    }
    return 0;
}

int cor_timeout_begin(cor_timeout_scope *s, double seconds)
{
    int64_t d;
    int rc = cor__deadline_of(seconds, &d);
    return rc < 0 ? rc : cor_timeout_begin_at(s, d);
}

int cor_timeout_end(cor_timeout_scope *s)
{
    struct cor_task *t = cor__need_task("cor_timeout_end");
    /* Only the innermost scope open in this task ends: one ended already,
     * or ended out of order, would restore a deadline of a scope that has
     * ended (or drop one still open). */
    if (!s || s != t->scope)
        return -EINVAL;
    t->scope = s->prev;
    /* Ours only if this scope installed the deadline in force. */
    bool mine = s->deadline < s->outer && !s->outer_expired;
    if (!mine)
        return 0;
    /* As asyncio: the scope timed out only if its timer fired, not when
     * the block merely ran past the deadline without suspending. */
    bool fired = t->expired;
    int rc = cor__task_set_deadline(t, s->outer);
    if (fired)
        return -ETIMEDOUT;
    return rc < 0 ? rc : 0; /* -ENOMEM: the outer deadline could not be
                             * re-armed and is dropped */
}
