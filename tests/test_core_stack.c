/* SPDX-License-Identifier: MIT */
/*
 * test_core_stack - a stack overflow is reported with the task's name and
 * stops the process, never silently: with MADV_GUARD_INSTALL guards, with
 * mprotect guards, and with canary-only stacks past the mprotect budget (more
 * stacks than vm.max_map_count allows guard pages for).  Each case runs in a
 * child process.  And free stacks give their memory back past a bound
 * (counted by the pool and by mincore, never timed).
 */
#include "child.h"
#include "harness.h"
#include "internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* ------------------------------------------- free stacks go back -------- */

#define TOUCH (32 * 1024) /* what each stack uses, from its top */

static size_t pagesz(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Resident pages of a stack above its guard page (mincore). */
static size_t resident(const struct cor__stack *s)
{
    size_t pg = pagesz(), n = (s->size - pg) / pg, r = 0;
    unsigned char *v = malloc(n);
    assert_non_null(v);
    assert_int_equal(mincore(s->lo + pg, s->size - pg, v), 0);
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    return r;
}

static size_t resident_all(const struct cor__stack *s, size_t n)
{
    size_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += resident(&s[i]);
    return r;
}

static void touch(const struct cor__stack *s)
{
    memset(s->lo + s->size - TOUCH, 0x5a, TOUCH);
}

enum { BURST = 300, KEEP = 8 };

/* A burst of stacks, all used then freed: all but a bounded few give their
 * pages back; a load that swings by at most `keep` stacks costs nothing;
 * released stacks work again (a canary stack gets its canary back). */
static void burst(bool mprotect)
{
    struct cor__stack_pool p;
    /* mprotect with a budget of 20: the other stacks carry canaries. */
    assert_int_equal(cor__stack_pool_init(&p, 64 * 1024, mprotect, 20), 0);
    p.keep = KEEP;
    static struct cor__stack s[BURST];
    for (int i = 0; i < BURST; i++) {
        assert_int_equal(cor__stack_get(&p, 0, &s[i]), 0);
        touch(&s[i]);
    }
    size_t per = TOUCH / pagesz();
    assert_true(resident_all(s, BURST) >= BURST * per);
    for (int i = 0; i < BURST; i++)
        cor__stack_put(&p, &s[i]);
    struct cor__stack_stats st;
    cor__stack_pool_stats(&p, &st);
    assert_int_equal(st.free, BURST);
    assert_in_range(st.warm, KEEP, 2 * KEEP);
    assert_int_equal(st.released, BURST - st.warm);
    assert_true(st.mapped >= BURST * 64 * 1024);
    /* What stays resident: the warm stacks' pages (a canary page each). */
    assert_true(resident_all(s, BURST) <= st.warm * per + BURST);

    /* Swings of up to `keep` stacks: no release. */
    size_t released = st.released;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < KEEP; i++) {
            assert_int_equal(cor__stack_get(&p, 0, &s[i]), 0);
            touch(&s[i]);
        }
        for (int i = KEEP; i-- > 0;)
            cor__stack_put(&p, &s[i]);
    }
    cor__stack_pool_stats(&p, &st);
    assert_int_equal(st.released, released);

    /* Every stack again, released ones included. */
    for (int i = 0; i < BURST; i++) {
        assert_int_equal(cor__stack_get(&p, 0, &s[i]), 0);
        if (s[i].guard == COR__GUARD_NONE)
            assert_true(cor__stack_canary_intact(&s[i], pagesz()));
        touch(&s[i]);
    }
    cor__stack_pool_stats(&p, &st);
    assert_int_equal(st.free, 0);
    for (int i = 0; i < BURST; i++)
        cor__stack_put(&p, &s[i]);
    cor__stack_pool_fini(&p);
}

static void free_stacks_go_back_madv(void **state)
{
    (void)state;
    burst(false);
}

static void free_stacks_go_back_mprotect(void **state)
{
    (void)state;
    burst(true);
}

/* A stack of another size is unmapped when freed, guard budget and all. */
static void odd_stacks_are_unmapped(void **state)
{
    (void)state;
    struct cor__stack_pool p;
    assert_int_equal(cor__stack_pool_init(&p, 64 * 1024, true, 4), 0);
    struct cor__stack def, odd[8];
    assert_int_equal(cor__stack_get(&p, 0, &def), 0);
    struct cor__stack_stats st;
    cor__stack_pool_stats(&p, &st);
    size_t mapped = st.mapped, guarded = p.nguarded;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 8; i++) {
            assert_int_equal(cor__stack_get(&p, 128 * 1024, &odd[i]), 0);
            touch(&odd[i]);
        }
        cor__stack_pool_stats(&p, &st);
        assert_int_equal(st.mapped, mapped + 8 * 128 * 1024);
        assert_int_equal(p.nguarded, 4); /* the budget, used up */
        for (int i = 0; i < 8; i++)
            cor__stack_put(&p, &odd[i]);
        cor__stack_pool_stats(&p, &st);
        assert_int_equal(st.mapped, mapped);
        assert_int_equal(p.nguarded, guarded);
        assert_int_equal(p.ncanary, 0);
    }
    cor__stack_put(&p, &def);
    cor__stack_pool_fini(&p);
}

/* Tasks: after 2000 tasks that used 32 KiB of stack each have ended, the
 * loop keeps at most twice its bound of free stacks warm. */
static struct cor__stack_stats after_tasks;

static void *stack_user(void *arg)
{
    volatile char use[TOUCH - 4096];
    use[0] = 1;
    use[sizeof use - 1] = 1;
    cor_event_wait(arg);
    return (void *)(long)(use[0] + use[sizeof use - 1]);
}

static void *tasks_main(void *arg)
{
    (void)arg;
    cor_event *e;
    if (cor_event_create(&e) < 0)
        return NULL;
    cor_task *t[2000];
    for (int i = 0; i < 2000; i++)
        t[i] = cor_spawn(stack_user, e);
    cor_yield();
    cor_event_set(e);
    for (int i = 0; i < 2000; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    cor__stack_pool_stats(&cor__tls_loop->stacks, &after_tasks);
    cor_event_destroy(e);
    return NULL;
}

static void tasks_give_stacks_back(void **state)
{
    (void)state;
    cor_run_opts o = {.loops = 1, .stack_size = 64 * 1024};
    assert_int_equal(cor_run_ex(tasks_main, NULL, &o, NULL), 0);
    assert_true(after_tasks.free >= 2000);
    assert_true(after_tasks.warm <= 2 * 64);
    assert_true(after_tasks.released >= 2000 - 2 * 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(overflow_madv_guard),
        cmocka_unit_test(overflow_mprotect_guard),
        cmocka_unit_test(overflow_past_guard_budget),
        cmocka_unit_test(guards_do_not_run_out),
        cmocka_unit_test(free_stacks_go_back_madv),
        cmocka_unit_test(free_stacks_go_back_mprotect),
        cmocka_unit_test(odd_stacks_are_unmapped),
        cmocka_unit_test(tasks_give_stacks_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
