/* SPDX-License-Identifier: MIT */
/*
 * recv_stream.c - multishot recv into a per-loop provided-buffer ring.  One
 * multishot recv stays armed per stream; its completions queue buffer ids on
 * the (heap) stream, so nothing the kernel delivers is lost whatever happens
 * to the reader; a buffer goes back to the ring once its bytes are copied
 * out.  A completion that finds the reader parked with nothing queued and
 * room for the chunk copies it into the reader's buffer at once (the reader
 * is parked until it runs, so the buffer is there), which spares the queue
 * and a second look at the stream.  When the ring runs dry (-ENOBUFS ends
 * the multishot) the next read is a single-shot recv into the caller's
 * buffer, then the multishot is re-armed.
 *
 * Plain or multishot, per stream (docs/api-io.md, "Plain recv or
 * multishot"): a multishot recv pays, per arrival, for a wakeup, a run of
 * task work, a provided buffer and a copy out of it; a plain recv submitted
 * when its data is already there completes inline at the submit with none
 * of these, but arms a poll when it is not.  A stream starts multishot and
 * watches every read that had to wait: when EARLY_SWITCH of them in a row
 * found their data already delivered by the loop's next enter, which found
 * that work waiting when it began (a recv submitted there would have
 * completed inline), it cancels the multishot, waits for its last
 * completion (bytes never pass each other) and reads with plain recvs,
 * MSG_DONTWAIT: the first that finds nothing arms the multishot again.
 *
 * Unix-domain sockets take plain recvs: on the kernels we run, a multishot
 * recv on an AF_UNIX stream socket that has more than 32 buffers' worth
 * pending (the kernel's cap on retries in one go) waits for a new wakeup
 * instead of reading on, so the rest of the data, and an end of stream
 * that already happened, are never delivered (reported upstream as
 * "Recv Multishot misses EOF with AF_UNIX", liburing issue 1549).
 */
#include "io_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Early reads in a row that turn a multishot stream to plain recvs. */
#define EARLY_SWITCH 8

/* Ring geometry, read when a loop creates its ring (tests shrink it). */
static _Atomic unsigned ring_entries = 1024, ring_bufsize = 4096;

void cor__recv_stream_geometry(unsigned entries, unsigned bufsize)
{
    ring_entries = entries;
    ring_bufsize = bufsize;
}

struct chunk {
    uint16_t bid;
    uint32_t off, len;
};

struct cor_recv_stream {
    struct cor__op op;       /* the multishot recv; complete = on_cqe */
    struct cor__wait wait;   /* what a reader (or close) parks on */
    struct cor_loop *loop;
    struct cor__bufs *ring;  /* the loop's provided buffers; NULL: none */
    struct cor_task *waiter; /* parked reader or closer */
    char *rbuf;              /* a parked reader's room, while nothing is
                              * queued: completions copy straight there */
    size_t rlen;
    size_t got;              /* bytes copied there */
    int fd;
    bool armed;              /* the multishot may still post completions */
    bool dry;                /* it ended for -ENOBUFS: next read single-shot */
    int end;                 /* 1: end of stream or error, end_res */
    int end_res;
    struct chunk *q;         /* received buffers, FIFO */
    unsigned qhead, qn, qcap; /* qcap: 0 or a power of two */
    bool plain;              /* reads are plain recvs (once not armed) */
    unsigned early;          /* multishot reads in a row whose data was
                              * there before the loop's next enter */
    uint64_t park_iter;      /* loop iteration the reader parked in */
    uint64_t fallbacks, switches;
    uint64_t queued;         /* chunks that went through the queue */
    struct cor_task *reader; /* the task inside cor_recv_stream_read */
    bool closed;             /* cor_recv_stream_close was called */
    bool free_on_exit;       /* close returned with a reader inside: the
                              * reader frees s as it leaves */
};

static void set_plain(struct cor_recv_stream *s, bool plain)
{
    s->plain = plain;
    s->early = 0;
    s->switches++;
}

static void ring_put(struct cor_recv_stream *s, uint16_t bid)
{
    s->loop->be->bufs_put(s->loop, s->ring, bid);
}

static void wake_waiter(struct cor_recv_stream *s)
{
    struct cor_task *t = s->waiter;
    if (t) {
        s->waiter = NULL;
        cor__wake(t, 0);
    }
}

_Atomic int cor__recv_stream_fail_queue;

static bool q_push(struct cor_recv_stream *s, uint16_t bid, uint32_t len)
{
    int fail = atomic_load(&cor__recv_stream_fail_queue);
    if (fail > 0 && atomic_compare_exchange_strong(
                        &cor__recv_stream_fail_queue, &fail, fail - 1))
        return false;
    if (s->qn == s->qcap) {
        unsigned cap = s->qcap ? s->qcap * 2 : 8;
        struct chunk *q = malloc(cap * sizeof *q);
        if (!q)
            return false;
        for (unsigned i = 0; i < s->qn; i++)
            q[i] = s->q[(s->qhead + i) & (s->qcap - 1)];
        free(s->q);
        s->q = q;
        s->qhead = 0;
        s->qcap = cap;
    }
    s->q[(s->qhead + s->qn++) & (s->qcap - 1)] = (struct chunk){bid, 0, len};
    s->queued++;
    return true;
}

