/* SPDX-License-Identifier: MIT */
/*
 * coring/signal.h - Unix signals as loop events, asyncio's
 * loop.add_signal_handler / remove_signal_handler, and a call with which a
 * task waits for a signal.  Nothing runs in signal context: signals are
 * blocked in every loop thread and read from a signalfd on loop 0's ring;
 * handlers run as callbacks on the loop that added them, waiting tasks are
 * woken on their own loop.
 *
 * Which signals: cor_run blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
 * SIGUSR2 and SIGWINCH in the thread that calls it (loop 0) before it
 * starts the other loops, which inherit the mask, as do the executor
 * workers the loops start; the mask is restored when cor_run returns.  One
 * of these that arrives while no handler is set and no task waits for it
 * gets what it would have got without coring (its default action, or the
 * handler the program installed with sigaction): loop 0 re-raises it with
 * the signal unblocked in its own thread.  SIGINT is the exception:
 * cor_run turns it into cancelling main (coring/runtime.h).  Any other
 * signal can be handled here only if the program blocked it itself, in the
 * thread that calls cor_run, before calling it (and in any thread it starts
 * on its own).  Signals sent to one thread (pthread_kill, raise from a
 * thread other than loop 0's) stay with that thread: coring receives
 * process-directed signals (kill, the terminal's Ctrl-C, timers) and those
 * sent to loop 0's thread.
 */
#ifndef CORING_SIGNAL_H
#define CORING_SIGNAL_H

#include "common.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A signal handler: runs on the loop that added it, never on a task stack
 * and never in signal context; it may spawn tasks but not suspend. */
typedef void cor_signal_fn(int sig, void *arg);

/*
 * cor_signal_add - call fn(sig, arg) each time sig arrives (asyncio's
 * add_signal_handler).  One handler per signal for the whole runtime: a
 * second add replaces the first.  Signals coalesce as the kernel makes
 * them: several of one kind that arrive before loop 0 reads them make one
 * call.  Returns 0; -EINVAL for a signal coring cannot catch (SIGKILL,
 * SIGSTOP, the synchronous faults SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
 * SIGSYS, glibc's reserved real-time signals, a number out of range) or a
 * NULL fn; -ENOTSUP for a signal that is neither in the set cor_run blocks
 * nor blocked by the program before cor_run (see above); -EPERM off a
 * loop; -ENOMEM.  Never suspends.
 * Lifetime: arg until cor_signal_remove (or cor_run's end).
 * Thread: a loop.
 */
COR_API int cor_signal_add(int sig, cor_signal_fn *fn, void *arg);

/*
 * cor_signal_remove - remove sig's handler (asyncio's
 * remove_signal_handler); sig gets its usual treatment again.  Returns 1
 * if a handler was removed, 0 if there was none, -EINVAL for a bad signal,
 * -EPERM off a loop.  Called on the loop that added the handler, no call
 * of it starts afterwards.  Never suspends.  Thread: a loop.
 */
COR_API int cor_signal_remove(int sig);

/*
 * cor_signal_wait - wait until sig arrives.  Every task waiting for a
 * signal is woken by it (and its handler, if any, runs too).  A signal that
 * arrives while no task waits is not kept for a later wait: a task that
 * must see every signal of a kind uses a handler.  Returns sig; -ECANCELED
 * / -ETIMEDOUT; or cor_signal_add's errors.  A signal delivered before the
 * cancellation reached the task is returned (the cancellation stays
 * pending).  Suspends.  Thread: a task.
 */
COR_API int cor_signal_wait(int sig);

/* cor_signal_wait_any - cor_signal_wait for the first of n signals
 * (n >= 1); returns the one that arrived. */
COR_API int cor_signal_wait_any(const int *sigs, size_t n);

#ifdef __cplusplus
}
#endif
#endif
