/* Signal handlers on a loop, and cio_run()'s SIGINT/SIGTERM handling
 * (graceful shutdown, then a forced exit on the second signal). The
 * cio_run() cases run in a forked child, since they signal the process. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/harness.h"

#define SOON() cio_deadline_after(10 * CIO_NSEC_PER_SEC)

static bool blocked(int sig)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

/* -- on one loop --------------------------------------------------------------- */

struct hits {
	cio_future *fut;
	int a, b;
};

static void hit_a(void *arg)
{
	struct hits *h = arg;
	h->a++;
	if (!cio_future_done(h->fut))
		cio_future_set_result(h->fut, 1);
}

static void hit_b(void *arg)
{
	struct hits *h = arg;
	h->b++;
	if (!cio_future_done(h->fut))
		cio_future_set_result(h->fut, 2);
}

static intptr_t handler_task(void *arg)
{
	struct hits *h = arg;

	(void)arg;
	cr_assert_eq(cio_add_signal_handler(SIGUSR1, hit_a, h), 0);
	cr_assert(blocked(SIGUSR1));
	cr_assert_eq(cio_future_new(NULL, &h->fut), 0);
	cr_assert_eq(pthread_kill(pthread_self(), SIGUSR1), 0);
	cr_assert_eq(cio_await(h->fut), 1);
	cio_future_unref(h->fut);
	cr_assert_eq(h->a, 1);

	/* Replaced: only the new callback runs. */
	cr_assert_eq(cio_add_signal_handler(SIGUSR1, hit_b, h), 0);
	cr_assert_eq(cio_future_new(NULL, &h->fut), 0);
	cr_assert_eq(pthread_kill(pthread_self(), SIGUSR1), 0);
	cr_assert_eq(cio_await(h->fut), 2);
	cio_future_unref(h->fut);
	cr_assert_eq(h->a, 1);
	cr_assert_eq(h->b, 1);

	/* Two signals, two handlers. */
	cr_assert_eq(cio_add_signal_handler(SIGUSR2, hit_a, h), 0);
	cr_assert_eq(cio_future_new(NULL, &h->fut), 0);
	cr_assert_eq(pthread_kill(pthread_self(), SIGUSR2), 0);
	cr_assert_eq(cio_await(h->fut), 1);
	cio_future_unref(h->fut);
	cr_assert_eq(h->a, 2);

	cr_assert_eq(cio_remove_signal_handler(SIGUSR1), 1);
	cr_assert_eq(cio_remove_signal_handler(SIGUSR1), 0);
	cr_assert_not(blocked(SIGUSR1), "unblocked again once removed");
	cr_assert(blocked(SIGUSR2));
	return 0;
}

Test(signal, handlers_run_on_the_loop, .timeout = 60)
{
	struct hits h = { 0 };

	cr_assert_not(blocked(SIGUSR1));
	th_run_checked(handler_task, &h);
	/* The loop closed: what it blocked is unblocked. */
	cr_assert_not(blocked(SIGUSR2));
	th_leak_check();
}

static void nop(void *arg)
{
	(void)arg;
}

