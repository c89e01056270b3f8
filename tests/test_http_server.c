/* HTTP server against real clients: curl (keep-alive, chunked upload,
 * Expect, HEAD, chunked responses), raw pipelining through nc, python3's
 * http.client; static files (types, 404/403/405, no path escape, links,
 * index and redirect, If-Modified-Since, a large file); closing with idle
 * connections; a sharded server under cio_run(); bad arguments. The limits
 * and malformed requests are in test_http_limits.c. */
#include "helpers/harness.h"
#include "helpers/proc.h"
#include "io/http_server.h"
#include "io/http_static.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define LATER() cio_deadline_after(20 * CIO_NSEC_PER_SEC)

TestSuite(http_server, .timeout = 60);

/* -- the test server ---------------------------------------------------------- */

static char big[3 * 1024 * 1024];

static int app(cio_http_request *req, cio_http_response *res, void *arg)
{
	(void)arg;
	if (!strcmp(req->path, "/echo")) {
		/* Echo the body back, with its length. */
		size_t tot = 0;
		ssize_t n;
		while ((n = cio_http_read_body(req, big + tot, sizeof(big) - tot,
					       LATER())) > 0)
			tot += (size_t)n;
		if (n < 0)
			return (int)n;
		return cio_http_respond(res, 200, "application/octet-stream",
					big, tot);
	}
	if (!strcmp(req->path, "/chunked")) {
		int rc = cio_http_response_start(res, 200, -1);
		for (int i = 0; rc == 0 && i < 100; i++) {
			char line[32];
			int n = snprintf(line, sizeof(line), "line %d\n", i);
			rc = cio_http_response_write(res, line, (size_t)n);
		}
		return rc ? rc : cio_http_response_end(res);
	}
	if (!strcmp(req->path, "/headers")) {
		char out[4096];
		size_t o = 0;
		for (size_t i = 0; i < req->nheaders; i++)
			o += (size_t)snprintf(out + o, sizeof(out) - o,
					      "%s=%s\n", req->headers[i].name,
					      req->headers[i].value);
		o += (size_t)snprintf(out + o, sizeof(out) - o,
				      "method=%s path=%s query=%s v=1.%d\n",
				      req->method, req->path, req->query,
				      req->version_minor);
		cio_http_response_header(res, "X-Test", "yes");
		return cio_http_respond(res, 200, "text/plain", out, o);
	}
	if (!strcmp(req->path, "/none"))
		return 0; /* no response: the server answers 500 */
	return cio_http_respond(res, 200, "text/plain", "Hello, World!", 13);
}

struct srv {
	cio_http_server *hs;
	char url[64];
};

static void srv_start(struct srv *s, cio_http_handler h, void *arg)
{
	cr_assert_eq(cio_http_server_start(&s->hs, "127.0.0.1", 0, h, arg,
					   NULL),
		     0);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%u",
		 cio_http_server_port(s->hs));
}

static void srv_stop(struct srv *s)
{
	cr_assert_eq(cio_http_server_close(s->hs), 0);
	cr_assert_eq(cio_http_server_wait_closed(s->hs, LATER()), 0);
	cio_http_server_free(s->hs);
}

static char *url(const struct srv *s, const char *path)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, 256, "%s%s", s->url, path);
	return b;
}

static void need(const char *prog)
{
	if (!th_have(prog))
		cr_skip_test("%s is not installed", prog);
}

/* Run `body` as a task on a fresh loop (the server lives in it). */
static void run(cio_task_fn body)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, body, NULL), 0);
	th_loop_free(loop);
}

/* -- curl ------------------------------------------------------------------- */

