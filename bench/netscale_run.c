/* SPDX-License-Identifier: MIT */
/*
 * netscale_run.c - one row of build/bench/netscale: the server on L loops
 * (a runtime on its own thread, pinned to the row's server CPUs), the load
 * generator (a runtime on the calling thread, pinned to the client CPUs),
 * one measured window, and the row's figures.
 */
#include "netscale.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_CAP 16384 /* a connection's receive buffer */

/* ------------------------------------------------------- CPU and time -- */

static double clock_s(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a task on each loop of a runtime notes: the loop thread's CPU clock,
 * so that another thread can read it while the loop runs, and the loop's
 * io_uring_enter calls from the start of the row to its end. */
struct loop_clock {
    clockid_t id;
    _Atomic bool ok;
    uint64_t enters0, enters; /* at note_clock; since then, at note_end */
};

static void *note_clock(void *arg)
{
    struct loop_clock *c = arg;
    cor_loop_stats st;
    if (cor_loop_stats_get(&st) == 0)
        c->enters0 = st.enters;
    if (pthread_getcpuclockid(pthread_self(), &c->id) == 0)
        atomic_store(&c->ok, true);
    return NULL;
}

static void *note_end(void *arg)
{
    struct loop_clock *c = arg;
    cor_loop_stats st;
    if (cor_loop_stats_get(&st) == 0)
        c->enters = st.enters - c->enters0;
    return NULL;
}

/* Runs fn(&clk[i]) as a task on each loop i < n and waits for them all. */
static int on_each_loop(cor_fn *fn, struct loop_clock *clk, int n)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        cor_task *t = cor_spawn_on(i, fn, &clk[i]);
        rc = t ? cor_await(t, NULL) : -ENOMEM;
        if (t)
            cor_task_release(t);
    }
    return rc;
}

static double cpu_of(struct loop_clock *c, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        if (atomic_load(&c[i].ok))
            s += clock_s(c[i].id);
    return s;
}

/* Task time (user, nice, system, steal: not idle, iowait, irq, softirq) of
 * the CPUs in `cpus`, summed, in seconds, from /proc/stat; -1 when it
 * cannot be read.  Interrupt time is left out: loopback's packet processing
 * runs there, for both sides, and no thread's CPU clock includes it. */
static double busy_s(const cpu_set_t *cpus)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[512];
    unsigned long long sum = 0;
    while (fgets(line, sizeof line, f)) {
        int cpu;
        unsigned long long v[8] = {0};
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &v[7]) < 5 ||
            cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, cpus))
            continue;
        sum += v[0] + v[1] + v[2] + v[7];
    }
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    return (double)sum / (double)(hz > 0 ? hz : 100);
}

/* -------------------------------------------------------------- server -- */

struct server {
    int loops;
    cor_conn_fn *handler;
    cpu_set_t cpus; /* loop i runs on the i-th CPU of this set */
    struct loop_clock clk[MAX_LOOPS];
    bool counted; /* clk[].enters hold the whole row's */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int port;         /* > 0 listening, < 0 failed, 0 booting */
    cor_loop *home;   /* the loop of server_main */
    cor_future *stop; /* resolved on home, from the main thread */
};

static void publish(struct server *s, int port)
{
    pthread_mutex_lock(&s->mu);
    if (s->port == 0)
        s->port = port;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    cor_server *srv = NULL;
    int rc = cor_future_create(&s->stop);
    if (rc == 0)
        rc = on_each_loop(note_clock, s->clk, s->loops);
    cor_server_opts o = {.loops = s->loops, .nodelay = true};
    if (rc == 0)
        rc = cor_server_start(&srv, "127.0.0.1", 0, s->handler, NULL, &o);
    s->home = cor_loop_current();
    publish(s, rc < 0 ? rc : cor_server_port(srv));
    if (rc == 0) {
        cor_future_await(s->stop, NULL);
        cor_server_stop(srv);
        s->counted = on_each_loop(note_end, s->clk, s->loops) == 0;
    }
    if (s->stop)
        cor_future_release(s->stop);
    return NULL;
}

