/* SPDX-License-Identifier: MIT */
/*
 * resolve.c - host names.  getaddrinfo and getnameinfo run on the executor
 * (cor_to_thread: a queued lookup is dropped by a cancel, a running one is
 * waited for and its answer freed by the cleanup callback).  Connecting by
 * name races the addresses as RFC 8305 says, each attempt a task of the
 * caller's loop; the caller returns only after every attempt task has
 * ended, so no attempt outlives the call and every losing socket is closed.
 */
#include "io_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tests: called on the worker before each lookup (to hold it there), and
 * the answers of cancelled lookups freed so far. */
void (*cor__resolve_hook)(void);
_Atomic unsigned cor__resolve_dropped;

static int gai_errno(int eai, int sys_errno)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENOENT;
    case EAI_SERVICE:
        return -ESRCH;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_FAMILY:
        return -EAFNOSUPPORT;
    case EAI_SOCKTYPE:
        return -ESOCKTNOSUPPORT;
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_OVERFLOW:
        return -ENAMETOOLONG;
    case EAI_SYSTEM:
        return sys_errno ? -sys_errno : -EIO;
    default:
        return -EIO;
    }
}

/* ---------------------------------------------------------- lookups ---- */

struct gai_job {
    const char *host, *service;
    const struct addrinfo *hints;
    struct addrinfo *res;
    int rc;
};

static void *gai_run(void *p)
{
    struct gai_job *j = p;
    if (cor__resolve_hook)
        cor__resolve_hook();
    errno = 0;
    int eai = getaddrinfo(j->host, j->service, j->hints, &j->res);
    j->rc = gai_errno(eai, errno);
    if (eai)
        j->res = NULL;
    return j->res;
}

/* The awaiting task was cancelled while the lookup ran: its answer. */
static void gai_cleanup(void *result, void *ud)
{
    (void)ud;
    if (result) {
        freeaddrinfo(result);
        atomic_fetch_add(&cor__resolve_dropped, 1);
    }
}

/* A service of digits only that is no port (above 65535): getaddrinfo
 * (glibc's) takes it modulo 65536, a port nobody asked for. */
static bool not_a_port(const char *service)
{
    if (!service || *service < '0' || *service > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(service, &end, 10);
    return !*end && (errno == ERANGE || v > 65535);
}

int cor_getaddrinfo(const char *host, const char *service,
                    const struct addrinfo *hints, struct addrinfo **res)
{
    cor__need_task("cor_getaddrinfo");
    if (!res || (!host && !service))
        return -EINVAL;
    *res = NULL;
    if (not_a_port(service))
        return -ESRCH;
    struct gai_job j = {.host = host, .service = service, .hints = hints};
    cor_to_thread_opts o = {.cleanup = gai_cleanup};
    int rc = cor_to_thread_ex(gai_run, &j, NULL, &o);
    if (rc < 0)
        return rc; /* a result the job made went to gai_cleanup */
    *res = j.res;
    return j.rc;
}

struct gni_job {
    const struct sockaddr *sa;
    socklen_t salen;
    char *host, *serv;
    size_t hostlen, servlen;
    int flags;
    int rc;
};

static void *gni_run(void *p)
{
    struct gni_job *j = p;
    if (cor__resolve_hook)
        cor__resolve_hook();
    errno = 0;
    int eai = getnameinfo(j->sa, j->salen, j->host, (socklen_t)j->hostlen,
                          j->serv, (socklen_t)j->servlen, j->flags);
    j->rc = gai_errno(eai, errno);
    return NULL;
}

int cor_getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                    size_t hostlen, char *serv, size_t servlen, int flags)
{
    cor__need_task("cor_getnameinfo");
    if (!sa || salen < (socklen_t)sizeof(sa_family_t) ||
        (!host && hostlen) || (!serv && servlen) || hostlen > 65535 ||
        servlen > 65535)
        return -EINVAL;
    /* The worker writes into the caller's buffers: a cancel waits for a
     * running lookup (cor_to_thread), so they are not gone before. */
    struct gni_job j = {.sa = sa, .salen = salen, .host = host,
                        .serv = serv, .hostlen = hostlen,
                        .servlen = servlen, .flags = flags};
    int rc = cor_to_thread(gni_run, &j, NULL);
    return rc < 0 ? rc : j.rc;
}

