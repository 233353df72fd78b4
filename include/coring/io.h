/* SPDX-License-Identifier: MIT */
/*
 * coring/io.h - file and socket IO awaited by coroutines, on the loop's
 * io_uring.  Every call here is one (or, for the *_all and send helpers, a
 * few) io_uring operations: the calling task suspends until the operation's
 * completion, other tasks run meanwhile.
 *
 * Common rules for every suspending call below:
 *  - Returns what the kernel returns: a count or fd >= 0, else a negative
 *    errno.  errno is never touched.
 *  - Cancellation and deadlines never lose data: a call interrupted while its
 *    operation is in flight asks the kernel to cancel it and returns only
 *    after the operation's own completion -- -ECANCELED (or -ETIMEDOUT for a
 *    deadline) if it did not happen, its real result if it completed anyway
 *    (the cancellation then stays pending for the task's next suspension).
 *    So a buffer, iovec or path may live on the caller's stack.
 *  - Lifetime: buffers, paths, iovecs and addresses are the caller's and must
 *    live until the call returns (no longer).
 *  - Thread: a task (a coroutine); calling one off a task stops the program
 *    with a message naming the call.
 *  - Bad input: a negative fd gives -EBADF, a NULL buffer with a non-zero
 *    length, a NULL path or a bad flag -EINVAL; nothing aborts.
 */
#ifndef CORING_IO_H
#define CORING_IO_H

#include "common.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct statx;

/* The offset argument meaning "at the file's current position". */
#define COR_OFF_CUR ((int64_t)-1)

/* ---------------------------------------------------------------- files -- */

/*
 * cor_open / cor_openat - open(2) / openat(2) on the ring.  Returns the new
 * fd (O_CLOEXEC is added), or -errno.  Suspends.
 */
COR_API int cor_open(const char *path, int flags, mode_t mode);
COR_API int cor_openat(int dirfd, const char *path, int flags, mode_t mode);

/*
 * cor_read / cor_write - one read or write of at most len bytes at offset
 * off (COR_OFF_CUR: at the current position, which then advances).  Returns
 * the bytes transferred, which may be fewer than len (0 at end of file), or
 * -errno.  Lengths above 1 GiB are capped at 1 GiB (a short transfer).
 * Writes to a pipe or socket whose reader is gone return -EPIPE and never
 * kill the process: the first write ignores SIGPIPE if the program left it
 * at its default disposition (a handler or SIG_IGN the program set is left
 * alone).  Suspends.
 */
COR_API ssize_t cor_read(int fd, void *buf, size_t len, int64_t off);
COR_API ssize_t cor_write(int fd, const void *buf, size_t len, int64_t off);

/*
 * cor_read_timeout - cor_read with a per-operation timeout (a linked
 * timeout on the ring): -ETIMEDOUT if nothing was read within timeout_ns
 * (then nothing was consumed).  COR_NO_TIMEOUT_NS: no timeout; other
 * negative values: now (common.h).  Suspends.
 */
COR_API ssize_t cor_read_timeout(int fd, void *buf, size_t len, int64_t off,
                                 int64_t timeout_ns);

/*
 * cor_read_full / cor_write_all - repeat reads (writes) until len bytes are
 * transferred, end of file is reached (reads), or an error.  With an offset,
 * it advances by what each step moved.  Returns the bytes transferred; an
 * error after some progress returns the progress (the next call reports the
 * error); an error before any returns -errno.  Suspends.
 */
COR_API ssize_t cor_read_full(int fd, void *buf, size_t len, int64_t off);
COR_API ssize_t cor_write_all(int fd, const void *buf, size_t len,
                              int64_t off);

/* cor_readv / cor_writev - preadv2/pwritev2 on the ring; iovcnt <= IOV_MAX.
 * The iovec array must live until the call returns.  Suspends. */
COR_API ssize_t cor_readv(int fd, const struct iovec *iov, int iovcnt,
                          int64_t off);
COR_API ssize_t cor_writev(int fd, const struct iovec *iov, int iovcnt,
                           int64_t off);

/* cor_fsync / cor_fdatasync - returns 0 or -errno.  Suspends. */
COR_API int cor_fsync(int fd);
COR_API int cor_fdatasync(int fd);

