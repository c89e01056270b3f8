/* Tasks: spawn options, names, current/all tasks, await, sleep and yield,
 * results, fire-and-forget reporting, and 100,000 tasks at once. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static intptr_t ret_arg(void *arg)
{
	return (intptr_t)arg;
}

Test(task, spawn_bad_arguments)
{
	cio_task *t = (cio_task *)(uintptr_t)1;
	struct cio_task_opts o = { 0 };

	cr_assert_eq(cio_spawn(&t, ret_arg, NULL, NULL), -EINVAL, "no loop");
	cr_assert_null(t);
	cio_loop *loop = th_loop_new();
	t = (cio_task *)(uintptr_t)1;
	cr_assert_eq(cio_spawn(&t, NULL, NULL, NULL), -EINVAL, "no fn");
	cr_assert_null(t);
	o.stack_size = 1000;
	cr_assert_eq(cio_spawn(&t, ret_arg, NULL, &o), -EINVAL);
	o.stack_size = 16 * 1024 - 1;
	cr_assert_eq(cio_spawn(&t, ret_arg, NULL, &o), -EINVAL);
	o.stack_size = ((size_t)1 << 30) + 1;
	cr_assert_eq(cio_spawn(&t, ret_arg, NULL, &o), -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(cio_all_tasks(loop, NULL, 0), 0, "nothing was created");
	cr_assert_eq(loop->objects, 0);
	cr_assert_eq(loop->stacks.live, 0);

	/* The loop in the options wins over the current loop. */
	cio_loop *other = th_loop_new();
	o = (struct cio_task_opts){ .loop = other };
	cr_assert_eq(cio_spawn(&t, ret_arg, (void *)8, &o), 0);
	cr_assert_eq(cio_future_loop(cio_task_future(t)), other);
	cr_assert_eq(cio_loop_run_until_complete(other, cio_task_future(t)), 8);
	cio_task_unref(t);
	/* No options: the current loop. */
	cr_assert_eq(cio_spawn(&t, ret_arg, (void *)9, NULL), 0);
	cr_assert_eq(cio_future_loop(cio_task_future(t)), loop);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)), 9);
	cio_task_unref(t);
	th_loop_free(other);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t stack_probe(void *arg)
{
	cio_task *self = cio_current_task();
	char here;
	const char *lo = self->stack->lo;
	cr_assert(&here > lo && &here < lo + self->stack->size);
	(void)arg;
	return (intptr_t)self->stack->size;
}

Test(task, stack_size_option)
{
	cio_loop *loop = th_loop_new();
	struct cio_task_opts o = { .loop = loop, .stack_size = 128 * 1024 };
	cio_task *t;

	cr_assert_eq(cio_spawn(&t, stack_probe, NULL, &o), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     128 * 1024);
	cio_task_unref(t);
	o.stack_size = 20000; /* rounded up to whole pages */
	cr_assert_eq(cio_spawn(&t, stack_probe, NULL, &o), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     20480);
	cio_task_unref(t);
	o.stack_size = 0;
	cr_assert_eq(cio_spawn(&t, stack_probe, NULL, &o), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     (intptr_t)loop->stacks.default_size);
	cio_task_unref(t);
	cr_assert_eq(loop->stacks.live, 0, "stacks go back when tasks end");
	th_loop_free(loop);
	th_leak_check();
}

