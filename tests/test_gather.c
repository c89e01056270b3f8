/* cio_gather / cio_gather_results: asyncio.gather semantics. */
#include "helpers/harness.h"
#include "runtime/combinators.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

/* A child: sleeps `delay` (or until `until`, when set), records its
 * finishing rank, returns `value`.
 * When cancelled it records that, and either lets it out or ignores it
 * (then sleeps `after` ms and returns `value` anyway).
 * Not a struct th_child: the clean-up awaits (even with `after` 0), which
 * is what a gather must wait for, and a th_child does not. */
struct child {
	int64_t delay;
	int64_t until;
	intptr_t value;
	bool ignore_cancel;
	int64_t after;
	int *rank;       /* shared counter */
	int finished_as; /* 1-based finishing rank */
	bool saw_cancel;
	bool cleaned_up;
};

static intptr_t child_fn(void *arg)
{
	struct child *c = arg;
	int rc = c->until ? cio_sleep_until(c->until) : cio_sleep(c->delay);
	if (rc == -ECANCELED) {
		c->saw_cancel = true;
		/* Clean-up that itself awaits: the gather must wait for it. */
		cr_assert_eq(cio_sleep(c->after), 0);
		c->cleaned_up = true;
		if (!c->ignore_cancel)
			return -ECANCELED;
	}
	if (c->rank)
		c->finished_as = ++*c->rank;
	return c->value;
}

static cio_task *spawn_child(struct child *c)
{
	return th_spawn(NULL, child_fn, c, NULL);
}

/* Spawn n children and point f[i] at their futures. */
static void spawn_children(struct child *c, cio_task **t, cio_future **f,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		t[i] = spawn_child(&c[i]);
		f[i] = cio_task_future(t[i]);
	}
}

static void unref_all(cio_task **t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cio_task_unref(t[i]);
}

/* -- order ------------------------------------------------------------------ */

static intptr_t order_body(void *arg)
{
	(void)arg;
	int rank = 0;
	struct child c[3];
	cio_task *t[3];
	cio_future *f[3], *g;

	/* Absolute deadlines: the order does not depend on when each child
	 * got to start. */
	int64_t base = cio_deadline_after(50 * MS);
	for (int i = 0; i < 3; i++)
		c[i] = (struct child){ .until = base + (3 - i) * 10 * MS,
				       .value = 100 + i, .rank = &rank };
	spawn_children(c, t, f, 3);
	cr_assert_eq(cio_gather(&g, f, 3, 0), 0);
	cr_assert_not(cio_future_done(g));
	cr_assert_null(cio_gather_results(g), "pending gather has no results");
	cr_assert_eq(cio_await(g), 0);
	/* Finished in reverse, reported in input order. */
	cr_assert_eq(c[2].finished_as, 1);
	cr_assert_eq(c[1].finished_as, 2);
	cr_assert_eq(c[0].finished_as, 3);
	const intptr_t *r = cio_gather_results(g);
	cr_assert_not_null(r);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(r[i], 100 + i);
	cio_future_unref(g);
	unref_all(t, 3);
	return 0;
}

Test(gather, order_preserved_reverse_completion)
{
	th_run_checked(order_body, NULL);
	th_leak_check();
}

/* -- one child fails -------------------------------------------------------- */

static intptr_t fail_fast_body(void *arg)
{
	(void)arg;
	struct child c[3] = {
		{ .delay = LONG_SLEEP, .value = 1 },
		{ .delay = 1 * MS, .value = -EIO },
		{ .delay = LONG_SLEEP, .value = 3 },
	};
	cio_task *t[3];
	cio_future *f[3], *g;

	spawn_children(c, t, f, 3);
	cr_assert_eq(cio_gather(&g, f, 3, 0), 0);
	cr_assert_eq(cio_await(g), -EIO);
	cr_assert_null(cio_gather_results(g), "failed gather has no results");
	/* The others keep running, and the gather still holds them. */
	cr_assert_not(cio_task_done(t[0]));
	cr_assert_not(cio_task_done(t[2]));
	cr_assert_not(c[0].saw_cancel);
	cio_task_cancel(t[0]);
	cio_task_cancel(t[2]);
	cr_assert_eq(cio_await_task(t[0]), -ECANCELED);
	cr_assert_eq(cio_await_task(t[2]), -ECANCELED);
	cio_future_unref(g);
	unref_all(t, 3);
	return 0;
}

