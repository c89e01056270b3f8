/* crawler (apps/crawler): the href scanner and link resolution in this
 * process (the scanner against python3's re.findall() on generated
 * text), then the program as a child process against a site served by a
 * coreio HTTP server running in this process: resolved links, per-page
 * blocks, HTTP errors, a server that never answers (--timeout), refused
 * connections, unknown hosts, https and other schemes, non-text bodies,
 * the concurrency limit, usage errors.
 *
 * The child runs while this process's loop keeps serving (th_proc_run()
 * waits on an executor thread). make test runs the suite with
 * CIO_BACKEND=uring and then epoll; the child inherits it, so both sides
 * run on both backends. Every line the child writes on stderr must be a
 * log line in the seed's format: under ASan a report would not be, and
 * a leak makes the exit status 23.
 *
 * The Makefile links a test from its own file and the helpers only, so
 * the scanner's sources are included here to be tested in process. */
#include "helpers/harness.h"
#include "helpers/proc.h"
#include "io/http_server.h"
#include "io/http_static.h"

#include "../apps/crawler/links.c"
#include "../apps/crawler/log.c"
#include "../apps/crawler/strset.c"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define BIN TH_BUILD_DIR "/apps/crawler"
#define LATER() cio_deadline_after(20 * CIO_NSEC_PER_SEC)

static void remove_dir(void);

/* The slowest case waits for two one-second timeouts (under ASan the
 * child's start-up adds a little). A failed assertion skips a test's own
 * cleanup: .fini removes its directory then. */
TestSuite(app_crawler, .timeout = 60, .fini = remove_dir);

/* -- the scanner, in process ----------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Each match as "\x1f" + value: the encoding the python side uses too. */
static int collect_href(void *arg, const char *v, size_t n)
{
	sb_add(arg, "\x1f", 1);
	sb_add(arg, v, n);
	return 0;
}

static char *scan(const char *s)
{
	struct sbuf b = { 0 };
	sb_add(&b, "", 0);
	cr_assert_eq(crw_href_scan(s, strlen(s), collect_href, &b), 0);
	return b.p;
}

Test(app_crawler, scan_edge_cases)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "<a href=\"a\"> <a href=\"b\">", "\x1f" "a\x1f" "b" },
		{ "HREF=\"x\" href='y' href = \"z\" href=z", "" },
		{ "href=\"", "" },
		{ "href=\"unterminated", "" },
		{ "href=\"\"", "\x1f" },
		/* '.' does not match a newline: that attempt fails and the
		 * search goes on one byte later. */
		{ "href=\"multi\nline\" href=\"ok\"", "\x1f" "ok" },
		{ "href=\"a\rb\"", "\x1f" "a\rb" },
		/* Non-greedy, then on after the whole match. */
		{ "href=\"href=\"x\"", "\x1f" "href=" },
		{ "hrefhref=\"q\"", "\x1f" "q" },
		{ "xhref=\"1\"href=\"2\"", "\x1f" "1\x1f" "2" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = scan(cases[i].in);
		cr_expect_str_eq(got, cases[i].out, "case %zu", i);
		free(got);
	}
	th_leak_check();
}

static int stop_at_second(void *arg, const char *v, size_t n)
{
	(void)v;
	(void)n;
	return ++*(int *)arg == 2 ? 7 : 0;
}

Test(app_crawler, scan_stops_when_asked)
{
	static const char s[] = "href=\"1\" href=\"2\" href=\"3\"";
	int calls = 0;
	cr_assert_eq(crw_href_scan(s, sizeof(s) - 1, stop_at_second, &calls),
		     7);
	cr_assert_eq(calls, 2);
	cr_assert_eq(crw_href_scan(s, 0, stop_at_second, &calls), 0);
}

/* Random text made of pieces of the pattern, scanned here and by
 * python3's re.findall(r'href="(.*?)"'): the results must be the same. */
