/* Futures: states and transitions, bad input, done callbacks (order,
 * when they run, removal), references, unretrieved-error reports. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"

#include <stdio.h>
#include <string.h>

static cio_future *new_future(cio_loop *loop)
{
	cio_future *f = NULL;
	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_not_null(f);
	return f;
}

Test(future, new_bad_arguments)
{
	cio_future *f = (cio_future *)(uintptr_t)1;
	cr_assert_eq(cio_future_new(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_future_new(NULL, &f), -EINVAL, "no current loop");
	cr_assert_null(f);
	cio_loop *loop = th_loop_new();
	cr_assert_eq(cio_future_new(loop, NULL), -EINVAL);
	f = new_future(NULL); /* the current loop */
	cr_assert_eq(cio_future_loop(f), loop);
	cio_future_unref(f);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, null_arguments)
{
	cr_assert_null(cio_future_ref(NULL));
	cio_future_unref(NULL);
	cr_assert_eq(cio_future_set_result(NULL, 1), -EINVAL);
	cr_assert_eq(cio_future_set_error(NULL, -EIO), -EINVAL);
	cr_assert_eq(cio_future_cancel(NULL), 0);
	cr_assert_not(cio_future_done(NULL));
	cr_assert_not(cio_future_cancelled(NULL));
	cr_assert_eq(cio_future_result(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_future_error(NULL), -EINVAL);
	cr_assert_eq(cio_future_add_done_callback(NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_future_remove_done_callback(NULL, NULL, NULL), 0);
	cr_assert_null(cio_future_loop(NULL));
	cr_assert_null(cio_future_task(NULL));

	cio_loop *loop = th_loop_new();
	cio_future *f = new_future(loop);
	cr_assert_eq(cio_future_add_done_callback(f, NULL, NULL), -EINVAL);
	cr_assert_null(cio_future_task(f), "a plain future is not a task");
	cio_future_unref(f);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, pending_state)
{
	cio_loop *loop = th_loop_new();
	cio_future *f = new_future(loop);
	intptr_t v = 99;
	cr_assert_not(cio_future_done(f));
	cr_assert_not(cio_future_cancelled(f));
	cr_assert_eq(cio_future_result(f, &v), -EAGAIN);
	cr_assert_eq(v, 99, "value untouched");
	cr_assert_eq(cio_future_error(f), -EAGAIN);
	cio_future_unref(f);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, result_state_and_invalid_transitions)
{
	cio_loop *loop = th_loop_new();
	cio_future *f = new_future(loop);
	intptr_t v = 0;

	cr_assert_eq(cio_future_set_result(f, 1234), 0);
	cr_assert(cio_future_done(f));
	cr_assert_not(cio_future_cancelled(f));
	cr_assert_eq(cio_future_result(f, &v), 0);
	cr_assert_eq(v, 1234);
	cr_assert_eq(cio_future_result(f, NULL), 0);
	cr_assert_eq(cio_future_error(f), 0);
	cr_assert_eq(cio_future_set_result(f, 5), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, -EIO), -EINVAL);
	cr_assert_eq(cio_future_cancel(f), 0);
	cr_assert_not(cio_future_cancelled(f));
	cr_assert_eq(cio_future_result(f, &v), 0);
	cr_assert_eq(v, 1234, "the first outcome stays");
	cio_future_unref(f);

	/* Any intptr_t is a result, including pointers and values below the
	 * error range. */
	f = new_future(loop);
	cr_assert_eq(cio_future_set_result(f, INTPTR_MIN), 0);
	cr_assert_eq(cio_future_result(f, &v), 0);
	cr_assert_eq(v, INTPTR_MIN);
	cio_future_unref(f);
	f = new_future(loop);
	cr_assert_eq(cio_future_set_result(f, (intptr_t)&v), 0);
	cr_assert_eq(cio_future_result(f, &v), 0);
	cr_assert_eq(v, (intptr_t)&v);
	cio_future_unref(f);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, error_state)
{
	cio_loop *loop = th_loop_new();
	cio_future *f = new_future(loop);
	intptr_t v = 7;

	cr_assert_eq(cio_future_set_error(f, 0), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, 5), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, -4096), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, INT32_MIN), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, -ECANCELED), -EINVAL);
	cr_assert_not(cio_future_done(f), "rejected errors change nothing");

	cr_assert_eq(cio_future_set_error(f, -EIO), 0);
	cr_assert(cio_future_done(f));
	cr_assert_not(cio_future_cancelled(f));
	cr_assert_eq(cio_future_result(f, &v), -EIO);
	cr_assert_eq(v, 7);
	cr_assert_eq(cio_future_error(f), -EIO);
	cr_assert_eq(cio_future_set_error(f, -EPERM), -EINVAL);
	cr_assert_eq(cio_future_set_result(f, 1), -EINVAL);
	cr_assert_eq(cio_future_cancel(f), 0);
	cr_assert_eq(cio_future_error(f), -EIO);
	cio_future_unref(f);

	/* The bounds of the error range. */
	f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -4095), 0);
	cr_assert_eq(cio_future_error(f), -4095);
	cio_future_unref(f);
	f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -1), 0);
	cr_assert_eq(cio_future_error(f), -1);
	cio_future_unref(f);
	/* A stored -EAGAIN is told from "pending" by done(). */
	f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -EAGAIN), 0);
	cr_assert_eq(cio_future_result(f, NULL), -EAGAIN);
	cr_assert(cio_future_done(f));
	cio_future_unref(f);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, cancelled_state)
{
	cio_loop *loop = th_loop_new();
	cio_future *f = new_future(loop);
	intptr_t v = 3;

	cr_assert_eq(cio_future_cancel(f), 1);
	cr_assert_eq(cio_future_cancel(f), 0);
	cr_assert(cio_future_done(f));
	cr_assert(cio_future_cancelled(f));
	cr_assert_eq(cio_future_result(f, &v), -ECANCELED);
	cr_assert_eq(v, 3);
	cr_assert_eq(cio_future_error(f), -ECANCELED);
	cr_assert_eq(cio_future_set_result(f, 1), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, -EIO), -EINVAL);
	cio_future_unref(f);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t ret_arg(void *arg)
{
	return (intptr_t)arg;
}

