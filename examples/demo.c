/* SPDX-License-Identifier: MIT */
/*
 * demo - what coring is for, in one process and a few seconds:
 *
 *   1. an echo server on 1 loop, then on N loops (one per core), each driven
 *      over loopback by a load generator of its own (a second runtime in
 *      this process, on its own thread): messages/s, p99 round trip, server
 *      CPU;
 *   2. a file read with many coroutines in flight.
 *
 *     demo [seconds per run (3)]
 *
 * Every part is plain sequential code per coroutine: the server handler is
 * recv-then-send, each client is send-then-recv, each reader is a read loop.
 */
#include <coring.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CONNS 64
#define MSG 64
#define SAMPLES 4096 /* latency samples kept per connection (a ring) */

static double seconds = 3;

/* ------------------------------------------------------------ server ---- */

struct server_ctl {
    int loops;
    _Atomic int port;          /* > 0 once listening, < 0 on failure */
    _Atomic(cor_future *) stop; /* resolved by the load generator's thread */
};

static void *echo(int fd, void *arg)
{
    (void)arg;
    char buf[4096];
    ssize_t n;
    while ((n = cor_recv(fd, buf, sizeof buf, 0)) > 0)
        if (cor_send(fd, buf, (size_t)n, 0) < 0)
            break;
    return NULL;
}

static void *server_main(void *arg)
{
    struct server_ctl *c = arg;
    cor_future *stop;
    int rc = cor_future_create(&stop);
    cor_server *s = NULL;
    cor_server_opts o = {.loops = c->loops, .nodelay = true};
    if (rc == 0)
        rc = cor_server_start(&s, "127.0.0.1", 0, echo, NULL, &o);
    if (rc < 0) {
        if (stop)
            cor_future_release(stop);
        atomic_store(&c->port, rc);
        return NULL;
    }
    atomic_store(&c->stop, stop);
    atomic_store(&c->port, cor_server_port(s));
    cor_future_await(stop, NULL);
    cor_server_stop(s);
    cor_future_release(stop);
    return NULL;
}

static void *server_thread(void *arg)
{
    struct server_ctl *c = arg;
    cor_run_opts o = {.loops = c->loops};
    int rc = cor_run_ex(server_main, c, &o, NULL);
    if (rc < 0)
        atomic_store(&c->port, rc);
    return NULL;
}

/* ---------------------------------------------------- load generator ---- */

struct load {
    int port;
    int64_t end;
    uint64_t msgs;
    int errors;
    uint32_t *lat[CONNS];      /* round trips in ns */
    size_t nlat[CONNS];
    double client_cpu;         /* seconds of the generator's thread */
};

struct client {
    struct load *ld;
    int i;
};

