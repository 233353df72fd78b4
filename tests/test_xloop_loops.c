/* SPDX-License-Identifier: MIT */
/*
 * test_xloop_loops - many loops: spawn on a loop and round robin, await
 * across loops in both directions (and its cancellation), 100k messages
 * through a cross-loop channel, shutdown while tasks block in every kind of
 * wait, and the two foreign-thread calls.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *where(void *arg)
{
    cor_sleep(0.005);
    return (void *)((intptr_t)arg * 100 + cor_loop_index());
}

/* --------------------------------------------------- spawn placement ---- */

static void *spawn_main(void *arg)
{
    (void)arg;
    rec("count=%d index=%d", cor_loop_count(), cor_loop_index());
    cor_task *t = cor_spawn_on(1, where, (void *)7);
    void *r = NULL;
    int arc = cor_await(t, &r);
    rec("await on 1: rc=%d r=%ld", arc, (long)(intptr_t)r);
    cor_task_release(t);
    rec("bad index: %p %p", (void *)cor_spawn_on(2, where, NULL),
        (void *)cor_spawn_on(-1, where, NULL));
    cor_task *ts[6];
    int per[2] = {0, 0};
    for (int i = 0; i < 6; i++)
        ts[i] = cor_spawn_next(where, NULL);
    for (int i = 0; i < 6; i++) {
        cor_await(ts[i], &r);
        per[(intptr_t)r % 100]++;
        cor_task_release(ts[i]);
    }
    rec("round robin: %d %d", per[0], per[1]);
    cor_spawn_opts o = {.name = "far", .loop = COR_LOOP(1)};
    int rc = cor_spawn_ex(&t, where, (void *)3, &o);
    rc = rc ? rc : cor_await(t, &r);
    rec("spawn_ex far: rc=%d r=%ld name=%s", rc, (long)(intptr_t)r,
        cor_task_name(t));
    cor_task_release(t);
    return NULL;
}

static void spawn_on_loops(void **state)
{
    (void)state;
    assert_int_equal(h_run(spawn_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "count=2 index=0\n"
                                    "await on 1: rc=0 r=701\n"
                                    "bad index: (nil) (nil)\n"
                                    "round robin: 3 3\n"
                                    "spawn_ex far: rc=0 r=301 name=far\n");
}

/* The same program on one loop: everything lands on loop 0. */
static void *one_loop_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn_next(where, (void *)1);
    void *r = NULL;
    cor_await(t, &r);
    rec("r=%ld far=%p", (long)(intptr_t)r, (void *)cor_spawn_on(1, where, 0));
    cor_task_release(t);
    return NULL;
}

