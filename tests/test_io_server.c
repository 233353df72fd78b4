/* SPDX-License-Identifier: MIT */
/*
 * test_io_server.c - the per-loop server helper: echo round trips, stop
 * while idle, and 10k concurrent loopback connections (clients in a child
 * process, each side has its own fd limit) served and closed with no fd
 * leaked; connection sockets in the loop's registered-file table while
 * their handler runs, out of it (and closed) after; a handler that closes
 * its connection with cor_close keeps the server off that fd number.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* Handlers alive, and a future resolved when the last one of the expected
 * number ends (one loop: no atomics needed). */
static int live, ended, expect;
static size_t peak_fixed;
static cor_future *all_ended;

static size_t fixed_now(void)
{
    cor_loop_stats st;
    cor_loop_stats_get(&st);
    return st.fixed_files;
}

static void *echo(int fd, void *arg)
{
    (void)arg;
    live++;
    if (fixed_now() > peak_fixed)
        peak_fixed = fixed_now();
    char buf[512];
    ssize_t n;
    while ((n = cor_recv(fd, buf, sizeof buf, 0)) > 0)
        if (cor_send(fd, buf, (size_t)n, 0) < 0)
            break;
    live--;
    if (++ended == expect && all_ended)
        cor_future_set_result(all_ended, NULL);
    return NULL;
}

static int port;

static void *client(void *arg)
{
    int i = (int)(intptr_t)arg;
    int fd = cor_tcp_connect("127.0.0.1", port, -1);
    char msg[32], buf[32] = {0};
    int len = snprintf(msg, sizeof msg, "message %d", i);
    ssize_t s = cor_send(fd, msg, (size_t)len, 0);
    ssize_t r = cor_recv(fd, buf, sizeof buf - 1, 0);
    if (s != len || r != len || memcmp(msg, buf, (size_t)len))
        rec("client %d: send=%zd recv=%zd", i, s, r);
    cor_close(fd);
    return NULL;
}

static void *echo_main(void *arg)
{
    (void)arg;
    cor_server *s;
    expect = 50;
    cor_future_create(&all_ended);
    rec("start=%d", cor_server_start(&s, "127.0.0.1", 0, echo, NULL, NULL));
    port = cor_server_port(s);
    cor_task *t[50];
    for (int i = 0; i < 50; i++)
        t[i] = cor_spawn(client, (void *)(intptr_t)i);
    for (int i = 0; i < 50; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    cor_future_await(all_ended, NULL);
    rec("accepted=%llu live=%d",
        (unsigned long long)cor_server_accepted(s), live);
    int rc = cor_server_stop(s);
    rec("stop=%d inflight=%zu", rc, cor__tls_loop->nops);
    cor_future_release(all_ended);
    all_ended = NULL;
    return NULL;
}

static void test_server_echo(void **state)
{
    (void)state;
    int before = h_count_fds();
    live = ended = 0;
    assert_int_equal(h_run(echo_main, NULL, 1), 0);
    assert_string_equal(rec_text(), "start=0\n"
                                    "accepted=50 live=0\n"
                                    "stop=0 inflight=0\n");
    assert_int_equal(h_count_fds(), before);
}

/* ------------------------------------------------- 10k connections ------ */

#define NCONN 10000

static int connected;
static cor_future *all_connected;

static void *holder(void *arg)
{
    int i = (int)(intptr_t)arg;
    int fd = cor_tcp_connect("127.0.0.1", port, 30000000000LL);
    if (fd < 0) {
        rec("connect %d: %d", i, fd);
    } else {
        char b = 'x', r = 0;
        if (cor_send(fd, &b, 1, 0) != 1 || cor_recv(fd, &r, 1, 0) != 1)
            rec("echo %d failed", i);
    }
    /* Hold the connection until every client is connected. */
    if (++connected == NCONN)
        cor_future_set_result(all_connected, NULL);
    cor_future_await(all_connected, NULL);
    if (fd >= 0)
        cor_close(fd);
    return NULL;
}

static void *clients_main(void *arg)
{
    (void)arg;
    cor_future_create(&all_connected);
    static cor_task *t[NCONN];
    for (int i = 0; i < NCONN; i++) {
        t[i] = cor_spawn(holder, (void *)(intptr_t)i);
        if (i % 512 == 511)
            cor_sleep(0.002); /* let the accept queue drain: no SYN drops */
    }
    for (int i = 0; i < NCONN; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    cor_future_release(all_connected);
    return NULL;
}

static int portpipe[2];

static void *server_main(void *arg)
{
    (void)arg;
    cor_server *s;
    expect = NCONN;
    cor_future_create(&all_ended);
    int rc = cor_server_start(&s, "127.0.0.1", 0, echo, NULL, NULL);
    port = cor_server_port(s);
    if (write(portpipe[1], &port, sizeof port) != sizeof port)
        rc = -EIO;
    rec("start=%d", rc);
    /* No timeout of our own: the child gives up (and the test fails) if
     * the server does not serve it, and meson's timeout bounds the rest. */
    cor_future_await(all_ended, NULL);
    rec("accepted=%llu live=%d",
        (unsigned long long)cor_server_accepted(s), live);
    /* 4096 registered slots per loop: the connections past them were
     * served through their plain fd. */
    rec("peak_fixed=%zu now=%zu", peak_fixed, fixed_now());
    cor_server_stop(s);
    cor_future_release(all_ended);
    all_ended = NULL;
    return NULL;
}

static void test_10k_connections(void **state)
{
    (void)state;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < NCONN + 200)
        skip();
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    assert_int_equal(pipe(portpipe), 0);
    pid_t pid = fork();
    if (pid == 0) {
        /* The client side, in its own process (its own fd table). */
        close(portpipe[1]);
        if (read(portpipe[0], &port, sizeof port) != sizeof port)
            _exit(3);
        rec_reset();
        int rc = h_run(clients_main, NULL, 1);
        if (rc || rec_count()) {
            fprintf(stderr, "client side: rc=%d\n%s", rc, rec_text());
            _exit(1);
        }
        _exit(0);
    }
    close(portpipe[0]);
    int before = h_count_fds();
    live = ended = 0;
    peak_fixed = 0;
    assert_int_equal(h_run(server_main, NULL, 1), 0);
    close(portpipe[1]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* epoll has no registered files: every connection takes its fd. */
    assert_string_equal(rec_text(),
                        h_uring() ? "start=0\naccepted=10000 live=0\n"
                                    "peak_fixed=4096 now=0\n"
                                  : "start=0\naccepted=10000 live=0\n"
                                    "peak_fixed=0 now=0\n");
    assert_int_equal(h_count_fds(), before - 1); /* minus the pipe's end */
}

/* ------------------------------------------------ registered files ------ */

/* A one-loop server with handler h, and a client connected to it. */
static cor_server *one_conn_start(cor_conn_fn *h, int *client)
{
    cor_server *s = NULL;
    cor_future_create(&all_ended);
    rec("start=%d", cor_server_start(&s, "127.0.0.1", 0, h, NULL, NULL));
    *client = cor_tcp_connect("127.0.0.1", cor_server_port(s), -1);
    return s;
}

/* Once the handler resolved all_ended: its task ends at the next turn. */
static void one_conn_wait(void)
{
    cor_future_await(all_ended, NULL);
    cor_sleep(0);
}

static void one_conn_stop(cor_server *s, int client)
{
    cor_close(client);
    cor_server_stop(s);
    cor_future_release(all_ended);
    all_ended = NULL;
}

/* Run main on one loop: its lines, and no fd left behind. */
static void run_one(cor_fn *main, const char *want)
{
    int before = h_count_fds();
    assert_int_equal(h_run(main, NULL, 1), 0);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), before);
}

