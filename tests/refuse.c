/* SPDX-License-Identifier: MIT */
/* refuse.c - see refuse.h. */
#include "refuse.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

#define MAX_NRS 8

int refuse_syscalls(const int *nrs, int n, int err)
{
    if (n < 1 || n > MAX_NRS)
        return -1;
    struct sock_filter f[6 + MAX_NRS] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                 offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    };
    unsigned k = 4;
    /* nrs[i] jumps over the rest to the refusal; past the last: allow. */
    for (int i = 0; i < n; i++, k++)
        f[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
                                            (unsigned)nrs[i],
                                            (unsigned char)(n - 1 - i),
                                            i == n - 1 ? 1 : 0);
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                          SECCOMP_RET_ERRNO | (err & 0xffff));
    f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                          SECCOMP_RET_ALLOW);
    struct sock_fprog prog = {.len = (unsigned short)k, .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int refuse_io_uring(int err)
{
    static const int nrs[] = {__NR_io_uring_setup, __NR_io_uring_enter,
                              __NR_io_uring_register};
    return refuse_syscalls(nrs, 3, err);
}
