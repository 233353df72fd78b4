/* SPDX-License-Identifier: MIT */
/*
 * loop.c - one event loop: its backend (backend.h: io_uring, uring.c), the
 * ready FIFO, timers, the inbox and the iteration, written as named phases
 * (docs/design.md uses the same names):
 *
 *   run_ready -> drain_inbox -> compute_timeout -> submit_and_wait ->
 *   reap_completions -> expire_timers
 *
 * Only the loop's thread touches the loop (invariant 1), and it is its
 * kernel queue's only submitter (invariant 2).  Other threads post to the inbox, a lock-free
 * LIFO taken whole; the sleeping flag makes sure a busy loop is never woken
 * by a syscall.
 */
#include "internal.h"
#include "san.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* initial-exec: read on every suspension and io call, and the shared
 * library's default TLS model would make each read a __tls_get_addr call. */
__thread struct cor_loop *cor__tls_loop
    __attribute__((tls_model("initial-exec")));

/* Busy loops skip the kernel this many iterations at most (see phase 5). */
#define BUSY_ENTER_EVERY 32

/* ------------------------------------------------------------- set-up ---- */

static void sched_stack_bounds(struct cor_loop *l)
{
    pthread_attr_t a;
    void *lo = NULL;
    size_t sz = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstack(&a, &lo, &sz);
        pthread_attr_destroy(&a);
    }
    l->sched_stack_lo = lo;
    l->sched_stack_size = sz;
}

/*
 * CLOCK_MONOTONIC_COARSE is the monotonic clock as of the last tick, read
 * without the cycle counter: it is never ahead of CLOCK_MONOTONIC and lags
 * it by about a tick.  A loop whose earliest timer is further away than
 * that (an idle timeout, a keep-alive) learns that nothing is due without
 * reading the precise clock on every iteration.
 */
static int64_t coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t coarse_slack_ns(void)
{
    struct timespec res;
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0)
        return INT64_MAX; /* no coarse clock: always read the precise one */
    /* Two ticks: the tick that updates it may itself come late. */
    return 2 * ((int64_t)res.tv_sec * 1000000000 + res.tv_nsec);
}

/* Runs on the loop's own thread: the backend's kernel side is created by
 * its only issuer. */
int cor__loop_init(struct cor_loop *l, struct cor_runtime *rt, int index)
{
    memset(l, 0, sizeof *l);
    l->coarse_slack = coarse_slack_ns();
    l->rt = rt;
    l->index = index;
    l->thread = pthread_self();
    l->efd = -1;
    cor__fifo_init(&l->ready);
    cor__list_init(&l->tasks);
    cor__list_init(&l->done_tasks);
    cor__list_init(&l->futures);
    atomic_init(&l->inbox, NULL);
    atomic_init(&l->sleeping, 0);
    int rc = cor__timers_init(&l->timers);
    if (rc < 0)
        return rc;
    rc = cor__stack_pool_init(&l->stacks, rt->stack_size,
                              rt->opts.guard_mprotect,
                              rt->opts.guard_budget);
    if (rc < 0)
        goto fail_timers;
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->efd = l->efd < 0 ? -errno : cor__fd_above_stdio(l->efd);
    if (l->efd < 0) {
        rc = l->efd;
        goto fail_stacks;
    }
    rc = cor__stack_thread_init();
    if (rc < 0)
        goto fail_efd;
    /* Loop 0 chooses the backend of an automatic runtime: io_uring, or
     * epoll when io_uring is refused (uring.c logs which and why). */
    l->be = rt->be ? rt->be : &cor__backend_uring;
    rc = l->be->init(l);
    if (rc < 0 && !rt->be &&
        (rc == -ENOSYS || rc == -EPERM || rc == -ENOMEM)) {
        l->be = &cor__backend_epoll;
        rc = l->be->init(l);
    }
    if (rc < 0)
        goto fail_efd;
    rt->be = l->be;
    sched_stack_bounds(l);
    l->sched_tsan_fiber = tsan_current();
    cor__debug_loop(l);
    cor__tls_loop = l;
    return 0;
fail_efd:
    close(l->efd);
fail_stacks:
    cor__stack_pool_fini(&l->stacks);
fail_timers:
    cor__timers_fini(&l->timers);
    return rc;
}

int cor__fd_above_stdio(int fd)
{
    if (fd < 0 || fd > STDERR_FILENO)
        return fd;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int rc = copy < 0 ? -errno : copy;
    close(fd);
    return rc;
}

void cor__loop_leave_thread(struct cor_loop *l)
{
    if (l->bstate)
        l->be->leave_thread(l);
}

