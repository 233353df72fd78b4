/* SPDX-License-Identifier: MIT */
/*
 * test_io_stream_stress - a receive stream against what its peer wrote: a
 * plain thread writes a known byte sequence over TCP in random sizes at
 * random moments, then ends it (end of stream or a reset); the reader reads
 * with random caps, turns the stream to plain recvs at random (so the
 * stream changes between multishot and plain recvs in both directions all
 * the time), and now and then reads in a task it cancels after a random
 * number of iterations.  Rings of a few small buffers make the ring run dry
 * too.  Every byte must come once, in order; the end must come once, after
 * the last byte; a cancelled read must leave its buffer alone once it has
 * returned; the ring must get every buffer back (the stream closes with no
 * operation in flight).
 *
 * COR_STRESS_ROUNDS raises the bytes per run (the 'slow' suite runs more).
 */
#include "harness.h"
#include "internal.h"
#include "../io/io_internal.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t total = 256 * 1024; /* bytes per run */

static unsigned char at(size_t i)
{
    uint64_t x = i * 0x9e3779b97f4a7c15ull;
    return (unsigned char)(x >> 56 ^ i);
}

static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

struct run {
    int sv[2];
    uint32_t seed;
    bool reset;          /* the writer ends with an RST */
    size_t written;      /* by the writer, before its end */
    /* the reader's */
    size_t got;
    int ends;            /* ends seen (0 or -errno answers) */
    ssize_t end;
    int errors;          /* wrong bytes, a byte after the end, ... */
    char why[160];
    unsigned cancels, cancelled_reads, plain_turns;
    uint64_t switches;
};

static void *writer_main(void *arg)
{
    struct run *u = arg;
    uint32_t x = u->seed * 7 + 3;
    static __thread unsigned char buf[8192];
    size_t off = 0;
    while (off < total) {
        size_t n = 1 + next(&x) % (next(&x) % 4 ? 600 : 8000);
        if (n > total - off)
            n = total - off;
        for (size_t i = 0; i < n; i++)
            buf[i] = at(off + i);
        ssize_t w = send(u->sv[1], buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
        unsigned pause = next(&x) % 8;
        if (pause == 0)
            nanosleep(&(struct timespec){0, (long)(next(&x) % 200) * 1000},
                      NULL); /* vary the timing only */
        else if (pause < 3)
            sched_yield();
    }
    u->written = off;
    if (u->reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(u->sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        shutdown(u->sv[1], SHUT_WR);
    }
    close(u->sv[1]);
    return NULL;
}

static void bad(struct run *u, const char *fmt, size_t a, ssize_t b)
{
    if (!u->errors++)
        snprintf(u->why, sizeof u->why, fmt, a, b);
}

/* Take the answer of a read of cap bytes into buf. */
static void take(struct run *u, const unsigned char *buf, ssize_t n)
{
    if (n == -ECANCELED)
        return;
    if (n <= 0) {
        if (u->ends++)
            bad(u, "an end after the end (at %zu): %zd", u->got, n);
        u->end = n;
        return;
    }
    if (u->ends)
        bad(u, "bytes after the end (at %zu): %zd", u->got, n);
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] != at(u->got + (size_t)i)) {
            bad(u, "byte %zu wrong (read of %zd)", u->got + (size_t)i, n);
            break;
        }
    u->got += (size_t)n;
}

struct sub {
    cor_recv_stream *s;
    unsigned char *buf;
    size_t cap;
    ssize_t n;
};