Test(gather, first_error_fails_at_once)
{
	struct th_report_counts rep;

	th_run_checked_counting(fail_fast_body, NULL, &rep);
	cr_assert_eq(rep.never_retrieved, 0, "the gather read the error");
	cr_assert_eq(rep.other, 0);
	th_leak_check();
}

/* A second child error arriving after the gather failed is read too. */
static intptr_t two_errors_body(void *arg)
{
	(void)arg;
	struct child c[2] = {
		{ .delay = 1 * MS, .value = -EIO },
		{ .delay = 5 * MS, .value = -EPIPE },
	};
	cio_task *t[2];
	cio_future *f[2], *g;

	spawn_children(c, t, f, 2);
	cr_assert_eq(cio_gather(&g, f, 2, 0), 0);
	cr_assert_eq(cio_await(g), -EIO);
	/* cio_wait reads nothing; the gather's callbacks, registered first,
	 * have run when it returns. */
	cr_assert_eq(cio_wait(f, 2, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, NULL,
			      NULL, NULL, NULL), 0);
	/* Drop our task references: only the gather read them. */
	unref_all(t, 2);
	cio_future_unref(g);
	return 0;
}

Test(gather, later_errors_marked_retrieved)
{
	struct th_report_counts rep;

	th_run_checked_counting(two_errors_body, NULL, &rep);
	cr_assert_eq(rep.never_retrieved, 0);
	th_leak_check();
}

/* -- return_errors ---------------------------------------------------------- */

static intptr_t return_errors_body(void *arg)
{
	(void)arg;
	struct child c[4] = {
		{ .delay = 3 * MS, .value = -EIO },
		{ .delay = 1 * MS, .value = 7 },
		{ .delay = LONG_SLEEP, .value = 0 },
		{ .delay = 2 * MS, .value = -ENOENT },
	};
	cio_task *t[4];
	cio_future *f[4], *g;

	spawn_children(c, t, f, 4);
	cr_assert_eq(cio_gather(&g, f, 4, CIO_GATHER_RETURN_ERRORS), 0);
	unref_all(t, 4);
	cr_assert_eq(cio_sleep(10 * MS), 0);
	cr_assert_not(cio_future_done(g), "a child is still running");
	cio_task_cancel(t[2]); /* the gather still holds it */
	cr_assert_eq(cio_await(g), 0);
	const intptr_t *r = cio_gather_results(g);
	cr_assert_not_null(r);
	cr_assert_eq(r[0], -EIO);
	cr_assert_eq(r[1], 7);
	cr_assert_eq(r[2], -ECANCELED);
	cr_assert_eq(r[3], -ENOENT);
	cio_future_unref(g);
	return 0;
}

Test(gather, return_errors_stores_errors)
{
	struct th_report_counts rep;

	th_run_checked_counting(return_errors_body, NULL, &rep);
	cr_assert_eq(rep.never_retrieved, 0);
	th_leak_check();
}

/* -- a cancelled child ------------------------------------------------------ */

static intptr_t cancelled_child_body(void *arg)
{
	(void)arg;
	struct child c[2] = {
		{ .delay = LONG_SLEEP, .value = 1 },
		{ .delay = LONG_SLEEP, .value = 2 },
	};
	cio_task *t[2];
	cio_future *f[2], *g;

	spawn_children(c, t, f, 2);
	cr_assert_eq(cio_gather(&g, f, 2, 0), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(t[1]), 1);
	cr_assert_eq(cio_await(g), -ECANCELED);
	cr_assert(cio_future_cancelled(g));
	/* This task was not cancelled: the next await works. */
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(cio_task_done(t[0]), "the sibling keeps running");
	cr_assert_not(c[0].saw_cancel);
	cio_task_cancel(t[0]);
	cr_assert_eq(cio_await_task(t[0]), -ECANCELED);
	cio_future_unref(g);
	unref_all(t, 2);
	return 0;
}

Test(gather, cancelled_child_cancels_gather)
{
	th_run_checked(cancelled_child_body, NULL);
	th_leak_check();
}

/* -- cancelling the gather -------------------------------------------------- */

