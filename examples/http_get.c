/* SPDX-License-Identifier: MIT */
/*
 * http_get - fetch one URL path over HTTP/1.0 by host name and print the
 * response: the name is resolved on the executor and the addresses are
 * raced with Happy Eyeballs (cor_open_connection_name).  Ctrl-C cancels the
 * fetch (cor_run turns SIGINT into cancelling main).
 *
 *   http_get HOST PORT [PATH]        e.g. http_get localhost 8080 /
 */
#include <coring.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct req {
    const char *host, *port, *path;
};

/* The head, then Content-Length bytes of body (a keep-alive server does
 * not close), or everything to the end of the stream without one. */
static int print_response(cor_reader *r)
{
    char head[16384];
    ssize_t n = cor_reader_readuntil(r, "\r\n\r\n", 4, head, sizeof head - 1);
    if (n < 0)
        return (int)n;
    head[n] = 0;
    fwrite(head, 1, (size_t)n, stdout);
    long len = -1;
    for (char *p = head; (p = strchr(p, '\n')) != NULL;)
        if (strncasecmp(++p, "content-length:", 15) == 0)
            len = strtol(p + 15, NULL, 10);
    char *body = NULL;
    ssize_t got;
    if (len >= 0 && (body = malloc((size_t)len + 1)) != NULL) {
        size_t part = 0;
        got = cor_reader_readexactly(r, body, (size_t)len, &part);
        fwrite(body, 1, part, stdout);
    } else {
        got = cor_reader_read_all(r, &body);
        if (got > 0)
            fwrite(body, 1, (size_t)got, stdout);
    }
    free(body);
    return got < 0 ? (int)got : 0;
}

static void *fetch(void *arg)
{
    struct req *q = arg;
    cor_reader *r;
    cor_writer *w;
    int rc = cor_open_connection_name(q->host, q->port, NULL, &r, &w);
    if (rc < 0)
        return cor_fail(rc, "connecting to %s port %s", q->host, q->port);
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     q->path, q->host);
    if (n < 0 || (size_t)n >= sizeof head) {
        rc = -EINVAL;
    } else {
        cor_writer_write(w, head, (size_t)n);
        rc = print_response(r);
    }
    cor_writer_free(w);
    cor_reader_free(r);
    return rc < 0 ? cor_fail(rc, "reading from %s", q->host) : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s HOST PORT [PATH]\n", argv[0]);
        return 2;
    }
    struct req q = {argv[1], argv[2], argc > 3 ? argv[3] : "/"};
    int rc = cor_run(fetch, &q);
    if (rc == COR_EINTERRUPTED)
        return 130;
    if (rc < 0) {
        fprintf(stderr, "http_get: %s\n", cor_strerror(rc));
        return 1;
    }
    return 0;
}
