/* SPDX-License-Identifier: MIT */
/*
 * stream.c - buffered readers and writers (asyncio's StreamReader and
 * StreamWriter) over the io calls.
 *
 * A reader keeps one buffer, filled by a receive stream (sockets) or
 * cor_read at the current position (anything else), and scans it for
 * separators; bytes move out of it only when a call returns them.
 *
 * A writer never suspends to write: the bytes are appended to a queue and
 * the loop sends them with one operation at a time, driven by that
 * operation's completion (not by a task).  The op record lives in the
 * writer, so the writer is freed only after its last completion
 * (invariant 3): cor_writer_free cancels what is in flight and waits.
 * Waiters (drain, wait_closed, free) park on one event that every
 * completion pulses; each re-checks its own condition.
 */
#include "io_internal.h"
#include "coring/stream.h"
#include "coring/sync.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A socket shared by the reader and writer of cor_open_connection. */
struct conn_ref {
    int refs;
    int fd;
};

/* Close a socket of ours even in a cancelled task (the close would
 * otherwise be refused, and the fd leaked). */
static void close_shielded(int fd)
{
    cor_shield_begin();
    cor_close(fd);
    cor_shield_end();
}

static void ref_drop(struct conn_ref *ref)
{
    if (ref && --ref->refs == 0) {
        close_shielded(ref->fd);
        free(ref);
    }
}

static bool is_stream_socket(int fd)
{
    int type;
    socklen_t len = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
           type == SOCK_STREAM;
}

/* ------------------------------------------------------------- readers -- */

/* The first allocation of a reader's buffer; it grows up to the limit. */
#define READER_FIRST_CAP 4096u

struct cor_reader {
    struct cor_loop *loop;
    int fd;
    cor_recv_stream *rs;   /* stream sockets; NULL: cor_read */
    char *buf;             /* bytes [start, end) are unread */
    size_t start, end, cap, limit;
    bool eof;              /* the stream ended after the buffered bytes */
    int err;               /* or failed with this error */
    struct conn_ref *ref;
    struct cor_task *user; /* the task inside a reading call */
    bool freed;            /* cor_reader_free came while it was: the call
                            * frees r as it returns */
};

int cor_reader_open(cor_reader **out, int fd, size_t limit)
{
    struct cor_loop *l = cor__need_task("cor_reader_open")->fut.loop;
    if (!out)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    struct cor_reader *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->loop = l;
    r->fd = fd;
    r->limit = limit ? limit : COR_STREAM_LIMIT;
    if (is_stream_socket(fd)) {
        int rc = cor_recv_stream_open(&r->rs, fd);
        if (rc < 0) {
            free(r);
            return rc;
        }
    }
    *out = r;
    return 0;
}

/* One receive straight into buf; records the end or a stream error. */
static ssize_t raw_read(struct cor_reader *r, void *buf, size_t len)
{
    if (r->freed)
        return -EBADF;
    ssize_t n = r->rs ? cor_recv_stream_read(r->rs, buf, len)
                      : cor_read(r->fd, buf, len, COR_OFF_CUR);
    if (n == 0)
        r->eof = true;
    else if (n < 0 && n != -ECANCELED && n != -ETIMEDOUT)
        r->err = (int)n;
    return n;
}

/* One receive appended to the buffer (compacted, or grown up to the
 * limit and one byte, first: see until()).  -EMSGSIZE when the buffer is
 * full at that size. */
static ssize_t fill(struct cor_reader *r)
{
    size_t most = r->limit < SIZE_MAX ? r->limit + 1 : SIZE_MAX;
    if (r->start == r->end)
        r->start = r->end = 0;
    if (r->end == r->cap && r->start) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= most)
            return -EMSGSIZE;
        size_t cap = r->cap ? r->cap * 2 : READER_FIRST_CAP;
        if (cap > most || cap < r->cap)
            cap = most;
        char *b = realloc(r->buf, cap);
        if (!b)
            return -ENOMEM;
        r->buf = b;
        r->cap = cap;
    }
    ssize_t n = raw_read(r, r->buf + r->end, r->cap - r->end);
    if (n > 0)
        r->end += (size_t)n;
    return n;
}

/* Move up to len buffered bytes to buf. */
static size_t take(struct cor_reader *r, void *buf, size_t len)
{
    size_t n = r->end - r->start;
    if (n > len)
        n = len;
    if (!n)
        return 0;
    memcpy(buf, r->buf + r->start, n);
    r->start += n;
    return n;
}

/* What ends a read that found nothing buffered: 0 at the end, the error. */
static int ended(const struct cor_reader *r)
{
    return r->err ? r->err : 0;
}

