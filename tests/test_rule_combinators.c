/* SPDX-License-Identifier: MIT */
/*
 * Rules 32-40 of SPEC.md section 4: TaskGroup (32, 33), wait (34, 35),
 * wait_for (36, 37), shield (38, 39) and as_completed (40).  C ports of the
 * oracle's rules/rule_32..40.py, compared line by line with their output.
 * Rule 36 is where sticky cancellation shows: the inner task's 0.1 s
 * cleanup runs in a shield scope (in asyncio its next await just works).
 */
#include "aio_util.h"

static void *sleeper(void *arg);

struct job {
    const char *name;
    double delay;
    bool fail;
    cor_group *tg;     /* rule 32: add name2 to this group */
    cor_event *ev;     /* rule 33: wait for it, then fail */
    bool timed;
};

static void *job(void *arg)
{
    struct job *j = arg;
    if (j->timed)
        rec("t=%s %s: starts", T_NOW(), j->name);
    if (j->ev) {
        cor_event_wait(j->ev);
        rec("%s: raises", j->name);
        return cor_fail(-EINVAL, "%s", j->name);
    }
    int rc = cor_sleep(j->delay);
    if (rc < 0)
        return cor_fail(rc, "%s", j->name);
    if (j->fail)
        return cor_fail(-EINVAL, "%s", j->name);
    if (j->tg) {
        static struct job j2;
        j2 = (struct job){.delay = 0.2, .timed = true};
        j2.name = strcmp(j->name, "A") == 0 ? "A2" : "?2";
        cor_group_spawn(j->tg, NULL, job, &j2);
        rec("t=%s %s: added %s to the running group", T_NOW(), j->name,
            j2.name);
    }
    if (j->timed)
        rec("t=%s %s: ends", T_NOW(), j->name);
    return (void *)j->name;
}

/* rule 32: children start at once; join waits for all, including those
 * added meanwhile; spawning into a finished group is an error */
static void *main32(void *arg)
{
    (void)arg;
    t0_reset();
    cor_group *tg;
    cor_group_create(&tg);
    struct job a = {"A", 0.1, .tg = tg, .timed = true};
    struct job b = {"B", 0.2, .timed = true};
    cor_task *ta, *tb;
    cor_group_spawn(tg, &ta, job, &a);
    cor_group_spawn(tg, &tb, job, &b);
    rec("t=%s block body: created A and B", T_NOW());
    cor_yield();
    rec("t=%s block body: ends, waiting for the children", T_NOW());
    int rc = cor_group_join(tg, NULL);
    void *ra = NULL, *rb = NULL;
    cor_task_result(ta, &ra);
    cor_task_result(tb, &rb);
    rec("t=%s after the block: A %s, B %s%s", T_NOW(), (char *)ra,
        (char *)rb, rc ? " (join failed)" : "");
    struct job late = {"late", 0};
    if (cor_group_spawn(tg, NULL, job, &late) == COR_EINVALSTATE)
        rec("t=%s create_task after the group ended: RuntimeError", T_NOW());
    cor_task_release(ta);
    cor_task_release(tb);
    cor_group_destroy(tg);
    return NULL;
}

static void rule_32(void **state)
{
    (void)state;
    assert_int_equal(h_run(main32, NULL, 1), 0);
    check_oracle("rules", "rule_32");
}

/* rule 33 */
struct sl {
    const char *name;
    double delay;
};

static void *sleeper(void *arg)
{
    struct sl *s = arg;
    if (cor_sleep(s->delay) < 0) {
        rec("%s: cancelled", s->name);
        return cor_fail(-ECANCELED, "%s", s->name);
    }
    rec("%s: finished", s->name);
    return (void *)s->name;
}

static void *group_in_task(void *arg)
{
    (void)arg;
    static struct sl inner = {"inner", 1};
    cor_group *tg;
    cor_group_create(&tg);
    cor_group_spawn(tg, NULL, sleeper, &inner);
    int rc = cor_group_join(tg, NULL);
    cor_group_destroy(tg);
    return rc ? cor_fail(rc, "group 3") : NULL;
}

