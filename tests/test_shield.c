/* cio_shield: asyncio.shield semantics. */
#include "helpers/harness.h"
#include "runtime/combinators.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

/* -- mirroring -------------------------------------------------------------- */

static intptr_t mirror_body(void *arg)
{
	(void)arg;
	struct th_child ok = { .delay = 1 * MS, .value = 31 };
	struct th_child bad = { .delay = 1 * MS, .value = -EIO };
	struct th_child slow = { .delay = LONG_SLEEP };
	cio_future *outer;
	cio_task *t;

	t = th_spawn_child(&ok);
	cr_assert_eq(cio_shield(cio_task_future(t), &outer), 0);
	cr_assert_not(cio_future_done(outer));
	cr_assert_eq(cio_await(outer), 31);
	cio_future_unref(outer);
	cio_task_unref(t);

	/* The error reaches the outer future; reading it there is enough. */
	t = th_spawn_child(&bad);
	cr_assert_eq(cio_shield(cio_task_future(t), &outer), 0);
	cio_task_unref(t);
	cr_assert_eq(cio_await(outer), -EIO);
	cio_future_unref(outer);

	/* Inner cancelled (not through the shield): outer cancelled too. */
	t = th_spawn_child(&slow);
	cr_assert_eq(cio_shield(cio_task_future(t), &outer), 0);
	cr_assert_eq(cio_yield(), 0);
	cio_task_cancel(t);
	cr_assert_eq(cio_await(outer), -ECANCELED);
	cr_assert(cio_future_cancelled(outer));
	cr_assert_eq(cio_yield(), 0, "this task was not cancelled");
	cio_future_unref(outer);
	cio_task_unref(t);
	return 0;
}

Test(shield, mirrors_inner)
{
	th_run_checked_no_reports(mirror_body, NULL);
	th_leak_check();
}

/* Unread error on the outer future: reported once, for the outer. */
Test(shield, unread_error_reported_for_outer)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	cio_future *inner, *outer;

	cr_assert_eq(cio_future_new(loop, &inner), 0);
	cr_assert_eq(cio_shield(inner, &outer), 0);
	cio_future_set_error(inner, -EIO);
	cio_future_unref(inner);
	cr_assert_eq(cio_loop_run_until_complete(loop, outer), -EIO);
	cr_assert_eq(rep.never_retrieved, 0, "run_until_complete read it");
	cio_future_unref(outer);

	cr_assert_eq(cio_future_new(loop, &inner), 0);
	cr_assert_eq(cio_shield(inner, &outer), 0);
	cio_future_set_error(inner, -EPIPE);
	cio_future_unref(inner);
	cr_assert_not(cio_future_done(outer), "mirrored from the loop");
	cio_loop_stop(loop);
	cr_assert_eq(cio_loop_run_forever(loop), 0);
	cr_assert(cio_future_done(outer));
	cr_assert_eq(rep.never_retrieved, 0, "inner's error moved on");
	cio_future_unref(outer);
	cr_assert_eq(rep.never_retrieved, 1);
	cr_assert_eq(rep.last_never_retrieved, outer,
		     "reported for the outer future");
	th_loop_free_checked(loop);
	th_leak_check();
}

/* -- already done ----------------------------------------------------------- */

Test(shield, inner_already_done)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	cio_future *in[3], *outer;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_future_new(loop, &in[i]), 0);
	cio_future_set_result(in[0], 4);
	cio_future_set_error(in[1], -EBADF);
	cio_future_cancel(in[2]);

	intptr_t v = 0;
	cr_assert_eq(cio_shield(in[0], &outer), 0);
	cr_assert(cio_future_done(outer));
	cr_assert_eq(cio_future_result(outer, &v), 0);
	cr_assert_eq(v, 4);
	cio_future_unref(outer);

	cr_assert_eq(cio_shield(in[1], &outer), 0);
	cr_assert_eq(cio_future_error(outer), -EBADF);
	cio_future_unref(outer);

	cr_assert_eq(cio_shield(in[2], &outer), 0);
	cr_assert(cio_future_cancelled(outer));
	cio_future_unref(outer);

	for (int i = 0; i < 3; i++)
		cio_future_unref(in[i]);
	th_loop_free_checked(loop);
	cr_assert_eq(rep.never_retrieved, 0);
	th_leak_check();
}

/* -- cancelling the outer --------------------------------------------------- */

struct waiter {
	cio_future *outer;
	intptr_t rc;
};

static intptr_t waiter_fn(void *arg)
{
	struct waiter *w = arg;
	w->rc = cio_await(w->outer);
	return w->rc;
}

