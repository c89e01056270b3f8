/* Internal: the task object and the park/wake protocol every awaitable
 * (futures, sleeps, kernel operations, sync primitives) is built on.
 *
 * Park protocol:
 *   - A task parks with cio__task_park(ops, ctx) after arranging for
 *     something to wake it later with cio__task_wake(task, value).
 *   - If the task is cancelled while parked, ops->cancel(task, ctx) runs. It
 *     either wakes the task with -ECANCELED itself (a sleep), or arranges
 *     for the thing waited on to end early and keeps the task parked until
 *     it really ends (a future, a kernel operation).
 *   - If the loop closes while the task is parked, ops->abandon(task, ctx)
 *     must unlink the task from whatever would have woken it.
 *   - An await that returns -ECANCELED delivers the pending cancellation.
 */
#ifndef CIO_RUNTIME_TASK_INTERNAL_H
#define CIO_RUNTIME_TASK_INTERNAL_H

#include "runtime/coro.h"
#include "runtime/loop_internal.h"
#include "runtime/future_internal.h"
#include "runtime/list.h"
#include "runtime/stack.h"
#include "runtime/task.h"
#include "runtime/timer_heap.h"
#include "runtime/work.h"

struct cio__op;

enum cio__task_state {
	CIO__TASK_NEW = 0, /* scheduled, body not entered */
	CIO__TASK_RUNNING,
	CIO__TASK_PARKED,
	CIO__TASK_READY,   /* woken, step queued */
	CIO__TASK_DONE,
};

struct cio__park_ops {
	void (*cancel)(cio_task *task, void *ctx);
	void (*abandon)(cio_task *task, void *ctx);
};

struct cio_task {
	struct cio_future fut; /* first: a task is a future */
	struct cio__coro coro;
	struct cio__stack *stack;
	cio_task_fn fn;
	void *arg;
	struct cio__work step;    /* start or resume, on the ready queue */
	struct cio__list node;    /* loop->tasks */
	const struct cio__park_ops *park_ops;
	void *park_ctx;
	intptr_t resume_value;
	intptr_t exit_value;
	struct cio__fut_cb waiter;      /* cio_await */
	struct cio__timer sleep_timer;  /* cio_sleep */
	uint32_t open_scopes;           /* timeout scopes entered, not exited */
	uint32_t cancelling;   /* cancel requests not withdrawn */
	uint8_t state;
	bool cancel_pending;   /* requested, not yet delivered by an await */
	bool exited;           /* fn returned; stack may be released */
	uint64_t id;
	char *name;            /* name_buf, a heap copy, or NULL: default */
	char name_buf[32];
};

extern __thread cio_task *cio__tls_task CIO__TLS_IE;

static inline cio_task *cio__task_of(cio_future *fut)
{
	return (cio_task *)fut;
}

/* The switches into and out of a task are inline on purpose. After a stack
 * switch, the CPU's return-address predictor still holds the other
 * stack's call chain, so every return on the way out of the switch point
 * mispredicts; the fewer frames between the switch and the code that
 * parked or resumed, the fewer mispredictions. */

/* Publish a task that returned: runs on the scheduler's stack. */
void cio__task_finish_exited(cio_task *task);

/* Switch into `task` until it parks or returns. Scheduler stack only. */
static inline void cio__task_run(cio_task *task)
{
	task->state = CIO__TASK_RUNNING;
	cio__tls_task = task;
	cio__coro_switch(&task->fut.loop->sched, &task->coro);
	cio__tls_task = NULL;
	if (task->exited)
		cio__task_finish_exited(task);
}

/* Park the current task (see the protocol above); returns the value given
 * to cio__task_wake(). Must be called from a task. */
static inline intptr_t cio__task_park(const struct cio__park_ops *ops,
				      void *ctx)
{
	cio_task *t = cio__tls_task;

	t->state = CIO__TASK_PARKED;
	t->park_ops = ops;
	t->park_ctx = ctx;
	cio__coro_switch(&t->coro, &t->fut.loop->sched);
	return t->resume_value;
}

/* Make a parked task runnable with `value`: it resumes from the ready
 * queue. Ignored unless the task is parked. */
void cio__task_wake(cio_task *task, intptr_t value);

/* Resume a parked task right now, from the loop's context (done
 * callbacks, which run on the scheduler stack). */
static inline void cio__task_resume_now(cio_task *task, intptr_t value)
{
	if (task->state != CIO__TASK_PARKED)
		return;
	task->resume_value = value;
	task->park_ops = NULL;
	cio__task_run(task);
}

/* What every await of a future checks first: a task to park (-EPERM), a
 * future of its loop (-EINVAL), not itself (-EDEADLK). 0 when fine. */
static inline int cio__await_check(const cio_task *task,
				   const cio_future *fut)
{
	if (!task)
		return -EPERM;
	if (!fut || fut->loop != task->fut.loop)
		return -EINVAL;
	if (fut == &task->fut)
		return -EDEADLK;
	return 0;
}

/* Return -ECANCELED (and deliver it) if a cancellation is pending; 0
 * otherwise. Every await starts with it. */
static inline int cio__task_check_cancel(cio_task *task)
{
	if (task->cancel_pending) {
		task->cancel_pending = false;
		return -ECANCELED;
	}
	return 0;
}

/* The done callback of a task parked in cio_await(). Futures recognise it:
 * a lone waiter is woken without running the callback batch. */
void cio__await_wakeup(struct cio__fut_cb *cb, cio_future *fut);

/* Submit a backend operation and park until it completes. If the task is
 * cancelled meanwhile, the operation is cancelled and the task still waits
 * for its completion; the operation's real result is returned. */
intptr_t cio__op_await(struct cio__op *op);
/* The same for an operation that must not be cut short (close): a cancel
 * while it runs stays pending for the next await. */
intptr_t cio__op_await_uncancellable(struct cio__op *op);

/* Loop close: destroy every task still pending. */
void cio__tasks_destroy_pending(cio_loop *loop);
/* Loop close: free the structs kept for reuse. */
void cio__task_cache_free(cio_loop *loop);

/* Stack-overflow reporting: guard range and name of the running task. */
bool cio__task_guard_hit(const cio_task *task, const void *addr);

#endif
