/* SPDX-License-Identifier: MIT */
/*
 * micro.h - build/bench/micro: one `name: value unit` line per figure.
 * Each area has a file bench/micro_<area>.c with one entry function that
 * prints its figures with micro_print(); micro.c runs them in order.
 */
#ifndef CORING_BENCH_MICRO_H
#define CORING_BENCH_MICRO_H

#include <stdint.h>

void micro_print(const char *name, double value, const char *unit);
int64_t micro_now_ns(void);

void micro_core(void);     /* micro_core.c: switch, spawn, yield, memory */
void micro_executor(void); /* micro_executor.c: to_thread, cross-loop */
void micro_asyncio(void);  /* micro_asyncio.c: queues, locks, gather */
void micro_io(void);       /* micro_io.c: streams over raw io, processes */
void micro_signals(void);  /* micro_signals.c: signal latency, lookups */

#endif
