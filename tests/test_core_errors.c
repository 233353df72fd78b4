/* SPDX-License-Identifier: MIT */
/*
 * test_core_errors - what a program tells its user about a failure:
 * cor_strerror names and describes every errno (coring's own meanings where it
 * has them), and cor_run's caller gets main's error, message included,
 * through cor_run_opts.error.
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void strerror_every_errno(void **state)
{
    (void)state;
    /* Every code the C library names gets "ENAME: description". */
    for (int code = 1; code < 256; code++) {
        const char *name = strerrorname_np(code);
        const char *s = cor_strerror(-code);
        if (!name) {
            assert_string_equal(s, "unknown error");
            continue;
        }
        size_t n = strlen(name);
        assert_true(strncmp(s, name, n) == 0);
        assert_true(strncmp(s + n, ": ", 2) == 0);
        assert_true(strlen(s + n + 2) > 0);
        /* A positive code means the same. */
        assert_ptr_equal(s, cor_strerror(code));
    }
    /* The descriptions are the C library's ... */
    assert_string_equal(cor_strerror(-ENOENT),
                        "ENOENT: No such file or directory");
    assert_string_equal(cor_strerror(-EISDIR), "EISDIR: Is a directory");
    assert_string_equal(cor_strerror(-ENOSPC),
                        "ENOSPC: No space left on device");
    assert_string_equal(cor_strerror(-EADDRINUSE),
                        "EADDRINUSE: Address already in use");
    /* ... but for coring's own meanings. */
    assert_string_equal(cor_strerror(-ECANCELED),
                        "ECANCELED: operation cancelled");
    assert_string_equal(cor_strerror(COR_EINVALSTATE),
                        "EBUSY: not finished yet (invalid state)");
    assert_string_equal(cor_strerror(0), "OK");
    assert_string_equal(cor_strerror(INT_MIN), "unknown error");
    assert_string_equal(cor_strerror(INT_MAX), "unknown error");
    assert_string_equal(cor_strerror(-4096), "unknown error");
}

static void *fails(void *arg)
{
    return cor_fail(-ENOENT, "cannot open '%s'", (const char *)arg);
}

static void *succeeds(void *arg)
{
    return arg;
}

static void run_error_reaches_caller(void **state)
{
    (void)state;
    const cor_error *e = (const cor_error *)1;
    cor_run_opts o = {.loops = 1, .error = &e};
    assert_int_equal(cor_run_ex(fails, "nofile", &o, NULL), -ENOENT);
    assert_non_null(e);
    assert_int_equal(e->code, -ENOENT);
    assert_string_equal(e->message, "cannot open 'nofile'");
    cor_error_release(e);

    /* Success: NULL, and the result as before. */
    void *res = NULL;
    e = (const cor_error *)1;
    assert_int_equal(cor_run_ex(succeeds, &o, &o, &res), 0);
    assert_null(e);
    assert_ptr_equal(res, &o);

    /* Bad options: an error with the code and an empty message. */
    cor_run_opts bad = {.loops = -1, .error = &e};
    assert_int_equal(cor_run_ex(succeeds, NULL, &bad, NULL), -EINVAL);
    assert_non_null(e);
    assert_int_equal(e->code, -EINVAL);
    assert_string_equal(e->message, "");
    cor_error_release(e);

    /* No error pointer: nothing leaks (ASan), nothing is logged twice. */
    o.error = NULL;
    h_log_capture();
    assert_int_equal(cor_run_ex(fails, "x", &o, NULL), -ENOENT);
    assert_string_equal(h_log_text(), "");
    h_log_release();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(strerror_every_errno, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(run_error_reaches_caller, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
