/* Task awaits: results, errors and cancellation through cio_await, bad
 * input, sleep ordering and timing, yield and sleep(0). */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"

#include <stdio.h>
#include <string.h>

struct ctx {
	cio_loop *loop;
	char log[64];
	int n;
};

/* -- await ------------------------------------------------------------------------ */

static intptr_t ret_after_sleep(void *arg)
{
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_MSEC), 0);
	return (intptr_t)arg;
}

static intptr_t await_children(void *arg)
{
	static const intptr_t values[] = { 42, -EIO, -ECANCELED, -5000, 0,
					   INTPTR_MAX, -4096, -4095 };
	(void)arg;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		cio_task *t;
		cr_assert_eq(cio_spawn(&t, ret_after_sleep,
				       (void *)values[i], NULL), 0);
		intptr_t v = cio_await_task(t);
		cr_assert_eq(v, values[i], "value %zd", (ssize_t)values[i]);
		cr_assert(cio_task_done(t));
		cr_assert_eq(cio_task_cancelled(t), values[i] == -ECANCELED);
		intptr_t r = 0;
		int rc = cio_task_result(t, &r);
		if (CIO_IS_ERR(values[i])) {
			cr_assert_eq(rc, values[i]);
			cr_assert_eq(cio_task_error(t), values[i]);
		} else {
			cr_assert_eq(rc, 0);
			cr_assert_eq(r, values[i]);
			cr_assert_eq(cio_task_error(t), 0);
		}
		/* Awaiting a done task again returns at once. */
		cr_assert_eq(cio_await_task(t), values[i]);
		cio_task_unref(t);
	}
	return 1;
}

Test(task_await, await_returns_result_error_or_cancelled)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	th_collect_reports(loop, &rep);
	cr_assert_eq(th_run(loop, await_children, NULL), 1);
	cr_assert_eq(rep.n, 0, "awaited errors are retrieved");
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t await_bad(void *arg)
{
	cio_loop *other = arg;
	cio_future *f;
	cr_assert_eq(cio_await(NULL), -EINVAL);
	cr_assert_eq(cio_await_task(NULL), -EINVAL);
	cr_assert_eq(cio_await(cio_task_future(cio_current_task())), -EDEADLK);
	cr_assert_eq(cio_await_task(cio_current_task()), -EDEADLK);
	cr_assert_eq(cio_future_new(other, &f), 0);
	cr_assert_eq(cio_future_set_result(f, 1), 0);
	cr_assert_eq(cio_await(f), -EINVAL, "future of another loop");
	cio_future_unref(f);
	return 5;
}

Test(task_await, await_bad_input)
{
	cio_loop *loop = th_loop_new(), *other = th_loop_new();
	cio_future *f;
	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_await(f), -EPERM, "outside a task");
	cr_assert_eq(cio_await(NULL), -EPERM);
	cr_assert_eq(cio_sleep(1), -EPERM);
	cr_assert_eq(cio_sleep(0), -EPERM);
	cr_assert_eq(cio_sleep_until(0), -EPERM);
	cr_assert_eq(cio_yield(), -EPERM);
	cr_assert_eq(th_run(loop, await_bad, other), 5);
	cio_future_unref(f);
	th_loop_free(other);
	th_loop_free(loop);
	th_leak_check();
}

static void log_char(struct ctx *c, char ch)
{
	cr_assert_lt(c->n, 63);
	c->log[c->n++] = ch;
}

struct sleep_arg {
	struct ctx *c;
	char id;
	int ms;
	int64_t base; /* 0: sleep relative to when the task runs */
};

static intptr_t sleep_then_log(void *arg)
{
	struct sleep_arg *a = arg;
	int64_t start = cio_loop_time();
	int64_t want = a->ms * CIO_NSEC_PER_MSEC;
	if (a->base) {
		cr_assert_eq(cio_sleep_until(a->base + want), 0);
		cr_assert_geq(cio_loop_time(), a->base + want, "woke early");
	} else {
		cr_assert_eq(cio_sleep(want), 0);
		cr_assert_geq(cio_loop_time() - start, want,
			      "slept less than asked");
	}
	log_char(a->c, a->id);
	return 0;
}

