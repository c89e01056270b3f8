/* HTTP server limits and bad input (io/http_server.h): every documented
 * limit (header bytes and fields, body bytes with Content-Length and
 * chunked, the header, idle and write timeouts, connections per shard), a
 * table of malformed requests (request line, fields, body framing,
 * smuggling), obs-fold and trailers, and the protocol's corners (Expect:
 * 100-continue, pipelining, HEAD, keep-alive in 1.0 and 1.1, handlers
 * that answer nothing, fail after the head or write short, chunked and
 * close-delimited responses).
 *
 * The server runs in the test's loop; clients are plain blocking sockets
 * on an executor thread, so what they check is what a client on the wire
 * sees. Every test also checks that each server connection ended on its
 * own (wait_closed() returns 0, nothing cancelled at its deadline), that
 * the loop reported nothing unexpected, and that no descriptor leaked.
 */
#include "helpers/harness.h"
#include "io/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One time limit for every test of the file (seconds). */
#define TMO 30
#define MS CIO_NSEC_PER_MSEC
/* A client wait that sees nothing for this long fails its test. */
#define WAIT_MS 5000
/* Slack on the upper bound of timing checks (sanitizers, a busy box). */
#define SLACK_MS 700
/* The short timeouts the timing tests configure. */
#define SHORT_MS 300

/* -- the test's environment ------------------------------------------------ */

struct env {
	struct cio_http_server_opts o;
	/* Runs on an executor thread; records failures with failf(). */
	void (*client)(struct env *e);
	/* Optional: runs in the test's task while the client runs. */
	void (*middle)(struct env *e);
	int reports;             /* loop reports the test expects */
	int report_error;        /* ... and the error of the first one */
	cio_http_server *hs;
	uint16_t port;
	bool closed;             /* middle() closed and waited already */
	int efd;                 /* eventfd: the test lets the client go on */
	/* Failed checks, asserted once the loop is done: the client's (its
	 * thread), and the loop's (a Criterion assertion would jump out of a
	 * coroutine's stack). */
	struct msgs {
		char text[8192];
		size_t len;
	} fail, tfail;
	int fds_before, fds_after, wait_closed;
	/* What handlers saw (on the loop's thread). */
	int64_t max_clen;        /* the longest Content-Length handled */
	ssize_t body_err;
	int write_err;
	cio_future *ev;          /* set by /big, /8m when they are done */
};

static void vadd(struct msgs *m, const char *fmt, va_list ap)
{
	size_t room = sizeof(m->text) - m->len;
	int n;

	if (room < 2)
		return;
	n = vsnprintf(m->text + m->len, room - 1, fmt, ap);
	if (n < 0)
		return;
	m->len += (size_t)n < room - 1 ? (size_t)n : room - 2;
	m->text[m->len++] = '\n';
	m->text[m->len] = '\0';
}

/* A failed check of the client. */
__attribute__((format(printf, 2, 3)))
static void failf(struct env *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(&e->fail, fmt, ap);
	va_end(ap);
}

/* A failed check on the loop's thread. */
__attribute__((format(printf, 2, 3)))
static void tfailf(struct env *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(&e->tfail, fmt, ap);
	va_end(ap);
}

static void *xcalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		abort();
	return p;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* -- handlers -------------------------------------------------------------- */

static const char hello[] = "Hello, World!";

/* A response far larger than the socket buffers, for a client that never
 * reads: the write fails with write_timeout. */
static int big(struct env *e, cio_http_response *res)
{
	static const char chunk[65536];
	const int64_t total = 1ll << 30;
	int rc = cio_http_response_start(res, 200, total);

	for (int64_t sent = 0; rc == 0 && sent < total; sent += sizeof(chunk))
		rc = cio_http_response_write(res, chunk, sizeof(chunk));
	e->write_err = rc;
	if (e->ev && !cio_future_done(e->ev))
		cio_future_set_result(e->ev, 0);
	return rc;
}

/* Routes by path; the default echoes the body (read in full). */
static int handler(cio_http_request *req, cio_http_response *res, void *arg)
{
	struct env *e = arg;
	char body[4096];
	size_t len = 0;
	ssize_t n;
	int rc;

	if (req->content_length > e->max_clen)
		e->max_clen = req->content_length;
	if (!strcmp(req->path, "/hello"))
		return cio_http_respond(res, 200, "text/plain", hello, 13);
	if (!strcmp(req->path, "/noresp"))
		return 0;
	if (!strcmp(req->path, "/big"))
		return big(e, res);
	if (!strcmp(req->path, "/8m")) {
		/* Under the stream's high water (see close_flush_client()):
		 * handed to the stream at once, read or not. */
		static const char eight_mib[8 << 20];
		rc = cio_http_respond(res, 200, NULL, eight_mib,
				      sizeof(eight_mib));
		e->write_err = rc;
		if (e->ev && !cio_future_done(e->ev))
			cio_future_set_result(e->ev, 0);
		return rc;
	}
	if (!strcmp(req->path, "/header")) {
		/* The value of the header named by the query. */
		const char *v = cio_http_request_header(req, req->query);
		if (!v)
			return cio_http_respond(res, 404, NULL, NULL, 0);
		return cio_http_respond(res, 200, NULL, v, strlen(v));
	}
	if (!strcmp(req->path, "/chunked")) {
		if ((rc = cio_http_response_start(res, 200, -1)) < 0 ||
		    (rc = cio_http_response_write(res, "Hello", 5)) < 0 ||
		    (rc = cio_http_response_write(res, ", ", 2)) < 0 ||
		    (rc = cio_http_response_write(res, "World!", 6)) < 0)
			return rc;
		return cio_http_response_end(res);
	}
	if (!strcmp(req->path, "/fail-after-start")) {
		if ((rc = cio_http_response_start(res, 200, -1)) < 0 ||
		    (rc = cio_http_response_write(res, "partial", 7)) < 0)
			return rc;
		return -EIO;
	}
	if (!strcmp(req->path, "/short")) {
		if ((rc = cio_http_response_start(res, 200, 10)) < 0 ||
		    (rc = cio_http_response_write(res, "12345", 5)) < 0)
			return rc;
		return 0; /* the server ends it: 5 bytes short */
	}
	while ((n = cio_http_read_body(req, body + len, sizeof(body) - len,
				       cio_deadline_after(WAIT_MS * MS))) > 0) {
		len += (size_t)n;
		if (len == sizeof(body))
			len = 0; /* only small bodies are echoed */
	}
	if (n < 0) {
		e->body_err = n;
		return (int)n; /* no response: the server picks the status */
	}
	if (!strcmp(req->path, "/lengths")) {
		/* The fields' lengths still match their strings. */
		for (size_t i = 0; i < req->nheaders; i++) {
			const struct cio_http_header *h = &req->headers[i];
			if (strlen(h->name) != h->name_len ||
			    strlen(h->value) != h->value_len)
				return cio_http_respond(res, 500, NULL, h->name,
							strlen(h->name));
		}
	}
	return cio_http_respond(res, 200, "application/octet-stream", body,
				len);
}