Test(app_crawler, scan_matches_python_findall)
{
	static const char *const pieces[] = { "href=\"", "\"", "\n", "a", "bc",
					      " ", "href=", "hre", "f", "=",
					      "\r", "HREF=\"" };
	static const char prog[] =
		"import re,sys\n"
		"H=re.compile(r'href=\"(.*?)\"')\n"
		"out=[]\n"
		"for line in sys.stdin:\n"
		"    s=bytes.fromhex(line.strip()).decode('latin-1')\n"
		"    out.append(''.join('\\x1f'+m for m in H.findall(s)))\n"
		"sys.stdout.write('\\x1e'.join(out))\n";
	const char *argv[] = { "python3", "-c", prog, NULL };
	struct sbuf in = { 0 }, want = { 0 };
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct th_proc p;
	enum { CASES = 3000 };

	if (!th_have("python3"))
		cr_skip_test("python3 is not installed");
	for (int c = 0; c < CASES; c++) {
		char text[512] = "";
		size_t tl = 0;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		for (int k = (int)(x % 12); k > 0; k--) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			const char *pc = pieces[x % (sizeof(pieces) /
						     sizeof(pieces[0]))];
			memcpy(text + tl, pc, strlen(pc));
			tl += strlen(pc);
		}
		text[tl] = '\0';
		for (size_t i = 0; i < tl; i++) {
			char h[3];
			snprintf(h, sizeof(h), "%02x", (unsigned char)text[i]);
			sb_add(&in, h, 2);
		}
		sb_add(&in, "\n", 1);
		char *got = scan(text);
		if (c)
			sb_add(&want, "\x1e", 1);
		sb_add(&want, got, strlen(got));
		free(got);
	}
	th_proc_run(&p, argv, in.p, in.len);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert_eq(p.out_len, want.len);
	cr_assert(memcmp(p.out, want.p, want.len) == 0,
		  "the scanner differs from re.findall()");
	th_proc_free(&p);
	free(in.p);
	free(want.p);
}

Test(app_crawler, extract_resolves_cleans_and_dedupes)
{
	static const char body[] =
		"<a href=\"a.html\"> <a href=\"../x\"> "
		"<a href=\"./y?q=1#frag\"> <a href=\"/abs\"> "
		"<a href=\"http://other.host/\"> <a href=\"//host/p\"> "
		"<a href=\"a.html\"> <a href=\" \tb\r.html \"> <a href=\"\"> "
		"<a href=\"mailto:m@x.org\"> <a href=\"../d/a.html\">";
	static const char want[] =
		"S\thttp://h/d/a.html\n"
		"S\thttp://h/x\n"
		"S\thttp://h/d/y?q=1#frag\n"
		"S\thttp://h/abs\n"
		"S\thttp://other.host/\n"
		"S\thttp://host/p\n"
		"S\thttp://h/d/b.html\n"
		"S\thttp://h/d/p.html?z=1\n"
		"S\tmailto:m@x.org\n";
	struct crw_block b = { 0 };

	cr_assert_eq(crw_links_extract(&b, "S", "http://h/d/p.html?z=1", body,
				       sizeof(body) - 1),
		     0);
	cr_assert_eq(b.nlinks, 9);
	cr_assert_eq(b.len, sizeof(want) - 1);
	cr_assert(memcmp(b.buf, want, b.len) == 0, "%.*s", (int)b.len, b.buf);
	crw_block_free(&b);
	/* Nothing found: nothing allocated for the lines. */
	cr_assert_eq(crw_links_extract(&b, "S", "http://h/", "<p>", 3), 0);
	cr_assert_eq(b.nlinks, 0);
	cr_assert_eq(b.len, 0);
	crw_block_free(&b);
	th_leak_check();
}

Test(app_crawler, strset)
{
	struct crw_strset s = { 0 };
	char k[32];

	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		cr_assert_eq(crw_strset_add(&s, k, strlen(k)), 1);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		cr_assert_eq(crw_strset_add(&s, k, strlen(k)), 0);
	}
	cr_assert_eq(crw_strset_add(&s, "", 0), 1);
	cr_assert_eq(crw_strset_add(&s, "", 0), 0);
	cr_assert_eq(s.n, 1001);
	crw_strset_free(&s);
	th_leak_check();
}

/* -- the site and the program ---------------------------------------------- */

static char dir[PATH_MAX];  /* the test's temporary directory */
static char base[64];       /* http://127.0.0.1:PORT */

struct site {
	cio_http_static *st;
	int active, max_active; /* /slow requests in the handler */
};

static struct site site;
static cio_http_server *hs;

