/* flags-server — the request handler: the book's slow_server.py
 * (Fluent Python 2nd ed., chapter 20) on the static file handler.
 *
 * Every request but GET /stats waits a delay (fixed, or uniform in
 * [min, max] as slow_server's uniform(MIN_DELAY, MAX_DELAY)), then is
 * answered "418 I'm a teapot" with probability error_rate (slow_server's
 * --error-rate), and otherwise served from the directory by
 * cio_http_static_serve().
 *
 * The handler counts the requests in it and keeps the maximum seen, with
 * C11 atomics in the shared struct, so the counts cover every shard. A
 * request counts from the handler's start to its return, which is after
 * the response was handed to the connection. With one shard a client
 * holding N permits can never be seen as N + 1 (its next request cannot
 * be parsed before the handler that answered the previous one returned);
 * with several, a response's last bytes may reach the client just before
 * its handler's thread gets to the decrement, so max_concurrent can run
 * over by up to shards - 1.
 *
 * Random numbers: draw k of the run is splitmix64(seed + k), k from an
 * atomic counter, so a given seed gives the same sequence whatever the
 * shards, and N requests draw the same N numbers in whatever order they
 * arrive: the number of errors among them is fixed by the seed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "flags.h"

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Uniform in [0, 1). */
static double draw(struct fl_server *s)
{
	uint64_t k = atomic_fetch_add(&s->draws, 1);

	return (double)(splitmix64(s->seed + k) >> 11) * 0x1.0p-53;
}

static int stats(struct fl_server *s, cio_http_request *req,
		 cio_http_response *res)
{
	char body[160], v[8];
	int n;

	n = snprintf(body, sizeof(body),
		     "{\"requests\":%llu,\"max_concurrent\":%ld,"
		     "\"errors\":%llu}\n",
		     (unsigned long long)atomic_load(&s->requests),
		     atomic_load(&s->max_current),
		     (unsigned long long)atomic_load(&s->errors));
	/* ?reset=1: start counting afresh (after answering the counts so
	 * far), so one server can measure several runs. Requests in progress
	 * stay counted in the new maximum. */
	if (cio_http_query_get(req->query, "reset", v, sizeof(v)) >= 0 &&
	    strcmp(v, "0") != 0) {
		atomic_store(&s->requests, 0);
		atomic_store(&s->errors, 0);
		atomic_store(&s->max_current, atomic_load(&s->current));
	}
	cio_http_response_header(res, "Cache-Control", "no-store");
	return cio_http_respond(res, 200, "application/json", body,
				(size_t)n);
}

static void enter(struct fl_server *s)
{
	long now = atomic_fetch_add(&s->current, 1) + 1;
	long max = atomic_load(&s->max_current);

	atomic_fetch_add(&s->requests, 1);
	while (now > max &&
	       !atomic_compare_exchange_weak(&s->max_current, &max, now))
		;
}

int fl_server_handle(cio_http_request *req, cio_http_response *res,
		     void *arg)
{
	static const char teapot[] = "I'm a teapot\n";
	struct fl_server *s = arg;
	int ret = 0;

	if (strcmp(req->path, "/stats") == 0)
		return stats(s, req, res);
	enter(s);
	if (s->delay_max_ns > 0) {
		int64_t d = s->delay_min_ns;
		if (s->delay_max_ns > s->delay_min_ns)
			d += (int64_t)((double)(s->delay_max_ns -
						s->delay_min_ns) *
				       draw(s));
		/* -ECANCELED: the server is shutting down; the connection
		 * is ending, so no answer. */
		ret = cio_sleep(d);
	}
	if (ret < 0) {
		/* nothing to send */
	} else if (s->error_rate > 0 && draw(s) < s->error_rate) {
		atomic_fetch_add(&s->errors, 1);
		ret = cio_http_respond(res, 418, "text/plain", teapot,
				       sizeof(teapot) - 1);
	} else {
		ret = cio_http_static_serve(req, res, s->st);
	}
	atomic_fetch_sub(&s->current, 1);
	return ret;
}
