/* coreio HTTP/1.1 server, on cio_server and cio_stream, parsing with
 * libhttp-parser.
 *
 *     static int hello(cio_http_request *req, cio_http_response *res,
 *                      void *arg) {
 *         return cio_http_respond(res, 200, "text/plain", "Hello, World!",
 *                                 13);
 *     }
 *
 *     cio_http_server *hs;
 *     struct cio_http_server_opts o = { .flags = CIO_HTTP_SERVER_SHARDED };
 *     int rc = cio_http_server_start(&hs, "127.0.0.1", 8080, hello, NULL,
 *                                    &o);
 *     ...
 *     cio_http_server_close(hs);
 *     cio_http_server_wait_closed(hs, cio_deadline_after(5 * CIO_NSEC_PER_SEC));
 *     cio_http_server_free(hs);
 *
 * Connections. Each connection is a task (see io/server.h) that reads
 * requests one after the other: keep-alive (HTTP/1.1 by default, 1.0 with
 * "Connection: keep-alive") and pipelining (requests sent before the
 * previous response arrived are answered in order; the responses of a
 * burst go out in as few writes as the socket allows). For each request
 * the handler runs in the connection's task, with the request's line and
 * headers parsed; it reads the body when it wants it
 * (cio_http_read_body()) and writes one response. What the handler left
 * unread of the body is read and discarded before the next request.
 *
 * Responses. Either in one call (cio_http_respond()), or incrementally:
 * cio_http_response_start() with a length (Content-Length) or -1 (chunked
 * for HTTP/1.1, close-delimited for 1.0), cio_http_response_write() as
 * often as needed, cio_http_response_end(). The server adds Date (cached,
 * refreshed once a second per thread), Server, Content-Length or
 * Transfer-Encoding, and Connection when the connection is to close. For
 * HEAD the headers are the same as for GET and the body is dropped. A
 * handler that returns without having started a response gets a 500 for
 * its client (and the loop's exception handler a report); one that
 * started but did not end it is ended for it (a response started with a
 * length that was not written in full ends the connection, since its
 * framing is broken). Returning an error (< 0) after the response started
 * closes the connection without ending the body (no last chunk), so the
 * client sees an incomplete response.
 *
 * Limits and bad input (struct cio_http_server_opts, 0 = default):
 *
 *   max_header_bytes   8 KiB   request line + headers; beyond → 431, close
 *   max_body_bytes     1 MiB   Content-Length above it → 413 before the
 *                              handler runs; a chunked body growing past
 *                              it → read_body() returns -EFBIG and the
 *                              server answers 413 (if the handler has not
 *                              responded), then closes
 *   header_timeout     10 s    from the first byte of a request (or the
 *                              accept) to the end of its header block;
 *                              then → 408, close
 *   idle_timeout       60 s    a kept-alive connection waiting for the
 *                              next request's first byte; then close
 *   body_timeout       60 s    each read of the body parks at most this
 *   write_timeout      60 s    each wait for the client to take response
 *                              bytes parks at most this (also the final
 *                              flush at close); then the connection is
 *                              aborted
 *   max_connections    10,000  per shard: beyond it, accepted and closed at
 *                              once
 *
 * A request that does not parse → 400 and close. A method, version or
 * header the server cannot honour: 501 for a Transfer-Encoding other than
 * chunked, 505 for a version other than 1.x, 400 for HTTP/1.1 without
 * Host, and for both Content-Length and Transfer-Encoding (request
 * smuggling). Debian builds libhttp-parser without HTTP_PARSER_STRICT; the
 * server checks what that build lets through itself (RFC 9112): a lone CR
 * as a line end, blanks in field names, a malformed request line, and the
 * chunked framing (CRLF after each chunk's data and size line) → 400.
 * "Expect: 100-continue" gets its interim 100 when the handler first reads
 * the body (or 413 without it when the body is too long). No input makes
 * the server crash, hang, or leak a descriptor.
 *
 * Sharding: with CIO_HTTP_SERVER_SHARDED (from a task on a shard of
 * cio_run()), every shard serves, each with its own SO_REUSEPORT socket;
 * handler and arg are shared by all shards (make arg safe for that).
 *
 * Ownership rules:
 * 1. cio_http_server_start() succeeded => call cio_http_server_free()
 *    once, after cio_http_server_wait_closed() returned.
 * 2. A request and its response belong to the server. They are valid
 *    while the handler runs, and only in the connection's task. Strings a
 *    request points to (method, target, path, query, header names and
 *    values) stay valid until the handler returns.
 * 3. `arg` and the opts' strings are borrowed until wait_closed() returned.
 */
#ifndef CIO_IO_HTTP_SERVER_H
#define CIO_IO_HTTP_SERVER_H

#include <sys/socket.h>
#include <sys/types.h>

#include "io/http.h"
#include "io/server.h"
#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_http_server cio_http_server;
typedef struct cio_http_response cio_http_response;

/* A parsed request: read its fields, do not change them. */
typedef struct cio_http_request {
	const char *method;  /* "GET", "POST", ... */
	const char *target;  /* as sent: "/a%20b/c?x=1" */
	const char *path;    /* target up to '?' or '#', not decoded */
	const char *query;   /* after '?' up to '#', not decoded; "" if none */
	int version_major;   /* 1 */
	int version_minor;   /* 0 or 1 */
	const struct cio_http_header *headers;
	size_t nheaders;
	int64_t content_length; /* -1: none given (or chunked) */
	bool chunked;           /* Transfer-Encoding: chunked */
	bool head;              /* method is HEAD */
	bool keep_alive;        /* the client allows another request after */
	/* The peer's address (getpeername(2) at accept). */
	struct sockaddr_storage peer;
	socklen_t peer_len;
} cio_http_request;