static void reader_release(struct cor_reader *r);

/* The start of a reading call: one at a time per reader (-EBUSY while
 * another task's call waits in it). */
static int begin(struct cor_reader *r, const char *call)
{
    struct cor_task *t = cor__io_home_task(r->loop, call);
    if (!t)
        return -EXDEV;
    if (r->freed)
        return -EBADF;
    if (r->user)
        return -EBUSY;
    r->user = t;
    return 0;
}

/* The end of a reading call that returns rc; frees r if cor_reader_free
 * came meanwhile. */
static ssize_t finish(struct cor_reader *r, ssize_t rc)
{
    r->user = NULL;
    if (r->freed)
        reader_release(r);
    return rc;
}

static ssize_t read_in(struct cor_reader *r, void *buf, size_t len)
{
    if (!len)
        return 0;
    if (r->start == r->end) {
        if (r->eof || r->err)
            return ended(r);
        /* A large read skips the buffer. */
        if (len >= READER_FIRST_CAP)
            return raw_read(r, buf, len);
        ssize_t n = fill(r);
        if (n <= 0)
            return n;
    }
    return (ssize_t)take(r, buf, len);
}

ssize_t cor_reader_read(cor_reader *r, void *buf, size_t len)
{
    if (!r || (!buf && len))
        return -EINVAL;
    int rc = begin(r, "cor_reader_read");
    return rc ? rc : finish(r, read_in(r, buf, len));
}

static ssize_t read_all_in(struct cor_reader *r, char **out)
{
    size_t len = r->end - r->start, cap = len > 4096 ? len * 2 : 8192;
    char *o = malloc(cap + 1);
    if (!o)
        return -ENOMEM;
    len = take(r, o, len);
    while (!r->eof && !r->err) {
        if (len == cap) {
            char *g = realloc(o, cap * 2 + 1);
            if (!g) {
                free(o);
                return -ENOMEM;
            }
            o = g;
            cap *= 2;
        }
        ssize_t n = raw_read(r, o + len, cap - len);
        if (n == -ECANCELED || n == -ETIMEDOUT) {
            /* Interrupted: what was read goes back to the reader (its
             * buffer may then hold more than the limit). */
            free(r->buf);
            r->buf = o;
            r->start = 0;
            r->end = len;
            r->cap = cap + 1;
            return n;
        }
        if (n < 0) {
            free(o);
            return n;
        }
        len += (size_t)n;
    }
    if (r->err) {
        free(o);
        return r->err;
    }
    o[len] = '\0';
    *out = o;
    return (ssize_t)len;
}

ssize_t cor_reader_read_all(cor_reader *r, char **out)
{
    if (!r || !out)
        return -EINVAL;
    *out = NULL;
    int rc = begin(r, "cor_reader_read_all");
    return rc ? rc : finish(r, read_all_in(r, out));
}

static int readexactly_in(struct cor_reader *r, void *buf, size_t len,
                          size_t *got)
{
    char *p = buf;
    size_t done = take(r, p, len);
    int rc = 0;
    while (done < len) {
        if (r->eof || r->err) {
            rc = r->err ? r->err : COR_EINCOMPLETE;
            break;
        }
        ssize_t n;
        if (len - done >= READER_FIRST_CAP) {
            n = raw_read(r, p + done, len - done);
            if (n > 0)
                done += (size_t)n;
        } else if ((n = fill(r)) > 0) {
            done += take(r, p + done, len - done);
        }
        if (n < 0) {
            rc = (int)n;
            break;
        }
    }
    if (got)
        *got = done;
    return rc;
}

int cor_reader_readexactly(cor_reader *r, void *buf, size_t len, size_t *got)
{
    if (got)
        *got = 0;
    if (!r || (!buf && len))
        return -EINVAL;
    int rc = begin(r, "cor_reader_readexactly");
    return rc ? rc : (int)finish(r, readexactly_in(r, buf, len, got));
}

/*
 * readuntil and readline, with max = min(cap, limit).  Every answer depends
 * only on the bytes and on how the stream ends, never on how the bytes
 * arrived: each test below stays true once true as more bytes come, and the
 * end is looked at only after them.  A separator ending past max, or max
 * bytes without one, is -EMSGSIZE.  A line may also end with the stream:
 * then it fits while it is at most max bytes, and telling max bytes then
 * the end from max bytes then more takes one byte past max (the buffer has
 * room for it).
 */