/*
 * The handler's io goes through the registered file, not through the fd
 * number: once the number names /dev/null (dup2 over it) the handler still
 * talks to its peer, and the socket, whose last reference is the table's,
 * is closed when the handler returns (the client reads EOF).
 */
static void *swapped(int fd, void *arg)
{
    (void)arg;
    rec("handler fixed=%zu", fixed_now());
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, fd);
    close(null);
    char buf[16];
    ssize_t n = cor_recv(fd, buf, sizeof buf, 0);
    rec("handler recv=%zd", n);
    if (n > 0)
        rec("handler send=%zd", cor_send(fd, buf, (size_t)n, 0));
    cor_future_set_result(all_ended, NULL);
    return NULL;
}

static void *fixed_main(void *arg)
{
    (void)arg;
    int fd;
    cor_server *s = one_conn_start(swapped, &fd);
    char buf[16] = {0}, tail[16];
    ssize_t s1 = cor_send(fd, "ping", 4, 0);
    ssize_t r1 = cor_recv(fd, buf, sizeof buf - 1, 0);
    /* EOF, not a wait: the server's end went with its table slot. */
    ssize_t r2 = cor_recv_timeout(fd, tail, sizeof tail, 0, 5000000000LL);
    one_conn_wait();
    rec("client send=%zd recv=%zd %s eof=%zd", s1, r1, buf, r2);
    rec("fixed after=%zu", fixed_now());
    one_conn_stop(s, fd);
    return NULL;
}

static void test_registered_files(void **state)
{
    (void)state;
    H_NEED_URING();
    run_one(fixed_main, "start=0\n"
                        "handler fixed=1\n"
                        "handler recv=4\n"
                        "handler send=4\n"
                        "client send=4 recv=4 ping eof=0\n"
                        "fixed after=0\n");
}

/* ----------------------------------------------- handler closes ------ */

/*
 * The handler ends its connection with cor_close, and the fd number then
 * names a pipe (dup2 onto it, as any open could): when the handler returns
 * the server must not close that number again, or the pipe would go.
 */
static int reused_fd, pipe_w;

static void *closes_itself(int fd, void *arg)
{
    (void)arg;
    int rc = cor_close(fd);
    rec("handler close=%d fixed=%zu", rc, fixed_now());
    int p[2];
    if (pipe(p) == 0) {
        if (p[0] != fd) { /* the lowest free number is usually fd itself */
            dup2(p[0], fd);
            close(p[0]);
        }
        reused_fd = fd;
        pipe_w = p[1];
    }
    cor_future_set_result(all_ended, NULL);
    return NULL;
}

static void *closes_main(void *arg)
{
    (void)arg;
    int fd;
    cor_server *s = one_conn_start(closes_itself, &fd);
    char buf[4];
    ssize_t eof = cor_recv_timeout(fd, buf, sizeof buf, 0, 5000000000LL);
    one_conn_wait();
    rec("client eof=%zd", eof);
    /* The number still names the pipe: a byte goes through. */
    char c = 0;
    bool open_ = fcntl(reused_fd, F_GETFD) >= 0;
    bool through = open_ && write(pipe_w, "x", 1) == 1 &&
                   read(reused_fd, &c, 1) == 1 && c == 'x';
    rec("pipe open=%d through=%d fixed=%zu", open_, through, fixed_now());
    if (open_)
        close(reused_fd);
    close(pipe_w);
    one_conn_stop(s, fd);
    return NULL;
}

static void test_handler_closes(void **state)
{
    (void)state;
    run_one(closes_main, "start=0\n"
                         "handler close=0 fixed=0\n"
                         "client eof=0\n"
                         "pipe open=1 through=1 fixed=0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_echo, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_10k_connections, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_registered_files, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_handler_closes, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
