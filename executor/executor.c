/* SPDX-License-Identifier: MIT */
/*
 * executor.c - the blocking pool shared by every loop and plain thread.
 *
 * Each loop has a port: its own FIFO of submitted jobs under its own lock,
 * and a lock-free stack of finished jobs that goes back to the loop in
 * batches.  Plain threads share one more port.  Workers take jobs from
 * every port in turn (one job a lock acquisition, so a slow job holds back
 * no other), start lazily up to a maximum, sleep parked one by one and
 * retire after a keep-alive.  The pool mutex P.mu is left for what is rare:
 * waking or starting a worker, a full queue, a worker going to sleep,
 * draining; a job that finds a worker awake takes no pool lock at all.
 *
 * Invariants: a job's state changes only under its port's lock (QUEUED ->
 * RUNNING, or QUEUED -> REMOVED by a cancel), so a cancel and a
 * worker can never both own it.  A to_thread job lives on the awaiting
 * task's stack; the task returns only after the job was removed or after
 * its loop took it from the port's finished stack, so no worker touches a
 * dead stack.  The bound counts every queued job of every port (nqueued);
 * a full queue parks the submitting task (its loop keeps running), and
 * each freed slot is reserved for the first parked submitter.  A worker
 * never goes to sleep while a queued job is unclaimed (see struct port).
 */
#include "internal.h"

#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

/* A to_thread job of a task ends RUNNING: its port says it is done. */
enum { J_QUEUED, J_RUNNING, J_REMOVED };

struct port;

struct job {
    struct cor__list link; /* in its port's queue */
    struct job *next;      /* in its port's incoming or finished stack */
    struct port *port;     /* where it was submitted */
    bool ran;              /* fn ran (set before it goes back) */
    cor_fn *fn;
    void *arg;
    void *result;
    const cor_error *err;
    int state;             /* under port->mu */
    bool done;             /* a plain thread's: under P.mu */
    /* to_thread from a task: */
    struct cor_task *t;
    struct cor__wait park;
    bool interrupted;      /* the task's loop only */
    int reason;
    /* cor_executor_submit: the future to resolve (heap job) */
    cor_future *fut;
    cor_job_cleanup *cleanup;
    void *cleanup_ud;
};

/*
 * A port: a loop's (in its COR__SLOT_EXECUTOR slot), or the plain threads'
 * (P.plain, loop NULL).  Ports are never freed: a loop's goes to a free
 * list when its loop is freed (after the executor was drained, so nothing
 * of the loop is in it) and serves the next loop, so workers walk the list
 * of ports without a lock.
 */
/* What one side writes on every job starts a cache line of its own, so
 * that the other side reads it without also fighting for its neighbours. */
#define LINE _Alignas(64)

struct port {
    struct cor__loop_slot slot;
    struct cor_loop *loop;
    struct cor__msg msg;
    struct port *_Atomic next;  /* all ports; set once */
    struct port *free_next;     /* under P.mu */
    /* The workers' side. */
    LINE pthread_mutex_t mu;
    struct cor__list queue;     /* under mu */
    uint64_t locks, lock_waits; /* under mu */
    uint64_t cancelled;         /* under mu */
    LINE _Atomic(struct job *) done; /* finished, newest first */
    /* The submitters' side.  incoming: submitted, not yet in queue,
     * newest first: pushed without the lock, moved to queue (in order)
     * under it when queue runs dry, and before a cancel looks for its
     * job. */
    LINE _Atomic(struct job *) incoming;
    /* Queued jobs no worker has claimed yet.  A worker claims one (takes
     * n down by one) before it takes the lock to pop, so that a job draws
     * one worker to the lock, not every worker that watches.  The queue
     * holds at least n jobs, and at most n plus the pending claims. */
    _Atomic size_t n;
};

struct worker {
    pthread_t th;
    struct cor__list link;   /* in P.workers */
    struct cor__list park;   /* in P.parked while it sleeps */
    pthread_cond_t cv;       /* it sleeps on its own */
    bool woken;              /* under P.mu: taken off P.parked to work */
    /* Written by its thread only: */
    LINE _Atomic bool running; /* a job; set before it leaves its queue */
    _Atomic uint64_t completed, skipped, posts;
    struct port *cursor;     /* the port to look at first */
};

/* A task waiting for room in the queue. */
struct room_wait {
    struct cor__list link;
    struct cor__msg msg;
    struct cor__wait park;
    struct cor_task *t;
    bool granted;          /* under P.mu: a slot is reserved for it */
    bool interrupted;      /* the task's loop only */
    int reason;
};

