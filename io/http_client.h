/* coreio HTTP/1.1 client: requests over cio_stream, responses parsed with
 * libhttp-parser, a keep-alive connection pool per host.
 *
 *     struct cio_http_result res;
 *     int rc = cio_http_get(NULL, "http://example.org/", &res,
 *                           cio_deadline_after(30 * CIO_NSEC_PER_SEC));
 *     if (rc < 0) {
 *         fprintf(stderr, "%s\n", cio_http_strerror(rc));
 *         return rc;
 *     }
 *     printf("%d, %zu bytes: %s\n", res.status, res.body_len, res.body);
 *     cio_http_result_free(&res);
 *
 * With a client, connections are kept alive and reused:
 *
 *     cio_http_client *c;
 *     cio_http_client_new(&c, NULL);
 *     struct cio_http_req req = { .method = "POST", .url = url,
 *                                 .body = json, .body_len = len };
 *     rc = cio_http_client_request(c, &req, &res, deadline);
 *     ...
 *     cio_http_client_free(c);
 *
 * Requests. "http://" URLs only (see io/url.h for what parses); https and
 * every other scheme get -EPROTONOSUPPORT, as coreio has no TLS, and
 * credentials in the URL ("user:pw@") -EINVAL. The request line carries
 * the URL's path and query. The client adds Host, User-Agent (the
 * client's) and an Accept for any type unless the request has its own,
 * Content-Length when there is a body (and 0 for POST, PUT and PATCH
 * without one), and "Connection: close" when there is no client to keep
 * the connection for. Request headers must not set Content-Length,
 * Transfer-Encoding or Connection (-EINVAL): the client frames the
 * request itself.
 *
 * Responses. Bodies framed by Content-Length, chunked (extensions and
 * trailer fields are read and ignored) or by the connection's end; none
 * for HEAD, 1xx, 204 and 304. Interim 1xx responses are skipped (101
 * Switching Protocols, never asked for, is -EPROTO). The result holds the
 * last response: status, headers, body (or the body went to on_body),
 * and the URL it came from.
 *
 * Redirects. 301, 302, 303, 307 and 308 with a Location are followed, at
 * most max_redirects times (5; CIO_HTTP_NO_REDIRECTS: not at all, the 3xx
 * is the result). Location may be relative: it is resolved against the
 * URL that answered (cio_url_resolve()). 303, and 301 or 302 answering a
 * POST, continue as GET without the body (HEAD stays HEAD); 307 and 308
 * repeat the method and body. A redirect to another host or port drops
 * Authorization, Proxy-Authorization and Cookie request headers. One
 * redirect too many: -ELOOP; a Location that does not resolve to a usable
 * http URL: -EPROTO (-EPROTONOSUPPORT for https). The bodies of redirects
 * are read (to keep their connection) and dropped.
 *
 * Connections and the pool (cio_http_client). Per host and port, up to
 * max_idle_per_host idle connections are kept (8), the most recently used
 * one reused first; more are closed. An idle connection is closed after
 * idle_timeout (30 s) without use, and one the server closed in the
 * meantime is noticed and dropped when it is taken. A request that fails
 * on a reused connection before any byte of the response came back (the
 * server closed it just as the request went out) is sent again, once, on
 * a new connection, if its method is idempotent (GET, HEAD, PUT, DELETE,
 * OPTIONS, TRACE). With max_conns_per_host (0: no limit) at most that many
 * connections to one host are busy at once: further requests wait for
 * one to be released, within their deadline. A connection goes back to
 * the pool only after a complete response that allows it (HTTP/1.1 without
 * "Connection: close", HTTP/1.0 with "Connection: keep-alive", not close-
 * delimited, nothing read past its end); after any error, a timeout or a
 * cancellation it is closed.
 *
 * Time. `deadline` (absolute, cio_loop_time(); CIO_NO_DEADLINE for none)
 * covers the whole request: waiting for a connection, name lookup,
 * connect, sending, every redirect, and the body. Each connect is also
 * bounded by connect_timeout (10 s). Either expiring: -ETIMEDOUT.
 * Cancelling the task: -ECANCELED, and the connection in use is closed.
 *
 * Limits: response bodies of at most max_body bytes (64 MiB; counted after
 * chunked decoding, streamed or not): beyond it -EFBIG; the status line and
 * header block at most 80 KiB (libhttp-parser's limit): beyond it
 * -EMSGSIZE.
 *
 * Errors of a request, besides the ones named above: -EINVAL (bad URL,
 * method or header; NULL arguments), -EPERM (outside a task), -ENOMEM,
 * cio_getaddrinfo()'s errors for the host name (-ENOENT: not known...),
 * connect errors (-ECONNREFUSED, -ENETUNREACH...), -EPROTO (a response
 * that does not parse), -EPIPE (the server closed the connection before
 * the response was complete), -ECONNRESET, and what on_headers or on_body
 * returned. cio_http_strerror() has a message for each.
 *
 * Ownership rules:
 * 1. cio_http_client_new() succeeded => call cio_http_client_free() once,
 *    before the loop is closed. Freeing a client with requests still in
 *    progress is allowed: they complete, their connections are closed
 *    rather than pooled, and the memory goes with the last of them.
 * 2. A client belongs to the loop (shard) it was made on: its requests
 *    run in tasks of that loop (others get -EINVAL). Any number of them
 *    may run at once.
 * 3. cio_http_client_request() succeeded => call cio_http_result_free()
 *    once on the result. On error the result is empty (zeroed) and needs
 *    no free, though calling it is harmless. A result's strings live in
 *    allocations of its own, independent of the client.
 * 4. The request, its strings, headers and body are only read during the
 *    call (and `arg` is only used by the callbacks during the call);
 *    opts' user_agent is copied.
 */
