/* SPDX-License-Identifier: MIT */
/*
 * Bad arguments over the whole public API (coring.h and coring/ *.h): every
 * call with each bad argument - a NULL object, out pointer, callback or
 * buffer, a bad fd, number or timeout - gives the result its header
 * documents (common.h: -EINVAL for int calls, NULL / false / 0 for the
 * others, nothing for destroy and free), or stops with coring's message
 * where the misuse is documented to (a suspending call off a task ...).
 * Each call runs in a child process (a crash or a hang there is a failure
 * of that row, not of the test program), in a task of a one-loop runtime
 * (T) or on a plain thread (O).
 */
#include "child.h"
#include "harness.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* --------------------------------------------- valid objects to misuse -- */

static void *noop(void *arg)
{
    return arg;
}

static void noop_cb(void *arg)
{
    (void)arg;
}

static void noop_fcb(cor_future *f, void *ud)
{
    (void)f;
    (void)ud;
}

static int gen_body(cor_gen *g, void *arg)
{
    (void)arg;
    return cor_gen_yield(g, NULL);
}

static void on_signal(int sig, void *arg)
{
    (void)sig;
    (void)arg;
}

static int next_none(void *self, void **item)
{
    (void)self;
    (void)item;
    return 0;
}

static void *conn_fn(int fd, void *arg)
{
    (void)fd;
    return arg;
}

static void stream_fn(cor_reader *r, cor_writer *w, void *arg)
{
    (void)r;
    (void)w;
    (void)arg;
}

#define MAKE(T, call)                                                          \
    __extension__({                                                            \
        T *x_ = NULL;                                                          \
        call;                                                                  \
        x_;                                                                    \
    })
#define LOCK() MAKE(cor_lock, cor_lock_create(&x_))
#define EVENT() MAKE(cor_event, cor_event_create(&x_))
#define COND() MAKE(cor_cond, cor_cond_create(&x_, NULL))
#define SEM() MAKE(cor_sem, cor_sem_create(&x_, 1))
#define QUEUE() MAKE(cor_queue, cor_queue_create(&x_, NULL))
#define GEN() MAKE(cor_gen, cor_gen_create(&x_, gen_body, NULL, 0))
#define GROUP() MAKE(cor_group, cor_group_create(&x_))
#define FUT() MAKE(cor_future, cor_future_create(&x_))
#define CHAN() MAKE(cor_chan, cor_chan_create(&x_, 1))
#define XQ() MAKE(cor_xqueue, cor_xqueue_create(&x_, 1))
#define TASK() cor_spawn(noop, NULL)
#define ERR() cor_error_create(-EIO, "e")
#define AC() MAKE(cor_as_completed, cor_as_completed_create(&x_, NULL, 0, 1))
#define PIPE_R() __extension__({ int p_[2]; pipe(p_) ? -1 : p_[0]; })
#define READER() MAKE(cor_reader, cor_reader_open(&x_, PIPE_R(), 0))
#define WRITER() MAKE(cor_writer, cor_writer_open(&x_, __extension__({ int p_[2]; pipe(p_) ? -1 : p_[1]; })))
#define BUF ((char[16]){0})
#define OUTP(T) (&(T){0})

/* A NULL the compiler cannot see through (nonnull and format checks). */
static void *volatile nul;
#define NUL ((void *)nul)

/* A timeout of -0.5 s (not COR_NO_TIMEOUT) has passed: "now". */
static long scope_negative(void)
{
    cor_timeout_scope s;
    int rc = cor_timeout_begin(&s, -0.5);
    if (rc == 0)
        rc = cor_sleep(10);
    cor_timeout_end(&s);
    return rc;
}

static long sem_at_int_max(void)
{
    cor_sem *s;
    cor_sem_create(&s, INT_MAX);
    return cor_sem_release(s);
}

static long shield_end_unopened(void)
{
    cor_shield_end();
    return 0;
}

#define ABORT LONG_MIN /* stops with "coring: fatal: <call>..." */
#define EFAULT_OR_EINVAL (LONG_MIN + 1) /* the kernel's answer for NULL */

/*
 * (id, where, expected, call).  Where: T in a task, O on a plain thread.
 * A bool or pointer result is compared as 0 / 1 ("== NULL" says which).
 */