static void stop_server(void *arg)
{
    struct server *s = arg;
    cor_future_set_result(s->stop, NULL);
}

static void *server_thread(void *arg)
{
    struct server *s = arg;
    int rc = pthread_setaffinity_np(pthread_self(), sizeof s->cpus, &s->cpus);
    cor_run_opts o = {.loops = s->loops, .pin = COR_PIN_ALWAYS};
    if (rc == 0)
        rc = cor_run_ex(server_main, s, &o, NULL);
    else
        rc = -rc;
    publish(s, rc < 0 ? rc : -EPIPE);
    return NULL;
}

/* ----------------------------------------------------- load generator -- */

/* Latencies: a log-linear histogram of nanoseconds, 32 steps per power of
 * two (within 3%), per generator loop, merged at the end. */
#define SUB 5
#define NBUCKET (64 + 40 * (1 << SUB))

static int bucket_of(uint64_t ns)
{
    if (ns < 64)
        return (int)ns;
    int e = 63 - __builtin_clzll(ns); /* >= 6 */
    if (e > 45)
        return NBUCKET - 1;
    return 64 + (e - 6) * (1 << SUB) + (int)((ns >> (e - SUB)) - (1 << SUB));
}

static double bucket_ns(int b)
{
    if (b < 64)
        return b;
    int e = (b - 64) / (1 << SUB) + 6, m = (b - 64) % (1 << SUB);
    return ldexp((1 << SUB) + m + 0.5, e - SUB); /* the step's middle */
}

struct gen_loop {
    _Atomic uint64_t reqs;  /* only this loop writes it (relaxed) */
    struct loop_clock *clk; /* &gen.clk[this loop] */
    uint64_t hist[NBUCKET]; /* read after the generator's run */
    int errors, first_error;
    int conns;
    struct gen *g;
} __attribute__((aligned(64)));

struct gen {
    const struct ns_workload *w;
    int port, depth;
    int nloops;
    cpu_set_t cpus;
    struct gen_loop *loop;
    struct loop_clock *clk; /* one per generator loop */
    struct server *srv;
    _Atomic bool measuring, stop;
    int64_t deadline;   /* cor_now_ns(): every connection ends by then */
    cpu_set_t row_cpus; /* the server's and the generator's CPUs */
    /* the measured window */
    double wall, srv_cpu, gen_cpu, busy; /* busy < 0: unknown */
    uint64_t reqs;
    uint64_t reqs_all; /* the whole row's, warm-up included */
};

