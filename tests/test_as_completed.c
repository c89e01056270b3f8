/* cio_as_completed_*: asyncio.as_completed as an iterator. */
#include "helpers/harness.h"
#include "runtime/combinators.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

/* -- ordering --------------------------------------------------------------- */

static intptr_t order_body(void *arg)
{
	(void)arg;
	/* Absolute deadlines: the order does not depend on when each child
	 * got to start. */
	int64_t base = cio_deadline_after(50 * MS);
	struct th_child c[4] = {
		{ .until = base + 40 * MS, .value = 0 },
		{ .until = base + 10 * MS, .value = 1 },
		{ .until = base + 30 * MS, .value = 2 },
		{ .until = base + 20 * MS, .value = 3 },
	};
	const int expect[4] = { 1, 3, 2, 0 };
	cio_task *t[4];
	cio_future *f[4], *next;
	cio_as_completed *it;

	th_spawn_children(c, t, f, 4);
	cr_assert_eq(cio_as_completed_new(&it, f, 4, CIO_NO_DEADLINE), 0);
	for (int i = 0; i < 4; i++) {
		intptr_t v = -1;
		cr_assert_eq(cio_as_completed_next(it, &next), 1);
		cr_assert_eq(next, f[expect[i]], "step %d", i);
		cr_assert_eq(cio_future_result(next, &v), 0);
		cr_assert_eq(v, expect[i]);
	}
	cr_assert_eq(cio_as_completed_next(it, &next), 0);
	cr_assert_null(next);
	cr_assert_eq(cio_as_completed_next(it, &next), 0, "stays exhausted");
	cio_as_completed_free(it);
	th_finish_children(t, 4);
	return 0;
}

Test(as_completed, completion_order)
{
	th_run_checked(order_body, NULL);
	th_leak_check();
}

/* Done at creation: first, in input order; then by completion. */
static intptr_t done_first_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[4], *next;
	cio_as_completed *it;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cio_future_set_result(f[3], 3);
	cio_future_set_result(f[1], 1);
	cr_assert_eq(cio_as_completed_new(&it, f, 4, CIO_NO_DEADLINE), 0);
	/* Completed after creation, in this order. */
	cio_future_set_result(f[2], 2);
	cio_future_set_error(f[0], -EIO);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[1]);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[3]);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[2]);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[0]);
	cr_assert_eq(cio_future_error(next), -EIO);
	cr_assert_eq(cio_as_completed_next(it, &next), 0);
	/* The iterator holds its own references. */
	for (int i = 0; i < 4; i++)
		cio_future_unref(f[i]);
	cio_as_completed_free(it);
	return 0;
}

Test(as_completed, already_done_first)
{
	th_run_checked_on_loop(done_first_body);
	th_leak_check();
}

/* -- deadline --------------------------------------------------------------- */

static intptr_t timeout_body(void *arg)
{
	(void)arg;
	struct th_child c[3] = {
		{ .delay = LONG_SLEEP, .value = 0 },
		{ .delay = 0, .value = 1 },
		{ .delay = 400 * MS, .value = 2 },
	};
	cio_task *t[3];
	cio_future *f[3], *next;
	cio_as_completed *it;

	th_spawn_children(c, t, f, 3);
	int64_t start = cio_loop_time();
	cr_assert_eq(cio_as_completed_new(&it, f, 3,
					  cio_deadline_after(100 * MS)), 0);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[1]);
	cr_assert_eq(cio_as_completed_next(it, &next), -ETIMEDOUT);
	cr_assert_null(next);
	cr_assert_geq(cio_loop_time() - start, 100 * MS);
	cr_assert_eq(cio_as_completed_next(it, &next), -ETIMEDOUT, "sticky");
	/* Nothing was cancelled; a later completion is not handed out. */
	cr_assert_not(cio_task_done(t[0]));
	cr_assert_eq(cio_await_task(t[2]), 2);
	cr_assert_eq(cio_as_completed_next(it, &next), -ETIMEDOUT);
	cr_assert_not(c[0].saw_cancel);
	cio_as_completed_free(it);
	th_finish_children(t, 3);
	return 0;
}

Test(as_completed, deadline_times_out)
{
	th_run_checked(timeout_body, NULL);
	th_leak_check();
}

/* Completed before the deadline but not yet taken: still handed out. */
static intptr_t timeout_queued_body(void *arg)
{
	(void)arg;
	struct th_child c[3] = {
		{ .delay = 0, .value = 0 },
		{ .delay = LONG_SLEEP, .value = 1 },
		{ .delay = 1 * MS, .value = 2 },
	};
	cio_task *t[3];
	cio_future *f[3], *next;
	cio_as_completed *it;

	th_spawn_children(c, t, f, 3);
	int64_t deadline = cio_deadline_after(100 * MS);
	cr_assert_eq(cio_as_completed_new(&it, f, 3, deadline), 0);
	/* Both are done and queued in the iterator (its callbacks were
	 * registered first) well before the deadline; take them after it. */
	cr_assert_eq(cio_await_task(t[0]), 0);
	cr_assert_eq(cio_await_task(t[2]), 2);
	cr_assert_lt(cio_loop_time(), deadline);
	cr_assert_eq(cio_sleep_until(deadline + 1 * MS), 0);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[0]);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[2]);
	cr_assert_eq(cio_as_completed_next(it, &next), -ETIMEDOUT);
	cio_as_completed_free(it);
	th_finish_children(t, 3);
	return 0;
}

