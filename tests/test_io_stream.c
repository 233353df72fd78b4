/* SPDX-License-Identifier: MIT */
/*
 * test_io_stream.c - receive streams (multishot recv with a provided-buffer
 * ring): delivery in order across partial reads, end of stream, a peer
 * reset, the ring running dry (plain-recv fallback, byte-exact), a reader
 * cancelled while data arrives (nothing lost), chunks copied straight into
 * a waiting reader's buffer (or queued when larger), close while
 * cancelled, a second reader and a close while a read waits, a large backlog then the end of stream (Unix and TCP), the
 * choice between multishot and plain recvs (data that comes before the
 * loop's next enter, or after it; a reader cancelled during the change, a
 * peer reset during it), a chunk that finds no memory to be queued, bad
 * input.
 */
#include "harness.h"
#include "internal.h"
#include "../io/io_internal.h"
#include "uring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];

/* TCP: Unix-domain sockets take plain recvs (see the last test). */
static void pair(void)
{
    assert_int_equal(h_tcp_pair(sv), 0);
}

/* ------------------------------------------------------ order and ends -- */

static void *basic(void *arg)
{
    (void)arg;
    cor_recv_stream *s;
    rec("open=%d", cor_recv_stream_open(&s, sv[0]));
    if (write(sv[1], "hello", 5) != 5 || write(sv[1], "world", 5) != 5)
        rec("write failed");
    char buf[16] = {0};
    ssize_t n = cor_recv_stream_read(s, buf, 3);
    rec("read=%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
    cor_yield(); /* let the second write's completion arrive too */
    n = cor_recv_stream_read(s, buf, sizeof buf);
    rec("read=%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
    rec("zero=%zd", cor_recv_stream_read(s, buf, 0));
    close(sv[1]);
    rec("eof=%zd", cor_recv_stream_read(s, buf, sizeof buf));
    rec("eof again=%zd", cor_recv_stream_read(s, buf, sizeof buf));
    int rc = cor_recv_stream_close(s);
    rec("close=%d inflight=%zu", rc, cor__tls_loop->nops);
    rec("ring kept=%d", cor__tls_loop->user[0] != NULL);
    return NULL;
}

static void test_order_and_eof(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(basic, NULL, 1), 0);
    close(sv[0]);
    /* The 7 bytes after "hel" came in two completions; one read takes
     * both. */
    char want[160];
    snprintf(want, sizeof want,
             "open=0\nread=3 hel\nread=7 loworld\nzero=0\neof=0\n"
             "eof again=0\nclose=0 inflight=0\n"
             "ring kept=%d\n", h_uring()); /* epoll: no provided buffers */
    assert_string_equal(rec_text(), want);
}

static void *reset(void *arg)
{
    (void)arg;
    int lfd = cor_tcp_listen("127.0.0.1", 0, NULL);
    int c = cor_tcp_connect("127.0.0.1", cor_sock_port(lfd), -1);
    int fd = cor_accept(lfd, NULL, NULL, -1);
    cor_recv_stream *s;
    rec("open=%d", cor_recv_stream_open(&s, fd));
    cor_send(c, "abc", 3, 0);
    char buf[8];
    ssize_t n = cor_recv_stream_read(s, buf, sizeof buf);
    rec("read=%zd", n);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c); /* with a zero linger: an RST */
    rec("after reset=%zd", cor_recv_stream_read(s, buf, sizeof buf));
    cor_recv_stream_close(s);
    close(fd);
    close(lfd);
    return NULL;
}

static void test_peer_reset(void **state)
{
    (void)state;
    assert_int_equal(h_run(reset, NULL, 1), 0);
    assert_string_equal(rec_text(), "open=0\n"
                                    "read=3\n"
                                    "after reset=-104\n");
}

/* ------------------------------------------------------- the ring dry -- */

#define DRY_BYTES (96 * 1024)

