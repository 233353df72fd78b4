/* SPDX-License-Identifier: MIT */
/*
 * test_core_switch - the raw stack switch keeps the callee-saved registers
 * and the floating-point control words of each context, whatever the other
 * context does with them, and a hand-rolled scheduler over it works (SPEC
 * item 15: generator-style round robin).
 */
#include "ctx.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

static void *main_sp, *co_sp;

#if defined(__x86_64__)
/*
 * regs_across_switch(save, load): loads known values into rbx, rbp and
 * r12-r15, switches, and when switched back returns a bit mask of the
 * registers that no longer hold their value.
 * garbage_switch(save, load): fills the same registers with garbage and
 * switches; restores its caller's registers when switched back.
 */
__asm__(".text\n"
        ".globl regs_across_switch\n"
        "regs_across_switch:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
        "  sub $8, %rsp\n"
        "  movabs $0x1111111111111111, %rbx\n"
        "  movabs $0x2222222222222222, %rbp\n"
        "  movabs $0x3333333333333333, %r12\n"
        "  movabs $0x4444444444444444, %r13\n"
        "  movabs $0x5555555555555555, %r14\n"
        "  movabs $0x6666666666666666, %r15\n"
        "  call cor__ctx_switch\n"
        "  xor %eax, %eax\n"
        "  movabs $0x1111111111111111, %rcx; cmp %rcx, %rbx; je 1f; or $1, %eax\n"
        "1: movabs $0x2222222222222222, %rcx; cmp %rcx, %rbp; je 2f; or $2, %eax\n"
        "2: movabs $0x3333333333333333, %rcx; cmp %rcx, %r12; je 3f; or $4, %eax\n"
        "3: movabs $0x4444444444444444, %rcx; cmp %rcx, %r13; je 4f; or $8, %eax\n"
        "4: movabs $0x5555555555555555, %rcx; cmp %rcx, %r14; je 5f; or $16, %eax\n"
        "5: movabs $0x6666666666666666, %rcx; cmp %rcx, %r15; je 6f; or $32, %eax\n"
        "6: add $8, %rsp\n"
        "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  ret\n"
        ".globl garbage_switch\n"
        "garbage_switch:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
        "  sub $8, %rsp\n"
        "  movabs $0xdeadbeefdeadbeef, %rbx\n"
        "  mov %rbx, %rbp; mov %rbx, %r12; mov %rbx, %r13\n"
        "  mov %rbx, %r14; mov %rbx, %r15\n"
        "  call cor__ctx_switch\n"
        "  add $8, %rsp\n"
        "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  ret\n");
int regs_across_switch(void **save, void *load);
void garbage_switch(void **save, void *load);

static unsigned get_mxcsr(void)
{
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}
static void set_mxcsr(unsigned v)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(v));
}
static unsigned short get_fpucw(void)
{
    unsigned short v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}
static void set_fpucw(unsigned short v)
{
    __asm__ volatile("fldcw %0" : : "m"(v));
}

static int co_fp_ok = -1;

static void clobber_entry(void *arg)
{
    (void)arg;
    /* This context's own control words: different from main's. */
    set_mxcsr(0x1f80 | 0x6000); /* round toward zero */
    set_fpucw(0x007f);          /* single precision */
    for (;;) {
        garbage_switch(&co_sp, main_sp);
        co_fp_ok = get_mxcsr() == (0x1f80 | 0x6000) && get_fpucw() == 0x007f;
    }
}

static void switch_keeps_callee_saved(void **state)
{
    (void)state;
    size_t sz = 256 * 1024;
    char *stk = malloc(sz);
    co_sp = cor__ctx_make(stk + sz, clobber_entry, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(regs_across_switch(&main_sp, co_sp), 0);
    free(stk);
}

static void switch_keeps_fp_control(void **state)
{
    (void)state;
    size_t sz = 256 * 1024;
    char *stk = malloc(sz);
    unsigned m0 = get_mxcsr();
    unsigned short c0 = get_fpucw();
    co_sp = cor__ctx_make(stk + sz, clobber_entry, NULL);
    set_mxcsr(0x1f80 | 0x2000); /* round down */
    set_fpucw(0x027f);          /* double precision */
    cor__ctx_switch(&main_sp, co_sp);
    assert_int_equal(get_mxcsr(), 0x1f80 | 0x2000);
    assert_int_equal(get_fpucw(), 0x027f);
    cor__ctx_switch(&main_sp, co_sp);
    assert_int_equal(co_fp_ok, 1);
    assert_int_equal(get_mxcsr(), 0x1f80 | 0x2000);
    set_mxcsr(m0);
    set_fpucw(c0);
    free(stk);
}
#endif

/* A hand-rolled round-robin scheduler over the raw switch. */
struct gen {
    void *sp;
    int id, n;
    char *stk;
};
static struct gen gens[3];
static void *sched_sp;
static char order[64];
static int norder;

static void gen_entry(void *arg)
{
    struct gen *g = arg;
    for (int i = 0; i < g->n; i++) {
        order[norder++] = (char)('a' + g->id);
        cor__ctx_switch(&g->sp, sched_sp);
    }
    g->n = -1; /* finished */
    cor__ctx_switch(&g->sp, sched_sp);
    abort();
}

static void round_robin_scheduler(void **state)
{
    (void)state;
    int lens[3] = {3, 1, 2};
    for (int i = 0; i < 3; i++) {
        gens[i].id = i;
        gens[i].n = lens[i];
        gens[i].stk = malloc(128 * 1024);
        gens[i].sp = cor__ctx_make(gens[i].stk + 128 * 1024, gen_entry,
                                   &gens[i]);
    }
    int live = 3;
    while (live) {
        live = 0;
        for (int i = 0; i < 3; i++) {
            if (gens[i].n < 0)
                continue;
            cor__ctx_switch(&sched_sp, gens[i].sp);
            live += gens[i].n >= 0;
        }
    }
    order[norder] = 0;
    assert_string_equal(order, "abcaca");
    for (int i = 0; i < 3; i++)
        free(gens[i].stk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#if defined(__x86_64__)
        cmocka_unit_test(switch_keeps_callee_saved),
        cmocka_unit_test(switch_keeps_fp_control),
#endif
        cmocka_unit_test(round_robin_scheduler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