Test(as_completed, deadline_hands_out_earlier_completions)
{
	th_run_checked(timeout_queued_body, NULL);
	th_leak_check();
}

/* Completed in the step just before the deadline fires, its callbacks not
 * run yet: it made the deadline. The completer holds the loop until the
 * deadline has passed (a spin inside one step) to make that certain. */
struct completer_arg {
	cio_future *f;
	int64_t until;
};

static intptr_t completer(void *arg)
{
	struct completer_arg *c = arg;
	cr_assert_eq(cio_future_set_result(c->f, 1), 0);
	while (cio_loop_time() <= c->until)
		;
	return 0;
}

static intptr_t just_in_time_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[2], *next;
	cio_as_completed *it;
	cio_task *t;
	struct completer_arg c;

	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	c.f = f[1];
	c.until = cio_deadline_after(50 * MS);
	cr_assert_eq(cio_as_completed_new(&it, f, 2, c.until), 0);
	cr_assert_eq(cio_spawn(&t, completer, &c, NULL), 0);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[1]);
	cr_assert_eq(cio_as_completed_next(it, &next), -ETIMEDOUT);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cio_as_completed_free(it);
	for (int i = 0; i < 2; i++)
		cio_future_unref(f[i]);
	return 0;
}

Test(as_completed, completed_as_deadline_fires)
{
	th_run_checked_on_loop(just_in_time_body);
	th_leak_check();
}

static intptr_t deadline_passed_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[3], *next;
	cio_as_completed *it;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cio_future_set_result(f[1], 1);
	cr_assert_eq(cio_as_completed_new(&it, f, 3, cio_loop_time() - 1), 0);
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f[1]);
	cr_assert_eq(cio_as_completed_next(it, &next), -ETIMEDOUT);
	cio_as_completed_free(it);

	/* All done: a passed deadline does not matter. */
	cio_future_set_result(f[0], 0);
	cio_future_set_result(f[2], 2);
	cr_assert_eq(cio_as_completed_new(&it, f, 3, cio_loop_time() - 1), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(cio_as_completed_next(it, &next), 1);
		cr_assert_eq(next, f[i]);
	}
	cr_assert_eq(cio_as_completed_next(it, &next), 0);
	cio_as_completed_free(it);
	for (int i = 0; i < 3; i++)
		cio_future_unref(f[i]);
	return 0;
}

Test(as_completed, deadline_already_passed)
{
	th_run_checked_on_loop(deadline_passed_body);
	th_leak_check();
}

/* -- cancellation ----------------------------------------------------------- */

struct consumer {
	cio_as_completed *it;
	int first_rc;
	int second_rc;
	cio_future *second;
};

static intptr_t consumer_fn(void *arg)
{
	struct consumer *c = arg;
	cio_future *next;
	c->first_rc = cio_as_completed_next(c->it, &next);
	/* The cancellation was delivered; the iterator is still usable. */
	c->second_rc = cio_as_completed_next(c->it, &c->second);
	return 0;
}

