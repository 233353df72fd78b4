/* SPDX-License-Identifier: MIT */
/*
 * micro_io.c - what the io layers above the ring cost: a 64-byte echo
 * round trip over a loopback TCP connection between two tasks of one loop,
 * through receive streams and cor_send, then through a buffered reader and
 * writer (coring/stream.h), interleaved, best of five; and a child
 * process started and waited for (/bin/true through cor_proc_exec).
 */
#include "coring.h"
#include "micro.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSG 64

static double raw_ns = 1e18, buffered_ns = 1e18, proc_us = 1e18;
static int sv[2];

/* A connected loopback TCP pair (accept on the ring). */
static int tcp_pair(void)
{
    int lfd = cor_tcp_listen("127.0.0.1", 0, NULL);
    if (lfd < 0)
        return lfd;
    sv[1] = cor_tcp_connect("127.0.0.1", cor_sock_port(lfd), -1);
    sv[0] = sv[1] < 0 ? -1 : cor_accept(lfd, NULL, NULL, -1);
    close(lfd);
    if (sv[0] < 0) {
        if (sv[1] >= 0)
            close(sv[1]);
        return -1;
    }
    int one = 1;
    setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

/* The echoing side: raw (a receive stream and cor_send). */
static void *raw_echo(void *arg)
{
    long n = (long)(intptr_t)arg;
    cor_recv_stream *rs;
    char buf[MSG];
    cor_recv_stream_open(&rs, sv[0]);
    for (long i = 0; i < n; i++) {
        size_t got = 0;
        while (got < MSG) {
            ssize_t k = cor_recv_stream_read(rs, buf + got, MSG - got);
            if (k <= 0)
                goto out;
            got += (size_t)k;
        }
        cor_send(sv[0], buf, MSG, 0);
    }
out:
    cor_recv_stream_close(rs);
    return NULL;
}

static double raw_round(long n)
{
    cor_task *t = cor_spawn(raw_echo, (void *)(intptr_t)n);
    cor_recv_stream *rs;
    char buf[MSG] = {0};
    cor_recv_stream_open(&rs, sv[1]);
    int64_t t0 = micro_now_ns();
    for (long i = 0; i < n; i++) {
        cor_send(sv[1], buf, MSG, 0);
        size_t got = 0;
        while (got < MSG) {
            ssize_t k = cor_recv_stream_read(rs, buf + got, MSG - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
    }
    double ns = (double)(micro_now_ns() - t0) / (double)n;
    cor_await(t, NULL);
    cor_task_release(t);
    cor_recv_stream_close(rs);
    return ns;
}

/* The echoing side: a buffered reader and writer. */
static void *buffered_echo(void *arg)
{
    long n = (long)(intptr_t)arg;
    cor_reader *r;
    cor_writer *w;
    char buf[MSG];
    cor_reader_open(&r, sv[0], 0);
    cor_writer_open(&w, sv[0]);
    for (long i = 0; i < n; i++) {
        if (cor_reader_readexactly(r, buf, MSG, NULL) < 0)
            break;
        cor_writer_write(w, buf, MSG);
        cor_writer_drain(w);
    }
    cor_writer_free(w);
    cor_reader_free(r);
    return NULL;
}

static double buffered_round(long n)
{
    cor_task *t = cor_spawn(buffered_echo, (void *)(intptr_t)n);
    cor_reader *r;
    cor_writer *w;
    char buf[MSG] = {0};
    cor_reader_open(&r, sv[1], 0);
    cor_writer_open(&w, sv[1]);
    int64_t t0 = micro_now_ns();
    for (long i = 0; i < n; i++) {
        cor_writer_write(w, buf, MSG);
        cor_writer_drain(w);
        if (cor_reader_readexactly(r, buf, MSG, NULL) < 0)
            break;
    }
    double ns = (double)(micro_now_ns() - t0) / (double)n;
    cor_await(t, NULL);
    cor_task_release(t);
    cor_writer_free(w);
    cor_reader_free(r);
    return ns;
}

static void *io_main(void *arg)
{
    (void)arg;
    if (tcp_pair() < 0)
        return NULL;
    long n = 50000;
    raw_round(n / 10); /* warm up both paths */
    buffered_round(n / 10);
    for (int rep = 0; rep < 5; rep++) {
        double a = raw_round(n), b = buffered_round(n);
        raw_ns = a < raw_ns ? a : raw_ns;
        buffered_ns = b < buffered_ns ? b : buffered_ns;
    }
    close(sv[0]);
    close(sv[1]);

    const char *argv[] = {"true", NULL};
    for (int rep = 0; rep < 20; rep++) {
        cor_proc *p;
        int64_t t0 = micro_now_ns();
        if (cor_proc_exec(&p, argv, NULL) < 0)
            break;
        cor_proc_wait(p, NULL);
        double us = (double)(micro_now_ns() - t0) / 1e3;
        cor_proc_free(p);
        proc_us = us < proc_us ? us : proc_us;
    }
    return NULL;
}

void micro_io(void)
{
    cor_run_opts o = {.loops = 1};
    if (cor_run_ex(io_main, NULL, &o, NULL) != 0 || raw_ns >= 1e18)
        return;
    micro_print("tcp_echo_64b_raw_ns", raw_ns, "ns");
    micro_print("tcp_echo_64b_streams_ns", buffered_ns, "ns");
    micro_print("tcp_echo_streams_over_raw", buffered_ns / raw_ns, "x");
    if (proc_us < 1e18)
        micro_print("proc_exec_wait_true_us", proc_us, "us");
}
