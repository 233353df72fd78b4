/* SPDX-License-Identifier: MIT */
/*
 * test_io_file.c - files on the ring: open/read/write at an offset and at
 * the current position, readv/writev, fsync, statx, the directory
 * operations, short reads at end of file, O_DIRECT, bad input, and a
 * 256 MiB copy with 64 operations in flight compared byte for byte.
 */
#include "harness.h"
#include "internal.h"

#include <fcntl.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int mkdir_tmp(void **state)
{
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/coring-io-XXXXXX", t && *t ? t : "/tmp");
    h_setup(state);
    return mkdtemp(dir) ? 0 : -1;
}

static int rm_tmp(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return -1;
    return h_teardown(state);
}

static void path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void *basics(void *arg)
{
    (void)arg;
    char p[300], q[300], d[300];
    path(p, sizeof p, "a"), path(q, sizeof q, "b"), path(d, sizeof d, "d");
    int fd = cor_open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
    rec("open=%d", fd >= 0);
    rec("pwrite=%zd", cor_write(fd, "hello world", 11, 0));
    char buf[32] = {0};
    rec("pread=%zd %s", cor_read(fd, buf, 5, 6), buf);
    /* At the current position: the offset advances with each call. */
    ssize_t w1 = cor_write(fd, "AB", 2, COR_OFF_CUR);
    ssize_t w2 = cor_write(fd, "CD", 2, COR_OFF_CUR);
    rec("write cur=%zd %zd", w1, w2);
    memset(buf, 0, sizeof buf);
    rec("read all=%zd %s", cor_read(fd, buf, sizeof buf, 0), buf);
    /* Short read at the end, then 0. */
    ssize_t r1 = cor_read(fd, buf, 10, 6);
    ssize_t r2 = cor_read(fd, buf, 10, 11);
    rec("short=%zd eof=%zd", r1, r2);
    struct iovec iov[2] = {{"123", 3}, {"4567", 4}};
    rec("writev=%zd", cor_writev(fd, iov, 2, 20));
    char x[3] = {0}, y[5] = {0};
    struct iovec riov[2] = {{x, 2}, {y, 4}};
    rec("readv=%zd %s %s", cor_readv(fd, riov, 2, 20), x, y);
    int s1 = cor_fsync(fd);
    rec("fsync=%d fdatasync=%d", s1, cor_fdatasync(fd));
    struct statx st = {0};
    s1 = cor_statx(AT_FDCWD, p, 0, STATX_SIZE, &st);
    rec("statx=%d size=%llu", s1, (unsigned long long)st.stx_size);
    s1 = cor_close(fd);
    rec("close=%d again=%d", s1, cor_close(fd));
    s1 = cor_rename(p, q);
    rec("rename=%d gone=%d", s1, cor_open(p, O_RDONLY, 0));
    s1 = cor_mkdir(d, 0700);
    rec("mkdir=%d exists=%d", s1, cor_mkdir(d, 0700));
    s1 = cor_unlink(q, 0);
    rec("unlink=%d rmdir=%d", s1, cor_unlink(d, AT_REMOVEDIR));
    return NULL;
}

static void test_file_basics(void **state)
{
    (void)state;
    assert_int_equal(h_run(basics, NULL, 1), 0);
    assert_string_equal(rec_text(), "open=1\n"
                                    "pwrite=11\n"
                                    "pread=5 world\n"
                                    "write cur=2 2\n"
                                    "read all=11 ABCDo world\n"
                                    "short=5 eof=0\n"
                                    "writev=7\n"
                                    "readv=6 12 3456\n"
                                    "fsync=0 fdatasync=0\n"
                                    "statx=0 size=27\n"
                                    "close=0 again=-9\n"
                                    "rename=0 gone=-2\n"
                                    "mkdir=0 exists=-17\n"
                                    "unlink=0 rmdir=0\n");
}

