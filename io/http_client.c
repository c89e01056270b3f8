/* The HTTP client's requests: checking and writing them, one exchange on
 * a pooled connection (sent again once if the connection was stale), and
 * the redirect loop around it. */
#include "io/http_client_internal.h"
#include "io/dns.h"
#include "runtime/loop.h"
#include "runtime/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* -- checks ---------------------------------------------------------------- */

/* tchar of RFC 9110 §5.6.2. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c)))
			return false;
	}
	return true;
}

/* A field value: no CR, LF, NUL or other control but tab. */
static bool is_field_value(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int check_request(const struct cio_http_req *req)
{
	if (!req->url || (req->method && !is_token(req->method)) ||
	    (req->nheaders && !req->headers) || (!req->body && req->body_len) ||
	    req->max_redirects < CIO_HTTP_NO_REDIRECTS ||
	    req->connect_timeout < 0)
		return -EINVAL;
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct cio_http_header *h = &req->headers[i];
		if (!h->name || !h->value || !is_token(h->name) ||
		    !is_field_value(h->value) ||
		    !strcasecmp(h->name, "Content-Length") ||
		    !strcasecmp(h->name, "Transfer-Encoding") ||
		    !strcasecmp(h->name, "Connection"))
			return -EINVAL;
	}
	return 0;
}

static bool idempotent(const char *m)
{
	static const char *const ok[] = { "GET",    "HEAD",    "PUT",
					  "DELETE", "OPTIONS", "TRACE" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(m, ok[i]))
			return true;
	return false;
}

/* -- the request message --------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_field(struct sbuf *b, const char *name, const char *value)
{
	sb_str(b, name);
	sb_put(b, ": ", 2);
	sb_str(b, value);
	sb_put(b, "\r\n", 2);
}

/* What the current hop sends: the method and body change on some
 * redirects, and some headers stay behind. */
struct hop {
	const char *method;
	const void *body;
	size_t body_len;
	bool send_length;   /* Content-Length, even 0 */
	bool drop_content;  /* body dropped: no Content-* from the request */
	bool drop_auth;     /* another host: no credentials or cookies */
};

static bool keep_header(const struct hop *hop, const char *name)
{
	if (hop->drop_content && !strncasecmp(name, "Content-", 8))
		return false;
	return !hop->drop_auth || (strcasecmp(name, "Authorization") &&
				   strcasecmp(name, "Proxy-Authorization") &&
				   strcasecmp(name, "Cookie"));
}

static bool has_header(const struct cio_http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (!strcasecmp(req->headers[i].name, name))
			return true;
	return false;
}

static int format_request(struct sbuf *b, const struct cio_http_req *req,
			  const struct hop *hop, const struct cio_url *u,
			  const char *ua, bool one_off)
{
	char num[32];

	sb_str(b, hop->method);
	sb_put(b, " ", 1);
	sb_str(b, u->target);
	sb_str(b, " HTTP/1.1\r\n");
	if (!has_header(req, "Host")) {
		sb_str(b, "Host: ");
		if (u->ipv6)
			sb_put(b, "[", 1);
		sb_str(b, u->host);
		if (u->ipv6)
			sb_put(b, "]", 1);
		if (u->port != 80) {
			snprintf(num, sizeof(num), ":%u", u->port);
			sb_str(b, num);
		}
		sb_put(b, "\r\n", 2);
	}
	if (*ua && !has_header(req, "User-Agent"))
		sb_field(b, "User-Agent", ua);
	if (!has_header(req, "Accept"))
		sb_field(b, "Accept", "*/*");
	for (size_t i = 0; i < req->nheaders; i++)
		if (keep_header(hop, req->headers[i].name))
			sb_field(b, req->headers[i].name,
				 req->headers[i].value);
	if (hop->body_len || hop->send_length) {
		snprintf(num, sizeof(num), "%zu", hop->body_len);
		sb_field(b, "Content-Length", num);
	}
	if (one_off)
		sb_field(b, "Connection", "close");
	sb_put(b, "\r\n", 2);
	return b->err;
}

/* -- one exchange ---------------------------------------------------------- */

