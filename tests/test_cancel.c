/* Task cancellation in every state a task can be in, cancel/uncancel
 * bookkeeping, and how cancellation travels through awaited futures and
 * tasks. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdio.h>

struct st {
	cio_loop *loop;
	cio_future *fut;
	cio_task *target;
	cio_task *inner;
	bool ran;
	int crc, crc2;      /* what cancel returned */
	int state_at_cancel;
	intptr_t v, rc1, rc2, rc3;
	int64_t elapsed;
};

static intptr_t ret_arg(void *arg)
{
	return (intptr_t)arg;
}

static intptr_t mark_ran(void *arg)
{
	((struct st *)arg)->ran = true;
	return 1;
}

Test(cancel, before_start_the_body_never_runs)
{
	struct st s = { .loop = th_loop_new() };
	cio_task *t = th_spawn(s.loop, mark_ran, &s, NULL);

	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(cio_task_cancelling(t), 1);
	cr_assert_eq(cio_task_cancel(t), 1, "still pending: requested again");
	cr_assert_eq(cio_task_cancelling(t), 2);
	cr_assert_not(cio_task_done(t));
	cr_assert_eq(cio_loop_run_until_complete(s.loop, cio_task_future(t)),
		     -ECANCELED);
	cr_assert_not(s.ran);
	cr_assert(cio_task_cancelled(t));
	cr_assert_eq(s.loop->stacks.live, 0);
	cr_assert_eq(cio_task_cancel(t), 0, "done");
	cio_task_unref(t);

	/* Through the future interface, the same. */
	t = th_spawn(s.loop, mark_ran, &s, NULL);
	cr_assert_eq(cio_future_cancel(cio_task_future(t)), 1);
	cr_assert_eq(cio_loop_run_until_complete(s.loop, cio_task_future(t)),
		     -ECANCELED);
	cr_assert_not(s.ran);
	cr_assert_eq(cio_future_cancel(cio_task_future(t)), 0);
	cio_task_unref(t);

	/* Withdrawn before it started: the body runs. */
	t = th_spawn(s.loop, mark_ran, &s, NULL);
	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(cio_task_uncancel(t), 0);
	cr_assert_eq(cio_loop_run_until_complete(s.loop, cio_task_future(t)), 1);
	cr_assert(s.ran);
	cr_assert_not(cio_task_cancelled(t));
	cio_task_unref(t);
	th_loop_free(s.loop);
	th_leak_check();
}

static intptr_t self_cancel(void *arg)
{
	cio_task *me = cio_current_task();
	cio_future *done;
	(void)arg;

	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_task_cancelling(me), 1);
	cr_assert_eq(cio_yield(), -ECANCELED, "delivered by the next await");
	cr_assert_eq(cio_yield(), 0, "and only once");
	cr_assert_eq(cio_task_cancelling(me), 1, "counted until uncancel");

	/* Every kind of await delivers it, even one that would not park. */
	cr_assert_eq(cio_future_new(NULL, &done), 0);
	cr_assert_eq(cio_future_set_result(done, 1), 0);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_await(done), -ECANCELED);
	cr_assert_eq(cio_await(done), 1);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_SEC), -ECANCELED);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_sleep(0), -ECANCELED);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_sleep_until(0), -ECANCELED);
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_MSEC), 0);
	cr_assert_eq(cio_task_cancelling(me), 5);
	cio_future_unref(done);
	return 5;
}

Test(cancel, running_self_cancel)
{
	cio_loop *loop = th_loop_new();
	cio_task *t = th_spawn(loop, self_cancel, NULL, NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)), 5);
	cr_assert_not(cio_task_cancelled(t), "it handled every request");
	cio_task_unref(t);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t await_fut(void *arg)
{
	struct st *s = arg;
	s->v = cio_await(s->fut);
	return s->v;
}

