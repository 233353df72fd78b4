/* SPDX-License-Identifier: MIT */
/*
 * The parts of the asyncio model the oracle's rules do not print: timeout
 * scopes (nesting keeps the earliest deadline; the outer one is restored;
 * an end out of order refused), primitives destroyed under waiters, a
 * generator destroyed while it runs,
 * BoundedSemaphore over-release, Condition, Barrier, LIFO and priority
 * queues, maxsize with blocked putters served in order, wait_for that
 * returns in time, and cancellation leaving nothing held.
 */
#include "aio_util.h"

static int str_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void *timeouts(void *arg)
{
    (void)arg;
    cor_timeout_scope outer, inner;
    int64_t t0 = cor_now_ns();
    cor_timeout_begin(&outer, 0.05);
    rec("inner sleep: %d", cor_sleep(10));
    rec("scope end: %d", cor_timeout_end(&outer));
    rec("after the scope, sleep: %d", cor_sleep(0.001));
    rec("waited at least 50 ms: %s",
        py_bool(cor_now_ns() - t0 >= 50 * 1000 * 1000));

    /* nested: the inner (shorter) one fires; the outer is still in force */
    cor_timeout_begin(&outer, 0.2);
    cor_timeout_begin(&inner, 0.02);
    rec("nested inner sleep: %d", cor_sleep(10));
    rec("inner end: %d", cor_timeout_end(&inner));
    rec("outer still counting, sleep 10 ms: %d", cor_sleep(0.01));
    rec("outer end: %d", cor_timeout_end(&outer));

    /* a longer inner scope does not extend the outer one */
    cor_timeout_begin(&outer, 0.02);
    cor_timeout_begin(&inner, 10);
    rec("long inner under short outer: %d", cor_sleep(10));
    rec("inner end: %d", cor_timeout_end(&inner));
    rec("outer end: %d", cor_timeout_end(&outer));
    return NULL;
}

/* Destroying a lock, event, semaphore or barrier while a task waits on it
 * wakes the waiter with -EBADF (ASan: the waiter touches nothing freed). */
static cor_lock *d_lock;
static cor_event *d_event;
static cor_sem *d_sem;
static cor_barrier *d_barrier;

static void *d_waiter(void *arg)
{
    switch ((int)(intptr_t)arg) {
    case 0:
        return (void *)(intptr_t)cor_lock_acquire(d_lock);
    case 1:
        return (void *)(intptr_t)cor_event_wait(d_event);
    case 2:
        return (void *)(intptr_t)cor_sem_acquire(d_sem);
    default:
        return (void *)(intptr_t)cor_barrier_wait(d_barrier);
    }
}

static void *destroy_waited(void *arg)
{
    (void)arg;
    static const char *const names[] = {"lock", "event", "sem", "barrier"};
    cor_lock_create(&d_lock);
    cor_lock_acquire(d_lock);
    cor_event_create(&d_event);
    cor_sem_create(&d_sem, 0);
    cor_barrier_create(&d_barrier, 2);
    for (int i = 0; i < 4; i++) {
        cor_task *t = cor_spawn(d_waiter, (void *)(intptr_t)i);
        cor_yield(); /* it waits */
        if (i == 0)
            cor_lock_destroy(d_lock);
        else if (i == 1)
            cor_event_destroy(d_event);
        else if (i == 2)
            cor_sem_destroy(d_sem);
        else
            cor_barrier_destroy(d_barrier);
        void *res = NULL;
        cor_await(t, &res);
        rec("%s: %d", names[i], (int)(intptr_t)res);
        cor_task_release(t);
    }
    return NULL;
}

static void destroyed_under_waiters(void **state)
{
    (void)state;
    assert_int_equal(h_run(destroy_waited, NULL, 1), 0);
    assert_string_equal(rec_text(), "lock: -9\n"
                                    "event: -9\n"
                                    "sem: -9\n"
                                    "barrier: -9\n");
}

