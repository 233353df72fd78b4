/* SPDX-License-Identifier: MIT */
/*
 * net.c - sockets: listeners and clients for TCP (v4,
 * v6) and Unix streams, accept, connect, recv, send (looping over short
 * sends, MSG_NOSIGNAL always), shutdown, and UDP datagrams.  Socket
 * creation, bind and listen are plain syscalls: they never block.  Name
 * resolution is deliberately absent (it blocks): addresses are numeric.
 */
#include "io_internal.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int cor_sockaddr_parse(const char *host, int port, struct sockaddr_storage *ss)
{
    if (!ss || port < 0 || port > 65535)
        return -EINVAL;
    if (!host)
        host = "127.0.0.1";
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return (int)sizeof *a4;
    }
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        return (int)sizeof *a6;
    }
    return -EINVAL;
}

static int unix_addr(const char *path, struct sockaddr_un *un)
{
    if (!path || !*path)
        return -EINVAL;
    size_t n = strlen(path);
    if (n >= sizeof un->sun_path)
        return -EINVAL;
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    if (path[0] == '@') { /* abstract: a leading NUL, no terminator */
        un->sun_path[0] = 0;
        return (int)(offsetof(struct sockaddr_un, sun_path) + n);
    }
    return (int)sizeof *un;
}

static int setopt_int(int fd, int level, int name, int v)
{
    return setsockopt(fd, level, name, &v, sizeof v) < 0 ? -errno : 0;
}

/* socket + options + bind + listen; closes the socket on any failure. */
static int listen_on(const struct sockaddr *sa, socklen_t len,
                     const cor_listen_opts *o)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (sa->sa_family != AF_UNIX) {
        rc = setopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        if (!rc && o && o->reuseport)
            rc = setopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
        if (!rc && sa->sa_family == AF_INET6)
            rc = setopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, o && o->v6only);
    }
    if (!rc && bind(fd, sa, len) < 0)
        rc = -errno;
    if (!rc && listen(fd, o && o->backlog > 0 ? o->backlog : 4096) < 0)
        rc = -errno;
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}

int cor_tcp_listen(const char *host, int port, const cor_listen_opts *opts)
{
    struct sockaddr_storage ss;
    int len = cor_sockaddr_parse(host, port, &ss);
    if (len < 0)
        return len;
    return listen_on((struct sockaddr *)&ss, (socklen_t)len, opts);
}

/*
 * Whether the file at a Unix address is a socket nobody listens on (left by
 * a process that ended without unlinking it).  Only such a file may be
 * replaced: a regular file, a directory or a symlink (lstat: the link, not
 * what it points to) is someone's data, and a socket that accepts (or whose
 * backlog is full, -EAGAIN) belongs to a live server.  The probe is a
 * non-blocking connect: the kernel answers -ECONNREFUSED at once when no
 * socket is bound to the file; a live listener sees one connection that
 * closes without data.
 */