static int handler(cio_http_request *req, cio_http_response *res, void *arg)
{
	struct site *s = arg;
	int rc;

	if (!strcmp(req->path, "/500"))
		return cio_http_respond(res, 500, "text/plain", "boom\n", 5);
	if (!strcmp(req->path, "/redir")) {
		cio_http_response_header(res, "Location", "/sub/page.html");
		return cio_http_respond(res, 302, "text/plain", "", 0);
	}
	if (!strcmp(req->path, "/slow")) {
		if (++s->active > s->max_active)
			s->max_active = s->active;
		rc = cio_sleep(100 * CIO_NSEC_PER_MSEC);
		s->active--;
		if (rc < 0)
			return rc;
		return cio_http_respond(res, 200, "text/html", "<p>slow</p>",
					11);
	}
	return cio_http_static_serve(req, res, s->st);
}

/* dir + "/" + printf(fmt...), from a ring of buffers. */
static const char *P(const char *fmt, ...)
{
	static char ring[8][PATH_MAX];
	static unsigned next;
	char *out = ring[next++ % 8];
	int n = snprintf(out, PATH_MAX, "%s/", dir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + n, PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return out;
}

/* base + path, from a ring of buffers. */
static const char *U(const char *path)
{
	static char ring[16][256];
	static unsigned next;
	char *out = ring[next++ % 16];

	snprintf(out, 256, "%s%s", base, path);
	return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_text(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void make_dir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/coreio-crawler-test.XXXXXX",
		 t && *t ? t : "/tmp");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void remove_dir(void)
{
	char cmd[PATH_MAX + 16];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	dir[0] = '\0';
}

static const char index_html[] =
	"<html><body>\n"
	"<a href=\"a.html\">A</a> <a href=\"sub/page.html\">S</a>\n"
	"<a href=\"/abs\">abs</a> <a href=\"http://other.host/\">o</a>\n"
	"<a href=\"//host/p\">p</a> <a href=\"a.html\">again</a>\n"
	"<a href='single.html'>no</a> <a HREF=\"upper.html\">no</a>\n"
	"<a href=\"./y?q=1#frag\">y</a> <a href=\"multi\nline.html\">no</a>\n"
	"</body></html>\n";
static const char page_html[] =
	"<a href=\"../x\">x</a><a href=\"./y?q=1#frag\">y</a>"
	"<a href=\"../a.html\">a</a><a href=\"?q\">q</a><a href=\"#top\">t</a>"
	"<a href=\"../x\">x again</a>\n";
static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
				     '\n', 0, 0, 0, 'h', 'r', 'e', 'f', '=',
				     '"', 'x', '"' };

/* The site and its server, in a task of this process's loop. */
static void site_start(void)
{
	make_dir();
	cr_assert_eq(mkdir(P("www"), 0755), 0);
	cr_assert_eq(mkdir(P("www/sub"), 0755), 0);
	write_text(P("www/index.html"), index_html);
	write_text(P("www/sub/page.html"), page_html);
	write_text(P("www/a.html"), "<p>no links here</p>\n");
	write_text(P("www/notes.txt"), "text too: href=\"t.html\"\n");
	write_file(P("www/img.png"), png, sizeof(png));
	memset(&site, 0, sizeof(site));
	cr_assert_eq(cio_http_static_new(&site.st, P("www"), NULL), 0);
	cr_assert_eq(cio_http_server_start(&hs, "127.0.0.1", 0, handler, &site,
					   NULL),
		     0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
		 cio_http_server_port(hs));
}

static void site_stop(void)
{
	cr_assert_eq(cio_http_server_close(hs), 0);
	cr_assert_eq(cio_http_server_wait_closed(hs, LATER()), 0);
	cio_http_server_free(hs);
	cio_http_static_free(site.st);
	remove_dir();
}

static void run_task(cio_task_fn fn)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, fn, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run the crawler with argv (NULL-terminated, after the program name);
 * its exit code (-1: killed). p keeps stdout and stderr. */
static int run_crawlerv(struct th_proc *p, const char *const *args)
{
	const char *argv[32] = { BIN };
	int n = 1;

	while (n < 31 && *args)
		argv[n++] = *args++;
	argv[n] = NULL;
	th_proc_run(p, argv, NULL, 0);
	cr_assert_neq(p->status, -1, "cannot start %s", BIN);
	return th_proc_exit(p);
}

#define run_crawler(p, ...)                                                \
	run_crawlerv(p, (const char *const[]){ __VA_ARGS__, NULL })

/* Every stderr line is "HH:MM:SS LEVEL:crawler: message". */
static void check_log_format(const char *err)
{
	for (const char *l = err; *l;) {
		const char *nl = strchr(l, '\n');
		cr_assert_not_null(nl, "unterminated line: %s", l);
		bool ok = nl - l > 9 && l[2] == ':' && l[5] == ':' &&
			  l[8] == ' ';
		for (int i = 0; ok && i < 8; i++)
			ok = i == 2 || i == 5 || (l[i] >= '0' && l[i] <= '9');
		ok = ok && (!strncmp(l + 9, "INFO:crawler: ", 14) ||
			    !strncmp(l + 9, "WARNING:crawler: ", 17) ||
			    !strncmp(l + 9, "ERROR:crawler: ", 15));
		cr_assert(ok, "not a log line: %.*s", (int)(nl - l), l);
		l = nl + 1;
	}
}

/* How many log lines of `level` have exactly the message printf(fmt...). */
static int count_log(const char *err, const char *level, const char *fmt,
		     ...)
{
	char want[1024];
	int n = snprintf(want, sizeof(want), " %s:crawler: ", level), c = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want + n, sizeof(want) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(want, "\n");
	for (const char *l = err; (l = strstr(l, want)); l++)
		c++;
	return c;
}

static const char *log_pos(const char *err, const char *needle_)
{
	const char *p = strstr(err, needle_);
	cr_assert_not_null(p, "no '%s' in:\n%s", needle_, err);
	return p;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *slurp(const char *path)
{
	/* Static: this runs in test tasks, on 64 KiB stacks. */
	static char buf[16384];
	struct sbuf b = { 0 };
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	sb_add(&b, "", 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_add(&b, buf, (size_t)n);
	close(fd);
	return b.p;
}

/* The output: the header, then exactly the pairs of `want` (each
 * "src\tlink") in any order of pages, each page's lines together. */
static void check_output(const char *path, const char *const *want,
			 size_t nwant)
{
	static const char header[] = "source_url\tparsed_url\n";
	char *text = slurp(path), *l;
	char *lines[256], *done[64];
	size_t n = 0, ndone = 0;

	cr_assert(!strncmp(text, header, sizeof(header) - 1),
		  "no header:\n%s", text);
	l = text + sizeof(header) - 1;
	while (*l) {
		char *nl = strchr(l, '\n');
		cr_assert_not_null(nl, "unterminated line: %s", l);
		*nl = '\0';
		cr_assert_lt(n, 256);
		lines[n++] = l;
		l = nl + 1;
	}
	/* Contiguous pages: once a source's lines end, it never returns. */
	for (size_t i = 0; i < n; i++) {
		size_t sl = strcspn(lines[i], "\t");
		cr_assert_eq(lines[i][sl], '\t', "no tab: %s", lines[i]);
		if (i && !strncmp(lines[i], lines[i - 1], sl) &&
		    lines[i - 1][sl] == '\t')
			continue;
		for (size_t k = 0; k < ndone; k++)
			cr_assert(strncmp(done[k], lines[i], sl) ||
					  done[k][sl] != '\t',
				  "the lines of %.*s are split", (int)sl,
				  lines[i]);
		cr_assert_lt(ndone, 64);
		done[ndone++] = lines[i];
	}
	char **w = calloc(nwant ? nwant : 1, sizeof(*w));
	for (size_t i = 0; i < nwant; i++)
		w[i] = (char *)want[i];
	qsort(lines, n, sizeof(lines[0]), cmp_str);
	qsort(w, nwant, sizeof(w[0]), cmp_str);
	for (size_t i = 0; i < n || i < nwant; i++)
		cr_assert(i < n && i < nwant && !strcmp(lines[i], w[i]),
			  "line %zu: got '%s', want '%s'", i,
			  i < n ? lines[i] : "(none)",
			  i < nwant ? w[i] : "(none)");
	free(w);
	free(text);
}

/* "src\tlink" for check_output(), from a ring of buffers. */
static const char *pair(const char *src, const char *link)
{
	static char ring[64][512];
	static unsigned next;
	char *out = ring[next++ % 64];

	snprintf(out, 512, "%s\t%s", src, link);
	return out;
}

/* -- a crawl of the site --------------------------------------------------- */

static intptr_t t_site(void *arg)
{
	(void)arg;
	struct th_proc p;
	int code;
	char list[2048];

	site_start();
	snprintf(list, sizeof(list),
		 "# the site\n"
		 "%s\n"
		 "\n"
		 "   %s  \n"
		 "%s\r\n"
		 "# a page without links, one of text, a redirect\n"
		 "%s\n%s\n%s\n"
		 "%s\n",
		 U("/index.html"), U("/sub/page.html"), U("/a.html"),
		 U("/notes.txt"), U("/redir"), U("/index.html"),
		 U("/sub/page.html"));
	write_text(P("urls.txt"), list);
	/* The output is truncated, whatever it held. */
	write_text(P("found.txt"), "old junk that must go\nmore\nmore\n");
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"));
	cr_assert_eq(code, 0, "%s", p.err);
	check_log_format(p.err);
	cr_assert_eq(p.out_len, 0, "%s", p.out);

	/* Copies: U()'s ring is reused by the calls below. */
	char idx[128], pg[128], rd[128], nt[128];
	snprintf(idx, sizeof(idx), "%s", U("/index.html"));
	snprintf(pg, sizeof(pg), "%s", U("/sub/page.html"));
	snprintf(rd, sizeof(rd), "%s", U("/redir"));
	snprintf(nt, sizeof(nt), "%s", U("/notes.txt"));
	const char *want[] = {
		pair(idx, U("/a.html")),   pair(idx, U("/sub/page.html")),
		pair(idx, U("/abs")),      pair(idx, "http://other.host/"),
		pair(idx, "http://host/p"), pair(idx, U("/y?q=1#frag")),
		pair(pg, U("/x")),         pair(pg, U("/sub/y?q=1#frag")),
		pair(pg, U("/a.html")),    pair(pg, U("/sub/page.html?q")),
		pair(pg, U("/sub/page.html#top")),
		/* Resolved against the URL that answered. */
		pair(rd, U("/x")),         pair(rd, U("/sub/y?q=1#frag")),
		pair(rd, U("/a.html")),    pair(rd, U("/sub/page.html?q")),
		pair(rd, U("/sub/page.html#top")),
		pair(nt, U("/t.html")),
	};
	check_output(P("found.txt"), want, sizeof(want) / sizeof(want[0]));

	/* Repeated URLs are crawled once. */
	cr_expect_eq(count_log(p.err, "INFO", "Got response [200] for URL: %s",
			       idx),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Got response [200] for URL: %s",
			       pg),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Found 6 links for %s", idx), 1,
		     "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Found 5 links for %s", pg), 1);
	cr_expect_eq(count_log(p.err, "INFO", "Found 1 links for %s", nt), 1);
	cr_expect_eq(count_log(p.err, "INFO",
			       "Got response [200] for URL: %s (redirected "
			       "to %s)",
			       rd, pg),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Wrote results for source URL: "
			       "%s", idx),
		     1);
	/* A page without links: found nothing, wrote nothing. */
	cr_expect_eq(count_log(p.err, "INFO", "Found 0 links for %s",
			       U("/a.html")),
		     1);
	cr_expect_eq(count_log(p.err, "INFO", "Wrote results for source URL: "
			       "%s", U("/a.html")),
		     0);
	cr_expect_eq(count_log(p.err, "INFO", "Done: 5 URLs, 5 fetched, 0 "
			       "failed; 17 links written to %s",
			       P("found.txt")),
		     1, "%s", p.err);
	cr_expect_null(strstr(p.err, "ERROR"), "%s", p.err);
	th_proc_free(&p);
	site_stop();
	return 0;
}