static void *bad(void *arg)
{
    (void)arg;
    char buf[8];
    struct statx st;
    struct iovec iov = {buf, 8};
    rec("%zd %zd %zd %zd", cor_read(-1, buf, 8, 0), cor_write(-2, buf, 8, 0),
        cor_readv(-1, &iov, 1, 0), cor_read(1000000, buf, 8, 0));
    rec("%zd %zd %zd %zd", cor_read(0, NULL, 8, 0), cor_write(1, buf, 8, -7),
        cor_readv(0, NULL, 1, 0), cor_writev(1, &iov, 0, 0));
    rec("%d %d %d %d %d", cor_open(NULL, O_RDONLY, 0),
        cor_statx(AT_FDCWD, "x", 0, 0, NULL), cor_unlink("x", 12345),
        cor_fsync(-1), cor_close(-1));
    rec("%d", cor_statx(AT_FDCWD, "/nonexistent/x", 0, STATX_SIZE, &st));
    return NULL;
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(h_run(bad, NULL, 1), 0);
    assert_string_equal(rec_text(), "-9 -9 -9 -9\n"
                                    "-22 -22 -22 -22\n"
                                    "-22 -22 -22 -9 -9\n"
                                    "-2\n");
}

static void *direct(void *arg)
{
    (void)arg;
    char p[300];
    path(p, sizeof p, "direct");
    int fd = cor_open(p, O_RDWR | O_CREAT | O_DIRECT, 0600);
    if (fd == -EINVAL) { /* the file system has no O_DIRECT (tmpfs) */
        rec("skip");
        return NULL;
    }
    void *w = NULL, *r = NULL;
    if (posix_memalign(&w, 4096, 8192) || posix_memalign(&r, 4096, 8192))
        return NULL;
    memset(w, 0x5a, 8192);
    rec("write=%zd", cor_write(fd, w, 8192, 0));
    ssize_t n = cor_read(fd, r, 8192, 0);
    rec("read=%zd equal=%d", n, !memcmp(w, r, 8192));
    cor_close(fd);
    free(w);
    free(r);
    return NULL;
}

static void test_o_direct(void **state)
{
    (void)state;
    assert_int_equal(h_run(direct, NULL, 1), 0);
    if (strcmp(rec_text(), "skip\n") == 0)
        skip();
    assert_string_equal(rec_text(), "write=8192\nread=8192 equal=1\n");
}

/*
 * O_DIRECT reads are submitted one io_uring_enter each (file.c says why),
 * also on an fd from a plain open(2); buffered reads stay batched; a read
 * whose task is already cancelled never reaches the kernel.
 */
struct eager {
    int fd;
    void *buf[8];
    int ok;
};

static void *eager_reader(void *arg)
{
    struct eager *e = arg;
    int i = e->ok++;
    ssize_t n = cor_read(e->fd, e->buf[i], 4096, (int64_t)i * 4096);
    rec("%zd", n);
    return NULL;
}

