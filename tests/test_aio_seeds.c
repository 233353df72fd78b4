/* SPDX-License-Identifier: MIT */
/*
 * The seeds' programs in C (examples/seed_*.c) print exactly what the
 * oracle's seeds/<name>.py print: each is run at TIME_SCALE=0.02 and its
 * stdout compared with expected/seeds/<name>.out; as the oracle's run.sh
 * does, a program that differs is run once more at 0.1 (a loaded machine
 * can shift a 20 ms step), and only a difference there fails.
 */
#include "aio_util.h"

static char *run_seed(const char *name, const char *scale)
{
    const char *dir = getenv("CORING_EXAMPLES");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "TIME_SCALE=%s '%s/seed_%s'", scale,
             dir ? dir : "examples", name);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2)
            out = realloc(out, cap *= 2);
    }
    out[len] = 0;
    int st = pclose(p);
    if (st != 0) {
        fprintf(stderr, "seed_%s exited with status %d\n", name, st);
        free(out);
        return NULL;
    }
    return out;
}

static void check_seed(const char *name)
{
    char *want = h_oracle_expected("seeds", name);
    if (!want)
        skip();
    char *got = run_seed(name, "0.02");
    assert_non_null(got);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "seed_%s differed at 0.02, retrying at 0.1\n", name);
        free(got);
        got = run_seed(name, "0.1");
        assert_non_null(got);
    }
    assert_string_equal(got, want);
    free(got);
    free(want);
}

/* gather and TaskGroup overlap two sleeps: 1.5 s, not 2.0 */
static void seed_timing_gather_taskgroup(void **s)
{
    (void)s;
    check_seed("timing_gather_taskgroup");
}

/* chained coroutines under gather: 4, 8, 11 s; 11 s in all */
static void seed_chained(void **s)
{
    (void)s;
    check_seed("chained");
}

/* two workers on one queue: 17 s, not 32 */
static void seed_work_queue(void **s)
{
    (void)s;
    check_seed("work_queue");
}

/* Semaphore(4) over ten jobs */
static void seed_semaphore_jobs(void **s)
{
    (void)s;
    check_seed("semaphore_jobs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seed_timing_gather_taskgroup),
        cmocka_unit_test(seed_chained),
        cmocka_unit_test(seed_work_queue),
        cmocka_unit_test(seed_semaphore_jobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