static struct {
    pthread_once_t once;
    pthread_mutex_t mu;
    pthread_cond_t room_cv;   /* plain threads wait for room */
    pthread_cond_t done_cv;   /* plain threads wait for their job */
    pthread_cond_t idle_cv;   /* drains wait for the jobs to end */
    struct cor__list room_waiters, workers;
    /* Sleeping workers, the last to sleep last in the list: it is woken
     * first, and the ones that slept longest retire. */
    struct cor__list parked;
    struct port plain;
    struct port *_Atomic ports; /* every port, newest first */
    struct port *free_ports;
    /* Read without P.mu (written under it, but nqueued). */
    /* Slots taken: jobs in every port's queue, and slots granted to
     * parked submitters that have not queued their job yet.  Only ever
     * raised by a compare-and-swap below the bound.  Written on every
     * job. */
    LINE _Atomic size_t nqueued;
    /* Read on every job, written seldom. */
    LINE _Atomic size_t cap;  /* o.queue_cap */
    _Atomic unsigned max_threads; /* o.max_threads */
    _Atomic unsigned nfailing; /* jobs being failed by fail_queued() */
    _Atomic unsigned nwaiting; /* submitters waiting for room */
    _Atomic unsigned nthreads;
    /* Workers running a job that runs cor_run() (a runtime of its own):
     * they do not count against max_threads while it runs, so that its
     * tasks' jobs find a worker. */
    _Atomic unsigned nlent;
    _Atomic unsigned ndraining; /* threads waiting in a drain */
    /* Written when workers start or stop watching or sleeping. */
    LINE _Atomic unsigned nidle, nspinning, nwaking; /* workers asleep,
                                                  watching, woken and not
                                                  back yet */
    LINE unsigned nroom_threads;
    struct worker *retired;   /* exited, not joined yet */
    uint64_t retired_completed, retired_skipped, retired_posts;
    cor_executor_opts o;
    bool quit;
    cor_executor_stats st;    /* under mu: waited, locks, wakeups, posts */
} P = {.once = PTHREAD_ONCE_INIT};

static __thread struct job *cur_job;
static __thread bool on_worker; /* this thread is a worker */
static __thread bool lent;      /* ... running a runtime in its job */

_Atomic int cor__executor_fail_starts;

#define DEF_THREADS 64
#define DEF_QUEUE 4096
#define DEF_KEEPALIVE_MS 10000

/*
 * A worker that finds no job watches the queues this long before sleeping
 * (parked, on a condition variable of its own): a task calling to_thread in
 * a loop submits its next job a few microseconds after the previous
 * completion woke its loop, and a watching worker takes it without a futex
 * wakeup (half of a round trip's cost).  It watches with sched_yield(), so
 * a thread that needs the CPU (the submitting loop itself, on a machine
 * with few cores) gets it; the price is at most this much CPU time at the
 * end of a burst.
 */
#define SPIN_NS 50000

static void port_init(struct port *p);

static void pool_init(void)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    /* Held for a few instructions: spinning a little before sleeping in
     * the kernel wins under contention. */
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&P.mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_cond_init(&P.room_cv, NULL);
    pthread_cond_init(&P.done_cv, NULL);
    pthread_cond_init(&P.idle_cv, NULL);
    cor__list_init(&P.room_waiters);
    cor__list_init(&P.workers);
    cor__list_init(&P.parked);
    port_init(&P.plain);
    atomic_store(&P.ports, &P.plain);
    P.o = (cor_executor_opts){DEF_THREADS, DEF_QUEUE, DEF_KEEPALIVE_MS};
    atomic_store(&P.cap, DEF_QUEUE);
    atomic_store(&P.max_threads, DEF_THREADS);
}

/* Every acquisition is counted, and those that found the lock held (the
 * contention that grows with cores). */
static void lock(void)
{
    pthread_once(&P.once, pool_init);
    if (pthread_mutex_trylock(&P.mu) != 0) {
        pthread_mutex_lock(&P.mu);
        P.st.lock_waits++;
    }
    P.st.locks++;
}

static void unlock(void)
{
    pthread_mutex_unlock(&P.mu);
}

static void port_lock(struct port *p)
{
    if (pthread_mutex_trylock(&p->mu) != 0) {
        pthread_mutex_lock(&p->mu);
        p->lock_waits++;
    }
    p->locks++;
}

static void port_unlock(struct port *p)
{
    pthread_mutex_unlock(&p->mu);
}

/* Under P.mu: wake the worker that slept last, if one sleeps.  Each call
 * wakes a different thread: wakeups counts real wakeups. */
static bool wake_worker(void)
{
    if (cor__list_empty(&P.parked))
        return false;
    struct worker *w = cor__container_of(P.parked.prev, struct worker, park);
    cor__list_del(&w->park);
    w->woken = true;
    P.nidle--;
    P.nwaking++;
    P.st.wakeups++;
    pthread_cond_signal(&w->cv);
    return true;
}

static void room_freed(void);

