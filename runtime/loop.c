/* SPDX-License-Identifier: MIT */
/*
 * loop.c - one event loop: its io_uring, the ready FIFO, timers, the inbox
 * and the iteration, written as named phases (docs/design.md uses the same
 * names):
 *
 *   update_time -> run_ready -> drain_inbox -> compute_timeout ->
 *   submit_and_wait -> reap_completions -> expire_timers
 *
 * Only the loop's thread touches the loop (invariant 1), and it is the ring's
 * only submitter (invariant 2).  Other threads post to the inbox, a lock-free
 * LIFO taken whole; the sleeping flag makes sure a busy loop is never woken
 * by a syscall.
 */
#include "internal.h"
#include "san.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

/* initial-exec: read on every suspension and io call, and the shared
 * library's default TLS model would make each read a __tls_get_addr call. */
__thread struct cor_loop *cor__tls_loop
    __attribute__((tls_model("initial-exec")));

/* Busy loops skip the kernel this many iterations at most (see phase 5). */
#define BUSY_ENTER_EVERY 32

/* ------------------------------------------------------------- set-up ---- */

static const char *refused_text(int err, char *buf, size_t len)
{
    if (err == -EPERM) {
        int v = -1;
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        if (f) {
            if (fscanf(f, "%d", &v) != 1)
                v = -1;
            fclose(f);
        }
        if (v == 2)
            snprintf(buf, len,
                     "io_uring is disabled on this system "
                     "(kernel.io_uring_disabled=2); enable it with "
                     "'sysctl kernel.io_uring_disabled=0'");
        else if (v == 1 && geteuid() != 0)
            snprintf(buf, len,
                     "io_uring is limited to root and the io_uring_group "
                     "(kernel.io_uring_disabled=1); run as root, add this "
                     "user to the group named by kernel.io_uring_group, or "
                     "'sysctl kernel.io_uring_disabled=0'");
        else
            snprintf(buf, len,
                     "io_uring_setup was refused (EPERM), most likely by a "
                     "seccomp filter (Docker's default profile blocks "
                     "io_uring): run the container with a seccomp profile "
                     "that allows io_uring_setup, io_uring_enter and "
                     "io_uring_register (e.g. --security-opt "
                     "seccomp=unconfined)");
    } else if (err == -ENOSYS) {
        snprintf(buf, len,
                 "this kernel has no io_uring (io_uring_setup: ENOSYS), or a "
                 "seccomp filter hides it; coring needs Linux 6.1 or newer "
                 "built with CONFIG_IO_URING=y");
    } else if (err == -ENOMEM) {
        struct rlimit rl = {0, 0};
        getrlimit(RLIMIT_MEMLOCK, &rl);
        snprintf(buf, len,
                 "io_uring_setup: out of memory; on kernels before 5.12 the "
                 "ring counts against the locked-memory limit (ulimit -l is "
                 "%llu KiB): raise it (ulimit -l, LimitMEMLOCK=, "
                 "--ulimit memlock=) or ask for fewer ring_entries",
                 (unsigned long long)rl.rlim_cur / 1024);
    } else {
        snprintf(buf, len, "io_uring_setup failed: %s", cor_strerror(err));
    }
    return buf;
}

/*
 * COR_RING in the environment narrows the ring's configuration, for the
 * test suite's ring-configuration matrix (docs/design.md): a comma list of
 *   nodefer  no DEFER_TASKRUN (SINGLE_ISSUER and COOP_TASKRUN only)
 *   coop     neither DEFER_TASKRUN nor SINGLE_ISSUER (COOP_TASKRUN only)
 *   basic    no setup flags at all (task work runs by signal)
 *   eventfd  other loops wake this one through its eventfd, not MSG_RING
 *   cq=N     N SQ and CQ entries (a power of two, 2..4096): a CQ small
 *            enough to overflow, the overflow list then drained by the loop
 * Unknown words are logged and ignored.
 */
struct ring_cfg {
    size_t first;  /* first entry of ring_setup's chain to try */
    unsigned cq;   /* 0: 4 x the SQ entries */
    bool eventfd;
};

