/* Internal: the HTTP server's connection, request and response state,
 * shared by http_server.c (setup), http_conn.c (reading requests) and
 * http_response.c (writing responses). */
#ifndef CIO_IO_HTTP_INTERNAL_H
#define CIO_IO_HTTP_INTERNAL_H

#include <http_parser.h>

#include "io/http_server.h"
#include "io/stream.h"

/* Header fields per request; more → 431. */
#define CIO__HTTP_MAX_HEADERS 100
/* Body bytes decoded per parser run: reads hand out at most this much
 * between refills (and it bounds the staging buffer). */
#define CIO__HTTP_STAGE 16384
/* The handler's own headers per response. */
#define CIO__HTTP_RES_HEADERS_MAX (16u * 1024)

/* Counters of one shard, touched only by that shard's thread; padded so
 * that shards do not share cache lines. */
struct cio__http_slot {
	_Alignas(64) uint64_t requests;
	unsigned conns;
};

struct cio_http_server {
	cio_server *tcp;
	cio_http_handler handler;
	void *arg;
	size_t max_header_bytes;
	size_t max_body_bytes;
	int64_t header_timeout;
	int64_t idle_timeout;
	int64_t body_timeout;
	int64_t write_timeout;
	unsigned max_connections;
	const char *server_name;
	unsigned nslots;
	struct cio__http_slot *slots;
};

struct cio__http_conn;

struct cio_http_response {
	struct cio__http_conn *conn;
	char *hdrs;         /* the handler's headers, "Name: value\r\n"... */
	size_t hlen, hcap;
	int status;
	bool started;
	bool ended;
	bool chunked;       /* the body goes out in chunks */
	bool close_delim;   /* HTTP/1.0 without a length: close ends it */
	bool no_body;       /* HEAD, 1xx, 204, 304 */
	bool close;         /* close the connection after this response */
	int64_t length;     /* declared, -1 if none */
	int64_t written;
};

struct cio__http_conn {
	cio_http_server *hs;
	struct cio__http_slot *slot;
	cio_stream *s;
	void *tcp_conn;     /* io/server.c's connection, for idle marks */
	http_parser parser;
	http_parser_settings *settings;

	char *in;           /* bytes read; [start, end) not parsed yet */
	size_t in_cap, in_start, in_end;
	size_t head_start;  /* this request's first byte: the header block
			     * stays whole in `in` until head_ok() */
	int chunk_state;    /* chunk_ok()'s, for a chunked body */
	uint64_t chunk_left;

	/* This request: its strings live in the arena (fixed size, so the
	 * pointers stay put while the body is read). */
	char *arena;
	size_t arena_cap, arena_len;
	struct cio_http_header hdrs[CIO__HTTP_MAX_HEADERS];
	size_t nhdrs;
	size_t url_off;     /* the target in the arena, while it is read */
	bool in_url;
	int last;           /* 0 none, 1 field, 2 value: the previous callback */
	bool too_many;      /* headers past CIO__HTTP_MAX_HEADERS, or arena */
	bool cr_pending;    /* the header bytes so far end in a CR */
	bool headers_done;
	bool message_done;
	size_t header_bytes;

	/* The body: decoded bytes waiting to be read. */
	char *stage;
	size_t stage_len, stage_off;
	uint64_t body_total;
	bool expect_continue;
	int body_error;     /* sticky: the connection closes after */

	cio_http_request req;
	struct cio_http_response res;
};

/* http_response.c */
void cio__http_res_reset(struct cio_http_response *res,
			 struct cio__http_conn *c);
void cio__http_res_free(struct cio_http_response *res);
/* A response of the server's own (errors): status, a short text body,
 * and Connection: close. */
int cio__http_send_error(struct cio__http_conn *c, int status);
/* The handler returned: end what it left open. <0 when the connection
 * must close. */
int cio__http_res_finish(struct cio_http_response *res);
/* Write and wait under the server's write_timeout; past it, the stream
 * is aborted. */
int cio__http_write(struct cio__http_conn *c, const void *p, size_t n);
int cio__http_drain(struct cio__http_conn *c);

/* http_conn.c */
intptr_t cio__http_conn_main(cio_stream *s, void *arg);

#endif
