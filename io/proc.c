/* SPDX-License-Identifier: MIT */
/*
 * proc.c - child processes.  posix_spawnp starts the child (with pipes
 * dup'ed onto its stdin, stdout and stderr when asked); a pidfd names it
 * from then on, so waiting is an IORING_OP_POLL_ADD on the pidfd (readable
 * once the child exits) followed by a non-blocking waitid that reaps it,
 * and signals go through pidfd_send_signal (never to a recycled pid).  The
 * parent's ends of the pipes are buffered streams.
 */
#include "io_internal.h"
#include "coring/proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid on a pidfd (Linux 5.4); not in glibc 2.36 */
#endif

extern char **environ;

/* A task inside cor_proc_wait or cor_proc_communicate (on its stack). */
struct proc_user {
    struct cor__list link; /* in p->users */
    struct cor_task *t;
    bool direct;       /* it waits only in the pidfd poll: safe to end */
};

struct cor_proc {
    struct cor_loop *loop;
    pid_t pid;
    int pidfd;
    bool reaped;
    int returncode;
    int fds[3];        /* the parent's pipe ends, or -1 */
    cor_writer *in;
    cor_reader *out, *err;
    struct cor__list users;
    bool freed;        /* cor_proc_free came while users were inside: the
                        * last to leave frees p */
};

/* Reap the child if it has exited: 1 once it is reaped, 0 while it runs,
 * or -errno. */
static int try_reap(struct cor_proc *p)
{
    if (p->reaped)
        return 1;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) <
        0) {
        if (errno != ECHILD)
            return -errno;
        /* Reaped elsewhere (SIGCHLD ignored, or a waitpid(-1) of the
         * program): its status is lost; 255, as asyncio reports it. */
        p->reaped = true;
        p->returncode = 255;
        return 1;
    }
    if (si.si_pid == 0)
        return 0;
    p->reaped = true;
    p->returncode = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
    return 1;
}

static void proc_release(struct cor_proc *p)
{
    cor_writer_free(p->in);
    cor_reader_free(p->out);
    cor_reader_free(p->err);
    for (int i = 0; i < 3; i++)
        if (p->fds[i] >= 0)
            close(p->fds[i]);
    if (p->pidfd >= 0) {
        try_reap(p);
        close(p->pidfd);
    }
    free(p);
}

static int spawn(cor_proc **out, const char *file, char *const argv[],
                 const cor_proc_opts *opts, const char *call)
{
    struct cor_loop *l = cor__need_task(call)->fut.loop;
    cor_proc_opts o = opts ? *opts : (cor_proc_opts){0};
    bool want[3] = {o.pipe_stdin, o.pipe_stdout, o.pipe_stderr};
    struct cor_proc *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->loop = l;
    p->pidfd = -1;
    p->fds[0] = p->fds[1] = p->fds[2] = -1;
    cor__list_init(&p->users);
    int child[3] = {-1, -1, -1};
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa); /* an errno, or 0 */
    if (rc) {
        free(p);
        return -rc;
    }
    for (int i = 0; i < 3 && !rc; i++) {
        int pp[2];
        if (!want[i])
            continue;
        if (pipe2(pp, O_CLOEXEC) < 0) {
            rc = errno;
            break;
        }
        /* The child reads its stdin, writes its stdout and stderr. */
        child[i] = i == 0 ? pp[0] : pp[1];
        p->fds[i] = i == 0 ? pp[1] : pp[0];
        rc = posix_spawn_file_actions_adddup2(&fa, child[i], i);
    }
    /* The child starts with SIGPIPE at its default (the io layer ignores
     * it in this process; an ignored signal would stay ignored across
     * exec) and nothing blocked, as asyncio's restore_signals does. */
    posix_spawnattr_t at;
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigemptyset(&none);
    if (!rc && !(rc = posix_spawnattr_init(&at))) {
        posix_spawnattr_setsigdefault(&at, &def);
        posix_spawnattr_setsigmask(&at, &none);
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF |
                                          POSIX_SPAWN_SETSIGMASK);
        rc = posix_spawnp(&p->pid, file, &fa, &at, argv, environ);
        posix_spawnattr_destroy(&at);
    }
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0)
            close(child[i]);
    if (!rc) {
        /* The child is unreaped, so its pid cannot have been reused --
         * unless SIGCHLD is ignored and the kernel reaped it already: a
         * pidfd that does not name a child of ours is not kept. */
        p->pidfd = pidfd_open(p->pid, 0);
        if (p->pidfd >= 0 &&
            waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &(siginfo_t){0},
                   WEXITED | WNOHANG | WNOWAIT) < 0 &&
            errno == ECHILD) {
            close(p->pidfd);
            p->pidfd = -1;
            errno = ESRCH;
        }
        if (p->pidfd < 0 && errno == ESRCH) {
            /* Already exited and reaped by the kernel (SIGCHLD ignored):
             * it ran, its status is lost (asyncio's 255). */
            p->reaped = true;
            p->returncode = 255;
        } else if (p->pidfd < 0) {
            rc = errno;
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
    }
    if (!rc && p->fds[0] >= 0 && !(rc = -cor_writer_open(&p->in, p->fds[0]))) {
        cor__writer_own_fd(p->in); /* closing stdin closes the pipe */
        p->fds[0] = -1;
    }
    if (!rc && p->fds[1] >= 0)
        rc = -cor_reader_open(&p->out, p->fds[1], 0);
    if (!rc && p->fds[2] >= 0)
        rc = -cor_reader_open(&p->err, p->fds[2], 0);
    if (rc) {
        if (p->pidfd >= 0) { /* no memory for a stream: undo the start */
            pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
            waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &(siginfo_t){0},
                   WEXITED);
            p->reaped = true;
        }
        proc_release(p);
        return -rc;
    }
    *out = p;
    return 0;
}

