/* SPDX-License-Identifier: MIT */
/*
 * test_debug_observe - seeing inside: every loop's counters, the task dump
 * (names, states, what each waits on, the chain of awaiters, on a call and
 * on a signal), the stall detector, and debug mode's reports (a dropped
 * task, a slow step, a slow callback), each with its output captured.
 */
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *captured;

static void capture_set(char *text)
{
    free(captured);
    captured = text;
}

static int teardown(void **state)
{
    capture_set(NULL);
    return h_teardown(state);
}

/* ----------------------------------------------------------- counters -- */

static cor_loop_stats st_here, st_all[2];
static int st_n;

static void *stats_main(void *arg)
{
    (void)arg;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return cor_fail(-errno, "pipe");
    char c = 'x';
    for (int i = 0; i < 10; i++) {
        cor_write(p[1], &c, 1, -1);
        cor_read(p[0], &c, 1, -1);
    }
    close(p[0]);
    close(p[1]);
    cor_sleep(0.001);
    cor_loop_stats_get(&st_here);
    st_n = cor_loop_stats_all(st_all, 2);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cor_stats_print(f);
    fclose(f);
    capture_set(text);
    return NULL;
}

static void test_counters(void **state)
{
    (void)state;
    assert_int_equal(h_run(stats_main, NULL, 2), 0);
    /* 20 io operations, each an SQE and a CQE. */
    assert_true(st_here.sqes >= 20);
    assert_true(st_here.cqes >= 20);
    assert_true(st_here.enters >= 1);
    assert_true(st_here.enters <= st_here.sqes + st_here.iterations);
    assert_int_equal(st_here.cq_overflows, 0);
    assert_int_equal(st_here.loop, 0);
    assert_int_equal(st_here.tasks, 1);
    assert_int_equal(st_here.ops, 0);
    assert_int_equal(st_n, 2);
    assert_int_equal(st_all[0].loop, 0);
    assert_int_equal(st_all[1].loop, 1);
    assert_true(st_all[0].sqes >= st_here.sqes);
    assert_int_equal(st_all[1].tasks, 0);
    assert_non_null(strstr(captured, "loop 0: iterations="));
    assert_non_null(strstr(captured, "loop 1: iterations="));
    assert_non_null(strstr(captured, " sqes="));
    assert_non_null(strstr(captured, " cq_overflows=0 "));
    assert_non_null(strstr(captured, "executor: threads="));
    assert_non_null(strstr(captured, " queued="));
}

/* On epoll (docs/api-debug.md): sqes counts the ops the loop tries itself,
 * cqes every op that ended, the executor's file ops included. */
static cor_loop_stats ep_before, ep_pipe, ep_file;

static void *epoll_stats_main(void *arg)
{
    (void)arg;
    int p[2];
    FILE *tmp = tmpfile();
    if (pipe2(p, O_CLOEXEC) < 0 || !tmp)
        return cor_fail(-EIO, "pipe or tmpfile");
    char c = 'x';
    cor_loop_stats_get(&ep_before);
    for (int i = 0; i < 10; i++) {
        cor_write(p[1], &c, 1, -1);
        cor_read(p[0], &c, 1, -1);
    }
    cor_loop_stats_get(&ep_pipe);
    for (int i = 0; i < 5; i++) {
        cor_write(fileno(tmp), &c, 1, i);
        cor_read(fileno(tmp), &c, 1, i);
    }
    cor_loop_stats_get(&ep_file);
    close(p[0]);
    close(p[1]);
    fclose(tmp);
    return NULL;
}

static void test_counters_on_epoll(void **state)
{
    (void)state;
    cor_run_opts o = {.loops = 1, .backend = COR_BACKEND_EPOLL};
    assert_int_equal(cor_run_ex(epoll_stats_main, NULL, &o, NULL), 0);
    assert_int_equal(ep_pipe.sqes - ep_before.sqes, 20);
    assert_int_equal(ep_pipe.cqes - ep_before.cqes, 20);
    assert_int_equal(ep_file.sqes - ep_pipe.sqes, 0);
    assert_int_equal(ep_file.cqes - ep_pipe.cqes, 10);
    assert_int_equal(ep_file.cq_overflows, 0);
    assert_int_equal(ep_file.ring_flags, 0);
}

