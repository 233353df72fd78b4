/* SPDX-License-Identifier: MIT */
/*
 * coring/proc.h - child processes (asyncio's create_subprocess_exec and
 * create_subprocess_shell): started at once, waited for on the ring (a
 * pidfd polled by io_uring), their pipes read and written with the
 * buffered streams of coring/stream.h.
 *
 * A process belongs to the loop of the task that started it; its calls are
 * made from tasks of that loop.  From any other thread, cor_proc_wait and
 * cor_proc_communicate return -EXDEV and cor_proc_free does nothing
 * (signals may be sent from anywhere).
 */
#ifndef CORING_PROC_H
#define CORING_PROC_H

#include "common.h"
#include "stream.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cor_proc cor_proc;

typedef struct cor_proc_opts {
    /* A pipe for each stream (asyncio's PIPE); otherwise the child
     * inherits the parent's. */
    bool pipe_stdin, pipe_stdout, pipe_stderr;
} cor_proc_opts;

/*
 * cor_proc_exec - start argv[0] (looked up in PATH) with argv, no shell.
 * Returns 0 and *out once the child is started (not finished), or -errno:
 * -ENOENT when there is no such program, -EINVAL for a NULL or empty argv
 * or out, -ENOMEM, -EMFILE.  Never suspends (the start itself blocks for
 * the child's exec, as posix_spawn does).
 */
COR_API int cor_proc_exec(cor_proc **out, const char *const argv[],
                          const cor_proc_opts *opts);

/*
 * cor_proc_shell - start "/bin/sh -c cmd": the shell expands wildcards,
 * pipes and variables, so the caller quotes what must not be expanded.
 * Returns as cor_proc_exec.
 */
COR_API int cor_proc_shell(cor_proc **out, const char *cmd,
                           const cor_proc_opts *opts);

/* The child's pid (it stays the child's until cor_proc_wait has reaped
 * it). */
COR_API pid_t cor_proc_pid(const cor_proc *p);

/*
 * The parent's ends of the pipes asked for, as streams (NULL for a stream
 * not piped).  They belong to the process: cor_proc_free frees them.
 * Closing stdin (cor_writer_close) closes the pipe once the queued bytes
 * are written: the child reads the end of its input.
 */
COR_API cor_writer *cor_proc_stdin(cor_proc *p);
COR_API cor_reader *cor_proc_stdout(cor_proc *p);
COR_API cor_reader *cor_proc_stderr(cor_proc *p);

/*
 * cor_proc_wait - wait for the child to exit and reap it.  *returncode
 * (may be NULL) is asyncio's returncode: the exit status, or -N when the
 * child was killed by signal N (255 when its status was lost: reaped by
 * something else, or by the kernel with SIGCHLD ignored).  Returns 0, -ECANCELED /
 * -ETIMEDOUT (the child keeps running; wait again later), -EINVAL, or the
 * -errno of waitid.  Suspends until the exit; after it, returns at once.
 */
COR_API int cor_proc_wait(cor_proc *p, int *returncode);

/*
 * cor_proc_returncode - 0 and *returncode once the child has been reaped
 * by cor_proc_wait, else -EBUSY (asyncio's None).  Never suspends.
 */
COR_API int cor_proc_returncode(const cor_proc *p, int *returncode);

/*
 * cor_proc_communicate - write in (len bytes; the child's stdin is then
 * closed), read the child's stdout and stderr to their end at the same
 * time, and wait for its exit.  *out and *err (each may be NULL) get
 * malloc'd, NUL-terminated copies (NULL for a stream not piped), *outlen
 * and *errlen their lengths.  Returns 0 or -errno (-EPIPE when the child
 * closed its stdin before reading everything is not an error: the rest is
 * dropped, as asyncio does).  Suspends.
 */
COR_API int cor_proc_communicate(cor_proc *p, const void *in, size_t len,
                                 char **out, size_t *outlen, char **err,
                                 size_t *errlen, int *returncode);

/*
 * cor_proc_signal - send sig to the child (nothing once it was reaped).
 * cor_proc_terminate is SIGTERM, cor_proc_kill SIGKILL.  Returns 0 or
 * -errno (-ESRCH once the child was reaped).  Never suspends.
 */
COR_API int cor_proc_signal(cor_proc *p, int sig);
COR_API int cor_proc_terminate(cor_proc *p);
COR_API int cor_proc_kill(cor_proc *p);

/*
 * cor_proc_free - free p and its streams (closing the pipes).  A child
 * still running is left running (asyncio does not kill it either) and is
 * reaped by nobody: wait for it first.  A cor_proc_wait or
 * cor_proc_communicate waiting in another task returns -EBADF (a
 * communicate inside a shield scope at its next step), and p goes as the
 * last of them returns.  Suspends briefly (the streams' operations are
 * cancelled and waited for).  NULL is a no-op.
 */
COR_API void cor_proc_free(cor_proc *p);

#ifdef __cplusplus
}
#endif

#endif
