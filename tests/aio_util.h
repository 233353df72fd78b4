/* SPDX-License-Identifier: MIT */
/*
 * aio_util.h - what the asyncio-model tests share: the oracle's t=X.X clock,
 * asyncio-style reprs of errors, and the comparison with the oracle's
 * expected lines.  Header-only (static) so each test stays one program.
 */
#ifndef CORING_TEST_AIO_UTIL_H
#define CORING_TEST_AIO_UTIL_H

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Job tables in the tests list only the fields that matter. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static int64_t aio_t0;

static inline void t0_reset(void)
{
    aio_t0 = cor_now_ns();
}

/* Seconds since t0_reset, as Python's f"{x:.1f}" prints them. */
static inline const char *t_str(char *buf, size_t len)
{
    snprintf(buf, len, "%.1f", (double)(cor_now_ns() - aio_t0) / 1e9);
    return buf;
}
#define T_NOW() t_str((char[16]){0}, 16)

/* asyncio's exception class for a coring error code. */
static inline const char *err_kind(int code)
{
    switch (code) {
    case -EINVAL:
        return "ValueError";
    case -ECANCELED:
        return "CancelledError";
    case -ETIMEDOUT:
        return "TimeoutError";
    default:
        return "OSError";
    }
}

/* repr() of an error: ValueError('message'). */
static inline const char *err_repr(const cor_error *e, char *buf, size_t len)
{
    snprintf(buf, len, "%s('%s')", err_kind(e->code), e->message);
    return buf;
}
#define ERR_REPR(e) err_repr((e), (char[256]){0}, 256)

static inline const char *py_bool(bool b)
{
    return b ? "True" : "False";
}

/* Compare what the test recorded with expected/<kind>/<name>.out. */
static inline void check_oracle(const char *kind, const char *name)
{
    char *want = h_oracle_expected(kind, name);
    if (!want) {
        fprintf(stderr, "oracle not found: %s/%s\n", kind, name);
        skip();
    }
    h_oracle_assert(rec_text(), want, want, H_ORACLE_WINDOW);
}

#endif