/* ------------------------------------------------- Happy Eyeballs ------ */

#define MAX_ATTEMPTS 64

struct race;

struct attempt {
    struct race *race;
    const struct addrinfo *ai;
    cor_task *task;
    int fd;   /* connected socket, or -1 */
    int rc;   /* 0 connected, or -errno */
    bool done;
};

struct race {
    struct attempt a[MAX_ATTEMPTS];
    size_t n;
    cor_event *finished; /* set when an attempt ends */
};

static void *attempt_main(void *p)
{
    struct attempt *a = p;
    const struct addrinfo *ai = a->ai;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
                    ai->ai_protocol);
    int rc = fd < 0 ? -errno : cor_connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && fd >= 0)
        close(fd);
    /* Connected even if cancelled meanwhile: the caller closes a loser. */
    a->fd = rc < 0 ? -1 : fd;
    a->rc = rc;
    a->done = true;
    cor_event_set(a->race->finished);
    return NULL;
}

/* asyncio's _interleave_addrinfos: `first` addresses of the first family,
 * then one of each family in turn. */
static size_t interleave(const struct addrinfo *list, int first,
                         const struct addrinfo **out)
{
    const struct addrinfo *all[MAX_ATTEMPTS];
    int fam[MAX_ATTEMPTS];
    size_t n = 0, nfam = 0;
    for (const struct addrinfo *ai = list; ai && n < MAX_ATTEMPTS;
         ai = ai->ai_next) {
        if (ai->ai_socktype && ai->ai_socktype != SOCK_STREAM)
            continue;
        if (!ai->ai_addr)
            continue;
        all[n++] = ai;
        size_t f = 0;
        while (f < nfam && fam[f] != ai->ai_family)
            f++;
        if (f == nfam && nfam < MAX_ATTEMPTS)
            fam[nfam++] = ai->ai_family;
    }
    if (first <= 0) { /* resolver order */
        memcpy(out, all, n * sizeof *out);
        return n;
    }
    bool used[MAX_ATTEMPTS] = {0};
    size_t k = 0;
    /* The first first-1 of the first family ... */
    for (size_t i = 0; i < n && k + 1 < (size_t)first; i++)
        if (all[i]->ai_family == fam[0]) {
            out[k++] = all[i];
            used[i] = true;
        }
    /* ... then round robin over the families. */
    while (k < n)
        for (size_t f = 0; f < nfam; f++)
            for (size_t i = 0; i < n; i++)
                if (!used[i] && all[i]->ai_family == fam[f]) {
                    out[k++] = all[i];
                    used[i] = true;
                    break;
                }
    return k;
}

static int start_attempt(struct race *r, const struct addrinfo *ai)
{
    struct attempt *a = &r->a[r->n];
    *a = (struct attempt){.race = r, .ai = ai, .fd = -1};
    cor_spawn_opts so = {.name = "happy-eyeballs"};
    int rc = cor_spawn_ex(&a->task, attempt_main, a, &so);
    if (rc < 0)
        return rc;
    r->n++;
    return 0;
}

/* Wait for an attempt to end, or until deadline (INT64_MAX: none).
 * Returns 0, 1 for "the deadline passed", or the caller's interruption. */
static int wait_finished(struct race *r, int64_t deadline)
{
    if (deadline == INT64_MAX)
        return cor_event_wait(r->finished);
    cor_timeout_scope sc;
    int rc = cor_timeout_begin_at(&sc, deadline);
    if (rc < 0)
        return rc;
    rc = cor_event_wait(r->finished);
    int mine = cor_timeout_end(&sc);
    if (rc == -ETIMEDOUT && mine == -ETIMEDOUT)
        return 1;
    return rc;
}

