/* HTTP client against scripted servers (cio_start_server in the same
 * loop), for what a real server will not do on demand: chunk extensions
 * and trailers, close-delimited bodies, interim responses, redirect chains
 * and method changes, hanging servers, oversized bodies and headers,
 * malformed responses, connections closed mid-body, stale pooled
 * connections, pool limits, idle timeouts, cancellation, and bad input.
 * test_http_client_nginx.c has the same client against nginx. */
#include "helpers/net.h"
#include "io/http_client.h"
#include "io/server.h"
#include "io/stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS CIO_NSEC_PER_MSEC
#define LATER() cio_deadline_after(20 * CIO_NSEC_PER_SEC)
#define LOCAL "127.0.0.1"

/* -- a scripted server ----------------------------------------------------- */

/* A request as the scripted server saw it. */
struct rq {
	char method[16];
	char target[512];
	char head[8192];  /* request line and fields, NUL-terminated */
	char body[4096];
	size_t body_len;
	unsigned conn;    /* which connection, from 1 */
	unsigned nth;     /* which request on it, from 1 */
};

struct srv;
/* Answers one request; nonzero closes the connection after. */
typedef int (*script_fn)(struct srv *sv, const struct rq *rq, cio_stream *s);

struct srv {
	cio_server *tcp;
	uint16_t port;
	script_fn fn;
	unsigned conns, requests, closed;
	unsigned inflight, max_inflight;
	struct rq last;
	cio_future *arrived; /* set when a request to a waiting path comes */
	cio_future *gate;    /* waiting paths answer once it is set */
	unsigned gate_at;    /* ...or once this many requests wait */
	unsigned waiting;
	cio_future *closed_ev; /* set when a connection's handler ends */
	cio_http_client *client; /* for scripts that look at the pool */
	unsigned seen_busy;
};

/* One per test process (Criterion runs each test in its own): too big
 * for a coroutine's stack. */
static struct srv the_srv;

static cio_future *event_new(void)
{
	cio_future *f;
	cr_assert_eq(cio_future_new(NULL, &f), 0);
	return f;
}

static void event_set(cio_future *f)
{
	if (f && !cio_future_done(f))
		cr_assert_eq(cio_future_set_result(f, 1), 0);
}

static void event_wait(cio_future *f)
{
	cr_assert_eq(cio_await(f), 1);
}

static void event_free(cio_future **f)
{
	cio_future_unref(*f);
	*f = NULL;
}

static size_t content_length(const char *head)
{
	const char *p = strcasestr(head, "\r\nContent-Length:");
	return p ? strtoul(p + 17, NULL, 10) : 0;
}

static intptr_t serve(cio_stream *s, void *arg)
{
	struct srv *sv = arg;
	struct rq *rq = calloc(1, sizeof(*rq));
	unsigned conn = ++sv->conns;

	cr_assert_not_null(rq);
	for (unsigned nth = 1;; nth++) {
		ssize_t n = cio_stream_read_until(s, "\r\n\r\n", 4, rq->head,
						  sizeof(rq->head) - 1,
						  LATER());
		if (n <= 0)
			break;
		rq->head[n] = '\0';
		cr_assert_eq(sscanf(rq->head, "%15s %511s", rq->method,
				    rq->target), 2);
		rq->body_len = content_length(rq->head);
		cr_assert_lt(rq->body_len, sizeof(rq->body));
		if (rq->body_len &&
		    cio_stream_read_exactly(s, rq->body, rq->body_len,
					    LATER()) < 0)
			break;
		rq->body[rq->body_len] = '\0';
		rq->conn = conn;
		rq->nth = nth;
		sv->requests++;
		sv->last = *rq;
		if (++sv->inflight > sv->max_inflight)
			sv->max_inflight = sv->inflight;
		int stop = sv->fn(sv, rq, s);
		sv->inflight--;
		if (stop)
			break;
	}
	free(rq);
	sv->closed++;
	event_set(sv->closed_ev);
	return 0;
}

static void srv_start(struct srv *sv, script_fn fn)
{
	memset(sv, 0, sizeof(*sv));
	sv->fn = fn;
	cr_assert_eq(cio_start_server(&sv->tcp, LOCAL, 0, serve, sv, NULL), 0);
	sv->port = cio_server_port(sv->tcp);
}

/* Free the client first: its pooled connections keep handlers waiting. */
static void srv_stop(struct srv *sv)
{
	cr_assert_eq(cio_server_close(sv->tcp), 0);
	cr_assert_eq(cio_server_wait_closed(sv->tcp, LATER()), 0);
	cio_server_free(sv->tcp);
	if (sv->arrived)
		event_free(&sv->arrived);
	if (sv->gate)
		event_free(&sv->gate);
	if (sv->closed_ev)
		event_free(&sv->closed_ev);
}

/* A URL on the server (a few at once may be alive). */
static const char *at(const struct srv *sv, const char *path)
{
	static char buf[8][256];
	static unsigned i;
	char *b = buf[i++ % 8];

	snprintf(b, sizeof(buf[0]), "http://" LOCAL ":%u%s", sv->port, path);
	return b;
}

static int say(cio_stream *s, const char *raw)
{
	if (cio_stream_write(s, raw, strlen(raw)) < 0)
		return 1;
	return cio_stream_flush(s, LATER()) < 0;
}

/* Piece by piece, so the client parses across reads. */
static int say_slowly(cio_stream *s, const char *raw, size_t piece)
{
	for (size_t n = strlen(raw), i = 0; i < n; i += piece) {
		size_t k = n - i < piece ? n - i : piece;
		if (cio_stream_write(s, raw + i, k) < 0 ||
		    cio_stream_flush(s, LATER()) < 0 || cio_yield() < 0)
			return 1;
	}
	return 0;
}

static int ok_body(cio_stream *s, const char *body)
{
	char head[128];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
		 strlen(body));
	return say(s, head) || say(s, body);
}