static const char REQ[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
#define REQ_LEN (sizeof REQ - 1)

static void fail(struct gen_loop *gl, int rc)
{
    if (!gl->errors++)
        gl->first_error = rc;
}

/* Complete HTTP responses at the start of buf[0..len): returns how many
 * (at most want), and *used their bytes; -EPROTO on a response without a
 * Content-Length. */
static int http_responses(const char *buf, size_t len, int want, size_t *used)
{
    int n = 0;
    size_t pos = 0;
    while (n < want) {
        const char *h = buf + pos;
        const char *end = memmem(h, len - pos, "\r\n\r\n", 4);
        if (!end)
            break;
        const char *cl = memmem(h, (size_t)(end - h), "Content-Length:", 15);
        if (!cl)
            return -EPROTO;
        size_t total = (size_t)(end - h) + 4 + strtoul(cl + 15, NULL, 10);
        if (total > len - pos)
            break;
        pos += total;
        n++;
    }
    *used = pos;
    return n;
}

/* One connection: send a request (or `depth` of them), wait until the
 * whole answer is back, note the round trip, repeat until told to stop. */
static void *client(void *arg)
{
    struct gen_loop *gl = arg;
    struct gen *g = gl->g;
    const struct ns_workload *w = g->w;
    cor_timeout_scope ts;
    int rc = cor_timeout_begin_at(&ts, g->deadline);
    if (rc < 0) {
        fail(gl, rc);
        return NULL;
    }
    char *out = NULL, *in = malloc(IO_CAP);
    size_t outlen = w->kind == ECHO ? w->size : REQ_LEN * (size_t)g->depth;
    int per_send = w->kind == ECHO ? 1 : g->depth;
    int fd = cor_tcp_connect("127.0.0.1", g->port, 2000000000);
    if (fd < 0 || !in || !(out = malloc(outlen))) {
        fail(gl, fd < 0 ? fd : -ENOMEM);
        goto out;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (w->kind == ECHO)
        memset(out, 'x', outlen);
    else
        for (int i = 0; i < g->depth; i++)
            memcpy(out + (size_t)i * REQ_LEN, REQ, REQ_LEN);
    size_t have = 0; /* HTTP: bytes of responses not yet parsed */
    while (!atomic_load_explicit(&g->stop, memory_order_relaxed)) {
        int64_t t0 = cor_now_ns();
        ssize_t n = cor_send(fd, out, outlen, 0);
        if (n != (ssize_t)outlen) {
            fail(gl, n < 0 ? (int)n : -EPIPE);
            break;
        }
        int left = per_send;
        size_t got = 0;
        while (left > 0) {
            size_t room = w->kind == ECHO ? outlen - got : IO_CAP - have;
            n = cor_recv(fd, in + (w->kind == ECHO ? 0 : have), room, 0);
            if (n <= 0) {
                fail(gl, n < 0 ? (int)n : -ECONNRESET);
                goto done;
            }
            int done_now = 0;
            if (w->kind == ECHO) {
                got += (size_t)n;
                done_now = got == outlen;
            } else {
                size_t used;
                have += (size_t)n;
                done_now = http_responses(in, have, left, &used);
                if (done_now < 0 || (done_now == 0 && have == IO_CAP)) {
                    fail(gl, -EPROTO);
                    goto done;
                }
                memmove(in, in + used, have - used);
                have -= used;
            }
            left -= done_now;
            if (done_now &&
                atomic_load_explicit(&g->measuring, memory_order_relaxed))
                gl->hist[bucket_of((uint64_t)(cor_now_ns() - t0))] +=
                    (uint64_t)done_now;
            atomic_store_explicit(
                &gl->reqs,
                atomic_load_explicit(&gl->reqs, memory_order_relaxed) +
                    (uint64_t)done_now,
                memory_order_relaxed);
        }
    }
done:
    cor_close(fd);
out:
    free(in);
    free(out);
    cor_timeout_end(&ts);
    return NULL;
}

/* One generator loop: its connections, all on this loop. */
static void *gen_loop_main(void *arg)
{
    struct gen_loop *gl = arg;
    note_clock(gl->clk);
    cor_task **t = calloc((size_t)gl->conns, sizeof *t);
    if (!t) {
        fail(gl, -ENOMEM);
        return NULL;
    }
    for (int i = 0; i < gl->conns; i++)
        if (!(t[i] = cor_spawn(client, gl)))
            fail(gl, -ENOMEM);
    for (int i = 0; i < gl->conns; i++)
        if (t[i]) {
            cor_await(t[i], NULL);
            cor_task_release(t[i]);
        }
    free(t);
    note_end(gl->clk);
    return NULL;
}

static uint64_t reqs_now(struct gen *g)
{
    uint64_t s = 0;
    for (int i = 0; i < g->nloops; i++)
        s += atomic_load_explicit(&g->loop[i].reqs, memory_order_relaxed);
    return s;
}

/* The generator's main task: starts every loop's connections, lets them
 * warm up, then measures one window: requests, wall time and the CPU time
 * of the server's and the generator's loop threads. */
static void *gen_main(void *arg)
{
    struct gen *g = arg;
    cor_task **t = calloc((size_t)g->nloops, sizeof *t);
    if (!t)
        return cor_fail(-ENOMEM, "generator");
    for (int i = 0; i < g->nloops; i++)
        t[i] = cor_spawn_on(i, gen_loop_main, &g->loop[i]);
    cor_sleep(ns_opt.warmup);
    double w0 = clock_s(CLOCK_MONOTONIC),
           s0 = cpu_of(g->srv->clk, g->srv->loops);
    double c0 = cpu_of(g->clk, g->nloops), b0 = busy_s(&g->row_cpus);
    uint64_t r0 = reqs_now(g);
    atomic_store(&g->measuring, true);
    cor_sleep(ns_opt.duration);
    atomic_store(&g->measuring, false);
    g->reqs = reqs_now(g) - r0;
    g->srv_cpu = cpu_of(g->srv->clk, g->srv->loops) - s0;
    g->gen_cpu = cpu_of(g->clk, g->nloops) - c0;
    double b1 = busy_s(&g->row_cpus);
    g->busy = b0 < 0 || b1 < 0 ? -1 : b1 - b0;
    g->wall = clock_s(CLOCK_MONOTONIC) - w0;
    atomic_store(&g->stop, true);
    for (int i = 0; i < g->nloops; i++)
        if (t[i]) {
            cor_await(t[i], NULL);
            cor_task_release(t[i]);
        }
    g->reqs_all = reqs_now(g);
    free(t);
    return NULL;
}

/* ---------------------------------------------------------------- rows -- */

void ns_cpu_list(char *buf, size_t cap, const int *cpus, int n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len < cap; i++) {
        int j = i;
        while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
            j++;
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? "," : "",
                                cpus[i]);
        if (j > i && len < cap)
            len += (size_t)snprintf(buf + len, cap - len, "-%d", cpus[j]);
        i = j;
    }
}

