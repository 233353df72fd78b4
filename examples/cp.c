/* SPDX-License-Identifier: MIT */
/*
 * cp - copy a file with many reads and writes in flight: DEPTH coroutines
 * each claim the next chunk, read it at its offset and write it at the same
 * offset.  Plain sequential code per coroutine; the ring does the overlap.
 *
 *     cp SRC DST [DEPTH (64)] [CHUNK_KIB (256)]
 */
#include <coring.h>

#include <fcntl.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct copy {
    const char *src, *dst;
    int in, out;
    int depth;
    size_t chunk;
    uint64_t size, next;
    int err;
};

static void *worker(void *arg)
{
    struct copy *c = arg;
    char *buf = malloc(c->chunk);
    if (!buf)
        return cor_fail(-ENOMEM, "chunk buffer");
    /* One loop: claiming a chunk needs no atomics. */
    while (!c->err && c->next < c->size) {
        uint64_t off = c->next;
        c->next += c->chunk;
        size_t len = c->size - off < c->chunk ? c->size - off : c->chunk;
        ssize_t n = cor_read_full(c->in, buf, len, (int64_t)off);
        if (n >= 0 && (size_t)n != len)
            n = -EIO; /* the source shrank under us */
        if (n >= 0)
            n = cor_write_all(c->out, buf, len, (int64_t)off);
        if (n < 0 && !c->err)
            c->err = (int)n;
    }
    free(buf);
    return NULL;
}

static void *cp_main(void *arg)
{
    struct copy *c = arg;
    struct statx st;
    c->in = cor_open(c->src, O_RDONLY, 0);
    if (c->in < 0)
        return cor_fail(c->in, "%s", c->src);
    int rc = cor_statx(c->in, "", AT_EMPTY_PATH, STATX_SIZE | STATX_MODE, &st);
    if (rc < 0)
        return cor_fail(rc, "%s", c->src);
    c->size = st.stx_size;
    c->out = cor_open(c->dst, O_WRONLY | O_CREAT | O_TRUNC, st.stx_mode & 07777);
    if (c->out < 0)
        return cor_fail(c->out, "%s", c->dst);
    cor_task **t = calloc((size_t)c->depth, sizeof *t);
    if (!t)
        return cor_fail(-ENOMEM, "tasks");
    for (int i = 0; i < c->depth; i++)
        t[i] = cor_spawn(worker, c);
    for (int i = 0; i < c->depth; i++) {
        if (t[i]) {
            cor_await(t[i], NULL);
            cor_task_release(t[i]);
        }
    }
    free(t);
    if (!c->err)
        c->err = cor_close(c->out);
    cor_close(c->in);
    return c->err ? cor_fail(c->err, "copying %s to %s", c->src, c->dst)
                  : NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SRC DST [DEPTH] [CHUNK_KIB]\n", argv[0]);
        return 2;
    }
    struct copy c = {.src = argv[1], .dst = argv[2], .depth = 64,
                     .chunk = 256 << 10};
    if (argc > 3)
        c.depth = atoi(argv[3]);
    if (argc > 4)
        c.chunk = (size_t)atoi(argv[4]) << 10;
    if (c.depth <= 0 || c.depth > 4096 || c.chunk == 0) {
        fprintf(stderr, "bad DEPTH or CHUNK_KIB\n");
        return 2;
    }
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(cp_main, &c, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "cp: %s\n", cor_strerror(rc));
    return rc < 0 ? 1 : 0;
}
