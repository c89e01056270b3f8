/* HTTP server responses: the status line and headers, the cached Date,
 * bodies with a length, chunked or close-delimited, and the server's own
 * error responses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "io/http_internal.h"

/* The Date header changes once a second: format it once a second per
 * thread (each shard has its own copy, so no sharing). */
static __thread struct {
	time_t sec;
	char text[CIO_HTTP_DATE_LEN + 1];
} date_cache;

static const char *http_date(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != date_cache.sec || !date_cache.text[0]) {
		if (cio_http_date_format(ts.tv_sec, date_cache.text,
					 sizeof(date_cache.text)) < 0)
			return "Thu, 01 Jan 1970 00:00:00 GMT";
		date_cache.sec = ts.tv_sec;
	}
	return date_cache.text;
}

void cio__http_res_reset(struct cio_http_response *res,
			 struct cio__http_conn *c)
{
	char *hdrs = res->hdrs;
	size_t hcap = res->hcap;

	memset(res, 0, sizeof(*res));
	res->conn = c;
	res->hdrs = hdrs;
	res->hcap = hcap;
	res->length = -1;
}

void cio__http_res_free(struct cio_http_response *res)
{
	free(res->hdrs);
	res->hdrs = NULL;
	res->hcap = 0;
}

int cio__http_drain(struct cio__http_conn *c)
{
	int rc = cio_stream_drain(c->s,
				  cio_deadline_after(c->hs->write_timeout));

	/* A client that stopped reading would hold the close's flush (and
	 * so the connection) forever: drop what it did not take. */
	if (rc < 0)
		cio_stream_abort(c->s);
	return rc;
}

int cio__http_write(struct cio__http_conn *c, const void *p, size_t n)
{
	int rc = cio_stream_write(c->s, p, n);

	if (rc < 0)
		return rc;
	return cio__http_drain(c);
}

static bool bad_chars(const char *s, bool value)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\r' || ch == '\n')
			return true;
		/* Names are tokens: no separators or blanks. */
		if (!value && (ch <= ' ' || ch == ':' || ch >= 127))
			return true;
	}
	return false;
}

static bool server_owned(const char *name)
{
	static const char *const owned[] = { "Date", "Server",
					     "Content-Length",
					     "Transfer-Encoding",
					     "Connection" };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if (!strcasecmp(name, owned[i]))
			return true;
	return false;
}

int cio_http_response_header(cio_http_response *res, const char *name,
			     const char *value)
{
	if (!res || !name || !value || !*name || bad_chars(name, false) ||
	    bad_chars(value, true))
		return -EINVAL;
	if (res->started)
		return -EALREADY;
	if (!strcasecmp(name, "Connection")) {
		if (!cio_http_list_has(value, "close"))
			return -EPERM;
		res->close = true;
		return 0;
	}
	if (server_owned(name))
		return -EPERM;
	size_t need = strlen(name) + strlen(value) + 4;
	if (res->hlen + need > CIO__HTTP_RES_HEADERS_MAX)
		return -ENOSPC;
	if (res->hlen + need > res->hcap) {
		size_t cap = res->hcap ? res->hcap : 256;
		while (cap < res->hlen + need)
			cap *= 2;
		char *p = realloc(res->hdrs, cap);
		if (!p)
			return -ENOMEM;
		res->hdrs = p;
		res->hcap = cap;
	}
	res->hlen += (size_t)sprintf(res->hdrs + res->hlen, "%s: %s\r\n", name,
				     value);
	return 0;
}

bool cio_http_response_started(const cio_http_response *res)
{
	return res && res->started;
}

static bool bodiless(int status)
{
	return status < 200 || status == 204 || status == 304;
}

/* Appending to the response head; `end` is the buffer's end. */
struct head {
	char *p, *end;
	bool overflow;
};

static void put(struct head *h, const char *s, size_t n)
{
	if ((size_t)(h->end - h->p) < n) {
		h->overflow = true;
		return;
	}
	memcpy(h->p, s, n);
	h->p += n;
}

static void puts_(struct head *h, const char *s)
{
	put(h, s, strlen(s));
}

static void put_u64(struct head *h, uint64_t v)
{
	char d[24];
	int i = sizeof(d);
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	put(h, d + i, sizeof(d) - (size_t)i);
}

/* The status line and headers (and, when `body` is given and everything
 * fits, the body) as one write: a response is one append to the stream,
 * and one send for the common small case. */