static void *dry(void *arg)
{
    (void)arg;
    /* Everything is in the socket before the first read: the multishot
     * fills the ring's 4 buffers of 64 bytes and ends with -ENOBUFS. */
    unsigned char *out = malloc(DRY_BYTES), *in = malloc(DRY_BYTES);
    for (size_t i = 0; i < DRY_BYTES; i++)
        out[i] = (unsigned char)(i * 7 + i / 251);
    if (write(sv[1], out, DRY_BYTES) != DRY_BYTES)
        rec("write failed");
    close(sv[1]);
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    size_t got = 0;
    ssize_t n;
    while ((n = cor_recv_stream_read(s, in + got, 1000)) > 0)
        got += (size_t)n;
    rec("end=%zd got=%zu same=%d fell back=%d", n, got,
        got == DRY_BYTES && memcmp(in, out, DRY_BYTES) == 0,
        cor__recv_stream_fallbacks(s) > 0);
    cor_recv_stream_close(s);
    free(out);
    free(in);
    return NULL;
}

static void test_ring_runs_dry(void **state)
{
    (void)state;
    H_NEED_URING();
    pair();
    assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF,
                                &(int){DRY_BYTES * 2}, sizeof(int)),
                     0);
    cor__recv_stream_geometry(4, 64);
    int rc = h_run(dry, NULL, 1);
    cor__recv_stream_geometry(1024, 4096);
    close(sv[0]);
    assert_int_equal(rc, 0);
    assert_string_equal(rec_text(), "end=0 got=98304 same=1 fell back=1\n");
}

/* ---------------------------------------------- cancel and lose nothing -- */

static cor_recv_stream *shared;

static void *reader(void *arg)
{
    (void)arg;
    char buf[64]; /* on this stack: the kernel never writes here */
    ssize_t n = cor_recv_stream_read(shared, buf, sizeof buf);
    rec("reader=%zd", n);
    return NULL;
}

static void *cancel_with_data(void *arg)
{
    (void)arg;
    cor_recv_stream_open(&shared, sv[0]);
    cor_task *t = cor_spawn(reader, NULL);
    cor_yield(); /* the reader parks; the multishot is armed */
    cor_yield(); /* ... and submitted */
    /* The data reaches the socket, then the reader is cancelled before the
     * loop reaps the completion that carries it. */
    if (write(sv[1], "hello", 5) != 5)
        rec("write failed");
    cor_task_cancel(t);
    rec("await=%d", cor_await(t, NULL));
    cor_task_release(t);
    char buf[16] = {0};
    ssize_t n = cor_recv_stream_read(shared, buf, sizeof buf);
    rec("later=%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
    cor_recv_stream_close(shared);
    return NULL;
}

static void test_cancel_with_data_arriving(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(cancel_with_data, NULL, 1), 0);
    close(sv[0]);
    close(sv[1]);
    assert_string_equal(rec_text(), "reader=-125\n"
                                    "await=0\n"
                                    "later=5 hello\n");
}

static void *close_cancelled(void *arg)
{
    (void)arg;
    cor_recv_stream *s;
    /* A stream with an armed multishot closed by a cancelled task: close
     * still waits for the final completion (ASan: no use after free). */
    cor_recv_stream_open(&s, sv[0]);
    char buf[8];
    if (write(sv[1], "x", 1) != 1)
        rec("write failed");
    rec("first=%zd", cor_recv_stream_read(s, buf, sizeof buf)); /* armed */
    cor_task_cancel(cor_current_task());
    int rc = cor_recv_stream_close(s);
    rec("close=%d inflight=%zu", rc, cor__tls_loop->nops);
    return NULL;
}

static void test_close_when_cancelled(void **state)
{
    (void)state;
    pair();
    h_run(close_cancelled, NULL, 1);
    close(sv[0]);
    close(sv[1]);
    assert_string_equal(rec_text(), "first=1\n"
                                    "close=0 inflight=0\n");
}

/* A read waiting in one task when another task reads or closes the stream:
 * the second read gets -EBUSY (one reader at a time) and leaves the first
 * waiting; the close interrupts the first, which returns -EBADF, and the
 * stream is freed once it is out (ASan: no use after free, nothing
 * leaked).  Over TCP the reader waits on the multishot, over a Unix
 * socket (and on the epoll backend) in a plain recv. */