static void *sub_read(void *arg)
{
    struct sub *r = arg;
    r->n = cor_recv_stream_read(r->s, r->buf, r->cap);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct run *u = arg;
    uint32_t x = u->seed;
    cor_recv_stream *s;
    if (cor_recv_stream_open(&s, u->sv[0]) < 0) {
        bad(u, "open failed %zu %zd", 0, 0);
        return NULL;
    }
    unsigned char *buf = malloc(16384);
    unsigned char *old = malloc(16384); /* a cancelled read's buffer */
    size_t old_len = 0;
    while (!u->ends && !u->errors) {
        size_t cap = 1 + next(&x) % (next(&x) % 3 ? 100 : 16384);
        unsigned what = next(&x) % 16;
        if (what == 0) {
            cor__recv_stream_go_plain(s);
            u->plain_turns++;
        }
        if (what == 1) {
            /* A read cancelled after 0..3 iterations of the loop. */
            struct sub r = {s, buf, cap, -1};
            cor_task *t = cor_spawn(sub_read, &r);
            for (unsigned k = next(&x) % 4; k; k--)
                cor_yield();
            u->cancels++;
            cor_task_cancel(t);
            cor_await(t, NULL);
            cor_task_release(t);
            if (r.n == -1) /* cancelled before it started */
                continue;
            take(u, buf, r.n);
            if (r.n == -ECANCELED) {
                /* From now on the buffer is the caller's alone. */
                u->cancelled_reads++;
                old_len = cap;
                unsigned char *tmp = old; /* keep watching it */
                old = buf;
                buf = tmp;
                memset(old, 0xa5, old_len);
            }
            continue;
        }
        ssize_t n = cor_recv_stream_read(s, buf, cap);
        take(u, buf, n);
        for (size_t i = 0; i < old_len; i++)
            if (old[i] != 0xa5) {
                bad(u, "a cancelled read's buffer written at %zu (%zd)", i,
                    0);
                break;
            }
    }
    /* The end stays the end. */
    unsigned char c;
    ssize_t again = cor_recv_stream_read(s, &c, 1);
    if (again > 0)
        bad(u, "a byte after the end %zu %zd", u->got, again);
    u->switches = cor__recv_stream_switches(s, NULL);
    cor_recv_stream_close(s);
    if (cor__tls_loop->nops)
        bad(u, "%zu operations in flight after close %zd",
            cor__tls_loop->nops, 0);
    free(buf);
    free(old);
    return NULL;
}

static void one_run(uint32_t seed, bool reset, unsigned entries,
                    unsigned bufsize)
{
    struct run u = {.seed = seed, .reset = reset};
    assert_int_equal(h_tcp_pair(u.sv), 0);
    cor__recv_stream_geometry(entries, bufsize);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, writer_main, &u), 0);
    int rc = h_run(reader_main, &u, 1);
    if (u.ends == 0) { /* the reader stopped early: let the writer end */
        shutdown(u.sv[0], SHUT_RDWR);
    }
    pthread_join(th, NULL);
    close(u.sv[0]);
    cor__recv_stream_geometry(1024, 4096);
    assert_int_equal(rc, 0);
    if (u.errors)
        print_message("seed %u: %s\n", seed, u.why);
    if (getenv("COR_STRESS_VERBOSE"))
        print_message("seed %u: %zu of %zu bytes, end %zd, %u cancels (%u "
                      "reads cancelled), %u turns to plain, %llu switches\n",
                      seed, u.got, u.written, u.end, u.cancels,
                      u.cancelled_reads, u.plain_turns,
                      (unsigned long long)u.switches);
    assert_int_equal(u.errors, 0);
    assert_int_equal(u.ends, 1);
    if (reset) {
        /* Bytes the reset overtook are lost, never the order. */
        assert_int_equal(u.end, -ECONNRESET);
        assert_true(u.got <= u.written);
    } else {
        assert_int_equal(u.end, 0);
        assert_int_equal(u.got, u.written);
        assert_int_equal(u.written, total);
    }
}

static void eof_default_ring(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 3; seed++)
        one_run(seed, false, 1024, 4096);
}

static void eof_small_ring(void **state)
{
    (void)state;
    for (uint32_t seed = 11; seed <= 13; seed++)
        one_run(seed, false, 4, 64);
}

static void reset_default_ring(void **state)
{
    (void)state;
    for (uint32_t seed = 21; seed <= 23; seed++)
        one_run(seed, true, 1024, 4096);
}

static void reset_small_ring(void **state)
{
    (void)state;
    for (uint32_t seed = 31; seed <= 33; seed++)
        one_run(seed, true, 8, 256);
}

int main(void)
{
    const char *r = getenv("COR_STRESS_ROUNDS");
    if (r && atoi(r) > 0)
        total = (size_t)atoi(r) * 4096;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(eof_default_ring, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(eof_small_ring, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(reset_default_ring, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(reset_small_ring, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
