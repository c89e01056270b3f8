/* HTTP server connections: read requests with libhttp-parser, run the
 * handler, keep the connection alive or end it.
 *
 * Parsing is paused twice per request: when the header block is complete
 * (the handler runs before any of the body is decoded) and when the
 * message is complete (a pipelined next request stays unparsed in `in`
 * until this one is answered). The body is decoded into `stage` by
 * feeding the parser at most CIO__HTTP_STAGE input bytes at a time: the
 * decoded body is never longer than its encoding, so the stage cannot
 * overflow and no pause is needed inside on_body.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "io/http_internal.h"
#include "io/server_internal.h"
#include "runtime/list.h"
#include "runtime/loop_internal.h"
#include "runtime/shard.h"
#include "runtime/task.h"

static struct cio__http_conn *conn_of(http_parser *p)
{
	return p->data;
}

static int arena_put(struct cio__http_conn *c, const char *at, size_t len)
{
	/* One byte stays free for the NUL that ends the string. */
	if (len + 1 > c->arena_cap - c->arena_len) {
		c->too_many = true;
		return -1;
	}
	memcpy(c->arena + c->arena_len, at, len);
	c->arena_len += len;
	return 0;
}

static int arena_nul(struct cio__http_conn *c)
{
	if (c->arena_len >= c->arena_cap) {
		c->too_many = true;
		return -1;
	}
	c->arena[c->arena_len++] = '\0';
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct cio__http_conn *c = conn_of(p);

	if (!c->in_url) {
		c->in_url = true;
		c->url_off = c->arena_len;
	}
	return arena_put(c, at, len);
}

