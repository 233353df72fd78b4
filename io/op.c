/* SPDX-License-Identifier: MIT */
/*
 * op.c - what io objects and calls share besides the op protocol (that is
 * runtime/op.c) and the home-loop check (io_internal.h): SIGPIPE ignored
 * once.
 */
#include "io_internal.h"

#include <pthread.h>
#include <signal.h>

static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;

static void sigpipe_ignore(void)
{
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
        !(sa.sa_flags & SA_SIGINFO)) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

void cor__io_sigpipe_once(void)
{
    pthread_once(&sigpipe_once, sigpipe_ignore);
}
