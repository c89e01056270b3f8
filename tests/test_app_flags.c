/* flags and flags-server (apps/flags): the country-code expansion and the
 * fake GIFs in this process; then the programs, as child processes. Each
 * test starts its own flags-server (--port 0, the port read from its
 * "Serving" line) in a temporary directory, runs flags against it and
 * checks the files, the reports and the exit statuses; one runs against
 * nginx instead (skipped without nginx). $CIO_BACKEND reaches the
 * programs through the environment, so make test runs all of it on both
 * backends.
 *
 * Time: every wait on a child is bounded (WAIT_MS, and flags' own -t),
 * and the slowest test waits 0.2 s delays a few times over.
 *
 * The Makefile links a test from its own file and the helpers only, so
 * the sources tested in process are included here. */
#include "helpers/harness.h"
#include "helpers/proc.h"

#include "../apps/flags/cc.c"
#include "../apps/flags/gif.c"
#include "../apps/flags/save.c"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FLAGS TH_BUILD_DIR "/apps/flags"
#define SERVER TH_BUILD_DIR "/apps/flags-server"
#define NGINX "/usr/sbin/nginx"
#define WAIT_MS 30000

extern char **environ;

static void cleanup(void);

/* One timeout for the file: the slowest test (concurrency, with its
 * 0.2 s delays) takes about 2 s, more under ASan. */
TestSuite(app_flags, .timeout = 120, .fini = cleanup);

/* -- country codes, in process --------------------------------------------- */

static size_t expand(struct fl_ccset *s, size_t limit,
		     char (*out)[FL_CC_SIZE])
{
	return fl_ccset_sorted(s, limit, out);
}

Test(app_flags, cc_expansion)
{
	static char out[FL_ALL_CODES][FL_CC_SIZE];
	static struct fl_ccset s;

	memset(&s, 0, sizeof(s));
	cr_assert(fl_ccset_add_arg(&s, "br"));
	cr_assert(fl_ccset_add_arg(&s, "AD"));
	cr_assert(fl_ccset_add_arg(&s, "ad"));
	cr_assert(fl_ccset_add_arg(&s, "z")); /* ZA to ZZ */
	cr_assert_eq(expand(&s, 0, out), 28);
	cr_assert_str_eq(out[0], "AD");
	cr_assert_str_eq(out[1], "BR");
	cr_assert_str_eq(out[2], "ZA");
	cr_assert_str_eq(out[27], "ZZ");
	cr_assert_eq(expand(&s, 2, out), 2);

	/* Three letters: the codes flags-server generates past ZZ, sorted
	 * after every two-letter code. */
	cr_assert(fl_ccset_add_arg(&s, "abc"));
	cr_assert(fl_ccset_add_arg(&s, "ZZZ"));
	cr_assert(fl_ccset_add_arg(&s, "AAA"));
	cr_assert_eq(expand(&s, 0, out), 31);
	cr_assert_str_eq(out[27], "ZZ");
	cr_assert_str_eq(out[28], "AAA");
	cr_assert_str_eq(out[29], "ABC");
	cr_assert_str_eq(out[30], "ZZZ");

	const char *bad[] = { "", "A1", "ABCD", "AB1", "1", "-", "\xC3\xA9",
			      "a b", "a\xC3\xA9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!fl_ccset_add_arg(&s, bad[i]), "'%s'", bad[i]);

	memset(&s, 0, sizeof(s));
	cr_assert(fl_ccset_add_range(&s, "A..C"));
	cr_assert_eq(expand(&s, 0, out), 78);
	cr_assert_str_eq(out[0], "AA");
	cr_assert_str_eq(out[77], "CZ");
	memset(&s, 0, sizeof(s));
	cr_assert(fl_ccset_add_range(&s, "a..z"));
	cr_assert_eq(expand(&s, 0, out), FL_CODES2);
	memset(&s, 0, sizeof(s));
	cr_assert(fl_ccset_add_range(&s, "q"));
	cr_assert_eq(expand(&s, 0, out), 26);
	cr_assert_str_eq(out[0], "QA");
	const char *badr[] = { "", "C..A", "A..", "A-C", "A...C", "1..2",
			       "AB", "A..CC" };
	for (size_t i = 0; i < sizeof(badr) / sizeof(badr[0]); i++)
		cr_assert(!fl_ccset_add_range(&s, badr[i]), "'%s'", badr[i]);

	/* -a: the ISO list, sorted and without duplicates. */
	cr_assert_eq(fl_iso_count, 249);
	memset(&s, 0, sizeof(s));
	fl_ccset_add_list(&s, fl_iso_codes, fl_iso_count);
	cr_assert_eq(expand(&s, 0, out), 249);
	for (size_t i = 0; i < fl_iso_count; i++)
		cr_assert_str_eq(out[i], fl_iso_codes[i]);
	cr_assert_eq(fl_pop20_count, 20);

	/* --generate order: ISO first, then the other two-letter codes,
	 * then AAA to ZZZ; all distinct. */
	static struct fl_ccset seen;
	char cc[FL_CC_SIZE];
	memset(&seen, 0, sizeof(seen));
	fl_generate_code(0, cc);
	cr_assert_str_eq(cc, "AD");
	fl_generate_code(248, cc);
	cr_assert_str_eq(cc, "ZW");
	fl_generate_code(249, cc);
	cr_assert_str_eq(cc, "AA");
	fl_generate_code(FL_CODES2 - 1, cc);
	cr_assert_str_eq(cc, "ZZ");
	fl_generate_code(FL_CODES2, cc);
	cr_assert_str_eq(cc, "AAA");
	fl_generate_code(999, cc);
	cr_assert_str_eq(cc, "AML");
	fl_generate_code(FL_ALL_CODES - 1, cc);
	cr_assert_str_eq(cc, "ZZZ");
	for (size_t i = 0; i < FL_ALL_CODES; i++) {
		fl_generate_code(i, cc);
		cr_assert(!seen.has[code_index(cc)], "%s twice", cc);
		cr_assert(fl_ccset_add_arg(&seen, cc), "%s", cc);
	}
	cr_assert_eq(expand(&seen, 0, out), FL_ALL_CODES);
}

/* flags -g N is the set of the first N codes flags-server --generate N
 * writes, whatever N. */
Test(app_flags, generated_selection_is_the_generate_order)
{
	static struct fl_ccset got, want;
	static char out[FL_ALL_CODES][FL_CC_SIZE];
	const size_t ns[] = { 0, 1, 20, 248, 249, 250, 675, 676, 677, 1000,
			      FL_ALL_CODES - 1, FL_ALL_CODES };
	char cc[FL_CC_SIZE];

	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		memset(&got, 0, sizeof(got));
		memset(&want, 0, sizeof(want));
		fl_ccset_add_generated(&got, ns[k]);
		for (size_t i = 0; i < ns[k]; i++) {
			fl_generate_code(i, cc);
			cr_assert(fl_ccset_add_arg(&want, cc));
		}
		cr_assert(memcmp(&got, &want, sizeof(got)) == 0, "n = %zu",
			  ns[k]);
		cr_assert_eq(expand(&got, 0, out), ns[k]);
	}
	/* It adds to what is there: a code already in stays in once. */
	memset(&got, 0, sizeof(got));
	cr_assert(fl_ccset_add_arg(&got, "ZZZ"));
	cr_assert(fl_ccset_add_arg(&got, "AD"));
	fl_ccset_add_generated(&got, 3); /* AD AE AF */
	cr_assert_eq(expand(&got, 0, out), 4);
	cr_assert_str_eq(out[2], "AF");
	cr_assert_str_eq(out[3], "ZZZ");
	/* 1000: every two-letter code and AAA to AML, as the benchmark
	 * asks for. */
	memset(&got, 0, sizeof(got));
	fl_ccset_add_generated(&got, 1000);
	cr_assert_eq(expand(&got, 0, out), 1000);
	cr_assert_str_eq(out[0], "AA");
	cr_assert_str_eq(out[FL_CODES2], "AAA");
	cr_assert_str_eq(out[999], "AML");
}