int cor_executor_configure(const cor_executor_opts *opts)
{
    cor_executor_opts o = opts ? *opts : (cor_executor_opts){0};
    if (o.max_threads > 4096 || o.queue_cap > (1u << 24))
        return -EINVAL;
    lock();
    P.o.max_threads = o.max_threads ? o.max_threads : DEF_THREADS;
    P.o.queue_cap = o.queue_cap ? o.queue_cap : DEF_QUEUE;
    P.o.keepalive_ms = o.keepalive_ms ? o.keepalive_ms : DEF_KEEPALIVE_MS;
    atomic_store(&P.cap, P.o.queue_cap);
    atomic_store(&P.max_threads, P.o.max_threads);
    /* Idle workers re-check their limits. */
    while (wake_worker())
        ;
    /* A raised bound is room for those waiting for it, now. */
    while (!cor__list_empty(&P.room_waiters) &&
           atomic_load(&P.nqueued) < atomic_load(&P.cap))
        room_freed();
    if (P.nroom_threads)
        pthread_cond_broadcast(&P.room_cv);
    unlock();
    return 0;
}

static unsigned running_jobs(void);

int cor_executor_stats_get(cor_executor_stats *st)
{
    if (!st)
        return -EINVAL;
    lock();
    *st = P.st;
    st->pool_locks = P.st.locks;
    st->threads = P.nthreads;
    st->idle = P.nidle;
    st->queued = P.nqueued;
    st->running = running_jobs();
    st->completed = P.retired_completed;
    st->cancelled = P.retired_skipped;
    st->posts += P.retired_posts;
    for (struct cor__list *e = P.workers.next; e != &P.workers; e = e->next) {
        struct worker *w = cor__container_of(e, struct worker, link);
        st->completed += atomic_load_explicit(&w->completed,
                                              memory_order_relaxed);
        st->cancelled += atomic_load_explicit(&w->skipped,
                                              memory_order_relaxed);
        st->posts += atomic_load_explicit(&w->posts, memory_order_relaxed);
    }
    for (struct port *p = atomic_load(&P.ports); p; p = atomic_load(&p->next)) {
        pthread_mutex_lock(&p->mu);
        st->locks += p->locks;
        st->lock_waits += p->lock_waits;
        st->cancelled += p->cancelled;
        pthread_mutex_unlock(&p->mu);
    }
    unlock();
    return 0;
}

/* ------------------------------------------------------------- room ---- */

/* Take a slot if one is free. */
static bool take_slot(void)
{
    size_t n = atomic_load(&P.nqueued);
    do {
        if (n >= atomic_load(&P.cap))
            return false;
    } while (!atomic_compare_exchange_weak(&P.nqueued, &n, n + 1));
    return true;
}

/* A slot was freed: take it for the first parked task, else let a blocked
 * plain thread try.  Under P.mu. */
static void room_freed(void)
{
    if (!cor__list_empty(&P.room_waiters) && take_slot()) {
        struct room_wait *w = cor__container_of(P.room_waiters.next,
                                                struct room_wait, link);
        cor__list_del(&w->link);
        P.nwaiting--;
        w->granted = true;
        P.st.posts++;
        cor__loop_post(w->t->fut.loop, &w->msg);
    } else if (P.nroom_threads) {
        pthread_cond_signal(&P.room_cv);
    }
}

/* Under P.mu: let a drain look again if the jobs may have ended. */
static void maybe_idle(void)
{
    if (!P.nqueued && running_jobs() <= P.nlent)
        pthread_cond_broadcast(&P.idle_cv);
}

/*
 * A queued job left its queue (to run, or removed): free its slot.  The
 * decrement comes before the loads of nwaiting and ndraining, as a waiter's
 * raise of them comes before its look at nqueued (all seq_cst), so a
 * waiter either sees the slot or is told.
 */
static void slot_freed(void)
{
    atomic_fetch_sub(&P.nqueued, 1);
    if (atomic_load(&P.nwaiting) || atomic_load(&P.ndraining)) {
        lock();
        room_freed();
        maybe_idle();
        unlock();
    }
}

static void room_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct room_wait *w = cor__container_of(m, struct room_wait, msg);
    cor__wake(w->t, w->interrupted ? w->reason : 0);
}

static void room_cancel(struct cor__wait *p, int reason)
{
    struct room_wait *w = cor__container_of(p, struct room_wait, park);
    lock();
    if (!w->granted) {
        cor__list_del(&w->link);
        P.nwaiting--;
        unlock();
        cor__wake(w->t, reason);
        return;
    }
    unlock();
    /* The grant's message is on its way and must be received first. */
    w->interrupted = true;
    w->reason = reason;
}

/*
 * Take a slot in the queue (nqueued counts it from now on), or return a
 * negative code.  t == NULL: a plain thread, which blocks; a loop thread
 * that is not in a task gets -EAGAIN, since a loop must never block.
 */
