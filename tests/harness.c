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

/* Where a number is an elapsed time in the oracle's output: the text right
 * before it (a word starting at a word boundary), and the text that must
 * follow it (NULL: anything).  Every other number is compared exactly. */
static const struct {
    const char *before, *after;
} time_marks[] = {
    {"t=", NULL},             /* t=0.2 a: ends (rules and seeds) */
    {"≈", NULL},              /* elapsed≈0.3, after≈0.2, at≈0.1, took≈0.4 */
    {"took ", NULL},          /* g took 1.0 s, (took 4.0 seconds) */
    {"in ", " s"},            /* executed in 1.0 seconds, images in 10.0 s */
    {"after ", " seconds"},   /* main done after 2.0 seconds */
    {"elapsed ", " s"},       /* elapsed 6.0 s */
    {"elapsed time: ", NULL}, /* Task One elapsed time: 15.0 */
    {"used: ", NULL},         /* parallel_tasks used: 1.5 seconds. */
    {"Start: ", NULL},        /* Start: 0.0 */
    {"End: ", NULL},          /* End: 10.0 */
    {"completed at ", NULL},  /* res: [1, 2, 3] completed at 3.0 */
    {"moves, ", " s"},        /* 8 Judit moves, 24.0 s */
};

/* Length of the number d+.d+ at s, 0 when there is none. */
static size_t decimal_len(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0 || s[n] != '.' || !(s[n + 1] >= '0' && s[n + 1] <= '9'))
        return 0;
    n++;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* Length of the time value at line[i] (a decimal after one of time_marks,
 * within the line of length n), or 0 when line[i] starts no time. */
static size_t time_at(const char *line, size_t n, size_t i)
{
    if (i > 0 && (is_word_char(line[i - 1]) || line[i - 1] == '.'))
        return 0; /* inside a number or a word */
    size_t tl = decimal_len(line + i);
    if (tl == 0 || i + tl > n)
        return 0;
    for (size_t k = 0; k < sizeof time_marks / sizeof time_marks[0]; k++) {
        const char *b = time_marks[k].before, *a = time_marks[k].after;
        size_t bl = strlen(b);
        if (bl > i || memcmp(line + i - bl, b, bl) != 0)
            continue;
        if (i > bl && is_word_char(b[0]) && is_word_char(line[i - bl - 1]))
            continue; /* "within 0.2 s" is no "in 0.2 s" */
        if (a && (i + tl + strlen(a) > n ||
                  memcmp(line + i + tl, a, strlen(a)) != 0))
            continue;
        return tl;
    }
    return 0;
}

/* A decimal of tl characters as an integer count of its last digit's
 * unit (0.3 -> 3, 10.25 -> 1025); *places: the digits after the point. */
static long long scaled(const char *s, size_t tl, int *places)
{
    long long v = 0;
    *places = -1;
    for (size_t i = 0; i < tl; i++) {
        if (s[i] == '.') {
            *places = 0;
            continue;
        }
        v = v * 10 + (s[i] - '0');
        if (*places >= 0)
            ++*places;
    }
    return v;
}

/* One line of got against one of want: equal, except that a time in want
 * matches a time in got that is no earlier and at most the window later. */
static bool line_matches(const char *g, size_t gn, const char *w, size_t wn,
                         h_window window)
{
    size_t i = 0, j = 0;
    while (i < gn && j < wn) {
        size_t wl = time_at(w, wn, j);
        if (wl == 0) {
            if (g[i] != w[j])
                return false;
            i++, j++;
            continue;
        }
        size_t gl = time_at(g, gn, i);
        if (gl == 0)
            return false;
        int gp, wp;
        long long gv = scaled(g + i, gl, &gp), wv = scaled(w + j, wl, &wp);
        if (gp != wp)
            return false; /* printed another way */
        double unit = 1;
        for (int k = 0; k < wp; k++)
            unit /= 10;
        double late = (double)(gv - wv) * unit;
        double most = window.fixed + window.share * (double)wv * unit;
        if (gv < wv || late > most + unit / 2)
            return false;
        i += gl, j += wl;
    }
    return i == gn && j == wn;
}

size_t h_oracle_diff(const char *got, const char *want, h_window window)
{
    size_t line = 1;
    for (;;) {
        const char *ge = strchr(got, '\n'), *we = strchr(want, '\n');
        size_t gn = ge ? (size_t)(ge - got) : strlen(got);
        size_t wn = we ? (size_t)(we - want) : strlen(want);
        if (!*got && !*want)
            return 0;
        if (!*got || !*want || !line_matches(got, gn, want, wn, window) ||
            !ge != !we)
            return line;
        if (!ge)
            return 0;
        got = ge + 1, want = we + 1, line++;
    }
}

/* Line n (1-based) of text, as "%.*s" arguments; "(none)" past the end. */
static const char *nth_line(const char *text, size_t n, int *tl)
{
    while (--n > 0 && text) {
        text = strchr(text, '\n');
        text = text ? text + 1 : NULL;
    }
    if (!text || !*text) {
        *tl = 6;
        return "(none)";
    }
    const char *e = strchr(text, '\n');
    *tl = e ? (int)(e - text) : (int)strlen(text);
    return text;
}

bool h_oracle_compare(const char *got, const char *want, h_window window)
{
    size_t line = h_oracle_diff(got, want, window);
    if (line == 0)
        return true;
    int gl, wl;
    const char *g = nth_line(got, line, &gl), *w = nth_line(want, line, &wl);
    print_error("oracle mismatch (times: no earlier, at most %g + %g x "
                "the expected time later)\n"
                "--- got\n%s--- want\n%s"
                "first difference, line %zu:\n  got  \"%.*s\"\n  want \"%.*s\"\n",
                window.fixed, window.share, got, want, line, gl, g, wl, w);
    return false;
}

void h_oracle_assert(const char *got, const char *want, char *want_buf,
                     h_window window)
{
    bool ok = h_oracle_compare(got, want, window);
    free(want_buf);
    if (!ok)
        fail();
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
