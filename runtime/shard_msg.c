/* Messages between shards: the rings, the doorbell, requests and replies.
 *
 * A request travels origin -> target in ring[origin][target]; the target
 * spawns a task for it; when that task is done the same record travels
 * back in ring[target][origin] as the reply, and the origin completes the
 * future embedded in it. Each ring has one producer thread and one
 * consumer thread.
 *
 * Ordering (all seq_cst where two sides meet):
 * - push: slot write, then the tail store (release is enough for the
 *   slot; seq_cst because the doorbell load follows). The consumer loads
 *   the tail with acquire before reading slots.
 * - doorbell: the producer loads it after its tail store; the consumer
 *   clears it before it loads the tails. Either the clear comes first in
 *   the total order and the producer sees 0 and posts the bell, or the
 *   producer's load comes first and the drain that follows the clear sees
 *   the new tail. The bell is one work record per shard, posted once per
 *   0 -> 1 transition, so it is never queued twice.
 * - room: a producer that finds the ring full sets want_space, then looks
 *   at the head again; the consumer stores the head, then exchanges
 *   want_space to 0 and, if it was set, posts the ring's `space` work to
 *   the producer. The producer only sets want_space again after that post
 *   ran (space_armed), so `space` is never queued twice either.
 */
#include "runtime/shard_internal.h"
#include "runtime/task_internal.h"

#include <stdlib.h>

/* -- message records -------------------------------------------------------- */

static void msg_destroy(cio_future *fut);

static const struct cio__future_ops submit_ops = {
	.kind = "submit",
	.destroy = msg_destroy,
};

static struct cio__smsg *msg_get(struct cio__shard *sh)
{
	struct cio__smsg *m = sh->free_msgs;

	if (m) {
		sh->free_msgs = m->next;
		return m;
	}
	return malloc(sizeof(*m));
}

/* Both references are gone: back to the origin's free list. Runs on the
 * origin's thread, or after every shard thread was joined. */
static void msg_destroy(cio_future *fut)
{
	struct cio__smsg *m = cio__container_of(fut, struct cio__smsg, fut);
	struct cio__shard *origin = &cio__rt_current->shards[m->origin];

	m->next = origin->free_msgs;
	origin->free_msgs = m;
}

/* -- rings ------------------------------------------------------------------ */

int cio__rings_new(struct cio__rt *rt, unsigned slots)
{
	size_t n = (size_t)rt->n * rt->n;

	if (!(rt->rings = calloc(n, sizeof(*rt->rings))))
		return -ENOMEM;
	for (unsigned from = 0; from < rt->n; from++) {
		for (unsigned to = 0; to < rt->n; to++) {
			struct cio__spsc *r = cio__ring(rt, from, to);
			r->from = from;
			r->to = to;
			r->mask = slots - 1;
			if (from == to)
				continue; /* a shard never sends to itself */
			if (!(r->slot = calloc(slots, sizeof(*r->slot))))
				return -ENOMEM;
		}
	}
	return 0;
}

static bool ring_push(struct cio__spsc *r, struct cio__smsg *m)
{
	unsigned t = atomic_load_explicit(&r->tail, memory_order_relaxed);

	if (t - r->head_cache > r->mask) {
		r->head_cache = atomic_load(&r->head);
		if (t - r->head_cache > r->mask)
			return false;
	}
	r->slot[t & r->mask] = m;
	atomic_store(&r->tail, t + 1);
	return true;
}

static void ring_bell(struct cio__shard *to)
{
	if (atomic_load(&to->doorbell) == 0 &&
	    atomic_exchange(&to->doorbell, 1) == 0)
		cio__loop_post_threadsafe(to->loop, &to->bell);
}

/* -- sending ---------------------------------------------------------------- */

static void space_run(struct cio__shard *sh, unsigned to);

/* Ask the consumer to tell us when it makes room. If there is room
 * already (it drained between our push and now), act on it at once. */
static void arm_space(struct cio__shard *sh, unsigned to)
{
	struct cio__spsc *r = cio__ring(sh->rt, sh->id, to);
	struct cio__outq *q = &sh->out[to];
	unsigned t;

	if (!q->space_armed) {
		q->space_armed = true;
		atomic_store(&r->want_space, 1);
	}
	t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (t - atomic_load(&r->head) <= r->mask)
		space_run(sh, to);
}

/* Push the replies that waited for room, in order; then let the waiting
 * senders try again (they re-check, so waking them all is safe). */
static void space_run(struct cio__shard *sh, unsigned to)
{
	struct cio__spsc *r = cio__ring(sh->rt, sh->id, to);
	struct cio__outq *q = &sh->out[to];
	bool pushed = false;

	while (q->head && ring_push(r, q->head)) {
		q->head = q->head->next;
		pushed = true;
	}
	if (!q->head)
		q->tailp = &q->head;
	if (pushed)
		ring_bell(&sh->rt->shards[to]);
	if (q->head) {
		arm_space(sh, to);
		return;
	}
	cio__waitq_wake_all(&q->senders, 0);
}

