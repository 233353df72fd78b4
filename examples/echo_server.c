/* SPDX-License-Identifier: MIT */
/*
 * echo_server - an echo (or HTTP hello) server on N loops, a coroutine per
 * connection, taking the peers' arguments so that the peers' benchmark
 * script can run it beside them:
 *
 *     echo_server echo|http PORT LOOPS [IDLE_SECONDS]
 *
 * Each loop has its own SO_REUSEPORT listener on 127.0.0.1:PORT (PORT 0: a
 * free port, printed on stderr).  The handler is plain sequential code:
 * read, answer, repeat.  It answers through a writer (asyncio's
 * transport.write): a reply is queued and sent by the loop from the send's
 * completions, so the handler waits for the next request only, never for
 * its own send (nor, past the writer's high-water mark, for a client that
 * does not read).  It reads through a receive stream: one armed
 * multishot recv into provided buffers per connection, which measured about
 * 6% more HTTP requests per server CPU-second than a cor_recv per read; on
 * a saturated loop, where the next request is already waiting, the stream
 * moves to plain non-blocking recvs and back (docs/api-io.md, "Receive
 * streams").
 *
 * http answers every request with "Hello, World!" and speaks HTTP/1.1 and
 * 1.0 as clients expect: keep-alive by default in 1.1 unless the request
 * says "Connection: close", close by default in 1.0 unless it says
 * "Connection: keep-alive" (the reply says so too); request bodies framed
 * by Content-Length; pipelined requests answered in order; 400 for a
 * malformed request (as soon as the bytes received show it, before its line
 * has ended), 431 for a head that does not fit the buffer, 501 for a
 * Transfer-Encoding, each followed by a close; a connection idle for
 * IDLE_SECONDS (default 60; 0: never) is closed, a request cut short
 * included.  Requests are parsed in place in the connection's buffer, with
 * no allocation per request, each byte of a head looked at once or twice.
 *
 * SIGTERM and SIGINT stop it gracefully (cor_server_shutdown): it stops
 * accepting, lets every connection finish what it received and closes it
 * cleanly, then exits 0.
 */
#include <coring.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define IN_CAP 16384  /* a request head must fit: else 431 */

#define HELLO "Hello, World!"
#define HEAD200 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" \
                "Content-Length: 13\r\n"
static const char R_KEEP[] = HEAD200 "\r\n" HELLO;
static const char R_KEEP10[] = HEAD200 "Connection: keep-alive\r\n\r\n" HELLO;
static const char R_CLOSE[] = HEAD200 "Connection: close\r\n\r\n" HELLO;
static const char R_400[] = "HTTP/1.1 400 Bad Request\r\n"
                            "Content-Length: 12\r\nConnection: close\r\n\r\n"
                            "Bad Request\n";
static const char R_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                            "Content-Length: 32\r\nConnection: close\r\n\r\n"
                            "Request Header Fields Too Large\n";
static const char R_501[] = "HTTP/1.1 501 Not Implemented\r\n"
                            "Content-Length: 16\r\nConnection: close\r\n\r\n"
                            "Not Implemented\n";
static const char R_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Send what is queued, then shut the write side (unless the task was
 * cancelled: then what is queued is dropped). */
static void writer_finish(cor_writer *w)
{
    cor_writer_close(w);
    cor_writer_wait_closed(w);
    cor_writer_free(w);
}

static void *echo(int fd, void *arg)
{
    (void)arg;
    char buf[IN_CAP];
    ssize_t n;
    cor_recv_stream *rs;
    cor_writer *w;
    if (cor_recv_stream_open(&rs, fd) < 0)
        return NULL;
    if (cor_writer_open(&w, fd) < 0) {
        cor_recv_stream_close(rs);
        return NULL;
    }
    /* The writer sends from the loop: the task goes on to the next read
     * and waits only while more than its high-water mark is queued. */
    while ((n = cor_recv_stream_read(rs, buf, sizeof buf)) > 0)
        if (cor_writer_write(w, buf, (size_t)n) < 0 || cor_writer_drain(w) < 0)
            break;
    writer_finish(w);
    cor_recv_stream_close(rs);
    return NULL;
}

/* ------------------------------------------------------- idle timeout -- */

/*
 * Idle connections: one sweeper task per loop ticks every quarter of the
 * timeout and cancels the connections that saw no bytes for five ticks
 * (between 1 and 1.25 timeouts).  A connection only copies the tick when
 * bytes arrive: no clock read, no timer per request.  Everything here is
 * the loop's own (thread-local: a loop is a thread).
 */
