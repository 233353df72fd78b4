/* SPDX-License-Identifier: MIT */
/*
 * test_core_signal.c - signals as loop events: a process-directed signal
 * (kill to self) reaches the task waiting for it and the handler, on loop 0
 * and on another loop; a cancelled wait leaves nothing behind; cor_run's
 * Ctrl-C (SIGINT cancels main, main's cleanup runs, leftovers are cancelled,
 * the return code says so); an unwanted signal takes its usual course (here:
 * the program's sigaction handler); masks are restored; bad input.  No
 * timing: each step waits for the previous one to have happened.
 */
#include "child.h"
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int sigself(int sig)
{
    return kill(getpid(), sig);
}

/* ------------------------------------------------------- waiting task --- */

static void *waiter(void *arg)
{
    int sig = (int)(intptr_t)arg;
    int rc = cor_signal_wait(sig);
    rec("waiter got %d on loop %d", rc, cor_loop_index());
    return rc < 0 ? cor_fail(rc, "wait") : NULL;
}

/* Let every other task run until t is parked (it parks on its first run). */
static void settle(void)
{
    for (int i = 0; i < 3; i++)
        cor_yield();
}

static void *main_wait(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(waiter, (void *)(intptr_t)SIGUSR1);
    settle();
    sigself(SIGUSR1);
    int rc = cor_await(t, NULL);
    rec("await %d", rc);
    cor_task_release(t);
    return NULL;
}

static void test_wait_loop0(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_wait, (void *)0, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "waiter got %d on loop 0\nawait 0\n",
             SIGUSR1);
    assert_string_equal(rec_text(), want);
}

/* ------------------------------------------------------------ handlers -- */

static cor_future *handled;

static void on_sig(int sig, void *arg)
{
    rec("handler %d arg %s on loop %d", sig, (const char *)arg,
        cor_loop_index());
    cor_future_set_result(handled, (void *)(intptr_t)sig);
}

static void *main_handler(void *arg)
{
    (void)arg;
    cor_future_create(&handled);
    rec("add %d", cor_signal_add(SIGUSR2, on_sig, "x"));
    sigself(SIGUSR2);
    void *r = NULL;
    int rc = cor_future_await(handled, &r);
    rec("awaited %d sig %d", rc, (int)(intptr_t)r);
    cor_future_release(handled);
    rec("remove %d", cor_signal_remove(SIGUSR2));
    rec("remove again %d", cor_signal_remove(SIGUSR2));
    return NULL;
}

static void test_handler(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_handler, NULL, 1), 0);
    char want[256];
    snprintf(want, sizeof want,
             "add 0\nhandler %d arg x on loop 0\nawaited 0 sig %d\n"
             "remove 1\nremove again 0\n",
             SIGUSR2, SIGUSR2);
    assert_string_equal(rec_text(), want);
}

/* On two loops: the handler added by a task of loop 1 runs on loop 1, and
 * a task of loop 1 waiting for a signal is woken there. */
static void *add_on_loop1(void *arg)
{
    (void)arg;
    rec("add %d", cor_signal_add(SIGUSR2, on_sig, "y"));
    return NULL;
}

static void *wait_on_loop1(void *arg)
{
    cor_future *parked = arg;
    /* cor_signal_wait registers before it parks; say so just before. */
    cor_future_set_result(parked, NULL);
    int rc = cor_signal_wait(SIGHUP);
    rec("loop1 waiter got %d on loop %d", rc, cor_loop_index());
    return NULL;
}

static void *main_two_loops(void *arg)
{
    (void)arg;
    cor_future_create(&handled);
    cor_task *a = cor_spawn_on(1, add_on_loop1, NULL);
    cor_await(a, NULL);
    cor_task_release(a);
    sigself(SIGUSR2);
    cor_future_await(handled, NULL);
    cor_future_release(handled);

    /* The waiter resolves `parked` and registers in the same step (no
     * suspension between), so once the resolution is seen here the
     * waiter is registered. */
    cor_future *parked;
    cor_future_create(&parked);
    cor_task *w = cor_spawn_on(1, wait_on_loop1, parked);
    cor_future_await(parked, NULL);
    cor_future_release(parked);
    sigself(SIGHUP);
    rec("await %d", cor_await(w, NULL));
    cor_task_release(w);
    return NULL;
}