/* -- the fake GIFs, decoded here ------------------------------------------- */

/* A GIF89a decoder for what fl_gif_make() writes (global table, one
 * image, LZW as every decoder reads it): the number of pixels, or -1. */
static long gif_pixels(const uint8_t *d, size_t len, unsigned *w,
		       unsigned *h)
{
	static uint16_t prefix[4096];
	size_t p, dlen = 0;
	uint8_t data[8192];

	if (len < 14 || memcmp(d, "GIF89a", 6) != 0 || !(d[10] & 0x80))
		return -1;
	*w = d[6] | d[7] << 8;
	*h = d[8] | d[9] << 8;
	p = 13 + 3 * (2u << (d[10] & 7));
	if (p + 11 > len || d[p] != 0x2C)
		return -1;
	unsigned mcs = d[p + 10];
	p += 11;
	while (p < len && d[p]) {
		if (p + 1 + d[p] > len || dlen + d[p] > sizeof(data))
			return -1;
		memcpy(data + dlen, d + p + 1, d[p]);
		dlen += d[p];
		p += 1 + d[p];
	}
	if (p + 2 != len || d[p + 1] != 0x3B)
		return -1;

	unsigned clear = 1u << mcs, width = mcs + 1, avail = clear + 2;
	int prev = -1;
	uint32_t bits = 0;
	unsigned nbits = 0;
	long out = 0;
	size_t pos = 0;
	for (;;) {
		while (nbits < width) {
			if (pos == dlen)
				return -1; /* no end code */
			bits |= (uint32_t)data[pos++] << nbits;
			nbits += 8;
		}
		unsigned code = bits & ((1u << width) - 1);
		bits >>= width;
		nbits -= width;
		if (code == clear) {
			width = mcs + 1;
			avail = clear + 2;
			prev = -1;
			continue;
		}
		if (code == clear + 1)
			return out;
		if (code > avail || (code == avail && prev < 0))
			return -1;
		/* Length of the string for code (literals have length 1). */
		unsigned c = code == avail ? (unsigned)prev : code, n = 1;
		while (c >= clear) {
			c = prefix[c];
			n++;
		}
		out += n + (code == avail);
		if (prev >= 0 && avail < 4096) {
			prefix[avail] = (uint16_t)prev;
			if (++avail == (1u << width) && width < 12)
				width++;
		}
		prev = (int)code;
	}
}

