/* SPDX-License-Identifier: MIT */
/*
 * io_internal.h - what io/ files share.  Operations follow the op protocol
 * of internal.h (cor__op_begin, fill the request, cor__op_wait); invariant
 * 3 holds through cor__op_wait: the wait returns only after the operation's
 * own completion.
 */
#ifndef CORING_IO_INTERNAL_H
#define CORING_IO_INTERNAL_H

#include "internal.h"
#include "coring/io.h"
#include "coring/stream.h"

/* Longest single transfer handed to the kernel (an op's length is 32 bits). */
#define COR__IO_MAX ((size_t)1 << 30)

/* Whether an API timeout asks for one: COR_NO_TIMEOUT_NS does not; any
 * other negative value is a time already past (cor__op_wait takes it as 0). */
static inline bool cor__io_timed(int64_t timeout_ns)
{
    return timeout_ns != COR_NO_TIMEOUT_NS;
}

/*
 * Server connections' fds, per loop (fixed.c).  cor__conn_own records that
 * owner (a connection of a server) owns fd on the calling task's loop and
 * puts the socket in the loop's registered-file table when there is a free
 * slot (it suspends for that; 0, or -ENOMEM when not even the ownership
 * could be recorded).  cor__conn_disown, when the connection ends, takes the
 * fd out and returns true if the caller still owns it and must close it
 * (false: cor_close closed it, and the number may be someone else's now).
 * cor__fixed_forget is cor_close's part: an owned fd leaves the table and
 * its owner.  cor__fixed_apply turns an op's plain fd into its registered
 * slot when this loop has one.
 */
struct cor__fd_entry {
    int slot1;         /* registered slot + 1, or 0 */
    const void *owner; /* the connection that owns the fd, or NULL */
};
struct cor__fixed {
    struct cor__loop_slot slot; /* first: the loop frees us */
    struct cor__fd_entry *fds;  /* by fd */
    unsigned nfds;              /* entries in fds */
    unsigned *free;             /* free slots, a stack */
    unsigned nfree;             /* 0 also when the kernel refused a table */
};
int cor__conn_own(int fd, const void *owner);
bool cor__conn_disown(int fd, const void *owner);
void cor__fixed_forget(int fd);
static inline void cor__fixed_apply(struct cor__op *op)
{
    const struct cor__fixed *f = cor__tls_loop->user[COR__SLOT_FIXED];
    unsigned fd = (unsigned)op->fd;
    if (f && fd < f->nfds && f->fds[fd].slot1) {
        op->fd = f->fds[fd].slot1 - 1;
        op->fixed = true;
    }
}

/* cor_server_start on several numeric hosts (one listener per host and
 * loop, one port); one of handler and sfn is set (server.c). */
int cor__server_start_hosts(cor_server **out, const char *const *hosts,
                            int nhosts, int port, cor_conn_fn *handler,
                            cor_stream_fn *sfn, void *arg,
                            const cor_server_opts *opts);
/* A stream server's connection: reader and writer around fn (stream.c). */
void cor__stream_serve(int fd, cor_stream_fn *fn, void *arg);
/* A reader and a writer that own the connected TCP socket fd (closed once
 * both are freed, or here on failure), as cor_open_connection makes. */
int cor__stream_pair(int fd, cor_reader **r, cor_writer **w);
/* The writer closes its (non-socket) fd when it is closed or freed. */
void cor__writer_own_fd(cor_writer *w);

/*
 * The calling task when it runs on home, the loop an io object (a stream,
 * a process) belongs to; NULL from any other thread (cor__check_home: the
 * call then returns -EXDEV, or does nothing, and changes nothing).  Off a
 * task on home it stops the program with a message naming call.
 */
static inline struct cor_task *cor__io_home_task(const struct cor_loop *home,
                                                 const char *call)
{
    if (cor__check_home(home))
        return NULL;
    return cor__need_task(call);
}

/* Ignore SIGPIPE once per process if it is at its default disposition. */
void cor__io_sigpipe_once(void);

/* Geometry of the provided-buffer rings that loops create from now on
 * (recv_stream.c; defaults 1024 buffers of 4 KiB).  For tests. */
void cor__recv_stream_geometry(unsigned entries, unsigned bufsize);
/* How many reads of s fell back to a plain recv (the ring was dry). */
uint64_t cor__recv_stream_fallbacks(const cor_recv_stream *s);
/* How many received chunks went through s's queue (the others were copied
 * at their completion straight into a waiting reader's buffer). */
uint64_t cor__recv_stream_queued(const cor_recv_stream *s);
/* How many times s changed between multishot and plain recvs; *plain (if
 * not NULL): whether its reads are plain recvs now. */
uint64_t cor__recv_stream_switches(const cor_recv_stream *s, bool *plain);
/* Tests: turn s to plain recvs now, as the early reads would. */
void cor__recv_stream_go_plain(cor_recv_stream *s);
/* Tests: the next this many received chunks find no memory to queue. */
extern _Atomic int cor__recv_stream_fail_queue;

#endif