/* Wait for the gate (counting this request), then go on. */
static void gate_wait(struct srv *sv)
{
	sv->waiting++;
	event_set(sv->arrived);
	if (sv->gate_at && sv->waiting >= sv->gate_at)
		event_set(sv->gate);
	event_wait(sv->gate);
}

/* Read until the client goes away. */
static int hang(struct srv *sv, cio_stream *s)
{
	char b[64];

	event_set(sv->arrived);
	while (cio_stream_read(s, b, sizeof(b), LATER()) > 0)
		;
	return 1;
}

static int redirect(cio_stream *s, int status, const char *location)
{
	char head[512];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 5\r\n"
		 "\r\nmoved", status, location);
	return say(s, head);
}

/* Fixed answers: what is sent (in pieces of `piece` bytes, if set), and
 * whether the connection closes after. */
static const struct canned {
	const char *path, *raw;
	size_t piece;
	bool close;
} canned[] = {
	{ .path = "/hello", .raw =
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n"
		"X-Multi: a\r\nX-Multi: b\r\nX-Pad:   padded \t \r\n"
		"X-Empty:\r\n\r\nhello" },
	{ .path = "/chunked", .piece = 7, .raw =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		"X-Before: 1\r\n\r\n5;ext=1\r\nhello\r\n"
		"6;a;b=\"x y\"\r\n world\r\n"
		"0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n" },
	{ .path = "/interim", .piece = 11, .raw =
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" },
	{ .path = "/close", .piece = 9, .close = true, .raw =
		"HTTP/1.1 200 OK\r\n\r\nuntil the end" },
	{ .path = "/http10", .close = true, .raw =
		"HTTP/1.0 200 OK\r\nContent-Type: x/y\r\n\r\nold" },
	{ .path = "/http10-ka", .raw =
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		"Content-Length: 2\r\n\r\nka" },
	{ .path = "/head", .raw =
		"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" },
	{ .path = "/204", .raw =
		"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" },
	{ .path = "/304", .raw =
		"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n" },
	{ .path = "/extra", .raw =
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK" },
	{ .path = "/keep-close", .close = true, .raw =
		"HTTP/1.1 200 OK\r\nConnection: close\r\n"
		"Content-Length: 2\r\n\r\nok" },
	{ .path = "/nolocation", .raw =
		"HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n" },
	{ .path = "/rel/c?q=1", .raw =
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc" },
	{ .path = "/switch", .close = true, .raw =
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
		"Connection: upgrade\r\n\r\n" },
	{ .path = "/bad-status", .close = true, .raw =
		"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n" },
	{ .path = "/garbage", .close = true, .raw = "SMTP ready\r\n\r\n" },
	{ .path = "/bad-chunk", .close = true, .raw =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"zz\r\nhello\r\n0\r\n\r\n" },
	{ .path = "/cl-te", .close = true, .raw =
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
		"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" },
	{ .path = "/short", .close = true, .raw =
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
		"only fifty bytes of a hundred....................." },
	{ .path = "/short-chunked", .close = true, .raw =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		"\r\n64\r\nhalf of the chunk" },
	{ .path = "/short-head", .close = true, .raw =
		"HTTP/1.1 200 OK\r\nContent-" },
	{ .path = "/nothing", .close = true, .raw = "" },
};

/* A response with `n` bytes of `fill` after `head` (a printf format for
 * n), and more after that. */
static int say_filled(cio_stream *s, const char *head, char fill, size_t n,
		      const char *tail)
{
	char h[128];
	char *b = malloc(n + 1);
	int rc;

	cr_assert_not_null(b);
	memset(b, fill, n);
	b[n] = '\0';
	snprintf(h, sizeof(h), head, n);
	rc = say(s, h) || say(s, b) || say(s, tail);
	free(b);
	return rc;
}

static int routes(struct srv *sv, const struct rq *rq, cio_stream *s)
{
	const char *t = rq->target;
	char buf[512];

	for (size_t i = 0; i < sizeof(canned) / sizeof(canned[0]); i++) {
		const struct canned *k = &canned[i];
		if (strcmp(t, k->path))
			continue;
		int rc = k->piece ? say_slowly(s, k->raw, k->piece)
				  : say(s, k->raw);
		return rc || k->close;
	}
	if (!strcmp(t, "/echo")) {
		snprintf(buf, sizeof(buf), "%s %.400s", rq->method, rq->body);
		return ok_body(s, buf);
	}
	/* Redirects: /r/<n> is n hops from "done". */
	if (!strncmp(t, "/r/", 3)) {
		int n = atoi(t + 3);
		if (n == 0)
			return ok_body(s, "done");
		snprintf(buf, sizeof(buf), "/r/%d", n - 1);
		return redirect(s, 302, buf);
	}
	if (!strcmp(t, "/rel/a/b"))
		return redirect(s, 301, "../c?q=1");
	if (!strcmp(t, "/abs") || !strcmp(t, "/netpath") ||
	    !strcmp(t, "/cross")) {
		snprintf(buf, sizeof(buf), "%s:%u/%s",
			 t[1] == 'a'   ? "http://" LOCAL
			 : t[1] == 'n' ? "//" LOCAL
				       : "http://localhost",
			 sv->port, t[1] == 'c' ? "echo" : "hello");
		return redirect(s, t[1] == 'a' ? 308 : 307, buf);
	}
	if (!strcmp(t, "/same"))
		return redirect(s, 307, "/echo");
	if (!strncmp(t, "/status/", 8)) /* /status/<code> -> /echo */
		return redirect(s, atoi(t + 8), "/echo");
	if (!strcmp(t, "/to-https"))
		return redirect(s, 302, "https://example.org/");
	if (!strcmp(t, "/to-bad"))
		return redirect(s, 302, "http://bad host/");
	/* Big bodies and headers. */
	if (!strcmp(t, "/len2000") || !strcmp(t, "/len1000"))
		return say_filled(s, "HTTP/1.1 200 OK\r\nContent-Length: %zu"
				     "\r\n\r\n", 'x', (size_t)atoi(t + 4), "");
	if (!strcmp(t, "/chunk2000")) /* two chunks of 1099 */
		return say_filled(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
				     "chunked\r\n\r\n%zx\r\n", 'y', 1099,
				  "\r\n") ||
		       say_filled(s, "%zx\r\n", 'y', 1099, "\r\n0\r\n\r\n");
	if (!strcmp(t, "/close2000"))
		return say_filled(s, "HTTP/1.1 200 OK\r\n\r\n%.0zu", 'z', 2000,
				  "") | 1;
	if (!strcmp(t, "/hugehead"))
		return say_filled(s, "HTTP/1.1 200 OK\r\nX-Huge: %.0zu", 'h',
				  90 * 1024, "\r\n\r\n") | 1;
	/* Pool behaviour. */
	if (!strcmp(t, "/stale")) {
		/* The second request on a connection: closed unanswered, as
		 * a server whose idle timer fired just then would. */
		if (rq->nth == 2)
			return 1;
		snprintf(buf, sizeof(buf), "conn %u", rq->conn);
		return ok_body(s, buf);
	}
	if (!strcmp(t, "/answer-and-close")) {
		/* Keep-alive by the headers, then closed while idle. */
		if (ok_body(s, "bye"))
			return 1;
		cio_stream_close(s);
		cio_stream_wait_closed(s, LATER());
		event_set(sv->arrived);
		return 1;
	}
	if (!strcmp(t, "/gate")) {
		if (sv->client) {
			struct cio_http_client_stats st;
			cio_http_client_stats(sv->client, &st);
			if (st.busy > sv->seen_busy)
				sv->seen_busy = st.busy;
		}
		gate_wait(sv);
		snprintf(buf, sizeof(buf), "conn %u", rq->conn);
		return ok_body(s, buf);
	}
	if (!strcmp(t, "/hang"))
		return hang(sv, s);
	return say(s, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

static cio_http_client *client_new(const struct cio_http_client_opts *o)
{
	cio_http_client *c;
	cr_assert_eq(cio_http_client_new(&c, o), 0);
	return c;
}

static struct cio_http_client_stats stats(const cio_http_client *c)
{
	struct cio_http_client_stats st;
	cr_assert_eq(cio_http_client_stats(c, &st), 0);
	return st;
}

static int get(cio_http_client *c, const char *url,
	       struct cio_http_result *res)
{
	return cio_http_get(c, url, res, LATER());
}

/* GET and expect `status` and `body`. */
static void get_ok(cio_http_client *c, const char *url, int status,
		   const char *body)
{
	struct cio_http_result res;
	int rc = get(c, url, &res);

	cr_assert_eq(rc, 0, "%s: %s", url, cio_http_strerror(rc));
	cr_assert_eq(res.status, status, "%s", url);
	cr_assert_str_eq(res.body, body, "%s", url);
	cr_assert_eq(res.body_len, strlen(body));
	cio_http_result_free(&res);
}

static void get_fails(cio_http_client *c, const char *url, int want)
{
	struct cio_http_result res;
	int rc = get(c, url, &res);

	cr_assert_eq(rc, want, "%s: %d (%s), want %d", url, rc,
		     cio_http_strerror(rc), want);
	cr_assert_null(res.body);
	cr_assert_null(res.headers);
	cr_assert_null(res.url);
	cr_assert_eq(res.status, 0);
}

/* -- scripted: framing ----------------------------------------------------- */

static intptr_t basics_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct cio_http_result res;
	(void)arg;

	srv_start(sv, routes);
	struct cio_http_client_opts o = { .user_agent = "tester/2" };
	cio_http_client *c = client_new(&o);

	cr_assert_eq(get(c, at(sv, "/hello"), &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_eq(res.version_minor, 1);
	cr_assert_str_eq(res.body, "hello");
	cr_assert_str_eq(res.url, at(sv, "/hello"));
	cr_assert_eq(res.redirects, 0);
	cr_assert_eq(res.nheaders, 6);
	cr_assert_str_eq(res.headers[0].name, "Content-Length");
	cr_assert_str_eq(cio_http_result_header(&res, "x-a"), "1");
	cr_assert_str_eq(res.headers[2].value, "a");
	cr_assert_str_eq(res.headers[3].name, "X-Multi");
	cr_assert_str_eq(res.headers[3].value, "b");
	cr_assert_str_eq(cio_http_result_header(&res, "X-Pad"), "padded");
	cr_assert_eq(res.headers[4].value_len, 6);
	cr_assert_str_eq(cio_http_result_header(&res, "X-Empty"), "");
	cr_assert_null(cio_http_result_header(&res, "X-None"));
	cio_http_result_free(&res);
	cr_assert_null(res.body);

	/* What went out. */
	char host[64];
	snprintf(host, sizeof(host), "\r\nHost: " LOCAL ":%u\r\n", sv->port);
	cr_assert_str_eq(sv->last.method, "GET");
	cr_assert_str_eq(sv->last.target, "/hello");
	cr_assert_not_null(strstr(sv->last.head, host));
	cr_assert_not_null(strstr(sv->last.head, "User-Agent: tester/2\r\n"));
	cr_assert_not_null(strstr(sv->last.head, "\r\nAccept: */*\r\n"));
	cr_assert_null(strcasestr(sv->last.head, "Connection:"));
	cr_assert_null(strcasestr(sv->last.head, "Content-Length:"));

	/* A body, and the request's own headers (which win over ours). */
	struct cio_http_header hdrs[] = {
		{ .name = "X-Trace", .value = "t1" },
		{ .name = "user-agent", .value = "mine/1" },
		{ .name = "Content-Type", .value = "text/plain" },
	};
	struct cio_http_req req = { .method = "POST", .url = at(sv, "/echo"),
				    .headers = hdrs, .nheaders = 3,
				    .body = "a body", .body_len = 6 };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_str_eq(res.body, "POST a body");
	cio_http_result_free(&res);
	cr_assert_not_null(strstr(sv->last.head, "\r\nX-Trace: t1\r\n"));
	cr_assert_not_null(strstr(sv->last.head, "\r\nuser-agent: mine/1\r\n"));
	cr_assert_null(strstr(sv->last.head, "tester/2"));
	cr_assert_not_null(strstr(sv->last.head, "\r\nContent-Length: 6\r\n"));

	/* PUT without a body still says how long it is. */
	req = (struct cio_http_req){ .method = "PUT", .url = at(sv, "/echo") };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_str_eq(res.body, "PUT ");
	cio_http_result_free(&res);
	cr_assert_not_null(strstr(sv->last.head, "\r\nContent-Length: 0\r\n"));

	/* Everything so far went over one connection. */
	struct cio_http_client_stats st = stats(c);
	cr_assert_eq(st.connects, 1);
	cr_assert_eq(st.reused, 2);
	cr_assert_eq(st.idle, 1);
	cr_assert_eq(st.busy, 0);
	cr_assert_eq(sv->conns, 1);

	/* A name, looked up. */
	char url[64];
	snprintf(url, sizeof(url), "http://localhost:%u/hello", sv->port);
	get_ok(c, url, 200, "hello");

	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, basics, .timeout = 30)
{
	th_run_clean(basics_task, NULL);
}

static intptr_t one_off_task(void *arg)
{
	struct srv *sv = &the_srv;
	(void)arg;

	srv_start(sv, routes);
	get_ok(NULL, at(sv, "/hello"), 200, "hello");
	cr_assert_not_null(strstr(sv->last.head, "\r\nConnection: close\r\n"));
	cr_assert_not_null(strstr(sv->last.head, "User-Agent: coreio/"));
	get_ok(NULL, at(sv, "/chunked"), 200, "hello world");
	cr_assert_eq(sv->conns, 2);
	srv_stop(sv);
	return 0;
}

Test(http_client, one_off_without_client, .timeout = 30)
{
	th_run_clean(one_off_task, NULL);
}

static intptr_t ipv6_task(void *arg)
{
	struct srv *sv = &the_srv;
	char url[64], host[64];
	(void)arg;

	memset(sv, 0, sizeof(*sv));
	sv->fn = routes;
	if (cio_start_server(&sv->tcp, "::1", 0, serve, sv, NULL) < 0)
		return 1; /* no IPv6 loopback here */
	sv->port = cio_server_port(sv->tcp);
	snprintf(url, sizeof(url), "http://[::1]:%u/hello", sv->port);
	get_ok(NULL, url, 200, "hello");
	snprintf(host, sizeof(host), "\r\nHost: [::1]:%u\r\n", sv->port);
	cr_assert_not_null(strstr(sv->last.head, host));
	srv_stop(sv);
	return 0;
}

Test(http_client, ipv6_literal, .timeout = 30)
{
	cio_loop *loop = th_loop_new();
	intptr_t rc = th_run(loop, ipv6_task, NULL);
	th_loop_free_checked(loop);
	if (rc == 1)
		cr_skip_test("no IPv6 loopback");
	cr_assert_eq(rc, 0);
	th_leak_check();
}

static intptr_t framing_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct cio_http_result res;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);

	/* Chunked, with extensions and trailers, in 7-byte pieces. */
	cr_assert_eq(get(c, at(sv, "/chunked"), &res), 0);
	cr_assert_str_eq(res.body, "hello world");
	cr_assert_eq(res.body_len, 11);
	cr_assert_str_eq(cio_http_result_header(&res, "X-Before"), "1");
	cr_assert_null(cio_http_result_header(&res, "X-Trailer"),
		       "trailers are not headers");
	cr_assert_eq(res.nheaders, 2);
	cio_http_result_free(&res);
	cr_assert_eq(stats(c).idle, 1, "a chunked response keeps the conn");

	/* Interim responses are skipped. */
	cr_assert_eq(get(c, at(sv, "/interim"), &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(res.body, "ok");
	cr_assert_null(cio_http_result_header(&res, "Link"));
	cio_http_result_free(&res);

	/* HEAD: a length but no body; 204 and 304: no body whatever they
	 * say. The connection carries on after each. */
	struct cio_http_req req = { .method = "HEAD", .url = at(sv, "/head") };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(cio_http_result_header(&res, "Content-Length"),
			 "1000");
	cr_assert_str_eq(res.body, "");
	cr_assert_eq(res.body_len, 0);
	cio_http_result_free(&res);
	get_ok(c, at(sv, "/204"), 204, "");
	get_ok(c, at(sv, "/304"), 304, "");
	get_ok(c, at(sv, "/hello"), 200, "hello");
	cr_assert_eq(stats(c).connects, 1);

	/* Close-delimited bodies (the connection then goes). */
	get_ok(c, at(sv, "/close"), 200, "until the end");
	cr_assert_eq(stats(c).idle, 0);
	cr_assert_eq(get(c, at(sv, "/http10"), &res), 0);
	cr_assert_eq(res.version_minor, 0);
	cr_assert_str_eq(res.body, "old");
	cio_http_result_free(&res);
	cr_assert_eq(stats(c).idle, 0);

	/* HTTP/1.0 with keep-alive is kept; "Connection: close" is not;
	 * nor is a connection that sent more than its response. */
	get_ok(c, at(sv, "/http10-ka"), 200, "ka");
	cr_assert_eq(stats(c).idle, 1);
	get_ok(c, at(sv, "/keep-close"), 200, "ok");
	cr_assert_eq(stats(c).idle, 0);
	get_ok(c, at(sv, "/extra"), 200, "ok");
	cr_assert_eq(stats(c).idle, 0);
	get_ok(c, at(sv, "/missing"), 404, "");
	cr_assert_eq(stats(c).idle, 1);

	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, framing, .timeout = 30)
{
	th_run_clean(framing_task, NULL);
}

/* -- scripted: streaming the body ------------------------------------------ */

struct sink {
	char data[64];
	size_t len;
	int calls;
	int status;
	int fail_with;
	bool saw_headers_first;
};

static int sink_headers(void *arg, const struct cio_http_result *res)
{
	struct sink *k = arg;
	k->status = res->status;
	k->saw_headers_first = k->calls == 0 && res->nheaders > 0 && !res->body;
	return 0;
}

static int sink_body(void *arg, const void *data, size_t len)
{
	struct sink *k = arg;
	/* May park, as a file write would. */
	cr_assert_eq(cio_yield(), 0);
	k->calls++;
	if (k->fail_with)
		return k->fail_with;
	cr_assert_leq(k->len + len, sizeof(k->data));
	memcpy(k->data + k->len, data, len);
	k->len += len;
	return 0;
}

static intptr_t streaming_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct cio_http_result res;
	struct sink k = { 0 };
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);
	struct cio_http_req req = { .url = at(sv, "/r/1"),
				    .on_headers = sink_headers,
				    .on_body = sink_body, .arg = &k };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_null(res.body);
	cr_assert_eq(res.body_len, 4);
	cr_assert_eq(k.status, 200, "called for the final response only");
	cr_assert(k.saw_headers_first);
	cr_assert_eq(k.len, 4);
	cr_assert_eq(memcmp(k.data, "done", 4), 0);
	cio_http_result_free(&res);

	k = (struct sink){ 0 };
	req.url = at(sv, "/chunked");
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(k.len, 11);
	cr_assert_eq(memcmp(k.data, "hello world", 11), 0);
	cr_assert_eq(res.body_len, 11);
	cio_http_result_free(&res);

	/* A callback's error ends the request, and the connection. */
	k = (struct sink){ .fail_with = -EIO };
	req.url = at(sv, "/hello");
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), -EIO);
	cr_assert_null(res.headers);
	cr_assert_eq(stats(c).idle, 0);

	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, streaming_body, .timeout = 30)
{
	th_run_clean(streaming_task, NULL);
}

/* -- scripted: redirects --------------------------------------------------- */

static intptr_t redirects_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct cio_http_result res;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);

	/* Five are followed, six are too many. */
	cr_assert_eq(get(c, at(sv, "/r/5"), &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_eq(res.redirects, 5);
	cr_assert_str_eq(res.body, "done");
	cr_assert_str_eq(res.url, at(sv, "/r/0"));
	cio_http_result_free(&res);
	get_fails(c, at(sv, "/r/6"), -ELOOP);
	cr_assert_eq(stats(c).connects, 1, "redirect bodies are read");

	/* A limit of our own; none at all. */
	struct cio_http_req req = { .url = at(sv, "/r/2"), .max_redirects = 2 };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cio_http_result_free(&res);
	req.url = at(sv, "/r/3");
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), -ELOOP);
	req = (struct cio_http_req){ .url = at(sv, "/r/1"),
				     .max_redirects = CIO_HTTP_NO_REDIRECTS };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(res.status, 302);
	cr_assert_str_eq(cio_http_result_header(&res, "Location"), "/r/0");
	cr_assert_str_eq(res.body, "moved");
	cr_assert_eq(res.redirects, 0);
	cio_http_result_free(&res);

	/* Relative, absolute and network-path references. */
	cr_assert_eq(get(c, at(sv, "/rel/a/b"), &res), 0);
	cr_assert_str_eq(res.url, at(sv, "/rel/c?q=1"));
	cr_assert_str_eq(res.body, "c");
	cio_http_result_free(&res);
	get_ok(c, at(sv, "/abs"), 200, "hello");
	get_ok(c, at(sv, "/netpath"), 200, "hello");
	/* No Location: nothing to follow. */
	get_ok(c, at(sv, "/nolocation"), 302, "");
	/* Where we cannot go. */
	get_fails(c, at(sv, "/to-https"), -EPROTONOSUPPORT);
	get_fails(c, at(sv, "/to-bad"), -EPROTO);

	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, redirects, .timeout = 30)
{
	th_run_clean(redirects_task, NULL);
}

