/* cio_wait_for: asyncio.wait_for (Python 3.12 semantics). */
#include "helpers/harness.h"
#include "runtime/combinators.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

/* Sleeps `delay`; when cancelled, cleans up (an await of its own) and then
 * returns `on_cancel`, which may be -ECANCELED or anything else. */
struct inner {
	int64_t delay;
	intptr_t value;
	intptr_t on_cancel;
	int64_t cleanup;
	cio_future *cancel_seen; /* set when the cancellation arrives */
	bool saw_cancel;
	bool cleaned_up;
};

static intptr_t inner_fn(void *arg)
{
	struct inner *in = arg;
	if (cio_sleep(in->delay) == -ECANCELED) {
		in->saw_cancel = true;
		if (in->cancel_seen)
			cio_future_set_result(in->cancel_seen, 0);
		/* A second cancellation may cut the clean-up short. */
		int rc = cio_sleep(in->cleanup);
		(void)rc;
		in->cleaned_up = true;
		return in->on_cancel;
	}
	return in->value;
}

static cio_task *spawn_inner(struct inner *in)
{
	return th_spawn(NULL, inner_fn, in, NULL);
}

/* Most tests run with th_run_checked_no_reports(): wait_for reads every
 * outcome it waited for, so no error may be reported as never retrieved. */

/* -- in time ---------------------------------------------------------------- */

static intptr_t in_time_body(void *arg)
{
	(void)arg;
	struct inner ok = { .delay = 1 * MS, .value = 42 };
	struct inner bad = { .delay = 1 * MS, .value = -EIO };
	cio_task *t = spawn_inner(&ok);
	cr_assert_eq(cio_wait_for(cio_task_future(t),
				  cio_deadline_after(LONG_SLEEP)), 42);
	cr_assert_not(ok.saw_cancel);
	cio_task_unref(t);

	/* Only wait_for reads this error: no report afterwards. */
	t = spawn_inner(&bad);
	cr_assert_eq(cio_wait_for(cio_task_future(t),
				  cio_deadline_after(LONG_SLEEP)), -EIO);
	cio_task_unref(t);

	t = spawn_inner(&ok);
	cr_assert_eq(cio_wait_for(cio_task_future(t), CIO_NO_DEADLINE), 42);
	cio_task_unref(t);
	/* The deadline timer is gone: sleeping past it is uneventful. */
	return 0;
}

Test(wait_for, completes_before_deadline)
{
	th_run_checked_no_reports(in_time_body, NULL);
	th_leak_check();
}

/* -- timeout ---------------------------------------------------------------- */

static intptr_t timeout_body(void *arg)
{
	(void)arg;
	struct inner in = { .delay = LONG_SLEEP, .on_cancel = -ECANCELED,
			    .cleanup = 5 * MS };
	cio_task *t = spawn_inner(&in);
	int64_t start = cio_loop_time();
	cr_assert_eq(cio_wait_for(cio_task_future(t),
				  cio_deadline_after(10 * MS)), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 15 * MS,
		      "deadline plus clean-up");
	cr_assert(in.saw_cancel);
	cr_assert(in.cleaned_up, "inner clean-up finished before return");
	cr_assert(cio_task_done(t));
	cr_assert(cio_task_cancelled(t));
	/* The caller itself was not cancelled. */
	cr_assert_eq(cio_task_cancelling(cio_current_task()), 0);
	cr_assert_eq(cio_yield(), 0);
	cio_task_unref(t);
	return 0;
}

Test(wait_for, timeout_cancels_and_waits)
{
	th_run_checked_no_reports(timeout_body, NULL);
	th_leak_check();
}

static intptr_t ignores_cancel_body(void *arg)
{
	intptr_t outcome = (intptr_t)arg;
	struct inner in = { .delay = LONG_SLEEP, .on_cancel = outcome,
			    .cleanup = 2 * MS };
	cio_task *t = spawn_inner(&in);
	cr_assert_eq(cio_wait_for(cio_task_future(t),
				  cio_deadline_after(5 * MS)), outcome);
	cr_assert(in.cleaned_up);
	cio_task_unref(t); /* its error, if any, was read by wait_for */
	return 0;
}