/*
 * cor_statx - statx(2) on the ring: dirfd (AT_FDCWD), path ("" with
 * AT_EMPTY_PATH for dirfd itself), flags AT_*, mask STATX_*; fills *out.
 * Returns 0 or -errno.  Suspends.
 */
COR_API int cor_statx(int dirfd, const char *path, int flags, unsigned mask,
                      struct statx *out);

/*
 * cor_close - close(2) on the ring.  Returns 0 or -errno; the fd is gone
 * either way except after -EBADF.  Suspends.
 */
COR_API int cor_close(int fd);

/* cor_unlink (AT_REMOVEDIR in flags removes a directory), cor_rename,
 * cor_mkdir - the *at(2) calls relative to the current directory.
 * Return 0 or -errno.  Suspends. */
COR_API int cor_unlink(const char *path, int flags);
COR_API int cor_rename(const char *oldpath, const char *newpath);
COR_API int cor_mkdir(const char *path, mode_t mode);

/* -------------------------------------------------------------- sockets -- */

/*
 * Listener options (zero-initialised means: backlog 4096, SO_REUSEADDR on,
 * SO_REUSEPORT off, dual-stack IPv6).
 */
typedef struct cor_listen_opts {
    int backlog;     /* 0: 4096 */
    bool reuseport;  /* SO_REUSEPORT: several listeners share the port */
    bool v6only;     /* IPv6: refuse IPv4-mapped connections */
} cor_listen_opts;

/*
 * cor_tcp_listen - a listening TCP socket bound to a numeric address
 * ("127.0.0.1", "::1", "0.0.0.0", "::"; NULL means "127.0.0.1") and port
 * (0: any free port; see cor_sock_port).  Returns the fd (non-blocking is
 * not needed: every call here goes through the ring), -EINVAL for an address
 * that is not numeric or a port outside 0..65535, or -errno from
 * socket/bind/listen.  Never suspends (name resolution would block: resolve
 * on the executor first).  Thread: any.
 */
COR_API int cor_tcp_listen(const char *host, int port,
                           const cor_listen_opts *opts);

/*
 * cor_unix_listen - a listening Unix stream socket at path (a path
 * starting with '@' is abstract).  A stale socket file at path (one no
 * socket listens on: a non-blocking connect to it is refused) is replaced;
 * anything else there -- a live socket, a regular file, a directory, a
 * symlink, a FIFO -- is left untouched and the call fails with -EADDRINUSE
 * (a live listener sees the probe as one connection closed without data).
 * Returns the fd, -EINVAL (path NULL or too long), -EADDRINUSE, or -errno.
 * Never suspends.  Thread: any.
 */
COR_API int cor_unix_listen(const char *path, const cor_listen_opts *opts);

/* cor_sock_port - the local port a TCP/UDP socket is bound to, or -errno.
 * Thread: any. */
COR_API int cor_sock_port(int fd);

/*
 * cor_tcp_connect - a new TCP socket connected to host (numeric v4 or v6;
 * NULL means "127.0.0.1") and port, with TCP_NODELAY.  Returns the fd or -errno (-ECONNREFUSED,
 * -EINVAL for a non-numeric address, ...).  timeout_ns COR_NO_TIMEOUT_NS:
 * none, else -ETIMEDOUT when the connection is not up in time (other
 * negative values: now).  Suspends.
 */
COR_API int cor_tcp_connect(const char *host, int port, int64_t timeout_ns);

/* cor_unix_connect - a new Unix stream socket connected to path ('@':
 * abstract).  Returns the fd or -errno.  Suspends. */
COR_API int cor_unix_connect(const char *path);

/*
 * cor_connect - connect(2) an existing socket.  Returns 0 or -errno.
 * Suspends.
 */
COR_API int cor_connect(int fd, const struct sockaddr *addr,
                        socklen_t addrlen);

/*
 * cor_accept - accept4(2) on the ring: one connection, its fd (O_CLOEXEC)
 * or -errno.  addr/addrlen may be NULL.  timeout_ns COR_NO_TIMEOUT_NS: no
 * timeout, else -ETIMEDOUT when no connection came in time (other negative
 * values: now).  Suspends.
 */
COR_API int cor_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen,
                       int64_t timeout_ns);

