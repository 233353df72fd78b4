/* SPDX-License-Identifier: MIT */
/*
 * server.c - TCP servers on N loops: one SO_REUSEPORT listener and one
 * acceptor task per loop, each keeping one multishot accept armed and
 * spawning a handler task per connection from the completion callback.
 * The accept op lives in the acceptor's frame; the acceptor ends only after
 * the op's final completion (a cancel waits for it, invariant 3).
 *
 * A server its owner never stopped is not leaked: each loop keeps a list of
 * the servers started on it, and when cor_run frees the loop (every loop has
 * stopped) it closes the listeners still open -- those of acceptors that
 * never ran, cancelled by the shutdown before their first run -- and frees
 * the record.
 *
 * Graceful stop (cor_server_shutdown): every connection is on the server's
 * list from its spawn to the end of its handler, so a stop can end the
 * reading side of each, wait for the handlers, and cancel those left.  The
 * record is freed by the last of its owner's stop and its connections
 * (refs); connections that never ran leave it to cor_run's end.
 */
#include "io_internal.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct acceptor {
    struct cor__op op;      /* the multishot accept; complete = on_accept */
    struct cor__wait wait;  /* what the acceptor parks on */
    struct cor_server *s;
    struct cor_task *task;
    int lfd;
    bool armed;             /* the accept may still post completions */
    bool parked;            /* the acceptor waits for a final completion */
    int final_res;          /* res of the last final completion */
    int stop_reason;        /* 0, or why we cancel the accept */
};

struct cor_server {
    struct cor_server *next, *prev; /* in reg's list */
    struct server_reg *reg;         /* the loop it was started on */
    cor_conn_fn *fn;
    cor_stream_fn *sfn;     /* a stream server's handler (fn is NULL) */
    void *arg;
    bool nodelay;
    int port;
    int nloops;             /* listeners */
    int nstarted;           /* acceptor tasks spawned */
    _Atomic uint64_t accepted;
    cor_task **tasks;
    struct acceptor *acc;
    /* Connections (struct conn_start), for the graceful stop.  Under cmu:
     * the list, draining; refs: the owner's and one per listed conn. */
    pthread_mutex_t cmu;
    struct cor__list conns;
    bool draining;
    _Atomic int refs;
};

/* The servers started on one loop and not stopped (in its user slot). */
struct server_reg {
    struct cor__loop_slot slot; /* first: the loop frees us */
    pthread_mutex_t mu;         /* cor_server_stop may run on another loop */
    struct cor_server *head;
};

static void server_release(struct cor_server *s);

