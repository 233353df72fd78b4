/* SPDX-License-Identifier: MIT */
/*
 * seed_exceptions_000 - seed 000's error handling: wait_for's timeout,
 * cancelling a task, gather keeping errors in place, and a task group's
 * group error.
 */
#include "seed_util.h"

static const double wait_for_n[5] = {0.5, 2.0, 1.0, 1.5, 2.0};
static int64_t t0;

static void section(const char *name)
{
    t0 = cor_now_ns();
    printf("--- %s\n", name);
}

#define LOG(level, ...)                                                        \
    (printf("t=%s %-5s ", SECS(cor_now_ns() - t0, 1), level),                  \
     printf(__VA_ARGS__), printf("\n"))

static void *number_task(void *arg)
{
    int n = IVAL(arg);
    int rc = seed_sleep(wait_for_n[n]);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    if (n == 2)
        return cor_fail(-EINVAL, "Met invalid value %d", n);
    return IARG(n);
}

static void *very_long_work(void *arg)
{
    (void)arg;
    LOG("INFO", "very long work started");
    int rc = seed_sleep(3600);
    if (rc < 0)
        return cor_fail(rc, "sleep");
    printf("SO SO SO SO SO LONG\n");
    return NULL;
}

static int timeout(void)
{
    int rc = cor_wait_for_fn(very_long_work, NULL, 2 * seed_scale(), NULL);
    if (rc == -ETIMEDOUT)
        LOG("ERROR", "timeout error: the task took too long");
    return rc == -ETIMEDOUT ? 0 : rc;
}

static int cancellation(void)
{
    cor_task *task = cor_spawn(very_long_work, NULL);
    if (!task)
        return -ENOMEM;
    int rc = seed_sleep(1);
    cor_task_cancel(task);
    if (rc == 0)
        rc = seed_sleep(1);
    if (rc == 0 && cor_await(task, NULL) == -ECANCELED)
        LOG("INFO", "Task was cancelled");
    cor_task_release(task);
    return rc;
}

static int handle_exceptions(void)
{
    cor_task *t[5];
    cor_future *fs[5];
    void *results[5];
    int status[5];
    LOG("INFO", "gather tasks started");
    for (int n = 0; n < 5; n++) {
        if (!(t[n] = cor_spawn(number_task, IARG(n))))
            return -ENOMEM;
        fs[n] = cor_task_future(t[n]);
    }
    int rc = cor_gather(fs, 5, results, status, COR_RETURN_ERRORS);
    if (rc < 0)
        return rc;
    char numbers[128] = "", errors[256] = "";
    size_t nl = 0, el = 0;
    for (int n = 0; n < 5; n++) {
        const cor_error *e = NULL;
        if (status[n] == 0)
            nl += (size_t)snprintf(numbers + nl, sizeof numbers - nl, "%s%d",
                                   nl ? ", " : "", IVAL(results[n]));
        else if (cor_task_error(t[n], &e) == 0 && e)
            el += (size_t)snprintf(errors + el, sizeof errors - el, "%s%s",
                                   el ? ", " : "", REPR(e));
        cor_task_release(t[n]);
    }
    LOG("INFO", "[%s]", numbers);
    LOG("ERROR", "[%s]", errors);
    return 0;
}

static int task_group_with_exceptions(void)
{
    LOG("INFO", "task group started");
    cor_group *g;
    int rc = cor_group_create(&g);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = cor_group_spawn(g, NULL, number_task, IARG(i));
    const cor_error *e = NULL;
    int jrc = cor_group_join(g, &e);
    if (rc == 0 && jrc < 0 && e) {
        LOG("ERROR", "ExceptionGroup with %zu sub-exception(s)", e->nchildren);
        char list[256] = "";
        size_t l = 0;
        for (size_t i = 0; i < e->nchildren; i++)
            l += (size_t)snprintf(list + l, sizeof list - l, "%s%s",
                                  i ? ", " : "", REPR(e->children[i]));
        LOG("ERROR", "[%s]", list);
    } else if (rc == 0) {
        rc = jrc;
    }
    cor_group_destroy(g);
    return rc;
}

static void *main_task(void *arg)
{
    (void)arg;
    struct { const char *name; int (*fn)(void); } parts[] = {
        {"timeout()", timeout},
        {"cancellation()", cancellation},
        {"handle_exceptions()", handle_exceptions},
        {"task_group_with_exceptions()", task_group_with_exceptions},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        section(parts[i].name);
        int rc = parts[i].fn();
        if (rc < 0)
            return cor_fail(rc, "%s", parts[i].name);
    }
    return NULL;
}

int main(void)
{
    return seed_run("seed_exceptions_000", main_task, NULL) < 0;
}