static void *close_with_reader(void *arg)
{
    (void)arg;
    cor_recv_stream_open(&shared, sv[0]);
    cor_task *t = cor_spawn(reader, NULL);
    cor_yield(); /* the reader parks */
    cor_yield();
    char buf[4];
    rec("second=%zd", cor_recv_stream_read(shared, buf, sizeof buf));
    int rc = cor_recv_stream_close(shared);
    rec("await=%d", cor_await(t, NULL));
    rec("close=%d inflight=%zu", rc, cor__tls_loop->nops);
    cor_task_release(t);
    return NULL;
}

static void test_close_with_a_reader_waiting(void **state)
{
    (void)state;
    for (int unix_pair = 0; unix_pair < 2; unix_pair++) {
        rec_reset();
        if (unix_pair)
            assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        else
            pair();
        assert_int_equal(h_run(close_with_reader, NULL, 1), 0);
        close(sv[0]);
        close(sv[1]);
        assert_string_equal(rec_text(), "second=-16\n"
                                        "reader=-9\n"
                                        "await=0\n"
                                        "close=0 inflight=0\n");
    }
}

/* --------------------------------------- straight into a waiting reader -- */

/* A reader parked with nothing queued gets each chunk copied into its
 * buffer by the completion (no queue); a chunk larger than its room is
 * queued, and its bytes come in order. */
static const char *const direct_msgs[] = {"one", "two", "three",
                                          "0123456789abcdef", "tail"};
static int direct_round = -1;

static void *direct_writer(void *arg)
{
    (void)arg;
    for (int k = 0; k < 5; k++) {
        while (direct_round != k)
            cor_yield();
        cor_yield(); /* the reader is parked, its multishot armed */
        size_t n = strlen(direct_msgs[k]);
        if (write(sv[1], direct_msgs[k], n) != (ssize_t)n)
            rec("write failed");
    }
    return NULL;
}

