/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the runtime's internal contracts, shared by runtime/, io/ and
 * executor/.  Never reachable from include/.
 *
 * Ownership in one paragraph: a loop (struct cor_loop) is owned by its thread;
 * only that thread touches its ready queue, timers, ring, task list and pools.
 * Other threads reach a loop only through cor__loop_post() (the inbox).  A
 * task lives on one loop from spawn to end.  A future's waiters and callbacks
 * are touched only on its home loop.
 */
#ifndef CORING_INTERNAL_H
#define CORING_INTERNAL_H

#include "coring.h"
#include "backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define cor__container_of(p, T, m) ((T *)(void *)((char *)(p)-offsetof(T, m)))
#define cor__likely(x) __builtin_expect(!!(x), 1)
#define cor__unlikely(x) __builtin_expect(!!(x), 0)

/* A hot-path counter of cor_loop_stats: a plain per-loop increment, which
 * -Dloop_stats=false compiles out to measure what the counters cost. */
#ifdef COR_NO_STATS
#define COR__STAT(x) ((void)0)
#else
#define COR__STAT(x) ((void)(x))
#endif

/* Stop with a message naming the misuse (a programming error). */
_Noreturn void cor__panic(const char *fmt, ...) COR_PRINTF(1, 2);

/* Error objects (error.c). */
#include <stdarg.h>
cor_error *cor__error_vnew(int code, const char *fmt, va_list ap);
const cor_error *cor__error_nomem(void);
/* Replace the error in *slot with a new one (the shared out-of-memory error
 * when none can be made): how cor_fail and cor_job_fail record a failure. */
void cor__error_vset(const cor_error **slot, int code, const char *fmt,
                     va_list ap);

/* ---------------------------------------------------------------- lists -- */

/* Intrusive doubly linked list, circular with a head node. */
struct cor__list {
    struct cor__list *next, *prev;
};

/* A zeroed object on a cache line of its own (an object with an op first,
 * whose hot part then costs one line; free() frees it).  NULL: no memory. */
static inline void *cor__zalloc_line(size_t size)
{
    size_t n = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n);
    if (p)
        memset(p, 0, n);
    return p;
}