int cor_proc_exec(cor_proc **out, const char *const argv[],
                  const cor_proc_opts *opts)
{
    cor__need_task("cor_proc_exec");
    if (!out || !argv || !argv[0] || !argv[0][0])
        return -EINVAL;
    return spawn(out, argv[0], (char *const *)(uintptr_t)argv, opts,
                 "cor_proc_exec");
}

int cor_proc_shell(cor_proc **out, const char *cmd, const cor_proc_opts *opts)
{
    cor__need_task("cor_proc_shell");
    if (!out || !cmd)
        return -EINVAL;
    const char *argv[] = {"sh", "-c", cmd, NULL};
    return spawn(out, "/bin/sh", (char *const *)(uintptr_t)argv, opts,
                 "cor_proc_shell");
}

pid_t cor_proc_pid(const cor_proc *p)
{
    return p ? p->pid : -EINVAL;
}

cor_writer *cor_proc_stdin(cor_proc *p)
{
    return p ? p->in : NULL;
}

cor_reader *cor_proc_stdout(cor_proc *p)
{
    return p ? p->out : NULL;
}

cor_reader *cor_proc_stderr(cor_proc *p)
{
    return p ? p->err : NULL;
}

static void proc_release(struct cor_proc *p);

/* A call enters p (-EBADF once p was freed) and leaves it (freeing p if
 * cor_proc_free came meanwhile and it is the last inside).  Not inlined:
 * u is the caller's and user_leave unlinks it before the caller returns,
 * which GCC cannot follow (-Wdangling-pointer). */
static __attribute__((noinline)) int user_enter(struct cor_proc *p, struct proc_user *u,
                      const char *call, bool direct)
{
    struct cor_task *t = cor__io_home_task(p->loop, call);
    if (!t)
        return -EXDEV;
    if (p->freed)
        return -EBADF;
    u->t = t;
    u->direct = direct;
    cor__list_push(&p->users, &u->link);
    return 0;
}

static void user_leave(struct cor_proc *p, struct proc_user *u)
{
    cor__list_del(&u->link);
    if (p->freed && cor__list_empty(&p->users))
        proc_release(p);
}

static int wait_in(struct cor_proc *p, int *returncode)
{
    int reaped;
    while ((reaped = try_reap(p)) == 0) {
        if (p->freed)
            return -EBADF;
        /* The pidfd reads ready once the child has exited. */
        struct cor__op op;
        cor__op_begin(&op, "cor_proc_wait", COR__OP_POLL, p->pidfd);
        op.opflags = POLLIN;
        int rc = cor__op_wait(&op, -1);
        if (rc < 0)
            return rc;
    }
    if (reaped < 0)
        return reaped;
    if (returncode)
        *returncode = p->returncode;
    return 0;
}

int cor_proc_wait(cor_proc *p, int *returncode)
{
    if (!p)
        return -EINVAL;
    struct proc_user u;
    int rc = user_enter(p, &u, "cor_proc_wait", true);
    if (rc)
        return rc;
    rc = wait_in(p, returncode);
    user_leave(p, &u);
    return rc;
}

