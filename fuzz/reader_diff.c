/* SPDX-License-Identifier: MIT */
/*
 * reader_diff.c - a cor_reader against a model of the stream it reads.
 *
 * The script's first bytes choose the stream: a pipe (the reader uses
 * cor_read) or a socket pair (a receive stream), its limit, its content and
 * how it is cut, and whether it ends with EOF or a reset.  A writer task
 * sends one chunk at a time and waits until the reader has taken it out of
 * the pipe or socket, so each receive sees at most one chunk.  The rest of
 * the script is a list of reader calls.  The model knows only the bytes and
 * the end: every answer but read's count (any 1..len bytes that come next)
 * must be exactly its.
 */
#include "reader_diff.h"
#include "coring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The script, read a byte at a time; 0 once it is used up. */
struct src {
    const uint8_t *p;
    size_t n;
};

static unsigned byte(struct src *s)
{
    if (!s->n)
        return 0;
    s->n--;
    return *s->p++;
}

static unsigned word(struct src *s)
{
    unsigned lo = byte(s);
    return lo | byte(s) << 8;
}

/* xorshift32: content and chunk sizes, from a seed in the script. */
static uint32_t next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

struct stream {
    char *data;
    size_t len;
    size_t *chunks;
    size_t nchunks;
    int end; /* 0: EOF, else -ECONNRESET */
    int rd, wr;
};

/* The model: what is left of the stream, and whether an answer so far
 * needed its end (then at_eof must say so once every byte is read). */
struct model {
    const struct stream *st;
    size_t limit, pos;
    bool seen_end;
};

static size_t rest(const struct model *m)
{
    return m->st->len - m->pos;
}

static bool same(const struct model *m, const void *buf, size_t n)
{
    return n <= rest(m) && (!n || !memcmp(buf, m->st->data + m->pos, n));
}

/* Where the first sep in the rest ends (0: none). */
static size_t sep_end(const struct model *m, const char *sep, size_t seplen)
{
    const char *s = m->st->data + m->pos;
    const char *hit = rest(m) ? memmem(s, rest(m), sep, seplen) : NULL;
    return hit ? (size_t)(hit - s) + seplen : 0;
}

/* The stream's end as the model answers it, consuming what is left. */
static ssize_t model_end(struct model *m, ssize_t at_eof)
{
    m->seen_end = true;
    return m->st->end ? m->st->end : at_eof;
}

static ssize_t model_until(struct model *m, const char *sep, size_t seplen,
                           size_t cap, bool line)
{
    size_t max = cap < m->limit ? cap : m->limit;
    size_t n = sep_end(m, sep, seplen);
    if (n && n <= max)
        return (ssize_t)n;
    if (rest(m) > max || (rest(m) == max && !line))
        return -EMSGSIZE;
    if (line && !m->st->end) {
        m->seen_end = true;
        return (ssize_t)rest(m);
    }
    return model_end(m, COR_EINCOMPLETE);
}

/* Sends the chunks, one in flight at a time, then ends the stream. */
static void *writer(void *arg)
{
    struct stream *st = arg;
    size_t off = 0;
    for (size_t i = 0; i < st->nchunks; i++) {
        int queued;
        while (ioctl(st->rd, FIONREAD, &queued) == 0 && queued > 0)
            if (cor_yield() < 0)
                return NULL;
        size_t done = 0;
        while (done < st->chunks[i]) {
            ssize_t n = write(st->wr, st->data + off + done,
                              st->chunks[i] - done);
            if (n < 0)
                return NULL;
            done += (size_t)n;
        }
        off += done;
    }
    /* A socket closed with unread bytes in its own receive queue resets
     * its peer: the reader gets every byte sent, then -ECONNRESET. */
    close(st->wr);
    st->wr = -1;
    return NULL;
}

static int make_stream(struct stream *st, struct src *s, size_t *limit)
{
    unsigned mode = byte(s);
    bool sock = mode & 1, big = (mode & 0x1c) == 0x1c; /* 1 in 8 */
    st->end = sock && (mode & 2) ? -ECONNRESET : 0;
    *limit = big ? 4000 + word(s) % 5000 : 1 + byte(s) % 40;
    st->len = big ? word(s) % 20000 : word(s) % 1000;
    unsigned nl_every = 1 + byte(s) % 32 * (big ? 256 : 1);
    size_t most = 1 + (big ? word(s) % 9000 : byte(s) % 40);
    uint32_t x = word(s) * 2654435761u | 1;
    st->data = malloc(st->len + 1);
    st->chunks = malloc((st->len + 1) * sizeof *st->chunks);
    if (!st->data || !st->chunks)
        return -ENOMEM;
    for (size_t i = 0; i < st->len; i++)
        st->data[i] = next(&x) % nl_every == 0 ? '\n' : "ab|"[next(&x) % 3];
    for (size_t left = st->len; left;) {
        size_t c = 1 + next(&x) % most;
        if (c > left)
            c = left;
        st->chunks[st->nchunks++] = c;
        left -= c;
    }
    int fds[2];
    if (sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
             : pipe2(fds, O_CLOEXEC))
        return -errno;
    st->rd = fds[0];
    st->wr = fds[1];
    if (st->end && write(st->rd, "x", 1) != 1)
        return -errno;
    return 0;
}

struct run {
    struct model m;
    cor_reader *r;
    char *buf;
    size_t bufsize;
    char *why;
    size_t whylen;
    int op;
};

/* A differing answer: 1 (set-up failures are -errno). */
static int fail(struct run *u, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(u->why, u->whylen,
             "op %d: %s (at %zu of %zu, limit %zu, %s)", u->op, what,
             u->m.pos, u->m.st->len, u->m.limit,
             u->m.st->end ? "then a reset" : "then EOF");
    return 1;
}