static void space_work(struct cio__work *w, bool discard)
{
	struct cio__spsc *r = cio__container_of(w, struct cio__spsc, space);
	struct cio__shard *sh = &cio__rt_current->shards[r->from];

	if (discard)
		return;
	sh->out[r->to].space_armed = false;
	space_run(sh, r->to);
}

/* A reply never waits: when the ring is full it joins the overflow list,
 * flushed in order as soon as there is room. */
static void send_reply(struct cio__shard *sh, struct cio__smsg *m)
{
	unsigned to = m->origin;
	struct cio__outq *q = &sh->out[to];

	m->reply = true;
	if (!q->head && ring_push(cio__ring(sh->rt, sh->id, to), m)) {
		ring_bell(&sh->rt->shards[to]);
		return;
	}
	m->next = NULL;
	*q->tailp = m;
	q->tailp = &m->next;
	arm_space(sh, to);
}

/* A request waits for room (outside a task it cannot: -EAGAIN). Replies
 * waiting for room go first. */
static int send_request(struct cio__shard *sh, unsigned to,
			struct cio__smsg *m)
{
	struct cio__spsc *r = cio__ring(sh->rt, sh->id, to);
	struct cio__outq *q = &sh->out[to];
	int ret;

	while (q->head || !ring_push(r, m)) {
		if (!cio__tls_task)
			return -EAGAIN;
		arm_space(sh, to);
		if (!q->head && ring_push(r, m))
			break;
		if ((ret = cio__waitq_wait(&q->senders, CIO_NO_DEADLINE)) < 0)
			return ret;
		if (atomic_load_explicit(&sh->rt->shutting_down,
					 memory_order_relaxed))
			return -ESHUTDOWN;
	}
	ring_bell(&sh->rt->shards[to]);
	return 0;
}

/* -- running a request on the target --------------------------------------- */

static void take_reply(struct cio__smsg *m);

static void request_done(struct cio__fut_cb *cb, cio_future *tf)
{
	struct cio__smsg *m = cio__container_of(cb, struct cio__smsg, done);
	struct cio__shard *sh = cio__tls_shard;

	m->state = tf->state;
	m->value = tf->value;
	tf->retrieved = true; /* the origin reads it */
	cio_task_unref(m->task);
	m->task = NULL;
	if (m->origin == sh->id)
		take_reply(m); /* cio_submit_to() our own shard */
	else
		send_reply(sh, m);
}

static void refuse(struct cio__shard *sh, struct cio__smsg *m, int err)
{
	m->state = CIO__FUT_ERROR;
	m->value = err;
	send_reply(sh, m);
}

static void run_request(struct cio__shard *sh, struct cio__smsg *m)
{
	struct cio_task_opts o = { .loop = sh->loop };
	int ret;

	if (sh->stopping) {
		refuse(sh, m, -ESHUTDOWN);
		return;
	}
	if ((ret = cio_spawn(&m->task, m->fn, m->arg, &o)) < 0) {
		refuse(sh, m, ret);
		return;
	}
	cio__fut_cb_init(&m->done, request_done);
	cio__future_add_cb(cio_task_future(m->task), &m->done);
}

/* -- receiving -------------------------------------------------------------- */

/* On the origin: complete the caller's future (unless it was cancelled or
 * nobody wants it) and drop the trip's reference. */
static void take_reply(struct cio__smsg *m)
{
	cio_future *f = &m->fut;

	if (f->state == CIO__FUT_PENDING)
		cio__future_complete(f, (enum cio__fut_state)m->state,
				     m->value);
	cio__future_put(f);
}

static void drain(struct cio__shard *sh, struct cio__spsc *r)
{
	unsigned h = atomic_load_explicit(&r->head, memory_order_relaxed);
	unsigned t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h == t)
		return;
	for (; h != t; h++) {
		struct cio__smsg *m = r->slot[h & r->mask];
		if (m->reply)
			take_reply(m);
		else
			run_request(sh, m);
	}
	atomic_store(&r->head, h);
	if (atomic_load(&r->want_space) &&
	    atomic_exchange(&r->want_space, 0))
		cio__loop_post_threadsafe(sh->rt->shards[r->from].loop,
					  &r->space);
}

static void bell_work(struct cio__work *w, bool discard)
{
	struct cio__shard *sh = cio__container_of(w, struct cio__shard, bell);
	struct cio__rt *rt = sh->rt;

	if (discard)
		return;
	atomic_store(&sh->doorbell, 0);
	for (unsigned from = 0; from < rt->n; from++)
		if (from != sh->id)
			drain(sh, cio__ring(rt, from, sh->id));
}

