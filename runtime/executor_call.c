/* Executor jobs with a future: cio_run_in_executor(), cio_to_thread().
 *
 * A record (struct cio__exec_call) is both the future, which lives on the
 * loop's thread with plain reference counts, and the job, which a pool
 * thread runs. Either side may be the last to let go, so `flags` (atomic)
 * says who still holds the record:
 *
 *   GONE      the future's last reference is gone (call_destroy())
 *   POSTING   a pool thread is posting the result to the loop
 *   POSTED    ... and it did: call_done() will run on the loop's thread
 *   FINISHED  fn returned, or was skipped (cancelling shutdown)
 *   RELEASED  the job side is over: taken out of the queue, or
 *             call_done() ran
 *
 * The rule that keeps the loop safe: a pool thread posts only while the
 * future is not GONE, and call_destroy() does not return while POSTING is
 * set, so the future's reference on the loop (which keeps the loop struct
 * allocated) outlives every post. A pool thread that finds the future GONE
 * frees the record itself and never touches the loop: that is how a job
 * that outlives its closed loop ends. Who frees:
 *
 *   GONE seen by the pool thread before posting     the pool thread
 *   posted                                           call_done()
 *   post failed (closed loop), or job side RELEASED  call_destroy()
 */
#include "runtime/executor_internal.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <sched.h>
#include <stdlib.h>

enum {
	CALL_GONE = 1u << 0,
	CALL_POSTING = 1u << 1,
	CALL_POSTED = 1u << 2,
	CALL_FINISHED = 1u << 3,
	CALL_RELEASED = 1u << 4,
};

static void call_free(struct cio__exec_call *c)
{
	if (c->release)
		c->release(c, c->delivered);
	else
		free(c);
}

/* The pool thread clears POSTING a few instructions after its post; the
 * loop's side waits that out before it lets go (as close waits for
 * producers in cio__loop_close_inbox()). */
static unsigned wait_posted(struct cio__exec_call *c)
{
	unsigned s;

	while ((s = atomic_load_explicit(&c->flags, memory_order_acquire)) &
	       CALL_POSTING)
		sched_yield();
	return s;
}

/* On a pool thread. */
static void call_run(struct cio__exec_job *job)
{
	struct cio__exec_call *c =
		cio__container_of(job, struct cio__exec_call, job);
	unsigned s;

	/* Releasing the future does not cancel the job (asyncio: dropping
	 * the future leaves the work running); only a shutdown does. */
	c->result = job->cancelled ? -ECANCELED : c->fn(c->arg);
	s = atomic_load_explicit(&c->flags, memory_order_acquire);
	do {
		if (s & CALL_GONE) {
			call_free(c); /* nobody wants it, the loop may be gone */
			return;
		}
	} while (!atomic_compare_exchange_weak_explicit(
		&c->flags, &s, s | CALL_POSTING | CALL_FINISHED,
		memory_order_acq_rel, memory_order_acquire));
	/* Last touches of the record: call_done() or call_destroy() may free
	 * it the moment POSTING is clear. */
	if (cio__loop_post_threadsafe(c->job.loop, &c->job.work) == 0)
		atomic_fetch_xor_explicit(&c->flags, CALL_POSTING | CALL_POSTED,
					  memory_order_release);
	else
		atomic_fetch_and_explicit(&c->flags, ~(unsigned)CALL_POSTING,
					  memory_order_release);
}

/* On the loop's thread, from the inbox; discard: the loop is closing. */
static void call_done(struct cio__work *w, bool discard)
{
	struct cio__exec_call *c =
		cio__container_of(w, struct cio__exec_call, job.work);
	cio_future *fut = &c->fut;
	intptr_t v;
	unsigned s;

	wait_posted(c);
	v = c->result;
	s = atomic_fetch_or_explicit(&c->flags, CALL_RELEASED,
				     memory_order_acq_rel);
	if (s & CALL_GONE) {
		call_free(c);
		return;
	}
	/* A future cancelled while its job ran is done already: the result
	 * is dropped, as asyncio's wrap_future drops it. At close the future
	 * stays pending, like every other future of the loop. */
	if (discard || fut->state != CIO__FUT_PENDING)
		return;
	if (v == -ECANCELED) {
		cio__future_complete(fut, CIO__FUT_CANCELLED, -ECANCELED);
	} else if (CIO_IS_ERR(v)) {
		cio__future_complete(fut, CIO__FUT_ERROR, v);
	} else {
		cio__future_complete(fut, CIO__FUT_RESULT, v);
		c->delivered = true;
	}
}

/* A queued job leaves the queue and never runs; a running one finishes
 * unobserved. Either way the future is cancelled now. */
static int call_cancel(cio_future *fut)
{
	struct cio__exec_call *c = (struct cio__exec_call *)fut;

	if (cio__exec_unqueue(&c->job))
		atomic_fetch_or_explicit(&c->flags, CALL_RELEASED,
					 memory_order_relaxed);
	return cio__future_cancel_plain(fut);
}

