/* SPDX-License-Identifier: MIT */
/*
 * netscale.c - build/bench/netscale: does a coring server go faster with
 * more loops?  One process, loopback only, every run bounded in time:
 *
 *   - the server: examples/echo_server.c's handlers (netscale_server.c) on
 *     L loops, pinned to the server CPUs (default: the first half);
 *   - the load generator: coring too, one loop per client CPU (default: the
 *     other half), each with --conns connections, every connection a
 *     coroutine doing request, wait for the whole answer, repeat;
 *   - rows for L = 1, 2, 4, ... up to the server CPUs, for the workloads
 *     echo 64 B, echo 4 KiB, HTTP keep-alive and HTTP pipelined.
 *
 * Each row: requests/s, p50/p99 latency, the server's CPU-seconds per
 * million requests and its loops' CPU share (their own thread CPU clocks
 * over L x the measured wall time), the generator's CPU share, the scaling
 * ratio to the 1-loop row, and what limited it.  Output: `name: value unit`
 * lines, a table, a CSV, a gnuplot script and (with gnuplot) PNG and SVG
 * plots of throughput and CPU per request against loops.  docs/bench.md
 * tells how to read them.
 */
#include "netscale.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ROWS 64
#define MAX_LOOPS 1024
#define SATURATED 0.9 /* a CPU share at or above this: that side's limit */
#define OTHERS 0.2    /* other processes took at least this share */
#define IO_CAP 16384  /* a connection's receive buffer */

/* ------------------------------------------------------------ options -- */

enum kind { ECHO, HTTP };

struct workload {
    const char *id;    /* CSV and figure names */
    const char *label; /* the table's */
    enum kind kind;
    size_t size;       /* echo: message bytes */
    int depth;         /* HTTP: requests per send (1: keep-alive) */
};

static struct workload workloads[] = {
    {"echo64", "echo 64 B", ECHO, 64, 1},
    {"echo4k", "echo 4 KiB", ECHO, 4096, 1},
    {"http", "HTTP keep-alive", HTTP, 0, 1},
    {"http_pipe", "HTTP pipelined", HTTP, 0, 16},
};
#define NWORK (sizeof workloads / sizeof workloads[0])

static struct {
    int srv_cpus[MAX_LOOPS], nsrv; /* server CPUs, in pinning order */
    int cli_cpus[MAX_LOOPS], ncli; /* client CPUs: one generator loop each */
    int all_cpus[MAX_LOOPS], nall; /* CPUs this process may run on */
    int loops[MAX_ROWS], nloops;   /* server loop counts, one row each */
    bool run[NWORK];               /* workloads chosen */
    int conns;                     /* connections per generator loop */
    int depth;                     /* pipelined HTTP: requests per send */
    double warmup, duration;       /* seconds per row */
    const char *out;               /* PREFIX.csv, .gp, .png, .svg */
    bool lines, table, plot;
} opt = {.conns = 64, .depth = 16, .warmup = 0.3, .duration = 1.5,
         .out = "build/netscale", .lines = true, .table = true, .plot = true};

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
        "usage: %s [options]\n"
        "  --server-cpus LIST  CPUs of the server loops, e.g. 0-7 (default: "
        "the first half)\n"
        "  --client-cpus LIST  CPUs of the load generator, one loop each "
        "(default: the rest)\n"
        "  --loops LIST        server loop counts, e.g. 1,2,4 (default: 1, "
        "2, 4, ... up to the\n"
        "                      server CPUs; with one server CPU also 2, "
        "sharing cores)\n"
        "  --workloads LIST    of echo64,echo4k,http,http_pipe (default: "
        "all)\n"
        "  --conns N           connections per generator loop (64)\n"
        "  --depth N           pipelined HTTP: requests per send (16)\n"
        "  --duration S        measured seconds per row (1.5)\n"
        "  --warmup S          seconds before measuring (0.3)\n"
        "  --out PREFIX        writes PREFIX.csv, .gp, .png, .svg "
        "(build/netscale)\n"
        "  --no-plot           write the CSV and the script, do not run "
        "gnuplot\n"
        "  --table-only        no `name: value unit` lines\n"
        "  --lines-only        no table\n",
        prog);
}

static bool has_cpu(const int *cpus, int n, int cpu)
{
    for (int i = 0; i < n; i++)
        if (cpus[i] == cpu)
            return true;
    return false;
}

