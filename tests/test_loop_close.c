/* Closing a loop: what is refused afterwards, and what close does with
 * tasks that are still pending and objects that outlive the loop. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"

#include <stdio.h>
#include <string.h>

static void count_cb(void *arg)
{
	(*(int *)arg)++;
}

/* -- after close ------------------------------------------------------------ */

static intptr_t noop_task(void *arg)
{
	(void)arg;
	return 0;
}

Test(loop_close, close_is_idempotent_and_final)
{
	cio_loop *loop = th_loop_new();
	cio_future *f = NULL;
	cio_task *t = NULL;
	cio_handle *h = (cio_handle *)(uintptr_t)1;
	struct cio_task_opts to = { .loop = loop };
	int n = 0;

	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert(cio_loop_is_closed(loop));
	cr_assert_eq(cio_loop_close(loop), 0, "close twice is a no-op");
	cr_assert_eq(cio_loop_run_forever(loop), -EINVAL);
	cr_assert_eq(cio_call_soon(loop, count_cb, &n, &h), -EINVAL);
	cr_assert_null(h);
	cr_assert_eq(cio_call_later(loop, 1, count_cb, &n, NULL), -EINVAL);
	cr_assert_eq(cio_call_at(loop, 1, count_cb, &n, NULL), -EINVAL);
	cr_assert_eq(cio_call_soon_threadsafe(loop, count_cb, &n), -EINVAL);
	cr_assert_eq(cio_future_new(loop, &f), -EINVAL);
	cr_assert_null(f);
	cr_assert_eq(cio_spawn(&t, noop_task, NULL, &to), -EINVAL);
	cr_assert_null(t);
	cr_assert_not(cio_loop_is_running(loop));
	cio_loop_free(loop);
	cr_assert_eq(n, 0);
	th_leak_check();
}

/* -- close with live tasks and objects ----------------------------------------- */

struct close_seen {
	int n;
	size_t live[8];
	cio_task *task[8];
	char msg[8][128];
};

static void close_handler(cio_loop *loop, const struct cio_report *r,
			  void *arg)
{
	struct close_seen *s = arg;
	cr_assert_eq(r->kind, CIO_REPORT_TASK_PENDING_AT_CLOSE);
	cr_assert_lt(s->n, 8);
	s->live[s->n] = loop->stacks.live;
	s->task[s->n] = r->task;
	cr_assert_eq(r->future, cio_task_future(r->task));
	snprintf(s->msg[s->n], sizeof(s->msg[0]), "%s", r->message);
	s->n++;
}

static intptr_t sleep_forever(void *arg)
{
	(void)arg;
	cio_sleep(3600 * CIO_NSEC_PER_SEC);
	cr_assert_fail("a task destroyed at close never resumes");
	return 0;
}

static intptr_t await_arg(void *arg)
{
	cio_await(arg);
	cr_assert_fail("a task destroyed at close never resumes");
	return 0;
}

static intptr_t yield_forever(void *arg)
{
	(void)arg;
	for (;;)
		if (cio_yield() < 0)
			break;
	cr_assert_fail("a task destroyed at close never resumes");
	return 0;
}

static intptr_t never_runs(void *arg)
{
	(void)arg;
	cr_assert_fail("a task never started is not started by close");
	return 0;
}

Test(loop_close, close_reports_and_destroys_pending_tasks)
{
	cio_loop *loop = th_loop_new();
	struct close_seen seen = { 0 };
	cio_future *fut;
	cio_task *t[4];

	cr_assert_eq(cio_future_new(loop, &fut), 0);
	t[0] = th_spawn(loop, sleep_forever, NULL, "sleeper");
	t[1] = th_spawn(loop, await_arg, fut, "waiter");
	t[2] = th_spawn(loop, yield_forever, NULL, "yielder");
	th_run_once(loop);
	t[3] = th_spawn(loop, never_runs, NULL, "fresh");
	cr_assert_eq(cio_all_tasks(loop, NULL, 0), 4);
	cr_assert_eq(loop->stacks.live, 4);

	cio_loop_set_exception_handler(loop, close_handler, &seen);
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(seen.n, 4);
	static const char *const names[] = { "sleeper", "waiter", "yielder",
					     "fresh" };
	for (int i = 0; i < 4; i++) {
		char want[64];
		snprintf(want, sizeof(want), "task '%s' destroyed but it is "
					     "pending", names[i]);
		cr_assert_eq(seen.task[i], t[i]);
		cr_assert_str_eq(seen.msg[i], want);
		/* Reported first, then its stack goes back to the pool. */
		cr_assert_eq(seen.live[i], (size_t)(4 - i));
		cr_assert(cio_task_done(t[i]));
		cr_assert(cio_task_cancelled(t[i]));
		cr_assert_eq(cio_task_result(t[i], NULL), -ECANCELED);
	}
	cr_assert_not(cio_future_done(fut));
	for (int i = 0; i < 4; i++)
		cio_task_unref(t[i]);
	cio_future_unref(fut);
	cr_assert_eq(loop->objects, 0, "every object of the loop was freed");
	cio_loop_free(loop);
	th_leak_check();
}

static intptr_t await_task_arg(void *arg)
{
	cio_await_task(arg);
	cr_assert_fail("a task destroyed at close never resumes");
	return 0;
}

/* Tasks awaiting one another, in both list orders, and a future with
 * several waiters: close releases every reference the awaits took. */
