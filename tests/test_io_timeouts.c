/* SPDX-License-Identifier: MIT */
/*
 * test_io_timeouts - the rule of the IO calls' nanosecond timeouts, walked
 * over every call that takes one: COR_NO_TIMEOUT_NS waits as long as it
 * takes; any other negative value is a time already past (a remaining time
 * computed from a deadline that went by), so the call gets one chance to
 * happen at once and otherwise ends with -ETIMEDOUT -- it never waits
 * forever.  Each call runs under an outer scope of GUARD_S seconds, which
 * would cut a call that waits forever; the test tells the two apart by
 * which deadline fired.
 */
#include "harness.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GUARD_S 5.0

struct fds {
    int pipe[2]; /* an empty pipe */
    int sv[2];   /* a quiet TCP pair */
    int lfd;     /* a listener nobody connects to */
};

static void *stuck_handler(int fd, void *arg)
{
    (void)fd;
    (void)arg;
    /* Ignores the end of the stream: only a cancel ends it. */
    cor_sleep(3600);
    return NULL;
}

/* One call with timeout t; its result. */
typedef long call_fn(struct fds *f, int64_t t);

static long c_read(struct fds *f, int64_t t)
{
    char b[8];
    return cor_read_timeout(f->pipe[0], b, sizeof b, -1, t);
}

static long c_recv(struct fds *f, int64_t t)
{
    char b[8];
    return cor_recv_timeout(f->sv[0], b, sizeof b, 0, t);
}

static long c_accept(struct fds *f, int64_t t)
{
    return cor_accept(f->lfd, NULL, NULL, t);
}

/* A server whose one handler never returns by itself: the graceful stop's
 * wait for it is what the timeout bounds.  Returns how many handlers had
 * to be cancelled, 1 when it ended in time. */
static long c_server_shutdown(struct fds *f, int64_t t)
{
    (void)f;
    cor_server *s;
    int rc = cor_server_start(&s, "127.0.0.1", 0, stuck_handler, NULL, NULL);
    if (rc < 0)
        return rc;
    int fd = cor_tcp_connect("127.0.0.1", cor_server_port(s), COR_NO_TIMEOUT_NS);
    if (fd < 0)
        return fd;
    cor_sleep(0.01); /* let the handler start */
    long n = cor_server_shutdown(s, t);
    close(fd);
    return n;
}

static const struct row {
    const char *name;
    call_fn *fn;
    long past; /* what a time already past gives */
} rows[] = {
    {"cor_read_timeout", c_read, -ETIMEDOUT},
    {"cor_recv_timeout", c_recv, -ETIMEDOUT},
    {"cor_accept", c_accept, -ETIMEDOUT},
    {"cor_server_shutdown", c_server_shutdown, 1},
};

static const int64_t past[] = {-2, -5, -1000000000, INT64_MIN};

static void *walk(void *arg)
{
    struct fds *f = arg;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        for (size_t j = 0; j < sizeof past / sizeof past[0]; j++) {
            cor_timeout_scope sc;
            cor_timeout_begin(&sc, GUARD_S);
            long rc = rows[i].fn(f, past[j]);
            int guard = cor_timeout_end(&sc);
            rec("%s(%lld) = %ld%s", rows[i].name, (long long)past[j], rc,
                guard ? " (cut by the guard: waited)" : "");
        }
    return NULL;
}

static void open_fds(struct fds *f)
{
    assert_int_equal(pipe2(f->pipe, O_CLOEXEC), 0);
    assert_int_equal(h_tcp_pair(f->sv), 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
}

static void close_fds(struct fds *f)
{
    close(f->pipe[0]);
    close(f->pipe[1]);
    close(f->sv[0]);
    close(f->sv[1]);
    close(f->lfd);
}

static void past_times_mean_now(void **state)
{
    (void)state;
    struct fds f;
    open_fds(&f);
    rec_reset();
    assert_int_equal(h_run(walk, &f, 1), 0);
    close_fds(&f);
    char want[4096] = "";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        for (size_t j = 0; j < sizeof past / sizeof past[0]; j++) {
            char line[128];
            snprintf(line, sizeof line, "%s(%lld) = %ld\n", rows[i].name,
                     (long long)past[j], rows[i].past);
            strcat(want, line);
        }
    assert_string_equal(rec_text(), want);
}

/* A time already past still lets what is ready happen: the data waiting in
 * the pipe and the socket is read, the waiting connection accepted. */
static void *ready_now(void *arg)
{
    struct fds *f = arg;
    char b[8];
    rec("read %ld", (long)cor_read_timeout(f->pipe[0], b, sizeof b, -1, -5));
    rec("recv %ld", (long)cor_recv_timeout(f->sv[0], b, sizeof b, 0, -5));
    int c = cor_accept(f->lfd, NULL, NULL, -5);
    rec("accept %s", c >= 0 ? "fd" : strerror(-c));
    if (c >= 0)
        close(c);
    return NULL;
}

static void past_times_take_what_is_ready(void **state)
{
    (void)state;
    struct fds f;
    open_fds(&f);
    assert_int_equal(write(f.pipe[1], "abc", 3), 3);
    assert_int_equal(send(f.sv[1], "wxyz", 4, 0), 4);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(f.lfd, (struct sockaddr *)&a, &len);
    assert_int_equal(connect(c, (struct sockaddr *)&a, len), 0);
    rec_reset();
    assert_int_equal(h_run(ready_now, &f, 1), 0);
    close(c);
    close_fds(&f);
    assert_string_equal(rec_text(), "read 3\nrecv 4\naccept fd\n");
}

/* COR_NO_TIMEOUT_NS waits: the bytes written 50 ms later are read. */
static void *late_writer(void *arg)
{
    struct fds *f = arg;
    cor_sleep(0.05);
    return (void *)(intptr_t)send(f->sv[1], "late", 4, 0);
}

static void *wait_forever(void *arg)
{
    struct fds *f = arg;
    cor_task *w = cor_spawn(late_writer, f);
    char b[8];
    rec("recv %ld", (long)cor_recv_timeout(f->sv[0], b, sizeof b, 0,
                                           COR_NO_TIMEOUT_NS));
    cor_await(w, NULL);
    cor_task_release(w);
    return NULL;
}

static void no_timeout_waits(void **state)
{
    (void)state;
    struct fds f;
    open_fds(&f);
    rec_reset();
    assert_int_equal(h_run(wait_forever, &f, 1), 0);
    close_fds(&f);
    assert_string_equal(rec_text(), "recv 4\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(past_times_mean_now),
        cmocka_unit_test(past_times_take_what_is_ready),
        cmocka_unit_test(no_timeout_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
