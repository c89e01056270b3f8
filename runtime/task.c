/* Tasks: creation, the step that runs them, completion, names, lookup. */
#include "runtime/task_internal.h"
#include "runtime/loop_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__thread cio_task *cio__tls_task CIO__TLS_IE;

static int task_cancel(cio_future *fut);
static void task_destroy(cio_future *fut);

static const struct cio__future_ops task_ops = {
	.kind = "task",
	.cancel = task_cancel,
	.destroy = task_destroy,
	.settable = false,
};

static void task_step(struct cio__work *w, bool discard);

static void task_entry(void *arg)
{
	cio_task *t = arg;
	t->exit_value = t->fn(t->arg);
	t->exited = true;
	cio__coro_exit(&t->coro, &t->fut.loop->sched);
}

/* `returned`: the coroutine ran to its end (or never started), so its
 * stack holds no live frames. */
static void release_stack(cio_task *t, bool returned)
{
	if (!t->stack)
		return;
	cio__coro_release(&t->coro);
	if (returned)
		cio__stack_put_clean(&t->fut.loop->stacks, t->stack);
	else
		cio__stack_put(&t->fut.loop->stacks, t->stack);
	t->stack = NULL;
}

static int set_name(cio_task *t, const char *name)
{
	size_t len = strlen(name);
	char *copy = t->name_buf;

	if (len >= sizeof(t->name_buf) && !(copy = malloc(len + 1)))
		return -ENOMEM;
	/* `name` may point into the current name (even name_buf itself). */
	memmove(copy, name, len + 1);
	if (t->name && t->name != t->name_buf)
		free(t->name);
	t->name = copy;
	return 0;
}

int cio_spawn(cio_task **out, cio_task_fn fn, void *arg,
	      const struct cio_task_opts *opts)
{
	static const struct cio_task_opts defaults;
	cio_loop *loop;
	cio_task *t;
	int ret;

	if (out)
		*out = NULL;
	if (!opts)
		opts = &defaults;
	loop = cio__loop_or_current(opts->loop);
	if (!fn || !loop || loop->closed)
		return -EINVAL;
	if ((t = loop->task_cache)) {
		loop->task_cache = *(cio_task **)t;
		loop->task_cache_len--;
	} else if (!(t = malloc(sizeof(*t)))) {
		return -ENOMEM;
	}
	ret = cio__stack_get(&loop->stacks, opts->stack_size, &t->stack);
	if (ret < 0) {
		free(t);
		return ret;
	}
	cio__future_init(&t->fut, loop, &task_ops);
	t->fn = fn;
	t->arg = arg;
	t->step.fn = task_step;
	t->park_ops = NULL;
	t->park_ctx = NULL;
	t->resume_value = 0;
	t->exit_value = 0;
	cio__fut_cb_init(&t->waiter, NULL);
	cio__timer_init(&t->sleep_timer, NULL);
	t->open_scopes = 0;
#ifdef CIO_TSAN
	/* The context is made at the first step; a task cancelled before it
	 * still releases it (release_stack()). */
	t->coro.tsan_fiber = NULL;
#endif
	t->cancelling = 0;
	t->state = CIO__TASK_NEW;
	t->cancel_pending = false;
	t->exited = false;
	t->id = loop->next_task_id++;
	/* The default "Task-<id>" is formatted when first asked for: spawning
	 * is hot and most tasks are never named. */
	t->name = NULL;
	if (opts->name && set_name(t, opts->name) < 0) {
		cio__stack_put(&loop->stacks, t->stack);
		cio__loop_obj_put(loop);
		free(t);
		return -ENOMEM;
	}
	cio__list_add_tail(&loop->tasks, &t->node);
	loop->tasks_pending++;
	/* The loop's reference lives until the task is done. */
	if (out) {
		t->fut.refs++;
		*out = t;
	}
	cio__loop_schedule(loop, &t->step);
	return 0;
}

/* The task returned with timeout scopes still open (a misuse). Their timers
 * sit in frames that no longer exist, memory the calls made since may have
 * overwritten, so nothing may read them: every timer whose node lies in
 * this stack is dropped by its heap slot alone, before the stack is
 * reused. */
