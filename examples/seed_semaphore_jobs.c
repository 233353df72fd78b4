/* SPDX-License-Identifier: MIT */
/*
 * seed_semaphore_jobs - ten jobs limited to four at a time by a semaphore
 * (seed 003 async3): 10 s instead of 34.
 */
#include "seed_util.h"

static const int durations[] = {1, 5, 2, 3, 5, 2, 4, 4, 4, 4};
static int64_t t0;
static int running, peak;

struct job {
    long i;
    cor_sem *sem;
};

static void *process_image(void *arg)
{
    struct job *j = arg;
    COR_SEM_GUARD(g, j->sem);
    if (g.rc < 0)
        return cor_fail(g.rc, "acquire");
    running++;
    if (running > peak)
        peak = running;
    printf("t=%s image %ld: started (%d running)\n",
           SECS(cor_now_ns() - t0, 1.0), j->i, running);
    int rc = seed_sleep(durations[j->i]);
    running--;
    printf("t=%s image %ld: done\n", SECS(cor_now_ns() - t0, 1.0), j->i);
    return rc < 0 ? cor_fail(rc, "sleep") : (void *)j->i;
}

static void *main_task(void *arg)
{
    (void)arg;
    enum { N = sizeof durations / sizeof durations[0] };
    cor_sem *sem;
    int rc = cor_sem_create(&sem, 4);
    if (rc < 0)
        return cor_fail(rc, "semaphore");
    struct job jobs[N];
    cor_task *t[N];
    cor_future *fs[N];
    t0 = cor_now_ns();
    for (long i = 0; i < N; i++) {
        jobs[i] = (struct job){i, sem};
        t[i] = cor_spawn(process_image, &jobs[i]);
        fs[i] = cor_task_future(t[i]);
    }
    rc = cor_gather(fs, N, NULL, NULL, 0);
    int total = 0;
    for (int i = 0; i < N; i++)
        total += durations[i];
    printf("processed %d images in %s s (at most %d at a time; one after "
           "another would take %d s)\n",
           N, SECS(cor_now_ns() - t0, 1.0), peak, total);
    for (int i = 0; i < N; i++)
        cor_task_release(t[i]);
    cor_sem_destroy(sem);
    return rc < 0 ? cor_fail(rc, "gather") : NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    return cor_run(main_task, NULL) < 0;
}
