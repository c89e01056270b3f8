/* gather: one future for many, as asyncio.gather. */
#include "runtime/combinators.h"
#include "runtime/future_internal.h"
#include "runtime/loop_internal.h"

#include <stdlib.h>

struct gather;

/* One per input slot, so a future listed twice simply has two nodes. */
struct gather_child {
	struct cio__fut_cb cb;
	cio_future *fut;      /* referenced while cb is linked */
	struct gather *g;
};

struct gather {
	struct cio_future fut;
	size_t n;
	size_t nfinished;
	unsigned flags;
	bool cancel_requested;
	intptr_t *results;    /* n values, after ch[] in the same block */
	struct gather_child ch[];
};

static int gather_cancel(cio_future *fut);
static void gather_destroy(cio_future *fut);

static const struct cio__future_ops gather_ops = {
	.kind = "gather",
	.cancel = gather_cancel,
	.destroy = gather_destroy,
	.settable = false,
};

static struct gather *gather_of(cio_future *fut)
{
	return cio__container_of(fut, struct gather, fut);
}

/* A child's outcome. Reading it marks it retrieved: the gather consumes it
 * even when it is done already, as asyncio's gather calls exception() on
 * every child. */
static void child_finished(struct gather *g, size_t i, cio_future *child)
{
	intptr_t v = cio__future_take(child);

	g->results[i] = v;
	g->nfinished++;
	if (g->fut.state != CIO__FUT_PENDING)
		return;
	if (!g->cancel_requested && !(g->flags & CIO_GATHER_RETURN_ERRORS)) {
		if (child->state == CIO__FUT_CANCELLED) {
			cio__future_complete(&g->fut, CIO__FUT_CANCELLED,
					     -ECANCELED);
			return;
		}
		if (child->state == CIO__FUT_ERROR) {
			cio__future_complete(&g->fut, CIO__FUT_ERROR, v);
			return;
		}
	}
	if (g->nfinished < g->n)
		return;
	/* A cancelled gather ends cancelled only now: its children had the
	 * time to run their clean-up, whatever they finally returned. */
	if (g->cancel_requested)
		cio__future_complete(&g->fut, CIO__FUT_CANCELLED, -ECANCELED);
	else
		cio__future_complete(&g->fut, CIO__FUT_RESULT, 0);
}

static void child_done(struct cio__fut_cb *cb, cio_future *child)
{
	struct gather_child *c = cio__container_of(cb, struct gather_child, cb);
	struct gather *g = c->g;

	child_finished(g, (size_t)(c - g->ch), child);
	c->fut = NULL;
	/* The child's callback batch holds its own reference. */
	cio_future_unref(child);
}

static int gather_cancel(cio_future *fut)
{
	struct gather *g = gather_of(fut);
	int ret = 0;

	for (size_t i = 0; i < g->n; i++) {
		if (g->ch[i].fut && cio_future_cancel(g->ch[i].fut))
			ret = 1;
	}
	/* Nothing left to cancel (the children are done, their callbacks
	 * not run yet): the gather ends as it would have. */
	if (ret)
		g->cancel_requested = true;
	return ret;
}

static void gather_destroy(cio_future *fut)
{
	struct gather *g = gather_of(fut);

	for (size_t i = 0; i < g->n; i++) {
		cio_future *child = g->ch[i].fut;
		if (!child)
			continue;
		cio__future_del_cb(&g->ch[i].cb);
		g->ch[i].fut = NULL;
		cio_future_unref(child);
	}
	free(g);
}

static int check_children(cio_future *const *children, size_t n,
			  cio_loop **loopp)
{
	cio_loop *loop;

	if (n == 0) {
		loop = cio_loop_current();
	} else {
		if (!children || !children[0])
			return -EINVAL;
		loop = children[0]->loop;
		for (size_t i = 1; i < n; i++)
			if (!children[i] || children[i]->loop != loop)
				return -EINVAL;
	}
	if (!loop || loop->closed)
		return -EINVAL;
	*loopp = loop;
	return 0;
}

int cio_gather(cio_future **out, cio_future *const *children, size_t n,
	       unsigned flags)
{
	struct gather *g;
	cio_loop *loop;
	size_t size;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (flags & ~CIO_GATHER_RETURN_ERRORS)
		return -EINVAL;
	if ((ret = check_children(children, n, &loop)) < 0)
		return ret;
	if (n > (SIZE_MAX - sizeof(*g)) /
		    (sizeof(g->ch[0]) + sizeof(intptr_t)))
		return -ENOMEM;
	size = sizeof(*g) + n * (sizeof(g->ch[0]) + sizeof(intptr_t));
	if (!(g = malloc(size)))
		return -ENOMEM;
	cio__future_init(&g->fut, loop, &gather_ops);
	g->n = n;
	g->nfinished = 0;
	g->flags = flags;
	g->cancel_requested = false;
	g->results = (intptr_t *)(void *)&g->ch[n];
	for (size_t i = 0; i < n; i++) {
		struct gather_child *c = &g->ch[i];
		cio__fut_cb_init(&c->cb, child_done);
		c->g = g;
		c->fut = NULL;
		g->results[i] = 0;
	}
	/* Children done already are taken now, in input order, so the first
	 * failure in the list is the one reported, as asyncio does. */
	for (size_t i = 0; i < n; i++) {
		cio_future *child = children[i];
		if (child->state != CIO__FUT_PENDING) {
			child_finished(g, i, child);
			continue;
		}
		g->ch[i].fut = cio_future_ref(child);
		cio__future_add_cb(child, &g->ch[i].cb);
	}
	if (n == 0)
		cio__future_complete(&g->fut, CIO__FUT_RESULT, 0);
	*out = &g->fut;
	return 0;
}

const intptr_t *cio_gather_results(cio_future *fut)
{
	if (!fut || fut->ops != &gather_ops || fut->state != CIO__FUT_RESULT)
		return NULL;
	return gather_of(fut)->results;
}