static struct ring_cfg ring_cfg_from_env(void)
{
    struct ring_cfg c = {0};
    const char *env = getenv("COR_RING");
    if (!env)
        return c;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", env);
    char *save = NULL;
    for (char *w = strtok_r(buf, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        unsigned long n;
        char *end;
        if (strcmp(w, "nodefer") == 0) {
            c.first = c.first > 1 ? c.first : 1;
        } else if (strcmp(w, "coop") == 0) {
            c.first = c.first > 2 ? c.first : 2;
        } else if (strcmp(w, "basic") == 0) {
            c.first = 3;
        } else if (strcmp(w, "eventfd") == 0) {
            c.eventfd = true;
        } else if (strncmp(w, "cq=", 3) == 0 &&
                   (n = strtoul(w + 3, &end, 10)) >= 2 && n <= 4096 &&
                   *end == '\0' && (n & (n - 1)) == 0) {
            c.cq = (unsigned)n;
        } else {
            cor_log("COR_RING: ignoring '%s'", w);
        }
    }
    return c;
}

static int ring_try(struct cor_loop *l, unsigned entries, unsigned cq,
                    unsigned flags)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = cq;
    int rc = io_uring_queue_init_params(entries, &l->ring, &p);
    if (rc == 0)
        l->ring_flags = p.flags;
    return rc;
}

/*
 * The ring, with the best flags the kernel takes: SINGLE_ISSUER and
 * DEFER_TASKRUN (completions run only when we enter), then COOP_TASKRUN, then
 * none; TASKRUN_FLAG where taken (each set is tried with it, then without),
 * so that the loop sees whether completion work is already waiting when it
 * enters (receive streams choose their recv by it, io/recv_stream.c).
 * EINVAL means "not this flag set"; anything else is final.
 */
static int ring_setup(struct cor_loop *l, unsigned entries, bool no_defer)
{
    static const unsigned chain[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
            IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        0,
    };
    struct ring_cfg cfg = ring_cfg_from_env();
    if (no_defer && cfg.first < 1)
        cfg.first = 1;
    if (cfg.eventfd)
        atomic_store(&cor__wake_msgring, false);
    unsigned cq = cfg.cq ? cfg.cq : entries * 4;
    if (cfg.cq && entries > cfg.cq)
        entries = cfg.cq;
    int rc = -EINVAL;
    for (size_t i = cfg.first; i < sizeof chain / sizeof chain[0]; i++) {
        rc = ring_try(l, entries, cq, chain[i]);
        if (rc == -EINVAL && (chain[i] & IORING_SETUP_TASKRUN_FLAG))
            rc = ring_try(l, entries, cq,
                          chain[i] & ~IORING_SETUP_TASKRUN_FLAG);
        if (rc == 0)
            return 0;
        if (rc != -EINVAL)
            break;
    }
    char buf[512];
    cor_log("cannot start an event loop: %s",
            refused_text(rc, buf, sizeof buf));
    return rc;
}

static void arm_eventfd(struct cor_loop *l)
{
    struct io_uring_sqe *sqe = cor__sqe(l);
    io_uring_prep_read(sqe, l->efd, &l->efd_buf, sizeof l->efd_buf, 0);
    io_uring_sqe_set_data64(sqe, COR__UD_EVENTFD);
    l->unsubmitted++;
    l->efd_armed = true;
}

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

/* Runs on the loop's own thread: the ring is created by its only issuer. */
int cor__loop_init(struct cor_loop *l, struct cor_runtime *rt, int index)
{
    memset(l, 0, sizeof *l);
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
    rc = ring_setup(l, rt->opts.ring_entries ? rt->opts.ring_entries : 1024,
                    rt->opts.no_defer_taskrun);
    if (rc < 0)
        goto fail_stacks;
    l->ring_ok = true;
    /* The ring in this thread's registered-ring table: io_uring_enter then
     * skips the fd lookup (best effort; cor__loop_leave_thread undoes it). */
    l->ring_registered = io_uring_register_ring_fd(&l->ring) == 1;
    l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->efd < 0) {
        rc = -errno;
        goto fail_ring;
    }
    rc = cor__stack_thread_init();
    if (rc < 0)
        goto fail_efd;
    sched_stack_bounds(l);
    l->sched_tsan_fiber = tsan_current();
    l->stats.ring_flags = l->ring_flags;
    cor__debug_loop(l);
    cor__tls_loop = l;
    arm_eventfd(l);
    return 0;
fail_efd:
    close(l->efd);
fail_ring:
    io_uring_queue_exit(&l->ring);
fail_stacks:
    cor__stack_pool_fini(&l->stacks);