static void *stats_off_task(void *arg)
{
    (void)arg;
    return NULL;
}

static void test_counters_need_a_task(void **state)
{
    (void)state;
    cor_loop_stats s;
    assert_int_equal(cor_loop_stats_get(&s), -EPERM);
    assert_int_equal(cor_loop_stats_all(&s, 1), -EPERM);
    assert_int_equal(cor_dump_tasks(stderr), -EPERM);
    assert_int_equal(h_run(stats_off_task, NULL, 1), 0);
}

/* ------------------------------------------------------------ the dump -- */

static cor_lock *lk;

static void *sleeper(void *arg)
{
    (void)arg;
    cor_sleep(30);
    return NULL;
}

static _Atomic int child_started;

static void *child(void *arg)
{
    (void)arg;
    atomic_store(&child_started, 1);
    cor_sleep(30);
    return NULL;
}

/* Spawn fn(arg) as `name` (on loop 1 when `there`) and await it. */
static void *spawn_await(const char *name, cor_fn *fn, void *arg, bool there)
{
    cor_spawn_opts o = {.name = name, .loop = there ? COR_LOOP(1) : 0};
    cor_task *t = NULL;
    if (cor_spawn_ex(&t, fn, arg, &o) < 0)
        return NULL;
    cor_await(t, NULL);
    cor_task_release(t);
    return NULL;
}

static void *parent(void *arg)
{
    return spawn_await("child", child, NULL, arg != NULL);
}

static void *grand(void *arg)
{
    return spawn_await("parent", parent, arg, false);
}

static void *locker(void *arg)
{
    (void)arg;
    cor_lock_acquire(lk);
    cor_lock_release(lk);
    return NULL;
}

static void *gatherer(void *arg)
{
    (void)arg;
    cor_task *t[2];
    cor_spawn_opts o1 = {.name = "g-one"}, o2 = {.name = "g-two"};
    cor_spawn_ex(&t[0], sleeper, NULL, &o1);
    cor_spawn_ex(&t[1], sleeper, NULL, &o2);
    cor_future *fs[2] = {cor_task_future(t[0]), cor_task_future(t[1])};
    cor_gather(fs, 2, NULL, NULL, COR_RETURN_ERRORS);
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    return NULL;
}

static cor_task *cyc[2];

static void *a_waits_b(void *arg)
{
    long i = (long)arg;
    while (!cyc[1 - i])
        cor_yield();
    cor_await(cyc[1 - i], NULL);
    return NULL;
}

static int pfd[2];

static void *reader(void *arg)
{
    (void)arg;
    char c;
    cor_read(pfd[0], &c, 1, -1);
    return NULL;
}

static cor_task *spawn_named(const char *name, cor_fn *fn, void *arg)
{
    cor_spawn_opts o = {.name = name};
    cor_task *t = NULL;
    cor_spawn_ex(&t, fn, arg, &o);
    return t;
}

