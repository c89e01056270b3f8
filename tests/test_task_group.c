/* Task groups: success, failures, outside cancellation, shutdown rules,
 * children spawning siblings, freeing early, and bad input. Every test
 * checks what the loop reported (no "never retrieved" unless expected). */
#include "helpers/harness.h"
#include "runtime/task_group.h"
#include "runtime/timeout.h"

#define MS CIO_NSEC_PER_MSEC
#define LONG_SLEEP (10 * CIO_NSEC_PER_SEC)

/* Not a local of run_task(): a task body checks it while the loop runs. */
static struct th_report_counts reports;

static void run_task(cio_task_fn fn)
{
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(th_run(loop, fn, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
	cr_assert_eq(reports.never_retrieved, 0, "never retrieved: %d",
		     reports.never_retrieved);
	cr_assert_eq(reports.pending_at_close, 0, "pending at close: %d",
		     reports.pending_at_close);
}

static void assert_clean(void)
{
	cio_task *self = cio_current_task();
	cr_assert_eq(cio_task_cancelling(self), 0);
	cr_assert_eq(cio_sleep(MS), 0);
}

/* -- children ----------------------------------------------------------- */

static intptr_t sleep_then_return(void *arg)
{
	int rc = cio_sleep(MS);
	return rc < 0 ? rc : (intptr_t)arg;
}

static intptr_t sleep_forever(void *arg)
{
	(void)arg;
	return cio_sleep(LONG_SLEEP); /* -ECANCELED: ends cancelled */
}

static intptr_t fail_soon(void *arg)
{
	int rc = cio_sleep(2 * MS);
	return rc < 0 ? rc : (intptr_t)arg;
}

static intptr_t fail_now(void *arg)
{
	return (intptr_t)arg;
}

/* Ignores its cancellation and fails with arg anyway. */
static intptr_t fail_when_cancelled(void *arg)
{
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	return (intptr_t)arg;
}

static intptr_t cancel_later(void *arg)
{
	cr_assert_eq(cio_sleep(5 * MS), 0);
	cr_assert_eq(cio_task_cancel(arg), 1);
	return 0;
}

/* -- tests ---------------------------------------------------------------- */

static intptr_t all_succeed(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *t[5];

	cr_assert_eq(cio_task_group_new(&g), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(cio_task_group_spawn(g, &t[i], sleep_then_return,
						  (void *)(intptr_t)(i + 10),
						  NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, sleep_then_return, NULL,
					  NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert_eq(cio_task_group_errors(g, NULL, 0), 0);
	for (int i = 0; i < 5; i++) {
		intptr_t v = -1;
		cr_assert(cio_task_done(t[i]));
		cr_assert_eq(cio_task_result(t[i], &v), 0);
		cr_assert_eq(v, i + 10);
		cio_task_unref(t[i]);
	}
	/* Finished: no more spawns. */
	cr_assert_eq(cio_task_group_spawn(g, NULL, sleep_then_return, NULL,
					  NULL), -EINVAL);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, all_succeed)
{
	run_task(all_succeed);
}

static intptr_t empty(void *arg)
{
	(void)arg;
	cio_task_group *g;

	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert_eq(cio_task_group_errors(g, NULL, 0), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now, NULL, NULL),
		     -EINVAL);
	cio_task_group_free(g);

	/* Freed without ever waiting. */
	cr_assert_eq(cio_task_group_new(&g), 0);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, empty_group)
{
	run_task(empty);
}

static intptr_t one_fails(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *sib[3], *bad;
	cio_task *self = cio_current_task();
	int errs[4];

	cr_assert_eq(cio_task_group_new(&g), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_task_group_spawn(g, &sib[i], sleep_forever,
						  NULL, NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, &bad, fail_soon,
					  (void *)(intptr_t)-EIO, NULL), 0);
	/* The body's await is interrupted by the failure. */
	int64_t start = cio_loop_time();
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	cr_assert_lt(cio_loop_time() - start, LONG_SLEEP / 2);
	cr_assert_eq(cio_task_cancelling(self), 1);
	/* Shutting down: no more spawns. */
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(cio_task_group_wait(g), -EIO);
	/* The group's cancellation of the parent does not leak out. */
	cr_assert_eq(cio_task_cancelling(self), 0);
	cr_assert_eq(cio_task_group_errors(g, errs, 4), 1);
	cr_assert_eq(errs[0], -EIO);
	for (int i = 0; i < 3; i++) {
		cr_assert(cio_task_cancelled(sib[i]));
		cio_task_unref(sib[i]);
	}
	cr_assert_eq(cio_task_error(bad), -EIO);
	cio_task_unref(bad);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, one_fails_cancels_siblings_and_parent)
{
	run_task(one_fails);
}

/* The failure arrives while the parent already waits. */
static intptr_t fails_during_wait(void *arg)
{
	(void)arg;
	cio_task_group *g;

	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, sleep_forever, NULL, NULL),
		     0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_soon,
					  (void *)(intptr_t)-ENOENT, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), -ENOENT);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, fails_during_wait)
{
	run_task(fails_during_wait);
}

/* Shrugs off its cancellation and returns a result. */
static intptr_t result_anyway(void *arg)
{
	(void)arg;
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	cio_task_uncancel(cio_current_task());
	return 1;
}

/* The group's cancellation of the parent is never seen by the body: its
 * await returns a real result ("cancelled but executed") and the cancel
 * stays pending; wait() consumes it. */
static intptr_t fails_body_never_sees(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *t, *self = cio_current_task();

	cr_assert_eq(cio_spawn(&t, result_anyway, NULL, NULL), 0);
	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_soon,
					  (void *)(intptr_t)-EBADF, NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, sleep_forever, NULL, NULL),
		     0);
	cr_assert_eq(cio_await_task(t), 1);
	cio_task_unref(t);
	cr_assert_eq(cio_task_cancelling(self), 1);
	cr_assert_eq(cio_task_group_wait(g), -EBADF);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, fails_before_wait_without_await)
{
	run_task(fails_body_never_sees);
}

