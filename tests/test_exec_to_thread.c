/* SPDX-License-Identifier: MIT */
/*
 * test_exec_to_thread - the shared executor: to_thread result and error,
 * 10k concurrent calls, cancellation of a queued and of a running job,
 * backpressure of a full queue without blocking the loop, use from a plain
 * thread, cor_executor_submit, idle workers retiring, cor_run inside a
 * job, worker threads that cannot start, the cost counters.
 */
#include "harness.h"
#include "internal.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sem_t gate;
static atomic_int ran;

static void *double_it(void *arg)
{
    return (void *)((intptr_t)arg * 2);
}

static void *failing(void *arg)
{
    return cor_job_fail(-EIO, "disk %s is gone", (const char *)arg);
}

/* Blocks its worker until the test opens the gate once for it. */
static void *gated(void *arg)
{
    sem_wait(&gate);
    atomic_fetch_add(&ran, 1);
    return arg;
}

static void *counted(void *arg)
{
    atomic_fetch_add(&ran, 1);
    return arg;
}

static void reset(void)
{
    sem_init(&gate, 0, 0);
    atomic_store(&ran, 0);
    cor_executor_configure(NULL);
}

/* ------------------------------------------------ result and error ---- */

static void *result_main(void *arg)
{
    (void)arg;
    void *r = NULL;
    int rc = cor_to_thread(double_it, (void *)21, &r);
    rec("rc=%d r=%ld", rc, (long)(intptr_t)r);
    const cor_error *e = NULL;
    cor_to_thread_opts o = {.err = &e};
    rc = cor_to_thread_ex(failing, "sdb", &r, &o);
    rec("rc=%d msg=%s", rc, e ? e->message : "(none)");
    cor_error_release(e);
    rc = cor_to_thread(failing, "sdc", NULL);
    rec("rc=%d", rc);
    rec("null fn=%d", cor_to_thread(NULL, NULL, NULL));
    return NULL;
}

