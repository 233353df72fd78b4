/* SPDX-License-Identifier: MIT */
/*
 * Loop-local objects used from another loop or a plain thread: every public
 * call on them answers -EXDEV (queries false or 0; the void calls - destroy,
 * free, close - do nothing) and changes nothing, as docs/api.md promises.
 * Loop 0 makes one of each object; a task on loop 1, then a plain thread,
 * call every function on them from a table; loop 0 then checks that each
 * object is as it was and still works.  And the case that hung the whole
 * runtime: 50 event waiters on loop 0 and a setter on loop 1.
 * Suite 'threads': TSan runs it.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct objs {
    cor_lock *lock;
    cor_event *ev;
    cor_cond *cond;
    cor_sem *sem, *bsem;
    cor_barrier *bar;
    cor_queue *q;
    cor_gen *gen;
    cor_group *grp;
    cor_as_completed *ac;
    cor_future *fut;
    cor_task *task;
    cor_reader *rd;
    cor_writer *wr;
    cor_recv_stream *rs;
    cor_proc *proc;
    int pipe[2], sock[2];
} o;

static void noop_cb(cor_future *f, void *ud)
{
    (void)f;
    (void)ud;
}

static void noop_task_cb(cor_task *t, void *ud)
{
    (void)t;
    (void)ud;
}

static void *noop(void *arg)
{
    return arg;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static int gen_body(cor_gen *g, void *arg)
{
    (void)arg;
    return cor_gen_yield(g, NULL);
}

#define XDEV ((long)-EXDEV)

/*
 * Every public call that takes a loop-local object: (id, expected, call).
 * Suspending calls are made only from the task (S), the others from the
 * task and from the plain thread (N).
 */
