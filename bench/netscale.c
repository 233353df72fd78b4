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
 * over L x the measured wall time), the generator's CPU share, the share
 * other processes took, io_uring_enter calls per request, the scaling
 * ratio to the 1-loop row, and what limited it.  Output: `name: value unit`
 * lines, a table, a CSV, a gnuplot script and (with gnuplot) PNG and SVG
 * plots of throughput and CPU per request against loops.  docs/bench.md
 * tells how to read them.  This file: the options and the run.
 */
#include "netscale.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct ns_workload ns_workloads[NWORK] = {
    {"echo64", "echo 64 B", ECHO, 64, 1},
    {"echo4k", "echo 4 KiB", ECHO, 4096, 1},
    {"http", "HTTP keep-alive", HTTP, 0, 1},
    {"http_pipe", "HTTP pipelined", HTTP, 0, 16},
};

struct ns_opts ns_opt = {.conns = 64,
                         .depth = 16,
                         .warmup = 0.3,
                         .duration = 1.5,
                         .out = "build/netscale",
                         .lines = true,
                         .table = true,
                         .plot = true};

static void usage(FILE *f, const char *prog)
{
    fprintf(
        f,
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

bool ns_has_cpu(const int *cpus, int n, int cpu)
{
    for (int i = 0; i < n; i++)
        if (cpus[i] == cpu)
            return true;
    return false;
}

/* The CPUs this process may run on that are not in not[]; returns how
 * many went to out[]. */
static int cpus_except(const int * not, int nnot, int *out)
{
    int n = 0;
    for (int i = 0; i < ns_opt.nall; i++)
        if (!ns_has_cpu(not, nnot, ns_opt.all_cpus[i]))
            out[n++] = ns_opt.all_cpus[i];
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
            if (!ns_has_cpu(ns_opt.all_cpus, ns_opt.nall, (int)c)) {
                fprintf(stderr,
                        "netscale: %s: CPU %ld is not one this "
                        "process may run on\n",
                        what, c);
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
    ns_opt.nloops = 0;
    const char *p = s;
    while (*p) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 1 || v > MAX_LOOPS || ns_opt.nloops == MAX_ROWS)
            goto bad;
        ns_opt.loops[ns_opt.nloops++] = (int)v;
        p = *e == ',' ? e + 1 : e;
        if (*e && *e != ',')
            goto bad;
    }
    if (ns_opt.nloops > 0)
        return 0;
bad:
    fprintf(stderr, "netscale: --loops: bad list \"%s\"\n", s);
    return -EINVAL;
}

static int parse_workloads(const char *s)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    memset(ns_opt.run, 0, sizeof ns_opt.run);
    bool any = false;
    for (char *save, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        size_t w = 0;
        while (w < NWORK && strcmp(ns_workloads[w].id, t))
            w++;
        if (w == NWORK) {
            fprintf(stderr,
                    "netscale: unknown workload \"%s\" (echo64, "
                    "echo4k, http, http_pipe)\n",
                    t);
            return -EINVAL;
        }
        ns_opt.run[w] = any = true;
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
    enum {
        SRV = 256,
        CLI,
        LOOPS,
        WORK,
        CONNS,
        DEPTH,
        DUR,
        WARM,
        OUT,
        NOPLOT,
        TABLE,
        LINES,
        HELP
    };
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
    for (int c = 0; c < CPU_SETSIZE && ns_opt.nall < MAX_LOOPS; c++)
        if (CPU_ISSET(c, &set))
            ns_opt.all_cpus[ns_opt.nall++] = c;
    for (size_t w = 0; w < NWORK; w++)
        ns_opt.run[w] = true;
    bool srv = false, cli = false;
    int c, rc = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case SRV:
            rc = parse_cpus(optarg, ns_opt.srv_cpus, &ns_opt.nsrv,
                            "--server-cpus");
            srv = true;
            break;
        case CLI:
            rc = parse_cpus(optarg, ns_opt.cli_cpus, &ns_opt.ncli,
                            "--client-cpus");
            cli = true;
            break;
        case LOOPS:
            rc = parse_loops(optarg);
            break;
        case WORK:
            rc = parse_workloads(optarg);
            break;
        case CONNS:
            ns_opt.conns = atoi(optarg);
            rc = ns_opt.conns >= 1 && ns_opt.conns <= 4096 ? 0 : -EINVAL;
            break;
        case DEPTH:
            ns_opt.depth = atoi(optarg);
            rc = ns_opt.depth >= 1 && ns_opt.depth <= 128 ? 0 : -EINVAL;
            break;
        case DUR:
            rc = (ns_opt.duration = parse_seconds(optarg, "--duration")) > 0
                     ? 0
                     : -EINVAL;
            break;
        case WARM:
            rc = (ns_opt.warmup = parse_seconds(optarg, "--warmup")) > 0
                     ? 0
                     : -EINVAL;
            break;
        case OUT:
            ns_opt.out = optarg;
            break;
        case NOPLOT:
            ns_opt.plot = false;
            break;
        case TABLE:
            ns_opt.lines = false;
            break;
        case LINES:
            ns_opt.table = false;
            break;
        case HELP:
        case 'h':
            usage(stdout, argv[0]);
            exit(0);
        default:
            rc = -EINVAL;
        }
    }
    if (rc < 0 || optind < argc) {
        usage(stderr, argv[0]);
        return -EINVAL;
    }
    /* Default split: the first half serves, the rest generates load; one
     * CPU serves and generates both. */
    int half = ns_opt.nall > 1 ? ns_opt.nall / 2 : 1;
    if (!srv && cli) { /* the CPUs the client does not have, if any */
        ns_opt.nsrv =
            cpus_except(ns_opt.cli_cpus, ns_opt.ncli, ns_opt.srv_cpus);
        if (ns_opt.nsrv == 0)
            ns_opt.nsrv = cpus_except(NULL, 0, ns_opt.srv_cpus);
    } else if (!srv) {
        memcpy(ns_opt.srv_cpus, ns_opt.all_cpus, (size_t)half * sizeof(int));
        ns_opt.nsrv = half;
    }
    if (!cli) {
        ns_opt.ncli =
            cpus_except(ns_opt.srv_cpus, ns_opt.nsrv, ns_opt.cli_cpus);
        if (ns_opt.ncli == 0)
            ns_opt.cli_cpus[ns_opt.ncli++] = ns_opt.all_cpus[ns_opt.nall - 1];
    }
    if (ns_opt.nloops == 0) {
        for (int l = 1; l <= ns_opt.nsrv; l *= 2)
            ns_opt.loops[ns_opt.nloops++] = l;
        if (ns_opt.loops[ns_opt.nloops - 1] != ns_opt.nsrv)
            ns_opt.loops[ns_opt.nloops++] = ns_opt.nsrv;
        else if (ns_opt.nsrv == 1 && ns_opt.nall > 1)
            ns_opt.loops[ns_opt.nloops++] = 2; /* shares a core: marked so */
    }
    return 0;
}