Test(app_flags, gifs_decode_and_differ)
{
	static uint8_t gif[FL_GIF_MAX], prev[FL_GIF_MAX];
	size_t prev_len = 0;
	unsigned w, h;
	char cc[FL_CC_SIZE];

	for (size_t i = 0; i < FL_ALL_CODES; i++) {
		fl_generate_code(i, cc);
		size_t len = fl_gif_make(cc, gif);
		cr_assert(len > 400 && len <= FL_GIF_MAX, "%s: %zu", cc, len);
		long px = gif_pixels(gif, len, &w, &h);
		cr_assert_eq(px, (long)w * h, "%s: %ld pixels for %u x %u", cc,
			     px, w, h);
		cr_assert(w >= 30 && h >= 20);
		cr_assert(len != prev_len || memcmp(gif, prev, len) != 0, "%s",
			  cc);
		memcpy(prev, gif, len);
		prev_len = len;
	}
}

/* -- children -------------------------------------------------------------- */

/* Children and directories not cleaned up yet: a failed assertion leaves
 * its test at once, and the suite's .fini must not leave a server
 * running or a directory behind. */
static pid_t live[8];
static char dirs[4][64];

static void track(pid_t pid, pid_t was)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == was) {
			live[i] = pid;
			return;
		}
	cr_assert_fail("too many children");
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (dirs[i][0]) {
			nftw(dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
			dirs[i][0] = '\0';
		}
}

/* A new empty directory, removed by cleanup(). */
static const char *tmpdir(void)
{
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!dirs[i][0]) {
			strcpy(dirs[i], "/tmp/cio-flags-XXXXXX");
			cr_assert_not_null(mkdtemp(dirs[i]));
			return dirs[i];
		}
	cr_assert_fail("too many directories");
	return NULL;
}

struct child {
	pid_t pid;
	int out, err; /* our ends of its stdout and stderr */
};

static void child_start(struct child *c, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int out[2], err[2];

	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	fflush(NULL);
	int ret = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	cr_assert_eq(ret, 0, "spawn %s: %s", argv[0], strerror(ret));
	track(c->pid, 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
}

/* One line of the child's stdout (without its '\n'), within WAIT_MS. */
static void child_line(struct child *c, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		struct pollfd pf = { .fd = c->out, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "no line from child");
		cr_assert_eq(read(c->out, line + n, 1), 1,
			     "child ended its output (after '%.*s')", (int)n,
			     line);
		if (line[n] == '\n')
			break;
		cr_assert_lt(++n, cap - 1);
	}
	line[n] = '\0';
}

/* Read fd to its end (bounded by WAIT_MS of silence); malloc'd. */
static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);

	cr_assert_not_null(b);
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "child output hangs");
		if (len + 1 == cap)
			cr_assert_not_null(b = realloc(b, cap *= 2));
		ssize_t n = read(fd, b + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	b[len] = '\0';
	close(fd);
	return b;
}

/* Wait for the child's end; its wait status, and what it still wrote. */
static int child_finish(struct child *c, char **out, char **err)
{
	int st;

	*out = read_all(c->out);
	*err = read_all(c->err);
	cr_assert_eq(waitpid(c->pid, &st, 0), c->pid);
	track(0, c->pid);
	return st;
}

#define EXITED_WITH(st, code) (WIFEXITED(st) && WEXITSTATUS(st) == (code))

/* No sanitizer report, no crash message. */
static void assert_clean(const char *err)
{
	cr_assert(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"),
		  "%s", err);
}

/* -- flags-server ---------------------------------------------------------- */

struct server {
	struct child c;
	unsigned port;
	char dir[64];
};

