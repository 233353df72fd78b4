/* SPDX-License-Identifier: MIT */
/*
 * test_io_net.c - sockets on the ring: cancellation that never loses data
 * (both outcomes of the race), per-operation timeouts, short reads and
 * writes, EOF, peer resets, writes to closed sockets and pipes, bad input,
 * TCP v4/v6, Unix and UDP round trips; what cor_unix_listen may replace.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int sv[2];

static void pair(void)
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void unpair(void)
{
    close(sv[0]);
    close(sv[1]);
}

/* ---------------------------------------------- cancel and lose nothing -- */

static void *recv_on_stack(void *arg)
{
    (void)arg;
    char buf[64]; /* the kernel writes here: it must outlive the op */
    memset(buf, 0, sizeof buf);
    ssize_t n = cor_recv(sv[0], buf, sizeof buf - 1, 0);
    rec("recv=%zd data=%s inflight=%zu", n, n > 0 ? buf : "",
        cor__tls_loop->nops);
    rec("next=%d", cor_yield());
    return NULL;
}

static void *cancel_wins(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(recv_on_stack, NULL);
    for (int i = 0; i < 3; i++)
        cor_yield(); /* the recv is submitted and waiting */
    cor_task_cancel(t);
    rec("await=%d", cor_await(t, NULL));
    cor_task_release(t);
    /* The cancelled recv consumed nothing: the data is all still there. */
    if (write(sv[1], "hello", 5) != 5)
        rec("write failed");
    char buf[16] = {0};
    ssize_t n = cor_recv(sv[0], buf, sizeof buf - 1, 0);
    rec("later=%zd %s", n, buf);
    return NULL;
}

static void test_recv_cancel_wins(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(cancel_wins, NULL, 1), 0);
    unpair();
    assert_string_equal(rec_text(), "recv=-125 data= inflight=0\n"
                                    "next=-125\n"
                                    "await=0\n" /* it returned normally */
                                    "later=5 hello\n");
}

static void *cancel_loses(void *arg)
{
    (void)arg;
    /* The data is there before the recv is submitted, and the cancel goes
     * to the kernel in the same batch, after it: the recv completes. */
    if (write(sv[1], "hello", 5) != 5)
        rec("write failed");
    cor_task *t = cor_spawn(recv_on_stack, NULL);
    cor_yield(); /* recv_on_stack runs first and parks on its recv */
    cor_task_cancel(t);
    rec("await=%d", cor_await(t, NULL));
    cor_task_release(t);
    return NULL;
}

static void test_recv_cancel_completed_anyway(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(cancel_loses, NULL, 1), 0);
    unpair();
    /* The data is delivered, and the cancel stays pending. */
    assert_string_equal(rec_text(), "recv=5 data=hello inflight=0\n"
                                    "next=-125\n"
                                    "await=0\n");
}

/* -------------------------------------------------------------- timeouts -- */

static void *recv_timeout(void *arg)
{
    (void)arg;
    char buf[16] = {0};
    int64_t t0 = cor_now_ns();
    ssize_t n = cor_recv_timeout(sv[0], buf, sizeof buf, 0, 50000000);
    int64_t dt = cor_now_ns() - t0;
    rec("timeout=%zd waited_enough=%d", n, dt >= 50000000);
    if (write(sv[1], "abc", 3) != 3)
        rec("write failed");
    n = cor_recv_timeout(sv[0], buf, sizeof buf - 1, 0, 5000000000LL);
    rec("got=%zd %s", n, buf);
    /* A task deadline (the other way to bound an op) also cancels it. */
    cor__task_set_deadline(cor__need_task("test"), cor_now_ns() + 20000000);
    n = cor_recv(sv[0], buf, sizeof buf, 0);
    rec("deadline=%zd inflight=%zu", n, cor__tls_loop->nops);
    cor__task_set_deadline(cor__need_task("test"), INT64_MAX);
    return NULL;
}

static void test_recv_timeout(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(recv_timeout, NULL, 1), 0);
    unpair();
    assert_string_equal(rec_text(), "timeout=-110 waited_enough=1\n"
                                    "got=3 abc\n"
                                    "deadline=-110 inflight=0\n");
}

/* ------------------------------------------------ short reads and writes -- */

#define BIG (4u << 20)

