/* SPDX-License-Identifier: MIT */
/*
 * cat - write files (or stdin) to stdout, each read and write awaited on
 * the ring by one coroutine.
 *
 *     cat [FILE...]       ("-" or no FILE: standard input)
 *
 * Like cat(1): a file that cannot be read is named with the reason
 * ("cat: nofile: No such file or directory") and the others are still
 * written, then the exit status is 1; a file that is stdout itself, with
 * bytes left to read, is refused the same way ("cat: f: input file is output
 * file": cat f >> f would grow f until the disk is full); a closed stdout
 * (cat ... | head) ends it quietly, as SIGPIPE ends cat.
 */
#include <coring.h>

#include <fcntl.h>
#include <linux/stat.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct args {
    int argc;
    char **argv;
    int status;
};

/* The reason part of cor_strerror ("ENOENT: No such file or directory"). */
static const char *reason(int code)
{
    const char *s = cor_strerror(code);
    const char *r = strstr(s, ": ");
    return r ? r + 2 : s;
}

/* Copies in to stdout: 0, -errno of a read (*wrote false) or of a write
 * (*wrote true). */
static int copy_fd(int in, bool *wrote)
{
    static char buf[1 << 16];
    ssize_t n;
    /* COR_OFF_CUR: pipes and terminals have no offsets. */
    while ((n = cor_read(in, buf, sizeof buf, COR_OFF_CUR)) > 0) {
        ssize_t w = cor_write_all(STDOUT_FILENO, buf, (size_t)n, COR_OFF_CUR);
        if (w < 0) {
            *wrote = true;
            return (int)w;
        }
    }
    *wrote = false;
    return (int)n;
}

/* in is the regular file stdout writes to (out), with bytes left to read
 * from its offset on: copying it would feed it its own output forever. */
static bool is_output(int in, const struct statx *out)
{
    struct statx st;
    unsigned mask = STATX_TYPE | STATX_INO | STATX_SIZE;
    if (!S_ISREG(out->stx_mode) ||
        cor_statx(in, "", AT_EMPTY_PATH, mask, &st) < 0)
        return false;
    return st.stx_ino == out->stx_ino &&
           st.stx_dev_major == out->stx_dev_major &&
           st.stx_dev_minor == out->stx_dev_minor &&
           lseek(in, 0, SEEK_CUR) < (off_t)st.stx_size;
}

static void *cat_main(void *arg)
{
    struct args *a = arg;
    struct statx out;
    if (cor_statx(STDOUT_FILENO, "", AT_EMPTY_PATH,
                  STATX_TYPE | STATX_INO, &out) < 0)
        out.stx_mode = 0; /* not known: never refused as the output */
    char *dash[] = {"-"};
    char **files = a->argc > 1 ? a->argv + 1 : dash;
    int nfiles = a->argc > 1 ? a->argc - 1 : 1;
    for (int i = 0; i < nfiles; i++) {
        const char *name = files[i];
        bool is_stdin = strcmp(name, "-") == 0;
        int fd = is_stdin ? STDIN_FILENO : cor_open(name, O_RDONLY, 0);
        if (fd < 0) {
            fprintf(stderr, "cat: %s: %s\n", name, reason(fd));
            a->status = 1;
            continue;
        }
        if (is_output(fd, &out)) {
            fprintf(stderr, "cat: %s: input file is output file\n", name);
            a->status = 1;
            if (!is_stdin)
                cor_close(fd);
            continue;
        }
        bool wrote;
        int rc = copy_fd(fd, &wrote);
        if (!is_stdin)
            cor_close(fd);
        if (rc < 0 && wrote) /* stdout is gone: nothing more can be said */
            return cor_fail(rc, "write error: %s", reason(rc));
        if (rc < 0) {
            fprintf(stderr, "cat: %s: %s\n", name, reason(rc));
            a->status = 1;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct args a = {argc, argv, 0};
    /* coring's first write ignores SIGPIPE when it is at its default; know
     * now whether a closed pipe should end us the way it ends cat. */
    struct sigaction old;
    sigaction(SIGPIPE, NULL, &old);
    const cor_error *err = NULL;
    cor_run_opts o = {.loops = 1, .error = &err};
    int rc = cor_run_ex(cat_main, &a, &o, NULL);
    if (rc == -EPIPE && old.sa_handler == SIG_DFL) {
        cor_error_release(err);
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    if (rc < 0) {
        fprintf(stderr, "cat: %s\n", err && *err->message ? err->message
                                                          : reason(rc));
        a.status = 1;
    }
    cor_error_release(err);
    return a.status;
}