/* -- the client side (an executor thread, blocking sockets) ---------------- */

#define CL_BUF (1u << 16)

struct cl {
	struct env *e;
	int fd;
	char buf[CL_BUF];
	size_t start, end;
	bool eof;
	int err; /* errno of the read that failed (ECONNRESET...) */
};

/* A response as the client parsed it. */
struct resp {
	int status;
	char head[8192];      /* the header block, NUL-terminated */
	long long clen;       /* -1: no Content-Length */
	bool chunked, close, keep_alive;
	char body[4096];      /* its first bytes, NUL-terminated */
	size_t blen;          /* all of it */
};

static struct cl *cl_open_buf(struct env *e, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct cl *c = xcalloc(sizeof(*c));

	c->e = e;
	a.sin_port = htons(e->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd >= 0 && rcvbuf)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
			   sizeof(rcvbuf));
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a))) {
		failf(e, "connect: %s", strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		c->eof = true;
	}
	return c;
}

static struct cl *cl_open(struct env *e)
{
	return cl_open_buf(e, 0);
}

static void cl_close(struct cl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

/* 0, or -errno (EPIPE, ECONNRESET: the server is gone). */
static int cl_send(struct cl *c, const void *p, size_t n)
{
	const char *b = p;

	while (n) {
		ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int cl_sends(struct cl *c, const char *s)
{
	return cl_send(c, s, strlen(s));
}

/* Read more within `ms`: > 0 bytes, 0 at end of file (or reset), -ETIMEDOUT,
 * -ENOBUFS when the buffer is full. */
static ssize_t cl_fill(struct cl *c, int ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	ssize_t n;

	if (c->eof || c->err)
		return 0;
	if (c->start == c->end)
		c->start = c->end = 0;
	if (c->end == CL_BUF && c->start) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == CL_BUF)
		return -ENOBUFS;
	if (poll(&p, 1, ms) == 0)
		return -ETIMEDOUT;
	n = recv(c->fd, c->buf + c->end, CL_BUF - c->end, 0);
	if (n > 0) {
		c->end += (size_t)n;
		return n;
	}
	if (n == 0)
		c->eof = true;
	else
		c->err = errno;
	return 0;
}

/* n bytes into dst (NULL: skipped). 0, or -1 when they did not come. */
static int cl_take(struct cl *c, char *dst, size_t n)
{
	while (n) {
		if (c->start == c->end && cl_fill(c, WAIT_MS) <= 0)
			return -1;
		size_t k = c->end - c->start < n ? c->end - c->start : n;
		if (dst) {
			memcpy(dst, c->buf + c->start, k);
			dst += k;
		}
		c->start += k;
		n -= k;
	}
	return 0;
}

/* A line ending in CRLF (without it) into dst. Its length, or -1. */
static ssize_t cl_line(struct cl *c, char *dst, size_t cap)
{
	for (;;) {
		char *nl = memmem(c->buf + c->start, c->end - c->start, "\r\n",
				  2);
		if (nl) {
			size_t n = (size_t)(nl - (c->buf + c->start));
			if (n >= cap)
				return -1;
			memcpy(dst, c->buf + c->start, n);
			dst[n] = '\0';
			c->start += n + 2;
			return (ssize_t)n;
		}
		if (cl_fill(c, WAIT_MS) <= 0)
			return -1;
	}
}

/* The value of header `name` in a header block, copied (trimmed). */
static bool head_value(const char *head, const char *name, char *out,
		       size_t cap)
{
	size_t nlen = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (strncasecmp(p, name, nlen) || p[nlen] != ':')
			continue;
		const char *v = p + nlen + 1, *end = strstr(v, "\r\n");
		while (*v == ' ' || *v == '\t')
			v++;
		if (!end)
			end = v + strlen(v);
		size_t n = (size_t)(end - v);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n >= cap)
			n = cap - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

static void body_add(struct resp *r, const char *p, size_t n)
{
	if (r->blen < sizeof(r->body) - 1) {
		size_t k = sizeof(r->body) - 1 - r->blen;
		memcpy(r->body + r->blen, p, n < k ? n : k);
	}
	r->blen += n;
	r->body[r->blen < sizeof(r->body) ? r->blen : sizeof(r->body) - 1] =
		'\0';
}

/* Read n body bytes into r. */
static int read_body_bytes(struct cl *c, struct resp *r, size_t n)
{
	char tmp[4096];

	while (n) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);
		if (cl_take(c, tmp, k) < 0)
			return -1;
		body_add(r, tmp, k);
		n -= k;
	}
	return 0;
}

static int read_chunked(struct cl *c, struct resp *r)
{
	char line[256], *end;

	for (;;) {
		if (cl_line(c, line, sizeof(line)) < 0)
			return -1;
		unsigned long long n = strtoull(line, &end, 16);
		if (end == line || (*end && *end != ';'))
			return -1;
		if (!n)
			break;
		if (read_body_bytes(c, r, n) < 0 ||
		    cl_line(c, line, sizeof(line)) != 0)
			return -1;
	}
	do { /* trailers, then the empty line */
		if (cl_line(c, line, sizeof(line)) < 0)
			return -1;
	} while (line[0]);
	return 0;
}

/* One response (an interim 1xx included). `head`: the request was HEAD.
 * 0, or -1 (r->status 0 when not even a status line came). */
