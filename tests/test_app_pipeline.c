/* pipeline (apps/pipeline): the chain and queue patterns run with a fixed
 * seed and a tiny time scale. Every line is parsed and printed again to
 * check its exact shape; lines whose order depends on timing are checked
 * as sets, and what is causal is checked in order: within a chain part1,
 * then part2, then the result; an item is added before it is got; join()
 * returns after every item was got; the consumers are cancelled after it.
 * The same seed gives the same chains and producers, run after run. */
#include "helpers/harness.h"
#include "helpers/proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIN TH_BUILD_DIR "/apps/pipeline"
#define MAXL 4096

TestSuite(pipeline, .timeout = 30);

/* Run pipeline with the arguments (NULL-terminated, at most 15). */
static void run_v(struct th_proc *p, const char *const *args)
{
	const char *argv[17] = { BIN };
	int i = 0;

	for (; args[i]; i++) {
		cr_assert_lt(i, 15);
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;
	th_proc_run(p, argv, NULL, 0);
}

#define RUN(p, ...) run_v(p, (const char *const[]){ __VA_ARGS__, NULL })

/* Split p->out into lines (in place); every line must end in '\n'. */
static size_t split(struct th_proc *p, char **lines)
{
	size_t n = 0;
	char *s = p->out;

	cr_assert(p->out_len == 0 || p->out[p->out_len - 1] == '\n',
		  "output does not end a line");
	while (*s) {
		char *nl = strchr(s, '\n');
		cr_assert_lt(n, MAXL);
		*nl = '\0';
		lines[n++] = s;
		s = nl + 1;
	}
	return n;
}

/* -- chain ------------------------------------------------------------------ */

#define MAXC 16

struct chain_rec {
	long n;
	int state;      /* lines seen, 0..5 */
	int x, y;       /* part1's and part2's sleeps */
	double took;
	char seq[4][128]; /* its first four lines (no timing in them) */
};

static struct chain_rec *find_chain(struct chain_rec *c, size_t nc, long n)
{
	for (size_t i = 0; i < nc; i++)
		if (c[i].n == n)
			return &c[i];
	cr_assert_fail("a line of chain %ld, which was not asked for", n);
	return NULL;
}

/* Check one line against the next one chain `n` must print; the line is
 * rebuilt from the values read, so its shape is checked byte for byte. */
static void chain_line(struct chain_rec *c, size_t nc, const char *line)
{
	char want[256];
	long n, a, b;
	int v;
	double t;
	struct chain_rec *r;

	if (sscanf(line, "part1(%ld) sleeping for %d", &n, &v) == 2) {
		r = find_chain(c, nc, n);
		cr_assert_eq(r->state, 0, "%s: out of order", line);
		cr_assert(v >= 0 && v <= 10, "%s", line);
		snprintf(want, sizeof(want),
			 "part1(%ld) sleeping for %d seconds.", n, v);
		r->x = v;
	} else if (sscanf(line, "Returning part1(%ld)", &n) == 1) {
		r = find_chain(c, nc, n);
		cr_assert_eq(r->state, 1, "%s: out of order", line);
		snprintf(want, sizeof(want),
			 "Returning part1(%ld) == result%ld-1.", n, n);
	} else if (sscanf(line, "part2(%ld, 'result%ld-1') sleeping for %d",
			  &n, &a, &v) == 3) {
		r = find_chain(c, nc, n);
		cr_assert_eq(r->state, 2, "%s: out of order", line);
		cr_assert(v >= 0 && v <= 10, "%s", line);
		snprintf(want, sizeof(want),
			 "part2(%ld, 'result%ld-1') sleeping for %d seconds.",
			 n, n, v);
		r->y = v;
	} else if (sscanf(line, "Returning part2(%ld", &n) == 1) {
		r = find_chain(c, nc, n);
		cr_assert_eq(r->state, 3, "%s: out of order", line);
		snprintf(want, sizeof(want),
			 "Returning part2(%ld, 'result%ld-1') == result%ld-2 "
			 "derived from result%ld-1.", n, n, n, n);
	} else if (sscanf(line, "-->Chained result%ld => result%ld-2 derived "
			  "from result%ld-1 (took %lf", &n, &a, &b, &t) == 4) {
		r = find_chain(c, nc, n);
		cr_assert_eq(r->state, 4, "%s: out of order", line);
		snprintf(want, sizeof(want),
			 "-->Chained result%ld => result%ld-2 derived from "
			 "result%ld-1 (took %0.2f seconds).", n, n, n, t);
		r->took = t;
	} else {
		cr_assert_fail("unexpected line '%s'", line);
		return;
	}
	cr_assert_str_eq(line, want);
	if (r->state < 4)
		snprintf(r->seq[r->state], sizeof(r->seq[0]), "%s", line);
	r->state++;
}

/* Run `pipeline --seed S --time-scale F chain N...` and check it all;
 * returns the program's total time. */
static double run_chain(const char *seed, const char *scale, const long *ns,
			size_t nc, struct chain_rec *c)
{
	const char *args[20] = { "--seed", seed, "--time-scale", scale,
				 "chain" };
	char nbuf[MAXC][24], *lines[MAXL];
	struct th_proc p;
	double total;
	size_t n;

	for (size_t i = 0; i < nc; i++) {
		snprintf(nbuf[i], sizeof(nbuf[i]), "%ld", ns[i]);
		args[5 + i] = nbuf[i];
		c[i] = (struct chain_rec){ .n = ns[i] };
	}
	run_v(&p, args);
	cr_assert_eq(th_proc_exit(&p), 0, "status %d: %s", p.status, p.err);
	cr_assert_str_eq(p.err, "");
	n = split(&p, lines);
	cr_assert_eq(n, 5 * nc + 1, "%zu lines", n);
	for (size_t i = 0; i + 1 < n; i++)
		chain_line(c, nc, lines[i]);
	for (size_t i = 0; i < nc; i++)
		cr_assert_eq(c[i].state, 5, "chain %ld: %d lines", c[i].n,
			     c[i].state);
	cr_assert_eq(sscanf(lines[n - 1], "Program finished in %lf", &total),
		     1, "%s", lines[n - 1]);
	char want[64];
	snprintf(want, sizeof(want), "Program finished in %0.2f seconds.",
		 total);
	cr_assert_str_eq(lines[n - 1], want);
	th_proc_free(&p);
	return total;
}

Test(pipeline, chains_run_at_once_each_in_causal_order)
{
	static const long ns[3] = { 9, 6, 3 };
	struct chain_rec c[3];
	/* 10 ms per "second": a chain sleeps at most 0.2 s. */
	double total = run_chain("444", "0.01", ns, 3, c), longest = 0,
	       sum = 0;

	for (int i = 0; i < 3; i++) {
		double slept = (c[i].x + c[i].y) * 0.01;
		/* took is printed with 2 decimals; the sleeps are lower
		 * bounds, the upper bound only catches a broken scale. */
		cr_assert_geq(c[i].took, slept - 0.006, "chain %ld: %.2f < %.2f",
			      c[i].n, c[i].took, slept);
		cr_assert_leq(c[i].took, slept + 1.0, "chain %ld", c[i].n);
		longest = slept > longest ? slept : longest;
		sum += slept;
	}
	cr_assert_geq(total, longest - 0.006);
	/* Concurrent, not one after the other: the program lasts as long
	 * as its longest chain, not the sum of them (a 1 s margin). */
	if (sum > longest + 0.05)
		cr_assert_lt(total, longest + (sum - longest) / 2 + 1.0);
}

Test(pipeline, same_seed_same_chains)
{
	static const long ns[4] = { 1, 2, 3, 40 };
	struct chain_rec a[4], b[4], d[4];

	run_chain("12345", "0.001", ns, 4, a);
	run_chain("12345", "0.001", ns, 4, b);
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			cr_assert_str_eq(a[i].seq[k], b[i].seq[k]);
	/* Another seed draws other sleeps (these two seeds do differ). */
	run_chain("12346", "0.001", ns, 4, d);
	bool differ = false;
	for (int i = 0; i < 4; i++)
		differ |= a[i].x != d[i].x || a[i].y != d[i].y;
	cr_assert(differ);
}

Test(pipeline, default_chains_and_odd_numbers)
{
	struct th_proc p;
	char *lines[MAXL];
	size_t n;

	/* No N: the seed's [1, 2, 3]. */
	RUN(&p, "-s", "1", "-t", "0", "chain");
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	n = split(&p, lines);
	cr_assert_eq(n, 16);
	for (long k = 1; k <= 3; k++) {
		char want[64];
		bool seen = false;
		snprintf(want, sizeof(want), "Returning part1(%ld) == "
			 "result%ld-1.", k, k);
		for (size_t i = 0; i < n; i++)
			seen |= strcmp(lines[i], want) == 0;
		cr_assert(seen, "no '%s'", want);
	}
	th_proc_free(&p);

	/* The same N twice: two chains; 0 and negatives (after --). */
	RUN(&p, "-s", "1", "-t", "0", "chain", "7", "7", "0", "--", "-5");
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert_eq(split(&p, lines), 21);
	cr_assert(strstr(lines[0], "part1(") == lines[0], "%s", lines[0]);
	th_proc_free(&p);
	RUN(&p, "-s", "1", "-t", "0", "chain", "--", "-5");
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert(strstr(p.out, "-->Chained result-5 => result-5-2 derived "
			 "from result-5-1 (took "), "%s", p.out);
	th_proc_free(&p);
}

/* -- queue ------------------------------------------------------------------ */

#define MAXW 16
#define MAXI 1024

struct queue_run {
	unsigned produced, consumed, cancelled, consumers;
	char added[MAXI][11];     /* in the order printed */
	unsigned added_by[MAXI];
	size_t nadded;
	char got[MAXI][11];
	size_t ngot;
	/* Per producer: its lines (sleeps and items), in order. */
	char plines[MAXW][64][48];
	unsigned npl[MAXW];
	/* Per consumer: its sleeps, in order. */
	int csleep[MAXW][MAXI];
	unsigned ncs[MAXW];
};

static int find_item(char (*items)[11], size_t n, const char *hex)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(items[i], hex) == 0)
			return (int)i;
	return -1;
}

