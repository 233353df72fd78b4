/* SPDX-License-Identifier: MIT */
/*
 * A waiter that is handed what it waited for (a lock, a semaphore unit, a
 * queue or channel item, a condition's notification) and is cancelled
 * before it runs passes it on to the next waiter, or puts it back, and
 * returns -ECANCELED - as asyncio's waiters do (this asyncio program prints
 * the lines the first four tests expect):
 *
 *     lock = asyncio.Lock(); await lock.acquire()
 *     b = create_task(w("B")); c = create_task(w("C")); await sleep(0)
 *     lock.release(); print("cancel B:", b.cancel())
 *     -> cancel B: True / B cancelled / C acquired / locked: False
 *
 * (the same with Semaphore(0).release(), and with Queue().put_nowait(x):
 * B cancelled, C got x; with no other getter the item stays in the queue,
 * in its place).  Same loop, then across loops (xsync, channels), where
 * the hand-over and the cancel both travel through the waiter's inbox.
 */
#include "aio_util.h"

#include <stdatomic.h>

enum prim { P_LOCK, P_SEM, P_BSEM, P_QUEUE, P_COND, P_CHAN };

static cor_lock *lk;
static cor_sem *sm;
static cor_queue *qu;
static cor_cond *cv;
static cor_chan *ch;

/* One waiter: take what prim gives, log it, give it back. */
static void *waiter(void *arg)
{
    const char *name = cor_task_name(cor_current_task());
    enum prim p = (enum prim)(intptr_t)arg;
    void *item = NULL;
    int rc;
    switch (p) {
    case P_LOCK:
        rc = cor_lock_acquire(lk);
        break;
    case P_SEM:
    case P_BSEM:
        rc = cor_sem_acquire(sm);
        break;
    case P_QUEUE:
        rc = cor_queue_get(qu, &item);
        break;
    case P_CHAN:
        rc = cor_chan_recv(ch, &item);
        break;
    default:
        rc = cor_lock_acquire(cor_cond_lock(cv));
        if (rc == 0)
            rc = cor_cond_wait(cv);
        cor_lock_release(cor_cond_lock(cv));
        break;
    }
    if (rc < 0) {
        rec("%s %s", name, rc == -ECANCELED ? "cancelled" : "error");
        return NULL;
    }
    if (item)
        rec("%s got %s", name, (const char *)item);
    else
        rec("%s got it", name);
    if (p == P_LOCK)
        cor_lock_release(lk);
    if (p == P_QUEUE)
        cor_queue_task_done(qu);
    return NULL;
}

static cor_task *spawn_named(const char *name, enum prim p)
{
    cor_task *t;
    cor_spawn_opts o = {.name = name};
    if (cor_spawn_ex(&t, waiter, (void *)(intptr_t)p, &o) < 0)
        return NULL;
    return t;
}

static void finish(cor_task *b, cor_task *c)
{
    cor_await(b, NULL);
    cor_task_release(b);
    if (c) {
        cor_await(c, NULL);
        cor_task_release(c);
    }
}

/* B and C wait; the hand-over goes to B, which is cancelled at once. */
static void *pass_on_main(void *arg)
{
    enum prim p = (enum prim)(intptr_t)arg;
    bool second = p != P_BSEM; /* the bounded one: B alone */
    if (p == P_LOCK) {
        cor_lock_create(&lk);
        cor_lock_acquire(lk);
    } else if (p == P_SEM) {
        cor_sem_create(&sm, 0);
    } else if (p == P_BSEM) {
        cor_sem_create_bounded(&sm, 1);
        cor_sem_acquire(sm);
    } else if (p == P_QUEUE) {
        cor_queue_create(&qu, NULL);
    } else if (p == P_COND) {
        cor_cond_create(&cv, NULL);
    } else {
        cor_chan_create(&ch, 4);
    }
    cor_task *b = spawn_named("B", p);
    cor_task *c = second ? spawn_named("C", p) : NULL;
    cor_yield(); /* both wait now */
    switch (p) {
    case P_LOCK:
        cor_lock_release(lk);
        break;
    case P_SEM:
    case P_BSEM:
        cor_sem_release(sm);
        break;
    case P_QUEUE:
        cor_queue_put_nowait(qu, "x");
        break;
    case P_CHAN:
        cor_chan_try_send(ch, "x");
        break;
    default:
        cor_lock_acquire(cor_cond_lock(cv));
        rec("notified %d", cor_cond_notify(cv, 1));
        cor_lock_release(cor_cond_lock(cv));
        break;
    }
    rec("cancel B: %s", py_bool(cor_task_cancel(b)));
    finish(b, c);
    switch (p) {
    case P_LOCK:
        rec("locked: %s", py_bool(cor_lock_locked(lk)));
        cor_lock_destroy(lk);
        break;
    case P_SEM:
    case P_BSEM:
        rec("value: %d", cor_sem_value(sm));
        cor_sem_destroy(sm);
        break;
    case P_QUEUE:
        rec("qsize %zu, join %d", cor_queue_size(qu), cor_queue_join(qu));
        cor_queue_destroy(qu);
        break;
    case P_CHAN:
        rec("len %zu", cor_chan_len(ch));
        cor_chan_destroy(ch);
        break;
    default:
        cor_cond_destroy(cv);
        break;
    }
    return NULL;
}