static intptr_t two_failures(void *arg)
{
	(void)arg;
	cio_task_group *g;
	int errs[4] = { 0 };

	/* A fails; B is cancelled by it and fails while cleaning up. */
	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_when_cancelled,
					  (void *)(intptr_t)-EPIPE, NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_soon,
					  (void *)(intptr_t)-EIO, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), -EIO);
	cr_assert_eq(cio_task_group_errors(g, errs, 4), 2);
	cr_assert_eq(errs[0], -EIO);
	cr_assert_eq(errs[1], -EPIPE);
	/* A short buffer gets the first ones; the count is all of them. */
	errs[0] = 0;
	cr_assert_eq(cio_task_group_errors(g, errs, 1), 2);
	cr_assert_eq(errs[0], -EIO);
	cio_task_group_free(g);
	assert_clean();

	/* Both fail in the same iteration, before any cancel can land. */
	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now,
					  (void *)(intptr_t)-E2BIG, NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now,
					  (void *)(intptr_t)-EFAULT, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), -E2BIG);
	cr_assert_eq(cio_task_group_errors(g, errs, 4), 2);
	cr_assert_eq(errs[0], -E2BIG);
	cr_assert_eq(errs[1], -EFAULT);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, two_failures_collected)
{
	run_task(two_failures);
}

/* A child ending cancelled is not a failure. */
static intptr_t self_cancel(void *arg)
{
	(void)arg;
	return -ECANCELED;
}

static intptr_t cancelled_child(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *t;

	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, self_cancel, NULL, NULL),
		     0);
	cr_assert_eq(cio_task_group_spawn(g, &t, sleep_then_return,
					  (void *)(intptr_t)5, NULL), 0);
	cr_assert_eq(cio_sleep(5 * MS), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert_eq(cio_await_task(t), 5);
	cio_task_unref(t);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, cancelled_child_is_not_a_failure)
{
	run_task(cancelled_child);
}

/* -- the parent cancelled from outside ------------------------------------- */

/* How each test below begins: a task that cancels this one 5 ms from now
 * (not through any group), then a new group. Returns that task. */
static cio_task *start_outside_cancel(cio_task_group **g)
{
	cio_task *c;

	cr_assert_eq(cio_spawn(&c, cancel_later, cio_current_task(), NULL), 0);
	cr_assert_eq(cio_task_group_new(g), 0);
	return c;
}

/* And how it ends: free the group, reap the canceller, and check that
 * this task carries on with no cancellation left. */
static void end_outside_cancel(cio_task_group *g, cio_task *c)
{
	cio_task_group_free(g);
	cr_assert_eq(cio_await_task(c), 0);
	cio_task_unref(c);
	assert_clean();
}