struct conn {
    struct conn *prev, *next;
    cor_task *task;
    unsigned seen;
};

struct idle {
    struct conn head;
    unsigned tick;
    bool sweeping;
};

static __thread struct idle idle_list;
static double idle_seconds = 60;
#define IDLE_TICKS 5

static void *sweeper(void *arg)
{
    (void)arg;
    struct idle *il = &idle_list;
    while (cor_sleep(idle_seconds / 4) == 0) {
        il->tick++;
        for (struct conn *c = il->head.next; c != &il->head; c = c->next)
            if (il->tick - c->seen >= IDLE_TICKS)
                cor_task_cancel(c->task);
    }
    il->sweeping = false;
    return NULL;
}

static void conn_enter(struct conn *c)
{
    struct idle *il = &idle_list;
    if (!il->head.next)
        il->head.next = il->head.prev = &il->head;
    if (!il->sweeping) {
        cor_task *t = cor_spawn(sweeper, NULL);
        if (t) {
            il->sweeping = true;
            cor_task_release(t);
        }
    }
    c->task = cor_current_task();
    c->seen = il->tick;
    c->next = &il->head;
    c->prev = il->head.prev;
    c->prev->next = c;
    il->head.prev = c;
}

static void conn_leave(struct conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
}

/* --------------------------------------------------------------- HTTP -- */

enum { MORE, DONE, BAD, TOO_BIG, UNSUPPORTED };

/* What is known of the request being parsed; its head is in[pos..line). */
struct req {
    bool have_line;     /* the request line was parsed */
    bool http10;
    bool head_method;
    bool conn_close, conn_keep;
    bool expect100;
    bool te;
    bool have_len;
    int hosts;          /* Host fields seen */
    uint64_t len;       /* Content-Length */
};

struct http {
    cor_writer *w;      /* replies: queued, sent by the loop */
    cor_recv_stream *rs;
    size_t inlen;       /* bytes in in[] */
    size_t pos;         /* the request being parsed starts here */
    size_t line;        /* the first line not parsed yet */
    uint64_t body_left; /* request body bytes still to skip */
    struct req r;
    char in[IN_CAP + 1]; /* and the parser's sentinel */
};

/* RFC 9110 token characters: letters, digits and !#$%&'*+-.^_`|~ */
static const bool TOKEN[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1,
    ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1,
    ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,
    ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1,
    ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

static inline bool tchar(unsigned char ch)
{
    return TOKEN[ch];
}

/* Unaligned loads, for comparing names and the version a word at a time
 * (a load of a string literal folds to a constant). */
static inline uint64_t load8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * The token a[0..n) equals the string literal lit (lower case letters and
 * '-', n >= 4) in any case.  Bytes are folded with 0x20 a word at a
 * time (words may overlap): among token characters that lowers the letters
 * and maps nothing else onto a letter or '-' ('^' and '_' become '~' and
 * DEL), so the comparison is exact.
 */
#define name_is(a, n, lit)                                                 \
    ((n) == sizeof(lit) - 1 && name_eq(a, lit, sizeof(lit) - 1))

static inline bool name_eq(const char *a, const char *lit, size_t n)
{
    if (n < 8)
        return ((load4(a) | 0x20202020u) == load4(lit)) &&
               ((load4(a + n - 4) | 0x20202020u) == load4(lit + n - 4));
    for (size_t i = 0; i + 8 < n; i += 8)
        if ((load8(a + i) | 0x2020202020202020u) != load8(lit + i))
            return false;
    return (load8(a + n - 8) | 0x2020202020202020u) == load8(lit + n - 8);
}

/* a[0..n) equals the string literal lit (lower case) in any case (values
 * are not tokens: byte by byte). */
#define ieq(a, n, lit) ((n) == sizeof(lit) - 1 && ieq_n(a, lit, sizeof(lit) - 1))

static inline bool ieq_n(const char *a, const char *lit, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if ((c >= 'A' && c <= 'Z' ? c | 0x20 : c) != (unsigned char)lit[i])
            return false;
    }
    return true;
}

/*
 * The parsers below read one line from *p, end at the end of what was
 * received: MORE when the line is not all here (nothing is kept: it is
 * read again from its start), BAD as soon as the bytes here make it
 * malformed, DONE with *p past its LF.  A line ends with CRLF or a bare
 * LF (RFC 9112 allows it).  *end is a NUL, which no scan of a token, a
 * target or a line end goes past: the scans need no bound of their own.
 */

