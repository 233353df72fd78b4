/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what the cmocka tests share.  cmocka's asserts longjmp, so they
 * must not run on a coroutine stack: coroutines record what happened (rec())
 * and the test asserts after cor_run() has returned.
 */
#ifndef CORING_TEST_HARNESS_H
#define CORING_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coring.h"

/* Run main on a fresh runtime with `loops` loops (0: one per core). */
int h_run(cor_fn *main, void *arg, int loops);

/* Thread-safe event log: one line per rec() call. */
void rec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *rec_text(void);
size_t rec_count(void);
void rec_reset(void);

/* Capture what coring logs (cor_set_log) into a buffer. */
void h_log_capture(void);
const char *h_log_text(void);
void h_log_release(void);

/* The oracle's expected output for kind ("rules"|"seeds") and name, or NULL
 * (the test then skips) when ../shared/oracle is not beside the project. */
char *h_oracle_expected(const char *kind, const char *name);

/* A connected loopback TCP pair (plain blocking sockets, close-on-exec,
 * TCP_NODELAY); 0, or -errno. */
int h_tcp_pair(int sv[2]);

/* The process's open fds (entries of /proc/self/fd, the directory's own
 * included, so compare two counts). */
int h_count_fds(void);

/* cmocka fixture: reset the event log and the log capture. */
/* Whether loops run on io_uring (not COR_BACKEND=epoll): tests of what
 * only the io_uring backend has (the ring, provided buffers, registered
 * files) skip otherwise. */
bool h_uring(void);
/* skip() the calling test unless h_uring(). */
#define H_NEED_URING()                                                       \
    do {                                                                     \
        if (!h_uring())                                                      \
            skip();                                                          \
    } while (0)

int h_setup(void **state);
int h_teardown(void **state);

#endif
