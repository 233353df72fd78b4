/* SPDX-License-Identifier: MIT */
/*
 * test_io_server_loops.c - the server on two loops: clients on a plain
 * thread (blocking sockets) are served by both loops' listeners, counted
 * per loop with atomics; after cor_server_stop the port refuses; and when
 * nobody calls cor_server_stop, the listeners still close at cor_run's end
 * (also those of acceptors that never ran) and the record is freed; a
 * stream server on two loops with clients on both.
 */
#include "child.h"
#include "harness.h"
#include "internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNS 64

static _Atomic int per_loop[2];
static _Atomic int clients_done;
static int port;

static void *echo_once(int fd, void *arg)
{
    (void)arg;
    int i = cor_loop_index();
    if (i >= 0 && i < 2)
        atomic_fetch_add(&per_loop[i], 1);
    char buf[64];
    ssize_t n;
    while ((n = cor_recv(fd, buf, sizeof buf, 0)) > 0)
        if (cor_send(fd, buf, (size_t)n, 0) < 0)
            break;
    return NULL;
}

/* A blocking connect to 127.0.0.1:p: the fd, or -errno.  A connect with a
 * timeout is not restarted after an interruption (io_uring's task-work
 * notification, once a ring of this thread is torn down, is one): EINTR
 * is retried with a fresh socket. */
static int plain_connect(int p)
{
    for (int tries = 0;; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct timeval tv = {.tv_sec = 5}; /* a failure, not a hang */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)p)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e != EINTR || tries == 5)
            return -e;
    }
}

/* Each connection: one round trip, then close. */
static void *clients(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < CONNS; i++) {
        int fd = plain_connect(port);
        char out[16], in[16] = {0};
        int len = snprintf(out, sizeof out, "conn %d", i);
        if (fd >= 0 && send(fd, out, (size_t)len, MSG_NOSIGNAL) == len &&
            recv(fd, in, (size_t)len, MSG_WAITALL) == len &&
            memcmp(in, out, (size_t)len) == 0)
            (*ok)++;
        if (fd >= 0)
            close(fd);
    }
    atomic_store(&clients_done, 1);
    return NULL;
}

static void *two_loops_main(void *arg)
{
    (void)arg;
    cor_server *s;
    cor_server_opts o = {.loops = 2};
    int rc = cor_server_start(&s, "127.0.0.1", 0, echo_once, NULL, &o);
    rec("start=%d", rc);
    if (rc < 0)
        return NULL;
    port = cor_server_port(s);
    int ok = 0;
    pthread_t th;
    pthread_create(&th, NULL, clients, &ok);
    /* The loop must keep running while the thread's clients are served:
     * poll a flag (bounded) rather than block in pthread_join. */
    for (int i = 0; i < 2000 && !atomic_load(&clients_done); i++)
        cor_sleep(0.005);
    pthread_join(th, NULL);
    rec("ok=%d accepted=%llu", ok,
        (unsigned long long)cor_server_accepted(s));
    rec("both loops served=%d sum=%d",
        atomic_load(&per_loop[0]) > 0 && atomic_load(&per_loop[1]) > 0,
        atomic_load(&per_loop[0]) + atomic_load(&per_loop[1]));
    rec("stop=%d", cor_server_stop(s));
    rec("after stop=%d", plain_connect(port));
    return NULL;
}

