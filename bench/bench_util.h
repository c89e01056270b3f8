/* bench/bench_util.h — what the coreio benchmark programs share: the
 * clock, repetitions and their median, result rows (a table, or the JSON
 * lines of DESIGN.md section 8), CPU pinning, errors and option values.
 *
 * Header-only, every function static inline: the Makefile builds each C
 * file of bench/ on its own into its own binary, with nothing else linked
 * in.
 * A program sets `bu` (its name, --json, repetitions) before measuring.
 *
 * Method, shared by every program that uses bu_measure():
 * - Times are CLOCK_MONOTONIC around a loop of n operations; a figure is
 *   elapsed / n.
 * - A calibration run picks n so that one repetition lasts about
 *   bu.rep_ns; then one full repetition is thrown away (warm caches, grown
 *   pools); then bu.reps repetitions are kept and their median reported.
 *   The median, not the mean or the minimum: on a shared, noisy machine it
 *   ignores the repetitions a neighbour disturbed without rewarding a
 *   lucky one.
 * - A repetition during which this thread held its CPU for less than 90%
 *   of the wall time was shared with a neighbour: it is run again (at most
 *   three times) and counted in bu.reruns, which programs report.
 */
#ifndef CIO_BENCH_UTIL_H
#define CIO_BENCH_UTIL_H

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BU_MAX_REPS 99
#define BU_MAX_RERUNS 3
#define BU_MIN_ON_CPU 0.9

static struct bu_state {
	const char *prog;  /* message prefix and the JSON "bench" field */
	bool json;         /* JSON lines instead of the table */
	unsigned reps;     /* kept repetitions per figure, <= BU_MAX_REPS */
	double rep_ns;     /* target duration of one repetition */
	unsigned reruns;   /* repetitions run again because disturbed */
} bu = { "bench", false, 7, 1e8, 0 };

/* -- errors --------------------------------------------------------------- */

/* A runtime call failed with a negative errno: say which, and stop. */
static inline void bu_die(const char *what, long rc)
{
	fprintf(stderr, "%s: %s failed: %s (%ld)\n", bu.prog, what,
		strerror((int)-rc), rc);
	exit(1);
}

#define BU_CHECK(expr, what)                     \
	do {                                     \
		long bu_rc_ = (long)(expr);      \
		if (bu_rc_ < 0)                  \
			bu_die((what), bu_rc_);  \
	} while (0)

static inline void *bu_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		bu_die("malloc", -ENOMEM);
	return p;
}

/* Bad command line: the message, a pointer to --help, exit status 2. */
__attribute__((format(printf, 1, 2), noreturn))
static inline void bu_bad_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", bu.prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", bu.prog);
	exit(2);
}

/* A count in [min, max], with an optional k (10^3) or M (10^6) suffix. */
static inline unsigned long bu_parse_count(const char *opt, const char *s,
					   unsigned long min,
					   unsigned long max)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		bu_bad_usage("%s: not a number: '%s'", opt, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		v *= 1000, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1000000, end++;
	if (errno || *end || v < min || v > max)
		bu_bad_usage("%s: expected %lu..%lu, got '%s'", opt, min, max,
			     s);
	return (unsigned long)v;
}

/* -- clocks and statistics ------------------------------------------------ */

static inline int64_t bu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CPU time of this thread: wall time minus the time a neighbour had the
 * CPU. Only used to detect disturbed repetitions; figures are wall time. */
static inline int64_t bu_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct bu_stats {
	double median, min, max;
	unsigned n; /* repetitions behind it */
};

static inline int bu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline struct bu_stats bu_summarize(const double *v, unsigned n)
{
	double s[BU_MAX_REPS];
	struct bu_stats st;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), bu_cmp_double);
	st.min = s[0];
	st.max = s[n - 1];
	st.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	st.n = n;
	return st;
}

/* xorshift64*, fixed seed: every run draws the same sequence. */
static uint64_t bu_rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t bu_rng(void)
{
	bu_rng_state ^= bu_rng_state >> 12;
	bu_rng_state ^= bu_rng_state << 25;
	bu_rng_state ^= bu_rng_state >> 27;
	return bu_rng_state * 0x2545f4914f6cdd1dull;
}