/* The loop is freed, every loop has stopped: what was never stopped goes. */
static void reg_fini(struct cor__loop_slot *slot)
{
    struct server_reg *r = cor__container_of(slot, struct server_reg, slot);
    while (r->head) {
        struct cor_server *s = r->head;
        r->head = s->next;
        server_release(s);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static struct server_reg *reg_get(struct cor_loop *l)
{
    struct server_reg *r = l->user[COR__SLOT_SERVERS];
    if (r || !(r = calloc(1, sizeof *r)))
        return r;
    pthread_mutex_init(&r->mu, NULL);
    r->slot.fini = reg_fini;
    l->user[COR__SLOT_SERVERS] = r;
    return r;
}

/* A connection: what its handler task needs, and its place on the server's
 * list (from the spawn to the end of the handler).  Freed by the task. */
struct conn_start {
    cor_conn_fn *fn;
    cor_stream_fn *sfn;
    void *arg;
    int fd;
    struct cor__list link; /* in s->conns, under s->cmu */
    struct cor_server *s;
    cor_task *task;        /* the spawner's handle, released at the end */
    bool started;          /* under s->cmu */
};

static void server_unref(struct cor_server *s);

/* The drain began: the peer's further bytes are not read, a handler
 * waiting for the next request reads the end of the stream, what it
 * already read it still answers (the write side stays open). */
static void end_reading(int fd)
{
    shutdown(fd, SHUT_RD);
}

static void *conn_main(void *p)
{
    struct conn_start *c = p;
    struct cor_server *s = c->s;
    pthread_mutex_lock(&s->cmu);
    c->started = true;
    if (s->draining)
        end_reading(c->fd);
    pthread_mutex_unlock(&s->cmu);
    /* Owned by this connection, and in the loop's registered-file table
     * while the handler runs (fixed.c); without a slot the handler's io
     * takes the plain fd. */
    bool owned = cor__conn_own(c->fd, c) == 0;
    void *r = NULL;
    if (c->sfn)
        cor__stream_serve(c->fd, c->sfn, c->arg);
    else
        r = c->fn(c->fd, c->arg);
    /* Off the list before the fd can be closed: a stop must never shut
     * down a number that may be someone else's by then. */
    pthread_mutex_lock(&s->cmu);
    cor__list_del(&c->link);
    pthread_mutex_unlock(&s->cmu);
    /* Out of the table first (the fd number may be reused once closed);
     * the socket's last reference goes with that update, at the next
     * submit.  Not ours any more: the handler closed it with cor_close and
     * the number may name someone else's file now.  A plain close: it never
     * blocks for a socket without SO_LINGER, and it must happen even when
     * the handler was cancelled. */
    if (!owned || cor__conn_disown(c->fd, c))
        close(c->fd);
    cor_task_release(c->task);
    free(c);
    server_unref(s);
    return r;
}

static void start_conn(struct acceptor *a, int fd)
{
    struct cor_server *s = a->s;
    atomic_fetch_add_explicit(&s->accepted, 1, memory_order_relaxed);
    if (s->nodelay) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    struct conn_start *c = malloc(sizeof *c);
    if (c) {
        *c = (struct conn_start){
            .fn = s->fn, .sfn = s->sfn, .arg = s->arg, .fd = fd, .s = s};
        /* The task runs later (we are in a completion callback): it is on
         * the list before it can look at it. */
        if (cor_spawn_ex(&c->task, conn_main, c, NULL) == 0) {
            atomic_fetch_add(&s->refs, 1);
            pthread_mutex_lock(&s->cmu);
            cor__list_push(&s->conns, &c->link);
            pthread_mutex_unlock(&s->cmu);
            return;
        }
        free(c);
    }
    cor_log("server: no memory for a connection task; connection dropped");
    close(fd);
}

/* Runs on the loop for every accept completion, never on a task stack. */
static void on_accept(struct cor__op *op, int res, uint32_t flags)
{
    struct acceptor *a = cor__container_of(op, struct acceptor, op);
    /* A connection accepted while we stop is served, not dropped. */
    if (res >= 0)
        start_conn(a, res);
    if (flags & COR__F_MORE)
        return;
    a->armed = false;
    a->final_res = res;
    if (a->parked) {
        a->parked = false;
        cor__wake(a->task, a->stop_reason);
    }
}

static void arm(struct acceptor *a)
{
    struct cor_loop *l = a->task->fut.loop;
    a->op.code = COR__OP_ACCEPT_MULTI;
    a->op.fd = a->lfd;
    a->armed = true;
    cor__op_submit(l, &a->op);
}

static void send_cancel(struct acceptor *a, int reason)
{
    struct cor_loop *l = a->task->fut.loop;
    a->stop_reason = reason;
    cor__op_cancel(l, &a->op);
}

/* The acceptor was cancelled while parked: the accept's final completion
 * (after our cancel) wakes it. */
static void acceptor_cancel(struct cor__wait *w, int reason)
{
    send_cancel(cor__container_of(w, struct acceptor, wait), reason);
}

static bool transient(int res)
{
    return res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
           res == -ENOMEM;
}

static void *accept_loop(struct acceptor *a)
{
    a->task = cor_current_task();
    cor__op_init(&a->op);
    a->op.complete = on_accept;
    a->op.task = a->task;
    a->wait.cancel = acceptor_cancel;
    for (;;) {
        a->stop_reason = 0;
        arm(a);
        a->parked = true;
        int rc = cor__park(&a->wait);
        if (a->parked) {
            /* Interrupted before parking: the accept is armed, so cancel
             * it and wait for its end, shielded. */
            send_cancel(a, rc);
            cor_shield_begin();
            cor__park(&a->wait);
            cor_shield_end();
        }
        if (a->stop_reason)
            return a->stop_reason == -ECANCELED ? NULL
                                                : cor_fail(a->stop_reason,
                                                           "acceptor");
        int res = a->final_res;
        if (res == -EBADF || res == -EINVAL || res == -ENOTSOCK ||
            res == -EOPNOTSUPP)
            return cor_fail(res, "accept on fd %d", a->lfd);
        /* Out of fds or memory: back off instead of spinning. */
        if (transient(res) && cor_sleep(0.01) < 0)
            return NULL;
    }
}

/*
 * The listener goes with its acceptor: whatever ends it (cor_server_stop,
 * an accept error, or cor_run's shutdown cancelling every task when nobody
 * called cor_server_stop), the port is not left open behind it.  The record
 * itself is freed by cor_server_stop only: the acceptors cannot know whether
 * the owner will still call it.
 */
static void *acceptor_main(void *p)
{
    struct acceptor *a = p;
    void *r = accept_loop(a);
    close(a->lfd);
    a->lfd = -1;
    return r;
}

/* Close the listeners still open (acceptors that never ran) and free.
 * Connections still listed never ran (cancelled before their first run by
 * cor_run's end): their sockets are closed here. */
static void server_release(struct cor_server *s)
{
    for (int i = 0; i < s->nloops; i++)
        if (s->acc[i].lfd >= 0)
            close(s->acc[i].lfd);
    while (!cor__list_empty(&s->conns)) {
        struct conn_start *c =
            cor__container_of(s->conns.next, struct conn_start, link);
        cor__list_del(&c->link);
        close(c->fd);
        free(c);
    }
    pthread_mutex_destroy(&s->cmu);
    free(s->tasks);
    free(s->acc);
    free(s);
}

static void server_free(struct cor_server *s)
{
    struct server_reg *r = s->reg;
    if (r) {
        pthread_mutex_lock(&r->mu);
        if (s->prev)
            s->prev->next = s->next;
        else
            r->head = s->next;
        if (s->next)
            s->next->prev = s->prev;
        pthread_mutex_unlock(&r->mu);
    }
    server_release(s);
}

/*
 * One of handler and sfn is set.  One listener per host and loop: listener
 * i is on hosts[i / loops] and its acceptor on loop i % loops.  With several
 * hosts (a name's addresses) IPv6 listeners are IPv6-only, so that "::" and
 * "0.0.0.0" can both be bound.
 */
int cor__server_start_hosts(cor_server **out, const char *const *hosts,
                            int nhosts, int port, cor_conn_fn *handler,
                            cor_stream_fn *sfn, void *arg,
                            const cor_server_opts *opts)
{
    struct cor_loop *l = cor__tls_loop;
    cor_server_opts o = opts ? *opts : (cor_server_opts){0};
    int loops = o.loops ? o.loops : cor_loop_count();
    if (!out || (!handler && !sfn) || loops < 0 ||
        loops > cor_loop_count() || port < 0 || port > 65535 ||
        nhosts < 1 || nhosts > 64 || !hosts)
        return -EINVAL;
    int nloops = loops * nhosts; /* listeners */
    struct cor_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->cmu, NULL);
    cor__list_init(&s->conns);
    atomic_init(&s->refs, 1);
    s->fn = handler;
    s->sfn = sfn;
    s->arg = arg;
    s->nodelay = o.nodelay;
    s->nloops = nloops;
    s->tasks = calloc((size_t)nloops, sizeof *s->tasks);
    s->acc = calloc((size_t)nloops, sizeof *s->acc);
    if (!s->tasks || !s->acc) {
        s->nloops = 0;
        server_free(s);
        return -ENOMEM;
    }
    for (int i = 0; i < nloops; i++)
        s->acc[i].lfd = -1;
    cor_listen_opts lo = {
        .backlog = o.backlog, .reuseport = true, .v6only = nhosts > 1};
    /* The first listener picks the port (port 0), the others share it. */
    for (int i = 0; i < nloops; i++) {
        int fd = cor_tcp_listen(hosts[i / loops], i ? s->port : port, &lo);
        if (fd < 0) {
            server_free(s);
            return fd;
        }
        s->acc[i].lfd = fd;
        s->acc[i].s = s;
        if (i == 0)
            s->port = cor_sock_port(fd);
    }
    for (int i = 0; i < nloops; i++) {
        cor_spawn_opts so = {.name = "acceptor", .loop = COR_LOOP(i % loops)};
        int rc = cor_spawn_ex(&s->tasks[i], acceptor_main, &s->acc[i], &so);
        if (rc < 0) {
            cor_server_stop(s); /* the acceptors already started */
            return rc;
        }
        s->nstarted++;
    }
    struct server_reg *r = reg_get(l);
    if (r) { /* else (no memory) only cor_server_stop frees s */
        pthread_mutex_lock(&r->mu);
        s->reg = r;
        s->next = r->head;
        if (r->head)
            r->head->prev = s;
        r->head = s;
        pthread_mutex_unlock(&r->mu);
    }
    *out = s;
    return 0;
}

int cor_server_start(cor_server **out, const char *host, int port,
                     cor_conn_fn *handler, void *arg,
                     const cor_server_opts *opts)
{
    cor__need_task("cor_server_start");
    return cor__server_start_hosts(out, &host, 1, port, handler, NULL, arg,
                                   opts);
}

int cor_stream_server_start(cor_server **out, const char *host, int port,
                            cor_stream_fn *fn, void *arg,
                            const cor_server_opts *opts)
{
    cor__need_task("cor_stream_server_start");
    if (!fn)
        return -EINVAL;
    /* The writer batches its writes itself: send them at once (asyncio's
     * transports set TCP_NODELAY too). */
    cor_server_opts o = opts ? *opts : (cor_server_opts){0};
    o.nodelay = true;
    return cor__server_start_hosts(out, &host, 1, port, NULL, fn, arg, &o);
}

int cor_server_port(const cor_server *s)
{
    return s ? s->port : -EINVAL;
}

uint64_t cor_server_accepted(const cor_server *s)
{
    return s ? atomic_load_explicit(&s->accepted, memory_order_relaxed) : 0;
}

int cor_server_wait(cor_server *s)
{
    if (!s)
        return -EINVAL;
    for (int i = 0; i < s->nstarted; i++) {
        int rc = cor_await(s->tasks[i], NULL);
        if (rc == -ECANCELED && !cor_task_cancelled(s->tasks[i]))
            return rc; /* the caller was cancelled, not the acceptor */
        if (rc == -ETIMEDOUT && !cor_task_done(s->tasks[i]))
            return rc;
    }
    return 0;
}

/* The owner's reference, or a connection's, goes; the last frees s. */
static void server_unref(struct cor_server *s)
{
    if (atomic_fetch_sub(&s->refs, 1) == 1)
        server_free(s);
}

/* Cancel the acceptors and wait for them, shielded. */
static void stop_accepting(cor_server *s)
{
    cor_shield_begin();
    for (int i = 0; i < s->nstarted; i++)
        cor_task_cancel(s->tasks[i]);
    for (int i = 0; i < s->nstarted; i++) {
        cor_await(s->tasks[i], NULL);
        cor_task_release(s->tasks[i]);
        /* An acceptor cancelled before its first run never closed its
         * listener: close it now, so that connections are refused from
         * here on instead of waiting in a queue nobody accepts from. */
        if (s->acc[i].lfd >= 0) {
            close(s->acc[i].lfd);
            s->acc[i].lfd = -1;
        }
    }
    s->nstarted = 0;
    cor_shield_end();
}

int cor_server_stop(cor_server *s)
{
    if (!s)
        return -EINVAL;
    stop_accepting(s);
    server_unref(s);
    return 0;
}

/* The handler tasks on the list now (references the caller releases);
 * with drain, their reading sides are ended first. */
static size_t snapshot(cor_server *s, cor_task ***out, bool drain)
{
    pthread_mutex_lock(&s->cmu);
    s->draining |= drain;
    size_t n = 0;
    for (struct cor__list *p = s->conns.next; p != &s->conns; p = p->next)
        n++;
    cor_task **t = n ? malloc(n * sizeof *t) : NULL;
    size_t k = 0;
    for (struct cor__list *p = s->conns.next; t && p != &s->conns;
         p = p->next) {
        struct conn_start *c = cor__container_of(p, struct conn_start, link);
        if (drain && c->started)
            end_reading(c->fd);
        t[k++] = cor_task_ref(c->task);
    }
    pthread_mutex_unlock(&s->cmu);
    *out = t;
    return k;
}

int cor_server_shutdown(cor_server *s, int64_t timeout_ns)
{
    if (!s)
        return -EINVAL;
    stop_accepting(s);
    /* Drain: no new connections, every reading side ended; the handlers
     * have until the deadline (the caller's cancellation ends the wait
     * too, and moves on to cancelling them). */
    cor_task **t;
    size_t n = snapshot(s, &t, true);
    cor_timeout_scope sc;
    bool timed = cor__io_timed(timeout_ns) &&
                 cor_timeout_begin_at(&sc, cor_now_ns() +
                                      (timeout_ns > 0 ? timeout_ns : 0)) == 0;
    size_t i = 0;
    for (; i < n; i++)
        if (cor_await(t[i], NULL) < 0 && !cor_task_done(t[i]))
            break;
    if (timed)
        cor_timeout_end(&sc);
    /* Then cancel what is left and wait for it, shielded. */
    int cancelled = 0;
    cor_shield_begin();
    for (size_t k = i; k < n; k++)
        cancelled += cor_task_cancel(t[k]);
    for (size_t k = 0; k < n; k++) {
        cor_await(t[k], NULL);
        cor_task_release(t[k]);
    }
    cor_shield_end();
    free(t);
    server_unref(s);
    return cancelled;
}
