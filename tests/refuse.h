/* SPDX-License-Identifier: MIT */
/*
 * refuse.h - io_uring refused for real: a seccomp filter that fails
 * io_uring_setup, io_uring_enter and io_uring_register with err, for the
 * calling process and everything it starts (as Docker's default profile
 * does with EPERM, or a kernel without io_uring with ENOSYS).
 */
#ifndef CORING_TEST_REFUSE_H
#define CORING_TEST_REFUSE_H

/* 0, or -1 with errno when seccomp is not available. */
int refuse_io_uring(int err);

/* The same for the n (1 to 8) system calls nrs (__NR_ numbers). */
int refuse_syscalls(const int *nrs, int n, int err);

#endif