static inline void cor__list_init(struct cor__list *h)
{
    h->next = h->prev = h;
}
static inline bool cor__list_empty(const struct cor__list *h)
{
    return h->next == h;
}
static inline void cor__list_push(struct cor__list *h, struct cor__list *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}
static inline void cor__list_del(struct cor__list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* -------------------------------------------------- the ready FIFO ------- */

/*
 * Something to run soon: a task to resume or a callback.  The ready FIFO of a
 * loop holds these in the order they became ready (asyncio's call_soon).
 */
struct cor__soon {
    struct cor__soon *next;
    void (*run)(struct cor__soon *s);
};

struct cor__fifo {
    struct cor__soon *head;
    struct cor__soon **tail;
};

static inline void cor__fifo_init(struct cor__fifo *q)
{
    q->head = NULL;
    q->tail = &q->head;
}
static inline void cor__fifo_push(struct cor__fifo *q, struct cor__soon *s)
{
    s->next = NULL;
    *q->tail = s;
    q->tail = &s->next;
}

/* ------------------------------------------------------------- timers ---- */

/*
 * A timer: a deadline and what to do when it passes.  Lives in the waiter's
 * memory (usually its stack); the loop's heap points at it.  Timers with equal
 * deadlines fire in the order they were armed.
 */
struct cor__timer {
    int64_t deadline; /* CLOCK_MONOTONIC ns */
    size_t idx;       /* position in the heap; SIZE_MAX when not armed */
    void (*fire)(struct cor__timer *t);
};

struct cor__heap_ent {
    int64_t deadline;
    uint64_t seq;
    struct cor__timer *t;
};

struct cor__timers {
    struct cor__heap_ent *a;
    size_t n, cap;
    uint64_t seq;
};

int cor__timers_init(struct cor__timers *h);
void cor__timers_fini(struct cor__timers *h);
int cor__timer_arm(struct cor__timers *h, struct cor__timer *t);
/* For the tests: the next heap that must grow to arm a timer fails to, as
 * when memory runs out (read only on that cold path). */
extern _Atomic bool cor__timers_fail_grow;
void cor__timer_disarm(struct cor__timers *h, struct cor__timer *t);
/* Earliest deadline, or INT64_MAX when none is armed. */
static inline int64_t cor__timers_next(const struct cor__timers *h)
{
    return h->n ? h->a[0].deadline : INT64_MAX;
}
/* Disarm and fire every timer whose deadline is <= now, earliest first. */
size_t cor__timers_expire(struct cor__timers *h, int64_t now);

/* ------------------------------------------------------- cross-thread ---- */

/*
 * A message to a loop: fn runs on the loop's thread during "drain inbox".
 * The node belongs to the sender until fn runs.
 */
struct cor__msg {
    struct cor__msg *next;
    void (*fn)(struct cor_loop *l, struct cor__msg *m);
};

/* Post m to l from any thread; wakes l if it sleeps.  Never blocks. */
void cor__loop_post(struct cor_loop *l, struct cor__msg *m);

/* ------------------------------------------------------------- stacks ---- */

enum cor__guard { COR__GUARD_MADV = 1, COR__GUARD_MPROTECT, COR__GUARD_NONE };

struct cor__stack {
    char *lo;       /* lowest address of the region (the guard page) */
    size_t size;    /* whole region, guard included */
    uint8_t guard;  /* enum cor__guard */
};

struct cor__stack_pool {
    size_t stack_size;     /* default region size */
    size_t page;
    int guard_mode;        /* COR__GUARD_MADV or COR__GUARD_MPROTECT */
    size_t guard_budget;   /* mprotect mode: guarded stacks at most */
    size_t nguarded, ncanary;
    void **free;           /* recycled default-size stacks (their lo), */
    uint8_t *free_guard;   /* LIFO; [0, ncold) had their pages released */
    size_t nfree, capfree, ncold;
    size_t keep;           /* warm free stacks kept (released past 2x) */
    size_t nreleased;      /* releases so far (madvise calls) */
    size_t mapped;         /* bytes mapped for stacks */
    char *slab, *slab_end; /* bump region for fresh stacks */
    char *slab_guarded_lo; /* [this, slab_end) was guarded in one call */
    struct cor__slab {
        char *p;
        size_t len;
    } *slabs;
    size_t nslabs, capslabs;
};

#define COR__CANARY 0x5a17c0de0ddba11ULL

int cor__stack_pool_init(struct cor__stack_pool *p, size_t stack_size,
                         bool mprotect, size_t budget);
void cor__stack_pool_fini(struct cor__stack_pool *p);
int cor__stack_get(struct cor__stack_pool *p, size_t size,
                   struct cor__stack *s);
void cor__stack_put(struct cor__stack_pool *p, struct cor__stack *s);
/* What a pool holds: free stacks, of which warm (pages kept), releases so
 * far, bytes mapped. */
struct cor__stack_stats {
    size_t free, warm, released, mapped;
};
void cor__stack_pool_stats(const struct cor__stack_pool *p,
                           struct cor__stack_stats *st);
/* Install the SIGSEGV overflow handler and this thread's sigaltstack. */
int cor__stack_thread_init(void);
void cor__stack_thread_fini(void);
/* Lowest usable address (just above the guard page). */
static inline char *cor__stack_base(const struct cor__stack *s, size_t page)
{
    return s->lo + page;
}
_Noreturn void cor__stack_overflow(const char *task, size_t size);
bool cor__stack_canary_intact(const struct cor__stack *s, size_t page);

/* ------------------------------------------------------------ futures ---- */

enum cor__fstate {
    COR__PENDING = 0,
    COR__SETTING,   /* claimed by a foreign thread, completion in flight */
    COR__RESULT,
    COR__FAILED,
    COR__CANCELLED,
};

/*
 * A waiter on a future: wake runs on the home loop once the future finishes,
 * in the order the waiters were added.
 */
struct cor__waiter {
    struct cor__list link;
    void (*wake)(struct cor__waiter *w, struct cor_future *f);
};

struct cor_future {
    _Atomic int state;
    _Atomic int refs;
    bool is_task;
    bool retrieved;          /* the error was looked at */
    bool observed;           /* awaited, queried or watched (debug mode) */
    int final_state;         /* SETTING: what the home loop will publish */
    void *result;
    const cor_error *err;    /* FAILED (and CANCELLED with a message) */
    struct cor__list waiters;
    struct cor_loop *loop;   /* home */
    struct cor__msg msg;     /* foreign completion / foreign release */
    struct cor__list flink;  /* plain futures: on loop->futures */
};

void cor__future_init(struct cor_future *f, struct cor_loop *l, bool task);
/* Finish f on its home loop; state is RESULT, FAILED or CANCELLED. */
void cor__future_finish(struct cor_future *f, int state);
void cor__future_add_waiter(struct cor_future *f, struct cor__waiter *w);
/* Shutdown: cancel every pending plain future of l (their callbacks run
 * soon), and at the very end free those still referenced. */
void cor__future_cancel_all(struct cor_loop *l);
void cor__future_free_all(struct cor_loop *l);
static inline bool cor__future_finished(const struct cor_future *f)
{
    return atomic_load_explicit(&f->state, memory_order_acquire) >=
           COR__RESULT;
}
/* The outcome as cor_future_result() returns it, without marking. */
int cor__future_status(const struct cor_future *f);

/* -------------------------------------------------------------- tasks ---- */

/*
 * What a parked task waits for.  cancel(w, reason) is called on the home loop
 * when the task is cancelled or its deadline passes while parked; it must
 * make sure the task is woken (at once, or when its operation's last
 * completion arrives) and must not be called again for the same park.
 */
struct cor__wait {
    void (*cancel)(struct cor__wait *w, int reason);
};

struct cor_task {
    struct cor_future fut;    /* first: a task is a future */
    struct cor__soon soon;    /* ready-queue node */
    void *sp;                 /* saved stack pointer while switched out */
    struct cor__stack stack;
    cor_fn *fn;
    void *arg;
    struct cor__wait *wait;   /* set while parked */
    int wake_rc;              /* what the parked call returns */
    bool started, running_done, cancel_req;
    int shield;               /* shield scope depth */
    int64_t deadline;         /* INT64_MAX: none */
    bool expired;             /* the deadline passed (sticky like cancel) */
    cor_timeout_scope *scope; /* the innermost timeout scope open */
    struct cor__timer dl_timer;
    struct cor__list link;    /* loop->tasks (live) or loop->done_tasks */
    uint64_t id;
    const cor_error *fail;    /* set by cor_fail, taken at the end */
    void *asan_fake;
    void *tsan_fiber;
    unsigned vg_id;
    const void *spawn_site;   /* return address of the spawning call */
    const char *wait_what;    /* while parked: what on (see cor__park_on) */
    const void *wait_on;      /* ... and the object: a future, a lock, an op */
    char name[48];
};

/*
 * Park the calling task until someone calls cor__wake() on it.  Returns the
 * wake code, or -ECANCELED / -ETIMEDOUT at once (without parking) when a
 * cancellation or an expired deadline is pending and no shield is up.
 */
int cor__park(struct cor__wait *w);
/* cor__park, saying what the task waits on for the task dump: `what` a
 * static string ("sleep", "io", "future", "task", "lock", ...), `on` the
 * object (for "task" and "future" the cor_future waited on). */
int cor__park_on(struct cor__wait *w, const char *what, const void *on);
/* A task parked on several futures at once (gather, wait) parks with
 * what = cor__wait_many and on = a struct cor__wait_many. */
extern const char cor__wait_many[];
struct cor__wait_many {
    cor_future *const *fs;
    size_t n;
};
/* A task in cor_group_join parks with what = cor__wait_group, on = the
 * group; cor__group_children lists its children that have not finished. */
extern const char cor__wait_group[];
size_t cor__group_children(const void *g, const cor_future **out,
                           size_t cap);
/* Make a parked task ready; rc is what cor__park() returns. */
void cor__wake(struct cor_task *t, int rc);
/* End t's current wait, if it has one, as a cancellation with `reason`
 * would (an op waits on for its completion), shield or not: for an io
 * object closed under a task waiting in it. */
void cor__interrupt_wait(struct cor_task *t, int reason);
/* Whether the calling task would get an error from cor__park right now. */
int cor__pending_interrupt(struct cor_task *t);
/* The running task of the calling thread; panics naming `call` off-task.
 * Inline: every suspending call and io call asks, most of them per
 * request. */
__attribute__((noreturn, cold)) void cor__need_task_fail(const char *call);
static inline struct cor_task *cor__need_task(const char *call);

/* ---------------------------------------------------------------- loop --- */

struct cor_runtime;

/*
 * An operation awaited by a task, or kept armed by an io object.  Lives on
 * the task's stack (or in the object); the backend finds it from its
 * completions.  complete() runs on the loop for each completion; the default
 * (NULL) stores res/flags and wakes the task once.  The request fields say
 * what to do (backend.h lists what each code reads).
 */
struct cor__op {
    /* The first 64 bytes hold what submitting and completing it read (the
     * request, the callback, the result), so that an op on a 64-byte
     * boundary costs one cache line on the hot path. */
    void (*complete)(struct cor__op *op, int res, uint32_t flags);
    void *addr;
    uint64_t off;
    int64_t timeout_ns; /* < 0: none */
    int fd;
    uint32_t len;
    uint32_t opflags;
    int res;
    uint32_t flags;
    bool done;
    bool cancelling;
    bool fixed;        /* fd is a registered-file slot */
    uint8_t code;      /* enum cor__opcode */
    struct cor_task *task;
    /* the rest of the request, and waiting and cancelling */
    void *addr2;
    int cancel_reason;
    struct cor__wait wait;
    struct {
        int64_t sec, nsec;
    } ts;               /* the io_uring backend's linked timeout */
    /* The epoll backend's (set by its start, not cleared by init). */
    struct cor__list be_link; /* on a pending, waiting or done list */
    struct cor__timer be_timer;
    uint8_t be_where;
};

struct cor_loop {
    const struct cor__backend *be;
    void *bstate;                /* the backend's own state */
    int index;
    struct cor_runtime *rt;
    pthread_t thread;

    /* the scheduler context (the loop thread's own stack) */
    void *sched_sp;
    void *sched_asan_fake;
    const void *sched_stack_lo;
    size_t sched_stack_size;
    void *sched_tsan_fiber;

    struct cor_task *cur;
    struct cor__fifo ready;
    struct cor__timers timers;
    int64_t now;                 /* the clock when timers last expired */
    int64_t coarse_slack;        /* CLOCK_MONOTONIC_COARSE lags by less */
    bool timer_due;              /* compute_timeout saw a deadline pass */
    struct cor__list tasks;      /* not done */
    struct cor__list done_tasks; /* done, still referenced */
    struct cor__list futures;    /* plain futures alive on this loop */
    size_t ntasks;
    size_t nops;                 /* ops in flight in the kernel */
    unsigned unsubmitted;        /* ops started since the last wait */
    unsigned since_enter;        /* iterations since the last enter */
    bool enter_hot;              /* the last wait found completions' work
                                  * already waiting (io_uring:
                                  * IORING_SQ_TASKRUN; set by the backend) */

    /* inbox: a lock-free LIFO taken whole and reversed */
    _Atomic(struct cor__msg *) inbox;
    _Atomic int sleeping;
    _Atomic int posting;         /* threads inside cor__loop_post(l) */
    int efd;                     /* wakes the loop (any thread) */

    struct cor__stack_pool stacks;
    struct cor_task *free_tasks; /* recycled task records (via soon.next) */
    size_t nfree_tasks;

    bool stopping;
    bool counted_idle;
    bool futures_cancelled;
    bool recheck;                /* a task ended: check stop() before waiting */
    cor_loop_stats stats;
    /* Watched by the stall detector (debug.c): beat copies
     * stats.iterations at the end of each iteration (a relaxed store the
     * watchdog thread reads). */
    _Atomic uint64_t beat;
    struct cor__stall_shot *shot; /* preallocated, for the stall signal */
    int64_t slow_ns;             /* debug mode: report steps longer; 0 off */
    bool debug;                  /* debug mode (COR_DEBUG=1, run option) */
    void *user[4];               /* per-area slots (COR__SLOT_*);
                                    NULL or a struct cor__loop_slot * */
};

/* Who owns which of a loop's user[] slots. */
enum {
    COR__SLOT_BUFRING = 0,
    COR__SLOT_FIXED = 1,
    COR__SLOT_SERVERS = 2,
    COR__SLOT_EXECUTOR = 3,
};

/* What a loop's user[] slot points at (first member of the area's record):
 * fini frees the record when the loop is freed, after its ring is closed,
 * on whichever thread frees the loop. */
struct cor__loop_slot {
    void (*fini)(struct cor__loop_slot *slot);
};

extern __thread struct cor_loop *cor__tls_loop
    __attribute__((tls_model("initial-exec")));

/*
 * The home check of every public call on a loop-local object (locks, events,
 * conditions, semaphores, barriers, queues, generators, task groups,
 * streams, processes): 0 on the object's home loop, -EXDEV from any other
 * thread, another loop or a plain thread.  A call that gets -EXDEV has
 * changed nothing.  Cross-loop objects (futures, channels, xsync) do not
 * use it.
 */
static inline int cor__check_home(const struct cor_loop *home)
{
    return cor__likely(cor__tls_loop == home) ? 0 : -EXDEV;
}

static inline struct cor_task *cor__need_task(const char *call)
{
    struct cor_loop *l = cor__tls_loop;
    if (cor__unlikely(!l || !l->cur))
        cor__need_task_fail(call);
    return l->cur;
}

/*
 * The op protocol (op.c).  cor__op_begin starts an operation of the calling
 * task (named `call` in misuse messages): op is cleared, code set.  The
 * caller fills the request, then cor__op_wait starts it and parks until its
 * final completion.  A cancellation or deadline while parked asks the
 * backend to cancel and keeps waiting: the call returns only after the
 * op's own completion (invariant 3), with its real result, or the cancel's
 * reason when it did not happen.  A timeout_ns other than COR_NO_TIMEOUT_NS
 * (-1) bounds the op, a negative one at 0: -ETIMEDOUT when it did not
 * happen in time.  cor__op_wait_now hands the op to the
 * kernel at once instead of with the iteration's batch.
 */
struct cor_loop *cor__op_begin(struct cor__op *op, const char *call,
                               unsigned code, int fd);
int cor__op_wait(struct cor__op *op, int64_t timeout_ns);
int cor__op_wait_now(struct cor__op *op);
void cor__op_init(struct cor__op *op);
/* Whether w is an op's wait (for the task dump: a park that did not say
 * what on). */
bool cor__wait_is_op(const struct cor__wait *w);
/* Start without waiting (multishot ops, ops of io objects with their own
 * complete()), and cancel such an op (it still completes). */
static inline void cor__op_submit(struct cor_loop *l, struct cor__op *op)
{
    l->nops++;
    l->be->start(l, op);
}
void cor__op_cancel(struct cor_loop *l, struct cor__op *op);
/* The loop's part of a completion (the backends call it for each): op
 * ended (flags without COR__F_MORE) or delivered one more result. */
static inline void cor__op_complete(struct cor_loop *l, struct cor__op *op,
                                    int res, uint32_t flags)
{
    if (!(flags & COR__F_MORE))
        l->nops--;
    if (op->complete) {
        op->complete(op, res, flags);
        return;
    }
    op->res = res;
    op->flags = flags;
    op->done = true;
    cor__wake(op->task, 0);
}

/* fd, or a copy of it above 2 when it took the number of a standard stream
 * (a program started with stdin, stdout or stderr closed): the runtime's
 * own descriptors must never be read or written as those.  Returns the fd
 * to use (the copy is close-on-exec, fd is then closed) or -errno (fd
 * closed).  fd < 0 is returned as it is. */
int cor__fd_above_stdio(int fd);

int cor__loop_init(struct cor_loop *l, struct cor_runtime *rt, int index);
/* The loop's thread will not enter its ring again: take the ring out of
 * that thread's registered-ring table (the table is per thread, and
 * cor__loop_fini may run on another one). */
void cor__loop_leave_thread(struct cor_loop *l);
void cor__loop_fini(struct cor_loop *l);
/* Run the messages in l's inbox now; returns how many ran. */
size_t cor__loop_drain(struct cor_loop *l);
/* Run iterations until stop() returns true (checked once per iteration). */
void cor__loop_run(struct cor_loop *l, bool (*stop)(struct cor_loop *l));
static inline void cor__loop_push_ready(struct cor_loop *l,
                                        struct cor__soon *s)
{
    cor__fifo_push(&l->ready, s);
}

/* ------------------------------------------------------------ runtime ---- */

struct cor_runtime {
    struct cor_loop **loops;
    int nloops;
    cor_run_opts opts;
    size_t stack_size;
    struct cor_task *main;
    cpu_set_t cpus;       /* where the caller of cor_run could run */
    _Atomic int shutdown; /* main has returned */
    _Atomic int idle;     /* loops whose tasks have all ended */
    _Atomic unsigned next_loop; /* round robin of cor_spawn_next */
    struct cor__debug *dbg;     /* watchdog thread and dump signal, or NULL */
    struct cor__sighub *sig;    /* signals (signal.c); NULL if not started */
    const struct cor__backend *be; /* every loop's; NULL: loop 0 chooses */
};

extern _Atomic uint64_t cor__task_counter;

void cor__task_record_free(struct cor_task *t);
int cor__task_set_deadline(struct cor_task *t, int64_t deadline);
/*
 * A timeout in seconds as an absolute deadline: INT64_MAX for
 * COR_NO_TIMEOUT (or >= 9.2e9 s), now for any other value <= 0 (a
 * computed remaining time that went negative has passed).  -EINVAL for NaN.
 */
int cor__deadline_of(double seconds, int64_t *out);
int cor__future_off_done_match(cor_future *f, cor_future_cb *cb,
                               bool (*match)(void *ud, void *key), void *key);
int cor__task_spawn(struct cor_loop *l, struct cor_task **out, cor_fn *fn,
                    void *arg, const cor_spawn_opts *o);
void cor__task_free_all(struct cor_loop *l);
void cor__task_cancel_all(struct cor_loop *l);
/* cor__task_spawn in two halves: prepare a record (any thread), start it on
 * its home loop (the home's thread). */
void cor__task_prepare(struct cor_loop *l, struct cor_task *t, cor_fn *fn,
                       void *arg, const cor_spawn_opts *o);
int cor__task_start(struct cor_loop *l, struct cor_task *t,
                    size_t stack_size);

/* ------------------------------------------------------ signals --------- */

/*
 * On cor_run's thread, after loop 0 is set up and before the other loops
 * start (they inherit the signal mask): block the signals coring reads and
 * arm loop 0's signalfd read.  fini, once every loop is freed, restores the
 * thread's mask.  interrupted: a SIGINT cancelled main.
 */
int cor__signal_start(struct cor_runtime *rt, struct cor_loop *l0);
void cor__signal_fini(struct cor_runtime *rt);
bool cor__signal_interrupted(const struct cor_runtime *rt);

/* ------------------------------------------------- many loops (xloop.c) -- */

/* Spawn on loop `index` of rt from any thread; never suspends. */
int cor__xloop_spawn(struct cor_runtime *rt, int index, struct cor_task **out,
                     cor_fn *fn, void *arg, const cor_spawn_opts *o);
/* cor_future_await's branch for a future whose home is another loop. */
int cor__xloop_await(struct cor_future *f, struct cor_task *self);
/* ---------------------------------------------------- seeing inside ---- */

/* The spawn site that the next cor__task_prepare on this thread records
 * (set by the public spawn calls, taken and cleared by prepare). */
extern __thread const void *cor__spawn_site
    __attribute__((tls_model("initial-exec")));
/* Debug mode and the watchdog for rt (debug.c), from the options and the
 * environment: init before any loop starts (-EINVAL for bad options),
 * cor__debug_loop in each cor__loop_init, start once the loops booted,
 * stop before they shut down, fini at the end.  No-ops when nothing is on. */
int cor__debug_init(struct cor_runtime *rt);
void cor__debug_loop(struct cor_loop *l);
int cor__debug_start(struct cor_runtime *rt);
void cor__debug_stop(struct cor_runtime *rt);
void cor__debug_fini(struct cor_runtime *rt);
/* Debug mode: the last reference to t goes and nobody read its outcome. */
void cor__debug_dropped(struct cor_task *t);
/* Debug mode: run a batch of ready-queue entries (task steps and
 * callbacks, linked by next) and report each that took longer than
 * l->slow_ns. */
void cor__debug_run_timed(struct cor_loop *l, struct cor__soon *s);
/* What a ready-queue callback will call (for cor_call_soon, the user's
 * function), to name it. */
const void *cor__soon_fn(struct cor__soon *s);
/* Whether s is a task's ready-queue node, and the task. */
struct cor_task *cor__soon_task(struct cor__soon *s);
/* Fill st with l's counters (on l's thread). */
void cor__loop_stats(struct cor_loop *l, cor_loop_stats *st);

/* Wait until the executor has no job, then stop and join its threads (on
 * a worker, whose job runs cor_run: wait for the other jobs only). */
void cor__executor_drain(void);
/* Tests: this many coming worker starts fail with EAGAIN. */
extern _Atomic int cor__executor_fail_starts;

#endif
