/* The HTTP client object and its keep-alive pool: idle connections per
 * host and port, a limit of busy ones, and a sweep that closes those idle
 * for too long. Everything here runs on the client's loop thread. */
#include "io/http_client_internal.h"
#include "io/server.h"
#include "runtime/loop.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

int cio_http_client_new(cio_http_client **out,
			const struct cio_http_client_opts *opts)
{
	struct cio_http_client_opts o = { 0 };
	cio_http_client *c;
	cio_loop *loop;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts)
		o = *opts;
	if (!(loop = cio_loop_current()) || o.idle_timeout < 0 ||
	    o.connect_timeout < 0)
		return -EINVAL;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->user_agent = strdup(o.user_agent ? o.user_agent
					    : CIO_HTTP_CLIENT_DEFAULT_USER_AGENT);
	if (!c->user_agent) {
		free(c);
		return -ENOMEM;
	}
	c->loop = loop;
	cio__list_init(&c->hosts);
	c->max_idle = o.max_idle_per_host ? o.max_idle_per_host
					  : CIO_HTTP_CLIENT_DEFAULT_MAX_IDLE_PER_HOST;
	c->max_conns = o.max_conns_per_host;
	c->idle_timeout = o.idle_timeout ? o.idle_timeout
					 : CIO_HTTP_CLIENT_DEFAULT_IDLE_TIMEOUT;
	c->connect_timeout = o.connect_timeout
				     ? o.connect_timeout
				     : CIO_HTTP_CLIENT_DEFAULT_CONNECT_TIMEOUT;
	*out = c;
	return 0;
}

int cio_http_client_stats(const cio_http_client *c,
			  struct cio_http_client_stats *st)
{
	if (!c || !st)
		return -EINVAL;
	*st = (struct cio_http_client_stats){
		.connects = c->connects,
		.reused = c->reused,
		.retries = c->retries,
		.idle = c->idle,
		.busy = c->busy,
	};
	return 0;
}

/* -- hosts and idle connections -------------------------------------------- */

static struct cio__hc_host *host_find(cio_http_client *c, const char *name,
				      uint16_t port)
{
	struct cio__list *n;

	for (n = c->hosts.next; n != &c->hosts; n = n->next) {
		struct cio__hc_host *h =
			cio__container_of(n, struct cio__hc_host, node);
		if (h->port == port && !strcmp(h->name, name))
			return h;
	}
	return NULL;
}

static struct cio__hc_host *host_get(cio_http_client *c, const char *name,
				     uint16_t port)
{
	struct cio__hc_host *h = host_find(c, name, port);
	size_t len = strlen(name);

	if (h)
		return h;
	if (!(h = calloc(1, sizeof(*h) + len + 1)))
		return NULL;
	memcpy(h->name, name, len + 1);
	h->port = port;
	cio__list_init(&h->idle);
	cio__waitq_init(&h->slotq);
	cio__list_add_tail(&c->hosts, &h->node);
	return h;
}

/* A host record lives only while something refers to it, so a crawler
 * visiting many hosts does not accumulate them. */
static void host_put(struct cio__hc_host *h)
{
	if (h->nidle || h->nbusy || h->nwait)
		return;
	cio__list_del(&h->node);
	free(h);
}

/* Nothing is left to send on a connection we give up. free() without
 * close() drops the stream at once and closes the descriptor itself (in
 * a task it parks for that), leaving no flusher task behind. */
static void stream_close(cio_stream *s)
{
	cio_stream_free(s);
}

/* Take k out of the pool, and give its stream to the caller to close:
 * closing may park, so the pool must be consistent before. */
static cio_stream *conn_detach(cio_http_client *c, struct cio__hc_host *h,
			       struct cio__hc_conn *k)
{
	cio_stream *s = k->s;

	cio__list_del(&k->node);
	h->nidle--;
	c->idle--;
	free(k);
	return s;
}

static struct cio__hc_conn *oldest_idle(struct cio__hc_host *h)
{
	return cio__container_of(h->idle.prev, struct cio__hc_conn, node);
}

static struct cio__hc_conn *newest_idle(struct cio__hc_host *h)
{
	return cio__container_of(h->idle.next, struct cio__hc_conn, node);
}

/* An idle connection the server has closed (or sent something on, which
 * no request explains) cannot carry a request. The stream may have seen
 * it already; otherwise the socket tells without a read. */
static bool conn_usable(cio_stream *s)
{
	struct pollfd pfd = { .events = POLLIN | POLLRDHUP };

	if (cio_stream_buffered(s) || cio_stream_at_eof(s) ||
	    (pfd.fd = cio_stream_fd(s)) < 0)
		return false;
	return poll(&pfd, 1, 0) == 0;
}

static void sweep(void *arg);

static void sweep_arm(cio_http_client *c)
{
	int64_t oldest = CIO_NO_DEADLINE;
	struct cio__list *n;

	if (c->sweep || !c->idle || c->freed)
		return;
	for (n = c->hosts.next; n != &c->hosts; n = n->next) {
		struct cio__hc_host *h =
			cio__container_of(n, struct cio__hc_host, node);
		if (h->nidle && oldest_idle(h)->idle_since < oldest)
			oldest = oldest_idle(h)->idle_since;
	}
	int64_t when = oldest > CIO_NO_DEADLINE - c->idle_timeout
			       ? CIO_NO_DEADLINE
			       : oldest + c->idle_timeout;
	/* Without a timer the connections stay until used or freed: they
	 * are still checked before use. */
	if (cio_call_at(c->loop, when, sweep, c, &c->sweep) < 0)
		c->sweep = NULL;
}

