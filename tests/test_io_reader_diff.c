/* SPDX-License-Identifier: MIT */
/*
 * test_io_reader_diff.c - the stream reader's answers do not depend on how
 * the bytes arrived: the cases that once did (a last line of exactly the
 * limit or the cap without "\n", readline with cap 0 at the end), then
 * random scripts checked against a model (fuzz/reader_diff.c: random
 * chunkings, caps and limits; read, readexactly, readuntil, readline,
 * read_all, at_eof; pipes and sockets; EOF and resets).
 *
 * CORING_READER_DIFF_SEED and CORING_READER_DIFF_SCRIPTS change the seed
 * and the count; a failing script is printed in hex for fuzz/reader_fuzz.
 */
#include "harness.h"
#include "../fuzz/reader_diff.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -------------------------------------------- the last line, exactly -- */

struct last_line {
    const char *bytes; /* written at once, then the pipe is closed */
    size_t limit, cap;
};

/* Three readlines on a pipe that holds the bytes and then its end. */
static void *last_line_main(void *arg)
{
    const struct last_line *c = arg;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return (void *)(intptr_t)-errno;
    if (write(p[1], c->bytes, strlen(c->bytes)) < 0)
        return (void *)(intptr_t)-errno;
    close(p[1]);
    cor_reader *r;
    if (cor_reader_open(&r, p[0], c->limit) < 0)
        return (void *)(intptr_t)-1;
    char buf[64] = {0};
    for (int i = 0; i < 3; i++) {
        ssize_t n = cor_reader_readline(r, buf, c->cap);
        rec("%zd %.*s eof=%d", n, n > 0 ? (int)n : 0, buf,
            cor_reader_at_eof(r));
    }
    cor_reader_free(r);
    close(p[0]);
    return NULL;
}

static void check_last_line(const char *bytes, size_t limit, size_t cap,
                            const char *want)
{
    struct last_line c = {bytes, limit, cap};
    rec_reset();
    assert_int_equal(h_run(last_line_main, &c, 1), 0);
    assert_string_equal(rec_text(), want);
}

static void test_last_line_of_exactly_max(void **state)
{
    (void)state;
    /* min(cap, limit) is the limit, then the cap. */
    check_last_line("abcd", 4, 64, "4 abcd eof=1\n0  eof=1\n0  eof=1\n");
    check_last_line("abcd", 16, 4, "4 abcd eof=1\n0  eof=1\n0  eof=1\n");
    /* One byte more does not fit, and stays. */
    check_last_line("abcde", 4, 64, "-90  eof=0\n-90  eof=0\n-90  eof=0\n");
    check_last_line("abcde", 16, 4, "-90  eof=0\n-90  eof=0\n-90  eof=0\n");
    /* A line with its newline at exactly the limit, then a last one. */
    check_last_line("abc\nxy", 4, 64, "4 abc\n eof=0\n2 xy eof=1\n0  eof=1\n");
}

static void test_readline_cap_0(void **state)
{
    (void)state;
    /* At the end: nothing left is the empty line, not an overrun. */
    check_last_line("", 4, 0, "0  eof=1\n0  eof=1\n0  eof=1\n");
    /* Bytes left: a line of at least one byte does not fit in 0. */
    check_last_line("a", 4, 0, "-90  eof=0\n-90  eof=0\n-90  eof=0\n");
}

/* ------------------------------------------------ the model, at random -- */

struct diff {
    uint32_t seed;
    long scripts;
    long done;
    int rc;
    char why[320];
    uint8_t script[512];
    size_t len;
};

static uint32_t rnd(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void *diff_main(void *arg)
{
    struct diff *d = arg;
    uint32_t x = d->seed ? d->seed : 1;
    for (d->done = 0; d->done < d->scripts; d->done++) {
        d->len = 8 + rnd(&x) % (sizeof d->script - 8);
        for (size_t i = 0; i < d->len; i++)
            d->script[i] = (uint8_t)rnd(&x);
        d->rc = rd_run(d->script, d->len, d->why, sizeof d->why);
        if (d->rc)
            break;
    }
    return NULL;
}

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 0) : dflt;
}

static void test_reader_matches_model(void **state)
{
    (void)state;
    struct diff d = {
        .seed = (uint32_t)env_long("CORING_READER_DIFF_SEED", 20261204),
        .scripts = env_long("CORING_READER_DIFF_SCRIPTS", 3000),
    };
    assert_int_equal(h_run(diff_main, &d, 1), 0);
    if (d.rc) {
        fprintf(stderr, "seed %u, script %ld: %s\nscript:", d.seed, d.done,
                d.why);
        for (size_t i = 0; i < d.len; i++)
            fprintf(stderr, "%s%02x", i % 32 ? "" : "\n  ", d.script[i]);
        fprintf(stderr, "\n");
    }
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.done, d.scripts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_last_line_of_exactly_max,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_readline_cap_0, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_reader_matches_model, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
