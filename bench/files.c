/* SPDX-License-Identifier: MIT */
/*
 * files - 4 KiB random reads of a 1 GiB file with 32 coroutines in flight,
 * with O_DIRECT and buffered (a hot page cache), beside fio's io_uring
 * engine at iodepth 32 on the same file, run by this same program and
 * interleaved with ours (coring, fio, coring, fio ...; medians of REPS).
 *
 *     build/bench/files [seconds per run (3)] [repetitions (3)]
 *
 * The file goes to $TMPDIR, else beside this executable, and is removed at
 * the end.  Output: `name: value unit` lines.
 */
#include <coring.h>

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_SIZE (1ull << 30)
#define BS 4096
#define DEPTH 32

static char path[PATH_MAX];
static double seconds = 3;

struct run {
    int fd;
    int64_t end;
    uint64_t ops;
    int err;
};

static void *reader(void *arg)
{
    struct run *r = arg;
    void *buf;
    if (posix_memalign(&buf, BS, BS))
        return cor_fail(-ENOMEM, "buffer");
    uint64_t x = (uint64_t)(uintptr_t)&buf ^ (uint64_t)cor_now_ns();
    while (cor_now_ns() < r->end) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int64_t off = (int64_t)((x % (FILE_SIZE / BS)) * BS);
        ssize_t n = cor_read(r->fd, buf, BS, off);
        if (n != BS) {
            r->err = n < 0 ? (int)n : -EIO;
            break;
        }
        r->ops++;
    }
    free(buf);
    return NULL;
}

static void *readers(void *arg)
{
    struct run *r = arg;
    cor_task *t[DEPTH];
    int64_t start = cor_now_ns();
    /* Half a second of warm-up, as fio's ramp_time below. */
    r->end = start + 500000000;
    for (int i = 0; i < DEPTH; i++)
        t[i] = cor_spawn(reader, r);
    for (int i = 0; i < DEPTH; i++)
        cor_await(t[i], NULL);
    r->ops = 0;
    start = cor_now_ns();
    r->end = start + (int64_t)(seconds * 1e9);
    for (int i = 0; i < DEPTH; i++) {
        cor_task_release(t[i]);
        t[i] = cor_spawn(reader, r);
    }
    for (int i = 0; i < DEPTH; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    r->end = cor_now_ns() - start; /* reused: the elapsed time */
    return NULL;
}

static double coring_iops(bool direct)
{
    struct run r = {0};
    r.fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (r.fd < 0)
        return -1;
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(readers, &r, &o, NULL);
    close(r.fd);
    if (rc < 0 || r.err < 0) {
        fprintf(stderr, "files: coring run failed: %s\n",
                cor_strerror(rc < 0 ? rc : r.err));
        return -1;
    }
    return (double)r.ops / ((double)r.end / 1e9);
}

/* fio's terse output: field 8 is the read IOPS. */
static double fio_iops(bool direct)
{
    char cmd[PATH_MAX + 512];
    snprintf(cmd, sizeof cmd,
             "fio --name=rand4k --filename='%s' --size=1G --ioengine=io_uring"
             " --rw=randread --bs=4k --iodepth=%d --direct=%d --time_based"
             " --runtime=%g --ramp_time=500ms --invalidate=0 --norandommap"
             " --randrepeat=0 --minimal 2>/dev/null",
             path, DEPTH, direct, seconds);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[8192];
    double v = -1;
    if (fgets(line, sizeof line, p)) {
        char *s = line, *f;
        for (int i = 1; (f = strsep(&s, ";")); i++)
            if (i == 8) {
                v = atof(f);
                break;
            }
    }
    pclose(p);
    return v;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int layout(void)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char *buf = malloc(1 << 20);
    for (size_t i = 0; i < (1 << 20); i++)
        buf[i] = (char)(i * 131 + 7);
    for (uint64_t off = 0; off < FILE_SIZE; off += 1 << 20)
        if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20) {
            free(buf);
            close(fd);
            return -1;
        }
    free(buf);
    fsync(fd);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 3;
    if (argc > 1)
        seconds = atof(argv[1]);
    if (argc > 2)
        reps = atoi(argv[2]);
    if (seconds <= 0 || reps <= 0 || reps > 100) {
        fprintf(stderr, "usage: %s [seconds] [repetitions]\n", argv[0]);
        return 2;
    }
    const char *dir = getenv("TMPDIR");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!dir || !*dir) {
        exe[n > 0 ? n : 0] = 0;
        dir = n > 0 ? dirname(exe) : ".";
    }
    snprintf(path, sizeof path, "%s/coring-files-bench.dat", dir);
    if (layout() < 0) {
        fprintf(stderr, "files: cannot write the 1 GiB file %s\n", path);
        unlink(path);
        return 1;
    }
    bool have_fio = system("fio --version >/dev/null 2>&1") == 0;
    if (!have_fio)
        fprintf(stderr, "files: fio not found (Debian package fio): "
                        "fio figures skipped\n");
    static const char *names[2][2] = {{"buffered_iops", "buffered_fio_iops"},
                                      {"direct_iops", "direct_fio_iops"}};
    for (int direct = 1; direct >= 0; direct--) {
        double ours[100], fio[100];
        for (int r = 0; r < reps; r++) { /* interleaved: same conditions */
            ours[r] = coring_iops(direct);
            fio[r] = have_fio ? fio_iops(direct) : -1;
        }
        qsort(ours, (size_t)reps, sizeof *ours, cmp);
        qsort(fio, (size_t)reps, sizeof *fio, cmp);
        double o = ours[reps / 2], f = fio[reps / 2];
        if (o >= 0)
            printf("%s: %.0f iops\n", names[direct][0], o);
        if (f >= 0) {
            printf("%s: %.0f iops\n", names[direct][1], f);
            if (o >= 0)
                printf("%s_ratio: %.3f x\n", direct ? "direct" : "buffered",
                       o / f);
        }
        fflush(stdout);
    }
    unlink(path);
    return 0;
}
