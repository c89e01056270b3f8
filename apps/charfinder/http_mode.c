/* charfinder --http: the book's http_charfinder on coreio's HTTP server.
 *
 *   GET /                      the form
 *   GET /?query=cat+face       the form and a table of the characters
 *   ... with "Accept: application/json", or &format=json: a JSON array of
 *       {"code":"U+1F431","char":"🐱","name":"CAT FACE"}
 *   HEAD                       as GET, without the body
 *   another path               404;   another method  405 (Allow: GET, HEAD)
 *   a query over CF_QUERY_MAX bytes, not UTF-8, or a bad escape; an
 *   unknown format             400
 *
 * A body that fits in the handler's buffer goes out in one response with
 * its Content-Length; a bigger one ("cjk" is 97,000 rows) is streamed in
 * chunks as it is formatted, so no request holds its whole answer in
 * memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coreio.h"
#include "format.h"
#include "serve.h"

#define HTML_TYPE "text/html; charset=utf-8"
#define JSON_TYPE "application/json"

/* The body's sink: buffer, and start a chunked response only when the
 * buffer overflows. */
struct body {
	cio_http_response *res;
	const char *type;
	bool started;
};

static int body_write(void *ctx, const void *p, size_t n)
{
	struct body *b = ctx;
	int ret;

	if (!b->started) {
		if ((ret = cio_http_response_header(b->res, "Content-Type",
						    b->type)) < 0 ||
		    (ret = cio_http_response_start(b->res, 200, -1)) < 0)
			return ret;
		b->started = true;
	}
	return cio_http_response_write(b->res, p, n);
}

static int body_end(struct body *b, struct cf_out *o)
{
	int ret;

	if (o->err)
		return o->err;
	if (!b->started)
		return cio_http_respond(b->res, 200, b->type, o->buf, o->len);
	if ((ret = cf_out_flush(o)) < 0)
		return ret;
	return cio_http_response_end(b->res);
}

static int plain(cio_http_response *res, int status, const char *msg)
{
	return cio_http_respond(res, status, "text/plain; charset=utf-8", msg,
				strlen(msg));
}

static int json_body(struct cf_out *o, const struct cf_index *ix,
		     const struct cf_match *m)
{
	struct cf_entry e;
	int ret = cf_out_put(o, "[", 1);

	for (size_t i = 0; i < m->n && ret >= 0; i++) {
		cf_index_entry(ix, m->ids[i], &e);
		if (i > 0)
			ret = cf_out_put(o, ",\n", 2);
		if (ret >= 0)
			ret = cf_out_json_obj(o, &e);
	}
	return ret < 0 ? ret : cf_out_puts(o, "]\n");
}

static const char page_head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<title>Charfinder</title>\n"
	"</head>\n"
	"<body>\n"
	"<form action=\"/\" method=\"get\">\n"
	"<input type=\"search\" name=\"query\" value=\"";
static const char page_form_end[] =
	"\">\n"
	"<input type=\"submit\" value=\"find\">\n"
	"</form>\n";

/* "No match for 'x'", "1 match for 'x'", "3 matches for 'x'". */
static int status_line(struct cf_out *o, const char *q, size_t len,
		       size_t n)
{
	char num[48];

	if (n == 0)
		snprintf(num, sizeof(num), "No match");
	else
		snprintf(num, sizeof(num), "%zu match%s", n,
			 n == 1 ? "" : "es");
	int ret;
	if ((ret = cf_out_puts(o, "<p>")) < 0 ||
	    (ret = cf_out_puts(o, num)) < 0 ||
	    (ret = cf_out_puts(o, " for &#39;")) < 0 ||
	    (ret = cf_out_html(o, q, len)) < 0)
		return ret;
	return cf_out_puts(o, "&#39;</p>\n");
}