static void *dump_main(void *arg)
{
    cor_task_set_name(cor_current_task(), "main");
    cor_lock_create(&lk);
    cor_lock_acquire(lk);
    cor_task *ts[7];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return NULL;
    ts[6] = spawn_named("reader", reader, NULL);
    ts[0] = spawn_named("grand", grand, arg);
    ts[1] = spawn_named("locker", locker, NULL);
    ts[2] = spawn_named("gatherer", gatherer, NULL);
    cyc[0] = ts[4] = spawn_named("cyc-a", a_waits_b, (void *)0L);
    cyc[1] = ts[5] = spawn_named("cyc-b", a_waits_b, (void *)1L);
    /* Let them all reach their waits (the child maybe on another loop);
     * "fresh" has not run yet. */
    for (int i = 0; i < 20; i++)
        cor_yield();
    for (int i = 0; i < 5000 && !atomic_load(&child_started); i++)
        cor_sleep(0.001);
    cor_yield();
    ts[3] = spawn_named("fresh", sleeper, NULL);
    cor_task_cancel(ts[3]);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int n = cor_dump_tasks(f);
    fclose(f);
    capture_set(text);
    if (getenv("SHOW_DUMP"))
        fputs(text, stdout);
    rec("tasks %d", n);
    cor_lock_release(lk);
    for (int i = 0; i < 7; i++)
        cor_task_cancel(ts[i]);
    for (int i = 0; i < 7; i++) {
        cor_await(ts[i], NULL);
        cor_task_release(ts[i]);
    }
    close(pfd[0]);
    close(pfd[1]);
    cor_lock_destroy(lk);
    return NULL;
}

static void test_dump(void **state)
{
    (void)state;
    atomic_store(&child_started, 0);
    assert_int_equal(h_run(dump_main, NULL, 1), 0);
    const char *d = captured;
    assert_non_null(d);
    /* main, reader, grand, parent, child, locker, gatherer, g-one, g-two,
     * fresh, cyc-a, cyc-b */
    assert_string_equal(rec_text(), "tasks 12\n");
    assert_non_null(strstr(d, "task dump: 12 tasks on 1 loops\n"));
    assert_non_null(strstr(d, "'reader' waiting on io\n"));
    assert_non_null(strstr(d, "'main' running\n"));
    assert_non_null(strstr(d, "'child' waiting on sleep; awaited by "
                              "'parent' <- 'grand'\n"));
    assert_non_null(strstr(d, "'parent' waiting on task 'child' (loop 0); "
                              "awaited by 'grand'\n"));
    assert_non_null(strstr(d, "'grand' waiting on task 'parent' (loop 0)\n"));
    assert_non_null(strstr(d, "'locker' waiting on lock\n"));
    assert_non_null(strstr(d, "'gatherer' waiting on gather or wait of 2: "
                              "'g-one', 'g-two'\n"));
    assert_non_null(strstr(d, "'g-one' waiting on sleep; awaited by "
                              "'gatherer'\n"));
    assert_non_null(strstr(d, "'fresh' ready (not started) (cancelling)\n"));
    assert_non_null(strstr(d, "'cyc-a' waiting on task 'cyc-b' (loop 0); "
                              "awaited by 'cyc-b' <- 'cyc-a' (a cycle: these "
                              "tasks wait on each other)\n"));
    /* Functions are named by symbol where exported, else as file+offset
     * for addr2line; the spawn sites here are in this program. */
    assert_non_null(strstr(d, "      fn "));
    assert_non_null(strstr(d, ", spawned from test_debug_observe+0x"));
    assert_non_null(strstr(d, "end of task dump\n"));
}

static void test_dump_across_loops(void **state)
{
    (void)state;
    atomic_store(&child_started, 0);
    assert_int_equal(h_run(dump_main, (void *)1L, 2), 0);
    const char *d = captured;
    assert_non_null(strstr(d, "task dump: 12 tasks on 2 loops\n"));
    assert_non_null(strstr(d, "loop 1: 1 tasks\n"));
    assert_non_null(strstr(d, "'parent' waiting on task 'child' (loop 1); "
                              "awaited by 'grand'\n"));
    assert_non_null(strstr(d, "'child' waiting on sleep; awaited by "
                              "'parent' <- 'grand'\n"));
}

/* ---------------------------------------------------- dump on a signal -- */

static const char *dump_path;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *out = calloc(1, 1 << 16);
    size_t n = out ? fread(out, 1, (1 << 16) - 1, f) : 0;
    (void)n;
    fclose(f);
    return out;
}

static int dump_sig;