struct call {
	cio_http_client *c;
	const struct cio_http_req *req;
	struct cio_http_result *res;
	int64_t deadline;
	int64_t connect_timeout;
	size_t max_body;
	bool follow;        /* redirects are followed */
	const char *ua;
	struct hop hop;
	struct sbuf out;
	struct cio__hc_reader *r;
};

static bool stale_error(int rc)
{
	return rc == -EPIPE || rc == -ECONNRESET || rc == -ECONNABORTED;
}

static int send_request(struct call *k, cio_stream *s)
{
	int rc;

	if ((rc = cio_stream_write(s, k->out.p, k->out.len)) < 0)
		return rc;
	if (k->hop.body_len &&
	    (rc = cio_stream_write(s, k->hop.body, k->hop.body_len)) < 0)
		return rc;
	return cio_stream_flush(s, k->deadline);
}

/* Send the request to u and read its response into k->r. A request that
 * fails on a pooled connection before any byte came back is sent again,
 * once, on a new one: the server may have closed it just then. */
static int exchange(struct call *k, const struct cio_url *u)
{
	bool fresh = false, keep = false;
	struct cio__hc_lease l;
	int rc;

	k->out.len = 0;
	if ((rc = format_request(&k->out, k->req, &k->hop, u, k->ua,
				 !k->c)) < 0)
		return rc;
	for (;;) {
		cio__hc_reader_init(k->r, k->req, k->res,
				    !strcmp(k->hop.method, "HEAD"), k->follow,
				    k->max_body);
		rc = cio__hc_acquire(k->c, u, fresh,
				     cio_deadline_after(k->connect_timeout),
				     k->deadline, &l);
		if (rc < 0)
			return rc;
		rc = send_request(k, l.s);
		if (rc == 0)
			rc = cio__hc_read_response(k->r, l.s, k->deadline,
						   &keep);
		if (rc < 0 && l.reused && !fresh && k->r->got == 0 &&
		    stale_error(rc) && idempotent(k->hop.method)) {
			cio__hc_release(&l, false);
			k->c->retries++;
			fresh = true;
			continue;
		}
		cio__hc_release(&l, rc == 0 && keep);
		return rc;
	}
}

/* -- redirects ------------------------------------------------------------- */

static bool same_origin(const struct cio_url *a, const struct cio_url *b)
{
	return a->port == b->port && !strcmp(a->host, b->host);
}

static int parse_http_url(struct cio_url *u, const char *s)
{
	int rc = cio_url_parse(u, s);

	if (rc < 0)
		return rc;
	if (strcmp(u->scheme, "http"))
		rc = -EPROTONOSUPPORT;
	else if (u->userinfo)
		rc = -EINVAL;
	if (rc < 0)
		cio_url_free(u);
	return rc;
}

/* Where the redirect in k->r leads from `from` (the URL that answered):
 * the next URL (malloc'd) in *next; the method and body change as the
 * status says. */
static int follow(struct call *k, const char *from, char **next)
{
	unsigned status = k->r->p.status_code;
	size_t cap = strlen(from) + strlen(k->r->location) + 16;
	ssize_t n;

	if (!(*next = malloc(cap)))
		return -ENOMEM;
	if ((n = cio_url_resolve(from, k->r->location, *next, cap)) < 0) {
		free(*next);
		*next = NULL;
		/* A Location that is no URI reference is the server's error. */
		return n == -ENOMEM ? -ENOMEM : -EPROTO;
	}
	/* 303 means "GET the answer there"; 301 and 302 turn a POST into a
	 * GET too, as every browser does (RFC 9110 §15.4.2). */
	if ((status == 303 && strcmp(k->hop.method, "HEAD")) ||
	    ((status == 301 || status == 302) &&
	     !strcmp(k->hop.method, "POST"))) {
		k->hop.method = "GET";
		k->hop.body = NULL;
		k->hop.body_len = 0;
		k->hop.send_length = false;
		k->hop.drop_content = true;
	}
	return 0;
}

/* -- the request ----------------------------------------------------------- */

