/* SPDX-License-Identifier: MIT */
/*
 * Rules 5 (the queue half), 7 (the Event, Lock and Queue half), 44, 45, 46
 * and 55 of SPEC.md section 4: get on a non-empty queue and put on an
 * unbounded one do not yield; woken waiters run in FIFO order; Semaphore
 * never goes negative and rejects a negative start; Queue.join and
 * task_done; blocked getters are served FIFO and put does not switch; a
 * Lock prevents a race and two locks taken in opposite order deadlock.
 * C ports of the oracle's rule programs, compared with their output.
 */
#include "aio_util.h"

/* rule 5 (queue half; done tasks and futures are the core's) */
static void *background(void *arg)
{
    (void)arg;
    rec("background: runs");
    return NULL;
}

static void *main5(void *arg)
{
    (void)arg;
    cor_queue *q;
    cor_queue_create(&q, NULL);
    cor_queue_put_nowait(q, "item");
    cor_task *bg = cor_spawn(background, NULL);
    rec("main: background task created");
    void *item = NULL;
    bool empty = cor_queue_empty(q);
    cor_queue_get(q, &item);
    rec("main: queue empty: %s -> await get() -> %s", py_bool(empty),
        (char *)item);
    cor_queue_put(q, "again");
    rec("main: await put() on an unbounded queue did not yield either");
    rec("main: await sleep(0)");
    cor_yield();
    rec("main: after sleep(0)");
    cor_task_release(bg);
    cor_queue_destroy(q);
    return NULL;
}

static void rule_05_queue(void **state)
{
    (void)state;
    assert_int_equal(h_run(main5, NULL, 1), 0);
    assert_string_equal(rec_text(),
                        "main: background task created\n"
                        "main: queue empty: False -> await get() -> item\n"
                        "main: await put() on an unbounded queue did not "
                        "yield either\n"
                        "main: await sleep(0)\n"
                        "background: runs\n"
                        "main: after sleep(0)\n");
}

/* rule 7: woken waiters of an Event, a Lock, a Queue run in FIFO order */
struct w7 {
    int n;
    cor_event *ev;
    cor_lock *lock;
    cor_queue *q;
};

static void *sleeper7(void *arg)
{
    cor_sleep(0.1);
    rec("sleeper %d: woke", ((struct w7 *)arg)->n);
    return NULL;
}

static void *event_waiter(void *arg)
{
    struct w7 *w = arg;
    cor_event_wait(w->ev);
    rec("event waiter %d: woke", w->n);
    return NULL;
}

static void *lock_user(void *arg)
{
    struct w7 *w = arg;
    COR_LOCK_GUARD(g, w->lock);
    if (g.rc < 0)
        return NULL;
    rec("lock user %d: got the lock", w->n);
    cor_yield();
    return NULL;
}

static void *getter7(void *arg)
{
    struct w7 *w = arg;
    void *item = NULL;
    cor_queue_get(w->q, &item);
    rec("getter %d: got %s", w->n, (char *)item);
    return NULL;
}