Test(wait_for, inner_ignores_cancel_returns_value)
{
	th_run_checked_no_reports(ignores_cancel_body, (void *)(intptr_t)77);
	th_leak_check();
}

Test(wait_for, inner_fails_after_cancel_returns_error)
{
	th_run_checked_no_reports(ignores_cancel_body, (void *)(intptr_t)-EIO);
	th_leak_check();
}

/* -- deadline already passed ------------------------------------------------ */

static intptr_t passed_body(void *arg)
{
	cio_loop *loop = arg;
	int64_t past = cio_loop_time() - 1;
	cio_future *f;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cio_future_set_result(f, 5);
	cr_assert_eq(cio_wait_for(f, past), 5, "done: its value");
	cio_future_unref(f);

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cio_future_set_error(f, -EPIPE);
	cr_assert_eq(cio_wait_for(f, past), -EPIPE);
	cio_future_unref(f);

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_wait_for(f, past), -ETIMEDOUT);
	cr_assert(cio_future_cancelled(f));
	cio_future_unref(f);

	struct inner in = { .delay = LONG_SLEEP, .on_cancel = -ECANCELED,
			    .cleanup = 1 * MS };
	cio_task *t = spawn_inner(&in);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_wait_for(cio_task_future(t), past), -ETIMEDOUT);
	cr_assert(in.cleaned_up);
	cio_task_unref(t);

	/* Cancelled before it even started: ends without running. */
	in = (struct inner){ .delay = LONG_SLEEP };
	t = spawn_inner(&in);
	cr_assert_eq(cio_wait_for(cio_task_future(t), past), -ETIMEDOUT);
	cr_assert_not(in.saw_cancel);
	cio_task_unref(t);
	return 0;
}

Test(wait_for, deadline_already_passed)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);

	cr_assert_eq(th_run(loop, passed_body, loop), 0);
	th_loop_free_checked(loop);
	cr_assert_eq(rep.never_retrieved, 0);
	th_leak_check();
}

/* -- the caller is cancelled ------------------------------------------------ */

struct caller {
	cio_future *fut;
	int64_t deadline;
	intptr_t rc;
	bool next_await_ok;
};

static intptr_t caller_fn(void *arg)
{
	struct caller *c = arg;
	c->rc = cio_wait_for(c->fut, c->deadline);
	c->next_await_ok = cio_yield() == 0;
	return c->rc;
}