static void to_thread_result_and_error(void **state)
{
    (void)state;
    reset();
    assert_int_equal(h_run(result_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "rc=0 r=42\n"
                                    "rc=-5 msg=disk sdb is gone\n"
                                    "rc=-5\n"
                                    "null fn=-22\n");
}

/* -------------------------------------------------------- 10k calls ---- */

#include "san.h"
#ifdef COR_TSAN
/* ThreadSanitizer counts every live coroutine as a thread (a fiber) and dies
 * past 8128; 10k parked tasks plus the workers can exceed that. */
#define MANY 6000
#else
#define MANY 10000
#endif

static void *one_call(void *arg)
{
    void *r = NULL;
    int rc = cor_to_thread(double_it, arg, &r);
    return rc == 0 && r == (void *)((intptr_t)arg * 2) ? arg : NULL;
}

static void *many_main(void *arg)
{
    (void)arg;
    static cor_task *t[MANY];
    for (intptr_t i = 0; i < MANY; i++)
        t[i] = cor_spawn_next(one_call, (void *)(i + 1));
    long ok = 0;
    for (intptr_t i = 0; i < MANY; i++) {
        void *r = NULL;
        if (t[i] && cor_await(t[i], &r) == 0 && r == (void *)(i + 1))
            ok++;
        cor_task_release(t[i]);
    }
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    rec("ok=%ld threads<=64:%d", ok, st.threads <= 64);
    return NULL;
}

static void ten_thousand_concurrent_calls(void **state)
{
    (void)state;
    reset();
    /* A small queue, so that backpressure is most likely part of the run
     * (the backpressure test below checks it deterministically). */
    cor_executor_opts o = {.queue_cap = 16};
    cor_executor_configure(&o);
    assert_int_equal(h_run(many_main, NULL, 2), 0);
    char want[64];
    snprintf(want, sizeof want, "ok=%d threads<=64:1\n", MANY);
    assert_string_equal(rec_text(), want);
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    assert_int_equal(st.threads, 0); /* cor_run joined them */
}

/* ------------------------------------------------ cancel, queued ---- */

static void *call_gated(void *arg)
{
    int rc = cor_to_thread(gated, arg, NULL);
    rec("%s rc=%d", (const char *)arg, rc);
    return NULL;
}

static void *call_counted(void *arg)
{
    int rc = cor_to_thread(counted, arg, NULL);
    rec("%s rc=%d", (const char *)arg, rc);
    return NULL;
}

static void *queued_main(void *arg)
{
    (void)arg;
    cor_task *a = cor_spawn(call_gated, "a");
    cor_task *b = cor_spawn(call_counted, "b");
    cor_executor_stats st;
    do { /* until a runs and b waits in the queue */
        cor_sleep(0.001);
        cor_executor_stats_get(&st);
    } while (st.running < 1 || st.queued < 1);
    cor_task_cancel(b);
    cor_await(b, NULL); /* returns while a still blocks the only worker */
    rec("b done, ran=%d", atomic_load(&ran));
    sem_post(&gate);
    cor_await(a, NULL);
    cor_task_release(a);
    cor_task_release(b);
    return NULL;
}

static void cancelled_queued_job_never_runs(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 1};
    cor_executor_configure(&o);
    assert_int_equal(h_run(queued_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "b rc=-125\n"
                                    "b done, ran=0\n"
                                    "a rc=0\n");
    /* After cor_run the pool is drained: b's job never ran. */
    assert_int_equal(atomic_load(&ran), 1);
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    assert_true(st.cancelled >= 1);
}

/* ----------------------------------------------- cancel, running ---- */

static void *make_buffer(void *arg)
{
    (void)arg;
    sem_wait(&gate);
    char *p = malloc(64);
    strcpy(p, "result");
    return p;
}

static void cleanup_buffer(void *result, void *ud)
{
    rec("cleanup %s", (char *)result);
    *(int *)ud += 1;
    free(result);
}

static int cleanups;

static void *call_buffer(void *arg)
{
    (void)arg;
    void *r = NULL;
    cor_to_thread_opts o = {.cleanup = cleanup_buffer,
                            .cleanup_ud = &cleanups};
    int rc = cor_to_thread_ex(make_buffer, NULL, &r, &o);
    rec("call rc=%d r=%p", rc, r);
    return NULL;
}

static void *running_main(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(call_buffer, NULL);
    cor_executor_stats st;
    do {
        cor_sleep(0.001);
        cor_executor_stats_get(&st);
    } while (st.running < 1);
    cor_task_cancel(t);
    cor_sleep(0.02);
    rec("after cancel: done=%d", cor_task_done(t));
    sem_post(&gate);
    rec("await=%d", cor_await(t, NULL));
    cor_task_release(t);
    return NULL;
}

static void cancelled_running_job_is_waited_for(void **state)
{
    (void)state;
    reset();
    cleanups = 0;
    assert_int_equal(h_run(running_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "after cancel: done=0\n"
                                    "cleanup result\n"
                                    "call rc=-125 r=(nil)\n"
                                    "await=0\n");
    assert_int_equal(cleanups, 1);
}

/* ------------------------------------------------- backpressure ---- */

static atomic_int ticks;

static void *ticker(void *arg)
{
    (void)arg;
    while (cor_sleep(0.001) == 0)
        atomic_fetch_add(&ticks, 1);
    return NULL;
}

static void *bp_call(void *arg)
{
    int rc = cor_to_thread(gated, arg, NULL);
    return (void *)(intptr_t)rc;
}

static void *bp_main(void *arg)
{
    (void)arg;
    cor_task *tick = cor_spawn(ticker, NULL);
    cor_task *t[6];
    for (int i = 0; i < 6; i++)
        t[i] = cor_spawn(bp_call, NULL);
    /* One runs, two are queued, three wait for room. */
    cor_executor_stats st;
    do {
        cor_sleep(0.001);
        cor_executor_stats_get(&st);
    } while (st.waited < 3);
    int before = atomic_load(&ticks);
    cor_sleep(0.03);
    cor_executor_stats_get(&st);
    rec("queued=%zu running=%zu loop ticked=%d", st.queued, st.running,
        atomic_load(&ticks) - before >= 5);
    /* A task waiting for room that is cancelled: nothing of it is queued. */
    cor_task_cancel(t[5]);
    void *r;
    cor_await(t[5], &r);
    rec("cancelled waiter rc=%d", cor_task_cancelled(t[5]) ? -ECANCELED
                                                            : (int)(intptr_t)r);
    for (int i = 0; i < 5; i++)
        sem_post(&gate);
    int ok = 0;
    for (int i = 0; i < 5; i++) {
        cor_await(t[i], &r);
        ok += r == NULL;
        cor_task_release(t[i]);
    }
    cor_task_release(t[5]);
    rec("ok=%d ran=%d", ok, atomic_load(&ran));
    cor_task_cancel(tick);
    cor_await(tick, NULL);
    cor_task_release(tick);
    return NULL;
}

static void full_queue_applies_backpressure(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 1, .queue_cap = 2};
    cor_executor_configure(&o);
    assert_int_equal(h_run(bp_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "queued=2 running=1 loop ticked=1\n"
                                    "cancelled waiter rc=-125\n"
                                    "ok=5 ran=5\n");
}

/* ------------------------------------------------ plain threads ---- */

static void *plain_thread(void *arg)
{
    (void)arg;
    void *r = NULL;
    int rc = cor_to_thread(double_it, (void *)50, &r);
    int rc2 = cor_to_thread(failing, "x", NULL);
    rec("plain rc=%d r=%ld rc2=%d", rc, (long)(intptr_t)r, rc2);
    return NULL;
}

static void usable_from_plain_thread(void **state)
{
    (void)state;
    reset();
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, plain_thread, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    cor_executor_shutdown();
    assert_int_equal(rec_count(), 3);
    assert_non_null(strstr(rec_text(), "plain rc=0 r=100 rc2=-5"));
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    assert_int_equal(st.threads, 0);
}

static void *plain_gated(void *arg)
{
    int rc = cor_to_thread(gated, arg, NULL);
    rec("%s rc=%d", (const char *)arg, rc);
    return NULL;
}

/* Plain threads block for room in a full queue, and all get through. */
static void plain_threads_wait_for_room(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 1, .queue_cap = 1};
    cor_executor_configure(&o);
    pthread_t th[4];
    static const char *names[4] = {"p0", "p1", "p2", "p3"};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, plain_gated, (void *)names[i]);
    cor_executor_stats st;
    do { /* one runs, one is queued, two wait for room */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        cor_executor_stats_get(&st);
    } while (st.waited < 2 || st.running < 1 || st.queued < 1);
    assert_int_equal(st.queued, 1);
    for (int i = 0; i < 4; i++)
        sem_post(&gate);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cor_executor_shutdown();
    assert_int_equal(rec_count(), 4);
    assert_int_equal(atomic_load(&ran), 4);
    assert_null(strstr(rec_text(), "rc=-"));
    cor_executor_configure(NULL);
}