/* A length or cap: around the limit mostly, sometimes far past it. */
static size_t draw_len(struct src *s, size_t limit)
{
    unsigned b = byte(s);
    if (b >= 0xf8)
        return b == 0xff ? SIZE_MAX : limit * 4 + (b & 7);
    return limit > 250 ? word(s) % (2 * limit + 8) : b % (limit + 8);
}

static int op_read(struct run *u, struct src *s)
{
    size_t len = draw_len(s, u->m.limit);
    if (len > u->bufsize)
        len = u->bufsize;
    ssize_t n = cor_reader_read(u->r, u->buf, len);
    if (!len || !rest(&u->m)) {
        ssize_t want = len ? model_end(&u->m, 0) : 0;
        return n == want ? 0 : fail(u, "read(%zu) = %zd, want %zd", len, n,
                                    want);
    }
    if (n < 1 || (size_t)n > len || !same(&u->m, u->buf, (size_t)n))
        return fail(u, "read(%zu) = %zd, want 1..%zu next bytes", len, n,
                    len < rest(&u->m) ? len : rest(&u->m));
    u->m.pos += (size_t)n;
    return 0;
}

static int op_readexactly(struct run *u, struct src *s)
{
    size_t len = draw_len(s, u->m.limit);
    if (len > u->bufsize)
        len = u->bufsize;
    size_t got = 1234;
    int rc = cor_reader_readexactly(u->r, u->buf, len, &got);
    size_t want_got = len <= rest(&u->m) ? len : rest(&u->m);
    int want = len <= rest(&u->m) ? 0 : (int)model_end(&u->m, COR_EINCOMPLETE);
    if (rc != want || got != want_got || !same(&u->m, u->buf, got))
        return fail(u, "readexactly(%zu) = %d got %zu, want %d got %zu", len,
                    rc, got, want, want_got);
    u->m.pos += got;
    return 0;
}

static int op_until(struct run *u, struct src *s, bool line)
{
    char sep[3];
    size_t seplen = 1 + byte(s) % 8 / 6; /* mostly one byte */
    for (size_t i = 0; i < seplen; i++)
        sep[i] = "ab|\n"[byte(s) % 4];
    size_t cap = draw_len(s, u->m.limit);
    ssize_t n = line ? cor_reader_readline(u->r, u->buf, cap)
                     : cor_reader_readuntil(u->r, sep, seplen, u->buf, cap);
    ssize_t want = line ? model_until(&u->m, "\n", 1, cap, true)
                        : model_until(&u->m, sep, seplen, cap, false);
    if (n != want || (n > 0 && !same(&u->m, u->buf, (size_t)n)))
        return fail(u, "%s(cap %zu) = %zd, want %zd",
                    line ? "readline" : "readuntil", cap, n, want);
    if (n > 0)
        u->m.pos += (size_t)n;
    return 0;
}

static int op_read_all(struct run *u)
{
    char *all = NULL;
    ssize_t n = cor_reader_read_all(u->r, &all);
    ssize_t want = u->m.st->end ? u->m.st->end : (ssize_t)rest(&u->m);
    bool ok = n == want && (n < 0 ? !all : all && !all[n] &&
                                           same(&u->m, all, (size_t)n));
    free(all);
    if (!ok)
        return fail(u, "read_all = %zd, want %zd", n, want);
    u->m.pos = u->m.st->len;
    u->m.seen_end = true;
    return 0;
}

static int op_at_eof(struct run *u)
{
    bool eof = cor_reader_at_eof(u->r);
    bool ended = !rest(&u->m) && !u->m.st->end;
    /* at_eof never suspends: it knows the end only once a call met it. */
    if (eof ? !ended : ended && u->m.seen_end)
        return fail(u, "at_eof = %d", eof);
    return 0;
}

static int run_ops(struct run *u, struct src *s)
{
    /* A few calls past the end, no more: they all answer the same. */
    int after_end = 0;
    for (u->op = 0; s->n && u->op < 256 && after_end < 4; u->op++) {
        int rc;
        unsigned k = byte(s) % 16;
        if (k < 3)
            rc = op_read(u, s);
        else if (k < 6)
            rc = op_readexactly(u, s);
        else if (k < 10)
            rc = op_until(u, s, false);
        else if (k < 14)
            rc = op_until(u, s, true);
        else if (k < 15)
            rc = op_read_all(u);
        else
            rc = op_at_eof(u);
        after_end += u->m.seen_end && !rest(&u->m);
        if (rc || (rc = op_at_eof(u)))
            return rc;
    }
    return 0;
}

int rd_run(const uint8_t *data, size_t size, char *why, size_t whylen)
{
    struct src s = {data, size};
    struct stream st = {.rd = -1, .wr = -1};
    struct run u = {.why = why, .whylen = whylen};
    cor_task *w = NULL;
    int rc = make_stream(&st, &s, &u.m.limit);
    u.m.st = &st;
    u.bufsize = u.m.limit * 4 + 16;
    if (!rc && !(u.buf = malloc(u.bufsize)))
        rc = -ENOMEM;
    if (!rc)
        rc = cor_reader_open(&u.r, st.rd, u.m.limit);
    if (!rc && !(w = cor_spawn(writer, &st)))
        rc = -ENOMEM;
    if (!rc)
        rc = run_ops(&u, &s);
    if (w) {
        cor_task_cancel(w);
        cor_await(w, NULL);
        cor_task_release(w);
    }
    cor_reader_free(u.r);
    if (st.rd >= 0)
        close(st.rd);
    if (st.wr >= 0)
        close(st.wr);
    free(u.buf);
    free(st.data);
    free(st.chunks);
    return rc;
}