/*
 * Free a loop that has stopped, once every loop of the runtime has stopped
 * and their inboxes are empty (cor__loop_drain): any thread may do it.  A
 * thread still inside cor__loop_post (between its push and its wakeup) is
 * waited for, so the eventfd and the backend outlive every post.
 */
void cor__loop_fini(struct cor_loop *l)
{
    while (atomic_load(&l->posting))
        sched_yield();
    cor__future_free_all(l);
    cor__task_free_all(l);
    if (l->bstate)
        l->be->fini(l);
    for (int i = 0; i < 4; i++) {
        struct cor__loop_slot *slot = l->user[i];
        if (slot && slot->fini)
            slot->fini(slot);
    }
    if (l->efd >= 0)
        close(l->efd);
    cor__stack_pool_fini(&l->stacks);
    cor__timers_fini(&l->timers);
    if (cor__tls_loop == l)
        cor__tls_loop = NULL;
}

/* ------------------------------------------------------------- helpers --- */

/* The backend's counters (SQEs, CQEs, overflows) are folded into the loop's
 * statistics every FOLD_EVERY iterations and when a snapshot is taken
 * (uring.c says why not one by one). */
#define FOLD_EVERY 8192

void cor__loop_wake_eventfd(struct cor_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->efd, &one, sizeof one);
    (void)r; /* EAGAIN: the counter is already non-zero, it will wake */
}

void cor__loop_post(struct cor_loop *l, struct cor__msg *m)
{
    /* Only another thread can still be here when l is freed. */
    bool foreign = cor__tls_loop != l;
    if (foreign)
        atomic_fetch_add_explicit(&l->posting, 1, memory_order_acquire);
    struct cor__msg *head = atomic_load_explicit(&l->inbox,
                                                 memory_order_relaxed);
    do {
        m->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &l->inbox, &head, m, memory_order_seq_cst, memory_order_relaxed));
    if (!foreign)
        return;
    /* The push above and this load, and in submit_and_wait the store of
     * the flag and the load of the inbox, are all seq_cst: in their single
     * total order either the loop sees our message before it sleeps, or we
     * see its sleeping flag.  (Atomic operations rather than fences, which
     * ThreadSanitizer cannot check.) */
    if (atomic_load(&l->sleeping) && atomic_exchange(&l->sleeping, 0))
        l->be->wake(l);
    atomic_fetch_sub_explicit(&l->posting, 1, memory_order_release);
}

/* --------------------------------------------------------- the phases ---- */

/* Loop time is only read by the timers: without any, skip the clock. */

/*
 * Run what was ready when the iteration began, not what becomes ready while
 * we run: two tasks yielding to each other must not starve IO and timers.
 */
static void run_ready(struct cor_loop *l)
{
    struct cor__soon *s = l->ready.head;
    if (!s)
        return;
    cor__fifo_init(&l->ready);
    /* A stopping loop looks at its stop condition after every batch it
     * ran (the last callbacks may have been what it waited for). */
    if (l->stopping)
        l->recheck = true;
    if (cor__unlikely(l->slow_ns)) {
        cor__debug_run_timed(l, s); /* debug mode: slow steps */
        return;
    }
    while (s) {
        struct cor__soon *next = s->next;
        s->run(s);
        s = next;
    }
}

/* Only the messages present at the exchange: a flood of posts cannot keep
 * the loop here forever. */
static void drain_inbox(struct cor_loop *l)
{
    if (atomic_load_explicit(&l->inbox, memory_order_relaxed))
        cor__loop_drain(l);
}

size_t cor__loop_drain(struct cor_loop *l)
{
    if (!atomic_load_explicit(&l->inbox, memory_order_relaxed))
        return 0;
    struct cor__msg *m =
        atomic_exchange_explicit(&l->inbox, NULL, memory_order_acquire);
    struct cor__msg *fifo = NULL;
    while (m) { /* the stack is newest first: reverse it */
        struct cor__msg *next = m->next;
        m->next = fifo;
        fifo = m;
        m = next;
    }
    size_t n = 0;
    while (fifo) {
        struct cor__msg *next = fifo->next;
        COR__STAT(l->stats.inbox_msgs++);
        fifo->fn(l, fifo);
        fifo = next;
        n++;
    }
    return n;
}

/* Nanoseconds to wait: 0 when work is ready, -1 for "until an event". */
static int64_t compute_timeout(struct cor_loop *l)
{
    if (l->ready.head || l->recheck ||
        atomic_load_explicit(&l->inbox, memory_order_relaxed)) {
        l->recheck = false;
        return 0;
    }
    int64_t next = cor__timers_next(&l->timers);
    if (next == INT64_MAX)
        return -1;
    int64_t d = next - cor_now_ns();
    if (d > 0)
        return d;
    l->timer_due = true; /* expire_timers reads the precise clock */
    return 0;
}

