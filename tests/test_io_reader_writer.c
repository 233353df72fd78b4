/* SPDX-License-Identifier: MIT */
/*
 * test_io_reader_writer.c - buffered streams (coring/stream.h): rules 53
 * and 54 of SPEC.md section 4 as C ports of the oracle's programs (a
 * stream server and cor_open_connection), and the rest of the contract:
 * separators split across receives, the limit (nothing consumed), a
 * cancelled read that loses nothing, writes delivered in order, a peer
 * gone, a cancelled drain whose bytes are still sent, one reading call at
 * a time (and a free under a waiting one), a writer freed under a
 * waiting drain and wait_closed, abort on free,
 * pipes (O_NONBLOCK ones too), bad input.
 */
#include "aio_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Python's repr() of a bytes object (the characters these tests use). */
static const char *py_bytes(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "b'");
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (p[i] == '\n')
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (p[i] == '\'' || p[i] == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", p[i]);
        else
            out[o++] = p[i];
    }
    snprintf(out + o, cap - o, "'");
    return out;
}
#define PYB(p, n) py_bytes((p), (n), (char[256]){0}, 256)

/* cmocka's asserts must not run on a task's stack: a failed check is
 * recorded, and the test's comparison of the record fails. */
#define CHECK_EQ(a, b)                                                        \
    do {                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                   \
        if (a_ != b_)                                                         \
            rec("line %d: %s = %lld, not %lld", __LINE__, #a, a_, b_);        \
    } while (0)

static int sv[2];

/* A loopback TCP pair: readers use their receive stream (multishot). */
static void pair(void)
{
    CHECK_EQ(h_tcp_pair(sv), 0);
}

static void send_str(int fd, const char *s)
{
    CHECK_EQ(cor_send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* ------------------------------------------------------------- rule 54 -- */

static const char *const payloads54[] = {"line1\nline2\npartial",
                                         "all of this until EOF", "12345"};

static void handle54(cor_reader *r, cor_writer *w, void *arg)
{
    (void)arg;
    char line[32];
    ssize_t n = cor_reader_readline(r, line, sizeof line - 1);
    if (n <= 0)
        return;
    line[n] = '\0';
    const char *p = payloads54[atoi(line)];
    cor_writer_write(w, p, strlen(p));
    cor_writer_drain(w);
    cor_writer_close(w);
    cor_writer_wait_closed(w);
}

static void connect54(int port, int which, cor_reader **r, cor_writer **w)
{
    CHECK_EQ(cor_open_connection("127.0.0.1", port, -1, r, w), 0);
    char msg[8];
    int len = snprintf(msg, sizeof msg, "%d\n", which);
    CHECK_EQ(cor_writer_write(*w, msg, (size_t)len), 0);
}

static void *main54(void *arg)
{
    (void)arg;
    cor_server *s;
    CHECK_EQ(
        cor_stream_server_start(&s, "127.0.0.1", 0, handle54, NULL, NULL), 0);
    int port = cor_server_port(s);
    cor_reader *r[3];
    cor_writer *w[3];
    char buf[64];
    connect54(port, 0, &r[0], &w[0]);
    for (int i = 0; i < 4; i++) {
        ssize_t n = cor_reader_readline(r[0], buf, sizeof buf);
        rec("readline -> %s", n >= 0 ? PYB(buf, (size_t)n) : "error");
    }
    connect54(port, 1, &r[1], &w[1]);
    char *all = NULL;
    ssize_t n = cor_reader_read_all(r[1], &all);
    rec("read(-1) -> %s", n >= 0 ? PYB(all, (size_t)n) : "error");
    free(all);
    connect54(port, 2, &r[2], &w[2]);
    size_t got = 0;
    int rc = cor_reader_readexactly(r[2], buf, 10, &got);
    if (rc == COR_EINCOMPLETE)
        rec("readexactly(10) -> IncompleteReadError partial=%s expected=10",
            PYB(buf, got));
    for (int i = 0; i < 3; i++) {
        cor_writer_close(w[i]);
        CHECK_EQ(cor_writer_wait_closed(w[i]), 0);
        cor_writer_free(w[i]);
        cor_reader_free(r[i]);
    }
    cor_server_stop(s);
    return NULL;
}

static void test_rule_54(void **state)
{
    (void)state;
    assert_int_equal(h_run(main54, NULL, 1), 0);
    check_oracle("rules", "rule_54");
}

/* ------------------------------------------------------------- rule 53 -- */

#define BIG (32u << 20)

static bool probe_ran, server_reading;
static cor_future *received;

static void handle53(cor_reader *r, cor_writer *w, void *arg)
{
    (void)arg;
    cor_sleep(0.2);
    server_reading = true;
    char *data = NULL;
    ssize_t n = cor_reader_read_all(r, &data);
    free(data);
    cor_writer_close(w);
    cor_writer_wait_closed(w);
    cor_future_set_result(received, (void *)(intptr_t)n);
}

static void *probe(void *arg)
{
    (void)arg;
    probe_ran = true;
    return NULL;
}

static void *main53(void *arg)
{
    (void)arg;
    probe_ran = server_reading = false;
    cor_future_create(&received);
    cor_server *s;
    CHECK_EQ(
        cor_stream_server_start(&s, "127.0.0.1", 0, handle53, NULL, NULL), 0);
    cor_reader *r;
    cor_writer *w;
    CHECK_EQ(
        cor_open_connection("127.0.0.1", cor_server_port(s), -1, &r, &w), 0);
    cor_task_release(cor_spawn(probe, NULL));
    char *big = malloc(BIG);
    memset(big, 'x', BIG);
    CHECK_EQ(cor_writer_write(w, big, BIG), 0);
    free(big); /* copied: the caller's buffer is free at once */
    rec("write() of 32 MiB returned without suspending: other task ran = %s",
        py_bool(probe_ran));
    CHECK_EQ(cor_writer_drain(w), 0);
    rec("drain() suspended: other task ran = %s", py_bool(probe_ran));
    rec("drain() returned only after the server started reading: %s",
        py_bool(server_reading));
    cor_writer_close(w);
    rec("close() returned at once; is_closing() = %s",
        py_bool(cor_writer_is_closing(w)));
    CHECK_EQ(cor_writer_wait_closed(w), 0);
    rec("wait_closed() returned");
    void *n = NULL;
    cor_future_await(received, &n);
    rec("server received %zd bytes, then EOF", (ssize_t)(intptr_t)n);
    cor_writer_free(w);
    cor_reader_free(r);
    cor_server_stop(s);
    cor_future_release(received);
    return NULL;
}

static void test_rule_53(void **state)
{
    (void)state;
    assert_int_equal(h_run(main53, NULL, 1), 0);
    check_oracle("rules", "rule_53");
}

/* ------------------------------------------------------------ readers -- */

/* A separator split across receives, the end before a separator (the
 * bytes stay readable), then the end of stream. */
static cor_reader *shared_r;

static void *until_reader(void *arg)
{
    char *buf = arg;
    return (void *)(intptr_t)cor_reader_readuntil(shared_r, "||", 2, buf,
                                                  64);
}

static void *split_main(void *arg)
{
    (void)arg;
    pair();
    CHECK_EQ(cor_reader_open(&shared_r, sv[0], 0), 0);
    cor_reader *r = shared_r;
    char buf[64];
    cor_task *t = cor_spawn(until_reader, buf);
    /* Each piece is received before the next is sent: the reader gets
     * "ab", "c|" and "|de" in three receives. */
    const char *pieces[] = {"ab", "c|", "|de"};
    for (int i = 0; i < 3; i++) {
        send_str(sv[1], pieces[i]);
        while (!cor_task_done(t) && recv(sv[0], buf, 1, MSG_PEEK |
                                         MSG_DONTWAIT) > 0)
            cor_yield();
        cor_yield(); /* the reader takes it and waits again */
        cor_yield();
    }
    void *res = NULL;
    cor_await(t, &res);
    cor_task_release(t);
    ssize_t n = (ssize_t)(intptr_t)res;
    rec("until=%s", n >= 0 ? PYB(buf, (size_t)n) : "error");
    shutdown(sv[1], SHUT_WR);
    rec("until_at_end=%zd", cor_reader_readuntil(r, "||", 2, buf,
                                                 sizeof buf));
    rec("eof=%d", cor_reader_at_eof(r));
    n = cor_reader_read(r, buf, sizeof buf);
    rec("rest=%s", n >= 0 ? PYB(buf, (size_t)n) : "error");
    rec("then=%zd eof=%d", cor_reader_read(r, buf, sizeof buf),
        cor_reader_at_eof(r));
    cor_reader_free(r);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static void test_readuntil_split(void **state)
{
    (void)state;
    assert_int_equal(h_run(split_main, NULL, 1), 0);
    char want[128];
    snprintf(want, sizeof want,
             "until=b'abc||'\nuntil_at_end=%d\neof=0\nrest=b'de'\n"
             "then=0 eof=1\n",
             COR_EINCOMPLETE);
    assert_string_equal(rec_text(), want);
}

/* Over the limit: -EMSGSIZE and nothing consumed (the reader holds the
 * limit and one byte more, which tells a line of exactly the limit at the
 * end of the stream from a longer one). */
static void *limit_main(void *arg)
{
    (void)arg;
    pair();
    cor_reader *r;
    CHECK_EQ(cor_reader_open(&r, sv[0], 16), 0);
    char buf[64];
    send_str(sv[1], "0123456789abcdefghij\n"); /* 21 bytes, limit 16 */
    rec("line=%zd", cor_reader_readline(r, buf, sizeof buf));
    ssize_t a = cor_reader_read(r, buf, sizeof buf);
    ssize_t b = cor_reader_read(r, buf + a, sizeof buf - (size_t)a);
    rec("read=%zd+%zd %s", a, b, PYB(buf, (size_t)(a + b)));
    /* A line longer than the caller's buffer: nothing consumed either. */
    send_str(sv[1], "hello world\n");
    rec("small=%zd", cor_reader_readline(r, buf, 5));
    ssize_t n = cor_reader_readline(r, buf, sizeof buf);
    rec("line=%s", n >= 0 ? PYB(buf, (size_t)n) : "error");
    cor_reader_free(r);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static void test_limit(void **state)
{
    (void)state;
    assert_int_equal(h_run(limit_main, NULL, 1), 0);
    char want[160];
    snprintf(want, sizeof want,
             "line=%d\nread=17+4 b'0123456789abcdefghij\\n'\nsmall=%d\n"
             "line=b'hello world\\n'\n",
             -EMSGSIZE, -EMSGSIZE);
    assert_string_equal(rec_text(), want);
}

/* A readuntil cut short by a deadline while part of the line is buffered
 * loses nothing (the same path as a cancellation). */
static void *cancel_main(void *arg)
{
    (void)arg;
    pair();
    CHECK_EQ(cor_reader_open(&shared_r, sv[0], 0), 0);
    char buf[64];
    send_str(sv[1], "abc");
    cor_timeout_scope sc;
    cor_timeout_begin(&sc, 0.05);
    ssize_t rc = cor_reader_readuntil(shared_r, "\n", 1, buf, sizeof buf);
    rec("until=%zd scope=%d", rc, cor_timeout_end(&sc));
    send_str(sv[1], "d\nrest");
    ssize_t n = cor_reader_readuntil(shared_r, "\n", 1, buf, sizeof buf);
    rec("line=%s", n >= 0 ? PYB(buf, (size_t)n) : "error");
    cor_reader_free(shared_r);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static void test_cancelled_read(void **state)
{
    (void)state;
    assert_int_equal(h_run(cancel_main, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "until=%d scope=%d\nline=b'abcd\\n'\n",
             -ETIMEDOUT, -ETIMEDOUT);
    assert_string_equal(rec_text(), want);
}

/* read_all cut short by a deadline gives what it read back to the reader;
 * a pair from cor_open_connection freed by a cancelled task still closes
 * its socket. */
static void *read_all_cut_main(void *arg)
{
    (void)arg;
    pair();
    cor_reader *r;
    CHECK_EQ(cor_reader_open(&r, sv[0], 0), 0);
    send_str(sv[1], "abc");
    char *all = NULL;
    cor_timeout_scope sc;
    cor_timeout_begin(&sc, 0.05);
    ssize_t n = cor_reader_read_all(r, &all);
    cor_timeout_end(&sc);
    rec("cut=%zd out=%p", n, (void *)all);
    send_str(sv[1], "def");
    close(sv[1]);
    n = cor_reader_read_all(r, &all);
    rec("all=%zd %s", n, all ? all : "(null)");
    free(all);
    cor_reader_free(r);
    close(sv[0]);
    return NULL;
}

static void handle_nothing(cor_reader *r, cor_writer *w, void *arg)
{
    (void)r;
    (void)w;
    (void)arg;
}

static void *cancelled_free_main(void *arg)
{
    (void)arg;
    cor_server *s;
    CHECK_EQ(cor_stream_server_start(&s, "127.0.0.1", 0, handle_nothing,
                                     NULL, NULL),
             0);
    cor_reader *r;
    cor_writer *w;
    CHECK_EQ(cor_open_connection("127.0.0.1", cor_server_port(s), -1, &r, &w),
             0);
    cor_task_cancel(cor_current_task());
    cor_writer_free(w);
    cor_reader_free(r); /* the socket closes here, cancelled or not */
    cor_shield_begin();
    cor_server_stop(s);
    cor_shield_end();
    return NULL;
}

static void test_interrupted_cleanup(void **state)
{
    (void)state;
    assert_int_equal(h_run(read_all_cut_main, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "cut=%d out=(nil)\nall=6 abcdef\n",
             -ETIMEDOUT);
    assert_string_equal(rec_text(), want);
    int before = h_count_fds();
    h_run(cancelled_free_main, NULL, 1);
    assert_int_equal(h_count_fds(), before);
}

/* readexactly: large counts bypass the buffer; a short stream reports the
 * partial count; a pipe is read with cor_read. */
static void *exact_main(void *arg)
{
    (void)arg;
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
    cor_reader *r;
    CHECK_EQ(cor_reader_open(&r, p[0], 0), 0);
    enum { N = 100000 };
    char *src = malloc(N), *dst = malloc(N + 10);
    for (int i = 0; i < N; i++)
        src[i] = (char)(i * 7 + i / 251);
    cor_writer *w;
    CHECK_EQ(cor_writer_open(&w, p[1]), 0);
    CHECK_EQ(cor_writer_write(w, src, N), 0);
    cor_writer_close(w);
    size_t got = 0;
    int rc = cor_reader_readexactly(r, dst, 10, &got);
    rec("first=%d got=%zu", rc, got);
    rc = cor_reader_readexactly(r, dst + 10, N - 10, &got);
    rec("rest=%d got=%zu", rc, got);
    rec("same=%d", memcmp(src, dst, N) == 0);
    CHECK_EQ(cor_writer_wait_closed(w), 0);
    cor_writer_free(w);
    CHECK_EQ(write(p[1], "xyz", 3), 3);
    close(p[1]);
    rc = cor_reader_readexactly(r, dst, 10, &got);
    rec("short=%d got=%zu %s eof=%d", rc == COR_EINCOMPLETE, got,
        PYB(dst, got), cor_reader_at_eof(r));
    cor_reader_free(r);
    close(p[0]);
    free(src);
    free(dst);
    return NULL;
}

static void test_readexactly(void **state)
{
    (void)state;
    assert_int_equal(h_run(exact_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "first=0 got=10\nrest=0 got=99990\n"
                                    "same=1\nshort=1 got=3 b'xyz' eof=1\n");
}

static void *read_all_task(void *arg)
{
    return (void *)(intptr_t)cor_reader_read_all(shared_r, arg);
}

/* Both ends of a pipe O_NONBLOCK: the ring waits for a pollable file
 * rather than answering -EAGAIN, so nothing is lost and nothing fails. */
static void *nonblock_main(void *arg)
{
    (void)arg;
    int p[2];
    CHECK_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    cor_reader *r;
    cor_writer *w;
    CHECK_EQ(cor_reader_open(&r, p[0], 0), 0);
    CHECK_EQ(cor_writer_open(&w, p[1]), 0);
    enum { N = 1 << 20 }; /* 16 times the pipe's buffer */
    char *src = malloc(N);
    for (int i = 0; i < N; i++)
        src[i] = (char)(i % 241);
    CHECK_EQ(cor_writer_write(w, src, N), 0);
    char line[8];
    /* Nothing in the pipe yet: the reader waits for it. */
    ssize_t n = cor_reader_readuntil(r, "\x05", 1, line, sizeof line);
    rec("until=%zd", n);
    /* The rest is read while the writer finishes. */
    char *all = NULL;
    shared_r = r;
    cor_task *t = cor_spawn(read_all_task, &all);
    cor_writer_close(w);
    rec("wait_closed=%d", cor_writer_wait_closed(w));
    cor_writer_free(w);
    close(p[1]);
    void *res = NULL;
    cor_await(t, &res);
    cor_task_release(t);
    n = (ssize_t)(intptr_t)res;
    rec("rest=%zd same=%d", n,
        n == N - 6 && memcmp(all, src + 6, (size_t)n) == 0);
    free(all);
    free(src);
    cor_reader_free(r);
    close(p[0]);
    return NULL;
}

static void test_nonblocking_fds(void **state)
{
    (void)state;
    assert_int_equal(h_run(nonblock_main, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "until=6\nwait_closed=0\nrest=%d same=1\n",
             (1 << 20) - 6);
    assert_string_equal(rec_text(), want);
}

/* ------------------------------------------------------------ writers -- */

/* Many writes arrive in order and byte-exact, then the end of stream; a
 * write after close is refused. */

static void *order_main(void *arg)
{
    (void)arg;
    pair();
    char *all = NULL;
    CHECK_EQ(cor_reader_open(&shared_r, sv[1], 0), 0);
    cor_task *t = cor_spawn(read_all_task, &all);
    cor_writer *w;
    CHECK_EQ(cor_writer_open(&w, sv[0]), 0);
    enum { N = 3000, SZ = 331 };
    char chunk[SZ];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < SZ; j++)
            chunk[j] = (char)(i + j);
        CHECK_EQ(cor_writer_write(w, chunk, SZ), 0);
        if (i % 100 == 0)
            CHECK_EQ(cor_writer_drain(w), 0);
    }
    cor_writer_close(w);
    rec("after_close=%d closing=%d", cor_writer_write(w, "x", 1),
        cor_writer_is_closing(w));
    void *res = NULL;
    cor_await(t, &res);
    cor_task_release(t);
    ssize_t n = (ssize_t)(intptr_t)res;
    bool same = n == (ssize_t)N * SZ;
    for (int i = 0; same && i < N; i++)
        for (int j = 0; j < SZ; j++)
            same = same && all[i * SZ + j] == (char)(i + j);
    rec("n=%zd same=%d", n, same);
    free(all);
    rec("wait_closed=%d buffered=%zu", cor_writer_wait_closed(w),
        cor_writer_buffered(w));
    cor_writer_free(w);
    cor_reader_free(shared_r);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static void test_writer_order(void **state)
{
    (void)state;
    assert_int_equal(h_run(order_main, NULL, 1), 0);
    char want[128];
    snprintf(want, sizeof want,
             "after_close=%d closing=1\nn=993000 same=1\n"
             "wait_closed=0 buffered=0\n",
             -EPIPE);
    assert_string_equal(rec_text(), want);
}

/* The peer is gone: drain and later writes report it; nothing aborts. */
static void *gone_main(void *arg)
{
    (void)arg;
    pair();
    cor_writer *w;
    CHECK_EQ(cor_writer_open(&w, sv[0]), 0);
    close(sv[1]);
    static char mb[1 << 20];
    CHECK_EQ(cor_writer_write(w, mb, sizeof mb), 0);
    int rc = cor_writer_drain(w);
    rec("drain_failed=%d", rc == -EPIPE || rc == -ECONNRESET);
    rec("write_after=%d", cor_writer_write(w, "x", 1) == rc);
    rec("closing=%d wait_closed_same=%d", cor_writer_is_closing(w),
        cor_writer_wait_closed(w) == rc);
    cor_writer_free(w);
    close(sv[0]);
    return NULL;
}

static void test_peer_gone(void **state)
{
    (void)state;
    assert_int_equal(h_run(gone_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "drain_failed=1\nwrite_after=1\n"
                                    "closing=1 wait_closed_same=1\n");
}

/* A drain cut short while the peer does not read: the bytes stay queued
 * and are all delivered once the peer reads. */
static cor_writer *shared_w;

static void *drain_cancel_main(void *arg)
{
    (void)arg;
    pair();
    CHECK_EQ(cor_writer_open(&shared_w, sv[0]), 0);
    enum { N = 16 << 20 }; /* more than the socket buffers take */
    char *src = malloc(N);
    for (int i = 0; i < N; i++)
        src[i] = (char)(i % 253);
    CHECK_EQ(cor_writer_write(shared_w, src, N), 0);
    cor_timeout_scope sc;
    cor_timeout_begin(&sc, 0.05);
    rec("drain=%d", cor_writer_drain(shared_w));
    cor_timeout_end(&sc);
    rec("queued=%d", cor_writer_buffered(shared_w) > 0);
    cor_writer_close(shared_w);
    cor_reader *r;
    CHECK_EQ(cor_reader_open(&r, sv[1], 0), 0);
    char *all = NULL;
    ssize_t n = cor_reader_read_all(r, &all);
    rec("n=%zd same=%d", n, n == N && memcmp(all, src, N) == 0);
    rec("wait_closed=%d", cor_writer_wait_closed(shared_w));
    free(all);
    free(src);
    cor_writer_free(shared_w);
    cor_reader_free(r);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static void test_drain_cancelled(void **state)
{
    (void)state;
    assert_int_equal(h_run(drain_cancel_main, NULL, 1), 0);
    char want[128];
    snprintf(want, sizeof want,
             "drain=%d\nqueued=1\nn=%d same=1\nwait_closed=0\n",
             -ETIMEDOUT, 16 << 20);
    assert_string_equal(rec_text(), want);
}

/* One reading call at a time per reader: a second one while the first
 * waits returns -EBUSY and leaves the reader as it was (the first gets the
 * bytes, later calls work); freeing the reader under a waiting call
 * interrupts it with -EBADF, and the reader goes as that call returns
 * (ASan: nothing used after free, nothing leaked).  On a pipe (cor_read)
 * and on a socket (a receive stream). */
static cor_reader *busy_r;

static void *busy_reader(void *arg)
{
    char buf[16];
    ssize_t n = cor_reader_read(busy_r, buf, sizeof buf);
    rec("reader%d=%zd", (int)(intptr_t)arg, n);
    return NULL;
}

static void *busy_main(void *arg)
{
    int fds[2];
    if (arg)
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    else
        CHECK_EQ(pipe(fds), 0);
    CHECK_EQ(cor_reader_open(&busy_r, fds[0], 0), 0);
    cor_task *t = cor_spawn(busy_reader, (void *)1);
    cor_yield(); /* it waits in its read */
    char buf[8];
    size_t got = 9;
    int ex = cor_reader_readexactly(busy_r, buf, 1, &got);
    rec("read=%zd line=%zd until=%zd exactly=%d got=%zu",
        cor_reader_read(busy_r, buf, sizeof buf),
        cor_reader_readline(busy_r, buf, sizeof buf),
        cor_reader_readuntil(busy_r, "x", 1, buf, sizeof buf), ex, got);
    CHECK_EQ(write(fds[1], "ab\n", 3), 3);
    CHECK_EQ(cor_await(t, NULL), 0);
    cor_task_release(t);
    CHECK_EQ(write(fds[1], "cd\n", 3), 3);
    rec("line=%zd", cor_reader_readline(busy_r, buf, sizeof buf));
    t = cor_spawn(busy_reader, (void *)2);
    cor_yield();
    cor_reader_free(busy_r);
    CHECK_EQ(cor_await(t, NULL), 0);
    cor_task_release(t);
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

static void test_one_reader_at_a_time(void **state)
{
    (void)state;
    char want[160];
    snprintf(want, sizeof want,
             "read=%d line=%d until=%d exactly=%d got=0\n"
             "reader1=3\n"
             "line=3\n"
             "reader2=%d\n",
             -EBUSY, -EBUSY, -EBUSY, -EBUSY, -EBADF);
    for (intptr_t sock = 0; sock < 2; sock++) {
        rec_reset();
        assert_int_equal(h_run(busy_main, (void *)sock, 1), 0);
        assert_string_equal(rec_text(), want);
    }
}

/* Freeing a writer while other tasks wait in its drain (the send still in
 * flight) and in its wait_closed: both return -EBADF, and the writer goes
 * once they are out (ASan: nothing used after free, nothing leaked). */
static cor_writer *busy_w;

static void *busy_drain(void *arg)
{
    (void)arg;
    rec("drain=%d", cor_writer_drain(busy_w));
    return NULL;
}

static void *busy_wait_closed(void *arg)
{
    (void)arg;
    rec("wait_closed=%d", cor_writer_wait_closed(busy_w));
    return NULL;
}

static void *free_waited_main(void *arg)
{
    (void)arg;
    int fds[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    CHECK_EQ(cor_writer_open(&busy_w, fds[0]), 0);
    enum { N = 8 << 20 }; /* more than the socket buffers take */
    char *src = calloc(1, N);
    CHECK_EQ(cor_writer_write(busy_w, src, N), 0);
    cor_task *d = cor_spawn(busy_drain, NULL);
    cor_task *c = cor_spawn(busy_wait_closed, NULL);
    cor_yield(); /* both wait */
    cor_writer_free(busy_w);
    CHECK_EQ(cor_await(d, NULL), 0);
    CHECK_EQ(cor_await(c, NULL), 0);
    cor_task_release(d);
    cor_task_release(c);
    free(src);
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

static void test_free_under_waiting_writer_calls(void **state)
{
    (void)state;
    assert_int_equal(h_run(free_waited_main, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "drain=%d\nwait_closed=%d\n", -EBADF,
             -EBADF);
    assert_string_equal(rec_text(), want);
}

/* Freeing a writer that is still sending aborts it: the in-flight send is
 * cancelled and waited for (ASan checks the rest); the peer gets a prefix
 * and then the end of stream once the socket closes. */
static void *abort_main(void *arg)
{
    (void)arg;
    pair();
    cor_writer *w;
    CHECK_EQ(cor_writer_open(&w, sv[0]), 0);
    enum { N = 64 << 20 }; /* more than the socket buffers take */
    char *src = calloc(1, N);
    CHECK_EQ(cor_writer_write(w, src, N), 0);
    cor_yield(); /* the send is issued and fills the socket */
    rec("buffered=%d", cor_writer_buffered(w) > 0);
    cor_writer_free(w);
    close(sv[0]);
    cor_reader *r;
    CHECK_EQ(cor_reader_open(&r, sv[1], 0), 0);
    char *all = NULL;
    ssize_t n = cor_reader_read_all(r, &all);
    rec("prefix=%d", n >= 0 && n < N);
    free(all);
    free(src);
    cor_reader_free(r);
    close(sv[1]);
    return NULL;
}

static void test_free_aborts(void **state)
{
    (void)state;
    assert_int_equal(h_run(abort_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "buffered=1\nprefix=1\n");
}

/* -------------------------------------------------------- bad input ---- */

static void *bad_main(void *arg)
{
    (void)arg;
    cor_reader *r;
    cor_writer *w;
    char buf[8];
    rec("%d %d %d %d", cor_reader_open(NULL, 0, 0), cor_reader_open(&r, -1, 0),
        cor_writer_open(NULL, 0), cor_writer_open(&w, -1));
    rec("%zd %zd %d %d %d", cor_reader_read(NULL, buf, 1),
        cor_reader_readline(NULL, buf, 8),
        cor_reader_readexactly(NULL, buf, 1, NULL),
        cor_writer_write(NULL, "x", 1), cor_writer_drain(NULL));
    pair();
    CHECK_EQ(cor_reader_open(&r, sv[0], 0), 0);
    CHECK_EQ(cor_writer_open(&w, sv[0]), 0);
    rec("%zd %zd %zd %d %zd", cor_reader_readuntil(r, "", 0, buf, 8),
        cor_reader_readuntil(r, NULL, 1, buf, 8),
        cor_reader_read(r, NULL, 1), cor_writer_write(w, NULL, 1),
        cor_reader_read_all(r, NULL));
    rec("%d", cor_open_connection("127.0.0.1", 1, -1, NULL, NULL));
    cor_reader_free(r);
    cor_writer_free(w);
    cor_reader_free(NULL);
    cor_writer_free(NULL);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(h_run(bad_main, NULL, 1), 0);
    char want[128];
    int e = -EINVAL;
    snprintf(want, sizeof want, "%d %d %d %d\n%d %d %d %d %d\n%d %d %d %d %d\n%d\n",
             e, -EBADF, e, -EBADF, e, e, e, e, e, e, e, e, e, e, e);
    assert_string_equal(rec_text(), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rule_54, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_rule_53, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_readuntil_split, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_limit, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_read, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_readexactly, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_cleanup, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_nonblocking_fds, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_writer_order, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_drain_cancelled, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_one_reader_at_a_time, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_free_under_waiting_writer_calls,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_free_aborts, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