void cio__shard_msg_init(struct cio__shard *sh)
{
	struct cio__rt *rt = sh->rt;

	sh->bell.fn = bell_work;
	for (unsigned to = 0; to < rt->n; to++) {
		struct cio__outq *q = &sh->out[to];
		q->head = NULL;
		q->tailp = &q->head;
		cio__waitq_init(&q->senders);
		cio__ring(rt, sh->id, to)->space.fn = space_work;
	}
}

/* -- public ----------------------------------------------------------------- */

/* Runs fn for a submission to our own shard, as a task, with the same
 * outcome rules. */
static int submit_local(struct cio__shard *sh, struct cio__smsg *m)
{
	struct cio_task_opts o = { .loop = sh->loop };
	int ret;

	if ((ret = cio_spawn(&m->task, m->fn, m->arg, &o)) < 0)
		return ret;
	cio__fut_cb_init(&m->done, request_done);
	cio__future_add_cb(cio_task_future(m->task), &m->done);
	return 0;
}

int cio_submit_to(unsigned shard, cio_task_fn fn, void *arg,
		  cio_future **out)
{
	struct cio__shard *sh = cio__tls_shard;
	struct cio__smsg *m;
	int ret;

	if (out)
		*out = NULL;
	if (!sh)
		return -EPERM;
	if (!fn || shard >= sh->rt->n)
		return -EINVAL;
	if (sh->stopping ||
	    atomic_load_explicit(&sh->rt->shutting_down, memory_order_relaxed))
		return -ESHUTDOWN;
	if (!(m = msg_get(sh)))
		return -ENOMEM;
	m->fn = fn;
	m->arg = arg;
	m->task = NULL;
	m->origin = (uint16_t)sh->id;
	m->target = (uint16_t)shard;
	m->reply = false;
	if (shard == sh->id)
		ret = submit_local(sh, m);
	else
		ret = send_request(sh, shard, m);
	if (ret < 0) {
		m->next = sh->free_msgs;
		sh->free_msgs = m;
		return ret;
	}
	/* The target may already be running fn; it never touches `fut`, and
	 * the reply can only be taken on this thread, after we return. */
	cio__future_init(&m->fut, sh->loop, &submit_ops);
	if (out) {
		m->fut.refs++;
		*out = &m->fut;
	} else {
		m->fut.retrieved = true; /* nobody will read it */
	}
	return 0;
}

int cio_broadcast(cio_task_fn fn, void *arg, intptr_t *results)
{
	struct cio__shard *sh = cio__tls_shard;
	cio_future **futs;
	unsigned n;
	int first = 0, ret;

	if (!sh || !cio__tls_task)
		return -EPERM;
	if (!fn)
		return -EINVAL;
	n = sh->rt->n;
	if (!(futs = calloc(n, sizeof(*futs))))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		ret = cio_submit_to(i, fn, arg, &futs[i]);
		if (ret == -ECANCELED) {
			first = ret; /* we were cancelled waiting for room */
			goto out;
		}
		if (ret < 0) {
			if (results)
				results[i] = ret;
			if (!first)
				first = ret;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		intptr_t v;
		if (!futs[i])
			continue;
		v = cio_await(futs[i]);
		if (v == -ECANCELED &&
		    cio_task_cancelling(cio_current_task()) > 0) {
			first = -ECANCELED;
			goto out;
		}
		if (results)
			results[i] = v;
		if (!first && (ret = cio_future_error(futs[i])) < 0)
			first = ret;
	}
out:
	for (unsigned i = 0; i < n; i++)
		if (futs[i])
			cio_future_unref(futs[i]);
	free(futs);
	return first;
}

/* -- teardown --------------------------------------------------------------- */

void cio__rings_free(struct cio__rt *rt)
{
	if (!rt->rings)
		return;
	/* Threads are joined: whatever is still in a ring or an overflow list
	 * is dropped here, single-threaded. */
	for (unsigned from = 0; from < rt->n; from++) {
		for (unsigned to = 0; to < rt->n; to++) {
			struct cio__spsc *r = cio__ring(rt, from, to);
			if (!r->slot)
				continue;
			for (unsigned h = atomic_load(&r->head),
				      t = atomic_load(&r->tail);
			     h != t; h++)
				cio__future_put(&r->slot[h & r->mask]->fut);
			free(r->slot);
		}
	}
	for (unsigned i = 0; rt->shards && i < rt->n; i++) {
		struct cio__shard *sh = &rt->shards[i];
		for (unsigned to = 0; sh->out && to < rt->n; to++) {
			struct cio__smsg *m = sh->out[to].head, *next;
			for (; m; m = next) {
				next = m->next;
				cio__future_put(&m->fut);
			}
		}
	}
	for (unsigned i = 0; rt->shards && i < rt->n; i++) {
		struct cio__smsg *m = rt->shards[i].free_msgs, *next;
		for (; m; m = next) {
			next = m->next;
			free(m);
		}
		rt->shards[i].free_msgs = NULL;
	}
	free(rt->rings);
	rt->rings = NULL;
}