/* ------------------------------------------------------- submit ---- */

static void *submit_main(void *arg)
{
    (void)arg;
    cor_future *f[8];
    for (intptr_t i = 0; i < 8; i++)
        cor_executor_submit(double_it, (void *)i, NULL, NULL, &f[i]);
    long sum = 0;
    for (int i = 0; i < 8; i++) {
        void *r = NULL;
        if (cor_future_await(f[i], &r) == 0)
            sum += (long)(intptr_t)r;
        cor_future_release(f[i]);
    }
    cor_future *e;
    cor_executor_submit(failing, "sde", NULL, NULL, &e);
    int rc = cor_future_await(e, NULL);
    const cor_error *err;
    cor_future_error(e, &err);
    rec("sum=%ld err=%d %s", sum, rc, err ? err->message : "");
    cor_future_release(e);
    return NULL;
}

static void submit_gives_futures(void **state)
{
    (void)state;
    reset();
    assert_int_equal(h_run(submit_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "sum=56 err=-5 disk sde is gone\n");
}

/* ------------------------------------------- submit while busy ---- */

static atomic_int a_started;

static void *gate_a(void *arg)
{
    atomic_store(&a_started, 1);
    sem_wait(&gate);
    return arg;
}

/* The only worker is busy, so job B waits; when the worker frees, B starts
 * although the submitting task never suspends in between. */
static void *busy_main(void *arg)
{
    (void)arg;
    atomic_store(&a_started, 0);
    cor_future *a, *b;
    cor_executor_submit(gate_a, "a", NULL, NULL, &a);
    for (int i = 0; i < 5000 && !atomic_load(&a_started); i++)
        cor_sleep(0.001);
    cor_executor_submit(counted, "b", NULL, NULL, &b);
    sem_post(&gate);
    int64_t end = cor_now_ns() + 5000000000LL;
    while (!atomic_load(&ran) && cor_now_ns() < end)
        ; /* no suspension: the loop does nothing else meanwhile */
    rec("b ran before the task suspended: %d", atomic_load(&ran));
    void *ra = NULL, *rb = NULL;
    cor_future_await(a, &ra);
    cor_future_await(b, &rb);
    rec("%s %s", (char *)ra, (char *)rb);
    cor_future_release(a);
    cor_future_release(b);
    return NULL;
}

static void submitted_job_starts_when_a_worker_frees(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 1};
    cor_executor_configure(&o);
    assert_int_equal(h_run(busy_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "b ran before the task suspended: 1\n"
                                    "a b\n");
    cor_executor_configure(NULL);
}

#define BURST 3000

/* Far more jobs than workers and queue slots, submitted at once. */
static void *burst_main(void *arg)
{
    (void)arg;
    static cor_future *f[BURST];
    int failed = 0;
    for (intptr_t i = 0; i < BURST; i++)
        if (cor_executor_submit(double_it, (void *)i, NULL, NULL, &f[i]) < 0)
            f[i] = NULL, failed++;
    long long sum = 0;
    for (int i = 0; i < BURST; i++) {
        void *r = NULL;
        if (f[i] && cor_future_await(f[i], &r) == 0)
            sum += (long)(intptr_t)r;
        cor_future_release(f[i]);
    }
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    rec("failed=%d sum=%lld waited>0:%d", failed, sum, st.waited > 0);
    return NULL;
}

static void burst_of_submits_through_a_small_queue(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 2, .queue_cap = 8};
    cor_executor_configure(&o);
    assert_int_equal(h_run(burst_main, NULL, 1), 0);
    char want[96];
    snprintf(want, sizeof want, "failed=0 sum=%lld waited>0:1\n",
             (long long)BURST * (BURST - 1));
    assert_string_equal(rec_text(), want);
    cor_executor_configure(NULL);
}