Test(app_crawler, site_links_resolved_per_page)
{
	run_task(t_site);
}

/* -- failures: each logged, the others crawled ----------------------------- */

static intptr_t t_http_errors(void *arg)
{
	(void)arg;
	struct th_proc p;
	int code;
	char list[1024];

	site_start();
	snprintf(list, sizeof(list), "%s\n%s\n%s\n%s\n",
		 U("/missing.html"), U("/500"), U("/index.html"),
		 U("/sub/../../etc"));
	write_text(P("urls.txt"), list);
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"), "-c",
			   "2");
	cr_assert_eq(code, 1, "%s", p.err);
	check_log_format(p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "HTTP error for %s [404]: Not "
			       "Found", U("/missing.html")),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "HTTP error for %s [500]: "
			       "Internal Server Error", U("/500")),
		     1, "%s", p.err);
	/* The server refuses a path with ".." (the URL is sent as
	 * written). */
	cr_expect_eq(count_log(p.err, "ERROR", "HTTP error for %s [400]: Bad "
			       "Request", U("/sub/../../etc")),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Found 6 links for %s",
			       U("/index.html")),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Done: 4 URLs, 1 fetched, 3 "
			       "failed; 6 links written to %s", P("found.txt")),
		     1, "%s", p.err);
	char idx[128];
	snprintf(idx, sizeof(idx), "%s", U("/index.html"));
	const char *want[] = {
		pair(idx, U("/a.html")),   pair(idx, U("/sub/page.html")),
		pair(idx, U("/abs")),      pair(idx, "http://other.host/"),
		pair(idx, "http://host/p"), pair(idx, U("/y?q=1#frag")),
	};
	check_output(P("found.txt"), want, sizeof(want) / sizeof(want[0]));
	th_proc_free(&p);
	site_stop();
	return 0;
}

