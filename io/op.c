/* SPDX-License-Identifier: MIT */
/*
 * op.c - what io objects and calls share besides the op protocol (that is
 * runtime/op.c): the home-loop check, SIGPIPE ignored once.
 */
#include "io_internal.h"

#include <pthread.h>
#include <signal.h>

struct cor_task *cor__io_home_task(const struct cor_loop *home,
                                   const char *call)
{
    if (cor__check_home(home))
        return NULL;
    return cor__need_task(call);
}

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
