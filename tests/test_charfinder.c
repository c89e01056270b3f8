/* charfinder (apps/charfinder): the index and the output shapes in this
 * process; the program from the command line (output, exit statuses,
 * usage errors); its TCP server with real clients (python3 asyncio and a
 * plain socket in tests/charfinder/tcp_client.py, and nc); its HTTP server
 * with curl and python3's http.client (tests/charfinder/http_client.py).
 *
 * The servers run as child processes started with --port 0: the test
 * reads the port from their "Serving on" line, stops them with SIGTERM or
 * SIGINT and checks that they exit 0 with nothing on stderr (under ASan,
 * a leak or an error would be there). $CIO_BACKEND reaches them through
 * the environment.
 *
 * The Makefile links a test from its own file and the helpers only, so
 * the index's sources are included here to be tested in process. */
#include "helpers/harness.h"

#include "../apps/charfinder/format.c"
#include "../apps/charfinder/index.c"
#include "../apps/charfinder/ucd.c"

#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define BIN TH_BUILD_DIR "/apps/charfinder"
#define CAT_FACE_LINE "U+1F431\t\xF0\x9F\x90\xB1\tCAT FACE\n"
/* Every wait on a child is bounded by this: a hang fails the test with a
 * message instead of reaching Criterion's timeout. */
#define WAIT_MS 30000

extern char **environ;

static void kill_children(void);

/* One timeout for the suite: the slowest case is a server's two-second
 * shutdown grace with a client still connected. */
TestSuite(charfinder, .timeout = 60, .fini = kill_children);

/* -- the index, in process ------------------------------------------------- */

static struct cf_index *ix_load(void)
{
	struct cf_index *ix = NULL;
	size_t bad = 0;
	int ret = cf_index_load(&ix, NULL, &bad);

	cr_assert_eq(ret, 0, "cf_index_load: %d (line %zu)", ret, bad);
	return ix;
}

/* The query's results as code points; their count. */
static size_t find_cps(const struct cf_index *ix, const char *q,
		       uint32_t *cps, size_t cap, int *words)
{
	struct cf_match m;
	struct cf_entry e;
	int ret = cf_index_find(ix, q, strlen(q), &m);

	cr_assert_geq(ret, 0, "cf_index_find(%s): %d", q, ret);
	if (words)
		*words = ret;
	for (size_t i = 0; i < m.n && i < cap; i++) {
		cf_index_entry(ix, m.ids[i], &e);
		cps[i] = e.cp;
	}
	size_t n = m.n;
	cf_match_release(&m);
	return n;
}

static bool has_cp(const uint32_t *cps, size_t n, uint32_t cp)
{
	for (size_t i = 0; i < n; i++)
		if (cps[i] == cp)
			return true;
	return false;
}

/* Does `name` have `word` as a whole word (ASCII case ignored)? */
static bool name_has_word(const char *name, const char *word, size_t wlen)
{
	size_t pos = 0, off, len, nlen = strlen(name);

	while (cf_next_word(name, nlen, &pos, &off, &len))
		if (len == wlen && same_word(name + off, word, wlen))
			return true;
	return false;
}

/* The index's answer equals a scan of every name. */
static void check_against_scan(const struct cf_index *ix, const char *q)
{
	struct cf_match m;
	struct cf_entry e;
	size_t k = 0;

	cr_assert_gt(cf_index_find(ix, q, strlen(q), &m), 0);
	for (uint32_t id = 0; id < cf_index_size(ix); id++) {
		size_t pos = 0, off, wlen;
		bool all = true;
		cf_index_entry(ix, id, &e);
		while (all && cf_next_word(q, strlen(q), &pos, &off, &wlen))
			all = name_has_word(e.name, q + off, wlen);
		if (!all)
			continue;
		cr_assert_lt(k, m.n, "%s: U+%04X missing", q, e.cp);
		cr_assert_eq(m.ids[k], id, "%s: result %zu is id %u, not %u",
			     q, k, m.ids[k], id);
		k++;
	}
	cr_assert_eq(k, m.n, "%s: %zu results, the scan found %zu", q, m.n,
		     k);
	cf_match_release(&m);
}

Test(charfinder, index_finds_cat_face_in_any_case)
{
	struct cf_index *ix = ix_load();
	uint32_t a[64], b[64];
	size_t n = find_cps(ix, "cat face", a, 64, NULL);

	cr_assert(n >= 10 && n < 64, "%zu", n);
	cr_assert(has_cp(a, n, 0x1F431));
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(a[i - 1], a[i], "code point order");
	const char *same[] = { "CAT face", "FACE CAT", " Cat\tFACE ",
			       "cat,face!", "cat cat face face cat" };
	for (size_t k = 0; k < 5; k++) {
		cr_assert_eq(find_cps(ix, same[k], b, 64, NULL), n, "%s",
			     same[k]);
		cr_assert_arr_eq(a, b, n * sizeof(a[0]), "%s", same[k]);
	}
	cf_index_free(ix);
	th_leak_check();
}

