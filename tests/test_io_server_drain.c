/* SPDX-License-Identifier: MIT */
/*
 * test_io_server_drain.c - graceful server stop (cor_server_shutdown): a
 * client mid-request gets its reply and then the end of the stream (not a
 * reset), new connections are refused while draining, an idle keep-alive
 * handler is ended by the drain, a handler that does not finish is
 * cancelled after the deadline, and on two loops.  No fd is left.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static cor_xevent *got_request, *gate;

/* Reads lines; for each, says so, waits for the gate, answers. */
static void slow_echo(cor_reader *r, cor_writer *w, void *arg)
{
    (void)arg;
    char line[128];
    ssize_t n;
    int served = 0;
    while ((n = cor_reader_readline(r, line, sizeof line)) > 0) {
        served++;
        cor_xevent_set(got_request);
        if (cor_xevent_wait(gate) < 0)
            return;
        cor_writer_write(w, "re:", 3);
        cor_writer_write(w, line, (size_t)n);
    }
    if (served) /* not the probes of main_mid_request */
        rec("handler read %zd", n);
}

struct shut {
    cor_server *s;
    int64_t timeout_ns;
};

static void *shutdown_task(void *arg)
{
    struct shut *sh = arg;
    int rc = cor_server_shutdown(sh->s, sh->timeout_ns);
    return (void *)(intptr_t)rc;
}

/* Everything the client receives until the end of the stream, then how
 * the stream ended. */
static void client_read_all(int fd)
{
    char buf[256];
    size_t len = 0;
    ssize_t n;
    while ((n = cor_recv(fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    rec("client got '%s' then %s", buf,
        n == 0 ? "EOF" : cor_strerror((int)n));
}

static void *main_mid_request(void *arg)
{
    int loops = (int)(intptr_t)arg;
    cor_xevent_create(&got_request);
    cor_xevent_create(&gate);
    cor_server *s;
    cor_stream_server_start(&s, "127.0.0.1", 0, slow_echo, NULL,
                            &(cor_server_opts){.loops = loops});
    int port = cor_server_port(s);
    int fd = cor_tcp_connect("127.0.0.1", port, -1);
    cor_send(fd, "one\n", 4, 0);
    cor_xevent_wait(got_request); /* the handler holds the request */

    struct shut sh = {s, 10 * 1000000000LL};
    cor_task *st = cor_spawn(shutdown_task, &sh);
    /* The acceptors end first: then a new connection is refused (or,
     * when its handshake raced the close of the last listener, reset: it
     * was never served either). */
    int refused = -1;
    for (int i = 0; i < 10000; i++) {
        int c = cor_tcp_connect("127.0.0.1", port, -1);
        if (c < 0) {
            refused = c == -ECONNRESET ? -ECONNREFUSED : c;
            break;
        }
        close(c);
        cor_sleep(0.001);
    }
    rec("new connection %d", refused);
    cor_xevent_set(gate); /* the handler answers now */
    client_read_all(fd);
    void *r;
    cor_await(st, &r);
    rec("shutdown %d", (int)(intptr_t)r);
    cor_task_release(st);
    close(fd);
    cor_xevent_destroy(got_request);
    cor_xevent_destroy(gate);
    return NULL;
}

static void check_mid_request(int loops)
{
    int fds = h_count_fds();
    assert_int_equal(h_run(main_mid_request, (void *)(intptr_t)loops, loops),
                     0);
    char want[256];
    snprintf(want, sizeof want,
             "new connection %d\nhandler read 0\n"
             "client got 're:one\n' then EOF\nshutdown 0\n",
             -ECONNREFUSED);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), fds);
}

static void test_mid_request(void **state)
{
    (void)state;
    check_mid_request(1);
}

static void test_mid_request_two_loops(void **state)
{
    (void)state;
    check_mid_request(2);
}

/* A plain handler idle in cor_recv (keep-alive, waiting for the next
 * request): the drain ends it; its client reads the end of the stream. */
static void *idle_handler(int fd, void *arg)
{
    (void)arg;
    char buf[64];
    ssize_t n;
    while ((n = cor_recv(fd, buf, sizeof buf, 0)) > 0)
        cor_send(fd, buf, (size_t)n, 0);
    rec("idle handler recv %zd", n);
    return NULL;
}

static void *main_idle(void *arg)
{
    (void)arg;
    cor_server *s;
    cor_server_start(&s, "127.0.0.1", 0, idle_handler, NULL, NULL);
    int fd = cor_tcp_connect("127.0.0.1", cor_server_port(s), -1);
    char buf[8] = "";
    cor_send(fd, "ping", 4, 0);
    cor_recv(fd, buf, 4, MSG_WAITALL); /* the handler runs and is idle */
    rec("shutdown %d", cor_server_shutdown(s, -1));
    client_read_all(fd);
    close(fd);
    return NULL;
}

static void test_idle_keepalive(void **state)
{
    (void)state;
    int fds = h_count_fds();
    assert_int_equal(h_run(main_idle, NULL, 1), 0);
    assert_string_equal(rec_text(), "idle handler recv 0\nshutdown 0\n"
                                    "client got '' then EOF\n");
    assert_int_equal(h_count_fds(), fds);
}

/* A handler that does not finish: cancelled once the deadline passed. */
static void *stubborn(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    int rc = cor_sleep(3600);
    rec("stubborn %d", rc);
    return NULL;
}

static void *main_deadline(void *arg)
{
    (void)arg;
    cor_server *s;
    cor_server_start(&s, "127.0.0.1", 0, stubborn, NULL, NULL);
    int fd = cor_tcp_connect("127.0.0.1", cor_server_port(s), -1);
    while (cor_server_accepted(s) == 0)
        cor_sleep(0.001);
    cor_yield(); /* the handler task runs and sleeps */
    int64_t t0 = cor_now_ns();
    int rc = cor_server_shutdown(s, 50 * 1000000LL);
    double took = (double)(cor_now_ns() - t0) / 1e9;
    rec("shutdown %d after the deadline %d", rc, took >= 0.05);
    close(fd);
    return NULL;
}

static void test_deadline(void **state)
{
    (void)state;
    int fds = h_count_fds();
    assert_int_equal(h_run(main_deadline, NULL, 1), 0);
    char want[128];
    snprintf(want, sizeof want,
             "stubborn %d\nshutdown 1 after the deadline 1\n", -ECANCELED);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), fds);
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(cor_server_shutdown(NULL, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mid_request, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_mid_request_two_loops, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_idle_keepalive, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_deadline, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