static int admit(struct cor_task *t)
{
    pthread_once(&P.once, pool_init);
    /* Without P.mu while no one waits for room (a slot freed meanwhile
     * would be theirs). */
    if (!atomic_load(&P.nwaiting) && take_slot())
        return 0;
    lock();
    if (cor__list_empty(&P.room_waiters) && !P.nroom_threads &&
        take_slot()) {
        unlock();
        return 0;
    }
    P.st.waited++;
    if (!t && cor__tls_loop) {
        unlock();
        return -EAGAIN;
    }
    if (!t) {
        P.nroom_threads++;
        P.nwaiting++;
        while (!take_slot())
            pthread_cond_wait(&P.room_cv, &P.mu);
        P.nwaiting--;
        P.nroom_threads--;
        unlock();
        return 0;
    }
    struct room_wait w = {.msg.fn = room_msg,
                          .park.cancel = room_cancel,
                          .t = t};
    cor__list_push(&P.room_waiters, &w.link);
    P.nwaiting++;
    /* A slot freed before nwaiting was raised was not handed to us. */
    room_freed();
    unlock();
    int rc = cor__park(&w.park);
    /* Granted, then cancelled (or past its deadline) before it ran again:
     * that interrupt is pending, so the caller's next park would return at
     * once, leaving its job queued after the call returned.  Nothing is
     * queued: the slot goes on. */
    if (!rc)
        rc = cor__pending_interrupt(t);
    lock();
    if (w.granted && rc) { /* interrupted after all: pass the slot on */
        atomic_fetch_sub(&P.nqueued, 1);
        room_freed();
        maybe_idle();
    }
    unlock();
    return rc; /* 0: granted, the slot is ours */
}

/* ------------------------------------------------------------ ports ---- */

static void port_init(struct port *p)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&p->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    cor__list_init(&p->queue);
    atomic_init(&p->n, 0);
    p->locks = p->lock_waits = p->cancelled = 0;
    p->loop = NULL;
    atomic_init(&p->done, NULL);
    atomic_init(&p->incoming, NULL);
    atomic_init(&p->next, NULL);
    p->free_next = NULL;
}

/* The loop is being freed: its port serves the next loop. */
static void port_fini(struct cor__loop_slot *slot)
{
    struct port *p = cor__container_of(slot, struct port, slot);
    lock();
    p->loop = NULL;
    p->free_next = P.free_ports;
    P.free_ports = p;
    unlock();
}

static void finish_heap_job(struct job *j, bool ran);

/* Push j on a lock-free stack of jobs (any thread); returns the old top. */
static struct job *stack_push(_Atomic(struct job *) *top, struct job *j)
{
    struct job *head = atomic_load_explicit(top, memory_order_relaxed);
    do {
        j->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        top, &head, j, memory_order_acq_rel, memory_order_acquire));
    return head;
}

/* Take a whole stack of jobs (one taker at a time): oldest first. */
static struct job *stack_take(_Atomic(struct job *) *top)
{
    struct job *j = atomic_exchange_explicit(top, NULL, memory_order_acq_rel);
    struct job *fifo = NULL;
    while (j) { /* newest first: reverse */
        struct job *next = j->next;
        j->next = fifo;
        fifo = j;
        j = next;
    }
    return fifo;
}

/*
 * The port's message, on its loop: take every finished job at once.  Only
 * a push that finds the stack empty posts the message, and the stack stays
 * non-empty until the message runs, so the message is never in the inbox
 * twice.  Under load one post, and at most one wakeup of the loop, serve
 * many jobs.
 */
static void port_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct port *p = cor__container_of(m, struct port, msg);
    /* acq_rel: the jobs' writes are ours, and our (the inbox drain's)
     * writes of msg.next come before the next push posts it again. */
    struct job *fifo = stack_take(&p->done), *j;
    while ((j = fifo)) {
        fifo = j->next;
        if (j->fut)
            finish_heap_job(j, j->ran);
        else
            cor__wake(j->t, j->interrupted ? j->reason : 0);
    }
}

/* The calling loop's port, taken on first use; NULL: out of memory. */
static struct port *port_get(void)
{
    struct cor_loop *l = cor__tls_loop;
    struct cor__loop_slot *slot = l->user[COR__SLOT_EXECUTOR];
    if (slot)
        return cor__container_of(slot, struct port, slot);
    struct port *p;
    lock();
    if ((p = P.free_ports)) {
        P.free_ports = p->free_next;
    } else if ((p = aligned_alloc(64, sizeof *p))) {
        port_init(p);
        atomic_store(&p->next, atomic_load(&P.ports));
        atomic_store(&P.ports, p); /* published whole */
    }
    if (p) {
        p->slot.fini = port_fini;
        p->loop = l;
        p->msg.fn = port_msg;
        l->user[COR__SLOT_EXECUTOR] = &p->slot;
    }
    unlock();
    return p;
}