static void run_queue(const char *const *args, struct queue_run *q)
{
	struct th_proc p;
	char *lines[MAXL], want[128], hex[16];
	unsigned a, b, stage = 0; /* 0 running, 1 joined, 2 cancelled */
	double t;
	int v;
	size_t n;

	memset(q, 0, sizeof(*q));
	run_v(&p, args);
	cr_assert_eq(th_proc_exit(&p), 0, "status %d: %s", p.status, p.err);
	cr_assert_str_eq(p.err, "");
	n = split(&p, lines);
	cr_assert_geq(n, 3);
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i];
		if (sscanf(l, "Producer %u sleeping for %d", &a, &v) == 2) {
			snprintf(want, sizeof(want),
				 "Producer %u sleeping for %d seconds.", a, v);
			cr_assert(v >= 0 && v <= 3 && a < MAXW, "%s", l);
			cr_assert_lt(q->npl[a], 64);
			snprintf(q->plines[a][q->npl[a]++], 48, "%s", l);
		} else if (sscanf(l, "Producer %u added <%15[^>]>", &a, hex) ==
			   2) {
			snprintf(want, sizeof(want),
				 "Producer %u added <%s> to queue.", a, hex);
			cr_assert(strlen(hex) == 10 && a < MAXW, "%s", l);
			cr_assert_eq(strspn(hex, "0123456789abcdef"), 10);
			cr_assert_lt(q->nadded, MAXI);
			q->added_by[q->nadded] = a;
			strcpy(q->added[q->nadded++], hex);
			cr_assert_lt(q->npl[a], 64);
			snprintf(q->plines[a][q->npl[a]++], 48, "%s", l);
		} else if (sscanf(l, "Consumer %u sleeping for %d", &a, &v) ==
			   2) {
			snprintf(want, sizeof(want),
				 "Consumer %u sleeping for %d seconds.", a, v);
			cr_assert(v >= 0 && v <= 3 && a < MAXW, "%s", l);
			q->csleep[a][q->ncs[a]++] = v;
		} else if (sscanf(l, "Consumer %u got element <%15[^>]> in %lf",
				  &a, hex, &t) == 3) {
			snprintf(want, sizeof(want),
				 "Consumer %u got element <%s> in %0.5f "
				 "seconds.", a, hex, t);
			cr_assert_eq(stage, 0, "%s after join", l);
			/* Added (printed) before it was got. */
			cr_assert_geq(find_item(q->added, q->nadded, hex), 0,
				      "%s: got before it was added", l);
			cr_assert_lt(q->ngot, MAXI);
			strcpy(q->got[q->ngot++], hex);
		} else if (sscanf(l, "q.join() returned: %u items produced, %u "
				  "consumed", &a, &b) == 2) {
			snprintf(want, sizeof(want),
				 "q.join() returned: %u items produced, %u "
				 "consumed.", a, b);
			cr_assert_eq(stage++, 0, "%s", l);
			q->produced = a;
			q->consumed = b;
		} else if (sscanf(l, "Cancelled %u of %u consumers", &a, &b) ==
			   2) {
			snprintf(want, sizeof(want),
				 "Cancelled %u of %u consumers.", a, b);
			cr_assert_eq(stage++, 1, "%s", l);
			q->cancelled = a;
			q->consumers = b;
		} else if (sscanf(l, "Program completed in %lf", &t) == 1) {
			snprintf(want, sizeof(want),
				 "Program completed in %0.5f seconds.", t);
			cr_assert_eq(i, n - 1, "%s is not last", l);
			cr_assert_eq(stage, 2);
		} else {
			cr_assert_fail("unexpected line '%s'", l);
		}
		cr_assert_str_eq(l, want);
	}
	th_proc_free(&p);
	/* Every item produced was consumed exactly once. */
	cr_assert_eq(q->produced, q->nadded);
	cr_assert_eq(q->consumed, q->ngot);
	cr_assert_eq(q->nadded, q->ngot);
	for (size_t i = 0; i < q->nadded; i++) {
		int k = find_item(q->got, q->ngot, q->added[i]);
		cr_assert_geq(k, 0, "item %s never consumed", q->added[i]);
		q->got[k][0] = '\0'; /* taken: a duplicate would not match */
	}
	/* All consumers ended cancelled. */
	cr_assert_eq(q->cancelled, q->consumers);
	/* A producer sleeps before each item: its lines alternate. */
	for (unsigned w = 0; w < MAXW; w++) {
		cr_assert_eq(q->npl[w] % 2, 0, "producer %u", w);
		for (unsigned k = 0; k < q->npl[w]; k++)
			cr_assert_eq(strstr(q->plines[w][k], "sleeping") != NULL,
				     k % 2 == 0, "%s", q->plines[w][k]);
	}
}