/* A server CPU and a client CPU that are hardware threads of one core
 * ("3 and 11" into buf), from sysfs; buf is empty when there is none or
 * the topology cannot be read. */
static void smt_pair(char *buf, size_t cap)
{
    buf[0] = 0;
    for (int i = 0; i < ns_opt.nsrv; i++) {
        char path[128], list[256];
        snprintf(path, sizeof path,
                 "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
                 ns_opt.srv_cpus[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        bool got = fgets(list, sizeof list, f) != NULL;
        fclose(f);
        for (char *p = list; got && *p;) {
            char *e;
            long a = strtol(p, &e, 10), b = a;
            if (e == p)
                break;
            if (*e == '-')
                b = strtol(e + 1, &e, 10);
            for (long c = a; c <= b; c++)
                if (c != ns_opt.srv_cpus[i] &&
                    ns_has_cpu(ns_opt.cli_cpus, ns_opt.ncli, (int)c)) {
                    snprintf(buf, cap, "%d and %ld", ns_opt.srv_cpus[i], c);
                    return;
                }
            p = *e == ',' ? e + 1 : e;
            if (*p == '\n')
                break;
        }
    }
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) < 0)
        return 2;
    struct ns_row rows[MAX_ROWS * NWORK];
    int n = 0;
    for (size_t w = 0; w < NWORK; w++)
        for (int i = 0; ns_opt.run[w] && i < ns_opt.nloops; i++)
            rows[n++] = (struct ns_row){.w = &ns_workloads[w],
                                        .loops = ns_opt.loops[i]};
    /* Every run stops by itself: each connection has a deadline; this is
     * the backstop should a row hang anyway. */
    alarm((unsigned)(n * (ns_opt.warmup + ns_opt.duration + 10) + 30));

    char srv[128], cli[128], title[512], smt[64];
    smt_pair(smt, sizeof smt);
    ns_cpu_list(srv, sizeof srv, ns_opt.srv_cpus, ns_opt.nsrv);
    ns_cpu_list(cli, sizeof cli, ns_opt.cli_cpus, ns_opt.ncli);
    snprintf(title, sizeof title,
             "coring netscale: server on CPUs %s, load "
             "generator on CPUs %s (%d loop%s x %d connections), %d CPUs",
             srv, cli, ns_opt.ncli, ns_opt.ncli > 1 ? "s" : "", ns_opt.conns,
             ns_opt.nall);
    if (ns_opt.table) {
        printf("netscale: a coring server on L loops (CPUs %s) against a "
               "coring load\ngenerator on %d loop%s (CPUs %s), %d "
               "connections each, over loopback;\n%g s measured per row "
               "after %g s of warm-up.  This machine has %d CPU(s).\n",
               srv, ns_opt.ncli, ns_opt.ncli > 1 ? "s" : "", cli, ns_opt.conns,
               ns_opt.duration, ns_opt.warmup, ns_opt.nall);
        bool overlap = false;
        for (int i = 0; i < ns_opt.nsrv; i++)
            overlap |=
                ns_has_cpu(ns_opt.cli_cpus, ns_opt.ncli, ns_opt.srv_cpus[i]);
        if (overlap)
            printf("The server's and the generator's CPUs overlap: every "
                   "row shares cores and is\nmarked *.\n");
        else if (ns_opt.nall <= 3)
            printf("Only %d CPUs: one side per core, the server on %s and "
                   "the generator on %s;\nrows with more server loops than "
                   "that are marked * and share cores.\n",
                   ns_opt.nall, srv, cli);
        if (smt[0])
            printf("CPUs %s are hardware threads of one core (SMT): the "
                   "server and the\ngenerator share that core's execution "
                   "units in every row.\n",
                   smt);
        printf("\n");
        fflush(stdout);
    }
    if (ns_opt.lines) {
        printf("netscale_cpus: %d cpus\n", ns_opt.nall);
        printf("netscale_server_cpus: %d cpus\n", ns_opt.nsrv);
        printf("netscale_generator_loops: %d loops\n", ns_opt.ncli);
        printf("netscale_smt_shared: %d bool\n", smt[0] != 0);
        printf("netscale_connections_per_generator_loop: %d conns\n",
               ns_opt.conns);
    }
    for (int i = 0; i < n; i++) {
        struct ns_row *r = &rows[i];
        ns_run_row(r);
        const struct ns_row *one = ns_one_loop_row(rows, n, r->w);
        if (r->ok && one)
            r->scaling = r->rps / one->rps;
        if (ns_opt.table && !ns_opt.lines && r->ok)
            fprintf(stderr, "  %s, %d loop%s: %.0f req/s\n", r->w->label,
                    r->loops, r->loops > 1 ? "s" : "", r->rps);
        ns_print_lines(r);
    }
    if (ns_opt.table) {
        ns_print_table(rows, n);
        ns_print_why(rows, n);
    }

    int rc = ns_write_files(rows, n, title);
    for (int i = 0; i < n; i++)
        if (!rows[i].ok)
            rc = -1;
    return rc < 0;
}