static void *slow_reader(void *arg)
{
    unsigned char *out = arg;
    size_t got = 0;
    char buf[1000]; /* small reads: the sender sees short sends */
    while (got < BIG) {
        ssize_t n = cor_recv(sv[1], buf, sizeof buf, 0);
        if (n <= 0)
            break;
        memcpy(out + got, buf, (size_t)n);
        got += (size_t)n;
    }
    rec("reader got=%zu", got);
    return NULL;
}

static void *short_io(void *arg)
{
    (void)arg;
    unsigned char *src = malloc(BIG), *dst = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        src[i] = (unsigned char)(i * 7 + (i >> 12));
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    /* A short read: ask for more than is there. */
    if (write(sv[0], "xyz", 3) != 3)
        rec("write failed");
    char b[100];
    rec("short read=%zd", cor_recv(sv[1], b, sizeof b, 0));
    cor_task *r = cor_spawn(slow_reader, dst);
    ssize_t n = cor_send(sv[0], src, BIG, 0);
    rec("send=%zd", n);
    cor_await(r, NULL);
    cor_task_release(r);
    rec("equal=%d", memcmp(src, dst, BIG) == 0);
    free(src);
    free(dst);
    return NULL;
}

static void test_short_reads_and_writes(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(short_io, NULL, 1), 0);
    unpair();
    char want[128];
    snprintf(want, sizeof want,
             "short read=3\nsend=%u\nreader got=%u\nequal=1\n", BIG, BIG);
    assert_string_equal(rec_text(), want);
}

/* Pipe writes larger than the pipe: cor_write_all finishes them. */
static int pp[2];

static void *pipe_reader(void *arg)
{
    size_t *got = arg;
    char buf[4096];
    ssize_t n;
    while ((n = cor_read(pp[0], buf, sizeof buf, COR_OFF_CUR)) > 0)
        *got += (size_t)n;
    return NULL;
}

static void *pipe_write_all(void *arg)
{
    (void)arg;
    size_t got = 0;
    char *src = calloc(1, BIG);
    cor_task *r = cor_spawn(pipe_reader, &got);
    ssize_t n = cor_write_all(pp[1], src, BIG, COR_OFF_CUR);
    close(pp[1]);
    cor_await(r, NULL);
    cor_task_release(r);
    rec("write_all=%zd got=%zu", n, got);
    free(src);
    return NULL;
}

static void test_pipe_write_all(void **state)
{
    (void)state;
    assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
    assert_int_equal(h_run(pipe_write_all, NULL, 1), 0);
    close(pp[0]);
    char want[64];
    snprintf(want, sizeof want, "write_all=%u got=%u\n", BIG, BIG);
    assert_string_equal(rec_text(), want);
}

/* ------------------------------------------- EOF, resets, closed peers -- */

static void *eof_and_closed(void *arg)
{
    (void)arg;
    char buf[8];
    close(sv[1]);
    rec("eof=%zd", cor_recv(sv[0], buf, sizeof buf, 0));
    rec("send closed=%zd", cor_send(sv[0], "x", 1, 0));
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    close(p[0]);
    rec("write closed pipe=%zd", cor_write(p[1], "x", 1, COR_OFF_CUR));
    close(p[1]);
    return NULL;
}

static void test_eof_and_closed_peers(void **state)
{
    (void)state;
    /* SIGPIPE at its default: without our handling the process would die. */
    signal(SIGPIPE, SIG_DFL);
    pair();
    assert_int_equal(h_run(eof_and_closed, NULL, 1), 0);
    close(sv[0]);
    assert_string_equal(rec_text(), "eof=0\n"
                                    "send closed=-32\n"
                                    "write closed pipe=-32\n");
}

static void *reset(void *arg)
{
    (void)arg;
    int lfd = cor_tcp_listen("127.0.0.1", 0, NULL);
    int port = cor_sock_port(lfd);
    int c = cor_tcp_connect("127.0.0.1", port, -1);
    int s = cor_accept(lfd, NULL, NULL, -1);
    rec("listen=%d connect=%d accept=%d", lfd >= 0, c >= 0, s >= 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c); /* with a zero linger: an RST */
    char buf[8];
    rec("recv after reset=%zd", cor_recv(s, buf, sizeof buf, 0));
    close(s);
    close(lfd);
    return NULL;
}

static void test_peer_reset(void **state)
{
    (void)state;
    assert_int_equal(h_run(reset, NULL, 1), 0);
    assert_string_equal(rec_text(), "listen=1 connect=1 accept=1\n"
                                    "recv after reset=-104\n");
}

/* ------------------------------------------------------------ bad input -- */