fail_timers:
    cor__timers_fini(&l->timers);
    return rc;
}

void cor__loop_leave_thread(struct cor_loop *l)
{
    if (l->ring_registered)
        io_uring_unregister_ring_fd(&l->ring);
    l->ring_registered = false;
}

/*
 * Free a loop that has stopped, once every loop of the runtime has stopped
 * and their inboxes are empty (cor__loop_drain): any thread may do it.  A
 * thread still inside cor__loop_post (between its push and its wakeup) is
 * waited for, so the eventfd and the ring outlive every post.
 */
void cor__loop_fini(struct cor_loop *l)
{
    while (atomic_load(&l->posting))
        sched_yield();
    cor__future_free_all(l);
    cor__task_free_all(l);
    if (l->ring_ok)
        io_uring_queue_exit(&l->ring);
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

/*
 * SQEs and CQEs are not counted one by one: the ring counts them already,
 * in 32 bits (the SQ tail counts every SQE taken, the CQ head every CQE
 * consumed).  fold_ring_counts adds what they moved to the 64-bit totals;
 * it runs when a snapshot is taken and every FOLD_EVERY iterations, long
 * before either can wrap (an iteration reaps at most the CQ's 2^17 entries,
 * and takes as many SQEs at most).
 */
#define FOLD_EVERY 8192

static void fold_ring_counts(struct cor_loop *l)
{
    unsigned sq = l->ring.sq.sqe_tail, cq = *l->ring.cq.khead;
    l->stats.sqes += sq - l->sqe_seen;
    l->stats.cqes += cq - l->cqe_seen;
    l->sqe_seen = sq;
    l->cqe_seen = cq;
}

/* One io_uring_enter: a plain increment. */
static inline void count_enter(struct cor_loop *l)
{
    (void)l;
    COR__STAT(l->stats.enters++);
}

void cor__loop_push_ready(struct cor_loop *l, struct cor__soon *s)
{
    cor__fifo_push(&l->ready, s);
}

struct io_uring_sqe *cor__sqe(struct cor_loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (cor__unlikely(!sqe)) {
        io_uring_submit(&l->ring);
        l->unsubmitted = 0;
        count_enter(l);
        sqe = io_uring_get_sqe(&l->ring);
        if (!sqe)
            cor__panic("io_uring: no SQE free after a submit");
    }
    return sqe;
}

_Atomic bool cor__wake_msgring = true;

static void wake_eventfd(struct cor_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->efd, &one, sizeof one);
    (void)r; /* EAGAIN: the counter is already non-zero, it will wake */
}

/*
 * Wake sleeping loop l.  From another loop: one IORING_OP_MSG_RING on the
 * poster's own ring (its only submitter, invariant 2), which puts a CQE in
 * l's ring.  Its user_data on our side tags the target so that a failed
 * send (no CQE is posted on success) falls back to the eventfd.
 */
static void wake(struct cor_loop *l)
{
    struct cor_loop *self = cor__tls_loop;
    if (!self || !self->ring_ok ||
        !atomic_load_explicit(&cor__wake_msgring, memory_order_relaxed)) {
        wake_eventfd(l);
        return;
    }
    struct io_uring_sqe *sqe = cor__sqe(self);
    io_uring_prep_msg_ring(sqe, l->ring.ring_fd, 0, COR__UD_MSGRING, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)l | COR__UD_MSGRING);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_submit(&self->ring);
    self->unsubmitted = 0;
    count_enter(self);
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
        wake(l);
    atomic_fetch_sub_explicit(&l->posting, 1, memory_order_release);
}

/* ------------------------------------------------------------- ops ------- */

static void op_cancel(struct cor__wait *w, int reason)
{
    struct cor__op *op = cor__container_of(w, struct cor__op, wait);
    struct cor_loop *l = op->task->fut.loop;
    op->cancelling = true;
    op->cancel_reason = reason;
    struct io_uring_sqe *sqe = cor__sqe(l);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, COR__UD_IGNORE);
    l->unsubmitted++;
}

bool cor__wait_is_op(const struct cor__wait *w)
{
    return w && w->cancel == op_cancel;
}

void cor__op_init(struct cor__op *op)
{
    memset(op, 0, sizeof *op);
    op->wait.cancel = op_cancel;
}

void cor__op_submit(struct cor_loop *l, struct cor__op *op,
                    struct io_uring_sqe *sqe)
{
    io_uring_sqe_set_data(sqe, op);
    l->nops++;
    l->unsubmitted++;
}