static ssize_t until(struct cor_reader *r, const void *sep, size_t seplen,
                     void *buf, size_t cap, bool line)
{
    size_t max = cap < r->limit ? cap : r->limit;
    size_t from = 0; /* where the separator may start, from r->start */
    for (;;) {
        size_t avail = r->end - r->start;
        const char *s = r->buf ? r->buf + r->start : NULL;
        const char *hit = avail > from
                              ? memmem(s + from, avail - from, sep, seplen)
                              : NULL;
        if (hit) {
            size_t n = (size_t)(hit - s) + seplen;
            if (n > max)
                return -EMSGSIZE;
            return (ssize_t)take(r, buf, n);
        }
        if (avail > max || (avail == max && !line))
            return -EMSGSIZE;
        if (r->eof)
            return line ? (ssize_t)take(r, buf, avail) : COR_EINCOMPLETE;
        if (r->err)
            return r->err;
        from = avail >= seplen ? avail - seplen + 1 : 0;
        ssize_t n = fill(r);
        if (n < 0)
            return n;
    }
}

ssize_t cor_reader_readuntil(cor_reader *r, const void *sep, size_t seplen,
                             void *buf, size_t cap)
{
    if (!r || !sep || !seplen || (!buf && cap))
        return -EINVAL;
    int rc = begin(r, "cor_reader_readuntil");
    return rc ? rc : finish(r, until(r, sep, seplen, buf, cap, false));
}

ssize_t cor_reader_readline(cor_reader *r, char *buf, size_t cap)
{
    if (!r || (!buf && cap))
        return -EINVAL;
    int rc = begin(r, "cor_reader_readline");
    return rc ? rc : finish(r, until(r, "\n", 1, buf, cap, true));
}

bool cor_reader_at_eof(const cor_reader *r)
{
    return r && r->eof && r->start == r->end;
}

static void reader_release(struct cor_reader *r)
{
    free(r->buf);
    struct conn_ref *ref = r->ref;
    free(r);
    ref_drop(ref);
}

void cor_reader_free(cor_reader *r)
{
    if (!r || r->freed)
        return;
    if (!cor__io_home_task(r->loop, "cor_reader_free"))
        return;
    r->freed = true;
    /* A call waiting in another task returns what its read brought, else
     * -EBADF, and frees r as it returns. */
    struct cor_task *user = r->user;
    cor_recv_stream *rs = r->rs;
    r->rs = NULL;
    if (user)
        cor__interrupt_wait(user, -EBADF);
    if (rs)
        cor_recv_stream_close(rs);
    if (!user)
        reader_release(r);
}

/* ------------------------------------------------------------- writers -- */

/* asyncio's default write-buffer water marks. */
#define HIGH_WATER ((size_t)64 * 1024)
#define LOW_WATER ((size_t)16 * 1024)
/* An in-flight buffer larger than this is freed once it is sent. */
#define KEEP_CAP ((size_t)256 * 1024)

struct cor_writer {
    struct cor__op op;     /* the send (or shutdown) in flight */
    struct cor_loop *loop;
    int fd;
    bool sock;             /* send and shutdown; else write at the offset */
    char *q;               /* queued by write, not handed to the kernel */
    size_t qlen, qcap;
    char *f;               /* being sent: [foff, flen) */
    size_t foff, flen, fcap;
    bool busy;             /* op in flight */
    bool shutting;         /* ... and it is the shutdown */
    bool paused;           /* above the high-water mark, not yet at low */
    bool closing, closed, aborting;
    bool own_fd;           /* a pipe to close at the close (proc.c) */
    int err;               /* what ended the stream */
    cor_event *ev;         /* pulsed at completions while tasks wait */
    unsigned waiting;      /* tasks waiting on ev */
    struct conn_ref *ref;
    bool freed;            /* cor_writer_free was called ... */
    bool orphan;           /* ... and returned while tasks waited: the
                            * last of them to leave frees w */
};

static void pulse(struct cor_writer *w)
{
    if (!w->waiting)
        return; /* the common case: no task waits for the writer */
    cor_event_set(w->ev);
    cor_event_clear(w->ev);
}

/* Wait for the next completion's pulse. */
static int await_pulse(struct cor_writer *w)
{
    w->waiting++;
    int rc = cor_event_wait(w->ev);
    w->waiting--;
    return rc;
}

size_t cor_writer_buffered(const cor_writer *w)
{
    return w ? w->qlen + (w->flen - w->foff) : 0;
}

/* The writer's op asks for code on its fd (a send: MSG_NOSIGNAL; a write:
 * at the current offset); len is a shutdown's how. */