Test(pipeline, queue_every_item_consumed_once_then_consumers_cancelled)
{
	static struct queue_run q;

	run_queue((const char *const[]){ "--seed", "444", "--time-scale",
					 "0.001", "queue", "-p", "5", "-c",
					 "10", NULL },
		  &q);
	cr_assert_eq(q.consumers, 10);
	cr_assert_gt(q.produced, 0);
	for (unsigned w = 5; w < MAXW; w++)
		cr_assert_eq(q.npl[w], 0, "producer %u of 5", w);
	for (unsigned c = 0; c < 10; c++)
		cr_assert_gt(q.ncs[c], 0, "consumer %u never started", c);
}

Test(pipeline, queue_same_seed_same_producers)
{
	static struct queue_run a, b;
	const char *const args[] = { "-s", "99", "-t", "0.001", "queue", "-p",
				     "3", "-c", "2", "-m", "6", NULL };

	run_queue(args, &a);
	run_queue(args, &b);
	cr_assert_eq(a.produced, b.produced);
	for (unsigned w = 0; w < 3; w++) {
		cr_assert_eq(a.npl[w], b.npl[w]);
		cr_assert_leq(a.npl[w], 2 * 6, "at most -m items");
		for (unsigned k = 0; k < a.npl[w]; k++)
			cr_assert_str_eq(a.plines[w][k], b.plines[w][k]);
	}
	/* A consumer's sleeps are its own stream too: how many it got to
	 * draw depends on timing, but one run's are a prefix of the
	 * other's. */
	for (unsigned c = 0; c < 2; c++) {
		unsigned m = a.ncs[c] < b.ncs[c] ? a.ncs[c] : b.ncs[c];
		for (unsigned k = 0; k < m; k++)
			cr_assert_eq(a.csleep[c][k], b.csleep[c][k]);
	}
}

