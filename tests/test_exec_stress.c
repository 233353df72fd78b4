/* SPDX-License-Identifier: MIT */
/*
 * test_exec_stress - the executor under churn: several loops, each with many
 * tasks, submit jobs (to_thread and cor_executor_submit) through a small
 * pool (few workers, a small queue, a short keep-alive, so workers sleep,
 * wake and retire all the time), and cancel some of them at random moments
 * (queued, running, or done on their way back).  Plain threads submit at
 * the same time.  In one run worker threads fail to start now and then
 * (the jobs no worker can run end with -EAGAIN).  Every job must run at
 * most once, every result that was produced must be taken exactly once (by
 * its caller or by the cleanup), every call must return, and the pool must
 * end idle.
 *
 * COR_STRESS_ROUNDS raises the rounds (the 'slow' suite runs more).
 */
#include "harness.h"
#include "internal.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOPS 3
#define TASKS 12   /* per loop */
#define PLAIN 2    /* plain threads */
#define MAXJOBS (1 << 16)

static int rounds = 40; /* jobs per task */
static bool failing_starts; /* now and then, worker threads fail to start */

static atomic_int ran[MAXJOBS];   /* times each job ran */
static atomic_int taken[MAXJOBS]; /* times its result was taken */
static atomic_int next_id;
static atomic_int calls_done, calls_started;
static atomic_int not_started; /* calls that ended -EAGAIN */

static int new_id(void)
{
    int id = atomic_fetch_add(&next_id, 1);
    if (id >= MAXJOBS)
        abort();
    return id;
}

static void *job(void *arg)
{
    int id = (int)(intptr_t)arg;
    atomic_fetch_add(&ran[id], 1);
    if (id % 7 == 0)
        sched_yield();
    return (void *)(intptr_t)(id + 1); /* the result names its job */
}

static void cleanup(void *result, void *ud)
{
    (void)ud;
    int id = (int)(intptr_t)result - 1;
    if (id >= 0 && id < MAXJOBS)
        atomic_fetch_add(&taken[id], 1);
}

static void take(void *result)
{
    cleanup(result, NULL);
}

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

/* A task that calls to_thread once (a cancel may hit it). */
static void *one_to_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    void *r = NULL;
    cor_to_thread_opts o = {.cleanup = cleanup};
    int rc = cor_to_thread_ex(job, (void *)(intptr_t)id, &r, &o);
    if (rc == 0)
        take(r);
    return NULL;
}

static void *worker_task(void *arg)
{
    unsigned seed = (unsigned)(intptr_t)arg * 2654435761u + 1;
    for (int i = 0; i < rounds; i++) {
        int id = new_id();
        atomic_fetch_add(&calls_started, 1);
        switch (rnd(&seed) % 5) {
        case 0: { /* plain to_thread */
            void *r = NULL;
            int rc = cor_to_thread(job, (void *)(intptr_t)id, &r);
            if (rc == 0)
                take(r);
            else if (rc == -EAGAIN)
                atomic_fetch_add(&not_started, 1);
            atomic_fetch_add(&calls_done, 1);
            break;
        }
        case 1: { /* to_thread in a task cancelled after a few yields */
            cor_task *t = cor_spawn(one_to_thread, (void *)(intptr_t)id);
            if (!t) {
                atomic_fetch_add(&calls_done, 1);
                break;
            }
            for (unsigned k = rnd(&seed) % 4; k; k--)
                cor_yield();
            cor_task_cancel(t);
            cor_await(t, NULL);
            cor_task_release(t);
            atomic_fetch_add(&calls_done, 1);
            break;
        }
        case 2: { /* submit and await */
            cor_future *f;
            if (cor_executor_submit(job, (void *)(intptr_t)id, cleanup, NULL,
                                    &f) == 0) {
                void *r = NULL;
                int rc = cor_future_await(f, &r);
                if (rc == 0)
                    take(r);
                else if (rc == -EAGAIN)
                    atomic_fetch_add(&not_started, 1);
                cor_future_release(f);
            }
            atomic_fetch_add(&calls_done, 1);
            break;
        }
        case 3: { /* submit, cancel the future after a few yields */
            cor_future *f;
            if (cor_executor_submit(job, (void *)(intptr_t)id, cleanup, NULL,
                                    &f) == 0) {
                for (unsigned k = rnd(&seed) % 4; k; k--)
                    cor_yield();
                if (!cor_future_cancel(f)) {
                    void *r = NULL;
                    if (cor_future_await(f, &r) == 0)
                        take(r);
                }
                cor_future_release(f);
            }
            atomic_fetch_add(&calls_done, 1);
            break;
        }
        default: { /* submit and drop the future at once */
            cor_future *f;
            if (cor_executor_submit(job, (void *)(intptr_t)id, cleanup, NULL,
                                    &f) == 0) {
                cor_future_cancel(f);
                cor_future_release(f);
            }
            atomic_fetch_add(&calls_done, 1);
            break;
        }
        }
        if (rnd(&seed) % 8 == 0)
            cor_yield();
        if (failing_starts && rnd(&seed) % 8 == 0) {
            /* Idle long enough for the workers to retire, then the next
             * starts fail. */
            atomic_store(&cor__executor_fail_starts, 1 + rnd(&seed) % 40);
            cor_sleep(0.005);
        }
    }
    return NULL;
}

