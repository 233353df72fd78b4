/* SPDX-License-Identifier: MIT */
/*
 * test_io_proc.c - child processes (coring/proc.h): rule 52 of SPEC.md
 * section 4 as a C port of the oracle's program (exec and shell return
 * once the child has started; its piped output read line by line as it
 * comes), exit statuses and signals in asyncio's returncode, communicate
 * with more input and output than a pipe holds, a missing program, a wait
 * cut short by a deadline, a free under waiting calls, SIGCHLD ignored,
 * SIGPIPE back at its default in the child, bad input; no fd left open.
 */
#include "aio_util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *rc_str(const cor_proc *p, char *buf, size_t len)
{
    int rc;
    if (cor_proc_returncode(p, &rc) < 0)
        return "None";
    snprintf(buf, len, "%d", rc);
    return buf;
}
#define RC(p) rc_str((p), (char[16]){0}, 16)

static double since(int64_t t0)
{
    return (double)(cor_now_ns() - t0) / 1e9;
}

/* ------------------------------------------------------------- rule 52 -- */

static void *main52(void *arg)
{
    (void)arg;
    t0_reset();
    int64_t t0 = cor_now_ns();
    cor_proc *p;
    const char *argv[] = {"sleep", "0.3", NULL};
    if (cor_proc_exec(&p, argv, NULL) < 0)
        return NULL;
    rec("exec returned while the child runs: returncode %s | elapsed<0.2: %s",
        RC(p), py_bool(since(t0) < 0.2));
    int rc = -1;
    cor_proc_wait(p, &rc);
    rec("wait() -> %d at≈%s", rc, T_NOW());
    cor_proc_free(p);

    t0_reset();
    t0 = cor_now_ns();
    if (cor_proc_shell(&p, "echo first; sleep 0.2; echo second",
                       &(cor_proc_opts){.pipe_stdout = true}) < 0)
        return NULL;
    rec("shell returned while the child runs: returncode %s | elapsed<0.1: %s",
        RC(p), py_bool(since(t0) < 0.1));
    char line[64];
    for (int i = 0; i < 2; i++) {
        ssize_t n = cor_reader_readline(cor_proc_stdout(p), line, sizeof line);
        if (n > 0 && line[n - 1] == '\n')
            n--;
        rec("child said '%.*s' at≈%s", (int)(n > 0 ? n : 0), line, T_NOW());
    }
    cor_proc_wait(p, &rc);
    rec("wait() -> %d", rc);
    cor_proc_free(p);
    return NULL;
}

static void test_rule_52(void **state)
{
    (void)state;
    int before = h_count_fds();
    assert_int_equal(h_run(main52, NULL, 1), 0);
    check_oracle("rules", "rule_52");
    assert_int_equal(h_count_fds(), before);
}

/* ------------------------------------------- exit statuses and signals -- */

static void *status_main(void *arg)
{
    (void)arg;
    cor_proc *p;
    int rc = 0;
    cor_proc_shell(&p, "exit 3", NULL);
    rec("before=%d", cor_proc_returncode(p, &rc));
    int w = cor_proc_wait(p, &rc);
    rec("wait=%d rc=%d", w, rc);
    rc = 0;
    w = cor_proc_wait(p, &rc);
    rec("again=%d rc=%d signal=%d", w, rc, cor_proc_terminate(p));
    cor_proc_free(p);

    const char *sleeper[] = {"sleep", "10", NULL};
    cor_proc_exec(&p, sleeper, NULL);
    rec("kill=%d", cor_proc_kill(p));
    cor_proc_wait(p, &rc);
    rec("killed rc=%d", rc);
    cor_proc_free(p);

    cor_proc_exec(&p, sleeper, NULL);
    rec("terminate=%d", cor_proc_terminate(p));
    cor_proc_wait(p, &rc);
    rec("terminated rc=%d", rc);
    cor_proc_free(p);
    return NULL;
}

static void test_status_and_signals(void **state)
{
    (void)state;
    int before = h_count_fds();
    assert_int_equal(h_run(status_main, NULL, 1), 0);
    char want[160];
    snprintf(want, sizeof want,
             "before=%d\nwait=0 rc=3\nagain=0 rc=3 signal=%d\nkill=0\n"
             "killed rc=%d\nterminate=0\nterminated rc=%d\n",
             -EBUSY, -ESRCH, -SIGKILL, -SIGTERM);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), before);
}

