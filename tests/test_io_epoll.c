/* SPDX-License-Identifier: MIT */
/*
 * test_io_epoll - what the epoll backend remembers of an fd between ops
 * (runtime/epoll.c): whether each direction may be ready, and whether the
 * fd is registered.  What it remembers must never cost a wakeup: an end
 * reported in the same event as the last bytes is still read after them,
 * and a number closed with close(2) and made again behind the backend's
 * back is still served.  A bounded op whose timer cannot be armed ends
 * with -ENOMEM rather than wait without its bound.  Every program here
 * runs on epoll, whatever COR_BACKEND says.
 */
#include "harness.h"
#include "internal.h"

#include "refuse.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int run_epoll(cor_fn *main, void *arg)
{
    cor_run_opts o = {.loops = 1, .backend = COR_BACKEND_EPOLL};
    return cor_run_ex(main, arg, &o, NULL);
}

/* Await t; a watchdog cancels it after 5 s (a cancelled read is tried
 * once more: it would hide a wait that never ended).  Whether it fired. */
struct wd {
    cor_task *t;
    bool fired;
};

static void *watchdog(void *arg)
{
    struct wd *w = arg;
    if (cor_sleep(5) == 0) {
        w->fired = true;
        cor_task_cancel(w->t);
    }
    return NULL;
}

static bool await_watched(cor_task *t)
{
    struct wd w = {t, false};
    cor_task *d = cor_spawn(watchdog, &w);
    cor_await(t, NULL);
    cor_task_cancel(d);
    cor_await(d, NULL);
    cor_task_release(d);
    cor_task_release(t);
    return w.fired;
}

struct rd {
    int fd;
    bool read_op; /* cor_read, else cor_recv */
    ssize_t n[2]; /* the answers of two reads */
    char buf[64];
};

/* Two reads of up to 64 bytes, no deadline of their own. */
static void *two_reads(void *arg)
{
    struct rd *r = arg;
    for (int i = 0; i < 2; i++) {
        char *b = r->buf + i * sizeof r->buf / 2;
        size_t cap = sizeof r->buf / 2;
        r->n[i] = r->read_op ? cor_read(r->fd, b, cap, COR_OFF_CUR)
                             : cor_recv(r->fd, b, cap, 0);
    }
    return NULL;
}

/* ------------------------------------ an end in the bytes' own event -- */

struct endev {
    int sv[2];
    struct rd r;
    bool stuck;
};

static void *endev_main(void *arg)
{
    struct endev *t = arg;
    t->r.fd = t->sv[0];
    cor_task *reader = cor_spawn(two_reads, &t->r);
    /* The reader's recv is tried (nothing there) and waits, registered. */
    for (int i = 0; i < 4; i++)
        cor_yield();
    /* Bytes and the end arrive together: one event reports both.  The
     * recv takes the bytes (fewer than it asked for: the socket is
     * empty), and the next recv must still see the end. */
    if (send(t->sv[1], "abc", 3, 0) != 3 || shutdown(t->sv[1], SHUT_WR))
        return NULL;
    t->stuck = await_watched(reader);
    return NULL;
}

static void test_end_with_the_last_bytes(void **state)
{
    (void)state;
    struct endev t = {.stuck = true};
    assert_int_equal(h_tcp_pair(t.sv), 0);
    assert_int_equal(run_epoll(endev_main, &t), 0);
    close(t.sv[0]);
    close(t.sv[1]);
    assert_false(t.stuck);
    assert_int_equal(t.r.n[0], 3);
    assert_memory_equal(t.r.buf, "abc", 3);
    assert_int_equal(t.r.n[1], 0);
}

/* ------------------------- a number closed and made again behind us -- */

struct reuse {
    int lfd, cfd;
    int afd;      /* the accepted connection's number */
    struct rd r;
    ssize_t got;  /* the read on the new file under the number */
    bool stuck;
    char c;
};

static void *read_one(void *arg)
{
    struct reuse *t = arg;
    t->got = cor_read(t->afd, &t->c, 1, COR_OFF_CUR);
    return NULL;
}

