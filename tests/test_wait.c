/* cio_wait: asyncio.wait semantics. */
#include "helpers/harness.h"
#include "runtime/combinators.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

/* -- return_when ------------------------------------------------------------ */

static intptr_t all_body(void *arg)
{
	(void)arg;
	struct th_child c[3] = {
		{ .delay = 6 * MS, .value = 1 },
		{ .delay = 2 * MS, .value = 2 },
		{ .delay = 4 * MS, .value = 3 },
	};
	cio_task *t[3];
	cio_future *f[3], *done[3], *pending[3];
	size_t nd = 99, np = 99;

	th_spawn_children(c, t, f, 3);
	cr_assert_eq(cio_wait(f, 3, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, done,
			      &nd, pending, &np), 0);
	cr_assert_eq(nd, 3);
	cr_assert_eq(np, 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(done[i], f[i], "input order, not completion");
		cr_assert(cio_future_done(f[i]));
	}
	th_finish_children(t, 3);
	return 0;
}

Test(wait, all_completed)
{
	th_run_checked(all_body, NULL);
	th_leak_check();
}

static intptr_t first_completed_body(void *arg)
{
	(void)arg;
	struct th_child c[3] = {
		{ .delay = LONG_SLEEP, .value = 1 },
		{ .delay = 1 * MS, .value = 2 },
		{ .delay = LONG_SLEEP, .value = 3 },
	};
	cio_task *t[3];
	cio_future *f[3], *done[3], *pending[3];
	size_t nd, np;

	th_spawn_children(c, t, f, 3);
	cr_assert_eq(cio_wait(f, 3, CIO_NO_DEADLINE, CIO_FIRST_COMPLETED,
			      done, &nd, pending, &np), 0);
	cr_assert_eq(nd, 1);
	cr_assert_eq(done[0], f[1]);
	cr_assert_eq(np, 2);
	cr_assert_eq(pending[0], f[0]);
	cr_assert_eq(pending[1], f[2]);
	cr_assert_not(c[0].saw_cancel, "pending futures are left alone");
	cr_assert_not(c[2].saw_cancel);
	th_finish_children(t, 3);
	return 0;
}

Test(wait, first_completed)
{
	th_run_checked(first_completed_body, NULL);
	th_leak_check();
}

static intptr_t first_exception_body(void *arg)
{
	(void)arg;
	struct th_child c[3] = {
		{ .delay = 1 * MS, .value = 1 },
		{ .delay = 3 * MS, .value = -EIO },
		{ .delay = LONG_SLEEP, .value = 3 },
	};
	cio_task *t[3];
	cio_future *f[3], *done[3], *pending[3];
	size_t nd, np;

	th_spawn_children(c, t, f, 3);
	cr_assert_eq(cio_wait(f, 3, CIO_NO_DEADLINE, CIO_FIRST_EXCEPTION,
			      done, &nd, pending, &np), 0);
	cr_assert_eq(nd, 2, "a result alone did not end the wait");
	cr_assert_eq(done[0], f[0]);
	cr_assert_eq(done[1], f[1]);
	cr_assert_eq(np, 1);
	cr_assert_eq(pending[0], f[2]);
	cr_assert_eq(cio_future_error(f[1]), -EIO);
	th_finish_children(t, 3);
	return 0;
}

Test(wait, first_exception)
{
	th_run_checked(first_exception_body, NULL);
	th_leak_check();
}

/* Cancellation is not an exception: the wait runs to the end. */
static intptr_t first_exception_cancel_body(void *arg)
{
	(void)arg;
	struct th_child c[2] = {
		{ .delay = LONG_SLEEP, .value = 1 },
		{ .delay = 10 * MS, .value = 2 },
	};
	cio_task *t[2];
	cio_future *f[2];
	size_t nd, np;

	th_spawn_children(c, t, f, 2);
	cr_assert_eq(cio_yield(), 0);
	cio_task_cancel(t[0]);
	cr_assert_eq(cio_wait(f, 2, CIO_NO_DEADLINE, CIO_FIRST_EXCEPTION,
			      NULL, &nd, NULL, &np), 0);
	cr_assert_eq(nd, 2);
	cr_assert_eq(np, 0);
	cr_assert(cio_task_cancelled(t[0]));
	th_finish_children(t, 2);
	return 0;
}

Test(wait, first_exception_ignores_cancellation)
{
	th_run_checked(first_exception_cancel_body, NULL);
	th_leak_check();
}

