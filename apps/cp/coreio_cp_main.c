/* coreio-cp — copy files and directory trees with io_uring (or coreio's
 * epoll backend, where file I/O runs on the executor's threads).
 *
 * main() parses the command line and hands the run to cio_run(): --shards
 * loops, the main task (plan.c) on shard 0. SIGINT, SIGTERM and SIGHUP
 * cancel that task: every file in flight stops, on every shard, its
 * temporary copy is removed, and the process then dies of the same
 * signal, as cp would.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cp.h"

static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

static cio_task *main_task;
static int caught;

static void on_signal(void *arg)
{
	if (!caught)
		caught = (int)(intptr_t)arg;
	cio_task_cancel(main_task);
}

/* Each file in flight holds two descriptors: raise the soft limit to
 * the hard one so that --files 4096 is not cut short by EMFILE. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* cio_run()'s main, on shard 0: the signals, then the copy in a task of
 * its own, whose stack has room for the tree walk's recursion (one
 * level per directory level; reserved, not committed, until touched). */
static intptr_t run_main(void *arg)
{
	struct cio_task_opts to = { .name = "main", .stack_size = 8u << 20 };
	intptr_t r;
	int rc;

	if ((rc = cio_spawn(&main_task, cp_main_task, arg, &to)) < 0) {
		fprintf(stderr, CP_PROG ": cannot start: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < NSIGS; i++)
		cio_add_signal_handler(sigs[i], on_signal,
				       (void *)(intptr_t)sigs[i]);
	r = cio_await_task(main_task);
	cio_task_unref(main_task);
	return r;
}

int main(int argc, char **argv)
{
	struct cio_run_opts ro = { .flags = CIO_RUN_NO_SIGNALS };
	struct cp_opts o;
	struct cp_ctx c;
	sigset_t set, old;
	intptr_t r;
	int rc;

	if ((rc = cp_parse_args(argc, argv, &o)) >= 0)
		return rc;
	raise_nofile();
	memset(&c, 0, sizeof(c));
	c.o = &o;
	c.root = geteuid() == 0;
	c.test_corrupt = getenv("COREIO_CP_TEST_CORRUPT") != NULL;
	/* Blocked before the shard threads exist, so that they inherit it:
	 * the signals then reach shard 0's signalfd only, never the
	 * default action in another thread. */
	sigemptyset(&set);
	for (size_t i = 0; i < NSIGS; i++)
		sigaddset(&set, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ro.shards = o.shards;
	/* Not pinned. A big file is copied by one shard, whose loop copies
	 * into the read buffers while its io-wq workers copy out of them into
	 * the page cache: pinned, both share one CPU (measured: 1 GiB in
	 * 1.9-3.1 s instead of 0.5-0.9 s). A tree gained ~5% from pinning,
	 * within the noise. */
	ro.flags |= CIO_RUN_NO_PIN;
	r = cio_run(run_main, &c, &ro);
	if (caught) {
		signal(caught, SIG_DFL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		sigemptyset(&set);
		sigaddset(&set, caught);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		raise(caught);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		fprintf(stderr, CP_PROG ": %s\n", strerror((int)-r));
		return 1;
	}
	return (int)r;
}
