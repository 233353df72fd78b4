/* SPDX-License-Identifier: MIT */
/*
 * test_core_cancel - cancellation: before the first run (the body never
 * runs), while sleeping, while awaiting another task, of a done task (false,
 * nothing changes); stickiness; shield scopes; a task that ignores the
 * cancel is not cancelled.  SPEC rules 15, 17, 18, 19.
 */
#include "harness.h"

#include <string.h>

static void *body_runs(void *arg)
{
    (void)arg;
    rec("body ran");
    return NULL;
}

static void *before_first_run_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(body_runs, NULL);
    rec("cancel=%d", cor_task_cancel(t));
    rec("await=%d", cor_await(t, NULL));
    void *r;
    const cor_error *e;
    int rr = cor_task_result(t, &r), er = cor_task_error(t, &e);
    rec("cancelled=%d done=%d result=%d error=%d", cor_task_cancelled(t),
        cor_task_done(t), rr, er);
    cor_task_release(t);
    return NULL;
}

/* Rules 19 and 15. */
static void cancel_before_first_run(void **state)
{
    (void)state;
    assert_int_equal(h_run(before_first_run_main, NULL, 1), 0);
    assert_string_equal(rec_text(),
                        "cancel=1\n"
                        "await=-125\n"
                        "cancelled=1 done=1 result=-125 error=-125\n");
}

static void *sleeps_then_reports(void *arg)
{
    (void)arg;
    int64_t t0 = cor_now_ns();
    int rc = cor_sleep(10);
    int again = cor_sleep(0.001); /* sticky: no suspension after a cancel */
    int y = cor_yield();
    rec("sleep=%d again=%d yield=%d quick=%d", rc, again, y,
        cor_now_ns() - t0 < 5000000000LL);
    return cor_fail(rc, "interrupted");
}

static void *while_sleeping_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(sleeps_then_reports, NULL);
    cor_sleep(0.01);
    rec("cancelling=%d", cor_task_cancelling(t));
    rec("cancel=%d", cor_task_cancel(t));
    rec("cancelling=%d", cor_task_cancelling(t));
    int rc = cor_await(t, NULL);
    rec("await=%d cancelled=%d", rc, cor_task_cancelled(t));
    cor_task_release(t);
    return NULL;
}

static void cancel_while_sleeping(void **state)
{
    (void)state;
    assert_int_equal(h_run(while_sleeping_main, NULL, 1), 0);
    assert_string_equal(rec_text(),
                        "cancelling=0\n"
                        "cancel=1\n"
                        "cancelling=1\n"
                        "sleep=-125 again=-125 yield=-125 quick=1\n"
                        "await=-125 cancelled=1\n");
}

static void *long_sleep(void *arg)
{
    (void)arg;
    int rc = cor_sleep(0.05);
    rec("inner woke rc=%d", rc);
    return (void *)7;
}

static void *awaits_inner(void *arg)
{
    cor_task *inner = arg;
    int rc = cor_await(inner, NULL);
    rec("outer await=%d inner_done=%d", rc, cor_task_done(inner));
    return cor_fail(rc, "outer");
}

static void *while_awaiting_main(void *arg)
{
    (void)arg;
    cor_task *inner = cor_spawn(long_sleep, NULL);
    cor_task *outer = cor_spawn(awaits_inner, inner);
    cor_sleep(0.01);
    cor_task_cancel(outer);
    rec("outer=%d", cor_await(outer, NULL));
    void *r = NULL;
    int rc = cor_await(inner, &r);
    rec("inner=%d r=%ld", rc, (long)r);
    cor_task_release(inner);
    cor_task_release(outer);
    return NULL;
}

/* Cancelling the awaiter leaves the awaited task running. */
static void cancel_while_awaiting(void **state)
{
    (void)state;
    assert_int_equal(h_run(while_awaiting_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "outer await=-125 inner_done=0\n"
                                    "outer=-125\n"
                                    "inner woke rc=0\n"
                                    "inner=0 r=7\n");
}

static void *returns_five(void *arg)
{
    (void)arg;
    return (void *)5;
}

static void *done_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(returns_five, NULL);
    void *r = NULL;
    cor_await(t, &r);
    rec("cancel=%d cancelled=%d", cor_task_cancel(t), cor_task_cancelled(t));
    r = NULL;
    int rc = cor_task_result(t, &r);
    rec("result=%d r=%ld", rc, (long)r);
    cor_task_release(t);
    return NULL;
}

