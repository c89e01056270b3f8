/* TCP servers (an acceptor task plus one task per connection) and
 * cio_open_connection(). */
#include "io/server_internal.h"
#include "io/dns.h"
#include "io/file.h"
#include "io/io_internal.h"
#include "io/socket.h"
#include "io/stream_internal.h"
#include "io/waitq.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN (10 * CIO_NSEC_PER_MSEC)
#define BACKOFF_MAX (1 * CIO_NSEC_PER_SEC)

#define SERVER_FLAGS                                                           \
	(CIO_SERVER_NO_REUSEADDR | CIO_SERVER_REUSEPORT | CIO_SERVER_SHARDED)

struct conn {
	struct cio__list node;
	cio_server *srv;
	cio_stream *s;
	cio_task *task;
	bool started;
	bool skip;                  /* cancelled before it started */
	bool idle;                  /* between requests: close ends it */
};

/* The connection whose handler is starting on this thread; read by
 * cio__server_conn_current() before the handler first parks. */
static __thread struct conn *starting_conn;

static bool idle(const cio_server *srv)
{
	return srv->accept_done && srv->nconns == 0;
}

static void release(cio_server *srv)
{
	if (!cio__list_empty(&srv->registered))
		cio__list_del(&srv->registered);
	if (srv->group)
		cio__server_group_put(srv->group);
	free(srv);
}

static void maybe_release(cio_server *srv)
{
	if (srv->orphaned && idle(srv))
		release(srv);
}

/* A handler or the acceptor ended: the server's waiters and a shard's
 * graceful shutdown re-check. */
static void wake(cio_server *srv)
{
	cio__waitq_wake_all(&srv->q, 0);
	if (srv->loop->io)
		cio__waitq_wake_all(&srv->loop->io->servers_q, 0);
}