static intptr_t cancel_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[2];
	cio_task *t;
	struct consumer c = { 0 };

	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cr_assert_eq(cio_as_completed_new(&c.it, f, 2, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_spawn(&t, consumer_fn, &c, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(c.first_rc, -ECANCELED);
	cr_assert_not(cio_future_done(f[0]), "futures are not cancelled");
	cr_assert_not(cio_future_done(f[1]));
	cio_future_set_result(f[1], 1);
	cr_assert_eq(cio_await_task(t), 0);
	cr_assert_eq(c.second_rc, 1);
	cr_assert_eq(c.second, f[1]);
	cio_task_unref(t);
	cio_as_completed_free(c.it);
	for (int i = 0; i < 2; i++)
		cio_future_unref(f[i]);
	return 0;
}

Test(as_completed, cancel_while_waiting)
{
	th_run_checked_on_loop(cancel_body);
	th_leak_check();
}

static intptr_t cancel_pending_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f, *next;
	cio_as_completed *it;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cio_future_set_result(f, 1);
	cr_assert_eq(cio_as_completed_new(&it, &f, 1, CIO_NO_DEADLINE), 0);
	cio_task_cancel(cio_current_task());
	cr_assert_eq(cio_as_completed_next(it, &next), -ECANCELED);
	cio_task_uncancel(cio_current_task());
	cr_assert_eq(cio_as_completed_next(it, &next), 1);
	cr_assert_eq(next, f);
	cio_as_completed_free(it);
	cio_future_unref(f);
	return 0;
}

Test(as_completed, cancel_pending_on_entry)
{
	th_run_checked_on_loop(cancel_pending_body);
	th_leak_check();
}

/* -- lifetimes -------------------------------------------------------------- */

static intptr_t free_early_body(void *arg)
{
	(void)arg;
	struct th_child c[2] = {
		{ .delay = 1 * MS, .value = 0 },
		{ .delay = 2 * MS, .value = 1 },
	};
	cio_task *t[2];
	cio_future *f[2];
	cio_as_completed *it;

	th_spawn_children(c, t, f, 2);
	cr_assert_eq(cio_as_completed_new(&it, f, 2,
					  cio_deadline_after(LONG_SLEEP)), 0);
	cio_as_completed_free(it);
	cr_assert_eq(cio_await_task(t[0]), 0);
	cr_assert_eq(cio_await_task(t[1]), 1);
	th_finish_children(t, 2);
	return 0;
}

Test(as_completed, free_before_exhausted)
{
	th_run_checked(free_early_body, NULL);
	th_leak_check();
}

Test(as_completed, loop_closed_while_waiting)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	cio_future *f;
	cio_task *t;
	struct consumer c = { 0 };

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_as_completed_new(&c.it, &f, 1,
					  cio_deadline_after(LONG_SLEEP)), 0);
	cr_assert_eq(cio_spawn(&t, consumer_fn, &c, NULL), 0);
	th_loop_close_pending(loop);
	cr_assert_eq(rep.pending_at_close, 1);
	cio_as_completed_free(c.it);
	cio_future_unref(f);
	cio_task_unref(t);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- empty and bad input ---------------------------------------------------- */

static intptr_t empty_body(void *arg)
{
	(void)arg;
	cio_as_completed *it;
	cio_future *next = (cio_future *)1;

	cr_assert_eq(cio_as_completed_new(&it, NULL, 0, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_as_completed_next(it, &next), 0);
	cr_assert_null(next);
	cio_as_completed_free(it);
	cr_assert_eq(cio_as_completed_new(&it, NULL, 0, cio_loop_time() - 1),
		     0);
	cr_assert_eq(cio_as_completed_next(it, &next), 0);
	cio_as_completed_free(it);
	return 0;
}

Test(as_completed, empty)
{
	th_run_checked(empty_body, NULL);
	th_leak_check();
}

static intptr_t busy_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f;
	cio_task *t;
	struct consumer c = { 0 };

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_as_completed_new(&c.it, &f, 1, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_spawn(&t, consumer_fn, &c, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	cio_future *next = (cio_future *)1;
	cr_assert_eq(cio_as_completed_next(c.it, &next), -EBUSY);
	cr_assert_null(next);
	cio_future_set_result(f, 1);
	cr_assert_eq(cio_await_task(t), 0);
	cr_assert_eq(c.first_rc, 1);
	cr_assert_eq(c.second_rc, 0);
	cio_task_unref(t);
	cio_as_completed_free(c.it);
	cio_future_unref(f);
	return 0;
}

Test(as_completed, second_waiter_is_busy)
{
	th_run_checked_on_loop(busy_body);
	th_leak_check();
}

static intptr_t foreign_task_body(void *arg)
{
	cio_as_completed *it = arg;
	cio_future *next;
	cr_assert_eq(cio_as_completed_next(it, &next), -EINVAL);
	cr_assert_eq(cio_as_completed_next(NULL, &next), -EINVAL);
	cr_assert_eq(cio_as_completed_next(it, NULL), -EINVAL);
	return 0;
}

Test(as_completed, bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_loop *other = th_loop_new();
	cio_as_completed *it = (cio_as_completed *)1;
	cio_future *a, *b, *next;

	cr_assert_eq(cio_future_new(loop, &a), 0);
	cr_assert_eq(cio_future_new(other, &b), 0);
	cio_future *mixed[2] = { a, b };
	cio_future *with_null[2] = { a, NULL };

	cr_assert_eq(cio_as_completed_new(NULL, mixed, 1, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_eq(cio_as_completed_new(&it, NULL, 1, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_null(it);
	cr_assert_eq(cio_as_completed_new(&it, with_null, 2, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_eq(cio_as_completed_new(&it, mixed, 2, CIO_NO_DEADLINE),
		     -EINVAL);

	cr_assert_eq(cio_as_completed_new(&it, &a, 1, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_as_completed_next(it, &next), -EPERM,
		     "outside a task");
	cr_assert_eq(th_run(other, foreign_task_body, it), 0);
	cio_as_completed_free(it);
	cio_as_completed_free(NULL);

	cr_assert_eq(cio_loop_close(other), 0);
	cr_assert_eq(cio_as_completed_new(&it, &b, 1, CIO_NO_DEADLINE), -EINVAL,
		     "closed loop");
	cio_future_unref(a);
	cio_future_unref(b);
	th_loop_free_checked(loop);
	cio_loop_free(other);
	th_leak_check();
}