static void test_two_loops(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_two_loops, NULL, 2), 0);
    char want[256];
    snprintf(want, sizeof want,
             "add 0\nhandler %d arg y on loop 1\n"
             "loop1 waiter got %d on loop 1\nawait 0\n",
             SIGUSR2, SIGHUP);
    assert_string_equal(rec_text(), want);
}

/* wait_any returns the one that came; a waiter and a handler both see it. */
static void *wait_any(void *arg)
{
    (void)arg;
    int sigs[] = {SIGTERM, SIGUSR1};
    rec("any %d", cor_signal_wait_any(sigs, 2));
    return NULL;
}

static void *main_any(void *arg)
{
    (void)arg;
    cor_future_create(&handled);
    cor_signal_add(SIGUSR1, on_sig, "z");
    cor_task *t = cor_spawn(wait_any, NULL);
    settle();
    sigself(SIGUSR1);
    cor_await(t, NULL);
    cor_future_await(handled, NULL);
    cor_future_release(handled);
    cor_task_release(t);
    return NULL;
}

static void test_wait_any_and_handler(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_any, NULL, 1), 0);
    char want[256];
    snprintf(want, sizeof want, "any %d\nhandler %d arg z on loop 0\n",
             SIGUSR1, SIGUSR1);
    assert_string_equal(rec_text(), want);
}

/* A cancelled wait returns -ECANCELED and is unhooked: the next signal
 * goes to the handler only. */
static void *main_cancel(void *arg)
{
    (void)arg;
    cor_future_create(&handled);
    cor_task *t = cor_spawn(waiter, (void *)(intptr_t)SIGUSR1);
    settle();
    cor_task_cancel(t);
    rec("await %d", cor_await(t, NULL));
    cor_task_release(t);
    cor_signal_add(SIGUSR1, on_sig, "after");
    sigself(SIGUSR1);
    cor_future_await(handled, NULL);
    cor_future_release(handled);
    return NULL;
}

static void test_cancelled_wait(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_cancel, NULL, 1), 0);
    char want[256];
    snprintf(want, sizeof want,
             "waiter got %d on loop 0\nawait -%d\nhandler %d arg after on "
             "loop 0\n",
             -ECANCELED, ECANCELED, SIGUSR1);
    assert_string_equal(rec_text(), want);
}

/* -------------------------------------------------------------- Ctrl-C -- */

static void *leftover(void *arg)
{
    (void)arg;
    int rc = cor_sleep(3600);
    rec("leftover %d", rc);
    return NULL;
}

static void *main_sigint(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(leftover, NULL);
    cor_task_release(t);
    sigself(SIGINT);
    int rc = cor_sleep(3600);
    /* Cleanup after the cancel: shielded, it can still suspend. */
    cor_shield_begin();
    int rc2 = cor_sleep(0.001);
    cor_shield_end();
    rec("main cleanup %d %d", rc, rc2);
    return cor_fail(rc, "interrupted");
}

static void test_sigint_cancels_main(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_sigint, NULL, 1), COR_EINTERRUPTED);
    char want[128];
    snprintf(want, sizeof want, "main cleanup %d 0\nleftover %d\n",
             -ECANCELED, -ECANCELED);
    assert_string_equal(rec_text(), want);
}

/* Main suppresses the cancel: cor_run returns its result, as asyncio.run. */
static void *main_sigint_suppressed(void *arg)
{
    (void)arg;
    sigself(SIGINT);
    rec("sleep %d", cor_sleep(3600));
    return NULL;
}

static void test_sigint_suppressed(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_sigint_suppressed, NULL, 1), 0);
    char want[64];
    snprintf(want, sizeof want, "sleep %d\n", -ECANCELED);
    assert_string_equal(rec_text(), want);
}