static void *main33(void *arg)
{
    (void)arg;
    struct sl sa = {"A", 0.2}, sb = {"B", 0.1};
    cor_group *tg;
    cor_group_create(&tg);
    cor_task *a, *b;
    cor_group_spawn(tg, &a, sleeper, &sa);
    cor_group_spawn(tg, &b, sleeper, &sb);
    cor_yield();
    cor_task_cancel(a);
    int rc = cor_group_join(tg, NULL);
    void *rb = NULL;
    cor_task_result(b, &rb);
    rec("group 1 ended %s: A cancelled %s B result %s",
        rc == 0 ? "normally" : "with an error",
        py_bool(cor_task_cancelled(a)), (char *)rb);
    cor_task_release(a);
    cor_task_release(b);
    cor_group_destroy(tg);

    cor_event *ev;
    cor_event_create(&ev);
    struct job x = {"X", .ev = ev}, y = {"Y", .ev = ev};
    struct sl sz = {"Z", 1};
    cor_task *z;
    cor_group_create(&tg);
    cor_group_spawn(tg, NULL, job, &x);
    cor_group_spawn(tg, NULL, job, &y);
    cor_group_spawn(tg, &z, sleeper, &sz);
    cor_yield();
    cor_event_set(ev);
    const cor_error *ge;
    rc = cor_group_join(tg, &ge);
    if (rc == -EINVAL && ge && ge->nchildren == 2)
        rec("group 2 raised ExceptionGroup with %s, %s",
            ERR_REPR(ge->children[0]), ERR_REPR(ge->children[1]));
    rec("Z cancelled %s", py_bool(cor_task_cancelled(z)));
    cor_task_release(z);
    cor_group_destroy(tg);
    cor_event_destroy(ev);

    cor_task *t = cor_spawn(group_in_task, NULL);
    cor_sleep(0.1);
    cor_task_cancel(t);
    const cor_error *e = NULL;
    if (cor_await(t, NULL) == -ECANCELED && cor_task_error(t, &e) ==
                                                    -ECANCELED)
        rec("task holding group 3 was cancelled: plain CancelledError, "
            "not an ExceptionGroup");
    cor_task_release(t);
    return NULL;
}

static void rule_33(void **state)
{
    (void)state;
    assert_int_equal(h_run(main33, NULL, 1), 0);
    check_oracle("rules", "rule_33");
}

/* rule 34: wait() with a timeout returns the split, cancels nothing */
static void *main34(void *arg)
{
    (void)arg;
    struct job ja = {"A", 0.1}, jb = {"B", 0.3};
    cor_task *a = cor_spawn(job, &ja), *b = cor_spawn(job, &jb);
    cor_future *fs[2] = {cor_task_future(a), cor_task_future(b)};
    int64_t t0 = cor_now_ns();
    bool done[2];
    int n = cor_wait(fs, 2, COR_ALL_COMPLETED, 0.2, done);
    rec("wait(timeout=0.2) returned after\u2248%.1f without raising",
        (double)(cor_now_ns() - t0) / 1e9);
    rec("done: [%s] pending: [%s]%s", done[0] ? "'A'" : "",
        done[1] ? "" : "'B'", n == 1 ? "" : " (wrong count)");
    rec("B cancelled: %s done: %s", py_bool(cor_task_cancelled(b)),
        py_bool(cor_task_done(b)));
    void *r = NULL;
    cor_await(b, &r);
    rec("await B -> %s at\u2248%.1f", (char *)r,
        (double)(cor_now_ns() - t0) / 1e9);
    cor_task_release(a);
    cor_task_release(b);
    return NULL;
}

static void rule_34(void **state)
{
    (void)state;
    assert_int_equal(h_run(main34, NULL, 1), 0);
    check_oracle("rules", "rule_34");
}

/* rule 35 */
static void names(char *buf, size_t len, struct job *js, cor_future **fs,
                  size_t n, bool want_done)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (cor_future_done(fs[i]) == want_done)
            o += (size_t)snprintf(buf + o, len - o, "%s'%s'", o ? ", " : "",
                                  js[i].name);
}