Test(app_crawler, http_404_and_500_logged_others_crawled)
{
	run_task(t_http_errors);
}

/* A listening socket that is never accepted from: the kernel completes
 * the handshake and takes the request, and no answer ever comes. */
static int hanging_listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static intptr_t t_timeout(void *arg)
{
	(void)arg;
	struct th_proc p;
	int code;
	char list[1024], hang1[64], hang2[64];
	uint16_t port;
	int lfd;

	site_start();
	lfd = hanging_listener(&port);
	snprintf(hang1, sizeof(hang1), "http://127.0.0.1:%u/", port);
	snprintf(hang2, sizeof(hang2), "http://127.0.0.1:%u/two", port);
	snprintf(list, sizeof(list), "%s\n%s\n%s\n", hang1, U("/index.html"),
		 hang2);
	write_text(P("urls.txt"), list);
	double t0 = now_s();
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"),
			   "--timeout", "1");
	cr_assert_eq(code, 1, "%s", p.err);
	double dt = now_s() - t0;
	check_log_format(p.err);
	/* Both hanging requests run at once: about one second in all. */
	cr_expect_geq(dt, 0.95, "%.3f s", dt);
	cr_expect_lt(dt, 4.0, "%.3f s", dt);
	cr_expect_eq(count_log(p.err, "ERROR", "Request failed for %s: HTTP "
			       "request timed out (limit 1 s)", hang1),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Request failed for %s: HTTP "
			       "request timed out (limit 1 s)", hang2),
		     1, "%s", p.err);
	/* The page was written while the others still hung. */
	const char *wrote = log_pos(p.err, "Wrote results for source URL: ");
	cr_expect(wrote < log_pos(p.err, "timed out"), "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Found 6 links for %s",
			       U("/index.html")),
		     1, "%s", p.err);
	th_proc_free(&p);

	/* A fraction of a second works too. */
	snprintf(list, sizeof(list), "%s\n", hang1);
	write_text(P("urls.txt"), list);
	t0 = now_s();
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"), "-t",
			   "0.3");
	cr_assert_eq(code, 1, "%s", p.err);
	dt = now_s() - t0;
	cr_expect(dt >= 0.28 && dt < 3.0, "%.3f s", dt);
	cr_expect_eq(count_log(p.err, "ERROR", "Request failed for %s: HTTP "
			       "request timed out (limit 0.3 s)", hang1),
		     1, "%s", p.err);
	th_proc_free(&p);
	close(lfd);
	site_stop();
	return 0;
}

