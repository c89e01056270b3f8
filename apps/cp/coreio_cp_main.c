/* coreio-cp — copy files and directory trees with io_uring (or coreio's
 * epoll backend, where file I/O runs on the executor's threads).
 *
 * main() parses the command line, makes one loop and runs the main task
 * (plan.c) on it. SIGINT, SIGTERM and SIGHUP cancel that task: every
 * file in flight stops, its temporary copy is removed, and the process
 * then dies of the same signal, as cp would.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cp.h"

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

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct cp_opts o;
	struct cp_ctx c;
	/* The tree walk recurses once per level: room for deep trees
	 * (stacks are reserved, not committed, until touched). */
	struct cio_task_opts to = { .name = "main", .stack_size = 8u << 20 };
	cio_loop *loop;
	intptr_t r;
	int rc;

	if ((rc = cp_parse_args(argc, argv, &o)) >= 0)
		return rc;
	raise_nofile();
	memset(&c, 0, sizeof(c));
	c.o = &o;
	c.root = geteuid() == 0;
	c.test_corrupt = getenv("COREIO_CP_TEST_CORRUPT") != NULL;
	if ((rc = cio_loop_new(&loop, NULL)) < 0) {
		fprintf(stderr, CP_PROG ": cannot start coreio: %s\n",
			strerror(-rc));
		return 1;
	}
	if ((rc = cio_spawn(&main_task, cp_main_task, &c, &to)) < 0) {
		fprintf(stderr, CP_PROG ": cannot start: %s\n", strerror(-rc));
		cio_loop_close(loop);
		cio_loop_free(loop);
		return 1;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		cio_add_signal_handler(sigs[i], on_signal,
				       (void *)(intptr_t)sigs[i]);
	r = cio_loop_run_until_complete(loop, cio_task_future(main_task));
	cio_task_unref(main_task);
	cio_loop_close(loop);
	cio_loop_free(loop);
	if (caught) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, caught);
		signal(caught, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(caught);
	}
	if (r < 0) {
		fprintf(stderr, CP_PROG ": %s\n", strerror((int)-r));
		return 1;
	}
	return (int)r;
}