static void *bad_input(void *arg)
{
    (void)arg;
    char buf[8];
    int unused = open("/dev/null", O_RDONLY | O_CLOEXEC);
    close(unused); /* a number that is no open fd */
    rec("%zd %zd %zd", cor_recv(-1, buf, 8, 0), cor_recv(unused, buf, 8, 0),
        cor_send(unused, "x", 1, 0));
    rec("%zd %zd %d", cor_recv(sv[0], NULL, 8, 0), cor_send(sv[0], NULL, 8, 0),
        cor_shutdown(sv[0], 99));
    rec("%d %d %d", cor_tcp_listen("localhost", 80, NULL),
        cor_tcp_listen("127.0.0.1", 70000, NULL),
        cor_tcp_connect("not an address", 1, -1));
    rec("%d %d %d", cor_accept(-1, NULL, NULL, -1),
        cor_accept(sv[0], NULL, NULL, -1), cor_unix_connect(NULL));
    rec("%zd %zd", cor_read(sv[0], buf, 8, -5),
        cor_sendto(-3, buf, 1, 0, NULL, 0));
    return NULL;
}

static void test_bad_fds_and_arguments(void **state)
{
    (void)state;
    pair();
    assert_int_equal(h_run(bad_input, NULL, 1), 0);
    unpair();
    assert_string_equal(rec_text(), "-9 -9 -9\n"
                                    "-22 -22 -22\n"
                                    "-22 -22 -22\n"
                                    "-9 -22 -22\n" /* accept on a non-listener */
                                    "-22 -9\n");
}

/* --------------------------------------------------------- round trips -- */

static void *echo_once(int fd)
{
    char buf[256];
    ssize_t n = cor_recv(fd, buf, sizeof buf, 0);
    if (n > 0)
        cor_send(fd, buf, (size_t)n, 0);
    return NULL;
}

static void *accept_echo(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    int s = cor_accept(lfd, NULL, NULL, 5000000000LL);
    if (s >= 0) {
        echo_once(s);
        cor_close(s);
    }
    return NULL;
}

static void round_trip(const char *what, int lfd, int c)
{
    cor_task *t = cor_spawn(accept_echo, (void *)(intptr_t)lfd);
    char buf[32] = {0};
    ssize_t s = cor_send(c, "ping", 4, 0);
    ssize_t r = cor_recv(c, buf, sizeof buf - 1, 0);
    rec("%s send=%zd recv=%zd %s", what, s, r, buf);
    cor_await(t, NULL);
    cor_task_release(t);
}

static void *round_trips(void *arg)
{
    (void)arg;
    cor_listen_opts v6only = {.v6only = true};
    int l4 = cor_tcp_listen("127.0.0.1", 0, NULL);
    int l6 = cor_tcp_listen("::1", 0, &v6only);
    if (l6 >= 0) {
        int c6 = cor_tcp_connect("::1", cor_sock_port(l6), 1000000000);
        round_trip("tcp6", l6, c6);
        cor_close(c6);
        cor_close(l6);
    } else {
        rec("tcp6 send=4 recv=4 ping"); /* no IPv6 loopback here */
    }
    int c4 = cor_tcp_connect("127.0.0.1", cor_sock_port(l4), -1);
    round_trip("tcp4", l4, c4);
    cor_shutdown(c4, SHUT_WR);
    cor_close(c4);

    char path[64];
    snprintf(path, sizeof path, "@coring-test-%d", (int)getpid());
    int lu = cor_unix_listen(path, NULL);
    int cu = cor_unix_connect(path);
    round_trip("unix", lu, cu);
    cor_close(cu);
    cor_close(lu);

    /* Nobody listens on l4's port any more: refused. */
    int port = cor_sock_port(l4);
    cor_close(l4);
    rec("refused=%d", cor_tcp_connect("127.0.0.1", port, -1));

    int u1 = cor_udp_bind("127.0.0.1", 0), u2 = cor_udp_bind(NULL, 0);
    struct sockaddr_storage to;
    int tolen = cor_sockaddr_parse("127.0.0.1", cor_sock_port(u2), &to);
    ssize_t s = cor_sendto(u1, "dgram", 5, 0, (struct sockaddr *)&to,
                           (socklen_t)tolen);
    char buf[16] = {0};
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t r = cor_recvfrom(u2, buf, sizeof buf, 0, (struct sockaddr *)&from,
                             &fromlen);
    rec("udp send=%zd recv=%zd %s from_port_ok=%d", s, r, buf,
        ntohs(((struct sockaddr_in *)&from)->sin_port) == cor_sock_port(u1));
    int lt = cor_tcp_listen("127.0.0.1", 0, NULL);
    rec("accept timeout=%d", cor_accept(lt, NULL, NULL, 10000000));
    cor_close(lt);
    cor_close(u1);
    cor_close(u2);
    return NULL;
}

