/* SPDX-License-Identifier: MIT */
/*
 * test_core_future - futures: resolved on the loop or from a plain thread,
 * with a result, an error or a cancel; the first resolution wins; waiters
 * wake in the order they started waiting; a done future does not suspend
 * its awaiter (SPEC rule 5, the future half); done callbacks run on the loop.
 */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

enum { NFUT = 200 };
static cor_future *futs[NFUT];
static _Atomic int lost_races;

static void *resolver(void *arg)
{
    (void)arg;
    for (int i = 0; i < NFUT; i++) {
        int rc;
        if (i % 3 == 0)
            rc = cor_future_set_result(futs[i], (void *)(long)i);
        else if (i % 3 == 1)
            rc = cor_future_set_error(futs[i], -EIO, "fut %d", i);
        else
            rc = cor_future_cancel(futs[i]) ? 0 : -1;
        if (rc != 0)
            atomic_fetch_add(&lost_races, 1);
        /* A second resolution always loses. */
        if (cor_future_set_result(futs[i], NULL) != COR_EINVALSTATE)
            atomic_fetch_add(&lost_races, 100);
    }
    return NULL;
}

static void *thread_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < NFUT; i++)
        cor_future_create(&futs[i]);
    pthread_t th;
    pthread_create(&th, NULL, resolver, NULL);
    int ok = 0, err = 0, cancelled = 0, wrong = 0;
    for (int i = 0; i < NFUT; i++) {
        void *r = NULL;
        int rc = cor_future_await(futs[i], &r);
        const cor_error *e = NULL;
        if (rc == 0 && r == (void *)(long)i)
            ok++;
        else if (rc == -EIO && cor_future_error(futs[i], &e) == 0 && e &&
                 e->code == -EIO)
            err++;
        else if (rc == -ECANCELED && cor_future_cancelled(futs[i]))
            cancelled++;
        else
            wrong++;
    }
    /* The loop must not block on join: the thread has finished resolving
     * once every future is done, which we have just seen. */
    pthread_join(th, NULL);
    for (int i = 0; i < NFUT; i++)
        cor_future_release(futs[i]);
    rec("ok=%d err=%d cancelled=%d wrong=%d", ok, err, cancelled, wrong);
    return NULL;
}

static void resolved_from_a_plain_thread(void **state)
{
    (void)state;
    lost_races = 0;
    assert_int_equal(h_run(thread_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "ok=67 err=67 cancelled=66 wrong=0\n");
    assert_int_equal(lost_races, 0);
}

static cor_future *shared;

static void *waiter(void *arg)
{
    void *r = NULL;
    int rc = cor_future_await(shared, &r);
    rec("%s woke rc=%d r=%s", (const char *)arg, rc, (const char *)r);
    return NULL;
}

static void on_done(cor_future *f, void *ud)
{
    rec("callback %s on_task=%d done=%d", (const char *)ud,
        cor_current_task() != NULL, cor_future_done(f));
}

static void *order_main(void *arg)
{
    (void)arg;
    cor_future_create(&shared);
    cor_task *w[3];
    static const char *names[3] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++)
        w[i] = cor_spawn(waiter, (void *)names[i]);
    cor_yield(); /* all three wait now, in spawn order */
    cor_future_on_done(shared, on_done, "cb"); /* after them */
    rec("set=%d", cor_future_set_result(shared, "v"));
    rec("set again=%d", cor_future_set_result(shared, "w"));
    for (int i = 0; i < 3; i++) {
        cor_await(w[i], NULL);
        cor_task_release(w[i]);
    }
    /* Awaiting a finished future returns at once, without a switch. */
    cor_loop_stats a, b;
    cor_loop_stats_get(&a);
    void *r = NULL;
    int rc = cor_future_await(shared, &r);
    cor_loop_stats_get(&b);
    rec("done await rc=%d r=%s switches=%llu", rc, (const char *)r,
        (unsigned long long)(b.switches - a.switches));
    cor_future_release(shared);
    return NULL;
}

static void waiters_wake_in_order(void **state)
{
    (void)state;
    assert_int_equal(h_run(order_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "set=0\n"
                                    "set again=-16\n"
                                    "first woke rc=0 r=v\n"
                                    "second woke rc=0 r=v\n"
                                    "third woke rc=0 r=v\n"
                                    "callback cb on_task=0 done=1\n"
                                    "done await rc=0 r=v switches=0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resolved_from_a_plain_thread,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(waiters_wake_in_order, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