static int run(struct call *k, char **url)
{
	const struct cio_http_req *req = k->req;
	int max = req->max_redirects == 0 ? CIO_HTTP_CLIENT_DEFAULT_MAX_REDIRECTS
					  : req->max_redirects;
	struct cio_url u, nu;
	char *next;
	int rc;

	if ((rc = parse_http_url(&u, *url)) < 0)
		return rc;
	while ((rc = exchange(k, &u)) == 0 && k->r->redirect) {
		if ((int)k->res->redirects >= max) {
			rc = -ELOOP;
			break;
		}
		if ((rc = follow(k, *url, &next)) < 0)
			break;
		free(*url);
		*url = next;
		k->res->redirects++;
		if ((rc = parse_http_url(&nu, next)) < 0) {
			/* https stays -EPROTONOSUPPORT; anything else we
			 * cannot use is the server's error. */
			if (rc == -EINVAL)
				rc = -EPROTO;
			break;
		}
		if (!same_origin(&u, &nu))
			k->hop.drop_auth = true;
		cio_url_free(&u);
		u = nu;
	}
	cio_url_free(&u);
	return rc;
}

int cio_http_client_request(cio_http_client *c, const struct cio_http_req *req,
			    struct cio_http_result *res, int64_t deadline)
{
	struct call k = { 0 };
	char *url;
	int rc;

	if (!res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	if (!req || (rc = check_request(req)) < 0)
		return -EINVAL;
	if (!cio_current_task())
		return -EPERM;
	if (c && (c->freed || cio_loop_current() != c->loop))
		return -EINVAL;
	if (!(url = strdup(req->url)) || !(k.r = malloc(sizeof(*k.r)))) {
		free(url);
		return -ENOMEM;
	}
	memset(k.r, 0, offsetof(struct cio__hc_reader, buf));
	k.c = c;
	k.req = req;
	k.res = res;
	k.deadline = deadline;
	k.connect_timeout = req->connect_timeout ? req->connect_timeout
			    : c ? c->connect_timeout
				: CIO_HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT;
	k.ua = c ? c->user_agent : CIO_HTTP_CLIENT_DEFAULT_USER_AGENT;
	k.max_body = req->max_body ? req->max_body : CIO_HTTP_CLIENT_DEFAULT_MAX_BODY;
	k.follow = req->max_redirects != CIO_HTTP_NO_REDIRECTS;
	k.hop.method = req->method ? req->method : "GET";
	k.hop.body = req->body;
	k.hop.body_len = req->body_len;
	k.hop.send_length = req->body || !strcmp(k.hop.method, "POST") ||
			    !strcmp(k.hop.method, "PUT") ||
			    !strcmp(k.hop.method, "PATCH");

	cio__hc_enter(c);
	rc = run(&k, &url);
	cio__hc_leave(c);

	cio__hc_reader_done(k.r);
	free(k.r);
	free(k.out.p);
	if (rc < 0) {
		free(url);
		cio_http_result_free(res);
		return rc;
	}
	res->url = url;
	return 0;
}

int cio_http_get(cio_http_client *c, const char *url,
		 struct cio_http_result *res, int64_t deadline)
{
	struct cio_http_req req = { .url = url };

	return cio_http_client_request(c, &req, res, deadline);
}

/* -- results and errors ---------------------------------------------------- */

const char *cio_http_result_header(const struct cio_http_result *res,
				   const char *name)
{
	return res ? cio_http_header_find(res->headers, res->nheaders, name)
		   : NULL;
}

void cio_http_result_free(struct cio_http_result *res)
{
	if (!res)
		return;
	free(res->headers); /* the strings are in the same block */
	free(res->body);
	free(res->url);
	memset(res, 0, sizeof(*res));
}

const char *cio_http_strerror(int err)
{
	switch (err) {
	case -EPROTONOSUPPORT:
		return "https is not supported (coreio has no TLS): only "
		       "http:// URLs";
	case -EINVAL:
		return "invalid URL or request";
	case -ELOOP:
		return "too many redirects";
	case -EPROTO:
		return "malformed HTTP response";
	case -EMSGSIZE:
		return "HTTP response header too large";
	case -EFBIG:
		return "HTTP response body larger than the limit";
	case -EPIPE:
		return "connection closed before the response was complete";
	case -ETIMEDOUT:
		return "HTTP request timed out";
	case -ECANCELED:
		return "HTTP request cancelled";
	default:
		return cio_gai_strerror(err);
	}
}