/* On a worker: hand j back to its loop; true if this push posted the
 * message.  Afterwards j may be gone (its loop may have finished it). */
static bool port_push(struct port *p, struct job *j)
{
    if (stack_push(&p->done, j))
        return false;
    cor__loop_post(p->loop, &p->msg);
    return true;
}

/* Queue j (its slot was taken by admit), without p's lock: the submitter
 * takes no lock at all.  n is raised after the push, so a worker that
 * claims the job finds it. */
static void push_job(struct port *p, struct job *j)
{
    j->port = p;
    j->state = J_QUEUED;
    stack_push(&p->incoming, j);
    atomic_fetch_add(&p->n, 1);
}

/* Under p->mu: move the incoming jobs to the end of the queue, in order. */
static void take_incoming(struct port *p)
{
    for (struct job *fifo = stack_take(&p->incoming); fifo;
         fifo = fifo->next)
        cor__list_push(&p->queue, &fifo->link);
}

/* Claim one of p's queued jobs; false if none is left unclaimed. */
static bool claim(struct port *p)
{
    size_t k = atomic_load(&p->n);
    while (k && !atomic_compare_exchange_weak(&p->n, &k, k - 1))
        ;
    return k != 0;
}

/* Under p->mu: the first queued job, now RUNNING, or NULL.  claimed: the
 * caller claimed it before; otherwise a claim is taken now if one is left
 * (a job taken without one leaves a pending claimer an empty queue). */
static struct job *pop_job(struct port *p, bool claimed)
{
    if (cor__list_empty(&p->queue))
        take_incoming(p);
    if (cor__list_empty(&p->queue))
        return NULL;
    if (!claimed)
        claim(p);
    struct job *j = cor__container_of(p->queue.next, struct job, link);
    cor__list_del(&j->link);
    j->state = J_RUNNING;
    return j;
}

/* Whether a port has a job that no worker has claimed. */
static bool any_claimable(void)
{
    for (struct port *p = atomic_load(&P.ports); p; p = atomic_load(&p->next))
        if (atomic_load(&p->n))
            return true;
    return false;
}

/* ---------------------------------------------------------- workers ---- */

static void *worker_main(void *p);

static struct worker *worker_new(void)
{
    struct worker *w = aligned_alloc(64, sizeof *w);
    if (!w)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* keep-alive */
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    cor__list_init(&w->park);
    w->woken = false;
    atomic_init(&w->running, false);
    atomic_init(&w->completed, 0);
    atomic_init(&w->skipped, 0);
    atomic_init(&w->posts, 0);
    w->cursor = NULL;
    return w;
}

static void worker_free(struct worker *w)
{
    pthread_cond_destroy(&w->cv);
    free(w);
}

/* Under P.mu: jobs running now (each worker says whether it runs one), and
 * those fail_queued() is ending. */
static unsigned running_jobs(void)
{
    unsigned n = atomic_load(&P.nfailing);
    for (struct cor__list *e = P.workers.next; e != &P.workers; e = e->next)
        n += atomic_load(&cor__container_of(e, struct worker, link)->running);
    return n;
}

/* Workers that may run jobs now (max_threads does not count lent ones). */
static bool below_max(void)
{
    return atomic_load(&P.nthreads) - atomic_load(&P.nlent) <
           atomic_load(&P.max_threads);
}

/*
 * Under P.mu, after jobs were queued: wake sleeping workers for the jobs
 * that no watching or woken worker will take, and make up to max new
 * workers for the rest (to start after unlocking).  Returns how many were
 * made.
 */
static size_t want_workers(struct worker **out, size_t max)
{
    size_t coming = (size_t)P.nspinning + P.nwaking;
    size_t need = P.nqueued > coming ? P.nqueued - coming : 0;
    while (need && wake_worker())
        need--;
    size_t k = 0;
    while (k < need && k < max && below_max()) {
        struct worker *w = worker_new();
        if (!w)
            break; /* the workers there are will get to it */
        P.nthreads++;
        cor__list_push(&P.workers, &w->link);
        out[k++] = w;
    }
    return k;
}

static struct worker *want_worker(void)
{
    struct worker *w = NULL;
    want_workers(&w, 1);
    return w;
}

static void start_worker(struct worker *w);

/*
 * After a job was queued: if no worker that is awake will take it, wake or
 * start one.  A loop submitting to busy workers at their maximum takes no
 * pool lock.  (A worker going to sleep raises nidle, and a worker
 * retiring lowers nthreads, and then looks at the ports' unclaimed counts;
 * we raised one and then look at nidle and nthreads: one of us sees the
 * other.)
 */
