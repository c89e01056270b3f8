/* bench/bench_load.h — what the backend comparisons (bench/echo,
 * bench/fileio) share on top of bench_util.h: the two backends under test
 * (bench/echo keeps its own, longer list of systems), per-run series and
 * their medians, ratios of pairs, seconds as options.
 *
 * A comparison runs the same code on each backend, alternating which goes
 * first from one run to the next (so a drift of the machine hits both
 * sides alike), keeps one figure per run and system, and reports the
 * median of each and the median of the per-run ratios uring/epoll (as
 * bench/micro does for its comparisons).
 *
 * Header-only, every function static inline (see bench_util.h).
 */
#ifndef CIO_BENCH_LOAD_H
#define CIO_BENCH_LOAD_H

#include <math.h>

#include "bench/bench_util.h"
#include "runtime/loop.h"

/* The systems compared, in table order. */
enum { BL_URING, BL_EPOLL, BL_NSYS };

static const char *const bl_sys_name[BL_NSYS] = { "uring", "epoll" };
static const enum cio_backend_kind bl_sys_backend[BL_NSYS] = {
	CIO_BACKEND_URING, CIO_BACKEND_EPOLL
};

/* Which system runs at position `pos` of run `run`: uring first on even
 * runs, epoll first on odd ones. */
static inline int bl_order(unsigned run, int pos)
{
	return (run % 2 == 0) ? pos : BL_NSYS - 1 - pos;
}

/* One figure per run. */
struct bl_series {
	double v[BU_MAX_REPS];
	unsigned n;
};

static inline void bl_add(struct bl_series *s, double v)
{
	if (s->n < BU_MAX_REPS)
		s->v[s->n++] = v;
}

static inline struct bu_stats bl_stats(const struct bl_series *s)
{
	struct bu_stats none = { NAN, NAN, NAN, 0 };
	return s->n ? bu_summarize(s->v, s->n) : none;
}

static inline double bl_median(const struct bl_series *s)
{
	return bl_stats(s).median;
}

/* The series of per-run ratios a[i] / b[i]. */
static inline struct bl_series bl_ratios(const struct bl_series *a,
					 const struct bl_series *b)
{
	struct bl_series r = { { 0 }, 0 };
	for (unsigned i = 0; i < a->n && i < b->n; i++)
		if (b->v[i] > 0)
			bl_add(&r, a->v[i] / b->v[i]);
	return r;
}

/* A duration in seconds: a decimal number with an optional "s" or "ms"
 * suffix, in [min, max]. */
static inline double bl_parse_seconds(const char *opt, const char *s,
				      double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		bu_bad_usage("%s: not a duration: '%s'", opt, s);
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (*end && strcmp(end, "s") != 0)
		bu_bad_usage("%s: not a duration: '%s' (seconds, or NNNms)",
			     opt, s);
	if (!(v >= min && v <= max))
		bu_bad_usage("%s: expected %g..%g s, got '%s'", opt, min, max,
			     s);
	return v;
}

/* A comma-separated list of counts, each in [min, max]; returns how many
 * (at most `cap`). */
static inline unsigned bl_parse_list(const char *opt, const char *s,
				     unsigned long *out, unsigned cap,
				     unsigned long min, unsigned long max)
{
	char buf[256], *save = NULL, *tok;
	unsigned n = 0;

	if (strlen(s) >= sizeof(buf))
		bu_bad_usage("%s: list too long", opt);
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == cap)
			bu_bad_usage("%s: at most %u values", opt, cap);
		out[n++] = bu_parse_count(opt, tok, min, max);
	}
	if (!n)
		bu_bad_usage("%s: empty list", opt);
	return n;
}

/* Allowed CPUs of this process, in order; returns how many (<= cap). */
static inline int bl_allowed_cpus(int *cpus, int cap)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < cap; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

#endif