static uint64_t enters_for_8(struct eager *e)
{
    cor_loop_stats a, b;
    cor_task *t[8];
    e->ok = 0;
    cor_loop_stats_get(&a);
    for (int i = 0; i < 8; i++)
        t[i] = cor_spawn(eager_reader, e);
    for (int i = 0; i < 8; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    cor_loop_stats_get(&b);
    return b.enters - a.enters;
}

static void *eager(void *arg)
{
    (void)arg;
    char p[300];
    path(p, sizeof p, "eager");
    struct eager e = {0};
    for (int i = 0; i < 8; i++)
        if (posix_memalign(&e.buf[i], 4096, 4096))
            return NULL;
    int fd = open(p, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rec("skip");
        return NULL;
    }
    for (int i = 0; i < 8; i++) { /* O_DIRECT: aligned buffers only */
        memset(e.buf[i], 'a' + i, 4096);
        if (pwrite(fd, e.buf[i], 4096, (off_t)i * 4096) != 4096)
            rec("pwrite failed");
    }
    fsync(fd);
    for (int i = 0; i < 8; i++)
        memset(e.buf[i], 0, 4096);
    e.fd = fd;
    uint64_t direct = enters_for_8(&e);
    int same = 1;
    for (int i = 0; i < 8; i++)
        same &= ((char *)e.buf[i])[4095] == 'a' + i;
    rec("direct enters>=8=%d data=%d", direct >= 8, same);
    int bfd = open(p, O_RDONLY | O_CLOEXEC);
    e.fd = bfd;
    uint64_t buffered = enters_for_8(&e);
    rec("buffered enters<8=%d", buffered < 8);
    close(bfd);
    e.fd = fd;
    cor_task_cancel(cor_current_task());
    rec("cancelled=%zd", cor_read(fd, e.buf[0], 4096, 0));
    close(fd);
    for (int i = 0; i < 8; i++)
        free(e.buf[i]);
    return NULL;
}

static void test_o_direct_eager(void **state)
{
    (void)state;
    H_NEED_URING();
    h_run(eager, NULL, 1);
    if (strcmp(rec_text(), "skip\n") == 0)
        skip();
    assert_string_equal(rec_text(), "4096\n4096\n4096\n4096\n4096\n4096\n"
                                    "4096\n4096\ndirect enters>=8=1 data=1\n"
                                    "4096\n4096\n4096\n4096\n4096\n4096\n"
                                    "4096\n4096\nbuffered enters<8=1\n"
                                    "cancelled=-125\n");
}

/* ------------------------------------------- a copy, 64 ops in flight -- */

#define COPY_SIZE (256u << 20)
#define CHUNK (256u << 10)
#define INFLIGHT 64

struct copy {
    int in, out;
    size_t next;     /* the next chunk to claim (tasks share one loop) */
    size_t nchunks;
    int err;
    int inflight, peak;
};

static void *copier(void *arg)
{
    struct copy *c = arg;
    char *buf = malloc(CHUNK);
    while (buf && !c->err && c->next < c->nchunks) {
        int64_t off = (int64_t)(c->next++ * CHUNK);
        if (++c->inflight > c->peak)
            c->peak = c->inflight;
        ssize_t n = cor_read_full(c->in, buf, CHUNK, off);
        if (n > 0)
            n = cor_write_all(c->out, buf, (size_t)n, off);
        c->inflight--;
        if (n < 0)
            c->err = (int)n;
    }
    free(buf);
    return NULL;
}

static void *copy_main(void *arg)
{
    struct copy *c = arg;
    cor_task *t[INFLIGHT];
    for (int i = 0; i < INFLIGHT; i++)
        t[i] = cor_spawn(copier, c);
    for (int i = 0; i < INFLIGHT; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    return NULL;
}

static void test_copy_256m(void **state)
{
    (void)state;
    char src[300], dst[300];
    path(src, sizeof src, "src"), path(dst, sizeof dst, "dst");
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    uint32_t *block = malloc(1 << 20);
    for (uint32_t b = 0; b < COPY_SIZE >> 20; b++) {
        for (uint32_t i = 0; i < (1u << 18); i++)
            block[i] = (b << 18 | i) * 2654435761u;
        assert_int_equal(write(fd, block, 1 << 20), 1 << 20);
    }
    close(fd);
    struct copy c = {.nchunks = COPY_SIZE / CHUNK};
    c.in = open(src, O_RDONLY | O_CLOEXEC);
    c.out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_int_equal(h_run(copy_main, &c, 1), 0);
    close(c.in);
    close(c.out);
    assert_int_equal(c.err, 0);
    assert_int_equal(c.peak, INFLIGHT);
    /* Byte-exact: compare the two files block by block. */
    int a = open(src, O_RDONLY | O_CLOEXEC), b = open(dst, O_RDONLY | O_CLOEXEC);
    uint32_t *other = malloc(1 << 20);
    size_t total = 0;
    ssize_t n;
    while ((n = read(a, block, 1 << 20)) > 0) {
        assert_int_equal(read(b, other, (size_t)n), n);
        assert_memory_equal(block, other, (size_t)n);
        total += (size_t)n;
    }
    assert_int_equal(read(b, other, 1), 0);
    assert_int_equal(total, COPY_SIZE);
    close(a);
    close(b);
    free(block);
    free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_basics, mkdir_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(test_bad_input, mkdir_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(test_o_direct, mkdir_tmp, rm_tmp),
        cmocka_unit_test_setup_teardown(test_o_direct_eager, mkdir_tmp,
                                        rm_tmp),
        cmocka_unit_test_setup_teardown(test_copy_256m, mkdir_tmp, rm_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
