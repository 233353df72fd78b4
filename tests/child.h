/* SPDX-License-Identifier: MIT */
/*
 * child.h - run a function in a forked child and collect its exit status and
 * everything it wrote to stderr (for what must end the process, or must not
 * leak into the test process: overflows, seccomp filters).
 */
#ifndef CORING_TEST_CHILD_H
#define CORING_TEST_CHILD_H

#include <stddef.h>

struct child_result {
    int status;      /* as waitpid() gives it */
    char err[8192];  /* what the child wrote to stderr */
};

void run_in_child(void (*fn)(void *arg), void *arg, struct child_result *r);

#endif