/* method, status -> the method and body that reach /echo */
static void post_via(cio_http_client *c, struct srv *sv, const char *method,
		     int status, const char *want)
{
	struct cio_http_header hdrs[] = {
		{ .name = "Content-Type", .value = "text/plain" },
		{ .name = "X-Keep", .value = "1" },
	};
	char path[32];
	struct cio_http_result res;

	snprintf(path, sizeof(path), "/status/%d", status);
	struct cio_http_req req = { .method = method, .url = at(sv, path),
				    .headers = hdrs, .nheaders = 2,
				    .body = "abc", .body_len = 3 };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(res.redirects, 1);
	if (strcmp(method, "HEAD"))
		cr_assert_str_eq(res.body, want, "%s %d", method, status);
	cio_http_result_free(&res);
	cr_assert_str_eq(sv->last.target, "/echo");
	cr_assert_not_null(strstr(sv->last.head, "\r\nX-Keep: 1\r\n"));
	bool body = !strcmp(want + strlen(want) - 3, "abc");
	cr_assert_eq(strstr(sv->last.head, "Content-Type:") != NULL, body,
		     "%s %d", method, status);
	cr_assert_eq(strstr(sv->last.head, "Content-Length: 3") != NULL, body);
}

static intptr_t method_change_task(void *arg)
{
	struct srv *sv = &the_srv;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);
	post_via(c, sv, "POST", 303, "GET ");
	post_via(c, sv, "POST", 301, "GET ");
	post_via(c, sv, "POST", 302, "GET ");
	post_via(c, sv, "POST", 307, "POST abc");
	post_via(c, sv, "POST", 308, "POST abc");
	post_via(c, sv, "PUT", 302, "PUT abc");
	post_via(c, sv, "PUT", 303, "GET ");
	post_via(c, sv, "HEAD", 303, "HEAD abc");
	cr_assert_str_eq(sv->last.method, "HEAD");
	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, redirect_method_changes, .timeout = 30)
{
	th_run_clean(method_change_task, NULL);
}