Test(task, names)
{
	cio_loop *loop = th_loop_new();
	char name[64] = "worker";
	cio_task *a = th_spawn(loop, ret_arg, NULL, NULL);
	cio_task *b = th_spawn(loop, ret_arg, NULL, name);
	cio_task *c = th_spawn(loop, ret_arg, NULL, NULL);

	strcpy(name, "changed"); /* the name was copied */
	cr_assert_str_eq(cio_task_name(a), "Task-1");
	cr_assert_str_eq(cio_task_name(b), "worker");
	cr_assert_str_eq(cio_task_name(c), "Task-3");
	cr_assert_null(cio_task_name(NULL));

	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(cio_task_set_name(a, longname), 0);
	cr_assert_str_eq(cio_task_name(a), longname);
	cr_assert_eq(cio_task_set_name(a, "short"), 0);
	cr_assert_str_eq(cio_task_name(a), "short");
	cr_assert_eq(cio_task_set_name(a, longname + 200), 0); /* 99 chars */
	cr_assert_str_eq(cio_task_name(a), longname + 200);
	cr_assert_eq(cio_task_set_name(a, longname + 200), 0);
	cr_assert_str_eq(cio_task_name(a), longname + 200);
	/* 31 characters fit inline, 32 do not: both work. */
	cr_assert_eq(cio_task_set_name(a, longname + 299 - 31), 0);
	cr_assert_eq(strlen(cio_task_name(a)), 31);
	cr_assert_eq(cio_task_set_name(a, longname + 299 - 32), 0);
	cr_assert_eq(strlen(cio_task_name(a)), 32);
	cr_assert_eq(cio_task_set_name(a, ""), 0);
	cr_assert_str_eq(cio_task_name(a), "");
	/* Its own name, or a part of it. */
	cr_assert_eq(cio_task_set_name(c, cio_task_name(c)), 0);
	cr_assert_str_eq(cio_task_name(c), "Task-3");
	cr_assert_eq(cio_task_set_name(c, cio_task_name(c) + 2), 0);
	cr_assert_str_eq(cio_task_name(c), "sk-3");
	cr_assert_eq(cio_task_set_name(b, longname), 0);
	cr_assert_eq(cio_task_set_name(b, cio_task_name(b) + 1), 0);
	cr_assert_eq(strlen(cio_task_name(b)), 298);

	cr_assert_eq(cio_task_set_name(NULL, "x"), -EINVAL);
	cr_assert_eq(cio_task_set_name(a, NULL), -EINVAL);

	th_run_once(loop);
	cr_assert(cio_task_done(b));
	cr_assert_eq(strlen(cio_task_name(b)), 298, "names outlive the run");
	cio_task_unref(a);
	cio_task_unref(b);
	cio_task_unref(c);

	/* Names count per loop. */
	cio_loop *other = th_loop_new();
	cio_task *d = th_spawn(other, ret_arg, NULL, NULL);
	cr_assert_str_eq(cio_task_name(d), "Task-1");
	th_run_once(other);
	cio_task_unref(d);
	th_loop_free(other);
	th_loop_free(loop);
	th_leak_check();
}

struct ctx {
	cio_loop *loop;
	cio_task *seen;
	cio_task *in_cb;
	char log[64];
	int n;
};

static void note_current(void *arg)
{
	((struct ctx *)arg)->in_cb = cio_current_task();
}

static intptr_t current_body(void *arg)
{
	struct ctx *c = arg;
	c->seen = cio_current_task();
	cr_assert_eq(cio_call_soon(NULL, note_current, c, NULL), 0);
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_MSEC), 0);
	cr_assert_eq(cio_current_task(), c->seen, "same task after await");
	cr_assert_eq(cio_loop_current(), c->loop);
	return 0;
}

Test(task, current_task)
{
	struct ctx c = { .loop = th_loop_new() };
	c.in_cb = (cio_task *)(uintptr_t)1;
	cr_assert_null(cio_current_task());
	cio_task *t = th_spawn(c.loop, current_body, &c, NULL);
	cr_assert_eq(cio_loop_run_until_complete(c.loop, cio_task_future(t)), 0);
	cr_assert_eq(c.seen, t);
	cr_assert_null(c.in_cb, "callbacks run outside any task");
	cr_assert_null(cio_current_task());
	cio_task_unref(t);
	th_loop_free(c.loop);
	th_leak_check();
}

static intptr_t sleeper(void *arg)
{
	return cio_sleep((intptr_t)arg * CIO_NSEC_PER_MSEC) == 0 ? 1 : -EIO;
}

Test(task, all_tasks)
{
	cio_loop *loop = th_loop_new();
	cio_task *t[5], *got[5] = { 0 };

	cr_assert_eq(cio_all_tasks(loop, got, 5), 0);
	t[0] = th_spawn(loop, ret_arg, (void *)1, NULL);
	for (int i = 1; i < 5; i++)
		t[i] = th_spawn(loop, sleeper, (void *)(intptr_t)(i * 5), NULL);
	cr_assert_eq(cio_all_tasks(loop, got, 5), 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(got[i], t[i]);
	cr_assert_eq(cio_all_tasks(loop, NULL, 0), 5);
	got[2] = NULL;
	cr_assert_eq(cio_all_tasks(loop, got, 2), 5, "cap 2, five in all");
	cr_assert_null(got[2], "nothing written past cap");
	cr_assert_eq(cio_all_tasks(NULL, NULL, 0), 5, "the current loop");
	th_run_once(loop); /* t[0] finishes */
	cr_assert(cio_task_done(t[0]));
	cr_assert_eq(cio_all_tasks(loop, got, 5), 4, "done tasks are not listed");
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t[4])), 1);
	cr_assert_eq(cio_all_tasks(loop, got, 5), 0);
	for (int i = 0; i < 5; i++)
		cio_task_unref(t[i]);
	th_loop_free(loop);
	cr_assert_eq(cio_all_tasks(NULL, NULL, 0), -EINVAL, "no loop");
	th_leak_check();
}

