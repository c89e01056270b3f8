/* echo-client's load generator: one task per connection, spread over the
 * shards, each in lockstep: send one request of `size` bytes, read the
 * echo back whole, check every byte, record the round trip, repeat until
 * the duration is over.
 *
 * The bytes. Each connection has its own pseudo-random pattern of
 * size + PAT_PERIOD bytes, and request k sends the window starting at
 * k % PAT_PERIOD. So consecutive requests of one connection differ, and
 * so do the connections: a byte echoed at the wrong offset, from an
 * earlier request or from another connection shows up as a mismatch (each
 * byte is random, so the odds of a wrong byte matching are 1 in 256 and
 * of a wrong block matching are nil). The expected bytes need no work per
 * request: one memcmp() verifies a whole echo.
 *
 * Failures. The first failure anywhere (no connection, a mismatch, the
 * server closing or stalling) stops every connection at its next request,
 * so a broken server ends the run at once. Each is printed as it happens,
 * naming the connection, up to EC_MAX_PRINTED of them.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

#define PAT_PERIOD 251u /* prime: windows of neighbouring sizes differ */
/* bench/echo measured a one-shot receive faster than the multishot ring
 * for 4 KiB messages and up (README, "Receive path"). */
#define ONESHOT_MIN 4096u

/* What one shard measured; written by that shard only. */
struct shard_stats {
	struct eh_hist hist;
	uint64_t requests;
};

/* Shared by every shard; lives until cio_run() returns (see
 * ec_load_release()), since a cancelled main does not wait for the runs. */
struct load {
	const struct ec_load_opts *o;
	unsigned nshards;
	int64_t start, end;
	atomic_bool stop;
	atomic_uint failed;
	struct shard_stats *shard;
};

struct conn {
	struct load *L;
	unsigned id;
	struct shard_stats *st;
};

__attribute__((format(printf, 3, 4)))
static void fail(struct load *L, unsigned id, const char *fmt, ...)
{
	unsigned n = atomic_fetch_add(&L->failed, 1) + 1;
	char msg[256];
	va_list ap;

	atomic_store(&L->stop, true);
	if (n > EC_MAX_PRINTED)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One call, one line: shards print from their own threads. */
	fprintf(stderr, "echo-client: connection %u: %s\n", id, msg);
}

static void fill_pattern(uint8_t *p, size_t n, unsigned id)
{
	uint64_t x = 0x9E3779B97F4A7C15ull * (id + 1);

	for (size_t i = 0; i < n; i++) {
		/* xorshift64*: one byte per step, cheap and well mixed. */
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
	}
}

/* One request and its echo: 0, or a negative errno (already reported). */
static int request(struct conn *c, cio_stream *s, const uint8_t *want,
		   uint8_t *buf, unsigned long long seq)
{
	const struct ec_load_opts *o = c->L->o;
	int64_t t0 = cio_loop_time();
	ssize_t n;
	size_t i;
	int ret;

	/* write() only buffers (the stream's flusher sends), so reading
	 * the echo at once is what keeps a large request flowing both ways
	 * without either side's buffers filling up. */
	ret = cio_stream_write(s, want, o->size);
	if (ret < 0) {
		fail(c->L, c->id, "request %llu: cannot send: %s", seq,
		     strerror(-ret));
		return ret;
	}
	n = cio_stream_read_exactly(s, buf, o->size, t0 + o->timeout_ns);
	if (n == -ECANCELED)
		return (int)n;
	if (n == -EPIPE) {
		fail(c->L, c->id, "request %llu: the server closed the "
		     "connection after %zu of %zu bytes", seq,
		     cio_stream_buffered(s), o->size);
		return (int)n;
	}
	if (n == -ETIMEDOUT) {
		fail(c->L, c->id, "request %llu: no echo within %.3g s", seq,
		     (double)o->timeout_ns / CIO_NSEC_PER_SEC);
		return (int)n;
	}
	if (n < 0) {
		fail(c->L, c->id, "request %llu: %s", seq,
		     strerror((int)-n));
		return (int)n;
	}
	if (memcmp(buf, want, o->size) != 0) {
		for (i = 0; buf[i] == want[i]; i++)
			;
		fail(c->L, c->id, "mismatch in request %llu at byte %zu of "
		     "%zu: sent 0x%02x, got 0x%02x", seq, i, o->size,
		     want[i], buf[i]);
		return -EBADMSG;
	}
	eh_record(&c->st->hist, (uint64_t)(cio_loop_time() - t0));
	c->st->requests++;
	return 0;
}