Test(pipeline, queue_edges)
{
	static struct queue_run q;

	/* No items at all: join() returns at once, consumers cancelled. */
	run_queue((const char *const[]){ "-s", "1", "-t", "0.001", "queue",
					 "-m", "0", "-c", "3", NULL },
		  &q);
	cr_assert_eq(q.produced, 0);
	cr_assert_eq(q.cancelled, 3);
	/* No producers. */
	run_queue((const char *const[]){ "-s", "1", "-t", "0", "queue", "-p",
					 "0", "-c", "1", NULL },
		  &q);
	cr_assert_eq(q.produced, 0);
	cr_assert_eq(q.cancelled, 1);
	/* One consumer for many producers, time scale 0: every await
	 * still yields. */
	run_queue((const char *const[]){ "-s", "5", "-t", "0", "queue", "-p",
					 "12", "-c", "1", "-m", "30", NULL },
		  &q);
	cr_assert_gt(q.produced, 12);
	cr_assert_eq(q.cancelled, 1);
}

Test(pipeline, default_seed_is_printed_and_replays)
{
	struct th_proc p;
	unsigned long long seed;
	char sbuf[32], *first;

	RUN(&p, "-t", "0", "chain", "4", "5");
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert_eq(sscanf(p.err, "pipeline: --seed %llu", &seed), 1, "%s",
		     p.err);
	/* Everything but the timings comes back with that seed. */
	first = strdup(p.out);
	th_proc_free(&p);
	snprintf(sbuf, sizeof(sbuf), "%llu", seed);
	RUN(&p, "-t", "0", "--seed", sbuf, "chain", "4", "5");
	cr_assert_eq(th_proc_exit(&p), 0);
	cr_assert_str_eq(p.err, "");
	for (const char *want = first; *want;) {
		const char *nl = strchr(want, '\n');
		char line[256];
		snprintf(line, sizeof(line), "%.*s\n", (int)(nl - want), want);
		/* The other lines hold timings. */
		if (strstr(line, "sleeping") || strstr(line, "Returning"))
			cr_assert(strstr(p.out, line), "missing: %s", line);
		want = nl + 1;
	}
	free(first);
	th_proc_free(&p);
}