/* The CPUs this process may run on that are not in not[]; returns how
 * many went to out[]. */
static int cpus_except(const int *not, int nnot, int *out)
{
    int n = 0;
    for (int i = 0; i < opt.nall; i++)
        if (!has_cpu(not, nnot, opt.all_cpus[i]))
            out[n++] = opt.all_cpus[i];
    return n;
}

/* "0-3,8,10-11" -> cpus[]; each must be one this process may run on. */
static int parse_cpus(const char *s, int *cpus, int *n, const char *what)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *e;
        long a = strtol(p, &e, 10), b = a;
        if (e == p || a < 0 || a >= CPU_SETSIZE)
            goto bad;
        if (*e == '-') {
            p = e + 1;
            b = strtol(p, &e, 10);
            if (e == p || b < a || b >= CPU_SETSIZE)
                goto bad;
        }
        for (long c = a; c <= b; c++) {
            if (!has_cpu(opt.all_cpus, opt.nall, (int)c)) {
                fprintf(stderr, "netscale: %s: CPU %ld is not one this "
                        "process may run on\n", what, c);
                return -EINVAL;
            }
            if (*n == MAX_LOOPS)
                goto bad;
            cpus[(*n)++] = (int)c;
        }
        p = e;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    if (*n > 0)
        return 0;
bad:
    fprintf(stderr, "netscale: %s: bad CPU list \"%s\"\n", what, s);
    return -EINVAL;
}

static int parse_loops(const char *s)
{
    opt.nloops = 0;
    const char *p = s;
    while (*p) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 1 || v > MAX_LOOPS || opt.nloops == MAX_ROWS)
            goto bad;
        opt.loops[opt.nloops++] = (int)v;
        p = *e == ',' ? e + 1 : e;
        if (*e && *e != ',')
            goto bad;
    }
    if (opt.nloops > 0)
        return 0;
bad:
    fprintf(stderr, "netscale: --loops: bad list \"%s\"\n", s);
    return -EINVAL;
}

static int parse_workloads(const char *s)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    memset(opt.run, 0, sizeof opt.run);
    bool any = false;
    for (char *save, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        size_t w = 0;
        while (w < NWORK && strcmp(workloads[w].id, t))
            w++;
        if (w == NWORK) {
            fprintf(stderr, "netscale: unknown workload \"%s\" (echo64, "
                    "echo4k, http, http_pipe)\n", t);
            return -EINVAL;
        }
        opt.run[w] = any = true;
    }
    return any ? 0 : -EINVAL;
}

static double parse_seconds(const char *s, const char *what)
{
    char *e;
    double v = strtod(s, &e);
    if (e == s || *e || !(v > 0) || v > 60) {
        fprintf(stderr, "netscale: %s: want seconds in (0, 60]\n", what);
        return -1;
    }
    return v;
}