static int cl_response(struct cl *c, struct resp *r, bool head)
{
	char v[64];
	char *hend;

	memset(r, 0, sizeof(*r));
	r->clen = -1;
	while (!(hend = memmem(c->buf + c->start, c->end - c->start,
			       "\r\n\r\n", 4)))
		if (cl_fill(c, WAIT_MS) <= 0)
			return -1;
	size_t hlen = (size_t)(hend - (c->buf + c->start)) + 2;
	if (hlen >= sizeof(r->head))
		return -1;
	memcpy(r->head, c->buf + c->start, hlen);
	r->head[hlen] = '\0';
	c->start += hlen + 2;
	if (strncmp(r->head, "HTTP/1.1 ", 9) ||
	    sscanf(r->head + 9, "%3d", &r->status) != 1 || r->head[12] != ' ')
		return r->status = 0, -1;
	if (head_value(r->head, "Content-Length", v, sizeof(v)))
		r->clen = atoll(v);
	if (head_value(r->head, "Transfer-Encoding", v, sizeof(v)))
		r->chunked = !strcasecmp(v, "chunked");
	if (head_value(r->head, "Connection", v, sizeof(v))) {
		r->close = !strcasecmp(v, "close");
		r->keep_alive = !strcasecmp(v, "keep-alive");
	}
	if (head || r->status < 200 || r->status == 204 || r->status == 304)
		return 0;
	if (r->chunked)
		return read_chunked(c, r);
	if (r->clen >= 0)
		return read_body_bytes(c, r, (size_t)r->clen);
	/* Close-delimited. */
	for (;;) {
		if (c->start < c->end) {
			body_add(r, c->buf + c->start, c->end - c->start);
			c->start = c->end;
		}
		ssize_t n = cl_fill(c, WAIT_MS);
		if (n == 0)
			return 0;
		if (n < 0)
			return -1;
	}
}

/* Nothing more comes, and the server closed: end of file or a reset. */
static bool cl_closed(struct cl *c)
{
	while (c->start == c->end) {
		ssize_t n = cl_fill(c, WAIT_MS);
		if (n == 0)
			return true;
		if (n < 0)
			return false;
	}
	return false; /* unexpected bytes */
}

/* One request on a new connection, one response; `closed`: the server must
 * close after it, else it must keep the connection open (checked with a
 * second request). */
static bool exchange(struct env *e, const char *what, const char *req,
		     size_t len, int status, bool closed, struct resp *r)
{
	bool ok = false;

	struct cl *c = cl_open(e);

	if (cl_send(c, req, len) < 0)
		failf(e, "%s: send failed", what);
	if (cl_response(c, r, !strncmp(req, "HEAD ", 5)) < 0)
		failf(e, "%s: no complete response (status %d)", what,
		      r->status);
	else if (r->status != status) {
		/* Waiting for a close that will not come would only be slow. */
		failf(e, "%s: status %d, want %d", what, r->status, status);
		cl_close(c);
		return false;
	} else {
		ok = true;
	}
	if (closed && !cl_closed(c))
		failf(e, "%s: the connection was not closed", what);
	if (!closed) {
		struct resp r2;
		if (cl_sends(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n") < 0 ||
		    cl_response(c, &r2, false) < 0 || r2.status != 200)
			failf(e, "%s: the connection was not kept alive",
			      what);
	}
	cl_close(c);
	return ok;
}

static void ok_request(struct env *e, const char *after)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
	struct resp r;
	char what[128];

	snprintf(what, sizeof(what), "a good request after '%s'", after);
	exchange(e, what, req, sizeof(req) - 1, 200, false, &r);
	if (strcmp(r.body, hello))
		failf(e, "%s: body '%s'", what, r.body);
}

/* -- running a test -------------------------------------------------------- */

static intptr_t noop_job(void *arg)
{
	(void)arg;
	return 0;
}

static intptr_t client_job(void *arg)
{
	struct env *e = arg;

	e->client(e);
	return 0;
}

/* Start the server, run the client (and middle()) to its end, stop the
 * server; what it finds goes to e->tfail and the counters. */
static intptr_t serve_task(void *arg)
{
	struct env *e = arg;
	cio_future *client;
	int rc;

	/* The executor's threads exist before the count. */
	if ((rc = (int)cio_to_thread(noop_job, NULL)) != 0)
		return tfailf(e, "executor: %d", rc), 0;
	e->fds_before = th_count_fds();
	if (e->middle && (rc = cio_future_new(NULL, &e->ev)) < 0)
		return tfailf(e, "future: %d", rc), 0;
	rc = cio_http_server_start(&e->hs, "127.0.0.1", 0, handler, e, &e->o);
	if (rc < 0)
		return tfailf(e, "cio_http_server_start: %d", rc), 0;
	e->port = cio_http_server_port(e->hs);
	if ((rc = cio_run_in_executor(&client, NULL, client_job, e)) < 0) {
		tfailf(e, "cio_run_in_executor: %d", rc);
	} else {
		if (e->middle)
			e->middle(e);
		cio_await(client);
		cio_future_unref(client);
	}
	if (!e->closed) {
		cio_http_server_close(e->hs);
		e->wait_closed = cio_http_server_wait_closed(
			e->hs, cio_deadline_after(2000 * MS));
	}
	cio_http_server_free(e->hs);
	if (e->ev)
		cio_future_unref(e->ev);
	e->fds_after = th_count_fds();
	return 0;
}

static void run(struct env *e)
{
	struct th_reports reps;
	cio_loop *loop = th_loop_new();

	e->efd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(e->efd, 0);
	th_collect_reports(loop, &reps);
	cr_assert_eq(th_run(loop, serve_task, e), 0);
	cr_assert(e->fail.len == 0, "%s", e->fail.text);
	cr_assert(e->tfail.len == 0, "%s", e->tfail.text);
	cr_assert_eq(e->wait_closed, 0,
		     "a connection did not end on its own: %d",
		     e->wait_closed);
	cr_assert_eq(e->fds_after, e->fds_before, "descriptors leaked");
	cr_assert_eq(reps.n, e->reports, "%d loop reports (first: %s)",
		     reps.n, reps.n ? reps.message[0] : "");
	if (e->reports)
		cr_assert_eq(reps.error[0], e->report_error);
	close(e->efd);
	th_loop_free(loop);
}

static struct env *env_new(void (*client)(struct env *))
{
	struct env *e = xcalloc(sizeof(*e));

	e->client = client;
	e->body_err = 1;
	return e;
}

static void env_run(struct env *e)
{
	run(e);
	free(e);
}

/* Send, read one response, expect `status` and the connection closed. */
static void expect_close(struct env *e, const char *what, const char *req,
			 int status)
{
	struct resp r;

	if (exchange(e, what, req, strlen(req), status, true, &r) && !r.close)
		failf(e, "%s: no 'Connection: close'", what);
}