static void *signal_main(void *arg)
{
    (void)arg;
    cor_task *t = spawn_named("napper", sleeper, NULL);
    cor_yield();
    kill(getpid(), dump_sig);
    /* The dump is written by another task or thread: poll the file until
     * it is complete (bounded). */
    for (int i = 0; i < 500; i++) {
        char *s = read_file(dump_path);
        bool done = s && strstr(s, "end of task dump");
        free(s);
        if (done)
            break;
        cor_sleep(0.01);
    }
    cor_task_cancel(t);
    cor_task_release(t);
    return NULL;
}

/* Run signal_main with sig as the dump signal, stderr captured. */
static char *dump_by_signal(int sig)
{
    char path[] = "/tmp/coring-dump-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    dump_path = path;
    dump_sig = sig;
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    cor_run_opts o = {.loops = 1, .dump_signal = sig};
    int rc = cor_run_ex(signal_main, NULL, &o, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    char *s = read_file(path);
    unlink(path);
    if (rc != 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void test_dump_on_signal(void **state)
{
    (void)state;
    char *s = dump_by_signal(SIGUSR1);
    capture_set(s);
    assert_non_null(s);
    /* main, napper, and the task that dumps (on loop 0, started by the
     * signal's handler). */
    assert_non_null(strstr(s, "task dump: 3 tasks on 1 loops\n"));
    assert_non_null(strstr(s, "'napper' waiting on sleep\n"));
    assert_non_null(strstr(s, "'task-dump' running\n"));
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL);
}

static void test_dump_on_other_signal(void **state)
{
    (void)state;
    /* A signal the runtime does not receive: its own handler and the
     * watchdog thread dump, and the old disposition comes back. */
    char *s = dump_by_signal(SIGPWR);
    capture_set(s);
    assert_non_null(s);
    assert_non_null(strstr(s, "task dump: 2 tasks on 1 loops\n"));
    assert_non_null(strstr(s, "'napper' waiting on sleep\n"));
    struct sigaction sa;
    sigaction(SIGPWR, NULL, &sa);
    assert_true(sa.sa_handler == SIG_DFL);
}

/* ------------------------------------------------------ stall detector -- */

static void *hog(void *arg)
{
    (void)arg;
    /* A loop thread stuck in blocking calls for 0.4 s. */
    int64_t end = cor_now_ns() + 400000000LL;
    while (cor_now_ns() < end)
        poll(NULL, 0, 5);
    return NULL;
}

static void *stall_main(void *arg)
{
    (void)arg;
    cor_task *t = spawn_named("hog", hog, NULL);
    cor_await(t, NULL);
    cor_task_release(t);
    /* A clean iteration after the stall, for the "back" report. */
    cor_sleep(0.1);
    return NULL;
}

static void test_stall_detector(void **state)
{
    (void)state;
    h_log_capture();
    cor_run_opts o = {.loops = 1, .stall_threshold = 0.05};
    assert_int_equal(cor_run_ex(stall_main, NULL, &o, NULL), 0);
    const char *l = h_log_text();
    assert_non_null(strstr(l, "stall: loop 0 has not come back to its poll "
                              "for "));
    assert_non_null(strstr(l, "stall: loop 0 is running task 'hog' (fn "));
    assert_non_null(strstr(l, "stall: backtrace of loop 0 ("));
    assert_non_null(strstr(l, "stall:   #0 "));
    assert_non_null(strstr(l, "stall: loop 0 is back after "));
    /* One report for one stall. */
    const char *first = strstr(l, "has not come back");
    assert_null(strstr(first + 1, "has not come back"));
}

static void *quiet_main(void *arg)
{
    (void)arg;
    cor_sleep(0.2); /* asleep in its poll: not a stall */
    return NULL;
}

static void test_no_stall_while_asleep(void **state)
{
    (void)state;
    h_log_capture();
    cor_run_opts o = {.loops = 2, .stall_threshold = 0.02};
    assert_int_equal(cor_run_ex(quiet_main, NULL, &o, NULL), 0);
    assert_null(strstr(h_log_text(), "stall:"));
}

/* ---------------------------------------------------------- debug mode -- */

static void *quick(void *arg)
{
    return arg;
}

static void *busy(void *arg)
{
    (void)arg;
    int64_t end = cor_now_ns() + 150000000LL;
    while (cor_now_ns() < end)
        ;
    return NULL;
}

static void busy_cb(void *arg)
{
    busy(arg);
}

static cor_task *self_owned;

static void *owns_itself(void *arg)
{
    (void)arg;
    cor_yield();
    cor_task_release(self_owned); /* the spawner handed us our handle */
    return NULL;
}

static void *debug_main(void *arg)
{
    (void)arg;
    /* Released unread: reported; detached: not. */
    cor_task_release(spawn_named("forgotten", quick, NULL));
    cor_task_detach(spawn_named("detached", quick, NULL));
    self_owned = spawn_named("self-owned", owns_itself, NULL);
    /* Awaited, or read after it ended: not reported. */
    cor_task *a = spawn_named("awaited", quick, NULL);
    cor_await(a, NULL);
    cor_task_release(a);
    cor_task *b = spawn_named("read", quick, NULL);
    cor_yield();
    cor_task_result(b, NULL);
    cor_task_release(b);
    /* A slow step and a slow callback. */
    cor_task *s = spawn_named("slowpoke", busy, NULL);
    cor_await(s, NULL);
    cor_task_release(s);
    cor_call_soon(busy_cb, NULL);
    cor_sleep(0.01);
    return NULL;
}

static void test_debug_mode(void **state)
{
    (void)state;
    h_log_capture();
    cor_run_opts o = {.loops = 1, .debug = true};
    assert_int_equal(cor_run_ex(debug_main, NULL, &o, NULL), 0);
    const char *l = h_log_text();
    assert_non_null(strstr(l, "debug: task 'forgotten' was released and "
                              "nobody read its result (it returned; fn "));
    assert_non_null(strstr(l, ", spawned from "));
    assert_null(strstr(l, "'awaited'"));
    assert_null(strstr(l, "'detached'"));
    assert_null(strstr(l, "'self-owned'"));
    assert_null(strstr(l, "'read'"));
    assert_non_null(strstr(l, "debug: executing task 'slowpoke' took 0."));
    assert_non_null(strstr(l, "debug: callback test_debug_observe+0x"));
}

static void test_debug_from_environment(void **state)
{
    (void)state;
    h_log_capture();
    setenv("COR_DEBUG", "1", 1);
    setenv("COR_SLOW_MS", "50", 1);
    int rc = h_run(debug_main, NULL, 1);
    unsetenv("COR_DEBUG");
    unsetenv("COR_SLOW_MS");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(h_log_text(), "debug: task 'forgotten'"));
    assert_non_null(strstr(h_log_text(), "'slowpoke' took"));
}

static void test_debug_off(void **state)
{
    (void)state;
    h_log_capture();
    assert_int_equal(h_run(debug_main, NULL, 1), 0);
    assert_null(strstr(h_log_text(), "debug:"));
}

static void test_bad_options(void **state)
{
    (void)state;
    cor_run_opts o = {.loops = 1, .stall_threshold = -1};
    assert_int_equal(cor_run_ex(quick, NULL, &o, NULL), -EINVAL);
    o = (cor_run_opts){.loops = 1, .dump_signal = 100000};
    assert_int_equal(cor_run_ex(quick, NULL, &o, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters, h_setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_on_epoll, h_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_counters_need_a_task, h_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump, h_setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_across_loops, h_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dump_on_signal, h_setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_on_other_signal, h_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stall_detector, h_setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_stall_while_asleep, h_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_debug_mode, h_setup, teardown),
        cmocka_unit_test_setup_teardown(test_debug_from_environment, h_setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_debug_off, h_setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, h_setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
