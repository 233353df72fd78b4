/* SPDX-License-Identifier: MIT */
/*
 * test_io_resolve.c - host names on the executor (loopback names only:
 * localhost, 127.0.0.1, ::1, numeric services and "http" from
 * /etc/services), errors mapped to -errno, a lookup cancelled while queued
 * (returns at once, never runs) and while running (its answer freed: ASan
 * sees no leak), and Happy Eyeballs: a first address that refuses at once
 * hands over to the next without waiting for the delay, a first address
 * that drops SYNs (a listener with backlog 0, filled) is overtaken by the
 * next after the delay, every attempt failing gives the first error, and a
 * cancelled connect closes every attempt.  Connect and serve by name.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern void (*cor__resolve_hook)(void);
extern _Atomic unsigned cor__resolve_dropped;

static int port_of(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET
               ? ntohs(((const struct sockaddr_in *)sa)->sin_port)
               : ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static void rec_addrs(const char *what, int rc, struct addrinfo *res)
{
    char line[512];
    int n = snprintf(line, sizeof line, "%s %d", what, rc);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_socktype != SOCK_STREAM)
            continue;
        char a[INET6_ADDRSTRLEN];
        const void *bin =
            ai->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)
                      ->sin6_addr;
        inet_ntop(ai->ai_family, bin, a, sizeof a);
        char one[INET6_ADDRSTRLEN + 16];
        snprintf(one, sizeof one, " %s:%d", a, port_of(ai->ai_addr));
        /* Each address once: with "multi on" in host.conf and localhost
         * on two lines of /etc/hosts, glibc gives 127.0.0.1 twice. */
        if (!strstr(line, one))
            n += snprintf(line + n, sizeof line - (size_t)n, "%s", one);
    }
    rec("%s", line);
}

/* ------------------------------------------------------------ lookups -- */

static void *main_lookups(void *arg)
{
    (void)arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = cor_getaddrinfo("localhost", "8080", &hints, &res);
    /* localhost may also resolve to ::1: keep the IPv4 answer only. */
    struct addrinfo h4 = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    if (res)
        freeaddrinfo(res);
    res = NULL;
    rc = cor_getaddrinfo("localhost", "8080", &h4, &res);
    rec_addrs("localhost", rc, res);
    if (res)
        freeaddrinfo(res);
    res = NULL;
    rc = cor_getaddrinfo("127.0.0.1", "80", &hints, &res);
    rec_addrs("numeric", rc, res);
    if (res)
        freeaddrinfo(res);
    res = NULL;
    struct addrinfo h6 = {.ai_family = AF_INET6, .ai_socktype = SOCK_STREAM};
    rc = cor_getaddrinfo("::1", "443", &h6, &res);
    rec_addrs("v6", rc, res);
    if (res)
        freeaddrinfo(res);

    /* Errors, none of which needs a name server. */
    struct addrinfo hn = {.ai_flags = AI_NUMERICHOST,
                          .ai_socktype = SOCK_STREAM};
    res = NULL;
    rec("not numeric %d null %d", cor_getaddrinfo("localhost", "1", &hn, &res),
        res == NULL);
    rec("no service %d", cor_getaddrinfo("127.0.0.1", "no-such-service-x",
                                         &hints, &res));
    rec("both null %d", cor_getaddrinfo(NULL, NULL, &hints, &res));
    rec("res null %d", cor_getaddrinfo("localhost", "1", &hints, NULL));

    /* Back to names and services. */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    char host[256] = "", serv[32] = "";
    rc = cor_getnameinfo((struct sockaddr *)&sin, sizeof sin, host,
                         sizeof host, serv, sizeof serv,
                         NI_NUMERICHOST | NI_NUMERICSERV);
    rec("nameinfo %d %s %s", rc, host, serv);
    rc = cor_getnameinfo((struct sockaddr *)&sin, 1, host, sizeof host, NULL,
                         0, 0);
    rec("short %d", rc);
    return NULL;
}

static void test_lookups(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_lookups, NULL, 1), 0);
    char want[1024];
    snprintf(want, sizeof want,
             "localhost 0 127.0.0.1:8080\nnumeric 0 127.0.0.1:80\n"
             "v6 0 ::1:443\nnot numeric %d null 1\nno service %d\n"
             "both null %d\nres null %d\nnameinfo 0 127.0.0.1 8080\n"
             "short %d\n",
             -ENOENT, -ESRCH, -EINVAL, -EINVAL, -EINVAL);
    assert_string_equal(rec_text(), want);
}

/* "http" from /etc/services, and 127.0.0.1 back to localhost from
 * /etc/hosts: skipped where the files do not say so. */