static intptr_t cancel_target(void *arg)
{
	struct st *s = arg;
	s->state_at_cancel = s->target->state;
	s->crc = cio_task_cancel(s->target);
	s->crc2 = cio_task_cancel(s->target);
	return 0;
}

Test(cancel, parked_on_a_future)
{
	struct st s = { .loop = th_loop_new() };
	cr_assert_eq(cio_future_new(s.loop, &s.fut), 0);
	s.target = th_spawn(s.loop, await_fut, &s, "victim");
	cio_task *c = th_spawn(s.loop, cancel_target, &s, NULL);

	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)),
		     -ECANCELED);
	cr_assert_eq(s.state_at_cancel, CIO__TASK_PARKED);
	cr_assert_eq(s.crc, 1);
	cr_assert_eq(s.crc2, 1, "cancel twice: requested twice");
	cr_assert_eq(cio_task_cancelling(s.target), 2);
	cr_assert(cio_future_cancelled(s.fut), "the awaited future is cancelled");
	cr_assert_eq(s.v, -ECANCELED);
	cr_assert(cio_task_cancelled(s.target));
	cio_task_unref(c);
	cio_task_unref(s.target);
	cio_future_unref(s.fut);
	th_loop_free(s.loop);
	th_leak_check();
}

static intptr_t await_shared(void *arg)
{
	return cio_await(arg);
}

/* asyncio semantics: cancelling a task cancels the future it waits for,
 * which every other waiter then sees. */
Test(cancel, shared_future_is_cancelled_for_everyone)
{
	struct st s = { .loop = th_loop_new() };
	cr_assert_eq(cio_future_new(s.loop, &s.fut), 0);
	cio_task *a = th_spawn(s.loop, await_shared, s.fut, NULL);
	cio_task *b = th_spawn(s.loop, await_shared, s.fut, NULL);
	th_run_once(s.loop);
	cr_assert_eq(cio_task_cancel(a), 1);
	cr_assert_eq(cio_loop_run_until_complete(s.loop, cio_task_future(b)),
		     -ECANCELED);
	cr_assert(cio_task_cancelled(a));
	cr_assert(cio_task_cancelled(b));
	cr_assert_eq(cio_task_cancelling(b), 0);
	cio_task_unref(a);
	cio_task_unref(b);
	cio_future_unref(s.fut);
	th_loop_free(s.loop);
	th_leak_check();
}

static void cancel_cb(void *arg);

static intptr_t stubborn(void *arg)
{
	struct st *s = arg;
	cio_task *me = cio_current_task();
	/* Next iteration: the outer task is parked on us, we on our sleep. */
	cr_assert_eq(cio_call_soon(NULL, cancel_cb, s, NULL), 0);
	cr_assert_eq(cio_sleep(3600 * CIO_NSEC_PER_SEC), -ECANCELED);
	cr_assert_eq(cio_task_cancelling(me), 1);
	cr_assert_eq(cio_task_uncancel(me), 0);
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_MSEC), 0, "it goes on");
	s->ran = true;
	return 77;
}

static intptr_t outer(void *arg)
{
	struct st *s = arg;
	cr_assert_eq(cio_spawn(&s->inner, stubborn, s, NULL), 0);
	s->v = cio_await_task(s->inner);
	s->rc1 = cio_yield();
	s->rc2 = cio_yield();
	return 1;
}

static void cancel_cb(void *arg)
{
	struct st *s = arg;
	s->state_at_cancel = s->target->state;
	s->crc = cio_task_cancel(s->target);
}

Test(cancel, awaiting_a_task_that_ignores_cancellation)
{
	struct st s = { .loop = th_loop_new() };
	s.target = th_spawn(s.loop, outer, &s, NULL);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)), 1);
	cr_assert_eq(s.crc, 1);
	cr_assert_eq(s.state_at_cancel, CIO__TASK_PARKED);
	cr_assert(s.ran);
	cr_assert_eq(s.v, 77, "the inner task's real result");
	cr_assert_eq(s.rc1, -ECANCELED, "the cancel stays for the next await");
	cr_assert_eq(s.rc2, 0);
	cr_assert_not(cio_task_cancelled(s.target));
	cr_assert_eq(cio_task_cancelling(s.target), 1);
	cr_assert_not(cio_task_cancelled(s.inner));
	cr_assert_eq(cio_task_result(s.inner, NULL), 0);
	cio_task_unref(s.inner);
	cio_task_unref(s.target);
	th_loop_free(s.loop);
	th_leak_check();
}