static void kick(void)
{
    size_t coming = (size_t)atomic_load(&P.nspinning) +
                    atomic_load(&P.nwaking);
    if (atomic_load(&P.nqueued) <= coming)
        return;
    if (!atomic_load(&P.nidle) && !below_max())
        return;
    lock();
    struct worker *w = want_worker();
    unlock();
    start_worker(w);
}

struct worker;
static void job_done(struct job *j, int how, struct worker *self);
enum { RAN, SKIPPED, NOT_STARTED }; /* how a job ended */

static const cor_error *start_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const cor_error *e = cor__error_vnew(-EAGAIN, fmt, ap);
    va_end(ap);
    return e ? e : cor__error_nomem();
}

/*
 * No worker thread could be started and none is left to run the queued
 * jobs (they would wait forever): each ends with -EAGAIN, as if it had run
 * and failed.  Called and returns with P.mu held.
 */
static void fail_queued(int err)
{
    struct cor__list failed;
    cor__list_init(&failed);
    for (struct port *p = atomic_load(&P.ports); p; p = atomic_load(&p->next)) {
        port_lock(p);
        for (;;) {
            P.nfailing++; /* counted running before it leaves the queue */
            struct job *j = pop_job(p, false);
            if (!j) {
                P.nfailing--;
                break;
            }
            P.nqueued--;
            room_freed();
            cor__list_push(&failed, &j->link);
        }
        port_unlock(p);
    }
    unlock();
    while (!cor__list_empty(&failed)) {
        struct job *j = cor__container_of(failed.next, struct job, link);
        cor__list_del(&j->link);
        j->err = start_error("executor: cannot start a worker thread: %s",
                             cor_strerror(-err));
        job_done(j, NOT_STARTED, NULL);
        P.nfailing--;
    }
    lock();
    maybe_idle();
}

static void start_worker(struct worker *w)
{
    if (!w)
        return;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    int rc;
    int fail = atomic_load(&cor__executor_fail_starts);
    if (fail > 0 && atomic_compare_exchange_strong(
                        &cor__executor_fail_starts, &fail, fail - 1))
        rc = EAGAIN;
    else
        rc = pthread_create(&w->th, &a, worker_main, w);
    pthread_attr_destroy(&a);
    if (rc == 0)
        return;
    lock();
    cor__list_del(&w->link);
    P.nthreads--;
    /* While a worker is left, it will get to the queued jobs. */
    if (P.nthreads == P.nlent)
        fail_queued(-rc);
    unlock();
    worker_free(w);
}

static void run_job(struct job *j)
{
    cur_job = j;
    j->result = j->fn(j->arg);
    cur_job = NULL;
}

/*
 * A cor_executor_submit job and its future in one allocation.  The future
 * comes first, so the free() that ends the future (on whichever thread drops
 * the last reference, most often the home loop, which also allocated it)
 * ends the job with it.
 */
struct heap_job {
    struct cor_future fut;
    struct job j;
};

/* A heap job's end, on its loop: resolve its future; a result no one can
 * take any more (the future was cancelled) goes to the cleanup callback.
 * The job's reference is dropped last: until then the job is alive. */
static void finish_heap_job(struct job *j, bool ran)
{
    int rc = j->err ? cor_future_set_error_obj(j->fut, j->err)
                    : cor_future_set_result(j->fut, j->result);
    if (rc < 0 && ran && !j->err && j->cleanup)
        j->cleanup(j->result, j->cleanup_ud);
    cor_error_release(j->err);
    cor_future_release(j->fut);
}

/* j (taken from its queue) has ended: hand its outcome to whoever waits
 * for it; a loop's job goes back through its port, without a lock (which
 * the loop it wakes would take at once to submit its next job). */
static void job_done(struct job *j, int how, struct worker *self)
{
    if (j->fut || j->t) {
        /* A cancel finds a to_thread job RUNNING and waits for the port.
         * After the push the job's memory may be gone. */
        struct port *p = j->port;
        j->ran = how == RAN;
        if (!port_push(p, j))
            return;
        if (self) {
            atomic_fetch_add_explicit(&self->posts, 1, memory_order_relaxed);
        } else {
            lock();
            P.st.posts++;
            unlock();
        }
    } else {
        lock();
        j->done = true;
        pthread_cond_broadcast(&P.done_cv);
        unlock();
    }
}

/*
 * Take the first job of the first port that has one, starting at the
 * worker's cursor (the port after the last one it served: loops are served
 * in turn).  running is raised before the job leaves its queue, so a drain
 * that sees the queue empty sees the job running.
 */