/* Runs in the connection's task once per request. Return 0, or a negative
 * errno (see "Responses" above for what either means). */
typedef int (*cio_http_handler)(cio_http_request *req, cio_http_response *res,
				void *arg);

/* Flags of cio_http_server_opts. */
#define CIO_HTTP_SERVER_SHARDED 0x1u

/* Zero-initialise, then set what you need; 0 means the default. */
struct cio_http_server_opts {
	unsigned flags;
	size_t max_header_bytes;  /* 8 KiB (at most 1 MiB) */
	size_t max_body_bytes;    /* 1 MiB */
	int64_t header_timeout;   /* ns, 10 s */
	int64_t idle_timeout;     /* ns, 60 s */
	int64_t body_timeout;     /* ns, 60 s */
	int64_t write_timeout;    /* ns, 60 s */
	unsigned max_connections; /* per shard, 10,000 */
	int backlog;              /* listen(2) backlog (SOMAXCONN) */
	const char *server_name;  /* the Server header, "coreio"; "" omits it */
	/* Stream options of each connection (copied); NULL: defaults. */
	const struct cio_stream_opts *stream;
};

#define CIO_HTTP_SERVER_DEFAULT_MAX_HEADER_BYTES (8u * 1024)
#define CIO_HTTP_SERVER_DEFAULT_MAX_BODY_BYTES (1024u * 1024)
#define CIO_HTTP_SERVER_DEFAULT_HEADER_TIMEOUT (10 * CIO_NSEC_PER_SEC)
#define CIO_HTTP_SERVER_DEFAULT_IDLE_TIMEOUT (60 * CIO_NSEC_PER_SEC)
#define CIO_HTTP_SERVER_DEFAULT_BODY_TIMEOUT (60 * CIO_NSEC_PER_SEC)
#define CIO_HTTP_SERVER_DEFAULT_WRITE_TIMEOUT (60 * CIO_NSEC_PER_SEC)
#define CIO_HTTP_SERVER_DEFAULT_MAX_CONNECTIONS 10000u

/* Listen on host:port (as cio_start_server(): numeric host, name, or NULL
 * for every IPv4 interface; port 0 picks one) and serve with handler.
 * 0 and *out; -EINVAL (bad argument or option), and cio_start_server()'s
 * errors. */
int cio_http_server_start(cio_http_server **out, const char *host,
			  uint16_t port, cio_http_handler handler, void *arg,
			  const struct cio_http_server_opts *opts);

uint16_t cio_http_server_port(const cio_http_server *hs);
/* The underlying TCP server (connection counts, address). */
cio_server *cio_http_server_tcp(cio_http_server *hs);
/* Requests answered so far on the calling shard's part (a snapshot). */
uint64_t cio_http_server_requests(const cio_http_server *hs);
/* As cio_server_close() / _wait_closed(): stop accepting; let the
 * connections finish their current request until `deadline` (idle
 * kept-alive connections are closed at once), then cancel the rest. */
int cio_http_server_close(cio_http_server *hs);
int cio_http_server_wait_closed(cio_http_server *hs, int64_t deadline);
/* Ownership rule 1. NULL is a no-op. */
void cio_http_server_free(cio_http_server *hs);

/* -- requests -------------------------------------------------------------- */

/* The first header named `name` (case-insensitive), or NULL. */
const char *cio_http_request_header(const cio_http_request *req,
				    const char *name);

/* Read up to len bytes of the body (chunked framing removed): > 0 bytes,
 * 0 at its end (and always for a request without a body). The deadline is
 * capped by the server's body_timeout. -EFBIG past max_body_bytes,
 * -EPIPE when the client closed mid-body, -EPROTO for a malformed chunk,
 * -ETIMEDOUT, -ECANCELED, -EINVAL. Any error ends the connection after
 * this request. */
ssize_t cio_http_read_body(cio_http_request *req, void *buf, size_t len,
			   int64_t deadline);

/* -- responses -------------------------------------------------------------
 *
 * Common errors: -EINVAL (bad argument; CR, LF or NUL in a header; status
 * outside 100..999), -EALREADY (headers already sent, for the calls that
 * set them), -EPIPE / -ECONNRESET (the client went away), -ETIMEDOUT
 * (write_timeout), -ECANCELED.
 */

/* Add a header to the response (copied). Date, Server, Content-Length,
 * Transfer-Encoding and Connection are the server's: -EPERM for them, except
 * "Connection: close", which asks for the connection to close after.
 * -ENOSPC when the response's header block would exceed 16 KiB. */
int cio_http_response_header(cio_http_response *res, const char *name,
			     const char *value);

/* The whole response: status, Content-Type (NULL: none), and a body of
 * len bytes with its Content-Length. 0 once it is handed to the stream. */
int cio_http_respond(cio_http_response *res, int status,
		     const char *content_type, const void *body, size_t len);

/* Send the status line and headers. content_length >= 0: that many body
 * bytes follow; -1: chunked (close-delimited for an HTTP/1.0 client). */
int cio_http_response_start(cio_http_response *res, int status,
			    int64_t content_length);
/* Body bytes (after start). Parks while the client is slower than the
 * handler (back-pressure). -EOVERFLOW beyond the declared length. */
int cio_http_response_write(cio_http_response *res, const void *buf,
			    size_t len);
/* End the body: the last chunk, or a check that the length was written.
 * -EPROTO when fewer bytes than the declared length were written. */
int cio_http_response_end(cio_http_response *res);

/* Was a response started (status line queued)? */
bool cio_http_response_started(const cio_http_response *res);

CIO_END_DECLS

#endif