Test(signal, bad_arguments, .timeout = 60)
{
	cio_loop *loop;

	/* No loop on this thread yet. */
	cr_assert_eq(cio_add_signal_handler(SIGUSR1, nop, NULL), -EINVAL);
	cr_assert_eq(cio_remove_signal_handler(SIGUSR1), -EINVAL);
	loop = th_loop_new();
	cr_assert_eq(cio_add_signal_handler(0, nop, NULL), -EINVAL);
	cr_assert_eq(cio_add_signal_handler(-1, nop, NULL), -EINVAL);
	cr_assert_eq(cio_add_signal_handler(_NSIG, nop, NULL), -EINVAL);
	cr_assert_eq(cio_add_signal_handler(SIGKILL, nop, NULL), -EINVAL);
	cr_assert_eq(cio_add_signal_handler(SIGSTOP, nop, NULL), -EINVAL);
	cr_assert_eq(cio_add_signal_handler(SIGUSR1, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_remove_signal_handler(SIGKILL), -EINVAL);
	cr_assert_eq(cio_remove_signal_handler(SIGUSR1), 0);
	th_loop_free(loop);
	th_leak_check();
}

/* -- cio_run: graceful shutdown --------------------------------------------------- */

static atomic_int cancelled_handlers;

static intptr_t slow_handler(cio_stream *s, void *arg)
{
	char c;

	(void)arg;
	/* Tell the client we are here, then wait for the shutdown. */
	if (cio_stream_write(s, "!", 1) < 0 ||
	    cio_stream_flush(s, CIO_NO_DEADLINE) < 0)
		return 0;
	if (cio_stream_read(s, &c, 1, CIO_NO_DEADLINE) == -ECANCELED)
		atomic_fetch_add(&cancelled_handlers, 1);
	return 0;
}

static intptr_t graceful_main(void *arg)
{
	struct cio_server_opts o = { .flags = CIO_SERVER_SHARDED };
	cio_server *srv = NULL;
	cio_stream *c = NULL;
	intptr_t r;
	char x;

	(void)arg;
	if (cio_start_server(&srv, "127.0.0.1", 0, slow_handler, NULL, &o) ||
	    cio_open_connection(&c, "127.0.0.1", cio_server_port(srv), SOON(),
				NULL) ||
	    cio_stream_read_exactly(c, &x, 1, SOON()) != 1)
		_exit(3);
	kill(getpid(), SIGINT);
	/* Cancelled once the handler has been (after the grace period). */
	r = cio_sleep(3600 * CIO_NSEC_PER_SEC);
	if (r != -ECANCELED || atomic_load(&cancelled_handlers) != 1)
		_exit(4);
	if (cio_server_connections(srv) != 0)
		_exit(5);
	cio_stream_close(c);
	cio_stream_wait_closed(c, SOON());
	cio_stream_free(c);
	cio_server_close(srv);
	cio_server_wait_closed(srv, SOON());
	cio_server_free(srv);
	return -ECANCELED;
}

static void graceful_child(void *arg)
{
	struct cio_run_opts o = { .shards = 2,
				  .shutdown_grace = 100 * CIO_NSEC_PER_MSEC };
	int64_t t0 = cio_loop_time();
	intptr_t r;

	(void)arg;
	r = cio_run(graceful_main, NULL, &o);
	if (r != -ECANCELED)
		_exit(6);
	if (cio_loop_time() - t0 < 100 * CIO_NSEC_PER_MSEC)
		_exit(7); /* the handler got its grace period */
	if (blocked(SIGINT))
		_exit(8); /* the caller's mask is back */
}

Test(signal, sigint_drains_servers_then_cancels_main, .timeout = 60)
{
	char *err = NULL;
	int st = th_fork_capture(graceful_child, NULL, &err);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "status %d, stderr: %s", st, err);
	free(err);
}

static intptr_t stubborn_main(void *arg)
{
	(void)arg;
	kill(getpid(), SIGTERM);
	for (;;) {
		/* Ignores the cancellation and asks again: the second
		 * signal must end the process. */
		if (cio_sleep(3600 * CIO_NSEC_PER_SEC) == -ECANCELED)
			kill(getpid(), SIGINT);
	}
	return 0;
}

static void stubborn_child(void *arg)
{
	struct cio_run_opts o = { .shards = 2 };
	(void)arg;
	cio_run(stubborn_main, NULL, &o);
	_exit(9);
}

Test(signal, second_signal_forces_exit, .timeout = 60)
{
	char *err = NULL;
	int st = th_fork_capture(stubborn_child, NULL, &err);

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "status %d: %s",
		  st, err);
	free(err);
}

static intptr_t no_signals_main(void *arg)
{
	(void)arg;
	return blocked(SIGINT) ? 1 : 0;
}

Test(signal, run_without_signal_handling, .timeout = 60)
{
	struct cio_run_opts o = { .shards = 2, .flags = CIO_RUN_NO_SIGNALS };
	cr_assert_eq(cio_run(no_signals_main, NULL, &o), 0);
	o.flags = 0;
	cr_assert_eq(cio_run(no_signals_main, NULL, &o), 1);
	o.shutdown_grace = -1;
	cr_assert_eq(cio_run(no_signals_main, NULL, &o), -EINVAL);
}