static intptr_t long_sleep(void *arg)
{
	struct st *s = arg;
	int64_t t0 = cio_loop_time();
	s->rc1 = cio_sleep(3600 * CIO_NSEC_PER_SEC);
	s->elapsed = cio_loop_time() - t0;
	s->rc2 = cio_sleep(CIO_NSEC_PER_MSEC);
	return s->rc1;
}

Test(cancel, parked_on_a_timer)
{
	struct st s = { .loop = th_loop_new() };
	s.target = th_spawn(s.loop, long_sleep, &s, NULL);
	cr_assert_eq(cio_call_later(s.loop, 5 * CIO_NSEC_PER_MSEC, cancel_cb,
				    &s, NULL), 0);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)),
		     -ECANCELED);
	cr_assert_eq(s.state_at_cancel, CIO__TASK_PARKED);
	cr_assert_eq(s.rc1, -ECANCELED);
	cr_assert_eq(s.rc2, 0);
	cr_assert_lt(s.elapsed, CIO_NSEC_PER_SEC, "woken promptly");
	cr_assert_eq(s.loop->timers.n, 0, "the sleep's timer left the heap");
	cr_assert(cio_task_cancelled(s.target), "it returned -ECANCELED");
	cio_task_unref(s.target);
	th_loop_free(s.loop);
	th_leak_check();
}

static intptr_t yielder(void *arg)
{
	struct st *s = arg;
	s->rc1 = cio_yield();
	s->rc2 = cio_yield();
	return 2;
}

Test(cancel, parked_in_yield)
{
	struct st s = { .loop = th_loop_new() };
	s.target = th_spawn(s.loop, yielder, &s, NULL);
	/* Runs right after the target parked in its yield. */
	cio_task *c = th_spawn(s.loop, cancel_target, &s, NULL);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)), 2);
	cr_assert_eq(s.state_at_cancel, CIO__TASK_PARKED);
	cr_assert_eq(s.rc1, -ECANCELED);
	cr_assert_eq(s.rc2, 0);
	cr_assert_not(cio_task_cancelled(s.target));
	cio_task_unref(c);
	cio_task_unref(s.target);
	th_loop_free(s.loop);
	th_leak_check();
}

static intptr_t sleep_until_shared_deadline(void *arg)
{
	struct st *s = arg;
	int64_t d = cio_loop_time() + 5 * CIO_NSEC_PER_MSEC;
	/* Armed first, so at the shared deadline it runs first: the task is
	 * woken by its timer but not yet resumed when it is cancelled. */
	cr_assert_eq(cio_call_at(NULL, d, cancel_cb, s, NULL), 0);
	s->rc1 = cio_sleep_until(d);
	s->rc2 = cio_yield();
	s->rc3 = cio_yield();
	return 3;
}

Test(cancel, woken_by_timer_not_yet_resumed)
{
	struct st s = { .loop = th_loop_new() };
	s.target = th_spawn(s.loop, sleep_until_shared_deadline, &s, NULL);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)), 3);
	cr_assert_eq(s.state_at_cancel, CIO__TASK_READY);
	cr_assert_eq(s.crc, 1);
	cr_assert_eq(s.rc1, 0, "the sleep's real outcome");
	cr_assert_eq(s.rc2, -ECANCELED, "delivered by the next await");
	cr_assert_eq(s.rc3, 0);
	cio_task_unref(s.target);
	th_loop_free(s.loop);
	th_leak_check();
}