/* -- the command line ------------------------------------------------------- */

static void check_usage(const char *const *args, const char *needle)
{
	struct th_proc p;

	run_v(&p, args);
	cr_assert_eq(th_proc_exit(&p), 2, "'%s': status %d", needle,
		     p.status);
	cr_assert_str_eq(p.out, "");
	cr_assert(strstr(p.err, needle), "stderr '%s', wanted '%s'", p.err,
		  needle);
	cr_assert(strstr(p.err, "Try 'pipeline --help'"), "%s", p.err);
	th_proc_free(&p);
}

#define USAGE(needle, ...) \
	check_usage((const char *const[]){ __VA_ARGS__, NULL }, needle)

Test(pipeline, bad_command_lines)
{
	check_usage((const char *const[]){ NULL }, "say which: chain or "
		    "queue");
	USAGE("unknown mode 'pipe'", "pipe");
	USAGE("bad chain number 'x'", "chain", "1", "x");
	USAGE("bad chain number '2.5'", "chain", "2.5");
	USAGE("unknown option '-5'", "chain", "-5");
	USAGE("-p, -c and -m are options of queue", "chain", "-p", "2");
	USAGE("unexpected argument 'now'", "queue", "now");
	USAGE("bad consumer count '0'", "queue", "-c", "0");
	USAGE("bad producer count '-1'", "queue", "-p", "-1");
	USAGE("bad producer count '10001'", "queue", "-p", "10001");
	USAGE("bad item count 'many'", "queue", "--max-items", "many");
	USAGE("bad time scale 'abc'", "--time-scale", "abc", "chain");
	USAGE("bad time scale '-1'", "-t", "-1", "chain");
	USAGE("bad time scale 'nan'", "-t", "nan", "chain");
	USAGE("bad time scale '1001'", "-t", "1001", "chain");
	USAGE("bad seed '-3'", "--seed", "-3", "chain");
	USAGE("bad seed '99999999999999999999'", "--seed",
	      "99999999999999999999", "chain");
	USAGE("--seed needs an argument", "chain", "--seed");
	USAGE("unknown option '--fast'", "--fast", "chain");
}

Test(pipeline, help)
{
	struct th_proc p;

	RUN(&p, "--help");
	cr_assert_eq(th_proc_exit(&p), 0);
	cr_assert(strstr(p.out, "Usage: pipeline"), "%s", p.out);
	cr_assert(strstr(p.out, "--time-scale"), "%s", p.out);
	th_proc_free(&p);
}
