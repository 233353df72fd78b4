/* SPDX-License-Identifier: MIT */
/*
 * The seeds' programs in C (examples/seed_*.c, and gather_timing for seed
 * 000's timing program) print exactly what the oracle's seeds/<name>.py
 * print: each is run at TIME_SCALE=0.02 and its stdout compared with
 * expected/seeds/<name>.out, its times (in seed seconds) no earlier than
 * the oracle's and at most H_ORACLE_SCALED(TIME_SCALE) later; as the
 * oracle's run.sh does, a program that differs is run once more at 0.1
 * (a loaded machine can swap two events 20 ms apart), and only a
 * difference there fails.
 */
#include "aio_util.h"

struct seed {
    const char *oracle;  /* expected/seeds/<oracle>.out */
    const char *program; /* the example that prints it */
    const char *what;
};

static char *run_seed(const char *program, const char *scale)
{
    const char *dir = getenv("CORING_EXAMPLES");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "TIME_SCALE=%s '%s/%s'", scale,
             dir ? dir : "examples", program);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    int st = pclose(p);
    if (st != 0) {
        fprintf(stderr, "%s exited with status %d\n", program, st);
        free(out);
        return NULL;
    }
    return out;
}

static void check_seed(void **state)
{
    const struct seed *s = *state;
    char *want = h_oracle_expected("seeds", s->oracle);
    if (!want)
        skip();
    /* A time printed in seed seconds at TIME_SCALE s is real time / s. */
    char *got = run_seed(s->program, "0.02");
    h_window window = H_ORACLE_SCALED(0.02);
    if (got && h_oracle_diff(got, want, window) != 0) {
        fprintf(stderr, "%s differed at 0.02, retrying at 0.1\n", s->program);
        free(got);
        got = run_seed(s->program, "0.1");
        window = H_ORACLE_SCALED(0.1);
    }
    bool ok = got && h_oracle_compare(got, want, window);
    free(got);
    free(want);
    assert_true(ok);
}

static struct seed seeds[] = {
    {"timing_gather_taskgroup", "gather_timing",
     "gather and a task group overlap two sleeps: 1.5 s, not 2.0"},
    {"chained", "seed_chained", "chained coroutines under gather: 4, 8, 11 s"},
    {"work_queue", "seed_work_queue", "two workers on one queue: 17 s, not 32"},
    {"semaphore_jobs", "seed_semaphore_jobs", "Semaphore(4) over ten jobs"},
    {"hello", "seed_hello", "an awaited coroutine's result; two cor_run()s"},
    {"countasync", "seed_countasync", "three counts under gather: 1 s"},
    {"countsync", "seed_countsync", "the same blocking: 3 s"},
    {"fun1_fun2", "seed_fun1_fun2", "as tasks 3 s, as bare coroutines 6 s"},
    {"coro_seq", "seed_coro_seq", "gather in input order, as_completed in finishing order"},
    {"gather_many", "seed_gather_many", "gather of ten: 2 s, results in order"},
    {"rand", "seed_rand", "retries with sleeps under gather: 4 s"},
    {"current_task", "seed_current_task", "main is Task-1"},
    {"all_tasks", "seed_all_tasks", "all_tasks includes main, then only main"},
    {"wait_all", "seed_wait_all", "wait for all, in completion order"},
    {"wait_first", "seed_wait_first", "FIRST_COMPLETED and FIRST_EXCEPTION splits"},
    {"wait_for_001", "seed_wait_for_001", "wait_for(3 s) on a 2 s task completes"},
    {"wait_for_timeout", "seed_wait_for_timeout", "wait_for cancels and joins the inner task"},
    {"three_tasks_wait", "seed_three_tasks_wait", "three tasks and wait: 1 s"},
    {"shield", "seed_shield", "shield cancelled, inner finishes with 1"},
    {"shield_001", "seed_shield_001", "shield cancelled, inner still pending"},
    {"task_done_callback", "seed_task_done_callback", "spawn order and a done callback"},
    {"cancel_task", "seed_cancel_task", "cancelling a running task"},
    {"task_exception", "seed_task_exception", "an error never retrieved, read, awaited"},
    {"exceptions_000", "seed_exceptions_000", "wait_for timeout, cancel, gather errors, group error"},
    {"asyncq", "seed_asyncq", "producers and consumers on a queue: 9 s"},
    {"async_iterator", "seed_async_iterator", "an awaitable next, for, anext, collect"},
    {"async_generator", "seed_async_generator", "a generator, for, anext, collect"},
    {"async_comprehension", "seed_async_comprehension", "collect with a filter; a generator resumed"},
    {"async_context_manager", "seed_async_context_manager", "awaited enter and exit: 1 s"},
    {"connection", "seed_connection", "a scope around two overlapping tasks: 6 s"},
    {"generator_scheduler", "seed_generator_scheduler", "generators stepped by next()"},
    {"generator_blocking", "seed_generator_blocking", "blocking generators: 32 s"},
    {"to_thread_001", "seed_to_thread_001", "a to_thread task overlaps main's sleep: 2 s"},
    {"to_thread_002f", "seed_to_thread_002f", "to_thread starts after main yields"},
    {"run_in_executor", "seed_run_in_executor", "an executor job starts at once: 12 s"},
    {"chess_exhibition", "seed_chess_exhibition", "24 s synchronous, 10 s asynchronous"},
    {"fetch_data_003", "seed_fetch_data_003", "bare coroutines, tasks, blocking, to_thread, gather, group"},
    {"subprocess_exec", "seed_subprocess_exec", "exec returns once the child started; communicate; wait"},
    {"subprocess_shell", "seed_subprocess_shell", "a shell's output by readline; communicate with input"},
};

int main(void)
{
    enum { N = sizeof seeds / sizeof seeds[0] };
    struct CMUnitTest tests[N];
    for (size_t i = 0; i < N; i++)
        tests[i] = (struct CMUnitTest){.name = seeds[i].oracle,
                                       .test_func = check_seed,
                                       .initial_state = &seeds[i]};
    return _cmocka_run_group_tests("aio_seeds", tests, N, NULL, NULL);
}
