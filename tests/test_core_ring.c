/* SPDX-License-Identifier: MIT */
/*
 * test_core_ring - COR_RING narrows the ring's configuration (the suite's
 * ring-configuration matrix, docs/design.md): each setting is applied, and
 * work that needs it still runs: completions through a CQ small enough to
 * overflow, a loop woken from another loop through its eventfd.  Each case
 * runs in a child process, since the environment and the wakeup choice are
 * process-wide.
 */
#include "child.h"
#include "harness.h"
#include "internal.h"
#include "uring.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SETUP_MASK                                                        \
    (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |            \
     IORING_SETUP_COOP_TASKRUN)

static void *report_flags(void *arg)
{
    (void)arg;
    cor_loop_stats st;
    cor_loop_stats_get(&st);
    fprintf(stderr, "flags=%u cq=%u\n", st.ring_flags & SETUP_MASK,
            cor__uring_of(cor__tls_loop)->ring.cq.ring_entries);
    return NULL;
}

struct flags_case {
    const char *env;
    unsigned want; /* setup flags expected */
};

static void flags_child(void *arg)
{
    const struct flags_case *c = arg;
    setenv("COR_RING", c->env, 1);
    int rc = cor_run(report_flags, NULL);
    _exit(rc == 0 ? 0 : 1);
}

/* The narrowed rings: each setting leaves exactly the flags it names. */
static void ring_settings_applied(void **state)
{
    (void)state;
    static const struct flags_case cases[] = {
        {"nodefer", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN},
        {"coop", IORING_SETUP_COOP_TASKRUN},
        {"basic", 0},
        {"basic,eventfd", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct child_result r;
        run_in_child(flags_child, (void *)&cases[i], &r);
        assert_true(WIFEXITED(r.status));
        assert_int_equal(WEXITSTATUS(r.status), 0);
        unsigned flags = 0, cq = 0;
        assert_int_equal(sscanf(r.err, "flags=%u cq=%u", &flags, &cq), 2);
        if (flags != cases[i].want)
            fprintf(stderr, "COR_RING=%s: %s", cases[i].env, r.err);
        assert_int_equal(flags, cases[i].want);
    }
}

#define READERS 256

static int nread;

static void *reader(void *arg)
{
    int fd = *(int *)arg;
    char b[8];
    if (cor_read(fd, b, sizeof b, 0) == (ssize_t)sizeof b)
        nread++;
    return NULL;
}

/* READERS reads of /dev/zero in flight at once on a ring of 16 CQ entries:
 * they complete at submission, 16 SQEs at a time, faster than the loop
 * reaps, so the CQ overflows into the kernel's list and the loop must
 * drain it.  Every read completes. */
static void *overflow_main(void *arg)
{
    (void)arg;
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    cor_task *t[READERS];
    for (int i = 0; i < READERS; i++)
        t[i] = cor_spawn(reader, &fd);
    for (int i = 0; i < READERS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    close(fd);
    fprintf(stderr, "cq=%u read=%d\n",
            cor__uring_of(cor__tls_loop)->ring.cq.ring_entries, nread);
    return NULL;
}

static void overflow_child(void *arg)
{
    (void)arg;
    setenv("COR_RING", "cq=16", 1);
    _exit(cor_run(overflow_main, NULL) == 0 ? 0 : 1);
}

static void small_cq_overflows_and_drains(void **state)
{
    (void)state;
    struct child_result r;
    run_in_child(overflow_child, NULL, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
    char want[64];
    snprintf(want, sizeof want, "cq=16 read=%d\n", READERS);
    if (!strstr(r.err, want))
        fprintf(stderr, "%s", r.err);
    assert_non_null(strstr(r.err, want));
}

/* The same READERS reads, started in one iteration on a ring of 8 SQ
 * entries: the SQ fills 32 times over, and each op that finds it full
 * hands it to the kernel first.  Every read completes, and the loop says
 * so with an enter per full SQ at least. */
static void *small_sq_main(void *arg)
{
    (void)arg;
    cor_loop_stats before, after;
    cor_loop_stats_get(&before);
    overflow_main(NULL);
    cor_loop_stats_get(&after);
    fprintf(stderr, "enters>=%d: %d\n", READERS / 8,
            after.enters - before.enters >= READERS / 8);
    return NULL;
}

static void small_sq_child(void *arg)
{
    (void)arg;
    cor_run_opts o = {.ring_entries = 8};
    _exit(cor_run_ex(small_sq_main, NULL, &o, NULL) == 0 ? 0 : 1);
}

static void full_sq_is_flushed(void **state)
{
    (void)state;
    struct child_result r;
    run_in_child(small_sq_child, NULL, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
    char want[64];
    snprintf(want, sizeof want, "read=%d\nenters>=%d: 1\n", READERS,
             READERS / 8);
    if (!strstr(r.err, want))
        fprintf(stderr, "%s", r.err);
    assert_non_null(strstr(r.err, want));
}

static void *on_other(void *arg)
{
    return (void *)(intptr_t)(cor_loop_index() + (intptr_t)arg);
}

/* Round trips to a sleeping loop: with `eventfd` every wakeup goes through
 * the target's eventfd (the MSG_RING path is off). */
static void *xloop_main(void *arg)
{
    (void)arg;
    int ok = 0;
    for (int i = 0; i < 200; i++) {
        cor_task *t = cor_spawn_on(1, on_other, (void *)(intptr_t)(i * 10));
        void *res = NULL;
        if (cor_await(t, &res) == 0 && (intptr_t)res == 1 + i * 10)
            ok++;
        cor_task_release(t);
    }
    fprintf(stderr, "ok=%d msgring=%d\n", ok,
            (int)atomic_load(&cor__wake_msgring));
    return NULL;
}

static void eventfd_child(void *arg)
{
    (void)arg;
    setenv("COR_RING", "eventfd", 1);
    cor_run_opts o = {.loops = 2, .pin = COR_PIN_NEVER};
    _exit(cor_run_ex(xloop_main, NULL, &o, NULL) == 0 ? 0 : 1);
}

static void eventfd_wakeups_between_loops(void **state)
{
    (void)state;
    struct child_result r;
    run_in_child(eventfd_child, NULL, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
    if (!strstr(r.err, "ok=200 msgring=0\n"))
        fprintf(stderr, "%s", r.err);
    assert_non_null(strstr(r.err, "ok=200 msgring=0\n"));
}

static void unknown_words_logged(void **state)
{
    (void)state;
    static const struct flags_case c = {"bogus,cq=3", 0};
    struct child_result r;
    run_in_child(flags_child, (void *)&c, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
    assert_non_null(strstr(r.err, "COR_RING: ignoring 'bogus'"));
    assert_non_null(strstr(r.err, "COR_RING: ignoring 'cq=3'"));
}

int main(void)
{
    if (!h_uring_or_say("the ring's configuration"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_settings_applied),
        cmocka_unit_test(small_cq_overflows_and_drains),
        cmocka_unit_test(full_sq_is_flushed),
        cmocka_unit_test(eventfd_wakeups_between_loops),
        cmocka_unit_test(unknown_words_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