/* The future's last reference is gone (on the loop's thread). */
static void call_destroy(cio_future *fut)
{
	struct cio__exec_call *c = (struct cio__exec_call *)fut;
	unsigned s = atomic_fetch_or_explicit(&c->flags, CALL_GONE,
					      memory_order_acq_rel);

	if (s & CALL_RELEASED) {
		call_free(c);
		return;
	}
	/* The caller drops the loop reference once we return. */
	if (s & CALL_POSTING)
		s = wait_posted(c);
	if (s & CALL_POSTED)
		return; /* call_done() frees it */
	if (s & CALL_FINISHED)
		call_free(c); /* its post failed: the loop is closed */
	/* Otherwise it is queued or running: the pool thread frees it. */
}

static const struct cio__future_ops call_ops = {
	.kind = "executor job",
	.cancel = call_cancel,
	.destroy = call_destroy,
	.settable = false,
};

void cio__exec_call_init(struct cio__exec_call *c, cio_loop *loop,
			 cio_blocking_fn fn, void *arg,
			 void (*release)(struct cio__exec_call *, bool))
{
	cio__future_init(&c->fut, loop, &call_ops);
	c->job.run = call_run;
	c->job.work.fn = call_done;
	c->job.loop = loop;
	atomic_init(&c->job.state, CIO__JOB_IDLE);
	c->fn = fn;
	c->arg = arg;
	c->release = release;
	c->result = -ECANCELED;
	c->delivered = false;
	atomic_init(&c->flags, 0);
}

int cio__exec_call_start(struct cio__exec_call *c, cio_executor *ex)
{
	int ret = cio__exec_submit_self(ex, &c->job);

	if (ret < 0) {
		atomic_fetch_or_explicit(&c->flags, CALL_RELEASED,
					 memory_order_relaxed);
		cio__future_put(&c->fut);
	}
	return ret;
}

/* As cio_await()'s park, except that the reference it drops at loop close
 * is the caller's own: a task torn down here leaks nothing. */
static void call_await_cancel(cio_task *t, void *ctx)
{
	(void)t;
	cio_future_cancel(ctx);
}

static void call_await_abandon(cio_task *t, void *ctx)
{
	cio__future_del_cb(&t->waiter);
	cio__future_put(ctx);
}

static const struct cio__park_ops call_await_park = {
	.cancel = call_await_cancel,
	.abandon = call_await_abandon,
};

intptr_t cio__exec_call_await(struct cio__exec_call *c)
{
	cio_task *t = cio__tls_task;
	cio_future *fut = &c->fut;
	intptr_t v;

	if ((v = cio__task_check_cancel(t)) == 0) {
		if (fut->state != CIO__FUT_PENDING) {
			v = cio__future_take(fut);
		} else {
			t->waiter.fn = cio__await_wakeup;
			cio__future_add_cb(fut, &t->waiter);
			v = cio__task_park(&call_await_park, fut);
			if (v == -ECANCELED)
				t->cancel_pending = false;
		}
	}
	/* Cancelled on entry: take the job back if it has not started. */
	if (fut->state == CIO__FUT_PENDING)
		cio_future_cancel(fut);
	cio__future_put(fut);
	return v;
}

int cio_run_in_executor(cio_future **out, cio_executor *ex,
			cio_blocking_fn fn, void *arg)
{
	cio_task *t = cio__tls_task;
	struct cio__exec_call *c;
	cio_loop *loop;
	int ret;

	if (out)
		*out = NULL;
	loop = cio__loop_or_current(NULL);
	if (!fn || !loop || loop->closed)
		return -EINVAL;
	/* Wait for room before allocating: a task torn down while it waits
	 * (loop close) then holds nothing. Room is not reserved, so another
	 * submitter may take it first; then wait again. */
	for (;;) {
		if (t && (ret = cio__exec_wait_slot(ex)) < 0)
			return ret;
		if (!(c = malloc(sizeof(*c))))
			return -ENOMEM;
		cio__exec_call_init(c, loop, fn, arg, NULL);
		ret = cio__exec_call_start(c, ex);
		if (ret != -ENOSPC)
			break;
		if (!t)
			return -EAGAIN;
	}
	if (ret < 0)
		return ret;
	if (out)
		*out = &c->fut;
	else
		cio__future_put(&c->fut);
	return 0;
}

intptr_t cio_to_thread(cio_blocking_fn fn, void *arg)
{
	cio_future *fut;
	int ret;

	if (!cio__tls_task)
		return -EPERM;
	if ((ret = cio_run_in_executor(&fut, NULL, fn, arg)) < 0)
		return ret;
	return cio__exec_call_await((struct cio__exec_call *)fut);
}
