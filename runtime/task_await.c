/* The await points of a task: futures, sleeps, yields, kernel operations.
 * Each parks with its own cancel/abandon pair (see task_internal.h). */
#include "runtime/task_internal.h"
#include "runtime/loop_internal.h"

/* -- awaiting a future ---------------------------------------------------- */

void cio__await_wakeup(struct cio__fut_cb *cb, cio_future *fut)
{
	cio_task *t = cio__container_of(cb, cio_task, waiter);
	/* Done callbacks run on the scheduler's stack: switch straight in,
	 * as asyncio's Task.__wakeup calls __step directly. */
	cio__task_resume_now(t, cio__future_take(fut));
}

/* Cancel what we wait for and keep waiting: its end, cancelled or not,
 * is what wakes us (DESIGN.md section 3). */
static void await_cancel(cio_task *t, void *ctx)
{
	(void)t;
	cio_future_cancel(ctx);
}

static void await_abandon(cio_task *t, void *ctx)
{
	cio__future_del_cb(&t->waiter);
	/* cio_await() drops its reference when it returns, which a task
	 * destroyed at loop close never does. */
	cio_future_unref(ctx);
}

static const struct cio__park_ops await_park = {
	.cancel = await_cancel,
	.abandon = await_abandon,
};

intptr_t cio_await(cio_future *fut)
{
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	if ((ret = cio__await_check(t, fut)) < 0 ||
	    (ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (fut->state != CIO__FUT_PENDING)
		return cio__future_take(fut);
	cio_future_ref(fut);
	t->waiter.fn = cio__await_wakeup;
	cio__future_add_cb(fut, &t->waiter);
	v = cio__task_park(&await_park, fut);
	cio__future_put(fut);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return v;
}

/* A task is its future: this compiles to a jump, adding no frame (and no
 * return to mispredict) between the caller and the park. */
intptr_t cio_await_task(cio_task *task)
{
	return cio_await((cio_future *)task);
}

/* -- sleeping --------------------------------------------------------------- */

static void sleep_fire(struct cio__timer *timer)
{
	cio_task *t = cio__container_of(timer, cio_task, sleep_timer);
	if (!t->fut.loop->closed)
		cio__task_wake(t, 0);
}

static void sleep_cancel(cio_task *t, void *ctx)
{
	(void)ctx;
	cio__timer_del(&t->fut.loop->timers, &t->sleep_timer);
	cio__task_wake(t, -ECANCELED);
}

static void sleep_abandon(cio_task *t, void *ctx)
{
	(void)ctx;
	cio__timer_del(&t->fut.loop->timers, &t->sleep_timer);
}

static const struct cio__park_ops sleep_park = {
	.cancel = sleep_cancel,
	.abandon = sleep_abandon,
};

/* A yield is queued already when it parks; a cancellation only changes what
 * it will return. */
static void yield_cancel(cio_task *t, void *ctx)
{
	(void)ctx;
	t->resume_value = -ECANCELED;
	t->park_ops = NULL;
}

static const struct cio__park_ops yield_park = {
	.cancel = yield_cancel,
};

int cio_yield(void)
{
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	t->resume_value = 0;
	cio__loop_schedule(t->fut.loop, &t->step);
	v = cio__task_park(&yield_park, NULL);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return (int)v;
}

int cio_sleep_until(int64_t deadline)
{
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if (deadline <= cio_loop_time())
		return cio_yield();
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	t->sleep_timer.fire = sleep_fire;
	ret = cio__timer_add(&t->fut.loop->timers, &t->sleep_timer, deadline);
	if (ret < 0)
		return ret;
	v = cio__task_park(&sleep_park, NULL);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return (int)v;
}

int cio_sleep(int64_t delay_ns)
{
	if (delay_ns <= 0)
		return cio_yield();
	return cio_sleep_until(cio_deadline_after(delay_ns));
}

/* -- kernel operations ------------------------------------------------------ */

static void op_done(struct cio__op *op)
{
	cio__task_wake(op->owner, op->res);
}

/* Ask the backend to cancel, once, and keep waiting for the completion:
 * the operation may still write into the task's stack until it arrives. */
static void op_cancel(cio_task *t, void *ctx)
{
	struct cio__op *op = ctx;
	if (!op->cancel_sent) {
		op->cancel_sent = true;
		t->fut.loop->be->cancel(t->fut.loop->be_data, op);
	}
}

static void op_abandoned(struct cio__op *op)
{
	(void)op;
}

/* Loop close with the task parked: the task is about to be destroyed,
 * but the operation may still complete while the backend drains. */
static void op_abandon(cio_task *t, void *ctx)
{
	struct cio__op *op = ctx;
	op->done = op_abandoned;
	op_cancel(t, ctx);
}

static const struct cio__park_ops op_park = {
	.cancel = op_cancel,
	.abandon = op_abandon,
};

intptr_t cio__op_await(struct cio__op *op)
{
	cio_task *t = cio__tls_task;
	cio_loop *loop;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	loop = t->fut.loop;
	op->done = op_done;
	op->owner = t;
	op->cancel_sent = false;
	ret = loop->be->submit(loop->be_data, op);
	if (ret < 0)
		return ret;
	v = cio__task_park(&op_park, op);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return v;
}

static void op_cancel_later(cio_task *t, void *ctx)
{
	/* Stay parked; the cancellation waits for the next await. */
	(void)t;
	(void)ctx;
}

static const struct cio__park_ops op_park_uncancellable = {
	.cancel = op_cancel_later,
	.abandon = op_abandon,
};

intptr_t cio__op_await_uncancellable(struct cio__op *op)
{
	cio_task *t = cio__tls_task;
	cio_loop *loop;
	int ret;

	if (!t)
		return -EPERM;
	loop = t->fut.loop;
	op->done = op_done;
	op->owner = t;
	op->cancel_sent = false;
	ret = loop->be->submit(loop->be_data, op);
	if (ret < 0)
		return ret;
	return cio__task_park(&op_park_uncancellable, op);
}