/* The CPUs of an L-loop server: the server CPUs first, then (sharing) the
 * generator's, then any other; loop i is pinned to the i-th of them. */
static int server_cpus_for(int loops, int *cpus, bool *shared)
{
    int n = 0;
    *shared = false;
    for (int i = 0; i < ns_opt.nsrv && n < loops; i++)
        cpus[n++] = ns_opt.srv_cpus[i];
    for (int i = 0; i < ns_opt.ncli && n < loops; i++)
        cpus[n++] = ns_opt.cli_cpus[i];
    for (int i = 0; i < ns_opt.nall && n < loops; i++)
        if (!ns_has_cpu(cpus, n, ns_opt.all_cpus[i]))
            cpus[n++] = ns_opt.all_cpus[i];
    for (int i = 0; i < n; i++)
        *shared |= ns_has_cpu(ns_opt.cli_cpus, ns_opt.ncli, cpus[i]);
    return n; /* < loops: more loops than CPUs, they double up */
}

static const char *limit_of(const struct ns_row *r)
{
    bool srv = r->srv_share >= SATURATED, gen = r->gen_share >= SATURATED;
    if (r->shared)
        return "shared cores";
    if (srv && gen)
        return "server and generator";
    if (srv)
        return "server";
    if (gen)
        return "generator";
    if (r->others >= OTHERS)
        return "other processes";
    return "neither CPU saturated";
}

static double percentile(const uint64_t *h, uint64_t total, double p)
{
    uint64_t want = (uint64_t)ceil(p * (double)total), acc = 0;
    for (int b = 0; b < NBUCKET; b++)
        if ((acc += h[b]) >= want && acc > 0)
            return bucket_ns(b) / 1e3;
    return 0;
}

/* Runs the generator on the client CPUs (this thread, pinned there for the
 * run) against the server on `port`.  Returns 0 or -errno. */
static int run_generator(struct gen *g)
{
    g->loop = aligned_alloc(64, (size_t)g->nloops * sizeof *g->loop);
    g->clk = calloc((size_t)g->nloops, sizeof *g->clk);
    if (!g->loop || !g->clk)
        return -ENOMEM;
    memset(g->loop, 0, (size_t)g->nloops * sizeof *g->loop);
    for (int i = 0; i < g->nloops; i++)
        g->loop[i] =
            (struct gen_loop){.clk = &g->clk[i], .g = g, .conns = ns_opt.conns};
    CPU_ZERO(&g->cpus);
    for (int i = 0; i < ns_opt.ncli; i++)
        CPU_SET(ns_opt.cli_cpus[i], &g->cpus);
    CPU_OR(&g->row_cpus, &g->cpus, &g->srv->cpus);
    g->deadline =
        cor_now_ns() + (int64_t)((ns_opt.warmup + ns_opt.duration + 5) * 1e9);
    cpu_set_t saved;
    pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
    pthread_setaffinity_np(pthread_self(), sizeof g->cpus, &g->cpus);
    cor_run_opts o = {.loops = g->nloops, .pin = COR_PIN_ALWAYS};
    int rc = cor_run_ex(gen_main, g, &o, NULL);
    pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    return rc;
}

