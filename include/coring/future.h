/* SPDX-License-Identifier: MIT */
/*
 * coring/future.h - futures: a result that arrives later.
 *
 * A future lives on a loop, its home (the loop that created it).  Any thread
 * may resolve it; waiters and done callbacks are run by the home loop.  A
 * finished future holds exactly one of: a result, an error, "cancelled".
 */
#ifndef CORING_FUTURE_H
#define CORING_FUTURE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_future cor_future;

/*
 * cor_future_create - a new pending future whose home is the calling loop.
 * Returns 0 and *out (one reference), -ENOMEM, or -EPERM off a loop thread.
 * Thread: a loop thread.
 */
COR_API int cor_future_create(cor_future **out);

/*
 * Take and drop references.  The last release frees it.  When cor_run ends,
 * futures still pending are cancelled (once every task has ended) and every
 * future still alive is freed: handles are invalid after cor_run returns.
 * Thread: any.
 */
COR_API cor_future *cor_future_ref(cor_future *f);
COR_API void cor_future_release(cor_future *f);

/*
 * cor_future_set_result / cor_future_set_error / cor_future_cancel -
 * finish the future.  The first one wins: later calls return
 * COR_EINVALSTATE (set_*) or false (cancel); a task's future cannot be set
 * (COR_EINVALSTATE); f NULL or e NULL is -EINVAL (cancel: false).  code is
 * a negative errno.
 * Waiters are woken on the home loop, in the order they started waiting.
 * Thread: any.
 */
COR_API int cor_future_set_result(cor_future *f, void *result);
COR_API int cor_future_set_error(cor_future *f, int code, const char *fmt,
                                 ...) COR_PRINTF(3, 4);
/* As above with an error object (a reference is taken). */
COR_API int cor_future_set_error_obj(cor_future *f, const cor_error *e);
COR_API bool cor_future_cancel(cor_future *f);

/*
 * cor_future_await - suspend the calling task until f is finished.  Does not
 * suspend if f is already finished.  Returns 0 and *result (if result is not
 * NULL); -ECANCELED if f was cancelled or the caller was cancelled while
 * waiting; -ETIMEDOUT if the caller's deadline passed; otherwise the code of
 * f's error (see cor_future_error()).  Suspends.  Thread: a task.
 */
COR_API int cor_future_await(cor_future *f, void **result);

/* Queries.  Thread: any (the answer may be stale off the home loop). */
COR_API bool cor_future_done(const cor_future *f);
COR_API bool cor_future_cancelled(const cor_future *f);

/*
 * cor_future_result - 0 and *result when finished with a result;
 * COR_EINVALSTATE if not finished; -ECANCELED if cancelled; else the error's
 * code (the error is then marked retrieved).  Thread: the home loop.
 */
COR_API int cor_future_result(cor_future *f, void **result);

/*
 * cor_future_error - *err = the error (NULL after a success); returns 0,
 * COR_EINVALSTATE if not finished, -ECANCELED if cancelled.  Marks the error
 * retrieved.  *err lives as long as f (or take a cor_error_ref()).
 * Thread: the home loop.
 */
COR_API int cor_future_error(cor_future *f, const cor_error **err);

/*
 * Done callbacks: cb(f, ud) runs on the home loop once f is finished, never
 * on a task stack; it may spawn tasks but not suspend.  Added after f has
 * finished, it runs soon.  cor_future_off_done removes every registration of
 * (cb, ud) that has not run yet and returns how many it removed.
 * Returns 0, -ENOMEM, -EINVAL (f or cb NULL), -EXDEV off the home loop.
 * Thread: the home loop.
 */
typedef void cor_future_cb(cor_future *f, void *ud);
COR_API int cor_future_on_done(cor_future *f, cor_future_cb *cb, void *ud);
COR_API int cor_future_off_done(cor_future *f, cor_future_cb *cb, void *ud);

#ifdef __cplusplus
}
#endif
#endif