/* A generator destroyed while it runs, by another task or by its own
 * body: its yields return -ECANCELED from then on, the running next
 * returns -EBADF once the body has ended, and the generator goes then
 * (ASan: nothing used after free). */
static cor_gen *d_gen;

static int d_body(cor_gen *g, void *arg)
{
    if (arg)
        cor_gen_destroy(g); /* by its own body */
    else
        cor_sleep(0.01); /* the other task destroys it meanwhile */
    int rc = cor_gen_yield(g, (void *)1);
    rec("body: yield %d", rc);
    return rc;
}

static void *d_next(void *arg)
{
    (void)arg;
    void *v = NULL;
    rec("next: %d %p", cor_gen_next(d_gen, &v), v);
    return NULL;
}

static void *gen_destroy_main(void *arg)
{
    (void)arg;
    cor_gen_create(&d_gen, d_body, NULL, 0);
    cor_task *t = cor_spawn(d_next, NULL);
    cor_yield(); /* it runs the body, which sleeps */
    cor_gen_destroy(d_gen);
    cor_await(t, NULL);
    cor_task_release(t);
    cor_gen_create(&d_gen, d_body, (void *)1, 0);
    d_next(NULL);
    return NULL;
}

static void gen_destroyed_running(void **state)
{
    (void)state;
    assert_int_equal(h_run(gen_destroy_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "body: yield -125\n"
                                    "next: -9 (nil)\n"
                                    "body: yield -125\n"
                                    "next: -9 (nil)\n");
}

static void timeout_scopes(void **state)
{
    (void)state;
    assert_int_equal(h_run(timeouts, NULL, 1), 0);
    assert_string_equal(rec_text(),
                        "inner sleep: -110\n"
                        "scope end: -110\n"
                        "after the scope, sleep: 0\n"
                        "waited at least 50 ms: True\n"
                        "nested inner sleep: -110\n"
                        "inner end: -110\n"
                        "outer still counting, sleep 10 ms: 0\n"
                        "outer end: 0\n"
                        "long inner under short outer: -110\n"
                        "inner end: 0\n"
                        "outer end: -110\n");
}

/* Ending a scope that is not the innermost one open in the task (never
 * begun, ended out of order, ended twice) is refused and changes nothing:
 * the inner deadline stays in force, and no ended scope's deadline comes
 * back. */
static void *scope_misuse(void *arg)
{
    (void)arg;
    cor_timeout_scope a, b, never = {0};
    rec("never begun: %d", cor_timeout_end(&never));
    cor_timeout_begin(&a, 10);
    cor_timeout_begin(&b, 0.02);
    rec("outer before inner: %d", cor_timeout_end(&a));
    rec("inner still in force: %d", cor_sleep(0.5));
    rec("inner end: %d", cor_timeout_end(&b));
    rec("outer end: %d", cor_timeout_end(&a));
    rec("ended twice: %d", cor_timeout_end(&a));
    rec("no scope left, sleep: %d", cor_sleep(0.001));
    return NULL;
}

static void timeout_scope_misuse(void **state)
{
    (void)state;
    assert_int_equal(h_run(scope_misuse, NULL, 1), 0);
    assert_string_equal(rec_text(), "never begun: -22\n"
                                    "outer before inner: -22\n"
                                    "inner still in force: -110\n"
                                    "inner end: -110\n"
                                    "outer end: 0\n"
                                    "ended twice: -22\n"
                                    "no scope left, sleep: 0\n");
}

struct cv {
    cor_cond *c;
    int *value;
    int n;
};

static bool ready(void *arg)
{
    return *(int *)arg > 0;
}

static void *cond_waiter(void *arg)
{
    struct cv *v = arg;
    cor_lock_acquire(cor_cond_lock(v->c));
    int rc = cor_cond_wait_for(v->c, ready, v->value);
    rec("waiter %d: woke (%d), holds the lock: %s", v->n, rc,
        py_bool(cor_lock_locked(cor_cond_lock(v->c))));
    cor_lock_release(cor_cond_lock(v->c));
    return NULL;
}

static void *barrier_party(void *arg)
{
    int idx = cor_barrier_wait(arg);
    rec("party passed with index %d", idx);
    return NULL;
}

static void *prims(void *arg)
{
    (void)arg;
    cor_sem *b;
    cor_sem_create_bounded(&b, 1);
    rec("bounded: over-release -> %d", cor_sem_release(b));
    cor_sem_acquire(b);
    int rel = cor_sem_release(b);
    int try1 = cor_sem_try_acquire(b);
    int try2 = cor_sem_try_acquire(b);
    rec("bounded: release -> %d, try twice -> %d %d", rel, try1, try2);
    cor_sem_destroy(b);

    cor_cond *c;
    cor_cond_create(&c, NULL);
    int value = 0;
    struct cv v[2] = {{c, &value, 0}, {c, &value, 1}};
    cor_task *w[2] = {cor_spawn(cond_waiter, &v[0]),
                      cor_spawn(cond_waiter, &v[1])};
    cor_yield();
    rec("notify without the lock -> %d", cor_cond_notify(c, 1));
    cor_lock_acquire(cor_cond_lock(c));
    rec("notify_all before the predicate holds -> %d", cor_cond_notify_all(c));
    cor_lock_release(cor_cond_lock(c));
    cor_yield();
    cor_lock_acquire(cor_cond_lock(c));
    value = 1;
    rec("notify_all -> %d", cor_cond_notify_all(c));
    cor_lock_release(cor_cond_lock(c));
    cor_await(w[0], NULL);
    cor_await(w[1], NULL);
    cor_task_release(w[0]);
    cor_task_release(w[1]);
    cor_cond_destroy(c);

    cor_barrier *bar;
    cor_barrier_create(&bar, 3);
    cor_task *p[2] = {cor_spawn(barrier_party, bar),
                      cor_spawn(barrier_party, bar)};
    cor_yield();
    rec("waiting at the barrier: %d", cor_barrier_n_waiting(bar));
    rec("last party gets index %d", cor_barrier_wait(bar));
    cor_await(p[0], NULL);
    cor_await(p[1], NULL);
    cor_task_release(p[0]);
    cor_task_release(p[1]);
    cor_barrier_abort(bar);
    rec("aborted barrier -> %d", cor_barrier_wait(bar));
    cor_barrier_destroy(bar);
    return NULL;
}

static void sync_primitives(void **state)
{
    (void)state;
    assert_int_equal(h_run(prims, NULL, 1), 0);
    assert_string_equal(rec_text(),
                        "bounded: over-release -> -75\n"
                        "bounded: release -> 0, try twice -> 0 -11\n"
                        "notify without the lock -> -1\n"
                        "notify_all before the predicate holds -> 2\n"
                        "notify_all -> 2\n"
                        "waiter 0: woke (0), holds the lock: True\n"
                        "waiter 1: woke (0), holds the lock: True\n"
                        "waiting at the barrier: 2\n"
                        "last party gets index 2\n"
                        "party passed with index 0\n"
                        "party passed with index 1\n"
                        "aborted barrier -> -32\n");
}

static void *putter(void *arg)
{
    cor_queue *q = arg;
    const char *name = cor_task_name(cor_current_task());
    int rc = cor_queue_put(q, (void *)name);
    rec("%s: put -> %d", name, rc);
    return NULL;
}

static void *queues(void *arg)
{
    (void)arg;
    cor_queue *q;
    void *v;
    cor_queue_create(&q, &(cor_queue_opts){.kind = COR_QUEUE_LIFO});
    cor_queue_put_nowait(q, "1");
    cor_queue_put_nowait(q, "2");
    cor_queue_put_nowait(q, "3");
    char order[8] = "";
    while (cor_queue_get_nowait(q, &v) == 0)
        strcat(order, v);
    rec("LIFO: %s, empty get -> %d", order, cor_queue_get_nowait(q, &v));
    cor_queue_destroy(q);

    cor_queue_create(&q, &(cor_queue_opts){.kind = COR_QUEUE_PRIORITY,
                                           .cmp = str_cmp});
    const char *items[] = {"d", "b", "a", "c", "b"};
    for (int i = 0; i < 5; i++)
        cor_queue_put_nowait(q, (void *)items[i]);
    order[0] = 0;
    void *first_b = NULL;
    while (cor_queue_get_nowait(q, &v) == 0) {
        if (!first_b && strcmp(v, "b") == 0)
            first_b = v;
        strcat(order, v);
    }
    rec("priority: %s, ties in put order: %s", order,
        py_bool(first_b == items[1]));
    cor_queue_destroy(q);
    rec("priority without cmp -> %d",
        cor_queue_create(&q, &(cor_queue_opts){.kind = COR_QUEUE_PRIORITY}));

    cor_queue_create(&q, &(cor_queue_opts){.maxsize = 1});
    cor_queue_put_nowait(q, "first");
    rec("full: %s, put_nowait -> %d", py_bool(cor_queue_full(q)),
        cor_queue_put_nowait(q, "x"));
    cor_spawn_opts o1 = {.name = "P1"}, o2 = {.name = "P2"};
    cor_task *p1, *p2;
    cor_spawn_ex(&p1, putter, q, &o1);
    cor_spawn_ex(&p2, putter, q, &o2);
    cor_yield();
    for (int i = 0; i < 3; i++) {
        cor_queue_get(q, &v);
        rec("got %s", (char *)v);
        cor_yield();
    }
    cor_task_release(p1);
    cor_task_release(p2);
    cor_queue_destroy(q);
    return NULL;
}

static void queue_kinds(void **state)
{
    (void)state;
    assert_int_equal(h_run(queues, NULL, 1), 0);
    assert_string_equal(rec_text(), "LIFO: 321, empty get -> -11\n"
                                    "priority: abbcd, ties in put order: True\n"
                                    "priority without cmp -> -22\n"
                                    "full: True, put_nowait -> -11\n"
                                    "got first\n"
                                    "P1: put -> 0\n"
                                    "got P1\n"
                                    "P2: put -> 0\n"
                                    "got P2\n");
}

/* A waiter cancelled while blocked holds nothing and loses nothing. */
static void *blocked_get(void *arg)
{
    void *v;
    rec("cancelled getter -> %d", cor_queue_get(arg, &v));
    return NULL;
}

static void *blocked_lock(void *arg)
{
    rec("cancelled locker -> %d", cor_lock_acquire(arg));
    return NULL;
}

static void *cancels(void *arg)
{
    (void)arg;
    cor_queue *q;
    cor_lock *l;
    cor_queue_create(&q, NULL);
    cor_lock_create(&l);
    cor_lock_acquire(l);
    cor_task *g = cor_spawn(blocked_get, q), *k = cor_spawn(blocked_lock, l);
    cor_yield();
    cor_task_cancel(g);
    cor_task_cancel(k);
    cor_await(g, NULL);
    cor_await(k, NULL);
    cor_queue_put_nowait(q, "kept");
    void *v = NULL;
    cor_queue_get_nowait(q, &v);
    cor_lock_release(l);
    rec("item kept: %s, lock free: %s", (char *)v,
        py_bool(!cor_lock_locked(l)));
    cor_task_release(g);
    cor_task_release(k);
    cor_queue_destroy(q);
    cor_lock_destroy(l);
    return NULL;
}

static void cancelled_waiters(void **state)
{
    (void)state;
    assert_int_equal(h_run(cancels, NULL, 1), 0);
    assert_string_equal(rec_text(), "cancelled getter -> -125\n"
                                    "cancelled locker -> -125\n"
                                    "item kept: kept, lock free: True\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(timeout_scopes, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(timeout_scope_misuse, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(destroyed_under_waiters, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(gen_destroyed_running, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(sync_primitives, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(queue_kinds, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(cancelled_waiters, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