static int send_head(cio_http_response *res, int status,
		     const char *content_type, int64_t length,
		     const void *body, size_t body_len)
{
	struct cio__http_conn *c = res->conn;
	const cio_http_request *req = &c->req;
	char buf[1024];
	struct head h = { buf, buf + sizeof(buf), false };

	res->status = status;
	res->started = true;
	if (bodiless(status)) {
		res->no_body = true;
		length = 0;
	}
	res->length = length;
	if (length < 0) {
		if (req->version_minor >= 1)
			res->chunked = true;
		else
			res->close_delim = res->close = true;
	}
	puts_(&h, "HTTP/1.1 ");
	put_u64(&h, (uint64_t)status);
	put(&h, " ", 1);
	puts_(&h, cio_http_status_text(status));
	if (*c->hs->server_name) {
		puts_(&h, "\r\nServer: ");
		puts_(&h, c->hs->server_name);
	}
	puts_(&h, "\r\nDate: ");
	put(&h, http_date(), CIO_HTTP_DATE_LEN);
	if (content_type && *content_type) {
		puts_(&h, "\r\nContent-Type: ");
		puts_(&h, content_type);
	}
	if (res->chunked) {
		puts_(&h, "\r\nTransfer-Encoding: chunked");
	} else if (length >= 0 && !bodiless(status)) {
		puts_(&h, "\r\nContent-Length: ");
		put_u64(&h, (uint64_t)length);
	}
	if (res->close)
		puts_(&h, "\r\nConnection: close");
	else if (req->version_minor == 0)
		puts_(&h, "\r\nConnection: keep-alive");
	put(&h, "\r\n", 2);
	if (h.overflow)
		return -EINVAL; /* a content type too long for the head */
	if (res->hlen) {
		if (cio_stream_write(c->s, buf, (size_t)(h.p - buf)) < 0)
			return -EPIPE;
		h.p = buf;
		if (cio_stream_write(c->s, res->hdrs, res->hlen) < 0)
			return -EPIPE;
	}
	put(&h, "\r\n", 2);
	if (body && body_len && !res->no_body &&
	    body_len <= (size_t)(h.end - h.p))
		put(&h, body, body_len), res->written = (int64_t)body_len;
	return cio_stream_write(c->s, buf, (size_t)(h.p - buf)) < 0 ? -EPIPE
								     : 0;
}

static int check_status(const cio_http_response *res, int status)
{
	if (!res || status < 100 || status > 999)
		return -EINVAL;
	/* Interim responses are the server's business (100 Continue). */
	if (status < 200)
		return -EINVAL;
	return res->started ? -EALREADY : 0;
}

int cio_http_respond(cio_http_response *res, int status,
		     const char *content_type, const void *body, size_t len)
{
	int rc;

	if ((rc = check_status(res, status)) < 0)
		return rc;
	if ((!body && len) ||
	    (content_type && (bad_chars(content_type, true) ||
			      strlen(content_type) > 256)))
		return -EINVAL;
	if ((rc = send_head(res, status, content_type, (int64_t)len, body,
			    len)) < 0)
		return rc;
	res->ended = true;
	if (!res->no_body && len && res->written == 0) {
		if ((rc = cio_stream_write(res->conn->s, body, len)) < 0)
			return rc;
		res->written = (int64_t)len;
	}
	return cio__http_drain(res->conn);
}

int cio_http_response_start(cio_http_response *res, int status,
			    int64_t content_length)
{
	int rc;

	if ((rc = check_status(res, status)) < 0)
		return rc;
	if (content_length < -1)
		return -EINVAL;
	return send_head(res, status, NULL, content_length, NULL, 0);
}

int cio_http_response_write(cio_http_response *res, const void *buf,
			    size_t len)
{
	if (!res || (!buf && len))
		return -EINVAL;
	if (!res->started || res->ended)
		return -EINVAL;
	if (res->length >= 0 && (int64_t)len > res->length - res->written)
		return -EOVERFLOW;
	res->written += (int64_t)len;
	if (res->no_body || !len)
		return 0;
	struct cio__http_conn *c = res->conn;
	if (res->chunked) {
		char size[24];
		int n = snprintf(size, sizeof(size), "%zx\r\n", len);
		if (cio_stream_write(c->s, size, (size_t)n) < 0 ||
		    cio_stream_write(c->s, buf, len) < 0)
			return -EPIPE;
		return cio__http_write(c, "\r\n", 2);
	}
	return cio__http_write(c, buf, len);
}

int cio_http_response_end(cio_http_response *res)
{
	if (!res || !res->started)
		return -EINVAL;
	if (res->ended)
		return 0;
	res->ended = true;
	if (res->length >= 0 && res->written < res->length && !res->no_body) {
		/* The client counts on the length: only closing tells it
		 * the body is cut short. */
		res->close = true;
		return -EPROTO;
	}
	if (res->chunked && !res->no_body)
		return cio__http_write(res->conn, "0\r\n\r\n", 5);
	return 0;
}

int cio__http_res_finish(struct cio_http_response *res)
{
	if (!res->started)
		return -1;
	if (!res->ended && cio_http_response_end(res) < 0)
		return -1;
	return res->close ? -1 : 0;
}

int cio__http_send_error(struct cio__http_conn *c, int status)
{
	struct cio_http_response *res = &c->res;
	char body[96];
	int n;

	if (res->started)
		return -EALREADY;
	/* Everything this server answers on its own ends the connection:
	 * after a bad request the byte stream cannot be trusted. */
	res->close = true;
	res->hlen = 0;
	n = snprintf(body, sizeof(body), "%d %s\n", status,
		     cio_http_status_text(status));
	return cio_http_respond(res, status, "text/plain; charset=utf-8", body,
				(size_t)n);
}
