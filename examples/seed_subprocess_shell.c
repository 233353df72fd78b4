/* SPDX-License-Identifier: MIT */
/*
 * seed_subprocess_shell - create_subprocess_shell: "echo Hello World" read
 * line by line, then a shell pipeline that reads its stdin, sleeps and
 * writes, driven by communicate (seed 002f).
 */
#include "seed_util.h"

/* Python's repr() of bytes (printable ASCII and newlines). */
static void print_bytes(const char *p, size_t n)
{
    printf("b'");
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n')
            printf("\\n");
        else if (p[i] == '\'' || p[i] == '\\')
            printf("\\%c", p[i]);
        else
            putchar(p[i]);
    }
    printf("'");
}

static void *main_task(void *arg)
{
    (void)arg;
    cor_proc *p;
    int rc = cor_proc_shell(&p, "echo Hello World",
                            &(cor_proc_opts){.pipe_stdout = true});
    if (rc < 0)
        return cor_fail(rc, "create_subprocess_shell");
    printf("subprocess: <Process %s>\n", cor_proc_pid(p) > 0 ? "PID" : "?");
    char line[256];
    ssize_t n = cor_reader_readline(cor_proc_stdout(p), line, sizeof line);
    if (n < 0) {
        cor_proc_free(p);
        return cor_fail((int)n, "readline");
    }
    printf("readline from the child: ");
    print_bytes(line, (size_t)n);
    int status = -1;
    rc = cor_proc_wait(p, &status);
    cor_proc_free(p);
    if (rc < 0)
        return cor_fail(rc, "wait");
    printf("\nexit status %d\n", status);

    int64_t start = cor_now_ns();
    char cmd[128];
    snprintf(cmd, sizeof cmd,
             "read name; echo hello $name; sleep %g; echo bye",
             2 * seed_scale());
    rc = cor_proc_shell(&p, cmd,
                        &(cor_proc_opts){.pipe_stdin = true,
                                         .pipe_stdout = true});
    if (rc < 0)
        return cor_fail(rc, "create_subprocess_shell");
    char *out = NULL;
    size_t len = 0;
    rc = cor_proc_communicate(p, "world\n", 6, &out, &len, NULL, NULL,
                              &status);
    double took = (double)(cor_now_ns() - start) / 1e9 / seed_scale();
    cor_proc_free(p);
    if (rc < 0)
        return cor_fail(rc, "communicate");
    printf("communicate -> ");
    print_bytes(out, len);
    printf(" after at least 2 s: %s; exit status %d\n",
           took >= 2 ? "True" : "False", status);
    free(out);
    return NULL;
}

int main(void)
{
    return seed_run("seed_subprocess_shell", main_task, NULL) < 0;
}
