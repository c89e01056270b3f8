/* libFuzzer target: the HTTP server's request path, end to end.
 *
 * Each input is what a client sends on one connection. The real
 * connection code (cio__http_conn_main(), the function every accepted
 * connection runs) serves one end of a socketpair in a task of a loop
 * made once; a writer task sends the input to the other end in one to
 * three writes (cut at offsets derived from a hash of the input, each
 * one sent only once the server has taken the previous one) and then
 * shuts down its sending side; this task reads what the server answers
 * until end of file.
 *
 * The handler does what the request's path asks for (see handle()): read
 * the body and echo it, answer in chunks, answer nothing, fail after the
 * head, write less than it declared. It notes what each request was.
 *
 * Checked after each input, besides what ASan, UBSan and LeakSanitizer
 * catch:
 * - the server ends the connection (the read sees end of file) and
 *   closes both descriptors;
 * - the output is a sequence of whole responses: status line
 *   "HTTP/1.1 NNN reason" with 100 <= NNN <= 599, header lines with a
 *   colon, and a body framed by its Content-Length or chunks (none for a
 *   HEAD request, 1xx, 204, 304), or ended by the close (a response for
 *   an HTTP/1.0 request without a length, or one the handler cut short);
 * - one final response per request the handler saw, plus at most one
 *   that the server sends on its own for a request it refused (a 4xx/5xx
 *   from its list), and nothing after a response that said
 *   "Connection: close".
 * A failed check prints what it saw and aborts.
 *
 * CIO_BACKEND picks the backend (default: epoll, the faster here; both
 * run the same connection code).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coreio.h"
#include "io/http_internal.h"

#define MAX_CALLS 4096
#define OUT_MAX (1u << 20)

/* What the handler saw of one request. */
struct call {
	bool head;      /* HEAD: its response has no body */
	bool cut;       /* the handler may leave its response unfinished */
	bool v10;       /* HTTP/1.0: a response without length ends at close */
};

static struct {
	cio_loop *loop;
	cio_http_server *hs;
	const uint8_t *data;
	size_t size;
	size_t cuts[3];
	unsigned ncuts;
	int fds[2];
	struct call calls[MAX_CALLS];
	unsigned ncalls;
	char *out;
	size_t out_len;
	bool truncated; /* more than OUT_MAX: not checked */
} fz;

/* -- the handler ----------------------------------------------------------- */

static int read_all(cio_http_request *req, char *buf, size_t cap, size_t *len)
{
	ssize_t n;

	*len = 0;
	while ((n = cio_http_read_body(req, buf + *len, cap - *len,
				       cio_deadline_after(CIO_NSEC_PER_SEC))) >
	       0) {
		*len += (size_t)n;
		if (*len == cap)
			*len = 0;
	}
	return (int)n;
}

static int handle(cio_http_request *req, cio_http_response *res, void *arg)
{
	struct call *call = &fz.calls[fz.ncalls < MAX_CALLS ? fz.ncalls : 0];
	char body[2048];
	size_t len;
	int rc;

	(void)arg;
	if (fz.ncalls < MAX_CALLS)
		fz.ncalls++;
	*call = (struct call){ .head = req->head,
			       .v10 = req->version_minor == 0 };
	/* The handler reads a copy of the fields it uses. */
	(void)cio_http_request_header(req, "Host");
	(void)cio_http_request_header(req, "X-Anything");
	switch (req->path[0] == '/' ? req->path[1] : 0) {
	case 'c': /* chunked (close-delimited for 1.0), the body echoed */
		if ((rc = read_all(req, body, sizeof(body), &len)) < 0)
			return rc;
		rc = cio_http_response_header(res, "X-Kind", "chunks");
		if (rc < 0 || (rc = cio_http_response_start(res, 200, -1)) < 0)
			return rc;
		for (size_t off = 0; off < len; off += 7)
			if ((rc = cio_http_response_write(
				     res, body + off,
				     len - off < 7 ? len - off : 7)) < 0)
				return rc;
		return cio_http_response_end(res);
	case 'n': /* no response: the server answers 500 */
		return 0;
	case 'f': /* an error after the head */
		call->cut = true;
		if ((rc = cio_http_response_start(res, 200, -1)) < 0 ||
		    (rc = cio_http_response_write(res, "partial", 7)) < 0)
			return rc;
		return -EIO;
	case 's': /* 3 bytes of the 10 declared */
		call->cut = true;
		if ((rc = cio_http_response_start(res, 200, 10)) < 0 ||
		    (rc = cio_http_response_write(res, "abc", 3)) < 0)
			return rc;
		return 0;
	case 'q': { /* a query parameter, decoded */
		char v[64];
		ssize_t n = cio_http_query_get(req->query, "a", v, sizeof(v));
		if (n < 0)
			return cio_http_respond(res, 404, NULL, NULL, 0);
		return cio_http_respond(res, 200, "text/plain", v, (size_t)n);
	}
	case 'e': /* an empty 204 */
		return cio_http_respond(res, 204, NULL, NULL, 0);
	default: /* the body echoed with its length */
		if ((rc = read_all(req, body, sizeof(body), &len)) < 0)
			return rc;
		return cio_http_respond(res, 200, "application/octet-stream",
					body, len);
	}
}

