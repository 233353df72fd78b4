/* SPDX-License-Identifier: MIT */
/*
 * seed_connection - seed 002a example 5.1: a connection as an async context
 * manager (connect on enter, close on exit); inside, send and receive run
 * as two tasks and overlap: 6 s, not 8.
 */
#include "seed_util.h"

struct conn {
    const char *host;
    int port;
};

static int step(const char *before, const char *after)
{
    printf("%s\n", before);
    int rc = seed_sleep(2);
    if (rc == 0)
        printf("%s\n", after);
    return rc;
}

static void *put_data(void *arg)
{
    (void)arg;
    int rc = step("Sending data...", "Data sent.");
    return rc < 0 ? cor_fail(rc, "send") : NULL;
}

static void *get_data(void *arg)
{
    (void)arg;
    int rc = step("Receiving data...", "Data received.");
    return rc < 0 ? cor_fail(rc, "receive") : NULL;
}

/* __aexit__: await conn.close() */
static int conn_close(void *obj, int status)
{
    (void)obj;
    (void)status;
    return step("Closing the connection...", "Connection closed.");
}

/* __aenter__: conn = await get_conn(host, port) */
static int get_conn(struct conn *c)
{
    (void)c;
    return step("Connecting...", "Connected.");
}

static void *main_task(void *arg)
{
    (void)arg;
    int64_t start = cor_now_ns();
    struct conn conn = {"localhost", 9001};
    int rc = get_conn(&conn);
    if (rc < 0)
        return cor_fail(rc, "connect");
    {
        COR_SCOPE(scope, conn_close, &conn);
        cor_task *send_task = cor_spawn(put_data, &conn);
        cor_task *receive_task = cor_spawn(get_data, &conn);
        rc = send_task && receive_task ? 0 : -ENOMEM;
        if (rc == 0) /* send and receive run concurrently */
            rc = cor_await(send_task, NULL);
        if (rc == 0)
            rc = cor_await(receive_task, NULL);
        if (send_task)
            cor_task_release(send_task);
        if (receive_task)
            cor_task_release(receive_task);
        scope.status = rc;
    }
    if (rc < 0)
        return cor_fail(rc, "connection");
    printf("elapsed %s s\n", SECS(cor_now_ns() - start, 1));
    return NULL;
}

int main(void)
{
    return seed_run("seed_connection", main_task, NULL) < 0;
}