static intptr_t t_get(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	srv_start(&s, app, NULL);
	const char *argv[] = { "curl", "-sS", "-i", url(&s, "/"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert(strstr(p.out, "HTTP/1.1 200 OK\r\n"), "%s", p.out);
	cr_assert(strstr(p.out, "\r\nContent-Length: 13\r\n"));
	cr_assert(strstr(p.out, "\r\nServer: coreio\r\n"));
	cr_assert(strstr(p.out, "\r\nDate: "));
	cr_assert(strstr(p.out, "\r\n\r\nHello, World!"));
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, curl_get)
{
	need("curl");
	run(t_get);
}

static intptr_t t_keepalive(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	srv_start(&s, app, NULL);
	const char *argv[] = { "curl", "-sSv", url(&s, "/"), url(&s, "/a"),
			       url(&s, "/headers?x=1"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert(strstr(p.err, "Re-using existing connection"), "%s", p.err);
	cr_assert_eq(cio_server_accepted(cio_http_server_tcp(s.hs)), 1);
	cr_assert_eq(cio_http_server_requests(s.hs), 3);
	cr_assert(strstr(p.out, "method=GET path=/headers query=x=1 v=1.1"),
		  "%s", p.out);
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, curl_keepalive_one_connection)
{
	need("curl");
	run(t_keepalive);
}

static void make_file(const char *path, size_t n, unsigned seed)
{
	FILE *f = fopen(path, "w");
	cr_assert(f);
	for (size_t i = 0; i < n; i++)
		fputc((int)((i * 131 + seed) % 251), f);
	fclose(f);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	char *b = malloc(8 << 20);
	*len = fread(b, 1, 8 << 20, f);
	fclose(f);
	return b;
}

static char tmpdir[256];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cio-http-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s", tmpdir,
		 tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static intptr_t t_upload(void *arg)
{
	const char *mode = arg;
	struct srv s;
	struct th_proc p;
	char file[300], at[310];
	size_t n;

	make_tmpdir();
	snprintf(file, sizeof(file), "%s/up.bin", tmpdir);
	make_file(file, 900 * 1000, 7);
	snprintf(at, sizeof(at), "@%s", file);
	srv_start(&s, app, NULL);
	const char *argv[] = { "curl", "-sS", "--data-binary", at, "-H",
			       mode, url(&s, "/echo"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	char *want = read_file(file, &n);
	cr_assert_eq(p.out_len, n);
	cr_assert_eq(memcmp(p.out, want, n), 0);
	free(want);
	th_proc_free(&p);
	srv_stop(&s);
	rm_tmpdir();
	return 0;
}

Test(http_server, curl_chunked_upload)
{
	need("curl");
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, t_upload, "Transfer-Encoding: chunked"), 0);
	th_loop_free(loop);
}

Test(http_server, curl_expect_100_continue)
{
	need("curl");
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, t_upload, "Expect: 100-continue"), 0);
	th_loop_free(loop);
}

static intptr_t t_head(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	srv_start(&s, app, NULL);
	const char *argv[] = { "curl", "-sS", "-I", url(&s, "/"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert(strstr(p.out, "Content-Length: 13\r\n"), "%s", p.out);
	cr_assert(!strstr(p.out, "Hello"));
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, curl_head)
{
	need("curl");
	run(t_head);
}

static intptr_t t_chunked_response(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	char want[2000];
	size_t o = 0;
	srv_start(&s, app, NULL);
	const char *argv[] = { "curl", "-sS", "-D", "/dev/stderr",
			       url(&s, "/chunked"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert(strstr(p.err, "Transfer-Encoding: chunked"), "%s", p.err);
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "line %d\n",
				      i);
	cr_assert_str_eq(p.out, want);
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, curl_chunked_response)
{
	need("curl");
	run(t_chunked_response);
}

/* -- raw pipelining --------------------------------------------------------- */

static intptr_t t_pipeline(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	char port[16];
	static const char reqs[] =
		"GET /headers?n=1 HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
		"GET /none HTTP/1.1\r\nHost: a\r\n\r\n"
		"GET /headers?n=3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	struct th_reports r;
	th_collect_reports(cio_loop_current(), &r);
	srv_start(&s, app, NULL);
	snprintf(port, sizeof(port), "%u", cio_http_server_port(s.hs));
	/* /none ends the connection with a 500: the 4th is never answered. */
	const char *argv[] = { "nc", "-N", "127.0.0.1", port, NULL };
	th_proc_run(&p, argv, reqs, sizeof(reqs) - 1);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	char *a = strstr(p.out, "query=n=1");
	char *b = strstr(p.out, "\r\n\r\nhello");
	char *c = strstr(p.out, "HTTP/1.1 500 ");
	cr_assert(a && b && c && a < b && b < c, "%s", p.out);
	cr_assert(!strstr(p.out, "query=n=3"));
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.kind[0], CIO_REPORT_MISUSE);
	cr_assert(strstr(r.message[0], "GET /none"));
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, nc_pipelining_in_order)
{
	need("nc");
	run(t_pipeline);
}

static intptr_t t_http10(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	char port[16];
	static const char reqs[] =
		"GET /headers HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
		"GET / HTTP/1.0\r\n\r\n"
		"GET /never HTTP/1.0\r\n\r\n";
	srv_start(&s, app, NULL);
	snprintf(port, sizeof(port), "%u", cio_http_server_port(s.hs));
	const char *argv[] = { "nc", "-N", "127.0.0.1", port, NULL };
	th_proc_run(&p, argv, reqs, sizeof(reqs) - 1);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	char *a = strstr(p.out, "Connection: keep-alive\r\n");
	char *b = strstr(p.out, "Connection: close\r\n");
	cr_assert(a && b && a < b, "%s", p.out);
	cr_assert(strstr(p.out, "v=1.0"));
	/* The second request (1.0, no keep-alive) was the last. */
	cr_assert_eq(cio_http_server_requests(s.hs), 2);
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, http10_keepalive_and_close)
{
	need("nc");
	run(t_http10);
}

/* -- python3 http.client ---------------------------------------------------- */

static intptr_t t_python(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	char port[16];
	static const char script[] =
		"import http.client, sys\n"
		"c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
		"for i in range(3):\n"
		"    c.request('GET', '/chunked')\n"
		"    r = c.getresponse()\n"
		"    b = r.read()\n"
		"    assert r.status == 200 and b.count(b'\\n') == 100, b\n"
		"c.request('POST', '/echo', body=b'x' * 100000)\n"
		"r = c.getresponse(); assert r.read() == b'x' * 100000\n"
		"c.request('GET', '/headers', headers={'X-A': ' spaced  '})\n"
		"r = c.getresponse(); b = r.read().decode()\n"
		"assert 'X-A=spaced\\n' in b, b\n"
		"assert r.getheader('X-Test') == 'yes'\n"
		"print('ok', c.sock.getsockname()[1])\n";
	srv_start(&s, app, NULL);
	snprintf(port, sizeof(port), "%u", cio_http_server_port(s.hs));
	const char *argv[] = { "python3", "-c", script, port, NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert(!strncmp(p.out, "ok ", 3), "%s", p.out);
	cr_assert_eq(cio_server_accepted(cio_http_server_tcp(s.hs)), 1);
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, python_http_client)
{
	need("python3");
	run(t_python);
}

/* -- static files ----------------------------------------------------------- */

static void write_text(const char *dir, const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* root/ index.html a.css data.bin(2 MiB) sub/index.html sub/x.json
 * in.lnk -> a.css, out.lnk -> /etc/hostname, secret.txt (mode 0),
 * and outside the root: ../outside.txt. */
static void make_site(char *root, size_t cap)
{
	char p[600], q[600];
	make_tmpdir();
	snprintf(root, cap, "%s/www", tmpdir);
	cr_assert_eq(mkdir(root, 0755), 0);
	write_text(root, "index.html", "<h1>home</h1>\n");
	write_text(root, "a.css", "body{}\n");
	write_text(root, "secret.txt", "secret\n");
	write_text(tmpdir, "outside.txt", "outside\n");
	snprintf(p, sizeof(p), "%s/sub", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	write_text(p, "index.html", "<h1>sub</h1>\n");
	write_text(p, "x.json", "{}\n");
	snprintf(p, sizeof(p), "%s/data.bin", root);
	make_file(p, 2 * 1024 * 1024 + 17, 3);
	snprintf(p, sizeof(p), "%s/in.lnk", root);
	cr_assert_eq(symlink("a.css", p), 0);
	snprintf(p, sizeof(p), "%s/out.lnk", root);
	snprintf(q, sizeof(q), "%s/outside.txt", tmpdir);
	cr_assert_eq(symlink(q, p), 0);
	snprintf(p, sizeof(p), "%s/up.lnk", root);
	cr_assert_eq(symlink("../outside.txt", p), 0);
	snprintf(p, sizeof(p), "%s/fifo", root);
	cr_assert_eq(mkfifo(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/secret.txt", root);
	cr_assert_eq(chmod(p, 0), 0);
}

/* `curl -s -o /dev/null -w "%{http_code} %{content_type}"` plus extra
 * arguments; returns the code and leaves the output in buf. */
static int curl_code(const struct srv *s, const char *path, const char *x1,
		     const char *x2, char *buf, size_t cap)
{
	struct th_proc p;
	const char *argv[12];
	int n = 0;
	argv[n++] = "curl";
	argv[n++] = "-s";
	argv[n++] = "--path-as-is";
	argv[n++] = "-o";
	argv[n++] = "/dev/null";
	argv[n++] = "-w";
	argv[n++] = "%{http_code} %{content_type} %{size_download}";
	if (x1)
		argv[n++] = x1;
	if (x2)
		argv[n++] = x2;
	argv[n++] = url(s, path);
	argv[n] = NULL;
	th_proc_run(&p, argv, NULL, 0);
	snprintf(buf, cap, "%s", p.out);
	th_proc_free(&p);
	return atoi(buf);
}

struct static_case {
	const char *path;
	int code;
	const char *type; /* NULL: not checked */
};

static const struct static_case static_cases[] = {
	{ "/", 200, "text/html; charset=utf-8" },
	{ "/index.html", 200, "text/html; charset=utf-8" },
	{ "/a.css", 200, "text/css; charset=utf-8" },
	{ "/sub/x.json", 200, "application/json" },
	{ "/sub/", 200, "text/html; charset=utf-8" },
	{ "/sub", 301, NULL },
	{ "/missing.txt", 404, NULL },
	{ "/sub/missing/", 404, NULL },
	{ "/a.css/x", 404, NULL },
	{ "/in.lnk", 200, "application/octet-stream" },
	{ "/out.lnk", 404, NULL },       /* absolute link out of the root */
	{ "/up.lnk", 404, NULL },        /* relative link out of the root */
	{ "/fifo", 404, NULL },          /* not a regular file, and no hang */
	{ "/../outside.txt", 400, NULL },
	{ "/sub/../../outside.txt", 400, NULL },
	{ "/%2e%2e/outside.txt", 400, NULL },
	{ "/sub/%2E%2E/a.css", 400, NULL },
	{ "/a.css%00.html", 400, NULL },
	{ "/bad%zzescape", 400, NULL },
	{ "/a%2ecss", 200, "text/css; charset=utf-8" },
	{ "//a.css", 200, NULL },
	{ "/./a.css", 200, NULL },
};

static intptr_t t_static(void *arg)
{
	(void)arg;
	char root[300], out[256];
	cio_http_static *st;
	struct srv s;

	make_site(root, sizeof(root));
	cr_assert_eq(cio_http_static_new(&st, root, NULL), 0);
	srv_start(&s, cio_http_static_serve, st);
	for (size_t i = 0; i < sizeof(static_cases) / sizeof(static_cases[0]);
	     i++) {
		const struct static_case *c = &static_cases[i];
		int code = curl_code(&s, c->path, NULL, NULL, out, sizeof(out));
		cr_expect_eq(code, c->code, "%s: %s", c->path, out);
		if (c->type)
			cr_expect(!strncmp(out + 4, c->type, strlen(c->type)),
				  "%s: %s", c->path, out);
	}
	/* Only GET and HEAD. */
	cr_expect_eq(curl_code(&s, "/a.css", "-X", "POST", out, sizeof(out)),
		     405);
	cr_expect_eq(curl_code(&s, "/a.css", "-I", NULL, out, sizeof(out)),
		     200);
	/* Root bypasses file modes; the 403 test runs as nobody. */
	if (geteuid() != 0)
		cr_expect_eq(curl_code(&s, "/secret.txt", NULL, NULL, out,
				       sizeof(out)),
			     403);
	srv_stop(&s);
	cio_http_static_free(st);
	rm_tmpdir();
	return 0;
}

Test(http_server, static_paths_types_and_escapes)
{
	need("curl");
	run(t_static);
}

static intptr_t t_static_big(void *arg)
{
	(void)arg;
	char root[300], path[400], hdr[128];
	cio_http_static *st;
	struct srv s;
	struct th_proc p;
	struct stat sb;
	size_t n;

	make_site(root, sizeof(root));
	cr_assert_eq(cio_http_static_new(&st, root, NULL), 0);
	srv_start(&s, cio_http_static_serve, st);
	const char *argv[] = { "curl", "-sS", url(&s, "/data.bin"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	snprintf(path, sizeof(path), "%s/data.bin", root);
	char *want = read_file(path, &n);
	cr_assert_eq(p.out_len, n);
	cr_assert_eq(memcmp(p.out, want, n), 0);
	free(want);
	th_proc_free(&p);

	/* If-Modified-Since: at or after the file's time → 304. */
	char date[CIO_HTTP_DATE_LEN + 1], out[128];
	cr_assert_eq(stat(path, &sb), 0);
	cio_http_date_format(sb.st_mtime, date, sizeof(date));
	snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", date);
	cr_expect_eq(curl_code(&s, "/data.bin", "-H", hdr, out, sizeof(out)),
		     304, "%s", out);
	cio_http_date_format(sb.st_mtime - 10, date, sizeof(date));
	snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", date);
	cr_expect_eq(curl_code(&s, "/data.bin", "-H", hdr, out, sizeof(out)),
		     200, "%s", out);
	cr_expect_eq(curl_code(&s, "/data.bin", "-H",
			       "If-Modified-Since: garbage", out, sizeof(out)),
		     200, "%s", out);
	srv_stop(&s);
	cio_http_static_free(st);
	rm_tmpdir();
	return 0;
}

Test(http_server, static_large_file_and_if_modified_since)
{
	need("curl");
	run(t_static_big);
}

/* As nobody, so that file modes apply (root reads anything): the server
 * runs in a forked child that drops its privileges first. */
static int forbidden_port_fd = -1;

static intptr_t forbidden_server(void *arg)
{
	cio_http_static *st;
	cio_http_server *hs;
	if (cio_http_static_new(&st, arg, NULL) < 0 ||
	    cio_http_server_start(&hs, "127.0.0.1", 0, cio_http_static_serve,
				  st, NULL) < 0)
		return -1;
	uint16_t port = cio_http_server_port(hs);
	if (write(forbidden_port_fd, &port, sizeof(port)) != sizeof(port))
		return -1;
	close(forbidden_port_fd);
	/* Until the parent kills it. */
	return cio_sleep(60 * CIO_NSEC_PER_SEC);
}

Test(http_server, static_forbidden_as_nobody)
{
	char root[300], out[128];
	int fds[2];
	uint16_t port;
	pid_t pid;
	struct srv s;

	need("curl");
	make_site(root, sizeof(root));
	cr_assert_eq(chmod(tmpdir, 0755), 0); /* mkdtemp made it 0700 */
	cr_assert_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(fds[0]);
		forbidden_port_fd = fds[1];
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(3);
		cio_loop *loop;
		if (cio_loop_new(&loop, NULL) < 0)
			_exit(4);
		cio_task *t;
		if (cio_spawn(&t, forbidden_server, root, NULL) < 0)
			_exit(5);
		cio_loop_run_until_complete(loop, (cio_future *)t);
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &port, sizeof(port)), sizeof(port));
	close(fds[0]);
	snprintf(s.url, sizeof(s.url), "http://127.0.0.1:%u", port);
	cr_expect_eq(curl_code(&s, "/secret.txt", NULL, NULL, out, sizeof(out)),
		     403, "%s", out);
	cr_expect_eq(curl_code(&s, "/a.css", NULL, NULL, out, sizeof(out)), 200,
		     "%s", out);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	rm_tmpdir();
}

Test(http_server, static_new_bad_arguments)
{
	cio_http_static *st;
	struct cio_http_static_opts o = { .index = "../x" };
	cr_assert_eq(cio_http_static_new(NULL, "/tmp", NULL), -EINVAL);
	cr_assert_eq(cio_http_static_new(&st, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_http_static_new(&st, "", NULL), -EINVAL);
	cr_assert_eq(cio_http_static_new(&st, "/nonexistent-dir", NULL),
		     -ENOENT);
	cr_assert_eq(cio_http_static_new(&st, "/etc/hostname", NULL),
		     -ENOTDIR);
	cr_assert_eq(cio_http_static_new(&st, "/tmp", &o), -EINVAL);
	o.index = "a/b";
	cr_assert_eq(cio_http_static_new(&st, "/tmp", &o), -EINVAL);
	cio_http_static_free(NULL);
}

/* -- closing, sharding, bad arguments ------------------------------------- */

/* A kept-alive connection between requests has nothing to finish: closing
 * the server ends it at once, not at the wait_closed() deadline. */
static intptr_t t_close_idle(void *arg)
{
	(void)arg;
	struct srv s;
	cio_stream *c;
	char buf[512];
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

	srv_start(&s, app, NULL);
	cr_assert_eq(cio_open_connection(&c, "127.0.0.1",
					 cio_http_server_port(s.hs), LATER(),
					 NULL),
		     0);
	cr_assert_eq(cio_stream_write(c, req, sizeof(req) - 1), 0);
	ssize_t n = cio_stream_read_until(c, "Hello, World!", 13, buf,
					  sizeof(buf), LATER());
	cr_assert_gt(n, 0);
	int64_t t0 = cio_loop_time();
	cr_assert_eq(cio_http_server_close(s.hs), 0);
	cr_assert_eq(cio_http_server_wait_closed(
			     s.hs, cio_deadline_after(10 * CIO_NSEC_PER_SEC)),
		     0);
	cr_assert_lt(cio_loop_time() - t0, 2 * CIO_NSEC_PER_SEC);
	cr_assert_eq(cio_stream_read(c, buf, sizeof(buf), LATER()), 0);
	cio_http_server_free(s.hs);
	cio_stream_close(c);
	cio_stream_wait_closed(c, LATER());
	cio_stream_free(c);
	return 0;
}

Test(http_server, close_ends_idle_keepalive_connections)
{
	run(t_close_idle);
}

/* Every shard serves; 40 parallel requests are all answered. */
static intptr_t sharded_main(void *arg)
{
	(void)arg;
	struct cio_http_server_opts o = { .flags = CIO_HTTP_SERVER_SHARDED };
	cio_http_server *hs;
	struct th_proc p;
	char u[64];
	const char *argv[45];
	int n = 0;

	if (cio_http_server_start(&hs, "127.0.0.1", 0, app, NULL, &o) < 0)
		return -1;
	snprintf(u, sizeof(u), "http://127.0.0.1:%u/",
		 cio_http_server_port(hs));
	argv[n++] = "curl";
	argv[n++] = "-sS";
	argv[n++] = "-Z"; /* parallel: many connections */
	for (int i = 0; i < 40; i++)
		argv[n++] = u;
	argv[n] = NULL;
	th_proc_run(&p, argv, NULL, 0);
	int ok = th_proc_exit(&p) == 0 &&
		 p.out_len == 40 * 13 && !strncmp(p.out, "Hello, World!", 13);
	th_proc_free(&p);
	cio_http_server_close(hs);
	cio_http_server_wait_closed(hs, LATER());
	cio_http_server_free(hs);
	return ok ? 0 : -2;
}

Test(http_server, sharded_under_cio_run)
{
	need("curl");
	struct cio_run_opts ro = { .shards = 2, .flags = CIO_RUN_NO_SIGNALS };
	cr_assert_eq(cio_run(sharded_main, NULL, &ro), 0);
}

static int api_edges(cio_http_request *req, cio_http_response *res,
		     void *arg)
{
	int *fails = arg;
#define EXPECT(e)                                                              \
	do {                                                                   \
		if (!(e))                                                      \
			(*fails)++, fprintf(stderr, "failed: %s\n", #e);       \
	} while (0)
	EXPECT(cio_http_response_header(res, "X-Bad", "a\r\nb") == -EINVAL);
	EXPECT(cio_http_response_header(res, "X Bad", "v") == -EINVAL);
	EXPECT(cio_http_response_header(res, "", "v") == -EINVAL);
	EXPECT(cio_http_response_header(res, NULL, "v") == -EINVAL);
	EXPECT(cio_http_response_header(res, "Content-Length", "3") == -EPERM);
	EXPECT(cio_http_response_header(res, "date", "x") == -EPERM);
	EXPECT(cio_http_response_header(res, "Connection", "keep-alive") ==
	       -EPERM);
	EXPECT(cio_http_respond(res, 99, NULL, "", 0) == -EINVAL);
	EXPECT(cio_http_respond(res, 1000, NULL, "", 0) == -EINVAL);
	EXPECT(cio_http_respond(res, 200, NULL, NULL, 3) == -EINVAL);
	EXPECT(cio_http_response_write(res, "x", 1) == -EINVAL);
	EXPECT(cio_http_response_end(res) == -EINVAL);
	EXPECT(cio_http_response_start(res, 200, -2) == -EINVAL);
	EXPECT(cio_http_read_body(NULL, NULL, 0, 0) == -EINVAL);
	EXPECT(cio_http_read_body(req, NULL, 1, 0) == -EINVAL);
	EXPECT(cio_http_read_body(req, NULL, 0, 0) == 0);
	EXPECT(!cio_http_response_started(res));
	EXPECT(cio_http_response_start(res, 200, 4) == 0);
	EXPECT(cio_http_response_started(res));
	EXPECT(cio_http_response_header(res, "X-Late", "v") == -EALREADY);
	EXPECT(cio_http_respond(res, 200, NULL, "", 0) == -EALREADY);
	EXPECT(cio_http_response_write(res, "abcde", 5) == -EOVERFLOW);
	EXPECT(cio_http_response_write(res, "ab", 2) == 0);
	EXPECT(cio_http_response_write(res, "cd", 2) == 0);
	EXPECT(cio_http_response_end(res) == 0);
	EXPECT(cio_http_response_end(res) == 0);
	EXPECT(cio_http_request_header(req, "HOST") != NULL);
	EXPECT(cio_http_request_header(req, "nope") == NULL);
	EXPECT(cio_http_request_header(NULL, "Host") == NULL);
	return 0;
#undef EXPECT
}

static intptr_t t_api(void *arg)
{
	(void)arg;
	struct srv s;
	struct th_proc p;
	int fails = 0;
	cr_assert_eq(cio_http_server_start(&s.hs, "127.0.0.1", 0, api_edges,
					   &fails, NULL),
		     0);
	snprintf(s.url, sizeof(s.url), "http://127.0.0.1:%u",
		 cio_http_server_port(s.hs));
	const char *argv[] = { "curl", "-sS", url(&s, "/"), NULL };
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert_str_eq(p.out, "abcd");
	cr_assert_eq(fails, 0);
	th_proc_free(&p);
	srv_stop(&s);
	return 0;
}

Test(http_server, response_api_edges)
{
	need("curl");
	run(t_api);
}

Test(http_server, start_bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_http_server *hs;
	struct cio_http_server_opts o = { .flags = 0x100 };
	cr_assert_eq(cio_http_server_start(NULL, NULL, 0, app, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(cio_http_server_start(&hs, NULL, 0, NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(cio_http_server_start(&hs, NULL, 0, app, NULL, &o),
		     -EINVAL);
	o = (struct cio_http_server_opts){ .max_header_bytes = 10 };
	cr_assert_eq(cio_http_server_start(&hs, NULL, 0, app, NULL, &o),
		     -EINVAL);
	o = (struct cio_http_server_opts){ .header_timeout = -1 };
	cr_assert_eq(cio_http_server_start(&hs, NULL, 0, app, NULL, &o),
		     -EINVAL);
	o = (struct cio_http_server_opts){ .server_name = "a\r\nb" };
	cr_assert_eq(cio_http_server_start(&hs, NULL, 0, app, NULL, &o),
		     -EINVAL);
	o = (struct cio_http_server_opts){ .flags = CIO_HTTP_SERVER_SHARDED };
	cr_assert_eq(cio_http_server_start(&hs, "127.0.0.1", 0, app, NULL, &o),
		     -EPERM);
	cr_assert_eq(cio_http_server_close(NULL), -EINVAL);
	cr_assert_eq(cio_http_server_port(NULL), 0);
	cio_http_server_free(NULL);
	th_loop_free(loop);
}
