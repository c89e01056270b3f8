/* coreio-cp — everything written to stderr: messages and the -P
 * progress bar.
 *
 * The bar is one task that wakes every 100 ms. On a terminal it redraws
 * one line in place (carriage return, erase line); anywhere else (a pipe,
 * a log file) it prints a full line once a second, so a log is not
 * flooded. A message printed while the bar is drawn clears its line
 * first, and the next tick draws the bar again below the message. The
 * total grows while the tree walk is still finding files: it is shown
 * with a '+' until the walk is done.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

#define TICK_NS (100 * CIO_NSEC_PER_MSEC)
#define RATE_TICKS 10 /* the rate shown is over the last second */

static bool bar_on_line; /* a bar is drawn and the cursor is after it */

static void clear_bar(void)
{
	if (bar_on_line) {
		fputs("\r\033[K", stderr);
		bar_on_line = false;
	}
}

/* Shards print too: the bar and a message never interleave. */
static void vmessage(const char *fmt, va_list ap)
{
	flockfile(stderr);
	clear_bar();
	fputs(CP_PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void cp_error(struct cp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	c->status = 1;
}

void cp_note(struct cp_ctx *c, const char *fmt, ...)
{
	va_list ap;

	(void)c;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

/* 1536 -> "1.5 KiB" */
static void human(char *out, size_t n, double v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB" };
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f B", v);
	else
		snprintf(out, n, "%.1f %s", v, units[u]);
}

struct progress {
	struct cp_ctx *c;
	bool tty;
	uint64_t bytes[RATE_TICKS];
	int64_t when[RATE_TICKS];
	unsigned tick;
};

/* Record this tick's byte count; the rate is over the last second. */
static double sample(struct progress *p)
{
	unsigned i = p->tick % RATE_TICKS;
	unsigned oldest = p->tick >= RATE_TICKS - 1 ? (p->tick + 1) % RATE_TICKS
						    : 0;
	double secs;

	p->bytes[i] = p->c->bytes_done;
	p->when[i] = cio_loop_time();
	p->tick++;
	secs = (double)(p->when[i] - p->when[oldest]) / 1e9;
	return secs > 0 ? (double)(p->bytes[i] - p->bytes[oldest]) / secs : 0;
}

static void draw(struct progress *p, double rate, bool newline)
{
	struct cp_ctx *c = p->c;
	char done[32], total[32], speed[32];
	unsigned pct;

	human(done, sizeof(done), (double)c->bytes_done);
	human(total, sizeof(total), (double)c->bytes_total);
	human(speed, sizeof(speed), rate);
	pct = c->bytes_total ? (unsigned)(100.0 * (double)c->bytes_done /
					  (double)c->bytes_total)
			     : 100;
	flockfile(stderr);
	clear_bar();
	fprintf(stderr, "%s / %s%s %3u%%  %s/s  %llu/%llu%s files", done,
		total, c->walk_done ? "" : "+", pct > 100 ? 100 : pct, speed,
		(unsigned long long)c->files_done,
		(unsigned long long)c->files_total, c->walk_done ? "" : "+");
	if (newline)
		fputc('\n', stderr);
	else
		bar_on_line = true;
	fflush(stderr);
	funlockfile(stderr);
}

static intptr_t progress_task(void *arg)
{
	struct progress *p = arg;

	sample(p);
	/* Cancelled by cp_progress_stop(): the copy is over. */
	while (cio_sleep(TICK_NS) == 0) {
		double rate = sample(p);
		if (p->tty)
			draw(p, rate, false);
		else if (p->tick % RATE_TICKS == 1)
			draw(p, rate, true);
	}
	flockfile(stderr);
	clear_bar();
	funlockfile(stderr);
	return 0;
}

int cp_progress_start(struct cp_ctx *c, cio_task **out)
{
	static struct progress p;
	struct cio_task_opts to = { .name = "progress" };

	*out = NULL;
	if (!c->o->progress)
		return 0;
	p = (struct progress){ .c = c, .tty = isatty(2) };
	return cio_spawn(out, progress_task, &p, &to);
}

void cp_progress_stop(struct cp_ctx *c, cio_task *t)
{
	double secs = (double)(cio_loop_time() - c->t0) / 1e9;
	char done[32], speed[32];

	if (!t)
		return;
	cio_task_cancel(t);
	cio_await_task(t);
	cio_task_unref(t);
	human(done, sizeof(done), (double)c->bytes_done);
	human(speed, sizeof(speed), secs > 0 ? (double)c->bytes_done / secs
					     : 0);
	fprintf(stderr, CP_PROG ": copied %s in %.2f s (%s/s), %llu of %llu "
		"files\n", done, secs, speed,
		(unsigned long long)c->files_done,
		(unsigned long long)c->files_total);
}