static void run_pass_on(enum prim p, const char *expected)
{
    rec_reset();
    assert_int_equal(h_run(pass_on_main, (void *)(intptr_t)p, 1), 0);
    assert_string_equal(rec_text(), expected);
}

static void lock_passed_on(void **state)
{
    (void)state;
    run_pass_on(P_LOCK, "cancel B: True\nB cancelled\nC got it\n"
                        "locked: False\n");
}

static void sem_unit_passed_on(void **state)
{
    (void)state;
    run_pass_on(P_SEM, "cancel B: True\nB cancelled\nC got it\nvalue: 0\n");
}

static void bounded_sem_unit_put_back(void **state)
{
    (void)state;
    /* No other waiter: the unit goes back, within the bound. */
    run_pass_on(P_BSEM, "cancel B: True\nB cancelled\nvalue: 1\n");
}

static void queue_item_passed_on(void **state)
{
    (void)state;
    run_pass_on(P_QUEUE, "cancel B: True\nB cancelled\nC got x\n"
                         "qsize 0, join 0\n");
}

static void cond_notification_passed_on(void **state)
{
    (void)state;
    run_pass_on(P_COND, "notified 1\ncancel B: True\nB cancelled\n"
                        "C got it\n");
}

static void chan_item_passed_on(void **state)
{
    (void)state;
    run_pass_on(P_CHAN, "cancel B: True\nB cancelled\nC got x\nlen 0\n");
}

/* ---- items go back in their place, whatever the queue's kind ---- */

static int by_rank(const void *a, const void *b)
{
    return *(const char *)a - *(const char *)b; /* first letter */
}

/*
 * B1 and B2 wait and are handed "a1" and "a2"; "a3" and "b" are put after
 * (a3 ranks with a1, a2; b after them); B1, then B2 are cancelled.  The
 * items must come out as if nobody had taken them.
 */
static void *order_main(void *arg)
{
    cor_queue_opts o = {.kind = (int)(intptr_t)arg, .cmp = by_rank};
    cor_queue_create(&qu, &o);
    cor_task *b1 = spawn_named("B1", P_QUEUE);
    cor_task *b2 = spawn_named("B2", P_QUEUE);
    cor_yield();
    cor_queue_put_nowait(qu, "a1");
    cor_queue_put_nowait(qu, "a2");
    cor_queue_put_nowait(qu, "a3");
    cor_queue_put_nowait(qu, "b");
    cor_task_cancel(b1);
    cor_task_cancel(b2);
    finish(b1, b2);
    void *x;
    while (cor_queue_get_nowait(qu, &x) == 0) {
        rec("%s", (const char *)x);
        cor_queue_task_done(qu);
    }
    rec("join %d", cor_queue_join(qu));
    cor_queue_destroy(qu);
    return NULL;
}