Test(future, tasks_are_not_settable)
{
	cio_loop *loop = th_loop_new();
	cio_task *t = th_spawn(loop, ret_arg, (void *)5, NULL);
	cio_future *f = cio_task_future(t);
	cr_assert_eq(cio_future_task(f), t);
	cr_assert_eq(cio_future_set_result(f, 1), -EINVAL);
	cr_assert_eq(cio_future_set_error(f, -EIO), -EINVAL);
	cr_assert_eq(cio_loop_run_until_complete(loop, f), 5);
	cr_assert_eq(cio_future_set_result(f, 1), -EINVAL);
	cio_task_unref(t);
	th_loop_free(loop);
	th_leak_check();
}

/* -- done callbacks ------------------------------------------------------------ */

struct cblog {
	cio_future *fut;
	int order[32];
	int n;
	/* what a callback does besides logging */
	cio_future_cb remove_fn;
	void *remove_arg;
	int removed;
	bool add_more;
};

static struct cblog *the_log;

static void log_cb(cio_future *f, void *arg)
{
	cr_assert_eq(f, the_log->fut);
	cr_assert(cio_future_done(f));
	cr_assert_lt(the_log->n, 32);
	the_log->order[the_log->n++] = (int)(intptr_t)arg;
}

Test(future, callbacks_run_from_the_ready_queue_in_order)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;

	for (int i = 1; i <= 5; i++)
		cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb,
							  (void *)(intptr_t)i), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 1), 0);
	cr_assert_eq(log.n, 0, "not run inside set_result");
	th_run_once(loop);
	cr_assert_eq(log.n, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(log.order[i], i + 1);
	/* Each runs once. */
	th_run_once(loop);
	cr_assert_eq(log.n, 5);

	/* Added to a done future: not now, in the next iteration. */
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb,
						  (void *)6), 0);
	cr_assert_eq(log.n, 5);
	th_run_once(loop);
	cr_assert_eq(log.n, 6);
	cr_assert_eq(log.order[5], 6);
	cio_future_unref(log.fut);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, callbacks_run_for_errors_and_cancellation)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;

	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1),
		     0);
	cr_assert_eq(cio_future_cancel(log.fut), 1);
	cr_assert_eq(log.n, 0, "not run inside cancel");
	th_run_once(loop);
	cr_assert_eq(log.n, 1);
	cio_future_unref(log.fut);

	log = (struct cblog){ .fut = new_future(loop) };
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)2),
		     0);
	cr_assert_eq(cio_future_set_error(log.fut, -EIO), 0);
	cr_assert_eq(log.n, 0, "not run inside set_error");
	th_run_once(loop);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(cio_future_error(log.fut), -EIO);
	cio_future_unref(log.fut);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, remove_done_callback)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;

	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)2), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)3), 0);
	cr_assert_eq(cio_future_remove_done_callback(log.fut, log_cb,
						     (void *)1), 2);
	cr_assert_eq(cio_future_remove_done_callback(log.fut, log_cb,
						     (void *)1), 0);
	cr_assert_eq(cio_future_remove_done_callback(log.fut, log_cb,
						     (void *)9), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	/* Removing after done but before the callbacks ran. */
	cr_assert_eq(cio_future_remove_done_callback(log.fut, log_cb,
						     (void *)3), 1);
	th_run_once(loop);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(log.order[0], 2);
	/* After they ran there is nothing to remove. */
	cr_assert_eq(cio_future_remove_done_callback(log.fut, log_cb,
						     (void *)2), 0);
	cio_future_unref(log.fut);
	th_loop_free(loop);
	th_leak_check();
}

