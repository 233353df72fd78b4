/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <liburing.h>

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *buf;
static size_t len, cap, nlines;

static void append(char **b, size_t *l, size_t *c, const char *s, size_t n)
{
    if (*l + n + 1 > *c) {
        size_t nc = (*c ? *c * 2 : 4096);
        while (nc < *l + n + 1)
            nc *= 2;
        *b = realloc(*b, nc);
        *c = nc;
    }
    memcpy(*b + *l, s, n);
    *l += n;
    (*b)[*l] = 0;
}

void rec(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&mu);
    append(&buf, &len, &cap, line, (size_t)n);
    nlines++;
    pthread_mutex_unlock(&mu);
}

const char *rec_text(void)
{
    return buf ? buf : "";
}

size_t rec_count(void)
{
    return nlines;
}

void rec_reset(void)
{
    pthread_mutex_lock(&mu);
    free(buf);
    buf = NULL;
    len = cap = nlines = 0;
    pthread_mutex_unlock(&mu);
}

static char *logbuf;
static size_t loglen, logcap;

static int refused_errno(void);
static bool is_fallback_line(const char *s);

static void log_hook(void *ud, const char *msg)
{
    (void)ud;
    if (is_fallback_line(msg))
        return; /* io_uring refused here: not what the tests look for */
    pthread_mutex_lock(&mu);
    append(&logbuf, &loglen, &logcap, msg, strlen(msg));
    append(&logbuf, &loglen, &logcap, "\n", 1);
    pthread_mutex_unlock(&mu);
}

void h_log_capture(void)
{
    refused_errno(); /* probed here, before any loop thread logs */
    cor_set_log(log_hook, NULL);
}

const char *h_log_text(void)
{
    return logbuf ? logbuf : "";
}

void h_log_release(void)
{
    cor_set_log(NULL, NULL);
    pthread_mutex_lock(&mu);
    free(logbuf);
    logbuf = NULL;
    loglen = logcap = 0;
    pthread_mutex_unlock(&mu);
}

int h_run(cor_fn *main, void *arg, int loops)
{
    cor_run_opts o = {.loops = loops};
    return cor_run_ex(main, arg, &o, NULL);
}

char *h_oracle_expected(const char *kind, const char *name)
{
    const char *dir = getenv("CORING_ORACLE");
    char path[4096];
    snprintf(path, sizeof path, "%s/expected/%s/%s.out",
             dir ? dir : "../shared/oracle", kind, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *out = NULL;
    size_t l = 0, c = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        append(&out, &l, &c, chunk, n);
    fclose(f);
    return out ? out : strdup("");
}

int h_setup(void **state)
{
    (void)state;
    rec_reset();
    return 0;
}

int h_teardown(void **state)
{
    (void)state;
    rec_reset();
    h_log_release();
    return 0;
}

int h_tcp_pair(int sv[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = -1;
    sv[0] = sv[1] = -1;
    if (lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(lfd, (struct sockaddr *)&a, &alen) == 0 &&
        listen(lfd, 1) == 0 &&
        (sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
        connect(sv[1], (struct sockaddr *)&a, sizeof a) == 0 &&
        (sv[0] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
        rc = 0;
    int err = errno;
    if (lfd >= 0)
        close(lfd);
    if (rc < 0) {
        if (sv[1] >= 0)
            close(sv[1]);
        return -err;
    }
    /* Small writes leave at once (no Nagle wait for an ACK). */
    int one = 1;
    setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

int h_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* io_uring_setup's errno here (a seccomp filter, a kernel without it), 0
 * when it works; probed once. */
static int refused_errno(void)
{
    static int err = -1;
    if (err < 0) {
        struct io_uring ring;
        int rc = io_uring_queue_init(2, &ring, 0);
        if (rc == 0)
            io_uring_queue_exit(&ring);
        err = rc < 0 ? -rc : 0;
    }
    return err;
}

static const char *backend_env(void)
{
    const char *b = getenv("COR_BACKEND");
    return b && *b && strcmp(b, "auto") != 0 ? b : NULL;
}

bool h_uring(void)
{
    const char *b = backend_env();
    return !(b && strcmp(b, "epoll") == 0) && refused_errno() == 0;
}

/* The name an automatic runtime's fallback line gives the refusal. */
static const char *refused_name(void)
{
    switch (refused_errno()) {
    case ENOSYS:
        return "ENOSYS";
    case EPERM:
        return "EPERM";
    case ENOMEM:
        return "ENOMEM";
    default:
        return NULL;
    }
}

bool h_uring_or_say(const char *what)
{
    if (h_uring())
        return true;
    const char *b = backend_env();
    if (b && strcmp(b, "epoll") == 0)
        fprintf(stderr, "skipped: %s: io_uring only, and COR_BACKEND=epoll\n",
                what);
    else
        fprintf(stderr, "skipped: %s: io_uring only, and io_uring_setup "
                "is refused here (%s)\n", what,
                refused_name() ? refused_name() : strerror(refused_errno()));
    return false;
}

/* Whether s (up to its newline) is that line, with or without "coring: ". */
static bool is_fallback_line(const char *s)
{
    const char *name = refused_name();
    if (!name || backend_env())
        return false;
    if (strncmp(s, "coring: ", 8) == 0)
        s += 8;
    static const char head[] = "using the epoll backend: io_uring_setup: ";
    size_t n = strlen(name);
    return strncmp(s, head, sizeof head - 1) == 0 &&
           strncmp(s + sizeof head - 1, name, n) == 0 &&
           s[sizeof head - 1 + n] == ':';
}

char *h_without_fallback(char *text)
{
    char *w = text;
    for (const char *r = text; *r;) {
        size_t n = strcspn(r, "\n");
        n += r[n] == '\n';
        if (!is_fallback_line(r)) {
            memmove(w, r, n);
            w += n;
        }
        r += n;
    }
    *w = '\0';
    return text;
}