/* --------------------------------------------------------- communicate -- */

/* 1 MiB through cat (sixteen times a pipe's buffer) while the child also
 * writes to stderr: both outputs are read as the input is written. */
static void *comm_main(void *arg)
{
    (void)arg;
    enum { N = 1 << 20 };
    char *in = malloc(N);
    for (int i = 0; i < N; i++)
        in[i] = (char)('a' + i % 26);
    cor_proc *p;
    int rc = cor_proc_shell(&p, "echo start >&2; cat; echo end >&2; exit 2",
                            &(cor_proc_opts){.pipe_stdin = true,
                                             .pipe_stdout = true,
                                             .pipe_stderr = true});
    rec("start=%d", rc);
    char *out = NULL, *err = NULL;
    size_t outlen = 0, errlen = 0;
    int code = -1;
    rc = cor_proc_communicate(p, in, N, &out, &outlen, &err, &errlen, &code);
    rec("communicate=%d code=%d out=%zu same=%d err=%s", rc, code, outlen,
        outlen == N && memcmp(out, in, N) == 0, err ? err : "(null)");
    free(out);
    free(err);
    free(in);
    cor_proc_free(p);

    /* Only stdout piped: stderr comes back NULL. */
    const char *echo[] = {"echo", "Hello World", NULL};
    cor_proc_exec(&p, echo, &(cor_proc_opts){.pipe_stdout = true});
    rc = cor_proc_communicate(p, NULL, 0, &out, &outlen, &err, &errlen, &code);
    rec("echo=%d code=%d out=%.*s err=%s", rc, code, (int)outlen, out,
        err ? err : "(null)");
    free(out);
    cor_proc_free(p);
    return NULL;
}

static void test_communicate(void **state)
{
    (void)state;
    int before = h_count_fds();
    assert_int_equal(h_run(comm_main, NULL, 1), 0);
    assert_string_equal(rec_text(),
                        "start=0\n"
                        "communicate=0 code=2 out=1048576 same=1 "
                        "err=start\nend\n\n"
                        "echo=0 code=0 out=Hello World\n err=(null)\n");
    assert_int_equal(h_count_fds(), before);
}

/* -------------------------------------------- errors and interruptions -- */

static void *errors_main(void *arg)
{
    (void)arg;
    cor_proc *p = NULL;
    const char *missing[] = {"coring-no-such-program", NULL};
    rec("missing=%d", cor_proc_exec(&p, missing, NULL));
    const char *empty[] = {"", NULL};
    const char *none[] = {NULL};
    rec("bad=%d %d %d %d %d", cor_proc_exec(NULL, missing, NULL),
        cor_proc_exec(&p, NULL, NULL), cor_proc_exec(&p, empty, NULL),
        cor_proc_exec(&p, none, NULL), cor_proc_shell(&p, NULL, NULL));
    rec("null=%d %d %d", cor_proc_wait(NULL, NULL),
        cor_proc_signal(NULL, SIGTERM), cor_proc_returncode(NULL, NULL));
    cor_proc_free(NULL);

    /* A wait cut short by a deadline: the child keeps running. */
    const char *sleeper[] = {"sleep", "10", NULL};
    cor_proc_exec(&p, sleeper, NULL);
    cor_timeout_scope sc;
    cor_timeout_begin(&sc, 0.05);
    rec("deadline=%d", cor_proc_wait(p, NULL));
    cor_timeout_end(&sc);
    int rc = 0;
    rec("running=%d", cor_proc_returncode(p, &rc));
    cor_proc_kill(p);
    int w = cor_proc_wait(p, &rc);
    rec("wait=%d rc=%d", w, rc);
    cor_proc_free(p);
    return NULL;
}

static void test_errors(void **state)
{
    (void)state;
    int before = h_count_fds();
    assert_int_equal(h_run(errors_main, NULL, 1), 0);
    char want[160];
    int e = -EINVAL;
    snprintf(want, sizeof want,
             "missing=%d\nbad=%d %d %d %d %d\nnull=%d %d %d\ndeadline=%d\n"
             "running=%d\nwait=0 rc=%d\n",
             -ENOENT, e, e, e, e, e, e, e, e, -ETIMEDOUT, -EBUSY, -SIGKILL);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), before);
}