static void removing_cb(cio_future *f, void *arg)
{
	log_cb(f, arg);
	the_log->removed += cio_future_remove_done_callback(
		f, the_log->remove_fn, the_log->remove_arg);
}

static void adding_cb(cio_future *f, void *arg)
{
	log_cb(f, arg);
	cr_assert_eq(cio_future_add_done_callback(f, log_cb, (void *)99), 0);
}

Test(future, remove_from_inside_the_same_batch)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;
	log.remove_fn = log_cb;
	log.remove_arg = (void *)3;

	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, removing_cb,
						  (void *)2), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)3), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)4), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)3), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	th_run_once(loop);
	cr_assert_eq(log.removed, 2);
	cr_assert_eq(log.n, 3);
	cr_assert_eq(log.order[0], 1);
	cr_assert_eq(log.order[1], 2);
	cr_assert_eq(log.order[2], 4);
	cio_future_unref(log.fut);

	/* Removing one that already ran in this batch finds nothing. */
	log = (struct cblog){ .fut = new_future(loop) };
	log.remove_fn = log_cb;
	log.remove_arg = (void *)1;
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, removing_cb,
						  (void *)2), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	th_run_once(loop);
	cr_assert_eq(log.removed, 0);
	cr_assert_eq(log.n, 2);
	cio_future_unref(log.fut);
	th_loop_free(loop);
	th_leak_check();
}

Test(future, callback_added_by_a_callback_runs_next_iteration)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;

	cr_assert_eq(cio_future_add_done_callback(log.fut, adding_cb,
						  (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)2), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	th_run_once(loop);
	cr_assert_eq(log.n, 2);
	th_run_once(loop);
	cr_assert_eq(log.n, 3);
	cr_assert_eq(log.order[2], 99);
	cio_future_unref(log.fut);
	th_loop_free(loop);
	th_leak_check();
}

static void unref_in_cb(cio_future *f, void *arg)
{
	log_cb(f, arg);
	cio_future_unref(f); /* the last user reference */
	cr_assert(cio_future_done(f), "the batch still holds it");
}

/* The loop keeps the future alive while its callbacks are scheduled. */
Test(future, references)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;

	cr_assert_eq(cio_future_ref(log.fut), log.fut);
	cio_future_unref(log.fut);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	cio_future_unref(log.fut); /* gone from our side before they run */
	cr_assert_eq(loop->objects, 1);
	th_run_once(loop);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(loop->objects, 0);

	log = (struct cblog){ .fut = new_future(loop) };
	cr_assert_eq(cio_future_add_done_callback(log.fut, unref_in_cb,
						  (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)2), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	th_run_once(loop);
	cr_assert_eq(log.n, 2);
	cr_assert_eq(loop->objects, 0);
	th_loop_free(loop);
	th_leak_check();
}

