/* The benchmark programs (the C files of bench/) and the suite's report
 * (bench/suite.py), in smoke runs: each program with --quick --json must
 * exit 0 and print only DESIGN.md section 8 rows, with the systems it
 * promises; bad options must give status 2. The numbers are not checked
 * (benchmarks live in bench/, never in tests), only that every scenario
 * still runs end to end and reports what the suite reads.
 *
 * The programs pick their backends themselves, so the suite runs once,
 * under CIO_BACKEND=uring (skipped under epoll). */
#include "helpers/proc.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BENCH TH_BUILD_DIR "/bench/"

TestSuite(bench_smoke, .timeout = 180);

static void only_once(void)
{
	const char *be = getenv("CIO_BACKEND");

	if (be && !strcmp(be, "epoll"))
		cr_skip_test("the programs run both backends themselves");
}

/* Does line `l` (NUL-terminated) look like a section 8 row? The keys in
 * their order, string values quoted, value a number or a string. */
static int is_row(const char *l)
{
	static const char *const keys[] = { "{\"bench\":\"", ",\"case\":\"",
					    ",\"system\":\"",
					    ",\"metric\":\"",
					    ",\"value\":", ",\"unit\":\"" };
	const char *p = l;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		p = strstr(p, keys[i]);
		if (!p)
			return 0;
		p += strlen(keys[i]);
	}
	return l[strlen(l) - 1] == '}';
}

struct rows {
	char *buf; /* the program's stdout */
	int n;
};

/* Run prog with args; assert exit 0 and that each stdout line is a row. */
static void run_rows(struct rows *r, const char *const argv[])
{
	struct th_proc p;
	char *line, *save = NULL;

	if (access(argv[0], X_OK) != 0)
		cr_skip_test("%s not built", argv[0]);
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s: status %d\n%s", argv[0],
		     p.status, p.err);
	r->buf = p.out;
	p.out = NULL;
	r->n = 0;
	for (line = strtok_r(r->buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cr_assert(is_row(line), "%s: not a row: %s", argv[0], line);
		line[strlen(line)] = '\n'; /* keep the text searchable */
		r->n++;
	}
	th_proc_free(&p);
	cr_assert_gt(r->n, 0, "%s printed no rows", argv[0]);
}

/* Is there a numeric row for (system, metric)? */
static int has(const struct rows *r, const char *system, const char *metric)
{
	char want[256];
	const char *p;

	snprintf(want, sizeof(want), "\"system\":\"%s\",\"metric\":\"%s\","
		 "\"value\":", system, metric);
	for (p = strstr(r->buf, want); p; p = strstr(p + 1, want)) {
		char c = p[strlen(want)];
		if (c == '-' || (c >= '0' && c <= '9'))
			return 1;
	}
	return 0;
}

static void expect(const struct rows *r, const char *system,
		   const char *metric)
{
	cr_expect(has(r, system, metric), "no %s %s row in:\n%s", system,
		  metric, r->buf);
}

static void bad_usage(const char *prog, const char *opt)
{
	const char *argv[] = { prog, opt, NULL };
	struct th_proc p;

	if (access(prog, X_OK) != 0)
		cr_skip_test("%s not built", prog);
	th_proc_run(&p, argv, NULL, 0);
	cr_expect_eq(th_proc_exit(&p), 2, "%s %s: status %d", prog, opt,
		     p.status);
	cr_expect_neq(strstr(p.err, "--help"), NULL, "%s", p.err);
	th_proc_free(&p);
}

Test(bench_smoke, echo_four_servers)
{
	const char *argv[] = { BENCH "echo", "--quick", "--json", "--conns",
			       "1,64", "--sizes", "64", NULL };
	struct rows r;

	only_once();
	run_rows(&r, argv);
	expect(&r, "uring", "req_per_s");
	expect(&r, "epoll", "req_per_s");
	expect(&r, "baseline", "req_per_s");
	expect(&r, "libuv", "req_per_s");
	expect(&r, "uring/epoll", "req_per_s");
	expect(&r, "uring/libuv", "server_cpu_us_per_req");
	/* The 64-connection case carries the target. */
	cr_expect_neq(strstr(r.buf, "\"target\":\">= 1.30\""), NULL, "%s",
		      r.buf);
	free(r.buf);
}

Test(bench_smoke, http_against_nginx_and_baseline)
{
	const char *argv[] = { BENCH "http", "--quick", "--json", "-c", "16",
			       NULL };
	struct rows r;

	only_once();
	if (!th_have("wrk"))
		cr_skip_test("wrk is not installed");
	run_rows(&r, argv);
	expect(&r, "uring", "requests_per_sec");
	expect(&r, "epoll", "requests_per_sec");
	expect(&r, "baseline", "requests_per_sec");
	expect(&r, "uring/epoll", "rps_ratio");
	if (access("/usr/sbin/nginx", X_OK) == 0)
		expect(&r, "uring/nginx", "rps_ratio");
	free(r.buf);
}

Test(bench_smoke, download_against_aria2c_and_curl)
{
	const char *argv[] = { BENCH "download", "--quick", "--json",
			       "--files", "50", NULL };
	struct rows r;

	only_once();
	if (access("/usr/sbin/nginx", X_OK) != 0)
		cr_skip_test("nginx is not installed");
	run_rows(&r, argv);
	expect(&r, "flags-uring", "seconds");
	expect(&r, "flags-epoll", "seconds");
	if (th_have("aria2c"))
		expect(&r, "flags-uring/aria2c", "speedup");
	if (th_have("curl"))
		expect(&r, "curl", "seconds");
	free(r.buf);
}