/* The row's figures from a finished run. */
static void row_results(struct ns_row *r, const struct gen *g,
                        const struct server *s)
{
    static uint64_t hist[NBUCKET];
    memset(hist, 0, sizeof hist);
    uint64_t samples = 0, se = 0, ge = 0;
    for (int i = 0; i < r->loops; i++)
        se += s->clk[i].enters;
    for (int i = 0; i < g->nloops; i++) {
        ge += g->clk[i].enters;
        for (int b = 0; b < NBUCKET; b++) {
            hist[b] += g->loop[i].hist[b];
            samples += g->loop[i].hist[b];
        }
        if (g->loop[i].errors && !r->errors)
            r->first_error = g->loop[i].first_error;
        r->errors += g->loop[i].errors;
    }
    r->gen_loops = g->nloops;
    r->conns = g->nloops * ns_opt.conns;
    if (g->wall <= 0 || g->reqs == 0) {
        if (!r->first_error)
            r->first_error = -EIO;
        return;
    }
    r->ok = true;
    r->rps = (double)g->reqs / g->wall;
    r->p50_us = percentile(hist, samples, 0.50);
    r->p99_us = percentile(hist, samples, 0.99);
    r->cpu_per_mreq = g->srv_cpu / (double)g->reqs * 1e6;
    r->gen_cpu_per_mreq = g->gen_cpu / (double)g->reqs * 1e6;
    r->srv_share = g->srv_cpu / (r->loops * g->wall);
    r->gen_share = g->gen_cpu / (g->nloops * g->wall);
    r->srv_enters = s->counted ? (double)se / (double)g->reqs_all : -1;
    r->gen_enters = (double)ge / (double)g->reqs_all;
    r->others = g->busy < 0 ? -1
                            : fmax(0, (g->busy - g->srv_cpu - g->gen_cpu) /
                                          (CPU_COUNT(&g->row_cpus) * g->wall));
    r->limit = limit_of(r);
}

void ns_run_row(struct ns_row *r)
{
    static struct server s; /* large (clock ids): not on the stack */
    memset(&s, 0, sizeof s);
    int cpus[MAX_LOOPS];
    int n = server_cpus_for(r->loops, cpus, &r->shared);
    ns_cpu_list(r->srv_cpus, sizeof r->srv_cpus, cpus, n);
    s.loops = r->loops;
    s.handler =
        r->w->kind == ECHO ? netscale_echo_handler : netscale_http_handler;
    CPU_ZERO(&s.cpus);
    for (int i = 0; i < n; i++)
        CPU_SET(cpus[i], &s.cpus);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, server_thread, &s) != 0) {
        r->first_error = -EAGAIN;
        return;
    }
    pthread_mutex_lock(&s.mu);
    while (s.port == 0)
        pthread_cond_wait(&s.cv, &s.mu);
    int port = s.port;
    pthread_mutex_unlock(&s.mu);

    struct gen g = {.w = r->w,
                    .port = port,
                    .depth = r->w->depth > 1 ? ns_opt.depth : 1,
                    .nloops = ns_opt.ncli,
                    .srv = &s};
    int rc = port;
    if (port > 0) {
        rc = run_generator(&g);
        cor_call_soon_threadsafe(s.home, stop_server, &s);
    }
    pthread_join(th, NULL);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    if (rc < 0)
        r->first_error = rc; /* the run itself failed */
    else
        row_results(r, &g, &s);
    free(g.loop);
    free(g.clk);
}