static void run4(cor_fn *fn, struct w7 *w, int n)
{
    cor_task *t[4];
    cor_future *fs[4];
    for (int i = 0; i < n; i++) {
        t[i] = cor_spawn(fn, &w[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_gather(fs, (size_t)n, NULL, NULL, 0);
    for (int i = 0; i < n; i++)
        cor_task_release(t[i]);
}

static void *main7(void *arg)
{
    (void)arg;
    struct w7 w[4];
    cor_event *ev;
    cor_lock *lock;
    cor_queue *q;
    cor_event_create(&ev);
    cor_lock_create(&lock);
    cor_queue_create(&q, NULL);
    for (int i = 0; i < 4; i++)
        w[i] = (struct w7){i, ev, lock, q};
    run4(sleeper7, w, 4);

    cor_task *t[3];
    cor_future *fs[3];
    for (int i = 0; i < 3; i++) {
        t[i] = cor_spawn(event_waiter, &w[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_yield();
    cor_event_set(ev);
    cor_gather(fs, 3, NULL, NULL, 0);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);

    cor_lock_acquire(lock);
    for (int i = 0; i < 3; i++) {
        t[i] = cor_spawn(lock_user, &w[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_yield();
    cor_lock_release(lock);
    cor_gather(fs, 3, NULL, NULL, 0);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);

    for (int i = 0; i < 3; i++) {
        t[i] = cor_spawn(getter7, &w[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_yield();
    cor_queue_put_nowait(q, "a");
    cor_queue_put_nowait(q, "b");
    cor_queue_put_nowait(q, "c");
    cor_gather(fs, 3, NULL, NULL, 0);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);
    cor_event_destroy(ev);
    cor_lock_destroy(lock);
    cor_queue_destroy(q);
    return NULL;
}

static void rule_07(void **state)
{
    (void)state;
    assert_int_equal(h_run(main7, NULL, 1), 0);
    check_oracle("rules", "rule_07");
}

/* rule 44: Semaphore */
struct user44 {
    const char *name;
    double hold;
    cor_sem *sem;
};

static void *user44(void *arg)
{
    struct user44 *u = arg;
    {
        COR_SEM_GUARD(g, u->sem);
        if (g.rc < 0)
            return NULL;
        rec("t=%s %s: acquired", T_NOW(), u->name);
        cor_sleep(u->hold);
    }
    rec("t=%s %s: released", T_NOW(), u->name);
    return NULL;
}

static void *main44(void *arg)
{
    (void)arg;
    cor_sem *s;
    if (cor_sem_create(&s, -1) == -EINVAL)
        rec("Semaphore(-1): ValueError");
    cor_sem_create(&s, 1); /* asyncio's default value */
    rec("Semaphore(): locked %s", py_bool(cor_sem_locked(s)));
    cor_sem_acquire(s);
    rec("after one acquire: locked %s (counter %d, next acquire would "
        "block)",
        py_bool(cor_sem_locked(s)), cor_sem_value(s));
    cor_sem_release(s);
    cor_sem_destroy(s);
    t0_reset();
    cor_sem *two;
    cor_sem_create(&two, 2);
    rec("t=%s Semaphore(2) shared by A (holds 0.1 s), B (0.2 s), C (0.2 s)",
        T_NOW());
    struct user44 u[3] = {{"A", 0.1, two}, {"B", 0.2, two}, {"C", 0.2, two}};
    cor_task *t[3];
    cor_future *fs[3];
    for (int i = 0; i < 3; i++) {
        t[i] = cor_spawn(user44, &u[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_gather(fs, 3, NULL, NULL, 0);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);
    cor_sem_destroy(two);
    return NULL;
}

static void rule_44(void **state)
{
    (void)state;
    assert_int_equal(h_run(main44, NULL, 1), 0);
    check_oracle("rules", "rule_44");
}

/* rule 45: join and task_done */
static void *consumer45(void *arg)
{
    cor_queue *q = arg;
    for (;;) {
        void *item;
        if (cor_queue_get(q, &item) < 0) {
            rec("t=%s consumer: cancelled while blocked in get()", T_NOW());
            return cor_fail(-ECANCELED, "consumer");
        }
        rec("t=%s consumer: got %s", T_NOW(), (char *)item);
        cor_sleep(0.1);
        rec("t=%s consumer: task_done for %s", T_NOW(), (char *)item);
        cor_queue_task_done(q);
    }
}

static void *main45(void *arg)
{
    (void)arg;
    t0_reset();
    cor_queue *q;
    cor_queue_create(&q, NULL);
    cor_queue_put_nowait(q, "a");
    cor_queue_put_nowait(q, "b");
    cor_queue_put_nowait(q, "c");
    cor_task *c = cor_spawn(consumer45, q);
    cor_queue_join(q);
    rec("t=%s main: join() returned", T_NOW());
    cor_sleep(0.1);
    rec("t=%s main: consumer still blocked in get(), done: %s", T_NOW(),
        py_bool(cor_task_done(c)));
    cor_task_cancel(c);
    cor_await(c, NULL);
    if (cor_queue_task_done(q) == COR_EINVALSTATE)
        rec("t=%s main: one task_done() too many: ValueError", T_NOW());
    cor_task_release(c);
    cor_queue_destroy(q);
    return NULL;
}

static void rule_45(void **state)
{
    (void)state;
    assert_int_equal(h_run(main45, NULL, 1), 0);
    check_oracle("rules", "rule_45");
}

/* rule 46: blocked getters are served FIFO; put does not switch */
static void *getter46(void *arg)
{
    struct w7 *w = arg;
    rec("getter %d: waiting in get()", w->n);
    void *item = NULL;
    cor_queue_get(w->q, &item);
    rec("getter %d: got %s", w->n, (char *)item);
    return NULL;
}

static void *main46(void *arg)
{
    (void)arg;
    cor_queue *q;
    cor_queue_create(&q, NULL);
    struct w7 w[3];
    cor_task *t[3];
    cor_future *fs[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct w7){.n = i, .q = q};
        t[i] = cor_spawn(getter46, &w[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_yield();
    cor_queue_put(q, "a");
    rec("main: put a; still running, the woken getter has not run");
    cor_queue_put_nowait(q, "b");
    cor_queue_put_nowait(q, "c");
    rec("main: put b and c");
    cor_gather(fs, 3, NULL, NULL, 0);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);
    cor_queue_destroy(q);
    return NULL;
}

static void rule_46(void **state)
{
    (void)state;
    assert_int_equal(h_run(main46, NULL, 1), 0);
    check_oracle("rules", "rule_46");
}

/* rule 55: a race between suspension points; a Lock; a deadlock */
static int counter;

static void *unsafe_increment(void *arg)
{
    (void)arg;
    int value = counter;
    cor_yield();
    counter = value + 1;
    return NULL;
}

static void *safe_increment(void *arg)
{
    COR_LOCK_GUARD(g, (cor_lock *)arg);
    if (g.rc < 0)
        return NULL;
    int value = counter;
    cor_yield();
    counter = value + 1;
    return NULL;
}

struct both {
    const char *name;
    cor_lock *first, *second;
};

static void *take_both(void *arg)
{
    struct both *b = arg;
    COR_LOCK_GUARD(g1, b->first);
    if (g1.rc < 0)
        return cor_fail(g1.rc, "first");
    rec("%s: holds its first lock", b->name);
    cor_yield();
    COR_LOCK_GUARD(g2, b->second);
    if (g2.rc < 0)
        return cor_fail(g2.rc, "second");
    rec("%s: holds both (must not happen)", b->name);
    return NULL;
}

static void five(cor_fn *fn, void *arg)
{
    cor_task *t[5];
    cor_future *fs[5];
    for (int i = 0; i < 5; i++) {
        t[i] = cor_spawn(fn, arg);
        fs[i] = cor_task_future(t[i]);
    }
    cor_gather(fs, 5, NULL, NULL, 0);
    for (int i = 0; i < 5; i++)
        cor_task_release(t[i]);
}

static void *main55(void *arg)
{
    (void)arg;
    counter = 0;
    five(unsafe_increment, NULL);
    rec("5 unsafe increments -> counter = %d", counter);
    counter = 0;
    cor_lock *lock, *a, *b;
    cor_lock_create(&lock);
    five(safe_increment, lock);
    rec("5 increments under a Lock -> counter = %d", counter);
    cor_lock_create(&a);
    cor_lock_create(&b);
    struct both b1 = {"T1", a, b}, b2 = {"T2", b, a};
    cor_task *t[2] = {cor_spawn(take_both, &b1), cor_spawn(take_both, &b2)};
    cor_future *fs[2] = {cor_task_future(t[0]), cor_task_future(t[1])};
    int ndone = cor_wait(fs, 2, COR_ALL_COMPLETED, 0.2, NULL);
    rec("opposite lock order: after 0.2 s done=%d pending=%d (deadlock)",
        ndone, 2 - ndone);
    cor_task_cancel(t[0]);
    cor_task_cancel(t[1]);
    cor_wait(fs, 2, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    rec("cancelled both; locks free again: %s",
        py_bool(!cor_lock_locked(a) && !cor_lock_locked(b)));
    cor_task_release(t[0]);
    cor_task_release(t[1]);
    cor_lock_destroy(lock);
    cor_lock_destroy(a);
    cor_lock_destroy(b);
    return NULL;
}

static void rule_55(void **state)
{
    (void)state;
    assert_int_equal(h_run(main55, NULL, 1), 0);
    check_oracle("rules", "rule_55");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rule_05_queue, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_07, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_44, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_45, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_46, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_55, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