static void set_nodelay(int fd)
{
	int one = 1;
	/* Best effort: a failure only costs latency. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* -- connections ------------------------------------------------------------- */

static intptr_t conn_main(void *arg)
{
	struct conn *c = arg;
	cio_server *srv = c->srv;
	cio_task *self = c->task;

	c->started = true;
	if (!c->skip) {
		starting_conn = c;
		srv->handler(c->s, srv->arg);
		starting_conn = NULL;
	}
	/* Cancelled (the server is shutting down): drop what is unsent. */
	if (cio_task_cancelling(self) > 0)
		cio_stream_abort(c->s);
	else
		cio_stream_close(c->s);
	while (cio_stream_wait_closed(c->s, CIO_NO_DEADLINE) == -ECANCELED)
		cio_stream_abort(c->s);
	cio_stream_free(c->s);
	cio__list_del(&c->node);
	srv->nconns--;
	if (srv->group)
		atomic_fetch_sub(&srv->group->load[srv->shard], 1);
	free(c);
	cio_task_unref(self);
	wake(srv);
	maybe_release(srv);
	return 0;
}

void *cio__server_conn_current(void)
{
	struct conn *c = starting_conn;

	starting_conn = NULL;
	return c;
}

int cio__server_conn_idle(void *conn, bool idle)
{
	struct conn *c = conn;

	if (!c)
		return 0;
	c->idle = idle;
	return idle && c->srv->closing ? -ESHUTDOWN : 0;
}

/* Closing: connections waiting between requests have nothing to finish. */
static void cancel_idle(cio_server *srv)
{
	struct cio__list *it;

	for (it = srv->conns.next; it != &srv->conns; it = it->next) {
		struct conn *c = cio__container_of(it, struct conn, node);
		if (c->idle && c->started && !c->skip)
			cio_task_cancel(c->task);
	}
}

/* Serve `fd` (which this takes over, also on failure). */
int cio__server_start_conn(cio_server *srv, int fd)
{
	struct cio_task_opts o = { .loop = srv->loop };
	struct conn *c;
	int ret;

	if (!(c = calloc(1, sizeof(*c)))) {
		cio_close(fd);
		return -ENOMEM;
	}
	if ((ret = cio_stream_new(&c->s, fd, &srv->sopts)) < 0) {
		cio_close(fd);
		free(c);
		return ret;
	}
	c->srv = srv;
	if ((ret = cio_spawn(&c->task, conn_main, c, &o)) < 0) {
		cio_stream_free(c->s); /* closes fd */
		free(c);
		return ret;
	}
	cio__list_add_tail(&srv->conns, &c->node);
	srv->nconns++;
	return 0;
}

/* A part of a sharded server counts its connections in the group's load
 * (decremented when the connection ends). */
static void start_counted(cio_server *srv, int fd)
{
	_Atomic unsigned *load = &srv->group->load[srv->shard];

	atomic_fetch_add(load, 1);
	if (cio__server_start_conn(srv, fd) < 0)
		atomic_fetch_sub(load, 1);
}

static void cancel_conns(cio_server *srv, unsigned *n)
{
	struct cio__list *it;

	for (it = srv->conns.next; it != &srv->conns; it = it->next) {
		struct conn *c = cio__container_of(it, struct conn, node);
		if (c->skip)
			continue;
		/* A task cancelled before it starts never runs its body, and
		 * the body is what closes the stream. */
		if (c->started)
			cio_task_cancel(c->task);
		c->skip = true;
		(*n)++;
	}
}

/* -- the acceptor ------------------------------------------------------------ */

/* accept(2) returns the network errors of the connection it dequeued:
 * that connection is lost, the next one may be fine. */
static bool per_connection_error(int err)
{
	switch (err) {
	case -ECONNABORTED: case -EPROTO: case -ENETDOWN: case -ENOPROTOOPT:
	case -EHOSTDOWN: case -ENONET: case -EHOSTUNREACH: case -EOPNOTSUPP:
	case -ENETUNREACH: case -EPERM: case -EINTR: case -EAGAIN:
	case -ETIMEDOUT: case -ECONNRESET:
		return true;
	}
	return false;
}

static bool out_of_resources(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS ||
	       err == -ENOMEM;
}

static intptr_t acceptor_main(void *arg)
{
	cio_server *srv = arg;
	cio_task *self = srv->acceptor;
	int64_t backoff = BACKOFF_MIN;
	int fd;

	srv->acceptor_started = true;
	while (!srv->closing) {
		if (srv->max_conns && srv->nconns >= srv->max_conns) {
			cio__waitq_wait(&srv->q, CIO_NO_DEADLINE);
			continue;
		}
		fd = cio_accept(srv->fd, NULL, NULL, CIO_NO_DEADLINE);
		if (fd >= 0) {
			backoff = BACKOFF_MIN;
			srv->exhausted = false;
			srv->accepted++;
			if (srv->closing) {
				cio_close(fd);
				break;
			}
			set_nodelay(fd);
			if (srv->group)
				atomic_fetch_add(&srv->group->accepted, 1);
			/* Out of memory: this client is dropped, not the
			 * server. */
			if (!srv->group)
				cio__server_start_conn(srv, fd);
			else if (srv->group->balance !=
				 CIO_SERVER_BALANCE_REUSEPORT)
				cio__server_dispatch(srv, fd);
			else
				start_counted(srv, fd);
			continue;
		}
		if (fd == -ECANCELED || per_connection_error(fd))
			continue;
		if (out_of_resources(fd)) {
			/* Retrying at once would spin: the condition lasts
			 * until some descriptor or memory is given back. */
			if (!srv->exhausted) {
				srv->exhausted = true;
				cio__loop_report(srv->loop, CIO_REPORT_RESOURCE, NULL,
						 NULL, fd,
						 "server on port %u: accept: %s; "
						 "backing off and retrying",
						 srv->port, strerror(-fd));
			}
			cio_sleep(backoff);
			backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX
							    : backoff * 2;
			continue;
		}
		cio__loop_report(srv->loop, CIO_REPORT_RESOURCE, NULL, NULL, fd,
				 "server on port %u: accept: %s; no longer "
				 "accepting", srv->port, strerror(-fd));
		break;
	}
	cio_close(srv->fd);
	srv->fd = -1;
	srv->accept_done = true;
	srv->acceptor = NULL;
	cio_task_unref(self);
	wake(srv);
	maybe_release(srv);
	return 0;
}

/* -- addresses --------------------------------------------------------------- */

/* A numeric address needs no lookup (and no task). */
static bool numeric(const char *host, uint16_t port,
		    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (!host || inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		if (!host)
			in4->sin_addr.s_addr = htonl(INADDR_ANY);
		*len = sizeof(*in4);
		return true;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

/* The addresses of host:port: one numeric address in *one (and *res NULL),
 * or a list from cio_getaddrinfo() in *res. */
static int resolve(const char *host, uint16_t port, bool passive,
		   int64_t deadline, struct addrinfo *one,
		   struct sockaddr_storage *ss, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		/* No AI_ADDRCONFIG (as asyncio): on a host with only a
		 * loopback interface it would hide "localhost". */
		.ai_flags = passive ? AI_PASSIVE : 0,
	};
	char service[8];
	socklen_t len;

	*res = NULL;
	if (numeric(host, port, ss, &len)) {
		memset(one, 0, sizeof(*one));
		one->ai_family = ss->ss_family;
		one->ai_socktype = SOCK_STREAM;
		one->ai_addr = (struct sockaddr *)ss;
		one->ai_addrlen = len;
		return 0;
	}
	snprintf(service, sizeof(service), "%u", port);
	hints.ai_flags |= AI_NUMERICSERV;
	return cio_getaddrinfo(host, service, &hints, res, deadline);
}

/* -- the server -------------------------------------------------------------- */

static int listen_on(const struct addrinfo *ai, int backlog, unsigned flags)
{
	int fd, one = 1, ret;

	if ((fd = cio_socket(ai->ai_family, SOCK_STREAM, ai->ai_protocol)) < 0)
		return fd;
	if ((!(flags & CIO_SERVER_NO_REUSEADDR) &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    ((flags & CIO_SERVER_REUSEPORT) &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)) {
		ret = -errno;
		goto fail;
	}
	if ((ret = cio_bind(fd, ai->ai_addr, ai->ai_addrlen)) < 0 ||
	    (ret = cio_listen(fd, backlog)) < 0)
		goto fail;
	return fd;
fail:
	cio_close(fd);
	return ret;
}

int cio_start_server(cio_server **out, const char *host, uint16_t port,
		     cio_server_handler handler, void *arg,
		     const struct cio_server_opts *opts)
{
	struct cio_server_opts o = { 0 };

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts)
		o = *opts;
	if (!handler || o.backlog < 0 || (o.flags & ~SERVER_FLAGS) ||
	    o.balance < CIO_SERVER_BALANCE_REUSEPORT ||
	    o.balance > CIO_SERVER_BALANCE_LEAST_LOADED ||
	    (o.stream && cio__stream_opts_check(o.stream, NULL) < 0))
		return -EINVAL;
	if (o.flags & CIO_SERVER_SHARDED)
		return cio__server_start_sharded(out, host, port, handler, arg,
						 &o);
	return cio__server_start_one(out, host, port, handler, arg, &o, NULL);
}

/* Fill what every server has; no socket, no acceptor. */
static int server_new(cio_server **out, cio_server_handler handler, void *arg,
		      const struct cio_server_opts *o)
{
	cio_loop *loop;
	cio_server *srv;

	loop = cio__tls_task ? cio__tls_task->fut.loop : cio_loop_current();
	if (!loop || cio_loop_is_closed(loop))
		return -EINVAL;
	if (!(srv = calloc(1, sizeof(*srv))))
		return -ENOMEM;
	cio__list_init(&srv->registered);
	srv->loop = loop;
	srv->fd = -1;
	srv->handler = handler;
	srv->arg = arg;
	if (o->stream)
		srv->sopts = *o->stream;
	srv->max_conns = o->max_connections;
	cio__list_init(&srv->conns);
	cio__waitq_init(&srv->q);
	*out = srv;
	return 0;
}

void cio__server_register(cio_server *srv)
{
	struct cio__io *io = cio__io_get(srv->loop);
	/* Without memory only a graceful shutdown misses it. */
	if (io)
		cio__list_add_tail(&io->servers, &srv->registered);
}

int cio__server_new_passive(cio_server **out, cio_server_handler handler,
			    void *arg, const struct cio_server_opts *o)
{
	return server_new(out, handler, arg, o);
}

static bool loop_servers_idle(struct cio__io *io)
{
	struct cio__list *it;

	for (it = io->servers.next; it != &io->servers; it = it->next)
		if (!idle(cio__container_of(it, cio_server, registered)))
			return false;
	return true;
}

int cio__servers_stop(cio_loop *loop, int64_t deadline)
{
	struct cio__io *io = loop->io;
	struct cio__list *it;
	unsigned cancelled = 0;

	if (!io)
		return 0;
	for (it = io->servers.next; it != &io->servers; it = it->next)
		cio_server_close(cio__container_of(it, cio_server, registered));
	while (!loop_servers_idle(io))
		if (cio__waitq_wait(&io->servers_q, deadline) < 0)
			break;
	if (loop_servers_idle(io))
		return 0;
	/* Servers stay registered until freed, and are freed only once
	 * idle: each one here is alive. */
	for (it = io->servers.next; it != &io->servers; it = it->next)
		cancel_conns(cio__container_of(it, cio_server, registered),
			     &cancelled);
	while (!loop_servers_idle(io))
		cio__waitq_wait_uncancellable(&io->servers_q);
	return cancelled ? -ETIMEDOUT : 0;
}

int cio__server_start_one(cio_server **out, const char *host, uint16_t port,
			  cio_server_handler handler, void *arg,
			  const struct cio_server_opts *opts,
			  struct cio__server_group *group)
{
	struct cio_server_opts o = *opts;
	struct addrinfo one, *res, *ai;
	struct sockaddr_storage ss;
	struct cio_task_opts to = { 0 };
	cio_server *srv;
	int fd = -EADDRNOTAVAIL, ret;

	if ((ret = server_new(&srv, handler, arg, &o)) < 0)
		return ret;
	if ((ret = resolve(host, port, true, CIO_NO_DEADLINE, &one, &ss,
			   &res)) < 0) {
		free(srv);
		return ret;
	}
	for (ai = res ? res : &one; ai; ai = ai->ai_next)
		if ((fd = listen_on(ai, o.backlog ? o.backlog : SOMAXCONN,
				    o.flags)) >= 0)
			break;
	cio_freeaddrinfo(res);
	if (fd < 0) {
		free(srv);
		return fd;
	}
	srv->alen = sizeof(srv->addr);
	if (getsockname(fd, (struct sockaddr *)&srv->addr, &srv->alen) < 0) {
		ret = -errno;
		goto fail;
	}
	srv->port = ntohs(srv->addr.ss_family == AF_INET6
		? ((struct sockaddr_in6 *)&srv->addr)->sin6_port
		: ((struct sockaddr_in *)&srv->addr)->sin_port);
	srv->fd = fd;
	/* Before the acceptor can run: it reads these. */
	if (group)
		cio__server_group_join(group, srv);
	cio__server_register(srv);
	to.loop = srv->loop;
	to.name = "server-acceptor";
	if ((ret = cio_spawn(&srv->acceptor, acceptor_main, srv, &to)) < 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	cio_close(fd);
	release(srv);
	return ret;
}

uint16_t cio_server_port(const cio_server *srv)
{
	return srv ? srv->port : 0;
}

int cio_server_sockname(const cio_server *srv, struct sockaddr *addr,
			socklen_t *len)
{
	if (!srv || !addr || !len)
		return -EINVAL;
	memcpy(addr, &srv->addr, *len < srv->alen ? *len : srv->alen);
	*len = srv->alen;
	return 0;
}

unsigned cio_server_connections(const cio_server *srv)
{
	if (srv && srv->front)
		return cio__server_group_connections(srv->group);
	return srv ? srv->nconns : 0;
}

uint64_t cio_server_accepted(const cio_server *srv)
{
	if (srv && srv->front)
		return atomic_load(&srv->group->accepted);
	return srv ? srv->accepted : 0;
}

int cio_server_close(cio_server *srv)
{
	if (!srv)
		return -EINVAL;
	if (srv->closing)
		return 0;
	srv->closing = true;
	if (srv->front) {
		cio__server_group_close(srv->group);
		return 0;
	}
	cancel_idle(srv);
	if (srv->passive) {
		srv->accept_done = true;
		cio__waitq_wake_all(&srv->q, 0);
		return 0;
	}
	/* Not yet started, it sees `closing` when it does. */
	if (srv->acceptor && srv->acceptor_started)
		cio_task_cancel(srv->acceptor);
	return 0;
}

static bool is_handler(const cio_server *srv, const cio_task *t)
{
	const struct cio__list *it;

	for (it = srv->conns.next; it != &srv->conns; it = it->next)
		if (cio__container_of(it, struct conn, node)->task == t)
			return true;
	return false;
}

int cio_server_wait_closed(cio_server *srv, int64_t deadline)
{
	unsigned cancelled = 0;
	int ret = 0;

	if (!srv || !srv->closing)
		return -EINVAL;
	if (!cio__tls_task)
		return -EPERM;
	if (srv->front)
		return cio__server_group_wait(srv->group, deadline);
	if (is_handler(srv, cio__tls_task))
		return -EDEADLK;
	while (!idle(srv)) {
		ret = cio__waitq_wait(&srv->q, deadline);
		if (ret < 0)
			break;
	}
	if (!idle(srv)) {
		cancel_conns(srv, &cancelled);
		while (!idle(srv))
			cio__waitq_wait_uncancellable(&srv->q);
	}
	if (ret == -ECANCELED)
		return ret;
	return cancelled ? -ETIMEDOUT : 0;
}

void cio_server_free(cio_server *srv)
{
	unsigned n = 0;

	if (!srv)
		return;
	cio_server_close(srv);
	if (srv->front) {
		cio__server_group_free(srv->group);
		release(srv);
		return;
	}
	if (idle(srv)) {
		release(srv);
		return;
	}
	cancel_conns(srv, &n);
	srv->orphaned = true;
}

/* -- clients ----------------------------------------------------------------- */

int cio_open_connection(cio_stream **out, const char *host, uint16_t port,
			int64_t deadline, const struct cio_stream_opts *opts)
{
	struct addrinfo one, *res, *ai;
	struct sockaddr_storage ss;
	int fd, ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!host)
		return -EINVAL;
	if (!cio__tls_task)
		return -EPERM;
	if ((ret = resolve(host, port, false, deadline, &one, &ss, &res)) < 0)
		return ret;
	ret = -EADDRNOTAVAIL;
	for (ai = res ? res : &one; ai; ai = ai->ai_next) {
		if ((fd = cio_socket(ai->ai_family, SOCK_STREAM,
				     ai->ai_protocol)) < 0) {
			ret = fd;
			continue;
		}
		ret = cio_connect(fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (ret == 0) {
			set_nodelay(fd);
			if ((ret = cio_stream_new(out, fd, opts)) < 0)
				cio_close(fd);
			break;
		}
		cio_close(fd);
		if (ret == -ETIMEDOUT || ret == -ECANCELED)
			break;
	}
	cio_freeaddrinfo(res);
	return ret;
}