static void *client(void *arg)
{
    struct client *c = arg;
    struct load *ld = c->ld;
    int fd = cor_tcp_connect("127.0.0.1", ld->port, 2000000000);
    if (fd < 0) {
        ld->errors++;
        return NULL;
    }
    char out[MSG], in[MSG];
    memset(out, 'a' + c->i % 26, sizeof out);
    while (cor_now_ns() < ld->end) {
        int64_t t0 = cor_now_ns();
        if (cor_send(fd, out, MSG, 0) != MSG) {
            ld->errors++;
            break;
        }
        size_t got = 0;
        while (got < MSG) {
            ssize_t n = cor_recv(fd, in + got, MSG - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != MSG) {
            ld->errors++;
            break;
        }
        ld->lat[c->i][ld->nlat[c->i]++ % SAMPLES] =
            (uint32_t)(cor_now_ns() - t0);
        ld->msgs++;
    }
    cor_close(fd);
    return NULL;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *load_main(void *arg)
{
    struct load *ld = arg;
    struct client cl[CONNS];
    cor_task *t[CONNS];
    double cpu0 = thread_cpu();
    ld->end = cor_now_ns() + (int64_t)(seconds * 1e9);
    for (int i = 0; i < CONNS; i++) {
        cl[i] = (struct client){ld, i};
        t[i] = cor_spawn(client, &cl[i]);
    }
    for (int i = 0; i < CONNS; i++) {
        cor_await(t[i], NULL);
        cor_task_release(t[i]);
    }
    ld->client_cpu = thread_cpu() - cpu0;
    return NULL;
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void echo_row(const char *label, int loops)
{
    struct server_ctl sc = {.loops = loops};
    pthread_t th;
    if (pthread_create(&th, NULL, server_thread, &sc)) {
        printf("%-22s could not start a thread\n", label);
        return;
    }
    while (atomic_load(&sc.port) == 0)
        usleep(1000); /* the server thread boots its loops */
    int port = atomic_load(&sc.port);
    if (port < 0) {
        pthread_join(th, NULL);
        printf("%-22s not available: %s\n", label, cor_strerror(port));
        return;
    }
    struct load ld = {.port = port};
    for (int i = 0; i < CONNS; i++)
        ld.lat[i] = calloc(SAMPLES, sizeof *ld.lat[i]);
    double cpu0 = process_cpu();
    int64_t t0 = cor_now_ns();
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(load_main, &ld, &o, NULL);
    double wall = (double)(cor_now_ns() - t0) / 1e9;
    double cpu = process_cpu() - cpu0 - ld.client_cpu;
    cor_future_set_result(atomic_load(&sc.stop), NULL);
    pthread_join(th, NULL);

    size_t n = 0;
    static uint32_t all[CONNS * SAMPLES];
    for (int i = 0; i < CONNS; i++) {
        size_t k = ld.nlat[i] < SAMPLES ? ld.nlat[i] : SAMPLES;
        memcpy(all + n, ld.lat[i], k * sizeof *all);
        n += k;
        free(ld.lat[i]);
    }
    qsort(all, n, sizeof *all, cmp_u32);
    double p99 = n ? all[(size_t)((double)n * 0.99)] / 1e3 : 0;
    if (rc < 0 || ld.errors)
        printf("%-22s load generator: %s, %d errors\n", label,
               cor_strerror(rc), ld.errors);
    printf("%-22s %12.0f %10.0f %11.0f%%\n", label, (double)ld.msgs / wall,
           p99, 100 * cpu / wall);
}

/* ----------------------------------------------------------- file read -- */

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

static void file_row(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/coring-demo-%d.dat",
             dir && *dir ? dir : "/tmp", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        printf("file read: cannot create %s\n", path);
        return;
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
        return;
    }
    printf("\nfile read: %d MiB (page cache) in 128 KiB reads, %d coroutines "
           "in flight on 1 loop:\n  %.0f MiB/s, %.0f reads/s\n",
           FILE_MB, READERS, (double)f.bytes / wall / (1 << 20),
           (double)f.blocks / wall);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        seconds = atof(argv[1]);
    if (seconds <= 0 || seconds > 600) {
        fprintf(stderr, "usage: %s [seconds per run]\n", argv[0]);
        return 2;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores > 1 ? (int)cores : 2;
    printf("coring demo: an echo server over loopback, %d connections of "
           "%d-byte\nping-pong from an in-process load generator, %.0f s "
           "per row\n\n",
           CONNS, MSG, seconds);
    printf("%-22s %12s %10s %12s\n", "server", "msgs/s", "p99 us",
           "server CPU");
    echo_row("echo, 1 loop", 1);
    char label[32];
    snprintf(label, sizeof label, "echo, %d loops", n);
    echo_row(label, n);
    file_row();
    printf("\nThe load generator shares this machine's %ld core(s) with the "
           "server.\nThe full comparison with raw liburing, epoll, libuv, Go "
           "and Python\nservers lives in docs/api-io.md (section "
           "\"Measured\"), with the command\nthat reproduces it.\n",
           cores);
    return 0;
}
