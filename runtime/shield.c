/* shield: an outer future that mirrors an inner one but whose cancellation
 * does not reach it, as asyncio.shield. */
#include "runtime/combinators.h"
#include "runtime/future_internal.h"
#include "runtime/loop_internal.h"

#include <stdlib.h>

struct shield {
	struct cio_future fut;
	struct cio__fut_cb cb;
	cio_future *inner;    /* referenced while cb is linked */
};

static void shield_destroy(cio_future *fut);

/* Cancelling the outer is a plain cancellation: it never touches inner. */
static const struct cio__future_ops shield_ops = {
	.kind = "shield",
	.destroy = shield_destroy,
	.settable = false,
};

/* Reading inner's outcome moves the duty to report an unread error to the
 * outer future, or drops it when the outer was cancelled (asyncio's
 * _inner_done_callback calls inner.exception() in both cases). */
static void mirror(cio_future *outer, cio_future *inner)
{
	intptr_t v = cio__future_take(inner);

	if (outer->state != CIO__FUT_PENDING)
		return;
	cio__future_complete(outer, (enum cio__fut_state)inner->state, v);
}

static void inner_done(struct cio__fut_cb *cb, cio_future *inner)
{
	struct shield *s = cio__container_of(cb, struct shield, cb);

	mirror(&s->fut, inner);
	s->inner = NULL;
	cio_future_unref(inner); /* the callback batch holds its own */
}

static void shield_destroy(cio_future *fut)
{
	struct shield *s = cio__container_of(fut, struct shield, fut);
	cio_future *inner = s->inner;

	if (inner) {
		cio__future_del_cb(&s->cb);
		/* Nobody will see inner's end through us any more; once we
		 * were cancelled it counts as read, as it would have in
		 * inner_done. */
		if (fut->state == CIO__FUT_CANCELLED)
			inner->retrieved = true;
		cio_future_unref(inner);
	}
	free(s);
}

int cio_shield(cio_future *inner, cio_future **out)
{
	struct shield *s;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!inner || inner->loop->closed)
		return -EINVAL;
	if (!(s = malloc(sizeof(*s))))
		return -ENOMEM;
	cio__future_init(&s->fut, inner->loop, &shield_ops);
	cio__fut_cb_init(&s->cb, inner_done);
	s->inner = NULL;
	if (inner->state != CIO__FUT_PENDING) {
		mirror(&s->fut, inner);
	} else {
		s->inner = cio_future_ref(inner);
		cio__future_add_cb(inner, &s->cb);
	}
	*out = &s->fut;
	return 0;
}