static intptr_t outside_cancel_in_wait(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *kids[3], *c;
	cio_task *self = cio_current_task();

	c = start_outside_cancel(&g);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_task_group_spawn(g, &kids[i], sleep_forever,
						  NULL, NULL), 0);
	int64_t start = cio_loop_time();
	cr_assert_eq(cio_task_group_wait(g), -ECANCELED);
	cr_assert_lt(cio_loop_time() - start, LONG_SLEEP / 2);
	for (int i = 0; i < 3; i++) {
		cr_assert(cio_task_cancelled(kids[i]));
		cio_task_unref(kids[i]);
	}
	/* The outside request stands (delivered by wait), as asyncio
	 * propagates CancelledError. */
	cr_assert_eq(cio_task_cancelling(self), 1);
	cr_assert_eq(cio_task_uncancel(self), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now, NULL, NULL),
		     -EINVAL);
	end_outside_cancel(g, c);
	return 0;
}

Test(task_group, parent_cancelled_during_wait)
{
	run_task(outside_cancel_in_wait);
}

/* Cancelled in the body, before wait: wait shuts the group down. */
static intptr_t outside_cancel_in_body(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *kid, *c;
	cio_task *self = cio_current_task();

	c = start_outside_cancel(&g);
	cr_assert_eq(cio_task_group_spawn(g, &kid, sleep_forever, NULL, NULL),
		     0);
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	cr_assert_eq(cio_task_group_wait(g), -ECANCELED);
	cr_assert(cio_task_cancelled(kid));
	cr_assert_eq(cio_task_uncancel(self), 0);
	cio_task_unref(kid);
	end_outside_cancel(g, c);
	return 0;
}

Test(task_group, parent_cancelled_in_body)
{
	run_task(outside_cancel_in_body);
}

/* A body that handles its cancellation (uncancel) is not cancelled. */
static intptr_t outside_cancel_handled(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *c;
	cio_task *self = cio_current_task();

	c = start_outside_cancel(&g);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_soon,
					  (void *)(intptr_t)0, NULL), 0);
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	cr_assert_eq(cio_task_uncancel(self), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	end_outside_cancel(g, c);
	return 0;
}

Test(task_group, parent_cancel_handled_in_body)
{
	run_task(outside_cancel_handled);
}

/* A child error wins over the outside cancel, which is requested again. */
static intptr_t outside_cancel_and_error(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *c;
	cio_task *self = cio_current_task();

	c = start_outside_cancel(&g);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_when_cancelled,
					  (void *)(intptr_t)-EIO, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), -EIO);
	cr_assert_eq(cio_task_cancelling(self), 1);
	cr_assert_eq(cio_yield(), -ECANCELED);
	cr_assert_eq(cio_task_uncancel(self), 0);
	end_outside_cancel(g, c);
	return 0;
}

Test(task_group, child_error_beats_outside_cancel)
{
	run_task(outside_cancel_and_error);
}

/* An enclosing timeout scope expiring while the parent waits. */
static intptr_t timeout_around_group(void *arg)
{
	(void)arg;
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task_group *g;
	cio_task *kid;

	cr_assert_eq(cio_timeout_enter_after(&to, 5 * MS), 0);
	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, &kid, sleep_forever, NULL, NULL),
		     0);
	int rc = cio_task_group_wait(g);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	cr_assert(cio_task_cancelled(kid));
	cio_task_unref(kid);
	cio_task_group_free(g);
	assert_clean();

	/* Expiring in the body, before wait. */
	cr_assert_eq(cio_timeout_enter_after(&to, 2 * MS), 0);
	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, &kid, sleep_forever, NULL, NULL),
		     0);
	cr_assert_eq(cio_sleep(LONG_SLEEP), -ECANCELED);
	rc = cio_task_group_wait(g);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	cr_assert(cio_task_cancelled(kid));
	cio_task_unref(kid);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, timeout_scope_around_group)
{
	run_task(timeout_around_group);
}

/* -- shutdown and spawning ------------------------------------------------ */

static intptr_t spawn_after_abort(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *kid, *t;

	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, &kid, sleep_forever, NULL, NULL),
		     0);
	cr_assert_eq(cio_task_group_cancel(g), 1);
	cr_assert_eq(cio_task_group_spawn(g, &t, sleep_then_return, NULL,
					  NULL), -EINVAL);
	cr_assert_null(t);
	/* Not a failure, not the parent's cancellation. */
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert(cio_task_cancelled(kid));
	cr_assert_eq(cio_task_group_cancel(g), 0);
	cio_task_unref(kid);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, spawn_after_abort)
{
	run_task(spawn_after_abort);
}