/* A task waiting for SIGINT takes it instead of main's cancellation. */
static void *main_wait_sigint(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn(waiter, (void *)(intptr_t)SIGINT);
    settle();
    sigself(SIGINT);
    rec("await %d", cor_await(t, NULL));
    cor_task_release(t);
    return NULL;
}

static void test_sigint_waited(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_wait_sigint, NULL, 2), 0);
    char want[64];
    snprintf(want, sizeof want, "waiter got %d on loop 0\nawait 0\n", SIGINT);
    assert_string_equal(rec_text(), want);
}

/* keep_sigint, with a sigaction handler of the program's: SIGINT reaches
 * that handler (in loop 0's thread) and main is not cancelled.  Also the
 * usual course of any managed signal nobody wants. */
static volatile sig_atomic_t program_handler_ran;
static volatile sig_atomic_t program_handler_thread_is_loop0;
static pthread_t loop0_thread;

static void program_handler(int sig)
{
    (void)sig;
    program_handler_ran++;
    program_handler_thread_is_loop0 = pthread_equal(pthread_self(),
                                                    loop0_thread);
}

static void *main_forward(void *arg)
{
    int sig = (int)(intptr_t)arg;
    sigself(sig);
    /* Poll until the handler ran (bounded), never sleep to wait for it. */
    int spins = 0;
    while (!program_handler_ran && spins++ < 100000)
        if (cor_sleep(0.001) < 0)
            break;
    rec("ran %d loop0 %d", (int)program_handler_ran,
        (int)program_handler_thread_is_loop0);
    return NULL;
}

static void run_forward(int sig, bool keep_sigint)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = program_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, &old);
    program_handler_ran = 0;
    loop0_thread = pthread_self();
    cor_run_opts o = {.loops = 2, .keep_sigint = keep_sigint};
    int rc = cor_run_ex(main_forward, (void *)(intptr_t)sig, &o, NULL);
    sigaction(sig, &old, NULL);
    assert_int_equal(rc, 0);
    assert_string_equal(rec_text(), "ran 1 loop0 1\n");
}

static void test_unwanted_signal_forwarded(void **state)
{
    (void)state;
    run_forward(SIGUSR2, false);
    rec_reset();
    run_forward(SIGINT, true);
}

/* In a child: an unwanted SIGTERM takes its default action (the process
 * ends by SIGTERM, as without coring), and a second SIGINT while main's
 * cleanup hangs ends the process by SIGINT. */
static void *main_sigterm(void *arg)
{
    (void)arg;
    sigself(SIGTERM);
    cor_sleep(3600);
    return NULL;
}

static void *main_hung_cleanup(void *arg)
{
    (void)arg;
    sigself(SIGINT);
    cor_sleep(3600); /* cancelled by the first SIGINT */
    cor_shield_begin();
    sigself(SIGINT); /* the second one, while cleanup still runs */
    cor_sleep(3600);
    cor_shield_end();
    return NULL;
}

struct child_main {
    cor_fn *fn;
};

static void child_run(void *arg)
{
    cor_run(((struct child_main *)arg)->fn, NULL);
    _exit(0); /* not reached: the signal ends the process */
}

static void test_default_actions_in_child(void **state)
{
    (void)state;
    struct child_result r;
    struct child_main term = {main_sigterm}, hung = {main_hung_cleanup};
    run_in_child(child_run, &term, &r);
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGTERM);
    run_in_child(child_run, &hung, &r);
    assert_true(WIFSIGNALED(r.status));
    assert_int_equal(WTERMSIG(r.status), SIGINT);
}

/* ----------------------------------------------------------- the masks -- */

static bool blocked(int sig)
{
    sigset_t m;
    pthread_sigmask(SIG_BLOCK, NULL, &m);
    return sigismember(&m, sig);
}

static void *mask_job(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)blocked(SIGTERM);
}

