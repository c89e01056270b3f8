/* charfinder --bench: how long the index takes to build and to answer.
 * Not a benchmark of the servers (bench/ has those); it measures the two
 * numbers the design promises: a build of tens of milliseconds, done once
 * before serving, and queries in microseconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "ucd.h"

#define BUILDS 5
#define QUERY_NS (200 * 1000 * 1000LL) /* time spent on each query */

static const char *const default_queries[] = {
	"cat face", "sign dollar", "latin small letter a", "arrow",
	"letter", "cjk", "no such word",
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static void time_query(const struct cf_index *ix, const char *q)
{
	long long t0 = now_ns(), t;
	size_t n = 0, iters = 0;
	struct cf_match m;

	do {
		/* Batches of 64 keep the clock out of the measurement. */
		for (int i = 0; i < 64; i++) {
			if (cf_index_find(ix, q, strlen(q), &m) < 0)
				return;
			n = m.n;
			cf_match_release(&m);
		}
		iters += 64;
		t = now_ns() - t0;
	} while (t < QUERY_NS);
	printf("query %-24s %7zu matches  %9.2f us/query\n", q, n,
	       (double)t / (double)iters / 1000.0);
}

int cf_bench(const char *path, char **words, int n)
{
	long long t[BUILDS], t0, tread;
	struct cf_index *ix = NULL;
	size_t len, bad = 0;
	char *text;
	int ret;

	path = path ? path : CF_DEFAULT_DATA;
	t0 = now_ns();
	if ((ret = cf_read_file(path, &text, &len)) < 0) {
		fprintf(stderr, "charfinder: cannot read %s: %s\n", path,
			strerror(-ret));
		return 2;
	}
	tread = now_ns() - t0;
	for (int i = 0; i < BUILDS; i++) {
		cf_index_free(ix);
		t0 = now_ns();
		ret = cf_index_build(&ix, text, len, &bad);
		t[i] = now_ns() - t0;
		if (ret < 0) {
			fprintf(stderr,
				"charfinder: %s:%zu: cannot index: %s\n",
				path, bad, strerror(-ret));
			free(text);
			return 2;
		}
	}
	free(text);
	qsort(t, BUILDS, sizeof(t[0]), cmp_ll);
	printf("index: %zu characters, %zu words; read %.2f ms, "
	       "build %.2f ms (median of %d, best %.2f ms)\n",
	       cf_index_size(ix), cf_index_words(ix), tread / 1e6,
	       t[BUILDS / 2] / 1e6, BUILDS, t[0] / 1e6);
	if (n > 0) {
		size_t total = 1;
		for (int i = 0; i < n; i++)
			total += strlen(words[i]) + 1;
		char *q = calloc(1, total);
		if (!q) {
			cf_index_free(ix);
			return 2;
		}
		for (int i = 0; i < n; i++) {
			if (i)
				strcat(q, " ");
			strcat(q, words[i]);
		}
		time_query(ix, q);
		free(q);
	} else {
		for (size_t i = 0; i < sizeof(default_queries) /
				       sizeof(default_queries[0]); i++)
			time_query(ix, default_queries[i]);
	}
	cf_index_free(ix);
	return 0;
}
