/* SPDX-License-Identifier: MIT */
/*
 * coring/stream.h - buffered byte streams, asyncio's StreamReader and
 * StreamWriter: a reader that reads lines, exact counts and up to a
 * separator from a socket or pipe, a writer whose write never suspends
 * (the bytes are buffered and sent in the background by the loop) and
 * whose drain waits while too much is buffered.
 *
 * Both belong to the loop of the task that opened them and are used from
 * tasks of that loop: from any other thread a call returns -EXDEV (the
 * void ones, close and free, do nothing) and changes nothing.  Neither closes its fd, except the pair made by
 * cor_open_connection, which owns its socket (closed when both are freed),
 * and a child process's stdin writer (coring/proc.h), which closes its
 * pipe.
 * A stream server (cor_stream_server_start) hands each connection a pair.
 *
 * Errors are the io calls' (-ECONNRESET, -EPIPE ...), plus:
 *  - COR_EINCOMPLETE: the stream ended before what was asked for arrived
 *    (asyncio's IncompleteReadError);
 *  - -EMSGSIZE: a separator was not found within the limit (asyncio's
 *    LimitOverrunError); nothing was consumed;
 *  - -ECANCELED / -ETIMEDOUT: the task was cancelled or its deadline
 *    passed; what was received stays in the reader (readexactly reports
 *    the bytes it already placed in the caller's buffer), a drain leaves
 *    the bytes queued (they are still sent).
 * Bad input: NULL streams or buffers give -EINVAL, negative fds -EBADF.
 * One reading call at a time per reader: a reader call while another
 * task's waits returns -EBUSY and changes nothing.  Freeing a reader or
 * writer while another task waits in it (a read, a drain, a wait_closed)
 * ends that wait: the call returns -EBADF (a read: what its receive
 * brought, if anything), and the object goes as the last such call
 * returns.
 */
#ifndef CORING_STREAM_H
#define CORING_STREAM_H

#include "common.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The stream ended before the bytes asked for (asyncio's
 * IncompleteReadError). */
#define COR_EINCOMPLETE (-ENODATA)

/* A reader's default buffer limit (asyncio's 64 KiB). */
#define COR_STREAM_LIMIT ((size_t)64 * 1024)

typedef struct cor_reader cor_reader;
typedef struct cor_writer cor_writer;

/* ------------------------------------------------------------- readers -- */

/*
 * cor_reader_open - a buffered reader on fd: a stream socket (read through
 * a receive stream, see coring/io.h) or anything cor_read reads at the
 * current position (a pipe, a file).  limit bounds what readuntil and
 * readline buffer while looking for their separator (0: COR_STREAM_LIMIT;
 * the buffer holds at most limit + 1 bytes, the one more to see whether a
 * line of exactly limit bytes is the last).
 * Returns 0 and *out, -EINVAL, -EBADF, -ENOMEM.  Never suspends.
 * Lifetime: free it with cor_reader_free before fd is closed.
 */
COR_API int cor_reader_open(cor_reader **out, int fd, size_t limit);

/*
 * cor_reader_read - up to len bytes: what is buffered, else what the next
 * receive brings.  Returns the count (at least 1 for len > 0), 0 at end of
 * stream, or -errno once the bytes before the error are read.  Suspends
 * only when nothing is buffered.
 */
COR_API ssize_t cor_reader_read(cor_reader *r, void *buf, size_t len);

/*
 * cor_reader_read_all - asyncio's read(-1): everything up to the end of
 * the stream, in a malloc'd buffer (*out, NUL-terminated, the caller frees
 * it).  Returns its length, or -errno with *out NULL: -ECANCELED /
 * -ETIMEDOUT leave the bytes read so far in the reader; -ENOMEM or the
 * stream's error drop them.  Suspends.
 */
COR_API ssize_t cor_reader_read_all(cor_reader *r, char **out);

/*
 * cor_reader_readexactly - exactly len bytes into buf.  Returns 0, or
 * COR_EINCOMPLETE when the stream ended first, or -errno; on every return
 * *got (if not NULL) holds the bytes placed in buf, which are consumed
 * (asyncio's IncompleteReadError.partial).  Suspends.
 */
COR_API int cor_reader_readexactly(cor_reader *r, void *buf, size_t len,
                                   size_t *got);

/*
 * cor_reader_readuntil - the bytes up to and including the first sep
 * (seplen >= 1) into buf.  Returns their count; COR_EINCOMPLETE when the
 * stream ends before a separator (the bytes stay in the reader:
 * cor_reader_read returns them); -EMSGSIZE when no separator is within
 * the reader's limit or cap bytes, whichever is smaller (nothing consumed:
 * asyncio's LimitOverrunError); -errno.  Suspends.
 */
COR_API ssize_t cor_reader_readuntil(cor_reader *r, const void *sep,
                                     size_t seplen, void *buf, size_t cap);