/* The child starts with SIGPIPE at its default and nothing blocked, even
 * though this process ignores SIGPIPE (as the io layer makes it do). */
/* Freeing a process while other tasks wait in cor_proc_wait and in
 * cor_proc_communicate (reading the child's stdout): both return -EBADF at
 * once, the child keeps running (as documented), and the record, its
 * streams and fds go once they are out (ASan: nothing used after free). */
static cor_proc *freed_p;
static int freed_rc[2];

static void *free_waiter(void *arg)
{
    int rc = 7;
    freed_rc[arg != NULL] =
        arg ? cor_proc_communicate(freed_p, NULL, 0, NULL, NULL, NULL, NULL,
                                   &rc)
            : cor_proc_wait(freed_p, &rc);
    return NULL;
}

static void *free_waited_main(void *arg)
{
    (void)arg;
    const char *sleeper[] = {"sleep", "10", NULL};
    if (cor_proc_exec(&freed_p, sleeper,
                      &(cor_proc_opts){.pipe_stdout = true}) < 0) {
        rec("exec failed");
        return NULL;
    }
    pid_t pid = cor_proc_pid(freed_p);
    cor_task *w = cor_spawn(free_waiter, NULL);
    cor_task *c = cor_spawn(free_waiter, (void *)1);
    cor_yield(); /* both wait */
    cor_yield();
    int64_t t0 = cor_now_ns();
    cor_proc_free(freed_p);
    cor_await(w, NULL);
    cor_await(c, NULL);
    rec("wait=%d communicate=%d at once=%d", freed_rc[0], freed_rc[1],
        since(t0) < 5);
    cor_task_release(w);
    cor_task_release(c);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return NULL;
}

static void test_free_under_waiters(void **state)
{
    (void)state;
    int before = h_count_fds();
    assert_int_equal(h_run(free_waited_main, NULL, 1), 0);
    char want[80];
    snprintf(want, sizeof want, "wait=%d communicate=%d at once=1\n", -EBADF,
             -EBADF);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), before);
}

static void *sigpipe_main(void *arg)
{
    (void)arg;
    cor_proc *p;
    const char *cat[] = {"cat", "/proc/self/status", NULL};
    if (cor_proc_exec(&p, cat, &(cor_proc_opts){.pipe_stdout = true}) < 0)
        return NULL;
    char *out = NULL;
    size_t n = 0;
    cor_proc_communicate(p, NULL, 0, &out, &n, NULL, NULL, NULL);
    cor_proc_free(p);
    unsigned long long ign = ~0ull, blk = ~0ull;
    const char *i = out ? strstr(out, "SigIgn:") : NULL;
    const char *b = out ? strstr(out, "SigBlk:") : NULL;
    if (i && b) {
        sscanf(i + 7, "%llx", &ign);
        sscanf(b + 7, "%llx", &blk);
    }
    rec("child: SIGPIPE ignored=%d blocked=%llx",
        (int)((ign >> (SIGPIPE - 1)) & 1), blk);
    free(out);
    return NULL;
}

static void test_child_signals(void **state)
{
    (void)state;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGPIPE, &ign, &old);
    int rc = h_run(sigpipe_main, NULL, 1);
    sigaction(SIGPIPE, &old, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(rec_text(), "child: SIGPIPE ignored=0 blocked=0\n");
}

/* SIGCHLD ignored: the kernel reaps the child itself, sometimes before
 * the start has its pidfd; the start still succeeds and the wait still
 * ends (with asyncio's 255 for an unknown status), never polls forever. */
static void *ignored_main(void *arg)
{
    (void)arg;
    cor_proc *p = NULL;
    const char *t[] = {"true", NULL};
    rec("exec=%d", cor_proc_exec(&p, t, NULL));
    if (!p)
        return NULL;
    int rc = 0;
    int w = cor_proc_wait(p, &rc);
    rec("wait=%d rc=%d", w, rc);
    cor_proc_free(p);
    return NULL;
}

static void test_sigchld_ignored(void **state)
{
    (void)state;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGCHLD, &ign, &old);
    int rc = h_run(ignored_main, NULL, 1);
    sigaction(SIGCHLD, &old, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(rec_text(), "exec=0\nwait=0 rc=255\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rule_52, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_status_and_signals, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_communicate, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_errors, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_free_under_waiters, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_sigchld_ignored, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_child_signals, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
