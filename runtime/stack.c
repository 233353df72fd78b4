/* SPDX-License-Identifier: MIT */
/*
 * stack.c - per-loop pools of coroutine stacks and stack-overflow detection.
 *
 * A stack is a MAP_NORESERVE region whose lowest page is a guard; only the
 * pages a coroutine touches cost memory.  Stacks are carved from slabs and
 * recycled LIFO (warm pages first).  A pool keeps the pages of `keep` free
 * stacks; once more than twice that many are free and warm, the least
 * recently used go back to the kernel (MADV_DONTNEED: the mapping and its
 * guard stay, the next use faults in zeroed pages), so memory follows the
 * live tasks after a burst and a load that swings by less than `keep`
 * stacks costs no syscall.  Stacks of another size are unmapped when freed.
 *
 * Guards: the kernel's MADV_GUARD_INSTALL (Linux 6.13) marks the page in the
 * page tables without splitting the mapping, so a million guarded stacks cost
 * a handful of VMAs.  Without it, mprotect() guards cost two VMAs each and
 * vm.max_map_count (65530 by default) stops them near 32k: past a budget,
 * a stack's lowest page holds a canary instead of a guard, checked whole at
 * every switch out of the task.  A whole page, because code built with
 * -fstack-clash-protection writes at least once in every page it descends
 * through, so an overflow cannot step over it.  Either way an overflow is reported with the task's name and the
 * process stops: a guard hit by the SIGSEGV handler (on a sigaltstack), a
 * smashed canary before any other task runs.
 */
#include "internal.h"
#include "san.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define SLAB_STACKS 64
/* Free stacks whose pages a pool keeps (see above). */
#define STACK_KEEP 64
#ifndef PIDFD_SELF
#define PIDFD_SELF (-10000) /* Linux 6.14: "the calling process" */
#endif

static size_t page_size(void)
{
    static size_t pg;
    if (!pg)
        pg = (size_t)sysconf(_SC_PAGESIZE);
    return pg;
}

/* An unguarded stack's lowest page holds the canary instead of a guard. */
static void write_canary(struct cor__stack *s, size_t page)
{
    uint64_t *c = (uint64_t *)(void *)s->lo;
    for (size_t i = 0; i < page / sizeof *c; i++)
        c[i] = COR__CANARY;
}

bool cor__stack_canary_intact(const struct cor__stack *s, size_t page)
{
    const uint64_t *c = (const uint64_t *)(const void *)s->lo;
    uint64_t diff = 0;
    for (size_t i = 0; i < page / sizeof *c; i++)
        diff |= c[i] ^ COR__CANARY;
    return diff == 0;
}

int cor__stack_pool_init(struct cor__stack_pool *p, size_t stack_size,
                         bool mprotect, size_t budget)
{
    memset(p, 0, sizeof *p);
    p->page = page_size();
    p->stack_size = (stack_size + p->page - 1) & ~(p->page - 1);
    if (p->stack_size < 4 * p->page)
        return -EINVAL;
    p->guard_mode = mprotect ? COR__GUARD_MPROTECT : COR__GUARD_MADV;
    p->guard_budget = budget;
    p->keep = STACK_KEEP;
    return 0;
}

void cor__stack_pool_stats(const struct cor__stack_pool *p,
                           struct cor__stack_stats *st)
{
    st->free = p->nfree;
    st->warm = p->nfree - p->ncold;
    st->released = p->nreleased;
    st->mapped = p->mapped;
}

void cor__stack_pool_fini(struct cor__stack_pool *p)
{
    for (size_t i = 0; i < p->nslabs; i++) {
        UNPOISON(p->slabs[i].p, p->slabs[i].len);
        munmap(p->slabs[i].p, p->slabs[i].len);
    }
    free(p->slabs);
    free(p->free);
    free(p->free_guard);
    memset(p, 0, sizeof *p);
}

static int add_slab(struct cor__stack_pool *p, char *m, size_t len)
{
    if (p->nslabs == p->capslabs) {
        size_t cap = p->capslabs ? p->capslabs * 2 : 16;
        struct cor__slab *s = realloc(p->slabs, cap * sizeof *s);
        if (!s)
            return -ENOMEM;
        p->slabs = s;
        p->capslabs = cap;
    }
    p->slabs[p->nslabs++] = (struct cor__slab){m, len};
    p->mapped += len;
    return 0;
}

