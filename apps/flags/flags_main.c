/* flags — download flags of countries over HTTP, many at a time (Fluent
 * Python, chapter 18: flags_asyncio.py and flags2_asyncio.py, with
 * flags2_common.py's command line and reports).
 *
 *     $ flags -s http://127.0.0.1:8001/flags -c 20 -a
 *
 * main() parses the command line, makes OUTDIR, prints the initial
 * report, runs the downloads on one shard (download.c) and prints the
 * final report.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flags.h"

#define PROG "flags"
#define EXIT_INTERRUPTED 130 /* 128 + SIGINT, as shells report it */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct fl_opts o;
	struct fl_run run = { .o = &o };
	/* One shard: a client and its connections belong to one loop, and
	 * one thread keeps up with any flag server (the work is waiting). */
	struct cio_run_opts ro = { .shards = 1 };
	intptr_t ret;
	int status, rc;

	if ((rc = fl_parse_args(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : 2;
	if ((rc = fl_make_dirs(o.outdir)) < 0) {
		fprintf(stderr, PROG ": cannot make %s: %s\n", o.outdir,
			strerror(-rc));
		free(o.codes);
		return 1;
	}
	run.jobs = calloc(o.ncodes, sizeof(*run.jobs));
	if (!run.jobs) {
		fprintf(stderr, PROG ": out of memory\n");
		free(o.codes);
		return 1;
	}
	for (size_t i = 0; i < o.ncodes; i++)
		memcpy(run.jobs[i].cc, o.codes[i], 3);
	run.concur = o.concurrency < o.ncodes ? o.concurrency
					      : (unsigned)o.ncodes;
	if (run.concur == 0)
		run.concur = 1;

	fl_initial_report(&run);
	double t0 = now_s();
	ret = cio_run(fl_download_main, &run, &ro);
	double elapsed = now_s() - t0;

	/* -ECANCELED: a signal cancelled main before it could notice. */
	bool interrupted = run.interrupted || ret == -ECANCELED;
	if (ret < 0 && !interrupted) {
		if (run.fatal[0])
			fprintf(stderr, PROG ": %s\n", run.fatal);
		else
			fprintf(stderr, PROG ": cannot start the runtime: "
					"%s\n",
				strerror((int)-ret));
		status = 1;
	} else {
		if (!o.verbose)
			fl_error_summary(&run);
		if (interrupted)
			fprintf(stderr, PROG ": interrupted after %zu of %zu "
					"flags\n",
				run.finished, o.ncodes);
		fl_final_report(&run, elapsed);
		status = interrupted ? EXIT_INTERRUPTED
			 : run.counts[FL_ERROR] ? 1 : 0;
	}
	free(run.jobs);
	free(o.codes);
	return status;
}