/* ----------------------------------------------------- keep-alive ---- */

static void *retire_main(void *arg)
{
    (void)arg;
    cor_to_thread(double_it, NULL, NULL);
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    rec("threads after job>=1: %d", st.threads >= 1);
    for (int i = 0; i < 2000; i++) {
        cor_executor_stats_get(&st);
        if (st.threads == 0)
            break;
        cor_sleep(0.001);
    }
    rec("threads later=%u", st.threads);
    return NULL;
}

static void idle_workers_retire(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.keepalive_ms = 20};
    cor_executor_configure(&o);
    assert_int_equal(h_run(retire_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "threads after job>=1: 1\n"
                                    "threads later=0\n");
    cor_executor_configure(NULL);
}

/* ----------------------------------------------- cor_run in a job ---- */

static void *inner_main(void *arg)
{
    (void)arg;
    void *r = NULL, *r2 = NULL;
    int rc = cor_to_thread(double_it, (void *)7, &r);
    cor_future *f = NULL;
    int rc2 = cor_executor_submit(double_it, (void *)100, NULL, NULL, &f);
    if (rc2 == 0)
        rc2 = cor_future_await(f, &r2);
    cor_future_release(f);
    rec("inner rc=%d r=%ld rc2=%d r2=%ld", rc, (long)(intptr_t)r, rc2,
        (long)(intptr_t)r2);
    return (void *)((intptr_t)r + (intptr_t)r2);
}