/* Unmap a region of its own (a stack of another size); the most recent
 * are at the end of the list. */
static void unmap_region(struct cor__stack_pool *p, struct cor__stack *s)
{
    for (size_t i = p->nslabs; i-- > 0;) {
        if (p->slabs[i].p != s->lo)
            continue;
        p->slabs[i] = p->slabs[--p->nslabs];
        p->mapped -= s->size;
        munmap(s->lo, s->size);
        if (s->guard == COR__GUARD_NONE)
            p->ncanary--;
        else
            p->nguarded--; /* an mprotect guard gives its budget back */
        return;
    }
}

static char *map_region(struct cor__stack_pool *p, size_t len)
{
    char *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                   -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (add_slab(p, m, len) < 0) {
        munmap(m, len);
        return NULL;
    }
    return m;
}

/*
 * Guard every stack of a new slab with one process_madvise() call instead of
 * one madvise() a stack (spawning is dominated by syscalls and page faults).
 * False when the kernel cannot; the stacks are then guarded one at a time.
 */
static bool guard_slab(struct cor__stack_pool *p, char *m, size_t size)
{
    struct iovec iov[SLAB_STACKS];
    if (vg_running())
        return false; /* valgrind 3.19 does not know process_madvise */
    for (size_t i = 0; i < SLAB_STACKS; i++) {
        iov[i].iov_base = m + i * size;
        iov[i].iov_len = p->page;
    }
    long r = syscall(SYS_process_madvise, PIDFD_SELF, iov, SLAB_STACKS,
                     MADV_GUARD_INSTALL, 0);
    return r == (long)(SLAB_STACKS * p->page);
}

/* Give a fresh region its guard page, or a canary only past the budget. */
static void install_guard(struct cor__stack_pool *p, struct cor__stack *s)
{
    if (p->guard_mode == COR__GUARD_MADV && s->lo >= p->slab_guarded_lo &&
        s->lo < p->slab_end) {
        s->guard = COR__GUARD_MADV;
        p->nguarded++;
        return;
    }
    if (p->guard_mode == COR__GUARD_MADV) {
        if (madvise(s->lo, p->page, MADV_GUARD_INSTALL) == 0) {
            s->guard = COR__GUARD_MADV;
            p->nguarded++;
            return;
        }
        /* Older kernel: fall back to mprotect for this pool from now on. */
        p->guard_mode = COR__GUARD_MPROTECT;
    }
    if (p->nguarded < p->guard_budget &&
        mprotect(s->lo, p->page, PROT_NONE) == 0) {
        s->guard = COR__GUARD_MPROTECT;
        p->nguarded++;
        return;
    }
    s->guard = COR__GUARD_NONE;
    p->ncanary++;
}

int cor__stack_get(struct cor__stack_pool *p, size_t size,
                   struct cor__stack *s)
{
    if (size == 0)
        size = p->stack_size;
    size = (size + p->page - 1) & ~(p->page - 1);
    if (size < 4 * p->page)
        return -EINVAL;
    if (size == p->stack_size && p->nfree) {
        p->nfree--;
        if (p->ncold > p->nfree)
            p->ncold = p->nfree;
        s->lo = p->free[p->nfree];
        s->size = size;
        s->guard = p->free_guard[p->nfree];
        if (s->guard == COR__GUARD_NONE)
            write_canary(s, p->page);
        return 0;
    }
    if (size == p->stack_size) {
        if (p->slab == p->slab_end) {
            char *m = map_region(p, size * SLAB_STACKS);
            if (!m)
                return -ENOMEM;
            p->slab = m;
            p->slab_end = m + size * SLAB_STACKS;
            p->slab_guarded_lo = p->guard_mode == COR__GUARD_MADV &&
                                         guard_slab(p, m, size)
                                     ? m
                                     : p->slab_end;
        }
        s->lo = p->slab;
        p->slab += size;
    } else {
        s->lo = map_region(p, size);
        if (!s->lo)
            return -ENOMEM;
    }
    s->size = size;
    install_guard(p, s);
    /* Only unguarded stacks need the canary; writing it touches (and pays
     * for) the stack's lowest page. */
    if (s->guard == COR__GUARD_NONE)
        write_canary(s, p->page);
    return 0;
}