int cor_tcp_connect_addrs(const struct addrinfo *list,
                          const cor_connect_opts *opts)
{
    cor__need_task("cor_tcp_connect_addrs");
    cor_connect_opts o = opts ? *opts : (cor_connect_opts){0};
    if (o.happy_eyeballs_delay != o.happy_eyeballs_delay ||
        o.interleave < 0)
        return -EINVAL;
    bool staggered = o.happy_eyeballs_delay >= 0;
    int64_t delay = (int64_t)((o.happy_eyeballs_delay > 0
                                   ? o.happy_eyeballs_delay
                                   : 0.25) *
                              1e9);
    const struct addrinfo *order[MAX_ATTEMPTS];
    size_t n = interleave(list, o.interleave ? o.interleave
                                             : (staggered ? 1 : 0),
                          order);
    if (!n)
        return -EINVAL;
    struct race *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    int rc = cor_event_create(&r->finished);
    if (rc < 0) {
        free(r);
        return rc;
    }
    int winner = -1, err = 0;
    size_t next = 0, seen = 0;
    int64_t last_start = 0;
    for (;;) {
        cor_event_clear(r->finished);
        bool running = false;
        for (size_t i = 0; i < r->n; i++) {
            struct attempt *a = &r->a[i];
            if (!a->done) {
                running = true;
            } else if (a->rc == 0 && winner < 0) {
                winner = (int)i;
            }
        }
        /* Failures, in the order the attempts started: the first address's
         * error is the one reported. */
        bool failed_now = false;
        for (; seen < r->n && r->a[seen].done; seen++)
            if (r->a[seen].rc < 0) {
                if (!err)
                    err = r->a[seen].rc;
                failed_now = true;
            }
        if (winner >= 0)
            break;
        /* RFC 8305: a failure starts the next attempt at once; so does an
         * empty field (the first attempt). */
        if (next < n && (!running || failed_now)) {
            if ((rc = start_attempt(r, order[next++])) < 0) {
                err = rc;
                break;
            }
            last_start = cor_now_ns();
            continue;
        }
        if (!running && next == n)
            break; /* every attempt failed */
        rc = wait_finished(r, staggered && next < n ? last_start + delay
                                                    : INT64_MAX);
        if (rc == 1) {
            if ((rc = start_attempt(r, order[next++])) < 0) {
                err = rc;
                break;
            }
            last_start = cor_now_ns();
        } else if (rc < 0) {
            err = rc; /* the caller was cancelled or its deadline passed */
            break;
        }
    }
    /* Every attempt ends before we return (their records are in r): the
     * losers are cancelled, and a loser that connected anyway is closed. */
    cor_shield_begin();
    for (size_t i = 0; i < r->n; i++)
        if ((int)i != winner)
            cor_task_cancel(r->a[i].task);
    for (size_t i = 0; i < r->n; i++) {
        cor_await(r->a[i].task, NULL);
        cor_task_release(r->a[i].task);
        if ((int)i != winner && r->a[i].fd >= 0)
            close(r->a[i].fd);
    }
    cor_shield_end();
    int fd = winner >= 0 ? r->a[winner].fd : (err ? err : -ECONNREFUSED);
    cor_event_destroy(r->finished);
    free(r);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

/* A numeric host and port, or NULL host: one address, no lookup. */
static bool numeric(const char *host, const char *service, int family,
                    struct sockaddr_storage *ss, socklen_t *len)
{
    char *end;
    long port = strtol(service, &end, 10);
    if (!*service || *end || port < 0 || port > 65535)
        return false;
    int rc = cor_sockaddr_parse(host ? host : "127.0.0.1", (int)port, ss);
    if (rc < 0 || (family && ss->ss_family != family))
        return false;
    *len = (socklen_t)rc;
    return true;
}

int cor_tcp_connect_name(const char *host, const char *service,
                         const cor_connect_opts *opts)
{
    cor__need_task("cor_tcp_connect_name");
    if (!service)
        return -EINVAL;
    int family = opts ? opts->family : AF_UNSPEC;
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len;
    if (host && numeric(host, service, family, &ss, &len)) {
        struct addrinfo one = {.ai_family = ss.ss_family,
                               .ai_socktype = SOCK_STREAM,
                               .ai_protocol = IPPROTO_TCP,
                               .ai_addrlen = len,
                               .ai_addr = (struct sockaddr *)&ss};
        return cor_tcp_connect_addrs(&one, opts);
    }
    struct addrinfo hints = {.ai_family = family,
                             .ai_socktype = SOCK_STREAM,
                             .ai_protocol = IPPROTO_TCP};
    struct addrinfo *res;
    int rc = cor_getaddrinfo(host ? host : "localhost", service, &hints,
                             &res);
    if (rc < 0)
        return rc;
    rc = cor_tcp_connect_addrs(res, opts);
    freeaddrinfo(res);
    return rc;
}

int cor_open_connection_name(const char *host, const char *service,
                             const cor_connect_opts *opts, cor_reader **r,
                             cor_writer **w)
{
    cor__need_task("cor_open_connection_name");
    if (!r || !w)
        return -EINVAL;
    *r = NULL;
    *w = NULL;
    int fd = cor_tcp_connect_name(host, service, opts);
    if (fd < 0)
        return fd;
    return cor__stream_pair(fd, r, w);
}

/* ---------------------------------------------------------- servers ---- */

#define MAX_HOSTS 8

/* host:service resolved for listening: every address (at most MAX_HOSTS,
 * duplicates dropped), numeric, and the port. */
static int passive_addrs(const char *host, const char *service,
                         char num[][INET6_ADDRSTRLEN], int *port)
{
    if (!service)
        return -EINVAL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = cor_getaddrinfo(host, service, &hints, &res);
    if (rc < 0)
        return rc;
    int n = 0;
    for (const struct addrinfo *ai = res; ai && n < MAX_HOSTS;
         ai = ai->ai_next) {
        const struct sockaddr *sa = ai->ai_addr;
        const void *bin;
        if (sa->sa_family == AF_INET) {
            bin = &((const struct sockaddr_in *)sa)->sin_addr;
            *port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
        } else if (sa->sa_family == AF_INET6) {
            bin = &((const struct sockaddr_in6 *)sa)->sin6_addr;
            *port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        } else {
            continue;
        }
        if (!inet_ntop(sa->sa_family, bin, num[n], INET6_ADDRSTRLEN))
            continue;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup |= strcmp(num[k], num[n]) == 0;
        n += !dup;
    }
    freeaddrinfo(res);
    return n ? n : -ENOENT;
}

static int start_by_name(cor_server **out, const char *host,
                         const char *service, cor_conn_fn *handler,
                         cor_stream_fn *sfn, void *arg,
                         const cor_server_opts *opts)
{
    if (!out || (!handler && !sfn))
        return -EINVAL;
    char num[MAX_HOSTS][INET6_ADDRSTRLEN];
    const char *hosts[MAX_HOSTS];
    int port = 0;
    int n = passive_addrs(host, service, num, &port);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        hosts[i] = num[i];
    cor_server_opts o = opts ? *opts : (cor_server_opts){0};
    if (sfn)
        o.nodelay = true; /* as cor_stream_server_start */
    return cor__server_start_hosts(out, hosts, n, port, handler, sfn, arg,
                                   &o);
}

int cor_server_start_name(cor_server **out, const char *host,
                          const char *service, cor_conn_fn *handler,
                          void *arg, const cor_server_opts *opts)
{
    cor__need_task("cor_server_start_name");
    return start_by_name(out, host, service, handler, NULL, arg, opts);
}

int cor_stream_server_start_name(cor_server **out, const char *host,
                                 const char *service, cor_stream_fn *fn,
                                 void *arg, const cor_server_opts *opts)
{
    cor__need_task("cor_stream_server_start_name");
    return start_by_name(out, host, service, NULL, fn, arg, opts);
}