static void *main_services(void *arg)
{
    (void)arg;
    struct addrinfo hints = {.ai_family = AF_INET,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = cor_getaddrinfo("127.0.0.1", "http", &hints, &res);
    rec_addrs("http", rc, res);
    if (res)
        freeaddrinfo(res);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    char serv[32] = "";
    rc = cor_getnameinfo((struct sockaddr *)&sin, sizeof sin, NULL, 0, serv,
                         sizeof serv, 0);
    rec("service %d %s", rc, serv);
    return NULL;
}

static void *idle_echo(int fd, void *arg);

/* A port number above 65535 is no such service, by every call that takes
 * one (getaddrinfo alone would wrap 99999 to 34463 and connect there). */
static void *main_big_port(void *arg)
{
    (void)arg;
    struct addrinfo *res = NULL;
    rec("gai %d", cor_getaddrinfo("127.0.0.1", "99999", NULL, &res));
    rec("gai %d", cor_getaddrinfo("localhost", "65536", NULL, &res));
    rec("gai %d", cor_getaddrinfo(NULL, "4294967296000", NULL, &res));
    rec("null %d", res == NULL);
    rec("connect %d", cor_tcp_connect_name("127.0.0.1", "99999", NULL));
    rec("connect %d", cor_tcp_connect_name("localhost", "65536", NULL));
    cor_server *s = NULL;
    rec("server %d", cor_server_start_name(&s, "127.0.0.1", "99999",
                                           idle_echo, NULL, NULL));
    return NULL;
}

static void test_big_port(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_big_port, NULL, 1), 0);
    char want[256];
    snprintf(want, sizeof want,
             "gai %d\ngai %d\ngai %d\nnull 1\nconnect %d\nconnect %d\n"
             "server %d\n",
             -ESRCH, -ESRCH, -ESRCH, -ESRCH, -ESRCH, -ESRCH);
    assert_string_equal(rec_text(), want);
}

static void test_services(void **state)
{
    (void)state;
    if (getservbyname("http", "tcp") == NULL)
        skip();
    assert_int_equal(h_run(main_services, NULL, 1), 0);
    assert_string_equal(rec_text(), "http 0 127.0.0.1:80\nservice 0 http\n");
}

/* ------------------------------------------------- cancelled lookups ---- */

static atomic_int in_hook, release_hook;

static void hold(void)
{
    atomic_fetch_add(&in_hook, 1);
    while (!atomic_load(&release_hook))
        usleep(1000);
}

static void *lookup(void *arg)
{
    (void)arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = cor_getaddrinfo("localhost", "80", &hints, &res);
    rec("lookup %s %d res %s", (const char *)arg, rc, res ? "set" : "null");
    if (res)
        freeaddrinfo(res);
    return NULL;
}

static void *main_cancel_lookup(void *arg)
{
    (void)arg;
    cor_executor_configure(&(cor_executor_opts){.max_threads = 1});
    cor__resolve_hook = hold;
    cor_task *running = cor_spawn(lookup, "running");
    /* Wait (polling, bounded) until the only worker is inside the lookup. */
    for (int i = 0; i < 10000 && !atomic_load(&in_hook); i++)
        cor_sleep(0.001);
    cor_task *queued = cor_spawn(lookup, "queued");
    cor_yield();
    cor_yield();
    /* Queued: removed, returns at once, while the worker is still held. */
    cor_task_cancel(queued);
    cor_await(queued, NULL);
    /* Running: the call ends when the lookup does, its answer is freed. */
    cor_task_cancel(running);
    cor_yield();
    rec("running done before release %d", cor_task_done(running));
    atomic_store(&release_hook, 1);
    cor_await(running, NULL);
    cor_task_release(running);
    cor_task_release(queued);
    cor_executor_stats st;
    cor_executor_stats_get(&st);
    rec("held %d cancelled %llu answers freed %u", atomic_load(&in_hook),
        (unsigned long long)st.cancelled, atomic_load(&cor__resolve_dropped));
    cor__resolve_hook = NULL;
    cor_executor_configure(NULL);
    return NULL;
}

static void test_cancelled_lookup(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_cancel_lookup, NULL, 1), 0);
    char want[256];
    snprintf(want, sizeof want,
             "lookup queued %d res null\nrunning done before release 0\n"
             "lookup running %d res null\n"
             "held 1 cancelled 1 answers freed 1\n",
             -ECANCELED, -ECANCELED);
    assert_string_equal(rec_text(), want);
}

/* ---------------------------------------------------- Happy Eyeballs ---- */