/* flags-server --port 0 --dir <new dir> ARGS..., up to its Serving line. */
static void server_start(struct server *s, const char *const args[])
{
	char *argv[24] = { SERVER, "--port", "0", "--dir", NULL };
	char line[512], want[128];
	int n = 4;

	snprintf(s->dir, sizeof(s->dir), "%s", tmpdir());
	argv[n++] = s->dir;
	for (size_t i = 0; args && args[i]; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	child_start(&s->c, argv);
	do
		child_line(&s->c, line, sizeof(line));
	while (strncmp(line, "Serving ", 8) != 0);
	snprintf(want, sizeof(want), "Serving %s on http://127.0.0.1:%%u/",
		 s->dir);
	cr_assert_eq(sscanf(line, want, &s->port), 1, "banner: %s", line);
	cr_assert(s->port > 0 && s->port < 65536);
}

/* SIGTERM (or SIGINT): it must end with 0 and nothing on stderr. */
static void server_stop(struct server *s, int sig)
{
	char *out, *err;

	cr_assert_eq(kill(s->c.pid, sig), 0);
	int st = child_finish(&s->c, &out, &err);
	cr_assert(EXITED_WITH(st, 0), "server status %d: %s", st, err);
	cr_assert_str_eq(err, "", "server stderr: %s", err);
	free(out);
	free(err);
}

/* A whole response to GET path (HTTP/1.0, the server closes), with
 * plain blocking sockets: the test has no loop. */
static char *http_get(unsigned port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char req[256];

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	cr_assert_eq(write(fd, req, (size_t)n), n);
	return read_all(fd);
}

/* The status code of a raw response ("HTTP/1.x NNN ..."). */
static int status_of(const char *r)
{
	int st = 0;

	cr_assert_eq(sscanf(r, "HTTP/1.%*d %d", &st), 1, "%.60s", r);
	return st;
}

struct stats {
	unsigned long requests, errors;
	long max_concurrent;
};

static struct stats server_stats(const struct server *s, bool reset)
{
	char *r = http_get(s->port, reset ? "/stats?reset=1" : "/stats");
	struct stats st;
	char *body = strstr(r, "\r\n\r\n");

	cr_assert_eq(status_of(r), 200, "%s", r);
	cr_assert_not_null(body);
	cr_assert_eq(sscanf(body + 4,
			    "{\"requests\":%lu,\"max_concurrent\":%ld,"
			    "\"errors\":%lu}",
			    &st.requests, &st.max_concurrent, &st.errors),
		     3, "%s", body + 4);
	free(r);
	return st;
}

/* -- flags ----------------------------------------------------------------- */

struct run {
	int status;
	char *out, *err;
};

/* flags ARGS... to its end. */
static struct run flags(const char *const args[])
{
	const char *argv[32] = { FLAGS };
	struct th_proc p;
	struct run r;
	int n = 1;

	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_neq(p.status, -1, "flags did not start");
	r.status = p.status;
	r.out = p.out;
	r.err = p.err;
	assert_clean(r.err);
	return r;
}

#define FLAGS_RUN(...) flags((const char *const[]){ __VA_ARGS__, NULL })

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;

	cr_assert_not_null(f, "%s missing", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	b = malloc(*len + 1);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void lower(const char *cc, char out[FL_CC_SIZE])
{
	size_t k = 0;

	for (; cc[k] && k < FL_CC_SIZE - 1; k++)
		out[k] = (char)(cc[k] | 0x20);
	out[k] = '\0';
}

/* OUTDIR/<cc>.gif is SITE/flags/<cc>/<cc>.gif, byte for byte. */
static void assert_same_flag(const char *site, const char *outdir,
			     const char *cc)
{
	char a[256], b[256], lc[FL_CC_SIZE];
	size_t la, lb;

	lower(cc, lc);
	snprintf(a, sizeof(a), "%s/flags/%s/%s.gif", site, lc, lc);
	snprintf(b, sizeof(b), "%s/%s.gif", outdir, lc);
	char *x = slurp(a, &la), *y = slurp(b, &lb);
	cr_assert(la == lb && memcmp(x, y, la) == 0, "%s differs from %s", b,
		  a);
	free(x);
	free(y);
}

static size_t count_files(const char *dir)
{
	char cmd[256];
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%zu", &n), 1);
	pclose(f);
	return n;
}

static const char *base_url(unsigned port)
{
	static char b[4][64];
	static unsigned i;
	char *s = b[i++ % 4];

	snprintf(s, sizeof(b[0]), "http://127.0.0.1:%u/flags", port);
	return s;
}

/* The first n codes of --generate's order. */
static void first_codes(size_t n, char (*cc)[FL_CC_SIZE])
{
	for (size_t i = 0; i < n; i++)
		fl_generate_code(i, cc[i]);
}

/* -- the tests with the programs ------------------------------------------- */

Test(app_flags, all_ok_both_save_modes)
{
	const char *modes[] = { "uring", "executor" };
	struct server s;
	char cc[20][FL_CC_SIZE], outdir[2][128];

	server_start(&s, (const char *[]){ "--generate", "20", NULL });
	first_codes(20, cc);
	for (int m = 0; m < 2; m++) {
		snprintf(outdir[m], sizeof(outdir[m]), "%s/out-%s", tmpdir(),
			 modes[m]);
		/* The 20 codes given one by one (-a -m 20 is the same). */
		const char *args[32] = { "-s", base_url(s.port), "-c", "5",
					 "-o", outdir[m], "--save", modes[m],
					 "-t", "10" };
		for (int i = 0; i < 20; i++)
			args[10 + i] = cc[i];
		struct run r = flags(args);
		cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
		cr_assert(strstr(r.out, "Searching for 20 flags: from AD to "
					"BE\n5 concurrent connections will be "
					"used.\n"),
			  "%s", r.out);
		cr_assert(strstr(r.out, "--------------------\n20 flags "
					"downloaded.\nElapsed time: "),
			  "%s", r.out);
		cr_assert(!strstr(r.out, "not found") &&
			  !strstr(r.out, "error"), "%s", r.out);
		/* Not a terminal: the bar is drawn once, full. */
		cr_assert_str_eq(r.err, "20/20 [########################"
					"################]\n");
		cr_assert_eq(count_files(outdir[m]), 20);
		for (int i = 0; i < 20; i++)
			assert_same_flag(s.dir, outdir[m], cc[i]);
		run_free(&r);
	}
	struct stats st = server_stats(&s, false);
	cr_assert_eq(st.requests, 40);
	cr_assert_eq(st.errors, 0);
	cr_assert_leq(st.max_concurrent, 5);
	server_stop(&s, SIGTERM);
}

/* -g N against flags-server --generate N: exactly the files it wrote,
 * past the 676 two-letter codes; three-letter codes by name too. */
Test(app_flags, generated_flags_past_the_two_letter_codes)
{
	struct server s;
	char out[128], cc[FL_CC_SIZE];

	server_start(&s, (const char *[]){ "--generate", "1000", NULL });
	snprintf(out, sizeof(out), "%s/dl", tmpdir());
	struct run r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-g",
				 "1000", "-c", "20");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "Searching for 1000 flags: from AA to AML\n"
				"20 concurrent connections will be used.\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "--------------------\n1000 flags "
				"downloaded.\nElapsed time: "),
		  "%s", r.out);
	cr_assert_eq(count_files(out), 1000);
	for (size_t i = 0; i < 1000; i++) {
		fl_generate_code(i, cc);
		assert_same_flag(s.dir, out, cc);
	}
	run_free(&r);
	struct stats st = server_stats(&s, true);
	cr_assert_eq(st.requests, 1000);
	cr_assert_eq(st.errors, 0);
	cr_assert_leq(st.max_concurrent, 20);

	/* One more than the server has: the next code, AMM, is missing. */
	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "--generated",
		      "1001", "-c", "50", "--save", "executor");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\n1000 flags downloaded.\n1 not found.\n"),
		  "%s", r.out);
	run_free(&r);

	/* -m after -g: the codes are sorted first. */
	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-g", "1000", "-m",
		      "3");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "Searching for 3 flags: AA, AB, AC\n"), "%s",
		  r.out);
	run_free(&r);

	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-v", "aml", "AAA",
		      "ZZZ", "AD");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "Searching for 4 flags: AD, AAA, AML, ZZZ\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\nAML ok\n") && strstr(r.out, "\nAAA ok\n") &&
			  strstr(r.out, "\nZZZ not found\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\n3 flags downloaded.\n1 not found.\n"),
		  "%s", r.out);
	run_free(&r);
	server_stop(&s, SIGTERM);
}