static void *reuse_main(void *arg)
{
    struct reuse *t = arg;
    /* A connection the backend saw made: its registration is kept. */
    t->afd = cor_accept(t->lfd, NULL, NULL, COR_NO_TIMEOUT_NS);
    if (t->afd < 0)
        return NULL;
    t->r.fd = t->afd;
    cor_task *reader = cor_spawn(two_reads, &t->r);
    for (int i = 0; i < 4; i++)
        cor_yield();
    /* One byte, read by a recv that asked for more: the backend now
     * knows the socket empty, and registered. */
    if (send(t->cfd, "x", 1, 0) != 1)
        return NULL;
    while (t->r.n[0] == 0)
        cor_yield();
    cor_task_cancel(reader); /* its second recv waits: it ends unstarted */
    cor_await(reader, NULL);
    cor_task_release(reader);
    /* Closed with close(2): the backend does not see it.  A pipe under
     * the same number, with a byte in it. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    close(t->afd);
    if (dup3(p[0], t->afd, O_CLOEXEC) < 0)
        return NULL;
    close(p[0]);
    if (write(p[1], "y", 1) != 1)
        return NULL;
    /* The byte is read, whatever the backend believed of the number. */
    t->stuck = await_watched(cor_spawn(read_one, t));
    close(p[1]);
    return NULL;
}