Test(charfinder, index_answers_equal_a_scan_of_every_name)
{
	struct cf_index *ix = ix_load();
	const char *qs[] = { "cat face", "sign dollar", "latin small letter a",
			     "arrow left", "box drawings light", "letter",
			     "hyphen-minus", "line feed", "a", "1" };

	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		check_against_scan(ix, qs[i]);
	cf_index_free(ix);
	th_leak_check();
}

Test(charfinder, index_sign_dollar_and_whole_words)
{
	struct cf_index *ix = ix_load();
	uint32_t a[256];
	size_t n = find_cps(ix, "sign dollar", a, 256, NULL);
	int words;

	cr_assert(has_cp(a, n, 0x24), "DOLLAR SIGN");
	cr_assert(has_cp(a, n, 0x1F4B2)); /* HEAVY DOLLAR SIGN */
	/* Words are whole: CA is not CAT, and FACES is not FACE. */
	n = find_cps(ix, "ca", a, 256, NULL);
	cr_assert(!has_cp(a, n, 0x1F431));
	cr_assert_eq(find_cps(ix, "hyphen-minus", a, 256, NULL), 4);
	cr_assert_eq(a[0], 0x2D);  /* and SMALL, FULLWIDTH, TAG ... */
	/* Every word must match. */
	cr_assert_eq(find_cps(ix, "xyzzy", a, 256, &words), 0);
	cr_assert_eq(words, 1);
	cr_assert_eq(find_cps(ix, "cat xyzzy face", a, 256, &words), 0);
	cr_assert_eq(words, 3);
	/* Non-ASCII words stay words, and match nothing. */
	cr_assert_eq(find_cps(ix, "caf\xC3\xA9", a, 256, &words), 0);
	cr_assert_eq(words, 1);
	/* No word at all: 0 words, no result. */
	const char *none[] = { "", "   ", "\t \t", "-- ,;!", "()" };
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(find_cps(ix, none[i], a, 256, &words), 0);
		cr_assert_eq(words, 0, "'%s'", none[i]);
	}
	/* Too long for any word of the index. */
	char longw[400];
	memset(longw, 'A', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	cr_assert_eq(find_cps(ix, longw, a, 256, NULL), 0);
	cf_index_free(ix);
	th_leak_check();
}

Test(charfinder, index_names_controls_and_ranges)
{
	struct cf_index *ix = ix_load();
	struct cf_entry e;
	uint32_t a[16];

	/* Controls by their Unicode 1.0 name, marked unprintable. */
	cr_assert_eq(find_cps(ix, "line feed lf", a, 16, NULL), 1);
	cr_assert_eq(a[0], 0x0A);
	cr_assert_geq(find_cps(ix, "null", a, 16, NULL), 2); /* and U+2400 */
	cr_assert_eq(a[0], 0);
	/* Derived names of the ranges. */
	cr_assert_eq(find_cps(ix, "cjk unified ideograph 4e00", a, 16, NULL),
		     2);
	cr_assert_eq(a[0], 0x4E00);
	cr_assert_eq(a[1], 0x1F229); /* SQUARED CJK UNIFIED IDEOGRAPH-4E00 */
	cr_assert_eq(find_cps(ix, "ideograph 2a6df", a, 16, NULL), 1);
	cr_assert_eq(a[0], 0x2A6DF);
	cr_assert_eq(find_cps(ix, "tangut ideograph 17000", a, 16, NULL), 1);
	cr_assert_eq(a[0], 0x17000);
	cr_assert_eq(find_cps(ix, "hangul syllable gag", a, 16, NULL), 1);
	cr_assert_eq(a[0], 0xAC01);
	cr_assert_eq(find_cps(ix, "hangul syllable hih", a, 16, NULL), 1);
	cr_assert_eq(a[0], 0xD7A3);
	/* No surrogates, no private use, no unnamed controls; the
	 * printable flag follows the category. */
	for (uint32_t id = 0; id < cf_index_size(ix); id++) {
		cf_index_entry(ix, id, &e);
		cr_assert(!(e.cp >= 0xD800 && e.cp <= 0xF8FF) &&
				  e.cp < 0xF0000 && e.cp != 0x80,
			  "U+%04X %s", e.cp, e.name);
		cr_assert_eq(strlen(e.name), e.name_len);
		if (e.cp == 'A' || e.cp == 0x1F431 || e.cp == 0x4E00)
			cr_assert(e.printable, "U+%04X", e.cp);
		if (e.cp < 0x20 || e.cp == 0x7F || e.cp == 0x2028 ||
		    e.cp == 0x202E || e.cp == 0x200D)
			cr_assert(!e.printable, "U+%04X", e.cp);
	}
	cr_assert_gt(cf_index_size(ix), 140000);
	cf_index_free(ix);
	th_leak_check();
}

