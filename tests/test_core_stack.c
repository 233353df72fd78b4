/* SPDX-License-Identifier: MIT */
/*
 * test_core_stack - a stack overflow is reported with the task's name and
 * stops the process, never silently: with MADV_GUARD_INSTALL guards, with
 * mprotect guards, and with canary-only stacks past the mprotect budget (more
 * stacks than vm.max_map_count allows guard pages for).  Each case runs in a
 * child process.
 */
#include "child.h"
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* Recurse with a page-sized frame; bounded so that a canary stack overflows
 * by about a third of its size and comes back (the canary is then checked
 * when the task switches out). */
static int __attribute__((noinline)) deep(int n)
{
    volatile char frame[2048];
    frame[0] = (char)n;
    frame[sizeof frame - 1] = (char)n;
    if (n == 0)
        return frame[0];
    return deep(n - 1) + frame[sizeof frame - 1];
}

static void *overflow_body(void *arg)
{
    int depth = *(int *)arg;
    int r = deep(depth);
    cor_yield();
    return (void *)(long)r;
}

struct ocase {
    bool mprotect;
    int extra_tasks; /* sleeping tasks spawned first, to use up guards */
};

static void *sleeper(void *arg)
{
    (void)arg;
    cor_sleep(100);
    return NULL;
}

static void *overflow_main(void *arg)
{
    struct ocase *c = arg;
    for (int i = 0; i < c->extra_tasks; i++)
        cor_task_release(cor_spawn(sleeper, NULL));
    cor_yield();
    static int depth = 42; /* ~84 KiB of frames on a 64 KiB stack */
    cor_spawn_opts o = {.name = "deep-recursion"};
    cor_task *t = NULL;
    cor_spawn_ex(&t, overflow_body, &depth, &o);
    cor_await(t, NULL);
    fprintf(stderr, "not reached: overflow went unnoticed\n");
    return NULL;
}

static void child_overflow(void *arg)
{
    struct ocase *c = arg;
    cor_run_opts o = {.loops = 1,
                      .stack_size = 64 * 1024,
                      .guard_mprotect = c->mprotect};
    cor_run_ex(overflow_main, c, &o, NULL);
}

static void expect_report(struct ocase *c)
{
    struct child_result r;
    run_in_child(child_overflow, c, &r);
    if (!strstr(r.err, "stack overflow in task 'deep-recursion'"))
        fprintf(stderr, "child stderr: %s\n", r.err);
    assert_non_null(strstr(r.err, "stack overflow in task 'deep-recursion'"));
    assert_null(strstr(r.err, "not reached"));
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGABRT);
}

static void overflow_madv_guard(void **state)
{
    (void)state;
    struct ocase c = {.mprotect = false};
    expect_report(&c);
}

static void overflow_mprotect_guard(void **state)
{
    (void)state;
    struct ocase c = {.mprotect = true};
    expect_report(&c);
}

/* 40k stacks with mprotect guards: more than vm.max_map_count allows, so the
 * last stacks carry a canary only, and the overflow is still reported. */
static void overflow_past_guard_budget(void **state)
{
    (void)state;
    struct ocase c = {.mprotect = true, .extra_tasks = 40000};
    expect_report(&c);
}

static size_t canary_count, guarded_count;

static void *count_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 40000; i++)
        cor_task_release(cor_spawn(sleeper, NULL));
    cor_yield();
    cor_loop_stats st;
    cor_loop_stats_get(&st);
    canary_count = st.stacks_canary;
    guarded_count = st.stacks_guarded;
    return NULL;
}

/* The same 40k stacks with MADV_GUARD_INSTALL all get a guard page. */
static void guards_do_not_run_out(void **state)
{
    (void)state;
    cor_run_opts o = {.loops = 1, .stack_size = 64 * 1024};
    assert_int_equal(cor_run_ex(count_main, NULL, &o, NULL), 0);
    if (canary_count)
        skip(); /* kernel without MADV_GUARD_INSTALL (before 6.13) */
    assert_true(guarded_count >= 40001);
    o.guard_mprotect = true;
    assert_int_equal(cor_run_ex(count_main, NULL, &o, NULL), 0);
    assert_true(canary_count > 0);
    assert_true(guarded_count < 33000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overflow_madv_guard),
        cmocka_unit_test(overflow_mprotect_guard),
        cmocka_unit_test(overflow_past_guard_budget),
        cmocka_unit_test(guards_do_not_run_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
