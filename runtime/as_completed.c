/* as_completed: hand out futures in the order they complete, as
 * asyncio.as_completed, as an iterator. */
#include "runtime/combinators.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdlib.h>

struct ac_node {
	struct cio__fut_cb cb;
	cio_future *fut;            /* referenced until the iterator is freed */
	struct cio_as_completed *it;
};

struct cio_as_completed {
	cio_loop *loop;
	size_t n;
	/* Completed futures, appended once each: queue[nread..nqueued). */
	cio_future **queue;
	size_t nqueued, nread;
	cio_task *waiter;           /* parked in next(), or NULL */
	bool timed_out;
	struct cio__timer timer;
	struct ac_node nodes[];     /* queue follows, same block */
};

static void wake_waiter(cio_as_completed *it, intptr_t v, bool now)
{
	cio_task *t = it->waiter;

	if (!t)
		return;
	it->waiter = NULL;
	/* From a done callback we may switch into the task right away; it
	 * may then free the iterator, so this is the last use of `it`. */
	if (now)
		cio__task_resume_now(t, v);
	else
		cio__task_wake(t, v);
}

static void node_done(struct cio__fut_cb *cb, cio_future *fut)
{
	struct ac_node *node = cio__container_of(cb, struct ac_node, cb);
	cio_as_completed *it = node->it;

	it->queue[it->nqueued++] = fut;
	wake_waiter(it, 0, true);
}

static void unlink_nodes(cio_as_completed *it)
{
	for (size_t i = 0; i < it->n; i++)
		cio__future_del_cb(&it->nodes[i].cb);
}

/* Like asyncio's _on_timeout: what completed before the deadline is still
 * handed out, what completes after it is not. A future done by now whose
 * callbacks have not run yet completed in time too. */
static void deadline_fire(struct cio__timer *timer)
{
	cio_as_completed *it =
		cio__container_of(timer, cio_as_completed, timer);

	if (it->loop->closed)
		return;
	it->timed_out = true;
	for (size_t i = 0; i < it->n; i++) {
		struct ac_node *node = &it->nodes[i];
		if (!cio__fut_cb_linked(&node->cb))
			continue;
		cio__future_del_cb(&node->cb);
		if (node->fut->state != CIO__FUT_PENDING)
			it->queue[it->nqueued++] = node->fut;
	}
	wake_waiter(it, 0, false);
}

static void next_cancel(cio_task *t, void *ctx)
{
	(void)t;
	wake_waiter(ctx, -ECANCELED, false);
}

/* The loop closes under a parked next(): the nodes stay until free. */
static void next_abandon(cio_task *t, void *ctx)
{
	(void)t;
	((cio_as_completed *)ctx)->waiter = NULL;
}

static const struct cio__park_ops next_park = {
	.cancel = next_cancel,
	.abandon = next_abandon,
};

static int check_futs(cio_future *const *futs, size_t n, cio_loop **loopp)
{
	cio_loop *loop;

	*loopp = NULL;
	if (n == 0)
		return 0;
	if (!futs || !futs[0])
		return -EINVAL;
	loop = futs[0]->loop;
	for (size_t i = 1; i < n; i++)
		if (!futs[i] || futs[i]->loop != loop)
			return -EINVAL;
	if (loop->closed)
		return -EINVAL;
	*loopp = loop;
	return 0;
}

int cio_as_completed_new(cio_as_completed **out, cio_future *const *futs,
			 size_t n, int64_t deadline)
{
	const size_t per = sizeof(struct ac_node) + sizeof(cio_future *);
	cio_as_completed *it;
	cio_loop *loop;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if ((ret = check_futs(futs, n, &loop)) < 0)
		return ret;
	if (n > (SIZE_MAX - sizeof(*it)) / per)
		return -ENOMEM;
	if (!(it = malloc(sizeof(*it) + n * per)))
		return -ENOMEM;
	it->loop = loop;
	it->n = n;
	it->queue = (cio_future **)(void *)&it->nodes[n];
	it->nqueued = it->nread = 0;
	it->waiter = NULL;
	it->timed_out = false;
	cio__timer_init(&it->timer, deadline_fire);
	for (size_t i = 0; i < n; i++) {
		cio__fut_cb_init(&it->nodes[i].cb, node_done);
		it->nodes[i].it = it;
		it->nodes[i].fut = cio_future_ref(futs[i]);
		if (futs[i]->state != CIO__FUT_PENDING)
			it->queue[it->nqueued++] = futs[i];
	}
	if (it->nqueued == n || deadline == CIO_NO_DEADLINE) {
		/* nothing to time out */
	} else if (deadline <= cio_loop_time()) {
		it->timed_out = true;
	} else if ((ret = cio__timer_add(&loop->timers, &it->timer,
					 deadline)) < 0) {
		cio_as_completed_free(it);
		return ret;
	}
	if (!it->timed_out) {
		for (size_t i = 0; i < n; i++)
			if (futs[i]->state == CIO__FUT_PENDING)
				cio__future_add_cb(futs[i], &it->nodes[i].cb);
	}
	*out = it;
	return 0;
}

int cio_as_completed_next(cio_as_completed *it, cio_future **next)
{
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	if (!it || !next)
		return -EINVAL;
	*next = NULL;
	if (!t)
		return -EPERM;
	if (it->loop && it->loop != t->fut.loop)
		return -EINVAL;
	if (it->waiter)
		return -EBUSY; /* one waiter: the wake-up would be lost */
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	for (;;) {
		if (it->nread < it->nqueued) {
			*next = it->queue[it->nread++];
			return 1;
		}
		if (it->nread == it->n)
			return 0;
		if (it->timed_out)
			return -ETIMEDOUT;
		it->waiter = t;
		v = cio__task_park(&next_park, it);
		if (v == -ECANCELED) {
			t->cancel_pending = false;
			return -ECANCELED;
		}
	}
}

void cio_as_completed_free(cio_as_completed *it)
{
	if (!it)
		return;
	if (it->loop)
		cio__timer_del(&it->loop->timers, &it->timer);
	unlink_nodes(it);
	for (size_t i = 0; i < it->n; i++)
		cio_future_unref(it->nodes[i].fut);
	free(it);
}