static void drop_stale_timers(cio_task *t)
{
	const char *lo = t->stack->lo;
	size_t n = cio__timer_del_range(&t->fut.loop->timers, lo,
					lo + t->stack->size);
	cio__loop_report(t->fut.loop, CIO_REPORT_MISUSE, t, &t->fut, 0,
			 "task '%s' returned inside %u timeout scope(s) "
			 "(cio_timeout_exit() never called); %zu timer(s) "
			 "disarmed", cio_task_name(t), t->open_scopes, n);
	t->open_scopes = 0;
}

/* The task is done: give back its stack and publish the outcome. */
static void finish(cio_task *t, intptr_t v)
{
	enum cio__fut_state state;

	if (t->open_scopes)
		drop_stale_timers(t);
	release_stack(t, true);
	t->state = CIO__TASK_DONE;
	t->fut.loop->tasks_pending--;
	if (v == -ECANCELED || (t->cancel_pending && !CIO_IS_ERR(v))) {
		/* A coroutine that lets CancelledError out, or returns with a
		 * cancellation it never saw, ends cancelled; one that fails
		 * keeps its error, or nobody would ever see it (asyncio). */
		state = CIO__FUT_CANCELLED;
		v = -ECANCELED;
	} else if (CIO_IS_ERR(v)) {
		state = CIO__FUT_ERROR;
	} else {
		state = CIO__FUT_RESULT;
	}
	t->cancel_pending = false;
	cio__future_complete(&t->fut, state, v);
	cio__future_put(&t->fut); /* the loop's reference */
}

void cio__task_finish_exited(cio_task *t)
{
	finish(t, t->exit_value);
}

static void task_step(struct cio__work *w, bool discard)
{
	cio_task *t = cio__container_of(w, cio_task, step);

	if (discard)
		return; /* cio__tasks_destroy_pending() deals with it */
	if (t->state == CIO__TASK_NEW) {
		if (t->cancel_pending) {
			/* Cancelled before it started: the body never runs. */
			finish(t, -ECANCELED);
			return;
		}
		cio__coro_make(&t->coro, &t->fut.loop->sched, t->stack->lo,
			       t->stack->size, task_entry, t);
	}
	cio__task_run(t);
}

void cio__task_wake(cio_task *t, intptr_t value)
{
	if (t->state != CIO__TASK_PARKED)
		return;
	t->resume_value = value;
	t->park_ops = NULL;
	t->state = CIO__TASK_READY;
	cio__loop_schedule(t->fut.loop, &t->step);
}

static int task_cancel(cio_future *fut)
{
	cio_task *t = cio__task_of(fut);
	const struct cio__park_ops *ops;

	if (t->state == CIO__TASK_DONE)
		return 0;
	t->cancelling++;
	t->cancel_pending = true;
	if (t->state == CIO__TASK_PARKED && (ops = t->park_ops) && ops->cancel)
		ops->cancel(t, t->park_ctx);
	return 1;
}

int cio_task_cancel(cio_task *t)
{
	return t ? task_cancel(&t->fut) : 0;
}

int cio_task_cancelling(const cio_task *t)
{
	return t ? (int)t->cancelling : 0;
}

int cio_task_uncancel(cio_task *t)
{
	if (!t)
		return 0;
	if (t->cancelling > 0 && --t->cancelling == 0)
		t->cancel_pending = false;
	return (int)t->cancelling;
}

/* Freed tasks are kept for the next spawn, as handles are: a spawn then
 * costs no allocator call. The link lives in the first word. */
#define TASK_CACHE_MAX 256

static void task_destroy(cio_future *fut)
{
	cio_task *t = cio__task_of(fut);
	cio_loop *loop = t->fut.loop;

	cio__list_del(&t->node);
	if (t->name && t->name != t->name_buf)
		free(t->name);
	if (!loop->closed && loop->task_cache_len < TASK_CACHE_MAX) {
		*(cio_task **)t = loop->task_cache;
		loop->task_cache = t;
		loop->task_cache_len++;
		return;
	}
	free(t);
}

