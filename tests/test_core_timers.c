/* SPDX-License-Identifier: MIT */
/*
 * test_core_timers - the timer heap (order, equal deadlines in FIFO order,
 * disarm), sleep never returning early, equal sleeps waking in FIFO order,
 * sleep(0) yielding exactly once.  SPEC rules 6, 7.
 */
#include "harness.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rt {
    struct cor__timer t;
    int id;
};

static int fired[4096];
static int nfired;

static void on_fire(struct cor__timer *t)
{
    fired[nfired++] = cor__container_of(t, struct rt, t)->id;
}

static void heap_equal_deadlines_fifo(void **state)
{
    (void)state;
    struct cor__timers h;
    assert_int_equal(cor__timers_init(&h), 0);
    static struct rt ts[2000];
    nfired = 0;
    for (int i = 0; i < 2000; i++) {
        ts[i].id = i;
        ts[i].t.fire = on_fire;
        ts[i].t.deadline = 1000 + (i % 2); /* two deadlines, interleaved */
        assert_int_equal(cor__timer_arm(&h, &ts[i].t), 0);
    }
    assert_int_equal(cor__timers_expire(&h, 999), 0);
    assert_int_equal(cor__timers_expire(&h, 1001), 2000);
    /* First all deadline-1000 timers in arming order, then the others. */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(fired[i], 2 * i);
        assert_int_equal(fired[1000 + i], 2 * i + 1);
    }
    cor__timers_fini(&h);
}

static void heap_random_order_and_disarm(void **state)
{
    (void)state;
    struct cor__timers h;
    assert_int_equal(cor__timers_init(&h), 0);
    static struct rt ts[4000];
    srand(7);
    for (int i = 0; i < 4000; i++) {
        ts[i].id = i;
        ts[i].t.fire = on_fire;
        ts[i].t.deadline = rand() % 100000;
        assert_int_equal(cor__timer_arm(&h, &ts[i].t), 0);
    }
    for (int i = 0; i < 4000; i += 3)
        cor__timer_disarm(&h, &ts[i].t);
    cor__timer_disarm(&h, &ts[0].t); /* twice: harmless */
    nfired = 0;
    assert_int_equal(cor__timers_expire(&h, INT64_MAX - 1), 4000 - 1334);
    for (int i = 0; i < nfired; i++) {
        assert_int_not_equal(fired[i] % 3, 0);
        if (i)
            assert_true(ts[fired[i - 1]].t.deadline <= ts[fired[i]].t.deadline);
    }
    assert_int_equal(cor__timers_next(&h), INT64_MAX);
    cor__timers_fini(&h);
}

static int early;

static void *check_sleep(void *arg)
{
    double d = *(double *)arg;
    int64_t t0 = cor_now_ns();
    int rc = cor_sleep(d);
    int64_t dt = cor_now_ns() - t0;
    if (rc != 0 || (double)dt < d * 1e9)
        early++;
    return NULL;
}

static void *never_early_main(void *arg)
{
    (void)arg;
    static double ds[] = {1e-6, 1e-4, 0.001, 0.003, 0.007, 0.011, 0.02};
    enum { N = sizeof ds / sizeof ds[0] };
    cor_task *t[N * 20];
    for (int i = 0; i < N * 20; i++)
        t[i] = cor_spawn(check_sleep, &ds[i % N]);
    for (int i = 0; i < N * 20; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    for (int i = 0; i < N; i++) /* one at a time too */
        check_sleep(&ds[i]);
    rec("nan=%d", cor_sleep(NAN));
    return NULL;
}

static void sleep_never_returns_early(void **state)
{
    (void)state;
    early = 0;
    assert_int_equal(h_run(never_early_main, NULL, 1), 0);
    assert_int_equal(early, 0);
    assert_string_equal(rec_text(), "nan=-22\n");
}

static void *sleep_and_tell(void *arg)
{
    cor_sleep(0.02);
    rec("woke %ld", (long)arg);
    return NULL;
}

static void *fifo_wake_main(void *arg)
{
    (void)arg;
    cor_task *t[8];
    for (long i = 0; i < 8; i++)
        t[i] = cor_spawn(sleep_and_tell, (void *)i);
    for (int i = 0; i < 8; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

/* Rule 7: equal sleeps started in order wake in order. */
static void equal_sleeps_wake_fifo(void **state)
{
    (void)state;
    assert_int_equal(h_run(fifo_wake_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "woke 0\nwoke 1\nwoke 2\nwoke 3\n"
                                    "woke 4\nwoke 5\nwoke 6\nwoke 7\n");
}

static void *step(void *arg)
{
    rec("%s", (const char *)arg);
    return NULL;
}

static void *yield_main(void *arg)
{
    (void)arg;
    cor_task *a = cor_spawn(step, "a runs");
    cor_task *b = cor_spawn(step, "b runs");
    rec("before sleep(0)");
    cor_sleep(0);
    rec("after sleep(0)");
    cor_task_release(a);
    cor_task_release(b);
    return NULL;
}

/* Rule 6: sleep(0) yields once and lets newly scheduled tasks start. */
static void sleep_zero_yields_once(void **state)
{
    (void)state;
    assert_int_equal(h_run(yield_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "before sleep(0)\na runs\nb runs\n"
                                    "after sleep(0)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heap_equal_deadlines_fifo),
        cmocka_unit_test(heap_random_order_and_disarm),
        cmocka_unit_test_setup_teardown(sleep_never_returns_early, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(equal_sleeps_wake_fifo, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sleep_zero_yields_once, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
