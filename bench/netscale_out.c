/* SPDX-License-Identifier: MIT */
/*
 * netscale_out.c - what build/bench/netscale prints and writes: the
 * `name: value unit` lines, the table and why rows do not scale, the CSV,
 * a self-contained gnuplot script, and the plots gnuplot draws from it.
 */
#include "netscale.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------- output -- */

void ns_print_lines(const struct ns_row *r)
{
    if (!ns_opt.lines)
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
    printf("netscale_%s_l%d_server_cpu_share: %.2f x\n", id, l, r->srv_share);
    printf("netscale_%s_l%d_gen_cpu_share: %.2f x\n", id, l, r->gen_share);
    printf("netscale_%s_l%d_gen_cpu_s_per_mreq: %.2f s/Mreq\n", id, l,
           r->gen_cpu_per_mreq);
    if (r->srv_enters >= 0)
        printf("netscale_%s_l%d_server_enters_per_req: %.3f calls\n", id, l,
               r->srv_enters);
    printf("netscale_%s_l%d_gen_enters_per_req: %.3f calls\n", id, l,
           r->gen_enters);
    if (r->others >= 0)
        printf("netscale_%s_l%d_others_cpu_share: %.2f x\n", id, l, r->others);
    printf("netscale_%s_l%d_scaling: %.2f x\n", id, l, r->scaling);
    printf("netscale_%s_l%d_shares_cores: %d bool\n", id, l, r->shared);
    fflush(stdout);
}

/* Creates the directory part of ns_opt.out (one level is enough for the
 * default build/; a deeper missing path fails at fopen and says so). */
static void make_out_dir(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", ns_opt.out);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir(dir, 0777); /* EEXIST is fine */
    }
}

static FILE *open_out(const char *ext, char *path, size_t cap)
{
    snprintf(path, cap, "%s.%s", ns_opt.out, ext);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "netscale: cannot write %s: %s\n", path,
                strerror(errno));
    return f;
}