Test(task, task_returning_ecanceled_ends_cancelled)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	th_collect_reports(loop, &rep);
	cio_task *t = th_spawn(loop, ret_arg, (void *)(intptr_t)-ECANCELED,
			       NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)),
		     -ECANCELED);
	cr_assert(cio_task_cancelled(t));
	cr_assert(cio_future_cancelled(cio_task_future(t)));
	cr_assert_eq(cio_task_error(t), -ECANCELED);
	cr_assert_eq(cio_task_cancelling(t), 0);
	cio_task_unref(t);
	cr_assert_eq(rep.n, 0, "cancellation is not an error to report");
	th_loop_free(loop);
	th_leak_check();
}

Test(task, fire_and_forget)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	struct cio_task_opts o = { .loop = loop, .name = "doomed" };
	th_collect_reports(loop, &rep);

	cr_assert_eq(cio_spawn(NULL, ret_arg, (void *)(intptr_t)-EIO, &o), 0);
	o.name = "fine";
	cr_assert_eq(cio_spawn(NULL, ret_arg, (void *)1, &o), 0);
	o.name = "cancelled";
	cr_assert_eq(cio_spawn(NULL, ret_arg, (void *)(intptr_t)-ECANCELED, &o),
		     0);
	cr_assert_eq(loop->objects, 3);
	th_run_once(loop);
	cr_assert_eq(rep.n, 1, "only the failed one is reported");
	cr_assert_eq(rep.kind[0], CIO_REPORT_ERROR_NEVER_RETRIEVED);
	cr_assert_eq(rep.error[0], -EIO);
	cr_assert_not_null(rep.task[0]);
	cr_assert_eq(rep.future[0], cio_task_future(rep.task[0]));
	cr_assert_not_null(strstr(rep.message[0], "task 'doomed' error never "
						  "retrieved"),
			   "%s", rep.message[0]);
	cr_assert_eq(loop->objects, 0, "the loop freed them");
	th_run_once(loop);
	th_loop_free(loop);
	cr_assert_eq(rep.n, 1, "exactly once");
	th_leak_check();
}

Test(task, unread_task_error_reported_once)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	th_collect_reports(loop, &rep);

	cio_task *t = th_spawn(loop, ret_arg, (void *)(intptr_t)-ENOMEM, "x");
	th_run_once(loop);
	cr_assert(cio_task_done(t));
	cr_assert_eq(rep.n, 0);
	cio_task_unref(t);
	cr_assert_eq(rep.n, 1);
	cr_assert_eq(rep.error[0], -ENOMEM);

	/* Read: no report. Closing the loop with a read one: none either. */
	t = th_spawn(loop, ret_arg, (void *)(intptr_t)-ENOMEM, "y");
	th_run_once(loop);
	cr_assert_eq(cio_task_error(t), -ENOMEM);
	cio_task *u = th_spawn(loop, ret_arg, (void *)(intptr_t)-EROFS, "z");
	th_run_once(loop);
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(rep.n, 2, "close reports the unread error of 'z'");
	cr_assert_eq(rep.error[1], -EROFS);
	cr_assert_eq(rep.task[1], u);
	cio_task_unref(t);
	cio_task_unref(u);
	cr_assert_eq(rep.n, 2, "and not again when it is freed");
	cio_loop_free(loop);
	th_leak_check();
}

Test(task, task_api_on_null_and_pending)
{
	cio_loop *loop = th_loop_new();
	cr_assert_null(cio_task_future(NULL));
	cr_assert_null(cio_task_ref(NULL));
	cio_task_unref(NULL);
	cr_assert_not(cio_task_done(NULL));
	cr_assert_not(cio_task_cancelled(NULL));
	cr_assert_eq(cio_task_result(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_task_error(NULL), -EINVAL);
	cr_assert_eq(cio_task_cancel(NULL), 0);
	cr_assert_eq(cio_task_cancelling(NULL), 0);
	cr_assert_eq(cio_task_uncancel(NULL), 0);

	cio_task *t = th_spawn(loop, ret_arg, (void *)3, NULL);
	cr_assert_eq(cio_task_ref(t), t);
	cio_task_unref(t);
	cr_assert_not(cio_task_done(t));
	cr_assert_eq(cio_task_result(t, NULL), -EAGAIN);
	cr_assert_eq(cio_task_error(t), -EAGAIN);
	cr_assert_eq(cio_future_task(cio_task_future(t)), t);
	th_run_once(loop);
	intptr_t v;
	cr_assert_eq(cio_task_result(t, &v), 0);
	cr_assert_eq(v, 3);
	cio_task_unref(t);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t ret_after_sleep(void *arg)
{
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_MSEC), 0);
	return (intptr_t)arg;
}

static void done_cb(cio_future *f, void *arg)
{
	cr_assert(cio_future_done(f));
	*(intptr_t *)arg = cio_future_result(f, NULL) == 0 ? 1 : -1;
}