/* A random permutation of [0, n) (Fisher-Yates); free() it. */
static inline uint32_t *bu_random_perm(size_t n)
{
	uint32_t *p = bu_xmalloc(n * sizeof(*p));
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = bu_rng() % i;
		uint32_t t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

/* -- result rows ---------------------------------------------------------- */

enum bu_verdict { BU_NO_TARGET, BU_PASS, BU_MISS };

static inline void bu_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static inline void bu_json_head(const char *cas, const char *system,
				const char *metric)
{
	printf("{\"bench\":");
	bu_json_str(bu.prog);
	printf(",\"case\":");
	bu_json_str(cas);
	printf(",\"system\":");
	bu_json_str(system);
	printf(",\"metric\":");
	bu_json_str(metric);
	printf(",\"value\":");
}

/* Counts print as integers, measurements with decimals. */
static inline bool bu_is_integral(double v)
{
	return v < 1e15 && v > -1e15 && v == (double)(int64_t)v;
}

static inline void bu_fmt_value(char *buf, size_t n, double v)
{
	if (bu_is_integral(v))
		snprintf(buf, n, "%lld", (long long)v);
	else if (v >= 100 || v <= -100)
		snprintf(buf, n, "%.0f", v);
	else if (v >= 10 || v <= -10)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.2f", v);
}

/* Column titles of the table; nothing in JSON mode. */
static inline void bu_table_header(void)
{
	if (bu.json)
		return;
	printf("%-16s %-18s %-22s %12s %-6s %-9s %-6s %s\n", "case", "system",
	       "metric", "value", "unit", "target", "result",
	       "range (min..max)");
}

/* One result. `st` may be NULL (a single measurement, then `value`);
 * `target` (table only) is a text such as "< 100" with its verdict. */
static inline void bu_row(const char *cas, const char *system,
			  const char *metric, const struct bu_stats *st,
			  double value, const char *unit, const char *target,
			  enum bu_verdict verdict)
{
	char v[32], lo[32], hi[32];

	if (st)
		value = st->median;
	if (bu.json) {
		bu_json_head(cas, system, metric);
		if (bu_is_integral(value))
			printf("%lld", (long long)value);
		else
			printf("%.3f", value);
		printf(",\"unit\":");
		bu_json_str(unit);
		/* Beyond DESIGN.md's six keys, for bench/report.py: the
		 * spread behind a median and the target it is held to. */
		if (st && st->n > 1)
			printf(",\"n\":%u,\"min\":%.3f,\"max\":%.3f", st->n,
			       st->min, st->max);
		if (target) {
			printf(",\"target\":");
			bu_json_str(target);
			printf(",\"met\":%s",
			       verdict == BU_PASS ? "true" : "false");
		}
		printf("}\n");
	} else {
		bu_fmt_value(v, sizeof(v), value);
		printf("%-16s %-18s %-22s %12s %-6s %-9s %-6s", cas, system,
		       metric, v, unit, target ? target : "-",
		       verdict == BU_PASS   ? "PASS"
		       : verdict == BU_MISS ? "MISS"
					    : "-");
		if (st && st->n > 1) {
			bu_fmt_value(lo, sizeof(lo), st->min);
			bu_fmt_value(hi, sizeof(hi), st->max);
			printf(" %s..%s", lo, hi);
		}
		printf("\n");
	}
	fflush(stdout);
}

/* A row describing the setup (backend, allocator): the same object, with
 * a string value and the unit "text". */
static inline void bu_text_row(const char *cas, const char *system,
			       const char *metric, const char *value)
{
	if (bu.json) {
		bu_json_head(cas, system, metric);
		bu_json_str(value);
		printf(",\"unit\":\"text\"}\n");
	} else {
		printf("%-16s %-18s %-22s %s\n", cas, system, metric, value);
	}
	fflush(stdout);
}

/* -- repetitions ---------------------------------------------------------- */

/* Run n operations; store the time per operation in *ns (a case that takes
 * several figures from one run gets an array), or return a negative
 * errno. */
typedef int (*bu_fn)(void *ctx, uint64_t n, double *ns);

/* One repetition that counts; see the top of this file for the re-run. */
static inline void bu_run_rep(bu_fn fn, void *ctx, uint64_t n, double *ns,
			      const char *what)
{
	for (unsigned attempt = 0;; attempt++) {
		int64_t w0 = bu_now_ns(), c0 = bu_cpu_ns(), w, c;
		BU_CHECK(fn(ctx, n, ns), what);
		c = bu_cpu_ns() - c0;
		w = bu_now_ns() - w0;
		if ((double)c >= BU_MIN_ON_CPU * (double)w ||
		    attempt == BU_MAX_RERUNS)
			return;
		bu.reruns++;
	}
}

/* Choose n so one repetition lasts about bu.rep_ns: grow it until a run
 * takes a tenth of that, then scale. The growing runs warm up too. */
static inline uint64_t bu_calibrate(bu_fn fn, void *ctx, const char *what)
{
	uint64_t n = 1000;
	double per;

	for (;;) {
		BU_CHECK(fn(ctx, n, &per), what);
		if (per * (double)n >= bu.rep_ns / 10 || n >= (1ull << 32))
			break;
		n *= 4;
	}
	if (per <= 0)
		per = 0.1;
	n = (uint64_t)(bu.rep_ns / per);
	return n < 1000 ? 1000 : n;
}

/* Calibrate, warm up, and return the median of bu.reps repetitions. */
static inline struct bu_stats bu_measure(bu_fn fn, void *ctx,
					 const char *what)
{
	double samples[BU_MAX_REPS], per;
	uint64_t n = bu_calibrate(fn, ctx, what);

	BU_CHECK(fn(ctx, n, &per), what);
	for (unsigned r = 0; r < bu.reps; r++)
		bu_run_rep(fn, ctx, n, &samples[r], what);
	return bu_summarize(samples, bu.reps);
}

/* -- CPU pinning ---------------------------------------------------------- */

#define BU_STAT_CPUS 256

/* Busy time of each CPU so far, from /proc/stat (user, nice, system, irq,
 * softirq, steal; idle and iowait left out). 0, or -1 if unreadable. */
static inline int bu_cpu_busy(unsigned long long busy[BU_STAT_CPUS])
{
	char line[512];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return -1;
	memset(busy, 0, BU_STAT_CPUS * sizeof(*busy));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[8] = { 0 };
		int cpu;
		if (strncmp(line, "cpu", 3) != 0 ||
		    !isdigit((unsigned char)line[3]))
			continue;
		if (sscanf(line + 3,
			   "%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) < 5 ||
		    cpu < 0 || cpu >= BU_STAT_CPUS)
			continue;
		busy[cpu] = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	}
	fclose(f);
	return 0;
}

/* The CPU we may run on that was least busy over the last 200 ms: a
 * neighbour settled on one CPU would otherwise take a share of every
 * repetition. Falls back to the current CPU. */
static inline int bu_idlest_cpu(void)
{
	static unsigned long long b0[BU_STAT_CPUS], b1[BU_STAT_CPUS];
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	cpu_set_t allowed;
	int best = sched_getcpu();
	unsigned long long least = ~0ull;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0 ||
	    bu_cpu_busy(b0) < 0)
		return best;
	nanosleep(&pause, NULL);
	if (bu_cpu_busy(b1) < 0)
		return best;
	for (int cpu = 0; cpu < BU_STAT_CPUS; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || b1[cpu] < b0[cpu])
			continue;
		if (b1[cpu] - b0[cpu] < least) {
			least = b1[cpu] - b0[cpu];
			best = cpu;
		}
	}
	return best;
}

/* Pin the calling thread to `cpu`, or to the idlest CPU when `cpu` < 0,
 * so the scheduler does not migrate it between repetitions. Returns the
 * CPU, or -1 when pinning is not allowed here (then it runs unpinned). An
 * explicit CPU that cannot be used is an error. */
static inline int bu_pin(int cpu)
{
	bool asked = cpu >= 0;
	cpu_set_t set;

	if (!asked)
		cpu = bu_idlest_cpu();
	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		if (asked)
			bu_die("sched_setaffinity", -errno);
		return -1;
	}
	return cpu;
}

#endif