struct spawner_arg {
	cio_task_group *g;
	int depth;
	int *ran;
};

static intptr_t spawner(void *arg)
{
	struct spawner_arg *a = arg;

	(*a->ran)++;
	/* Let the parent reach wait() before the sibling is spawned. */
	cr_assert_eq(cio_sleep(MS), 0);
	if (a->depth > 0) {
		a->depth--;
		cr_assert_eq(cio_task_group_spawn(a->g, NULL, spawner, a, NULL),
			     0);
	}
	return 0;
}

static intptr_t child_spawns_sibling(void *arg)
{
	(void)arg;
	cio_task_group *g;
	int ran = 0;
	struct spawner_arg a;

	cr_assert_eq(cio_task_group_new(&g), 0);
	a.g = g;
	a.depth = 5;
	a.ran = &ran;
	cr_assert_eq(cio_task_group_spawn(g, NULL, spawner, &a, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert_eq(ran, 6);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, child_spawns_sibling)
{
	run_task(child_spawns_sibling);
}

/* TSan counts every task's fiber against its limit of 8128 threads. */
#if defined(__SANITIZE_THREAD__)
#define MANY 5000
#else
#define MANY 10000
#endif

static intptr_t add_one(void *arg)
{
	int rc = cio_sleep(MS);
	if (rc < 0)
		return rc;
	(*(int *)arg)++;
	return 0;
}

static intptr_t many(void *arg)
{
	(void)arg;
	cio_task_group *g;
	int count = 0;

	cr_assert_eq(cio_task_group_new(&g), 0);
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(cio_task_group_spawn(g, NULL, add_one, &count,
						  NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert_eq(count, MANY);
	cio_task_group_free(g);

	/* And one failure among them shuts all of them down. */
	cr_assert_eq(cio_task_group_new(&g), 0);
	for (int i = 0; i < MANY; i++)
		cr_assert_eq(cio_task_group_spawn(g, NULL, sleep_forever, NULL,
						  NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_soon,
					  (void *)(intptr_t)-EIO, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), -EIO);
	cr_assert_eq(cio_task_group_errors(g, NULL, 0), 1);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, ten_thousand_children, .timeout = 60)
{
	run_task(many);
}

/* -- freeing early ----------------------------------------------------------- */

static intptr_t free_running(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cio_task *kids[4], *stubborn;

	cr_assert_eq(cio_task_group_new(&g), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(cio_task_group_spawn(g, &kids[i], sleep_forever,
						  NULL, NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, &stubborn, fail_when_cancelled,
					  (void *)(intptr_t)-EIO, NULL), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_when_cancelled,
					  (void *)(intptr_t)-EPIPE, NULL), 0);
	cr_assert_eq(cio_yield(), 0);
	cio_task_group_free(g);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(cio_await_task(kids[i]), -ECANCELED);
		cio_task_unref(kids[i]);
	}
	/* The group no longer collects errors or cancels the parent. */
	cr_assert_eq(cio_await_task(stubborn), -EIO);
	cio_task_unref(stubborn);
	cr_assert_eq(cio_sleep(5 * MS), 0);
	cr_assert_eq(cio_task_cancelling(cio_current_task()), 0);
	return 0;
}

Test(task_group, free_with_running_children)
{
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(th_run(loop, free_running, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
	/* The -EPIPE child had no other holder: reported, not lost. */
	cr_assert_eq(reports.never_retrieved, 1);
	cr_assert_eq(reports.pending_at_close, 0);
}

static cio_task_group *leaked_group;

static intptr_t abandon_group(void *arg)
{
	(void)arg;
	cr_assert_eq(cio_task_group_new(&leaked_group), 0);
	cr_assert_eq(cio_task_group_spawn(leaked_group, NULL, sleep_forever,
					  NULL, NULL), 0);
	return 0;
}

static intptr_t group_waiter(void *arg)
{
	(void)arg;
	cio_task_group *g;
	cr_assert_eq(cio_task_group_new(&g), 0);
	leaked_group = g;
	cr_assert_eq(cio_task_group_spawn(g, NULL, sleep_forever, NULL, NULL),
		     0);
	cio_task_group_wait(g);
	cr_assert_fail("a task torn down by close must not resume");
	return 0;
}

static intptr_t short_main(void *arg)
{
	(void)arg;
	return cio_sleep(2 * MS);
}

Test(task_group, free_after_loop_closed)
{
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(th_run(loop, abandon_group, NULL), 0);
	th_loop_free(loop);
	cr_assert_eq(reports.pending_at_close, 1);
	cio_task_group_free(leaked_group);
	leaked_group = NULL;
	th_leak_check();

	/* The parent parked in wait() when the loop closes. */
	loop = th_loop_new_counting(&reports);
	struct cio_task_opts o = { .loop = loop };
	cr_assert_eq(cio_spawn(NULL, group_waiter, NULL, &o), 0);
	cr_assert_eq(th_run(loop, short_main, NULL), 0);
	th_loop_free(loop);
	cr_assert_eq(reports.pending_at_close, 2);
	cio_task_group_free(leaked_group);
	leaked_group = NULL;
	th_leak_check();
}

/* The parent ends without waiting, then a child fails: reported. */
static intptr_t parent_leaves(void *arg)
{
	cio_task_group **gp = arg;
	cr_assert_eq(cio_task_group_new(gp), 0);
	cr_assert_eq(cio_task_group_spawn(*gp, NULL, fail_soon,
					  (void *)(intptr_t)-EIO, NULL), 0);
	return 0;
}

static intptr_t outlive_parent(void *arg)
{
	(void)arg;
	cio_task_group *g = NULL;
	cio_task *p;

	cr_assert_eq(cio_spawn(&p, parent_leaves, &g, NULL), 0);
	cr_assert_eq(cio_await_task(p), 0);
	cio_task_unref(p);
	cr_assert_eq(cio_sleep(10 * MS), 0);
	cr_assert_eq(reports.never_retrieved, 1);
	cr_assert_eq(cio_task_group_errors(g, NULL, 0), 1);
	cio_task_group_free(g);
	return 0;
}

Test(task_group, child_fails_after_parent_ended)
{
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(th_run(loop, outlive_parent, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
	cr_assert_eq(reports.never_retrieved, 1);
}

/* -- bad input ------------------------------------------------------------------ */

static intptr_t wait_other(void *arg)
{
	cr_assert_eq(cio_task_group_wait(arg), -EPERM);
	/* Spawning from another task is fine. */
	cr_assert_eq(cio_task_group_spawn(arg, NULL, sleep_then_return, NULL,
					  NULL), 0);
	return 0;
}

static intptr_t bad_input(void *arg)
{
	cio_loop *other = arg;
	cio_task_group *g;
	cio_task *t = (cio_task *)1;
	struct cio_task_opts o = { .loop = other };
	struct cio_task_opts tiny = { .stack_size = 1024 };
	int e;

	cr_assert_eq(cio_task_group_new(NULL), -EINVAL);
	cr_assert_eq(cio_task_group_spawn(NULL, &t, fail_now, NULL, NULL),
		     -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(cio_task_group_wait(NULL), -EINVAL);
	cr_assert_eq(cio_task_group_cancel(NULL), -EINVAL);
	cr_assert_eq(cio_task_group_errors(NULL, &e, 1), -EINVAL);
	cio_task_group_free(NULL);

	cr_assert_eq(cio_task_group_new(&g), 0);
	cr_assert_eq(cio_task_group_spawn(g, NULL, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now, NULL, &o),
		     -EINVAL);
	cr_assert_eq(cio_task_group_spawn(g, NULL, fail_now, NULL, &tiny),
		     -EINVAL);
	cr_assert_eq(cio_task_group_errors(g, NULL, 1), -EINVAL);
	cr_assert_eq(cio_task_group_spawn(g, &t, wait_other, g, NULL), 0);
	cr_assert_eq(cio_task_group_wait(g), 0);
	cr_assert_eq(cio_task_group_wait(g), -EINVAL);
	cio_task_unref(t);
	cio_task_group_free(g);
	assert_clean();
	return 0;
}

Test(task_group, bad_input)
{
	cio_loop *loop = th_loop_new_counting(&reports);
	cio_loop *other = th_loop_new();
	cio_task_group *g = (cio_task_group *)1;

	cr_assert_eq(cio_task_group_new(&g), -EPERM);
	cr_assert_null(g);
	cr_assert_eq(th_run(loop, bad_input, other), 0);
	th_loop_free(other);
	th_loop_free(loop);
	th_leak_check();
	cr_assert_eq(reports.never_retrieved, 0);
}
