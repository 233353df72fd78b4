/* SPDX-License-Identifier: MIT */
/*
 * signal.c - Unix signals as loop events.  cor_run blocks a set of signals
 * in every loop thread (cor__signal_start, before the other loops start, so
 * they inherit the mask) and loop 0 keeps one read armed on a signalfd for
 * them.  Each signal read is handed, under the hub's mutex, to the tasks
 * waiting for it (woken on their loop) and to its handler (a callback on the
 * loop that added it); one nobody wanted gets what it would have got without
 * coring (SIGINT: cancelling main, see run.c).  No code of ours runs in
 * signal context.
 */
#include "internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* What cor_run blocks and reads unless told otherwise. */
static const int managed_default[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                      SIGUSR1, SIGUSR2, SIGWINCH};

struct handler {
    cor_signal_fn *fn;
    void *arg;
    struct cor_loop *loop;
    uint64_t id; /* 0: none */
};

/* A task in cor_signal_wait; lives on its stack. */
struct waiter {
    struct cor__list link; /* in hub->waiters while linked */
    struct cor__wait wait;
    struct cor__msg msg;   /* the wakeup, when the task is on another loop */
    struct cor_task *task;
    struct cor__sighub *hub;
    sigset_t set;
    int got;
    bool linked;
};

/* One handler call on its way to the handler's loop. */
struct call {
    struct cor__soon soon; /* on loop 0 */
    struct cor__msg msg;   /* to another loop */
    struct cor__sighub *hub;
    int sig;
    uint64_t id;
};

struct cor__sighub {
    pthread_mutex_t mu;
    struct cor_runtime *rt;
    struct cor_loop *loop;   /* loop 0: reads the signalfd */
    int fd;
    sigset_t entry;          /* the caller's mask when cor_run began */
    sigset_t managed;        /* blocked by us, default treatment if unwanted */
    sigset_t mask;           /* the signalfd's mask */
    bool sigint_cancels;
    bool interrupted;        /* a SIGINT cancelled main */
    uint64_t next_id;
    struct handler h[_NSIG];
    struct cor__list waiters;
    struct cor__op op;       /* the armed read (no task) */
    struct signalfd_siginfo buf[8];
};

/* ---------------------------------------------------------- validation - */

static bool catchable(int sig)
{
    if (sig <= 0 || sig >= _NSIG)
        return false;
    switch (sig) {
    case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGFPE:
    case SIGILL: case SIGTRAP: case SIGSYS:
        return false;
    }
    /* glibc keeps the first real-time signals for itself. */
    return sig < 32 || sig >= SIGRTMIN;
}

/* Whether signals of this kind reach our signalfd (under hub->mu). */
static bool receivable(struct cor__sighub *h, int sig)
{
    return sigismember(&h->managed, sig) || sigismember(&h->entry, sig);
}

/* Under hub->mu: the signalfd reads the managed set and what is wanted. */
static void update_mask(struct cor__sighub *h)
{
    sigset_t m = h->managed;
    for (int s = 1; s < _NSIG; s++)
        if (h->h[s].id)
            sigaddset(&m, s);
    for (struct cor__list *p = h->waiters.next; p != &h->waiters;
         p = p->next) {
        struct waiter *w = cor__container_of(p, struct waiter, link);
        for (int s = 1; s < _NSIG; s++)
            if (sigismember(&w->set, s))
                sigaddset(&m, s);
    }
    if (memcmp(&m, &h->mask, sizeof m) == 0)
        return;
    h->mask = m;
    signalfd(h->fd, &h->mask, 0);
}

static struct cor__sighub *hub_of_loop(int *rc)
{
    struct cor_loop *l = cor__tls_loop;
    if (!l) {
        *rc = -EPERM;
        return NULL;
    }
    if (!l->rt->sig)
        *rc = -ENOTSUP; /* the runtime could not start its signalfd */
    return l->rt->sig;
}

/* --------------------------------------------------------- delivery ---- */

static void call_run(struct call *c)
{
    struct cor__sighub *h = c->hub;
    pthread_mutex_lock(&h->mu);
    struct handler hd = h->h[c->sig];
    pthread_mutex_unlock(&h->mu);
    /* Removed or replaced since: the call is for a handler gone. */
    if (hd.id == c->id)
        hd.fn(c->sig, hd.arg);
    free(c);
}

static void call_soon_run(struct cor__soon *s)
{
    call_run(cor__container_of(s, struct call, soon));
}

static void call_msg_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    call_run(cor__container_of(m, struct call, msg));
}

static void waiter_msg_run(struct cor_loop *l, struct cor__msg *m)
{
    (void)l;
    struct waiter *w = cor__container_of(m, struct waiter, msg);
    cor__wake(w->task, 0);
}