static intptr_t cross_origin_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct cio_http_result res;
	struct cio_http_header hdrs[] = {
		{ .name = "Authorization", .value = "Bearer secret" },
		{ .name = "Cookie", .value = "a=b" },
		{ .name = "X-Keep", .value = "1" },
	};
	(void)arg;

	srv_start(sv, routes);
	struct cio_http_req req = { .url = at(sv, "/same"), .headers = hdrs,
				    .nheaders = 3 };
	cr_assert_eq(cio_http_client_request(NULL, &req, &res, LATER()), 0);
	cio_http_result_free(&res);
	cr_assert_not_null(strstr(sv->last.head, "Authorization: Bearer"));
	cr_assert_not_null(strstr(sv->last.head, "Cookie: a=b"));
	/* 127.0.0.1 -> localhost is another origin: no credentials. */
	req.url = at(sv, "/cross");
	cr_assert_eq(cio_http_client_request(NULL, &req, &res, LATER()), 0);
	cr_assert_str_eq(res.body, "GET ");
	cio_http_result_free(&res);
	cr_assert_null(strstr(sv->last.head, "Authorization"));
	cr_assert_null(strstr(sv->last.head, "Cookie"));
	cr_assert_not_null(strstr(sv->last.head, "\r\nHost: localhost:"));
	cr_assert_not_null(strstr(sv->last.head, "X-Keep: 1"));
	srv_stop(sv);
	return 0;
}

