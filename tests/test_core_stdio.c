/* SPDX-License-Identifier: MIT */
/*
 * test_core_stdio - a program started with stdin, stdout and stderr closed
 * (`prog <&- >&- 2>&-`): the runtime's own descriptors (each loop's eventfd
 * and ring or epoll instance, the signal hub's signalfd, the debug
 * watchdog's pipe) never take 0, 1 or 2, so reading stdin or writing
 * stdout fails with EBADF as it would without the runtime, instead of
 * reading the loop's wakeups or writing into its ring.  Each case runs in
 * a child: the closed streams are the whole process's.
 */
#include "child.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Bits 0-2: that stream's number is taken; 3: a read of stdin did not
 * fail with EBADF; 4: a write to stdout did not. */
static void *probe(void *arg)
{
    int bad = 0;
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            bad |= 1 << fd;
    if (bad) /* a read would wait on what took stdin's number */
        goto out;
    char b[8] = "12345678";
    if (cor_read(STDIN_FILENO, b, sizeof b, COR_OFF_CUR) != -EBADF)
        bad |= 1 << 3;
    if (cor_write(STDOUT_FILENO, b, sizeof b, COR_OFF_CUR) != -EBADF)
        bad |= 1 << 4;
out:
    *(int *)arg = bad;
    return NULL;
}

static void closed_stdio_child(void *arg)
{
    close(STDIN_FILENO);
    close(STDOUT_FILENO);
    close(STDERR_FILENO);
    int bad = -1;
    /* Two loops (two eventfds, two rings), the debug watchdog's pipe. */
    cor_run_opts o = {.loops = 2, .backend = *(int *)arg, .debug = true};
    int rc = cor_run_ex(probe, &bad, &o, NULL);
    _exit(rc < 0 ? 100 : bad);
}

static void run_closed(int backend)
{
    struct child_result r;
    run_in_child(closed_stdio_child, &backend, &r);
    assert_true(WIFEXITED(r.status));
    assert_int_equal(WEXITSTATUS(r.status), 0);
}

static void closed_stdio_kept_closed_uring(void **state)
{
    (void)state;
    H_NEED_URING();
    run_closed(COR_BACKEND_IO_URING);
}

static void closed_stdio_kept_closed_epoll(void **state)
{
    (void)state;
    run_closed(COR_BACKEND_EPOLL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_stdio_kept_closed_uring),
        cmocka_unit_test(closed_stdio_kept_closed_epoll),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
