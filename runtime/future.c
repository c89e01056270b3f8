/* Futures: state, done callbacks, references. */
#include "runtime/future_internal.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cio__future_ops plain_ops = {
	.kind = "future",
	.settable = true,
};

static void run_callbacks(struct cio__work *w, bool discard);
static int remove_from(struct cio__list *head, cio_future_cb fn, void *arg,
		       bool all);

void cio__future_init(cio_future *fut, cio_loop *loop,
		      const struct cio__future_ops *ops)
{
	fut->loop = loop;
	fut->ops = ops ? ops : &plain_ops;
	fut->refs = 1;
	fut->state = CIO__FUT_PENDING;
	fut->retrieved = fut->reported = fut->cb_queued = false;
	fut->value = 0;
	cio__list_init(&fut->cbs);
	fut->batch = NULL;
	fut->cb_work.fn = run_callbacks;
	fut->cb_work.next = NULL;
	cio__loop_obj_get(loop);
}

int cio_future_new(cio_loop *loop, cio_future **out)
{
	cio_future *fut;

	if (!out)
		return -EINVAL;
	*out = NULL;
	loop = cio__loop_or_current(loop);
	if (!loop || loop->closed)
		return -EINVAL;
	if (!(fut = malloc(sizeof(*fut))))
		return -ENOMEM;
	cio__future_init(fut, loop, NULL);
	*out = fut;
	return 0;
}

cio_future *cio_future_ref(cio_future *fut)
{
	if (fut)
		fut->refs++;
	return fut;
}

static const char *future_label(cio_future *fut, char *buf, size_t n)
{
	if (fut->ops->kind && strcmp(fut->ops->kind, "task") == 0) {
		snprintf(buf, n, "task '%s'", cio_task_name(cio__task_of(fut)));
		return buf;
	}
	snprintf(buf, n, "%s %p", fut->ops->kind, (void *)fut);
	return buf;
}

void cio__future_report_unretrieved(cio_future *fut)
{
	char label[80];
	int err;

	if (fut->state != CIO__FUT_ERROR || fut->retrieved || fut->reported)
		return;
	fut->reported = true;
	err = (int)fut->value;
	cio__loop_report(fut->loop, CIO_REPORT_ERROR_NEVER_RETRIEVED,
			 cio_future_task(fut), fut, err,
			 "%s error never retrieved: %s (%d)",
			 future_label(fut, label, sizeof(label)),
			 strerror(-err), err);
}

void cio_future_unref(cio_future *fut)
{
	if (fut)
		cio__future_put(fut);
}

void cio__future_free(cio_future *fut)
{
	cio_loop *loop = fut->loop;

	cio__future_report_unretrieved(fut);
	/* Nothing may still wait on a future nobody references; a node left
	 * here belongs to an object that forgot to unregister. Public
	 * callbacks that never ran belong to the future and go with it. */
	remove_from(&fut->cbs, NULL, NULL, true);
	cio__list_init(&fut->cbs);
	if (fut->ops->destroy)
		fut->ops->destroy(fut);
	else
		free(fut);
	cio__loop_obj_put(loop);
}

static void queue_callbacks(cio_future *fut)
{
	struct cio__list *only = fut->cbs.next;

	if (fut->cb_queued || fut->loop->closed || cio__list_empty(&fut->cbs))
		return;
	/* One task in cio_await() and nothing else: queue the task's own step
	 * where the callbacks' work would have gone. Same iteration, same
	 * place in the ready queue, same value, so asyncio's order holds; the
	 * task is just woken one hop (and one frame) sooner. */
	if (only->next == &fut->cbs &&
	    cio__container_of(only, struct cio__fut_cb, link)->fn ==
		    cio__await_wakeup) {
		cio__list_del(only);
		cio__task_wake(cio__container_of(only, cio_task, waiter.link),
			       cio__future_take(fut));
		return;
	}
	fut->cb_queued = true;
	fut->refs++; /* held by the queued work */
	cio__loop_schedule(fut->loop, &fut->cb_work);
}

/* Runs the callbacks registered when it starts, in order. Callbacks added
 * meanwhile are queued again for the next iteration; callbacks removed
 * meanwhile (even from this batch) do not run. */
static void run_callbacks(struct cio__work *w, bool discard)
{
	cio_future *fut = cio__container_of(w, cio_future, cb_work);
	struct cio__list batch;

	fut->cb_queued = false;
	if (!discard) {
		cio__list_splice_init(&fut->cbs, &batch);
		fut->batch = &batch;
		while (!cio__list_empty(&batch)) {
			struct cio__list *n = batch.next;
			struct cio__fut_cb *cb =
				cio__container_of(n, struct cio__fut_cb, link);
			cio__list_del(n);
			cb->fn(cb, fut);
		}
		fut->batch = NULL;
	}
	cio__future_put(fut);
}

