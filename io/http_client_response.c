/* Reading an HTTP response with libhttp-parser: header fields collected
 * into one buffer, interim 1xx responses skipped, redirects noted, the
 * body kept in the result or handed to on_body, limits enforced. */
#include "io/http_client_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct cio__hc_reader *reader_of(http_parser *p)
{
	return p->data;
}

/* Stop the parser with `err` as the request's outcome. */
static int fail(struct cio__hc_reader *r, int err)
{
	if (!r->err)
		r->err = err;
	return -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(q = realloc(*p, n * elem)))
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int hbuf_add(struct cio__hc_reader *r, const char *at, size_t len)
{
	if (grow((void **)&r->hbuf, &r->hcap, r->hlen + len + 1, 1) < 0)
		return -ENOMEM;
	memcpy(r->hbuf + r->hlen, at, len);
	r->hlen += len;
	return 0;
}

/* -- callbacks ------------------------------------------------------------- */

static int on_message_begin(http_parser *p)
{
	struct cio__hc_reader *r = reader_of(p);

	/* A new message after a 1xx: its fields replace the interim one's. */
	r->hlen = 0;
	r->nent = 0;
	r->in_value = false;
	r->headers_done = false;
	r->interim = false;
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct cio__hc_reader *r = reader_of(p);

	if (r->headers_done)
		return 0; /* a trailer field */
	/* A field name comes in one piece or several; a new one begins after
	 * a value (or at the start). */
	if (r->in_value || r->nent == 0) {
		if (r->in_value && hbuf_add(r, "", 1) < 0)
			return fail(r, -ENOMEM);
		if (grow((void **)&r->ent, &r->cent, r->nent + 1,
			 sizeof(*r->ent)) < 0)
			return fail(r, -ENOMEM);
		r->ent[r->nent][0] = r->hlen;
		r->ent[r->nent][1] = SIZE_MAX;
		r->nent++;
		r->in_value = false;
	}
	return hbuf_add(r, at, len) < 0 ? fail(r, -ENOMEM) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct cio__hc_reader *r = reader_of(p);

	if (r->headers_done)
		return 0;
	if (!r->in_value) {
		if (hbuf_add(r, "", 1) < 0)
			return fail(r, -ENOMEM);
		r->ent[r->nent - 1][1] = r->hlen;
		r->in_value = true;
	}
	return hbuf_add(r, at, len) < 0 ? fail(r, -ENOMEM) : 0;
}

/* Terminate the last field; a name without a value gets "". */
static int finish_fields(struct cio__hc_reader *r)
{
	if (r->nent && !r->in_value) {
		if (hbuf_add(r, "", 1) < 0)
			return -ENOMEM;
		r->ent[r->nent - 1][1] = r->hlen;
	}
	if (r->nent && hbuf_add(r, "", 1) < 0)
		return -ENOMEM;
	r->in_value = false;
	return 0;
}