static void *direct(void *arg)
{
    (void)arg;
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    cor_task *w = cor_spawn(direct_writer, NULL);
    char buf[16];
    for (int k = 0; k < 5; k++) {
        direct_round = k;
        size_t want = strlen(direct_msgs[k]), got = 0;
        while (got < want) {
            ssize_t n = cor_recv_stream_read(s, buf, k == 3 ? 8 : 16);
            rec("read=%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
    }
    cor_await(w, NULL);
    cor_task_release(w);
    rec("queued=%d", (int)cor__recv_stream_queued(s));
    cor_recv_stream_close(s);
    direct_round = -1;
    return NULL;
}

static void test_direct_to_waiting_reader(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(direct, NULL, 1), 0);
    close(sv[0]);
    close(sv[1]);
    char want[160];
    snprintf(want, sizeof want,
             "read=3 one\nread=3 two\nread=5 three\nread=8 01234567\n"
             "read=8 89abcdef\nread=4 tail\nqueued=%d\n",
             h_uring()); /* epoll: plain recvs, no queue */
    assert_string_equal(rec_text(), want);
}

/* ------------------------------------------- a large backlog, then EOF -- */

/* More than 32 buffers pending and the peer already gone: every byte and
 * then the end of stream arrive.  On a Unix socket the kernel's multishot
 * recv stops after 32 buffers and waits for a wakeup that never comes (the
 * stream uses plain recvs there); a TCP socket keeps its multishot. */
#define BACKLOG_BYTES 200000

static void *backlog(void *arg)
{
    (void)arg;
    unsigned char *out = malloc(BACKLOG_BYTES), *in = malloc(BACKLOG_BYTES);
    for (size_t i = 0; i < BACKLOG_BYTES; i++)
        out[i] = (unsigned char)(i * 13 + i / 509);
    size_t off = 0;
    while (off < BACKLOG_BYTES) {
        ssize_t k = write(sv[1], out + off, BACKLOG_BYTES - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    close(sv[1]);
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    size_t got = 0;
    ssize_t n;
    static char chunk[65536]; /* reads never ask for 0 bytes */
    cor_timeout_scope sc;
    cor_timeout_begin(&sc, 10);
    while ((n = cor_recv_stream_read(s, chunk, sizeof chunk)) > 0) {
        if (got + (size_t)n <= BACKLOG_BYTES)
            memcpy(in + got, chunk, (size_t)n);
        got += (size_t)n;
    }
    cor_timeout_end(&sc);
    rec("end=%zd got=%zu same=%d", n, got,
        got == BACKLOG_BYTES && memcmp(in, out, BACKLOG_BYTES) == 0);
    cor_recv_stream_close(s);
    free(out);
    free(in);
    return NULL;
}

static void test_backlog_then_eof(void **state)
{
    (void)state;
    /* Unix: the backlog fits the socket's default buffer. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    assert_int_equal(h_run(backlog, NULL, 1), 0);
    close(sv[0]);
    /* TCP, multishot. */
    pair();
    assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF,
                                &(int){BACKLOG_BYTES * 2}, sizeof(int)),
                     0);
    assert_int_equal(h_run(backlog, NULL, 1), 0);
    close(sv[0]);
    assert_string_equal(rec_text(), "end=0 got=200000 same=1\n"
                                    "end=0 got=200000 same=1\n");
}

/* ------------------------------------------ plain or multishot, chosen -- */

/* Each round the writer puts one byte in the socket and waits for the
 * reader; early: in the iteration the reader asks in (the loop's next enter
 * finds the data waiting), late: one iteration after. */
#define ROUNDS 20

static cor_event *go;
static bool write_early;
static unsigned ring_flags_seen;

static void *writer(void *arg)
{
    (void)arg;
    for (int k = 0; k < ROUNDS; k++) {
        if (!write_early)
            cor_yield();
        char c = (char)('a' + k);
        if (write(sv[1], &c, 1) != 1)
            rec("write failed");
        if (cor_event_wait(go) < 0)
            break;
        cor_event_clear(go);
    }
    return NULL;
}

static void *reader_late(void *arg)
{
    char c = 0;
    ssize_t n = cor_recv_stream_read(arg, &c, 1);
    rec("late=%zd %c", n, n > 0 ? c : '-');
    return NULL;
}

static void *choose(void *arg)
{
    write_early = arg != NULL;
    ring_flags_seen = h_uring() ? cor__uring_of(cor__tls_loop)->flags : 0;
    cor_event_create(&go);
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    cor_task *w = cor_spawn(writer, NULL);
    char got[ROUNDS + 1] = {0};
    bool plain = false;
    uint64_t sw = 0;
    int k;
    for (k = 0; k < ROUNDS; k++) {
        if (cor_recv_stream_read(s, got + k, 1) != 1)
            break;
        cor_event_set(go); /* the writer runs first next iteration */
        cor_yield();
        sw = cor__recv_stream_switches(s, &plain);
    }
    cor_await(w, NULL);
    cor_task_release(w);
    rec("got=%s switches=%llu plain=%d", got, (unsigned long long)sw, plain);
    if (plain) {
        /* Nothing there: the plain recv does not wait, the multishot is
         * armed again and brings what comes later. */
        cor_task *t = cor_spawn(reader_late, s);
        cor_yield();
        cor_yield();
        if (write(sv[1], "z", 1) != 1)
            rec("write failed");
        cor_await(t, NULL);
        cor_task_release(t);
        sw = cor__recv_stream_switches(s, &plain);
        rec("switches=%llu plain=%d", (unsigned long long)sw, plain);
    }
    cor_recv_stream_close(s);
    rec("inflight=%zu", cor__tls_loop->nops);
    cor_event_destroy(go);
    return NULL;
}

/*
 * Whether the loop can see the writer's data early.  The writer here is a
 * task on the loop's own thread: without DEFER_TASKRUN the kernel runs the
 * recv's task work on the write's own return to user space, so the loop's
 * next enter never finds it waiting (a writer elsewhere would not do that).
 */
static bool sees_early_data(void)
{
    return (ring_flags_seen & IORING_SETUP_TASKRUN_FLAG) &&
           (ring_flags_seen & IORING_SETUP_DEFER_TASKRUN);
}

/* fn on one loop over a fresh TCP pair, closed after. */
static void run_on_pair(cor_fn *fn, void *arg)
{
    pair();
    assert_int_equal(h_run(fn, arg, 1), 0);
    close(sv[0]);
    close(sv[1]);
}

static void test_plain_when_data_comes_early(void **state)
{
    (void)state;
    H_NEED_URING();
    run_on_pair(choose, "early");
    if (!sees_early_data())
        skip(); /* always multishot */
    assert_string_equal(rec_text(),
                        "got=abcdefghijklmnopqrst switches=1 plain=1\n"
                        "late=1 z\n"
                        "switches=2 plain=0\n"
                        "inflight=0\n");
}

static void test_multishot_when_data_comes_late(void **state)
{
    (void)state;
    H_NEED_URING();
    run_on_pair(choose, NULL);
    assert_string_equal(rec_text(),
                        "got=abcdefghijklmnopqrst switches=0 plain=0\n"
                        "inflight=0\n");
}

/* A reader cancelled while the stream waits for its multishot to end (on
 * the way to plain recvs): nothing is lost, the stream goes on plain. */
static void *cancel_switch(void *arg)
{
    (void)arg;
    write_early = true;
    ring_flags_seen = h_uring() ? cor__uring_of(cor__tls_loop)->flags : 0;
    cor_event_create(&go);
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    cor_task *w = cor_spawn(writer, NULL);
    char c;
    bool plain = false;
    int k;
    for (k = 0; k < ROUNDS; k++) {
        if (cor_recv_stream_read(s, &c, 1) != 1)
            break;
        cor__recv_stream_switches(s, &plain);
        if (plain)
            break; /* the writer writes nothing more */
        cor_event_set(go);
        cor_yield();
    }
    cor_task_cancel(w);
    cor_await(w, NULL);
    cor_task_release(w);
    rec("plain after %d reads, last %c", k + 1, c);
    cor_task *t = cor_spawn(reader_late, s);
    cor_yield(); /* it asks for the multishot's end and parks */
    cor_task_cancel(t);
    cor_await(t, NULL);
    cor_task_release(t);
    if (write(sv[1], "Z", 1) != 1)
        rec("write failed");
    ssize_t n = cor_recv_stream_read(s, &c, 1);
    uint64_t sw = cor__recv_stream_switches(s, &plain);
    rec("read=%zd %c switches=%llu plain=%d", n, n > 0 ? c : '-',
        (unsigned long long)sw, plain);
    cor_recv_stream_close(s);
    rec("inflight=%zu", cor__tls_loop->nops);
    cor_event_destroy(go);
    return NULL;
}

static void test_cancelled_while_switching(void **state)
{
    (void)state;
    H_NEED_URING();
    run_on_pair(cancel_switch, NULL);
    if (!sees_early_data())
        skip();
    assert_string_equal(rec_text(), "plain after 9 reads, last i\n"
                                    "late=-125 -\n"
                                    "read=1 Z switches=1 plain=1\n"
                                    "inflight=0\n");
}

/* The peer resets the connection while the stream waits for its multishot
 * to end (on the way to plain recvs): the reset is reported, once. */
static void *reader_rst(void *arg)
{
    char c = 0;
    ssize_t n = cor_recv_stream_read(arg, &c, 1);
    rec("read=%zd", n);
    return NULL;
}

static void *send_rst(void *arg)
{
    (void)arg;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(sv[1]); /* an RST, before the loop submits the cancel */
    sv[1] = -1;
    return NULL;
}

static void *reset_switch(void *arg)
{
    (void)arg;
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    char c = 0;
    if (write(sv[1], "a", 1) != 1)
        rec("write failed");
    ssize_t n = cor_recv_stream_read(s, &c, 1); /* the multishot is armed */
    rec("read=%zd %c", n, n > 0 ? c : '-');
    cor__recv_stream_go_plain(s);
    /* The reader asks for the multishot's end and parks; the reset comes
     * in the same iteration, before the loop's next enter. */
    cor_task *r = cor_spawn(reader_rst, s);
    cor_task *x = cor_spawn(send_rst, NULL);
    cor_await(r, NULL);
    cor_await(x, NULL);
    cor_task_release(r);
    cor_task_release(x);
    cor_recv_stream_close(s);
    rec("inflight=%zu", cor__tls_loop->nops);
    return NULL;
}

static void test_reset_while_switching(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(reset_switch, NULL, 1), 0);
    close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    assert_string_equal(rec_text(), "read=1 a\n"
                                    "read=-104\n"
                                    "inflight=0\n");
}