static int html_body(struct cf_out *o, const struct cf_index *ix,
		     const char *q, size_t len, const struct cf_match *m)
{
	struct cf_entry e;
	int ret;

	if ((ret = cf_out_puts(o, page_head)) < 0 ||
	    (ret = cf_out_html(o, q, len)) < 0 ||
	    (ret = cf_out_puts(o, page_form_end)) < 0)
		return ret;
	if (len == 0)
		ret = cf_out_puts(o, "<p>Enter words describing characters."
				     "</p>\n");
	else
		ret = status_line(o, q, len, m->n);
	if (ret >= 0 && m->n > 0) {
		ret = cf_out_puts(o, "<table>\n");
		for (size_t i = 0; i < m->n && ret >= 0; i++) {
			cf_index_entry(ix, m->ids[i], &e);
			ret = cf_out_html_row(o, &e);
		}
		if (ret >= 0)
			ret = cf_out_puts(o, "</table>\n");
	}
	return ret < 0 ? ret : cf_out_puts(o, "</body>\n</html>\n");
}

/* JSON or HTML: &format= first, then the Accept header. 1 JSON, 0 HTML,
 * -EINVAL an unknown format. */
static int wants_json(const cio_http_request *req)
{
	char f[16];
	ssize_t n = cio_http_query_get(req->query, "format", f, sizeof(f));

	if (n >= 0) {
		if (strcmp(f, "json") == 0)
			return 1;
		return strcmp(f, "html") == 0 ? 0 : -EINVAL;
	}
	if (n != -ENOENT)
		return -EINVAL;
	return cio_http_list_has(cio_http_request_header(req, "Accept"),
				 "application/json");
}

static int handle(cio_http_request *req, cio_http_response *res, void *arg)
{
	const struct cf_index *ix = arg;
	char q[CF_QUERY_MAX + 1], buf[8192];
	struct body b = { .res = res };
	struct cf_match m = { 0 };
	struct cf_out o;
	size_t start = 0, len;
	ssize_t n;
	int json, ret;

	if (strcmp(req->method, "GET") != 0 && !req->head) {
		if ((ret = cio_http_response_header(res, "Allow",
						    "GET, HEAD")) < 0)
			return ret;
		return plain(res, 405, "405 method not allowed\n");
	}
	if (strcmp(req->path, "/") != 0)
		return plain(res, 404, "404 not found\n");
	n = cio_http_query_get(req->query, "query", q, sizeof(q));
	if (n == -ENOENT) {
		n = 0;
		q[0] = '\0';
	}
	if (n == -ENOSPC)
		return plain(res, 400, "400 query too long\n");
	if (n < 0 || !cf_utf8_valid(q, (size_t)n))
		return plain(res, 400, "400 query is not UTF-8 text\n");
	if ((json = wants_json(req)) < 0)
		return plain(res, 400, "400 format must be json or html\n");

	/* Python's str.strip(), as the book's handler does. */
	len = (size_t)n;
	while (start < len && (q[start] == ' ' || q[start] == '\t'))
		start++;
	while (len > start && (q[len - 1] == ' ' || q[len - 1] == '\t'))
		len--;
	if (len > start && (ret = cf_index_find(ix, q + start, len - start,
						&m)) < 0)
		return plain(res, 500, "500 out of memory\n");

	b.type = json ? JSON_TYPE : HTML_TYPE;
	cf_out_init(&o, buf, sizeof(buf), body_write, &b);
	if (json)
		json_body(&o, ix, &m);
	else
		html_body(&o, ix, q + start, len - start, &m);
	cf_match_release(&m);
	return body_end(&b, &o);
}

static intptr_t http_main(void *arg)
{
	const struct cf_serve_opts *o = arg;
	struct cio_http_server_opts ho = { .flags = CIO_HTTP_SERVER_SHARDED };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	cio_http_server *hs;
	int ret;

	ret = cio_http_server_start(&hs, o->host, o->port, handle,
				    (void *)o->ix, &ho);
	if (ret < 0) {
		fprintf(stderr, "charfinder: cannot listen on %s port %u: %s\n",
			o->host ? o->host : "*", o->port, strerror(-ret));
		return 1;
	}
	if (cio_server_sockname(cio_http_server_tcp(hs),
				(struct sockaddr *)&ss, &sl) == 0)
		cf_serve_announce((struct sockaddr *)&ss, sl);
	cf_serve_wait();
	cio_http_server_close(hs);
	cio_http_server_wait_closed(hs, cio_deadline_after(CIO_NSEC_PER_SEC));
	cio_http_server_free(hs);
	return 0;
}

int cf_http_serve(const struct cf_serve_opts *o)
{
	return cf_serve_run(http_main, o);
}