#define FOREIGN(X)                                                             \
    X(lock_acquire, S, XDEV, cor_lock_acquire(o.lock))                         \
    X(lock_try_acquire, N, XDEV, cor_lock_try_acquire(o.lock))                 \
    X(lock_release, N, XDEV, cor_lock_release(o.lock))                         \
    X(lock_locked, N, 0, cor_lock_locked(o.lock))                              \
    X(guard_lock, S, XDEV, cor_guard_lock(o.lock).rc)                          \
    X(event_set, N, XDEV, cor_event_set(o.ev))                                 \
    X(event_clear, N, XDEV, cor_event_clear(o.ev))                             \
    X(event_is_set, N, 0, cor_event_is_set(o.ev))                              \
    X(event_wait, S, XDEV, cor_event_wait(o.ev))                               \
    X(cond_create, N, XDEV, cor_cond_create(&(cor_cond *){0}, o.lock))         \
    X(cond_wait, S, XDEV, cor_cond_wait(o.cond))                               \
    X(cond_wait_for, S, XDEV, cor_cond_wait_for(o.cond, never, NULL))          \
    X(cond_notify, N, XDEV, cor_cond_notify(o.cond, 1))                        \
    X(cond_notify_all, N, XDEV, cor_cond_notify_all(o.cond))                   \
    X(sem_acquire, S, XDEV, cor_sem_acquire(o.sem))                            \
    X(guard_sem, S, XDEV, cor_guard_sem(o.sem).rc)                             \
    X(sem_try_acquire, N, XDEV, cor_sem_try_acquire(o.sem))                    \
    X(sem_release, N, XDEV, cor_sem_release(o.sem))                            \
    X(bsem_release, N, XDEV, cor_sem_release(o.bsem))                          \
    X(sem_value, N, XDEV, cor_sem_value(o.sem))                                \
    X(sem_locked, N, 0, cor_sem_locked(o.sem))                                 \
    X(barrier_wait, S, XDEV, cor_barrier_wait(o.bar))                          \
    X(barrier_abort, N, XDEV, cor_barrier_abort(o.bar))                        \
    X(barrier_reset, N, XDEV, cor_barrier_reset(o.bar))                        \
    X(barrier_n_waiting, N, XDEV, cor_barrier_n_waiting(o.bar))                \
    X(queue_put, S, XDEV, cor_queue_put(o.q, "x"))                             \
    X(queue_put_nowait, N, XDEV, cor_queue_put_nowait(o.q, "x"))               \
    X(queue_get, S, XDEV, cor_queue_get(o.q, &(void *){0}))                    \
    X(queue_get_nowait, N, XDEV, cor_queue_get_nowait(o.q, &(void *){0}))      \
    X(queue_task_done, N, XDEV, cor_queue_task_done(o.q))                      \
    X(queue_join, S, XDEV, cor_queue_join(o.q))                                \
    X(queue_size, N, 0, cor_queue_size(o.q))                                   \
    X(queue_empty, N, 0, cor_queue_empty(o.q))                                 \
    X(queue_full, N, 0, cor_queue_full(o.q))                                   \
    X(gen_next, S, XDEV, cor_gen_next(o.gen, &(void *){0}))                    \
    X(gen_iter, S, XDEV, cor_gen_iter(o.gen, &(void *){0}))                    \
    X(gen_close, S, XDEV, cor_gen_close(o.gen))                                \
    X(gen_destroy, N, 0, (cor_gen_destroy(o.gen), 0))                          \
    X(group_spawn, N, XDEV, cor_group_spawn(o.grp, NULL, noop, NULL))          \
    X(group_join, S, XDEV, cor_group_join(o.grp, NULL))                        \
    X(group_close, S, XDEV, cor_group_close(o.grp, NULL))                      \
    X(group_size, N, 0, (long)cor_group_size(o.grp))                           \
    X(group_destroy, N, 0, (cor_group_destroy(o.grp), 0))                      \
    X(ac_next, S, XDEV, cor_as_completed_next(o.ac, &(cor_future *){0}))       \
    X(ac_next_task, S, XDEV,                                                   \
      cor_as_completed_next_task(o.ac, &(cor_task *){0}))                      \
    X(ac_destroy, N, 0, (cor_as_completed_destroy(o.ac), 0))                   \
    X(ac_create, S, XDEV,                                                      \
      cor_as_completed_create(&(cor_as_completed *){0}, &o.fut, 1, 1.0))       \
    X(gather, S, XDEV, cor_gather(&o.fut, 1, NULL, NULL, 0))                   \
    X(gather_future, S, XDEV,                                                  \
      cor_gather_future(&o.fut, 1, NULL, NULL, 0, &(cor_future *){0}))         \
    X(wait, S, XDEV, cor_wait(&o.fut, 1, COR_ALL_COMPLETED, 1.0, NULL))        \
    X(gather_tasks, S, XDEV, cor_gather_tasks(&o.task, 1, NULL, NULL, 0))      \
    X(wait_tasks, S, XDEV,                                                     \
      cor_wait_tasks(&o.task, 1, COR_ALL_COMPLETED, 1.0, NULL))                \
    X(wait_for, S, XDEV, cor_wait_for(o.fut, 1.0, NULL))                       \
    X(shield, N, XDEV, cor_shield(o.fut, &(cor_future *){0}))                  \
    X(future_on_done, N, XDEV, cor_future_on_done(o.fut, noop_cb, NULL))       \
    X(future_off_done, N, XDEV, cor_future_off_done(o.fut, noop_cb, NULL))     \
    X(task_on_done, N, XDEV, cor_task_on_done(o.task, noop_task_cb, NULL))     \
    X(task_off_done, N, XDEV, cor_task_off_done(o.task, noop_task_cb, NULL))   \
    X(reader_read, S, XDEV, cor_reader_read(o.rd, (char[4]){0}, 4))            \
    X(reader_read_all, S, XDEV, cor_reader_read_all(o.rd, &(char *){0}))       \
    X(reader_readexactly, S, XDEV,                                             \
      cor_reader_readexactly(o.rd, (char[4]){0}, 4, NULL))                     \
    X(reader_readuntil, S, XDEV,                                               \
      cor_reader_readuntil(o.rd, "\n", 1, (char[4]){0}, 4))                    \
    X(reader_readline, S, XDEV, cor_reader_readline(o.rd, (char[4]){0}, 4))    \
    X(reader_free, S, 0, (cor_reader_free(o.rd), 0))                           \
    X(writer_write, S, XDEV, cor_writer_write(o.wr, "x", 1))                   \
    X(writer_drain, S, XDEV, cor_writer_drain(o.wr))                           \
    X(writer_close, S, 0, (cor_writer_close(o.wr), 0))                         \
    X(writer_wait_closed, S, XDEV, cor_writer_wait_closed(o.wr))               \
    X(writer_free, S, 0, (cor_writer_free(o.wr), 0))                           \
    X(recv_stream_read, S, XDEV, cor_recv_stream_read(o.rs, (char[4]){0}, 4))  \
    X(recv_stream_close, S, XDEV, cor_recv_stream_close(o.rs))                 \
    X(proc_wait, S, XDEV, cor_proc_wait(o.proc, NULL))                         \
    X(proc_communicate, S, XDEV,                                               \
      cor_proc_communicate(o.proc, NULL, 0, NULL, NULL, NULL, NULL, NULL))     \
    X(proc_free, S, 0, (cor_proc_free(o.proc), 0))

enum { N = 1, S = 2 };

