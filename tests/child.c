/* SPDX-License-Identifier: MIT */
#include "child.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void run_in_child(void (*fn)(void *arg), void *arg, struct child_result *r)
{
    int p[2];
    memset(r, 0, sizeof *r);
    if (pipe(p) < 0) {
        r->status = -1;
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    while ((got = read(p[0], r->err + n, sizeof r->err - 1 - n)) > 0)
        n += (size_t)got;
    close(p[0]);
    waitpid(pid, &r->status, 0);
}