/* An address of a port nobody accepts on: bound, not listening. */
static int refusing(struct sockaddr_in *sin)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *sin = (struct sockaddr_in){.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
    socklen_t len = sizeof *sin;
    bind(fd, (struct sockaddr *)sin, len);
    getsockname(fd, (struct sockaddr *)sin, &len);
    return fd;
}

/* A listener on 127.0.0.1 with the given backlog; its address in *sin. */
static int listening(struct sockaddr_in *sin, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *sin = (struct sockaddr_in){.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr);
    socklen_t len = sizeof *sin;
    bind(fd, (struct sockaddr *)sin, len);
    listen(fd, backlog);
    getsockname(fd, (struct sockaddr *)sin, &len);
    return fd;
}

/* A listener whose SYNs are dropped: backlog 0 and one connection waiting
 * in its accept queue (never accepted), so the queue is full. */
static int blackhole(struct sockaddr_in *sin, int *filler)
{
    int fd = listening(sin, 0);
    *filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    connect(*filler, (struct sockaddr *)sin, sizeof *sin);
    return fd;
}

static void link2(struct addrinfo ai[2], struct sockaddr_in *a,
                  struct sockaddr_in *b)
{
    for (int i = 0; i < 2; i++)
        ai[i] = (struct addrinfo){.ai_family = AF_INET,
                                  .ai_socktype = SOCK_STREAM,
                                  .ai_addrlen = sizeof *a,
                                  .ai_addr = (struct sockaddr *)(i ? b : a),
                                  .ai_next = i ? NULL : &ai[1]};
}

static int peer_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return port_of((struct sockaddr *)&ss);
}

struct he_case {
    bool first_blackhole;
    double delay;
};

static void *main_he(void *arg)
{
    struct he_case *c = arg;
    struct sockaddr_in first, second;
    int filler = -1;
    int f = c->first_blackhole ? blackhole(&first, &filler)
                               : refusing(&first);
    int l = listening(&second, 16);
    struct addrinfo ai[2];
    link2(ai, &first, &second);
    int64_t t0 = cor_now_ns();
    int fd = cor_tcp_connect_addrs(
        ai, &(cor_connect_opts){.happy_eyeballs_delay = c->delay});
    double took = (double)(cor_now_ns() - t0) / 1e9;
    rec("fd ok %d via second %d", fd >= 0,
        fd >= 0 && peer_port(fd) == ntohs(second.sin_port));
    rec("took %s", took >= (c->first_blackhole ? c->delay : 0) && took < 5
                       ? "in range"
                       : "out of range");
    if (fd >= 0)
        close(fd);
    close(l);
    close(f);
    if (filler >= 0)
        close(filler);
    return NULL;
}

static void test_he_refused_first(void **state)
{
    (void)state;
    /* A delay far longer than the test: only the refusal can have started
     * the second attempt. */
    int fds = h_count_fds();
    struct he_case c = {.first_blackhole = false, .delay = 30};
    assert_int_equal(h_run(main_he, &c, 1), 0);
    assert_string_equal(rec_text(), "fd ok 1 via second 1\ntook in range\n");
    assert_int_equal(h_count_fds(), fds);
}

static void test_he_silent_first(void **state)
{
    (void)state;
    int fds = h_count_fds();
    struct he_case c = {.first_blackhole = true, .delay = 0.1};
    assert_int_equal(h_run(main_he, &c, 1), 0);
    assert_string_equal(rec_text(), "fd ok 1 via second 1\ntook in range\n");
    assert_int_equal(h_count_fds(), fds);
}

/* Every address refuses: the first one's error.  One at a time (delay < 0)
 * as well. */
static void *main_all_fail(void *arg)
{
    (void)arg;
    struct sockaddr_in a, b;
    int fa = refusing(&a), fb = refusing(&b);
    struct addrinfo ai[2];
    link2(ai, &a, &b);
    rec("staggered %d", cor_tcp_connect_addrs(ai, NULL));
    rec("sequential %d",
        cor_tcp_connect_addrs(
            ai, &(cor_connect_opts){.happy_eyeballs_delay = -1}));
    rec("empty %d", cor_tcp_connect_addrs(NULL, NULL));
    close(fa);
    close(fb);
    return NULL;
}

static void test_he_all_fail(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_all_fail, NULL, 1), 0);
    char want[128];
    snprintf(want, sizeof want, "staggered %d\nsequential %d\nempty %d\n",
             -ECONNREFUSED, -ECONNREFUSED, -EINVAL);
    assert_string_equal(rec_text(), want);
}

/* Cancelled while two attempts hang: -ECANCELED, every socket closed. */
static void *connector(void *arg)
{
    int rc = cor_tcp_connect_addrs(
        arg, &(cor_connect_opts){.happy_eyeballs_delay = 0.01});
    rec("connect %d", rc);
    return NULL;
}

