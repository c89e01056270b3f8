/* Timeout scopes: expiry, nesting, rescheduling, foreign cancellations and
 * misuse. Every test also checks that nothing is reported by the loop. */
#include "helpers/harness.h"
#include "runtime/timeout.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

static void run_task(cio_task_fn fn)
{
	struct th_report_counts reports;
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(th_run(loop, fn, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
	cr_assert_eq(reports.total, 0, "unexpected loop reports: %d",
		     reports.total);
}

/* The task may go on normally: no cancellation is left behind. */
static void assert_clean(void)
{
	cio_task *self = cio_current_task();
	cr_assert_eq(cio_task_cancelling(self), 0);
	cr_assert_eq(cio_sleep(MS), 0);
	cr_assert_eq(cio_yield(), 0);
}

/* -- expiry ------------------------------------------------------------- */

static intptr_t expires(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	int64_t start = cio_loop_time();

	cr_assert_eq(cio_timeout_enter_after(&to, 10 * MS), 0);
	cr_assert_not(cio_timeout_expired(&to));
	int rc = cio_sleep(LONG_SLEEP);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert(cio_timeout_expired(&to));
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	cr_assert(cio_timeout_expired(&to));
	cr_assert_geq(cio_loop_time() - start, 10 * MS);
	cr_assert_lt(cio_loop_time() - start, LONG_SLEEP / 2);
	assert_clean();
	return 0;
}

Test(timeout, expires_then_task_continues)
{
	run_task(expires);
}

static intptr_t finishes_first(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_enter_after(&to, 200 * MS), 0);
	cr_assert_eq(cio_sleep(MS), 0);
	cr_assert_eq(cio_timeout_exit(&to, 42), 42);
	cr_assert_not(cio_timeout_expired(&to));
	/* The disarmed timer must not fire later. */
	cr_assert_eq(cio_sleep(250 * MS), 0);
	assert_clean();
	return 0;
}

Test(timeout, body_finishes_first)
{
	run_task(finishes_first);
}

static intptr_t never_set(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_future *f;

	cr_assert_eq(cio_future_new(NULL, &f), 0);
	cr_assert_eq(cio_timeout_enter_after(&to, 5 * MS), 0);
	int rc = (int)cio_await(f);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	cr_assert(cio_future_cancelled(f));
	cio_future_unref(f);
	assert_clean();
	return 0;
}

Test(timeout, await_future_times_out)
{
	run_task(never_set);
}

/* A child that shrugs off its cancellation and returns a result: the
 * parent's await returns that result although its scope expired. */
static intptr_t stubborn(void *arg)
{
	(void)arg;
	int rc = cio_sleep(LONG_SLEEP);
	cr_assert_eq(rc, -ECANCELED);
	cio_task_uncancel(cio_current_task());
	return 7;
}

static intptr_t expired_not_seen(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task *child;

	cr_assert_eq(cio_spawn(&child, stubborn, NULL, NULL), 0);
	cr_assert_eq(cio_timeout_enter_after(&to, 5 * MS), 0);
	intptr_t v = cio_await_task(child);
	cr_assert_eq(v, 7);
	cr_assert(cio_timeout_expired(&to));
	cr_assert_eq(cio_task_cancelling(cio_current_task()), 1);
	/* The body finished: rc stands and the undelivered cancel is gone. */
	cr_assert_eq(cio_timeout_exit(&to, (int)v), 7);
	cio_task_unref(child);
	assert_clean();
	return 0;
}

Test(timeout, expired_but_body_completed)
{
	run_task(expired_not_seen);
}

static intptr_t other_error(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_enter_after(&to, 2 * MS), 0);
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	/* The body turned the cancellation into an error of its own. */
	cr_assert_eq(cio_timeout_exit(&to, -EIO), -EIO);
	assert_clean();
	return 0;
}

Test(timeout, expired_body_returns_other_error)
{
	run_task(other_error);
}