Test(app_flags, not_found_is_counted_not_an_error)
{
	struct server s;
	char out[128];

	server_start(&s, (const char *[]){ "--generate", "3", NULL });
	snprintf(out, sizeof(out), "%s/dl", tmpdir());
	/* AD, AE, AF exist; ZZ, QQ do not; "b" asks for BA to BZ. */
	struct run r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-v",
				 "ad", "AE", "Af", "ZZ", "QQ");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "Searching for 5 flags: AD, AE, AF, QQ, ZZ\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\nAD ok\n") && strstr(r.out, "\nZZ not "
							      "found\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "--------------------\n3 flags downloaded.\n"
				"2 not found.\nElapsed time: "),
		  "%s", r.out);
	cr_assert_str_eq(r.err, ""); /* -v: no bar */
	cr_assert_eq(count_files(out), 3);
	run_free(&r);

	/* One of each: the singular. */
	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "AD", "ZZ");
	cr_assert(EXITED_WITH(r.status, 0));
	cr_assert(strstr(r.out, "Searching for 2 flags: AD, ZZ\n2 concurrent "
				"connections will be used.\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\n1 flag downloaded.\n1 not found.\n"), "%s",
		  r.out);
	run_free(&r);

	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-c", "1", "-v", "B");
	cr_assert(EXITED_WITH(r.status, 0));
	cr_assert(strstr(r.out, "Searching for 26 flags: from BA to BZ\n1 "
				"concurrent connection will be used.\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\n0 flags downloaded.\n26 not found.\n"),
		  "%s", r.out);
	run_free(&r);
	server_stop(&s, SIGINT);
}

Test(app_flags, injected_errors_are_counted_and_explained)
{
	struct server s;
	char out[128], line[64];
	unsigned long k = 0;

	server_start(&s, (const char *[]){ "--generate", "20", "--error-rate",
					   "0.5", "--seed", "7", NULL });
	snprintf(out, sizeof(out), "%s/dl", tmpdir());
	struct run r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-a",
				 "-m", "20", "-c", "4", "-v");
	cr_assert(EXITED_WITH(r.status, 1), "%d: %s", r.status, r.err);
	for (const char *p = r.out; (p = strstr(p, "*** Error for ")); p++) {
		cr_assert(strncmp(p + 16, ": HTTP 418 I'm a teapot\n", 24) ==
				  0,
			  "%s", p);
		k++;
	}
	cr_assert(k > 0 && k < 20, "%lu errors in\n%s", k, r.out);
	struct stats st = server_stats(&s, true);
	cr_assert_eq(st.errors, k); /* what the server sent, all counted */
	cr_assert_eq(st.requests, 20);
	snprintf(line, sizeof(line), "\n%lu flag%s downloaded.\n%lu error%s.\n",
		 20 - k, 20 - k == 1 ? "" : "s", k, k == 1 ? "" : "s");
	cr_assert(strstr(r.out, line), "want %s in %s", line, r.out);
	cr_assert_eq(count_files(out), 20 - k);
	run_free(&r);

	/* Without -v: the bar, then each reason once with its codes, on
	 * stderr. */
	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-a", "-m", "20");
	cr_assert(EXITED_WITH(r.status, 1), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.err, " [##"), "%s", r.err);
	cr_assert(strstr(r.err, "\n*** "), "%s", r.err);
	cr_assert(strstr(r.err, ": HTTP 418 I'm a teapot ("), "%s", r.err);
	cr_assert(!strstr(r.out, "*** Error"), "%s", r.out);
	run_free(&r);
	server_stop(&s, SIGTERM);
}