static void complete_then_cancel(void *arg)
{
	struct st *s = arg;
	cr_assert_eq(cio_future_set_result(s->fut, 42), 0);
	s->state_at_cancel = s->target->state;
	s->crc = cio_task_cancel(s->target);
}

static intptr_t await_then_yield(void *arg)
{
	struct st *s = arg;
	s->rc1 = cio_await(s->fut);
	s->rc2 = cio_yield();
	s->rc3 = cio_yield();
	return 4;
}

Test(cancel, future_done_task_not_yet_resumed)
{
	struct st s = { .loop = th_loop_new() };
	cr_assert_eq(cio_future_new(s.loop, &s.fut), 0);
	s.target = th_spawn(s.loop, await_then_yield, &s, NULL);
	cr_assert_eq(cio_call_later(s.loop, CIO_NSEC_PER_MSEC,
				    complete_then_cancel, &s, NULL), 0);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)), 4);
	cr_assert_eq(s.crc, 1);
	cr_assert_not(cio_future_cancelled(s.fut), "it was done already");
	cr_assert_eq(s.rc1, 42, "the future's real result");
	cr_assert_eq(s.rc2, -ECANCELED);
	cr_assert_eq(s.rc3, 0);
	cio_task_unref(s.target);
	cio_future_unref(s.fut);
	th_loop_free(s.loop);
	th_leak_check();
}

Test(cancel, already_done)
{
	cio_loop *loop = th_loop_new();
	cio_task *t = th_spawn(loop, ret_arg, (void *)6, NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)), 6);
	cr_assert_eq(cio_task_cancel(t), 0);
	cr_assert_eq(cio_future_cancel(cio_task_future(t)), 0);
	cr_assert_eq(cio_task_cancelling(t), 0);
	cr_assert_not(cio_task_cancelled(t));
	intptr_t v;
	cr_assert_eq(cio_task_result(t, &v), 0);
	cr_assert_eq(v, 6);
	cio_task_unref(t);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t uncancel_body(void *arg)
{
	cio_task *me = cio_current_task();
	(void)arg;
	cr_assert_eq(cio_task_uncancel(me), 0, "nothing to withdraw");
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_task_cancelling(me), 2);
	cr_assert_eq(cio_task_uncancel(me), 1);
	cr_assert_eq(cio_yield(), -ECANCELED, "one request remains");
	cr_assert_eq(cio_task_cancelling(me), 1);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_task_uncancel(me), 1);
	cr_assert_eq(cio_task_uncancel(me), 0);
	cr_assert_eq(cio_yield(), 0, "dropped at zero");
	cr_assert_eq(cio_task_uncancel(me), 0);
	cr_assert_eq(cio_task_cancelling(me), 0);
	return 4;
}

Test(cancel, cancel_and_uncancel)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, uncancel_body, NULL), 4);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t return_with_pending_cancel(void *arg)
{
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	return (intptr_t)arg;
}

Test(cancel, returning_with_a_pending_cancel)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	th_collect_reports(loop, &rep);
	cio_task *t = th_spawn(loop, return_with_pending_cancel, (void *)9, NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     -ECANCELED);
	cr_assert(cio_task_cancelled(t));
	cio_task_unref(t);
	/* A failure is not hidden by the cancellation (asyncio keeps the
	 * exception of a task that raises while a cancel is pending). */
	t = th_spawn(loop, return_with_pending_cancel, (void *)(intptr_t)-EIO,
		     NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     -EIO);
	cr_assert_not(cio_task_cancelled(t));
	cio_task_unref(t);
	/* Returning -ECANCELED itself: cancelled. */
	t = th_spawn(loop, return_with_pending_cancel,
		     (void *)(intptr_t)-ECANCELED, NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     -ECANCELED);
	cr_assert(cio_task_cancelled(t));
	cio_task_unref(t);
	cr_assert_eq(rep.n, 0);
	th_loop_free(loop);
	th_leak_check();
}