/*
 * cor_recv - one recv(2) of at most len bytes.  Returns the bytes received
 * (fewer than len when fewer were there), 0 at end of stream, or -errno
 * (-ECONNRESET when the peer reset the connection).  Suspends.
 */
COR_API ssize_t cor_recv(int fd, void *buf, size_t len, int flags);

/* cor_recv_timeout - cor_recv with a per-operation timeout: -ETIMEDOUT when
 * nothing arrived within timeout_ns (nothing was consumed; COR_NO_TIMEOUT_NS:
 * none, other negative values: now).  Suspends. */
COR_API ssize_t cor_recv_timeout(int fd, void *buf, size_t len, int flags,
                                 int64_t timeout_ns);

/*
 * cor_send - send all len bytes, looping over short sends; MSG_NOSIGNAL is
 * always added, so a closed peer gives -EPIPE (or -ECONNRESET), never
 * SIGPIPE.  Returns len; after an error or a cancellation with part of the
 * data sent, the part's length (the next call reports the error); -errno
 * when nothing was sent.  Suspends.
 */
COR_API ssize_t cor_send(int fd, const void *buf, size_t len, int flags);

/* cor_shutdown - shutdown(2) on the ring (SHUT_RD/WR/RDWR).  Suspends. */
COR_API int cor_shutdown(int fd, int how);

/*
 * cor_sendto / cor_recvfrom - datagrams (UDP, Unix dgram).  sendto returns
 * the bytes sent (MSG_NOSIGNAL added); recvfrom the datagram's length (a
 * longer one is truncated, MSG_TRUNC semantics as recvmsg(2)) and, when
 * addr is not NULL, the sender in *addr / *addrlen.  Suspends.
 */
COR_API ssize_t cor_sendto(int fd, const void *buf, size_t len, int flags,
                           const struct sockaddr *addr, socklen_t addrlen);
COR_API ssize_t cor_recvfrom(int fd, void *buf, size_t len, int flags,
                             struct sockaddr *addr, socklen_t *addrlen);

/*
 * cor_udp_bind - a UDP socket bound to a numeric host (NULL: "127.0.0.1")
 * and port (0: any).  Returns the fd or -errno.  Never suspends.
 * Thread: any.
 */
COR_API int cor_udp_bind(const char *host, int port);

/*
 * cor_sockaddr_parse - fill *ss with a numeric host (v4 or v6; NULL means
 * "127.0.0.1") and port.  Returns the address length, or -EINVAL (ss NULL,
 * a bad host or port).  Thread: any.
 */
COR_API int cor_sockaddr_parse(const char *host, int port,
                               struct sockaddr_storage *ss);

/*
 * Receive streams: one multishot recv per connection filling buffers from a
 * ring the loop shares among its streams (IORING_OP_RECV multishot with
 * provided buffers), so a busy connection costs one armed operation instead
 * of one submission per read (the loop registers its ring with its first
 * stream and keeps it).  When every ring buffer is taken the next read
 * falls back to a plain recv into the caller's buffer, then re-arms.  A
 * kernel without buffer rings, and a Unix-domain socket (whose multishot
 * recv can miss the end of a large backlog), get plain recvs throughout.
 */
typedef struct cor_recv_stream cor_recv_stream;

/*
 * cor_recv_stream_open - a receive stream on the connected socket fd (the
 * stream does not own fd; nothing is submitted before the first read).
 * Returns 0 and *out, -EBADF for fd < 0, -EINVAL for out NULL, -ENOMEM.
 * Never suspends.  Lifetime: close it with cor_recv_stream_close before fd
 * is closed and before the task's loop ends.  Thread: a task; the stream
 * belongs to that task's loop.
 */
COR_API int cor_recv_stream_open(cor_recv_stream **out, int fd);

/*
 * cor_recv_stream_read - copy up to len received bytes into buf.  Returns
 * the bytes copied (whatever had arrived, at most len; 0 for len 0), 0 at
 * end of stream, or -errno (-ECONNRESET ...) once the bytes received before
 * the end are read.  A cancellation or deadline returns -ECANCELED /
 * -ETIMEDOUT and loses nothing: data arriving meanwhile stays in the stream
 * for the next read.  -EINVAL for s NULL or buf NULL with len > 0.
 * Suspends only when nothing has arrived (data already received is
 * returned at once, even in a cancelled task); one reader at a time: a
 * read while another task's read waits returns -EBUSY; a read waiting
 * when the stream is closed returns what it received, else -EBADF.
 * Lifetime: buf only during the call.  Thread: a task on the
 * stream's loop (from any other thread: -EXDEV, as for every loop-local
 * object).
 */