/* Under hub->mu, on loop 0: wake w with sig. */
static void wake_waiter(struct cor__sighub *h, struct waiter *w, int sig)
{
    cor__list_del(&w->link);
    w->linked = false;
    w->got = sig;
    if (w->task->fut.loop == h->loop) {
        cor__wake(w->task, 0);
    } else {
        w->msg.fn = waiter_msg_run;
        cor__loop_post(w->task->fut.loop, &w->msg);
    }
}

/*
 * A signal nobody wanted: what it would have done without coring.  It is
 * raised again in this thread with the signal unblocked, so its default
 * action (or the program's sigaction handler) takes place here; the
 * signalfd stops reading it meanwhile, so the ring cannot take the raised
 * one first.
 */
static void forward(struct cor__sighub *h, int sig)
{
    sigset_t one, old, m;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_mutex_lock(&h->mu);
    m = h->mask;
    sigdelset(&m, sig);
    signalfd(h->fd, &m, 0);
    pthread_sigmask(SIG_UNBLOCK, &one, &old);
    raise(sig);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    signalfd(h->fd, &h->mask, 0);
    pthread_mutex_unlock(&h->mu);
}

static void deliver(struct cor__sighub *h, int sig)
{
    bool wanted = false;
    pthread_mutex_lock(&h->mu);
    struct cor__list *p = h->waiters.next;
    while (p != &h->waiters) {
        struct waiter *w = cor__container_of(p, struct waiter, link);
        p = p->next;
        if (sigismember(&w->set, sig)) {
            wake_waiter(h, w, sig);
            wanted = true;
        }
    }
    struct handler hd = h->h[sig];
    pthread_mutex_unlock(&h->mu);
    if (hd.id) {
        wanted = true;
        struct call *c = malloc(sizeof *c);
        if (!c) {
            cor_log("signal %d: no memory to call its handler", sig);
        } else {
            *c = (struct call){.hub = h, .sig = sig, .id = hd.id};
            if (hd.loop == h->loop) {
                c->soon.run = call_soon_run;
                cor__loop_push_ready(h->loop, &c->soon);
            } else {
                c->msg.fn = call_msg_run;
                cor__loop_post(hd.loop, &c->msg);
            }
        }
    }
    if (wanted)
        return;
    struct cor_task *mt = h->rt->main;
    if (sig == SIGINT && h->sigint_cancels && !h->interrupted && mt &&
        !cor__future_finished(&mt->fut)) {
        /* asyncio.run's Ctrl-C: cancel main, whose cleanup runs; a second
         * one (main still not done) takes SIGINT's usual course. */
        h->interrupted = true;
        cor_task_cancel(mt);
        return;
    }
    if (sigismember(&h->managed, sig))
        forward(h, sig);
    /* else: a signal the program blocked itself and no longer wants. */
}

static void arm(struct cor__sighub *h);

static void on_read(struct cor__op *op, int res, uint32_t flags)
{
    (void)flags;
    struct cor__sighub *h = cor__container_of(op, struct cor__sighub, op);
    /* The read does not count as an op in flight (see arm). */
    h->loop->nops++;
    for (int i = 0; res > 0 && i < res / (int)sizeof h->buf[0]; i++)
        deliver(h, (int)h->buf[i].ssi_signo);
    if (res < 0 && res != -EAGAIN && res != -EINTR && res != -ECANCELED) {
        /* Not re-armed: the managed signals stay blocked and pending. */
        cor_log("signals: reading the signalfd failed: %s",
                cor_strerror(res));
        return;
    }
    arm(h);
}

/*
 * Like the loop's eventfd read, the signalfd read is always armed and is
 * not counted among the ops in flight (a busy loop need not enter the
 * kernel for it): dispatch's decrement is undone in on_read.
 */
static void arm(struct cor__sighub *h)
{
    struct cor_loop *l = h->loop;
    struct cor__op *op = &h->op;
    op->code = COR__OP_READ;
    op->fd = h->fd;
    op->addr = h->buf;
    op->len = sizeof h->buf;
    op->off = 0;
    l->be->start(l, op);
}

/* ------------------------------------------------------- the runtime --- */