void cio__future_add_cb(cio_future *fut, struct cio__fut_cb *cb)
{
	cio__list_add_tail(&fut->cbs, &cb->link);
	if (fut->state != CIO__FUT_PENDING)
		queue_callbacks(fut);
}

int cio__future_complete(cio_future *fut, enum cio__fut_state state,
			 intptr_t value)
{
	if (fut->state != CIO__FUT_PENDING)
		return -EINVAL;
	fut->state = (uint8_t)state;
	fut->value = value;
	queue_callbacks(fut);
	return 0;
}

int cio_future_set_result(cio_future *fut, intptr_t value)
{
	if (!fut || !fut->ops->settable)
		return -EINVAL;
	return cio__future_complete(fut, CIO__FUT_RESULT, value);
}

int cio_future_set_error(cio_future *fut, int error)
{
	if (!fut || !fut->ops->settable || !CIO_IS_ERR(error) ||
	    error == -ECANCELED)
		return -EINVAL;
	return cio__future_complete(fut, CIO__FUT_ERROR, error);
}

int cio__future_cancel_plain(cio_future *fut)
{
	return cio__future_complete(fut, CIO__FUT_CANCELLED, -ECANCELED) == 0;
}

int cio_future_cancel(cio_future *fut)
{
	if (!fut || fut->state != CIO__FUT_PENDING)
		return 0;
	if (fut->ops->cancel)
		return fut->ops->cancel(fut);
	return cio__future_cancel_plain(fut);
}

bool cio_future_done(const cio_future *fut)
{
	return fut && fut->state != CIO__FUT_PENDING;
}

bool cio_future_cancelled(const cio_future *fut)
{
	return fut && fut->state == CIO__FUT_CANCELLED;
}

intptr_t cio__future_take(cio_future *fut)
{
	fut->retrieved = true;
	switch (fut->state) {
	case CIO__FUT_RESULT:
	case CIO__FUT_ERROR:
		return fut->value;
	case CIO__FUT_CANCELLED:
		return -ECANCELED;
	default:
		return -EAGAIN;
	}
}

int cio_future_result(cio_future *fut, intptr_t *value)
{
	if (!fut)
		return -EINVAL;
	switch (fut->state) {
	case CIO__FUT_PENDING:
		return -EAGAIN;
	case CIO__FUT_RESULT:
		fut->retrieved = true;
		if (value)
			*value = fut->value;
		return 0;
	default:
		return (int)cio__future_take(fut);
	}
}

int cio_future_error(cio_future *fut)
{
	if (!fut)
		return -EINVAL;
	if (fut->state == CIO__FUT_RESULT) {
		fut->retrieved = true;
		return 0;
	}
	return cio_future_result(fut, NULL);
}

cio_loop *cio_future_loop(const cio_future *fut)
{
	return fut ? fut->loop : NULL;
}

/* Public callbacks need a node of their own; it frees itself after
 * running. */
struct user_cb {
	struct cio__fut_cb cb;
	cio_future_cb fn;
	void *arg;
};

static void user_cb_run(struct cio__fut_cb *cb, cio_future *fut)
{
	struct user_cb *u = cio__container_of(cb, struct user_cb, cb);
	cio_future_cb fn = u->fn;
	void *arg = u->arg;
	free(u);
	fn(fut, arg);
}

int cio_future_add_done_callback(cio_future *fut, cio_future_cb fn, void *arg)
{
	struct user_cb *u;

	if (!fut || !fn || fut->loop->closed)
		return -EINVAL; /* a closed loop would never run it */
	if (!(u = malloc(sizeof(*u))))
		return -ENOMEM;
	cio__fut_cb_init(&u->cb, user_cb_run);
	u->fn = fn;
	u->arg = arg;
	cio__future_add_cb(fut, &u->cb);
	return 0;
}

/* Unlink and free the public callbacks registered as (fn, arg), or all of
 * them; internal nodes are left alone. */
static int remove_from(struct cio__list *head, cio_future_cb fn, void *arg,
		       bool all)
{
	struct cio__list *n, *next;
	int removed = 0;

	for (n = head->next; n != head; n = next) {
		struct cio__fut_cb *cb =
			cio__container_of(n, struct cio__fut_cb, link);
		next = n->next;
		if (cb->fn != user_cb_run)
			continue;
		struct user_cb *u = cio__container_of(cb, struct user_cb, cb);
		if (all || (u->fn == fn && u->arg == arg)) {
			cio__list_del(n);
			free(u);
			removed++;
		}
	}
	return removed;
}

int cio_future_remove_done_callback(cio_future *fut, cio_future_cb fn,
				    void *arg)
{
	int removed;

	if (!fut)
		return 0;
	removed = remove_from(&fut->cbs, fn, arg, false);
	if (fut->batch)
		removed += remove_from(fut->batch, fn, arg, false);
	return removed;
}