static void op_set(struct cor_writer *w, unsigned code, void *addr,
                   uint32_t len)
{
    struct cor__op *op = &w->op;
    op->code = (uint8_t)code;
    op->fd = w->fd;
    op->fixed = false;
    op->addr = addr;
    op->len = len;
    op->opflags = MSG_NOSIGNAL;
    op->off = (uint64_t)-1;
    cor__fixed_apply(op);
}

/* Submit the next step: more of the in-flight bytes, the queue, or (once
 * everything is sent and the writer is closing) the shutdown. */
/* Everything was sent, nothing more is queued, the buffer is small enough
 * to keep and no close waits: a kick would have nothing to do. */
static inline bool settled(const struct cor_writer *w)
{
    return w->foff == w->flen && !w->qlen && !w->closing &&
           w->fcap <= KEEP_CAP;
}

static void kick(struct cor_writer *w)
{
    if (w->busy || w->closed || w->aborting || settled(w))
        return;
    if (w->foff == w->flen) {
        if (w->fcap > KEEP_CAP) {
            free(w->f);
            w->f = NULL;
            w->fcap = 0;
        }
        if (!w->qlen) {
            if (!w->closing)
                return;
            if (!w->sock) {
                if (w->own_fd) {
                    close(w->fd); /* a pipe: the reader sees its end */
                    w->own_fd = false;
                }
                w->closed = true;
                pulse(w);
                return;
            }
            op_set(w, COR__OP_SHUTDOWN, NULL, SHUT_WR);
            w->busy = w->shutting = true;
            cor__op_submit(w->loop, &w->op);
            return;
        }
        char *t = w->f;
        size_t tc = w->fcap;
        w->f = w->q;
        w->fcap = w->qcap;
        w->flen = w->qlen;
        w->foff = 0;
        w->q = t;
        w->qcap = tc;
        w->qlen = 0;
    }
    size_t n = w->flen - w->foff;
    if (n > COR__IO_MAX)
        n = COR__IO_MAX;
    op_set(w, w->sock ? COR__OP_SEND : COR__OP_WRITE, w->f + w->foff,
           (uint32_t)n);
    w->busy = true;
    cor__op_submit(w->loop, &w->op);
}

/* The stream cannot go on: queued bytes are dropped, waiters learn why. */
static void fail(struct cor_writer *w, int err)
{
    if (!w->err)
        w->err = err;
    w->qlen = 0;
    w->foff = w->flen = 0;
    w->paused = false;
    w->closing = w->closed = true;
}

/* Runs on the loop for the completion of the writer's operation. */
static void on_cqe(struct cor__op *op, int res, uint32_t flags)
{
    (void)flags;
    struct cor_writer *w = cor__container_of(op, struct cor_writer, op);
    bool shutting = w->shutting;
    w->busy = w->shutting = false;
    if (shutting) {
        /* A peer already gone (-ENOTCONN) is closed too. */
        if (res < 0 && res != -ENOTCONN && !w->err)
            w->err = res;
        w->closed = true;
    } else if (res > 0) {
        w->foff += (size_t)res;
        if (w->paused && cor_writer_buffered(w) <= LOW_WATER)
            w->paused = false;
        if (!settled(w)) /* most often it is: no call */
            kick(w);
    } else if (!w->aborting) {
        fail(w, res ? res : -EIO);
    }
    pulse(w);
}

int cor_writer_open(cor_writer **out, int fd)
{
    struct cor_loop *l = cor__need_task("cor_writer_open")->fut.loop;
    if (!out)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    struct cor_writer *w = cor__zalloc_line(sizeof *w);
    if (!w)
        return -ENOMEM;
    if (cor_event_create(&w->ev) < 0) {
        free(w);
        return -ENOMEM;
    }
    cor__op_init(&w->op);
    w->op.complete = on_cqe;
    w->loop = l;
    w->fd = fd;
    w->sock = is_stream_socket(fd);
    if (!w->sock)
        cor__io_sigpipe_once();
    *out = w;
    return 0;
}

int cor_writer_write(cor_writer *w, const void *buf, size_t len)
{
    if (!w || (!buf && len))
        return -EINVAL;
    if (!cor__io_home_task(w->loop, "cor_writer_write"))
        return -EXDEV;
    if (w->err)
        return w->err;
    if (w->closing)
        return -EPIPE;
    if (!len)
        return 0;
    if (w->qcap - w->qlen < len) {
        size_t cap = w->qcap ? w->qcap : 4096;
        while (cap - w->qlen < len) {
            if (cap > SIZE_MAX / 2)
                return -ENOMEM;
            cap *= 2;
        }
        char *q = realloc(w->q, cap);
        if (!q)
            return -ENOMEM;
        w->q = q;
        w->qcap = cap;
    }
    memcpy(w->q + w->qlen, buf, len);
    w->qlen += len;
    if (cor_writer_buffered(w) > HIGH_WATER)
        w->paused = true;
    kick(w);
    return 0;
}