Test(task, done_callbacks_on_tasks)
{
	cio_loop *loop = th_loop_new();
	intptr_t seen = 0;
	cio_task *t = th_spawn(loop, ret_after_sleep, (void *)4, NULL);
	cr_assert_eq(cio_future_add_done_callback(cio_task_future(t), done_cb,
						  &seen), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)), 4);
	if (!seen)
		th_run_once(loop);
	cr_assert_eq(seen, 1);
	cio_task_unref(t);
	th_loop_free(loop);
	th_leak_check();
}

struct two {
	cio_loop *a, *b;
	int turns;
	char log[64];
	int n;
};

static intptr_t on_loop(void *arg)
{
	struct two *w = arg;
	cio_loop *mine = cio_loop_current();
	char id = mine == w->a ? 'a' : 'b';
	for (int i = 0; i < w->turns; i++) {
		cr_assert_eq(cio_loop_current(), mine);
		cr_assert_eq(cio_future_loop(cio_task_future(cio_current_task())),
			     mine);
		cr_assert_lt(w->n, 63);
		w->log[w->n++] = id;
		cr_assert_eq(cio_sleep(0), 0);
	}
	return id;
}

static intptr_t spawn_elsewhere(void *arg)
{
	struct two *w = arg;
	struct cio_task_opts o = { .loop = w->b };
	cio_task *t;
	cr_assert_eq(cio_spawn(&t, on_loop, w, &o), 0);
	cr_assert_eq(cio_await_task(t), -EINVAL, "a task of another loop");
	cr_assert_eq(cio_task_cancel(t), 1);
	cio_task_unref(t);
	return 0;
}

/* Two loops on one thread, run in turns: each task sees its own loop. */
Test(task, two_loops_on_one_thread)
{
	struct two w = { .a = th_loop_new(), .b = th_loop_new(), .turns = 3 };
	cio_task *ta = th_spawn(w.a, on_loop, &w, NULL);
	cio_task *tb = th_spawn(w.b, on_loop, &w, NULL);
	for (int i = 0; i < 4; i++) {
		th_run_once(w.a);
		th_run_once(w.b);
	}
	cr_assert_str_eq(w.log, "ababab");
	cr_assert_eq(cio_task_result(ta, NULL), 0);
	cr_assert_eq(cio_task_result(tb, NULL), 0);
	intptr_t v;
	cio_task_result(ta, &v);
	cr_assert_eq(v, 'a');
	cio_task_unref(ta);
	cio_task_unref(tb);
	cr_assert_eq(th_run(w.a, spawn_elsewhere, &w), 0);
	th_run_once(w.b); /* the cancelled task never runs */
	cr_assert_eq(cio_all_tasks(w.b, NULL, 0), 0);
	th_loop_free(w.a);
	th_loop_free(w.b);
	th_leak_check();
}

/* -- many tasks ---------------------------------------------------------------- */

#define MANY 100000

static intptr_t many_child(void *arg)
{
	if (cio_sleep(CIO_NSEC_PER_MSEC) < 0)
		return -EIO;
	return (intptr_t)arg;
}

static intptr_t many_parent(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	cio_task **t = malloc(n * sizeof(*t));
	intptr_t sum = 0;
	cr_assert_not_null(t);
	for (size_t i = 0; i < n; i++) {
		int rc = cio_spawn(&t[i], many_child, (void *)(intptr_t)i, NULL);
		cr_assert_eq(rc, 0, "spawn #%zu: %d", i, rc);
	}
	cr_assert_eq(cio_all_tasks(NULL, NULL, 0), (int)n + 1);
	for (size_t i = 0; i < n; i++) {
		sum += cio_await_task(t[i]);
		cio_task_unref(t[i]);
	}
	free(t);
	return sum;
}

Test(task, hundred_thousand_tasks, .timeout = 300)
{
	cio_loop *loop = th_loop_new();
	/* Without page-table guards every stack costs two mappings, and
	 * vm.max_map_count (65530) caps tasks near 32k (stack.h). */
	size_t n = cio__stack_light_guards() ? MANY : 30000;
#if defined(__SANITIZE_THREAD__)
	n = 5000; /* TSan counts each task's fiber against 8128 threads */
#endif
	intptr_t want = (intptr_t)n * ((intptr_t)n - 1) / 2;
	int64_t t0 = cio_loop_time();
	cr_assert_eq(th_run(loop, many_parent, (void *)(uintptr_t)n), want);
	cr_log_info("%zu tasks: %.3f s", n,
		    (double)(cio_loop_time() - t0) / 1e9);
	cr_assert_eq(loop->stacks.live, 0);
	cr_assert_eq(loop->tasks_pending, 0);
	cr_assert_eq(loop->objects, 0);
	th_loop_free(loop);
	th_leak_check();
}
