/* SPDX-License-Identifier: MIT */
/*
 * cp - copy a file with many reads and writes in flight: DEPTH coroutines
 * each claim the next chunk, read it at its offset and write it at the same
 * offset.  Plain sequential code per coroutine; the ring does the overlap.
 *
 *     cp SRC DST [DEPTH (64)] [CHUNK_KIB (256)]
 *
 * Like cp(1): DST may be a directory (the copy is DST/basename(SRC)); a file
 * is never copied onto itself (the same device and inode, a hard link
 * included, checked again on the open files before the destination is
 * truncated); chunks of zeros between regular files are left as holes
 * (cp --sparse=always, at the chunk's size); the copy runs to the end of the source, whatever its size said
 * (a file of /proc says 0; a pipe has none: those are read in order by one
 * coroutine, as is a source copied to a pipe or a terminal, which has no
 * offsets to write chunks at); on failure the message names the file and the reason, the
 * exit status is 1 and a destination this run created or truncated is
 * removed.
 */
#include <coring.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct copy {
    const char *src, *dst;
    char dstbuf[PATH_MAX];
    int in, out;
    int depth;
    size_t chunk;
    bool at_offsets;  /* a regular file: chunks at offsets, in parallel */
    bool sparse;      /* chunks of zeros are left as holes in out */
    bool holes;       /* and one was */
    uint64_t next;    /* the next chunk to claim */
    uint64_t end;     /* the end of file, once a read has seen it */
    int err;          /* the first error, and the file it concerns */
    const char *err_what;
    const char *err_file;
};

/* The reason part of cor_strerror ("ENOENT: No such file or directory"). */
static const char *reason(int code)
{
    const char *s = cor_strerror(code);
    const char *r = strstr(s, ": ");
    return r ? r + 2 : s;
}

static void set_err(struct copy *c, int err, const char *what,
                    const char *file)
{
    if (!c->err) {
        c->err = err;
        c->err_what = what;
        c->err_file = file;
    }
}

/* Copies chunk after chunk until a read finds the end of the file.  One
 * loop runs every worker: claiming a chunk needs no atomics. */
static void *worker(void *arg)
{
    struct copy *c = arg;
    char *buf = malloc(c->chunk);
    if (!buf)
        return cor_fail(-ENOMEM, "no memory for a chunk of %zu bytes",
                        c->chunk);
    while (!c->err && c->next < c->end) {
        int64_t off = c->at_offsets ? (int64_t)c->next : COR_OFF_CUR;
        c->next += c->chunk;
        ssize_t n = cor_read_full(c->in, buf, c->chunk, off);
        if (n < 0) {
            set_err(c, (int)n, "error reading", c->src);
            break;
        }
        if ((size_t)n < c->chunk) { /* the end of the file */
            uint64_t end = c->at_offsets ? (uint64_t)off + (uint64_t)n : 0;
            if (end < c->end)
                c->end = end;
        }
        if (n == 0)
            break;
        /* A chunk of zeros stays a hole (cp --sparse): not written, and the
         * size is set once the end is known. */
        if (c->sparse && buf[0] == 0 && memcmp(buf, buf + 1, (size_t)n - 1) ==
                                            0) {
            c->holes = true;
            continue;
        }
        ssize_t w = cor_write_all(c->out, buf, (size_t)n, off);
        if (w < 0)
            set_err(c, (int)w, "error writing", c->dst);
    }
    free(buf);
    return NULL;
}

/* Runs the workers; 0, or the error of one that failed by itself. */
static int run_workers(struct copy *c, int n)
{
    cor_task **t = calloc((size_t)n, sizeof *t);
    if (!t)
        return -ENOMEM;
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (!(t[i] = cor_spawn(worker, c))) {
            set_err(c, -ENOMEM, "cannot start a worker for", c->src);
            break;
        }
    for (int i = 0; i < n && t[i]; i++) {
        int w = cor_await(t[i], NULL);
        if (w < 0 && !rc)
            rc = w;
        cor_task_release(t[i]);
    }
    free(t);
    return rc;
}

static bool same_file(const struct statx *a, const struct statx *b)
{
    return a->stx_ino == b->stx_ino && a->stx_dev_major == b->stx_dev_major &&
           a->stx_dev_minor == b->stx_dev_minor;
}

/* On the executor: truncating a large file frees its blocks. */
struct resize {
    int fd;
    off_t size;
};

static void *resize_job(void *arg)
{
    struct resize *r = arg;
    if (ftruncate(r->fd, r->size) < 0)
        return cor_job_fail(-errno, "truncating");
    return NULL;
}

static int resize(int fd, uint64_t size)
{
    struct resize r = {fd, (off_t)size};
    return cor_to_thread(resize_job, &r, NULL);
}