static void writer_release(struct cor_writer *w);

/* What a drain or wait_closed returns when the writer was freed under it:
 * -EBADF; the last such call to leave frees w. */
static int left_freed(struct cor_writer *w)
{
    if (w->orphan && !w->waiting)
        writer_release(w);
    return -EBADF;
}

int cor_writer_drain(cor_writer *w)
{
    if (!w)
        return -EINVAL;
    if (!cor__io_home_task(w->loop, "cor_writer_drain"))
        return -EXDEV;
    if (w->freed)
        return -EBADF;
    while (w->paused && !w->err) {
        int rc = await_pulse(w);
        if (w->freed)
            return left_freed(w);
        if (rc < 0)
            return rc;
    }
    return w->err;
}

void cor_writer_close(cor_writer *w)
{
    if (!w || w->closing)
        return;
    if (!cor__io_home_task(w->loop, "cor_writer_close"))
        return;
    w->closing = true;
    kick(w);
}

bool cor_writer_is_closing(const cor_writer *w)
{
    return w && w->closing;
}

int cor_writer_wait_closed(cor_writer *w)
{
    if (!w)
        return -EINVAL;
    if (!cor__io_home_task(w->loop, "cor_writer_wait_closed"))
        return -EXDEV;
    if (w->freed)
        return -EBADF;
    while (!w->closed) {
        int rc = await_pulse(w);
        if (w->freed)
            return left_freed(w);
        if (rc < 0)
            return rc;
    }
    return w->err;
}

void cor_writer_free(cor_writer *w)
{
    if (!w || w->freed)
        return;
    if (!cor__io_home_task(w->loop, "cor_writer_free"))
        return;
    w->freed = true;
    if (w->busy) {
        /* Abort: the op points into w, so wait for its last completion. */
        w->aborting = true;
        cor__op_cancel(w->loop, &w->op);
        cor_shield_begin();
        while (w->busy)
            await_pulse(w);
        cor_shield_end();
    }
    if (w->waiting) {
        /* Tasks wait in drain or wait_closed: they return -EBADF, and the
         * last to leave frees w. */
        w->orphan = true;
        pulse(w);
        return;
    }
    writer_release(w);
}

static void writer_release(struct cor_writer *w)
{
    if (w->own_fd)
        close(w->fd);
    cor_event_destroy(w->ev);
    free(w->q);
    free(w->f);
    struct conn_ref *ref = w->ref;
    free(w);
    ref_drop(ref);
}

/* ---------------------------------------------- connections and servers -- */

int cor_open_connection(const char *host, int port, int64_t timeout_ns,
                        cor_reader **r, cor_writer **w)
{
    cor__need_task("cor_open_connection");
    if (!r || !w)
        return -EINVAL;
    *r = NULL;
    *w = NULL;
    int fd = cor_tcp_connect(host, port, timeout_ns);
    if (fd < 0)
        return fd;
    return cor__stream_pair(fd, r, w);
}

int cor__stream_pair(int fd, cor_reader **r, cor_writer **w)
{
    /* asyncio's transports send small writes at once. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn_ref *ref = malloc(sizeof *ref);
    int rc = ref ? cor_reader_open(r, fd, 0) : -ENOMEM;
    if (rc == 0 && (rc = cor_writer_open(w, fd)) < 0) {
        cor_reader_free(*r);
        *r = NULL;
    }
    if (rc < 0) {
        free(ref);
        close_shielded(fd);
        return rc;
    }
    *ref = (struct conn_ref){.refs = 2, .fd = fd};
    (*r)->ref = ref;
    (*w)->ref = ref;
    return 0;
}

void cor__writer_own_fd(cor_writer *w)
{
    w->own_fd = true;
}

void cor__stream_serve(int fd, cor_stream_fn *fn, void *arg)
{
    cor_reader *r;
    cor_writer *w;
    if (cor_reader_open(&r, fd, 0) < 0)
        return;
    if (cor_writer_open(&w, fd) < 0) {
        cor_reader_free(r);
        return;
    }
    fn(r, w, arg);
    /* Deliver what the handler queued (unless the task was cancelled:
     * then wait_closed returns at once and free drops the rest). */
    cor_writer_close(w);
    cor_writer_wait_closed(w);
    cor_writer_free(w);
    cor_reader_free(r);
}