/*
 * The iteration's one wait for the kernel (one io_uring_enter, one
 * epoll_wait).  A loop with ready work does not wait; when it also has
 * nothing to submit it skips the kernel altogether, except every
 * BUSY_ENTER_EVERY iterations so that completions are reaped while tasks
 * keep yielding.  Before blocking it raises the sleeping flag, and looks at
 * the inbox once more (the other half of cor__loop_post's order).
 */
static void submit_and_wait(struct cor_loop *l, int64_t timeout)
{
    if (timeout == 0) {
        if (!l->unsubmitted &&
            (l->nops == 0 || ++l->since_enter < BUSY_ENTER_EVERY))
            return;
        l->be->wait(l, 0);
    } else {
        atomic_store(&l->sleeping, 1);
        if (atomic_load(&l->inbox)) {
            atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
            l->be->wait(l, 0);
        } else {
            l->be->wait(l, timeout);
            atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
        }
    }
    l->unsubmitted = 0;
    l->since_enter = 0;
}

static void reap_completions(struct cor_loop *l)
{
    l->be->reap(l);
}

static void expire_timers(struct cor_loop *l)
{
    int64_t next = cor__timers_next(&l->timers);
    if (next == INT64_MAX)
        return;
    /* Nothing can be due while the coarse clock is more than its slack
     * before the earliest deadline (and compute_timeout saw none pass). */
    if (!l->timer_due && l->coarse_slack < next &&
        coarse_ns() < next - l->coarse_slack)
        return;
    l->timer_due = false;
    /* A fresh clock: timers never fire before their deadline. */
    l->now = cor_now_ns();
    cor__timers_expire(&l->timers, l->now);
}

static void run_once(struct cor_loop *l)
{
    run_ready(l);
    drain_inbox(l);
    int64_t timeout = compute_timeout(l);
    submit_and_wait(l, timeout);
    reap_completions(l);
    expire_timers(l);
    /* Always counted: the stall detector's heartbeat, which its thread
     * reads (the loop came back from its poll and ran a whole iteration). */
    uint64_t it = ++l->stats.iterations;
    atomic_store_explicit(&l->beat, it, memory_order_relaxed);
    if (cor__unlikely(it % FOLD_EVERY == 0))
        COR__STAT(l->be->fold_stats(l));
}

void cor__loop_run(struct cor_loop *l, bool (*stop)(struct cor_loop *l))
{
    while (!stop(l))
        run_once(l);
}

/* -------------------------------------------------------- public bits ---- */

cor_loop *cor_loop_current(void)
{
    return cor__tls_loop;
}

const char *cor_backend_name(void)
{
    return cor__tls_loop ? cor__tls_loop->be->name : NULL;
}

int cor_loop_index(void)
{
    return cor__tls_loop ? cor__tls_loop->index : -1;
}

int cor_loop_count(void)
{
    return cor__tls_loop ? cor__tls_loop->rt->nloops : 0;
}

struct soon_cb {
    struct cor__soon soon;
    void (*fn)(void *);
    void *arg;
};

static void soon_cb_run(struct cor__soon *s)
{
    struct soon_cb *c = cor__container_of(s, struct soon_cb, soon);
    c->fn(c->arg);
    free(c);
}

const void *cor__soon_fn(struct cor__soon *s)
{
    if (s->run == soon_cb_run)
        return (const void *)(uintptr_t)cor__container_of(s, struct soon_cb,
                                                          soon)->fn;
    return (const void *)(uintptr_t)s->run;
}

int cor_call_soon(void (*fn)(void *arg), void *arg)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l)
        return -EPERM;
    if (!fn)
        return -EINVAL;
    struct soon_cb *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    c->soon.run = soon_cb_run;
    c->fn = fn;
    c->arg = arg;
    cor__loop_push_ready(l, &c->soon);
    return 0;
}

void cor__loop_stats(struct cor_loop *l, cor_loop_stats *st)
{
    l->be->fold_stats(l);
    *st = l->stats;
    st->ready = 0;
    for (struct cor__soon *s = l->ready.head; s; s = s->next)
        st->ready++;
    st->timers = l->timers.n;
    st->ops = l->nops;
    st->loop = l->index;
    st->tasks = l->ntasks;
    st->stacks_guarded = l->stacks.nguarded;
    st->stacks_canary = l->stacks.ncanary;
}

int cor_loop_stats_get(cor_loop_stats *st)
{
    struct cor_loop *l = cor__tls_loop;
    if (!st)
        return -EINVAL;
    if (!l)
        return -EPERM;
    if (!st)
        return -EINVAL;
    cor__loop_stats(l, st);
    return 0;
}