static intptr_t caller_cancelled_body(void *arg)
{
	bool ignore = arg != NULL;
	struct inner in = { .delay = LONG_SLEEP, .cleanup = 3 * MS,
			    .on_cancel = ignore ? 8 : -ECANCELED };
	cio_task *t = spawn_inner(&in), *w;
	struct caller c = { .fut = cio_task_future(t),
			    .deadline = cio_deadline_after(LONG_SLEEP) };

	cr_assert_eq(cio_spawn(&w, caller_fn, &c, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(w), 1);
	intptr_t v = cio_await_task(w);
	cr_assert(in.cleaned_up, "inner finished before the caller resumed");
	if (ignore) {
		/* As cio_await: the real result, the cancel kept pending
		 * for the next await, which delivers it. */
		cr_assert_eq(c.rc, 8);
		cr_assert_not(c.next_await_ok);
		cr_assert_eq(v, 8);
	} else {
		cr_assert_eq(c.rc, -ECANCELED, "not -ETIMEDOUT");
		cr_assert(c.next_await_ok, "cancellation delivered once");
		cr_assert_eq(v, -ECANCELED);
	}
	cio_task_unref(w);
	cio_task_unref(t);
	return 0;
}

Test(wait_for, caller_cancelled)
{
	th_run_checked_no_reports(caller_cancelled_body, NULL);
	th_leak_check();
}

Test(wait_for, caller_cancelled_inner_ignores)
{
	th_run_checked_no_reports(caller_cancelled_body, (void *)1);
	th_leak_check();
}

/* Caller cancelled after the deadline fired, while the inner cleans up:
 * the caller's own cancellation wins. */
static intptr_t both_body(void *arg)
{
	(void)arg;
	struct inner in = { .delay = LONG_SLEEP, .cleanup = 30 * MS,
			    .on_cancel = -ECANCELED };
	cr_assert_eq(cio_future_new(NULL, &in.cancel_seen), 0);
	cio_task *t = spawn_inner(&in), *w;
	struct caller c = { .fut = cio_task_future(t),
			    .deadline = cio_deadline_after(2 * MS) };

	cr_assert_eq(cio_spawn(&w, caller_fn, &c, NULL), 0);
	cr_assert_eq(cio_await(in.cancel_seen), 0, "the deadline fired");
	cr_assert_not(in.cleaned_up);
	cr_assert_eq(cio_task_cancel(w), 1);
	cr_assert_eq(cio_await_task(w), -ECANCELED);
	cr_assert_eq(c.rc, -ECANCELED);
	cio_future_unref(in.cancel_seen);
	cio_task_unref(w);
	cio_task_unref(t);
	return 0;
}

Test(wait_for, caller_cancel_wins_over_timeout)
{
	th_run_checked_no_reports(both_body, NULL);
	th_leak_check();
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cio_task_cancel(cio_current_task());
	cr_assert_eq(cio_wait_for(f, cio_deadline_after(MS)), -ECANCELED);
	cr_assert_not(cio_future_done(f), "not cancelled on entry");
	cio_task_uncancel(cio_current_task());
	cio_future_unref(f);
	return 0;
}

Test(wait_for, cancel_pending_on_entry)
{
	th_run_checked_on_loop(pending_cancel_body);
	th_leak_check();
}

/* Someone else cancels the future: that is not a timeout. */
static void cancel_cb(void *arg)
{
	cio_future_cancel(arg);
}

static intptr_t other_cancel_body(void *arg)
{
	cio_loop *loop = arg;
	cio_future *f;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_call_later(loop, 1 * MS, cancel_cb, f, NULL), 0);
	cr_assert_eq(cio_wait_for(f, cio_deadline_after(LONG_SLEEP)),
		     -ECANCELED);
	cr_assert_eq(cio_yield(), 0, "this task was not cancelled");
	cio_future_unref(f);
	return 0;
}

Test(wait_for, future_cancelled_by_other)
{
	th_run_checked_on_loop(other_cancel_body);
	th_leak_check();
}

/* -- completion and deadline at the same instant ----------------------------
 *
 * The deadline is checked when its timer fires, before the iteration's
 * ready callbacks: a completion still waiting in the ready queue then (a
 * call_at callback, a woken task) comes too late, while a future completed
 * by then keeps its outcome even though its callbacks have not run. */

struct race {
	cio_future *f;
	int64_t when;
	int set_rc;
};

static void set_5(void *arg)
{
	struct race *r = arg;
	r->set_rc = cio_future_set_result(r->f, 5);
}

static intptr_t arm_later(void *arg)
{
	struct race *r = arg;
	cr_assert_eq(cio_call_at(NULL, r->when, set_5, r, NULL), 0);
	return 0;
}

static intptr_t race_handle_body(void *arg)
{
	bool armed_first = arg != NULL;
	struct race r = { .when = cio_deadline_after(5 * MS), .set_rc = 1 };
	cio_task *armer = NULL;

	cr_assert_eq(cio_future_new(NULL, &r.f), 0);
	if (armed_first)
		cr_assert_eq(cio_call_at(NULL, r.when, set_5, &r, NULL), 0);
	else /* runs once wait_for has parked */
		cr_assert_eq(cio_spawn(&armer, arm_later, &r, NULL), 0);
	cr_assert_eq(cio_wait_for(r.f, r.when), -ETIMEDOUT);
	cr_assert(cio_future_cancelled(r.f));
	cr_assert_eq(cio_sleep(1 * MS), 0);
	cr_assert_eq(r.set_rc, -EINVAL, "the late completion found it done");
	if (armer) {
		cr_assert_eq(cio_await_task(armer), 0);
		cio_task_unref(armer);
	}
	cio_future_unref(r.f);
	return 0;
}

