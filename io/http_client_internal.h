/* Internal: the HTTP client's pool (http_client_pool.c), response reading
 * (http_client_response.c) and the request logic that joins them
 * (http_client.c). */
#ifndef CIO_IO_HTTP_CLIENT_INTERNAL_H
#define CIO_IO_HTTP_CLIENT_INTERNAL_H

#include <http_parser.h>

#include "io/http_client.h"
#include "io/stream.h"
#include "io/url.h"
#include "io/waitq.h"
#include "runtime/list.h"

/* Bytes asked of the stream per read of a response. */
#define CIO__HC_READ_SIZE 16384

/* The pool's record of one host:port. It exists while it has idle or
 * busy connections or waiters, and is freed with the last of them. */
struct cio__hc_host {
	struct cio__list node;   /* in the client's hosts */
	struct cio__list idle;   /* struct cio__hc_conn, most recent first */
	struct cio__waitq slotq; /* requests waiting for a busy slot */
	unsigned nidle;
	unsigned nbusy;          /* leases out, connecting ones included */
	unsigned nwait;          /* tasks in (or just woken from) slotq */
	uint16_t port;
	char name[];             /* the URL's host, lower case */
};

/* An idle connection in the pool. */
struct cio__hc_conn {
	struct cio__list node;
	cio_stream *s;
	int64_t idle_since;
};

struct cio_http_client {
	cio_loop *loop;
	struct cio__list hosts;
	unsigned max_idle;
	unsigned max_conns;      /* 0: no limit */
	int64_t idle_timeout;
	int64_t connect_timeout;
	char *user_agent;
	cio_handle *sweep;       /* the idle sweep's timer, while armed */
	unsigned active;         /* requests in progress */
	bool freed;              /* free() was called while requests ran */
	unsigned idle, busy;
	uint64_t connects, reused, retries;
};

/* One request's hold on a connection. */
struct cio__hc_lease {
	cio_http_client *c;      /* NULL: a one-off connection */
	struct cio__hc_host *host;
	cio_stream *s;
	bool reused;             /* it came from the pool */
};

/* Take a connection to u's host and port for one request: a pooled one
 * (unless `fresh`), else a new one, connecting until connect_deadline.
 * Waits for a slot until `deadline` when the client's per-host limit is
 * reached. c NULL: always a new connection. 0 and *l, or a negative
 * errno (nothing to release then). */
int cio__hc_acquire(cio_http_client *c, const struct cio_url *u, bool fresh,
		    int64_t connect_deadline, int64_t deadline,
		    struct cio__hc_lease *l);
/* Give the connection back: to the pool when `keep` (and there is a pool
 * that wants it), closed otherwise. */
void cio__hc_release(struct cio__hc_lease *l, bool keep);

/* A request begins and ends: a client freed while requests run goes away
 * with the last one. */
void cio__hc_enter(cio_http_client *c);
void cio__hc_leave(cio_http_client *c);

/* Reading one response (and the 1xx ones before it) off a connection. */
struct cio__hc_reader {
	http_parser p;
	const struct cio_http_req *req;
	struct cio_http_result *res; /* filled for a final response */
	size_t max_body;
	bool head;               /* the request was HEAD: no body */
	bool follow;             /* 3xx with Location are redirects */

	/* Outcome. */
	int err;                 /* a callback's error */
	bool complete;           /* the final (or redirect) response ended */
	bool redirect;           /* it is a redirect: see location */
	char *location;          /* malloc'd, for a redirect */
	size_t got;              /* bytes received */

	/* The message being parsed. */
	bool interim;            /* a 1xx */
	bool headers_done;       /* later fields are trailers: ignored */
	bool in_value;           /* the last piece was of a value */
	char *hbuf;              /* "name\0value\0"... */
	size_t hlen, hcap;
	size_t (*ent)[2];        /* offsets of each name and value in hbuf */
	size_t nent, cent;
	size_t body_seen;
	size_t body_cap;

	char buf[CIO__HC_READ_SIZE];
};

/* Prepare r for reading a response to a request with the given method. */
void cio__hc_reader_init(struct cio__hc_reader *r,
			 const struct cio_http_req *req,
			 struct cio_http_result *res, bool head, bool follow,
			 size_t max_body);
/* Read until the response is complete. 0 with *keep telling whether the
 * connection can carry another request; a negative errno. */
int cio__hc_read_response(struct cio__hc_reader *r, cio_stream *s,
			  int64_t deadline, bool *keep);
/* Release the reader's own buffers (not what went into res). */
void cio__hc_reader_done(struct cio__hc_reader *r);

#endif