/*
 * cor_reader_readline - readuntil "\n", except at the end of the stream:
 * a last line without "\n" is returned as it is, and 0 once nothing is
 * left (asyncio's b'').  -EMSGSIZE for a line longer than cap or the limit
 * (nothing consumed; asyncio drops it); a last line without "\n" may be
 * exactly min(cap, limit) bytes, and cap 0 at the end gives 0.  Every
 * reader call but read's count gives the same answer however the bytes
 * arrived.  Suspends.
 */
COR_API ssize_t cor_reader_readline(cor_reader *r, char *buf, size_t cap);

/* cor_reader_at_eof - the stream ended and every byte was read. */
COR_API bool cor_reader_at_eof(const cor_reader *r);

/*
 * cor_reader_free - stop reading and free r; buffered bytes are dropped.
 * Does not close fd (but see cor_open_connection).  A call waiting in
 * another task returns -EBADF (or what its receive brought) and r goes as
 * it returns.  Suspends (shielded, briefly: an armed receive is cancelled
 * and waited for).  NULL is a no-op.
 */
COR_API void cor_reader_free(cor_reader *r);

/* ------------------------------------------------------------- writers -- */

/*
 * cor_writer_open - a buffered writer on fd (a socket, a pipe, or a file
 * written at its current position).  Returns 0 and *out, -EINVAL, -EBADF,
 * -ENOMEM.  Never suspends.  Lifetime: free it with cor_writer_free
 * before fd is closed.
 */
COR_API int cor_writer_open(cor_writer **out, int fd);

/*
 * cor_writer_write - queue len bytes (copied) for sending and return at
 * once: never suspends (asyncio's write).  The loop sends them in order in
 * the background.  Returns 0; -EPIPE after cor_writer_close; the error
 * that ended the stream (-ECONNRESET, -EPIPE ...) once a send failed, and
 * then the bytes are not queued; -ENOMEM.
 */
COR_API int cor_writer_write(cor_writer *w, const void *buf, size_t len);

/*
 * cor_writer_drain - wait until it is appropriate to write again: when
 * more than 64 KiB are queued, suspends until the queue is down to 16 KiB
 * (asyncio's high- and low-water marks); returns at once otherwise.
 * Returns 0, the error that ended the stream, or -ECANCELED / -ETIMEDOUT
 * (the bytes stay queued).
 */
COR_API int cor_writer_drain(cor_writer *w);

/* Bytes queued and not yet taken by the kernel. */
COR_API size_t cor_writer_buffered(const cor_writer *w);

/*
 * cor_writer_close - close the stream once the queued bytes are sent: a
 * socket's write side is shut down (the peer reads end of stream); on a
 * pipe or file the close completes when everything is written (the fd is
 * the caller's to close).  Never suspends; closing twice is a no-op.
 */
COR_API void cor_writer_close(cor_writer *w);

/* cor_writer_is_closing - cor_writer_close was called (or a send failed). */
COR_API bool cor_writer_is_closing(const cor_writer *w);

/*
 * cor_writer_wait_closed - wait until the close has completed.  Returns 0,
 * the error that ended the stream, or -ECANCELED / -ETIMEDOUT.  Suspends.
 */
COR_API int cor_writer_wait_closed(cor_writer *w);

/*
 * cor_writer_free - free w.  A writer not closed yet is aborted: queued
 * bytes are dropped and a send in flight is cancelled (asyncio's
 * transport.abort()); close and wait_closed first to deliver them.  A
 * drain or wait_closed waiting in another task returns -EBADF, and w
 * goes as the last of them returns.  Suspends (shielded, briefly).  NULL
 * is a no-op.
 */
COR_API void cor_writer_free(cor_writer *w);

/* ---------------------------------------------- connections and servers -- */

/*
 * cor_open_connection - connect to host:port over TCP (cor_tcp_connect,
 * COR_NO_TIMEOUT_NS: none, other negative values: now) and return a reader and a writer on the socket,
 * which they own: it is closed once both are freed.  Returns 0, or -errno
 * (-ECONNREFUSED, -ETIMEDOUT, -EINVAL for a bad host or NULL out).
 * Suspends.
 */
COR_API int cor_open_connection(const char *host, int port,
                                int64_t timeout_ns, cor_reader **r,
                                cor_writer **w);

/*
 * A stream server's handler: runs as a task per connection with its
 * reader and writer (the handler must not free them).  When it returns,
 * the writer is closed and waited for (queued bytes are still sent; a
 * cancelled task's are dropped), both are freed and the socket is closed.
 */
typedef void cor_stream_fn(cor_reader *r, cor_writer *w, void *arg);

/*
 * cor_stream_server_start - asyncio's start_server: cor_server_start
 * (coring/io.h) with a handler that gets a reader and writer.  Stop and
 * wait for it with cor_server_stop / cor_server_wait.  Returns what
 * cor_server_start returns.
 */
COR_API int cor_stream_server_start(cor_server **out, const char *host,
                                    int port, cor_stream_fn *fn, void *arg,
                                    const cor_server_opts *opts);

#ifdef __cplusplus
}
#endif

#endif