static void test_round_trips(void **state)
{
    (void)state;
    assert_int_equal(h_run(round_trips, NULL, 1), 0);
    assert_string_equal(rec_text(), "tcp6 send=4 recv=4 ping\n"
                                    "tcp4 send=4 recv=4 ping\n"
                                    "unix send=4 recv=4 ping\n"
                                    "refused=-111\n"
                                    "udp send=5 recv=5 dgram from_port_ok=1\n"
                                    "accept timeout=-110\n");
}

/* ------------------------------------- what a Unix listener may replace -- */

static void unix_path(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* A Unix stream socket at path: bound and closed without unlinking (a
 * stale file), or connected to it (asserts it connects). */
static void unix_at(const char *path, bool bind_it)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (bind_it)
        assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof un), 0);
    else
        assert_int_equal(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
    close(fd);
}
#define make_stale_socket(path) unix_at(path, true)
#define assert_connects(path) unix_at(path, false)

/* cor_unix_listen(p) fails with -EADDRINUSE and the file of type `type`
 * stays; returns its size. */
static off_t refused_keeps(const char *p, mode_t type)
{
    assert_int_equal(cor_unix_listen(p, NULL), -EADDRINUSE);
    struct stat st;
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & S_IFMT, type);
    return st.st_size;
}

/* Never suspends, any thread: called here without a loop. */
static void test_unix_listen_replaces_only_stale_sockets(void **state)
{
    (void)state;
    char dir[] = "/tmp/coring-unix-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char p[108], target[108];
    struct stat st;

    /* A regular file: -EADDRINUSE, its bytes untouched. */
    unix_path(p, sizeof p, dir, "file");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("data", f);
    fclose(f);
    assert_int_equal(refused_keeps(p, S_IFREG), 4);
    unlink(p);

    /* A directory, a FIFO: the same. */
    unix_path(p, sizeof p, dir, "dir");
    assert_int_equal(mkdir(p, 0700), 0);
    refused_keeps(p, S_IFDIR);
    rmdir(p);
    unix_path(p, sizeof p, dir, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    refused_keeps(p, S_IFIFO);
    unlink(p);

    /* A symlink, even one to a stale socket: the link stays, and so does
     * what it points to. */
    unix_path(target, sizeof target, dir, "stale-target");
    make_stale_socket(target);
    unix_path(p, sizeof p, dir, "link");
    assert_int_equal(symlink(target, p), 0);
    refused_keeps(p, S_IFLNK);
    assert_int_equal(lstat(target, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    unlink(p);

    /* A stale socket file is replaced by a listener that accepts. */
    int fd = cor_unix_listen(target, NULL);
    assert_true(fd >= 0);
    assert_connects(target);
    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(c >= 0);
    close(c);

    /* A live listener keeps its file and its socket: the second call fails
     * and the first still accepts (after the probe's connection, which
     * closed without data). */
    assert_int_equal(cor_unix_listen(target, NULL), -EADDRINUSE);
    assert_connects(target);
    char b;
    for (int i = 0; i < 2; i++) {
        c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(c >= 0);
        assert_int_equal(read(c, &b, 1), 0);
        close(c);
    }
    close(fd);

    /* Once that listener is gone its file is stale: replaced again. */
    fd = cor_unix_listen(target, NULL);
    assert_true(fd >= 0);
    close(fd);
    unlink(target);

    /* Nothing at the path: a plain bind. */
    unix_path(p, sizeof p, dir, "fresh");
    fd = cor_unix_listen(p, NULL);
    assert_true(fd >= 0);
    close(fd);
    unlink(p);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: SIGPIPE must still be at its default when coring first
         * writes (the process ignores it from then on). */
        cmocka_unit_test_setup_teardown(test_eof_and_closed_peers, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_recv_cancel_wins, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_recv_cancel_completed_anyway,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_recv_timeout, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_short_reads_and_writes, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_pipe_write_all, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_peer_reset, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_fds_and_arguments, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_round_trips, h_setup,
                                        h_teardown),
        cmocka_unit_test(test_unix_listen_replaces_only_stale_sockets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
