/* SPDX-License-Identifier: MIT */
/*
 * The comparison every oracle port uses (h_oracle_diff in harness.c): the
 * same lines, each the same text once its times are taken out, each time
 * no earlier than the oracle's and at most the window (a fixed part and a
 * share of the expected time) later; every other number exact.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W H_ORACLE_WINDOW

static const char *want = "t=0.0 main: starts\n"
                          "t=0.2 a: ends\n"
                          "gather(E, F): elapsed≈0.2 (the max)\n"
                          "done\n";

static void equal_text_matches(void **state)
{
    (void)state;
    assert_int_equal(h_oracle_diff(want, want, W), 0);
    assert_int_equal(h_oracle_diff("", "", W), 0);
    assert_true(h_oracle_compare(want, want, W));
}

static void a_little_late_matches(void **state)
{
    (void)state;
    assert_int_equal(h_oracle_diff("t=0.1 main: starts\n"
                                   "t=0.5 a: ends\n"
                                   "gather(E, F): elapsed≈0.3 (the max)\n"
                                   "done\n",
                                   want, W),
                     0);
}

static void earlier_fails(void **state)
{
    (void)state;
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.1 a: ends\n"
                                   "gather(E, F): elapsed≈0.2 (the max)\n"
                                   "done\n",
                                   want, W),
                     2);
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.2 a: ends\n"
                                   "gather(E, F): elapsed≈0.1 (the max)\n"
                                   "done\n",
                                   want, W),
                     3);
}

static void past_the_window_fails(void **state)
{
    (void)state;
    /* 0.2 + 0.3 + 0.5 * 0.2 = 0.6 is the last time that matches */
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.6 a: ends\n"
                                   "gather(E, F): elapsed≈0.2 (the max)\n"
                                   "done\n",
                                   want, W),
                     0);
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.7 a: ends\n"
                                   "gather(E, F): elapsed≈0.2 (the max)\n"
                                   "done\n",
                                   want, W),
                     2);
    /* no window: exact */
    h_window none = {0, 0};
    assert_int_equal(h_oracle_diff("t=1.0 x\n", "t=1.0 x\n", none), 0);
    assert_int_equal(h_oracle_diff("t=1.1 x\n", "t=1.0 x\n", none), 1);
    /* the share grows with the time expected: 0.3 + 0.5 * 2.0 */
    assert_int_equal(h_oracle_diff("t=3.3 x\n", "t=2.0 x\n", W), 0);
    assert_int_equal(h_oracle_diff("t=3.4 x\n", "t=2.0 x\n", W), 1);
    /* in seed seconds at TIME_SCALE 0.1: 3 + 0.5 * 6.0 seed seconds */
    h_window seed = H_ORACLE_SCALED(0.1);
    assert_int_equal(h_oracle_diff("elapsed 12.0 s\n", "elapsed 6.0 s\n",
                                   seed),
                     0);
    assert_int_equal(h_oracle_diff("elapsed 13.0 s\n", "elapsed 6.0 s\n",
                                   seed),
                     1);
}

static void changed_word_fails(void **state)
{
    (void)state;
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.2 b: ends\n"
                                   "gather(E, F): elapsed≈0.2 (the max)\n"
                                   "done\n",
                                   want, W),
                     2);
    /* a time printed another way is no match */
    assert_int_equal(h_oracle_diff("t=0.20 x\n", "t=0.2 x\n", W), 1);
    assert_int_equal(h_oracle_diff("t= 0.2 x\n", "t=0.2 x\n", W), 1);
}

static void missing_or_extra_line_fails(void **state)
{
    (void)state;
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.2 a: ends\n"
                                   "done\n",
                                   want, W),
                     3);
    assert_int_equal(h_oracle_diff("t=0.0 main: starts\n"
                                   "t=0.2 a: ends\n"
                                   "gather(E, F): elapsed≈0.2 (the max)\n",
                                   want, W),
                     4);
    char more[256];
    snprintf(more, sizeof more, "%sextra\n", want);
    assert_int_equal(h_oracle_diff(more, want, W), 5);
    assert_int_equal(h_oracle_diff("", want, W), 1);
    assert_int_equal(h_oracle_diff(want, "", W), 1);
    /* an empty line is a line; so is a last one without its newline */
    assert_int_equal(h_oracle_diff("a\n\nb\n", "a\nb\n", W), 2);
    assert_int_equal(h_oracle_diff("a\nb", "a\nb\n", W), 2);
    assert_false(h_oracle_compare("a\nb\n", "a\nc\n", W));
}

/* Numbers the oracle prints that are no times (arguments, thresholds,
 * values): exact, even one tenth later. */
