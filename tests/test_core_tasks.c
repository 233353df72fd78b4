/* SPDX-License-Identifier: MIT */
/*
 * test_core_tasks - tasks: creation order, many tasks, results and errors
 * through await, queries, names, current/all tasks, done callbacks, the
 * never-retrieved report.  SPEC rules 2, 13, 14, 16, 20, 21, 22, 23, 24, 25,
 * 26, 27.
 */
#include "harness.h"
#include "internal.h"
#include "uring.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *rec_name(void *arg)
{
    rec("%s %s", (const char *)arg, cor_task_name(cor_current_task()));
    return arg;
}

/* Rule 2, 25: spawn does not run the task; tasks start in FIFO order. */
static void *fifo_main(void *arg)
{
    (void)arg;
    cor_task *t[5];
    static const char *tags[5] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        t[i] = cor_spawn(rec_name, (void *)tags[i]);
    rec("spawned, main is %s", cor_task_name(cor_current_task()));
    for (int i = 0; i < 5; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

static void tasks_start_in_fifo_order(void **state)
{
    (void)state;
    assert_int_equal(h_run(fifo_main, NULL, 1), 0);
    /* Task numbers continue across runs: only the order and the shape. */
    const char *txt = rec_text();
    assert_non_null(strstr(txt, "spawned, main is Task-"));
    assert_true(strstr(txt, "spawned") < strstr(txt, "a Task-"));
    const char *p = txt;
    for (int i = 0; i < 5; i++) {
        char tag[4] = {(char)('a' + i), ' ', 'T', 0};
        const char *q = strstr(p, tag);
        assert_non_null(q);
        p = q;
    }
}

static void *names_main(void *arg)
{
    (void)arg;
    rec("main=%s", cor_task_name(cor_current_task()));
    cor_task *t = cor_spawn(rec_name, "child");
    cor_spawn_opts o = {.name = "worker"};
    cor_task *u = NULL;
    cor_spawn_ex(&u, rec_name, "named", &o);
    cor_await(t, NULL);
    cor_await(u, NULL);
    cor_task_set_name(u, "renamed");
    rec("after=%s fn_ok=%d", cor_task_name(u), cor_task_fn(u) == rec_name);
    cor_task_release(t);
    cor_task_release(u);
    return NULL;
}

/* Rule 25 in a process of its own: main is Task-1, the first child Task-2. */
static void default_names(void **state)
{
    (void)state;
    assert_int_equal(h_run(names_main, NULL, 1), 0);
    /* This test runs first in its group, in a fresh process. */
    assert_string_equal(rec_text(), "main=Task-1\n"
                                    "child Task-2\n"
                                    "named worker\n"
                                    "after=renamed fn_ok=1\n");
}

static long counter;

static void *count_up(void *arg)
{
    counter++;
    return arg;
}

static void *many_main(void *arg)
{
    long n = (long)arg;
    cor_task **t = malloc((size_t)n * sizeof *t);
    for (long i = 0; i < n; i++) {
        t[i] = cor_spawn(count_up, (void *)i);
        if (!t[i])
            return cor_fail(-ENOMEM, "spawn %ld", i);
    }
    long bad = 0;
    for (long i = 0; i < n; i++) {
        void *r = NULL;
        if (cor_await(t[i], &r) != 0 || (long)r != i)
            bad++;
        cor_task_release(t[i]);
    }
    free(t);
    rec("bad=%ld", bad);
    return NULL;
}

static void hundred_thousand_tasks(void **state)
{
    (void)state;
    counter = 0;
    assert_int_equal(h_run(many_main, (void *)100000L, 1), 0);
    assert_int_equal(counter, 100000);
    assert_string_equal(rec_text(), "bad=0\n");
}

static void *fail_io(void *arg)
{
    (void)arg;
    cor_yield();
    return cor_fail(-EIO, "disk %d failed", 3);
}

static const cor_error *seen[2];

static void *awaiter(void *arg)
{
    cor_task *t = arg;
    int rc = cor_await(t, NULL);
    const cor_error *e = NULL;
    cor_task_error(t, &e);
    seen[seen[0] ? 1 : 0] = e;
    rec("awaiter rc=%d msg=%s", rc, e ? e->message : "-");
    return NULL;
}

/* Rules 20, 21, 23: an error propagates through await, to every awaiter, as
 * the same object; a failed task is done, not cancelled; await repeats. */
static void *error_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(fail_io, NULL);
    cor_task *a = cor_spawn(awaiter, t);
    cor_task *b = cor_spawn(awaiter, t);
    void *r = (void *)1;
    int rc = cor_await(t, &r);
    rec("main rc=%d r_untouched=%d done=%d cancelled=%d", rc, r == (void *)1,
        cor_task_done(t), cor_task_cancelled(t));
    rc = cor_await(t, NULL);
    rec("again rc=%d", rc);
    cor_await(a, NULL);
    cor_await(b, NULL);
    rec("same object=%d", seen[0] == seen[1] && seen[0] != NULL);
    const cor_error *e;
    cor_task_error(t, &e);
    rec("code=%d task=%s", e->code, e->task);
    cor_task_release(a);
    cor_task_release(b);
    cor_task_release(t);
    return NULL;
}

static void error_propagates_through_await(void **state)
{
    (void)state;
    assert_int_equal(h_run(error_main, NULL, 1), 0);
    const char *txt = rec_text();
    assert_non_null(strstr(txt, "main rc=-5 r_untouched=1 done=1 "
                                "cancelled=0\n"));
    assert_non_null(strstr(txt, "again rc=-5\n"));
    assert_non_null(strstr(txt, "awaiter rc=-5 msg=disk 3 failed\n"));
    assert_non_null(strstr(txt, "same object=1\n"));
    assert_non_null(strstr(txt, "code=-5 task=Task-"));
}

static void *ret_null(void *arg)
{
    (void)arg;
    return NULL;
}

/* Rules 13, 14, 16: queries before and after the end. */
static void *query_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(ret_null, NULL);
    void *r = (void *)1;
    const cor_error *e = (void *)1;
    rec("pending done=%d result=%d error=%d", cor_task_done(t),
        cor_task_result(t, &r), cor_task_error(t, &e));
    cor_yield();
    int rr = cor_task_result(t, &r);
    int er = cor_task_error(t, &e);
    rec("finished done=%d result=%d r=%p error=%d e=%p", cor_task_done(t), rr,
        r, er, (void *)e);
    char d[128];
    cor_task_describe(t, d, sizeof d);
    rec("%s", strstr(d, "<Task finished name='Task-") == d ? "describe ok"
                                                          : d);
    rec("self done=%d", cor_task_done(cor_current_task()));
    cor_task_release(t);
    return NULL;
}

