/* SPDX-License-Identifier: MIT */
/*
 * test_core_refused - when io_uring is refused, an automatic runtime runs
 * on epoll and logs one line naming the backend and the cause; a runtime
 * that asked for io_uring (cor_run_opts.backend) gets the -errno and a
 * message naming the cause and the fix.  The refusal is real: a child
 * process installs a seccomp filter (refuse.h) that fails io_uring with EPERM
 * (Docker's default profile), ENOSYS (no io_uring) or ENOMEM (memlock),
 * then calls cor_run.
 */
#include "child.h"
#include "harness.h"
#include "refuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *main_fn(void *arg)
{
    (void)arg;
    fprintf(stderr, "main ran on %s\n", cor_backend_name());
    return NULL;
}

struct refusal {
    int err;
    int backend; /* cor_run_opts.backend */
};

static void child(void *arg)
{
    struct refusal *c = arg;
    unsetenv("COR_BACKEND");
    if (refuse_io_uring(c->err) < 0) {
        fprintf(stderr, "seccomp unavailable\n");
        _exit(77);
    }
    cor_run_opts o = {.loops = 2, .backend = c->backend};
    int rc = cor_run_ex(main_fn, NULL, &o, NULL);
    fprintf(stderr, "rc=%d\n", rc);
    _exit(0);
}

static void check_words(const struct child_result *r, const char *words)
{
    if (!strstr(r->err, words))
        fprintf(stderr, "message: %s\n", r->err);
    assert_non_null(strstr(r->err, words));
}

/* The line beginning "coring: WHAT: io_uring_setup: ENAME: " in r, copied
 * to line (without its newline). */
static void find_line(const struct child_result *r, const char *what,
                      const char *ename, char *line, size_t len)
{
    char head[96];
    snprintf(head, sizeof head, "coring: %s: io_uring_setup: %s: ", what,
             ename);
    const char *l = strstr(r->err, head);
    if (!l)
        fprintf(stderr, "no '%s' in: %s\n", head, r->err);
    assert_non_null(l);
    assert_true(l == r->err || l[-1] == '\n');
    snprintf(line, len, "%.*s", (int)strcspn(l, "\n"), l);
}

static void expect(int err, const char *ename, const char *words)
{
    struct child_result r;
    /* Asked for io_uring: today's clear error. */
    struct refusal forced = {err, COR_BACKEND_IO_URING};
    run_in_child(child, &forced, &r);
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 77)
        skip();
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
    char want[32];
    snprintf(want, sizeof want, "rc=%d\n", -err);
    assert_non_null(strstr(r.err, want));
    assert_null(strstr(r.err, "main ran"));
    char line[1024];
    find_line(&r, "cannot start an event loop", ename, line, sizeof line);
    /* The cause, its fix, and the way out. */
    assert_non_null(strchr(line, ';'));
    assert_non_null(strstr(line, "chosen automatically, which runs on epoll"));
    check_words(&r, words);
    /* Automatic: epoll, one line naming it and why (for two loops). */
    struct refusal autom = {err, COR_BACKEND_AUTO};
    run_in_child(child, &autom, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
    assert_non_null(strstr(r.err, "main ran on epoll\nrc=0\n"));
    find_line(&r, "using the epoll backend", ename, line, sizeof line);
    assert_null(
        strstr(strstr(r.err, line) + 1, "coring: using the epoll backend"));
    assert_null(strstr(r.err, "cannot start"));
    check_words(&r, words);
    /* The cause only: nothing to fix, since the program runs (no "needs
     * Linux 6.1" when epoll then serves it). */
    assert_null(strchr(line, ';'));
    assert_null(strstr(line, "needs"));
}

static void refused_eperm(void **state)
{
    (void)state;
    /* Here the sysctl allows io_uring, so the message blames seccomp. */
    expect(EPERM, "EPERM", "seccomp");
}

static void refused_enosys(void **state)
{
    (void)state;
    expect(ENOSYS, "ENOSYS", "no io_uring");
}

static void refused_enomem(void **state)
{
    (void)state;
    expect(ENOMEM, "ENOMEM", "locked-memory limit");
}

/* The tests' own helper drops exactly the fallback line of the refusal
 * in force, and nothing else: any other line still fails a comparison. */
static void strip_child(void *arg)
{
    (void)arg;
    unsetenv("COR_BACKEND");
    if (refuse_io_uring(ENOSYS) < 0)
        _exit(77);
    char text[] = "coring: using the epoll backend: io_uring_setup: ENOSYS: "
                  "no io_uring\n"
                  "a line\n"
                  "coring: using the epoll backend: io_uring_setup: EPERM: "
                  "other\n"
                  "coring: cannot start an event loop: io_uring_setup: "
                  "ENOSYS: x\n"
                  "using the epoll backend: io_uring_setup: ENOSYS: hooked\n"
                  "last, no newline";
    fputs(h_without_fallback(text), stderr);
    /* A forced backend logs no such line: nothing is dropped. */
    setenv("COR_BACKEND", "epoll", 1);
    char kept[] = "coring: using the epoll backend: io_uring_setup: ENOSYS: "
                  "x\n";
    fputs(h_without_fallback(kept), stderr);
}

static void fallback_line_dropped_alone(void **state)
{
    (void)state;
    struct child_result r;
    run_in_child(strip_child, NULL, &r);
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 77)
        skip();
    assert_true(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    assert_string_equal(
        r.err, "a line\n"
               "coring: using the epoll backend: io_uring_setup: EPERM: "
               "other\n"
               "coring: cannot start an event loop: io_uring_setup: "
               "ENOSYS: x\n"
               "last, no newline"
               "coring: using the epoll backend: io_uring_setup: ENOSYS: "
               "x\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_eperm),
        cmocka_unit_test(refused_enosys),
        cmocka_unit_test(refused_enomem),
        cmocka_unit_test(fallback_line_dropped_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