/*
 * Give the pages of the least recently used warm free stacks back until
 * `keep` stay warm.  A guard stays installed (MADV_DONTNEED keeps guard
 * markers, and an mprotect guard is a separate mapping state); a canary
 * page goes too, since cor__stack_get writes the canary again.
 */
static void release_oldest(struct cor__stack_pool *p)
{
    while (p->nfree - p->ncold > p->keep) {
        char *lo = p->free[p->ncold];
        size_t skip = p->free_guard[p->ncold] == COR__GUARD_NONE ? 0 : p->page;
        madvise(lo + skip, p->stack_size - skip, MADV_DONTNEED);
        p->ncold++;
        p->nreleased++;
    }
}

void cor__stack_put(struct cor__stack_pool *p, struct cor__stack *s)
{
    /* Frames that never returned leave ASan redzones behind. */
    UNPOISON(cor__stack_base(s, p->page), s->size - p->page);
    if (s->size != p->stack_size) {
        unmap_region(p, s);
        return;
    }
    if (p->nfree == p->capfree) {
        size_t cap = p->capfree ? p->capfree * 2 : 256;
        void **f = realloc(p->free, cap * sizeof *f);
        uint8_t *g = f ? realloc(p->free_guard, cap) : NULL;
        if (f)
            p->free = f;
        if (!g)
            return; /* the stack stays mapped, unused, until the pool goes */
        p->free_guard = g;
        p->capfree = cap;
    }
    p->free[p->nfree] = s->lo;
    p->free_guard[p->nfree] = s->guard;
    p->nfree++;
    if (p->nfree - p->ncold > 2 * p->keep)
        release_oldest(p);
}

/* ------------------------------------------------- overflow detection ---- */

static struct sigaction old_segv;
static _Atomic int handler_installed;
static __thread void *altstack;

static void write_str(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

void cor__stack_overflow(const char *task, size_t size)
{
    char num[32];
    int i = sizeof num - 1;
    size_t kib = size / 1024;
    num[i] = 0;
    do {
        num[--i] = (char)('0' + kib % 10);
        kib /= 10;
    } while (kib && i > 0);
    /* Only async-signal-safe calls: this may run in the SIGSEGV handler. */
    write_str("coring: stack overflow in task '");
    write_str(task);
    write_str("' (stack of ");
    write_str(num + i);
    write_str(" KiB); give it a larger stack_size in cor_spawn_opts or "
              "cor_run_opts\n");
    signal(SIGABRT, SIG_DFL);
    abort();
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
    struct cor_loop *l = cor__tls_loop;
    struct cor_task *t = l ? l->cur : NULL;
    if (t) {
        char *a = si->si_addr;
        char *lo = t->stack.lo;
        /* The guard page itself, or just below the region: a frame that
         * skipped the guard, or a canary stack running into its neighbour's
         * guard. */
        if (a >= lo - t->stack.size && a < lo + page_size())
            cor__stack_overflow(t->name, t->stack.size);
    }
    if (old_segv.sa_flags & SA_SIGINFO && old_segv.sa_sigaction) {
        old_segv.sa_sigaction(sig, si, uc);
        return;
    }
    if (old_segv.sa_handler == SIG_IGN || old_segv.sa_handler == SIG_DFL) {
        /* Returning re-runs the faulting access, which now kills us. */
        signal(SIGSEGV, SIG_DFL);
        return;
    }
    old_segv.sa_handler(sig);
}

int cor__stack_thread_init(void)
{
    int expect = 0;
    if (atomic_compare_exchange_strong(&handler_installed, &expect, 1)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = segv_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSEGV, &sa, &old_segv) < 0)
            return -errno;
    }
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
        return 0; /* the thread has one already (ASan installs its own) */
    size_t sz = 64 * 1024;
    altstack = malloc(sz);
    if (!altstack)
        return -ENOMEM;
    stack_t ss = {.ss_sp = altstack, .ss_size = sz, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) < 0) {
        free(altstack);
        altstack = NULL;
        return -errno;
    }
    return 0;
}

void cor__stack_thread_fini(void)
{
    if (!altstack)
        return;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(altstack);
    altstack = NULL;
}