static struct cf_index *ix_text(const char *text, int want, size_t line)
{
	struct cf_index *ix = NULL;
	size_t bad = 0;
	int ret = cf_index_build(&ix, text, strlen(text), &bad);

	cr_assert_eq(ret, want, "build: %d, want %d", ret, want);
	if (want < 0) {
		cr_assert_null(ix);
		cr_assert_eq(bad, line, "bad line %zu, want %zu", bad, line);
	}
	return ix;
}

Test(charfinder, index_reads_small_and_bad_data)
{
	const char *good =
		"0000;<control>;Cc;0;BN;;;;;N;NULL;;;;\r\n"
		"0041;LATIN CAPITAL LETTER A;Lu;0;L;;;;;N;;;;0061;\n"
		"\n"
		"0080;<control>;Cc;0;BN;;;;;N;;;;;\n"
		"AC00;<Hangul Syllable, First>;Lo;0;L;;;;;N;;;;;\n"
		"AC02;<Hangul Syllable, Last>;Lo;0;L;;;;;N;;;;;\n"
		"E000;<Private Use, First>;Co;0;L;;;;;N;;;;;\n"
		"F8FF;<Private Use, Last>;Co;0;L;;;;;N;;;;;\n"
		"1F431;CAT FACE;So;0;ON;;;;;N;;;;;";
	struct cf_index *ix = ix_text(good, 0, 0);
	struct cf_entry e;
	const char *want[] = { "NULL", "LATIN CAPITAL LETTER A",
			       "HANGUL SYLLABLE GA", "HANGUL SYLLABLE GAG",
			       "HANGUL SYLLABLE GAGG", "CAT FACE" };
	uint32_t cps[] = { 0, 0x41, 0xAC00, 0xAC01, 0xAC02, 0x1F431 };

	cr_assert_eq(cf_index_size(ix), 6);
	for (uint32_t i = 0; i < 6; i++) {
		cf_index_entry(ix, i, &e);
		cr_assert_eq(e.cp, cps[i]);
		cr_assert_str_eq(e.name, want[i]);
	}
	cf_index_free(ix);

	ix = ix_text("", 0, 0);
	struct cf_match m;
	cr_assert_eq(cf_index_find(ix, "a", 1, &m), 1);
	cr_assert_eq(m.n, 0);
	cf_index_free(ix);

	ix_text("0041;A;Lu\nZZZZ;B;Lu\n", -EINVAL, 2);
	ix_text("0042;B;Lu\n0041;A;Lu\n", -EINVAL, 2);     /* order */
	ix_text("0041;A;Lu\n0042\n", -EINVAL, 2);          /* fields */
	ix_text("110000;X;Lu\n", -EINVAL, 1);              /* range */
	ix_text("4E00;<CJK Ideograph, First>;Lo\n", -EINVAL, 1);
	ix_text("4E00;<CJK Ideograph, First>;Lo\n5000;X;Lu\n", -EINVAL, 2);
	char big[400];
	snprintf(big, sizeof(big), "0041;%0300d;Lu\n", 0);
	ix_text(big, -EINVAL, 1);                          /* name length */

	cr_assert_eq(cf_index_load(&ix, "/nonexistent/UnicodeData.txt",
				   NULL), -ENOENT);
	cr_assert_eq(cf_index_find(NULL, "a", 1, &m), -EINVAL);
	th_leak_check();
}

/* -- output shapes --------------------------------------------------------- */

struct mem {
	char buf[4096];
	size_t len;
};

static int mem_write(void *ctx, const void *p, size_t n)
{
	struct mem *m = ctx;
	cr_assert_leq(m->len + n, sizeof(m->buf) - 1);
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	m->buf[m->len] = '\0';
	return 0;
}

/* One character's rows, in the three shapes, through a 7-byte buffer so
 * that every flush path runs. */
static void shapes(const struct cf_index *ix, uint32_t cp, struct mem *text,
		   struct mem *html, struct mem *json)
{
	char small[7];
	struct cf_out o;
	struct cf_entry e;

	for (uint32_t id = 0; id < cf_index_size(ix); id++) {
		cf_index_entry(ix, id, &e);
		if (e.cp != cp)
			continue;
		memset(text, 0, sizeof(*text));
		memset(html, 0, sizeof(*html));
		memset(json, 0, sizeof(*json));
		cf_out_init(&o, small, sizeof(small), mem_write, text);
		cr_assert_eq(cf_out_text_row(&o, &e, "\n"), 0);
		cr_assert_eq(cf_out_flush(&o), 0);
		cf_out_init(&o, small, sizeof(small), mem_write, html);
		cr_assert_eq(cf_out_html_row(&o, &e), 0);
		cr_assert_eq(cf_out_flush(&o), 0);
		cf_out_init(&o, small, sizeof(small), mem_write, json);
		cr_assert_eq(cf_out_json_obj(&o, &e), 0);
		cr_assert_eq(cf_out_flush(&o), 0);
		return;
	}
	cr_assert_fail("U+%04X not indexed", cp);
}