static void *cp_main(void *arg)
{
    struct copy *c = arg;
    struct statx st, dt;
    unsigned mask = STATX_TYPE | STATX_MODE | STATX_INO | STATX_SIZE;
    int rc = cor_statx(AT_FDCWD, c->src, 0, mask, &st);
    if (rc < 0)
        return cor_fail(rc, "cannot stat '%s': %s", c->src, reason(rc));
    if (S_ISDIR(st.stx_mode))
        return cor_fail(-EISDIR, "-r not specified; omitting directory '%s'",
                        c->src);
    rc = cor_statx(AT_FDCWD, c->dst, 0, mask, &dt);
    if (rc == 0 && S_ISDIR(dt.stx_mode)) {
        const char *base = strrchr(c->src, '/');
        base = base ? base + 1 : c->src;
        if (snprintf(c->dstbuf, sizeof c->dstbuf, "%s/%s", c->dst, base) >=
            (int)sizeof c->dstbuf)
            return cor_fail(-ENAMETOOLONG, "cannot copy to '%s/%s': %s",
                            c->dst, base, reason(-ENAMETOOLONG));
        c->dst = c->dstbuf;
        rc = cor_statx(AT_FDCWD, c->dst, 0, mask, &dt);
    }
    if (rc == 0 && same_file(&st, &dt))
        return cor_fail(-EINVAL, "'%s' and '%s' are the same file", c->src,
                        c->dst);
    c->in = cor_open(c->src, O_RDONLY | O_CLOEXEC, 0);
    if (c->in < 0)
        return cor_fail(c->in, "cannot open '%s' for reading: %s", c->src,
                        reason(c->in));
    /* Not truncated at the open: a name can mean the source only once the
     * source is open (/dev/stdout with stdout closed: the source takes fd
     * 1), so the files are compared again, open, before a byte is lost. */
    c->out = cor_open(c->dst, O_WRONLY | O_CREAT | O_CLOEXEC,
                      st.stx_mode & 07777);
    if (c->out < 0) {
        cor_close(c->in);
        return cor_fail(c->out, "cannot create regular file '%s': %s", c->dst,
                        reason(c->out));
    }
    bool out_stat = cor_statx(c->out, "", AT_EMPTY_PATH, mask, &dt) == 0;
    if (out_stat && cor_statx(c->in, "", AT_EMPTY_PATH, mask, &st) == 0 &&
        same_file(&st, &dt)) {
        cor_close(c->out);
        cor_close(c->in);
        return cor_fail(-EINVAL, "'%s' and '%s' are the same file", c->src,
                        c->dst);
    }
    /* Only a regular file is truncated, and removed on failure (never
     * /dev/full...). */
    bool removable = out_stat && S_ISREG(dt.stx_mode);
    if (removable && dt.stx_size > 0 && (rc = resize(c->out, 0)) < 0) {
        cor_close(c->out);
        cor_close(c->in);
        return cor_fail(rc, "cannot create regular file '%s': %s", c->dst,
                        reason(rc));
    }
    /* /proc files say size 0 and pipes have no offsets: one reader, in
     * order.  A regular file with a size: chunks at offsets, in parallel,
     * until a read finds the end (past the size if the file grew).  The
     * destination needs offsets too: a pipe or a terminal ignores them and
     * would get the chunks in the order they complete. */
    bool out_offsets = out_stat && (S_ISREG(dt.stx_mode) ||
                                    S_ISBLK(dt.stx_mode));
    c->at_offsets = S_ISREG(st.stx_mode) && st.stx_size > 0 && out_offsets;
    c->sparse = c->at_offsets && removable;
    c->end = UINT64_MAX;
    rc = run_workers(c, c->at_offsets ? c->depth : 1);
    if (rc < 0)
        set_err(c, rc, "cannot copy", c->src);
    if (!c->err && c->holes && (rc = resize(c->out, c->end)) < 0)
        set_err(c, rc, "error writing", c->dst);
    int crc = cor_close(c->out);
    if (crc < 0)
        set_err(c, crc, "error writing", c->dst);
    cor_close(c->in);
    if (!c->err)
        return NULL;
    /* What was written is not a copy: remove it. */
    if (removable)
        cor_unlink(c->dst, 0);
    return cor_fail(c->err, "%s '%s': %s", c->err_what, c->err_file,
                    reason(c->err));
}

/* A positive decimal number up to max, or -1. */
static long parse_count(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > max)
        return -1;
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: %s SRC DST [DEPTH] [CHUNK_KIB]\n", argv[0]);
        return 2;
    }
    struct copy c = {.src = argv[1], .dst = argv[2], .depth = 64,
                     .chunk = 256 << 10};
    if (argc > 3 && (c.depth = (int)parse_count(argv[3], 4096)) < 0) {
        fprintf(stderr, "cp: bad DEPTH '%s' (1 to 4096)\n", argv[3]);
        return 2;
    }
    long kib = argc > 4 ? parse_count(argv[4], 65536) : 256;
    if (kib < 0) {
        fprintf(stderr, "cp: bad CHUNK_KIB '%s' (1 to 65536)\n", argv[4]);
        return 2;
    }
    c.chunk = (size_t)kib << 10;
    const cor_error *err = NULL;
    cor_run_opts o = {.loops = 1, .error = &err};
    int rc = cor_run_ex(cp_main, &c, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "cp: %s\n", err && *err->message ? err->message
                                                         : reason(rc));
    cor_error_release(err);
    return rc < 0 ? 1 : 0;
}