static const char *field_value(const struct cio__hc_reader *r,
			       const char *name)
{
	for (size_t i = 0; i < r->nent; i++)
		if (!strcasecmp(r->hbuf + r->ent[i][0], name))
			return r->hbuf + r->ent[i][1];
	return NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The fields, as the result's array with the strings after it, in one
 * allocation (freed through res->headers). */
static int build_headers(struct cio__hc_reader *r)
{
	struct cio_http_result *res = r->res;
	size_t arr = r->nent * sizeof(struct cio_http_header);
	char *blk, *str;

	if (!r->nent)
		return 0;
	if (!(blk = malloc(arr + r->hlen)))
		return -ENOMEM;
	str = blk + arr;
	memcpy(str, r->hbuf, r->hlen);
	res->headers = (struct cio_http_header *)(void *)blk;
	res->nheaders = r->nent;
	for (size_t i = 0; i < r->nent; i++) {
		struct cio_http_header *h = &res->headers[i];
		char *v = str + r->ent[i][1];
		size_t vlen = strlen(v);

		/* libhttp-parser drops leading blanks; trailing ones are
		 * ours to drop (RFC 9110 §5.5). */
		while (vlen && is_blank(v[vlen - 1]))
			v[--vlen] = '\0';
		h->name = str + r->ent[i][0];
		h->name_len = strlen(h->name);
		h->value = v;
		h->value_len = vlen;
	}
	return 0;
}

static bool is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

static int on_headers_complete(http_parser *p)
{
	struct cio__hc_reader *r = reader_of(p);
	struct cio_http_result *res = r->res;
	int status = p->status_code;
	const char *loc;
	int rc;

	if (finish_fields(r) < 0)
		return fail(r, -ENOMEM);
	r->headers_done = true;
	if (status == 101)
		return fail(r, -EPROTO); /* an upgrade nobody asked for */
	if (status < 200) {
		/* 1 = no body: the final response follows. */
		r->interim = true;
		return 1;
	}
	bool no_body = r->head || status == 204 || status == 304;
	if (r->follow && is_redirect(status) &&
	    (loc = field_value(r, "Location")) != NULL) {
		if (!(r->location = strdup(loc)))
			return fail(r, -ENOMEM);
		r->redirect = true;
		return no_body ? 1 : 0;
	}

	res->status = status;
	res->version_minor = p->http_minor;
	if ((rc = build_headers(r)) < 0)
		return fail(r, rc);
	bool length = !(p->flags & F_CHUNKED) &&
		      p->content_length != ULLONG_MAX;
	if (!no_body && length && p->content_length > r->max_body)
		return fail(r, -EFBIG);
	if (r->req->on_headers &&
	    (rc = r->req->on_headers(r->req->arg, res)) < 0)
		return fail(r, rc);
	if (!r->req->on_body) {
		/* Known length: one allocation; else it grows as it comes. */
		size_t want = !no_body && length ? p->content_length : 0;
		if (grow((void **)&res->body, &r->body_cap, want + 1, 1) < 0)
			return fail(r, -ENOMEM);
		res->body[0] = '\0';
	}
	return no_body ? 1 : 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct cio__hc_reader *r = reader_of(p);
	struct cio_http_result *res = r->res;
	int rc;

	if (len > r->max_body - r->body_seen)
		return fail(r, -EFBIG);
	r->body_seen += len;
	if (r->redirect)
		return 0; /* dropped */
	if (r->req->on_body) {
		res->body_len += len;
		if ((rc = r->req->on_body(r->req->arg, at, len)) < 0)
			return fail(r, rc);
		return 0;
	}
	if (grow((void **)&res->body, &r->body_cap, res->body_len + len + 1,
		 1) < 0)
		return fail(r, -ENOMEM);
	memcpy(res->body + res->body_len, at, len);
	res->body_len += len;
	res->body[res->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct cio__hc_reader *r = reader_of(p);

	if (r->interim)
		return 0; /* go on parsing the next message */
	r->complete = true;
	/* Stop right after it: what follows would belong to a response
	 * nobody asked for. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings settings = {
	.on_message_begin = on_message_begin,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* -- reading --------------------------------------------------------------- */

void cio__hc_reader_init(struct cio__hc_reader *r,
			 const struct cio_http_req *req,
			 struct cio_http_result *res, bool head, bool follow,
			 size_t max_body)
{
	/* Keep the header buffers of an earlier response for reuse. */
	char *hbuf = r->hbuf;
	size_t hcap = r->hcap, cent = r->cent;
	size_t (*ent)[2] = r->ent;

	free(r->location);
	memset(r, 0, offsetof(struct cio__hc_reader, buf));
	r->hbuf = hbuf;
	r->hcap = hcap;
	r->ent = ent;
	r->cent = cent;
	r->req = req;
	r->res = res;
	r->head = head;
	r->follow = follow;
	r->max_body = max_body;
	http_parser_init(&r->p, HTTP_RESPONSE);
	r->p.data = r;
}

void cio__hc_reader_done(struct cio__hc_reader *r)
{
	free(r->hbuf);
	free(r->ent);
	free(r->location);
	r->hbuf = NULL;
	r->ent = NULL;
	r->location = NULL;
	r->hcap = r->cent = 0;
}

/* What a stopped parser means for the request. */
static int parse_error(struct cio__hc_reader *r)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&r->p);

	if (r->err)
		return r->err;
	if (e == HPE_HEADER_OVERFLOW)
		return -EMSGSIZE;
	if (e == HPE_INVALID_EOF_STATE)
		return -EPIPE;
	return -EPROTO;
}

int cio__hc_read_response(struct cio__hc_reader *r, cio_stream *s,
			  int64_t deadline, bool *keep)
{
	size_t done;
	ssize_t n;

	*keep = false;
	for (;;) {
		n = cio_stream_read(s, r->buf, sizeof(r->buf), deadline);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			/* End of file ends a close-delimited body (the parser
			 * completes it now) and is an error anywhere else. */
			http_parser_execute(&r->p, &settings, NULL, 0);
			if (r->complete)
				return 0;
			return r->err ? r->err : -EPIPE;
		}
		r->got += (size_t)n;
		done = http_parser_execute(&r->p, &settings, r->buf, (size_t)n);
		if (r->complete)
			break;
		if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK)
			return parse_error(r);
	}
	/* Reusable only if the server allows it and sent nothing past the
	 * response (which no request of ours could explain). */
	*keep = http_should_keep_alive(&r->p) && done == (size_t)n &&
		cio_stream_buffered(s) == 0;
	return 0;
}
