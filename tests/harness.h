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

/* Comparing with the oracle.  The lines must be as many and, once the
 * elapsed times in them are taken out, the same text; the times (t=0.2,
 * elapsed≈0.3, took 1.0 s, ...: the list is time_marks in harness.c)
 * are lower bounds with a window: a time in got is no earlier than want's
 * and at most fixed + share * want later, in the unit printed.  Every
 * other number is exact.  Both sides round the same way (f"{x:.1f}", or a
 * seed's floor to its grid) and rounding never lowers a later time, so
 * there is no allowance below want.
 *
 * The window: a loaded machine wakes each sleeper late, and the lateness
 * piles up over the wake-ups before a printed time, so it has a fixed
 * part (H_ORACLE_LATE seconds of real time) and a share of the time
 * printed (H_ORACLE_SHARE).  H_ORACLE_WINDOW is it for a program that
 * prints real seconds; H_ORACLE_SCALED(s) for one that prints seconds
 * scaled by TIME_SCALE s (the fixed part is then H_ORACLE_LATE / s). */
typedef struct {
    double fixed; /* in the unit printed */
    double share; /* of the expected time */
} h_window;
#define H_ORACLE_LATE 0.3
#define H_ORACLE_SHARE 0.5
#define H_ORACLE_WINDOW ((h_window){H_ORACLE_LATE, H_ORACLE_SHARE})
#define H_ORACLE_SCALED(s) ((h_window){H_ORACLE_LATE / (s), H_ORACLE_SHARE})
/* 0 when got matches want, else the first line (1-based) that differs. */
size_t h_oracle_diff(const char *got, const char *want, h_window window);
/* h_oracle_diff() == 0; otherwise prints both texts and the first
 * differing line (cmocka's print_error) and returns false. */
bool h_oracle_compare(const char *got, const char *want, h_window window);
/* Fails the test unless got matches want; frees want_buf (the buffer want
 * points into, from h_oracle_expected(), or NULL) first either way. */
void h_oracle_assert(const char *got, const char *want, char *want_buf,
                     h_window window);

/* A connected loopback TCP pair (plain blocking sockets, close-on-exec,
 * TCP_NODELAY); 0, or -errno. */
int h_tcp_pair(int sv[2]);

/* The process's open fds (entries of /proc/self/fd, the directory's own
 * included, so compare two counts). */
int h_count_fds(void);

/* cmocka fixture: reset the event log and the log capture. */
/* Whether loops run on io_uring: not where COR_BACKEND=epoll, nor where
 * io_uring_setup is refused (a seccomp filter, tests/noring, a kernel
 * without it), where an automatic runtime runs on epoll.  Tests of what
 * only the io_uring backend has (the ring, provided buffers, registered
 * files) skip otherwise. */
bool h_uring(void);
/* h_uring(), or false after saying on stderr that `what` is skipped and
 * why (a program of io_uring-only tests then exits 77). */
bool h_uring_or_say(const char *what);
/* skip() the calling test, saying why, unless h_uring(). */
#define H_NEED_URING()                                                       \
    do {                                                                     \
        if (!h_uring_or_say(__func__))                                       \
            skip();                                                          \
    } while (0)

/* Where io_uring is refused, an automatic runtime logs one line before it
 * runs on epoll: "coring: using the epoll backend: io_uring_setup: ENAME:
 * ...".  text (a program's stderr) without that line when it names the
 * refusal seen here and no backend is forced; every other line stays, so
 * an exact comparison still fails on anything else.  In place; returns
 * text.  What h_log_capture() captures never holds that line. */
char *h_without_fallback(char *text);

int h_setup(void **state);
int h_teardown(void **state);

#endif