static void *job_runs_a_runtime(void *arg)
{
    void *r = NULL;
    int rc = cor_run_ex(inner_main, NULL, &(cor_run_opts){.loops = 1}, &r);
    rec("job: cor_run rc=%d r=%ld", rc, (long)(intptr_t)r);
    return (void *)((intptr_t)r + (intptr_t)arg);
}

static void *nested_main(void *arg)
{
    (void)arg;
    void *r = NULL;
    int rc = cor_to_thread(job_runs_a_runtime, (void *)1000, &r);
    rec("outer rc=%d r=%ld", rc, (long)(intptr_t)r);
    return NULL;
}

/* cor_run in an executor job returns (its end waits for its own jobs, not
 * for the job that runs it), and its tasks' jobs run although the job's
 * worker is the only one max_threads allows. */
static void cor_run_inside_a_job(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 1};
    cor_executor_configure(&o);
    assert_int_equal(h_run(nested_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "inner rc=0 r=14 rc2=0 r2=200\n"
                                    "job: cor_run rc=0 r=214\n"
                                    "outer rc=0 r=1214\n");
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    assert_int_equal(st.threads, 0);
    /* And from a plain thread's job. */
    rec_reset();
    void *r = NULL;
    assert_int_equal(cor_to_thread(job_runs_a_runtime, (void *)1, &r), 0);
    assert_int_equal((intptr_t)r, 215);
    cor_executor_shutdown();
    cor_executor_configure(NULL);
}

/* ------------------------------------------- no worker can start ---- */

static void *no_worker_main(void *arg)
{
    (void)arg;
    void *r = (void *)1;
    const cor_error *e = NULL;
    cor_to_thread_opts o = {.err = &e};
    int rc = cor_to_thread_ex(double_it, (void *)5, &r, &o);
    rec("to_thread rc=%d r=%p msg=%s", rc, r,
        e && strstr(e->message, "cannot start a worker") ? "ok" : "?");
    cor_error_release(e);
    cor_future *f = NULL;
    rc = cor_executor_submit(counted, NULL, NULL, NULL, &f);
    rec("submit rc=%d await=%d", rc, cor_future_await(f, NULL));
    cor_future_release(f);
    atomic_store(&cor__executor_fail_starts, 0);
    rc = cor_to_thread(double_it, (void *)5, &r);
    rec("then rc=%d r=%ld ran=%d", rc, (long)(intptr_t)r, atomic_load(&ran));
    return NULL;
}

/* A job that no worker thread can run ends with -EAGAIN (it used to wait
 * forever); once threads start again, so do jobs. */
