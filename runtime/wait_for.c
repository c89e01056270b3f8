/* wait_for: await a future with a deadline, as asyncio.wait_for in Python
 * 3.12: at the deadline the future is cancelled and still awaited, so a
 * task has run its clean-up by the time we return. */
#include "runtime/combinators.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

struct wait_for_ctx {
	cio_task *task;
	cio_future *fut;
	struct cio__fut_cb cb;
	struct cio__timer timer;
	bool timed_out;
};

static void fut_done(struct cio__fut_cb *cb, cio_future *fut)
{
	struct wait_for_ctx *w = cio__container_of(cb, struct wait_for_ctx, cb);

	/* Last use of `w`: the task runs from here and its frame may go. */
	cio__task_resume_now(w->task, cio__future_take(fut));
}

static void deadline_fire(struct cio__timer *timer)
{
	struct wait_for_ctx *w =
		cio__container_of(timer, struct wait_for_ctx, timer);

	if (w->fut->loop->closed)
		return;
	/* Done already (its callbacks not run yet): the outcome stands, as
	 * when it completes in the same iteration before the deadline. */
	if (w->fut->state != CIO__FUT_PENDING)
		return;
	w->timed_out = true;
	cio_future_cancel(w->fut);
}

static void wait_for_cancel(cio_task *t, void *ctx)
{
	struct wait_for_ctx *w = ctx;

	(void)t;
	cio_future_cancel(w->fut);
}

static void release(struct wait_for_ctx *w)
{
	cio__timer_del(&w->fut->loop->timers, &w->timer);
	cio__future_del_cb(&w->cb);
	cio_future_unref(w->fut);
}

static void wait_for_abandon(cio_task *t, void *ctx)
{
	(void)t;
	release(ctx);
}

static const struct cio__park_ops wait_for_park = {
	.cancel = wait_for_cancel,
	.abandon = wait_for_abandon,
};

intptr_t cio_wait_for(cio_future *fut, int64_t deadline)
{
	struct wait_for_ctx w;
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if (!fut || fut->loop != t->fut.loop)
		return -EINVAL;
	if (fut == &t->fut)
		return -EDEADLK;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (fut->state != CIO__FUT_PENDING)
		return cio__future_take(fut);
	w.task = t;
	w.fut = fut;
	w.timed_out = false;
	cio__fut_cb_init(&w.cb, fut_done);
	cio__timer_init(&w.timer, deadline_fire);
	if (deadline <= cio_loop_time()) {
		w.timed_out = true;
		cio_future_cancel(fut);
		/* A plain future ends at once; a task must be awaited. */
		if (fut->state != CIO__FUT_PENDING) {
			v = cio__future_take(fut);
			return v == -ECANCELED ? -ETIMEDOUT : v;
		}
	} else if (deadline != CIO_NO_DEADLINE) {
		ret = cio__timer_add(&fut->loop->timers, &w.timer, deadline);
		if (ret < 0)
			return ret;
	}
	cio_future_ref(fut);
	cio__future_add_cb(fut, &w.cb);
	v = cio__task_park(&wait_for_park, &w);
	release(&w);
	if (v != -ECANCELED)
		return v;
	/* The caller's own cancellation wins over the deadline, as an outer
	 * cancel wins over asyncio.timeout(). */
	if (w.timed_out && !t->cancel_pending)
		return -ETIMEDOUT;
	t->cancel_pending = false;
	return -ECANCELED;
}