static struct job *find_job(struct worker *self)
{
    struct port *head = atomic_load(&P.ports);
    struct port *start = self->cursor ? self->cursor : head;
    for (int pass = 0; pass < 2; pass++) {
        struct port *from = pass ? head : start;
        struct port *to = pass ? start : NULL;
        for (struct port *p = from; p != to; p = atomic_load(&p->next)) {
            if (!atomic_load_explicit(&p->n, memory_order_relaxed))
                continue;
            atomic_store(&self->running, true);
            if (!claim(p)) {
                atomic_store(&self->running, false);
                continue;
            }
            port_lock(p);
            struct job *j = pop_job(p, true);
            port_unlock(p);
            if (j) {
                struct port *next = atomic_load(&p->next);
                self->cursor = next ? next : head;
                return j;
            }
            atomic_store(&self->running, false);
        }
    }
    return NULL;
}

/* Outside P.mu: watch the queues for up to SPIN_NS.  Whatever it sees, the
 * caller looks again. */
static void spin_for_work(void)
{
    int64_t end = cor_now_ns() + SPIN_NS;
    while (!any_claimable() && cor_now_ns() < end)
        sched_yield();
}

/* Under P.mu: sleep until woken or the keep-alive ends; false: retire. */
static bool park(struct worker *self)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += P.o.keepalive_ms / 1000;
    ts.tv_nsec += (long)(P.o.keepalive_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    cor__list_push(&P.parked, &self->park);
    self->woken = false;
    P.nidle++;
    if (any_claimable()) { /* see kick() */
        cor__list_del(&self->park);
        P.nidle--;
        return true;
    }
    int rc = 0;
    while (!self->woken && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&self->cv, &P.mu, &ts);
    if (self->woken) {
        P.nwaking--;
        return true;
    }
    cor__list_del(&self->park);
    P.nidle--;
    return any_claimable();
}

static void *worker_main(void *p)
{
    struct worker *self = p;
    on_worker = true;
    bool spun = false; /* since the last job */
    for (;;) {
        struct job *j = find_job(self);
        if (j) {
            spun = false;
            slot_freed();
            /* A submitted job whose future was cancelled while queued
             * never runs. */
            bool skip = j->fut && cor_future_done(j->fut);
            if (!skip)
                run_job(j);
            job_done(j, skip ? SKIPPED : RAN, self);
            atomic_fetch_add_explicit(skip ? &self->skipped
                                           : &self->completed,
                                      1, memory_order_relaxed);
            atomic_store(&self->running, false);
            if (atomic_load(&P.ndraining)) {
                lock();
                maybe_idle();
                unlock();
            }
            continue;
        }
        if (!spun) {
            spun = true;
            P.nspinning++;
            spin_for_work();
            P.nspinning--;
            continue;
        }
        lock();
        if (P.quit || P.nthreads - P.nlent > P.o.max_threads ||
            !park(self)) {
            P.nthreads--;
            /* A job queued as we left, by a submitter that saw us
             * neither asleep nor gone (see kick()): lowering nthreads
             * before looking at the ports closes the gap. */
            if (P.quit || !any_claimable() || !below_max())
                break;
            P.nthreads++;
        }
        unlock();
    }
    /* Retire (P.mu held).  Each retiring worker joins the one that retired
     * before it, so at most one exited thread waits to be joined (by the
     * next one or shutdown). */
    P.retired_completed += atomic_load(&self->completed);
    P.retired_skipped += atomic_load(&self->skipped);
    P.retired_posts += atomic_load(&self->posts);
    cor__list_del(&self->link);
    struct worker *join = P.retired;
    P.retired = self;
    pthread_cond_broadcast(&P.idle_cv);
    unlock();
    if (join) {
        pthread_join(join->th, NULL);
        worker_free(join);
    }
    return NULL;
}

/*
 * A worker whose job runs cor_run(): from its runtime's first use of the
 * executor until that runtime has drained, the worker is lent out and does
 * not count against max_threads (its tasks' jobs start other workers, even
 * with max_threads 1).
 */
static void lend(void)
{
    if (!on_worker || lent)
        return;
    lent = true;
    lock();
    P.nlent++;
    struct worker *w = want_worker(); /* a queued job may need one now */
    unlock();
    start_worker(w);
}

/* Under P.mu: wait until no job is queued and at most `others` run. */
static void wait_jobs(unsigned others)
{
    P.ndraining++;
    while (P.nqueued || running_jobs() > others)
        pthread_cond_wait(&P.idle_cv, &P.mu);
    P.ndraining--;
}

/* The end of cor_run() in a job: its jobs are done once no job is queued
 * and every one running is a lent worker's (the caller's own among them);
 * the pool itself goes on. */
static void drain_lent(void)
{
    lend();
    lock();
    wait_jobs(P.nlent);
    P.nlent--;
    lent = false;
    unlock();
}

void cor_executor_shutdown(void)
{
    if (on_worker) { /* it could never see its own job end */
        drain_lent();
        return;
    }
    lock();
    wait_jobs(0);
    P.quit = true;
    while (wake_worker())
        ;
    while (P.nthreads)
        pthread_cond_wait(&P.idle_cv, &P.mu);
    struct worker *join = P.retired;
    P.retired = NULL;
    P.quit = false;
    /* Submitted meanwhile by another thread: its worker saw quit. */
    struct worker *w = want_worker();
    unlock();
    start_worker(w);
    if (join) {
        pthread_join(join->th, NULL);
        worker_free(join);
    }
}