#define BAD(X)                                                                 \
    /* common.h */                                                             \
    X(error_create_nofmt, O, 1, cor_error_create(-EIO, NUL) != NULL)           \
    X(error_create_intmin, O, 1, cor_error_create(INT_MIN, "m") != NULL)       \
    X(error_group_nokids, O, 1, cor_error_group(-EIO, "g", NUL, 2) == NULL)    \
    X(error_group_nullkid, O, 1,                                               \
      cor_error_group(-EIO, "g", (const cor_error *const[]){NULL}, 1) == NULL) \
    X(error_group_nomsg, O, 1, cor_error_group(-EIO, NUL, NULL, 0) != NULL)    \
    X(error_ref, O, 1, cor_error_ref(NUL) == NULL)                             \
    X(error_release, O, 0, (cor_error_release(NUL), 0))                        \
    X(strerror_intmin, O, 1, cor_strerror(INT_MIN) != NULL)                    \
    X(strerror_intmax, O, 1, cor_strerror(INT_MAX) != NULL)                    \
    X(error_format_intmin, O, 1,                                               \
      cor_error_format(cor_error_create(INT_MIN, "m"), BUF, 16) > 0)           \
    X(error_format_noerr, O, 8, cor_error_format(NUL, BUF, 16))                \
    X(error_format_nobuf, O, -EINVAL, cor_error_format(ERR(), NUL, 16))        \
    X(error_format_nobuf0, O, 1, cor_error_format(ERR(), NUL, 0) > 0)          \
    X(set_log, O, 0, (cor_set_log(NULL, NUL), 0))                               \
    X(log_nofmt, O, 0, (cor_log(NUL), 0))                                      \
    /* future.h */                                                             \
    X(future_create, T, -EINVAL, cor_future_create(NUL))                       \
    X(future_create_off, O, -EPERM, cor_future_create(OUTP(cor_future *)))     \
    X(future_ref, O, 1, cor_future_ref(NUL) == NULL)                           \
    X(future_release, O, 0, (cor_future_release(NUL), 0))                      \
    X(future_set_result, O, -EINVAL, cor_future_set_result(NUL, NULL))         \
    X(future_set_error, O, -EINVAL, cor_future_set_error(NUL, -EIO, "x"))      \
    X(future_set_error_nofmt, T, 0, cor_future_set_error(FUT(), -EIO, NUL))    \
    X(future_set_error_obj, O, -EINVAL, cor_future_set_error_obj(NUL, ERR()))  \
    X(future_set_error_obj_noerr, T, -EINVAL,                                  \
      cor_future_set_error_obj(FUT(), NUL))                                    \
    X(future_cancel, O, 0, cor_future_cancel(NUL))                             \
    X(future_await, T, -EINVAL, cor_future_await(NUL, NULL))                   \
    X(future_await_off, O, ABORT, cor_future_await(NUL, NULL))                 \
    X(future_done, O, 0, cor_future_done(NUL))                                 \
    X(future_cancelled, O, 0, cor_future_cancelled(NUL))                       \
    X(future_result, O, -EINVAL, cor_future_result(NUL, NULL))                 \
    X(future_result_noout, T, COR_EINVALSTATE, cor_future_result(FUT(), NUL))  \
    X(future_error, O, -EINVAL,                                                \
      cor_future_error(NUL, OUTP(const cor_error *)))                          \
    X(future_error_noout, T, -EINVAL, cor_future_error(FUT(), NUL))            \
    X(future_on_done, O, -EINVAL, cor_future_on_done(NUL, noop_fcb, NULL))     \
    X(future_on_done_nocb, T, -EINVAL, cor_future_on_done(FUT(), NULL, NULL))   \
    X(future_off_done, O, -EINVAL, cor_future_off_done(NUL, noop_fcb, NULL))   \
    /* task.h */                                                               \
    X(spawn_nofn, T, 1, cor_spawn(NULL, NULL) == NULL)                          \
    X(spawn_off, O, ABORT, cor_spawn(noop, NULL))                              \
    X(spawn_ex_noout, T, -EINVAL, cor_spawn_ex(NUL, noop, NULL, NULL))         \
    X(spawn_ex_nofn, T, -EINVAL,                                               \
      cor_spawn_ex(OUTP(cor_task *), NULL, NULL, NULL))                         \
    X(spawn_ex_badloop, T, -EINVAL,                                            \
      cor_spawn_ex(OUTP(cor_task *), noop, NULL,                               \
                   &(cor_spawn_opts){.loop = COR_LOOP(7)}))                    \
    X(spawn_ex_negloop, T, -EINVAL,                                            \
      cor_spawn_ex(OUTP(cor_task *), noop, NULL,                               \
                   &(cor_spawn_opts){.loop = -3}))                             \
    X(spawn_ex_off, O, -EPERM, cor_spawn_ex(OUTP(cor_task *), noop, NULL,      \
                                            NULL))                             \
    X(await, T, -EINVAL, cor_await(NUL, NULL))                                 \
    X(await_off, O, ABORT, cor_await(NUL, NULL))                               \
    X(task_cancel, O, 0, cor_task_cancel(NUL))                                 \
    X(task_done, O, 0, cor_task_done(NUL))                                     \
    X(task_cancelled, O, 0, cor_task_cancelled(NUL))                           \
    X(task_cancelling, O, 0, cor_task_cancelling(NUL))                         \
    X(task_result, O, -EINVAL, cor_task_result(NUL, NULL))                     \
    X(task_error, O, -EINVAL, cor_task_error(NUL, OUTP(const cor_error *)))    \
    X(task_error_noout, T, -EINVAL, cor_task_error(TASK(), NUL))               \
    X(task_name, O, 1, cor_task_name(NUL) == NULL)                             \
    X(task_set_name, O, 0, (cor_task_set_name(NUL, "x"), 0))                   \
    X(task_set_name_noname, T, 0,                                              \
      __extension__({ cor_task *t_ = TASK(); cor_task_set_name(t_, NUL);                    \
         (long)strlen(cor_task_name(t_)); }))                                  \
    X(task_fn, O, 1, cor_task_fn(NUL) == NULL)                                 \
    X(task_describe, O, -EINVAL, cor_task_describe(NUL, BUF, 16))              \
    X(task_describe_nobuf, T, -EINVAL, cor_task_describe(TASK(), NUL, 16))     \
    X(task_describe_nobuf0, T, 1, cor_task_describe(TASK(), NUL, 0) > 0)       \
    X(task_future, O, 1, cor_task_future(NUL) == NULL)                         \
    X(future_task, O, 1, cor_future_task(NUL) == NULL)                         \
    X(task_ref, O, 1, cor_task_ref(NUL) == NULL)                               \
    X(task_release, O, 0, (cor_task_release(NUL), 0))                          \
    X(task_on_done, O, -EINVAL, cor_task_on_done(NUL, NULL, NULL))             \
    X(task_on_done_nocb, T, -EINVAL, cor_task_on_done(TASK(), NULL, NULL))      \
    X(task_off_done, O, -EINVAL, cor_task_off_done(NUL, NULL, NULL))           \
    X(fail_off, O, ABORT, cor_fail(-EIO, "x"))                                 \
    X(fail_nofmt, T, 1, cor_fail(-EIO, NUL) == NULL)                           \
    X(fail_intmin, T, 1, cor_fail(INT_MIN, "x") == NULL)                       \
    X(fail_error, T, 1, cor_fail_error(NUL) == NULL)                           \
    X(current_task_off, O, 1, cor_current_task() == NULL)                      \
    X(all_tasks_nobuf, T, 1, cor_all_tasks(NUL, 8))                            \
    X(all_tasks_off, O, 0, cor_all_tasks(NUL, 8))                              \
    X(yield_off, O, ABORT, cor_yield())                                        \
    X(sleep_off, O, ABORT, cor_sleep(0.1))                                     \
    X(sleep_nan, T, -EINVAL, cor_sleep(NAN))                                   \
    X(sleep_negative, T, 0, cor_sleep(-5))                                     \
    X(sleep_ns_off, O, ABORT, cor_sleep_ns(1))                                 \
    X(shield_begin_off, O, ABORT, (cor_shield_begin(), 0))                     \
    X(shield_end_unopened, T, ABORT, shield_end_unopened())                    \
    /* runtime.h */                                                            \
    X(run_nomain, O, -EINVAL, cor_run(NULL, NULL))                              \
    X(run_ex_badopts, O, -EINVAL,                                              \
      cor_run_ex(noop, NULL, &(cor_run_opts){.loops = -1}, NULL))              \
    X(run_in_loop, T, -EBUSY, cor_run(noop, NULL))                             \
    X(loop_current_off, O, 1, cor_loop_current() == NULL)                      \
    X(loop_index_off, O, -1, cor_loop_index())                                 \
    X(loop_count_off, O, 0, cor_loop_count())                                  \
    X(call_soon_nofn, T, -EINVAL, cor_call_soon(NULL, NULL))                    \
    X(call_soon_off, O, -EPERM, cor_call_soon(noop_cb, NULL))                  \
    X(loop_stats_get, T, -EINVAL, cor_loop_stats_get(NUL))                     \
    X(loop_stats_get_off, O, -EPERM,                                           \
      cor_loop_stats_get(OUTP(cor_loop_stats)))                                \
    /* executor.h */                                                           \
    X(executor_configure_badopts, O, -EINVAL,                                  \
      cor_executor_configure(&(cor_executor_opts){.max_threads = 1u << 20}))   \
    X(executor_stats_get, O, -EINVAL, cor_executor_stats_get(NUL))            \
    X(to_thread_nofn, T, -EINVAL, cor_to_thread(NULL, NULL, NULL))              \
    X(to_thread_ex_nofn, T, -EINVAL, cor_to_thread_ex(NULL, NULL, NULL, NULL))  \
    X(job_fail_off, O, ABORT, cor_job_fail(-EIO, "x"))                         \
    X(executor_submit_nofn, T, -EINVAL,                                        \
      cor_executor_submit(NULL, NULL, NULL, NULL, OUTP(cor_future *)))          \
    X(executor_submit_noout, T, -EINVAL,                                       \
      cor_executor_submit(noop, NULL, NULL, NULL, NUL))                        \
    X(spawn_on_nofn, T, 1, cor_spawn_on(0, NULL, NULL) == NULL)                 \
    X(spawn_on_badindex, T, 1, cor_spawn_on(9, noop, NULL) == NULL)            \
    X(spawn_on_off, O, ABORT, cor_spawn_on(0, noop, NULL))                     \
    X(spawn_next_nofn, T, 1, cor_spawn_next(NULL, NULL) == NULL)                \
    X(spawn_next_off, O, ABORT, cor_spawn_next(noop, NULL))                    \
    X(loop_get_off, O, 1, cor_loop_get(0) == NULL)                             \
    X(loop_get_bad, T, 1, cor_loop_get(-1) == NULL)                            \
    X(call_soon_threadsafe, O, -EINVAL,                                        \
      cor_call_soon_threadsafe(NUL, noop_cb, NULL))                            \
    X(call_soon_threadsafe_nofn, T, -EINVAL,                                   \
      cor_call_soon_threadsafe(cor_loop_current(), NULL, NULL))                 \
    X(run_coroutine_threadsafe, O, -EINVAL,                                    \
      cor_run_coroutine_threadsafe(NUL, noop, NULL, OUTP(cor_task *)))         \
    X(run_coroutine_threadsafe_nofn, T, -EINVAL,                               \
      cor_run_coroutine_threadsafe(cor_loop_current(), NULL, NULL,              \
                                   OUTP(cor_task *)))                          \
    X(run_coroutine_threadsafe_noout, T, -EINVAL,                              \
      cor_run_coroutine_threadsafe(cor_loop_current(), noop, NULL, NUL))       \
    X(future_wait_threadsafe, O, -EINVAL, cor_future_wait_threadsafe(NUL, NULL))\
    /* channel.h */                                                            \
    X(chan_create, O, -EINVAL, cor_chan_create(NUL, 1))                        \
    X(chan_create_cap0, O, -EINVAL, cor_chan_create(OUTP(cor_chan *), 0))      \
    X(chan_destroy, O, 0, (cor_chan_destroy(NUL), 0))                          \
    X(chan_send, T, -EINVAL, cor_chan_send(NUL, NULL))                         \
    X(chan_recv, T, -EINVAL, cor_chan_recv(NUL, OUTP(void *)))                 \
    X(chan_recv_noitem, T, -EINVAL, cor_chan_recv(CHAN(), NUL))                \
    X(chan_try_send, O, -EINVAL, cor_chan_try_send(NUL, NULL))                 \
    X(chan_try_recv, O, -EINVAL, cor_chan_try_recv(NUL, OUTP(void *)))         \
    X(chan_try_recv_noitem, O, -EINVAL, cor_chan_try_recv(CHAN(), NUL))        \
    X(chan_close, O, 0, (cor_chan_close(NUL), 0))                              \
    X(chan_len, O, 0, cor_chan_len(NUL))                                       \
    /* combinators.h */                                                        \
    X(gather_nofs, T, -EINVAL, cor_gather(NUL, 1, NULL, NULL, 0))              \
    X(gather_nullfut, T, -EINVAL,                                              \
      cor_gather((cor_future *[]){NULL}, 1, NULL, NULL, 0))                    \
    X(gather_future_noout, T, -EINVAL,                                         \
      cor_gather_future((cor_future *[]){FUT()}, 1, NULL, NULL, 0, NUL))       \
    X(wait_nofs, T, -EINVAL, cor_wait(NUL, 1, COR_ALL_COMPLETED, 1, NULL))     \
    X(wait_badwhen, T, -EINVAL,                                                \
      cor_wait((cor_future *[]){FUT()}, 1, 99, 1, NULL))                       \
    X(wait_nan, T, -EINVAL,                                                    \
      cor_wait((cor_future *[]){FUT()}, 1, COR_ALL_COMPLETED, NAN, NULL))      \
    X(wait_negative_timeout, T, 0,                                             \
      cor_wait((cor_future *[]){FUT()}, 1, COR_ALL_COMPLETED, -0.5, NULL))     \
    X(wait_for_nofut, T, -EINVAL, cor_wait_for(NUL, 1, NULL))                  \
    X(wait_for_negative_timeout, T, -ETIMEDOUT,                                \
      cor_wait_for(FUT(), -0.5, NULL))                                         \
    X(wait_for_minus_inf, T, -ETIMEDOUT, cor_wait_for(FUT(), -INFINITY, NULL)) \
    X(wait_for_fn_nofn, T, -EINVAL, cor_wait_for_fn(NULL, NULL, 1, NULL))       \
    X(shield_noinner, T, -EINVAL, cor_shield(NUL, OUTP(cor_future *)))         \
    X(shield_noout, T, -EINVAL, cor_shield(FUT(), NUL))                        \
    X(as_completed_create_noout, T, -EINVAL,                                   \
      cor_as_completed_create(NUL, NULL, 0, 1))                                \
    X(as_completed_create_nofs, T, -EINVAL,                                    \
      cor_as_completed_create(OUTP(cor_as_completed *), NUL, 1, 1))            \
    X(as_completed_next, T, -EINVAL,                                           \
      cor_as_completed_next(NUL, OUTP(cor_future *)))                          \
    X(as_completed_next_noout, T, -EINVAL, cor_as_completed_next(AC(), NUL))   \
    X(as_completed_destroy, O, 0, (cor_as_completed_destroy(NUL), 0))          \
    X(timeout_begin_noscope, T, -EINVAL, cor_timeout_begin(NUL, 1))            \
    X(timeout_begin_nan, T, -EINVAL,                                           \
      cor_timeout_begin(OUTP(cor_timeout_scope), NAN))                         \
    X(timeout_begin_negative, T, -ETIMEDOUT, scope_negative())                 \
    X(timeout_begin_at_noscope, T, -EINVAL, cor_timeout_begin_at(NUL, 0))      \
    X(timeout_end_noscope, T, -EINVAL, cor_timeout_end(NUL))                   \
    X(timeout_end_unopened, T, -EINVAL,                                        \
      cor_timeout_end(OUTP(cor_timeout_scope)))                                \
    X(timeout_begin_off, O, ABORT,                                             \
      cor_timeout_begin(OUTP(cor_timeout_scope), 1))                           \
    X(group_create, T, -EINVAL, cor_group_create(NUL))                         \
    X(group_create_off, O, -EPERM, cor_group_create(OUTP(cor_group *)))        \
    X(group_spawn, T, -EINVAL, cor_group_spawn(NUL, NULL, noop, NULL))         \
    X(group_spawn_nofn, T, -EINVAL, cor_group_spawn(GROUP(), NULL, NULL, NULL)) \
    X(group_join, T, -EINVAL, cor_group_join(NUL, NULL))                       \
    X(group_size, O, 0, cor_group_size(NUL))                                   \
    X(group_destroy, O, 0, (cor_group_destroy(NUL), 0))                        \
    /* gen.h */                                                                \
    X(gen_create, T, -EINVAL, cor_gen_create(NUL, gen_body, NULL, 0))          \
    X(gen_create_nobody, T, -EINVAL,                                           \
      cor_gen_create(OUTP(cor_gen *), NULL, NULL, 0))                           \
    X(gen_create_off, O, -EPERM,                                               \
      cor_gen_create(OUTP(cor_gen *), gen_body, NULL, 0))                      \
    X(gen_next, T, -EINVAL, cor_gen_next(NUL, OUTP(void *)))                   \
    X(gen_next_novalue, T, 1, cor_gen_next(GEN(), NUL))                        \
    X(gen_yield, T, ABORT, cor_gen_yield(NUL, NULL))                           \
    X(gen_close, T, -EINVAL, cor_gen_close(NUL))                               \
    X(gen_destroy, O, 0, (cor_gen_destroy(NUL), 0))                            \
    X(gen_iter, T, -EINVAL, cor_gen_iter(NUL, OUTP(void *)))                   \
    X(collect_nonext, T, -EINVAL, cor_collect(NULL, NULL, (void *[1]){0}, 1, NULL, NULL))  \
    X(collect_noout, T, -EINVAL,                                               \
      cor_collect(next_none, NULL, NUL, 4, NULL, NULL))                        \
    X(collect_noout_cap0, T, 0, cor_collect(next_none, NULL, NUL, 0, NULL,     \
                                            NULL))                             \
    /* queue.h */                                                              \
    X(queue_create, T, -EINVAL, cor_queue_create(NUL, NULL))                   \
    X(queue_create_off, O, -EPERM, cor_queue_create(OUTP(cor_queue *), NULL))  \
    X(queue_create_badkind, T, -EINVAL,                                        \
      cor_queue_create(OUTP(cor_queue *), &(cor_queue_opts){.kind = 9}))       \
    X(queue_create_nocmp, T, -EINVAL,                                          \
      cor_queue_create(OUTP(cor_queue *),                                      \
                       &(cor_queue_opts){.kind = COR_QUEUE_PRIORITY}))         \
    X(queue_destroy, O, 0, (cor_queue_destroy(NUL), 0))                        \
    X(queue_put, T, -EINVAL, cor_queue_put(NUL, NULL))                         \
    X(queue_put_nowait, T, -EINVAL, cor_queue_put_nowait(NUL, NULL))           \
    X(queue_get, T, -EINVAL, cor_queue_get(NUL, OUTP(void *)))                 \
    X(queue_get_noitem, T, -EINVAL, cor_queue_get(QUEUE(), NUL))               \
    X(queue_get_nowait, T, -EINVAL, cor_queue_get_nowait(NUL, OUTP(void *)))   \
    X(queue_get_nowait_noitem, T, -EINVAL,                                     \
      __extension__({ cor_queue *q_ = QUEUE(); cor_queue_put_nowait(q_, "x");               \
         cor_queue_get_nowait(q_, NUL); }))                                    \
    X(queue_task_done, T, -EINVAL, cor_queue_task_done(NUL))                   \
    X(queue_join, T, -EINVAL, cor_queue_join(NUL))                             \
    X(queue_size, O, 0, cor_queue_size(NUL))                                   \
    X(queue_empty, O, 0, cor_queue_empty(NUL))                                 \
    X(queue_full, O, 0, cor_queue_full(NUL))                                   \
    X(queue_maxsize, O, 0, cor_queue_maxsize(NUL))                             \
    /* sync.h */                                                               \
    X(lock_create, T, -EINVAL, cor_lock_create(NUL))                           \
    X(lock_create_off, O, -EPERM, cor_lock_create(OUTP(cor_lock *)))          \
    X(lock_destroy, O, 0, (cor_lock_destroy(NUL), 0))                          \
    X(lock_acquire, T, -EINVAL, cor_lock_acquire(NUL))                         \
    X(lock_try_acquire, T, -EINVAL, cor_lock_try_acquire(NUL))                 \
    X(lock_release, T, -EINVAL, cor_lock_release(NUL))                         \
    X(lock_release_unlocked, T, -EPERM, cor_lock_release(LOCK()))              \
    X(lock_locked, O, 0, cor_lock_locked(NUL))                                 \
    X(event_create, T, -EINVAL, cor_event_create(NUL))                         \
    X(event_destroy, O, 0, (cor_event_destroy(NUL), 0))                        \
    X(event_set, T, -EINVAL, cor_event_set(NUL))                               \
    X(event_clear, T, -EINVAL, cor_event_clear(NUL))                           \
    X(event_is_set, O, 0, cor_event_is_set(NUL))                               \
    X(event_wait, T, -EINVAL, cor_event_wait(NUL))                             \
    X(cond_create, T, -EINVAL, cor_cond_create(NUL, NULL))                     \
    X(cond_destroy, O, 0, (cor_cond_destroy(NUL), 0))                          \
    X(cond_lock, O, 1, cor_cond_lock(NUL) == NULL)                             \
    X(cond_wait, T, -EINVAL, cor_cond_wait(NUL))                               \
    X(cond_wait_unlocked, T, -EPERM, cor_cond_wait(COND()))                    \
    X(cond_wait_for, T, -EINVAL, cor_cond_wait_for(NUL, NULL, NULL))           \
    X(cond_wait_for_nopred, T, -EINVAL, cor_cond_wait_for(COND(), NULL, NULL))  \
    X(cond_notify, T, -EINVAL, cor_cond_notify(NUL, 1))                        \
    X(cond_notify_unlocked, T, -EPERM, cor_cond_notify(COND(), 1))             \
    X(cond_notify_all, T, -EINVAL, cor_cond_notify_all(NUL))                   \
    X(sem_create, T, -EINVAL, cor_sem_create(NUL, 1))                          \
    X(sem_create_negative, T, -EINVAL, cor_sem_create(OUTP(cor_sem *), -1))    \
    X(sem_create_bounded, T, -EINVAL, cor_sem_create_bounded(NUL, 1))          \
    X(sem_destroy, O, 0, (cor_sem_destroy(NUL), 0))                            \
    X(sem_acquire, T, -EINVAL, cor_sem_acquire(NUL))                           \
    X(sem_try_acquire, T, -EINVAL, cor_sem_try_acquire(NUL))                   \
    X(sem_release, T, -EINVAL, cor_sem_release(NUL))                           \
    X(sem_release_int_max, T, -EOVERFLOW, sem_at_int_max())                    \
    X(sem_value, T, -EINVAL, cor_sem_value(NUL))                               \
    X(sem_locked, O, 0, cor_sem_locked(NUL))                                   \
    X(barrier_create, T, -EINVAL, cor_barrier_create(NUL, 1))                  \
    X(barrier_create_zero, T, -EINVAL,                                         \
      cor_barrier_create(OUTP(cor_barrier *), 0))                              \
    X(barrier_destroy, O, 0, (cor_barrier_destroy(NUL), 0))                    \
    X(barrier_wait, T, -EINVAL, cor_barrier_wait(NUL))                         \
    X(barrier_abort, T, -EINVAL, cor_barrier_abort(NUL))                       \
    X(barrier_reset, T, -EINVAL, cor_barrier_reset(NUL))                       \
    X(barrier_n_waiting, T, -EINVAL, cor_barrier_n_waiting(NUL))               \
    X(guard_lock, T, -EINVAL, cor_guard_lock(NUL).rc)                          \
    X(guard_sem, T, -EINVAL, cor_guard_sem(NUL).rc)                            \
    X(guard_end, T, 0, (cor_guard_end(NUL), 0))                                \
    X(guard_end_failed, T, 0,                                                  \
      __extension__({ cor_guard g_ = cor_guard_lock(NUL); cor_guard_end(&g_); 0; }))        \
    X(scope_end, T, 0, (cor_scope_end(NUL), 0))                                \
    /* xsync.h */                                                              \
    X(xsem_create, O, -EINVAL, cor_xsem_create(NUL, 1, 1))                     \
    X(xsem_create_bad, O, -EINVAL, cor_xsem_create(OUTP(cor_xsem *), 2, 1))    \
    X(xsem_destroy, O, 0, (cor_xsem_destroy(NUL), 0))                          \
    X(xsem_acquire, T, -EINVAL, cor_xsem_acquire(NUL))                         \
    X(xsem_try_acquire, O, -EINVAL, cor_xsem_try_acquire(NUL))                 \
    X(xsem_release, O, -EINVAL, cor_xsem_release(NUL))                         \
    X(xsem_value, O, -EINVAL, cor_xsem_value(NUL))                             \
    X(xevent_create, O, -EINVAL, cor_xevent_create(NUL))                       \
    X(xevent_destroy, O, 0, (cor_xevent_destroy(NUL), 0))                      \
    X(xevent_set, O, 0, (cor_xevent_set(NUL), 0))                              \
    X(xevent_clear, O, -EINVAL, cor_xevent_clear(NUL))                         \
    X(xevent_is_set, O, 0, cor_xevent_is_set(NUL))                             \
    X(xevent_wait, T, -EINVAL, cor_xevent_wait(NUL))                           \
    X(xqueue_create, O, -EINVAL, cor_xqueue_create(NUL, 1))                    \
    X(xqueue_create_zero, O, -EINVAL, cor_xqueue_create(OUTP(cor_xqueue *), 0))\
    X(xqueue_destroy, O, 0, (cor_xqueue_destroy(NUL), 0))                      \
    X(xqueue_put, T, -EINVAL, cor_xqueue_put(NUL, NULL))                       \
    X(xqueue_put_nowait, O, -EINVAL, cor_xqueue_put_nowait(NUL, NULL))         \
    X(xqueue_get, T, -EINVAL, cor_xqueue_get(NUL, OUTP(void *)))               \
    X(xqueue_get_noitem, T, -EINVAL, cor_xqueue_get(XQ(), NUL))                \
    X(xqueue_get_nowait, O, -EINVAL, cor_xqueue_get_nowait(NUL, OUTP(void *))) \
    X(xqueue_get_nowait_noitem, O, -EINVAL, cor_xqueue_get_nowait(XQ(), NUL))  \
    X(xqueue_task_done, O, -EINVAL, cor_xqueue_task_done(NUL))                 \
    X(xqueue_join, T, -EINVAL, cor_xqueue_join(NUL))                           \
    X(xqueue_size, O, 0, cor_xqueue_size(NUL))                                 \
    /* io.h */                                                                 \
    X(open_nopath, T, EFAULT_OR_EINVAL, cor_open(NUL, O_RDONLY, 0))            \
    X(open_off, O, ABORT, cor_open("/", O_RDONLY, 0))                          \
    X(openat_nopath, T, EFAULT_OR_EINVAL, cor_openat(AT_FDCWD, NUL, 0, 0))     \
    X(read_badfd, T, -EBADF, cor_read(-1, BUF, 16, -1))                        \
    X(read_nobuf, T, EFAULT_OR_EINVAL, cor_read(PIPE_R(), NUL, 16, -1))        \
    X(write_badfd, T, -EBADF, cor_write(-1, "x", 1, -1))                       \
    X(write_nobuf, T, EFAULT_OR_EINVAL, cor_write(1, NUL, 16, -1))             \
    X(read_timeout_badfd, T, -EBADF, cor_read_timeout(-1, BUF, 16, -1, 1000))  \
    X(read_full_badfd, T, -EBADF, cor_read_full(-1, BUF, 16, -1))              \
    X(write_all_badfd, T, -EBADF, cor_write_all(-1, "x", 1, -1))              \
    X(readv_noiov, T, EFAULT_OR_EINVAL, cor_readv(PIPE_R(), NUL, 1, -1))       \
    X(writev_noiov, T, EFAULT_OR_EINVAL, cor_writev(1, NUL, 1, -1))            \
    X(fsync_badfd, T, -EBADF, cor_fsync(-1))                                   \
    X(fdatasync_badfd, T, -EBADF, cor_fdatasync(-1))                           \
    X(statx_nopath, T, EFAULT_OR_EINVAL,                                       \
      cor_statx(AT_FDCWD, NUL, 0, STATX_SIZE, OUTP(struct statx)))             \
    X(statx_noout, T, EFAULT_OR_EINVAL,                                        \
      cor_statx(AT_FDCWD, "/", 0, STATX_SIZE, NUL))                            \
    X(close_badfd, T, -EBADF, cor_close(-1))                                   \
    X(unlink_nopath, T, EFAULT_OR_EINVAL, cor_unlink(NUL, 0))                  \
    X(rename_noold, T, EFAULT_OR_EINVAL, cor_rename(NUL, "/tmp/x"))            \
    X(rename_nonew, T, EFAULT_OR_EINVAL, cor_rename("/tmp/x", NUL))            \
    X(mkdir_nopath, T, EFAULT_OR_EINVAL, cor_mkdir(NUL, 0700))                 \
    X(tcp_listen_badport, T, -EINVAL, cor_tcp_listen("127.0.0.1", -1, NULL))   \
    X(unix_listen_nopath, T, -EINVAL, cor_unix_listen(NUL, NULL))              \
    X(sock_port_badfd, O, -EBADF, cor_sock_port(-1))                           \
    X(tcp_connect_badport, T, -EINVAL, cor_tcp_connect(NUL, -1, -1))           \
    X(unix_connect_nopath, T, -EINVAL, cor_unix_connect(NUL))                  \
    X(connect_noaddr, T, EFAULT_OR_EINVAL,                                     \
      cor_connect(socket(AF_INET, SOCK_STREAM, 0), NUL, 16))                   \
    X(accept_badfd, T, -EBADF, cor_accept(-1, NULL, NULL, -1))                 \
    X(recv_badfd, T, -EBADF, cor_recv(-1, BUF, 16, 0))                         \
    X(recv_timeout_badfd, T, -EBADF, cor_recv_timeout(-1, BUF, 16, 0, 1000))   \
    X(send_badfd, T, -EBADF, cor_send(-1, "x", 1, 0))                          \
    X(shutdown_badfd, T, -EBADF, cor_shutdown(-1, SHUT_RDWR))                  \
    X(sendto_badfd, T, -EBADF, cor_sendto(-1, "x", 1, 0, NULL, 0))             \
    X(recvfrom_badfd, T, -EBADF, cor_recvfrom(-1, BUF, 16, 0, NULL, NULL))     \
    X(udp_bind_badport, T, -EINVAL, cor_udp_bind("127.0.0.1", 70000))          \
    X(sockaddr_parse_nohost, O, 16, /* NULL: 127.0.0.1 */                      \
      cor_sockaddr_parse(NUL, 80, OUTP(struct sockaddr_storage)))              \
    X(sockaddr_parse_noout, O, -EINVAL, cor_sockaddr_parse("127.0.0.1", 80,    \
                                                           NUL))               \
    X(recv_stream_open_noout, T, -EINVAL, cor_recv_stream_open(NUL, 0))        \
    X(recv_stream_open_badfd, T, -EBADF,                                       \
      cor_recv_stream_open(OUTP(cor_recv_stream *), -1))                       \
    X(recv_stream_read, T, -EINVAL, cor_recv_stream_read(NUL, BUF, 16))        \
    X(recv_stream_close, T, -EINVAL, cor_recv_stream_close(NUL))               \
    X(server_start_noout, T, -EINVAL,                                          \
      cor_server_start(NUL, "127.0.0.1", 0, conn_fn, NULL, NULL))              \
    X(server_start_nohandler, T, -EINVAL,                                      \
      cor_server_start(OUTP(cor_server *), "127.0.0.1", 0, NULL, NULL, NULL))   \
    X(server_port, O, -EINVAL, cor_server_port(NUL))                           \
    X(server_accepted, O, 0, cor_server_accepted(NUL))                         \
    X(server_wait, T, -EINVAL, cor_server_wait(NUL))                           \
    X(server_stop, T, -EINVAL, cor_server_stop(NUL))                           \
    /* stream.h */                                                             \
    X(reader_open_noout, T, -EINVAL, cor_reader_open(NUL, 0, 0))               \
    X(reader_open_badfd, T, -EBADF, cor_reader_open(OUTP(cor_reader *), -1, 0))\
    X(reader_read, T, -EINVAL, cor_reader_read(NUL, BUF, 16))                  \
    X(reader_read_nobuf, T, -EINVAL, cor_reader_read(READER(), NUL, 16))       \
    X(reader_read_all, T, -EINVAL, cor_reader_read_all(NUL, OUTP(char *)))     \
    X(reader_read_all_noout, T, -EINVAL, cor_reader_read_all(READER(), NUL))   \
    X(reader_readexactly, T, -EINVAL,                                          \
      cor_reader_readexactly(NUL, BUF, 16, NULL))                              \
    X(reader_readuntil_nosep, T, -EINVAL,                                      \
      cor_reader_readuntil(READER(), NUL, 1, BUF, 16))                         \
    X(reader_readline, T, -EINVAL, cor_reader_readline(NUL, BUF, 16))          \
    X(reader_readline_nobuf, T, -EINVAL,                                       \
      cor_reader_readline(READER(), NUL, 16))                                  \
    X(reader_at_eof, O, 0, cor_reader_at_eof(NUL))                             \
    X(reader_free, T, 0, (cor_reader_free(NUL), 0))                            \
    X(writer_open_noout, T, -EINVAL, cor_writer_open(NUL, 1))                  \
    X(writer_open_badfd, T, -EBADF, cor_writer_open(OUTP(cor_writer *), -1))   \
    X(writer_write, T, -EINVAL, cor_writer_write(NUL, "x", 1))                 \
    X(writer_write_nobuf, T, -EINVAL, cor_writer_write(WRITER(), NUL, 4))      \
    X(writer_drain, T, -EINVAL, cor_writer_drain(NUL))                         \
    X(writer_buffered, O, 0, cor_writer_buffered(NUL))                         \
    X(writer_close, T, 0, (cor_writer_close(NUL), 0))                          \
    X(writer_is_closing, O, 0, cor_writer_is_closing(NUL))                     \
    X(writer_wait_closed, T, -EINVAL, cor_writer_wait_closed(NUL))             \
    X(writer_free, T, 0, (cor_writer_free(NUL), 0))                            \
    X(open_connection_badport, T, -EINVAL,                                     \
      cor_open_connection(NUL, -1, -1, OUTP(cor_reader *),                     \
                          OUTP(cor_writer *)))                                 \
    X(open_connection_noout, T, -EINVAL,                                       \
      cor_open_connection("127.0.0.1", 80, -1, NUL, NUL))                      \
    X(stream_server_start_noout, T, -EINVAL,                                   \
      cor_stream_server_start(NUL, "127.0.0.1", 0, stream_fn, NULL, NULL))     \
    X(stream_server_start_nofn, T, -EINVAL,                                    \
      cor_stream_server_start(OUTP(cor_server *), "127.0.0.1", 0, NULL, NULL,   \
                              NULL))                                           \
    /* proc.h */                                                               \
    X(proc_exec_noout, T, -EINVAL,                                             \
      cor_proc_exec(NUL, (const char *const[]){"true", NULL}, NULL))           \
    X(proc_exec_noargv, T, -EINVAL,                                            \
      cor_proc_exec(OUTP(cor_proc *), NUL, NULL))                              \
    X(proc_exec_emptyargv, T, -EINVAL,                                         \
      cor_proc_exec(OUTP(cor_proc *), (const char *const[]){NULL}, NULL))      \
    X(proc_shell_nocmd, T, -EINVAL, cor_proc_shell(OUTP(cor_proc *), NUL,      \
                                                   NULL))                      \
    X(proc_pid, O, -EINVAL, cor_proc_pid(NUL))                                 \
    X(proc_stdin, O, 1, cor_proc_stdin(NUL) == NULL)                           \
    X(proc_stdout, O, 1, cor_proc_stdout(NUL) == NULL)                         \
    X(proc_stderr, O, 1, cor_proc_stderr(NUL) == NULL)                         \
    X(proc_wait, T, -EINVAL, cor_proc_wait(NUL, NULL))                         \
    X(proc_returncode, O, -EINVAL, cor_proc_returncode(NUL, NULL))             \
    X(proc_communicate, T, -EINVAL,                                            \
      cor_proc_communicate(NUL, NULL, 0, NULL, NULL, NULL, NULL, NULL))        \
    X(proc_signal, O, -EINVAL, cor_proc_signal(NUL, SIGTERM))                  \
    X(proc_terminate, O, -EINVAL, cor_proc_terminate(NUL))                     \
    X(proc_kill, O, -EINVAL, cor_proc_kill(NUL))                               \
    X(proc_free, T, 0, (cor_proc_free(NUL), 0))                                \
    /* the task forms of the combinators, group_close */                       \
    X(gather_tasks_nots, T, -EINVAL, cor_gather_tasks(NUL, 1, NULL, NULL, 0))  \
    X(gather_tasks_nulltask, T, -EINVAL,                                       \
      cor_gather_tasks((cor_task *[]){NULL}, 1, NULL, NULL, 0))                \
    X(wait_tasks_nots, T, -EINVAL,                                             \
      cor_wait_tasks(NUL, 1, COR_ALL_COMPLETED, 1, NULL))                      \
    X(as_completed_create_tasks_noout, T, -EINVAL,                             \
      cor_as_completed_create_tasks(NUL, NULL, 0, 1))                          \
    X(as_completed_create_tasks_nots, T, -EINVAL,                              \
      cor_as_completed_create_tasks(OUTP(cor_as_completed *), NUL, 1, 1))      \
    X(as_completed_next_task, T, -EINVAL,                                      \
      cor_as_completed_next_task(NUL, OUTP(cor_task *)))                       \
    X(as_completed_next_task_noout, T, -EINVAL,                                \
      cor_as_completed_next_task(AC(), NUL))                                   \
    X(group_close, T, -EINVAL, cor_group_close(NUL, NULL))                     \
    X(task_detach, O, 0, (cor_task_detach(NUL), 0))                            \
    X(now_ns, O, 1, cor_now_ns() > 0)                                          \
    X(executor_shutdown, O, 0, (cor_executor_shutdown(), 0))                   \
    /* debug.h */                                                              \
    X(dump_tasks_nofile, T, -EINVAL, cor_dump_tasks(NUL))                      \
    X(dump_tasks_off, O, -EPERM, cor_dump_tasks(stderr))                       \
    X(loop_stats_all_noout, T, -EINVAL, cor_loop_stats_all(NUL, 4))            \
    X(loop_stats_all_off, O, -EPERM, cor_loop_stats_all(NUL, 0))               \
    X(loop_stats_print, O, 0, (cor_loop_stats_print(NUL, NUL), 0))             \
    X(stats_print_nofile, T, -EINVAL, cor_stats_print(NUL))                    \
    /* signal.h */                                                             \
    X(signal_add_nofn, T, -EINVAL, cor_signal_add(SIGUSR1, NULL, NULL))        \
    X(signal_add_badsig, T, -EINVAL, cor_signal_add(-1, on_signal, NULL))      \
    X(signal_add_off, O, -EPERM, cor_signal_add(SIGUSR1, on_signal, NULL))     \
    X(signal_remove_badsig, T, -EINVAL, cor_signal_remove(-1))                 \
    X(signal_remove_off, O, -EPERM, cor_signal_remove(SIGUSR1))                \
    X(signal_wait_badsig, T, -EINVAL, cor_signal_wait(-1))                     \
    X(signal_wait_off, O, ABORT, cor_signal_wait(SIGUSR1))                     \
    X(signal_wait_any_nosigs, T, -EINVAL, cor_signal_wait_any(NUL, 1))         \
    X(signal_wait_any_none, T, -EINVAL,                                        \
      cor_signal_wait_any((const int[]){SIGUSR1}, 0))                          \
    /* resolve.h */                                                            \
    X(getaddrinfo_nores, T, -EINVAL,                                           \
      cor_getaddrinfo("127.0.0.1", "80", NULL, NUL))                           \
    X(getaddrinfo_noname, T, -EINVAL,                                          \
      cor_getaddrinfo(NUL, NUL, NULL, OUTP(struct addrinfo *)))                \
    X(getnameinfo_noaddr, T, -EINVAL,                                          \
      cor_getnameinfo(NUL, 16, BUF, 16, NULL, 0, 0))                           \
    X(tcp_connect_addrs_none, T, -EINVAL, cor_tcp_connect_addrs(NUL, NULL))    \
    X(tcp_connect_name_badport, T, 1,                                          \
      cor_tcp_connect_name("127.0.0.1", "99999", NULL) < 0)                    \
    X(open_connection_name_noout, T, -EINVAL,                                  \
      cor_open_connection_name("127.0.0.1", "1", NULL, NUL, NUL))              \
    X(server_start_name_noout, T, -EINVAL,                                     \
      cor_server_start_name(NUL, "127.0.0.1", "0", conn_fn, NULL, NULL))       \
    X(server_start_name_nohandler, T, -EINVAL,                                 \
      cor_server_start_name(OUTP(cor_server *), "127.0.0.1", "0", NULL, NULL,  \
                            NULL))                                             \
    X(stream_server_start_name_noout, T, -EINVAL,                              \
      cor_stream_server_start_name(NUL, "127.0.0.1", "0", stream_fn, NULL,     \
                                   NULL))                                      \
    X(server_shutdown, T, -EINVAL, cor_server_shutdown(NUL, 0))