/* The timer: close what has been idle for idle_timeout (the oldest are at
 * the tail of each host's list), then wait for the next to expire. It runs
 * outside any task, so closing does not park here. */
static void sweep(void *arg)
{
	cio_http_client *c = arg;
	int64_t now = cio_loop_time();
	struct cio__list *n, *next;

	cio_handle_unref(c->sweep);
	c->sweep = NULL;
	for (n = c->hosts.next; n != &c->hosts; n = next) {
		struct cio__hc_host *h =
			cio__container_of(n, struct cio__hc_host, node);
		next = n->next;
		while (h->nidle &&
		       now - oldest_idle(h)->idle_since >= c->idle_timeout)
			stream_close(conn_detach(c, h, oldest_idle(h)));
		host_put(h);
	}
	sweep_arm(c);
}

/* Each close may park, and other requests may change the pool meanwhile:
 * start over from the first host every time. */
static void close_idle(cio_http_client *c)
{
	struct cio__list *n;

	for (n = c->hosts.next; n != &c->hosts;) {
		struct cio__hc_host *h =
			cio__container_of(n, struct cio__hc_host, node);
		if (!h->nidle) {
			n = n->next;
			continue;
		}
		cio_stream *s = conn_detach(c, h, newest_idle(h));
		host_put(h);
		stream_close(s);
		n = c->hosts.next;
	}
}

static void client_destroy(cio_http_client *c)
{
	c->freed = true;
	if (c->sweep) {
		cio_handle_cancel(c->sweep);
		cio_handle_unref(c->sweep);
		c->sweep = NULL;
	}
	close_idle(c);
	free(c->user_agent);
	free(c);
}

void cio_http_client_free(cio_http_client *c)
{
	if (!c)
		return;
	/* Requests still running close their connections, and the last of
	 * them frees the client; this call counts as one while it closes
	 * the idle connections (which may park). */
	c->active++;
	c->freed = true;
	if (c->sweep) {
		cio_handle_cancel(c->sweep);
		cio_handle_unref(c->sweep);
		c->sweep = NULL;
	}
	close_idle(c);
	cio__hc_leave(c);
}

void cio__hc_enter(cio_http_client *c)
{
	if (c)
		c->active++;
}

void cio__hc_leave(cio_http_client *c)
{
	if (c && --c->active == 0 && c->freed)
		client_destroy(c);
}

/* -- leases ---------------------------------------------------------------- */

static int take_slot(cio_http_client *c, struct cio__hc_host *h,
		     int64_t deadline)
{
	int rc = 0;

	while (c->max_conns && h->nbusy >= c->max_conns) {
		h->nwait++;
		rc = cio__waitq_wait(&h->slotq, deadline);
		h->nwait--;
		if (rc < 0)
			return rc;
	}
	h->nbusy++;
	c->busy++;
	return 0;
}

static void give_slot(cio_http_client *c, struct cio__hc_host *h)
{
	h->nbusy--;
	c->busy--;
	if (h->nwait)
		cio__waitq_wake_all(&h->slotq, 0);
}

static cio_stream *take_idle(cio_http_client *c, struct cio__hc_host *h)
{
	while (h->nidle) {
		/* The slot we hold keeps h alive while a close parks. */
		cio_stream *s = conn_detach(c, h, newest_idle(h));
		if (conn_usable(s))
			return s;
		stream_close(s);
	}
	return NULL;
}

int cio__hc_acquire(cio_http_client *c, const struct cio_url *u, bool fresh,
		    int64_t connect_deadline, int64_t deadline,
		    struct cio__hc_lease *l)
{
	struct cio__hc_host *h = NULL;
	int rc;

	memset(l, 0, sizeof(*l));
	if (c) {
		if (!(h = host_get(c, u->host, u->port)))
			return -ENOMEM;
		if ((rc = take_slot(c, h, deadline)) < 0) {
			host_put(h);
			return rc;
		}
		if (!fresh && (l->s = take_idle(c, h)) != NULL) {
			l->reused = true;
			c->reused++;
		}
	}
	if (!l->s) {
		if (connect_deadline > deadline)
			connect_deadline = deadline;
		rc = cio_open_connection(&l->s, u->host, u->port,
					 connect_deadline, NULL);
		if (rc < 0) {
			if (h) {
				give_slot(c, h);
				host_put(h);
			}
			return rc;
		}
		if (c)
			c->connects++;
	}
	l->c = c;
	l->host = h;
	return 0;
}

void cio__hc_release(struct cio__hc_lease *l, bool keep)
{
	cio_http_client *c = l->c;
	struct cio__hc_host *h = l->host;
	cio_stream *drop = l->s;
	struct cio__hc_conn *k;

	if (!drop)
		return;
	l->s = NULL;
	if (c) {
		if (keep && !c->freed && (k = malloc(sizeof(*k)))) {
			k->s = drop;
			k->idle_since = cio_loop_time();
			/* At the head: the warmest is reused first. */
			cio__list_add_tail(h->idle.next, &k->node);
			h->nidle++;
			c->idle++;
			/* Over the limit: the one idle longest goes. */
			drop = h->nidle > c->max_idle
				       ? conn_detach(c, h, oldest_idle(h))
				       : NULL;
			sweep_arm(c);
		}
		give_slot(c, h);
		host_put(h);
	}
	/* Last: it may park, and h may be gone by then. */
	if (drop)
		stream_close(drop);
}
