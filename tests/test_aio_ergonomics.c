/* SPDX-License-Identifier: MIT */
/*
 * test_aio_ergonomics - what porting asyncio programs asked for: gather,
 * wait and as_completed over tasks directly, a task group closed in one
 * call whose error outlives the group, and one destroyed under a join.
 */
#include "harness.h"

#include <string.h>

/* A task that yields `arg` times, then returns arg (or fails when odd and
 * fail_odd is set). */
static bool fail_odd;

static void *yielder(void *arg)
{
    long k = (long)arg;
    for (long i = 0; i < k; i++)
        cor_yield();
    if (fail_odd && k % 2)
        return cor_fail(-EIO, "odd %ld", k);
    return arg;
}

static cor_task *spawn_n(long k)
{
    char name[16];
    snprintf(name, sizeof name, "y%ld", k);
    cor_spawn_opts o = {.name = name};
    cor_task *t = NULL;
    cor_spawn_ex(&t, yielder, (void *)k, &o);
    return t;
}

static void release_all(cor_task **ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cor_task_release(ts[i]);
}

/* ------------------------------------------------------------ gather ---- */

static void *gather_main(void *arg)
{
    (void)arg;
    enum { N = 20 }; /* past the 16 kept on the stack */
    cor_task *ts[N];
    void *res[N];
    int st[N];
    for (long i = 0; i < N; i++)
        ts[i] = spawn_n(N - i);
    int rc = cor_gather_tasks(ts, N, res, st, 0);
    long sum = 0;
    for (long i = 0; i < N; i++)
        sum += (long)res[i] == N - i && st[i] == 0;
    rec("gather %d %ld", rc, sum);
    release_all(ts, N);

    fail_odd = true;
    cor_task *two[2] = {spawn_n(2), spawn_n(3)};
    rc = cor_gather_tasks(two, 2, res, st, COR_RETURN_ERRORS);
    rec("errors %d %ld %d %d", rc, (long)res[0], st[0], st[1]);
    release_all(two, 2);
    cor_task *three[2] = {spawn_n(1), spawn_n(4)};
    rc = cor_gather_tasks(three, 2, NULL, NULL, 0);
    rec("first failure %d", rc);
    cor_await(three[1], NULL);
    release_all(three, 2);
    fail_odd = false;

    cor_task *holes[2] = {spawn_n(0), NULL};
    rec("null %d", cor_gather_tasks(holes, 2, NULL, NULL, 0));
    rec("none %d", cor_gather_tasks(NULL, 0, NULL, NULL, 0));
    rec("null array %d", cor_gather_tasks(NULL, 1, NULL, NULL, 0));
    cor_await(holes[0], NULL);
    cor_task_release(holes[0]);
    return NULL;
}

