/* SPDX-License-Identifier: MIT */
/*
 * ctx_aarch64.S - the stack switch for aarch64 (AAPCS64), same contract as
 * ctx_x86_64.S.
 *
 * void cor__ctx_switch(void **save_sp, void *load_sp)
 *   Saves x19-x28, x29 (fp), x30 (lr), d8-d15 and FPCR on the current stack,
 *   stores sp in *save_sp, loads load_sp and restores the same set, then
 *   branches to the restored lr with br (an indirect jump, not ret).
 *
 * Frame at *save_sp (0xb0 bytes):
 *   +0x00 x19,x20 | +0x10 x21,x22 | +0x20 x23,x24 | +0x30 x25,x26
 *   +0x40 x27,x28 | +0x50 x29,x30 | +0x60 d8,d9 | +0x70 d10,d11
 *   +0x80 d12,d13 | +0x90 d14,d15 | +0xa0 fpcr
 *
 * cor__ctx_start: first code of a new context; calls x20(x19), which must
 * never return.
 */
    .text
    .globl  cor__ctx_switch
    .hidden cor__ctx_switch
    .type   cor__ctx_switch, %function
    .p2align 4
cor__ctx_switch:
    sub     sp, sp, #0xb0
    stp     x19, x20, [sp, #0x00]
    stp     x21, x22, [sp, #0x10]
    stp     x23, x24, [sp, #0x20]
    stp     x25, x26, [sp, #0x30]
    stp     x27, x28, [sp, #0x40]
    stp     x29, x30, [sp, #0x50]
    stp     d8,  d9,  [sp, #0x60]
    stp     d10, d11, [sp, #0x70]
    stp     d12, d13, [sp, #0x80]
    stp     d14, d15, [sp, #0x90]
    mrs     x9, fpcr
    str     x9, [sp, #0xa0]
    mov     x9, sp
    str     x9, [x0]

    mov     sp, x1
    ldp     x19, x20, [sp, #0x00]
    ldp     x21, x22, [sp, #0x10]
    ldp     x23, x24, [sp, #0x20]
    ldp     x25, x26, [sp, #0x30]
    ldp     x27, x28, [sp, #0x40]
    ldp     x29, x30, [sp, #0x50]
    ldp     d8,  d9,  [sp, #0x60]
    ldp     d10, d11, [sp, #0x70]
    ldp     d12, d13, [sp, #0x80]
    ldp     d14, d15, [sp, #0x90]
    ldr     x9, [sp, #0xa0]
    msr     fpcr, x9
    add     sp, sp, #0xb0
    br      x30
    .size   cor__ctx_switch, .-cor__ctx_switch

    .globl  cor__ctx_start
    .hidden cor__ctx_start
    .type   cor__ctx_start, %function
    .p2align 4
cor__ctx_start:
    mov     x29, #0
    mov     x0, x19
    blr     x20
    brk     #0
    .size   cor__ctx_start, .-cor__ctx_start

    .section .note.GNU-stack, "", %progbits