static bool stale_socket(const struct sockaddr_un *un, int len)
{
    struct stat st;
    if (lstat(un->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    bool stale = connect(fd, (const struct sockaddr *)un, (socklen_t)len) < 0
                 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

int cor_unix_listen(const char *path, const cor_listen_opts *opts)
{
    struct sockaddr_un un;
    int len = unix_addr(path, &un);
    if (len < 0)
        return len;
    int fd = listen_on((struct sockaddr *)&un, (socklen_t)len, opts);
    if (fd != -EADDRINUSE || path[0] == '@' || !stale_socket(&un, len))
        return fd;
    /* Between the probe and the unlink another process may bind the same
     * path; the second bind then fails with -EADDRINUSE and nothing of
     * theirs is touched but that name. */
    if (unlink(path) < 0 && errno != ENOENT)
        return -EADDRINUSE;
    return listen_on((struct sockaddr *)&un, (socklen_t)len, opts);
}

int cor_sock_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (fd < 0)
        return -EBADF;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}

static int connect_timed(int fd, const struct sockaddr *addr, socklen_t len,
                         int64_t timeout_ns)
{
    struct cor__op op;
    cor__op_begin(&op, "cor_connect", COR__OP_CONNECT, fd);
    op.addr = (void *)(uintptr_t)addr;
    op.len = len;
    return cor__op_wait(&op, timeout_ns);
}

int cor_connect(int fd, const struct sockaddr *addr, socklen_t addrlen)
{
    if (fd < 0)
        return -EBADF;
    if (!addr || !addrlen)
        return -EINVAL;
    return connect_timed(fd, addr, addrlen, -1);
}

/* A new socket of the address's family, connected, or closed on failure. */
static int dial(const struct sockaddr *sa, socklen_t len, int64_t timeout_ns)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect_timed(fd, sa, len, timeout_ns);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (sa->sa_family != AF_UNIX)
        setopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    return fd;
}

int cor_tcp_connect(const char *host, int port, int64_t timeout_ns)
{
    struct sockaddr_storage ss;
    int len = cor_sockaddr_parse(host, port, &ss);
    if (len < 0)
        return len;
    return dial((struct sockaddr *)&ss, (socklen_t)len, timeout_ns);
}

int cor_unix_connect(const char *path)
{
    struct sockaddr_un un;
    int len = unix_addr(path, &un);
    if (len < 0)
        return len;
    return dial((struct sockaddr *)&un, (socklen_t)len, -1);
}

int cor_accept(int lfd, struct sockaddr *addr, socklen_t *addrlen,
               int64_t timeout_ns)
{
    if (lfd < 0)
        return -EBADF;
    if (addr && !addrlen)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_accept", COR__OP_ACCEPT, lfd);
    op.addr = addr;
    op.addr2 = addr ? addrlen : NULL;
    return cor__op_wait(&op, timeout_ns);
}

ssize_t cor_recv_timeout(int fd, void *buf, size_t len, int flags,
                         int64_t timeout_ns)
{
    if (fd < 0)
        return -EBADF;
    if (!buf && len)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_recv", COR__OP_RECV, fd);
    op.addr = buf;
    op.len = (uint32_t)(len > COR__IO_MAX ? COR__IO_MAX : len);
    op.opflags = (uint32_t)flags;
    cor__fixed_apply(&op);
    return cor__op_wait(&op, timeout_ns);
}

ssize_t cor_recv(int fd, void *buf, size_t len, int flags)
{
    return cor_recv_timeout(fd, buf, len, flags, -1);
}

ssize_t cor_send(int fd, const void *buf, size_t len, int flags)
{
    if (fd < 0)
        return -EBADF;
    if ((!buf && len) || len > SSIZE_MAX)
        return -EINVAL;
    const char *p = buf;
    size_t done = 0;
    do {
        size_t n = len - done;
        struct cor__op op;
        cor__op_begin(&op, "cor_send", COR__OP_SEND, fd);
        op.addr = (void *)(uintptr_t)(p + done);
        op.len = (uint32_t)(n > COR__IO_MAX ? COR__IO_MAX : n);
        op.opflags = (uint32_t)(flags | MSG_NOSIGNAL);
        cor__fixed_apply(&op);
        int rc = cor__op_wait(&op, -1);
        if (rc < 0)
            return done ? (ssize_t)done : rc;
        done += (size_t)rc;
    } while (done < len);
    return (ssize_t)done;
}

int cor_shutdown(int fd, int how)
{
    if (fd < 0)
        return -EBADF;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    struct cor__op op;
    cor__op_begin(&op, "cor_shutdown", COR__OP_SHUTDOWN, fd);
    op.len = (uint32_t)how;
    cor__fixed_apply(&op);
    return cor__op_wait(&op, -1);
}

int cor_udp_bind(const char *host, int port)
{
    struct sockaddr_storage ss;
    int len = cor_sockaddr_parse(host, port, &ss);
    if (len < 0)
        return len;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* sendmsg/recvmsg with one iovec: the msghdr and iovec live in this frame,
 * which outlives the operation (we wait for its completion). */
static ssize_t msg_op(int fd, void *buf, size_t len, int flags,
                      struct sockaddr *addr, socklen_t *addrlen, bool send)
{
    if (fd < 0)
        return -EBADF;
    if ((!buf && len) || (addr && !addrlen) || len > COR__IO_MAX)
        return -EINVAL;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {
        .msg_name = addr,
        .msg_namelen = addr ? *addrlen : 0,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    struct cor__op op;
    cor__op_begin(&op, send ? "cor_sendto" : "cor_recvfrom",
                  send ? COR__OP_SENDMSG : COR__OP_RECVMSG, fd);
    op.addr = &mh;
    op.opflags = (uint32_t)(send ? flags | MSG_NOSIGNAL : flags);
    cor__fixed_apply(&op);
    int rc = cor__op_wait(&op, -1);
    if (rc >= 0 && !send && addr)
        *addrlen = mh.msg_namelen;
    return rc;
}

ssize_t cor_sendto(int fd, const void *buf, size_t len, int flags,
                   const struct sockaddr *addr, socklen_t addrlen)
{
    socklen_t al = addrlen;
    return msg_op(fd, (void *)(uintptr_t)buf, len, flags,
                  (struct sockaddr *)(uintptr_t)addr, addr ? &al : NULL,
                  true);
}

ssize_t cor_recvfrom(int fd, void *buf, size_t len, int flags,
                     struct sockaddr *addr, socklen_t *addrlen)
{
    return msg_op(fd, buf, len, flags, addr, addrlen, false);
}