Test(app_flags, error_count_is_fixed_by_the_seed)
{
	unsigned long errors[2];

	for (int i = 0; i < 2; i++) {
		struct server s;
		char out[128];
		server_start(&s, (const char *[]){ "--generate", "30",
						   "--error-rate", "0.3",
						   "--seed", "12345", NULL });
		snprintf(out, sizeof(out), "%s/dl", s.dir);
		struct run r = FLAGS_RUN("-s", base_url(s.port), "-o", out,
					 "-a", "-m", "30", "-c",
					 i ? "30" : "2");
		cr_assert(EXITED_WITH(r.status, 1), "%d: %s", r.status,
			  r.err);
		errors[i] = server_stats(&s, false).errors;
		cr_assert_eq(count_files(out), 30 - errors[i]);
		run_free(&r);
		server_stop(&s, SIGTERM);
	}
	cr_assert_eq(errors[0], errors[1]);
}

Test(app_flags, concurrency_limit_is_respected)
{
	struct server s;
	char out[128];

	/* One shard: the server's count is exact (see apps/flags/slow.c). */
	server_start(&s, (const char *[]){ "--generate", "12", "--delay",
					   "0.2", "--shards", "1", NULL });
	snprintf(out, sizeof(out), "%s/dl", tmpdir());
	struct run r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-a", "-m",
				 "12", "-c", "3");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\n12 flags downloaded.\n"), "%s", r.out);
	/* Four rounds of 0.2 s. */
	double secs = 0;
	cr_assert_eq(sscanf(strstr(r.out, "Elapsed time: "),
			    "Elapsed time: %lfs", &secs),
		     1);
	cr_assert(secs >= 0.75, "%.2f s", secs);
	run_free(&r);
	struct stats st = server_stats(&s, true);
	cr_assert_eq(st.requests, 12);
	cr_assert_eq(st.max_concurrent, 3);

	r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-a", "-m", "12",
		      "-c", "12");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	run_free(&r);
	st = server_stats(&s, false);
	cr_assert_eq(st.requests, 12);
	cr_assert_gt(st.max_concurrent, 3);
	cr_log_info("flags -c 12: the server saw %ld at once",
		    st.max_concurrent);
	server_stop(&s, SIGTERM);
}

/* A port nobody listens on: bound, then closed. */
static unsigned closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, al), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

Test(app_flags, connection_refused_is_an_error_for_every_code)
{
	char out[128];
	unsigned port = closed_port();

	snprintf(out, sizeof(out), "%s/dl", tmpdir());
	struct run r = FLAGS_RUN("-s", base_url(port), "-o", out, "AD", "BR",
				 "CN");
	cr_assert(EXITED_WITH(r.status, 1), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\n0 flags downloaded.\n3 errors.\n"), "%s",
		  r.out);
	cr_assert(strstr(r.err, "\n*** 3 errors: Connection refused (AD, BR, "
				"CN)\n"),
		  "%s", r.err);
	run_free(&r);

	r = FLAGS_RUN("-s", base_url(port), "-o", out, "-v", "AD");
	cr_assert(EXITED_WITH(r.status, 1));
	cr_assert(strstr(r.out, "*** Error for AD: Connection refused\n"),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\n0 flags downloaded.\n1 error.\n"), "%s",
		  r.out);
	run_free(&r);
	cr_assert_eq(count_files(out), 0);
}

Test(app_flags, slow_server_times_out)
{
	struct server s;
	char out[128];

	server_start(&s, (const char *[]){ "--generate", "2", "--delay", "5",
					   NULL });
	snprintf(out, sizeof(out), "%s/dl", tmpdir());
	struct run r = FLAGS_RUN("-s", base_url(s.port), "-o", out, "-t",
				 "0.3", "-v", "AD", "AE");
	cr_assert(EXITED_WITH(r.status, 1), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "*** Error for AD: HTTP request timed out\n"),
		  "%s", r.out);
	run_free(&r);
	/* The server's handlers are still sleeping: SIGTERM cancels them
	 * after its grace and it still exits 0. */
	server_stop(&s, SIGTERM);
}

/* SIGINT with flags in flight: exit 130, the counts so far, and only
 * whole files (each save mode: the executor's jobs outlive the task). */
static void interrupt_run(const struct server *s, const char *save)
{
	struct child c;
	char out[128], line[256];
	char *o, *e;

	snprintf(out, sizeof(out), "%s/dl-%s", s->dir, save);
	char *argv[] = { FLAGS, "-s", (char *)base_url(s->port), "-o", out,
			 "-a", "-m", "20", "-c", "2", "-v", "--save",
			 (char *)save, NULL };
	child_start(&c, argv);
	/* The first flag's line: it is under way. */
	do
		child_line(&c, line, sizeof(line));
	while (strcmp(line + 2, " ok") != 0);
	cr_assert_eq(kill(c.pid, SIGINT), 0);
	int st = child_finish(&c, &o, &e);
	cr_assert(EXITED_WITH(st, 130), "status %d: %s", st, e);
	assert_clean(e);
	unsigned done = 0, total = 0;
	cr_assert_eq(sscanf(e, "flags: interrupted after %u of %u flags",
			    &done, &total),
		     2, "%s", e);
	cr_assert(done >= 1 && done < 20 && total == 20, "%u/%u", done, total);
	cr_assert(strstr(o, "--------------------\n"), "%s", o);
	for (size_t i = 0; i < 20; i++) {
		char cc[FL_CC_SIZE], lc[FL_CC_SIZE], p[256];
		fl_generate_code(i, cc);
		lower(cc, lc);
		snprintf(p, sizeof(p), "%s/%s.gif", out, lc);
		if (access(p, F_OK) == 0)
			assert_same_flag(s->dir, out, cc);
	}
	free(o);
	free(e);
}

