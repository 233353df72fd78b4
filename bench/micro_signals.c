/* SPDX-License-Identifier: MIT */
/*
 * micro_signals.c - signals and host names: how long a process-directed
 * signal takes from kill() to the task waiting for it and to a handler (the
 * signalfd read on loop 0's ring), and how many getaddrinfo lookups per
 * second the executor serves to concurrent tasks, beside the same lookups
 * made one after the other on a plain thread.
 */
#include "micro.h"

#include <coring.h>

#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 201

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp64);
    return v[n / 2];
}

static int64_t sent_at, lat[ROUNDS];

static void *waiter(void *arg)
{
    (void)arg;
    if (cor_signal_wait(SIGUSR2) != SIGUSR2)
        return cor_fail(-EIO, "wait");
    return (void *)(intptr_t)(cor_now_ns() - sent_at);
}

static cor_future *handled;

static void on_sig(int sig, void *arg)
{
    (void)sig;
    (void)arg;
    cor_future_set_result(handled, (void *)(intptr_t)(cor_now_ns() - sent_at));
}

static void *signals_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        cor_task *t = cor_spawn(waiter, NULL);
        cor_yield(); /* it waits now */
        sent_at = cor_now_ns();
        kill(getpid(), SIGUSR2);
        void *r = NULL;
        cor_await(t, &r);
        cor_task_release(t);
        lat[i] = (int64_t)(intptr_t)r;
    }
    micro_print("signal_to_task_us", (double)median(lat, ROUNDS) / 1e3,
                "us");
    cor_signal_add(SIGUSR2, on_sig, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        cor_future_create(&handled);
        sent_at = cor_now_ns();
        kill(getpid(), SIGUSR2);
        void *r = NULL;
        cor_future_await(handled, &r);
        cor_future_release(handled);
        lat[i] = (int64_t)(intptr_t)r;
    }
    cor_signal_remove(SIGUSR2);
    micro_print("signal_to_handler_us", (double)median(lat, ROUNDS) / 1e3,
                "us");
    return NULL;
}

#define LOOKUPS 4000
#define LOOKERS 32

static int lookups_left;

static void *looker(void *arg)
{
    const char *host = arg;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    while (lookups_left > 0) {
        lookups_left--;
        struct addrinfo *res;
        if (cor_getaddrinfo(host, "80", &hints, &res) < 0)
            return cor_fail(-EIO, "lookup");
        freeaddrinfo(res);
    }
    return NULL;
}

static double lookups_per_s(const char *host)
{
    cor_task *t[LOOKERS];
    lookups_left = LOOKUPS;
    int64_t t0 = cor_now_ns();
    for (int i = 0; i < LOOKERS; i++)
        t[i] = cor_spawn(looker, (void *)host);
    for (int i = 0; i < LOOKERS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return LOOKUPS / ((double)(cor_now_ns() - t0) / 1e9);
}

static void *lookups_main(void *arg)
{
    (void)arg;
    lookups_per_s("localhost"); /* workers started, files cached */
    micro_print("getaddrinfo_localhost_per_s", lookups_per_s("localhost"),
                "lookups/s");
    micro_print("getaddrinfo_numeric_per_s", lookups_per_s("127.0.0.1"),
                "lookups/s");
    return NULL;
}

void micro_signals(void)
{
    cor_run_opts o = {.loops = 1};
    cor_run_ex(signals_main, NULL, &o, NULL);
    cor_run_ex(lookups_main, NULL, &o, NULL);
    /* The same lookups one after the other on this thread, no executor. */
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    int64_t t0 = micro_now_ns();
    for (int i = 0; i < LOOKUPS; i++) {
        struct addrinfo *res;
        if (getaddrinfo("localhost", "80", &hints, &res) == 0)
            freeaddrinfo(res);
    }
    micro_print("getaddrinfo_localhost_direct_per_s",
                LOOKUPS / ((double)(micro_now_ns() - t0) / 1e9),
                "lookups/s");
}
