/* SPDX-License-Identifier: MIT */
/*
 * coring/sync.h - synchronisation primitives for the tasks of one loop
 * (asyncio's Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier),
 * their cross-loop counterparts, and scoped acquire/release.
 *
 * The loop-local ones are not thread-safe: they belong to the loop that
 * created them.  Every call from any other thread (another loop or a plain
 * thread) returns -EXDEV and changes nothing; a query that cannot return an
 * error (cor_lock_locked, cor_event_is_set, cor_sem_locked) answers false
 * there.  Use xsync.h to share one object between loops.
 *
 * Waiters are served in the order they started waiting.  Every waiting call
 * returns -ECANCELED if the task is cancelled (or -ETIMEDOUT past its
 * deadline) and then holds nothing - also when the cancellation came after
 * the waiter was handed the lock, a unit or a notification but before it
 * ran: it then passes what it was handed on to the next waiter (as asyncio
 * does), unless a shield scope is open.
 *
 * Bad arguments: a NULL object or out pointer is -EINVAL (false for the
 * queries; destroying NULL does nothing).  Destroying a lock, event,
 * semaphore or barrier on its loop while tasks wait on it wakes them with
 * -EBADF (a condition must have no waiters when destroyed).
 */
#ifndef CORING_SYNC_H
#define CORING_SYNC_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ Lock ---- */

typedef struct cor_lock cor_lock;

/* A new unlocked lock on the calling loop.  0, -EINVAL, -ENOMEM, -EPERM off
 * a loop. */
COR_API int cor_lock_create(cor_lock **out);
/* Free it; tasks waiting for it return -EBADF.  Thread: its loop. */
COR_API void cor_lock_destroy(cor_lock *l);
/*
 * cor_lock_acquire - take the lock, waiting in FIFO order while another task
 * holds it.  A release hands the lock straight to the first waiter, so no
 * newcomer can overtake it.  Returns 0, -ECANCELED, -ETIMEDOUT, -EXDEV.
 * Suspends (only when the lock is held).  Thread: a task on l's loop.
 */
COR_API int cor_lock_acquire(cor_lock *l);
/* Take it if free: 0, or -EAGAIN, -EXDEV.  Never suspends. */
COR_API int cor_lock_try_acquire(cor_lock *l);
/* Release it (to the first waiter, if any): 0, or -EPERM if it is not
 * locked, -EXDEV.  Never suspends. */
COR_API int cor_lock_release(cor_lock *l);
COR_API bool cor_lock_locked(const cor_lock *l);

/* ----------------------------------------------------------- Event ---- */

typedef struct cor_event cor_event;

/* A new event, not set.  0, -EINVAL, -ENOMEM, -EPERM off a loop. */
COR_API int cor_event_create(cor_event **out);
COR_API void cor_event_destroy(cor_event *e);
/* Set it and wake every waiter (in the order they waited): 0, or -EXDEV
 * (nothing woken).  Never suspends.  Thread: e's loop. */
COR_API int cor_event_set(cor_event *e);
/* Clear it: 0, or -EXDEV. */
COR_API int cor_event_clear(cor_event *e);
COR_API bool cor_event_is_set(const cor_event *e);
/*
 * cor_event_wait - return at once if set, else wait until it is set.
 * Returns 0, -ECANCELED, -ETIMEDOUT, -EXDEV.  Suspends.  Thread: a task.
 */
COR_API int cor_event_wait(cor_event *e);

/* ------------------------------------------------------- Condition ---- */

typedef struct cor_cond cor_cond;

/*
 * cor_cond_create - a condition variable over lock (which it does not own;
 * NULL: it creates and owns one).  0, -EINVAL, -ENOMEM, -EPERM off a loop,
 * -EXDEV for a lock of another loop.
 */
COR_API int cor_cond_create(cor_cond **out, cor_lock *lock);
COR_API void cor_cond_destroy(cor_cond *c);
/* The lock the condition uses. */
COR_API cor_lock *cor_cond_lock(cor_cond *c);
/*
 * cor_cond_wait - release the lock (the caller must hold it: else -EPERM),
 * wait for a notify, and take the lock again before returning - also when
 * cancelled, so the caller always holds the lock afterwards.  A waiter
 * notified but cancelled before it ran passes the notification on to the
 * next waiter.  Returns 0, -ECANCELED, -ETIMEDOUT, -EPERM, -EXDEV.
 * Suspends.  Thread: a task.
 */
COR_API int cor_cond_wait(cor_cond *c);
/*
 * cor_cond_wait_for - cor_cond_wait until pred(arg) is true (checked first,
 * with the lock held).  Returns as cor_cond_wait.
 */
COR_API int cor_cond_wait_for(cor_cond *c, bool (*pred)(void *arg),
                              void *arg);
/* Wake up to n waiters / all of them.  The caller must hold the lock
 * (else -EPERM).  Return the number woken, or -EXDEV.  Never suspend. */
COR_API int cor_cond_notify(cor_cond *c, int n);
COR_API int cor_cond_notify_all(cor_cond *c);