Test(http_client, redirect_to_other_origin_drops_credentials, .timeout = 30)
{
	th_run_clean(cross_origin_task, NULL);
}

/* -- scripted: failures ---------------------------------------------------- */

static intptr_t failures_task(void *arg)
{
	struct srv *sv = &the_srv;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);
	get_fails(c, at(sv, "/bad-status"), -EPROTO);
	get_fails(c, at(sv, "/garbage"), -EPROTO);
	get_fails(c, at(sv, "/bad-chunk"), -EPROTO);
	get_fails(c, at(sv, "/cl-te"), -EPROTO);
	get_fails(c, at(sv, "/switch"), -EPROTO);
	get_fails(c, at(sv, "/hugehead"), -EMSGSIZE);
	get_fails(c, at(sv, "/short"), -EPIPE);
	get_fails(c, at(sv, "/short-chunked"), -EPIPE);
	get_fails(c, at(sv, "/short-head"), -EPIPE);
	get_fails(c, at(sv, "/nothing"), -EPIPE);
	struct cio_http_client_stats st = stats(c);
	cr_assert_eq(st.idle, 0, "no failed connection is pooled");
	cr_assert_eq(st.busy, 0);
	cr_assert_eq(st.retries, 0, "fresh connections are not retried");

	/* Bodies over the limit, whatever their framing; at it, fine. */
	struct cio_http_result res;
	struct cio_http_req req = { .max_body = 1000 };
	const char *const big[] = { "/len2000", "/chunk2000", "/close2000" };
	for (size_t i = 0; i < 3; i++) {
		req.url = at(sv, big[i]);
		cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()),
			     -EFBIG, "%s", big[i]);
	}
	/* Streamed bodies count too: by their length up front, or as
	 * chunks arrive. */
	struct sink k = { 0 };
	req = (struct cio_http_req){ .url = at(sv, "/hello"), .max_body = 5,
				     .on_body = sink_body, .arg = &k };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cio_http_result_free(&res);
	req.max_body = 4;
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), -EFBIG);
	k = (struct sink){ 0 };
	req.url = at(sv, "/chunked");
	req.max_body = 8;
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), -EFBIG);
	cr_assert_geq(k.len, 5, "the first chunk went out...");
	cr_assert_leq(k.len, 8, "...and no byte past the limit");
	req = (struct cio_http_req){ .url = at(sv, "/len1000"),
				     .max_body = 1000 };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(res.body_len, 1000);
	cio_http_result_free(&res);

	cio_http_client_free(c);
	srv_stop(sv);

	/* Nobody listens there any more. */
	get_fails(NULL, at(sv, "/hello"), -ECONNREFUSED);
	cr_assert_not_null(strstr(cio_http_strerror(-ECONNREFUSED), "refused"));
	return 0;
}