static void *report_mask(void *arg)
{
    (void)arg;
    void *in_worker = NULL;
    cor_to_thread(mask_job, NULL, &in_worker);
    rec("loop %d blocks SIGTERM %d, its worker %d", cor_loop_index(),
        blocked(SIGTERM), (int)(intptr_t)in_worker);
    return NULL;
}

static void *main_masks(void *arg)
{
    (void)arg;
    cor_task *t = cor_spawn_on(1, report_mask, NULL);
    cor_await(t, NULL);
    cor_task_release(t);
    return report_mask(NULL);
}

static void test_masks(void **state)
{
    (void)state;
    sigset_t before, after;
    sigemptyset(&before);
    sigemptyset(&after);
    pthread_sigmask(SIG_BLOCK, NULL, &before);
    assert_int_equal(h_run(main_masks, NULL, 2), 0);
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    for (int sig = 1; sig < _NSIG; sig++)
        assert_int_equal(sigismember(&before, sig), sigismember(&after, sig));
    assert_string_equal(rec_text(), "loop 1 blocks SIGTERM 1, its worker 1\n"
                                    "loop 0 blocks SIGTERM 1, its worker 1\n");
}

/* A signal the program blocked before cor_run can be handled; one it did
 * not (and that coring does not manage) cannot. */
static void *main_program_blocked(void *arg)
{
    (void)arg;
    cor_future_create(&handled);
    rec("alrm %d", cor_signal_add(SIGALRM, on_sig, "p"));
    rec("chld %d", cor_signal_add(SIGCHLD, on_sig, "p"));
    sigself(SIGALRM);
    cor_future_await(handled, NULL);
    cor_future_release(handled);
    return NULL;
}

static void test_program_blocked_signal(void **state)
{
    (void)state;
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &one, &old);
    assert_int_equal(h_run(main_program_blocked, NULL, 1), 0);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    char want[128];
    snprintf(want, sizeof want, "alrm 0\nchld %d\nhandler %d arg p on loop 0\n",
             -ENOTSUP, SIGALRM);
    assert_string_equal(rec_text(), want);
}

/* ----------------------------------------------------------- bad input -- */

static void nop_handler(int sig, void *arg)
{
    (void)sig;
    (void)arg;
}

static void *main_bad(void *arg)
{
    (void)arg;
    int bad[] = {0, -1, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                 SIGTRAP, 32, _NSIG, 1000};
    int errs = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errs += cor_signal_add(bad[i], nop_handler, NULL) == -EINVAL;
        errs += cor_signal_remove(bad[i]) == -EINVAL;
        errs += cor_signal_wait(bad[i]) == -EINVAL;
    }
    rec("errs %d of %d", errs, (int)(3 * sizeof bad / sizeof bad[0]));
    rec("null fn %d", cor_signal_add(SIGTERM, NULL, NULL));
    rec("null set %d", cor_signal_wait_any(NULL, 1));
    int s = SIGTERM;
    rec("empty set %d", cor_signal_wait_any(&s, 0));
    return NULL;
}

static void test_bad_input(void **state)
{
    (void)state;
    assert_int_equal(h_run(main_bad, NULL, 1), 0);
    char want[128];
    snprintf(want, sizeof want,
             "errs 36 of 36\nnull fn %d\nnull set %d\nempty set %d\n",
             -EINVAL, -EINVAL, -EINVAL);
    assert_string_equal(rec_text(), want);
    assert_int_equal(cor_signal_add(SIGTERM, nop_handler, NULL), -EPERM);
    assert_int_equal(cor_signal_remove(SIGTERM), -EPERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wait_loop0, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_handler, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_two_loops, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_wait_any_and_handler, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_wait, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_sigint_cancels_main, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_sigint_suppressed, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_sigint_waited, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_unwanted_signal_forwarded,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_default_actions_in_child,
                                        h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_masks, h_setup, h_teardown),
        cmocka_unit_test_setup_teardown(test_program_blocked_signal, h_setup,
                                        h_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, h_setup, h_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