/* -- deadlines already passed ------------------------------------------- */

static intptr_t past_deadline(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	int64_t when = cio_loop_time() - 1;

	cr_assert_eq(cio_timeout_enter(&to, when), 0);
	/* Not inside the call: on the next iteration. */
	cr_assert_not(cio_timeout_expired(&to));
	cr_assert_eq(cio_task_cancelling(cio_current_task()), 0);
	cr_assert_eq(cio_timeout_when(&to), when);
	int rc = cio_sleep(LONG_SLEEP);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);

	cr_assert_eq(cio_timeout_enter_after(&to, 0), 0);
	cr_assert_eq(cio_timeout_exit(&to, cio_yield()), -ETIMEDOUT);

	cr_assert_eq(cio_timeout_enter_after(&to, -5 * MS), 0);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);

	/* Exited before the next iteration: nothing happened at all. */
	cr_assert_eq(cio_timeout_enter(&to, 0), 0);
	cr_assert_eq(cio_timeout_exit(&to, 3), 3);
	cr_assert_not(cio_timeout_expired(&to));
	assert_clean();
	return 0;
}

Test(timeout, deadline_already_passed)
{
	run_task(past_deadline);
}

static intptr_t no_deadline(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_enter(&to, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_timeout_when(&to), CIO_NO_DEADLINE);
	cr_assert_eq(cio_sleep(5 * MS), 0);
	cr_assert_eq(cio_timeout_reschedule(&to, cio_deadline_after(2 * MS)),
		     0);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);

	cr_assert_eq(cio_timeout_enter_after(&to, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_timeout_when(&to), CIO_NO_DEADLINE);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(MS)), 0);
	assert_clean();
	return 0;
}

Test(timeout, no_deadline)
{
	run_task(no_deadline);
}

/* -- nesting ------------------------------------------------------------ */

static intptr_t inner_expires(void *arg)
{
	(void)arg;
	struct cio_timeout outer = CIO_TIMEOUT_INIT, inner = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_enter_after(&outer, 500 * MS), 0);
	cr_assert_eq(cio_timeout_enter_after(&inner, 5 * MS), 0);
	int rc = cio_timeout_exit(&inner, cio_sleep(LONG_SLEEP));
	cr_assert_eq(rc, -ETIMEDOUT);
	cr_assert(cio_timeout_expired(&inner));
	/* The outer body goes on; the outer scope has nothing to do. */
	cr_assert_eq(cio_sleep(MS), 0);
	cr_assert_eq(cio_timeout_exit(&outer, rc), -ETIMEDOUT);
	cr_assert_not(cio_timeout_expired(&outer));
	assert_clean();
	return 0;
}

Test(timeout, nested_inner_expires)
{
	run_task(inner_expires);
}

static intptr_t outer_expires(void *arg)
{
	(void)arg;
	struct cio_timeout outer = CIO_TIMEOUT_INIT, inner = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_enter_after(&outer, 5 * MS), 0);
	cr_assert_eq(cio_timeout_enter_after(&inner, 500 * MS), 0);
	int rc = cio_timeout_exit(&inner, cio_sleep(LONG_SLEEP));
	/* Not the inner scope's deadline: it must not claim it. */
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_not(cio_timeout_expired(&inner));
	cr_assert(cio_timeout_expired(&outer));
	cr_assert_eq(cio_timeout_exit(&outer, rc), -ETIMEDOUT);
	assert_clean();
	return 0;
}

Test(timeout, nested_outer_expires)
{
	run_task(outer_expires);
}