/* Callbacks of a future that is freed (or whose loop closes) before they
 * run are released with it: ASan sees no leak. */
Test(future, pending_callbacks_are_freed_with_the_future)
{
	cio_loop *loop = th_loop_new();
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;

	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)2), 0);
	cio_future_unref(log.fut); /* pending, never completed */
	cr_assert_eq(loop->objects, 0);

	log.fut = new_future(loop);
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)3), 0);
	cr_assert_eq(cio_future_set_result(log.fut, 0), 0);
	cr_assert_eq(cio_loop_close(loop), 0); /* discards the queued batch */
	cr_assert_eq(log.n, 0);
	cio_future_unref(log.fut);
	cio_loop_free(loop);
	th_leak_check();
}

/* -- unretrieved errors -------------------------------------------------------- */

Test(future, error_never_retrieved_reported_once_on_free)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	th_collect_reports(loop, &rep);

	cio_future *f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -EPIPE), 0);
	cio_future_ref(f);
	cio_future_unref(f);
	cr_assert_eq(rep.n, 0, "reported when freed, not before");
	cio_future_unref(f);
	cr_assert_eq(rep.n, 1);
	cr_assert_eq(rep.kind[0], CIO_REPORT_ERROR_NEVER_RETRIEVED);
	cr_assert_eq(rep.error[0], -EPIPE);
	cr_assert_eq(rep.future[0], f);
	cr_assert_null(rep.task[0]);
	char want[64];
	snprintf(want, sizeof(want), "future %p error never retrieved",
		 (void *)f);
	cr_assert_not_null(strstr(rep.message[0], want), "%s", rep.message[0]);
	cr_assert_not_null(strstr(rep.message[0], "(-32)"), "%s",
			   rep.message[0]);

	/* Retrieved through result() or error(): nothing to report. */
	f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -EIO), 0);
	cr_assert_eq(cio_future_result(f, NULL), -EIO);
	cio_future_unref(f);
	f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -EIO), 0);
	cr_assert_eq(cio_future_error(f), -EIO);
	cio_future_unref(f);
	/* Results and cancellations are never reported. */
	f = new_future(loop);
	cr_assert_eq(cio_future_set_result(f, -EIO), 0);
	cio_future_unref(f);
	f = new_future(loop);
	cr_assert_eq(cio_future_cancel(f), 1);
	cio_future_unref(f);
	f = new_future(loop);
	cio_future_unref(f);
	cr_assert_eq(rep.n, 1);

	/* A callback that sees the future does not read it: still reported,
	 * after the callbacks ran. */
	struct cblog log = { .fut = new_future(loop) };
	the_log = &log;
	cr_assert_eq(cio_future_add_done_callback(log.fut, log_cb, (void *)1), 0);
	cr_assert_eq(cio_future_set_error(log.fut, -ENOSPC), 0);
	cio_future_unref(log.fut);
	cr_assert_eq(rep.n, 1);
	th_run_once(loop);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(rep.n, 2);
	cr_assert_eq(rep.error[1], -ENOSPC);
	th_loop_free(loop);
	cr_assert_eq(rep.n, 2);
	th_leak_check();
}

static intptr_t await_it(void *arg)
{
	return cio_await(arg);
}

Test(future, awaiting_retrieves_the_error)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	th_collect_reports(loop, &rep);

	cio_future *f = new_future(loop);
	cr_assert_eq(cio_future_set_error(f, -EBADF), 0);
	cr_assert_eq(th_run(loop, await_it, f), -EBADF);
	cio_future_unref(f);
	cr_assert_eq(rep.n, 0);
	th_loop_free(loop);
	th_leak_check();
}

static void never_cb(cio_future *fut, void *arg)
{
	(void)fut;
	(void)arg;
	cr_assert_fail("a callback ran on a closed loop");
}

Test(future, done_callback_refused_once_the_loop_is_closed)
{
	cio_loop *loop = th_loop_new();
	cio_future *f = new_future(loop);

	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(cio_future_add_done_callback(f, never_cb, NULL), -EINVAL);
	cio_future_unref(f);
	cio_loop_free(loop);
	th_leak_check();
}