/* -- one input ------------------------------------------------------------- */

static void quiet(cio_loop *loop, const struct cio_report *r, void *arg)
{
	(void)loop, (void)r, (void)arg; /* 500s report a misuse: expected */
}

static intptr_t conn_task(void *arg)
{
	cio_stream *s = arg;

	/* As io/server.c runs a connection, without the listening socket. */
	cio__http_conn_main(s, fz.hs);
	cio_stream_close(s);
	cio_stream_wait_closed(s, CIO_NO_DEADLINE);
	cio_stream_free(s);
	return 0;
}

/* The server took everything sent so far (so the next write arrives as a
 * read of its own), or 64 turns of the loop went by. */
static void settle(void)
{
	int queued = 0;

	for (int i = 0; i < 64; i++) {
		if (ioctl(fz.fds[0], FIONREAD, &queued) == 0 && queued == 0)
			return;
		cio_yield();
	}
}

static intptr_t writer_task(void *arg)
{
	cio_stream *s = arg;
	size_t off = 0;

	for (unsigned i = 0; i <= fz.ncuts; i++) {
		size_t end = i < fz.ncuts ? fz.cuts[i] : fz.size;
		if (end > off) {
			if (cio_stream_write(s, fz.data + off, end - off) < 0 ||
			    cio_stream_flush(s, CIO_NO_DEADLINE) < 0)
				return 0; /* the server closed first */
			settle();
		}
		off = end;
	}
	cio_stream_write_eof(s);
	cio_stream_flush(s, CIO_NO_DEADLINE);
	return 0;
}

static intptr_t client_task(void *arg)
{
	cio_stream *srv, *cli;
	cio_task *conn, *writer;
	char buf[16384];
	ssize_t n;

	(void)arg;
	if (cio_stream_new(&srv, fz.fds[0], NULL) < 0 ||
	    cio_stream_new(&cli, fz.fds[1], NULL) < 0)
		abort();
	if (cio_spawn(&conn, conn_task, srv, NULL) < 0 ||
	    cio_spawn(&writer, writer_task, cli, NULL) < 0)
		abort();
	for (;;) {
		n = cio_stream_read(cli, buf, sizeof(buf),
				    cio_deadline_after(10 * CIO_NSEC_PER_SEC));
		if (n <= 0)
			break;
		size_t k = (size_t)n;
		if (fz.out_len + k > OUT_MAX) {
			k = OUT_MAX - fz.out_len;
			fz.truncated = true;
		}
		memcpy(fz.out + fz.out_len, buf, k);
		fz.out_len += k;
	}
	if (n < 0 && n != -ECONNRESET) {
		fprintf(stderr, "fuzz: reading the responses: %zd\n", n);
		abort();
	}
	cio_await_task(conn);
	cio_await_task(writer);
	cio_task_unref(conn);
	cio_task_unref(writer);
	cio_stream_close(cli);
	cio_stream_wait_closed(cli, CIO_NO_DEADLINE);
	cio_stream_free(cli);
	return 0;
}

/* -- the checks ------------------------------------------------------------ */

__attribute__((noreturn, format(printf, 1, 2)))
static void bad(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n--- output (%zu bytes) ---\n%.*s\n---\n", fz.out_len,
		(int)(fz.out_len < 4096 ? fz.out_len : 4096), fz.out);
	abort();
}

static const char *find(const char *p, const char *end, const char *s)
{
	return memmem(p, (size_t)(end - p), s, strlen(s));
}

/* Past a chunked body at p, or NULL when it is cut short. */
static const char *chunks_end(const char *p, const char *end)
{
	for (;;) {
		const char *eol = find(p, end, "\r\n");
		char *e;
		if (!eol)
			return NULL;
		unsigned long long n = strtoull(p, &e, 16);
		if (e == p || (e != eol && *e != ';'))
			bad("bad chunk size line");
		p = eol + 2;
		if (n == 0)
			break;
		if ((unsigned long long)(end - p) < n + 2)
			return NULL;
		if (memcmp(p + n, "\r\n", 2))
			bad("chunk without its CRLF");
		p += n + 2;
	}
	return (p = find(p, end, "\r\n")) ? p + 2 : NULL; /* no trailers */
}

static bool refusal(int status)
{
	switch (status) {
	case 400: case 408: case 413: case 417: case 431: case 501:
	case 505:
		return true;
	}
	return false;
}