Test(bench_smoke, copy_against_cp)
{
	const char *argv[] = { BENCH "copy", "--quick", "--json", "--dir",
			       TH_BUILD_DIR, "--files", "200", "--size", "8M",
			       NULL };
	struct rows r;

	only_once();
	run_rows(&r, argv);
	/* Without root the cache cannot be dropped: the cases are _warm. */
	cr_expect(strstr(r.buf, "\"system\":\"coreio-uring/cp\""), "%s",
		  r.buf);
	cr_expect(strstr(r.buf, "\"system\":\"coreio-epoll\",\"metric\":"
				"\"seconds\""), "%s", r.buf);
	cr_expect(strstr(r.buf, "\"system\":\"cp\",\"metric\":"
				"\"seconds\""), "%s", r.buf);
	free(r.buf);
}

Test(bench_smoke, micro_sync_shard_chan)
{
	const char *micro[] = { BENCH "micro", "--quick", "--json", "--only",
				"switch,spawn", NULL };
	const char *sync[] = { BENCH "sync", "--quick", "--json", NULL };
	const char *shard[] = { BENCH "shard", "--quick", "--json", NULL };
	const char *chan[] = { BENCH "chan", "--quick", "--json", NULL };
	struct rows r;

	only_once();
	run_rows(&r, micro);
	expect(&r, "coreio", "ratio_vs_swapcontext");
	free(r.buf);
	run_rows(&r, sync);
	expect(&r, "coreio", "ns_per_handoff");
	free(r.buf);
	run_rows(&r, shard);
	expect(&r, "uring-msgring", "ns_per_round_trip");
	free(r.buf);
	run_rows(&r, chan);
	expect(&r, "coreio", "ns_per_op");
	free(r.buf);
}

Test(bench_smoke, bad_options_are_usage_errors)
{
	static const char *const progs[] = { "echo", "http", "download",
					     "micro", "sync", "shard",
					     "chan", "fileio", "copy" };

	only_once();
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), BENCH "%s", progs[i]);
		bad_usage(path, "--no-such-option");
		bad_usage(path, "--runs=0");
	}
}

/* suite.py report: rows in, latest.md (targets, verdicts, tables) and
 * a chart per scenario out. */
Test(bench_smoke, suite_report_renders_rows)
{
	char dir[] = "/tmp/coreio-suite-XXXXXX", path[256];
	const char *argv[] = { "python3", "bench/suite.py", "report",
			       "--results", dir, "--no-readme", NULL };
	struct th_proc p;
	struct stat st;
	FILE *f;
	long n;
	char *md;

	only_once();
	if (!th_have("python3"))
		cr_skip_test("python3 is not installed");
	cr_assert_neq(mkdtemp(dir), NULL);
	snprintf(path, sizeof(path), "%s/latest.json", dir);
	cr_assert_neq(f = fopen(path, "w"), NULL);
	fputs("{\"meta\":{\"date\":\"2026-01-01T00:00:00Z\",\"git\":\"abc\","
	      "\"cpu\":\"cpu\",\"cpus_online\":2,\"cpus_allowed\":2,"
	      "\"memory\":\"1 GiB\",\"kernel\":\"6.1\",\"virtualization\":"
	      "\"none\",\"os\":\"Debian\",\"compiler\":\"cc\",\"liburing\":"
	      "\"2.3\",\"peers\":{\"nginx\":\"1.22\"},\"seconds\":3},"
	      "\"scenarios\":[{\"name\":\"echo\",\"command\":\"bench/echo\","
	      "\"status\":0,\"seconds\":3}],\"rows\":["
	      "{\"bench\":\"echo\",\"case\":\"64conn_64B\",\"system\":"
	      "\"uring\",\"metric\":\"req_per_s\",\"value\":120000,\"unit\":"
	      "\"req/s\"},"
	      "{\"bench\":\"echo\",\"case\":\"64conn_64B\",\"system\":"
	      "\"epoll\",\"metric\":\"req_per_s\",\"value\":100000,\"unit\":"
	      "\"req/s\"},"
	      "{\"bench\":\"echo\",\"case\":\"64conn_64B\",\"system\":"
	      "\"uring/epoll\",\"metric\":\"req_per_s\",\"value\":1.2,"
	      "\"unit\":\"ratio\",\"n\":3,\"min\":1.1,\"max\":1.3,"
	      "\"target\":\">= 1.30\",\"met\":false},"
	      "{\"bench\":\"echo\",\"case\":\"env\",\"system\":\"uring\","
	      "\"metric\":\"backend\",\"value\":\"io_uring\",\"unit\":"
	      "\"text\"}]}",
	      f);
	fclose(f);
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	th_proc_free(&p);
	snprintf(path, sizeof(path), "%s/latest.md", dir);
	cr_assert_neq(f = fopen(path, "r"), NULL);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	md = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(md, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	cr_expect_neq(strstr(md, "## Targets"), NULL, "%s", md);
	cr_expect_neq(strstr(md, "| echo | 64conn_64B | uring/epoll req_per_s "
			     "| 1.20× | >= 1.30 | **MISSED** |"), NULL, "%s",
		      md);
	cr_expect_neq(strstr(md, "| 64conn_64B | 120.0 k | 100.0 k |"), NULL,
		      "%s", md);
	cr_expect_neq(strstr(md, "uring backend: io_uring"), NULL, "%s", md);
	snprintf(path, sizeof(path), "%s/echo.png", dir);
	if (th_have("gnuplot"))
		cr_expect(stat(path, &st) == 0 && st.st_size > 1000,
			  "no chart %s", path);
	free(md);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	cr_expect_eq(system(path), 0);
}