Test(http_client, failures, .timeout = 30)
{
	th_run_clean(failures_task, NULL);
}

static intptr_t deadline_task(void *arg)
{
	struct srv *sv = &the_srv;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);
	struct cio_http_result res;
	int64_t t0 = cio_loop_time();
	cr_assert_eq(cio_http_get(c, at(sv, "/hang"), &res,
				  t0 + 200 * MS), -ETIMEDOUT);
	int64_t took = cio_loop_time() - t0;
	cr_assert_geq(took, 150 * MS);
	cr_assert_lt(took, 2 * CIO_NSEC_PER_SEC);
	cr_assert_eq(stats(c).idle, 0);
	/* A deadline already passed. */
	cr_assert_eq(cio_http_get(c, at(sv, "/hello"), &res,
				  cio_loop_time() - 1), -ETIMEDOUT);
	cio_http_client_free(c);
	srv_stop(sv);

	/* A connect that gets no answer: a listener whose backlog is
	 * full leaves SYNs unanswered. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&a, al), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	int fill[4];
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, al);
	}
	char url[64];
	snprintf(url, sizeof(url), "http://" LOCAL ":%u/", ntohs(a.sin_port));
	struct cio_http_req req = { .url = url,
				    .connect_timeout = 100 * MS };
	t0 = cio_loop_time();
	cr_assert_eq(cio_http_client_request(NULL, &req, &res, LATER()),
		     -ETIMEDOUT);
	took = cio_loop_time() - t0;
	cr_assert_lt(took, 2 * CIO_NSEC_PER_SEC);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
	return 0;
}

Test(http_client, deadlines, .timeout = 30)
{
	th_run_clean(deadline_task, NULL);
}

/* -- scripted: the pool ---------------------------------------------------- */

