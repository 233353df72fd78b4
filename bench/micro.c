/* SPDX-License-Identifier: MIT */
/*
 * micro.c - runs every area's micro-benchmarks, or those named on the
 * command line (core, executor, asyncio, io, signals).  Output:
 * `name: value unit`.
 */
#include "micro.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void micro_print(const char *name, double value, const char *unit)
{
    if (value >= 100)
        printf("%s: %.0f %s\n", name, value, unit);
    else
        printf("%s: %.3g %s\n", name, value, unit);
    fflush(stdout);
}

int64_t micro_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const struct {
    const char *name;
    void (*fn)(void);
} areas[] = {
    {"core", micro_core},
    {"executor", micro_executor},
    {"asyncio", micro_asyncio},
    {"io", micro_io},
    {"signals", micro_signals},
    /* areas: add {"name", micro_name} here */
};

int main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++) {
        int want = argc < 2;
        for (int a = 1; a < argc; a++)
            want |= strcmp(argv[a], areas[i].name) == 0;
        if (want)
            areas[i].fn();
    }
    return 0;
}