static intptr_t both_expire(void *arg)
{
	(void)arg;
	struct cio_timeout outer = CIO_TIMEOUT_INIT, inner = CIO_TIMEOUT_INIT;
	int64_t when = cio_deadline_after(5 * MS);

	/* Same deadline: both fire before the task runs again. */
	cr_assert_eq(cio_timeout_enter(&outer, when), 0);
	cr_assert_eq(cio_timeout_enter(&inner, when), 0);
	int rc = cio_sleep(LONG_SLEEP);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert(cio_timeout_expired(&inner));
	cr_assert(cio_timeout_expired(&outer));
	cr_assert_eq(cio_task_cancelling(cio_current_task()), 2);
	/* The outer deadline is still being enforced: the inner scope lets
	 * the cancellation through and the outer one claims it. */
	rc = cio_timeout_exit(&inner, rc);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&outer, rc), -ETIMEDOUT);
	assert_clean();

	/* One after the other: each scope converts its own. */
	cr_assert_eq(cio_timeout_enter_after(&outer, 200 * MS), 0);
	cr_assert_eq(cio_timeout_enter_after(&inner, 2 * MS), 0);
	rc = cio_timeout_exit(&inner, cio_sleep(LONG_SLEEP));
	cr_assert_eq(rc, -ETIMEDOUT);
	rc = cio_sleep(LONG_SLEEP);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&outer, rc), -ETIMEDOUT);
	assert_clean();
	return 0;
}

Test(timeout, nested_both_expire)
{
	run_task(both_expire);
}

/* -- rescheduling -------------------------------------------------------- */

static intptr_t resched(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	int64_t start = cio_loop_time(), when;

	/* Earlier. */
	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	when = cio_deadline_after(5 * MS);
	cr_assert_eq(cio_timeout_reschedule(&to, when), 0);
	cr_assert_eq(cio_timeout_when(&to), when);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);
	cr_assert_lt(cio_loop_time() - start, LONG_SLEEP / 2);
	cr_assert_eq(cio_timeout_when(&to), when);

	/* Later. */
	cr_assert_eq(cio_timeout_enter_after(&to, 5 * MS), 0);
	cr_assert_eq(cio_timeout_reschedule(&to, cio_deadline_after(500 * MS)),
		     0);
	cr_assert_eq(cio_sleep(20 * MS), 0);
	cr_assert_eq(cio_timeout_exit(&to, 0), 0);
	cr_assert_not(cio_timeout_expired(&to));

	/* To no deadline. */
	cr_assert_eq(cio_timeout_enter_after(&to, 5 * MS), 0);
	cr_assert_eq(cio_timeout_reschedule(&to, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_timeout_when(&to), CIO_NO_DEADLINE);
	cr_assert_eq(cio_sleep(20 * MS), 0);
	cr_assert_eq(cio_timeout_exit(&to, 0), 0);

	/* Into the past: expires on the next iteration. */
	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	cr_assert_eq(cio_timeout_reschedule(&to, 0), 0);
	cr_assert_not(cio_timeout_expired(&to));
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);
	assert_clean();
	return 0;
}

Test(timeout, reschedule)
{
	run_task(resched);
}

static intptr_t resched_invalid(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_reschedule(NULL, 0), -EINVAL);
	/* Not entered yet. */
	cr_assert_eq(cio_timeout_reschedule(&to, CIO_NO_DEADLINE), -EINVAL);

	cr_assert_eq(cio_timeout_enter_after(&to, 2 * MS), 0);
	int rc = cio_sleep(LONG_SLEEP);
	/* Expired, not yet exited: the cancellation cannot be taken back. */
	cr_assert_eq(cio_timeout_reschedule(&to, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_timeout_reschedule(&to, cio_deadline_after(LONG_SLEEP)),
		     -EINVAL);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	cr_assert_eq(cio_timeout_reschedule(&to, CIO_NO_DEADLINE), -EINVAL);

	/* Exited without expiring. */
	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	cr_assert_eq(cio_timeout_exit(&to, 0), 0);
	cr_assert_eq(cio_timeout_reschedule(&to, 0), -EINVAL);
	assert_clean();
	return 0;
}

Test(timeout, reschedule_after_expiry_or_exit)
{
	run_task(resched_invalid);
}