static intptr_t stale_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct cio_http_result res;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);
	get_ok(c, at(sv, "/stale"), 200, "conn 1");
	/* Sent on the pooled connection, which closes unanswered: sent
	 * again on a new one. */
	get_ok(c, at(sv, "/stale"), 200, "conn 2");
	struct cio_http_client_stats st = stats(c);
	cr_assert_eq(st.connects, 2);
	cr_assert_eq(st.reused, 1);
	cr_assert_eq(st.retries, 1);

	/* Not a POST: it may have been acted upon. */
	struct cio_http_req req = { .method = "POST", .url = at(sv, "/stale") };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), -EPIPE);
	cr_assert_eq(stats(c).retries, 1);

	/* Closed by the server while idle: noticed before use. */
	sv->arrived = event_new();
	get_ok(c, at(sv, "/answer-and-close"), 200, "bye");
	event_wait(sv->arrived);
	cr_assert_eq(stats(c).idle, 1);
	get_ok(c, at(sv, "/hello"), 200, "hello");
	st = stats(c);
	cr_assert_eq(st.connects, 4);
	cr_assert_eq(st.retries, 1, "dropped at checkout, not retried");

	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, stale_connection_retried, .timeout = 30)
{
	th_run_clean(stale_task, NULL);
}

struct getter {
	cio_http_client *c;
	const char *url;
	int rc;
	char body[32];
};

static intptr_t getter_fn(void *arg)
{
	struct getter *g = arg;
	struct cio_http_result res;

	g->rc = get(g->c, g->url, &res);
	if (g->rc == 0) {
		snprintf(g->body, sizeof(g->body), "%s", res.body);
		cio_http_result_free(&res);
	}
	return g->rc;
}

static void get_all(struct getter *g, size_t n)
{
	cio_task *t[16];

	cr_assert_leq(n, 16);
	for (size_t i = 0; i < n; i++)
		t[i] = th_spawn_here(getter_fn, &g[i]);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(th_join(t[i]), 0, "request %zu: %s", i,
			     cio_http_strerror(g[i].rc));
}

static intptr_t pool_limits_task(void *arg)
{
	struct srv *sv = &the_srv;
	struct getter g[6];
	(void)arg;

	srv_start(sv, routes);
	struct cio_http_client_opts o = { .max_idle_per_host = 2 };
	cio_http_client *c = client_new(&o);

	/* Five at once, each held until all five are in: five
	 * connections, of which the pool keeps two. */
	for (int round = 0; round < 2; round++) {
		sv->gate = event_new();
		sv->gate_at = 5;
		sv->waiting = 0;
		for (int i = 0; i < 5; i++)
			g[i] = (struct getter){ c, at(sv, "/gate"), 0, "" };
		get_all(g, 5);
		event_free(&sv->gate);
		cr_assert_eq(stats(c).idle, 2);
	}
	struct cio_http_client_stats st = stats(c);
	cr_assert_eq(st.connects, 8, "2 reused + 3 new in round 2");
	cr_assert_eq(st.reused, 2);
	cr_assert_eq(sv->conns, 8);
	cio_http_client_free(c);
	srv_stop(sv);

	/* At most two busy at once: six requests share two connections
	 * (the first two held until both are in, so both are busy). */
	srv_start(sv, routes);
	o = (struct cio_http_client_opts){ .max_conns_per_host = 2 };
	c = client_new(&o);
	sv->client = c;
	sv->gate = event_new();
	sv->gate_at = 2;
	for (int i = 0; i < 6; i++)
		g[i] = (struct getter){ c, at(sv, "/gate"), 0, "" };
	get_all(g, 6);
	event_free(&sv->gate);
	cr_assert_eq(sv->conns, 2);
	cr_assert_eq(sv->max_inflight, 2);
	cr_assert_eq(sv->seen_busy, 2);
	st = stats(c);
	cr_assert_eq(st.connects, 2);
	cr_assert_eq(st.reused, 4);
	cr_assert_eq(st.idle, 2);

	/* Waiting for a slot ends at the deadline. */
	o.max_conns_per_host = 1;
	cio_http_client *one = client_new(&o);
	sv->arrived = event_new();
	struct getter h = { one, at(sv, "/hang"), 0, "" };
	cio_task *t = th_spawn_here(getter_fn, &h);
	event_wait(sv->arrived);
	struct cio_http_result res;
	cr_assert_eq(cio_http_get(one, at(sv, "/hello"), &res,
				  cio_deadline_after(50 * MS)), -ETIMEDOUT);
	cr_assert_eq(stats(one).busy, 1);
	cio_task_cancel(t);
	cr_assert_eq(th_join(t), -ECANCELED);
	cr_assert_eq(stats(one).busy, 0);
	get_ok(one, at(sv, "/hello"), 200, "hello");

	cio_http_client_free(one);
	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, pool_limits, .timeout = 30)
{
	th_run_clean(pool_limits_task, NULL);
}

static intptr_t idle_timeout_task(void *arg)
{
	struct srv *sv = &the_srv;
	(void)arg;

	srv_start(sv, routes);
	struct cio_http_client_opts o = { .idle_timeout = 100 * MS };
	cio_http_client *c = client_new(&o);
	sv->closed_ev = event_new();
	int64_t t0 = cio_loop_time();
	get_ok(c, at(sv, "/hello"), 200, "hello");
	cr_assert_eq(stats(c).idle, 1);
	/* The server sees the pool close it. */
	event_wait(sv->closed_ev);
	cr_assert_geq(cio_loop_time() - t0, 90 * MS);
	cr_assert_eq(stats(c).idle, 0);
	get_ok(c, at(sv, "/hello"), 200, "hello");
	cr_assert_eq(stats(c).connects, 2);
	cio_http_client_free(c);
	srv_stop(sv);
	return 0;
}

Test(http_client, idle_timeout, .timeout = 30)
{
	th_run_clean(idle_timeout_task, NULL);
}