static void check_output(void)
{
	const char *p = fz.out, *end = fz.out + fz.out_len;
	unsigned finals = 0;
	int status = 0;
	bool closed = false;

	while (p < end) {
		const char *hend = find(p, end, "\r\n\r\n"), *line;
		char v[32];
		long long clen = -1;
		bool chunked = false, close = false;
		if (closed)
			bad("a response after 'Connection: close'");
		if (!hend)
			bad("a response head cut short");
		if (end - p < 13 || memcmp(p, "HTTP/1.1 ", 9) ||
		    sscanf(p + 9, "%3d", &status) != 1 || p[12] != ' ' ||
		    status < 100 || status > 599)
			bad("bad status line at %zu", (size_t)(p - fz.out));
		/* Header lines: from the status line's end to the block's. */
		for (line = find(p, hend + 2, "\r\n") + 2; line < hend + 2;) {
			const char *le = find(line, hend + 2, "\r\n");
			const char *colon =
				memchr(line, ':', (size_t)(le - line));
			if (!colon || colon == line)
				bad("a header line without a name");
			size_t nlen = (size_t)(colon - line), vlen;
			const char *val = colon + 1;
			while (*val == ' ')
				val++;
			vlen = (size_t)(le - val);
			if (vlen >= sizeof(v))
				vlen = sizeof(v) - 1;
			memcpy(v, val, vlen);
			v[vlen] = '\0';
			if (nlen == 14 &&
			    !strncasecmp(line, "Content-Length", 14))
				clen = atoll(v);
			else if (nlen == 17 &&
				 !strncasecmp(line, "Transfer-Encoding", 17))
				chunked = !strcasecmp(v, "chunked");
			else if (nlen == 10 &&
				 !strncasecmp(line, "Connection", 10))
				close = !strcasecmp(v, "close");
			line = le + 2;
		}
		p = hend + 4;
		if (status < 200)
			continue; /* 100 Continue: a final one follows */
		bool ours = finals < fz.ncalls;
		const struct call *c = ours ? &fz.calls[finals] : NULL;
		finals++;
		if (!ours && !refusal(status))
			bad("status %d for a request the handler never saw",
			    status);
		if ((c && c->head) || status == 204 || status == 304) {
			/* no body */
		} else if (chunked) {
			const char *e = chunks_end(p, end);
			if (!e && !(c && c->cut))
				bad("chunked body cut short");
			p = e ? e : end;
			if (!e)
				close = true;
		} else if (clen >= 0) {
			if (end - p < clen) {
				if (!(c && c->cut))
					bad("body shorter than its length");
				p = end;
				close = true;
			} else {
				p += clen;
			}
		} else {
			if (!(c && c->v10))
				bad("no length for a 1.1 response");
			p = end;
			close = true;
		}
		closed = close;
	}
	if (finals < fz.ncalls && fz.ncalls < MAX_CALLS)
		bad("%u responses for %u requests", finals, fz.ncalls);
	if (finals > fz.ncalls + 1)
		bad("%u responses for %u requests", finals, fz.ncalls);
}

/* -- libFuzzer ------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct cio_http_server_opts o = {
		.max_header_bytes = 1024,
		.max_body_bytes = 4096,
		.header_timeout = 5 * CIO_NSEC_PER_SEC,
		.idle_timeout = 5 * CIO_NSEC_PER_SEC,
		.body_timeout = 5 * CIO_NSEC_PER_SEC,
		.write_timeout = 5 * CIO_NSEC_PER_SEC,
	};

	(void)argc, (void)argv;
	setenv("CIO_BACKEND", "epoll", 0);
	if (cio_loop_new(&fz.loop, NULL) < 0)
		abort();
	cio_loop_set_exception_handler(fz.loop, quiet, NULL);
	/* The listening socket is never connected to: its connection
	 * handler is driven directly, one socketpair per input. */
	if (cio_http_server_start(&fz.hs, "127.0.0.1", 0, handle, NULL, &o) < 0)
		abort();
	if (!(fz.out = malloc(OUT_MAX)))
		abort();
	return 0;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t h = fnv1a(data, size);
	cio_task *t;

	fz.data = data;
	fz.size = size;
	fz.ncalls = 0;
	fz.out_len = 0;
	fz.truncated = false;
	/* 0, 1 or 2 cuts, sorted. */
	fz.ncuts = (unsigned)(h % 3);
	for (unsigned i = 0; i < fz.ncuts; i++)
		fz.cuts[i] = (size_t)((h >> (16 + 20 * i)) % (size + 1));
	if (fz.ncuts == 2 && fz.cuts[0] > fz.cuts[1]) {
		size_t x = fz.cuts[0];
		fz.cuts[0] = fz.cuts[1];
		fz.cuts[1] = x;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       fz.fds) < 0)
		abort();
	if (cio_spawn(&t, client_task, NULL, &(struct cio_task_opts){
						      .loop = fz.loop }) < 0)
		abort();
	cio_loop_run_until_complete(fz.loop, cio_task_future(t));
	cio_task_unref(t);
	/* Both ends are closed. */
	if (fcntl(fz.fds[0], F_GETFD) != -1 || fcntl(fz.fds[1], F_GETFD) != -1)
		bad("a descriptor of the connection is still open");
	if (!fz.truncated)
		check_output();
	return 0;
}