static void *main_cancel_connect(void *arg)
{
    (void)arg;
    struct sockaddr_in a, b;
    int fa1, fb1;
    int la = blackhole(&a, &fa1), lb = blackhole(&b, &fb1);
    struct addrinfo ai[2];
    link2(ai, &a, &b);
    cor_task *t = cor_spawn(connector, ai);
    cor_sleep(0.05); /* both attempts started (not needed for the result) */
    cor_task_cancel(t);
    cor_await(t, NULL);
    cor_task_release(t);
    close(la);
    close(lb);
    close(fa1);
    close(fb1);
    return NULL;
}

static void test_he_cancelled(void **state)
{
    (void)state;
    int fds = h_count_fds();
    assert_int_equal(h_run(main_cancel_connect, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "connect %d\n", -ECANCELED);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), fds);
}

/* ------------------------------------------------------------ by name -- */

static void *idle_echo(int fd, void *arg)
{
    (void)arg;
    char buf[64];
    ssize_t n;
    while ((n = cor_recv(fd, buf, sizeof buf, 0)) > 0)
        cor_send(fd, buf, (size_t)n, 0);
    return NULL;
}

static void echo_line(cor_reader *r, cor_writer *w, void *arg)
{
    (void)arg;
    char line[128];
    ssize_t n = cor_reader_readline(r, line, sizeof line);
    if (n > 0)
        cor_writer_write(w, line, (size_t)n);
}

static void *main_by_name(void *arg)
{
    (void)arg;
    cor_server *s;
    int rc = cor_stream_server_start_name(&s, "localhost", "0", echo_line,
                                          NULL, NULL);
    rec("server %d", rc);
    if (rc < 0)
        return NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", cor_server_port(s));
    cor_reader *r;
    cor_writer *w;
    rc = cor_open_connection_name("localhost", port, NULL, &r, &w);
    rec("open %d", rc);
    if (rc == 0) {
        cor_writer_write(w, "hi\n", 3);
        char buf[16] = "";
        ssize_t n = cor_reader_readline(r, buf, sizeof buf);
        rec("echo %zd %s", n, buf);
        cor_writer_free(w);
        cor_reader_free(r);
    }
    int fd = cor_tcp_connect_name("127.0.0.1", port, NULL);
    rec("numeric %d", fd >= 0);
    if (fd >= 0)
        close(fd);
    rec("no service %d", cor_tcp_connect_name("localhost", NULL, NULL));
    rec("bad family %d",
        cor_tcp_connect_name("localhost", port,
                             &(cor_connect_opts){.family = AF_UNIX}));
    cor_server_stop(s);
    return NULL;
}

static void test_by_name(void **state)
{
    (void)state;
    int fds = h_count_fds();
    assert_int_equal(h_run(main_by_name, NULL, 2), 0);
    char want[128];
    snprintf(want, sizeof want,
             "server 0\nopen 0\necho 3 hi\n\nnumeric 1\nno service %d\n"
             "bad family %d\n",
             -EINVAL, -EINVAL);
    assert_string_equal(rec_text(), want);
    assert_int_equal(h_count_fds(), fds);
}

/* A NULL host: every local address, both families, one port. */
static void *main_any_address(void *arg)
{
    (void)arg;
    cor_server *s;
    int rc = cor_server_start_name(&s, NULL, "0", idle_echo, NULL,
                                   &(cor_server_opts){.loops = 2});
    rec("server %d", rc);
    if (rc < 0)
        return NULL;
    int port = cor_server_port(s);
    const char *hosts[] = {"127.0.0.1", "::1"};
    for (int i = 0; i < 2; i++) {
        int fd = cor_tcp_connect(hosts[i], port, -1);
        char buf[4] = "";
        if (fd >= 0) {
            cor_send(fd, "abc", 3, 0);
            cor_recv(fd, buf, 3, MSG_WAITALL);
            close(fd);
        }
        rec("%s %s", hosts[i], buf);
    }
    cor_server_stop(s);
    return NULL;
}

static void test_any_address(void **state)
{
    (void)state;
    int fds = h_count_fds();
    assert_int_equal(h_run(main_any_address, NULL, 2), 0);
    assert_string_equal(rec_text(), "server 0\n127.0.0.1 abc\n::1 abc\n");
    assert_int_equal(h_count_fds(), fds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookups, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_services, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_big_port, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_lookup, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_he_refused_first, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_he_silent_first, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_he_all_fail, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_he_cancelled, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_by_name, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_any_address, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