/* The end of a line whose content ends at q: CRLF or LF. */
static int line_end(const char **p, const char *q, const char *end)
{
    if (*q == '\r')
        q++;
    if (q == end)
        return MORE;
    if (*q != '\n')
        return BAD;
    *p = q + 1;
    return DONE;
}

/* A token from *q that ends at the byte delim (*q is left there). */
static inline int token(const char **q, const char *end, char delim)
{
    const char *s = *q, *e = s;
    while (tchar((unsigned char)*e))
        e++;
    if (e == end)
        return MORE;
    if (e == s || *e != delim)
        return BAD;
    *q = e;
    return DONE;
}

/* "METHOD SP TARGET SP HTTP/1.x" */
static int parse_request_line(struct req *r, const char **p, const char *end)
{
    const char *s = *p, *q = s;
    if (end - s >= 4 && load4(s) == load4("GET ")) { /* the most common */
        r->head_method = false;
        q += 3;
    } else {
        int rc = token(&q, end, ' ');
        if (rc != DONE)
            return rc;
        r->head_method = q - s == 4 && memcmp(s, "HEAD", 4) == 0;
    }
    const char *t = ++q;
    while ((unsigned char)*q > ' ' && *q != 0x7f)
        q++;
    if (q == end)
        return MORE;
    if (q == t || *q != ' ')
        return BAD;
    q++;
    if (end - q < 8) /* MORE while what is here can still be a version */
        return memcmp(q, "HTTP/1.", (size_t)(end - q) < 7 ? (size_t)(end - q)
                                                          : 7)
                   ? BAD
                   : MORE;
    uint64_t v = load8(q);
    if (v == load8("HTTP/1.1"))
        r->http10 = false;
    else if (v == load8("HTTP/1.0"))
        r->http10 = true;
    else
        return BAD;
    int rc = line_end(p, q + 8, end);
    if (rc == DONE)
        r->have_line = true;
    return rc;
}

/* "Connection: close, upgrade": the tokens we act on. */
static void parse_connection(struct req *r, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t t = i;
        while (i < n && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (ieq(v + t, i - t, "close"))
            r->conn_close = true;
        else if (ieq(v + t, i - t, "keep-alive"))
            r->conn_keep = true;
    }
}

static int parse_length(struct req *r, const char *v, size_t n)
{
    uint64_t len = 0;
    if (n == 0 || n > 18) /* up to 10^18 - 1: no overflow */
        return BAD;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return BAD;
        len = len * 10 + (uint64_t)(v[i] - '0');
    }
    if (r->have_len && r->len != len)
        return BAD;
    r->have_len = true;
    r->len = len;
    return DONE;
}

/* The value of a field we act on, without the whitespace around it; false
 * for control characters in it. */
static bool field_value(const char *s, size_t n, const char **v, size_t *vn)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    while (n > i && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    for (size_t k = i; k < n; k++)
        if (((unsigned char)s[k] < ' ' && s[k] != '\t') || s[k] == 0x7f)
            return false;
    *v = s + i;
    *vn = n - i;
    return true;
}

/* "name: value": the fields that frame or end the request are read, the
 * others only checked for a well-formed name (no allocation, no copy).
 * The name is tokens up to the colon: a line without one, an empty name, a
 * space before the colon (or a fold) are all BAD.  The fields we act on
 * are told apart by the name's length first. */
static int parse_field(struct req *r, const char **p, const char *end)
{
    const char *s = *p, *q = s;
    int rc = token(&q, end, ':');
    if (rc != DONE)
        return rc;
    size_t n = (size_t)(q - s);
    const char *v = q + 1;
    const char *nl = memchr(v, '\n', (size_t)(end - v));
    if (!nl)
        return MORE;
    *p = nl + 1;
    size_t vn = (size_t)(nl - v);
    if (vn && v[vn - 1] == '\r')
        vn--;
    enum { OTHER, CONNECTION, LENGTH, TE, EXPECT } f = OTHER;
    switch (n) {
    case 4:
        if (name_is(s, n, "host")) /* only counted */
            return ++r->hosts > 1 ? BAD : DONE;
        return DONE;
    case 6:
        f = name_is(s, n, "expect") ? EXPECT : OTHER;
        break;
    case 10:
        f = name_is(s, n, "connection") ? CONNECTION : OTHER;
        break;
    case 14:
        f = name_is(s, n, "content-length") ? LENGTH : OTHER;
        break;
    case 17:
        f = name_is(s, n, "transfer-encoding") ? TE : OTHER;
        break;
    }
    if (f == OTHER)
        return DONE;
    if (!field_value(v, vn, &v, &vn))
        return BAD;
    switch (f) {
    case CONNECTION:
        parse_connection(r, v, vn);
        break;
    case LENGTH:
        return parse_length(r, v, vn);
    case TE:
        r->te = true;
        break;
    case EXPECT:
        r->expect100 = r->expect100 || ieq(v, vn, "100-continue");
        break;
    default:
        break;
    }
    return DONE;
}