static int parse_args(int argc, char **argv)
{
    enum { SRV = 256, CLI, LOOPS, WORK, CONNS, DEPTH, DUR, WARM, OUT, NOPLOT,
           TABLE, LINES, HELP };
    static const struct option lo[] = {
        {"server-cpus", required_argument, NULL, SRV},
        {"client-cpus", required_argument, NULL, CLI},
        {"loops", required_argument, NULL, LOOPS},
        {"workloads", required_argument, NULL, WORK},
        {"conns", required_argument, NULL, CONNS},
        {"depth", required_argument, NULL, DEPTH},
        {"duration", required_argument, NULL, DUR},
        {"warmup", required_argument, NULL, WARM},
        {"out", required_argument, NULL, OUT},
        {"no-plot", no_argument, NULL, NOPLOT},
        {"table-only", no_argument, NULL, TABLE},
        {"lines-only", no_argument, NULL, LINES},
        {"help", no_argument, NULL, HELP},
        {NULL, 0, NULL, 0},
    };
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -errno;
    for (int c = 0; c < CPU_SETSIZE && opt.nall < MAX_LOOPS; c++)
        if (CPU_ISSET(c, &set))
            opt.all_cpus[opt.nall++] = c;
    for (size_t w = 0; w < NWORK; w++)
        opt.run[w] = true;
    bool srv = false, cli = false;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case SRV:
            rc = parse_cpus(optarg, opt.srv_cpus, &opt.nsrv, "--server-cpus");
            srv = true;
            break;
        case CLI:
            rc = parse_cpus(optarg, opt.cli_cpus, &opt.ncli, "--client-cpus");
            cli = true;
            break;
        case LOOPS: rc = parse_loops(optarg); break;
        case WORK: rc = parse_workloads(optarg); break;
        case CONNS:
            opt.conns = atoi(optarg);
            rc = opt.conns >= 1 && opt.conns <= 4096 ? 0 : -EINVAL;
            break;
        case DEPTH:
            opt.depth = atoi(optarg);
            rc = opt.depth >= 1 && opt.depth <= 128 ? 0 : -EINVAL;
            break;
        case DUR:
            rc = (opt.duration = parse_seconds(optarg, "--duration")) > 0
                     ? 0 : -EINVAL;
            break;
        case WARM:
            rc = (opt.warmup = parse_seconds(optarg, "--warmup")) > 0
                     ? 0 : -EINVAL;
            break;
        case OUT: opt.out = optarg; break;
        case NOPLOT: opt.plot = false; break;
        case TABLE: opt.lines = false; break;
        case LINES: opt.table = false; break;
        case HELP: case 'h': usage(stdout, argv[0]); exit(0);
        default: rc = -EINVAL;
        }
    }
    if (rc < 0 || optind < argc) {
        usage(stderr, argv[0]);
        return -EINVAL;
    }
    /* Default split: the first half serves, the rest generates load; one
     * CPU serves and generates both. */
    int half = opt.nall > 1 ? opt.nall / 2 : 1;
    if (!srv && cli) { /* the CPUs the client does not have, if any */
        opt.nsrv = cpus_except(opt.cli_cpus, opt.ncli, opt.srv_cpus);
        if (opt.nsrv == 0)
            opt.nsrv = cpus_except(NULL, 0, opt.srv_cpus);
    } else if (!srv) {
        memcpy(opt.srv_cpus, opt.all_cpus, (size_t)half * sizeof(int));
        opt.nsrv = half;
    }
    if (!cli) {
        opt.ncli = cpus_except(opt.srv_cpus, opt.nsrv, opt.cli_cpus);
        if (opt.ncli == 0)
            opt.cli_cpus[opt.ncli++] = opt.all_cpus[opt.nall - 1];
    }
    if (opt.nloops == 0) {
        for (int l = 1; l <= opt.nsrv; l *= 2)
            opt.loops[opt.nloops++] = l;
        if (opt.loops[opt.nloops - 1] != opt.nsrv)
            opt.loops[opt.nloops++] = opt.nsrv;
        else if (opt.nsrv == 1 && opt.nall > 1)
            opt.loops[opt.nloops++] = 2; /* shares a core: marked so */
    }
    return 0;
}

/* ------------------------------------------------------- CPU and time -- */

static double clock_s(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records the calling loop thread's CPU clock (a task spawned on each loop
 * of a runtime), so that another thread can read it while the loop runs. */
struct loop_clock {
    clockid_t id;
    _Atomic bool ok;
};