static void queue_items_back_in_order(void **state)
{
    (void)state;
    const struct {
        int kind;
        const char *out;
    } cases[] = {
        {COR_QUEUE_FIFO, "B1 cancelled\nB2 cancelled\na1\na2\na3\nb\njoin 0\n"},
        {COR_QUEUE_LIFO, "B1 cancelled\nB2 cancelled\nb\na3\na2\na1\njoin 0\n"},
        {COR_QUEUE_PRIORITY,
         "B1 cancelled\nB2 cancelled\na1\na2\na3\nb\njoin 0\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rec_reset();
        assert_int_equal(h_run(order_main, (void *)(intptr_t)cases[i].kind,
                               1),
                         0);
        assert_string_equal(rec_text(), cases[i].out);
    }
}

/* A bounded queue: the given-back item may take it past maxsize; a put
 * then waits until it is drained below. */
static void *bounded_main(void *arg)
{
    (void)arg;
    cor_queue_create(&qu, &(cor_queue_opts){.maxsize = 1});
    cor_task *b = spawn_named("B", P_QUEUE);
    cor_yield();
    cor_queue_put_nowait(qu, "x"); /* handed to B */
    cor_queue_put_nowait(qu, "y"); /* fills the queue */
    cor_task_cancel(b);
    finish(b, NULL);
    rec("qsize %zu full %s put %d", cor_queue_size(qu),
        py_bool(cor_queue_full(qu)), cor_queue_put_nowait(qu, "z"));
    void *x;
    cor_queue_get_nowait(qu, &x);
    rec("%s, full %s", (const char *)x, py_bool(cor_queue_full(qu)));
    cor_queue_get_nowait(qu, &x);
    rec("%s", (const char *)x);
    cor_queue_destroy(qu);
    return NULL;
}

static void bounded_queue_item_back(void **state)
{
    (void)state;
    rec_reset();
    assert_int_equal(h_run(bounded_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "B cancelled\nqsize 2 full True put -11\n"
                                    "x, full True\ny\n");
}

/* A channel of cap 1: x handed to B, y fills the buffer; B's x goes back
 * before y (the buffer holds two for a while). */
static void *chan_full_main(void *arg)
{
    (void)arg;
    cor_chan_create(&ch, 1);
    cor_task *b = spawn_named("B", P_CHAN);
    cor_yield();
    cor_chan_try_send(ch, "x");
    cor_chan_try_send(ch, "y");
    cor_task_cancel(b);
    finish(b, NULL);
    rec("len %zu, send %d", cor_chan_len(ch), cor_chan_try_send(ch, "z"));
    void *x;
    while (cor_chan_try_recv(ch, &x) == 0)
        rec("%s", (const char *)x);
    cor_chan_destroy(ch);
    return NULL;
}

static void chan_item_back_in_full_buffer(void **state)
{
    (void)state;
    rec_reset();
    assert_int_equal(h_run(chan_full_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "B cancelled\nlen 2, send -11\nx\ny\n");
}

/* Inside a shield scope the cancellation waits: B keeps what it got. */
static void *shielded_getter(void *arg)
{
    (void)arg;
    void *x = NULL;
    cor_shield_begin();
    int rc = cor_queue_get(qu, &x);
    cor_shield_end();
    rec("B rc %d got %s", rc, rc == 0 ? (const char *)x : "-");
    rec("B next yield %d", cor_yield());
    return NULL;
}

static void *shield_main(void *arg)
{
    (void)arg;
    cor_queue_create(&qu, NULL);
    cor_task *b = cor_spawn(shielded_getter, NULL);
    cor_yield();
    cor_queue_put_nowait(qu, "x");
    cor_task_cancel(b);
    finish(b, NULL);
    rec("qsize %zu", cor_queue_size(qu));
    cor_queue_destroy(qu);
    return NULL;
}

static void shielded_waiter_keeps_item(void **state)
{
    (void)state;
    rec_reset();
    assert_int_equal(h_run(shield_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "B rc 0 got x\nB next yield -125\n"
                                    "qsize 0\n");
}

/* The same for a deadline: B's passes after it was handed the item and
 * before it ran (timers expire, on a fresh clock, after the ready tasks of
 * the iteration and before the next one runs B). */
static void *deadline_getter(void *arg)
{
    cor_timeout_scope s;
    void *x = NULL;
    cor_timeout_begin_at(&s, *(int64_t *)arg);
    int rc = cor_queue_get(qu, &x);
    cor_timeout_end(&s);
    rec("B rc %d", rc);
    return NULL;
}

static void *deadline_main(void *arg)
{
    (void)arg;
    cor_queue_create(&qu, NULL);
    int64_t dl = cor_now_ns() + 50 * 1000000;
    cor_task *b = cor_spawn(deadline_getter, &dl);
    cor_yield();                   /* B waits */
    cor_queue_put_nowait(qu, "x"); /* handed to B (or stored, if B's
                                    * deadline came first: same result) */
    while (cor_now_ns() <= dl)
        ; /* past B's deadline without letting B run */
    finish(b, NULL);
    rec("qsize %zu", cor_queue_size(qu));
    cor_queue_destroy(qu);
    return NULL;
}

static void queue_item_back_on_deadline(void **state)
{
    (void)state;
    rec_reset();
    assert_int_equal(h_run(deadline_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "B rc -110\nqsize 1\n");
}

/* ---- across loops: the waiter on loop 1, put and cancel from loop 0 --- */

static cor_xqueue *xq;
static cor_xsem *xs;
static cor_xevent *parked;
static atomic_int xgot, xcancelled;
static atomic_bool sent;

static void *x_getter(void *arg)
{
    void *x;
    int rc = arg ? cor_xsem_acquire(xs) : cor_xqueue_get(xq, &x);
    atomic_fetch_add(rc == 0 ? &xgot : &xcancelled, 1);
    return NULL;
}

/* Runs after x_getter on loop 1 (tasks start in spawn order), so the
 * getter is parked in its get when loop 0 hears of it; then holds loop 1
 * until loop 0 has sent both messages, so loop 1 sees them together. */
static void *x_signal(void *arg)
{
    (void)arg;
    cor_xevent_set(parked);
    while (!atomic_load(&sent))
        ; /* loop 1 drains nothing meanwhile */
    return NULL;
}

static void *x_main(void *arg)
{
    cor_spawn_opts o = {.loop = COR_LOOP(1)};
    cor_task *g, *s;
    if (cor_spawn_ex(&g, x_getter, arg, &o) < 0 ||
        cor_spawn_ex(&s, x_signal, NULL, &o) < 0)
        return cor_fail(-ENOMEM, "spawn");
    cor_xevent_wait(parked);
    /* Both reach loop 1's inbox in this order: the hand-over, then the
     * cancel; the getter runs after both. */
    if (arg)
        cor_xsem_release(xs);
    else
        cor_xqueue_put_nowait(xq, "x");
    cor_task_cancel(g);
    atomic_store(&sent, true);
    cor_await(g, NULL);
    cor_await(s, NULL);
    cor_task_release(g);
    cor_task_release(s);
    return NULL;
}

static void xqueue_item_put_back_across_loops(void **state)
{
    (void)state;
    atomic_store(&xgot, 0);
    atomic_store(&xcancelled, 0);
    atomic_store(&sent, false);
    assert_int_equal(cor_xqueue_create(&xq, 4), 0);
    assert_int_equal(cor_xevent_create(&parked), 0);
    assert_int_equal(h_run(x_main, NULL, 2), 0);
    assert_int_equal(atomic_load(&xcancelled), 1);
    void *x = NULL;
    assert_int_equal(cor_xqueue_get_nowait(xq, &x), 0);
    assert_string_equal((const char *)x, "x");
    assert_int_equal(cor_xqueue_task_done(xq), 0);
    cor_xqueue_destroy(xq);
    cor_xevent_destroy(parked);
}

static void xsem_unit_put_back_across_loops(void **state)
{
    (void)state;
    atomic_store(&xgot, 0);
    atomic_store(&xcancelled, 0);
    atomic_store(&sent, false);
    assert_int_equal(cor_xsem_create(&xs, 0, 1), 0);
    assert_int_equal(cor_xevent_create(&parked), 0);
    assert_int_equal(h_run(x_main, (void *)1, 2), 0);
    assert_int_equal(atomic_load(&xcancelled), 1);
    assert_int_equal(cor_xsem_value(xs), 1);
    assert_int_equal(cor_xsem_release(xs), -EOVERFLOW); /* bound kept */
    cor_xsem_destroy(xs);
    cor_xevent_destroy(parked);
}

int main(int argc, char **argv)
{
    if (argc > 1) /* one test by name (a glob) */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(lock_passed_on, h_setup),
        cmocka_unit_test_setup(sem_unit_passed_on, h_setup),
        cmocka_unit_test_setup(bounded_sem_unit_put_back, h_setup),
        cmocka_unit_test_setup(queue_item_passed_on, h_setup),
        cmocka_unit_test_setup(cond_notification_passed_on, h_setup),
        cmocka_unit_test_setup(chan_item_passed_on, h_setup),
        cmocka_unit_test_setup(queue_items_back_in_order, h_setup),
        cmocka_unit_test_setup(bounded_queue_item_back, h_setup),
        cmocka_unit_test_setup(chan_item_back_in_full_buffer, h_setup),
        cmocka_unit_test_setup(shielded_waiter_keeps_item, h_setup),
        cmocka_unit_test_setup(queue_item_back_on_deadline, h_setup),
        cmocka_unit_test_setup(xqueue_item_put_back_across_loops, h_setup),
        cmocka_unit_test_setup(xsem_unit_put_back_across_loops, h_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
