/* libuv-echo: the echo server of bench/baseline written as a libuv user
 * would write it, so that bench/echo can put coreio next to the library
 * whose design (one loop per thread, callbacks on readiness) is the usual
 * yardstick for an event loop in C.
 *
 * One thread per worker, pinned like baseline-echo's (bl_serve), each
 * running its own uv loop over its own SO_REUSEPORT listening socket.
 * libuv 1.44 cannot set SO_REUSEPORT itself (UV_TCP_REUSEPORT came in
 * 1.49), so the socket is made and bound by common.c and handed over with
 * uv_tcp_open; uv_listen then only starts watching it.
 *
 * A connection reads with uv_read_start into a buffer from its worker's
 * free list and writes back exactly what came, with uv_write; the write
 * callback returns the buffer to the list. When a write does not go out
 * at once (the peer reads slower than it sends), reading stops until
 * libuv's write queue has drained, so a slow reader costs a bounded
 * amount of memory, as in baseline-echo's wait for EPOLLOUT.
 *
 *   libuv-echo [--host H] [--port P] [--workers N]
 *
 * Prints "listening on HOST:PORT" once every worker's socket is bound;
 * SIGINT or SIGTERM ends it with status 0. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <uv.h>

#include "bench/baseline/common.h"

#define BUF_SIZE 16384
/* Buffers a worker keeps for reuse; past that they go back to malloc. At
 * most one read and one write are in flight per connection, so this
 * covers the benchmark's connection counts without holding memory for
 * ever after a burst. */
#define FREE_MAX 1024

/* A buffer with its own write request: what was read into it is written
 * from it, with no copy and no second allocation. */
struct chunk {
	uv_write_t req;
	struct chunk *next; /* in the free list */
	char data[BUF_SIZE];
};

/* A worker's free list, in its loop's `data`; one thread only. */
struct pool {
	struct chunk *free;
	unsigned nfree;
};

struct conn {
	uv_tcp_t tcp; /* first: the handle's address is the connection's */
	bool paused;  /* reading stopped until the write queue drains */
};

static void uv_check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "libuv-echo: %s: %s\n", what, uv_strerror(rc));
		exit(1);
	}
}

static struct chunk *chunk_of(char *data)
{
	return (struct chunk *)(data - offsetof(struct chunk, data));
}

static struct chunk *chunk_get(uv_loop_t *loop)
{
	struct pool *p = loop->data;
	struct chunk *c = p->free;

	if (!c)
		return malloc(sizeof(*c));
	p->free = c->next;
	p->nfree--;
	return c;
}

static void chunk_put(uv_loop_t *loop, struct chunk *c)
{
	struct pool *p = loop->data;

	if (p->nfree >= FREE_MAX) {
		free(c);
		return;
	}
	c->next = p->free;
	p->free = c;
	p->nfree++;
}

static void on_close(uv_handle_t *h)
{
	free(h); /* the struct conn, whose first member it is */
}

static void conn_close(uv_stream_t *s)
{
	/* Both a failed read and a failed write may get here for the same
	 * connection; a handle must be closed once. */
	if (!uv_is_closing((uv_handle_t *)s))
		uv_close((uv_handle_t *)s, on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct chunk *c = chunk_get(h->loop);

	(void)suggested; /* 64 KiB; baseline-echo reads 16 KiB at a time */
	/* An empty buffer makes libuv call on_read with UV_ENOBUFS. */
	*buf = c ? uv_buf_init(c->data, sizeof(c->data)) : uv_buf_init(NULL, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void on_write(uv_write_t *req, int status)
{
	uv_stream_t *s = req->handle;
	struct conn *c = (struct conn *)s;

	/* Also called with UV_ECANCELED for writes still queued when the
	 * connection closes, before on_close: the handle is still valid. */
	chunk_put(s->loop, (struct chunk *)req);
	if (status < 0) {
		conn_close(s);
		return;
	}
	if (c->paused && uv_stream_get_write_queue_size(s) == 0) {
		c->paused = false;
		if (uv_read_start(s, on_alloc, on_read) < 0)
			conn_close(s);
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = (struct conn *)s;
	struct chunk *ch = buf->base ? chunk_of(buf->base) : NULL;
	uv_buf_t out;

	if (nread <= 0) {
		/* 0 is EAGAIN: the buffer comes back unused. */
		if (ch)
			chunk_put(s->loop, ch);
		if (nread < 0)
			conn_close(s); /* UV_EOF, a reset, UV_ENOBUFS */
		return;
	}
	out = uv_buf_init(ch->data, (unsigned)nread);
	if (uv_write(&ch->req, s, &out, 1, on_write) < 0) {
		chunk_put(s->loop, ch);
		conn_close(s);
		return;
	}
	/* uv_write sends at once when nothing is queued before it; what the
	 * socket did not take is left in the queue, so the peer is not
	 * reading: stop until on_write sees the queue empty. */
	if (uv_stream_get_write_queue_size(s) > 0) {
		c->paused = true;
		uv_read_stop(s);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct conn *c;

	if (status < 0)
		return; /* EMFILE & co: libuv retries at the next wakeup */
	/* Out of memory is fatal here: libuv stops watching the listening
	 * socket until the pending connection is accepted, which needs a
	 * handle. */
	if (!(c = malloc(sizeof(*c))))
		bl_die("malloc");
	c->paused = false;
	uv_check(uv_tcp_init(server->loop, &c->tcp), "uv_tcp_init");
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close((uv_stream_t *)&c->tcp);
		return;
	}
	/* Echo answers with small writes: no Nagle delay on them. */
	uv_tcp_nodelay(&c->tcp, 1);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close((uv_stream_t *)&c->tcp);
}

static void *worker(struct bl_worker *w)
{
	struct pool pool = { NULL, 0 };
	uv_loop_t loop;
	uv_tcp_t server;

	uv_check(uv_loop_init(&loop), "uv_loop_init");
	loop.data = &pool;
	uv_check(uv_tcp_init(&loop, &server), "uv_tcp_init");
	uv_check(uv_tcp_open(&server, w->lfd), "uv_tcp_open");
	uv_check(uv_listen((uv_stream_t *)&server, 4096, on_connection),
		 "uv_listen");
	/* The listening handle stays active: this never returns, and the
	 * process ends from bl_serve's signal wait. */
	uv_run(&loop, UV_RUN_DEFAULT);
	return NULL;
}

int main(int argc, char **argv)
{
	bl_serve(argc, argv, worker, NULL);
}