static void other_numbers_are_exact(void **state)
{
    (void)state;
    static const char *const exact[][2] = {
        {"t=0.0 main: time.sleep(0.3) blocks", "t=0.0 main: time.sleep(0.4) blocks"},
        {"wait(timeout=0.4) returned after≈0.4", "wait(timeout=0.5) returned after≈0.4"},
        {"function started within 0.2 s: False", "function started within 0.3 s: False"},
        {"after 0.2 s done=0 pending=2", "after 0.3 s done=0 pending=2"},
        {"> task 2 done after sleep 0.1 seconds", "> task 2 done after sleep 0.2 seconds"},
        {">task got 1.5", ">task got 1.6"},
        {"2.0", "2.1"},
        {"A (holds 0.1 s), B (0.2 s)", "A (holds 0.1 s), B (0.3 s)"},
        {"3 blocking 0.2 s calls took≈0.2", "3 blocking 0.3 s calls took≈0.2"},
        {"elapsed<0.2: True", "elapsed<0.3: True"},
        {"HTTP/1.1 200 OK", "HTTP/1.2 200 OK"},
        {"t=0.2 a: 3 items", "t=0.2 a: 4 items"},
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++) {
        assert_int_equal(h_oracle_diff(exact[i][0], exact[i][0], W), 0);
        if (h_oracle_diff(exact[i][1], exact[i][0], W) != 1)
            fail_msg("\"%s\" matched \"%s\"", exact[i][1], exact[i][0]);
    }
}

/* Every time format the oracle's expected outputs use: a tenth late
 * matches, a tenth early does not. */
static void every_time_format(void **state)
{
    (void)state;
    static const char *const times[][3] = {
        {"t=0.2 a: ends", "t=0.3 a: ends", "t=0.1 a: ends"},
        {"await x -> work result at≈0.3", "await x -> work result at≈0.4",
         "await x -> work result at≈0.2"},
        {"wait(timeout=0.4) returned by timeout after≈0.4",
         "wait(timeout=0.4) returned by timeout after≈0.5",
         "wait(timeout=0.4) returned by timeout after≈0.3"},
        {"g took 1.0 s", "g took 1.1 s", "g took 0.9 s"},
        {"(took 4.0 seconds).", "(took 4.1 seconds).", "(took 3.9 seconds)."},
        {"Consumer 1 got element <3> in 0.1 seconds.",
         "Consumer 1 got element <3> in 0.2 seconds.",
         "Consumer 1 got element <3> in 0.0 seconds."},
        {"processed 10 images in 10.0 s (at most 4)",
         "processed 10 images in 10.1 s (at most 4)",
         "processed 10 images in 9.9 s (at most 4)"},
        {"main done after 2.0 seconds", "main done after 2.1 seconds",
         "main done after 1.9 seconds"},
        {"elapsed 6.0 s", "elapsed 6.1 s", "elapsed 5.9 s"},
        {"Task One elapsed time: 15.0", "Task One elapsed time: 15.1",
         "Task One elapsed time: 14.9"},
        {"parallel_tasks used: 1.5 seconds.", "parallel_tasks used: 1.6 seconds.",
         "parallel_tasks used: 1.4 seconds."},
        {"Start: 1.0", "Start: 1.1", "Start: 0.9"},
        {"End: 10.0", "End: 10.1", "End: 9.9"},
        {"res: [1, 2, 3] completed at 3.0", "res: [1, 2, 3] completed at 3.1",
         "res: [1, 2, 3] completed at 2.9"},
        {"8 Judit moves, 24.0 s", "8 Judit moves, 24.1 s", "8 Judit moves, 23.9 s"},
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        if (h_oracle_diff(times[i][1], times[i][0], W) != 0)
            fail_msg("\"%s\" did not match \"%s\"", times[i][1], times[i][0]);
        if (h_oracle_diff(times[i][2], times[i][0], W) != 1)
            fail_msg("\"%s\" matched \"%s\"", times[i][2], times[i][0]);
    }
}

/* Some of the oracle's own outputs, with times and other numbers mixed,
 * match themselves. */
static void oracle_outputs_match_themselves(void **state)
{
    (void)state;
    static const char *const names[][2] = {
        {"rules", "rule_03"}, {"rules", "rule_08"}, {"rules", "rule_27"},
        {"rules", "rule_36"}, {"rules", "rule_44"}, {"rules", "rule_52"},
        {"seeds", "chained"}, {"seeds", "wait_all"}, {"seeds", "coro_seq"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *text = h_oracle_expected(names[i][0], names[i][1]);
        if (!text)
            skip();
        size_t d = h_oracle_diff(text, text, W);
        free(text);
        assert_int_equal(d, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_text_matches),
        cmocka_unit_test(a_little_late_matches),
        cmocka_unit_test(earlier_fails),
        cmocka_unit_test(past_the_window_fails),
        cmocka_unit_test(changed_word_fails),
        cmocka_unit_test(missing_or_extra_line_fails),
        cmocka_unit_test(other_numbers_are_exact),
        cmocka_unit_test(every_time_format),
        cmocka_unit_test(oracle_outputs_match_themselves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