struct cancel_case {
	unsigned flags;
	bool via_task;   /* cancel a task awaiting the gather */
	bool one_ignores;
};

static intptr_t await_gather(void *arg)
{
	return cio_await(arg);
}

static intptr_t cancel_gather_body(void *arg)
{
	struct cancel_case *cc = arg;
	struct child c[3] = {
		{ .delay = LONG_SLEEP, .value = 1, .after = 1 * MS },
		{ .delay = LONG_SLEEP, .value = 2, .after = 2 * MS },
		{ .delay = LONG_SLEEP, .value = 3, .after = 20 * MS,
		  .ignore_cancel = cc->one_ignores },
	};
	cio_task *t[3], *waiter = NULL;
	cio_future *f[3], *g;

	spawn_children(c, t, f, 3);
	cr_assert_eq(cio_gather(&g, f, 3, cc->flags), 0);
	cr_assert_eq(cio_spawn(&waiter, await_gather, g, NULL), 0);
	cr_assert_eq(cio_yield(), 0); /* children and waiter park */
	if (cc->via_task)
		cr_assert_eq(cio_task_cancel(waiter), 1);
	else
		cr_assert_eq(cio_future_cancel(g), 1);
	cr_assert_not(cio_future_done(g), "waits for the children");
	cr_assert_eq(cio_await_task(waiter), -ECANCELED);
	cr_assert(cio_future_cancelled(g));
	for (int i = 0; i < 3; i++) {
		cr_assert(c[i].saw_cancel, "child %d cancelled", i);
		cr_assert(c[i].cleaned_up, "child %d cleaned up before", i);
		cr_assert(cio_task_done(t[i]));
	}
	if (cc->one_ignores) {
		intptr_t v = 0;
		cr_assert_not(cio_task_cancelled(t[2]));
		cr_assert_eq(cio_task_result(t[2], &v), 0);
		cr_assert_eq(v, 3);
	} else {
		cr_assert(cio_task_cancelled(t[2]));
	}
	cr_assert(cio_task_cancelled(t[0]));
	cr_assert(cio_task_cancelled(t[1]));
	cr_assert_null(cio_gather_results(g));
	cr_assert_eq(cio_future_cancel(g), 0, "done: nothing to cancel");
	cio_task_unref(waiter);
	cio_future_unref(g);
	unref_all(t, 3);
	return 0;
}

static void run_cancel_case(struct cancel_case cc)
{
	th_run_checked_no_reports(cancel_gather_body, &cc);
}

Test(gather, cancel_cancels_children)
{
	run_cancel_case((struct cancel_case){ 0 });
	th_leak_check();
}

Test(gather, cancel_cancels_children_return_errors)
{
	run_cancel_case((struct cancel_case){
		.flags = CIO_GATHER_RETURN_ERRORS });
	th_leak_check();
}

Test(gather, cancel_via_awaiting_task)
{
	run_cancel_case((struct cancel_case){ .via_task = true });
	th_leak_check();
}

Test(gather, cancel_child_ignores_cancellation)
{
	run_cancel_case((struct cancel_case){ .one_ignores = true });
	th_leak_check();
}

Test(gather, cancel_child_ignores_cancellation_return_errors)
{
	run_cancel_case((struct cancel_case){
		.flags = CIO_GATHER_RETURN_ERRORS, .one_ignores = true,
		.via_task = true });
	th_leak_check();
}

/* All children done, their callbacks not run yet: nothing to cancel, and
 * the gather ends with its results. */
static intptr_t cancel_too_late_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f[2], *g;

	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cr_assert_eq(cio_gather(&g, f, 2, 0), 0);
	cr_assert_eq(cio_future_set_result(f[0], 10), 0);
	cr_assert_eq(cio_future_set_result(f[1], 20), 0);
	cr_assert_eq(cio_future_cancel(g), 0);
	cr_assert_eq(cio_await(g), 0);
	cr_assert_eq(cio_gather_results(g)[1], 20);
	cio_future_unref(g);
	for (int i = 0; i < 2; i++)
		cio_future_unref(f[i]);
	return 0;
}

Test(gather, cancel_after_children_done_is_noop)
{
	th_run_checked_on_loop(cancel_too_late_body);
	th_leak_check();
}