static void disarm(struct cor_recv_stream *s);

/* Runs on the loop for every completion of the multishot recv. */
static void on_cqe(struct cor__op *op, int res, uint32_t flags)
{
    struct cor_recv_stream *s = cor__container_of(op, struct cor_recv_stream,
                                                  op);
    bool more = flags & COR__F_MORE;
    if (flags & COR__F_BUFFER) {
        uint16_t bid = (uint16_t)(flags >> COR__F_BUF_SHIFT);
        bool direct = false;
        if (s->rbuf && res > 0 && !s->end) {
            /* The reader waits with nothing queued: a chunk that fits
             * goes straight into its buffer (no queue, no second look at
             * the stream when it runs), the buffer back to the ring.  One
             * that does not fit is queued, and so is everything after it
             * (bytes keep their order). */
            if ((size_t)res <= s->rlen) {
                memcpy(s->rbuf, s->ring->base + (size_t)bid * s->ring->size,
                       (size_t)res);
                ring_put(s, bid);
                s->rbuf += res;
                s->rlen -= (size_t)res;
                s->got += (size_t)res;
                direct = true;
            } else {
                s->rbuf = NULL;
            }
        }
        /* Nothing is queued after an end: bytes behind a lost chunk
         * would come out of order. */
        if (direct ||
            (res > 0 && !s->end && q_push(s, bid, (uint32_t)res))) {
            /* The reader parked in this iteration and the enter found the
             * data waiting: a plain recv would have had it inline. */
            if (!s->waiter || s->plain) {
                /* nobody waited, or the stream is leaving multishot */
            } else if (s->loop->stats.iterations == s->park_iter &&
                       s->loop->enter_hot) {
                if (++s->early == EARLY_SWITCH)
                    set_plain(s, true);
            } else {
                s->early = 0;
            }
        } else {
            ring_put(s, bid);
            if (res > 0 && !s->end) {
                /* No memory to queue it: the stream cannot go on whole. */
                s->end = 1;
                s->end_res = -ENOMEM;
                if (more && !s->op.cancelling)
                    disarm(s);
            }
        }
    }
    if (!more) {
        s->armed = false;
        if (res == -ENOBUFS)
            s->dry = true;
        else if (res <= 0 && !s->end &&
                 !(s->op.cancelling && res == -ECANCELED)) {
            /* An end that came before our cancel (a reset, the end of
             * stream) is the stream's: the recv that saw it took it from
             * the socket, and a plain recv after would not see it again. */
            s->end = 1;
            s->end_res = res;
        }
    }
    wake_waiter(s);
}

static void stream_wait_cancel(struct cor__wait *w, int reason)
{
    (void)reason;
    struct cor_recv_stream *s = cor__container_of(w, struct cor_recv_stream,
                                                  wait);
    /* The reader stops waiting; the multishot stays armed and what it
     * delivers stays queued for the next read. */
    struct cor_task *t = s->waiter;
    s->waiter = NULL;
    s->rbuf = NULL; /* (nothing was copied: a copy wakes the reader) */
    cor__wake(t, reason);
}

/* Ask the kernel to end the multishot; its last completion clears armed. */
static void disarm(struct cor_recv_stream *s)
{
    cor__op_cancel(s->loop, &s->op);
    s->op.cancelling = true;
}

static void arm(struct cor_recv_stream *s)
{
    s->op.code = COR__OP_RECV_MULTI;
    s->op.fd = s->fd;
    s->op.fixed = false;
    cor__fixed_apply(&s->op);
    s->armed = true;
    s->op.cancelling = false;
    cor__op_submit(s->loop, &s->op);
}

int cor_recv_stream_open(cor_recv_stream **out, int fd)
{
    struct cor_loop *l = cor__need_task("cor_recv_stream_open")->fut.loop;
    if (!out)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    struct cor_recv_stream *s = cor__zalloc_line(sizeof *s);
    if (!s)
        return -ENOMEM;
    cor__op_init(&s->op);
    s->op.complete = on_cqe;
    s->wait.cancel = stream_wait_cancel;
    s->loop = l;
    s->fd = fd;
    int domain = 0;
    socklen_t dlen = sizeof domain;
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen);
    /* NULL: every read is a plain recv */
    s->ring = domain == AF_UNIX || !l->be->bufs_get
                  ? NULL
                  : l->be->bufs_get(l, ring_entries, ring_bufsize);
    *out = s;
    return 0;
}