static void no_worker_thread_can_start(void **state)
{
    (void)state;
    reset();
    atomic_store(&cor__executor_fail_starts, 1000000);
    assert_int_equal(h_run(no_worker_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "to_thread rc=-11 r=0x1 msg=ok\n"
                                    "submit rc=0 await=-11\n"
                                    "then rc=0 r=10 ran=0\n");
    /* A plain thread too. */
    atomic_store(&cor__executor_fail_starts, 1000000);
    assert_int_equal(cor_to_thread(double_it, NULL, NULL), -EAGAIN);
    atomic_store(&cor__executor_fail_starts, 0);
    cor_executor_shutdown();
}

static void *one_left_main(void *arg)
{
    (void)arg;
    cor_task *a = cor_spawn(call_gated, "a");
    cor_executor_stats st;
    do {
        cor_sleep(0.001);
        cor_executor_stats_get(&st);
    } while (st.running < 1);
    /* b finds the only worker busy; the start of a second one fails. */
    atomic_store(&cor__executor_fail_starts, 1);
    cor_task *b = cor_spawn(call_counted, "b");
    do {
        cor_sleep(0.001);
        cor_executor_stats_get(&st);
    } while (atomic_load(&cor__executor_fail_starts) || st.queued < 1);
    rec("queued=%zu threads=%u", st.queued, st.threads);
    sem_post(&gate);
    cor_await(a, NULL);
    cor_await(b, NULL);
    cor_task_release(a);
    cor_task_release(b);
    return NULL;
}

/* While a worker is alive, a job whose own worker could not start waits for
 * it instead of failing. */
static void failed_start_with_a_worker_left(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 2};
    cor_executor_configure(&o);
    assert_int_equal(h_run(one_left_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "queued=1 threads=1\n"
                                    "a rc=0\n"
                                    "b rc=0\n");
    cor_executor_configure(NULL);
}

/* ------------------------------------------------- cost per job ---- */

#define COST_TASKS 64
#define COST_CALLS 40

static void *cost_caller(void *arg)
{
    for (int i = 0; i < COST_CALLS; i++)
        cor_to_thread(double_it, arg, NULL);
    return NULL;
}

#define COST_BATCH 2000

static void *cost_main(void *arg)
{
    (void)arg;
    static cor_future *f[COST_BATCH];
    for (int i = 0; i < COST_BATCH; i++)
        if (cor_executor_submit(double_it, NULL, NULL, NULL, &f[i]) < 0)
            f[i] = NULL;
    for (int i = 0; i < COST_BATCH; i++) {
        if (f[i])
            cor_future_await(f[i], NULL);
        cor_future_release(f[i]);
    }
    static cor_task *t[COST_TASKS];
    for (int i = 0; i < COST_TASKS; i++)
        t[i] = cor_spawn_next(cost_caller, NULL);
    for (int i = 0; i < COST_TASKS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

/* Many workers, a burst of submits and many waiting tasks: a job costs at most one wakeup of a
 * worker and a few lock acquisitions (the pool used to signal the workers'
 * condition variable once per queued job per idle worker: 15 per job with
 * 64 workers). */
static void cost_per_job_is_bounded(void **state)
{
    (void)state;
    reset();
    cor_executor_opts o = {.max_threads = 64};
    cor_executor_configure(&o);
    cor_executor_stats a, b;
    cor_executor_stats_get(&a);
    assert_int_equal(h_run(cost_main, NULL, 2), 0);
    cor_executor_stats_get(&b);
    uint64_t jobs = b.completed - a.completed;
    assert_int_equal(jobs, COST_BATCH + COST_TASKS * COST_CALLS);
    assert_true(b.wakeups - a.wakeups <= jobs);
    assert_true(b.locks - a.locks <= 4 * jobs);
    assert_true(b.posts - a.posts <= jobs);
    assert_true(b.pool_locks - a.pool_locks <= jobs);
    cor_executor_configure(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(to_thread_result_and_error, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(ten_thousand_concurrent_calls,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cancelled_queued_job_never_runs,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cancelled_running_job_is_waited_for,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(full_queue_applies_backpressure,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(usable_from_plain_thread, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(plain_threads_wait_for_room, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(submit_gives_futures, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(
            submitted_job_starts_when_a_worker_frees, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(
            burst_of_submits_through_a_small_queue, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(idle_workers_retire, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(cor_run_inside_a_job, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(no_worker_thread_can_start, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(failed_start_with_a_worker_left,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cost_per_job_is_bounded, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