/* -- nesting ---------------------------------------------------------------- */

static intptr_t nested_body(void *arg)
{
	bool cancel = arg != NULL;
	struct child c[3] = {
		{ .delay = (cancel ? LONG_SLEEP : 3 * MS), .value = 1 },
		{ .delay = (cancel ? LONG_SLEEP : 1 * MS), .value = 2 },
		{ .delay = 0, .value = 3 },
	};
	cio_task *t[3];
	cio_future *inner, *outer, *of[2];

	for (int i = 0; i < 3; i++)
		t[i] = spawn_child(&c[i]);
	cio_future *inf[2] = { cio_task_future(t[0]), cio_task_future(t[1]) };
	cr_assert_eq(cio_gather(&inner, inf, 2, 0), 0);
	of[0] = inner;
	of[1] = cio_task_future(t[2]);
	cr_assert_eq(cio_gather(&outer, of, 2, 0), 0);
	if (cancel) {
		cr_assert_eq(cio_await_task(t[2]), 3);
		cr_assert_eq(cio_future_cancel(outer), 1);
		cr_assert_eq(cio_await(outer), -ECANCELED);
		cr_assert(cio_future_cancelled(inner));
		cr_assert(cio_task_cancelled(t[0]));
		cr_assert(cio_task_cancelled(t[1]));
		cr_assert_not(cio_task_cancelled(t[2]), "was done already");
	} else {
		cr_assert_eq(cio_await(outer), 0);
		const intptr_t *ro = cio_gather_results(outer);
		const intptr_t *ri = cio_gather_results(inner);
		cr_assert_eq(ro[0], 0);
		cr_assert_eq(ro[1], 3);
		cr_assert_eq(ri[0], 1);
		cr_assert_eq(ri[1], 2);
	}
	cio_future_unref(outer);
	cio_future_unref(inner);
	unref_all(t, 3);
	return 0;
}

Test(gather, nested)
{
	th_run_checked(nested_body, NULL);
	th_leak_check();
}

Test(gather, nested_cancel_reaches_grandchildren)
{
	th_run_checked(nested_body, (void *)1);
	th_leak_check();
}

/* -- already done, empty, duplicates, plain futures ------------------------- */

Test(gather, empty_is_done_at_once)
{
	cio_loop *loop = th_loop_new();
	cio_future *g = NULL;

	cr_assert_eq(cio_gather(&g, NULL, 0, 0), 0);
	cr_assert(cio_future_done(g));
	cr_assert_not_null(cio_gather_results(g));
	intptr_t v = -1;
	cr_assert_eq(cio_future_result(g, &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, g), 0);
	cr_assert_eq(cio_future_loop(g), loop);
	cio_future_unref(g);
	th_loop_free_checked(loop);
	th_leak_check();
}

Test(gather, already_done_children)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	cio_future *f[3], *g;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_future_new(loop, &f[i]), 0);
	cio_future_set_result(f[0], 5);
	cio_future_set_error(f[1], -EBADF);
	cio_future_set_error(f[2], -EIO);

	/* The first error in input order decides, at once. */
	cr_assert_eq(cio_gather(&g, f, 3, 0), 0);
	cr_assert(cio_future_done(g));
	cr_assert_eq(cio_future_error(g), -EBADF);
	cio_future_unref(g);

	cr_assert_eq(cio_gather(&g, f, 3, CIO_GATHER_RETURN_ERRORS), 0);
	cr_assert(cio_future_done(g));
	const intptr_t *r = cio_gather_results(g);
	cr_assert_eq(r[0], 5);
	cr_assert_eq(r[1], -EBADF);
	cr_assert_eq(r[2], -EIO);
	cio_future_unref(g);

	for (int i = 0; i < 3; i++)
		cio_future_unref(f[i]);
	th_loop_free_checked(loop);
	cr_assert_eq(rep.never_retrieved, 0);
	th_leak_check();
}

static void set_later(void *arg)
{
	cio_future_set_result(arg, 9);
}