Test(loop_close, close_with_tasks_awaiting_each_other)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	cio_future *fut;
	cio_task *a, *b, *c, *d, *e;

	th_collect_reports(loop, &rep);
	cr_assert_eq(cio_future_new(loop, &fut), 0);
	c = th_spawn(loop, await_arg, fut, "c");
	b = th_spawn(loop, await_task_arg, c, "b");
	th_run_once(loop);
	a = th_spawn(loop, await_task_arg, b, "a"); /* after b in the list */
	d = th_spawn(loop, await_arg, fut, "d");
	e = th_spawn(loop, await_task_arg, a, "e");
	th_run_once(loop);
	/* Fire-and-forget waiters too: only the loop holds them. */
	cr_assert_eq(cio_spawn(NULL, await_task_arg, e, NULL), 0);
	cr_assert_eq(cio_spawn(NULL, await_arg, fut, NULL), 0);
	th_run_once(loop);
	cr_assert_eq(cio_all_tasks(loop, NULL, 0), 7);
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(rep.n, 7);
	cio_task_unref(e);
	cio_task_unref(a);
	cio_task_unref(d);
	cio_task_unref(b);
	cio_task_unref(c);
	cio_future_unref(fut);
	cr_assert_eq(loop->objects, 0);
	cio_loop_free(loop);
	th_leak_check();
}

static void fut_cb_count(cio_future *f, void *arg)
{
	(void)f;
	(*(int *)arg)++;
}

static intptr_t quick(void *arg)
{
	return (intptr_t)arg;
}

/* 100 futures, tasks and handles outlive their loop; ASan shows that
 * nothing is used after free and nothing leaks. */
Test(loop_close, objects_outlive_the_loop)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	cio_future *futs[40];
	cio_task *tasks[30];
	cio_handle *handles[30];
	int calls = 0, fcalls = 0;

	th_collect_reports(loop, &rep);
	for (int i = 0; i < 40; i++) {
		cr_assert_eq(cio_future_new(loop, &futs[i]), 0);
		cr_assert_eq(cio_future_add_done_callback(futs[i], fut_cb_count,
							  &fcalls), 0);
		switch (i % 4) {
		case 1:
			cio_future_set_result(futs[i], i);
			break;
		case 2:
			cio_future_set_error(futs[i], -EIO);
			break;
		case 3:
			cio_future_cancel(futs[i]);
			break;
		}
	}
	for (int i = 0; i < 30; i++)
		tasks[i] = th_spawn(loop, i % 2 ? sleep_forever : quick,
				    (void *)(intptr_t)(i % 3 ? i : -EIO), NULL);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(cio_call_soon(loop, count_cb, &calls,
					   &handles[i]), 0);
	th_run_once(loop);
	cr_assert_eq(calls, 10);
	cr_assert_eq(fcalls, 30);
	for (int i = 10; i < 20; i++)
		cr_assert_eq(cio_call_soon(loop, count_cb, &calls,
					   &handles[i]), 0);
	for (int i = 20; i < 30; i++)
		cr_assert_eq(cio_call_later(loop, 3600 * CIO_NSEC_PER_SEC,
					    count_cb, &calls, &handles[i]), 0);
	/* Done futures get a callback that will never run. */
	for (int i = 1; i < 40; i += 4)
		cr_assert_eq(cio_future_add_done_callback(futs[i], fut_cb_count,
							  &fcalls), 0);

	cio_loop_free(loop); /* closes: 15 pending tasks reported */
	cr_assert(cio_loop_is_closed(loop));
	cr_assert_eq(calls, 10);
	cr_assert_eq(fcalls, 30);
	cr_assert_eq(loop->objects, 100, "the loop lives on for its objects");
	int pending = 0, unretrieved = 0;
	for (int i = 0; i < rep.n && i < TH_MAX_REPORTS; i++) {
		pending += rep.kind[i] == CIO_REPORT_TASK_PENDING_AT_CLOSE;
		unretrieved += rep.kind[i] == CIO_REPORT_ERROR_NEVER_RETRIEVED;
	}
	cr_assert_eq(pending, 15);
	cr_assert_eq(unretrieved, 5, "finished tasks with unread errors");

	/* Inspect, then release in an order unlike creation. */
	for (int i = 0; i < 30; i++) {
		cr_assert(cio_task_done(tasks[i]));
		cr_assert_eq(cio_task_cancelled(tasks[i]), i % 2 == 1);
		cio_task_unref(tasks[i]);
	}
	for (int i = 0; i < 30; i++) {
		if (i < 20)
			cr_assert_eq(cio_handle_when(handles[i]), -EINVAL);
		else
			cr_assert_gt(cio_handle_when(handles[i]), 0);
		cr_assert_not(cio_handle_cancelled(handles[i]));
		cio_handle_unref(handles[i]);
	}
	for (int i = 39; i >= 1; i--) {
		cr_assert_eq(cio_future_done(futs[i]), i % 4 != 0);
		if (i % 8 == 2)
			cr_assert_eq(cio_future_error(futs[i]), -EIO);
		cio_future_unref(futs[i]);
	}
	cr_assert_eq(loop->objects, 1);
	cio_future_unref(futs[0]); /* the last one frees the loop */
	/* The five failed futures nobody read were reported when freed. */
	cr_assert_eq(rep.n, 15 + 5 + 5);
	for (int i = 20; i < 25; i++) {
		cr_assert_eq(rep.kind[i], CIO_REPORT_ERROR_NEVER_RETRIEVED);
		cr_assert_eq(rep.error[i], -EIO);
	}
	th_leak_check();
}
