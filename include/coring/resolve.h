/* SPDX-License-Identifier: MIT */
/*
 * coring/resolve.h - host names: getaddrinfo and getnameinfo on the
 * executor (they block: never on a loop), connecting by name with Happy
 * Eyeballs (RFC 8305, asyncio's happy_eyeballs_delay and interleave), and
 * the stream connection and servers by name.
 *
 * Resolver errors are mapped to negative errnos (the message of
 * gai_strerror is not kept): EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY ->
 * -ENOENT (no such host); EAI_SERVICE -> -ESRCH (no such service for the
 * socket type; also a service of digits above 65535, which getaddrinfo
 * would take modulo 65536); EAI_AGAIN -> -EAGAIN (try again: a temporary failure of
 * the name server); EAI_FAIL -> -EIO; EAI_MEMORY -> -ENOMEM; EAI_FAMILY ->
 * -EAFNOSUPPORT; EAI_SOCKTYPE -> -ESOCKTNOSUPPORT; EAI_BADFLAGS -> -EINVAL;
 * EAI_OVERFLOW -> -ENAMETOOLONG; EAI_SYSTEM -> the errno it left.
 */
#ifndef CORING_RESOLVE_H
#define CORING_RESOLVE_H

#include "common.h"
#include "io.h"
#include "stream.h"

#include <netdb.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * cor_getaddrinfo - getaddrinfo(3) on an executor worker; the task waits.
 * Returns 0 and *res (free it with freeaddrinfo), or the mapped error
 * above; -EINVAL for res NULL or both host and service NULL.
 * Cancellation (or a deadline): a lookup still queued is removed and never
 * runs, the call returns -ECANCELED (-ETIMEDOUT) at once; one already
 * running cannot be interrupted (getaddrinfo has no cancel), so the call
 * returns when it ends, with -ECANCELED, and its answer is freed, never
 * leaked.  Suspends.  Lifetime: the arguments only during the call.
 * Thread: a task.
 */
COR_API int cor_getaddrinfo(const char *host, const char *service,
                            const struct addrinfo *hints,
                            struct addrinfo **res);

/*
 * cor_getnameinfo - getnameinfo(3) on an executor worker, into the
 * caller's buffers (either may be NULL with length 0).  Returns 0, or the
 * mapped error; -EINVAL for a NULL or too short address.  Cancellation as
 * cor_getaddrinfo.  Suspends.  Thread: a task.
 */
COR_API int cor_getnameinfo(const struct sockaddr *sa, socklen_t salen,
                            char *host, size_t hostlen, char *serv,
                            size_t servlen, int flags);

/* Connecting by name: zero-initialise, then set what you need. */
typedef struct cor_connect_opts {
    /* Seconds to wait for an attempt before starting the next one in
     * parallel (RFC 8305's "Connection Attempt Delay").  0: 0.25 (the RFC's
     * recommendation); < 0: one attempt at a time, each to its end. */
    double happy_eyeballs_delay;
    /* How many addresses of the first family come before the families
     * alternate (asyncio's interleave); 0: 1.  With one attempt at a time
     * (delay < 0), 0 keeps the resolver's order. */
    int interleave;
    int family;         /* AF_UNSPEC (0), AF_INET or AF_INET6 */
} cor_connect_opts;

/*
 * cor_tcp_connect_name - a TCP connection to host:service, by name:
 * host is a name or a numeric address (NULL: "localhost"), service a port
 * number or a name from /etc/services ("http").  The name is resolved on
 * the executor (a numeric host and port are not: no worker is involved),
 * and the addresses are tried as RFC 8305 says: interleaved by family, a
 * new attempt started every happy_eyeballs_delay seconds while the earlier
 * ones are still pending, or at once when one fails; the first connection
 * made wins, the other attempts are cancelled and their sockets closed.
 * The socket has TCP_NODELAY.  Returns the fd, or -errno: the first
 * address's error when every attempt failed (-ECONNREFUSED ...), the
 * resolver's (above), -ECANCELED / -ETIMEDOUT when the task was
 * interrupted (every attempt is cancelled and closed before the call
 * returns).  Suspends.  Thread: a task.
 */
COR_API int cor_tcp_connect_name(const char *host, const char *service,
                                 const cor_connect_opts *opts);

/*
 * cor_tcp_connect_addrs - the same with addresses already resolved (a
 * list as getaddrinfo makes, SOCK_STREAM entries; others are skipped).
 * Returns the fd or -errno; -EINVAL for an empty list.  Suspends.
 */
COR_API int cor_tcp_connect_addrs(const struct addrinfo *ai,
                                  const cor_connect_opts *opts);

/*
 * cor_open_connection_name - asyncio's open_connection(host, port) with a
 * name: cor_tcp_connect_name, then a reader and a writer that own the
 * socket (as cor_open_connection).  Returns 0 or cor_tcp_connect_name's
 * errors; -EINVAL for r or w NULL.  Suspends.  Thread: a task.
 */
COR_API int cor_open_connection_name(const char *host, const char *service,
                                     const cor_connect_opts *opts,
                                     cor_reader **r, cor_writer **w);

/*
 * cor_server_start_name / cor_stream_server_start_name - cor_server_start
 * and cor_stream_server_start (coring/io.h, coring/stream.h) on a name:
 * host (NULL: every local address, "0.0.0.0" and "::") is resolved on
 * the executor and the server listens on every address it gives (up to 8;
 * one listener per address and loop, all on one port; IPv6 listeners are
 * IPv6-only then), so "localhost" with both ::1 and 127.0.0.1 is served on
 * both; service is a port number ("0": a free port) or a service name.
 * Returns what the numeric calls return, -ENOENT when the name gives no
 * address, or the resolver's error.  Suspends (for the lookup).
 * Thread: a task.
 */
COR_API int cor_server_start_name(cor_server **out, const char *host,
                                  const char *service, cor_conn_fn *handler,
                                  void *arg, const cor_server_opts *opts);
COR_API int cor_stream_server_start_name(cor_server **out, const char *host,
                                         const char *service,
                                         cor_stream_fn *fn, void *arg,
                                         const cor_server_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