static void *note_clock(void *arg)
{
    struct loop_clock *c = arg;
    if (pthread_getcpuclockid(pthread_self(), &c->id) == 0)
        atomic_store(&c->ok, true);
    return NULL;
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
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu",
                   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
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
    cpu_set_t cpus;            /* loop i runs on the i-th CPU of this set */
    struct loop_clock clk[MAX_LOOPS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int port;                  /* > 0 listening, < 0 failed, 0 booting */
    cor_loop *home;            /* the loop of server_main */
    cor_future *stop;          /* resolved on home, from the main thread */
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
    for (int i = 0; rc == 0 && i < s->loops; i++) {
        cor_task *t = cor_spawn_on(i, note_clock, &s->clk[i]);
        rc = t ? cor_await(t, NULL) : -ENOMEM;
        if (t)
            cor_task_release(t);
    }
    cor_server_opts o = {.loops = s->loops, .nodelay = true};
    if (rc == 0)
        rc = cor_server_start(&srv, "127.0.0.1", 0, s->handler, NULL, &o);
    s->home = cor_loop_current();
    publish(s, rc < 0 ? rc : cor_server_port(srv));
    if (rc == 0) {
        cor_future_await(s->stop, NULL);
        cor_server_stop(srv);
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
    struct loop_clock clk;
    uint64_t hist[NBUCKET]; /* read after the generator's run */
    int errors, first_error;
    int conns;
    struct gen *g;
} __attribute__((aligned(64)));

struct gen {
    const struct workload *w;
    int port, depth;
    int nloops;
    cpu_set_t cpus;
    struct gen_loop *loop;
    struct server *srv;
    _Atomic bool measuring, stop;
    int64_t deadline; /* cor_now_ns(): every connection ends by then */
    cpu_set_t row_cpus; /* the server's and the generator's CPUs */
    /* the measured window */
    double wall, srv_cpu, gen_cpu, busy; /* busy < 0: unknown */
    uint64_t reqs;
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
static int http_responses(const char *buf, size_t len, int want,
                          size_t *used)
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
    const struct workload *w = g->w;
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
    note_clock(&gl->clk);
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
    return NULL;
}

static uint64_t reqs_now(struct gen *g)
{
    uint64_t s = 0;
    for (int i = 0; i < g->nloops; i++)
        s += atomic_load_explicit(&g->loop[i].reqs, memory_order_relaxed);
    return s;
}

static void gen_cpu_clocks(struct gen *g, struct loop_clock *c)
{
    for (int i = 0; i < g->nloops; i++)
        c[i] = (struct loop_clock){g->loop[i].clk.id,
                                   atomic_load(&g->loop[i].clk.ok)};
}

/* The generator's main task: starts every loop's connections, lets them
 * warm up, then measures one window: requests, wall time and the CPU time
 * of the server's and the generator's loop threads. */
static void *gen_main(void *arg)
{
    struct gen *g = arg;
    cor_task **t = calloc((size_t)g->nloops, sizeof *t);
    struct loop_clock *gc = calloc((size_t)g->nloops, sizeof *gc);
    if (!t || !gc) {
        free(t);
        free(gc);
        return cor_fail(-ENOMEM, "generator");
    }
    for (int i = 0; i < g->nloops; i++)
        t[i] = cor_spawn_on(i, gen_loop_main, &g->loop[i]);
    cor_sleep(opt.warmup);
    gen_cpu_clocks(g, gc);
    double w0 = clock_s(CLOCK_MONOTONIC), s0 = cpu_of(g->srv->clk,
                                                       g->srv->loops);
    double c0 = cpu_of(gc, g->nloops), b0 = busy_s(&g->row_cpus);
    uint64_t r0 = reqs_now(g);
    atomic_store(&g->measuring, true);
    cor_sleep(opt.duration);
    atomic_store(&g->measuring, false);
    g->reqs = reqs_now(g) - r0;
    g->srv_cpu = cpu_of(g->srv->clk, g->srv->loops) - s0;
    g->gen_cpu = cpu_of(gc, g->nloops) - c0;
    double b1 = busy_s(&g->row_cpus);
    g->busy = b0 < 0 || b1 < 0 ? -1 : b1 - b0;
    g->wall = clock_s(CLOCK_MONOTONIC) - w0;
    atomic_store(&g->stop, true);
    for (int i = 0; i < g->nloops; i++)
        if (t[i]) {
            cor_await(t[i], NULL);
            cor_task_release(t[i]);
        }
    free(t);
    free(gc);
    return NULL;
}

/* ---------------------------------------------------------------- rows -- */

struct row {
    const struct workload *w;
    int loops, gen_loops, conns;
    char srv_cpus[128];
    bool shared;     /* a server loop runs on a generator CPU */
    bool ok;
    double rps, p50_us, p99_us, cpu_per_mreq, srv_share, gen_share, scaling;
    double others;   /* share of the row's CPUs other work took; < 0: ? */
    const char *limit;
    int errors, first_error;
};

static void cpu_list(char *buf, size_t cap, const int *cpus, int n)
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
    for (int i = 0; i < opt.nsrv && n < loops; i++)
        cpus[n++] = opt.srv_cpus[i];
    for (int i = 0; i < opt.ncli && n < loops; i++)
        cpus[n++] = opt.cli_cpus[i];
    for (int i = 0; i < opt.nall && n < loops; i++)
        if (!has_cpu(cpus, n, opt.all_cpus[i]))
            cpus[n++] = opt.all_cpus[i];
    for (int i = 0; i < n; i++)
        *shared |= has_cpu(opt.cli_cpus, opt.ncli, cpus[i]);
    return n; /* < loops: more loops than CPUs, they double up */
}

static const char *limit_of(const struct row *r)
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

static void run_row(struct row *r)
{
    static struct server s; /* large (clock ids): not on the stack */
    memset(&s, 0, sizeof s);
    int cpus[MAX_LOOPS];
    int n = server_cpus_for(r->loops, cpus, &r->shared);
    cpu_list(r->srv_cpus, sizeof r->srv_cpus, cpus, n);
    s.loops = r->loops;
    s.handler = r->w->kind == ECHO ? netscale_echo_handler
                                   : netscale_http_handler;
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

    struct gen g = {.w = r->w, .port = port, .depth = r->w->depth > 1
                                                          ? opt.depth : 1,
                    .nloops = opt.ncli, .srv = &s};
    g.loop = aligned_alloc(64, (size_t)g.nloops * sizeof *g.loop);
    if (port > 0 && g.loop) {
        memset(g.loop, 0, (size_t)g.nloops * sizeof *g.loop);
        for (int i = 0; i < g.nloops; i++) {
            g.loop[i].g = &g;
            g.loop[i].conns = opt.conns;
        }
        CPU_ZERO(&g.cpus);
        for (int i = 0; i < opt.ncli; i++)
            CPU_SET(opt.cli_cpus[i], &g.cpus);
        CPU_OR(&g.row_cpus, &g.cpus, &s.cpus);
        g.deadline = cor_now_ns() +
                     (int64_t)((opt.warmup + opt.duration + 5) * 1e9);
        cpu_set_t saved;
        pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
        pthread_setaffinity_np(pthread_self(), sizeof g.cpus, &g.cpus);
        cor_run_opts o = {.loops = g.nloops, .pin = COR_PIN_ALWAYS};
        int rc = cor_run_ex(gen_main, &g, &o, NULL);
        pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
        if (rc < 0)
            r->first_error = rc;
        cor_call_soon_threadsafe(s.home, stop_server, &s);
    } else if (port < 0) {
        r->first_error = port;
    } else {
        r->first_error = -ENOMEM;
        cor_call_soon_threadsafe(s.home, stop_server, &s);
    }
    pthread_join(th, NULL);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    if (!g.loop)
        return;

    static uint64_t hist[NBUCKET];
    memset(hist, 0, sizeof hist);
    uint64_t samples = 0;
    for (int i = 0; i < g.nloops; i++) {
        for (int b = 0; b < NBUCKET; b++) {
            hist[b] += g.loop[i].hist[b];
            samples += g.loop[i].hist[b];
        }
        if (g.loop[i].errors && !r->errors)
            r->first_error = g.loop[i].first_error;
        r->errors += g.loop[i].errors;
    }
    free(g.loop);
    r->gen_loops = g.nloops;
    r->conns = g.nloops * opt.conns;
    if (r->first_error < 0 && r->errors == 0)
        return; /* the run itself failed */
    if (g.wall <= 0 || g.reqs == 0) {
        if (!r->first_error)
            r->first_error = -EIO;
        return;
    }
    r->ok = true;
    r->rps = (double)g.reqs / g.wall;
    r->p50_us = percentile(hist, samples, 0.50);
    r->p99_us = percentile(hist, samples, 0.99);
    r->cpu_per_mreq = g.srv_cpu / (double)g.reqs * 1e6;
    r->srv_share = g.srv_cpu / (r->loops * g.wall);
    r->gen_share = g.gen_cpu / (g.nloops * g.wall);
    r->others = g.busy < 0 ? -1
                           : fmax(0, (g.busy - g.srv_cpu - g.gen_cpu) /
                                         (CPU_COUNT(&g.row_cpus) * g.wall));
    r->limit = limit_of(r);
}

/* ------------------------------------------------------------- output -- */

static void print_lines(const struct row *r)
{
    if (!opt.lines)
        return;
    const char *id = r->w->id;
    int l = r->loops;
    if (!r->ok) {
        printf("netscale_%s_l%d_failed: %d errno\n", id, l, r->first_error);
        fflush(stdout);
        return;
    }
    printf("netscale_%s_l%d_req_per_s: %.0f req/s\n", id, l, r->rps);
    printf("netscale_%s_l%d_p50_us: %.1f us\n", id, l, r->p50_us);
    printf("netscale_%s_l%d_p99_us: %.1f us\n", id, l, r->p99_us);
    printf("netscale_%s_l%d_server_cpu_s_per_mreq: %.2f s/Mreq\n", id, l,
           r->cpu_per_mreq);
    printf("netscale_%s_l%d_server_cpu_share: %.2f x\n", id, l,
           r->srv_share);
    printf("netscale_%s_l%d_gen_cpu_share: %.2f x\n", id, l, r->gen_share);
    if (r->others >= 0)
        printf("netscale_%s_l%d_others_cpu_share: %.2f x\n", id, l,
               r->others);
    printf("netscale_%s_l%d_scaling: %.2f x\n", id, l, r->scaling);
    printf("netscale_%s_l%d_shares_cores: %d bool\n", id, l, r->shared);
    fflush(stdout);
}

/* Creates the directory part of opt.out (one level is enough for the
 * default build/; a deeper missing path fails at fopen and says so). */
static void make_out_dir(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", opt.out);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0777); /* EEXIST is fine */
    }
}