/*
 * Parses the request head from h->line on: MORE (the head is not all
 * here; the lines parsed are kept, h->line is the first one not), DONE
 * (h->line is past the empty line), BAD, UNSUPPORTED.  Empty lines before
 * a request line are skipped.  The lines are read in place, each once:
 * mostly a byte at a time, with the end of a field's value found by
 * memchr.
 */
static int parse_head(struct http *h)
{
    char *in = h->in, *end = h->in + h->inlen;
    const char *p = in + h->line;
    int rc;
    *end = 0; /* the sentinel */
    if (!h->r.have_line) {
        for (;;) { /* empty lines before the request */
            const char *q = p;
            if (*q == '\r')
                q++;
            if (q == end)
                return MORE;
            if (*q != '\n')
                break;
            p = q + 1;
            h->pos = h->line = (size_t)(p - in);
        }
        rc = parse_request_line(&h->r, &p, end);
        if (rc != DONE)
            return rc;
        h->line = (size_t)(p - in);
    }
    for (;;) {
        if (p == end)
            return MORE;
        if (*p == '\r' || *p == '\n') { /* the empty line */
            rc = line_end(&p, p, end);
            if (rc != DONE)
                return rc;
            h->line = (size_t)(p - in);
            if (!h->r.http10 && h->r.hosts != 1)
                return BAD; /* HTTP/1.1 requires one Host */
            if (h->r.te)
                return h->r.have_len ? BAD : UNSUPPORTED;
            return DONE;
        }
        rc = parse_field(&h->r, &p, end);
        if (rc != DONE)
            return rc;
        h->line = (size_t)(p - in);
    }
}

/* The reply to a complete request; false when the connection ends. */
static inline bool reply(struct http *h)
{
    struct req *r = &h->r;
    bool keep = r->http10 ? r->conn_keep && !r->conn_close : !r->conn_close;
    const char *resp = !keep ? R_CLOSE : r->http10 ? R_KEEP10 : R_KEEP;
    size_t len = !keep ? sizeof R_CLOSE - 1
                 : r->http10 ? sizeof R_KEEP10 - 1 : sizeof R_KEEP - 1;
    if (r->head_method)
        len -= sizeof HELLO - 1;
    *r = (struct req){0};
    return cor_writer_write(h->w, resp, len) == 0 && keep;
}

/*
 * The last reply was sent: stop sending, then read what the client still
 * sends for a moment, so that closing does not reset the connection and
 * destroy the reply before the client has read it.
 */