/* Rule 17. */
static void cancel_done_task(void **state)
{
    (void)state;
    assert_int_equal(h_run(done_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "cancel=0 cancelled=0\nresult=0 r=5\n");
}

static void *ignores_cancel(void *arg)
{
    (void)arg;
    int rc = cor_sleep(10);
    rec("suppressed rc=%d", rc);
    return (void *)9; /* not a failure: the cancellation is suppressed */
}

static void *suppress_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(ignores_cancel, NULL);
    cor_yield();
    cor_task_cancel(t);
    void *r = NULL;
    int rc = cor_await(t, &r);
    rec("await=%d r=%ld cancelled=%d", rc, (long)r, cor_task_cancelled(t));
    cor_task_release(t);
    return NULL;
}

/* Rule 18: a task that suppresses the cancellation is not cancelled. */
static void suppressed_cancel(void **state)
{
    (void)state;
    assert_int_equal(h_run(suppress_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "suppressed rc=-125\n"
                                    "await=0 r=9 cancelled=0\n");
}

static void *cleanup_in_shield(void *arg)
{
    (void)arg;
    int rc = cor_sleep(10);
    cor_shield_begin();
    int64_t t0 = cor_now_ns();
    int c = cor_sleep(0.02); /* cleanup that must suspend */
    int64_t dt = cor_now_ns() - t0;
    cor_shield_end();
    int after = cor_yield();
    rec("rc=%d cleanup=%d slept=%d after=%d", rc, c, dt >= 20000000, after);
    return cor_fail(rc, "cancelled");
}

static void *shielded_while_cancelled(void *arg)
{
    (void)arg;
    cor_shield_begin();
    int rc = cor_sleep(0.02);
    cor_shield_end();
    rec("shielded sleep=%d then=%d", rc, cor_yield());
    return NULL;
}

static void *shield_main(void *arg)
{
    (void)arg;
    cor_task *a = cor_spawn(cleanup_in_shield, NULL);
    cor_task *b = cor_spawn(shielded_while_cancelled, NULL);
    cor_yield();
    cor_task_cancel(a);
    cor_task_cancel(b);
    cor_await(a, NULL);
    cor_await(b, NULL);
    rec("a cancelled=%d b cancelled=%d", cor_task_cancelled(a),
        cor_task_cancelled(b));
    cor_task_release(a);
    cor_task_release(b);
    return NULL;
}

/* Shield scopes let cleanup suspend; the cancel is delivered after them. */
static void shield_scopes(void **state)
{
    (void)state;
    assert_int_equal(h_run(shield_main, NULL, 1), 0);
    const char *txt = rec_text();
    assert_non_null(strstr(txt, "rc=-125 cleanup=0 slept=1 after=-125\n"));
    assert_non_null(strstr(txt, "shielded sleep=0 then=-125\n"));
    assert_non_null(strstr(txt, "a cancelled=1 b cancelled=0\n"));
}

static void *forever(void *arg)
{
    (void)arg;
    int rc;
    while ((rc = cor_sleep(1)) == 0)
        ;
    rec("leftover ended rc=%d", rc);
    return cor_fail(rc, "leftover");
}

static void *leftovers_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        cor_task_release(cor_spawn(forever, NULL));
    cor_yield();
    return NULL;
}

/* Rule 9: when main returns, pending tasks are cancelled and joined. */
static void leftovers_cancelled_at_exit(void **state)
{
    (void)state;
    assert_int_equal(h_run(leftovers_main, NULL, 1), 0);
    assert_int_equal(rec_count(), 3);
    assert_non_null(strstr(rec_text(), "leftover ended rc=-125\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cancel_before_first_run, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(cancel_while_sleeping, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(cancel_while_awaiting, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(cancel_done_task, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(suppressed_cancel, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(shield_scopes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(leftovers_cancelled_at_exit, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