static int write_csv(const struct ns_row *rows, int n, char *path, size_t cap)
{
    FILE *f = open_out("csv", path, cap);
    if (!f)
        return -1;
    fprintf(f, "workload,loops,server_cpus,shares_cores,generator_loops,"
               "connections,req_per_s,p50_us,p99_us,server_cpu_s_per_mreq,"
               "server_cpu_share,generator_cpu_share,others_cpu_share,scaling,"
               "limit,errors,generator_cpu_s_per_mreq,server_enters_per_req,"
               "generator_enters_per_req\n");
    for (int i = 0; i < n; i++) {
        const struct ns_row *r = &rows[i];
        if (!r->ok)
            continue;
        fprintf(f,
                "%s,%d,\"%s\",%d,%d,%d,%.0f,%.1f,%.1f,%.3f,%.3f,%.3f,"
                "%.3f,%.3f,%s,%d,%.3f,%.3f,%.3f\n",
                r->w->id, r->loops, r->srv_cpus, r->shared, r->gen_loops,
                r->conns, r->rps, r->p50_us, r->p99_us, r->cpu_per_mreq,
                r->srv_share, r->gen_share, r->others, r->scaling, r->limit,
                r->errors, r->gen_cpu_per_mreq, r->srv_enters, r->gen_enters);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* A self-contained gnuplot script (the data inline): two panels against
 * loops, throughput and server CPU per request, a line per workload;
 * rows whose server shares cores with the generator drawn open. */
static int write_gp(const struct ns_row *rows, int n, const char *title,
                    char *path, size_t cap)
{
    FILE *f = open_out("gp", path, cap);
    if (!f)
        return -1;
    int maxl = 1;
    for (int i = 0; i < n; i++)
        if (rows[i].ok && rows[i].loops > maxl)
            maxl = rows[i].loops;
    fprintf(f,
            "# netscale: throughput and server CPU per request against "
            "server loops\n# gnuplot %s.gp  (writes %s.png and %s.svg)\n",
            ns_opt.out, ns_opt.out, ns_opt.out);
    int blocks = 0;
    const struct ns_workload *ws[NWORK];
    for (size_t w = 0; w < NWORK; w++) {
        bool any = false;
        for (int i = 0; i < n; i++)
            any |= rows[i].ok && rows[i].w == &ns_workloads[w];
        if (!any)
            continue;
        ws[blocks++] = &ns_workloads[w];
        fprintf(f, "$%s << EOD\n# loops req_per_s cpu_us_per_req shared\n",
                ns_workloads[w].id);
        for (int i = 0; i < n; i++)
            if (rows[i].ok && rows[i].w == &ns_workloads[w])
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
            maxl * 1.25, maxl, ns_opt.out, title);
    const char *panels[2][2] = {{"($2/1000)", "throughput"},
                                {"3", "server CPU per request (us)"}};
    for (int p = 0; p < 2; p++) {
        if (p)
            fprintf(f,
                    "  unset logscale y\n  set yrange [0:*]\n"
                    "  set ylabel 'server CPU us per request "
                    "(= CPU-s per million)'\n  set title '%s'\n",
                    panels[p][1]);
        fprintf(f, "  plot ");
        for (int b = 0; b < blocks; b++)
            fprintf(f,
                    "%s$%s using 1:%s with lines lc %d lw 2 title '%s', "
                    "$%s using 1:%s:($4 != 0 ? 6 : 7) with points lc %d ps 1.5 "
                    "pt variable notitle",
                    b ? ", \\\n       " : "", ws[b]->id, panels[p][0], b + 1,
                    ws[b]->label, ws[b]->id, panels[p][0], b + 1);
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

void ns_print_table(const struct ns_row *rows, int n)
{
    printf("\n%-16s %5s %10s %8s %8s %8s %7s %7s %7s %7s %7s\n", "workload",
           "loops", "req/s", "p50 us", "p99 us", "srv CPU", "srv", "srv CPU",
           "gen CPU", "others", "scaling");
    printf("%-16s %5s %10s %8s %8s %8s %7s %7s %7s %7s %7s\n", "", "", "", "",
           "", "s/Mreq", "enter/r", "share", "share", "share", "to 1");
    for (int i = 0; i < n; i++) {
        const struct ns_row *r = &rows[i];
        char loops[16];
        snprintf(loops, sizeof loops, "%d%s", r->loops, r->shared ? "*" : "");
        if (!r->ok) {
            printf("%-16s %5s  failed: %s\n", r->w->label, loops,
                   cor_strerror(r->first_error));
            continue;
        }
        char others[16] = "-", enters[16] = "-";
        if (r->others >= 0)
            snprintf(others, sizeof others, "%.2f", r->others);
        if (r->srv_enters >= 0)
            snprintf(enters, sizeof enters, "%.3f", r->srv_enters);
        printf("%-16s %5s %10.0f %8.1f %8.1f %8.2f %7s %7.2f %7.2f %7s "
               "%6.2fx  limit: %s\n",
               r->w->label, loops, r->rps, r->p50_us, r->p99_us,
               r->cpu_per_mreq, enters, r->srv_share, r->gen_share, others,
               r->scaling, r->limit);
        if (r->errors)
            printf("%-16s %5s  %d connection error(s), the first: %s\n", "", "",
                   r->errors, cor_strerror(r->first_error));
    }
}

const struct ns_row *ns_one_loop_row(const struct ns_row *rows, int n,
                                     const struct ns_workload *w)
{
    for (int i = 0; i < n; i++)
        if (rows[i].ok && rows[i].w == w && rows[i].loops == 1)
            return &rows[i];
    return NULL;
}

/* Where a row does not scale as its loops (below 0.8 x, or above 1.25 x
 * them), say why. */
void ns_print_why(const struct ns_row *rows, int n)
{
    bool any = false;
    for (int i = 0; i < n; i++) {
        const struct ns_row *r = &rows[i];
        const struct ns_row *one = ns_one_loop_row(rows, n, r->w);
        if (!r->ok || r->loops == 1 || !one ||
            (r->scaling >= 0.8 * r->loops && r->scaling <= 1.25 * r->loops))
            continue;
        if (!any)
            printf("\nWhere a row does not scale as its loops:\n");
        any = true;
        printf("  %s, %d loops: %.2fx the 1-loop row: ", r->w->label, r->loops,
               r->scaling);
        if (r->scaling > 1.25 * r->loops)
            printf("more than %d times: the 1-loop row was held back\n    "
                   "(its limit: %s; server %.2f, generator %.2f, others "
                   "%.2f of its CPUs).\n",
                   r->loops, one->limit, one->srv_share, one->gen_share,
                   fmax(0, one->others));
        else if (r->shared)
            printf("the server's loops run on CPUs %s, which the load "
                   "generator uses too:\n    the two sides share cores, so "
                   "this row cannot show scaling.\n",
                   r->srv_cpus);
        else if (r->gen_share >= SATURATED && r->srv_share < SATURATED)
            printf("the load generator's CPUs are saturated (%.2f) while "
                   "the server's are not (%.2f):\n    the generator is the "
                   "limit; give it more CPUs (--client-cpus).\n",
                   r->gen_share, r->srv_share);
        else if (r->srv_share >= SATURATED)
            printf("the server's loops are saturated (%.2f) and each "
                   "request cost %.2f us of server CPU:\n    the server is "
                   "the limit.\n",
                   r->srv_share, r->cpu_per_mreq);
        else if (r->others >= OTHERS)
            printf("other processes took %.2f of these CPUs (server "
                   "%.2f, generator %.2f):\n    the figures measure a "
                   "shared machine; rerun on a quiet one.\n",
                   r->others, r->srv_share, r->gen_share);
        else
            printf("neither side's CPU is saturated (server %.2f, "
                   "generator %.2f) and\n    other processes took %.2f: "
                   "the two sides wait on each other (their batches\n    "
                   "take turns), or too few connections (--conns).\n",
                   r->srv_share, r->gen_share, r->others < 0 ? 0 : r->others);
    }
}

/* Writes the CSV and the gnuplot script, runs gnuplot, says where each
 * went.  Returns 0, or -1 when a file could not be written. */
int ns_write_files(const struct ns_row *rows, int n, const char *title)
{
    make_out_dir();
    char csv[4096], gp[4096];
    int rc = write_csv(rows, n, csv, sizeof csv);
    if (write_gp(rows, n, title, gp, sizeof gp) < 0)
        rc = -1;
    if (rc == 0) {
        printf("\nCSV: %s\n", csv);
        int g = ns_opt.plot ? run_gnuplot(gp) : -ECHILD;
        if (g == 0)
            printf("plot: %s.png and %s.svg (gnuplot script %s)\n", ns_opt.out,
                   ns_opt.out, gp);
        else if (g == -ENOENT)
            printf("gnuplot is not installed: no plot drawn; the script is "
                   "%s\n(run `gnuplot %s` where gnuplot is).\n",
                   gp, gp);
        else if (g == -ECHILD)
            printf("gnuplot script: %s (not run: --no-plot)\n", gp);
        else
            printf("gnuplot failed (status %d) on %s: no plot\n", g, gp);
    }
    return rc;
}
