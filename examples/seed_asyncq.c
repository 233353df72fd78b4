/* SPDX-License-Identifier: MIT */
/*
 * seed_asyncq - seed 002e asyncq.py: two producers and five consumers on a
 * queue; main waits for the producers, joins the queue, then cancels the
 * consumers.  The random sleeps and item ids are the seed trace's.
 */
#include "seed_util.h"

#include <string.h>

static const int items[2] = {3, 1};
static const char *const ids[4] = {"377b1e8f82", "413b8802f8", "06c055b3ab",
                                   "17a8613276"};
static int next_id;

/* successive randsleep() values per caller */
static const int producer_sleeps[2][3] = {{3, 5, 1}, {3}};
static const int consumer_sleeps[5][2] = {{4, 4}, {3, 3}, {3, 4}, {5}, {4, 5}};

struct item {
    const char *id;
    int64_t t; /* when it was put */
};

struct worker {
    int name;
    cor_queue *q;
};

static int randsleep(const char *kind, int name, int i)
{
    printf("%s %d sleeping for %d seconds.\n", kind, name, i);
    return seed_sleep(i);
}

static void *produce(void *arg)
{
    struct worker *w = arg;
    static struct item made[4];
    for (int k = 0; k < items[w->name]; k++) {
        int rc = randsleep("Producer", w->name, producer_sleeps[w->name][k]);
        if (rc < 0)
            return cor_fail(rc, "sleep");
        struct item *it = &made[next_id];
        *it = (struct item){ids[next_id++], cor_now_ns()};
        if ((rc = cor_queue_put(w->q, it)) < 0)
            return cor_fail(rc, "put");
        printf("Producer %d added <%s> to queue.\n", w->name, it->id);
    }
    return NULL;
}

static void *consume(void *arg)
{
    struct worker *w = arg;
    for (int k = 0;; k++) {
        int rc = randsleep("Consumer", w->name, consumer_sleeps[w->name][k]);
        void *p = NULL;
        if (rc == 0)
            rc = cor_queue_get(w->q, &p);
        if (rc < 0) /* cancelled by main once the queue is joined */
            return cor_fail(rc, "consumer %d", w->name);
        struct item *it = p;
        printf("Consumer %d got element <%s> in %s seconds.\n", w->name, it->id,
               SECS(cor_now_ns() - it->t, 1));
        cor_queue_task_done(w->q);
    }
}

static void *main_task(void *arg)
{
    int64_t *elapsed = arg, start = cor_now_ns();
    cor_queue *q;
    int rc = cor_queue_create(&q, NULL);
    if (rc < 0)
        return cor_fail(rc, "queue");
    struct worker prod[2], con[5];
    cor_task *producers[2], *consumers[5];
    for (int n = 0; n < 2; n++) {
        prod[n] = (struct worker){n, q};
        if (!(producers[n] = cor_spawn(produce, &prod[n])))
            return cor_fail(-ENOMEM, "spawn");
    }
    for (int n = 0; n < 5; n++) {
        con[n] = (struct worker){n, q};
        if (!(consumers[n] = cor_spawn(consume, &con[n])))
            return cor_fail(-ENOMEM, "spawn");
    }
    cor_future *fs[2] = {cor_task_future(producers[0]),
                         cor_task_future(producers[1])};
    if ((rc = cor_gather(fs, 2, NULL, NULL, 0)) < 0 ||
        (rc = cor_queue_join(q)) < 0) /* implicitly awaits consumers, too */
        return cor_fail(rc, "main");
    cor_future *cs[5];
    for (int n = 0; n < 5; n++) {
        cor_task_cancel(consumers[n]);
        cs[n] = cor_task_future(consumers[n]);
    }
    *elapsed = cor_now_ns() - start;
    /* the consumers leave the queue before it goes */
    rc = cor_wait(cs, 5, COR_ALL_COMPLETED, COR_NO_TIMEOUT, NULL);
    for (int n = 0; n < 5; n++)
        cor_task_release(consumers[n]);
    cor_task_release(producers[0]);
    cor_task_release(producers[1]);
    cor_queue_destroy(q);
    return rc < 0 ? cor_fail(rc, "wait") : NULL;
}

int main(void)
{
    int64_t elapsed = 0;
    if (seed_run("seed_asyncq", main_task, &elapsed) < 0)
        return 1;
    printf("Program completed in %s seconds.\n", SECS(elapsed, 1));
    return 0;
}
