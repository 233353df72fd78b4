/* SPDX-License-Identifier: MIT */
/*
 * http_get - fetch one URL path over HTTP/1.0 by host name and print the
 * response: the name is resolved on the executor and the addresses are
 * raced with Happy Eyeballs (cor_open_connection_name).  Ctrl-C cancels the
 * fetch (cor_run turns SIGINT into cancelling main).
 *
 *   http_get HOST PORT [PATH]        e.g. http_get localhost 8080 /
 *
 * The head and the body are written to stdout as they arrive, whatever
 * their size.  Exit status 0 once the whole response is written; 1, with a
 * message naming what failed, when the connection fails, the response is
 * cut short (fewer bytes than its Content-Length) or malformed, or stdout
 * cannot take it (a full disk: "http_get: write error: ..."); a closed
 * stdout (http_get ... | head) ends it as SIGPIPE ends a program; 2 for
 * bad arguments; 130 after Ctrl-C.
 */
#include <coring.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct req {
    const char *host, *port, *path;
    bool write_failed; /* stdout did not take the response */
};

/* Writes n bytes to stdout: 0 or the write's -errno. */
static int out(const void *p, size_t n)
{
    ssize_t w = cor_write_all(STDOUT_FILENO, p, n, COR_OFF_CUR);
    return w < 0 ? (int)w : 0;
}

/* The Content-Length of a head: its value, -1 without one, -EPROTO for a
 * value that is not a decimal number. */
static long long content_length(const char *head)
{
    long long len = -1;
    for (const char *p = head; (p = strchr(p, '\n')) != NULL;) {
        if (strncasecmp(++p, "content-length:", 15) != 0)
            continue;
        const char *v = p + 15;
        v += strspn(v, " \t");
        size_t digits = strspn(v, "0123456789");
        if (digits == 0 || digits > 18 || v[digits + strspn(v + digits,
                                                            " \t")] != '\r')
            return -EPROTO;
        len = strtoll(v, NULL, 10);
    }
    return len;
}

/* The head, then Content-Length bytes of body (a keep-alive server does
 * not close), or everything to the end of the stream without one: 0, a
 * read's -errno (COR_EINCOMPLETE: cut short), or a write's (*wrote). */
static int print_response(cor_reader *r, bool *wrote)
{
    static char buf[1 << 16];
    *wrote = false;
    ssize_t n = cor_reader_readuntil(r, "\r\n\r\n", 4, buf, sizeof buf - 1);
    if (n < 0)
        return (int)n;
    buf[n] = 0;
    long long len = content_length(buf);
    if (len == -EPROTO)
        return -EPROTO;
    int rc = out(buf, (size_t)n);
    for (long long left = len; rc == 0 && left != 0;) {
        size_t want = sizeof buf;
        if (left > 0 && (unsigned long long)left < want)
            want = (size_t)left;
        n = cor_reader_read(r, buf, want);
        if (n <= 0)
            return n < 0 ? (int)n : left > 0 ? COR_EINCOMPLETE : 0;
        rc = out(buf, (size_t)n);
        if (left > 0)
            left -= n;
    }
    *wrote = rc < 0;
    return rc;
}

/* Queues the request; 0 or -errno. */
static int send_request(cor_writer *w, const struct req *q)
{
    const char *parts[] = {"GET ", q->path, " HTTP/1.0\r\nHost: ", q->host,
                           "\r\nConnection: close\r\n\r\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        int rc = cor_writer_write(w, parts[i], strlen(parts[i]));
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void *fetch(void *arg)
{
    struct req *q = arg;
    cor_reader *r;
    cor_writer *w;
    int rc = cor_open_connection_name(q->host, q->port, NULL, &r, &w);
    if (rc < 0)
        return cor_fail(rc, "connecting to %s port %s", q->host, q->port);
    bool wrote = false;
    rc = send_request(w, q);
    if (rc == 0)
        rc = print_response(r, &wrote);
    cor_writer_free(w);
    cor_reader_free(r);
    q->write_failed = rc < 0 && wrote;
    if (q->write_failed)
        return cor_fail(rc, "write error");
    if (rc == -EPROTO)
        return cor_fail(rc, "bad Content-Length from %s port %s", q->host,
                        q->port);
    return rc < 0 ? cor_fail(rc, "reading from %s port %s", q->host, q->port)
                  : NULL;
}

/* A path goes into the request line as it is: no whitespace or control
 * characters, which would end it or start another field. */
static bool good_path(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* A port given as a number is one (a service name goes to the resolver). */
static bool good_port(const char *p)
{
    if (*p < '0' || *p > '9')
        return *p != 0;
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    return !errno && !*end && v >= 0 && v <= 65535;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s HOST PORT [PATH]\n", argv[0]);
        return 2;
    }
    struct req q = {argv[1], argv[2], argc > 3 ? argv[3] : "/", false};
    if (!good_port(q.port)) {
        fprintf(stderr, "http_get: bad PORT '%s' (0 to 65535 or a name)\n",
                q.port);
        return 2;
    }
    if (!*q.path || !good_path(q.path)) {
        fprintf(stderr, "http_get: bad PATH (empty, or a space or control "
                        "character in it)\n");
        return 2;
    }
    /* coring's first write ignores SIGPIPE when it is at its default; know
     * now whether a closed stdout should end us the way SIGPIPE would. */
    struct sigaction old;
    sigaction(SIGPIPE, NULL, &old);
    const cor_error *err = NULL;
    cor_run_opts o = {.loops = 1, .error = &err};
    int rc = cor_run_ex(fetch, &q, &o, NULL);
    if (rc == COR_EINTERRUPTED) {
        cor_error_release(err);
        return 130;
    }
    if (rc == -EPIPE && q.write_failed && old.sa_handler == SIG_DFL) {
        cor_error_release(err);
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    if (rc < 0)
        fprintf(stderr, "http_get: %s: %s\n",
                err && *err->message ? err->message : "failed",
                cor_strerror(rc));
    cor_error_release(err);
    return rc < 0 ? 1 : 0;
}