/* Wake-ups in deadline order. The deadlines share one base: relative
 * sleeps would order by when each task happened to start. */
Test(task_await, sleep_ordering)
{
	struct ctx c = { .loop = th_loop_new() };
	int64_t base = cio_loop_time();
	struct sleep_arg a[] = { { &c, 'c', 30, base }, { &c, 'a', 10, base },
				 { &c, 'b', 20, base }, { &c, 'd', 40, base },
				 { &c, 'e', 40, base } };
	cio_task *t[5];
	for (int i = 0; i < 5; i++)
		t[i] = th_spawn(c.loop, sleep_then_log, &a[i], NULL);
	cr_assert_eq(cio_loop_run_until_complete(c.loop, cio_task_future(t[4])),
		     0);
	cr_assert_str_eq(c.log, "abcde", "log: %s", c.log);
	for (int i = 0; i < 5; i++)
		cio_task_unref(t[i]);
	th_loop_free(c.loop);
	th_leak_check();
}

Test(task_await, relative_sleeps_last_as_long_as_asked)
{
	struct ctx c = { .loop = th_loop_new() };
	struct sleep_arg a[] = { { &c, 'x', 15, 0 }, { &c, 'y', 1, 0 },
				 { &c, 'z', 5, 0 } };
	cio_task *t[3];
	for (int i = 0; i < 3; i++)
		t[i] = th_spawn(c.loop, sleep_then_log, &a[i], NULL);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(cio_loop_run_until_complete(c.loop,
							 cio_task_future(t[i])),
			     0);
		cio_task_unref(t[i]);
	}
	cr_assert_eq(c.n, 3);
	th_loop_free(c.loop);
	th_leak_check();
}

struct turn_arg {
	struct ctx *c;
	char id;
	int how; /* 0: yield, 1: sleep(0), 2: sleep(-1), 3: sleep_until(past) */
};

static intptr_t take_turns(void *arg)
{
	struct turn_arg *a = arg;
	for (int i = 0; i < 3; i++) {
		log_char(a->c, a->id);
		int rc;
		switch (a->how) {
		case 0:
			rc = cio_yield();
			break;
		case 1:
			rc = cio_sleep(0);
			break;
		case 2:
			rc = cio_sleep(-CIO_NSEC_PER_SEC);
			break;
		default:
			rc = cio_sleep_until(cio_loop_time() - 1);
			break;
		}
		cr_assert_eq(rc, 0);
	}
	return 0;
}

Test(task_await, yield_and_sleep_zero_let_others_run)
{
	for (int how = 0; how < 4; how++) {
		struct ctx c = { .loop = th_loop_new() };
		struct turn_arg a = { &c, 'a', how }, b = { &c, 'b', how };
		cio_task *ta = th_spawn(c.loop, take_turns, &a, NULL);
		cio_task *tb = th_spawn(c.loop, take_turns, &b, NULL);
		cr_assert_eq(cio_loop_run_until_complete(c.loop,
							 cio_task_future(tb)), 0);
		cr_assert_str_eq(c.log, "ababab", "how %d", how);
		cio_task_unref(ta);
		cio_task_unref(tb);
		th_loop_free(c.loop);
	}
	th_leak_check();
}

/* A yield gives up exactly one turn: the loop's other ready callbacks run
 * once, then the task. */
static void cb_log_x(void *arg)
{
	log_char(arg, 'x');
}

static intptr_t yield_once(void *arg)
{
	struct ctx *c = arg;
	cr_assert_eq(cio_call_soon(NULL, cb_log_x, c, NULL), 0);
	log_char(c, '1');
	cr_assert_eq(cio_yield(), 0);
	log_char(c, '2');
	return 0;
}

Test(task_await, yield_runs_after_ready_callbacks)
{
	struct ctx c = { .loop = th_loop_new() };
	cr_assert_eq(th_run(c.loop, yield_once, &c), 0);
	cr_assert_str_eq(c.log, "1x2");
	th_loop_free(c.loop);
	th_leak_check();
}