/* ------------------------------------------------------- Semaphore ---- */

typedef struct cor_sem cor_sem;

/*
 * cor_sem_create - a semaphore with counter value (asyncio.Semaphore(value));
 * -EINVAL if value < 0.  cor_sem_create_bounded: releasing it past its
 * initial value is an error (asyncio.BoundedSemaphore).
 * 0, -EINVAL, -ENOMEM, -EPERM off a loop.
 */
COR_API int cor_sem_create(cor_sem **out, int value);
COR_API int cor_sem_create_bounded(cor_sem **out, int value);
COR_API void cor_sem_destroy(cor_sem *s);
/*
 * cor_sem_acquire - take one unit, waiting (FIFO) while the counter is 0.
 * The counter never goes below 0.  Returns 0, -ECANCELED, -ETIMEDOUT,
 * -EXDEV.  Suspends (only at 0).  Thread: a task on s's loop.
 */
COR_API int cor_sem_acquire(cor_sem *s);
/* 0, or -EAGAIN at 0, -EXDEV.  Never suspends. */
COR_API int cor_sem_try_acquire(cor_sem *s);
/*
 * cor_sem_release - give one unit back (straight to the first waiter, if
 * any).  Returns 0, or -EOVERFLOW for a bounded semaphore already at its
 * bound (or any semaphore at INT_MAX), -EXDEV.  Never suspends.
 */
COR_API int cor_sem_release(cor_sem *s);
/* The counter (0 when a waiter would block; -EXDEV, -EINVAL), and whether
 * it is 0. */
COR_API int cor_sem_value(const cor_sem *s);
COR_API bool cor_sem_locked(const cor_sem *s);

/* --------------------------------------------------------- Barrier ---- */

typedef struct cor_barrier cor_barrier;

/* A barrier for `parties` tasks (> 0, else -EINVAL).  0, -EINVAL, -ENOMEM,
 * -EPERM off a loop.  Thread: a loop. */
COR_API int cor_barrier_create(cor_barrier **out, int parties);
COR_API void cor_barrier_destroy(cor_barrier *b);
/*
 * cor_barrier_wait - wait until `parties` tasks are waiting, then release
 * them all.  Returns the caller's arrival index (0 .. parties-1) in this
 * round; -EPIPE if the barrier is (or gets) aborted; -ECANCELED or
 * -ETIMEDOUT (the caller then leaves the round); -EXDEV.  Suspends.
 */
COR_API int cor_barrier_wait(cor_barrier *b);
/* Break the barrier: every waiter, now and later, gets -EPIPE.  0, -EXDEV. */
COR_API int cor_barrier_abort(cor_barrier *b);
/* Make an aborted barrier usable again (no task may be waiting).  0,
 * -EXDEV. */
COR_API int cor_barrier_reset(cor_barrier *b);
/* Tasks waiting in the current round, or -EXDEV. */
COR_API int cor_barrier_n_waiting(const cor_barrier *b);

/* -------------------------------------------------- scoped acquire ---- */

/*
 * A guard releases what it holds when the enclosing C block ends (also by
 * break, continue or return), like `async with lock:`.  Check .rc first: if
 * it is negative the acquire failed and nothing will be released.
 *
 *     COR_LOCK_GUARD(g, lock);
 *     if (g.rc < 0)
 *         return cor_fail(g.rc, "lock");
 *     ... critical section ...
 */
typedef struct cor_guard {
    void *obj;
    int (*release)(void *obj);
    int rc;
} cor_guard;

COR_API cor_guard cor_guard_lock(cor_lock *l);
COR_API cor_guard cor_guard_sem(cor_sem *s);
/* The cleanup handler: releases if the acquire succeeded.  A guard over a
 * NULL object holds rc -EINVAL. */
COR_API void cor_guard_end(cor_guard *g);

#define COR_LOCK_GUARD(name, lock)                                             \
    cor_guard name __attribute__((cleanup(cor_guard_end))) =                   \
        cor_guard_lock(lock)
#define COR_SEM_GUARD(name, sem)                                               \
    cor_guard name __attribute__((cleanup(cor_guard_end))) = cor_guard_sem(sem)

/*
 * A general scope for what asyncio writes as an async context manager: when
 * the block ends, exit(obj, status) runs inside a shield scope (it may
 * suspend to clean up even after a cancellation); status is what the block
 * stored in name.status (0, or the error that ended it: exc_type).
 *
 *     COR_SCOPE(s, conn_close, conn);
 *     ... s.status = rc; ...
 */
typedef struct cor_scope {
    int (*exit)(void *obj, int status);
    void *obj;
    int status;
} cor_scope;

/* The cleanup handler of COR_SCOPE.  Thread: a task. */
COR_API void cor_scope_end(cor_scope *s);

#define COR_SCOPE(name, exitfn, objp)                                          \
    cor_scope name __attribute__((cleanup(cor_scope_end))) = {                 \
        (exitfn), (objp), 0}

#ifdef __cplusplus
}
#endif
#endif
