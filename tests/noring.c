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
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

static int refuse(int err)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & 0xffff)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

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
    if (refuse(err) < 0) {
        perror("noring: seccomp");
        return 77;
    }
    execvp(argv[2], argv + 2);
    fprintf(stderr, "noring: %s: %s\n", argv[2], strerror(errno));
    return 127;
}