Test(charfinder, rows_are_escaped_in_every_shape)
{
	struct cf_index *ix = ix_load();
	struct mem t, h, j;

	shapes(ix, 0x1F431, &t, &h, &j);
	cr_assert_str_eq(t.buf, CAT_FACE_LINE);
	cr_assert_str_eq(h.buf, "<tr><td>U+1F431</td><th>\xF0\x9F\x90\xB1"
				"</th><td>CAT FACE</td></tr>\n");
	cr_assert_str_eq(j.buf, "{\"code\":\"U+1F431\",\"char\":"
				"\"\xF0\x9F\x90\xB1\",\"name\":\"CAT FACE\"}");
	shapes(ix, '<', &t, &h, &j);
	cr_assert_str_eq(t.buf, "U+003C\t<\tLESS-THAN SIGN\n");
	cr_assert(strstr(h.buf, "<th>&lt;</th>"), "%s", h.buf);
	shapes(ix, '&', &t, &h, &j);
	cr_assert(strstr(h.buf, "<th>&amp;</th>"), "%s", h.buf);
	shapes(ix, '"', &t, &h, &j);
	cr_assert(strstr(h.buf, "<th>&quot;</th>"), "%s", h.buf);
	cr_assert(strstr(j.buf, "\"char\":\"\\\"\""), "%s", j.buf);
	shapes(ix, '\\', &t, &h, &j);
	cr_assert(strstr(j.buf, "\"char\":\"\\\\\""), "%s", j.buf);
	/* Unprintable: nothing in text and HTML, an escape in JSON. */
	shapes(ix, 0, &t, &h, &j);
	cr_assert_str_eq(t.buf, "U+0000\t\tNULL\n");
	cr_assert(strstr(h.buf, "<th></th>"), "%s", h.buf);
	cr_assert(strstr(j.buf, "\"char\":\"\\u0000\""), "%s", j.buf);
	shapes(ix, 0x2028, &t, &h, &j);
	cr_assert_str_eq(t.buf, "U+2028\t\tLINE SEPARATOR\n");
	cr_assert(strstr(j.buf, "\"char\":\"\\u2028\""), "%s", j.buf);
	shapes(ix, 0xE0001, &t, &h, &j); /* LANGUAGE TAG, Cf, past the BMP */
	cr_assert(strstr(j.buf, "\"char\":\"\\udb40\\udc01\""), "%s", j.buf);

	/* JSON strings escape what JSON and JavaScript need. */
	struct mem m = { 0 };
	char buf[64];
	struct cf_out o;
	cf_out_init(&o, buf, sizeof(buf), mem_write, &m);
	cr_assert_eq(cf_out_json_str(&o, "a\"\\\n\t\x01\xE2\x80\xA8z", 10),
		     0);
	cr_assert_eq(cf_out_flush(&o), 0);
	cr_assert_str_eq(m.buf, "\"a\\\"\\\\\\n\\t\\u0001\\u2028z\"");
	cf_index_free(ix);
	th_leak_check();
}

Test(charfinder, utf8_validation)
{
	cr_assert(cf_utf8_valid("", 0));
	cr_assert(cf_utf8_valid("cat \xF0\x9F\x90\xB1 \xC3\xA9", 9));
	cr_assert(!cf_utf8_valid("\xFF", 1));
	cr_assert(!cf_utf8_valid("\xC3", 1));          /* cut short */
	cr_assert(!cf_utf8_valid("\xC0\xAF", 2));      /* overlong */
	cr_assert(!cf_utf8_valid("\xED\xA0\x80", 3));  /* surrogate */
	cr_assert(!cf_utf8_valid("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
	char b[4];
	cr_assert_eq(cf_utf8(0x24, b), 1);
	cr_assert_eq(cf_utf8(0xE9, b), 2);
	cr_assert_eq(cf_utf8(0x4E00, b), 3);
	cr_assert_eq(cf_utf8(0x1F431, b), 4);
	cr_assert_eq(memcmp(b, "\xF0\x9F\x90\xB1", 4), 0);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Not a benchmark (charfinder --bench is one): a guard that queries stay
 * in microseconds, with the numbers in the test's log. */
Test(charfinder, index_queries_take_microseconds)
{
	double t0 = now_us();
	struct cf_index *ix = ix_load();
	double built = now_us() - t0;
	const char *qs[] = { "cat face", "latin small letter a", "cjk 4e00" };

	for (size_t i = 0; i < 3; i++) {
		struct cf_match m;
		int reps = 2000;
		t0 = now_us();
		for (int r = 0; r < reps; r++) {
			cr_assert_gt(
				cf_index_find(ix, qs[i], strlen(qs[i]), &m), 0);
			cf_match_release(&m);
		}
		double per = (now_us() - t0) / reps;
		cr_log_info("index: %zu characters built in %.1f ms; '%s' "
			    "%.2f us/query", cf_index_size(ix), built / 1000,
			    qs[i], per);
		/* A scan of the 150,000 names takes milliseconds. */
		cr_assert_lt(per, 100.0, "'%s': %.1f us", qs[i], per);
	}
	cf_index_free(ix);
	th_leak_check();
}

/* -- child processes ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Read fds[0..n) to their ends into bufs; fails the test after WAIT_MS
 * without progress. */
static void read_to_end(int *fds, struct buf *bufs, int n)
{
	struct pollfd pf[2];
	int open = n;

	for (int i = 0; i < n; i++)
		pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	while (open > 0) {
		int r = poll(pf, (nfds_t)n, WAIT_MS);
		cr_assert_gt(r, 0, "child output: no progress in %d ms",
			     WAIT_MS);
		for (int i = 0; i < n; i++) {
			char chunk[65536];
			ssize_t got;
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			got = read(pf[i].fd, chunk, sizeof(chunk));
			if (got > 0) {
				buf_add(&bufs[i], chunk, (size_t)got);
				continue;
			}
			close(pf[i].fd);
			pf[i].fd = -1;
			open--;
		}
	}
	for (int i = 0; i < n; i++)
		if (!bufs[i].p)
			buf_add(&bufs[i], "", 0);
}

struct child {
	pid_t pid;
	int in, out, err; /* our ends; -1 when not piped */
};

/* Children not waited for yet: a failed assertion leaves its test at
 * once, and the suite's .fini must not leave a server running. */
static pid_t live[16];

static void track(pid_t pid, pid_t was)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == was) {
			live[i] = pid;
			return;
		}
	cr_assert_fail("more than 16 children");
}

static void kill_children(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] > 0) {
			kill(live[i], SIGKILL);
			waitpid(live[i], NULL, 0);
			live[i] = 0;
		}
}

