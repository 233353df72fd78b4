/* SPDX-License-Identifier: MIT */
/*
 * coring/common.h - what every part of coring's API shares: the export
 * macro, the task function type, error objects and the log hook.
 *
 * Conventions: calls return int (or ssize_t), >= 0 on success and a negative
 * errno on failure; errno is never touched.  -ECANCELED means "cancelled",
 * -ETIMEDOUT "a deadline passed".
 *
 * Bad arguments: a NULL object, out pointer or callback is -EINVAL from a
 * call that returns int (or ssize_t); a call that returns a pointer returns
 * NULL, a query false or 0; destroying, freeing, releasing or closing NULL
 * does nothing.  A declaration says so where a NULL means something else
 * (an optional out pointer, default options).  Misuse no return code can
 * carry (a suspending call off a task, ...) stops the process with a
 * message naming the call.
 *
 * Loop-local objects (sync.h, queue.h, gen.h, task groups, streams,
 * processes) answer -EXDEV to a call from any other thread and change
 * nothing (queries answer false or 0, void calls do nothing).
 */
#ifndef CORING_COMMON_H
#define CORING_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CORING_BUILD)
#define COR_API __attribute__((visibility("default")))
#else
#define COR_API
#endif

#define COR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * The error returned by the state queries of a future or task that has not
 * finished yet (asyncio's InvalidStateError).
 */
#define COR_EINVALSTATE (-EBUSY)

/*
 * The per-operation timeouts of the IO calls are int64_t nanoseconds:
 * COR_NO_TIMEOUT_NS for none; any other negative value is a time already
 * past, so the operation gets one chance to happen at once (a remaining
 * time computed from a deadline that went by means "now", not "forever").
 * The seconds of the combinators follow the same rule with COR_NO_TIMEOUT.
 */
#define COR_NO_TIMEOUT_NS ((int64_t)-1)

/*
 * A task body: pthread-shaped.  The returned pointer is the task's result.
 * To fail instead, return cor_fail(...).
 */
typedef void *cor_fn(void *arg);

/*
 * An error: the C counterpart of an exception.  Read-only for users; kept
 * alive by the task or future that holds it (and by cor_error_ref()).
 *
 * code      a negative errno (-ECANCELED for a cancellation)
 * message   a formatted message, never NULL ("" if none was given)
 * task      the name of the task that raised it, or "" off-task
 * children  for group errors (a task group's failures), else 0 / NULL
 */
typedef struct cor_error {
    int code;
    const char *message;
    const char *task;
    size_t nchildren;
    const struct cor_error *const *children;
} cor_error;

/*
 * cor_error_create - make a new error object with one reference (fmt NULL:
 * an empty message; code 0 is -EIO, a positive code is negated).
 * Returns NULL only when memory is exhausted.  Thread: any.
 */
COR_API cor_error *cor_error_create(int code, const char *fmt, ...)
    COR_PRINTF(2, 3);

/*
 * cor_error_group - a group error (code -code) owning a reference to each of
 * the n children.  Returns NULL when memory is exhausted, or children is
 * NULL (with n > 0) or holds a NULL.  Thread: any.
 */
COR_API cor_error *cor_error_group(int code, const char *msg,
                                   const cor_error *const *children, size_t n);

/* Reference counting of error objects.  Thread: any. */
COR_API const cor_error *cor_error_ref(const cor_error *e);
COR_API void cor_error_release(const cor_error *e);

/*
 * cor_strerror - a static description of a coring return code: "ENAME:
 * description" for every errno, e.g. "ENOENT: No such file or directory"
 * (the C library's words) or "ECANCELED: operation cancelled" (coring's, for
 * the codes it gives a meaning of its own); "unknown error" for a code that
 * is no errno.  Thread: any.
 */
COR_API const char *cor_strerror(int code);

/*
 * cor_error_format - write "ECODE: message" (and the children of a group)
 * into buf; returns what snprintf returns ("no error" for e NULL), or
 * -EINVAL for buf NULL with len > 0.  Thread: any.
 */
COR_API int cor_error_format(const cor_error *e, char *buf, size_t len);

/*
 * The log hook.  coring reports what a person should read (a task error that
 * was never retrieved, io_uring refused, a stack overflow is written to stderr
 * directly) through one function, stderr by default.  fn == NULL restores
 * the default.  Thread: any; the hook itself may be called from any loop.
 */
typedef void cor_log_fn(void *ud, const char *msg);
COR_API void cor_set_log(cor_log_fn *fn, void *ud);
COR_API void cor_log(const char *fmt, ...) COR_PRINTF(1, 2);

#ifdef __cplusplus
}
#endif
#endif