/* A awaits B awaits a plain future: cancelling A cancels B, which cancels
 * the future; the cancellation comes back up the chain. */
static intptr_t chain_b(void *arg)
{
	struct st *s = arg;
	/* Next iteration: A is parked on us, we on the future. */
	cr_assert_eq(cio_call_soon(NULL, cancel_cb, s, NULL), 0);
	return cio_await(s->fut);
}

static intptr_t chain_a(void *arg)
{
	struct st *s = arg;
	cr_assert_eq(cio_spawn(&s->inner, chain_b, s, NULL), 0);
	s->v = cio_await_task(s->inner);
	return s->v;
}

Test(cancel, propagates_through_a_chain)
{
	struct st s = { .loop = th_loop_new() };
	cr_assert_eq(cio_future_new(s.loop, &s.fut), 0);
	s.target = th_spawn(s.loop, chain_a, &s, NULL);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)),
		     -ECANCELED);
	cr_assert(cio_future_cancelled(s.fut));
	cr_assert(cio_task_cancelled(s.inner));
	cr_assert(cio_task_cancelled(s.target));
	cr_assert_eq(cio_task_cancelling(s.inner), 1);
	cio_task_unref(s.inner);
	cio_task_unref(s.target);
	cio_future_unref(s.fut);
	th_loop_free(s.loop);
	th_leak_check();
}

/* The awaited task has not started yet: it is cancelled before its body
 * runs, and the waiter sees -ECANCELED. */
static intptr_t await_unstarted(void *arg)
{
	struct st *s = arg;
	/* Queued before the inner task's first step: the cancel reaches us
	 * while we are parked on a task that has not started. */
	s->target = cio_current_task();
	cr_assert_eq(cio_call_soon(NULL, cancel_cb, s, NULL), 0);
	cr_assert_eq(cio_spawn(&s->inner, mark_ran, s, NULL), 0);
	/* A pending cancel is delivered before parking. */
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_await_task(s->inner), -ECANCELED);
	cr_assert_not(cio_task_done(s->inner));
	return cio_await_task(s->inner);
}

Test(cancel, awaited_task_not_started)
{
	struct st s = { .loop = th_loop_new() };
	cr_assert_eq(th_run(s.loop, await_unstarted, &s), -ECANCELED);
	cr_assert(cio_task_cancelled(s.inner));
	cr_assert_not(s.ran);
	cio_task_unref(s.inner);
	th_loop_free(s.loop);
	th_leak_check();
}

/* Withdrawn after the awaited future was cancelled but before the task
 * resumed: the await still reports the future's cancellation, and no
 * request is left over. */
static intptr_t await_twice(void *arg)
{
	struct st *s = arg;
	s->rc1 = cio_await(s->fut);
	s->rc2 = cio_yield();
	return 0;
}

static void cancel_and_uncancel_cb(void *arg)
{
	struct st *s = arg;
	s->crc = cio_task_cancel(s->target);
	s->crc2 = cio_task_uncancel(s->target);
}

Test(cancel, uncancel_while_parked)
{
	struct st s = { .loop = th_loop_new() };
	cr_assert_eq(cio_future_new(s.loop, &s.fut), 0);
	s.target = th_spawn(s.loop, await_twice, &s, NULL);
	cr_assert_eq(cio_call_later(s.loop, CIO_NSEC_PER_MSEC,
				    cancel_and_uncancel_cb, &s, NULL), 0);
	cr_assert_eq(cio_loop_run_until_complete(s.loop,
						 cio_task_future(s.target)), 0);
	cr_assert_eq(s.crc, 1);
	cr_assert_eq(s.crc2, 0);
	cr_assert(cio_future_cancelled(s.fut));
	cr_assert_eq(s.rc1, -ECANCELED);
	cr_assert_eq(s.rc2, 0);
	cio_task_unref(s.target);
	cio_future_unref(s.fut);
	th_loop_free(s.loop);
	th_leak_check();
}