/* Copy queued bytes out, giving emptied buffers back to the ring. */
static size_t drain(struct cor_recv_stream *s, char *buf, size_t len)
{
    size_t done = 0;
    while (s->qn && done < len) {
        struct chunk *c = &s->q[s->qhead];
        size_t n = c->len - c->off;
        if (n > len - done)
            n = len - done;
        memcpy(buf + done, s->ring->base + (size_t)c->bid * s->ring->size +
                               c->off, n);
        done += n;
        c->off += (uint32_t)n;
        if (c->off == c->len) {
            ring_put(s, c->bid);
            s->qhead = (s->qhead + 1) & (s->qcap - 1);
            s->qn--;
        }
    }
    return done;
}

static void stream_free(struct cor_recv_stream *s)
{
    while (s->qn) {
        ring_put(s, s->q[s->qhead].bid);
        s->qhead = (s->qhead + 1) & (s->qcap - 1);
        s->qn--;
    }
    free(s->q);
    free(s);
}

static ssize_t read_in(struct cor_recv_stream *s, struct cor_task *t,
                       void *buf, size_t len)
{
    if (!s->ring)
        return cor_recv(s->fd, buf, len, 0);
    for (;;) {
        if (s->closed) /* while this read waited */
            return -EBADF;
        if (s->qn || !len)
            return (ssize_t)drain(s, buf, len);
        if (s->end)
            return s->end_res;
        if (s->dry) {
            /* Every ring buffer is queued somewhere: read into the
             * caller's buffer this once, re-arm on the next read. */
            s->dry = false;
            s->fallbacks++;
            return cor_recv(s->fd, buf, len, 0);
        }
        if (s->plain) {
            if (!s->armed) {
                /* Only what is there now: no poll is armed for it. */
                ssize_t n = cor_recv(s->fd, buf, len, MSG_DONTWAIT);
                if (n != -EAGAIN)
                    return n;
                set_plain(s, false);
                continue;
            }
            /* Switching: the multishot ends first (what it still
             * delivers is read before any plain recv). */
            if (!s->op.cancelling)
                disarm(s);
        } else if (!s->armed) {
            int rc = cor__pending_interrupt(t);
            if (rc)
                return rc;
            arm(s);
        }
        s->waiter = t;
        s->rbuf = buf;
        s->rlen = len;
        s->park_iter = s->loop->stats.iterations;
        int rc = cor__park(&s->wait);
        size_t got = s->got;
        s->rbuf = NULL;
        s->got = 0;
        if (got) /* woken by the first: no cancel came after it */
            return (ssize_t)got;
        if (rc < 0) {
            if (s->waiter == t) /* (after a close, the closer waits) */
                s->waiter = NULL;
            return rc;
        }
    }
}

ssize_t cor_recv_stream_read(cor_recv_stream *s, void *buf, size_t len)
{
    if (!s || (!buf && len))
        return -EINVAL;
    struct cor_task *t = cor__io_home_task(s->loop, "cor_recv_stream_read");
    if (!t)
        return -EXDEV;
    if (s->closed)
        return -EBADF;
    if (s->reader)
        return -EBUSY; /* one reader at a time */
    s->reader = t;
    ssize_t n = read_in(s, t, buf, len);
    s->reader = NULL;
    if (s->free_on_exit)
        stream_free(s);
    return n;
}

uint64_t cor__recv_stream_fallbacks(const cor_recv_stream *s)
{
    return s->fallbacks;
}

uint64_t cor__recv_stream_queued(const cor_recv_stream *s)
{
    return s->queued;
}

uint64_t cor__recv_stream_switches(const cor_recv_stream *s, bool *plain)
{
    if (plain)
        *plain = s->plain;
    return s->switches;
}

void cor__recv_stream_go_plain(cor_recv_stream *s)
{
    if (!s->plain)
        set_plain(s, true);
}

static void close_cancel(struct cor__wait *w, int reason)
{
    (void)w;
    (void)reason; /* shielded: never called */
}

int cor_recv_stream_close(cor_recv_stream *s)
{
    if (!s)
        return -EINVAL;
    struct cor_task *t = cor__io_home_task(s->loop, "cor_recv_stream_close");
    if (!t)
        return -EXDEV;
    if (s->closed)
        return -EBADF;
    s->closed = true;
    /* A read waiting in another task (on the multishot, or in a plain
     * recv) is interrupted: it returns what it already received, else
     * -EBADF; if it is still inside when this close is done, it frees s
     * as it leaves. */
    if (s->reader)
        cor__interrupt_wait(s->reader, -EBADF);
    if (s->armed) {
        /* The multishot points at s: cancel it and wait for its final
         * completion before s goes (invariant 3). */
        if (!s->op.cancelling)
            disarm(s);
        s->wait.cancel = close_cancel;
        cor_shield_begin();
        while (s->armed) {
            s->waiter = t;
            cor__park(&s->wait);
        }
        cor_shield_end();
    }
    if (s->reader)
        s->free_on_exit = true; /* interrupted, not yet out */
    else
        stream_free(s);
    return 0;
}