static void *plain_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        int id = new_id();
        atomic_fetch_add(&calls_started, 1);
        void *r = NULL;
        if (cor_to_thread(job, (void *)(intptr_t)id, &r) == 0)
            take(r);
        atomic_fetch_add(&calls_done, 1);
    }
    return NULL;
}

static void *loop_main(void *arg)
{
    (void)arg;
    cor_task *t[TASKS];
    for (int i = 0; i < TASKS; i++)
        t[i] = cor_spawn(worker_task,
                         (void *)(intptr_t)(cor_loop_index() * TASKS + i));
    for (int i = 0; i < TASKS; i++)
        if (t[i]) {
            cor_await(t[i], NULL);
            cor_task_release(t[i]);
        }
    return NULL;
}

static void *stress_main(void *arg)
{
    (void)arg;
    cor_task *l[LOOPS];
    for (int i = 0; i < LOOPS; i++)
        l[i] = cor_spawn_on(i, loop_main, NULL);
    for (int i = 0; i < LOOPS; i++)
        if (l[i]) {
            cor_await(l[i], NULL);
            cor_task_release(l[i]);
        }
    return NULL;
}

static void check_every_job(void)
{
    int n = atomic_load(&next_id);
    int bad = 0;
    for (int i = 0; i < n && bad < 5; i++) {
        int r = atomic_load(&ran[i]), k = atomic_load(&taken[i]);
        if (r > 1 || k != r) {
            print_message("job %d: ran %d, result taken %d\n", i, r, k);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    assert_int_equal(atomic_load(&calls_done), atomic_load(&calls_started));
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.running, 0);
}

static void reset(void)
{
    for (int i = 0; i < MAXJOBS; i++) {
        atomic_store(&ran[i], 0);
        atomic_store(&taken[i], 0);
    }
    atomic_store(&next_id, 0);
    atomic_store(&calls_done, 0);
    atomic_store(&calls_started, 0);
    atomic_store(&not_started, 0);
}

static void run_stress(unsigned max_threads, size_t cap, unsigned keepalive)
{
    reset();
    atomic_store(&cor__executor_fail_starts, 0);
    cor_executor_opts o = {max_threads, cap, keepalive};
    assert_int_equal(cor_executor_configure(&o), 0);
    pthread_t th[PLAIN];
    for (int i = 0; i < PLAIN; i++)
        assert_int_equal(pthread_create(&th[i], NULL, plain_main, NULL), 0);
    assert_int_equal(h_run(stress_main, NULL, LOOPS), 0);
    for (int i = 0; i < PLAIN; i++)
        pthread_join(th[i], NULL);
    cor_executor_shutdown();
    atomic_store(&cor__executor_fail_starts, 0);
    failing_starts = false;
    check_every_job();
    if (getenv("COR_STRESS_VERBOSE"))
        print_message("%d jobs, %d calls not started\n",
                      atomic_load(&next_id), atomic_load(&not_started));
    cor_executor_configure(NULL);
}

static void one_worker_tiny_queue(void **state)
{
    (void)state;
    run_stress(1, 1, 1);
}

static void few_workers_small_queue(void **state)
{
    (void)state;
    run_stress(3, 4, 1);
}

static void many_workers_short_keepalive(void **state)
{
    (void)state;
    run_stress(16, 64, 1);
}

/* ---------------------------- a cancel between the grant and the run ---- */

static sem_t gate;
static atomic_int gated_ran, counted_ran;

static void *gated(void *arg)
{
    sem_wait(&gate);
    atomic_fetch_add(&gated_ran, 1);
    return arg;
}

static void *counted(void *arg)
{
    atomic_fetch_add(&counted_ran, 1);
    return arg;
}

static void *call_gated(void *arg)
{
    (void)arg;
    cor_to_thread(gated, NULL, NULL);
    return NULL;
}

static void *call_counted(void *arg)
{
    (void)arg;
    int rc = cor_to_thread(counted, NULL, NULL);
    rec("late rc=%d", rc);
    return NULL;
}

/* One worker, a queue of one slot: a runs (its job blocks the worker), b's
 * job is queued, c waits for room. */
static cor_task *a, *b, *c;

static void fill_queue(void)
{
    a = cor_spawn(call_gated, NULL);
    b = cor_spawn(call_counted, NULL);
    c = cor_spawn(call_counted, NULL);
    cor_executor_stats st;
    do {
        cor_yield();
        cor_executor_stats_get(&st);
    } while (!(st.running == 1 && st.queued == 1 && st.waited >= 1 &&
               c->wait != NULL));
}

static void end_queue(void)
{
    cor_task *t[] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
}

static void run_full(cor_fn *fn)
{
    sem_init(&gate, 0, 0);
    atomic_store(&gated_ran, 0);
    atomic_store(&counted_ran, 0);
    cor_executor_opts o = {1, 1, 0};
    assert_int_equal(cor_executor_configure(&o), 0);
    assert_int_equal(h_run(fn, NULL, 1), 0);
    cor_executor_shutdown();
    cor_executor_configure(NULL);
    assert_int_equal(atomic_load(&gated_ran), 1);
}

/*
 * The slot freed for c is granted (c is woken), and c is cancelled before
 * it runs again.  Its call must end -ECANCELED with nothing queued: a job
 * left in the queue would run on the dead frame of the returned call (and
 * wake a finished task).
 */
static void *grant_main(void *arg)
{
    (void)arg;
    fill_queue();
    sem_post(&gate); /* a ends, b runs and frees the slot for c */
    while (c->wait != NULL) /* c's grant arrived: c is ready, not run yet */
        cor_yield();
    cor_task_cancel(c);
    end_queue();
    return NULL;
}

static void cancel_after_room_granted(void **state)
{
    (void)state;
    run_full(grant_main);
    assert_int_equal(rec_count(), 2); /* in either order */
    assert_non_null(strstr(rec_text(), "late rc=0\n"));
    assert_non_null(strstr(rec_text(), "late rc=-125\n"));
    assert_int_equal(atomic_load(&counted_ran), 1); /* b's, not c's */
}

/* ------------------------------------- a raised bound makes room ---- */

/* Raising the bound makes room at once: c is let in while the worker is
 * still blocked, not when a job next leaves the queue. */
static void *raise_main(void *arg)
{
    (void)arg;
    fill_queue();
    cor_executor_opts o = {1, 4, 0};
    cor_executor_configure(&o);
    cor_executor_stats st;
    int k = 0;
    do { /* a few iterations: the grant, then c submits */
        cor_yield();
        cor_executor_stats_get(&st);
    } while (st.queued < 2 && ++k < 1000);
    /* b and c queued: at least two slots taken (the count also holds
     * slots granted to submitters that have not queued yet, and read 3
     * once in a fresh-system run; whether that is a transient double
     * count of c is not settled). */
    rec("c let in while the worker is blocked: %s",
        st.queued >= 2 ? "yes" : "no");
    sem_post(&gate);
    end_queue();
    return NULL;
}

static void raised_bound_lets_waiters_in(void **state)
{
    (void)state;
    run_full(raise_main);
    assert_string_equal(rec_text(),
                        "c let in while the worker is blocked: yes\n"
                        "late rc=0\nlate rc=0\n");
    assert_int_equal(atomic_load(&counted_ran), 2);
}

/* Jobs that no worker can start end with -EAGAIN, once. */
static void worker_starts_fail(void **state)
{
    (void)state;
    failing_starts = true;
    run_stress(2, 4, 1);
}

int main(void)
{
    const char *r = getenv("COR_STRESS_ROUNDS");
    if (r && atoi(r) > 0)
        rounds = atoi(r);
    if (rounds * (LOOPS * TASKS + PLAIN) >= MAXJOBS)
        rounds = MAXJOBS / (LOOPS * TASKS + PLAIN) - 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(cancel_after_room_granted, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(raised_bound_lets_waiters_in,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(one_worker_tiny_queue, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(few_workers_small_queue, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(many_workers_short_keepalive,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(worker_starts_fail, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