/* A chunk that finds no memory to be queued ends the stream (-ENOMEM)
 * after the bytes before it; nothing that came after it is delivered. */
static void send_and_receive(const char *bytes)
{
    if (write(sv[1], bytes, strlen(bytes)) != (ssize_t)strlen(bytes))
        rec("write failed");
    /* The multishot takes it out of the socket, a chunk of its own. */
    int left = 1;
    for (int i = 0; i < 100000 && left > 0; i++) {
        cor_yield();
        if (ioctl(sv[0], FIONREAD, &left) < 0)
            left = 0;
    }
    for (int i = 0; i < 4; i++)
        cor_yield(); /* and its completion is reaped */
}

static void *nomem(void *arg)
{
    (void)arg;
    cor_recv_stream *s;
    cor_recv_stream_open(&s, sv[0]);
    char buf[64];
    ssize_t n = cor_recv_stream_read(s, buf, 0); /* arms nothing */
    send_and_receive("aaaa");
    n = cor_recv_stream_read(s, buf, 2); /* the multishot is armed now */
    rec("read=%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
    atomic_store(&cor__recv_stream_fail_queue, 1);
    send_and_receive("bbbb"); /* lost */
    send_and_receive("cccc");
    atomic_store(&cor__recv_stream_fail_queue, 0);
    do {
        n = cor_recv_stream_read(s, buf, sizeof buf);
        rec("read=%zd %.*s", n, (int)(n > 0 ? n : 0), buf);
    } while (n > 0);
    cor_recv_stream_close(s);
    rec("inflight=%zu", cor__tls_loop->nops);
    return NULL;
}

static void test_no_memory_ends_the_stream(void **state)
{
    (void)state;
    H_NEED_URING(); /* the queue of provided buffers */
    run_on_pair(nomem, NULL);
    assert_string_equal(rec_text(), "read=2 aa\n"
                                    "read=2 aa\n"
                                    "read=-12 \n"
                                    "inflight=0\n");
}

/* ------------------------------------------------------------ bad input -- */

static void *bad_input(void *arg)
{
    (void)arg;
    cor_recv_stream *s;
    char buf[4];
    rec("%d %d %zd %d", cor_recv_stream_open(NULL, 0),
        cor_recv_stream_open(&s, -1), cor_recv_stream_read(NULL, buf, 4),
        cor_recv_stream_close(NULL));
    cor_recv_stream_open(&s, sv[0]);
    rec("%zd", cor_recv_stream_read(s, NULL, 4));
    cor_recv_stream_close(s);
    return NULL;
}

static void test_bad_input(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(bad_input, NULL, 1), 0);
    close(sv[0]);
    close(sv[1]);
    assert_string_equal(rec_text(), "-22 -9 -22 -22\n"
                                    "-22\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_eof, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_peer_reset, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_ring_runs_dry, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_with_data_arriving,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_direct_to_waiting_reader,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_close_when_cancelled, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_close_with_a_reader_waiting,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_backlog_then_eof, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_plain_when_data_comes_early,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_multishot_when_data_comes_late,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_reset_while_switching, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_no_memory_ends_the_stream,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_while_switching,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