static FILE *open_out(const char *ext, char *path, size_t cap)
{
    snprintf(path, cap, "%s.%s", opt.out, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "netscale: cannot write %s: %s\n", path,
                strerror(errno));
    return f;
}

static int write_csv(const struct row *rows, int n, char *path, size_t cap)
{
    FILE *f = open_out("csv", path, cap);
    if (!f)
        return -1;
    fprintf(f, "workload,loops,server_cpus,shares_cores,generator_loops,"
               "connections,req_per_s,p50_us,p99_us,server_cpu_s_per_mreq,"
               "server_cpu_share,generator_cpu_share,others_cpu_share,scaling,"
               "limit,errors\n");
    for (int i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        if (!r->ok)
            continue;
        fprintf(f, "%s,%d,\"%s\",%d,%d,%d,%.0f,%.1f,%.1f,%.3f,%.3f,%.3f,"
                   "%.3f,%.3f,%s,%d\n",
                r->w->id, r->loops, r->srv_cpus, r->shared, r->gen_loops,
                r->conns, r->rps, r->p50_us, r->p99_us, r->cpu_per_mreq,
                r->srv_share, r->gen_share, r->others, r->scaling, r->limit,
                r->errors);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* A self-contained gnuplot script (the data inline): two panels against
 * loops, throughput and server CPU per request, a line per workload;
 * rows whose server shares cores with the generator drawn open. */
static int write_gp(const struct row *rows, int n, const char *title,
                    char *path, size_t cap)
{
    FILE *f = open_out("gp", path, cap);
    if (!f)
        return -1;
    int maxl = 1;
    for (int i = 0; i < n; i++)
        if (rows[i].ok && rows[i].loops > maxl)
            maxl = rows[i].loops;
    fprintf(f, "# netscale: throughput and server CPU per request against "
               "server loops\n# gnuplot %s.gp  (writes %s.png and %s.svg)\n",
            opt.out, opt.out, opt.out);
    int blocks = 0;
    const struct workload *ws[NWORK];
    for (size_t w = 0; w < NWORK; w++) {
        bool any = false;
        for (int i = 0; i < n; i++)
            any |= rows[i].ok && rows[i].w == &workloads[w];
        if (!any)
            continue;
        ws[blocks++] = &workloads[w];
        fprintf(f, "$%s << EOD\n# loops req_per_s cpu_us_per_req shared\n",
                workloads[w].id);
        for (int i = 0; i < n; i++)
            if (rows[i].ok && rows[i].w == &workloads[w])
                fprintf(f, "%d %.0f %.3f %d\n", rows[i].loops, rows[i].rps,
                        rows[i].cpu_per_mreq, rows[i].shared);
        fprintf(f, "EOD\n");
    }
    fprintf(f,
        "set datafile commentschars '#'\n"
        "set logscale x 2\nset xrange [0.8:%g]\nset xtics 1,2,%d\n"
        "set grid\nset key below horizontal maxrows 1 spacing 1.5\n"
        "set bmargin 7\nset xlabel 'server loops'\n"
        "do for [out in 'png svg'] {\n"
        "  if (out eq 'png') { set terminal pngcairo size 1200,520 "
        "font ',10' } else { set terminal svg size 1200,520 "
        "font 'sans,10' }\n"
        "  set output '%s.'.out\n"
        "  set multiplot layout 1,2 title \"%s\\n(open points: the server "
        "shares CPUs with the load generator)\"\n"
        "  set ylabel 'requests/s (thousands, log scale)'\n"
        "  set title 'throughput'\n  set logscale y\n  set yrange [*:*]\n",
        maxl * 1.25, maxl, opt.out, title);
    const char *panels[2][2] = {{"($2/1000)", "throughput"},
                                {"3", "server CPU per request (us)"}};
    for (int p = 0; p < 2; p++) {
        if (p)
            fprintf(f, "  unset logscale y\n  set yrange [0:*]\n"
                       "  set ylabel 'server CPU us per request "
                       "(= CPU-s per million)'\n  set title '%s'\n",
                    panels[p][1]);
        fprintf(f, "  plot ");
        for (int b = 0; b < blocks; b++)
            fprintf(f, "%s$%s using 1:%s with lines lc %d lw 2 title '%s', "
                       "$%s using 1:%s:($4 != 0 ? 6 : 7) with points lc %d ps 1.5 "
                       "pt variable notitle",
                    b ? ", \\\n       " : "", ws[b]->id, panels[p][0],
                    b + 1, ws[b]->label, ws[b]->id, panels[p][0], b + 1);
        fprintf(f, "\n");
    }
    fprintf(f, "  unset multiplot\n  set output\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Runs gnuplot on the script; returns its exit status, or -ENOENT when
 * there is no gnuplot on PATH. */
static int run_gnuplot(const char *gp)
{
    pid_t pid;
    char *argv[] = {"gnuplot", (char *)gp, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -rc;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return -ENOENT;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void print_table(const struct row *rows, int n)
{
    printf("\n%-16s %5s %10s %8s %8s %8s %7s %7s %7s %7s\n", "workload",
           "loops", "req/s", "p50 us", "p99 us", "srv CPU", "srv CPU",
           "gen CPU", "others", "scaling");
    printf("%-16s %5s %10s %8s %8s %8s %7s %7s %7s %7s\n", "", "", "", "",
           "", "s/Mreq", "share", "share", "share", "to 1");
    for (int i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        char loops[16];
        snprintf(loops, sizeof loops, "%d%s", r->loops, r->shared ? "*" : "");
        if (!r->ok) {
            printf("%-16s %5s  failed: %s\n", r->w->label, loops,
                   cor_strerror(r->first_error));
            continue;
        }
        char others[16] = "-";
        if (r->others >= 0)
            snprintf(others, sizeof others, "%.2f", r->others);
        printf("%-16s %5s %10.0f %8.1f %8.1f %8.2f %7.2f %7.2f %7s %6.2fx  "
               "limit: %s\n",
               r->w->label, loops, r->rps, r->p50_us, r->p99_us,
               r->cpu_per_mreq, r->srv_share, r->gen_share, others,
               r->scaling, r->limit);
        if (r->errors)
            printf("%-16s %5s  %d connection error(s), the first: %s\n", "",
                   "", r->errors, cor_strerror(r->first_error));
    }
}

static const struct row *one_loop_row(const struct row *rows, int n,
                                     const struct workload *w)
{
    for (int i = 0; i < n; i++)
        if (rows[i].ok && rows[i].w == w && rows[i].loops == 1)
            return &rows[i];
    return NULL;
}

/* Where a row does not scale as its loops (below 0.8 x, or above 1.25 x
 * them), say why. */
static void print_why(const struct row *rows, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        const struct row *one = one_loop_row(rows, n, r->w);
        if (!r->ok || r->loops == 1 || !one ||
            (r->scaling >= 0.8 * r->loops && r->scaling <= 1.25 * r->loops))
            continue;
        if (!any)
            printf("\nWhere a row does not scale as its loops:\n");
        any = true;
        printf("  %s, %d loops: %.2fx the 1-loop row: ", r->w->label,
               r->loops, r->scaling);
        if (r->scaling > 1.25 * r->loops)
            printf("more than %d times: the 1-loop row was held back\n    "
                   "(its limit: %s; server %.2f, generator %.2f, others "
                   "%.2f of its CPUs).\n", r->loops, one->limit,
                   one->srv_share, one->gen_share, fmax(0, one->others));
        else if (r->shared)
            printf("the server's loops run on CPUs %s, which the load "
                   "generator uses too:\n    the two sides share cores, so "
                   "this row cannot show scaling.\n", r->srv_cpus);
        else if (r->gen_share >= SATURATED && r->srv_share < SATURATED)
            printf("the load generator's CPUs are saturated (%.2f) while "
                   "the server's are not (%.2f):\n    the generator is the "
                   "limit; give it more CPUs (--client-cpus).\n",
                   r->gen_share, r->srv_share);
        else if (r->srv_share >= SATURATED)
            printf("the server's loops are saturated (%.2f) and each "
                   "request cost %.2f us of server CPU:\n    the server is "
                   "the limit.\n", r->srv_share, r->cpu_per_mreq);
        else if (r->others >= OTHERS)
            printf("other processes took %.2f of these CPUs (server "
                   "%.2f, generator %.2f):\n    the figures measure a "
                   "shared machine; rerun on a quiet one.\n", r->others,
                   r->srv_share, r->gen_share);
        else
            printf("neither side's CPU is saturated (server %.2f, "
                   "generator %.2f) and\n    other processes took %.2f: "
                   "too few connections (--conns)?\n", r->srv_share,
                   r->gen_share, r->others < 0 ? 0 : r->others);
    }
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) < 0)
        return 2;
    struct row rows[MAX_ROWS * NWORK];
    int n = 0;
    for (size_t w = 0; w < NWORK; w++)
        for (int i = 0; opt.run[w] && i < opt.nloops; i++)
            rows[n++] = (struct row){.w = &workloads[w],
                                     .loops = opt.loops[i]};
    /* Every run stops by itself: each connection has a deadline; this is
     * the backstop should a row hang anyway. */
    alarm((unsigned)(n * (opt.warmup + opt.duration + 10) + 30));

    char srv[128], cli[128], title[512];
    cpu_list(srv, sizeof srv, opt.srv_cpus, opt.nsrv);
    cpu_list(cli, sizeof cli, opt.cli_cpus, opt.ncli);
    snprintf(title, sizeof title, "coring netscale: server on CPUs %s, load "
             "generator on CPUs %s (%d loop%s x %d connections), %d CPUs",
             srv, cli, opt.ncli, opt.ncli > 1 ? "s" : "", opt.conns,
             opt.nall);
    if (opt.table) {
        printf("netscale: a coring server on L loops (CPUs %s) against a "
               "coring load\ngenerator on %d loop%s (CPUs %s), %d "
               "connections each, over loopback;\n%g s measured per row "
               "after %g s of warm-up.  This machine has %d CPU(s).\n",
               srv, opt.ncli, opt.ncli > 1 ? "s" : "", cli, opt.conns,
               opt.duration, opt.warmup,
               opt.nall);
        if (opt.nall <= 3)
            printf("Only %d CPUs: one side per core, the server on %s and "
                   "the generator on %s;\nrows with more server loops than "
                   "that are marked * and share cores.\n",
                   opt.nall, srv, cli);
        printf("\n");
        fflush(stdout);
    }
    if (opt.lines) {
        printf("netscale_cpus: %d cpus\n", opt.nall);
        printf("netscale_server_cpus: %d cpus\n", opt.nsrv);
        printf("netscale_generator_loops: %d loops\n", opt.ncli);
        printf("netscale_connections_per_generator_loop: %d conns\n",
               opt.conns);
    }
    for (int i = 0; i < n; i++) {
        struct row *r = &rows[i];
        run_row(r);
        const struct row *one = one_loop_row(rows, n, r->w);
        if (r->ok && one)
            r->scaling = r->rps / one->rps;
        if (opt.table && !opt.lines && r->ok)
            fprintf(stderr, "  %s, %d loop%s: %.0f req/s\n", r->w->label,
                    r->loops, r->loops > 1 ? "s" : "", r->rps);
        print_lines(r);
    }
    if (opt.table) {
        print_table(rows, n);
        print_why(rows, n);
    }

    make_out_dir();
    char csv[4096], gp[4096];
    int rc = write_csv(rows, n, csv, sizeof csv);
    if (write_gp(rows, n, title, gp, sizeof gp) < 0)
        rc = -1;
    if (rc == 0) {
        printf("\nCSV: %s\n", csv);
        int g = opt.plot ? run_gnuplot(gp) : -ECHILD;
        if (g == 0)
            printf("plot: %s.png and %s.svg (gnuplot script %s)\n", opt.out,
                   opt.out, gp);
        else if (g == -ENOENT)
            printf("gnuplot is not installed: no plot drawn; the script is "
                   "%s\n(run `gnuplot %s` where gnuplot is).\n", gp, gp);
        else if (g == -ECHILD)
            printf("gnuplot script: %s (not run: --no-plot)\n", gp);
        else
            printf("gnuplot failed (status %d) on %s: no plot\n", g, gp);
    }
    for (int i = 0; i < n; i++)
        if (!rows[i].ok)
            rc = -1;
    return rc < 0;
}
