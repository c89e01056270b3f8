/* coreio tasks: coroutines driven by the loop, each on its own stack.
 *
 * A task runs fn(arg) on a pooled, guard-paged stack. Inside it, the await
 * functions below park the task and let the loop run others, so C code
 * reads like asyncio's `await` code:
 *
 *     static intptr_t child(void *arg) { cio_sleep(CIO_NSEC_PER_MSEC);
 *                                        return 42; }
 *     static intptr_t parent(void *arg) {
 *         cio_task *t;
 *         int rc = cio_spawn(&t, child, NULL, NULL);
 *         if (rc < 0) return rc;
 *         intptr_t v = cio_await_task(t);    // 42
 *         cio_task_unref(t);
 *         return v;
 *     }
 *
 * Result of a task: what fn returns. A value in [-4095, -1] fails the task
 * with that error; -ECANCELED ends it cancelled (as a coroutine that lets
 * CancelledError escape); anything else is its result.
 *
 * Cancellation (cooperative, never lost):
 * - cio_task_cancel() makes the task's current await return -ECANCELED, or
 *   its next one if it is running or already woken. A task that was never
 *   started does not run its body at all.
 * - A task parked on a future cancels that future and stays parked until it
 *   is done: awaiting a task that shrugs off its cancellation returns that
 *   task's real result, and the cancellation stays pending for the next
 *   await. Kernel operations follow the same rule (DESIGN.md section 3).
 * - A task may handle -ECANCELED and go on; cio_task_uncancel() withdraws
 *   one request, as asyncio's Task.uncancel().
 * - A task that returns while a cancellation is still pending ends
 *   cancelled, as in asyncio.
 *
 * Ownership rules:
 * 1. cio_spawn() with a non-NULL `out` gives you one reference, released
 *    with cio_task_unref(). With `out` NULL the task is fire-and-forget:
 *    the loop frees it when it ends (and reports an unread error).
 * 2. The loop holds its own reference until the task is done.
 * 3. A name given in the options is copied.
 */
#ifndef CIO_RUNTIME_TASK_H
#define CIO_RUNTIME_TASK_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef intptr_t (*cio_task_fn)(void *arg);

/* Zero-initialise; 0/NULL fields take their defaults. */
struct cio_task_opts {
	cio_loop *loop;     /* default: cio_loop_current() */
	const char *name;   /* default: "Task-<n>" */
	size_t stack_size;  /* default: the loop's (see cio_loop_opts) */
};

/* Create a task and schedule its first step. The stack is taken now, so
 * -ENOMEM comes from here rather than later. -EINVAL: no fn, no loop, a
 * closed loop, or a stack size outside [16 KiB, 1 GiB]. */
int cio_spawn(cio_task **out, cio_task_fn fn, void *arg,
	      const struct cio_task_opts *opts);

cio_task *cio_task_ref(cio_task *task);
void cio_task_unref(cio_task *task);

/* The task's own future (same object, no new reference). */
cio_future *cio_task_future(cio_task *task);
/* The task behind a future, or NULL if it is not a task. */
cio_task *cio_future_task(cio_future *fut);

/* Park the current task until `fut` is done. Returns its result, its
 * error, or -ECANCELED (the future was cancelled, or this task was and the
 * future ended cancelled). -EPERM outside a task, -EINVAL for a NULL or
 * foreign future, -EDEADLK for a task awaiting itself. When results can be
 * negative, tell them from errors with cio_future_result(). */
intptr_t cio_await(cio_future *fut);
intptr_t cio_await_task(cio_task *task);

/* Sleep; 0, -ECANCELED, -EPERM outside a task, -ENOMEM. A delay <= 0 (or a
 * deadline already passed) just yields, as asyncio.sleep(0). */
int cio_sleep(int64_t delay_ns);
int cio_sleep_until(int64_t deadline_ns);
/* Let every other ready callback run once; 0, -ECANCELED or -EPERM. */
int cio_yield(void);

/* The task running on this thread, or NULL (no reference taken). */
cio_task *cio_current_task(void);

/* Pending tasks of `loop` (NULL: the current loop). Fills up to `cap`
 * pointers (no references taken) and returns how many there are in all;
 * -EINVAL without a loop. */
int cio_all_tasks(cio_loop *loop, cio_task **tasks, size_t cap);

/* 1 if a cancellation was requested, 0 if the task is already done. */
int cio_task_cancel(cio_task *task);
/* Number of pending cancellation requests. */
int cio_task_cancelling(const cio_task *task);
/* Withdraw one request and return how many remain; at 0 a cancellation
 * not yet delivered is dropped. */
int cio_task_uncancel(cio_task *task);

const char *cio_task_name(const cio_task *task);
int cio_task_set_name(cio_task *task, const char *name);

bool cio_task_done(const cio_task *task);
bool cio_task_cancelled(const cio_task *task);
/* As cio_future_result() / cio_future_error() on the task's future. */
int cio_task_result(cio_task *task, intptr_t *value);
int cio_task_error(cio_task *task);

CIO_END_DECLS

#endif