/* Start argv[0] (searched in PATH) with its stdin, stdout and stderr on
 * pipes (stdin only with `with_stdin`; else /dev/null). */
static void child_start(struct child *c, char *const argv[], bool with_stdin)
{
	posix_spawn_file_actions_t fa;
	int in[2] = { -1, -1 }, out[2], err[2];

	if (with_stdin)
		cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	if (with_stdin)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
						 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	fflush(NULL);
	int ret = posix_spawnp(&c->pid, argv[0], &fa, NULL, argv, environ);
	cr_assert_eq(ret, 0, "spawn %s: %s", argv[0], strerror(ret));
	track(c->pid, 0);
	posix_spawn_file_actions_destroy(&fa);
	if (with_stdin)
		close(in[0]);
	close(out[1]);
	close(err[1]);
	c->in = in[1];
	c->out = out[0];
	c->err = err[0];
}

/* Collect what the child wrote and its wait status. */
static int child_finish(struct child *c, struct buf *out, struct buf *err)
{
	int fds[2] = { c->out, c->err }, st = 0;
	struct buf b[2] = { { 0 }, { 0 } };

	if (c->in >= 0)
		close(c->in);
	read_to_end(fds, b, 2);
	cr_assert_eq(waitpid(c->pid, &st, 0), c->pid);
	track(0, c->pid);
	*out = b[0];
	*err = b[1];
	return st;
}

/* Run to the end with `input` on stdin. */
static int run(char *const argv[], const char *input, struct buf *out,
	       struct buf *err)
{
	struct child c;

	child_start(&c, argv, input != NULL);
	if (input) {
		/* Small inputs only: the pipe takes them whole. */
		cr_assert_eq(write(c.in, input, strlen(input)),
			     (ssize_t)strlen(input));
		close(c.in);
		c.in = -1;
	}
	return child_finish(&c, out, err);
}

static void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
}

#define EXITED_WITH(st, code) (WIFEXITED(st) && WEXITSTATUS(st) == (code))

/* -- the command line ------------------------------------------------------ */

static int cli(struct buf *out, struct buf *err, char *const args[])
{
	char *argv[16] = { BIN };
	int i = 0;

	while (args[i]) {
		argv[i + 1] = args[i];
		i++;
	}
	argv[i + 1] = NULL;
	return run(argv, NULL, out, err);
}

#define CLI(out, err, ...) cli(out, err, (char *const[]){ __VA_ARGS__, NULL })

Test(charfinder, cli_prints_matches_in_order)
{
	struct buf out, err, out2, err2;
	int st = CLI(&out, &err, "cat", "face");

	cr_assert(EXITED_WITH(st, 0), "status %d: %s", st, err.p);
	cr_assert_str_eq(err.p, "");
	cr_assert(strncmp(out.p, CAT_FACE_LINE, strlen(CAT_FACE_LINE)) == 0,
		  "%s", out.p);
	cr_assert(strstr(out.p, "U+1F640\t\xF0\x9F\x99\x80\tWEARY CAT FACE\n"));
	/* One argument or two, any case: the same. */
	st = CLI(&out2, &err2, "CAT FACE");
	cr_assert(EXITED_WITH(st, 0));
	cr_assert_str_eq(out.p, out2.p);
	buf_free(&out);
	buf_free(&err);
	buf_free(&out2);
	buf_free(&err2);

	st = CLI(&out, &err, "sign", "dollar");
	cr_assert(EXITED_WITH(st, 0));
	cr_assert(strncmp(out.p, "U+0024\t$\tDOLLAR SIGN\n", 21) == 0, "%s",
		  out.p);
	buf_free(&out);
	buf_free(&err);
	/* Controls are not printed raw. */
	st = CLI(&out, &err, "line", "feed", "lf");
	cr_assert(EXITED_WITH(st, 0));
	cr_assert_str_eq(out.p, "U+000A\t\tLINE FEED (LF)\n");
	buf_free(&out);
	buf_free(&err);
}