void cor__executor_drain(void)
{
    cor_executor_shutdown();
}

/* -------------------------------------------------------- to_thread ---- */

static void job_cancel(struct cor__wait *w, int reason)
{
    struct job *j = cor__container_of(w, struct job, park);
    struct port *p = j->port;
    port_lock(p);
    take_incoming(p); /* j may be there */
    if (j->state == J_QUEUED) {
        cor__list_del(&j->link);
        claim(p); /* if all are claimed, a claimer finds one job less */
        p->cancelled++;
        j->state = J_REMOVED;
        port_unlock(p);
        slot_freed();
        cor__wake(j->t, reason);
        return;
    }
    port_unlock(p);
    /* Running (or done, on its way through the port): wait for it. */
    j->interrupted = true;
    j->reason = reason;
}

/* Queue j on p (its slot taken) and see that a worker will take it. */
static void submit(struct port *p, struct job *j)
{
    push_job(p, j);
    kick();
}

int cor_to_thread_ex(cor_fn *fn, void *arg, void **result,
                     const cor_to_thread_opts *opts)
{
    if (opts && opts->err)
        *opts->err = NULL;
    if (!fn)
        return -EINVAL;
    if (cur_job && !cor__tls_loop)
        cor__panic("cor_to_thread: called from an executor job");
    lend(); /* a runtime run by a job: see lend() */
    struct cor_task *t = cor__tls_loop ? cor__need_task("cor_to_thread")
                                       : NULL;
    int rc = t ? cor__pending_interrupt(t) : 0;
    if (rc)
        return rc;
    pthread_once(&P.once, pool_init);
    struct port *port = t ? port_get() : &P.plain;
    if (!port)
        return -ENOMEM;
    struct job j = {.fn = fn,
                    .arg = arg,
                    .t = t,
                    .park.cancel = job_cancel};
    rc = admit(t);
    if (rc)
        return rc;
    submit(port, &j);
    if (t) {
        rc = cor__park(&j.park);
    } else {
        lock();
        while (!j.done)
            pthread_cond_wait(&P.done_cv, &P.mu);
        unlock();
    }
    if (j.state == J_REMOVED)
        return rc;
    if (rc) {
        /* Cancelled while it ran: nothing may leak. */
        if (!j.err && opts && opts->cleanup)
            opts->cleanup(j.result, opts->cleanup_ud);
        cor_error_release(j.err);
        return rc;
    }
    if (j.err) {
        rc = j.err->code;
        if (opts && opts->err)
            *opts->err = j.err;
        else
            cor_error_release(j.err);
        return rc;
    }
    if (result)
        *result = j.result;
    return 0;
}

int cor_to_thread(cor_fn *fn, void *arg, void **result)
{
    return cor_to_thread_ex(fn, arg, result, NULL);
}

void *cor_job_fail(int code, const char *fmt, ...)
{
    struct job *j = cur_job;
    if (!j || cor__tls_loop) /* a task of a runtime a job runs is no job */
        cor__panic("cor_job_fail: called outside an executor job");
    va_list ap;
    va_start(ap, fmt);
    cor__error_vset(&j->err, code, fmt, ap);
    va_end(ap);
    return NULL;
}

/* ----------------------------------------------------------- submit ---- */

int cor_executor_submit(cor_fn *fn, void *arg, cor_job_cleanup *cleanup,
                        void *cleanup_ud, cor_future **out)
{
    if (!fn || !out)
        return -EINVAL;
    if (!cor__tls_loop)
        return -EPERM;
    lend();
    struct cor_task *t = cor__tls_loop->cur;
    if (t) {
        int rc = cor__pending_interrupt(t);
        if (rc)
            return rc;
    }
    pthread_once(&P.once, pool_init);
    struct port *port = port_get();
    struct heap_job *hj = port ? malloc(sizeof *hj) : NULL;
    if (!hj)
        return -ENOMEM;
    cor__future_init(&hj->fut, cor__tls_loop, false);
    struct job *j = &hj->j;
    *j = (struct job){.fn = fn,
                      .arg = arg,
                      .fut = &hj->fut,
                      .cleanup = cleanup,
                      .cleanup_ud = cleanup_ud};
    /* A full queue: wait for a slot (nothing is queued if that fails). */
    int rc = admit(t);
    if (rc) {
        cor_future_release(j->fut); /* frees hj */
        return rc;
    }
    /* One reference for the caller, one for the job; the caller's is
     * taken first, since a worker may finish the job at once. */
    *out = cor_future_ref(j->fut);
    submit(port, j);
    return 0;
}