/* Already satisfied: returns without parking. */
static intptr_t satisfied_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[2], *done[2], *pending[2];
	size_t nd, np;

	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cio_future_set_error(f[1], -EIO);
	cr_assert_eq(cio_wait(f, 2, CIO_NO_DEADLINE, CIO_FIRST_COMPLETED, done,
			      &nd, pending, &np), 0);
	cr_assert_eq(nd, 1);
	cr_assert_eq(done[0], f[1]);
	cr_assert_eq(pending[0], f[0]);
	cr_assert_eq(cio_wait(f, 2, CIO_NO_DEADLINE, CIO_FIRST_EXCEPTION, done,
			      &nd, pending, &np), 0);
	cr_assert_eq(nd, 1);
	cio_future_set_result(f[0], 3);
	cr_assert_eq(cio_wait(f, 2, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, done,
			      &nd, pending, &np), 0);
	cr_assert_eq(nd, 2);
	cr_assert_eq(np, 0);
	cr_assert_eq(cio_future_error(f[1]), -EIO);
	for (int i = 0; i < 2; i++)
		cio_future_unref(f[i]);
	return 0;
}

Test(wait, already_satisfied)
{
	th_run_checked_on_loop(satisfied_body);
	th_leak_check();
}

/* -- deadline --------------------------------------------------------------- */

static intptr_t timeout_body(void *arg)
{
	(void)arg;
	struct th_child c[3] = {
		{ .delay = 0, .value = 1 },
		{ .delay = LONG_SLEEP, .value = 2 },
		{ .delay = 400 * MS, .value = 3 },
	};
	cio_task *t[3];
	cio_future *f[3], *done[3], *pending[3];
	size_t nd, np;

	th_spawn_children(c, t, f, 3);
	int64_t start = cio_loop_time();
	cr_assert_eq(cio_wait(f, 3, cio_deadline_after(100 * MS),
			      CIO_ALL_COMPLETED, done, &nd, pending, &np), 0);
	cr_assert_geq(cio_loop_time() - start, 100 * MS);
	cr_assert_eq(nd, 1);
	cr_assert_eq(done[0], f[0]);
	cr_assert_eq(np, 2);
	cr_assert_eq(pending[0], f[1]);
	cr_assert_eq(pending[1], f[2]);
	/* Not cancelled: the slow one still completes. */
	cr_assert_not(c[1].saw_cancel);
	cr_assert_eq(cio_await_task(t[2]), 3);
	th_finish_children(t, 3);
	return 0;
}

Test(wait, deadline_returns_without_cancelling)
{
	th_run_checked(timeout_body, NULL);
	th_leak_check();
}

static intptr_t deadline_passed_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[2], *done[2], *pending[2];
	size_t nd, np;

	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cio_future_set_result(f[0], 1);
	cr_assert_eq(cio_wait(f, 2, cio_loop_time() - 1, CIO_ALL_COMPLETED,
			      done, &nd, pending, &np), 0);
	cr_assert_eq(nd, 1);
	cr_assert_eq(np, 1);
	cr_assert_eq(pending[0], f[1]);
	cr_assert_not(cio_future_cancelled(f[1]));
	for (int i = 0; i < 2; i++)
		cio_future_unref(f[i]);
	return 0;
}

Test(wait, deadline_already_passed)
{
	th_run_checked_on_loop(deadline_passed_body);
	th_leak_check();
}

/* -- cancellation of the waiter --------------------------------------------- */

struct waiter_arg {
	cio_future **f;
	size_t n;
	int64_t deadline;
	int rc;
};

static intptr_t waiter_fn(void *arg)
{
	struct waiter_arg *w = arg;
	w->rc = cio_wait(w->f, w->n, w->deadline, CIO_ALL_COMPLETED, NULL,
			 NULL, NULL, NULL);
	/* The cancellation was delivered: the next await is not cut. */
	cr_assert_eq(cio_yield(), 0);
	return w->rc;
}

static intptr_t cancel_waiter_body(void *arg)
{
	size_t n = (size_t)(intptr_t)arg;
	cio_loop *loop = cio_loop_current();
	cio_future *f[16];
	cio_task *w;
	struct waiter_arg wa = { .f = f, .n = n,
				 .deadline = cio_deadline_after(LONG_SLEEP) };

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cr_assert_eq(cio_spawn(&w, waiter_fn, &wa, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(w), 1);
	intptr_t v = cio_await_task(w);
	cr_assert_eq(wa.rc, -ECANCELED);
	cr_assert_eq(v, -ECANCELED);
	for (size_t i = 0; i < n; i++) {
		cr_assert_not(cio_future_done(f[i]), "futures are not cancelled");
		cio_future_set_result(f[i], 0);
		cio_future_unref(f[i]);
	}
	cio_task_unref(w);
	return 0;
}

Test(wait, cancel_waiter_leaves_futures)
{
	th_run_checked(cancel_waiter_body, (void *)(intptr_t)3);
	th_leak_check();
}

Test(wait, cancel_waiter_many_futures)
{
	th_run_checked(cancel_waiter_body, (void *)(intptr_t)16);
	th_leak_check();
}

static intptr_t cancel_pending_body(void *arg)
{
	(void)arg;
	cio_future *f;
	size_t nd = 7;

	cr_assert_eq(cio_future_new(NULL, &f), 0);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_wait(&f, 1, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, NULL,
			      &nd, NULL, NULL), -ECANCELED);
	cr_assert_eq(nd, 7, "outputs untouched");
	cr_assert_not(cio_future_cancelled(f));
	cr_assert_eq(cio_task_uncancel(cio_current_task()), 0);
	cr_assert_eq(cio_yield(), 0);
	cio_future_unref(f);
	return 0;
}

