/* SPDX-License-Identifier: MIT */
/*
 * demo - the file row of `make demo`: a file read with many coroutines in
 * flight on one loop, each a plain sequential read loop.  (The network
 * part of `make demo`, one server loop against many, is
 * build/bench/netscale: docs/bench.md.)
 *
 *     demo
 */
#include <coring.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_MB 256
#define READERS 64

struct fileload {
    int fd;
    uint64_t next, blocks, bytes;
    int err;
};

static void *file_reader(void *arg)
{
    struct fileload *f = arg;
    char *b = malloc(128 << 10);
    if (!b)
        f->err = -ENOMEM;
    /* One loop: claiming the next block needs no atomics. */
    while (b && f->next < f->blocks && !f->err) {
        uint64_t blk = f->next++;
        ssize_t n = cor_read_full(f->fd, b, 128 << 10, (int64_t)(blk << 17));
        if (n < 0)
            f->err = (int)n;
        else
            f->bytes += (uint64_t)n;
    }
    free(b);
    return NULL;
}

static void *file_main(void *arg)
{
    struct fileload *f = arg;
    cor_task *t[READERS];
    for (int i = 0; i < READERS; i++)
        t[i] = cor_spawn(file_reader, f);
    for (int i = 0; i < READERS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

static int file_row(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/coring-demo-%d.dat",
             dir && *dir ? dir : "/tmp", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        printf("file read: cannot create %s\n", path);
        return 1;
    }
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < FILE_MB; i++)
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
            break;
    struct fileload f = {.fd = fd, .blocks = (uint64_t)FILE_MB * 8};
    int64_t t0 = cor_now_ns();
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(file_main, &f, &o, NULL);
    double wall = (double)(cor_now_ns() - t0) / 1e9;
    close(fd);
    unlink(path);
    if (rc < 0 || f.err < 0) {
        printf("file read failed: %s\n", cor_strerror(rc < 0 ? rc : f.err));
        return 1;
    }
    printf("file read: %d MiB (page cache) in 128 KiB reads, %d coroutines "
           "in flight on 1 loop:\n  %.0f MiB/s, %.0f reads/s\n",
           FILE_MB, READERS, (double)f.bytes / wall / (1 << 20),
           (double)f.blocks / wall);
    return 0;
}

int main(void)
{
    return file_row();
}