/* End the string being collected (the target, a name or a value). */
static int close_string(struct cio__http_conn *c)
{
	if (c->in_url) {
		c->in_url = false;
		return arena_nul(c);
	}
	if (c->last == 1) {
		struct cio_http_header *h = &c->hdrs[c->nhdrs - 1];
		h->name_len = c->arena_len - (size_t)(h->name - c->arena);
		return arena_nul(c);
	}
	if (c->last == 2) {
		struct cio_http_header *h = &c->hdrs[c->nhdrs - 1];
		char *v = (char *)h->value;
		size_t n = c->arena_len - (size_t)(v - c->arena);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		c->arena_len = (size_t)(v - c->arena) + n;
		h->value_len = n;
		return arena_nul(c);
	}
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct cio__http_conn *c = conn_of(p);

	/* Trailer fields of a chunked body: dropped, the handler holds the
	 * request's fields (and reading the body is where they come). */
	if (c->headers_done)
		return 0;
	if (c->last != 1) {
		if (close_string(c) < 0)
			return -1;
		if (c->nhdrs == CIO__HTTP_MAX_HEADERS) {
			c->too_many = true;
			return -1;
		}
		c->hdrs[c->nhdrs++] = (struct cio_http_header){
			.name = c->arena + c->arena_len, .value = "" };
		c->last = 1;
	}
	return arena_put(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct cio__http_conn *c = conn_of(p);

	if (c->headers_done)
		return 0;
	if (c->last != 2) {
		if (close_string(c) < 0)
			return -1;
		c->hdrs[c->nhdrs - 1].value = c->arena + c->arena_len;
		c->last = 2;
	}
	return arena_put(c, at, len);
}

/* Copy [p, p + n) into the arena as a string of its own. */
static const char *arena_str(struct cio__http_conn *c, const char *p, size_t n)
{
	const char *s = c->arena + c->arena_len;

	if (arena_put(c, p, n) < 0 || arena_nul(c) < 0)
		return NULL;
	return s;
}

static int fill_request(struct cio__http_conn *c)
{
	http_parser *p = &c->parser;
	cio_http_request *r = &c->req;
	const char *target = c->arena + c->url_off;
	size_t tlen = strlen(target);
	size_t plen = strcspn(target, "?#");
	const char *q = target + plen;
	size_t qlen = 0;

	if (*q == '?') {
		q++;
		qlen = strcspn(q, "#");
	}
	r->method = http_method_str((enum http_method)p->method);
	r->target = target;
	if (!(r->path = arena_str(c, target, plen)) ||
	    !(r->query = arena_str(c, q, qlen)))
		return -1;
	(void)tlen;
	r->version_major = p->http_major;
	r->version_minor = p->http_minor;
	r->headers = c->hdrs;
	r->nheaders = c->nhdrs;
	r->chunked = (p->flags & F_CHUNKED) != 0;
	r->content_length = (p->flags & F_CONTENTLENGTH) && !r->chunked ?
				    (int64_t)p->content_length : -1;
	r->head = p->method == HTTP_HEAD;
	r->keep_alive = http_should_keep_alive(p) != 0;
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct cio__http_conn *c = conn_of(p);

	if (close_string(c) < 0 || fill_request(c) < 0)
		return -1;
	c->last = 0;
	c->headers_done = true;
	/* Stop here: the handler runs before any of the body is decoded. */
	http_parser_pause(p, 1);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct cio__http_conn *c = conn_of(p);

	/* Fits: the parser is never fed more than the stage holds. */
	memcpy(c->stage + c->stage_len, at, len);
	c->stage_len += len;
	c->body_total += len;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct cio__http_conn *c = conn_of(p);

	c->message_done = true;
	/* A pipelined request waits until this one is answered. */
	http_parser_pause(p, 1);
	return 0;
}

static http_parser_settings settings = {
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* -- reading ----------------------------------------------------------------- */

/* Read more input (the unparsed rest moved to the front first). > 0
 * bytes; 0 at end of file; < 0 error. */
static ssize_t fill(struct cio__http_conn *c, int64_t deadline)
{
	/* While the header block is read, it stays whole (head_ok()). */
	size_t keep = c->headers_done ? c->in_start : c->head_start;

	if (keep > 0) {
		memmove(c->in, c->in + keep, c->in_end - keep);
		c->in_start -= keep;
		c->in_end -= keep;
		c->head_start = 0;
	}
	if (c->in_end == c->in_cap)
		return -ENOBUFS;
	ssize_t n = cio_stream_read(c->s, c->in + c->in_end,
				    c->in_cap - c->in_end, deadline);
	if (n > 0)
		c->in_end += (size_t)n;
	return n;
}

/* Debian builds libhttp-parser without HTTP_PARSER_STRICT, which takes a
 * lone CR for a line end. In the header block that is how requests are
 * smuggled past a proxy that reads it otherwise: refuse it here, on the
 * bytes the parser consumed (a CR at their end is checked against the
 * next byte, now or on the next run). */
static bool bare_cr(struct cio__http_conn *c, size_t from, size_t n)
{
	const char *p = c->in + from, *end = p + n;

	if (c->cr_pending && n) {
		c->cr_pending = false;
		if (*p != '\n')
			return true;
	}
	while ((p = memchr(p, '\r', (size_t)(end - p)))) {
		if (p + 1 < end) {
			if (p[1] != '\n')
				return true;
		} else if (end < c->in + c->in_end) {
			if (*end != '\n')
				return true;
		} else {
			c->cr_pending = true;
		}
		p++;
	}
	return false;
}

/* Besides the lone CR, the lenient parser lets blanks into field names
 * (also before the colon, and a blank-led first field), takes any four
 * letters for "HTTP/", a request line without a version for HTTP/0.9,
 * tabs and form feeds in the target, and a chunk whose data is not
 * followed by CRLF, or whose size line ends in a CR and anything. The
 * whole header block is checked once the parser has taken it, and the
 * chunked framing beside it, as RFC 9112 writes them. */

static bool tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Past the line end at p (CRLF, or a bare LF, RFC 9112 section 2.2), or
 * NULL. */
static const unsigned char *eol(const unsigned char *p,
				const unsigned char *end)
{
	if (p < end && *p == '\n')
		return p + 1;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		return p + 2;
	return NULL;
}

/* Empty lines, request-line, field lines (no obs-fold), empty line. */
static bool head_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *q;

	while (p < end && (*p == '\r' || *p == '\n'))
		if (!(p = eol(p, end)))
			return false;
	for (q = p; p < end && tchar(*p); p++)
		;
	if (p == q || p == end || *p++ != ' ')
		return false;
	for (q = p; p < end && *p > ' ' && *p != 0x7f; p++)
		;
	if (p == q || p == end || *p++ != ' ')
		return false;
	if (end - p < 8 || memcmp(p, "HTTP/", 5) || p[5] < '0' || p[5] > '9' ||
	    p[6] != '.' || p[7] < '0' || p[7] > '9')
		return false;
	if (!(p = eol(p + 8, end)))
		return false;
	for (;;) {
		if (p < end && (*p == '\r' || *p == '\n'))
			return eol(p, end) == end;
		for (q = p; p < end && tchar(*p); p++)
			;
		if (p == q || p == end || *p++ != ':')
			return false;
		while (p < end && (*p == '\t' || (*p >= ' ' && *p != 0x7f)))
			p++;
		if (!(p = eol(p, end)))
			return false;
	}
}

enum { CK_HEAD_LF, CK_SIZE0, CK_SIZE, CK_EXT, CK_SIZE_LF, CK_DATA, CK_DATA_CR,
       CK_DATA_LF, CK_TRAILER0, CK_TRAILER, CK_TRAILER_LF, CK_END_LF, CK_DONE };

static int hexdig(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static bool ctl(unsigned char ch)
{
	return (ch < ' ' && ch != '\t') || ch == 0x7f;
}

/* The chunked framing (RFC 9112 section 7.1) of the bytes the parser
 * consumed, from the LF that ends the header block to the one that ends
 * the trailer section. */
static bool chunk_ok(struct cio__http_conn *c, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	int d;

	for (; p < end; p++) {
		switch (c->chunk_state) {
		case CK_HEAD_LF:
			if (*p != '\n')
				return false;
			c->chunk_state = CK_SIZE0;
			break;
		case CK_SIZE0:
		case CK_SIZE:
			if ((d = hexdig(*p)) >= 0) {
				if (c->chunk_left >> 59)
					return false;
				c->chunk_left = c->chunk_left * 16 +
						(unsigned)d;
				c->chunk_state = CK_SIZE;
			} else if (c->chunk_state == CK_SIZE0) {
				return false;
			} else if (*p == ';' || *p == ' ' || *p == '\t') {
				c->chunk_state = CK_EXT;
			} else if (*p == '\r') {
				c->chunk_state = CK_SIZE_LF;
			} else {
				return false;
			}
			break;
		case CK_EXT:
			if (*p == '\r')
				c->chunk_state = CK_SIZE_LF;
			else if (ctl(*p))
				return false;
			break;
		case CK_SIZE_LF:
			if (*p != '\n')
				return false;
			c->chunk_state = c->chunk_left ? CK_DATA : CK_TRAILER0;
			break;
		case CK_DATA: {
			size_t k = (size_t)(end - p) < c->chunk_left ?
					   (size_t)(end - p) :
					   (size_t)c->chunk_left;
			p += k - 1;
			c->chunk_left -= k;
			if (!c->chunk_left)
				c->chunk_state = CK_DATA_CR;
			break;
		}
		case CK_DATA_CR:
			if (*p != '\r')
				return false;
			c->chunk_state = CK_DATA_LF;
			break;
		case CK_DATA_LF:
			if (*p != '\n')
				return false;
			c->chunk_state = CK_SIZE0;
			break;
		case CK_TRAILER0:
			if (*p == '\r') {
				c->chunk_state = CK_END_LF;
				break;
			}
			c->chunk_state = CK_TRAILER;
			/* fall through */
		case CK_TRAILER:
			if (*p == '\r')
				c->chunk_state = CK_TRAILER_LF;
			else if (ctl(*p))
				return false;
			break;
		case CK_TRAILER_LF:
			if (*p != '\n')
				return false;
			c->chunk_state = CK_TRAILER0;
			break;
		case CK_END_LF:
			if (*p != '\n')
				return false;
			c->chunk_state = CK_DONE;
			break;
		default:
			return false;
		}
	}
	return true;
}

/* Run the parser over up to `max` unparsed bytes. 0, 1 when it paused,
 * or -1 on a parse error. */
static int run_parser(struct cio__http_conn *c, size_t max)
{
	size_t avail = c->in_end - c->in_start;
	size_t len = avail < max ? avail : max;
	bool in_head = !c->headers_done;
	size_t n = http_parser_execute(&c->parser, &settings,
				       c->in + c->in_start, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

	size_t from = c->in_start;
	c->in_start += n;
	/* The run that completes the header block stops (pauses) at its
	 * end: all of n counts. */
	if (in_head) {
		c->header_bytes += n;
		if (bare_cr(c, from, n))
			return -1;
	} else if (c->req.chunked && !chunk_ok(c, c->in + from, n)) {
		return -1;
	}
	if (e == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		return 1;
	}
	return e == HPE_OK ? 0 : -1;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

ssize_t cio_http_read_body(cio_http_request *req, void *buf, size_t len,
			   int64_t deadline)
{
	if (!req || (!buf && len))
		return -EINVAL;
	struct cio__http_conn *c =
		cio__container_of(req, struct cio__http_conn, req);
	cio_http_server *hs = c->hs;

	if (c->body_error)
		return c->body_error;
	if (!len)
		return 0;
	if (c->expect_continue) {
		/* The client waits for this before it sends the body. */
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		c->expect_continue = false;
		if (!c->res.started) {
			int rc = cio__http_write(c, cont, sizeof(cont) - 1);
			if (rc < 0)
				return c->body_error = rc;
		}
	}
	for (;;) {
		if (c->stage_off < c->stage_len) {
			size_t n = c->stage_len - c->stage_off;
			if (n > len)
				n = len;
			memcpy(buf, c->stage + c->stage_off, n);
			c->stage_off += n;
			return (ssize_t)n;
		}
		if (c->message_done)
			return 0;
		c->stage_off = c->stage_len = 0;
		if (c->in_start == c->in_end) {
			int64_t d = min64(deadline,
					  cio_deadline_after(hs->body_timeout));
			ssize_t n = fill(c, d);
			if (n <= 0)
				return c->body_error = n == 0 ? -EPIPE : (int)n;
		}
		if (run_parser(c, CIO__HTTP_STAGE) < 0)
			return c->body_error = -EPROTO;
		if (c->body_total > hs->max_body_bytes)
			return c->body_error = -EFBIG;
	}
}

const char *cio_http_request_header(const cio_http_request *req,
				    const char *name)
{
	if (!req)
		return NULL;
	return cio_http_header_find(req->headers, req->nheaders, name);
}

/* -- one request ------------------------------------------------------------- */

static void reset_message(struct cio__http_conn *c)
{
	struct sockaddr_storage peer = c->req.peer;
	socklen_t plen = c->req.peer_len;

	c->arena_len = 0;
	c->nhdrs = 0;
	c->in_url = false;
	c->url_off = 0;
	c->last = 0;
	c->too_many = false;
	c->cr_pending = false;
	c->head_start = c->in_start;
	c->chunk_state = CK_HEAD_LF;
	c->chunk_left = 0;
	c->headers_done = false;
	c->message_done = false;
	c->header_bytes = 0;
	c->stage_len = c->stage_off = 0;
	c->body_total = 0;
	c->expect_continue = false;
	memset(&c->req, 0, sizeof(c->req));
	c->req.peer = peer;
	c->req.peer_len = plen;
	cio__http_res_reset(&c->res, c);
}

/* A Transfer-Encoding other than one "chunked" (gzip, or chunked twice,
 * in one field or over several) is one this server cannot decode. */
static bool unsupported_te(const struct cio_http_header *h, size_t n)
{
	int seen = 0;

	for (size_t i = 0; i < n; i++) {
		if (h[i].name_len != 17 ||
		    strcasecmp(h[i].name, "Transfer-Encoding"))
			continue;
		if (seen++ || strcasecmp(h[i].value, "chunked"))
			return true;
	}
	return false;
}

/* The status for a request the parser refused. */
static int parse_error_status(struct cio__http_conn *c)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);

	/* The string being collected when the parser stopped is ended here,
	 * so that the lookup below reads whole strings. */
	close_string(c);
	c->last = 0;
	if (c->too_many || e == HPE_HEADER_OVERFLOW)
		return 431;
	if (unsupported_te(c->hdrs, c->nhdrs))
		return 501;
	return 400;
}

/* Read the request line and headers. 0 with the request ready; 1 when the
 * connection ends quietly (end of file or idle timeout between requests);
 * < 0 after an error response was sent (or could not be). */
static int read_head(struct cio__http_conn *c, bool first)
{
	cio_http_server *hs = c->hs;
	int64_t idle_deadline = cio_deadline_after(
		first ? hs->header_timeout : hs->idle_timeout);
	int64_t head_deadline = CIO_NO_DEADLINE;
	bool seen = false;

	for (;;) {
		if (c->in_start == c->in_end) {
			int64_t d = seen ? head_deadline : idle_deadline;
			int rc = cio__server_conn_idle(c->tcp_conn, !seen);
			ssize_t n;
			if (rc < 0)
				return 1;
			n = fill(c, d);
			cio__server_conn_idle(c->tcp_conn, false);
			if (n == 0 || n == -ECONNRESET || n == -EPIPE)
				return 1;
			if (n == -ETIMEDOUT && (!seen || !first))
				return seen ? (cio__http_send_error(c, 408), -1)
					    : 1;
			if (n == -ETIMEDOUT)
				return cio__http_send_error(c, 408), -1;
			if (n == -ENOBUFS)
				return cio__http_send_error(c, 431), -1;
			if (n < 0)
				return (int)n;
		}
		if (!seen) {
			seen = true;
			head_deadline = cio_deadline_after(hs->header_timeout);
			if (first)
				head_deadline = min64(head_deadline,
						      idle_deadline);
		}
		int rc = run_parser(c, c->in_end - c->in_start);
		if (rc < 0)
			return cio__http_send_error(c, parse_error_status(c)),
			       -1;
		if (c->header_bytes > hs->max_header_bytes || c->too_many)
			return cio__http_send_error(c, 431), -1;
		/* in[in_start] is the byte the parser paused at: the LF that
		 * ends the block, when the block is well formed. */
		if (c->headers_done &&
		    !head_ok(c->in + c->head_start,
			     c->in_start + 1 - c->head_start))
			return cio__http_send_error(c, 400), -1;
		if (c->headers_done)
			return 0;
	}
}

/* Checks of a complete header block the parser lets through. */
static int head_status(struct cio__http_conn *c)
{
	cio_http_request *r = &c->req;
	const char *expect = cio_http_request_header(r, "Expect");

	if (r->version_major != 1)
		return 505;
	if (unsupported_te(r->headers, r->nheaders))
		return 501;
	if (r->version_minor >= 1 && !cio_http_request_header(r, "Host"))
		return 400;
	if (r->content_length > 0 &&
	    (uint64_t)r->content_length > c->hs->max_body_bytes)
		return 413;
	if (expect) {
		if (strcasecmp(expect, "100-continue"))
			return 417;
		c->expect_continue = r->version_minor >= 1;
	}
	return 0;
}

/* Read and drop what the handler left of the body. */
static int skip_body(struct cio__http_conn *c)
{
	char sink[4096];
	ssize_t n;

	/* Without its 100, the client may be waiting to send it at all. */
	if (c->expect_continue)
		return -1;
	while ((n = cio_http_read_body(&c->req, sink, sizeof(sink),
				       CIO_NO_DEADLINE)) > 0)
		;
	return n == 0 ? 0 : -1;
}

static int serve_one(struct cio__http_conn *c, bool first)
{
	cio_http_server *hs = c->hs;
	int rc, status;

	reset_message(c);
	if ((rc = read_head(c, first)) != 0)
		return -1;
	/* The parser noted Transfer-Encoding for parse_error_status(); the
	 * arena value is what the checks read from here on. */
	if ((status = head_status(c)) != 0) {
		cio__http_send_error(c, status);
		return -1;
	}
	c->res.no_body = c->req.head;
	c->res.close = !c->req.keep_alive;
	rc = hs->handler(&c->req, &c->res, hs->arg);
	c->slot->requests++;
	/* The handler gave up on a body the client got wrong: say so. */
	if (c->body_error == -EFBIG && !c->res.started)
		cio__http_send_error(c, 413);
	if (c->body_error == -EPROTO && !c->res.started)
		cio__http_send_error(c, 400);
	if (!c->res.started && cio_task_cancelling(cio_current_task()) == 0) {
		cio__loop_report(cio_loop_current(), CIO_REPORT_MISUSE,
				 cio_current_task(), NULL, -EPROTO,
				 "http: %s %s: the handler returned without "
				 "a response", c->req.method, c->req.target);
		cio__http_send_error(c, 500);
		return -1;
	}
	/* A handler that failed mid-response: no last chunk, so that the
	 * client sees the body cut short, not a complete one. */
	if (rc < 0 && c->res.started && !c->res.ended)
		return -1;
	if (cio__http_res_finish(&c->res) < 0 || rc < 0 || c->res.close ||
	    c->body_error)
		return -1;
	if (skip_body(c) < 0)
		return -1;
	return 0;
}

/* -- the connection ---------------------------------------------------------- */

static void conn_free(struct cio__http_conn *c)
{
	cio__http_res_free(&c->res);
	free(c->in);
	free(c->arena);
	free(c->stage);
	free(c);
}

static struct cio__http_slot *slot_of(cio_http_server *hs)
{
	int id = cio_shard_id();

	return &hs->slots[id >= 0 && (unsigned)id < hs->nslots ? id : 0];
}

intptr_t cio__http_conn_main(cio_stream *s, void *arg)
{
	cio_http_server *hs = arg;
	void *tcp_conn = cio__server_conn_current();
	struct cio__http_slot *slot = slot_of(hs);
	struct cio__http_conn *c;

	/* Over the limit: accepted, and closed at once by the server. */
	if (slot->conns >= hs->max_connections)
		return -EMFILE;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	slot->conns++;
	c->hs = hs;
	c->slot = slot;
	c->s = s;
	c->tcp_conn = tcp_conn;
	c->in_cap = hs->max_header_bytes + 1 > CIO__HTTP_STAGE ?
			    hs->max_header_bytes + 1 : CIO__HTTP_STAGE;
	/* Names and values are NUL-terminated, and path and query are
	 * copies of the target: twice the header block is enough. */
	c->arena_cap = 2 * hs->max_header_bytes + 3 * CIO__HTTP_MAX_HEADERS +
		       64;
	c->in = malloc(c->in_cap);
	c->arena = malloc(c->arena_cap);
	c->stage = malloc(CIO__HTTP_STAGE);
	if (!c->in || !c->arena || !c->stage)
		goto out;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->req.peer_len = sizeof(c->req.peer);
	if (getpeername(cio_stream_fd(s), (struct sockaddr *)&c->req.peer,
			&c->req.peer_len) < 0)
		c->req.peer_len = 0;
	for (bool first = true; serve_one(c, first) == 0; first = false)
		if (c->in_start == c->in_end && cio__http_drain(c) < 0)
			break;
	/* The server's close flushes without a deadline: what a client that
	 * stopped reading left must not keep the connection past
	 * write_timeout. */
	if (cio_stream_flush(s, cio_deadline_after(hs->write_timeout)) < 0)
		cio_stream_abort(s);
out:
	slot->conns--;
	conn_free(c);
	return 0;
}