/* Reschedule from another task of the loop. */
struct resched_arg {
	struct cio_timeout *to;
	int64_t when;
};

static intptr_t rescheduler(void *arg)
{
	struct resched_arg *a = arg;
	cr_assert_eq(cio_timeout_reschedule(a->to, a->when), 0);
	return 0;
}

static intptr_t resched_other_task(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	struct resched_arg a = { &to, 0 };
	cio_task *t;

	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	a.when = cio_deadline_after(MS);
	cr_assert_eq(cio_spawn(&t, rescheduler, &a, NULL), 0);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	assert_clean();
	return 0;
}

Test(timeout, reschedule_from_other_task)
{
	run_task(resched_other_task);
}

/* -- cancellations that are not the scope's ------------------------------ */

static intptr_t canceller(void *arg)
{
	cr_assert_eq(cio_sleep(2 * MS), 0);
	cr_assert_eq(cio_task_cancel(arg), 1);
	return 0;
}

static intptr_t external_cancel(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task *self = cio_current_task(), *t;

	cr_assert_eq(cio_spawn(&t, canceller, self, NULL), 0);
	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	int rc = cio_timeout_exit(&to, cio_sleep(LONG_SLEEP));
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_not(cio_timeout_expired(&to));
	cr_assert_eq(cio_task_cancelling(self), 1);
	cr_assert_eq(cio_task_uncancel(self), 0);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	assert_clean();
	return 0;
}

Test(timeout, external_cancel_stays_cancelled)
{
	run_task(external_cancel);
}

static intptr_t expired_and_external(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task *self = cio_current_task();

	cr_assert_eq(cio_timeout_enter_after(&to, 2 * MS), 0);
	int rc = cio_sleep(LONG_SLEEP);
	cr_assert_eq(rc, -ECANCELED);
	/* Someone else wants the task cancelled too: not a timeout. */
	cr_assert_eq(cio_task_cancel(self), 1);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ECANCELED);
	cr_assert(cio_timeout_expired(&to));
	cr_assert_eq(cio_task_cancelling(self), 1);
	/* ... and that request is still delivered. */
	cr_assert_eq(cio_sleep(MS), -ECANCELED);
	cr_assert_eq(cio_task_uncancel(self), 0);
	assert_clean();
	return 0;
}

Test(timeout, expired_with_external_cancel)
{
	run_task(expired_and_external);
}

/* A scope opened while the task was already cancelled (and carries on). */
static intptr_t already_cancelling(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task *self = cio_current_task();

	cio_task_cancel(self);
	cr_assert_eq(cio_yield(), -ECANCELED);
	cr_assert_eq(cio_task_cancelling(self), 1);
	cr_assert_eq(cio_timeout_enter_after(&to, 2 * MS), 0);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);
	cr_assert_eq(cio_task_cancelling(self), 1);
	cr_assert_eq(cio_task_uncancel(self), 0);
	assert_clean();
	return 0;
}

Test(timeout, entered_while_cancelling)
{
	run_task(already_cancelling);
}

/* -- misuse --------------------------------------------------------------- */

static intptr_t exit_other(void *arg)
{
	cr_assert_eq(cio_timeout_exit(arg, 0), -EPERM);
	return 0;
}