static intptr_t cancel_task(void *arg)
{
	struct srv *sv = &the_srv;
	(void)arg;

	srv_start(sv, routes);
	cio_http_client *c = client_new(NULL);
	get_ok(c, at(sv, "/hello"), 200, "hello");

	/* Cancelled while waiting for the response, on the pooled
	 * connection: which is closed, not put back. */
	sv->arrived = event_new();
	sv->closed_ev = event_new();
	struct getter g = { c, at(sv, "/hang"), 0, "" };
	cio_task *t = th_spawn_here(getter_fn, &g);
	event_wait(sv->arrived);
	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(th_join(t), -ECANCELED);
	struct cio_http_client_stats st = stats(c);
	cr_assert_eq(st.idle, 0);
	cr_assert_eq(st.busy, 0);
	event_wait(sv->closed_ev);
	get_ok(c, at(sv, "/hello"), 200, "hello");
	cr_assert_eq(stats(c).connects, 2);

	/* Freed with a request in flight: the request completes, and the
	 * client goes with it. */
	event_free(&sv->arrived);
	sv->arrived = event_new();
	sv->gate = event_new();
	g = (struct getter){ c, at(sv, "/gate"), 0, "" };
	t = th_spawn_here(getter_fn, &g);
	event_wait(sv->arrived);
	cio_http_client_free(c);
	event_set(sv->gate);
	cr_assert_eq(th_join(t), 0);
	cr_assert_str_eq(g.body, "conn 2");
	srv_stop(sv);
	return 0;
}

Test(http_client, cancellation, .timeout = 30)
{
	th_run_clean(cancel_task, NULL);
}

/* -- bad input ------------------------------------------------------------- */

static intptr_t bad_input_task(void *arg)
{
	struct cio_http_result res;
	(void)arg;

	memset(&res, 0x55, sizeof(res));
	cr_assert_eq(get(NULL, "https://example.org/", &res), -EPROTONOSUPPORT);
	cr_assert_null(res.body, "zeroed on error");
	cr_assert_not_null(strstr(cio_http_strerror(-EPROTONOSUPPORT),
				  "https is not supported"));
	cr_assert_eq(get(NULL, "ftp://example.org/", &res), -EPROTONOSUPPORT);
	const char *const bad[] = { "", "nope", "http://", "http:///x",
				    "http://h:0/", "http://a b/",
				    "http://user:pw@h/", "/relative" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(get(NULL, bad[i], &res), -EINVAL, "'%s'", bad[i]);

	struct cio_http_req req = { .url = "http://127.0.0.1:1/" };
	cr_assert_eq(cio_http_client_request(NULL, NULL, &res, LATER()),
		     -EINVAL);
	cr_assert_eq(cio_http_client_request(NULL, &req, NULL, LATER()),
		     -EINVAL);
	struct cio_http_req r = req;
	r.url = NULL;
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()), -EINVAL);
	r = req;
	r.method = "GE T";
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()), -EINVAL);
	r.method = "";
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()), -EINVAL);
	r = req;
	r.body_len = 3;
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()), -EINVAL);
	r = req;
	r.max_redirects = -2;
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()), -EINVAL);
	r = req;
	r.nheaders = 1;
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()), -EINVAL);
	struct cio_http_header h[][1] = {
		{ { .name = "X-Evil", .value = "a\r\nInjected: 1" } },
		{ { .name = "Bad Name", .value = "v" } },
		{ { .name = "X:y", .value = "v" } },
		{ { .name = "Content-Length", .value = "1" } },
		{ { .name = "transfer-encoding", .value = "chunked" } },
		{ { .name = "Connection", .value = "close" } },
		{ { .name = NULL, .value = "v" } },
		{ { .name = "X-Null", .value = NULL } },
	};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		r = req;
		r.headers = h[i];
		r.nheaders = 1;
		cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()),
			     -EINVAL, "header %zu", i);
	}
	/* Tabs are fine in a value. */
	struct cio_http_header tab = { .name = "X-Tab", .value = "a\tb" };
	r = req;
	r.headers = &tab;
	r.nheaders = 1;
	cr_assert_eq(cio_http_client_request(NULL, &r, &res, LATER()),
		     -ECONNREFUSED);
	return 0;
}

static intptr_t other_loop_task(void *arg)
{
	struct cio_http_result res;
	cr_assert_eq(get(arg, "http://127.0.0.1:1/", &res), -EINVAL,
		     "a client of another loop");
	return 0;
}

Test(http_client, bad_input, .timeout = 30)
{
	struct cio_http_result res;
	cio_http_client *c = (cio_http_client *)(uintptr_t)1;
	struct cio_http_client_stats st;

	cr_assert_eq(cio_http_client_new(&c, NULL), -EINVAL, "no loop");
	cr_assert_null(c);
	cr_assert_eq(cio_http_client_new(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_http_client_stats(NULL, &st), -EINVAL);
	cio_http_client_free(NULL);
	cio_http_result_free(NULL);
	cr_assert_null(cio_http_result_header(NULL, "x"));
	cr_assert_not_null(cio_http_strerror(-ELOOP));
	cr_assert_not_null(cio_http_strerror(-ENOENT));
	cr_assert_not_null(cio_http_strerror(12345));

	cio_loop *loop = th_loop_new();
	struct cio_http_client_opts o = { .idle_timeout = -1 };
	cr_assert_eq(cio_http_client_new(&c, &o), -EINVAL);
	cr_assert_eq(cio_http_client_new(&c, NULL), 0);
	cr_assert_eq(cio_http_client_stats(c, NULL), -EINVAL);
	cr_assert_eq(cio_http_get(c, "http://127.0.0.1:1/", &res, LATER()),
		     -EPERM, "outside a task");
	cr_assert_eq(th_run(loop, bad_input_task, NULL), 0);

	cio_loop *other = th_loop_new();
	cr_assert_eq(th_run(other, other_loop_task, c), 0);
	th_loop_free_checked(other);
	cio_http_client_free(c);
	th_loop_free_checked(loop);
	th_leak_check();
}