COR_API ssize_t cor_recv_stream_read(cor_recv_stream *s, void *buf,
                                     size_t len);

/*
 * cor_recv_stream_close - stop receiving and free s: cancels the armed
 * recv and waits for its last completion (shielded: it finishes even when
 * the caller is cancelled), gives unread buffers back (their bytes are
 * dropped).  A read waiting in another task is interrupted (it returns
 * -EBADF) and the stream is freed as that read returns.  Does not close
 * the fd.  Returns 0, or -EINVAL for s NULL, -EXDEV from another thread.
 * Suspends.  Thread: a task on the stream's loop.
 */
COR_API int cor_recv_stream_close(cor_recv_stream *s);

/* -------------------------------------------------------------- servers -- */

/*
 * A connection handler: runs as its own task on the loop that accepted fd.
 * The server closes fd when the handler returns (the handler must not).
 * Its result is discarded; an error it fails with is logged if nobody
 * retrieved it.
 */
typedef void *cor_conn_fn(int fd, void *arg);

typedef struct cor_server_opts {
    int loops;          /* serve on loops 0..loops-1; 0: every loop */
    int backlog;        /* 0: 4096 */
    bool nodelay;       /* TCP_NODELAY on accepted sockets (default off) */
} cor_server_opts;

typedef struct cor_server cor_server;

/*
 * cor_server_start - serve TCP on host:port (numeric; port 0: a free port,
 * the same on every loop) with one SO_REUSEPORT listener and one acceptor
 * per loop; the acceptor runs handler(fd, arg) as a new task per connection
 * (multishot accept: one armed accept per listener).  Returns 0 and *out, or
 * -EINVAL (bad options), -ENOMEM, or the -errno of socket/bind/listen, or of
 * spawning on another loop.  Never suspends.  Lifetime: stop it with
 * cor_server_stop (the handlers already running are not cancelled); one
 * never stopped has its listeners closed and *out freed when cor_run
 * returns.  Thread: a task.
 */
COR_API int cor_server_start(cor_server **out, const char *host, int port,
                             cor_conn_fn *handler, void *arg,
                             const cor_server_opts *opts);

/* The port the server listens on.  Thread: any. */
COR_API int cor_server_port(const cor_server *s);

/* Connections accepted so far, over every loop.  Thread: any. */
COR_API uint64_t cor_server_accepted(const cor_server *s);

/*
 * cor_server_wait - suspend until the server stops (every acceptor ended).
 * Returns 0, or -ECANCELED / -ETIMEDOUT when the caller was interrupted
 * (the server keeps running).  Suspends.  Thread: a task.
 */
COR_API int cor_server_wait(cor_server *s);

/*
 * cor_server_stop - stop accepting on every loop, wait until every acceptor
 * has ended, close the listeners and free s (the record goes once the
 * connections already accepted, which keep running, have ended).  Returns 0.  Suspends, shielded (it finishes even when the
 * caller is cancelled).  Thread: the task's loop that started it.
 */
COR_API int cor_server_stop(cor_server *s);

/*
 * cor_server_shutdown - a graceful stop: stop accepting (as
 * cor_server_stop), then end the reading side of every connection
 * (shutdown(SHUT_RD): a handler waiting for its next request reads the end
 * of the stream; what it already read it still answers, and its replies
 * are sent), wait for the handlers to return, at most timeout_ns (COR_NO_TIMEOUT_NS: no
 * limit, other negative values: none at all; the caller's cancellation or deadline also ends the wait), then
 * cancel the handlers still running and wait for them.  A handler that
 * returns has its socket closed normally (a stream server's writer is
 * flushed first), so its peer reads its replies and then the end of the
 * stream.  Frees s.  Returns how many handlers had to be cancelled (0: all
 * finished), or -EINVAL for s NULL.  Suspends.  Thread: a task of the loop
 * that started the server.
 */
COR_API int cor_server_shutdown(cor_server *s, int64_t timeout_ns);

#ifdef __cplusplus
}
#endif
#endif
