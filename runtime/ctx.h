/* SPDX-License-Identifier: MIT */
/*
 * ctx.h - the stack switch (ctx_<arch>.S) and how a new context's first frame
 * is laid out.  The frame layouts here must match the assembly.
 */
#ifndef CORING_CTX_H
#define CORING_CTX_H

#include <stdint.h>
#include <string.h>

void cor__ctx_switch(void **save_sp, void *load_sp);
void cor__ctx_start(void);

/*
 * cor__ctx_make - lay out a first frame on the stack whose highest address is
 * top, so that switching to the returned sp calls entry(arg) with the
 * caller's floating-point control state.  entry must never return.
 */
static inline void *cor__ctx_make(void *top, void (*entry)(void *), void *arg)
{
    uintptr_t t = (uintptr_t)top & ~(uintptr_t)15;
#if defined(__x86_64__)
    uint64_t *f = (uint64_t *)(t - 0x50);
    uint32_t mxcsr;
    uint16_t fpucw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(fpucw));
    memset(f, 0, 0x50);
    memcpy((char *)f, &mxcsr, 4);
    memcpy((char *)f + 4, &fpucw, 2);
    f[3] = (uint64_t)(uintptr_t)arg;   /* r12 */
    f[4] = (uint64_t)(uintptr_t)entry; /* r13 */
    f[7] = (uint64_t)(uintptr_t)cor__ctx_start;
    return f;
#elif defined(__aarch64__)
    uint64_t *f = (uint64_t *)(t - 0xb0);
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    memset(f, 0, 0xb0);
    f[0] = (uint64_t)(uintptr_t)arg;   /* x19 */
    f[1] = (uint64_t)(uintptr_t)entry; /* x20 */
    f[11] = (uint64_t)(uintptr_t)cor__ctx_start; /* x30 */
    f[20] = fpcr;
    return f;
#else
#error "coring: no context switch for this architecture"
#endif
}

#endif
