/* wait: park until some or all of a set of futures are done, as
 * asyncio.wait. Nothing here cancels or reads the futures. */
#include "runtime/combinators.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdlib.h>

/* Nodes for this many futures live on the task's stack; more need one
 * allocation per wait. */
#define WAIT_LOCAL_NODES 8

struct wait_ctx;

struct wait_node {
	struct cio__fut_cb cb;
	struct wait_ctx *w;
};

struct wait_ctx {
	cio_task *task;
	cio_future *const *futs;
	struct wait_node *nodes;
	size_t n;
	size_t ndone;
	int return_when;
	bool woken;
	bool nodes_on_heap;
	struct cio__timer timer;
};

static bool is_error(const cio_future *f)
{
	return f->state == CIO__FUT_ERROR;
}

static void wake(struct wait_ctx *w, intptr_t v, bool now)
{
	cio_task *t = w->task;

	if (w->woken)
		return;
	w->woken = true;
	/* Done callbacks run on the scheduler's stack and may switch into
	 * the task; after that `w` (on the task's stack) is off limits. */
	if (now)
		cio__task_resume_now(t, v);
	else
		cio__task_wake(t, v);
}

static void node_done(struct cio__fut_cb *cb, cio_future *fut)
{
	struct wait_ctx *w = cio__container_of(cb, struct wait_node, cb)->w;

	w->ndone++;
	if (w->return_when == CIO_FIRST_COMPLETED ||
	    (w->return_when == CIO_FIRST_EXCEPTION && is_error(fut)) ||
	    w->ndone == w->n)
		wake(w, 0, true);
}

static void timer_fire(struct cio__timer *timer)
{
	struct wait_ctx *w = cio__container_of(timer, struct wait_ctx, timer);

	if (w->task->fut.loop->closed)
		return; /* abandon() unlinks the rest */
	wake(w, 0, false);
}

static void unlink_all(struct wait_ctx *w)
{
	cio__timer_del(&w->task->fut.loop->timers, &w->timer);
	for (size_t i = 0; i < w->n; i++)
		cio__future_del_cb(&w->nodes[i].cb);
}

static void release(struct wait_ctx *w)
{
	unlink_all(w);
	for (size_t i = 0; i < w->n; i++)
		cio_future_unref(w->futs[i]);
}

/* The futures go on; only the waiter leaves. */
static void wait_cancel(cio_task *t, void *ctx)
{
	(void)t;
	wake(ctx, -ECANCELED, false);
}

/* The task never resumes: drop what it would have dropped. */
static void wait_abandon(cio_task *t, void *ctx)
{
	struct wait_ctx *w = ctx;

	(void)t;
	release(w);
	if (w->nodes_on_heap)
		free(w->nodes);
}

static const struct cio__park_ops wait_park = {
	.cancel = wait_cancel,
	.abandon = wait_abandon,
};

static bool satisfied(cio_future *const *futs, size_t n, int return_when,
		      size_t *ndone)
{
	bool error = false;
	size_t d = 0;

	for (size_t i = 0; i < n; i++) {
		if (futs[i]->state == CIO__FUT_PENDING)
			continue;
		d++;
		error |= is_error(futs[i]);
	}
	*ndone = d;
	if (d == n)
		return true;
	if (return_when == CIO_FIRST_COMPLETED)
		return d > 0;
	return return_when == CIO_FIRST_EXCEPTION && error;
}

static void sort_out(cio_future *const *futs, size_t n, cio_future **done,
		     size_t *ndone, cio_future **pending, size_t *npending)
{
	size_t d = 0, p = 0;

	for (size_t i = 0; i < n; i++) {
		if (futs[i]->state != CIO__FUT_PENDING) {
			if (done)
				done[d] = futs[i];
			d++;
		} else {
			if (pending)
				pending[p] = futs[i];
			p++;
		}
	}
	if (ndone)
		*ndone = d;
	if (npending)
		*npending = p;
}

/* Park until the condition holds, the deadline passes or the task is
 * cancelled; returns what woke us (0 or -ECANCELED), or -ENOMEM. */
static intptr_t park(cio_task *t, cio_future *const *futs, size_t n,
		     size_t ndone, int64_t deadline, int return_when)
{
	struct wait_node local[WAIT_LOCAL_NODES];
	struct wait_ctx w = {
		.task = t, .futs = futs, .nodes = local, .n = n,
		.ndone = ndone, .return_when = return_when,
		.nodes_on_heap = n > WAIT_LOCAL_NODES,
	};
	intptr_t v;

	if (w.nodes_on_heap) {
		if (n > SIZE_MAX / sizeof(*w.nodes) ||
		    !(w.nodes = malloc(n * sizeof(*w.nodes))))
			return -ENOMEM;
	}
	cio__timer_init(&w.timer, timer_fire);
	if (deadline != CIO_NO_DEADLINE &&
	    cio__timer_add(&t->fut.loop->timers, &w.timer, deadline) < 0) {
		v = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cio__fut_cb_init(&w.nodes[i].cb, node_done);
		w.nodes[i].w = &w;
		cio_future_ref(futs[i]);
		if (futs[i]->state == CIO__FUT_PENDING)
			cio__future_add_cb(futs[i], &w.nodes[i].cb);
	}
	v = cio__task_park(&wait_park, &w);
	release(&w);
out:
	if (w.nodes_on_heap)
		free(w.nodes);
	return v;
}

int cio_wait(cio_future *const *futs, size_t n, int64_t deadline,
	     int return_when, cio_future **done, size_t *ndone,
	     cio_future **pending, size_t *npending)
{
	cio_task *t = cio__tls_task;
	size_t already;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if (!futs || n == 0 || (return_when != CIO_ALL_COMPLETED &&
				return_when != CIO_FIRST_COMPLETED &&
				return_when != CIO_FIRST_EXCEPTION))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!futs[i] || futs[i]->loop != t->fut.loop)
			return -EINVAL;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (!satisfied(futs, n, return_when, &already) &&
	    deadline > cio_loop_time()) {
		v = park(t, futs, n, already, deadline, return_when);
		if (v == -ECANCELED)
			t->cancel_pending = false;
		if (v < 0)
			return (int)v;
	}
	sort_out(futs, n, done, ndone, pending, npending);
	return 0;
}