enum { O, T };

#define DEF(id, where, expect, call)                                           \
    static long c_##id(void)                                                   \
    {                                                                          \
        return (long)(call);                                                   \
    }
BAD(DEF)
#undef DEF

static const struct row {
    const char *call;
    long (*fn)(void);
    int where;
    long expect;
} rows[] = {
#define ROW(id, where, expect, call) {#call, c_##id, where, expect},
    BAD(ROW)
#undef ROW
};
#define NROWS (sizeof rows / sizeof rows[0])

/* ---------------------------------------------------------- the runs -- */

static void *in_task(void *arg)
{
    const struct row *r = arg;
    fprintf(stderr, "\nresult=%ld\n", r->fn());
    return NULL;
}

static void child(void *arg)
{
    const struct row *r = arg;
    /* cmocka's handlers would turn a crash here into a second test run. */
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    alarm(10); /* a hang is a failure of this row */
    if (r->where == T)
        cor_run_ex(in_task, arg, &(cor_run_opts){.loops = 1}, NULL);
    else
        fprintf(stderr, "\nresult=%ld\n", r->fn());
}

/* What went wrong with row r, or NULL. */
static const char *judge(const struct row *r, const struct child_result *c,
                         char *why, size_t len)
{
    const char *res = strstr(c->err, "\nresult=");
    if (r->expect == ABORT) {
        if (WIFSIGNALED(c->status) && WTERMSIG(c->status) == SIGABRT &&
            strstr(c->err, "coring: fatal: "))
            return NULL;
        snprintf(why, len, "did not stop with coring's message");
        return why;
    }
    if (!res) {
        if (WIFSIGNALED(c->status))
            snprintf(why, len, "killed by signal %d%s",
                     WTERMSIG(c->status),
                     WTERMSIG(c->status) == SIGALRM ? " (hang)" : "");
        else
            snprintf(why, len, "no result");
        return why;
    }
    long got = strtol(res + 8, NULL, 10);
    bool ok = r->expect == EFAULT_OR_EINVAL
                  ? got == -EFAULT || got == -EINVAL
                  : got == r->expect;
    if (!ok) {
        snprintf(why, len, "returned %ld, expected %ld", got, r->expect);
        return why;
    }
    if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0) {
        snprintf(why, len, "ended with status 0x%x after its result",
                 c->status);
        return why;
    }
    return NULL;
}

static void every_call_with_each_bad_argument(void **state)
{
    (void)state;
    static struct child_result c;
    size_t failed = 0;
    char why[128];
    for (size_t i = 0; i < NROWS; i++) {
        run_in_child(child, (void *)&rows[i], &c);
        const char *bad = judge(&rows[i], &c, why, sizeof why);
        if (bad) {
            failed++;
            print_error("%s (%s): %s\n", rows[i].call,
                        rows[i].where == T ? "in a task" : "off a loop", bad);
        }
    }
    if (failed)
        fail_msg("%zu of %zu calls broke their documented promise", failed,
                 NROWS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_call_with_each_bad_argument),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