Test(app_crawler, hanging_server_times_out)
{
	run_task(t_timeout);
}

static intptr_t t_unreachable(void *arg)
{
	(void)arg;
	struct th_proc p;
	int code;
	char list[2048], refused[64];
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int fd;

	site_start();
	/* Bound but not listening: connections to it are refused, and no
	 * one else can take the port meanwhile. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	snprintf(refused, sizeof(refused), "http://127.0.0.1:%u/x",
		 ntohs(a.sin_port));
	snprintf(list, sizeof(list),
		 "%s\nhttp://nonexistent.invalid/\nhttps://example.org/\n"
		 "ftp://example.org/f\nnot a url\nhttp://user:pw@127.0.0.1/\n"
		 "%s\n%s\n",
		 refused, U("/img.png"), U("/index.html"));
	write_text(P("urls.txt"), list);
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"));
	cr_assert_eq(code, 1, "%s", p.err);
	check_log_format(p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Request failed for %s: "
			       "Connection refused", refused),
		     1, "%s", p.err);
	cr_expect_not_null(strstr(p.err, " ERROR:crawler: Request failed for "
					 "http://nonexistent.invalid/: "),
			   "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Cannot fetch "
			       "https://example.org/: %s",
			       "https is not supported (coreio has no TLS): "
			       "only http:// URLs"),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Cannot fetch "
			       "ftp://example.org/f: ftp is not supported: "
			       "only http:// URLs"),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Invalid URL: not a url"), 1,
		     "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Cannot fetch "
			       "http://user:pw@127.0.0.1/: credentials in "
			       "URLs are not supported"),
		     1, "%s", p.err);
	/* Fetched, but not text: the seed's resp.text() would fail. */
	cr_expect_eq(count_log(p.err, "INFO", "Got response [200] for URL: %s",
			       U("/img.png")),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "ERROR", "Not a text document at %s "
			       "(Content-Type: image/png): no links looked "
			       "for", U("/img.png")),
		     1, "%s", p.err);
	cr_expect_eq(count_log(p.err, "INFO", "Done: 8 URLs, 1 fetched, 7 "
			       "failed; 6 links written to %s", P("found.txt")),
		     1, "%s", p.err);
	th_proc_free(&p);
	close(fd);
	site_stop();
	return 0;
}