static intptr_t outer_cancel_body(void *arg)
{
	bool via_task = arg != NULL;
	struct th_child in = { .delay = 50 * MS, .value = 17 };
	cio_task *t = th_spawn_child(&in), *w;
	struct waiter wa;

	cr_assert_eq(cio_shield(cio_task_future(t), &wa.outer), 0);
	cr_assert_eq(cio_spawn(&w, waiter_fn, &wa, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	if (via_task)
		cr_assert_eq(cio_task_cancel(w), 1);
	else
		cr_assert_eq(cio_future_cancel(wa.outer), 1);
	cr_assert_eq(cio_await_task(w), -ECANCELED);
	cr_assert_eq(wa.rc, -ECANCELED);
	cr_assert(cio_future_cancelled(wa.outer));
	cr_assert_not(cio_task_done(t), "inner goes on");
	cr_assert_eq(cio_await_task(t), 17);
	cr_assert(in.finished);
	cr_assert_not(in.saw_cancel);
	cr_assert(cio_future_cancelled(wa.outer), "outer stays cancelled");
	cio_future_unref(wa.outer);
	cio_task_unref(w);
	cio_task_unref(t);
	return 0;
}

Test(shield, cancel_outer_inner_continues)
{
	th_run_checked_no_reports(outer_cancel_body, NULL);
	th_leak_check();
}

Test(shield, cancel_awaiting_task_inner_continues)
{
	th_run_checked_no_reports(outer_cancel_body, (void *)1);
	th_leak_check();
}

/* Inner fails after the outer was cancelled: its error counts as read,
 * whether the outer is still held when that happens or was released
 * before. */
static intptr_t late_error_body(void *arg)
{
	bool release_outer_early = arg != NULL;
	struct th_child in = { .delay = 5 * MS, .value = -EIO };
	cio_task *t = th_spawn_child(&in);
	cio_future *tf = cio_task_future(t), *outer;

	cr_assert_eq(cio_shield(tf, &outer), 0);
	cr_assert_eq(cio_future_cancel(outer), 1);
	if (release_outer_early)
		cio_future_unref(outer);
	/* cio_wait reads nothing: only the shield may have read the error. */
	cr_assert_eq(cio_wait(&tf, 1, CIO_NO_DEADLINE, CIO_ALL_COMPLETED,
			      NULL, NULL, NULL, NULL), 0);
	cr_assert(in.finished);
	if (!release_outer_early) {
		cr_assert(cio_future_cancelled(outer));
		cio_future_unref(outer);
	}
	cio_task_unref(t);
	return 0;
}

Test(shield, inner_error_after_outer_cancelled_not_reported)
{
	th_run_checked_no_reports(late_error_body, NULL);
	th_leak_check();
}

Test(shield, inner_error_after_outer_released_not_reported)
{
	th_run_checked_no_reports(late_error_body, (void *)1);
	th_leak_check();
}

/* The outer future holds the inner one. */
static void set_later(void *arg)
{
	cio_future_set_result(arg, 3);
}

Test(shield, holds_inner_reference)
{
	cio_loop *loop = th_loop_new();
	cio_future *inner, *outer;

	cr_assert_eq(cio_future_new(loop, &inner), 0);
	cr_assert_eq(cio_shield(inner, &outer), 0);
	cr_assert_eq(cio_call_later(loop, 1 * MS, set_later, inner, NULL), 0);
	cio_future_unref(inner);
	cr_assert_eq(cio_loop_run_until_complete(loop, outer), 3);
	cio_future_unref(outer);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* Released after its loop closed with the inner task pending. */
Test(shield, released_after_loop_close)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	struct th_child in = { .delay = LONG_SLEEP };
	cio_future *outer;
	cio_task *t;

	t = th_spawn_child(&in);
	cr_assert_eq(cio_shield(cio_task_future(t), &outer), 0);
	th_loop_close_pending(loop);
	cr_assert_eq(rep.other, 1);
	cio_task_unref(t);
	cio_future_unref(outer);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- bad input -------------------------------------------------------------- */

Test(shield, bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_future *f, *outer = (cio_future *)1;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_shield(NULL, &outer), -EINVAL);
	cr_assert_null(outer);
	cr_assert_eq(cio_shield(f, NULL), -EINVAL);

	cr_assert_eq(cio_shield(f, &outer), 0);
	cr_assert_eq(cio_future_set_result(outer, 1), -EINVAL,
		     "mirrors only");
	cr_assert_eq(cio_future_set_error(outer, -EIO), -EINVAL);
	cr_assert_eq(cio_future_cancel(outer), 1);
	cr_assert_not(cio_future_done(f), "inner not cancelled");
	cr_assert_eq(cio_future_set_result(f, 2), 0);
	cio_future_unref(outer);

	th_loop_free(loop); /* f outlives it */
	cr_assert_eq(cio_shield(f, &outer), -EINVAL, "closed loop");
	cio_future_unref(f);
	th_leak_check();
}