#ifndef CIO_IO_HTTP_CLIENT_H
#define CIO_IO_HTTP_CLIENT_H

#include <sys/types.h>

#include "io/http.h"
#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_http_client cio_http_client;
struct cio_http_result;

#define CIO_HTTP_CLIENT_DEFAULT_MAX_REDIRECTS 5
#define CIO_HTTP_NO_REDIRECTS (-1)
#define CIO_HTTP_CLIENT_DEFAULT_MAX_BODY ((size_t)64 * 1024 * 1024)
#define CIO_HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT (10 * CIO_NSEC_PER_SEC)
#define CIO_HTTP_CLIENT_DEFAULT_IDLE_TIMEOUT (30 * CIO_NSEC_PER_SEC)
#define CIO_HTTP_CLIENT_DEFAULT_MAX_IDLE_PER_HOST 8u
#define CIO_HTTP_CLIENT_DEFAULT_USER_AGENT "coreio/0.1"

/* Zero-initialise, then set what you need; 0/NULL means the default. */
struct cio_http_client_opts {
	unsigned max_idle_per_host; /* idle connections kept per host (8) */
	/* Busy connections per host at once; beyond, requests wait
	 * (0: no limit). */
	unsigned max_conns_per_host;
	int64_t idle_timeout;       /* ns an idle connection is kept (30 s) */
	int64_t connect_timeout;    /* ns per connect (10 s) */
	const char *user_agent;     /* "coreio/0.1"; "" sends none */
};

/* A client on the current loop (cio_loop_current()). Never parks.
 * 0 and *out; -EINVAL (NULL out, no loop, negative timeouts); -ENOMEM. */
int cio_http_client_new(cio_http_client **out,
			const struct cio_http_client_opts *opts);

/* Ownership rule 1: closes the idle connections. NULL is a no-op. */
void cio_http_client_free(cio_http_client *c);

/* What a client did so far, and holds now. */
struct cio_http_client_stats {
	uint64_t connects; /* connections opened */
	uint64_t reused;   /* requests sent on a pooled connection */
	uint64_t retries;  /* requests sent again after a stale connection */
	unsigned idle;     /* connections in the pool now */
	unsigned busy;     /* connections in use by requests now */
};
/* 0, or -EINVAL for NULL. */
int cio_http_client_stats(const cio_http_client *c,
			  struct cio_http_client_stats *st);

/* A request. Zero-initialise; 0/NULL fields take their defaults. */
struct cio_http_req {
	const char *method; /* "GET" */
	const char *url;    /* absolute http:// URL (required) */
	/* Extra request headers. Names and values are read as NUL-terminated
	 * strings (the lengths are ignored); a name must be a token, a value
	 * must hold no CR, LF or other control character but tab. */
	const struct cio_http_header *headers;
	size_t nheaders;
	/* A body, sent with Content-Length (NULL and 0: none). */
	const void *body;
	size_t body_len;
	/* Redirects to follow (5); CIO_HTTP_NO_REDIRECTS: none. */
	int max_redirects;
	size_t max_body;         /* bytes of response body (64 MiB) */
	int64_t connect_timeout; /* ns per connect (the client's, or 10 s) */
	/* Optional, for the final response only (not for redirects): called
	 * once its status and headers are in (res->body is not set yet)... */
	int (*on_headers)(void *arg, const struct cio_http_result *res);
	/* ... and with each piece of its body, which is then not kept in the
	 * result (res->body stays NULL, body_len counts the bytes). Both run
	 * in the requesting task and may park (write to a file). A negative
	 * return ends the request with that value. */
	int (*on_body)(void *arg, const void *data, size_t len);
	void *arg;
};

/* The outcome of a request. Read the fields; free with
 * cio_http_result_free(). */
struct cio_http_result {
	int status;         /* 200, 404, ... */
	int version_minor;  /* HTTP/1.<version_minor> */
	/* Header fields in the order received (trailers not included); the
	 * strings are NUL-terminated, values without surrounding blanks. */
	struct cio_http_header *headers;
	size_t nheaders;
	/* The body, NUL-terminated after body_len bytes (it may hold NULs
	 * of its own); "" when empty; NULL when it went to on_body. */
	char *body;
	size_t body_len;
	char *url;          /* the URL that answered (after redirects) */
	unsigned redirects; /* how many were followed */
};

/* Send `req` and read the response, following redirects (see above).
 * From a task of the client's loop, or of any loop when c is NULL (one
 * connection just for this request, closed after). 0 and *res: any status
 * is a success, 4xx and 5xx included. A negative errno otherwise. */
int cio_http_client_request(cio_http_client *c, const struct cio_http_req *req,
			    struct cio_http_result *res, int64_t deadline);

/* GET `url`: cio_http_client_request() with the defaults. */
int cio_http_get(cio_http_client *c, const char *url,
		 struct cio_http_result *res, int64_t deadline);

/* The value of the first header named `name` (case-insensitive), or NULL. */
const char *cio_http_result_header(const struct cio_http_result *res,
				   const char *name);

/* Release what the result holds and zero it. NULL is a no-op. */
void cio_http_result_free(struct cio_http_result *res);

/* A message for an error of cio_http_client_request(), naming the HTTP
 * meaning where there is one ("https is not supported (coreio has no
 * TLS)" for -EPROTONOSUPPORT, "too many redirects" for -ELOOP...), and
 * cio_gai_strerror()'s otherwise. Never NULL. */
const char *cio_http_strerror(int err);

CIO_END_DECLS

#endif
