/* SPDX-License-Identifier: MIT */
/*
 * seed_util.h - what the seed ports share: the TIME_SCALE knob and the
 * oracle's way of printing an elapsed time (seed seconds floored to a grid,
 * one decimal), so that a port prints exactly the lines asyncio prints.
 */
#ifndef CORING_SEED_UTIL_H
#define CORING_SEED_UTIL_H

#include <coring.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Every delay of a seed is multiplied by TIME_SCALE (default 1.0). */
static inline double seed_scale(void)
{
    const char *s = getenv("TIME_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

/* Sleep `seconds` seed seconds. */
static inline int seed_sleep(double seconds)
{
    return cor_sleep(seconds * seed_scale());
}

/* floor(elapsed / TIME_SCALE / grid + 0.05) * grid, as the oracle prints. */
static inline const char *seed_secs(int64_t elapsed_ns, double grid,
                                    char *buf, size_t len)
{
    double e = (double)elapsed_ns / 1e9 / seed_scale();
    snprintf(buf, len, "%.1f", floor(e / grid + 0.05) * grid);
    return buf;
}
#define SECS(ns, grid) seed_secs((ns), (grid), (char[32]){0}, 32)

#endif