#define DEF(id, kind, expect, call)                                            \
    static long f_##id(void)                                                   \
    {                                                                          \
        return (long)(call);                                                   \
    }
FOREIGN(DEF)
#undef DEF

static const struct row {
    const char *call;
    long (*fn)(void);
    int kind;
    long expect;
} rows[] = {
#define ROW(id, kind, expect, call) {#call, f_##id, kind, expect},
    FOREIGN(ROW)
#undef ROW
};
#define NROWS (sizeof rows / sizeof rows[0])

/* What each call returned, per caller (0: task on loop 1, 1: thread). */
static long got[2][NROWS];
static bool ran[2][NROWS];

static void call_all(int who)
{
    for (size_t i = 0; i < NROWS; i++) {
        if (who == 1 && rows[i].kind == S)
            continue;
        got[who][i] = rows[i].fn();
        ran[who][i] = true;
    }
}

static void *foreign_task(void *arg)
{
    (void)arg;
    call_all(0);
    return NULL;
}

static void *foreign_thread(void *arg)
{
    (void)arg;
    call_all(1);
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    cor_sleep(30);
    return NULL;
}

static int make_objects(void)
{
    static const char *const argv[] = {"cat", NULL};
    cor_proc_opts po = {.pipe_stdin = true, .pipe_stdout = true};
    if (cor_lock_create(&o.lock) || cor_event_create(&o.ev) ||
        cor_cond_create(&o.cond, NULL) || cor_sem_create(&o.sem, 1) ||
        cor_sem_create_bounded(&o.bsem, 1) || cor_barrier_create(&o.bar, 1) ||
        cor_queue_create(&o.q, NULL) || cor_gen_create(&o.gen, gen_body, NULL, 0) ||
        cor_group_create(&o.grp) || cor_future_create(&o.fut) ||
        cor_as_completed_create(&o.ac, &o.fut, 1, COR_NO_TIMEOUT) ||
        pipe(o.pipe) || socketpair(AF_UNIX, SOCK_STREAM, 0, o.sock) ||
        cor_reader_open(&o.rd, o.pipe[0], 0) ||
        cor_writer_open(&o.wr, o.pipe[1]) ||
        cor_recv_stream_open(&o.rs, o.sock[0]) ||
        cor_proc_exec(&o.proc, argv, &po))
        return -1;
    o.task = cor_spawn(sleeper, NULL);
    cor_lock_acquire(o.lock);           /* held by loop 0 */
    cor_queue_put_nowait(o.q, "item"); /* one item, one unfinished */
    return o.task ? 0 : -1;
}

/* Loop 0, after the foreign calls: nothing changed, everything works. */
static void check_and_free(void)
{
    /* One call a statement: the order of a call's arguments is unset. */
    int a = cor_lock_locked(o.lock);
    int b = cor_lock_release(o.lock);
    rec("lock locked %d, release %d, locked %d", a, b,
        cor_lock_locked(o.lock));
    a = cor_sem_value(o.sem);
    b = cor_sem_value(o.bsem);
    rec("event set %d, sem %d, bsem %d, barrier %d", cor_event_is_set(o.ev),
        a, b, cor_barrier_wait(o.bar));
    void *x = NULL;
    size_t n = cor_queue_size(o.q);
    a = cor_queue_get(o.q, &x);
    b = cor_queue_task_done(o.q);
    rec("queue size %zu, get %d %s, done %d, join %d", n, a,
        x ? (char *)x : "-", b, cor_queue_join(o.q));
    a = cor_gen_next(o.gen, &x);
    rec("gen next %d, group size %zu", a, cor_group_size(o.grp));
    cor_future_set_result(o.fut, "r");
    cor_future *f = NULL;
    rec("as_completed %d", cor_as_completed_next(o.ac, &f));
    char buf[8] = {0};
    int w = cor_writer_write(o.wr, "ok", 2);
    int d = cor_writer_drain(o.wr);
    int r = cor_reader_readexactly(o.rd, buf, 2, NULL);
    rec("stream write %d drain %d read %d '%s'", w, d, r, buf);
    write(o.sock[1], "hi", 2);
    memset(buf, 0, sizeof buf);
    rec("recv_stream read %zd '%s'", cor_recv_stream_read(o.rs, buf, 2), buf);
    char *out = NULL;
    size_t outlen = 0;
    int rc = 0;
    int c = cor_proc_communicate(o.proc, "cat", 3, &out, &outlen, NULL, NULL,
                                 &rc);
    rec("proc communicate %d '%.*s' rc %d", c, (int)outlen, out ? out : "",
        rc);
    free(out);
    cor_task_cancel(o.task);
    cor_await(o.task, NULL);
    cor_task_release(o.task);
    cor_proc_free(o.proc);
    cor_recv_stream_close(o.rs);
    cor_writer_free(o.wr);
    cor_reader_free(o.rd);
    close(o.pipe[0]);
    close(o.pipe[1]);
    close(o.sock[0]);
    close(o.sock[1]);
    cor_as_completed_destroy(o.ac);
    cor_future_release(o.fut);
    cor_group_destroy(o.grp);
    cor_gen_destroy(o.gen);
    cor_queue_destroy(o.q);
    cor_barrier_destroy(o.bar);
    cor_sem_destroy(o.bsem);
    cor_sem_destroy(o.sem);
    cor_cond_destroy(o.cond);
    cor_event_destroy(o.ev);
    cor_lock_destroy(o.lock);
}

