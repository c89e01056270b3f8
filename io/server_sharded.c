/* Sharded servers: one part per shard, grouped behind the object the user
 * holds (the front, on the calling shard).
 *
 * Every part is created, used and freed on its own shard: the front asks
 * for each step with cio_submit_to() (start, wait) or
 * cio_call_soon_threadsafe() (close, free: they never park). The group is
 * shared, so it is reference-counted: the front, each part, and each
 * request or descriptor on its way to a shard hold a reference.
 */
#include "io/server_internal.h"
#include "io/file.h"
#include "runtime/shard.h"
#include "runtime/task_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

static struct cio__server_group *group_new(unsigned n,
					   enum cio_server_balance balance)
{
	struct cio__server_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->n = n;
	g->balance = balance;
	atomic_init(&g->refs, 1);
	g->load = calloc(n, sizeof(*g->load));
	g->parts = calloc(n, sizeof(*g->parts));
	g->gone = calloc(n, sizeof(*g->gone));
	if (!g->load || !g->parts || !g->gone) {
		cio__server_group_put(g);
		return NULL;
	}
	return g;
}

static void group_get(struct cio__server_group *g)
{
	atomic_fetch_add(&g->refs, 1);
}

void cio__server_group_put(struct cio__server_group *g)
{
	if (atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	free(g->load);
	free(g->parts);
	free(g->gone);
	free(g);
}

/* On the part's own shard, before anything else can see it. */
void cio__server_group_join(struct cio__server_group *g, cio_server *part)
{
	group_get(g);
	part->group = g;
	part->shard = (unsigned)cio_shard_id();
	g->parts[part->shard] = part;
}

unsigned cio__server_group_connections(struct cio__server_group *g)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->n; i++)
		n += atomic_load(&g->load[i]);
	return n;
}

/* -- handing connections over (ROUND_ROBIN, LEAST_LOADED) -------------------- */

struct handoff {
	struct cio__server_group *g;
	int fd;
};

static intptr_t adopt(void *arg)
{
	struct handoff *h = arg;
	struct cio__server_group *g = h->g;
	unsigned self = (unsigned)cio_shard_id();
	cio_server *p = g->parts[self];

	/* The dispatcher counted this connection in our load already. */
	if (!p || atomic_load(&g->gone[self]) || p->closing ||
	    (p->max_conns && p->nconns >= p->max_conns)) {
		cio_close(h->fd);
		atomic_fetch_sub(&g->load[self], 1);
	} else if (cio__server_start_conn(p, h->fd) < 0) {
		atomic_fetch_sub(&g->load[self], 1); /* it closed the fd */
	}
	free(h);
	cio__server_group_put(g);
	return 0;
}

static unsigned pick(struct cio__server_group *g)
{
	unsigned best = 0, min = UINT32_MAX;

	if (g->balance == CIO_SERVER_BALANCE_ROUND_ROBIN)
		return atomic_fetch_add(&g->next, 1) % g->n;
	for (unsigned i = 0; i < g->n; i++) {
		unsigned l = atomic_load(&g->load[i]);
		if (l < min) {
			min = l;
			best = i;
		}
	}
	return best;
}

/* The acceptor's part hands `fd` to a shard. The load is counted when the
 * choice is made, so a burst of accepts does not all pick one shard. */
void cio__server_dispatch(cio_server *srv, int fd)
{
	struct cio__server_group *g = srv->group;
	unsigned to = pick(g);
	struct handoff *h;

	atomic_fetch_add(&g->load[to], 1);
	if (to == srv->shard) {
		if (cio__server_start_conn(srv, fd) < 0)
			atomic_fetch_sub(&g->load[to], 1);
		return;
	}
	if (!(h = malloc(sizeof(*h)))) {
		cio_close(fd);
		atomic_fetch_sub(&g->load[to], 1);
		return;
	}
	h->g = g;
	h->fd = fd;
	group_get(g);
	/* The acceptor is a task: a full ring makes it wait, which is the
	 * back-pressure we want. */
	if (cio_submit_to(to, adopt, h, NULL) < 0) {
		cio_close(fd);
		atomic_fetch_sub(&g->load[to], 1);
		free(h);
		cio__server_group_put(g);
	}
}

/* -- close, free: posted, never parking -------------------------------------- */

static void close_part(void *arg)
{
	struct cio__server_group *g = arg;
	cio_server *p = g->parts[cio_shard_id()];

	if (p)
		cio_server_close(p);
	cio__server_group_put(g);
}

static void free_part(void *arg)
{
	struct cio__server_group *g = arg;
	unsigned self = (unsigned)cio_shard_id();
	cio_server *p = g->parts[self];

	atomic_store(&g->gone[self], true);
	g->parts[self] = NULL;
	cio_server_free(p); /* drops p's reference, maybe later */
	cio__server_group_put(g);
}

/* Run cb(g) on every shard: at once on ours, posted to the others. */
static void each_shard(struct cio__server_group *g, void (*cb)(void *))
{
	unsigned self = (unsigned)cio_shard_id();

	for (unsigned i = 0; i < g->n; i++) {
		if (i == self)
			continue;
		group_get(g);
		/* A shard already shutting down closes its loop and so its
		 * part anyway. */
		if (cio_call_soon_threadsafe(cio_shard_loop(i), cb, g) < 0)
			cio__server_group_put(g);
	}
	group_get(g);
	cb(g);
}

void cio__server_group_close(struct cio__server_group *g)
{
	each_shard(g, close_part);
}

void cio__server_group_free(struct cio__server_group *g)
{
	each_shard(g, free_part);
}

