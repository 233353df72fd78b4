/* SPDX-License-Identifier: MIT */
/*
 * echo_server - an echo (or HTTP hello) server on N loops, a coroutine per
 * connection, taking the peers' arguments so that the peers' benchmark
 * script can run it beside them:
 *
 *     echo_server echo|http PORT LOOPS
 *
 * Each loop has its own SO_REUSEPORT listener on 127.0.0.1:PORT.  The
 * handler is plain sequential code: recv, answer, repeat.  It reads through
 * a receive stream (multishot recv, provided buffers): one armed recv per
 * connection instead of a submission per read, which measured about 6% more
 * HTTP requests per server CPU-second than cor_recv (docs/api-io.md).
 */
#include <coring.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_CAP 16384

static const char RESP[] = "HTTP/1.1 200 OK\r\n"
                           "Content-Type: text/plain\r\n"
                           "Content-Length: 13\r\n"
                           "\r\n"
                           "Hello, World!";
#define RESP_LEN (sizeof RESP - 1)

static void *echo(int fd, void *arg)
{
    (void)arg;
    char buf[IN_CAP];
    ssize_t n;
    cor_recv_stream *rs;
    if (cor_recv_stream_open(&rs, fd) < 0)
        return NULL;
    while ((n = cor_recv_stream_read(rs, buf, sizeof buf)) > 0)
        if (cor_send(fd, buf, (size_t)n, 0) < 0)
            break;
    cor_recv_stream_close(rs);
    return NULL;
}

/* HTTP/1.1 keep-alive: every complete request (up to a blank line) gets
 * the fixed reply, in order; an incomplete tail waits for the next recv. */
static void serve_http(int fd, cor_recv_stream *rs)
{
    char in[IN_CAP], out[IN_CAP];
    size_t inlen = 0;
    for (;;) {
        ssize_t n = cor_recv_stream_read(rs, in + inlen, sizeof in - inlen);
        if (n <= 0)
            return;
        inlen += (size_t)n;
        size_t pos = 0, outlen = 0;
        const char *e;
        while ((e = memmem(in + pos, inlen - pos, "\r\n\r\n", 4))) {
            if (outlen + RESP_LEN > sizeof out) {
                if (cor_send(fd, out, outlen, 0) < 0)
                    return;
                outlen = 0;
            }
            memcpy(out + outlen, RESP, RESP_LEN);
            outlen += RESP_LEN;
            pos = (size_t)(e - in) + 4;
        }
        if (outlen && cor_send(fd, out, outlen, 0) < 0)
            return;
        if (pos == 0 && inlen == sizeof in)
            return; /* a request larger than our buffer */
        memmove(in, in + pos, inlen - pos);
        inlen -= pos;
    }
}

static void *http(int fd, void *arg)
{
    (void)arg;
    cor_recv_stream *rs;
    if (cor_recv_stream_open(&rs, fd) < 0)
        return NULL;
    serve_http(fd, rs);
    cor_recv_stream_close(rs);
    return NULL;
}

struct cfg {
    cor_conn_fn *fn;
    int port, loops;
};

static void *serve(void *arg)
{
    struct cfg *c = arg;
    cor_server *s;
    cor_server_opts o = {.loops = c->loops, .nodelay = true};
    int rc = cor_server_start(&s, "127.0.0.1", c->port, c->fn, NULL, &o);
    if (rc < 0)
        return cor_fail(rc, "cannot serve on port %d", c->port);
    fprintf(stderr, "coring: serving on 127.0.0.1:%d with %d loop(s)\n",
            cor_server_port(s), c->loops);
    cor_server_wait(s);
    cor_server_stop(s);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "echo") && strcmp(argv[1], "http"))) {
        fprintf(stderr, "usage: %s echo|http PORT LOOPS\n", argv[0]);
        return 2;
    }
    struct cfg c = {.fn = strcmp(argv[1], "http") ? echo : http,
                    .port = atoi(argv[2]),
                    .loops = atoi(argv[3])};
    if (c.port <= 0 || c.loops <= 0) {
        fprintf(stderr, "bad PORT or LOOPS\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    cor_run_opts o = {.loops = c.loops};
    int rc = cor_run_ex(serve, &c, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "echo_server: %s\n", cor_strerror(rc));
    return rc < 0 ? 1 : 0;
}