Test(app_crawler, refused_unknown_host_https_and_non_text)
{
	run_task(t_unreachable);
}

/* -- the concurrency limit ------------------------------------------------- */

static intptr_t t_concurrency(void *arg)
{
	(void)arg;
	struct th_proc p;
	int code;
	struct sbuf list = { 0 };
	char line[128];

	site_start();
	for (int i = 0; i < 12; i++) {
		int n = snprintf(line, sizeof(line), "%s?i=%d\n", U("/slow"),
				 i);
		sb_add(&list, line, (size_t)n);
	}
	write_text(P("urls.txt"), list.p);
	free(list.p);
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"), "-c",
			   "3");
	cr_assert_eq(code, 0, "%s", p.err);
	check_log_format(p.err);
	cr_expect_leq(site.max_active, 3);
	cr_expect_geq(site.max_active, 2, "no requests were concurrent");
	cr_expect_eq(site.active, 0);
	th_proc_free(&p);

	site.max_active = 0;
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"),
			   "--concurrency", "1");
	cr_assert_eq(code, 0, "%s", p.err);
	cr_expect_eq(site.max_active, 1);
	cr_expect_eq(count_log(p.err, "INFO", "Done: 12 URLs, 12 fetched, 0 "
			       "failed; 0 links written to %s", P("found.txt")),
		     1, "%s", p.err);
	check_output(P("found.txt"), NULL, 0);
	th_proc_free(&p);
	site_stop();
	return 0;
}

Test(app_crawler, semaphore_bounds_requests_in_flight)
{
	run_task(t_concurrency);
}

/* -- the command line ------------------------------------------------------ */

static void expect_usage_error(const char *const *args, const char *msg)
{
	struct th_proc p;
	int code;

	code = run_crawlerv(&p, args);
	cr_expect_eq(code, 2, "%s", p.err);
	cr_expect_not_null(strstr(p.err, msg), "want '%s' in: %s", msg, p.err);
	cr_expect_eq(p.out_len, 0, "%s", p.out);
	th_proc_free(&p);
}

#define USAGE(msg, ...) \
	expect_usage_error((const char *const[]){ __VA_ARGS__, NULL }, msg)

Test(app_crawler, usage_errors)
{
	struct th_proc p;
	int code;

	USAGE("missing the URL list (-i URLS)", "-o", "x");
	USAGE("missing the output file (-o FOUND)", "-i", "x");
	USAGE("bad concurrency '0' (1 to 10000)", "-c", "0", "-i", "a", "-o",
	      "b");
	USAGE("bad concurrency '10001'", "-c", "10001", "-i", "a", "-o", "b");
	USAGE("bad concurrency '-3'", "-c", "-3", "-i", "a", "-o", "b");
	USAGE("bad timeout '0'", "--timeout", "0", "-i", "a", "-o", "b");
	USAGE("bad timeout 'inf'", "--timeout", "inf", "-i", "a", "-o", "b");
	USAGE("bad timeout '1s'", "--timeout", "1s", "-i", "a", "-o", "b");
	USAGE("bad timeout '86401'", "--timeout", "86401", "-i", "a", "-o",
	      "b");
	USAGE("bad timeout '.'", "--timeout", ".", "-i", "a", "-o", "b");
	USAGE("unknown option '-x'", "-x");
	USAGE("unknown option '--bogus'", "--bogus");
	USAGE("option '-c' needs a value", "-i", "a", "-o", "b", "-c");
	USAGE("unexpected argument 'extra'", "-i", "a", "-o", "b", "extra");
	USAGE("Try 'crawler --help'", "-x");

	code = run_crawler(&p, "--help");
	cr_assert_eq(code, 0);
	cr_expect(!strncmp(p.out, "Usage: crawler -i URLS -o FOUND", 31), "%s",
		  p.out);
	cr_expect_eq(p.err_len, 0, "%s", p.err);
	th_proc_free(&p);
}

