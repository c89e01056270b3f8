/* HTTP server objects: options, the TCP server under them, per-shard
 * counters. Connections are in http_conn.c. */
#include <stdlib.h>
#include <string.h>

#include "io/http_internal.h"
#include "runtime/shard.h"

static int64_t or_default(int64_t v, int64_t def)
{
	return v ? v : def;
}

static int check_opts(const struct cio_http_server_opts *o)
{
	if (o->flags & ~CIO_HTTP_SERVER_SHARDED)
		return -EINVAL;
	if (o->max_header_bytes > 1024 * 1024 ||
	    (o->max_header_bytes && o->max_header_bytes < 64))
		return -EINVAL;
	if (o->header_timeout < 0 || o->idle_timeout < 0 ||
	    o->body_timeout < 0 || o->write_timeout < 0 || o->backlog < 0)
		return -EINVAL;
	if (o->server_name && (strpbrk(o->server_name, "\r\n") ||
			       strlen(o->server_name) > 200))
		return -EINVAL;
	return 0;
}

int cio_http_server_start(cio_http_server **out, const char *host,
			  uint16_t port, cio_http_handler handler, void *arg,
			  const struct cio_http_server_opts *opts)
{
	struct cio_http_server_opts o = { 0 };
	struct cio_server_opts so = { 0 };
	cio_http_server *hs;
	int rc;

	if (!out || !handler)
		return -EINVAL;
	*out = NULL;
	if (opts)
		o = *opts;
	if ((rc = check_opts(&o)) < 0)
		return rc;
	if (!(hs = calloc(1, sizeof(*hs))))
		return -ENOMEM;
	hs->handler = handler;
	hs->arg = arg;
	hs->max_header_bytes = o.max_header_bytes ?
				       o.max_header_bytes :
				       CIO_HTTP_SERVER_DEFAULT_MAX_HEADER_BYTES;
	hs->max_body_bytes = o.max_body_bytes ? o.max_body_bytes :
						CIO_HTTP_SERVER_DEFAULT_MAX_BODY_BYTES;
	hs->header_timeout = or_default(o.header_timeout,
					CIO_HTTP_SERVER_DEFAULT_HEADER_TIMEOUT);
	hs->idle_timeout = or_default(o.idle_timeout,
				      CIO_HTTP_SERVER_DEFAULT_IDLE_TIMEOUT);
	hs->body_timeout = or_default(o.body_timeout,
				      CIO_HTTP_SERVER_DEFAULT_BODY_TIMEOUT);
	hs->write_timeout = or_default(o.write_timeout,
				       CIO_HTTP_SERVER_DEFAULT_WRITE_TIMEOUT);
	hs->max_connections = o.max_connections ?
				      o.max_connections :
				      CIO_HTTP_SERVER_DEFAULT_MAX_CONNECTIONS;
	hs->server_name = o.server_name ? o.server_name : "coreio";
	/* Each shard counts in its own slot; off cio_run() there is one. */
	hs->nslots = cio_shard_count() > 0 ? (unsigned)cio_shard_count() : 1;
	if (!(hs->slots = aligned_alloc(64, hs->nslots * sizeof(*hs->slots)))) {
		free(hs);
		return -ENOMEM;
	}
	memset(hs->slots, 0, hs->nslots * sizeof(*hs->slots));
	so.backlog = o.backlog;
	so.stream = o.stream;
	if (o.flags & CIO_HTTP_SERVER_SHARDED)
		so.flags |= CIO_SERVER_SHARDED;
	rc = cio_start_server(&hs->tcp, host, port, cio__http_conn_main, hs,
			      &so);
	if (rc < 0) {
		free(hs->slots);
		free(hs);
		return rc;
	}
	*out = hs;
	return 0;
}

uint16_t cio_http_server_port(const cio_http_server *hs)
{
	return hs ? cio_server_port(hs->tcp) : 0;
}

cio_server *cio_http_server_tcp(cio_http_server *hs)
{
	return hs ? hs->tcp : NULL;
}

uint64_t cio_http_server_requests(const cio_http_server *hs)
{
	if (!hs)
		return 0;
	int id = cio_shard_id();
	return hs->slots[id >= 0 && (unsigned)id < hs->nslots ? id : 0]
		.requests;
}

int cio_http_server_close(cio_http_server *hs)
{
	return hs ? cio_server_close(hs->tcp) : -EINVAL;
}

int cio_http_server_wait_closed(cio_http_server *hs, int64_t deadline)
{
	return hs ? cio_server_wait_closed(hs->tcp, deadline) : -EINVAL;
}

void cio_http_server_free(cio_http_server *hs)
{
	if (!hs)
		return;
	cio_server_free(hs->tcp);
	free(hs->slots);
	free(hs);
}