static void test_two_loops(void **state)
{
    (void)state;
    assert_int_equal(h_run(two_loops_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "start=0\n"
                                    "ok=64 accepted=64\n"
                                    "both loops served=1 sum=64\n"
                                    "stop=0\n"
                                    "after stop=-111\n");
}

/* A stream server on two loops, its clients tasks on both loops: lines
 * echoed through readers and writers, then each side's end of stream. */
#define SCLIENTS 32

static _Atomic int stream_per_loop[2], stream_ok;

static void stream_echo(cor_reader *r, cor_writer *w, void *arg)
{
    (void)arg;
    int i = cor_loop_index();
    if (i >= 0 && i < 2)
        atomic_fetch_add(&stream_per_loop[i], 1);
    char line[64];
    ssize_t n;
    while ((n = cor_reader_readline(r, line, sizeof line)) > 0)
        if (cor_writer_write(w, line, (size_t)n) < 0 ||
            cor_writer_drain(w) < 0)
            break;
}

static void *stream_client(void *arg)
{
    int i = (int)(intptr_t)arg;
    cor_reader *r;
    cor_writer *w;
    if (cor_open_connection("127.0.0.1", port, 5000000000LL, &r, &w) < 0)
        return NULL;
    char out[32], in[32];
    int len = snprintf(out, sizeof out, "line %d\n", i);
    bool ok = true;
    for (int k = 0; k < 3; k++) {
        cor_writer_write(w, out, (size_t)len);
        ssize_t n = cor_reader_readline(r, in, sizeof in);
        ok = ok && n == len && memcmp(in, out, (size_t)len) == 0;
    }
    cor_writer_close(w);
    ok = ok && cor_writer_wait_closed(w) == 0;
    ok = ok && cor_reader_readline(r, in, sizeof in) == 0; /* server's end */
    cor_writer_free(w);
    cor_reader_free(r);
    if (ok)
        atomic_fetch_add(&stream_ok, 1);
    return NULL;
}

static void *stream_loops_main(void *arg)
{
    (void)arg;
    cor_server *s;
    cor_server_opts o = {.loops = 2};
    int rc = cor_stream_server_start(&s, "127.0.0.1", 0, stream_echo, NULL,
                                     &o);
    rec("start=%d", rc);
    if (rc < 0)
        return NULL;
    port = cor_server_port(s);
    cor_task *t[SCLIENTS];
    for (int i = 0; i < SCLIENTS; i++) {
        cor_spawn_opts so = {.loop = COR_LOOP(i % 2)};
        if (cor_spawn_ex(&t[i], stream_client, (void *)(intptr_t)i, &so) < 0)
            t[i] = NULL;
    }
    for (int i = 0; i < SCLIENTS; i++) {
        if (!t[i])
            continue;
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    rec("ok=%d both loops served=%d sum=%d", atomic_load(&stream_ok),
        atomic_load(&stream_per_loop[0]) > 0 &&
            atomic_load(&stream_per_loop[1]) > 0,
        atomic_load(&stream_per_loop[0]) + atomic_load(&stream_per_loop[1]));
    rec("stop=%d", cor_server_stop(s));
    return NULL;
}

static void test_stream_server_two_loops(void **state)
{
    (void)state;
    assert_int_equal(h_run(stream_loops_main, NULL, 2), 0);
    assert_string_equal(rec_text(), "start=0\n"
                                    "ok=32 both loops served=1 sum=32\n"
                                    "stop=0\n");
}

/* cor_run's end without cor_server_stop, in a child: the port refuses once
 * cor_run returned.  One connection is served first, so the acceptor has
 * started and closes its own listener. */
static void *forgot_main(void *arg)
{
    (void)arg;
    cor_server *s;
    cor_server_opts o = {.loops = 1};
    if (cor_server_start(&s, "127.0.0.1", 0, echo_once, NULL, &o) < 0)
        return NULL;
    port = cor_server_port(s);
    int fd = cor_tcp_connect("127.0.0.1", port, -1);
    char buf[4];
    if (fd < 0 || cor_send(fd, "abc", 3, 0) != 3 ||
        cor_recv(fd, buf, 3, MSG_WAITALL) != 3)
        port = -1;
    cor_close(fd);
    return NULL;
}

static void forgot_child(void *arg)
{
    (void)arg;
    cor_run_opts o = {.loops = 1};
    if (cor_run_ex(forgot_main, NULL, &o, NULL) < 0 || port <= 0)
        _exit(2);
    _exit(plain_connect(port) == -ECONNREFUSED ? 0 : 3);
}

static void test_forgot_stop(void **state)
{
    (void)state;
    struct child_result r;
    run_in_child(forgot_child, NULL, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
}

/* Main returns right after cor_server_start (arg NULL: the acceptors are
 * cancelled by the shutdown before their first run, so they never close
 * their listeners themselves) or once they have run: either way both
 * loops' listeners are closed when cor_run returns, and the record is freed
 * (the ASan build's leak check). */
static void *left_running(void *arg)
{
    cor_server *s;
    cor_server_opts o = {.loops = 2};
    rec("start=%d", cor_server_start(&s, "127.0.0.1", 0, echo_once, NULL, &o));
    port = cor_server_port(s);
    if (arg)
        cor_sleep(0.01);
    return NULL;
}

static void test_never_stopped(void **state)
{
    (void)state;
    assert_int_equal(h_run(left_running, NULL, 2), 0);
    assert_int_equal(plain_connect(port), -ECONNREFUSED);
    assert_int_equal(h_run(left_running, "ran", 2), 0);
    assert_int_equal(plain_connect(port), -ECONNREFUSED);
    assert_string_equal(rec_text(), "start=0\nstart=0\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_loops, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_stream_server_two_loops,
                                        h_setup, h_teardown),
        cmocka_unit_test(test_forgot_stop),
        cmocka_unit_test_setup_teardown(test_never_stopped, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