static intptr_t misuse(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task *t;

	cr_assert_eq(cio_timeout_enter(NULL, 0), -EINVAL);
	cr_assert_eq(cio_timeout_enter_after(NULL, MS), -EINVAL);
	cr_assert_eq(cio_timeout_exit(NULL, 0), -EINVAL);
	cr_assert_eq(cio_timeout_when(NULL), -EINVAL);
	cr_assert_not(cio_timeout_expired(NULL));

	/* Never entered. */
	cr_assert_eq(cio_timeout_exit(&to, 0), -EINVAL);
	cr_assert_eq(cio_timeout_when(&to), -EINVAL);
	cr_assert_not(cio_timeout_expired(&to));

	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	/* Open already. */
	cr_assert_eq(cio_timeout_enter_after(&to, MS), -EINVAL);
	/* Only the task that entered may exit. */
	cr_assert_eq(cio_spawn(&t, exit_other, &to, NULL), 0);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cr_assert_eq(cio_timeout_exit(&to, 5), 5);
	/* Twice. */
	cr_assert_eq(cio_timeout_exit(&to, 5), -EINVAL);
	/* Storage can be entered again after exit. */
	cr_assert_eq(cio_timeout_enter_after(&to, MS), 0);
	cr_assert_eq(cio_timeout_exit(&to, cio_sleep(LONG_SLEEP)), -ETIMEDOUT);
	cr_assert_eq(cio_timeout_exit(&to, -ECANCELED), -EINVAL);
	assert_clean();
	return 0;
}

Test(timeout, misuse)
{
	run_task(misuse);
}

Test(timeout, outside_task)
{
	struct th_report_counts reports;
	cio_loop *loop = th_loop_new_counting(&reports);
	struct cio_timeout to = CIO_TIMEOUT_INIT;

	cr_assert_eq(cio_timeout_enter(&to, cio_deadline_after(MS)), -EPERM);
	cr_assert_eq(cio_timeout_enter_after(&to, MS), -EPERM);
	cr_assert_eq(cio_timeout_exit(&to, 0), -EINVAL);
	cr_assert_eq(cio_timeout_when(&to), -EINVAL);
	th_loop_free(loop);
	th_leak_check();
}

/* -- loop close while a scope is open -------------------------------------- */

static intptr_t parked_in_scope(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cr_assert_eq(cio_timeout_enter_after(&to, LONG_SLEEP), 0);
	cio_sleep(LONG_SLEEP);
	cr_assert_fail("a task torn down by close must not resume");
	return 0;
}

static intptr_t quick(void *arg)
{
	(void)arg;
	return cio_sleep(2 * MS);
}

Test(timeout, loop_closes_with_open_scope)
{
	struct th_report_counts reports;
	cio_loop *loop = th_loop_new_counting(&reports);
	struct cio_task_opts o = { .loop = loop };

	/* Fire-and-forget: closing the loop tears it down (and reports). */
	cr_assert_eq(cio_spawn(NULL, parked_in_scope, NULL, &o), 0);
	cr_assert_eq(th_run(loop, quick, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
	cr_assert_eq(reports.total, 1);
}

/* -- a task that returns inside a scope ------------------------------------ */

static intptr_t leaves_scope_open(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cr_assert_eq(cio_timeout_enter_after(&to, 5 * MS), 0);
	return 7; /* no cio_timeout_exit(): the timer points into this stack */
}

/* Runs on the stack the misbehaving task gave back, past that task's
 * deadline: a timer still armed there would fire into this frame. */
static intptr_t reuses_the_stack(void *arg)
{
	(void)arg;
	volatile char scribble[512];
	memset((char *)scribble, 0x5a, sizeof(scribble));
	cr_assert_eq(cio_sleep(20 * MS), 0);
	cr_assert_eq(cio_task_cancelling(cio_current_task()), 0);
	return scribble[0];
}

Test(timeout, returning_inside_a_scope_is_caught)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;

	th_collect_reports(loop, &rep);
	cr_assert_eq(th_run(loop, leaves_scope_open, NULL), 7);
	cr_assert_eq(rep.n, 1);
	cr_assert_eq(rep.kind[0], CIO_REPORT_MISUSE);
	cr_assert(strstr(rep.message[0], "timeout scope") != NULL,
		  "message: %s", rep.message[0]);
	cr_assert_eq(th_run(loop, reuses_the_stack, NULL), 0x5a);
	cr_assert_eq(rep.n, 1);
	th_loop_free(loop);
	th_leak_check();
}
