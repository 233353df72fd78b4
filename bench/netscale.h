/* SPDX-License-Identifier: MIT */
/*
 * netscale.h - build/bench/netscale, a coring server on 1, 2, 4... loops
 * against a coring load generator (docs/bench.md): what its files share.
 * netscale.c: options and the run; netscale_run.c: one row (server,
 * generator, figures); netscale_out.c: lines, table, CSV, plot;
 * netscale_server.c: the handlers of examples/echo_server.c.
 */
#ifndef CORING_BENCH_NETSCALE_H
#define CORING_BENCH_NETSCALE_H

#include <coring.h>

#include <stdbool.h>
#include <stddef.h>

#define MAX_ROWS 64
#define MAX_LOOPS 1024
#define SATURATED 0.9 /* a CPU share at or above this: that side's limit */
#define OTHERS 0.2    /* other processes took at least this share */

enum ns_kind { ECHO, HTTP };

struct ns_workload {
    const char *id;    /* CSV and figure names */
    const char *label; /* the table's */
    enum ns_kind kind;
    size_t size; /* echo: message bytes */
    int depth;   /* HTTP: requests per send (1: keep-alive) */
};

#define NWORK 4
extern const struct ns_workload ns_workloads[NWORK];

struct ns_opts {
    int srv_cpus[MAX_LOOPS], nsrv; /* server CPUs */
    int cli_cpus[MAX_LOOPS], ncli; /* client CPUs: one generator loop each */
    int all_cpus[MAX_LOOPS], nall; /* CPUs this process may run on */
    int loops[MAX_ROWS], nloops;   /* server loop counts, one row each */
    bool run[NWORK];               /* workloads chosen */
    int conns;                     /* connections per generator loop */
    int depth;                     /* pipelined HTTP: requests per send */
    double warmup, duration;       /* seconds per row */
    const char *out;               /* PREFIX.csv, .gp, .png, .svg */
    bool lines, table, plot;
};
extern struct ns_opts ns_opt;

struct ns_row {
    const struct ns_workload *w;
    int loops, gen_loops, conns;
    char srv_cpus[128];
    bool shared; /* a server loop runs on a generator CPU */
    bool ok;
    double rps, p50_us, p99_us, cpu_per_mreq, srv_share, gen_share, scaling;
    double others; /* share of the row's CPUs other work took; < 0: ? */
    double gen_cpu_per_mreq;
    double srv_enters, gen_enters; /* io_uring_enter calls per request */
    const char *limit;
    int errors, first_error;
};

/* netscale.c */
bool ns_has_cpu(const int *cpus, int n, int cpu);

/* netscale_run.c */
void ns_run_row(struct ns_row *r);
void ns_cpu_list(char *buf, size_t cap, const int *cpus, int n);

/* netscale_out.c */
const struct ns_row *ns_one_loop_row(const struct ns_row *rows, int n,
                                     const struct ns_workload *w);
void ns_print_lines(const struct ns_row *r);
void ns_print_table(const struct ns_row *rows, int n);
void ns_print_why(const struct ns_row *rows, int n);
int ns_write_files(const struct ns_row *rows, int n, const char *title);

/* netscale_server.c: examples/echo_server.c's connection handlers */
extern cor_conn_fn *const netscale_echo_handler;
extern cor_conn_fn *const netscale_http_handler;

#endif