/* A request with `n` header fields of `vlen`-byte values besides Host. */
static char *many_headers(size_t n, size_t vlen)
{
	size_t cap = 64 + n * (vlen + 16), len;
	char *s = xcalloc(cap);

	len = (size_t)sprintf(s, "GET /hello HTTP/1.1\r\nHost: a\r\n");
	for (size_t i = 0; i < n; i++) {
		len += (size_t)sprintf(s + len, "X-%04zu: ", i);
		memset(s + len, 'v', vlen);
		len += vlen;
		len += (size_t)sprintf(s + len, "\r\n");
	}
	strcpy(s + len, "\r\n");
	return s;
}

/* -- header limits --------------------------------------------------------- */

static void header_bytes_client(struct env *e)
{
	/* 1024 bytes allowed: ~900 pass, 1.4x and 4x do not. */
	char *fits = many_headers(8, 95);
	char *over = many_headers(14, 95);
	char *far = many_headers(40, 95);
	struct resp r;

	if (strlen(fits) >= 1024)
		failf(e, "the block under the limit is not");
	exchange(e, "header block under the limit", fits, strlen(fits), 200,
		 false, &r);
	expect_close(e, "header block 4x over the limit", far, 431);
	expect_close(e, "header block 1.4x over the limit, in one write", over,
		     431);
	/* The same, arriving in pieces. */
	struct cl *c = cl_open(e);
	for (size_t off = 0, n = strlen(over); off < n; off += 100) {
		if (cl_send(c, over + off, n - off < 100 ? n - off : 100) < 0)
			break;
	}
	if (cl_response(c, &r, false) < 0 || r.status != 431 || !cl_closed(c))
		failf(e, "header block over the limit, in pieces: %d",
		      r.status);
	cl_close(c);
	ok_request(e, "header limits");
	free(fits);
	free(over);
	free(far);
}

Test(http_limits, max_header_bytes, .timeout = TMO)
{
	struct env *e = env_new(header_bytes_client);

	e->o.max_header_bytes = 1024;
	env_run(e);
}

static void header_fields_client(struct env *e)
{
	char *at = many_headers(99, 1), *over = many_headers(100, 1);
	struct resp r;

	exchange(e, "100 header fields", at, strlen(at), 200, false, &r);
	expect_close(e, "101 header fields", over, 431);
	ok_request(e, "101 header fields");
	free(at);
	free(over);
}

Test(http_limits, max_header_fields, .timeout = TMO)
{
	env_run(env_new(header_fields_client));
}

/* -- body limits ----------------------------------------------------------- */

static void body_cl_client(struct env *e)
{
	char req[2200], body[1001];
	struct resp r;
	struct cl *c;

	memset(body, 'b', sizeof(body));
	snprintf(req, sizeof(req),
		 "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000"
		 "\r\n\r\n%.1000s", body);
	exchange(e, "a body of max_body_bytes", req, strlen(req), 200, false,
		 &r);
	if (r.blen != 1000)
		failf(e, "echoed %zu bytes, want 1000", r.blen);
	expect_close(e, "Content-Length over max_body_bytes",
		     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1001"
		     "\r\n\r\n", 413);
	/* With Expect: 100-continue: 413 at once, no 100 first. */
	c = cl_open(e);
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000"
		    "\r\nExpect: 100-continue\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 413 || !cl_closed(c))
		failf(e, "Expect with a body too long: status %d, want 413",
		      r.status);
	cl_close(c);
	ok_request(e, "413");
}

Test(http_limits, content_length_over_max_body, .timeout = TMO)
{
	struct env *e = env_new(body_cl_client);

	e->o.max_body_bytes = 1000;
	run(e);
	cr_assert_eq(e->max_clen, 1000, "the handler ran for a body too long");
	free(e);
}

static void body_chunked_client(struct env *e)
{
	char chunk[700];
	struct cl *c = cl_open(e);
	struct resp r;

	memset(chunk, 'c', sizeof(chunk));
	cl_sends(c, "POST /echo HTTP/1.1\r\nHost: a\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
	/* 2 x 700 > 1000: the second chunk crosses the limit. */
	for (int i = 0; i < 2; i++) {
		cl_sends(c, "2bc\r\n");
		cl_send(c, chunk, sizeof(chunk));
		cl_sends(c, "\r\n");
	}
	if (cl_response(c, &r, false) < 0 || r.status != 413)
		failf(e, "chunked body over max_body_bytes: status %d, want "
			 "413", r.status);
	if (!cl_closed(c))
		failf(e, "chunked body over max_body_bytes: not closed");
	cl_close(c);
	ok_request(e, "chunked 413");
}

Test(http_limits, chunked_body_over_max_body, .timeout = TMO)
{
	struct env *e = env_new(body_chunked_client);

	e->o.max_body_bytes = 1000;
	run(e);
	cr_assert_eq(e->body_err, -EFBIG, "read_body: %zd", e->body_err);
	free(e);
}

/* -- timeouts -------------------------------------------------------------- */

/* Trickle header bytes, one every 50 ms, never ending the block: the
 * server answers 408 header_timeout after the first byte. */
static void trickle(struct env *e, struct cl *c, const char *what,
		    int64_t t0)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	struct resp r;
	int sent = 0;

	cl_sends(c, "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ");
	while (poll(&p, 1, 50) == 0 && now_ms() - t0 < WAIT_MS)
		if (cl_sends(c, "s") == 0)
			sent++;
	int64_t ms = now_ms() - t0;
	if (cl_response(c, &r, false) < 0 || r.status != 408)
		failf(e, "%s: status %d, want 408", what, r.status);
	if (!cl_closed(c))
		failf(e, "%s: not closed after 408", what);
	if (ms < SHORT_MS - 20 || ms > SHORT_MS + SLACK_MS)
		failf(e, "%s: 408 after %lld ms, want %d", what,
		      (long long)ms, SHORT_MS);
	if (sent < 3)
		failf(e, "%s: only %d bytes trickled", what, sent);
}