void cio__task_cache_free(cio_loop *loop)
{
	cio_task *t = loop->task_cache;
	while (t) {
		cio_task *next = *(cio_task **)t;
		free(t);
		t = next;
	}
	loop->task_cache = NULL;
	loop->task_cache_len = 0;
}

void cio__tasks_destroy_pending(cio_loop *loop)
{
	struct cio__list *n, *next;

	/* First pass: report and tear down what is pending. Unlinking and
	 * releasing may free tasks, so hold each one while working on it. */
	for (n = loop->tasks.next; n != &loop->tasks; n = next) {
		cio_task *t = cio__container_of(n, cio_task, node);
		t->fut.refs++;
		if (t->state != CIO__TASK_DONE) {
			cio__loop_report(loop, CIO_REPORT_TASK_PENDING_AT_CLOSE,
					 t, &t->fut, 0,
					 "task '%s' destroyed but it is pending",
					 cio_task_name(t));
			if (t->state == CIO__TASK_PARKED && t->park_ops &&
			    t->park_ops->abandon)
				t->park_ops->abandon(t, t->park_ctx);
			t->park_ops = NULL;
			cio__timer_del(&loop->timers, &t->sleep_timer);
			cio__future_del_cb(&t->waiter);
			release_stack(t, false);
			t->state = CIO__TASK_DONE;
			loop->tasks_pending--;
			t->fut.state = CIO__FUT_CANCELLED;
			t->fut.value = -ECANCELED;
			t->fut.refs--; /* the loop's reference */
		}
		cio__future_report_unretrieved(&t->fut);
		next = n->next;
		cio_future_unref(&t->fut);
	}
}

cio_task *cio_task_ref(cio_task *t)
{
	if (t)
		t->fut.refs++;
	return t;
}

void cio_task_unref(cio_task *t)
{
	if (t)
		cio__future_put(&t->fut);
}

cio_future *cio_task_future(cio_task *t)
{
	return t ? &t->fut : NULL;
}

cio_task *cio_future_task(cio_future *fut)
{
	return fut && fut->ops == &task_ops ? cio__task_of(fut) : NULL;
}

cio_task *cio_current_task(void)
{
	return cio__tls_task;
}

int cio_all_tasks(cio_loop *loop, cio_task **tasks, size_t cap)
{
	struct cio__list *n;
	size_t i = 0;

	loop = cio__loop_or_current(loop);
	if (!loop)
		return -EINVAL;
	for (n = loop->tasks.next; n != &loop->tasks; n = n->next) {
		cio_task *t = cio__container_of(n, cio_task, node);
		if (t->state == CIO__TASK_DONE)
			continue;
		if (tasks && i < cap)
			tasks[i] = t;
		i++;
	}
	return (int)i;
}

const char *cio_task_name(const cio_task *t)
{
	if (!t)
		return NULL;
	if (!t->name) {
		/* Formatting a default name is not a visible change. */
		cio_task *m = (cio_task *)t;
		snprintf(m->name_buf, sizeof(m->name_buf), "Task-%llu",
			 (unsigned long long)m->id);
		m->name = m->name_buf;
	}
	return t->name;
}

int cio_task_set_name(cio_task *t, const char *name)
{
	if (!t || !name)
		return -EINVAL;
	return set_name(t, name);
}

bool cio_task_done(const cio_task *t)
{
	return t && t->state == CIO__TASK_DONE;
}

bool cio_task_cancelled(const cio_task *t)
{
	return t && t->fut.state == CIO__FUT_CANCELLED;
}

int cio_task_result(cio_task *t, intptr_t *value)
{
	return t ? cio_future_result(&t->fut, value) : -EINVAL;
}

int cio_task_error(cio_task *t)
{
	return t ? cio_future_error(&t->fut) : -EINVAL;
}

bool cio__task_guard_hit(const cio_task *t, const void *addr)
{
	const char *a = addr;
	const char *lo;

	if (!t || !t->stack)
		return false;
	lo = t->stack->lo;
	return a < lo && a >= lo - t->stack->guard;
}
