/* SPDX-License-Identifier: MIT */
/*
 * Rules 41, 42 and 43 of SPEC.md section 4 (to_thread and the executor):
 * cor_to_thread starts its function only when the task calling it runs,
 * cor_executor_submit starts it at once; the loop serves other tasks while a
 * worker blocks (0.2 s, not 0.3); the executor is a pool of threads that are
 * not the loop's.  C ports of the oracle's rule programs, compared with
 * their output (rule 43 only its default-executor half: coring has one
 * shared executor, so a custom executor the caller shuts down has no C
 * counterpart).
 */
#include "aio_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static void block_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* threading.Event.wait(timeout): poll a flag for up to ms, blocking. */
static bool flag_wait(atomic_bool *flag, int ms)
{
    for (int waited = 0; waited <= ms; waited += 5) {
        if (atomic_load(flag))
            return true;
        block_ms(5);
    }
    return atomic_load(flag);
}

/* rule 41 */
struct job41 {
    atomic_bool started;
    const char *tag;
};

static void *blocking41(void *arg)
{
    struct job41 *j = arg;
    atomic_store(&j->started, true);
    block_ms(100);
    return (void *)j->tag;
}

/* asyncio.to_thread(blocking, ...) as a coroutine: a task to spawn */
static void *to_thread41(void *arg)
{
    void *r = NULL;
    int rc = cor_to_thread(blocking41, arg, &r);
    return rc < 0 ? cor_fail(rc, "to_thread") : r;
}

static void *main41(void *arg)
{
    (void)arg;
    struct job41 jt = {false, "to_thread"}, jr = {false, "run_in_executor"};
    cor_task *coro = cor_spawn(to_thread41, &jt); /* not running yet */
    rec("to_thread() called; function started within 0.2 s: %s",
        py_bool(flag_wait(&jt.started, 200)));
    cor_future *fut;
    int rc = cor_executor_submit(blocking41, &jr, NULL, NULL, &fut);
    if (rc < 0)
        return cor_fail(rc, "submit");
    rec("run_in_executor() called; function started within 0.2 s: %s",
        py_bool(flag_wait(&jr.started, 200)));
    void *r = NULL;
    rc = cor_await(coro, &r);
    rec("await to_thread coroutine -> %s | started: %s",
        rc == 0 ? (char *)r : "?", py_bool(atomic_load(&jt.started)));
    rc = cor_future_await(fut, &r);
    rec("await executor future -> %s", rc == 0 ? (char *)r : "?");
    cor_task_release(coro);
    cor_future_release(fut);
    return NULL;
}

/* Real-time ports: the printed times get H_ORACLE_WINDOW (TSan, two loaded
 * cores); a program that still differs (a longer stall) runs again, three
 * times at most, before the test fails.  cut_at:
 * compare only the expected lines before it. */
static void run_and_compare(cor_fn *main, const char *rule, const char *cut_at)
{
    char *want = h_oracle_expected("rules", rule);
    if (!want)
        skip();
    if (cut_at) {
        char *cut = strstr(want, cut_at);
        if (!cut) {
            free(want);
            fail_msg("%s: no \"%s\" in its oracle", rule, cut_at);
            return;
        }
        cut[1] = 0;
    }
    for (int attempt = 0;; attempt++) {
        rec_reset();
        int rc = h_run(main, NULL, 1);
        if (rc != 0) {
            free(want);
            fail_msg("%s: cor_run returned %d", rule, rc);
            return;
        }
        if (h_oracle_diff(rec_text(), want, H_ORACLE_WINDOW) == 0 ||
            attempt == 2)
            break;
    }
    h_oracle_assert(rec_text(), want, want, H_ORACLE_WINDOW);
}

static void rule_41(void **state)
{
    (void)state;
    run_and_compare(main41, "rule_41", NULL);
}

/* rule 42 */
static void *blocking42(void *arg)
{
    (void)arg;
    block_ms(200);
    return "blocking result";
}

static void *to_thread42(void *arg)
{
    void *r = NULL;
    int rc = cor_to_thread(blocking42, arg, &r);
    return rc < 0 ? cor_fail(rc, "to_thread") : r;
}

static void *ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        rec("t=%s ticker: tick %d while the thread blocks", T_NOW(), i);
        cor_sleep(0.1);
    }
    return NULL;
}

static void *main42(void *arg)
{
    (void)arg;
    t0_reset();
    cor_task *task = cor_spawn(to_thread42, NULL);
    cor_task *tick = cor_spawn(ticker, NULL);
    rec("t=%s main: doing other things for 0.1 s", T_NOW());
    cor_sleep(0.1);
    rec("t=%s main: now awaiting the thread", T_NOW());
    void *result = NULL;
    int rc = cor_await(task, &result);
    rec("t=%s main: thread returned '%s'; total elapsed\u2248%s (not 0.3)",
        T_NOW(), rc == 0 ? (char *)result : "?", T_NOW());
    cor_await(tick, NULL);
    cor_task_release(task);
    cor_task_release(tick);
    return NULL;
}

static void rule_42(void **state)
{
    (void)state;
    run_and_compare(main42, "rule_42", NULL);
}

/* rule 43 (the default executor) */
static pthread_t loop_thread;

static void *where(void *arg)
{
    (void)arg;
    block_ms(200);
    return pthread_equal(pthread_self(), loop_thread) ? "True" : "False";
}

static void *main43(void *arg)
{
    (void)arg;
    loop_thread = pthread_self(); /* asyncio's main thread runs its loop */
    int64_t t0 = cor_now_ns();
    cor_future *fs[3];
    for (int i = 0; i < 3; i++)
        if (cor_executor_submit(where, NULL, NULL, NULL, &fs[i]) < 0)
            return cor_fail(-ENOMEM, "submit");
    void *on[3] = {NULL, NULL, NULL};
    int rc = cor_gather(fs, 3, on, NULL, 0);
    for (int i = 0; i < 3; i++)
        cor_future_release(fs[i]);
    if (rc < 0)
        return cor_fail(rc, "gather");
    rec("default executor: ran on the main thread: [%s, %s, %s]",
        (char *)on[0], (char *)on[1], (char *)on[2]);
    rec("default executor: 3 blocking 0.2 s calls took\u2248%.1f (a pool of "
        "threads)", (double)(cor_now_ns() - t0) / 1e9);
    return NULL;
}

static void rule_43(void **state)
{
    (void)state;
    /* the first two lines: the default executor's half */
    run_and_compare(main43, "rule_43", "\ncustom ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(rule_41, h_setup),
        cmocka_unit_test_setup(rule_42, h_setup),
        cmocka_unit_test_setup(rule_43, h_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