int cor__signal_start(struct cor_runtime *rt, struct cor_loop *l0)
{
    struct cor__sighub *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    pthread_mutex_init(&h->mu, NULL);
    cor__list_init(&h->waiters);
    h->rt = rt;
    h->loop = l0;
    sigemptyset(&h->managed);
    pthread_sigmask(SIG_BLOCK, NULL, &h->entry);
    if (!rt->opts.no_signals)
        for (size_t i = 0; i < sizeof managed_default / sizeof(int); i++)
            if (!sigismember(&h->entry, managed_default[i]))
                sigaddset(&h->managed, managed_default[i]);
    struct sigaction sa;
    h->sigint_cancels = !rt->opts.keep_sigint &&
                        sigismember(&h->managed, SIGINT) &&
                        sigaction(SIGINT, NULL, &sa) == 0 &&
                        !(sa.sa_flags & SA_SIGINFO) &&
                        sa.sa_handler == SIG_DFL;
    h->mask = h->managed;
    h->fd = signalfd(-1, &h->mask, SFD_NONBLOCK | SFD_CLOEXEC);
    h->fd = h->fd < 0 ? -errno : cor__fd_above_stdio(h->fd);
    if (h->fd < 0) {
        int rc = h->fd;
        pthread_mutex_destroy(&h->mu);
        free(h);
        return rc;
    }
    /* Blocked here before the other loops start: they inherit it. */
    pthread_sigmask(SIG_BLOCK, &h->managed, NULL);
    cor__op_init(&h->op);
    h->op.complete = on_read;
    arm(h);
    rt->sig = h;
    return 0;
}

bool cor__signal_interrupted(const struct cor_runtime *rt)
{
    return rt->sig && rt->sig->interrupted;
}

/* Every loop is freed (their rings are closed): close the signalfd and
 * give the calling thread its mask back.  A managed signal that came after
 * the last read is delivered by that, as it would have been. */
void cor__signal_fini(struct cor_runtime *rt)
{
    struct cor__sighub *h = rt->sig;
    if (!h)
        return;
    rt->sig = NULL;
    close(h->fd);
    pthread_sigmask(SIG_SETMASK, &h->entry, NULL);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* -------------------------------------------------------- public API --- */

int cor_signal_add(int sig, cor_signal_fn *fn, void *arg)
{
    int rc = 0;
    struct cor__sighub *h = hub_of_loop(&rc);
    if (!h)
        return rc;
    if (!catchable(sig) || !fn)
        return -EINVAL;
    pthread_mutex_lock(&h->mu);
    if (!receivable(h, sig)) {
        rc = -ENOTSUP;
    } else {
        h->h[sig] = (struct handler){.fn = fn,
                                     .arg = arg,
                                     .loop = cor__tls_loop,
                                     .id = ++h->next_id};
        update_mask(h);
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int cor_signal_remove(int sig)
{
    int rc = 0;
    struct cor__sighub *h = hub_of_loop(&rc);
    if (!h)
        return rc;
    if (!catchable(sig))
        return -EINVAL;
    pthread_mutex_lock(&h->mu);
    rc = h->h[sig].id != 0;
    memset(&h->h[sig], 0, sizeof h->h[sig]);
    update_mask(h);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* Cancelled or past its deadline while parked, on the task's loop: unhook
 * it, unless a delivery already took it (its wakeup is on the way). */
static void waiter_cancel(struct cor__wait *cw, int reason)
{
    struct waiter *w = cor__container_of(cw, struct waiter, wait);
    struct cor__sighub *h = w->hub;
    pthread_mutex_lock(&h->mu);
    bool mine = w->linked;
    if (mine) {
        cor__list_del(&w->link);
        w->linked = false;
        update_mask(h);
    }
    pthread_mutex_unlock(&h->mu);
    if (mine)
        cor__wake(w->task, reason);
}

int cor_signal_wait_any(const int *sigs, size_t n)
{
    struct cor_task *t = cor__need_task("cor_signal_wait");
    int rc = 0;
    struct cor__sighub *h = hub_of_loop(&rc);
    if (!h)
        return rc;
    if (!sigs || !n)
        return -EINVAL;
    struct waiter w = {.task = t, .hub = h};
    w.wait.cancel = waiter_cancel;
    sigemptyset(&w.set);
    for (size_t i = 0; i < n; i++) {
        if (!catchable(sigs[i]))
            return -EINVAL;
        sigaddset(&w.set, sigs[i]);
    }
    if ((rc = cor__pending_interrupt(t)))
        return rc;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < n; i++)
        if (!receivable(h, sigs[i]))
            rc = -ENOTSUP;
    if (!rc) {
        cor__list_push(&h->waiters, &w.link);
        w.linked = true;
        update_mask(h);
    }
    pthread_mutex_unlock(&h->mu);
    if (rc)
        return rc;
    rc = cor__park(&w.wait);
    return rc < 0 ? rc : w.got;
}

int cor_signal_wait(int sig)
{
    return cor_signal_wait_any(&sig, 1);
}