Test(app_flags, interrupted_run_reports_what_it_did)
{
	struct server s;

	server_start(&s, (const char *[]){ "--generate", "20", "--delay",
					   "0.2", NULL });
	interrupt_run(&s, "uring");
	interrupt_run(&s, "executor");
	server_stop(&s, SIGTERM);
}

/* -- against nginx --------------------------------------------------------- */

static const char ngx_conf[] =
	"daemon off;\n"
	"master_process off;\n"
	"worker_processes 1;\n"
	"pid %1$s/nginx.pid;\n"
	"error_log %1$s/error.log;\n"
	"events { worker_connections 1024; }\n"
	"http {\n"
	"  access_log off;\n"
	"  client_body_temp_path %1$s/tmp;\n"
	"  proxy_temp_path %1$s/tmp;\n"
	"  fastcgi_temp_path %1$s/tmp;\n"
	"  uwsgi_temp_path %1$s/tmp;\n"
	"  scgi_temp_path %1$s/tmp;\n"
	"  server {\n"
	"    listen 127.0.0.1:%2$u;\n"
	"    root %1$s/site;\n"
	"  }\n"
	"}\n";

static bool port_open(unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(fd);
	return ok;
}

Test(app_flags, download_from_nginx)
{
	char path[256], conf[2048], failed[256], out[128];
	const char *dir;
	unsigned port;
	FILE *f;

	if (access(NGINX, X_OK) != 0)
		cr_skip_test("nginx is not installed");
	dir = tmpdir();
	snprintf(path, sizeof(path), "%s/site", dir);
	cr_assert_eq(fl_generate(path, 40, failed, sizeof(failed)), 0, "%s",
		     failed);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	port = closed_port();
	int n = snprintf(conf, sizeof(conf), ngx_conf, dir, port);
	snprintf(path, sizeof(path), "%s/nginx.conf", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	cr_assert_eq(fwrite(conf, 1, (size_t)n, f), (size_t)n);
	cr_assert_eq(fclose(f), 0);

	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Dies with the test, whatever way the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(NGINX, "nginx", "-p", dir, "-c", path, "-e",
		      "/dev/null", (char *)NULL);
		_exit(127);
	}
	track(pid, 0);
	/* nginx is another process with no "ready" line: poll its port,
	 * bounded. */
	for (int i = 0; i < 500 && !port_open(port); i++) {
		int st;
		cr_assert_eq(waitpid(pid, &st, WNOHANG), 0, "nginx exited");
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	cr_assert(port_open(port), "nginx does not listen");

	snprintf(out, sizeof(out), "%s/dl", dir);
	snprintf(path, sizeof(path), "%s/site", dir);
	/* 40 flags there, 50 asked for: AD..BV found, the rest 404. */
	struct run r = FLAGS_RUN("-s", base_url(port), "-o", out, "-a", "-m",
				 "50", "-c", "10", "--save", "uring");
	cr_assert(EXITED_WITH(r.status, 0), "%d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\n40 flags downloaded.\n10 not found.\n"),
		  "%s", r.out);
	cr_assert_eq(count_files(out), 40);
	for (size_t i = 0; i < 40; i++) {
		char cc[FL_CC_SIZE];
		fl_generate_code(i, cc);
		assert_same_flag(path, out, cc);
	}
	run_free(&r);

	kill(pid, SIGQUIT);
	waitpid(pid, NULL, 0);
	track(0, pid);
}

/* -- usage errors ---------------------------------------------------------- */

