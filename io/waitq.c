/* Internal wait queue: the park protocol of runtime/task_internal.h with a
 * list node and a deadline timer on the waiting task's stack. */
#include "io/waitq.h"
#include "runtime/task_internal.h"

struct waiter {
	struct cio__list node;
	cio_task *task;
	struct cio__timer timer;
};

static void waiter_leave(struct waiter *w)
{
	cio__list_del(&w->node);
	cio__timer_del(&w->task->fut.loop->timers, &w->timer);
}

static void waiter_cancel(cio_task *t, void *ctx)
{
	waiter_leave(ctx);
	cio__task_wake(t, -ECANCELED);
}

static void waiter_abandon(cio_task *t, void *ctx)
{
	(void)t;
	waiter_leave(ctx);
}

/* Stay parked: the cancellation is delivered by the next await. */
static void waiter_cancel_later(cio_task *t, void *ctx)
{
	(void)t;
	(void)ctx;
}

static const struct cio__park_ops waiter_park = {
	.cancel = waiter_cancel,
	.abandon = waiter_abandon,
};

static const struct cio__park_ops waiter_park_uncancellable = {
	.cancel = waiter_cancel_later,
	.abandon = waiter_abandon,
};

static void waiter_timeout(struct cio__timer *tm)
{
	struct waiter *w = cio__container_of(tm, struct waiter, timer);

	/* Timers still fire while a closing loop tears its tasks down. */
	if (w->task->fut.loop->closed)
		return;
	cio__list_del(&w->node);
	cio__task_wake(w->task, -ETIMEDOUT);
}

static int wait(struct cio__waitq *q, int64_t deadline, bool cancellable)
{
	cio_task *t = cio__tls_task;
	struct waiter w;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if (cancellable && (ret = cio__task_check_cancel(t)) < 0)
		return ret;
	w.task = t;
	cio__timer_init(&w.timer, waiter_timeout);
	if (deadline != CIO_NO_DEADLINE) {
		if (deadline <= cio_loop_time())
			return -ETIMEDOUT;
		ret = cio__timer_add(&t->fut.loop->timers, &w.timer, deadline);
		if (ret < 0)
			return ret;
	}
	cio__list_add_tail(&q->waiters, &w.node);
	v = cio__task_park(cancellable ? &waiter_park
				       : &waiter_park_uncancellable, &w);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return (int)v;
}

int cio__waitq_wait(struct cio__waitq *q, int64_t deadline)
{
	return wait(q, deadline, true);
}

int cio__waitq_wait_uncancellable(struct cio__waitq *q)
{
	return wait(q, CIO_NO_DEADLINE, false);
}

void cio__waitq_wake_all(struct cio__waitq *q, int value)
{
	while (!cio__list_empty(&q->waiters)) {
		struct waiter *w = cio__container_of(q->waiters.next,
						     struct waiter, node);
		waiter_leave(w);
		cio__task_wake(w->task, value);
	}
}