static void same_program_on_one_loop(void **state)
{
    (void)state;
    assert_int_equal(h_run(one_loop_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "r=100 far=(nil)\n");
}

/* -------------------------------------------- await across loops ---- */

static cor_future *shared_fut;
static _Atomic int awaiting;

/* Until the task on loop 1 runs (boundedly): a slow start (sanitizers, a
 * busy machine) must not turn into a cancel before its first run. */
static void wait_awaiting(void)
{
    for (int i = 0; i < 5000 && !atomic_load(&awaiting); i++)
        cor_sleep(0.001);
    atomic_store(&awaiting, 0);
}

static void *await_shared(void *arg)
{
    (void)arg;
    void *r = NULL;
    atomic_store(&awaiting, 1);
    int rc = cor_future_await(shared_fut, &r);
    rec("loop %d awaited loop 0's future: rc=%d r=%s", cor_loop_index(), rc,
        rc == 0 ? (char *)r : "-");
    return NULL;
}

static void *both_ways_main(void *arg)
{
    (void)arg;
    /* 0 -> 1: loop 0 awaits a task of loop 1 (covered above with result);
     * here with an error crossing. */
    cor_future_create(&shared_fut);
    cor_task *t = cor_spawn_on(1, await_shared, NULL);
    wait_awaiting();
    cor_sleep(0.005);
    cor_future_set_result(shared_fut, "hello");
    int rc = cor_await(t, NULL);
    rec("main: task on loop 1 rc=%d", rc);
    cor_task_release(t);
    cor_future_release(shared_fut);

    /* A waiter on loop 1 interrupted while waiting for loop 0's future. */
    cor_future_create(&shared_fut);
    t = cor_spawn_on(1, await_shared, NULL);
    wait_awaiting();
    cor_sleep(0.005);
    cor_task_cancel(t); /* from loop 0: delivered on loop 1 */
    cor_await(t, NULL);
    rec("cancelled waiter done=%d", cor_task_done(t));
    cor_future_set_result(shared_fut, "late"); /* no waiter left to touch */
    cor_sleep(0.005);
    cor_task_release(t);
    cor_future_release(shared_fut);
    return NULL;
}

static void await_across_loops_both_ways(void **state)
{
    (void)state;
    assert_int_equal(h_run(both_ways_main, NULL, 2), 0);
    assert_string_equal(rec_text(),
                        "loop 1 awaited loop 0's future: rc=0 r=hello\n"
                        "main: task on loop 1 rc=0\n"
                        "loop 1 awaited loop 0's future: rc=-125 r=-\n"
                        "cancelled waiter done=1\n");
}

static void *fails_far(void *arg)
{
    (void)arg;
    cor_sleep(0.002);
    return cor_fail(-ENOENT, "no such thing on loop %d", cor_loop_index());
}

static cor_task *far_task;

static void *await_far(void *arg)
{
    (void)arg;
    int rc = cor_await(far_task, NULL);
    const cor_error *e = NULL;
    cor_task_error(far_task, &e);
    rec("loop %d: rc=%d %s", cor_loop_index(), rc, e ? e->message : "");
    return NULL;
}

static void *error_cross_main(void *arg)
{
    (void)arg;
    far_task = cor_spawn_on(0, fails_far, NULL);        /* lives on 0 */
    cor_task *w = cor_spawn_on(1, await_far, NULL);     /* waits from 1 */
    cor_await(w, NULL);
    cor_task_release(w);
    cor_task_release(far_task);
    return NULL;
}

static void error_crosses_loops(void **state)
{
    (void)state;
    assert_int_equal(h_run(error_cross_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "loop 1: rc=-2 no such thing on loop 0\n");
}

/* ------------------------------------------------------- channel ---- */

#define NMSG 100000
#define NPROD 2
#define NCONS 2

static cor_chan *chan;
static unsigned char *seen;

static void *producer(void *arg)
{
    intptr_t base = (intptr_t)arg;
    for (intptr_t i = base; i < NMSG; i += NPROD)
        if (cor_chan_send(chan, (void *)(i + 1)) != 0)
            return NULL;
    return (void *)1;
}

static void *consumer(void *arg)
{
    (void)arg;
    long n = 0;
    void *it;
    while (cor_chan_recv(chan, &it) == 0) {
        seen[(intptr_t)it - 1]++;
        n++;
    }
    return (void *)n;
}

static void *chan_main(void *arg)
{
    (void)arg;
    cor_chan_create(&chan, 64);
    cor_task *c[NCONS], *p[NPROD];
    for (int i = 0; i < NCONS; i++)
        c[i] = cor_spawn_on(1, consumer, NULL);
    for (intptr_t i = 0; i < NPROD; i++)
        p[i] = cor_spawn_on(0, producer, (void *)i);
    int ok = 0;
    void *r;
    for (int i = 0; i < NPROD; i++) {
        cor_await(p[i], &r);
        ok += r != NULL;
        cor_task_release(p[i]);
    }
    cor_chan_close(chan);
    long total = 0;
    for (int i = 0; i < NCONS; i++) {
        cor_await(c[i], &r);
        total += (long)(intptr_t)r;
        cor_task_release(c[i]);
    }
    rec("producers ok=%d received=%ld", ok, total);
    cor_chan_destroy(chan);
    return NULL;
}

static void channel_100k_across_loops(void **state)
{
    (void)state;
    seen = calloc(NMSG, 1);
    assert_int_equal(h_run(chan_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "producers ok=2 received=100000\n");
    for (long i = 0; i < NMSG; i++)
        if (seen[i] != 1)
            fail_msg("message %ld seen %d times", i + 1, seen[i]);
    free(seen);
}

static void *recv_one(void *arg)
{
    (void)arg;
    void *it = NULL;
    atomic_store(&awaiting, 1);
    int rc = cor_chan_recv(chan, &it);
    rec("loop %d recv rc=%d item=%s", cor_loop_index(), rc,
        rc == 0 ? (char *)it : "-");
    return NULL;
}

static void *chan_cancel_main(void *arg)
{
    (void)arg;
    cor_chan_create(&chan, 1);
    cor_task *a = cor_spawn_on(1, recv_one, NULL);
    wait_awaiting();
    cor_sleep(0.005);
    cor_task_cancel(a);
    cor_await(a, NULL);
    cor_task *b = cor_spawn_on(1, recv_one, NULL);
    cor_sleep(0.01);
    /* Recorded after the receiver's line: the two loops run at once, so
     * recording it right after the send would race with the receiver. */
    int sent = cor_chan_send(chan, "x");
    cor_await(b, NULL);
    rec("send=%d", sent);
    rec("try_recv empty=%d", cor_chan_try_recv(chan, &arg));
    int first = cor_chan_try_send(chan, "y");
    rec("try_send=%d full=%d", first, cor_chan_try_send(chan, "z"));
    cor_chan_close(chan);
    rec("send closed=%d", cor_chan_send(chan, "w"));
    void *it;
    int rc = cor_chan_recv(chan, &it);
    rec("drain=%d %s then=%d", rc, (char *)it, cor_chan_recv(chan, &it));
    cor_task_release(a);
    cor_task_release(b);
    cor_chan_destroy(chan);
    return NULL;
}

static void channel_cancel_and_close(void **state)
{
    (void)state;
    assert_int_equal(h_run(chan_cancel_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "loop 1 recv rc=-125 item=-\n"
                                    "loop 1 recv rc=0 item=x\n"
                                    "send=0\n"
                                    "try_recv empty=-11\n"
                                    "try_send=0 full=-11\n"
                                    "send closed=-32\n"
                                    "drain=0 y then=-32\n");
}

/* ------------------------------------------------------ shutdown ---- */

static cor_future *never;
static cor_chan *empty_chan, *full_chan;

static _Atomic int main_returned;

static void *slow_job(void *arg)
{
    /* Still running when cor_run cancels its caller: until main has
     * returned (boundedly), then long enough for the cancellation of the
     * leftover tasks to reach both loops. */
    for (int i = 0; i < 10000 && !atomic_load(&main_returned); i++)
        usleep(1000);
    usleep(200000);
    return arg;
}

static _Atomic int nblocked;

static void *blocked(void *arg)
{
    const char *kind = arg;
    int rc = -1;
    atomic_fetch_add(&nblocked, 1);
    if (!strcmp(kind, "sleep"))
        rc = cor_sleep(3600);
    else if (!strcmp(kind, "future-here") || !strcmp(kind, "future-far"))
        rc = cor_future_await(never, NULL);
    else if (!strcmp(kind, "recv"))
        rc = cor_chan_recv(empty_chan, &arg);
    else if (!strcmp(kind, "send"))
        rc = cor_chan_send(full_chan, arg);
    else if (!strcmp(kind, "to_thread"))
        rc = cor_to_thread(slow_job, NULL, NULL);
    else if (!strcmp(kind, "task")) {
        cor_task *t = cor_spawn(blocked, "sleep");
        rc = cor_await(t, NULL);
        cor_task_release(t);
    }
    rec("%s on %d: %d", kind, cor_loop_index(), rc);
    return NULL;
}

static void *shutdown_main(void *arg)
{
    (void)arg;
    atomic_store(&main_returned, 0);
    static const char *kinds[] = {"sleep", "future-far", "recv", "send",
                                  "to_thread", "task"};
    cor_future_create(&never);
    cor_chan_create(&empty_chan, 1);
    cor_chan_create(&full_chan, 1);
    cor_chan_try_send(full_chan, "full");
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
            const char *k = kinds[i];
            if (l == 0 && !strcmp(k, "future-far"))
                k = "future-here";
            cor_task_release(cor_spawn_on(l, blocked, (void *)k));
        }
    /* Wait (boundedly) until all 14 bodies run, nested "task" sleeps too. */
    for (int i = 0; i < 5000 && atomic_load(&nblocked) < 14; i++)
        cor_sleep(0.001);
    cor_sleep(0.001); /* the last ones reach their wait */
    atomic_store(&main_returned, 1);
    return NULL; /* ... and cor_run cancels and joins them */
}

static void shutdown_with_blocked_tasks(void **state)
{
    (void)state;
    assert_int_equal(h_run(shutdown_main, NULL, 2), 0);
    /* Every wait ended with -ECANCELED (the nested sleep inside "task"
     * too); 14 lines in all, in any order between loops. */
    assert_int_equal(rec_count(), 14);
    const char *want[] = {"sleep on 0: -125",     "sleep on 1: -125",
                          "future-here on 0: -125",
                          "future-far on 1: -125", "recv on 0: -125",
                          "recv on 1: -125",      "send on 0: -125",
                          "send on 1: -125",      "to_thread on 0: -125",
                          "to_thread on 1: -125", "task on 0: -125",
                          "task on 1: -125"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(rec_text(), want[i]))
            fail_msg("missing '%s' in:\n%s", want[i], rec_text());
    /* `never` was freed by cor_run with its loop, like every future and
     * task still alive when it returns. */
    cor_chan_destroy(empty_chan);
    cor_chan_destroy(full_chan);
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    assert_int_equal(st.threads, 0);
}

/* ----------------------------------------------- foreign threads ---- */

static cor_loop *loops[2];
static cor_future *from_thread;

static void set_from_loop(void *arg)
{
    rec("call_soon_threadsafe on loop %d", cor_loop_index());
    cor_future_set_result(from_thread, arg);
}

static void *coroutine(void *arg)
{
    cor_sleep(0.002);
    return (void *)((intptr_t)arg + cor_loop_index());
}

static void *foreign(void *arg)
{
    (void)arg;
    cor_task *t = NULL;
    int rc = cor_run_coroutine_threadsafe(loops[1], coroutine, (void *)40,
                                          &t);
    void *r = NULL;
    int wrc = rc ? rc : cor_future_wait_threadsafe(cor_task_future(t), &r);
    rec("thread: run_coroutine_threadsafe rc=%d wait=%d r=%ld", rc, wrc,
        (long)(intptr_t)r);
    cor_task_release(t);
    cor_call_soon_threadsafe(loops[0], set_from_loop, "posted");
    return NULL;
}

static void *join_thread(void *arg)
{
    pthread_join(*(pthread_t *)arg, NULL);
    return NULL;
}

static void *foreign_main(void *arg)
{
    (void)arg;
    loops[0] = cor_loop_get(0);
    loops[1] = cor_loop_get(1);
    rec("loop_get(2)=%p", (void *)cor_loop_get(2));
    cor_future_create(&from_thread);
    pthread_t th;
    pthread_create(&th, NULL, foreign, NULL);
    void *r = NULL;
    int rc = cor_future_await(from_thread, &r);
    rec("main: rc=%d r=%s", rc, (char *)r);
    cor_to_thread(join_thread, &th, NULL);
    rec("wait on a loop=%d", cor_future_wait_threadsafe(from_thread, NULL));
    cor_future_release(from_thread);
    return NULL;
}

static void foreign_thread_calls(void **state)
{
    (void)state;
    assert_int_equal(h_run(foreign_main, NULL, 2), 0);
    assert_string_equal(rec_text(),
                        "loop_get(2)=(nil)\n"
                        "thread: run_coroutine_threadsafe rc=0 wait=0 r=41\n"
                        "call_soon_threadsafe on loop 0\n"
                        "main: rc=0 r=posted\n"
                        "wait on a loop=-1\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(spawn_on_loops, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(same_program_on_one_loop, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(await_across_loops_both_ways,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(error_crosses_loops, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(channel_100k_across_loops, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(channel_cancel_and_close, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(shutdown_with_blocked_tasks, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(foreign_thread_calls, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