static void close_gently(struct http *h)
{
    cor_writer_close(h->w);
    if (cor_writer_wait_closed(h->w) < 0)
        return;
    cor_timeout_scope ts;
    if (cor_timeout_begin(&ts, 1.0) < 0)
        return;
    for (size_t drained = 0; drained < (1 << 20);) {
        ssize_t n = cor_recv_stream_read(h->rs, h->in, IN_CAP);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
    cor_timeout_end(&ts);
}

static void serve_http(struct http *h, struct conn *c)
{
    for (;;) {
        ssize_t n = cor_recv_stream_read(h->rs, h->in + h->inlen,
                                         IN_CAP - h->inlen);
        if (n <= 0)
            return;
        c->seen = idle_list.tick;
        h->inlen += (size_t)n;
        for (;;) {
            if (h->body_left) {
                size_t take = h->inlen - h->pos;
                if (take > h->body_left)
                    take = (size_t)h->body_left;
                h->pos += take;
                h->line = h->pos;
                h->body_left -= take;
                if (h->body_left)
                    break;
                if (!reply(h)) {
                    close_gently(h);
                    return;
                }
                continue;
            }
            int rc = parse_head(h);
            if (rc == MORE)
                break;
            if (rc != DONE) {
                if (cor_writer_write(h->w, rc == BAD ? R_400 : R_501,
                                     rc == BAD ? sizeof R_400 - 1
                                               : sizeof R_501 - 1) == 0)
                    close_gently(h);
                return;
            }
            h->pos = h->line;
            h->body_left = h->r.len;
            if (h->body_left && h->r.expect100 && h->inlen == h->pos &&
                cor_writer_write(h->w, R_100, sizeof R_100 - 1) < 0)
                return;
            if (!h->body_left && !reply(h)) {
                close_gently(h);
                return;
            }
            if (h->pos == h->inlen)
                break; /* most often: all read, nothing to parse */
        }
        /* Replies are queued; wait only while more than the writer's
         * high-water mark is (a client that does not read). */
        if (cor_writer_drain(h->w) < 0)
            return;
        /* Keep the unparsed tail at the start of the buffer. */
        if (h->pos) {
            if (h->pos < h->inlen) /* most often everything was read */
                memmove(h->in, h->in + h->pos, h->inlen - h->pos);
            h->inlen -= h->pos;
            h->line -= h->pos;
            h->pos = 0;
        }
        if (h->inlen == IN_CAP) { /* a head that does not fit */
            if (cor_writer_write(h->w, R_431, sizeof R_431 - 1) == 0)
                close_gently(h);
            return;
        }
    }
}

static void *http(int fd, void *arg)
{
    (void)arg;
    struct http h;
    h.inlen = h.pos = h.line = 0;
    h.body_left = 0;
    h.r = (struct req){0};
    if (cor_recv_stream_open(&h.rs, fd) < 0)
        return NULL;
    if (cor_writer_open(&h.w, fd) < 0) {
        cor_recv_stream_close(h.rs);
        return NULL;
    }
    struct conn c;
    bool timed = idle_seconds > 0;
    if (timed)
        conn_enter(&c);
    serve_http(&h, &c);
    if (timed)
        conn_leave(&c);
    writer_finish(h.w);
    cor_recv_stream_close(h.rs);
    return NULL;
}

/* ------------------------------------------------------------- main ---- */

struct cfg {
    cor_conn_fn *fn;
    int port, loops;
};

static void *serve(void *arg)
{
    struct cfg *c = arg;
    cor_server *s;
    cor_server_opts o = {.loops = c->loops, .nodelay = true};
    int rc = cor_server_start(&s, "127.0.0.1", c->port, c->fn, NULL, &o);
    if (rc < 0)
        return cor_fail(rc, "cannot serve on port %d", c->port);
    fprintf(stderr, "coring: serving on 127.0.0.1:%d with %d loop(s)\n",
            cor_server_port(s), c->loops);
    /* SIGTERM or Ctrl-C: drain.  No new connections; each connection reads
     * the end of its stream once its handler wants the next request, so a
     * client gets the replies to what it sent and then a clean close (FIN),
     * not a reset; handlers still busy after 5 s are cancelled. */
    int sigs[] = {SIGTERM, SIGINT};
    int sig = cor_signal_wait_any(sigs, 2);
    int left = cor_server_shutdown(s, 5 * 1000000000LL);
    fprintf(stderr, "coring: %s, drained (%d connection(s) cut)\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT", left);
    return NULL;
}

/* A decimal number from min to max, all of s; else -1. */
static long parse_num(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5 ||
        (strcmp(argv[1], "echo") && strcmp(argv[1], "http"))) {
        fprintf(stderr, "usage: %s echo|http PORT LOOPS [IDLE_SECONDS]\n",
                argv[0]);
        return 2;
    }
    char *end;
    struct cfg c = {.fn = strcmp(argv[1], "http") ? echo : http,
                    .port = (int)parse_num(argv[2], 0, 65535),
                    .loops = (int)parse_num(argv[3], 1, 1024)};
    if (argc > 4) {
        idle_seconds = strtod(argv[4], &end);
        if (*end || end == argv[4] || !(idle_seconds >= 0) ||
            idle_seconds > 1e6) {
            fprintf(stderr, "bad IDLE_SECONDS\n");
            return 2;
        }
    }
    if (c.port < 0 || c.loops < 0) {
        fprintf(stderr, "bad PORT (0 to 65535) or LOOPS (1 to 1024)\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const cor_error *err = NULL;
    cor_run_opts o = {.loops = c.loops, .error = &err};
    int rc = cor_run_ex(serve, &c, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "echo_server: %s%s%s\n",
                err && *err->message ? err->message : "",
                err && *err->message ? ": " : "", cor_strerror(rc));
    cor_error_release(err);
    return rc < 0 ? 1 : 0;
}
