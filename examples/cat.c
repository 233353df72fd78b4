/* SPDX-License-Identifier: MIT */
/*
 * cat - write files (or stdin) to stdout, each read and write awaited on
 * the ring by one coroutine.
 *
 *     cat [FILE...]
 */
#include <coring.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

struct args {
    int argc;
    char **argv;
};

static int copy_fd(int in)
{
    static char buf[1 << 16];
    ssize_t n;
    /* COR_OFF_CUR: pipes and terminals have no offsets. */
    while ((n = cor_read(in, buf, sizeof buf, COR_OFF_CUR)) > 0) {
        ssize_t w = cor_write_all(STDOUT_FILENO, buf, (size_t)n, COR_OFF_CUR);
        if (w < 0)
            return (int)w;
    }
    return (int)n;
}

static void *cat_main(void *arg)
{
    struct args *a = arg;
    if (a->argc < 2) {
        int rc = copy_fd(STDIN_FILENO);
        return rc < 0 ? cor_fail(rc, "reading stdin") : NULL;
    }
    for (int i = 1; i < a->argc; i++) {
        int fd = cor_open(a->argv[i], O_RDONLY, 0);
        if (fd < 0)
            return cor_fail(fd, "%s", a->argv[i]);
        int rc = copy_fd(fd);
        cor_close(fd);
        if (rc < 0)
            return cor_fail(rc, "%s", a->argv[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct args a = {argc, argv};
    cor_run_opts o = {.loops = 1};
    int rc = cor_run_ex(cat_main, &a, &o, NULL);
    if (rc < 0)
        fprintf(stderr, "cat: %s\n", cor_strerror(rc));
    return rc < 0 ? 1 : 0;
}
