/* SPDX-License-Identifier: MIT */
/*
 * fixed.c - the server's connection fds on their loop: who owns each one,
 * and its socket in the ring's registered-file table.  An operation on a plain fd makes the kernel look the file up and
 * take a reference on it (fget/fput, two atomics on the file); on a
 * registered file it indexes a table instead.  A keep-alive connection does
 * thousands of sends, so each loop registers its server connections for as
 * long as their handler runs: cor__fixed_add when the connection task starts,
 * cor__fixed_del before the server closes the fd.
 *
 * The handler still gets a plain fd (setsockopt, getpeername and the rest
 * keep working); the io calls of that loop translate it (cor__fixed_apply).
 * The table is per loop: the same fd used from another loop takes the plain
 * path.  Registration is an IORING_OP_FILES_UPDATE on the ring (no syscall
 * of its own); removal is one too, submitted with the next batch, so the
 * socket's last reference goes (and its FIN leaves) at that submit.  When the
 * kernel refuses a table, or it is full, connections use their plain fd.
 *
 * Ownership is what lets the server close a connection's fd safely: a
 * handler that ends its connection with cor_close gives the number back
 * (another connection, or a file, may get it at once), and the server must
 * then not close that number again when the handler returns.
 */
#include "io_internal.h"

#include <stdlib.h>
#include <sys/resource.h>

/* Registered slots per loop (a sparse table: 8 bytes per slot in the
 * kernel until used); further connections take the plain path. */
#define FIXED_SLOTS 4096u

static void fixed_fini(struct cor__loop_slot *slot)
{
    struct cor__fixed *f = cor__container_of(slot, struct cor__fixed, slot);
    free(f->fds);
    free(f->free);
    free(f);
}

/* The kernel's table, once per loop; no free slots if it is refused. */
static void table_setup(struct cor_loop *l, struct cor__fixed *f)
{
    /* The kernel refuses a table larger than RLIMIT_NOFILE. */
    unsigned n = FIXED_SLOTS;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
        n = (unsigned)rl.rlim_cur;
    f->free = n ? malloc(n * sizeof *f->free) : NULL;
    if (!f->free || l->be->files_register(l, n) < 0) {
        free(f->free);
        f->free = NULL;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        f->free[i] = n - 1 - i; /* slot 0 on top */
    f->nfree = n;
}

/* The loop's record, made on first use (NULL: no memory). */
static struct cor__fixed *fixed_get(struct cor_loop *l)
{
    struct cor__fixed *f = l->user[COR__SLOT_FIXED];
    if (f || !(f = calloc(1, sizeof *f)))
        return f;
    f->slot.fini = fixed_fini;
    l->user[COR__SLOT_FIXED] = f;
    table_setup(l, f);
    return f;
}

static bool map_fit(struct cor__fixed *f, int fd)
{
    if ((unsigned)fd < f->nfds)
        return true;
    unsigned n = f->nfds ? f->nfds : 256;
    while (n <= (unsigned)fd)
        n *= 2;
    struct cor__fd_entry *m = realloc(f->fds, n * sizeof *m);
    if (!m)
        return false;
    for (unsigned i = f->nfds; i < n; i++)
        m[i] = (struct cor__fd_entry){0, NULL};
    f->fds = m;
    f->nfds = n;
    return true;
}

/* Put fd in a free slot of the table (suspends); 0 when done. */
static int slot_add(struct cor__fixed *f, int fd)
{
    if (!f->nfree)
        return -ENOSPC;
    unsigned slot = f->free[--f->nfree];
    int fds[1] = {fd}; /* read by the kernel at submit: we wait below */
    struct cor__op op;
    cor__op_begin(&op, "cor__conn_own", COR__OP_FILES_UPDATE, -1);
    op.addr = fds;
    op.len = 1;
    op.off = slot;
    int rc = cor__op_wait(&op, -1);
    if (rc != 1) {
        f->free[f->nfree++] = slot;
        return rc < 0 ? rc : -EIO;
    }
    f->fds[fd].slot1 = (int)slot + 1;
    cor__tls_loop->stats.fixed_files++;
    return 0;
}

/* Empty fd's slot, if it has one (never suspends). */
static void slot_del(struct cor_loop *l, struct cor__fixed *f, int fd)
{
    if (!f->fds[fd].slot1)
        return;
    unsigned slot = (unsigned)f->fds[fd].slot1 - 1;
    f->fds[fd].slot1 = 0;
    /* Emptied before any later registration reuses the slot. */
    l->be->files_unset(l, slot);
    f->free[f->nfree++] = slot;
    l->stats.fixed_files--;
}

int cor__conn_own(int fd, const void *owner)
{
    struct cor_loop *l = cor__need_task("cor__conn_own")->fut.loop;
    struct cor__fixed *f = fixed_get(l);
    if (!f || fd < 0 || !map_fit(f, fd))
        return -ENOMEM;
    /* A number still marked here was given back by a raw close(2). */
    slot_del(l, f, fd);
    f->fds[fd].owner = owner;
    slot_add(f, fd); /* no slot: the plain fd serves */
    return 0;
}

bool cor__conn_disown(int fd, const void *owner)
{
    struct cor_loop *l = cor__tls_loop;
    struct cor__fixed *f = l->user[COR__SLOT_FIXED];
    if (!f || (unsigned)fd >= f->nfds || f->fds[fd].owner != owner)
        return false;
    slot_del(l, f, fd);
    f->fds[fd].owner = NULL;
    return true;
}

void cor__fixed_forget(int fd)
{
    struct cor_loop *l = cor__tls_loop;
    struct cor__fixed *f = l ? l->user[COR__SLOT_FIXED] : NULL;
    if (!f || fd < 0 || (unsigned)fd >= f->nfds)
        return;
    slot_del(l, f, fd);
    f->fds[fd].owner = NULL;
}