static void test_number_made_again(void **state)
{
    (void)state;
    struct reuse t = {.stuck = true, .got = -1};
    t.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(t.lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(t.lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(t.lfd, 4), 0);
    assert_int_equal(getsockname(t.lfd, (struct sockaddr *)&a, &al), 0);
    t.cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(t.cfd >= 0);
    assert_int_equal(connect(t.cfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(run_epoll(reuse_main, &t), 0);
    assert_true(t.afd >= 0);
    close(t.afd);
    close(t.cfd);
    close(t.lfd);
    assert_int_equal(t.r.n[0], 1);
    assert_int_equal(t.r.n[1], -ECANCELED);
    assert_false(t.stuck);
    assert_int_equal(t.got, 1);
    assert_int_equal(t.c, 'y');
}

/* ------------------------------ a send or recv tried at its start -- */

struct early {
    int sv[2];
    struct rd r;
    ssize_t seen;   /* what the peer had right after the writer's write */
    int drained;
};

static void *early_main(void *arg)
{
    struct early *t = arg;
    /* A recv that waits: the backend knows the fd, registered, and that
     * its output may be ready. */
    t->r.fd = t->sv[0];
    cor_task *reader = cor_spawn(two_reads, &t->r);
    for (int i = 0; i < 4; i++)
        cor_yield();
    cor_writer *w;
    if (cor_writer_open(&w, t->sv[0]) < 0)
        return NULL;
    /* The writer's send starts inside the write: it is tried there and
     * then, as a hand-written epoll server writes, not in the loop's next
     * wait (its completion still comes from the loop). */
    char c[8];
    if (cor_writer_write(w, "hi", 2) == 0)
        t->seen = recv(t->sv[1], c, sizeof c, MSG_DONTWAIT);
    t->drained = cor_writer_drain(w);
    cor_writer_close(w);
    cor_writer_wait_closed(w);
    cor_writer_free(w);
    shutdown(t->sv[1], SHUT_WR);
    cor_await(reader, NULL);
    cor_task_release(reader);
    return NULL;
}

static void test_send_tried_at_start(void **state)
{
    (void)state;
    struct early t = {.seen = -1, .drained = -1};
    assert_int_equal(h_tcp_pair(t.sv), 0);
    assert_int_equal(run_epoll(early_main, &t), 0);
    close(t.sv[0]);
    close(t.sv[1]);
    assert_int_equal(t.seen, 2);
    assert_int_equal(t.drained, 0);
    assert_int_equal(t.r.n[0], 0);
}

/* Two recvs of one byte on one socket, the first bounded (so never tried
 * at its start): they take the bytes in the order they started, whether
 * they start with the bytes there or wait for them together. */
struct order {
    int sv[2];
    bool wait_first; /* both wait before the bytes come */
    char got[2];
    ssize_t n[2];
};

static void *recv_bounded(void *arg)
{
    struct order *t = arg;
    t->n[0] = cor_recv_timeout(t->sv[0], &t->got[0], 1, 0, 5000000000);
    return NULL;
}

static void *recv_plain(void *arg)
{
    struct order *t = arg;
    t->n[1] = cor_recv(t->sv[0], &t->got[1], 1, 0);
    return NULL;
}

static void *recv_x(void *arg)
{
    struct order *t = arg;
    char c;
    t->n[0] = cor_recv(t->sv[0], &c, 1, 0);
    return NULL;
}

static void *order_main(void *arg)
{
    struct order *t = arg;
    /* A recv that waits, then gets one byte, as many as it asked for (the
     * socket may hold more): the fd is known, registered, its input maybe
     * ready. */
    cor_task *x = cor_spawn(recv_x, t);
    for (int i = 0; i < 4; i++)
        cor_yield();
    if (send(t->sv[1], "x", 1, 0) != 1)
        return NULL;
    cor_await(x, NULL);
    cor_task_release(x);
    if (t->n[0] != 1)
        return NULL;
    if (!t->wait_first && send(t->sv[1], "ab", 2, 0) != 2)
        return NULL;
    cor_task *a = cor_spawn(recv_bounded, t);
    cor_task *b = cor_spawn(recv_plain, t);
    for (int i = 0; i < 4; i++)
        cor_yield();
    if (t->wait_first && send(t->sv[1], "ab", 2, 0) != 2)
        return NULL;
    cor_await(a, NULL);
    cor_await(b, NULL);
    cor_task_release(a);
    cor_task_release(b);
    return NULL;
}

static void test_recvs_keep_their_order(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++) {
        struct order t = {.wait_first = w, .n = {-1, -1}};
        assert_int_equal(h_tcp_pair(t.sv), 0);
        assert_int_equal(run_epoll(order_main, &t), 0);
        close(t.sv[0]);
        close(t.sv[1]);
        assert_int_equal(t.n[0], 1);
        assert_int_equal(t.n[1], 1);
        assert_int_equal(t.got[0], 'a');
        assert_int_equal(t.got[1], 'b');
    }
}

/* ------------------------------------------- epoll_pwait2 refused -- */

/* epoll_pwait2 fails with ENOSYS from now on, as on kernels before 5.11
 * (older container profiles refuse it with EPERM). */
static int refuse_pwait2(void)
{
    static const int nr[] = {__NR_epoll_pwait2};
    return refuse_syscalls(nr, 1, ENOSYS);
}

struct nopw {
    int sv[2];
    struct rd r;
    double slept;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *nopw_main(void *arg)
{
    struct nopw *t = arg;
    t->r.fd = t->sv[0];
    cor_task *reader = cor_spawn(two_reads, &t->r);
    /* A timer through the wait's timeout, the reader parked meanwhile. */
    double t0 = mono();
    cor_sleep(0.02);
    t->slept = mono() - t0;
    if (send(t->sv[1], "ab", 2, 0) != 2 || shutdown(t->sv[1], SHUT_WR))
        return NULL;
    cor_await(reader, NULL);
    cor_task_release(reader);
    return NULL;
}

static void test_no_epoll_pwait2(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10); /* a wait that never ends: the test fails */
        struct nopw t = {.r.n = {-1, -1}};
        if (h_tcp_pair(t.sv) || refuse_pwait2())
            _exit(2);
        if (run_epoll(nopw_main, &t) || t.r.n[0] != 2 || t.r.n[1] != 0 ||
            t.slept < 0.02)
            _exit(1);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ------------------------------- a bound that cannot be armed -- */

/* A bounded op whose timer cannot be armed (the loop's timer heap cannot
 * grow) ends at once with -ENOMEM: it must not wait without its bound. */
struct nomem {
    int sv[2];
    ssize_t r;
    bool stuck;
};

static void *bounded_recv(void *arg)
{
    struct nomem *t = arg;
    char b[8];
    t->r = cor_recv_timeout(t->sv[0], b, sizeof b, 0, 50 * 1000000);
    return NULL;
}

static void no_fire(struct cor__timer *tm)
{
    (void)tm;
}

static void *nomem_main(void *arg)
{
    struct nomem *t = arg;
    struct cor__timers *h = &cor_loop_current()->timers;
    /* Fill the heap to its capacity with timers that never come due: the
     * next arm must grow it, and that growth fails. */
    size_t n = h->cap - h->n;
    struct cor__timer *fill = calloc(n, sizeof *fill);
    if (!fill)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        fill[i] = (struct cor__timer){INT64_MAX, SIZE_MAX, no_fire};
        if (cor__timer_arm(h, &fill[i]) < 0)
            return NULL;
    }
    atomic_store(&cor__timers_fail_grow, true);
    cor_task *reader = cor_spawn(bounded_recv, t);
    t->stuck = await_watched(reader);
    atomic_store(&cor__timers_fail_grow, false);
    for (size_t i = 0; i < n; i++)
        cor__timer_disarm(h, &fill[i]);
    free(fill);
    return NULL;
}

static void test_bound_not_armed(void **state)
{
    (void)state;
    struct nomem t = {.r = 1};
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, t.sv), 0);
    assert_int_equal(run_epoll(nomem_main, &t), 0);
    assert_false(t.stuck);
    assert_int_equal(t.r, -ENOMEM);
    close(t.sv[0]);
    close(t.sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: it forks, before any runtime has run in this process */
        cmocka_unit_test_setup_teardown(test_no_epoll_pwait2, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_end_with_the_last_bytes,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_number_made_again, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_send_tried_at_start, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_recvs_keep_their_order,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_bound_not_armed, h_setup,
                                        h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