static void queries_before_and_after(void **state)
{
    (void)state;
    assert_int_equal(h_run(query_main, NULL, 1), 0);
    char want[512];
    snprintf(want, sizeof want,
             "pending done=0 result=%d error=%d\n"
             "finished done=1 result=0 r=(nil) error=0 e=(nil)\n"
             "describe ok\n"
             "self done=0\n",
             COR_EINVALSTATE, COR_EINVALSTATE);
    assert_string_equal(rec_text(), want);
}

/* Rule 26, 27: current task, all tasks (main and the caller included). */
static void *sleeper(void *arg)
{
    int rc = cor_sleep(*(double *)arg);
    return rc < 0 ? cor_fail(rc, "sleeping") : NULL;
}

static void *all_main(void *arg)
{
    (void)arg;
    static double d = 0.05;
    cor_task *t[3];
    for (int i = 0; i < 3; i++)
        t[i] = cor_spawn(sleeper, &d);
    cor_task *buf[8];
    size_t n = cor_all_tasks(buf, 8);
    int has_self = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        has_self |= buf[i] == cor_current_task();
    rec("all=%zu self=%d", n, has_self);
    for (int i = 0; i < 3; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    rec("after=%zu", cor_all_tasks(buf, 8));
    return NULL;
}

static void current_and_all_tasks(void **state)
{
    (void)state;
    assert_int_equal(h_run(all_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "all=4 self=1\nafter=1\n");
    assert_null(cor_current_task());
}

/* Rule 24: done callbacks for result, error and cancel; several; removable;
 * run on the loop (not a task stack) and may spawn. */
static void on_done(cor_task *t, void *ud)
{
    rec("cb %s %s cancelled=%d on_task=%d", (const char *)ud,
        cor_task_cancelled(t) ? "cancelled" : "done", cor_task_cancelled(t),
        cor_current_task() != NULL);
    if (strcmp(ud, "spawner") == 0)
        cor_task_release(cor_spawn(rec_name, "from-callback"));
}

static void *cb_main(void *arg)
{
    (void)arg;
    static double d = 10;
    cor_task *ok = cor_spawn(ret_null, NULL);
    cor_task *bad = cor_spawn(fail_io, NULL);
    cor_task *slow = cor_spawn(sleeper, &d);
    cor_task_on_done(ok, on_done, "first");
    cor_task_on_done(ok, on_done, "second");
    cor_task_on_done(ok, on_done, "removed");
    rec("off=%d", cor_task_off_done(ok, on_done, "removed"));
    cor_task_on_done(bad, on_done, "spawner");
    cor_task_on_done(slow, on_done, "slow");
    cor_await(ok, NULL);
    cor_await(bad, NULL);
    cor_yield();
    cor_task_cancel(slow);
    cor_await(slow, NULL);
    cor_yield();
    cor_task_release(ok);
    cor_task_release(bad);
    cor_task_release(slow);
    return NULL;
}

static void done_callbacks(void **state)
{
    (void)state;
    assert_int_equal(h_run(cb_main, NULL, 1), 0);
    const char *txt = rec_text();
    assert_non_null(strstr(txt, "off=1\n"));
    assert_non_null(strstr(txt, "cb first done cancelled=0 on_task=0\n"
                                "cb second done cancelled=0 on_task=0\n"));
    assert_null(strstr(txt, "removed"));
    assert_non_null(strstr(txt, "cb spawner done cancelled=0"));
    assert_non_null(strstr(txt, "from-callback Task-"));
    assert_non_null(strstr(txt, "cb slow cancelled cancelled=1 on_task=0\n"));
}

/* Rule 22: a failed task whose error nobody looked at is reported when its
 * last reference goes, and at the end of cor_run for handles never released;
 * one that was looked at is not. */
static void *unretrieved_main(void *arg)
{
    (void)arg;
    cor_task *a = cor_spawn(fail_io, NULL);
    cor_task *b = cor_spawn(fail_io, NULL);
    cor_task *c = cor_spawn(fail_io, NULL);
    cor_task_set_name(a, "dropped");
    cor_task_set_name(b, "kept");
    cor_task_set_name(c, "looked-at");
    cor_sleep(0.01);
    const cor_error *e;
    cor_task_error(c, &e);
    cor_task_release(c);
    cor_task_release(a); /* reported here */
    rec("released");
    return NULL;           /* b: reported when cor_run ends */
}

static void never_retrieved_report(void **state)
{
    (void)state;
    h_log_capture();
    assert_int_equal(h_run(unretrieved_main, NULL, 1), 0);
    const char *log = h_log_text();
    assert_non_null(strstr(log, "Task error was never retrieved: task "
                                "'dropped' failed: EIO('disk 3 failed')"));
    assert_non_null(strstr(log, "task 'kept' failed"));
    assert_null(strstr(log, "looked-at"));
    assert_true(strstr(log, "'dropped'") < strstr(log, "'kept'"));
}

static void *await_self(void *arg)
{
    (void)arg;
    rec("self=%d", cor_await(cor_current_task(), NULL));
    return NULL;
}

static void misuse_gives_errors(void **state)
{
    (void)state;
    assert_int_equal(h_run(await_self, NULL, 1), 0);
    assert_string_equal(rec_text(), "self=-35\n"); /* -EDEADLK */
    cor_run_opts bad = {.loops = -1};
    assert_int_equal(cor_run_ex(ret_null, NULL, &bad, NULL), -EINVAL);
    cor_run_opts small = {.loops = 1, .stack_size = 100};
    assert_int_equal(cor_run_ex(ret_null, NULL, &small, NULL), -EINVAL);
    assert_int_equal(cor_run_ex(NULL, NULL, NULL, NULL), -EINVAL);
    cor_task *t = NULL;
    assert_int_equal(cor_spawn_ex(&t, ret_null, NULL, NULL), -EPERM);
}

static void *nested_run(void *arg)
{
    (void)arg;
    rec("nested=%d", cor_run(ret_null, NULL));
    return (void *)42;
}

static void run_returns_main_result(void **state)
{
    (void)state;
    void *r = NULL;
    cor_run_opts o = {.loops = 1};
    assert_int_equal(cor_run_ex(nested_run, NULL, &o, &r), 0);
    assert_ptr_equal(r, (void *)42);
    assert_string_equal(rec_text(), "nested=-16\n"); /* -EBUSY */
    h_log_capture();
    assert_int_equal(cor_run_ex(fail_io, NULL, &o, &r), -EIO);
    /* main's error is returned, so it counts as retrieved */
    assert_null(strstr(h_log_text(), "never retrieved"));
}

static int affinity_count(void)
{
    cpu_set_t set;
    if (pthread_getaffinity_np(pthread_self(), sizeof set, &set) != 0)
        return -1;
    return CPU_COUNT(&set);
}

static void *record_affinity(void *arg)
{
    rec("%s loop=%d cpus=%d", (const char *)arg, cor_loop_index(),
        affinity_count());
    return NULL;
}

static void *affinity_main(void *arg)
{
    (void)arg;
    record_affinity("main");
    if (cor_loop_count() > 1) {
        cor_task *t = cor_spawn_on(1, record_affinity, "other");
        cor_await(t, NULL);
        cor_task_release(t);
    }
    return NULL;
}

/* Thread per core by default with several loops (each loop on one CPU),
 * no pinning for a single loop, and the caller's affinity given back. */
static void default_pinning(void **state)
{
    (void)state;
    int before = affinity_count();
    if (before < 2)
        skip(); /* one CPU: pinning changes nothing to see */
    assert_int_equal(h_run(affinity_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "main loop=0 cpus=1\n"
                                    "other loop=1 cpus=1\n");
    assert_int_equal(affinity_count(), before);
    rec_reset();
    assert_int_equal(h_run(affinity_main, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "main loop=0 cpus=%d\n", before);
    assert_string_equal(rec_text(), want);
    cor_run_opts never = {.loops = 2, .pin = COR_PIN_NEVER};
    rec_reset();
    assert_int_equal(cor_run_ex(affinity_main, NULL, &never, NULL), 0);
    assert_null(strstr(rec_text(), "cpus=1\n"));
}

static void *ring_registration(void *arg)
{
    (void)arg;
    rec("%d", cor__uring_of(cor__tls_loop)->registered);
    if (cor_loop_index() == 0 && cor_loop_count() > 1) {
        cor_task *t = cor_spawn_on(1, ring_registration, NULL);
        cor_await(t, NULL);
        cor_task_release(t);
    }
    return NULL;
}

/* Each loop's ring is in its thread's registered-ring table (16 entries
 * per thread), and leaves it when the loop is done: forty runs on this
 * thread all get an entry. */
static void ring_registered_each_run(void **state)
{
    (void)state;
    H_NEED_URING();
    for (int i = 0; i < 40; i++)
        assert_int_equal(h_run(ring_registration, NULL, 1 + i % 2), 0);
    const char *t = rec_text();
    assert_int_equal(strlen(t), 60 * 2);
    assert_null(strchr(t, '0'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(default_names, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(tasks_start_in_fifo_order, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(hundred_thousand_tasks, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(error_propagates_through_await,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(queries_before_and_after, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(current_and_all_tasks, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(done_callbacks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(never_retrieved_report, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(misuse_gives_errors, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(run_returns_main_result, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(default_pinning, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(ring_registered_each_run, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