static intptr_t conn_main(void *arg)
{
	struct conn *c = arg;
	struct load *L = c->L;
	const struct ec_load_opts *o = L->o;
	struct cio_stream_opts so = {
		.flags = o->size >= ONESHOT_MIN ? CIO_STREAM_RECV_ONESHOT : 0,
	};
	uint8_t *pat = NULL, *buf = NULL;
	cio_stream *s;
	char hp[300];
	intptr_t ret;

	ret = cio_open_connection(&s, o->host, o->port,
				  cio_deadline_after(o->timeout_ns), &so);
	if (ret < 0) {
		if (ret != -ECANCELED)
			fail(L, c->id, "cannot connect to %s: %s",
			     ec_host_port(hp, sizeof(hp), o->host, o->port),
			     strerror((int)-ret));
		return ret;
	}
	pat = malloc(o->size + PAT_PERIOD);
	buf = malloc(o->size);
	if (!pat || !buf) {
		fail(L, c->id, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	fill_pattern(pat, o->size + PAT_PERIOD, c->id);
	for (unsigned long long seq = 0;
	     !atomic_load_explicit(&L->stop, memory_order_relaxed) &&
	     cio_loop_time() < L->end;
	     seq++) {
		ret = request(c, s, pat + seq % PAT_PERIOD, buf, seq);
		if (ret < 0)
			goto out;
	}
out:
	cio_stream_close(s);
	cio_stream_wait_closed(s, cio_deadline_after(o->timeout_ns));
	cio_stream_free(s);
	free(buf);
	free(pat);
	return ret;
}

/* Run on every shard: this shard's connections (index % shards). */
static intptr_t shard_main(void *arg)
{
	struct load *L = arg;
	unsigned me = (unsigned)cio_shard_id(), n = 0;
	struct shard_stats *st = &L->shard[me];
	struct conn *cs;
	cio_task **t;
	intptr_t ret = 0;

	for (unsigned i = me; i < L->o->connections; i += L->nshards)
		n++;
	cs = calloc(n ? n : 1, sizeof(*cs));
	t = calloc(n ? n : 1, sizeof(*t));
	if (!cs || !t) {
		free(cs);
		free(t);
		return -ENOMEM;
	}
	for (unsigned k = 0; k < n; k++) {
		cs[k] = (struct conn){ L, me + k * L->nshards, st };
		ret = cio_spawn(&t[k], conn_main, &cs[k], NULL);
		if (ret < 0) {
			n = k;
			break;
		}
	}
	/* Awaiting a task that this task's cancellation reaches cancels
	 * it; the others are cancelled here, so shutdown is prompt. */
	for (unsigned k = 0; k < n; k++) {
		if (cio_await_task(t[k]) == -ECANCELED)
			for (unsigned j = k + 1; j < n; j++)
				cio_task_cancel(t[j]);
		cio_task_unref(t[k]);
	}
	free(t);
	free(cs);
	return ret;
}

intptr_t ec_load_main(void *arg)
{
	struct ec_load_run *run = arg;
	struct ec_load_result *res = run->res;
	struct load *L = calloc(1, sizeof(*L));
	intptr_t ret;

	if (!L)
		return -ENOMEM;
	run->state = L;
	L->o = run->opts;
	L->nshards = cio_shard_count();
	L->shard = calloc(L->nshards, sizeof(*L->shard));
	if (!L->shard)
		return -ENOMEM;
	snprintf(res->backend, sizeof(res->backend), "%s",
		 cio_loop_backend_name(cio_loop_current()));
	res->shards = L->nshards;
	L->start = cio_loop_time();
	L->end = L->start + L->o->duration_ns;

	ret = cio_broadcast(shard_main, L, NULL);

	res->elapsed_s = (double)(cio_loop_time() - L->start) /
			 CIO_NSEC_PER_SEC;
	res->failed = atomic_load(&L->failed);
	if (ret < 0)
		return ret; /* a shard may still run: leave its stats alone */
	for (unsigned i = 0; i < L->nshards; i++) {
		eh_merge(&res->hist, &L->shard[i].hist);
		res->requests += L->shard[i].requests;
	}
	return 0;
}

void ec_load_release(struct ec_load_run *run)
{
	struct load *L = run->state;

	if (L)
		free(L->shard);
	free(L);
	run->state = NULL;
}