Test(app_crawler, unreadable_list_and_uncreatable_output)
{
	struct th_proc p;
	int code;

	make_dir();
	write_text(P("found.txt"), "keep me\n");
	/* A missing list: exit 2, and the output is left alone. */
	code = run_crawler(&p, "-i", P("nope.txt"), "-o", P("found.txt"));
	cr_expect_eq(code, 2);
	cr_expect_not_null(strstr(p.err, "crawler: cannot read the URL list '"),
			   "%s", p.err);
	cr_expect_not_null(strstr(p.err, "nope.txt': No such file or "
					 "directory\n"),
			   "%s", p.err);
	th_proc_free(&p);
	char *kept = slurp(P("found.txt"));
	cr_expect_str_eq(kept, "keep me\n");
	free(kept);
	/* A directory for a list. */
	code = run_crawler(&p, "-i", dir, "-o", P("found.txt"));
	cr_expect_eq(code, 2);
	cr_expect_not_null(strstr(p.err, "': Is a directory\n"), "%s", p.err);
	th_proc_free(&p);
	/* An output in a directory that does not exist. */
	write_text(P("urls.txt"), "http://127.0.0.1:9/\n");
	code = run_crawler(&p, "-i", P("urls.txt"), "-o",
			   P("no/such/dir/found.txt"));
	cr_expect_eq(code, 2);
	cr_expect_not_null(strstr(p.err, "crawler: cannot create '"), "%s",
			   p.err);
	th_proc_free(&p);
	remove_dir();
}

Test(app_crawler, empty_list_writes_the_header_only)
{
	struct th_proc p;
	int code;

	make_dir();
	write_text(P("urls.txt"), "# nothing to do\n\n   \n\t# indented\n");
	write_text(P("found.txt"), "old\nlines\n");
	code = run_crawler(&p, "-i", P("urls.txt"), "-o", P("found.txt"));
	cr_assert_eq(code, 0, "%s", p.err);
	check_log_format(p.err);
	cr_expect_eq(count_log(p.err, "WARNING", "No URLs in %s",
			       P("urls.txt")),
		     1, "%s", p.err);
	char *out = slurp(P("found.txt"));
	cr_expect_str_eq(out, "source_url\tparsed_url\n");
	free(out);
	th_proc_free(&p);
	remove_dir();
}

/* -- Ctrl-C ---------------------------------------------------------------- */

/* SIGINT while a request hangs: the crawl is cancelled, what was written
 * stays, and the process dies of SIGINT as an interrupted script does.
 * The signal is sent once the crawler's connection is in the listener's
 * queue (poll() says so): no guessing with sleeps. */
Test(app_crawler, sigint_stops_the_crawl)
{
	posix_spawn_file_actions_t fa;
	struct pollfd pfd;
	char url[64], *err;
	uint16_t port;
	pid_t pid;
	int lfd, status;

	make_dir();
	lfd = hanging_listener(&port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/\n", port);
	write_text(P("urls.txt"), url);
	const char *argv[] = { BIN, "-i", P("urls.txt"), "-o", P("found.txt"),
			       NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, P("stderr.txt"),
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_eq(posix_spawn(&pid, BIN, &fa, NULL, (char *const *)argv,
				 environ),
		     0);
	posix_spawn_file_actions_destroy(&fa);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 20000), 1, "the crawler never connected");
	cr_assert_eq(kill(pid, SIGINT), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
		  "status %#x", status);
	err = slurp(P("stderr.txt"));
	check_log_format(err);
	cr_expect_eq(count_log(err, "WARNING", "Interrupted: 0 of 1 URLs done"),
		     1, "%s", err);
	free(err);
	char *out = slurp(P("found.txt"));
	cr_expect_str_eq(out, "source_url\tparsed_url\n");
	free(out);
	close(lfd);
	remove_dir();
}