Test(charfinder, cli_exit_statuses)
{
	struct buf out, err;
	int st;

	st = CLI(&out, &err, "cat", "xyzzy");
	cr_assert(EXITED_WITH(st, 1), "no match: %d", st);
	cr_assert_str_eq(out.p, "");
	cr_assert(strstr(err.p, "no match for 'cat xyzzy'"), "%s", err.p);
	buf_free(&out);
	buf_free(&err);

	st = CLI(&out, &err, "--help");
	cr_assert(EXITED_WITH(st, 0));
	cr_assert(strstr(out.p, "Usage: charfinder"), "%s", out.p);
	cr_assert(strstr(out.p, "--tcp") && strstr(out.p, "--http"));
	buf_free(&out);
	buf_free(&err);

	/* Usage errors: 2, a message and the hint, nothing on stdout. */
	char *const *bad[] = {
		(char *const[]){ NULL },
		(char *const[]){ "  ", NULL },
		(char *const[]){ "--bogus", NULL },
		(char *const[]){ "-x", "cat", NULL },
		(char *const[]){ "--tcp", "--port", "70000", NULL },
		(char *const[]){ "--tcp", "--port", "80a", NULL },
		(char *const[]){ "--http", "--shards", "0", NULL },
		(char *const[]){ "--tcp", "--port", NULL },
		(char *const[]){ "--port", "1", "cat", NULL },
		(char *const[]){ "--tcp", "--http", NULL },
		(char *const[]){ "--tcp", "cat", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = cli(&out, &err, bad[i]);
		cr_assert(EXITED_WITH(st, 2), "case %zu: status %d", i, st);
		cr_assert_str_eq(out.p, "", "case %zu", i);
		cr_assert(strncmp(err.p, "charfinder: ", 12) == 0,
			  "case %zu: %s", i, err.p);
		buf_free(&out);
		buf_free(&err);
	}
}

Test(charfinder, cli_data_option)
{
	char path[] = "/tmp/charfinder-test-XXXXXX";
	int fd = mkstemp(path);
	struct buf out, err;
	int st;

	cr_assert_geq(fd, 0);
	const char *data = "0041;LATIN CAPITAL LETTER A;Lu;0;L;;;;;N;;;;;\n"
			   "1F431;CAT FACE;So;0;ON;;;;;N;;;;;\n";
	cr_assert_eq(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
	st = CLI(&out, &err, "--data", path, "cat");
	cr_assert(EXITED_WITH(st, 0), "%d %s", st, err.p);
	cr_assert_str_eq(out.p, CAT_FACE_LINE);
	buf_free(&out);
	buf_free(&err);

	/* Not UnicodeData.txt: 2, with the file and line. */
	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_eq(write(fd, "0041;A;Lu\nnonsense\n", 19), 19);
	close(fd);
	st = CLI(&out, &err, "-d", path, "a");
	cr_assert(EXITED_WITH(st, 2));
	cr_assert(strstr(err.p, ":2: not UnicodeData.txt"), "%s", err.p);
	buf_free(&out);
	buf_free(&err);
	unlink(path);

	st = CLI(&out, &err, "--data", "/nonexistent", "a");
	cr_assert(EXITED_WITH(st, 2));
	cr_assert(strstr(err.p, "cannot read /nonexistent"), "%s", err.p);
	buf_free(&out);
	buf_free(&err);
}

Test(charfinder, cli_bench_reports_times)
{
	struct buf out, err;
	int st = CLI(&out, &err, "--bench", "cat", "face");

	cr_assert(EXITED_WITH(st, 0), "%d %s", st, err.p);
	cr_assert(strstr(out.p, "build") && strstr(out.p, "us/query"), "%s",
		  out.p);
	cr_log_info("charfinder --bench cat face:\n%s", out.p);
	buf_free(&out);
	buf_free(&err);
}

/* -- servers --------------------------------------------------------------- */

struct server {
	struct child c;
	unsigned port;
	char banner[128];
};

/* Start `charfinder MODE --port 0 --shards 2` and read its port from the
 * "Serving on 127.0.0.1:PORT" line. */
static void server_start(struct server *s, const char *mode)
{
	char *argv[] = { BIN, (char *)mode, "--port", "0", "--shards", "2",
			 NULL };
	size_t n = 0;

	child_start(&s->c, argv, false);
	while (n == 0 || s->banner[n - 1] != '\n') {
		struct pollfd pf = { .fd = s->c.out, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "no banner");
		ssize_t r = read(s->c.out, s->banner + n, 1);
		if (r <= 0) {
			struct buf out, err;
			int st = child_finish(&s->c, &out, &err);
			cr_assert_fail("server ended (status %d): %s", st,
				       err.p);
		}
		n++;
		cr_assert_lt(n, sizeof(s->banner));
	}
	s->banner[n] = '\0';
	cr_assert_eq(sscanf(s->banner, "Serving on 127.0.0.1:%u", &s->port),
		     1, "banner: %s", s->banner);
	cr_assert(s->port > 0 && s->port < 65536);
}

/* Signal it and check it ends well: status 0, nothing more printed. */
static void server_stop(struct server *s, int sig)
{
	struct buf out, err;
	int st;

	cr_assert_eq(kill(s->c.pid, sig), 0);
	st = child_finish(&s->c, &out, &err);
	cr_assert(EXITED_WITH(st, 0), "server status %d, stderr: %s", st,
		  err.p);
	cr_assert_str_eq(err.p, "", "server stderr: %s", err.p);
	cr_assert_str_eq(out.p, "");
	buf_free(&out);
	buf_free(&err);
}

/* tests/charfinder/<name>, found from the source tree the build directory
 * is in (any BUILD=... below it), or from the working directory. */
static void script_path(const char *name, char *path, size_t cap)
{
	char dir[2048];

	snprintf(path, cap, "tests/charfinder/%s", name);
	if (access(path, R_OK) == 0)
		return;
	snprintf(dir, sizeof(dir), "%s", TH_BUILD_DIR);
	while (strcmp(dir, "/") != 0 && strcmp(dir, ".") != 0) {
		char up[2048];
		snprintf(path, cap, "%s/tests/charfinder/%s", dir, name);
		if (access(path, R_OK) == 0)
			return;
		snprintf(up, sizeof(up), "%s", dirname(dir));
		snprintf(dir, sizeof(dir), "%s", up);
	}
	cr_assert_fail("tests/charfinder/%s not found", name);
}

/* python3 tests/charfinder/<script> PORT ARGS...: it must exit 0. */
static void python(const char *script, unsigned port, char *const args[])
{
	char path[4096], portstr[16];
	char *argv[16] = { "python3", path, portstr };
	struct buf out, err;
	int i = 0, st;

	script_path(script, path, sizeof(path));
	snprintf(portstr, sizeof(portstr), "%u", port);
	while (args[i]) {
		argv[3 + i] = args[i];
		i++;
	}
	argv[3 + i] = NULL;
	st = run(argv, NULL, &out, &err);
	cr_assert(EXITED_WITH(st, 0), "%s: status %d\n%s%s", script, st,
		  out.p, err.p);
	buf_free(&out);
	buf_free(&err);
}

#define PY(script, port, ...) \
	python(script, port, (char *const[]){ __VA_ARGS__, NULL })

Test(charfinder, tcp_sessions_with_asyncio_clients)
{
	struct server s;

	server_start(&s, "--tcp");
	PY("tcp_client.py", s.port, "basic", "crlf", "eof");
	server_stop(&s, SIGTERM);
}

Test(charfinder, tcp_concurrent_sessions)
{
	struct server s;

	server_start(&s, "--tcp");
	PY("tcp_client.py", s.port, "concurrent");
	server_stop(&s, SIGTERM);
}

Test(charfinder, tcp_bad_lines_and_vanishing_clients)
{
	struct server s;

	server_start(&s, "--tcp");
	PY("tcp_client.py", s.port, "overlong", "limit", "garbage", "vanish");
	server_stop(&s, SIGINT);
}

Test(charfinder, tcp_big_answer_and_plain_socket)
{
	struct server s;

	server_start(&s, "--tcp");
	PY("tcp_client.py", s.port, "big", "socket");
	server_stop(&s, SIGTERM);
}

Test(charfinder, tcp_with_netcat)
{
	struct server s;
	struct buf out, err;
	char port[16];
	int st;

	server_start(&s, "--tcp");
	snprintf(port, sizeof(port), "%u", s.port);
	/* -N: after the end of stdin, shut the socket down, so the server
	 * sees the end of the input, ends the session and closes. */
	char *argv[] = { "nc", "-N", "127.0.0.1", port, NULL };
	st = run(argv, "cat face\nsign dollar\r\n", &out, &err);
	cr_assert(EXITED_WITH(st, 0), "nc: %d %s", st, err.p);
	cr_assert(strncmp(out.p, "?> " CAT_FACE_LINE,
			  strlen("?> " CAT_FACE_LINE)) == 0, "%s", out.p);
	cr_assert(strstr(out.p, "\n\n?> U+0024\t$\tDOLLAR SIGN\r\n"), "%s",
		  out.p);
	const char *end = "\r\n\r\n?> ";
	cr_assert(out.len > strlen(end) &&
			  strcmp(out.p + out.len - strlen(end), end) == 0,
		  "%s", out.p);
	buf_free(&out);
	buf_free(&err);
	server_stop(&s, SIGTERM);
}

/* A client that sits at the prompt does not keep the server from
 * stopping: after the grace period it is cancelled and closed. */
Test(charfinder, tcp_stops_with_an_idle_client)
{
	struct server s;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[16];
	int fd;

	server_start(&s, "--tcp");
	sa.sin_port = htons((uint16_t)s.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(read(fd, buf, 3), 3); /* the prompt: it is served */
	server_stop(&s, SIGTERM);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 0, "closed by the server");
	close(fd);
}

Test(charfinder, tcp_cannot_listen)
{
	struct buf out, err;
	/* TEST-NET-3: no interface of this machine has it. */
	int st = CLI(&out, &err, "--tcp", "--host", "203.0.113.1", "--port",
		     "0");

	cr_assert(EXITED_WITH(st, 2), "status %d", st);
	cr_assert(strstr(err.p, "cannot listen on 203.0.113.1"), "%s", err.p);
	buf_free(&out);
	buf_free(&err);
}

/* -- HTTP ------------------------------------------------------------------ */

Test(charfinder, http_pages_with_http_client)
{
	struct server s;

	server_start(&s, "--http");
	PY("http_client.py", s.port, "html", "escaping", "errors");
	server_stop(&s, SIGTERM);
}

Test(charfinder, http_json_and_big_answers)
{
	struct server s;

	server_start(&s, "--http");
	PY("http_client.py", s.port, "json", "big", "concurrent");
	server_stop(&s, SIGINT);
}

/* curl URL ARGS...: its stdout (free it). */
static char *curl(unsigned port, const char *target, char *const args[])
{
	char url[512];
	char *argv[16] = { "curl", "-s", "--max-time", "20" };
	struct buf out, err;
	int n = 4, st;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, target);
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = url;
	argv[n] = NULL;
	st = run(argv, NULL, &out, &err);
	cr_assert(EXITED_WITH(st, 0), "curl %s: %d %s", url, st, err.p);
	buf_free(&err);
	return out.p;
}

#define CURL(port, target, ...) \
	curl(port, target, (char *const[]){ __VA_ARGS__, NULL })

Test(charfinder, http_with_curl)
{
	struct server s;
	char *o;

	server_start(&s, "--http");
	o = CURL(s.port, "/?query=cat+face", "-i");
	cr_assert(strncmp(o, "HTTP/1.1 200", 12) == 0, "%s", o);
	cr_assert(strcasestr(o, "\r\ncontent-type: text/html"), "%s", o);
	cr_assert(strstr(o, "<input type=\"search\" name=\"query\" "
			    "value=\"cat face\">"), "%s", o);
	cr_assert(strstr(o, "<tr><td>U+1F431</td><th>\xF0\x9F\x90\xB1</th>"
			    "<td>CAT FACE</td></tr>"), "%s", o);
	free(o);
	/* curl encodes the query; the page escapes the answer and the
	 * query it shows. */
	o = CURL(s.port, "/", "--get", "--data-urlencode",
		 "query=less-than sign");
	cr_assert(strstr(o, "<th>&lt;</th><td>LESS-THAN SIGN</td>"), "%s", o);
	free(o);
	o = CURL(s.port, "/", "--get", "--data-urlencode", "query=<i>\"x\"");
	cr_assert(strstr(o, "value=\"&lt;i&gt;&quot;x&quot;\""), "%s", o);
	cr_assert_null(strstr(o, "<i>"), "%s", o);
	free(o);
	o = CURL(s.port, "/?query=cat+face", "-H", "Accept: application/json");
	cr_assert(strncmp(o, "[{\"code\":\"U+1F431\",\"char\":"
			     "\"\xF0\x9F\x90\xB1\",\"name\":\"CAT FACE\"},\n",
			  52) == 0, "%s", o);
	free(o);
	o = CURL(s.port, "/?query=sign+dollar&format=json", "-g");
	cr_assert(strstr(o, "{\"code\":\"U+0024\",\"char\":\"$\",\"name\":"
			    "\"DOLLAR SIGN\"}"), "%s", o);
	free(o);
	o = CURL(s.port, "/", "-o", "/dev/null", "-w", "%{http_code}");
	cr_assert_str_eq(o, "200");
	free(o);
	o = CURL(s.port, "/missing", "-o", "/dev/null", "-w", "%{http_code}");
	cr_assert_str_eq(o, "404");
	free(o);
	o = CURL(s.port, "/", "-X", "POST", "-d", "query=cat", "-o",
		 "/dev/null", "-w", "%{http_code}");
	cr_assert_str_eq(o, "405");
	free(o);
	server_stop(&s, SIGTERM);
}