static void *main35(void *arg)
{
    (void)arg;
    char d[64], p[64];
    struct job j1[] = {{"A", 0.1}, {"B", 0.2}, {"C", 0.3}};
    cor_task *t[3];
    cor_future *fs[3];
    int64_t t0 = cor_now_ns();
    for (int i = 0; i < 3; i++) {
        t[i] = cor_spawn(job, &j1[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_wait(fs, 3, COR_FIRST_COMPLETED, COR_NO_TIMEOUT, NULL);
    names(d, sizeof d, j1, fs, 3, true);
    names(p, sizeof p, j1, fs, 3, false);
    rec("FIRST_COMPLETED after\u2248%.1f: done [%s] pending [%s]",
        (double)(cor_now_ns() - t0) / 1e9, d, p);
    rec("pending ones still running, cancelled: [%s, %s]",
        py_bool(cor_task_cancelled(t[1])), py_bool(cor_task_cancelled(t[2])));
    cor_wait(fs + 1, 2, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    rec("they finished on their own at\u2248%.1f: ['B', 'C']",
        (double)(cor_now_ns() - t0) / 1e9);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);

    struct job j2[] = {{"D", 0.1}, {"E", 0.2}};
    t0 = cor_now_ns();
    for (int i = 0; i < 2; i++) {
        t[i] = cor_spawn(job, &j2[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_wait(fs, 2, COR_FIRST_EXCEPTION, COR_NO_TIMEOUT, NULL);
    names(d, sizeof d, j2, fs, 2, true);
    names(p, sizeof p, j2, fs, 2, false);
    rec("FIRST_EXCEPTION, no failure, after\u2248%.1f: done [%s] pending [%s]",
        (double)(cor_now_ns() - t0) / 1e9, d, p);
    for (int i = 0; i < 2; i++)
        cor_task_release(t[i]);

    struct job j3[] = {{"F", 0.1}, {"G", 0.2, true}, {"H", 0.3}};
    t0 = cor_now_ns();
    for (int i = 0; i < 3; i++) {
        t[i] = cor_spawn(job, &j3[i]);
        fs[i] = cor_task_future(t[i]);
    }
    cor_wait(fs, 3, COR_FIRST_EXCEPTION, COR_NO_TIMEOUT, NULL);
    names(d, sizeof d, j3, fs, 3, true);
    names(p, sizeof p, j3, fs, 3, false);
    rec("FIRST_EXCEPTION, G fails, after\u2248%.1f: done [%s] pending [%s]",
        (double)(cor_now_ns() - t0) / 1e9, d, p);
    const cor_error *e = NULL;
    cor_task_error(t[1], &e);
    rec("G exception: %s", e ? ERR_REPR(e) : "None");
    cor_wait(fs, 3, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    for (int i = 0; i < 3; i++)
        cor_task_release(t[i]);
    return NULL;
}

static void rule_35(void **state)
{
    (void)state;
    assert_int_equal(h_run(main35, NULL, 1), 0);
    check_oracle("rules", "rule_35");
}

/* rule 36: wait_for cancels the inner task on timeout and returns only
 * after the inner task handled its cancellation */
static void *inner36(void *arg)
{
    (void)arg;
    rec("t=%s inner: starts a 1 s sleep", T_NOW());
    int rc = cor_sleep(1);
    if (rc == -ECANCELED) {
        rec("t=%s inner: CancelledError, cleaning up for 0.1 s", T_NOW());
        /* coring's cancellation sticks: cleanup that awaits is shielded */
        cor_shield_begin();
        cor_sleep(0.1);
        cor_shield_end();
        rec("t=%s inner: cleanup done, re-raising", T_NOW());
        return cor_fail(rc, "cancelled");
    }
    return NULL;
}

static void *quick(void *arg)
{
    (void)arg;
    cor_sleep(0.2);
    return "quick result";
}

static void *main36(void *arg)
{
    (void)arg;
    t0_reset();
    rec("t=%s main: wait_for(inner(), timeout=0.1)", T_NOW());
    if (cor_wait_for_fn(inner36, NULL, 0.1, NULL) == -ETIMEDOUT)
        rec("t=%s main: TimeoutError", T_NOW());
    t0_reset();
    void *r = NULL;
    cor_wait_for_fn(quick, NULL, COR_NO_TIMEOUT, &r);
    rec("t=%s main: wait_for(quick(), timeout=None) -> '%s' (no limit)",
        T_NOW(), (char *)r);
    return NULL;
}

static void rule_36(void **state)
{
    (void)state;
    assert_int_equal(h_run(main36, NULL, 1), 0);
    check_oracle("rules", "rule_36");
}

/* rule 37: wait_for passes the inner error on unchanged */
static const cor_error *raised;

static void *fails(void *arg)
{
    (void)arg;
    cor_sleep(0.1);
    cor_fail(-EINVAL, "inner failure");
    cor_task_error(cor_current_task(), &raised); /* not finished: no-op */
    return NULL;
}

static void *main37(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(fails, NULL);
    int rc = cor_wait_for(cor_task_future(t), 1, NULL);
    const cor_error *e = NULL;
    cor_task_error(t, &e);
    if (rc == -ETIMEDOUT)
        rec("TimeoutError (must not happen)");
    else if (rc == -EINVAL && e)
        rec("wait_for raised %s; the very same object: %s", ERR_REPR(e),
            py_bool(e->code == rc));
    cor_task_release(t);
    return NULL;
}

static void rule_37(void **state)
{
    (void)state;
    assert_int_equal(h_run(main37, NULL, 1), 0);
    check_oracle("rules", "rule_37");
}

/* rule 38: shield */
static void *simple_task(void *arg)
{
    int rc = cor_sleep(0.2);
    return rc < 0 ? cor_fail(rc, "simple_task") : arg;
}

static void *cancel_later(void *arg)
{
    cor_sleep(0.1);
    rec("cancel_task: shielded.cancel() -> %s", py_bool(cor_future_cancel(arg)));
    return NULL;
}

static void *main38(void *arg)
{
    (void)arg;
    cor_task *task = cor_spawn(simple_task, (void *)1);
    cor_future *shielded;
    cor_shield(cor_task_future(task), &shielded);
    cor_task *cl = cor_spawn(cancel_later, shielded);
    void *r = NULL;
    if (cor_future_await(shielded, &r) == -ECANCELED)
        rec("awaiting shielded -> CancelledError");
    else
        rec("got: %ld", (long)r);
    rec("inner task: done %s cancelled %s", py_bool(cor_task_done(task)),
        py_bool(cor_task_cancelled(task)));
    cor_sleep(0.2);
    rec("shielded: cancelled %s", py_bool(cor_future_cancelled(shielded)));
    cor_task_result(task, &r);
    rec("inner task: done %s cancelled %s result %ld",
        py_bool(cor_task_done(task)), py_bool(cor_task_cancelled(task)),
        (long)r);
    cor_task *task2 = cor_spawn(simple_task, (void *)2);
    cor_future *shielded2;
    cor_shield(cor_task_future(task2), &shielded2);
    cor_yield();
    rec("cancel the inner task -> %s", py_bool(cor_task_cancel(task2)));
    int rc2 = cor_future_await(shielded2, NULL);
    if (rc2 != -ECANCELED)
        rec("awaiting shielded2 -> %d", rc2);
    else
        rec("awaiting shielded2 -> CancelledError; shielded2 cancelled %s",
            py_bool(cor_future_cancelled(shielded2)));
    cor_future_release(shielded);
    cor_future_release(shielded2);
    cor_task_release(task);
    cor_task_release(task2);
    cor_task_release(cl);
    return NULL;
}

static void rule_38(void **state)
{
    (void)state;
    assert_int_equal(h_run(main38, NULL, 1), 0);
    check_oracle("rules", "rule_38");
}

/* rule 39: wait_for(shield(x)) times out without killing x */
static void *work(void *arg)
{
    (void)arg;
    if (cor_sleep(0.3) < 0) {
        rec("work: cancelled (must not happen)");
        return cor_fail(-ECANCELED, "work");
    }
    return "work result";
}

static void *main39(void *arg)
{
    (void)arg;
    int64_t t0 = cor_now_ns();
    cor_task *x = cor_spawn(work, NULL);
    cor_future *s;
    cor_shield(cor_task_future(x), &s);
    if (cor_wait_for(s, 0.1, NULL) == -ETIMEDOUT)
        rec("TimeoutError at\u2248%.1f; x done %s cancelled %s",
            (double)(cor_now_ns() - t0) / 1e9, py_bool(cor_task_done(x)),
            py_bool(cor_task_cancelled(x)));
    void *r = NULL;
    cor_await(x, &r);
    rec("await x -> %s at\u2248%.1f", (char *)r,
        (double)(cor_now_ns() - t0) / 1e9);
    cor_future_release(s);
    cor_task_release(x);
    return NULL;
}

static void rule_39(void **state)
{
    (void)state;
    assert_int_equal(h_run(main39, NULL, 1), 0);
    check_oracle("rules", "rule_39");
}

/* rule 40: as_completed yields in completion order */
static void *coro40(void *arg)
{
    int *seq = arg; /* 3 values, max first */
    cor_sleep(seq[0] * 0.03);
    return seq;
}

static void *main40(void *arg)
{
    (void)arg;
    int64_t t0 = cor_now_ns();
    static int slow_seq[] = {10, 5, 0}, fast_seq[] = {3, 2, 1};
    cor_task *slow = cor_spawn(coro40, slow_seq);
    cor_task *fast = cor_spawn(coro40, fast_seq);
    cor_future *fs[2] = {cor_task_future(slow), cor_task_future(fast)};
    cor_as_completed *ac;
    cor_as_completed_create(&ac, fs, 2, COR_NO_TIMEOUT);
    cor_future *f;
    while (cor_as_completed_next(ac, &f) > 0) {
        void *r;
        cor_future_await(f, &r);
        int *q = r;
        rec("res: [%d, %d, %d] completed at\u2248%.1f", q[2], q[1], q[0],
            (double)(cor_now_ns() - t0) / 1e9);
    }
    cor_as_completed_destroy(ac);
    rec("both tasks done: %s",
        py_bool(cor_task_done(slow) && cor_task_done(fast)));
    cor_task_release(slow);
    cor_task_release(fast);
    return NULL;
}

static void rule_40(void **state)
{
    (void)state;
    assert_int_equal(h_run(main40, NULL, 1), 0);
    check_oracle("rules", "rule_40");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rule_32, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_33, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_34, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_35, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_36, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_37, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_38, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_39, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(rule_40, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
