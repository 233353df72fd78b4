/* SPDX-License-Identifier: MIT */
/*
 * san.h - telling AddressSanitizer, ThreadSanitizer and valgrind about
 * stack switches.  Each hook compiles to nothing when its tool is absent.
 */
#ifndef CORING_SAN_H
#define CORING_SAN_H

#if defined(__SANITIZE_ADDRESS__)
#define COR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COR_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define COR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define COR_TSAN 1
#endif
#endif

#ifdef COR_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define san_start_switch(fake, lo, sz)                                         \
    __sanitizer_start_switch_fiber(fake, lo, sz)
#define san_finish_switch(fake) __sanitizer_finish_switch_fiber(fake, 0, 0)
#else
#define san_start_switch(fake, lo, sz) ((void)(fake), (void)(lo), (void)(sz))
#define san_finish_switch(fake) ((void)(fake))
#endif

#ifdef COR_TSAN
#include <sanitizer/tsan_interface.h>
#define tsan_create() __tsan_create_fiber(0)
#define tsan_destroy(f) __tsan_destroy_fiber(f)
#define tsan_current() __tsan_get_current_fiber()
#define tsan_switch(f) __tsan_switch_to_fiber(f, 0)
#else
#define tsan_create() ((void *)0)
#define tsan_destroy(f) ((void)(f))
#define tsan_current() ((void *)0)
#define tsan_switch(f) ((void)(f))
#endif

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define vg_register(lo, hi) VALGRIND_STACK_REGISTER(lo, hi)
#define vg_deregister(id) VALGRIND_STACK_DEREGISTER(id)
#define vg_running() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef vg_register
#define vg_register(lo, hi) ((void)(lo), (void)(hi), 0u)
#define vg_deregister(id) ((void)(id))
#define vg_running() 0
#endif

#endif