Test(wait, cancel_pending_on_entry)
{
	th_run_checked(cancel_pending_body, NULL);
	th_leak_check();
}

/* -- many futures (nodes allocated) ----------------------------------------- */

#define MANY 40

static intptr_t many_body(void *arg)
{
	int mode = (int)(intptr_t)arg;
	struct th_child c[MANY];
	cio_task *t[MANY];
	cio_future *f[MANY], *done[MANY], *pending[MANY];
	size_t nd, np;

	/* First-completed: one child is quick, whenever the others start. */
	for (int i = 0; i < MANY; i++)
		c[i] = (struct th_child){ .delay = (MANY - i) * MS / 4,
					  .value = i };
	if (mode == CIO_FIRST_COMPLETED) {
		for (int i = 0; i < MANY - 1; i++)
			c[i].delay = LONG_SLEEP;
		c[MANY - 1].delay = 0;
	}
	th_spawn_children(c, t, f, MANY);
	cr_assert_eq(cio_wait(f, MANY, CIO_NO_DEADLINE, mode, done, &nd,
			      pending, &np), 0);
	if (mode == CIO_ALL_COMPLETED) {
		cr_assert_eq(nd, MANY);
		for (int i = 0; i < MANY; i++)
			cr_assert_eq(done[i], f[i]);
	} else {
		cr_assert_eq(nd, 1);
		cr_assert_eq(done[0], f[MANY - 1]);
		cr_assert_eq(np, MANY - 1);
		for (int i = 0; i < MANY - 1; i++)
			cr_assert_eq(pending[i], f[i]);
	}
	th_finish_children(t, MANY);
	return 0;
}

Test(wait, many_all_completed)
{
	th_run_checked(many_body, (void *)(intptr_t)CIO_ALL_COMPLETED);
	th_leak_check();
}

Test(wait, many_first_completed)
{
	th_run_checked(many_body, (void *)(intptr_t)CIO_FIRST_COMPLETED);
	th_leak_check();
}

/* The loop closes while a task waits: abandon releases everything (ASan
 * checks nothing leaks, heap nodes included). */
Test(wait, loop_closed_while_waiting)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	cio_future *f[12];
	cio_task *w[2];
	struct waiter_arg wa[2] = {
		{ .f = f, .n = 2, .deadline = cio_deadline_after(LONG_SLEEP) },
		{ .f = f, .n = 12, .deadline = CIO_NO_DEADLINE },
	};

	for (int i = 0; i < 12; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_spawn(&w[i], waiter_fn, &wa[i], NULL), 0);
	th_loop_close_pending(loop);
	cr_assert_eq(rep.pending_at_close, 2);
	for (int i = 0; i < 12; i++)
		cio_future_unref(f[i]);
	for (int i = 0; i < 2; i++)
		cio_task_unref(w[i]);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- bad input -------------------------------------------------------------- */

static intptr_t bad_args_body(void *arg)
{
	cio_loop *other = arg;
	cio_future *f, *g, *list[2];

	cr_assert_eq(cio_future_new(NULL, &f), 0);
	cr_assert_eq(cio_future_new(other, &g), 0);
	cr_assert_eq(cio_wait(&f, 0, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, NULL,
			      NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_wait(NULL, 1, CIO_NO_DEADLINE, CIO_ALL_COMPLETED,
			      NULL, NULL, NULL, NULL), -EINVAL);
	list[0] = f;
	list[1] = NULL;
	cr_assert_eq(cio_wait(list, 2, CIO_NO_DEADLINE, CIO_ALL_COMPLETED,
			      NULL, NULL, NULL, NULL), -EINVAL);
	list[1] = g;
	cr_assert_eq(cio_wait(list, 2, CIO_NO_DEADLINE, CIO_ALL_COMPLETED,
			      NULL, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_wait(&f, 1, CIO_NO_DEADLINE, 42, NULL, NULL, NULL,
			      NULL), -EINVAL);
	cr_assert_eq(cio_wait(&f, 1, CIO_NO_DEADLINE, -1, NULL, NULL, NULL,
			      NULL), -EINVAL);
	cio_future_unref(f);
	cio_future_unref(g);
	return 0;
}

Test(wait, bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_loop *other = th_loop_new();
	cio_future *f;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_wait(&f, 1, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, NULL,
			      NULL, NULL, NULL), -EPERM, "outside a task");
	cio_future_unref(f);
	cr_assert_eq(th_run(loop, bad_args_body, other), 0);
	th_loop_free(other);
	th_loop_free_checked(loop);
	th_leak_check();
}