static void header_timeout_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	trickle(e, c, "trickled first request", now_ms());
	cl_close(c);
	/* On a kept-alive connection, from the next request's first byte. */
	c = cl_open(e);
	cl_sends(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200)
		failf(e, "first request: %d", r.status);
	trickle(e, c, "trickled second request", now_ms());
	cl_close(c);
	/* A client that connects and sends nothing: closed, no response. */
	int64_t t0 = now_ms();
	c = cl_open(e);
	if (!cl_closed(c) || c->end)
		failf(e, "silent connection: not closed quietly");
	int64_t ms = now_ms() - t0;
	if (ms < SHORT_MS - 20 || ms > SHORT_MS + SLACK_MS)
		failf(e, "silent connection closed after %lld ms",
		      (long long)ms);
	cl_close(c);
}

Test(http_limits, header_timeout, .timeout = TMO)
{
	struct env *e = env_new(header_timeout_client);

	e->o.header_timeout = SHORT_MS * MS;
	env_run(e);
}

static void idle_timeout_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	cl_sends(c, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200)
		failf(e, "request: %d", r.status);
	int64_t t0 = now_ms();
	if (!cl_closed(c))
		failf(e, "idle connection not closed");
	int64_t ms = now_ms() - t0;
	if (ms < SHORT_MS - 20 || ms > SHORT_MS + SLACK_MS)
		failf(e, "idle connection closed after %lld ms, want %d",
		      (long long)ms, SHORT_MS);
	cl_close(c);
}

Test(http_limits, idle_timeout, .timeout = TMO)
{
	struct env *e = env_new(idle_timeout_client);

	e->o.idle_timeout = SHORT_MS * MS;
	env_run(e);
}