int cor_proc_returncode(const cor_proc *p, int *returncode)
{
    if (!p)
        return -EINVAL;
    if (!p->reaped)
        return -EBUSY;
    if (returncode)
        *returncode = p->returncode;
    return 0;
}

int cor_proc_signal(cor_proc *p, int sig)
{
    if (!p)
        return -EINVAL;
    if (p->reaped)
        return -ESRCH;
    return pidfd_send_signal(p->pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int cor_proc_terminate(cor_proc *p)
{
    return cor_proc_signal(p, SIGTERM);
}

int cor_proc_kill(cor_proc *p)
{
    return cor_proc_signal(p, SIGKILL);
}

/* One of the child's output streams read to its end (a task). */
struct drain {
    cor_reader *r;
    char *buf;
    ssize_t n;
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    d->n = cor_reader_read_all(d->r, &d->buf);
    return NULL;
}

static int communicate_in(struct cor_proc *p, const void *in, size_t len,
                          char **out, size_t *outlen, char **err,
                          size_t *errlen, int *returncode)
{
    struct drain d[2] = {{.r = p->out}, {.r = p->err}};
    cor_task *t[2] = {NULL, NULL};
    int rc = 0;
    /* Both outputs are read while the input is written: a child that
     * fills one pipe before reading the rest of its input would block. */
    for (int i = 0; i < 2 && !rc; i++)
        if (d[i].r)
            rc = cor_spawn_ex(&t[i], drain_main, &d[i], NULL);
    if (!rc && p->in) {
        int wrc = len ? cor_writer_write(p->in, in, len) : 0;
        cor_writer_close(p->in);
        int crc = cor_writer_wait_closed(p->in);
        rc = wrc ? wrc : crc;
        if (rc == -EPIPE) /* the child stopped reading: the rest dropped */
            rc = 0;
    }
    for (int i = 0; i < 2 && !rc; i++) {
        int a = t[i] ? cor_await(t[i], NULL) : 0;
        if (a < 0 && !cor_task_done(t[i]))
            rc = a; /* we were cancelled, or our deadline passed */
    }
    /* The readers use d on this stack: they end before we return. */
    cor_shield_begin();
    for (int i = 0; i < 2; i++) {
        if (!t[i])
            continue;
        if (!cor_task_done(t[i])) {
            cor_task_cancel(t[i]);
            cor_await(t[i], NULL);
        }
        cor_task_release(t[i]);
        if (!rc && d[i].n < 0)
            rc = (int)d[i].n;
    }
    cor_shield_end();
    if (!rc)
        rc = cor_proc_wait(p, returncode);
    char **dst[2] = {out, err};
    size_t *dlen[2] = {outlen, errlen};
    for (int i = 0; i < 2; i++) {
        if (rc || !dst[i] || d[i].n < 0) {
            free(d[i].buf);
            d[i].buf = NULL;
        }
        if (dst[i])
            *dst[i] = rc ? NULL : d[i].buf;
        if (dlen[i])
            *dlen[i] = rc || d[i].n < 0 ? 0 : (size_t)d[i].n;
    }
    return rc;
}

int cor_proc_communicate(cor_proc *p, const void *in, size_t len, char **out,
                         size_t *outlen, char **err, size_t *errlen,
                         int *returncode)
{
    if (!p || (!in && len))
        return -EINVAL;
    struct proc_user u;
    int rc = user_enter(p, &u, "cor_proc_communicate", false);
    if (rc)
        return rc;
    rc = communicate_in(p, in, len, out, outlen, err, errlen, returncode);
    user_leave(p, &u);
    return rc;
}

void cor_proc_free(cor_proc *p)
{
    if (!p)
        return;
    if (!cor__io_home_task(p->loop, "cor_proc_free"))
        return;
    if (cor__list_empty(&p->users)) {
        proc_release(p);
        return;
    }
    /* Calls waiting in other tasks return -EBADF (a communicate whose
     * shield is up sees it at its next step), and the last frees p. */
    p->freed = true;
    for (struct cor__list *n = p->users.next; n != &p->users; n = n->next) {
        struct proc_user *u = cor__container_of(n, struct proc_user, link);
        if (u->direct || !u->t->shield)
            cor__interrupt_wait(u->t, -EBADF);
    }
}
