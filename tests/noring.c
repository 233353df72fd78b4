/* SPDX-License-Identifier: MIT */
/*
 * noring - run a command where io_uring is refused, as Docker's default
 * seccomp profile (EPERM) or a kernel without io_uring (ENOSYS) refuses it:
 *
 *   noring ENOSYS|EPERM command [args...]
 *
 * A seccomp filter makes io_uring_setup, io_uring_enter and
 * io_uring_register fail with that errno, for the command and everything it
 * starts.  Exit status 77 (a skipped test) when seccomp is not available,
 * 2 for bad usage, 127 when the command cannot be run.
 */
#include "refuse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int err = 0;
    if (argc >= 3 && strcmp(argv[1], "ENOSYS") == 0)
        err = ENOSYS;
    else if (argc >= 3 && strcmp(argv[1], "EPERM") == 0)
        err = EPERM;
    if (!err) {
        fprintf(stderr, "usage: noring ENOSYS|EPERM command [args...]\n");
        return 2;
    }
    if (refuse_io_uring(err) < 0) {
        perror("noring: seccomp");
        return 77;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "noring: %s: %s\n", argv[2], strerror(errno));
    return 127;
}