/* -- wait -------------------------------------------------------------------- */

struct wait_req {
	struct cio__server_group *g;
	int64_t deadline;
};

/* Owns its request: the waiter may be gone (cancelled) by the time it
 * runs. */
static intptr_t wait_part(void *arg)
{
	struct wait_req *w = arg;
	cio_server *p = w->g->parts[cio_shard_id()];
	int ret = 0;

	if (p) {
		cio_server_close(p); /* the posted close may come later */
		ret = cio_server_wait_closed(p, w->deadline);
	}
	cio__server_group_put(w->g);
	free(w);
	return ret;
}

int cio__server_group_wait(struct cio__server_group *g, int64_t deadline)
{
	cio_future **f;
	int ret = 0;

	if (!(f = calloc(g->n, sizeof(*f))))
		return -ENOMEM;
	for (unsigned i = 0; i < g->n; i++) {
		struct wait_req *w = malloc(sizeof(*w));
		int r;
		if (!w) {
			ret = -ENOMEM;
			continue;
		}
		w->g = g;
		w->deadline = deadline;
		group_get(g);
		if ((r = cio_submit_to(i, wait_part, w, &f[i])) < 0) {
			cio__server_group_put(g);
			free(w);
			ret = ret ? ret : r;
		}
	}
	for (unsigned i = 0; i < g->n; i++) {
		intptr_t r;
		if (!f[i])
			continue;
		r = cio_await(f[i]);
		if (r == -ECANCELED && cio_task_cancelling(cio__tls_task) > 0)
			ret = -ECANCELED;
		else if (r < 0 && (!ret || r == -ETIMEDOUT))
			ret = ret == -ECANCELED ? ret : (int)r;
	}
	for (unsigned i = 0; i < g->n; i++)
		if (f[i])
			cio_future_unref(f[i]);
	free(f);
	return ret;
}

/* -- start ------------------------------------------------------------------- */

struct start_req {
	struct cio__server_group *g;
	const char *host;
	uint16_t port;
	cio_server_handler handler;
	void *arg;
	struct cio_server_opts o;
	bool passive;
};

/* Runs on each shard while the front awaits it: `r` stays valid. */
static intptr_t start_part(void *arg)
{
	struct start_req *r = arg;
	cio_server *p;
	int ret;

	if (!r->passive)
		return cio__server_start_one(&p, r->host, r->port, r->handler,
					     r->arg, &r->o, r->g);
	if ((ret = cio__server_new_passive(&p, r->handler, r->arg, &r->o)) < 0)
		return ret;
	p->passive = true;
	cio__server_group_join(r->g, p);
	cio__server_register(p);
	return 0;
}

static int numeric_host(const struct sockaddr_storage *ss, char *buf,
			size_t len)
{
	const void *a = ss->ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)ss)->sin_addr;

	return inet_ntop(ss->ss_family, a, buf, (socklen_t)len) ? 0 : -errno;
}

int cio__server_start_sharded(cio_server **out, const char *host,
			      uint16_t port, cio_server_handler handler,
			      void *arg, const struct cio_server_opts *o)
{
	int self = cio_shard_id();
	struct start_req r = { .handler = handler, .arg = arg, .o = *o };
	char hostbuf[INET6_ADDRSTRLEN];
	struct cio__server_group *g;
	cio_future **f = NULL;
	cio_server *front, *mine;
	bool cancelled = false;
	int ret;

	if (self < 0 || !cio__tls_task)
		return -EPERM;
	if (!(g = group_new(cio_shard_count(), o->balance)))
		return -ENOMEM;
	if ((ret = cio__server_new_passive(&front, handler, arg, o)) < 0) {
		cio__server_group_put(g);
		return ret;
	}
	front->front = true;
	front->group = g; /* the group's first reference */
	front->shard = (unsigned)self;
	r.g = g;
	r.o.flags &= ~CIO_SERVER_SHARDED;
	if (o->balance == CIO_SERVER_BALANCE_REUSEPORT)
		r.o.flags |= CIO_SERVER_REUSEPORT;
	r.host = host;
	r.port = port;
	/* Ours first: with port 0 it is the one that picks the port. */
	if ((ret = (int)start_part(&r)) < 0)
		goto fail;
	mine = g->parts[self];
	front->addr = mine->addr;
	front->alen = mine->alen;
	front->port = mine->port;
	if ((ret = numeric_host(&mine->addr, hostbuf, sizeof(hostbuf))) < 0)
		goto fail;
	r.host = hostbuf;
	r.port = mine->port;
	r.passive = o->balance != CIO_SERVER_BALANCE_REUSEPORT;
	if (!(f = calloc(g->n, sizeof(*f)))) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < g->n; i++) {
		int e;
		if (i == (unsigned)self)
			continue;
		if ((e = cio_submit_to(i, start_part, &r, &f[i])) < 0 && !ret)
			ret = e;
	}
	/* Every submitted start is awaited, even after a failure or a
	 * cancellation: they read `r`, which lives on this stack. */
	for (unsigned i = 0; i < g->n; i++) {
		intptr_t e;
		if (!f[i])
			continue;
		while ((e = cio_await(f[i])) == -ECANCELED &&
		       !cio_future_done(f[i]))
			cancelled = true;
		if (e < 0 && !ret)
			ret = (int)e;
		cio_future_unref(f[i]);
	}
	free(f);
	if (cancelled)
		ret = -ECANCELED;
	if (ret < 0)
		goto fail;
	*out = front;
	return 0;
fail:
	cio_server_free(front); /* closes and frees every part there is */
	return ret;
}
