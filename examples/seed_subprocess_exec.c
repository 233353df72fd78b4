/* SPDX-License-Identifier: MIT */
/*
 * seed_subprocess_exec - create_subprocess_exec: "echo Hello World" with its
 * output piped and read by communicate, then "sleep 2", which returns once
 * the child has started and is waited for (seed 002f).
 */
#include "seed_util.h"

#include <string.h>

static void *main_task(void *arg)
{
    (void)arg;
    cor_proc *p;
    const char *echo[] = {"echo", "Hello World", NULL};
    int rc = cor_proc_exec(&p, echo, &(cor_proc_opts){.pipe_stdout = true});
    if (rc < 0)
        return cor_fail(rc, "create_subprocess_exec");
    printf("subprocess: <Process %s>\n", cor_proc_pid(p) > 0 ? "PID" : "?");
    char *out = NULL;
    size_t n = 0;
    int status = -1;
    rc = cor_proc_communicate(p, NULL, 0, &out, &n, NULL, NULL, &status);
    cor_proc_free(p);
    if (rc < 0)
        return cor_fail(rc, "communicate");
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        n--; /* .strip() */
    printf("child wrote: '%.*s'; exit status %d\n", (int)n, out, status);
    free(out);

    int64_t start = cor_now_ns();
    char secs[32];
    snprintf(secs, sizeof secs, "%g", 2 * seed_scale());
    const char *sleeper[] = {"sleep", secs, NULL};
    if ((rc = cor_proc_exec(&p, sleeper, NULL)) < 0)
        return cor_fail(rc, "create_subprocess_exec");
    double started = (double)(cor_now_ns() - start) / 1e9 / seed_scale();
    printf("sleep 2: create_subprocess_exec returned before it finished: %s; "
           "returncode %s\n",
           started < 2 ? "True" : "False",
           cor_proc_returncode(p, NULL) == -EBUSY ? "None" : "set");
    rc = cor_proc_wait(p, &status);
    double took = (double)(cor_now_ns() - start) / 1e9 / seed_scale();
    cor_proc_free(p);
    if (rc < 0)
        return cor_fail(rc, "wait");
    printf("sleep 2: wait() returned %d after at least 2 s: %s\n", status,
           took >= 2 ? "True" : "False");
    return NULL;
}

int main(void)
{
    return seed_run("seed_subprocess_exec", main_task, NULL) < 0;
}
