/* Waiter lists of sync/: the park protocol of runtime/task_internal.h with
 * a list node and a deadline timer on the waiting task's stack. */
#include "sync/waiter.h"
#include "runtime/task_internal.h"

static void leave(struct cio__sync_waiter *w)
{
	cio__list_del(&w->node);
	w->list->n--;
	if (cio__timer_armed(&w->timer))
		cio__timer_del(&w->task->fut.loop->timers, &w->timer);
}

static void waiter_cancel(cio_task *t, void *ctx)
{
	leave(ctx);
	cio__task_wake(t, -ECANCELED);
}

/* The task is destroyed with its loop and never resumes: it stops being a
 * user here and now. */
static void waiter_abandon(cio_task *t, void *ctx)
{
	struct cio__sync_waiter *w = ctx;

	(void)t;
	leave(w);
	w->list->users--;
}

static void waiter_cancel_later(cio_task *t, void *ctx)
{
	(void)t;
	(void)ctx;
}

static const struct cio__park_ops park_ops = {
	.cancel = waiter_cancel,
	.abandon = waiter_abandon,
};

static const struct cio__park_ops park_ops_uncancellable = {
	.cancel = waiter_cancel_later,
	.abandon = waiter_abandon,
};

static void waiter_timeout(struct cio__timer *tm)
{
	struct cio__sync_waiter *w =
		cio__container_of(tm, struct cio__sync_waiter, timer);

	/* Timers still fire while a closing loop tears its tasks down; the
	 * abandon above unlinks the waiter then. */
	if (w->task->fut.loop->closed)
		return;
	cio__list_del(&w->node);
	w->list->n--;
	cio__task_wake(w->task, -ETIMEDOUT);
}

int cio__sync_wait(struct cio__sync_list *l, struct cio__sync_waiter *w,
		   int64_t deadline, unsigned flags)
{
	cio_task *t = cio__tls_task;
	cio_loop *loop = t->fut.loop;
	intptr_t v;
	int ret;

	if (l->users && l->loop != loop)
		return -EINVAL;
	cio__timer_init(&w->timer, waiter_timeout);
	if (deadline != CIO_NO_DEADLINE) {
		if (deadline <= cio_loop_time())
			return -ETIMEDOUT;
		ret = cio__timer_add(&loop->timers, &w->timer, deadline);
		if (ret < 0)
			return ret;
	}
	w->list = l;
	w->task = t;
	cio__list_add_tail(&l->head, &w->node);
	l->n++;
	l->users++;
	l->loop = loop;
	v = cio__task_park(flags & CIO__SYNC_UNCANCELLABLE
				   ? &park_ops_uncancellable
				   : &park_ops,
			   w);
	l->users--;
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return (int)v;
}

void cio__sync_wake(struct cio__sync_waiter *w, int res)
{
	leave(w);
	cio__task_wake(w->task, res);
}

size_t cio__sync_wake_all(struct cio__sync_list *l, int res)
{
	size_t n = 0;

	while (l->n) {
		cio__sync_wake(cio__sync_first(l), res);
		n++;
	}
	return n;
}