/* The client asks for 1 GiB and reads nothing until the test lets it. */
static void write_timeout_client(struct env *e)
{
	struct cl *c = cl_open_buf(e, 4096);
	struct pollfd p = { .fd = e->efd, .events = POLLIN };

	cl_sends(c, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
	if (poll(&p, 1, 4 * WAIT_MS) != 1)
		failf(e, "the test never let the client read");
	/* What is left in flight drains; then the connection must end. */
	while (cl_fill(c, WAIT_MS) > 0)
		c->start = c->end;
	if (!c->eof && !c->err)
		failf(e, "the connection did not end");
	cl_close(c);
}

static void write_timeout_middle(struct env *e)
{
	uint64_t one = 1;
	int64_t t0 = cio_loop_time();
	cio_await(e->ev);
	int64_t waited = cio_loop_time() - t0;

	cio_http_server_close(e->hs);
	/* The connection must end on its own: nothing is left to send to a
	 * client that does not read. */
	int wc = cio_http_server_wait_closed(e->hs,
					     cio_deadline_after(1000 * MS));
	e->closed = true;
	if (write(e->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		tfailf(e, "eventfd write failed");
	if (e->write_err != -ETIMEDOUT)
		tfailf(e, "response_write: %d, want -ETIMEDOUT", e->write_err);
	if (waited < SHORT_MS * MS)
		tfailf(e, "write_timeout after %lld ns", (long long)waited);
	if (wc != 0)
		tfailf(e, "the connection outlived write_timeout (%d)", wc);
}

Test(http_limits, write_timeout, .timeout = TMO)
{
	struct env *e = env_new(write_timeout_client);

	e->o.write_timeout = SHORT_MS * MS;
	e->middle = write_timeout_middle;
	env_run(e);
}

/* A response the stream takes whole (its high water is above it), to a
 * client that reads nothing: the handler is done at once, and what the
 * kernel could not take (its send buffer grows to 4 MiB at most:
 * net.ipv4.tcp_wmem) must not keep the connection once write_timeout is
 * over (the server's close flushes without a deadline otherwise). */
static void close_flush_client(struct env *e)
{
	struct cl *c = cl_open_buf(e, 4096);
	struct pollfd p = { .fd = e->efd, .events = POLLIN };

	cl_sends(c, "GET /8m HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
		    "\r\n");
	if (poll(&p, 1, 4 * WAIT_MS) != 1)
		failf(e, "the test never let the client read");
	while (cl_fill(c, WAIT_MS) > 0)
		c->start = c->end;
	if (!c->eof && !c->err)
		failf(e, "the connection did not end");
	cl_close(c);
}

static void close_flush_middle(struct env *e)
{
	uint64_t one = 1;

	cio_await(e->ev);
	cio_http_server_close(e->hs);
	int wc = cio_http_server_wait_closed(
		e->hs, cio_deadline_after((SHORT_MS + 1000) * MS));
	e->closed = true;
	if (write(e->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		tfailf(e, "eventfd write failed");
	if (e->write_err != 0)
		tfailf(e, "cio_http_respond: %d", e->write_err);
	if (wc != 0)
		tfailf(e, "the connection outlived write_timeout in its "
			  "close (%d)", wc);
}

Test(http_limits, write_timeout_bounds_close, .timeout = TMO)
{
	struct cio_stream_opts so = { .high_water = 16u << 20 };
	struct env *e = env_new(close_flush_client);

	e->o.write_timeout = SHORT_MS * MS;
	e->o.stream = &so;
	e->middle = close_flush_middle;
	env_run(e);
}

/* -- connections per shard ------------------------------------------------- */

#define NCONN 3

static void max_conn_client(struct env *e)
{
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
	struct cl *c[NCONN], *extra;
	struct resp r;

	/* NCONN connections, each served once: all are counted now. */
	for (int i = 0; i < NCONN; i++) {
		c[i] = cl_open(e);
		if (cl_sends(c[i], req) < 0 ||
		    cl_response(c[i], &r, false) < 0 || r.status != 200)
			failf(e, "connection %d: status %d", i, r.status);
	}
	/* One more: accepted, and closed at once, without a byte. */
	extra = cl_open(e);
	if (!cl_closed(extra) || extra->end)
		failf(e, "connection %d over the limit was not closed at once",
		      NCONN + 1);
	cl_close(extra);
	/* The others still work. */
	for (int i = 0; i < NCONN; i++)
		if (cl_sends(c[i], req) < 0 ||
		    cl_response(c[i], &r, false) < 0 || r.status != 200)
			failf(e, "connection %d after the refusal: %d", i,
			      r.status);
	/* One ends (the server saw it end once we read its close): a new
	 * connection takes its place. */
	shutdown(c[0]->fd, SHUT_WR);
	if (!cl_closed(c[0]))
		failf(e, "half-closed connection not closed");
	extra = cl_open(e);
	if (cl_sends(extra, req) < 0 || cl_response(extra, &r, false) < 0 ||
	    r.status != 200)
		failf(e, "a connection in a freed slot: status %d", r.status);
	cl_close(extra);
	for (int i = 0; i < NCONN; i++)
		cl_close(c[i]);
}

Test(http_limits, max_connections, .timeout = TMO)
{
	struct env *e = env_new(max_conn_client);

	e->o.max_connections = NCONN;
	env_run(e);
}

/* -- malformed requests ---------------------------------------------------- */

struct bad {
	const char *name;
	const char *req;
	size_t len;
	int status;
	const char *bug; /* the server gets it wrong today: see below */
};

#define BAD(name, req, status) { name, req, sizeof(req) - 1, status, NULL }
#define BUG(id, name, req, status) { name, req, sizeof(req) - 1, status, id }
#define H "Host: a\r\n"
#define GET11 "GET / HTTP/1.1\r\n"
#define POST11 "POST / HTTP/1.1\r\n" H
#define CHUNKED POST11 "Transfer-Encoding: chunked\r\n\r\n"

/* What RFC 9110 / 9112 and io/http_server.h ask for. The BUG() rows fail
 * with the server as it is (they run in their own test, below):
 * "lenient": Debian builds libhttp-parser with HTTP_PARSER_STRICT=0, which
 * lets blanks into field names, takes any letters for "HTTP", takes a
 * request line without a version for HTTP/0.9, lets tabs into the
 * target, and takes chunks without their CRLF; the server does not check
 * behind it there. */
static const struct bad bad_requests[] = {
	/* The request line. */
	BAD("bad char in method", "G@T / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("lower-case method", "get / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("unknown method", "BREW / HTTP/1.1\r\n" H "\r\n", 400),
	BAD("method alone", "GET\r\n\r\n", 400),
	BAD("no target", "GET HTTP/1.1\r\n" H "\r\n", 400),
	BUG("lenient", "no version (HTTP/0.9)", "GET /\r\n" H "\r\n", 400),
	BAD("HTTP/0.9", "GET / HTTP/0.9\r\n" H "\r\n", 505),
	BAD("HTTP/2.0", "GET / HTTP/2.0\r\n" H "\r\n", 505),
	BAD("HTTP/3.0", "GET / HTTP/3.0\r\n" H "\r\n", 505),
	BAD("version letters", "GET / HTTP/1.x\r\n" H "\r\n", 400),
	BAD("two-digit minor version", "GET / HTTP/1.10\r\n" H "\r\n", 400),
	BUG("lenient", "other protocol", "GET / HTTX/1.1\r\n" H "\r\n", 400),
	BAD("blank after version", "GET / HTTP/1.1 \r\n" H "\r\n", 400),
	BAD("space in target", "GET /a b HTTP/1.1\r\n" H "\r\n", 400),
	BAD("NUL in request line", "GET /a\0b HTTP/1.1\r\n" H "\r\n", 400),
	BAD("control char in target", "GET /\x01 HTTP/1.1\r\n" H "\r\n", 400),
	BAD("DEL in target", "GET /\x7f HTTP/1.1\r\n" H "\r\n", 400),
	BUG("lenient", "tab in target", "GET /a\tb HTTP/1.1\r\n" H "\r\n", 400),
	BAD("bare CR ends request line", "GET / HTTP/1.1\r" H "\r\n", 400),
	BAD("LF CR ends request line", "GET / HTTP/1.1\n\r" H "\r\n", 400),
	BAD("TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03", 400),
	BAD("blank request line", "   \r\n" H "\r\n", 400),
	/* Header fields. */
	BAD("HTTP/1.1 without Host", GET11 "\r\n", 400),
	BUG("lenient", "space in header name", GET11 H "Ho st: a\r\n\r\n", 400),
	BUG("lenient", "space before colon", GET11 H "X-A : b\r\n\r\n", 400),
	BAD("header without colon", GET11 H "NoColon\r\n\r\n", 400),
	BAD("empty header name", GET11 H ": v\r\n\r\n", 400),
	BUG("lenient", "blank before first header", GET11 " X: y\r\n" H "\r\n",
	    400),
	BAD("NUL in header value", GET11 H "X: a\0b\r\n\r\n", 400),
	BAD("control char in header value", GET11 H "X: a\x01z\r\n\r\n", 400),
	BAD("bare CR in header value", GET11 H "X: a\rY: b\r\n\r\n", 400),
	BAD("bare CR ends header block", GET11 H "\rX\r\n", 400),
	BAD("Expect other than 100-continue",
	    GET11 H "Expect: something-else\r\n\r\n", 417),
	/* Body framing. */
	BAD("negative Content-Length",
	    POST11 "Content-Length: -1\r\n\r\n", 400),
	BAD("Content-Length with sign",
	    POST11 "Content-Length: +5\r\n\r\nhello", 400),
	BAD("Content-Length not a number",
	    POST11 "Content-Length: 5x\r\n\r\nhello", 400),
	BAD("Content-Length overflows",
	    POST11 "Content-Length: 99999999999999999999999\r\n\r\n", 400),
	BAD("conflicting Content-Length",
	    POST11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
	    400),
	BAD("Content-Length list",
	    POST11 "Content-Length: 5, 6\r\n\r\nhello!", 400),
	BAD("Content-Length and chunked (smuggling)",
	    POST11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n", 400),
	BAD("chunked and Content-Length (smuggling)",
	    POST11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
	    "0\r\n\r\n", 400),
	BAD("Transfer-Encoding gzip",
	    POST11 "Transfer-Encoding: gzip\r\n\r\n", 501),
	BAD("Transfer-Encoding identity",
	    POST11 "Transfer-Encoding: identity\r\n\r\n", 501),
	BAD("Transfer-Encoding chunked, then gzip on a second line",
	    POST11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n"
	    "\r\n0\r\n\r\n", 501),
	BAD("invalid chunk size",
	    CHUNKED "zz\r\nhello\r\n0\r\n\r\n", 400),
	BAD("chunk size overflows",
	    CHUNKED "fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400),
	BUG("lenient", "bare CR after chunk size",
	    CHUNKED "5\rXhello\r\n0\r\n\r\n", 400),
	BUG("lenient", "chunk data without CRLF",
	    CHUNKED "5\r\nhelloXX0\r\n\r\n", 400),
};

static void bad_run(struct env *e, bool bugs)
{
	size_t n = sizeof(bad_requests) / sizeof(bad_requests[0]);

	for (size_t i = 0; i < n; i++) {
		const struct bad *b = &bad_requests[i];
		if (!b->bug != !bugs)
			continue;
		struct resp r;
		char what[160];
		snprintf(what, sizeof(what), "[%zu] %s", i, b->name);
		if (exchange(e, what, b->req, b->len, b->status, true, &r) &&
		    !r.close)
			failf(e, "%s: no 'Connection: close'", what);
		ok_request(e, what);
	}
}

static void bad_client(struct env *e)
{
	bad_run(e, false);
}

static void bad_bug_client(struct env *e)
{
	bad_run(e, true);
}

Test(http_limits, malformed_requests, .timeout = TMO)
{
	cr_assert_geq(sizeof(bad_requests) / sizeof(bad_requests[0]), 30);
	env_run(env_new(bad_client));
}

/* The BUG() rows of the table. */
Test(http_limits, malformed_requests_server_bugs, .timeout = TMO)
{
	env_run(env_new(bad_bug_client));
}

static void overlong_client(struct env *e)
{
	size_t n = 20000;
	char *req = xcalloc(n + 64);

	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n);
	strcpy(req + 5 + n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_close(e, "request line over max_header_bytes", req, 431);
	ok_request(e, "overlong request line");
	free(req);
}

Test(http_limits, overlong_request_line, .timeout = TMO)
{
	env_run(env_new(overlong_client));
}

/* obs-fold (RFC 9112 section 5.2): reject with 400, or replace it with
 * spaces; never let it join two lines into one value unseparated, nor
 * hand a CR or LF to the handler. */
static void obs_fold_client(struct env *e)
{
	static const char req[] =
		"GET /header?X HTTP/1.1\r\n" H "X: a\r\n b\r\n\r\n";
	struct cl *c = cl_open(e);
	struct resp r;

	cl_sends(c, req);
	if (cl_response(c, &r, false) < 0)
		failf(e, "obs-fold: no response");
	else if (r.status == 400 ? !cl_closed(c) : r.status != 200)
		failf(e, "obs-fold: status %d", r.status);
	else if (r.status == 200 && strcmp(r.body, "a b") &&
		 strcmp(r.body, "a  b"))
		failf(e, "obs-fold: the value is '%s'", r.body);
	cl_close(c);
}

Test(http_limits, obs_fold, .timeout = TMO)
{
	env_run(env_new(obs_fold_client));
}

/* -- protocol corners ------------------------------------------------------ */

static void expect_continue_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	cl_sends(c, "POST /echo HTTP/1.1\r\n" H "Content-Length: 5\r\n"
		    "Expect: 100-continue\r\n\r\n");
	/* The body goes only once the 100 came. */
	if (cl_response(c, &r, false) < 0 || r.status != 100)
		failf(e, "interim response: %d, want 100", r.status);
	cl_sends(c, "hello");
	if (cl_response(c, &r, false) < 0 || r.status != 200 ||
	    strcmp(r.body, "hello"))
		failf(e, "final response: %d '%s'", r.status, r.body);
	/* Kept alive, and no 100 for a request without Expect. */
	cl_sends(c, "POST /echo HTTP/1.1\r\n" H "Content-Length: 2\r\n\r\nhi");
	if (cl_response(c, &r, false) < 0 || r.status != 200 ||
	    strcmp(r.body, "hi"))
		failf(e, "next request: %d '%s'", r.status, r.body);
	cl_close(c);
	/* A handler that answers without reading: no 100, and the unsent
	 * body cannot be skipped, so the connection closes. */
	c = cl_open(e);
	cl_sends(c, "POST /hello HTTP/1.1\r\n" H "Content-Length: 5\r\n"
		    "Expect: 100-continue\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200 || !cl_closed(c))
		failf(e, "handler that does not read: %d", r.status);
	cl_close(c);
}

Test(http_limits, expect_continue, .timeout = TMO)
{
	env_run(env_new(expect_continue_client));
}

static void pipelining_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	cl_sends(c, "POST /echo HTTP/1.1\r\n" H "Content-Length: 3\r\n\r\none"
		    "GET /hello HTTP/1.1\r\n" H "\r\n"
		    "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n"
		    "\r\n3\r\nthr\r\n2\r\nee\r\n0\r\n\r\n");
	const char *want[] = { "one", hello, "three" };
	for (int i = 0; i < 3; i++)
		if (cl_response(c, &r, false) < 0 || r.status != 200 ||
		    strcmp(r.body, want[i]))
			failf(e, "response %d: %d '%s', want '%s'", i,
			      r.status, r.body, want[i]);
	/* Lines may end in a bare LF (RFC 9112 section 2.2). */
	cl_sends(c, "GET /hello HTTP/1.1\nHost: a\n\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200)
		failf(e, "bare LF line ends: %d", r.status);
	/* Nothing more, and still open. */
	cl_sends(c, "GET /hello HTTP/1.1\r\n" H "Connection: close\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200 || !r.close ||
	    !cl_closed(c))
		failf(e, "after the pipeline: %d", r.status);
	cl_close(c);
}

Test(http_limits, pipelining, .timeout = TMO)
{
	env_run(env_new(pipelining_client));
}

static void head_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	/* HEAD then GET in one write: a body after the HEAD response would
	 * be read as the start of the next one. */
	cl_sends(c, "HEAD /hello HTTP/1.1\r\n" H "\r\n"
		    "GET /hello HTTP/1.1\r\n" H "\r\n"
		    "HEAD /chunked HTTP/1.1\r\n" H "\r\n"
		    "GET /hello HTTP/1.1\r\n" H "\r\n");
	if (cl_response(c, &r, true) < 0 || r.status != 200 || r.clen != 13)
		failf(e, "HEAD: %d, Content-Length %lld", r.status, r.clen);
	if (cl_response(c, &r, false) < 0 || r.status != 200 || r.clen != 13 ||
	    strcmp(r.body, hello))
		failf(e, "GET after HEAD: %d '%s'", r.status, r.body);
	if (cl_response(c, &r, true) < 0 || r.status != 200 || !r.chunked)
		failf(e, "HEAD of a chunked response: %d", r.status);
	if (cl_response(c, &r, false) < 0 || r.status != 200 ||
	    strcmp(r.body, hello))
		failf(e, "GET after HEAD of chunked: %d '%s'", r.status,
		      r.body);
	cl_close(c);
}

Test(http_limits, head, .timeout = TMO)
{
	env_run(env_new(head_client));
}

static void keep_alive_client(struct env *e)
{
	struct resp r;

	/* 1.0: closed unless asked. */
	expect_close(e, "HTTP/1.0", "GET /hello HTTP/1.0\r\n\r\n", 200);
	struct cl *c = cl_open(e);
	cl_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200 || !r.keep_alive)
		failf(e, "1.0 keep-alive: %d, no 'Connection: keep-alive'",
		      r.status);
	cl_sends(c, "GET /hello HTTP/1.0\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200 || !r.close ||
	    !cl_closed(c))
		failf(e, "1.0 after keep-alive: %d", r.status);
	cl_close(c);
	/* 1.1: kept unless asked. */
	static const char req11[] = "GET /hello HTTP/1.1\r\n" H "\r\n";
	exchange(e, "HTTP/1.1", req11, sizeof(req11) - 1, 200, false, &r);
	if (r.close || r.keep_alive)
		failf(e, "1.1: a Connection header");
	expect_close(e, "HTTP/1.1 Connection: close",
		     "GET /hello HTTP/1.1\r\n" H "Connection: close\r\n\r\n",
		     200);
	expect_close(e, "HTTP/1.1 Connection: keep-alive, close",
		     "GET /hello HTTP/1.1\r\n" H
		     "Connection: keep-alive, close\r\n\r\n", 200);
}

Test(http_limits, keep_alive, .timeout = TMO)
{
	env_run(env_new(keep_alive_client));
}

static void no_response_client(struct env *e)
{
	expect_close(e, "handler without a response",
		     "GET /noresp HTTP/1.1\r\n" H "\r\n", 500);
	ok_request(e, "500");
}

Test(http_limits, handler_without_response, .timeout = TMO)
{
	struct env *e = env_new(no_response_client);

	e->reports = 1;
	e->report_error = -EPROTO;
	env_run(e);
}

static void fail_after_start_client(struct env *e)
{
	struct cl *c = cl_open(e);
	char rest[256];
	struct resp r;

	cl_sends(c, "GET /fail-after-start HTTP/1.1\r\n" H "\r\n"
		    "GET /hello HTTP/1.1\r\n" H "\r\n");
	/* Read the head, then what comes until the close. */
	if (cl_response(c, &r, true) < 0 || r.status != 200 || !r.chunked)
		failf(e, "failing handler: %d", r.status);
	size_t n = 0;
	while (cl_fill(c, WAIT_MS) > 0)
		;
	n = c->end - c->start < sizeof(rest) - 1 ? c->end - c->start
						 : sizeof(rest) - 1;
	memcpy(rest, c->buf + c->start, n);
	rest[n] = '\0';
	if (!c->eof && !c->err)
		failf(e, "failing handler: the connection stayed open");
	if (!strstr(rest, "7\r\npartial\r\n") || strstr(rest, "HTTP/1.1"))
		failf(e, "failing handler: sent '%s'", rest);
	cl_close(c);
}

Test(http_limits, handler_fails_after_start, .timeout = TMO)
{
	env_run(env_new(fail_after_start_client));
}

static void short_write_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	cl_sends(c, "GET /short HTTP/1.1\r\n" H "\r\n"
		    "GET /hello HTTP/1.1\r\n" H "\r\n");
	if (cl_response(c, &r, true) < 0 || r.status != 200 || r.clen != 10)
		failf(e, "short response: %d, Content-Length %lld", r.status,
		      r.clen);
	while (cl_fill(c, WAIT_MS) > 0)
		;
	if (!c->eof && !c->err)
		failf(e, "short response: the connection stayed open");
	if (c->end - c->start != 5 || memcmp(c->buf + c->start, "12345", 5))
		failf(e, "short response: %zu body bytes", c->end - c->start);
	cl_close(c);
}

Test(http_limits, short_write_closes, .timeout = TMO)
{
	env_run(env_new(short_write_client));
}

static void chunked_response_client(struct env *e)
{
	static const char want[] = "\r\n\r\n5\r\nHello\r\n2\r\n, \r\n"
				   "6\r\nWorld!\r\n"
				   "0\r\n\r\n";
	struct cl *c = cl_open(e);
	struct resp r;

	/* The exact bytes: the head's end, then each write as a chunk. */
	cl_sends(c, "GET /chunked HTTP/1.1\r\n" H "Connection: close\r\n\r\n");
	while (cl_fill(c, WAIT_MS) > 0)
		;
	c->buf[c->end < CL_BUF ? c->end : CL_BUF - 1] = '\0';
	const char *end = strstr(c->buf, "\r\n\r\n");
	if (!end || strcmp(end, want) || !c->eof ||
	    !strstr(c->buf, "\r\nTransfer-Encoding: chunked\r\n") ||
	    !strstr(c->buf, "\r\nConnection: close\r\n"))
		failf(e, "chunked response:\n%s", c->buf);
	if (strstr(c->buf, "Content-Length"))
		failf(e, "chunked response with a Content-Length");
	cl_close(c);
	/* HTTP/1.0 has no chunks: the body ends with the connection. */
	c = cl_open(e);
	cl_sends(c, "GET /chunked HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200 || r.chunked ||
	    r.clen != -1 || strcmp(r.body, hello) || !r.close)
		failf(e, "HTTP/1.0 close-delimited: %d '%s'", r.status, r.body);
	cl_close(c);
}

Test(http_limits, chunked_response, .timeout = TMO)
{
	env_run(env_new(chunked_response_client));
}

/* Trailer fields (after a chunked body) are read while the handler holds
 * the request: they must not disturb its header fields. */
static void trailers_client(struct env *e)
{
	struct cl *c = cl_open(e);
	struct resp r;

	cl_sends(c, "POST /lengths HTTP/1.1\r\n" H
		    "Transfer-Encoding: chunked\r\nX-Last: abc\r\n\r\n"
		    "5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Trailer-2: 22\r\n"
		    "\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200 ||
	    strcmp(r.body, "hello"))
		failf(e, "chunked body with trailers: %d '%s'", r.status,
		      r.body);
	/* And the connection goes on. */
	cl_sends(c, "GET /hello HTTP/1.1\r\n" H "\r\n");
	if (cl_response(c, &r, false) < 0 || r.status != 200)
		failf(e, "after the trailers: %d", r.status);
	cl_close(c);
}

Test(http_limits, chunked_trailers, .timeout = TMO)
{
	env_run(env_new(trailers_client));
}
