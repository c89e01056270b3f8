/* flags — what the user sees: flags2_common's initial_report and
 * final_report on stdout, tqdm's progress bar on stderr, and the errors
 * grouped by reason when they were not printed one by one (-v). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flags.h"

#define BAR_WIDTH 40
#define REDRAW_NS (100 * CIO_NSEC_PER_MSEC) /* tqdm's mininterval */
#define SUMMARY_CODES 8 /* codes named per reason without -v */

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

void fl_initial_report(const struct fl_run *run)
{
	const struct fl_opts *o = run->o;

	printf("Site: %s\n", o->base_url);
	if (o->ncodes == 0) {
		printf("Searching for 0 flags.\n");
	} else if (o->ncodes <= 10) {
		printf("Searching for %zu flag%s: ", o->ncodes,
		       plural(o->ncodes));
		for (size_t i = 0; i < o->ncodes; i++)
			printf("%s%s", i ? ", " : "", o->codes[i]);
		printf("\n");
	} else {
		printf("Searching for %zu flags: from %s to %s\n", o->ncodes,
		       o->codes[0], o->codes[o->ncodes - 1]);
	}
	printf("%u concurrent connection%s will be used.\n", run->concur,
	       plural(run->concur));
	fflush(stdout);
}

void fl_final_report(const struct fl_run *run, double elapsed_s)
{
	size_t ok = run->counts[FL_OK], nf = run->counts[FL_NOT_FOUND],
	       err = run->counts[FL_ERROR];

	printf("--------------------\n");
	printf("%zu flag%s downloaded.\n", ok, plural(ok));
	if (nf)
		printf("%zu not found.\n", nf);
	if (err)
		printf("%zu error%s.\n", err, plural(err));
	printf("Elapsed time: %.2fs\n", elapsed_s);
	fflush(stdout);
}

/* Did job k fail for `reason`? */
static bool failed_for(const struct fl_run *run, size_t k, const char *reason)
{
	const struct fl_job *j = &run->jobs[k];

	return j->done && j->status == FL_ERROR &&
	       strcmp(j->reason, reason) == 0;
}

void fl_error_summary(const struct fl_run *run)
{
	size_t n = run->o->ncodes;

	/* Reasons in the order of their first code. Looking back for an
	 * earlier job with the same reason is quadratic at worst, which at
	 * the most jobs there can be (18,252) is still a fraction of a
	 * second, once, at the end. */
	for (size_t i = 0; i < n; i++) {
		const char *reason = run->jobs[i].reason;
		size_t count = 0, named = 0, k;

		if (!failed_for(run, i, reason))
			continue;
		for (k = 0; k < i && !failed_for(run, k, reason); k++)
			;
		if (k < i)
			continue; /* printed with an earlier code */
		for (k = i; k < n; k++)
			count += failed_for(run, k, reason);
		fprintf(stderr, "*** %zu error%s: %s (", count, plural(count),
			reason);
		for (k = i; k < n && named < SUMMARY_CODES; k++)
			if (failed_for(run, k, reason))
				fprintf(stderr, "%s%s", named++ ? ", " : "",
					run->jobs[k].cc);
		fprintf(stderr, "%s)\n", count > named ? ", ..." : "");
	}
}

static void draw(const struct fl_progress *p)
{
	char bar[BAR_WIDTH + 1];
	size_t fill = p->total ? p->done * BAR_WIDTH / p->total : BAR_WIDTH;

	memset(bar, '#', fill);
	memset(bar + fill, ' ', BAR_WIDTH - fill);
	bar[BAR_WIDTH] = '\0';
	/* On a terminal '\r' redraws the line in place. */
	fprintf(stderr, "%s%zu/%zu [%s]", p->tty ? "\r" : "", p->done,
		p->total, bar);
	fflush(stderr);
}

void fl_progress_init(struct fl_progress *p, size_t total)
{
	p->total = total;
	p->done = 0;
	p->tty = isatty(STDERR_FILENO) == 1;
	p->last_draw = cio_loop_time();
	if (p->tty)
		draw(p);
}

void fl_progress_step(struct fl_progress *p)
{
	if (!p)
		return;
	p->done++;
	if (!p->tty)
		return;
	int64_t now = cio_loop_time();
	if (now - p->last_draw >= REDRAW_NS) {
		p->last_draw = now;
		draw(p);
	}
}

void fl_progress_end(struct fl_progress *p)
{
	draw(p);
	fputc('\n', stderr);
	fflush(stderr);
}