Test(gather, plain_futures_and_duplicates)
{
	cio_loop *loop = th_loop_new();
	cio_future *a, *b, *g;

	cr_assert_eq(cio_future_new(loop, &a), 0);
	cr_assert_eq(cio_future_new(loop, &b), 0);
	cio_future *f[4] = { a, b, a, b };
	cr_assert_eq(cio_gather(&g, f, 4, 0), 0);
	cr_assert_eq(cio_future_set_result(a, 4), 0);
	cr_assert_eq(cio_call_later(loop, 1 * MS, set_later, b, NULL), 0);
	/* The gather holds its own references on pending children. */
	cio_future_unref(a);
	cr_assert_eq(cio_loop_run_until_complete(loop, g), 0);
	const intptr_t *r = cio_gather_results(g);
	cr_assert_eq(r[0], 4);
	cr_assert_eq(r[1], 9);
	cr_assert_eq(r[2], 4);
	cr_assert_eq(r[3], 9);
	cio_future_unref(b);
	cio_future_unref(g);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* Releasing a gather early leaves its children alone. */
static intptr_t freed_early_body(void *arg)
{
	(void)arg;
	struct child c[2] = {
		{ .delay = 2 * MS, .value = 1 },
		{ .delay = 4 * MS, .value = 2 },
	};
	cio_task *t[2];
	cio_future *f[2], *g;

	spawn_children(c, t, f, 2);
	cr_assert_eq(cio_gather(&g, f, 2, 0), 0);
	cio_future_unref(g);
	cr_assert_eq(cio_await_task(t[0]), 1);
	cr_assert_eq(cio_await_task(t[1]), 2);
	unref_all(t, 2);
	return 0;
}

Test(gather, freed_before_children_done)
{
	th_run_checked(freed_early_body, NULL);
	th_leak_check();
}

/* The loop closes with children pending: releasing the gather afterwards
 * unlinks it cleanly (ASan checks the rest). */
Test(gather, released_after_loop_close)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	struct child c = { .delay = LONG_SLEEP, .value = 1 };
	cio_future *pf, *g;
	cio_task *t = spawn_child(&c);

	cr_assert_eq(cio_future_new(loop, &pf), 0);
	cio_future *f[2] = { cio_task_future(t), pf };
	cr_assert_eq(cio_gather(&g, f, 2, 0), 0);
	th_loop_close_pending(loop);
	cr_assert_eq(rep.other, 1, "the child task was pending at close");
	cio_future_unref(g);
	cio_future_unref(pf);
	cio_task_unref(t);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- bad input -------------------------------------------------------------- */

Test(gather, bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_loop *other = th_loop_new();
	cio_future *a, *b, *g = (cio_future *)1;

	cr_assert_eq(cio_future_new(loop, &a), 0);
	cr_assert_eq(cio_future_new(other, &b), 0);
	cio_future *mixed[2] = { a, b };
	cio_future *with_null[2] = { a, NULL };

	cr_assert_eq(cio_gather(NULL, mixed, 1, 0), -EINVAL);
	cr_assert_eq(cio_gather(&g, NULL, 2, 0), -EINVAL);
	cr_assert_null(g, "*out cleared on error");
	cr_assert_eq(cio_gather(&g, with_null, 2, 0), -EINVAL);
	cr_assert_eq(cio_gather(&g, mixed, 2, 0), -EINVAL);
	cr_assert_eq(cio_gather(&g, mixed, 1, 0x80), -EINVAL);

	cr_assert_null(cio_gather_results(NULL));
	cr_assert_null(cio_gather_results(a), "not a gather");
	cr_assert_eq(cio_gather(&g, mixed, 1, 0), 0);
	cr_assert_null(cio_gather_results(g), "pending");
	cr_assert_eq(cio_future_set_result(g, 1), -EINVAL, "not settable");
	cr_assert_eq(cio_future_set_error(g, -EIO), -EINVAL);
	cio_future_unref(g);

	cr_assert_eq(cio_loop_close(other), 0);
	cr_assert_eq(cio_gather(&g, &b, 1, 0), -EINVAL, "closed loop");
	cio_future_unref(a);
	cio_future_unref(b);
	th_loop_free_checked(loop);
	cio_loop_free(other);
	th_leak_check();
}

Test(gather, empty_without_loop)
{
	cio_future *g = (cio_future *)1;
	/* No loop was ever made on this thread. */
	cr_assert_eq(cio_gather(&g, NULL, 0, 0), -EINVAL);
	cr_assert_null(g);
	th_leak_check();
}