static void *table_main(void *arg)
{
    (void)arg;
    if (make_objects() < 0)
        return cor_fail(-EIO, "objects");
    cor_task *t;
    cor_spawn_ex(&t, foreign_task, NULL, &(cor_spawn_opts){.loop = COR_LOOP(1)});
    cor_await(t, NULL);
    cor_task_release(t);
    /* A plain thread; loop 0 blocks meanwhile: nothing waits for it. */
    pthread_t th;
    pthread_create(&th, NULL, foreign_thread, NULL);
    pthread_join(th, NULL);
    check_and_free();
    return NULL;
}

static void every_call_from_a_foreign_loop(void **state)
{
    (void)state;
    memset(ran, 0, sizeof ran);
    assert_int_equal(h_run(table_main, NULL, 2), 0);
    for (int who = 0; who < 2; who++)
        for (size_t i = 0; i < NROWS; i++) {
            if (!ran[who][i])
                continue;
            if (got[who][i] != rows[i].expect)
                fail_msg("%s from a %s: %ld, expected %ld", rows[i].call,
                         who ? "plain thread" : "task on loop 1",
                         got[who][i], rows[i].expect);
        }
    assert_string_equal(rec_text(),
                        "lock locked 1, release 0, locked 0\n"
                        "event set 0, sem 1, bsem 1, barrier 0\n"
                        "queue size 1, get 0 item, done 0, join 0\n"
                        "gen next 1, group size 0\n"
                        "as_completed 1\n"
                        "stream write 0 drain 0 read 0 'ok'\n"
                        "recv_stream read 2 'hi'\n"
                        "proc communicate 0 'cat' rc 0\n");
}

/* ---- 50 event waiters on loop 0, a setter on loop 1 ---- */

/*
 * Before, the foreign set pushed loop 0's waiters onto loop 0's ready queue
 * from loop 1's thread without waking loop 0 (a race, and a hang when
 * nothing else woke it).  Now it is refused and touches nobody; the owner
 * sets the event (here loop 0 itself; from elsewhere through
 * cor_call_soon_threadsafe).
 */
static cor_event *ev50;
static atomic_int woken;
static int foreign_set_rc, woken_before;
static bool set_before;

static void *ev_waiter(void *arg)
{
    (void)arg;
    if (cor_event_wait(ev50) == 0)
        atomic_fetch_add(&woken, 1);
    return NULL;
}

static void *ev_setter(void *arg)
{
    (void)arg;
    foreign_set_rc = cor_event_set(ev50);
    return NULL;
}

static void *ev_main(void *arg)
{
    (void)arg;
    cor_task *w[50];
    cor_event_create(&ev50);
    for (int i = 0; i < 50; i++)
        w[i] = cor_spawn(ev_waiter, NULL);
    cor_yield(); /* all 50 wait */
    cor_task *s = cor_spawn_on(1, ev_setter, NULL);
    cor_await(s, NULL);
    cor_task_release(s);
    cor_yield();
    cor_yield();
    woken_before = atomic_load(&woken);
    set_before = cor_event_is_set(ev50);
    cor_event_set(ev50);
    for (int i = 0; i < 50; i++) {
        cor_await(w[i], NULL);
        cor_task_release(w[i]);
    }
    cor_event_destroy(ev50);
    return NULL;
}

static void fifty_waiters_foreign_setter(void **state)
{
    (void)state;
    atomic_store(&woken, 0);
    assert_int_equal(h_run(ev_main, NULL, 2), 0);
    assert_int_equal(foreign_set_rc, -EXDEV);
    assert_int_equal(woken_before, 0);
    assert_false(set_before);
    assert_int_equal(atomic_load(&woken), 50);
}

int main(int argc, char **argv)
{
    if (argc > 1) /* one test by name (a glob) */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_call_from_a_foreign_loop, h_setup),
        cmocka_unit_test_setup(fifty_waiters_foreign_setter, h_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
