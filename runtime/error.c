/* SPDX-License-Identifier: MIT */
/*
 * error.c - error objects (refcounted, immutable once made), the log hook and
 * cor_strerror().  Error objects may be shared between threads: only the
 * reference count changes after creation.
 */
#include "internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct error_obj {
    cor_error pub;
    _Atomic int refs;
    char *msg;
    char task[48];
    const cor_error **kids;
};

static void error_set_task(struct error_obj *e)
{
    struct cor_loop *l = cor__tls_loop;
    if (l && l->cur)
        snprintf(e->task, sizeof e->task, "%s", l->cur->name);
    e->pub.task = e->task;
}

static cor_error *error_new(int code, char *msg)
{
    struct error_obj *e = calloc(1, sizeof *e);
    if (!e) {
        free(msg);
        return NULL;
    }
    if (code > 0)
        code = -code;
    if (code == 0)
        code = -EIO;
    e->pub.code = code;
    e->msg = msg;
    e->pub.message = msg ? msg : "";
    atomic_init(&e->refs, 1);
    error_set_task(e);
    return &e->pub;
}

cor_error *cor__error_vnew(int code, const char *fmt, va_list ap)
{
    char *msg = NULL;
    if (fmt && *fmt && vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    return error_new(code, msg);
}

void cor__error_vset(const cor_error **slot, int code, const char *fmt,
                     va_list ap)
{
    const cor_error *e = cor__error_vnew(code, fmt, ap);
    cor_error_release(*slot);
    *slot = e ? e : cor_error_ref(cor__error_nomem());
}

cor_error *cor_error_create(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cor_error *e = cor__error_vnew(code, fmt, ap);
    va_end(ap);
    return e;
}

cor_error *cor_error_group(int code, const char *msg,
                           const cor_error *const *children, size_t n)
{
    if (n && !children)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!children[i])
            return NULL;
    char *m = msg ? strdup(msg) : NULL;
    cor_error *e = error_new(code, m);
    if (!e)
        return NULL;
    struct error_obj *o = (struct error_obj *)e;
    if (n) {
        o->kids = calloc(n, sizeof *o->kids);
        if (!o->kids) {
            cor_error_release(e);
            return NULL;
        }
        for (size_t i = 0; i < n; i++)
            o->kids[i] = cor_error_ref(children[i]);
        o->pub.nchildren = n;
        o->pub.children = o->kids;
    }
    return e;
}

const cor_error *cor_error_ref(const cor_error *e)
{
    if (e)
        atomic_fetch_add_explicit(&((struct error_obj *)e)->refs, 1,
                                  memory_order_relaxed);
    return e;
}

void cor_error_release(const cor_error *e)
{
    if (!e)
        return;
    struct error_obj *o = (struct error_obj *)e;
    if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < o->pub.nchildren; i++)
        cor_error_release(o->kids[i]);
    free(o->kids);
    free(o->msg);
    free(o);
}

/*
 * cor_strerror: "ENAME: description" for every errno glibc names, built once
 * (the strings are static, so the table is filled under pthread_once).  The
 * codes coring gives a meaning of its own keep coring's words; every other
 * description is the C library's (strerrordesc_np), as strerror() prints it.
 */
#define STRERR_MAX 256 /* errno values are below this (glibc: up to 133) */

static const struct {
    int code;
    const char *text;
} own_words[] = {
    {ECANCELED, "operation cancelled"},
    {ETIMEDOUT, "deadline passed"},
    {EBUSY, "not finished yet (invalid state)"},
    {EDEADLK, "a task cannot await itself"},
    {ENODATA, "stream ended before the bytes asked for (incomplete read)"},
};

static char strerr_text[STRERR_MAX][96];
static pthread_once_t strerr_once = PTHREAD_ONCE_INIT;

static void strerr_fill(void)
{
    for (int code = 1; code < STRERR_MAX; code++) {
        const char *name = strerrorname_np(code);
        const char *desc = strerrordesc_np(code);
        if (!name || !desc)
            continue;
        for (size_t i = 0; i < sizeof own_words / sizeof own_words[0]; i++)
            if (own_words[i].code == code)
                desc = own_words[i].text;
        snprintf(strerr_text[code], sizeof strerr_text[code], "%s: %s", name,
                 desc);
    }
}

const char *cor_strerror(int code)
{
    if (code == 0)
        return "OK";
    /* -INT_MIN overflows: compare in the negative range. */
    if (code > 0)
        code = -code;
    if (code <= -STRERR_MAX)
        return "unknown error";
    pthread_once(&strerr_once, strerr_fill);
    const char *t = strerr_text[-code];
    return t[0] ? t : "unknown error";
}

static const char *code_name(int code)
{
    const char *n =
        code == INT_MIN ? NULL : strerrorname_np(code < 0 ? -code : code);
    return n ? n : "E?";
}

int cor_error_format(const cor_error *e, char *buf, size_t len)
{
    if (!buf && len)
        return -EINVAL;
    if (!e)
        return snprintf(buf, len, "no error");
    int n = snprintf(buf, len, "%s('%s')", code_name(e->code), e->message);
    for (size_t i = 0; i < e->nchildren && n >= 0 && (size_t)n < len; i++) {
        n += snprintf(buf + n, len - n, "%s", i ? ", " : " [");
        if ((size_t)n < len)
            n += cor_error_format(e->children[i], buf + n, len - n);
        if (i + 1 == e->nchildren && (size_t)n < len)
            n += snprintf(buf + n, len - n, "]");
    }
    return n;
}

/* Handed out when an error object cannot be allocated; never freed. */
static struct error_obj nomem = {
    .pub = {.code = -ENOMEM, .message = "out of memory", .task = ""},
    .refs = 1 << 30,
};

const cor_error *cor__error_nomem(void)
{
    return &nomem.pub;
}

/* ------------------------------------------------------------ logging ---- */

static _Atomic(cor_log_fn *) log_fn;
static _Atomic(void *) log_ud;

void cor_set_log(cor_log_fn *fn, void *ud)
{
    atomic_store(&log_ud, ud);
    atomic_store(&log_fn, fn);
}

void cor_log(const char *fmt, ...)
{
    char buf[1024];
    if (!fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cor_log_fn *fn = atomic_load(&log_fn);
    if (fn)
        fn(atomic_load(&log_ud), buf);
    else
        fprintf(stderr, "coring: %s\n", buf);
}

void cor__panic(const char *fmt, ...)
{
    va_list ap;
    fputs("coring: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