Test(app_flags, usage_errors)
{
	const char *const *bad[] = {
		(const char *const[]){ "A1", NULL },
		(const char *const[]){ "ABCD", NULL },
		(const char *const[]){ "-g", "0", NULL },
		(const char *const[]){ "-g", "18253", NULL },
		(const char *const[]){ "--generated", "x", NULL },
		(const char *const[]){ "-g", "5x", NULL },
		(const char *const[]){ "-g", "-1", NULL },
		(const char *const[]){ "-g", NULL },
		(const char *const[]){ "-g", "5", "AD", NULL },
		(const char *const[]){ "-a", "-g", "5", NULL },
		(const char *const[]){ "-g", "5", "-e", "A", NULL },
		(const char *const[]){ "-c", "0", NULL },
		(const char *const[]){ "-c", "1001", NULL },
		(const char *const[]){ "-c", "5x", NULL },
		(const char *const[]){ "--bogus", NULL },
		(const char *const[]){ "-x", NULL },
		(const char *const[]){ "-c", NULL },
		(const char *const[]){ "-m", "-1", NULL },
		(const char *const[]){ "-e", "C..A", NULL },
		(const char *const[]){ "-e", "A..C", "AD", NULL },
		(const char *const[]){ "-a", "-e", "B", NULL },
		(const char *const[]){ "--save", "disk", NULL },
		(const char *const[]){ "-t", "0", NULL },
		(const char *const[]){ "-s", "not a url", NULL },
		(const char *const[]){ "-s", "ftp://127.0.0.1/flags", NULL },
		(const char *const[]){ "-s", "http://u:p@127.0.0.1/", NULL },
		(const char *const[]){ "-s", "http://127.0.0.1/?q=1", NULL },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = flags(bad[i]);
		cr_assert(EXITED_WITH(r.status, 2), "case %zu: status %d", i,
			  r.status);
		cr_assert_str_eq(r.out, "", "case %zu", i);
		cr_assert(strncmp(r.err, "flags: ", 7) == 0 &&
				  strstr(r.err, "Try 'flags --help'."),
			  "case %zu: %s", i, r.err);
		run_free(&r);
	}
	r = FLAGS_RUN("-s", "https://127.0.0.1/flags", "AD");
	cr_assert(EXITED_WITH(r.status, 2));
	cr_assert(strstr(r.err, "https is not supported"), "%s", r.err);
	run_free(&r);
	r = FLAGS_RUN("-c", "0");
	cr_assert(strstr(r.err, "bad concurrency '0' (1 to 1000)"), "%s",
		  r.err);
	run_free(&r);
	r = FLAGS_RUN("A1");
	cr_assert(strstr(r.err, "bad country code 'A1'"), "%s", r.err);
	run_free(&r);
	r = FLAGS_RUN("--generated", "0");
	cr_assert(strstr(r.err, "bad --generated '0' (1 to 18252)"), "%s",
		  r.err);
	run_free(&r);
	r = FLAGS_RUN("-g", "3", "AD");
	cr_assert(strstr(r.err, "give codes, -a, -e or -g, not several"),
		  "%s", r.err);
	run_free(&r);

	r = FLAGS_RUN("--help");
	cr_assert(EXITED_WITH(r.status, 0));
	cr_assert(strstr(r.out, "Usage: flags"), "%s", r.out);
	cr_assert(strstr(r.out, "  -g, --generated N "), "%s", r.out);
	run_free(&r);

	/* OUTDIR that cannot be made: a failure, not a usage error. */
	r = FLAGS_RUN("-o", "/proc/self/nope/dl", "AD");
	cr_assert(EXITED_WITH(r.status, 1), "%d", r.status);
	cr_assert(strstr(r.err, "flags: cannot make /proc/self/nope/dl: "),
		  "%s", r.err);
	run_free(&r);
}

Test(app_flags, server_usage_errors)
{
	const char *const bad[][4] = {
		{ "--port", "70000" }, { "--error-rate", "1.5" },
		{ "--error-rate", "-0.1" }, { "--delay", "x" },
		{ "--delay", "2..1" }, { "--delay", "1..x" },
		{ "--shards", "0" }, { "--generate", "0" },
		{ "--generate", "18253" }, { "--generate", "1k" },
		{ "--seed", "-3" },
		{ "--bogus" }, { "extra" }, { "--dir", "/nonexistent/x" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[8] = { SERVER, "--port", "0" };
		struct th_proc p;
		int n = 3;
		for (int k = 0; k < 4 && bad[i][k]; k++)
			argv[n++] = bad[i][k];
		th_proc_run(&p, argv, NULL, 0);
		int want = strcmp(bad[i][0], "--dir") == 0 ? 1 : 2;
		cr_assert_eq(th_proc_exit(&p), want, "case %zu: %d: %s", i,
			     th_proc_exit(&p), p.err);
		cr_assert(strncmp(p.err, "flags-server: ", 14) == 0,
			  "case %zu: %s", i, p.err);
		assert_clean(p.err);
		th_proc_free(&p);
	}
}

Test(app_flags, server_answers_files_stats_and_teapots)
{
	struct server s;
	char *r;

	server_start(&s, (const char *[]){ "--generate", "1", "--shards", "2",
					   NULL });
	r = http_get(s.port, "/flags/ad/ad.gif");
	cr_assert_eq(status_of(r), 200);
	cr_assert(strstr(r, "\r\nContent-Type: image/gif\r\n"), "%s", r);
	free(r);
	r = http_get(s.port, "/flags/zz/zz.gif");
	cr_assert_eq(status_of(r), 404);
	free(r);
	r = http_get(s.port, "/../etc/passwd");
	cr_assert_eq(status_of(r), 400);
	free(r);
	struct stats st = server_stats(&s, true);
	cr_assert_eq(st.requests, 3);
	cr_assert_eq(st.max_concurrent, 1);
	st = server_stats(&s, false);
	cr_assert_eq(st.requests, 0);
	server_stop(&s, SIGINT);

	/* --error-rate 1: every request is a teapot. */
	server_start(&s, (const char *[]){ "--generate", "1", "--error-rate",
					   "1", NULL });
	r = http_get(s.port, "/flags/ad/ad.gif");
	cr_assert_eq(status_of(r), 418);
	cr_assert(strstr(r, " 418 I'm a teapot\r\n"), "%.60s", r);
	free(r);
	cr_assert_eq(server_stats(&s, false).errors, 1);
	server_stop(&s, SIGTERM);
}
