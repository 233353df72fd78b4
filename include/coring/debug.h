/* SPDX-License-Identifier: MIT */
/*
 * coring/debug.h - seeing inside a running program: every loop's counters,
 * a dump of every task (asyncio's `python -m asyncio ps` and `pstree`), and
 * the switches of debug mode, the stall detector and the dump signal, which
 * are cor_run_opts fields (coring/runtime.h).
 */
#ifndef CORING_DEBUG_H
#define CORING_DEBUG_H

#include <stdio.h>

#include "common.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * cor_loop_stats_all - a snapshot of every loop's counters: out[i] gets
 * loop i's (up to cap of them), each taken on its own loop.  A loop that
 * does not answer within a second (stalled) gets loop = -1 in its entry.
 * Returns the number of loops, -EINVAL (out NULL with cap > 0), -ENOMEM,
 * -EPERM off a task.  Suspends (briefly, while the other loops answer).
 * Thread: a task.
 */
COR_API int cor_loop_stats_all(cor_loop_stats *out, int cap);

/*
 * cor_loop_stats_print - write st as one "loop N: name=value ..." line.
 * Thread: any.
 */
COR_API void cor_loop_stats_print(FILE *f, const cor_loop_stats *st);

/*
 * cor_stats_print - every loop's counters (one line each, as
 * cor_loop_stats_print) and the executor's (threads, idle, queued, running,
 * completed).  Returns 0, -EINVAL for f NULL, or as cor_loop_stats_all.
 * Suspends (briefly).
 * Thread: a task.
 */
COR_API int cor_stats_print(FILE *f);

/*
 * cor_dump_tasks - write every task of every loop: its name, id, state
 * (running, ready, or waiting on what: a sleep, an io operation, a task, a
 * future, a lock, ...), the chain of tasks awaiting it, its function and
 * where it was spawned.  A cycle of awaits is named.  A loop that does not
 * answer within a second is reported as not answering (stalled).  The
 * format is for people and may change.
 * Returns the number of tasks written, -ENOMEM, -EPERM off a task.
 * Suspends (briefly).  Thread: a task.
 */
COR_API int cor_dump_tasks(FILE *f);

#ifdef __cplusplus
}
#endif
#endif