static void test_gather_tasks(void **state)
{
    (void)state;
    assert_int_equal(h_run(gather_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "gather 0 20\n"
                                    "errors 0 2 0 -5\n"
                                    "first failure -5\n"
                                    "null -22\n"
                                    "none 0\n"
                                    "null array -22\n");
}

/* -------------------------------------------------------------- wait ---- */

static void *wait_main(void *arg)
{
    (void)arg;
    cor_task *ts[3] = {spawn_n(5), spawn_n(1), spawn_n(9)};
    bool done[3];
    int rc = cor_wait_tasks(ts, 3, COR_FIRST_COMPLETED, COR_NO_TIMEOUT, done);
    rec("first %d %d%d%d", rc, done[0], done[1], done[2]);
    rc = cor_wait_tasks(ts, 3, COR_ALL_COMPLETED, COR_NO_TIMEOUT, done);
    rec("all %d %d%d%d", rc, done[0], done[1], done[2]);
    release_all(ts, 3);
    rec("bad when %d", cor_wait_tasks(ts, 0, 7, COR_NO_TIMEOUT, NULL));
    return NULL;
}

static void test_wait_tasks(void **state)
{
    (void)state;
    assert_int_equal(h_run(wait_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "first 1 010\n"
                                    "all 3 111\n"
                                    "bad when -22\n");
}

/* ------------------------------------------------------ as_completed ---- */

static void *ac_main(void *arg)
{
    (void)arg;
    cor_task *ts[4] = {spawn_n(6), spawn_n(2), spawn_n(8), spawn_n(4)};
    cor_as_completed *ac;
    int rc = cor_as_completed_create_tasks(&ac, ts, 4, COR_NO_TIMEOUT);
    if (rc < 0) {
        rec("create %d", rc);
        return NULL;
    }
    cor_task *t;
    while ((rc = cor_as_completed_next_task(ac, &t)) == 1)
        rec("%s", cor_task_name(t));
    rec("end %d", rc);
    cor_as_completed_destroy(ac);
    release_all(ts, 4);

    cor_future *f;
    cor_future_create(&f);
    cor_future_set_result(f, NULL);
    cor_as_completed_create(&ac, &f, 1, COR_NO_TIMEOUT);
    rec("plain future %d", cor_as_completed_next_task(ac, &t));
    cor_as_completed_destroy(ac);
    cor_future_release(f);
    return NULL;
}

static void test_as_completed_tasks(void **state)
{
    (void)state;
    assert_int_equal(h_run(ac_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "y2\ny4\ny6\ny8\nend 0\n"
                                    "plain future -22\n");
}

/* ------------------------------------------------------- group close ---- */

static void *boom(void *arg)
{
    cor_yield();
    return cor_fail((int)(long)arg, "boom");
}

static const cor_error *kept;

static void *inner(void *arg)
{
    cor_group *g;
    cor_group_create(&g);
    cor_group_spawn(g, NULL, boom, arg);
    cor_group_spawn(g, NULL, yielder, (void *)3L);
    const cor_error *e;
    int rc = cor_group_close(g, &e);
    /* The group is gone; its error is ours. */
    char buf[256];
    cor_error_format(e, buf, sizeof buf);
    rec("close %d %zu %s", rc, e ? e->nchildren : 0, buf);
    kept = e;
    return NULL;
}

static void *group_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(inner, (void *)(long)-EIO);
    cor_await(t, NULL);
    cor_error_release(kept);
    cor_task_release(t);
    /* A child's -EINVAL is a child's error, not a refusal: the group is
     * still destroyed (ASan: no leak). */
    t = cor_spawn(inner, (void *)(long)-EINVAL);
    cor_await(t, NULL);
    cor_error_release(kept);
    cor_task_release(t);
    return NULL;
}

static void test_group_close(void **state)
{
    (void)state;
    kept = NULL;
    assert_int_equal(h_run(group_main, NULL, 1), 0);
    const char *r = rec_text();
    assert_string_equal(r, "close -5 1 EIO('unhandled errors in a task "
                           "group') [EIO('boom')]\n"
                           "close -22 1 EINVAL('unhandled errors in a task "
                           "group') [EINVAL('boom')]\n");
}

static cor_group *shared_group;

static void *other_loop(void *arg)
{
    (void)arg;
    const cor_error *e = (const cor_error *)1;
    int rc = cor_group_close(shared_group, &e);
    rec("other loop %d %p", rc, (void *)e);
    return NULL;
}

static void *refusal_main(void *arg)
{
    (void)arg;
    const cor_error *e;
    rec("null %d", cor_group_close(NULL, &e));
    cor_group_create(&shared_group);
    cor_group_spawn(shared_group, NULL, yielder, (void *)1L);
    cor_task *t = cor_spawn_on(1, other_loop, NULL);
    cor_await(t, NULL);
    cor_task_release(t);
    /* Still ours: close it here. */
    int rc = cor_group_close(shared_group, &e);
    rec("here %d %p", rc, (void *)e);
    return NULL;
}

static void test_group_close_refusals(void **state)
{
    (void)state;
    assert_int_equal(h_run(refusal_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "null -22\n"
                                    "other loop -18 (nil)\n"
                                    "here 0 (nil)\n");
}

/* A group destroyed while another task joins it: the child is cancelled,
 * the join returns -EBADF (its error pointer NULL) once the child has
 * ended, and the group goes then (ASan: nothing used after free). */
static void *sleeper(void *arg)
{
    (void)arg;
    cor_sleep(10);
    return NULL;
}

static void *joiner(void *arg)
{
    (void)arg;
    const cor_error *e = (const cor_error *)1;
    int rc = cor_group_join(shared_group, &e);
    rec("join %d %p", rc, (void *)e);
    return NULL;
}

static void *destroy_main(void *arg)
{
    (void)arg;
    cor_task *child;
    cor_group_create(&shared_group);
    cor_group_spawn(shared_group, &child, sleeper, NULL);
    cor_task *t = cor_spawn(joiner, NULL);
    cor_yield(); /* it waits in join */
    rec("second join %d", cor_group_join(shared_group, NULL));
    int64_t t0 = cor_now_ns();
    cor_group_destroy(shared_group);
    cor_await(t, NULL);
    rec("child done %d, at once %d", cor_task_done(child),
        cor_now_ns() - t0 < 5000000000);
    cor_task_release(t);
    cor_task_release(child);
    return NULL;
}

static void test_group_destroyed_under_join(void **state)
{
    (void)state;
    assert_int_equal(h_run(destroy_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "second join -16\n"
                                    "join -9 (nil)\n"
                                    "child done 1, at once 1\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gather_tasks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_wait_tasks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_as_completed_tasks, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_group_close, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_group_destroyed_under_join,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_group_close_refusals, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
