/* crawler — asynchronous link crawler, the Real Python areq.py on coreio
 * (see crawler.h for how the seed's functions map onto the files).
 *
 * main() parses the command line, makes one loop and runs the main task
 * (crawl.c) on it, as asyncio.run(bulk_crawl_and_write(...)) does.
 * SIGINT and SIGTERM cancel that task: the requests in flight stop, what
 * was written stays written, and the process then dies of the same
 * signal, as a Python script interrupted by Ctrl-C ends with an error.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "crawler.h"

static cio_task *main_task;
static int caught;

static void on_signal(void *arg)
{
	if (!caught)
		caught = (int)(intptr_t)arg;
	cio_task_cancel(main_task);
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct cio_task_opts to = { .name = "main" };
	struct crw_opts o;
	cio_loop *loop;
	intptr_t r;
	int rc;

	if ((rc = crw_parse_args(argc, argv, &o)) >= 0)
		return rc;
	if ((rc = cio_loop_new(&loop, NULL)) < 0) {
		fprintf(stderr, CRW_PROG ": cannot start coreio: %s\n",
			strerror(-rc));
		return 2;
	}
	if ((rc = cio_spawn(&main_task, crw_main_task, &o, &to)) < 0) {
		fprintf(stderr, CRW_PROG ": cannot start: %s\n", strerror(-rc));
		cio_loop_close(loop);
		cio_loop_free(loop);
		return 2;
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
		fprintf(stderr, CRW_PROG ": %s\n", strerror((int)-r));
		return 1;
	}
	return (int)r;
}