Test(wait_for, race_call_at_armed_before)
{
	th_run_checked_no_reports(race_handle_body, (void *)1);
	th_leak_check();
}

Test(wait_for, race_call_at_armed_after)
{
	th_run_checked_no_reports(race_handle_body, NULL);
	th_leak_check();
}

/* Completed in the step just before the deadline fires: to make that
 * interleaving certain, the completer holds the loop until the deadline
 * has passed (a spin inside one step, not a wait for an event). */
static intptr_t completer(void *arg)
{
	struct race *r = arg;
	cr_assert_eq(cio_future_set_result(r->f, 6), 0);
	while (cio_loop_time() <= r->when)
		;
	return 0;
}

static intptr_t race_done_body(void *arg)
{
	(void)arg;
	struct race r = { 0 };
	cio_task *c;

	cr_assert_eq(cio_future_new(NULL, &r.f), 0);
	cr_assert_eq(cio_spawn(&c, completer, &r, NULL), 0);
	r.when = cio_deadline_after(50 * MS);
	cr_assert_eq(cio_wait_for(r.f, r.when), 6);
	cr_assert_eq(cio_await_task(c), 0);
	cio_task_unref(c);
	cio_future_unref(r.f);
	return 0;
}

Test(wait_for, race_completed_before_deadline_fires)
{
	th_run_checked_no_reports(race_done_body, NULL);
	th_leak_check();
}

/* A task whose sleep ends exactly at the deadline: whichever way it goes,
 * wait_for returns only once the task is done, and reads its outcome. */
static intptr_t sleeper(void *arg)
{
	int rc = cio_sleep_until(*(int64_t *)arg);
	return rc < 0 ? rc : 11;
}

static intptr_t race_task_body(void *arg)
{
	(void)arg;
	int64_t when = cio_deadline_after(5 * MS);
	cio_task *t;

	cr_assert_eq(cio_spawn(&t, sleeper, &when, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	intptr_t v = cio_wait_for(cio_task_future(t), when);
	cr_assert(v == 11 || v == -ETIMEDOUT, "got %ld", (long)v);
	cr_assert(cio_task_done(t));
	cio_task_unref(t);
	return 0;
}

Test(wait_for, race_task_at_deadline)
{
	th_run_checked_no_reports(race_task_body, NULL);
	th_leak_check();
}

/* The loop closes while a task waits: abandon unlinks and releases. */
Test(wait_for, loop_closed_while_waiting)
{
	struct th_report_counts rep;
	cio_loop *loop = th_loop_new_counting(&rep);
	cio_future *f;
	cio_task *w;
	struct caller c = { .deadline = cio_deadline_after(LONG_SLEEP) };

	cr_assert_eq(cio_future_new(loop, &f), 0);
	c.fut = f;
	cr_assert_eq(cio_spawn(&w, caller_fn, &c, NULL), 0);
	th_loop_close_pending(loop);
	cr_assert_eq(rep.pending_at_close, 1);
	cio_future_unref(f);
	cio_task_unref(w);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- bad input -------------------------------------------------------------- */

static intptr_t bad_args_body(void *arg)
{
	cio_loop *other = arg;
	cio_future *g;

	cr_assert_eq(cio_wait_for(NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_future_new(other, &g), 0);
	cr_assert_eq(cio_wait_for(g, CIO_NO_DEADLINE), -EINVAL);
	cio_future_unref(g);
	cr_assert_eq(cio_wait_for(cio_task_future(cio_current_task()),
				  CIO_NO_DEADLINE), -EDEADLK);
	return 0;
}

Test(wait_for, bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_loop *other = th_loop_new();
	cio_future *f;

	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_wait_for(f, CIO_NO_DEADLINE), -EPERM);
	cio_future_unref(f);
	cr_assert_eq(th_run(loop, bad_args_body, other), 0);
	th_loop_free(other);
	th_loop_free_checked(loop);
	th_leak_check();
}
