/* SPDX-License-Identifier: MIT */
/*
 * executor.c - the blocking pool shared by every loop and plain thread:
 * a bounded FIFO of jobs under one mutex, workers started lazily up to a
 * maximum and retired after a keep-alive, completions posted to the
 * submitting task's home loop (a plain thread is signalled instead).  While
 * every worker is busy, a loop's submissions wait in its own batch, which
 * idle workers empty into the queue (see "batch" below).
 *
 * Invariants: a job's state changes only under the pool mutex (QUEUED ->
 * RUNNING -> DONE, or QUEUED -> REMOVED by a cancel), so a cancel and a
 * worker can never both own it.  A to_thread job lives on the awaiting
 * task's stack; the task returns only after the job was removed or after
 * its completion message ran, so no worker touches a dead stack.  A full
 * queue parks the submitting task (its loop keeps running); each freed slot
 * is reserved for the first parked submitter.
 */
#include "internal.h"

#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

/* A to_thread job of a task ends RUNNING: its completion message says it
 * is done. */
enum { J_QUEUED, J_RUNNING, J_DONE, J_REMOVED };

struct port;

struct job {
    struct cor__list link; /* in the queue */
    struct job *done_next; /* in its port's done stack */
    struct port *port;     /* its loop's; NULL: a plain thread's */
    bool ran;              /* fn ran (set before it goes to its port) */
    cor_fn *fn;
    void *arg;
    void *result;
    const cor_error *err;
    int state;             /* under P.mu */
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

struct worker {
    pthread_t th;
    struct cor__list link;   /* in P.workers */
    struct cor__list park;   /* in P.parked while it sleeps */
    pthread_cond_t cv;       /* it sleeps on its own */
    bool woken;              /* under P.mu: taken off P.parked to work */
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
    pthread_cond_t idle_cv;   /* shutdown waits for the queue to drain */
    struct cor__list queue, room_waiters, workers;
    /* Sleeping workers, the last to sleep last in the list: it is woken
     * first, and the ones that slept longest retire. */
    struct cor__list parked;
    /* Written under mu; atomic so that spinning workers and submitting
     * loops may read them without the lock.  nidle: workers in parked;
     * nwaking: woken and not yet back at the queue (each takes a job). */
    _Atomic size_t nqueued;
    _Atomic unsigned nidle, nspinning, nwaking;
    /* Jobs in open batches not yet moved to the queue: raised by the
     * batch's loop without the lock, lowered under it (so it may dip below
     * zero for an instant). */
    _Atomic long nbatched;
    struct cor__list batches; /* open batches */
    size_t nrunning, nreserved;
    unsigned nthreads, nroom_threads;
    /* Workers running a job that runs cor_run() (a runtime of its own):
     * they do not count against max_threads while it runs, so that its
     * tasks' jobs find a worker. */
    unsigned nlent;
    struct worker *retired;   /* exited, not joined yet */
    cor_executor_opts o;
    bool quit;
    cor_executor_stats st;
} P = {.once = PTHREAD_ONCE_INIT};

static __thread struct job *cur_job;
static __thread bool on_worker; /* this thread is a worker */
static __thread bool lent;      /* ... running a runtime in its job */

_Atomic int cor__executor_fail_starts;

#define DEF_THREADS 64
#define DEF_QUEUE 4096
#define DEF_KEEPALIVE_MS 10000

/*
 * A worker that finds the queue empty watches it this long before sleeping
 * (parked, on a condition variable of its own): a task calling to_thread in a loop submits its
 * next job a few microseconds after the previous completion woke its loop,
 * and a watching worker takes it without a futex wakeup (half of a round
 * trip's cost).  It watches with sched_yield(), so a thread that needs the
 * CPU (the submitting loop itself, on a machine with few cores) gets it; the
 * price is at most this much CPU time at the end of a burst.
 */
#define SPIN_NS 50000

static void pool_init(void)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    /* Submitters and workers hold it for a few instructions: spinning a
     * little before sleeping in the kernel wins under contention. */
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&P.mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_cond_init(&P.room_cv, NULL);
    pthread_cond_init(&P.done_cv, NULL);
    pthread_cond_init(&P.idle_cv, NULL);
    cor__list_init(&P.queue);
    cor__list_init(&P.room_waiters);
    cor__list_init(&P.workers);
    cor__list_init(&P.parked);
    cor__list_init(&P.batches);
    P.o = (cor_executor_opts){DEF_THREADS, DEF_QUEUE, DEF_KEEPALIVE_MS};
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

static void unlock(void)
{
    pthread_mutex_unlock(&P.mu);
}

int cor_executor_configure(const cor_executor_opts *opts)
{
    cor_executor_opts o = opts ? *opts : (cor_executor_opts){0};
    if (o.max_threads > 4096 || o.queue_cap > (1u << 24))
        return -EINVAL;
    lock();
    P.o.max_threads = o.max_threads ? o.max_threads : DEF_THREADS;
    P.o.queue_cap = o.queue_cap ? o.queue_cap : DEF_QUEUE;
    P.o.keepalive_ms = o.keepalive_ms ? o.keepalive_ms : DEF_KEEPALIVE_MS;
    /* Idle workers re-check their limits. */
    while (wake_worker())
        ;
    unlock();
    return 0;
}

int cor_executor_stats_get(cor_executor_stats *st)
{
    lock();
    *st = P.st;
    st->threads = P.nthreads;
    st->idle = P.nidle;
    st->queued = P.nqueued;
    st->running = P.nrunning;
    unlock();
    return 0;
}

/* ------------------------------------------------------------- room ---- */

static bool has_room(void)
{
    return P.nqueued + P.nreserved < P.o.queue_cap;
}

/* A slot was freed: reserve it for the first parked task, else let a
 * blocked plain thread try.  Under P.mu. */
static void room_freed(void)
{
    if (!cor__list_empty(&P.room_waiters) && has_room()) {
        struct room_wait *w = cor__container_of(P.room_waiters.next,
                                                struct room_wait, link);
        cor__list_del(&w->link);
        w->granted = true;
        P.nreserved++;
        P.st.posts++;
        cor__loop_post(w->t->fut.loop, &w->msg);
    } else if (P.nroom_threads) {
        pthread_cond_signal(&P.room_cv);
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
 * Return with P.mu held and room for one job, or with a negative code (and
 * P.mu not held).  t == NULL: a plain thread, which blocks; a loop thread
 * that is not in a task gets -EAGAIN, since a loop must never block.
 */
static int wait_room(struct cor_task *t)
{
    lock();
    if (has_room() && cor__list_empty(&P.room_waiters))
        return 0;
    P.st.waited++;
    if (!t && cor__tls_loop) {
        unlock();
        return -EAGAIN;
    }
    if (!t) {
        P.nroom_threads++;
        while (!has_room())
            pthread_cond_wait(&P.room_cv, &P.mu);
        P.nroom_threads--;
        return 0;
    }
    struct room_wait w = {.msg.fn = room_msg,
                          .park.cancel = room_cancel,
                          .t = t};
    cor__list_push(&P.room_waiters, &w.link);
    unlock();
    int rc = cor__park(&w.park);
    lock();
    if (w.granted) {
        P.nreserved--;
        if (rc == 0)
            return 0;
        room_freed(); /* pass the slot on */
    }
    unlock();
    return rc;
}

/* ------------------------------------------------------------ ports ---- */

/*
 * A loop's completion port: workers push the jobs they finished for that
 * loop on a lock-free stack, and only a push that finds the stack empty
 * posts the port's message; the loop takes the whole stack when it runs the
 * message.  Under load one post, and at most one wakeup of the loop, serve
 * many jobs.  The message is never in the inbox twice: the stack stays
 * non-empty from the push that posted it until the message runs and takes
 * it (once), so every push in between finds it non-empty.
 *
 * A port lives in its loop's COR__SLOT_EXECUTOR slot and is freed with the
 * loop, after the executor was drained (cor_run), so no worker outlives it.
 */
struct port {
    struct cor__loop_slot slot;
    struct cor_loop *loop;
    _Atomic(struct job *) done; /* newest first */
    struct cor__msg msg;
};

static void port_fini(struct cor__loop_slot *slot)
{
    free(slot);
}

static void finish_heap_job(struct job *j, bool ran);

static void port_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct port *p = cor__container_of(m, struct port, msg);
    /* acq_rel: the jobs' writes are ours, and our (the inbox drain's)
     * writes of msg.next come before the next push posts it again. */
    struct job *j = atomic_exchange_explicit(&p->done, NULL,
                                             memory_order_acq_rel);
    struct job *fifo = NULL;
    while (j) { /* newest first: reverse */
        struct job *next = j->done_next;
        j->done_next = fifo;
        fifo = j;
        j = next;
    }
    while ((j = fifo)) {
        fifo = j->done_next;
        if (j->fut)
            finish_heap_job(j, j->ran);
        else
            cor__wake(j->t, j->interrupted ? j->reason : 0);
    }
}

/* The calling loop's port, made on first use; NULL: out of memory. */
static struct port *port_get(void)
{
    struct cor_loop *l = cor__tls_loop;
    struct port *p = l->user[COR__SLOT_EXECUTOR];
    if (p)
        return p;
    if (!(p = malloc(sizeof *p)))
        return NULL;
    p->slot.fini = port_fini;
    p->loop = l;
    atomic_init(&p->done, NULL);
    p->msg.fn = port_msg;
    l->user[COR__SLOT_EXECUTOR] = p;
    return p;
}

/* On a worker: hand j to its loop; true if this push posted the message.
 * Afterwards j may be gone (its loop may already have finished it). */
static bool port_push(struct port *p, struct job *j)
{
    struct job *head = atomic_load_explicit(&p->done, memory_order_relaxed);
    do {
        j->done_next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &p->done, &head, j, memory_order_acq_rel, memory_order_acquire));
    if (head)
        return false;
    cor__loop_post(p->loop, &p->msg);
    return true;
}

/* ---------------------------------------------------------- workers ---- */

static void *worker_main(void *p);

static struct worker *worker_new(void)
{
    struct worker *w = malloc(sizeof *w);
    if (!w)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* keep-alive */
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    cor__list_init(&w->park);
    w->woken = false;
    return w;
}

static void worker_free(struct worker *w)
{
    pthread_cond_destroy(&w->cv);
    free(w);
}

/*
 * Under P.mu, after jobs were queued: wake idle workers for the jobs that no
 * spinning worker will take, and make up to max new workers for the rest
 * (to start after unlocking).  Returns how many were made.
 */
static size_t want_workers(struct worker **out, size_t max)
{
    size_t coming = (size_t)P.nspinning + P.nwaking;
    size_t need = P.nqueued > coming ? P.nqueued - coming : 0;
    while (need && wake_worker())
        need--;
    size_t k = 0;
    while (k < need && k < max && P.nthreads - P.nlent < P.o.max_threads) {
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

/* Under P.mu: the first queued job, now counted running; its slot is free. */
static struct job *take_job(void)
{
    struct job *j = cor__container_of(P.queue.next, struct job, link);
    cor__list_del(&j->link);
    P.nqueued--;
    P.nrunning++;
    j->state = J_RUNNING;
    room_freed();
    return j;
}

static bool steal_batches(void);
static void job_done(struct job *j, int how);
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
    steal_batches();
    while (!cor__list_empty(&P.queue))
        cor__list_push(&failed, &take_job()->link);
    unlock();
    while (!cor__list_empty(&failed)) {
        struct job *j = cor__container_of(failed.next, struct job, link);
        cor__list_del(&j->link);
        j->err = start_error("executor: cannot start a worker thread: %s",
                             cor_strerror(-err));
        job_done(j, NOT_STARTED);
        unlock();
    }
    lock();
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

static void push_job(struct job *j)
{
    j->state = J_QUEUED;
    cor__list_push(&P.queue, &j->link);
    P.nqueued++;
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

/* ------------------------------------------------------------ batch ---- */

/*
 * Jobs that a loop submits with cor_executor_submit() while every worker is
 * busy (or spinning) go to the loop's open batch instead of taking P.mu one
 * by one: the loop appends without the lock, and a worker that finds the
 * queue empty moves every batched job to the queue under it.  A job thus
 * starts as soon as a worker is free, as it would from the queue, and a
 * loop submitting many jobs does not fight the workers for the lock.
 *
 * A batch reserves its slots when it opens (backpressure is unchanged: no
 * slot, no batch), is written only by its loop (jobs[i], then n with
 * release) and read under P.mu (taken).  It is closed when full, or by its
 * message, which its loop runs at its next inbox drain; a loop that stops
 * with a batch still open has it closed by cor_run before the executor is
 * drained.  The sleeping hand-shake: the loop raises nbatched and then reads
 * nidle, a worker raises nidle and then reads nbatched (all seq_cst), so a
 * worker never sleeps on a batched job that no one will signal.
 */
#define BATCH 64

struct batch {
    struct cor__list link; /* in P.batches, under P.mu */
    struct cor__msg msg;   /* to its loop: close and free */
    size_t slots;          /* reserved; 0 once closed */
    _Atomic size_t n;      /* jobs written */
    size_t taken;          /* under P.mu: jobs moved to the queue */
    struct job *jobs[BATCH];
};

static __thread struct batch *open_batch; /* this loop thread's, or NULL */

/* Under P.mu: move b's written jobs to the queue. */
static size_t batch_take(struct batch *b)
{
    size_t n = atomic_load_explicit(&b->n, memory_order_acquire);
    size_t moved = n - b->taken;
    for (; b->taken < n; b->taken++)
        push_job(b->jobs[b->taken]);
    P.nreserved -= moved;
    atomic_fetch_sub(&P.nbatched, (long)moved);
    return moved;
}

/* Under P.mu, by a worker that found the queue empty. */
static bool steal_batches(void)
{
    if (atomic_load(&P.nbatched) <= 0)
        return false;
    size_t moved = 0;
    for (struct cor__list *e = P.batches.next; e != &P.batches; e = e->next)
        moved += batch_take(cor__container_of(e, struct batch, link));
    if (moved > 1)
        want_workers(NULL, 0); /* wake sleeping workers for the rest */
    return moved > 0;
}

/* On b's loop: no more jobs; queue what is left, give back unused slots. */
static void batch_close(struct batch *b)
{
    if (b == open_batch)
        open_batch = NULL;
    if (!b->slots)
        return;
    struct worker *w[BATCH];
    lock();
    batch_take(b);
    size_t unused = b->slots - b->taken;
    P.nreserved -= unused;
    cor__list_del(&b->link);
    while (unused--)
        room_freed();
    size_t k = want_workers(w, BATCH);
    unlock();
    b->slots = 0;
    for (size_t i = 0; i < k; i++)
        start_worker(w[i]);
}

static void batch_msg(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct batch *b = cor__container_of(m, struct batch, msg);
    batch_close(b);
    free(b);
}

/* A batch for this loop, if every worker is busy or spinning and none is
 * due to be started, and there is room; else NULL. */
static struct batch *batch_open(void)
{
    if (atomic_load(&P.nidle))
        return NULL;
    struct batch *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    lock();
    size_t used = P.nqueued + P.nreserved;
    size_t room = used < P.o.queue_cap ? P.o.queue_cap - used : 0;
    bool busy = !P.nidle &&
                (P.nspinning || P.nthreads - P.nlent >= P.o.max_threads);
    if (!busy || !cor__list_empty(&P.room_waiters))
        room = 0;
    b->slots = room < BATCH ? room : BATCH;
    if (b->slots) {
        P.nreserved += b->slots;
        cor__list_push(&P.batches, &b->link);
    }
    unlock();
    if (!b->slots) {
        free(b);
        return NULL;
    }
    atomic_init(&b->n, 0);
    b->taken = 0;
    b->msg.fn = batch_msg;
    open_batch = b;
    cor__loop_post(cor__tls_loop, &b->msg);
    return b;
}

/* Put j in this loop's batch; false: no batch, the caller queues it. */
static bool batch_add(struct job *j)
{
    struct batch *b = open_batch;
    if (!b && !(b = batch_open()))
        return false;
    size_t i = atomic_load_explicit(&b->n, memory_order_relaxed);
    b->jobs[i] = j;
    atomic_fetch_add(&P.nbatched, 1);
    atomic_store(&b->n, i + 1);
    if (atomic_load(&P.nidle) && !atomic_load(&P.nwaking)) {
        /* A worker went to sleep meanwhile: it takes the job when woken.
         * One already woken will (it looks at the batches after lowering
         * nwaking, and the store of n above comes before our load of
         * nwaking). */
        lock();
        if (!P.nwaking)
            wake_worker();
        unlock();
    }
    if (i + 1 == b->slots)
        batch_close(b); /* full: its message will only free it */
    return true;
}

/* Outside P.mu: watch the queue for up to SPIN_NS.  Whatever it sees, the
 * caller re-checks the queue under the lock. */
static void spin_for_work(void)
{
    int64_t end = cor_now_ns() + SPIN_NS;
    while (!atomic_load_explicit(&P.nqueued, memory_order_relaxed) &&
           atomic_load_explicit(&P.nbatched, memory_order_relaxed) <= 0 &&
           cor_now_ns() < end)
        sched_yield();
}

/* Under P.mu: wake the drains waiting for the pool to have no job (but
 * those that run the drain's own runtime). */
static void maybe_idle(void)
{
    if (!P.nqueued && P.nrunning <= P.nlent)
        pthread_cond_broadcast(&P.idle_cv);
}

/*
 * j (taken from the queue, counted running) has ended: hand its outcome to
 * whoever waits for it.  Called without P.mu, returns with it held.
 */
static void job_done(struct job *j, int how)
{
    struct port *p = j->port;
    if (p) {
        /* To its loop's port, without the lock, which the loop it wakes
         * takes at once to submit its next job.  A to_thread job stays
         * RUNNING: a cancel treats RUNNING and DONE alike (it waits for
         * the port).  After the push the job's memory may be gone. */
        j->ran = how == RAN;
        bool posted = port_push(p, j);
        lock();
        P.st.posts += posted;
    } else {
        lock();
        j->state = J_DONE;
        pthread_cond_broadcast(&P.done_cv);
    }
    P.nrunning--;
    if (how == SKIPPED)
        P.st.cancelled++;
    else if (how == RAN)
        P.st.completed++;
    maybe_idle();
}

static void *worker_main(void *p)
{
    struct worker *self = p;
    on_worker = true;
    struct worker *join = NULL;
    bool spun = false; /* since the last job */
    lock();
    for (;;) {
        while (cor__list_empty(&P.queue)) {
            if (steal_batches())
                continue;
            if (P.quit || P.nthreads - P.nlent > P.o.max_threads)
                goto retire;
            if (!spun) {
                spun = true;
                P.nspinning++;
                unlock();
                spin_for_work();
                lock();
                P.nspinning--;
                continue;
            }
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
            if (atomic_load(&P.nbatched) > 0) { /* see "batch" above */
                cor__list_del(&self->park);
                P.nidle--;
                continue;
            }
            int rc = 0;
            while (!self->woken && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&self->cv, &P.mu, &ts);
            if (self->woken) {
                P.nwaking--;
                continue;
            }
            cor__list_del(&self->park);
            P.nidle--;
            if (cor__list_empty(&P.queue) && atomic_load(&P.nbatched) <= 0)
                goto retire;
        }
        spun = false;
        struct job *j = take_job();
        /* A submitted job whose future was cancelled while queued never
         * runs. */
        bool skip = j->fut && cor_future_done(j->fut);
        unlock();
        if (!skip)
            run_job(j);
        job_done(j, skip ? SKIPPED : RAN);
    }
retire:
    /* Each retiring worker joins the one that retired before it, so at most
     * one exited thread waits to be joined (by the next one or shutdown). */
    P.nthreads--;
    cor__list_del(&self->link);
    join = P.retired;
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

/* The end of cor_run() in a job: its jobs are done once no job is queued
 * and every one running is a lent worker's (the caller's own among them);
 * the pool itself goes on. */
static void drain_lent(void)
{
    lend();
    lock();
    while (P.nqueued || P.nrunning > P.nlent)
        pthread_cond_wait(&P.idle_cv, &P.mu);
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
    while (P.nqueued || P.nrunning)
        pthread_cond_wait(&P.idle_cv, &P.mu);
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

static void job_cancel(struct cor__wait *p, int reason)
{
    struct job *j = cor__container_of(p, struct job, park);
    lock();
    if (j->state == J_QUEUED) {
        cor__list_del(&j->link);
        P.nqueued--;
        P.st.cancelled++;
        j->state = J_REMOVED;
        room_freed();
        maybe_idle();
        unlock();
        cor__wake(j->t, reason);
        return;
    }
    unlock();
    /* Running (or done, on its way through the port): wait for it. */
    j->interrupted = true;
    j->reason = reason;
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
    struct port *port = t ? port_get() : NULL;
    if (t && !port)
        return -ENOMEM;
    struct job j = {.fn = fn,
                    .arg = arg,
                    .t = t,
                    .port = port,
                    .park.cancel = job_cancel};
    rc = wait_room(t);
    if (rc)
        return rc;
    push_job(&j);
    struct worker *w = want_worker();
    unlock();
    start_worker(w);
    if (t) {
        rc = cor__park(&j.park);
    } else {
        lock();
        while (j.state != J_DONE)
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
    struct port *port = port_get();
    struct heap_job *hj = port ? malloc(sizeof *hj) : NULL;
    if (!hj)
        return -ENOMEM;
    cor__future_init(&hj->fut, cor__tls_loop, false);
    struct job *j = &hj->j;
    *j = (struct job){.fn = fn,
                      .arg = arg,
                      .fut = &hj->fut,
                      .port = port,
                      .cleanup = cleanup,
                      .cleanup_ud = cleanup_ud};
    /* One reference for the caller, one for the job; the caller's is
     * taken first, since a worker may finish the job at once. */
    *out = cor_future_ref(j->fut);
    if (batch_add(j))
        return 0;
    /* No room for a batch (and so no batch open): wait for a slot. */
    int rc = wait_room(t);
    if (rc) {
        cor_future_release(*out);
        *out = NULL;
        cor_future_release(j->fut); /* frees hj */
        return rc;
    }
    push_job(j);
    struct worker *w = want_worker();
    unlock();
    start_worker(w);
    return 0;
}