int cor__op_wait(struct cor__op *op, struct io_uring_sqe *sqe)
{
    struct cor_task *t = cor__need_task("an io operation");
    struct cor_loop *l = t->fut.loop;
    int rc = cor__pending_interrupt(t);
    if (rc) {
        /* Cancelled before it started: the SQE must not do anything. */
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data64(sqe, COR__UD_IGNORE);
        l->unsubmitted++;
        return rc;
    }
    op->task = t;
    cor__op_submit(l, op, sqe);
    cor__park_on(&op->wait, "io", op);
    /* Parked until the op's own CQE (invariant 3), whatever interrupted. */
    if (op->res == -ECANCELED && op->cancelling)
        return op->cancel_reason;
    return op->res;
}

static void dispatch(struct cor_loop *l, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    if (ud == COR__UD_EVENTFD) {
        l->efd_armed = false;
        arm_eventfd(l);
        return;
    }
    if ((ud & 7) == COR__UD_MSGRING && ud != COR__UD_MSGRING) {
        /* Our MSG_RING wakeup of another loop failed: use its eventfd. */
        wake_eventfd((struct cor_loop *)(uintptr_t)(ud & ~(uint64_t)7));
        return;
    }
    if (ud & 7)
        return; /* a MSG_RING wakeup, COR__UD_IGNORE and other tags */
    struct cor__op *op = (struct cor__op *)(uintptr_t)ud;
    if (!(cqe->flags & IORING_CQE_F_MORE))
        l->nops--;
    if (op->complete) {
        op->complete(op, cqe);
        return;
    }
    op->res = cqe->res;
    op->flags = cqe->flags;
    op->done = true;
    cor__wake(op->task, 0);
}

/* --------------------------------------------------------- the phases ---- */

/* Loop time is only read by the timers: without any, skip the clock. */
static void update_time(struct cor_loop *l)
{
    if (l->timers.n)
        l->now = cor_now_ns();
}

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
    return d > 0 ? d : 0;
}

/*
 * The iteration's one io_uring_enter.  A loop with ready work does not wait;
 * when it also has nothing to submit it skips the kernel altogether, except
 * every BUSY_ENTER_EVERY iterations so that completions are reaped while
 * tasks keep yielding.  Before blocking it raises the sleeping flag, and
 * looks at the inbox once more (the other half of cor__loop_post's order).
 */
static void submit_and_wait(struct cor_loop *l, int64_t timeout)
{
    /* Work the kernel queued for us while we ran tasks (data arrived on an
     * armed recv, say): this enter will not sleep for it. */
    l->enter_hot = IO_URING_READ_ONCE(*l->ring.sq.kflags) & IORING_SQ_TASKRUN;
    if (timeout == 0) {
        if (!l->unsubmitted &&
            (l->nops == 0 || ++l->since_enter < BUSY_ENTER_EVERY))
            return;
        io_uring_submit_and_get_events(&l->ring);
    } else {
        atomic_store(&l->sleeping, 1);
        if (atomic_load(&l->inbox)) {
            atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
            io_uring_submit_and_get_events(&l->ring);
        } else {
            struct io_uring_cqe *cqe;
            struct __kernel_timespec ts = {.tv_sec = timeout / 1000000000,
                                           .tv_nsec = timeout % 1000000000};
            io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1,
                                             timeout > 0 ? &ts : NULL, NULL);
            atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
        }
    }
    count_enter(l);
    l->unsubmitted = 0;
    l->since_enter = 0;
}

static void reap_completions(struct cor_loop *l)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&l->ring, head, cqe)
    {
        dispatch(l, cqe);
        n++;
    }
    if (n)
        io_uring_cq_advance(&l->ring, n); /* counted by fold_ring_counts */
}

static void expire_timers(struct cor_loop *l)
{
    if (cor__timers_next(&l->timers) == INT64_MAX)
        return;
    /* A fresh clock: timers never fire before their deadline. */
    l->now = cor_now_ns();
    cor__timers_expire(&l->timers, l->now);
}

static void run_once(struct cor_loop *l)
{
    update_time(l);
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
        COR__STAT(fold_ring_counts(l));
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
    fold_ring_counts(l);
    *st = l->stats;
    st->cq_overflows = l->ring.cq.koverflow ? *l->ring.cq.koverflow : 0;
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
