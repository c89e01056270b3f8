/* Internal: a wait queue for tasks, for the state changes io/ objects
 * signal among their own tasks (a stream's write buffer draining, a reader
 * leaving, a server's last connection ending).
 *
 * A waiter lives on the parked task's stack, so waiting allocates nothing
 * (only the timer heap may grow for a deadline). Wake-ups carry no
 * condition: a woken task re-checks what it waits for, and a wake with no
 * waiter is lost, so check the condition before waiting, never after.
 */
#ifndef CIO_IO_WAITQ_H
#define CIO_IO_WAITQ_H

#include "runtime/list.h"
#include "runtime/common.h"

struct cio__waitq {
	struct cio__list waiters;
};

static inline void cio__waitq_init(struct cio__waitq *q)
{
	cio__list_init(&q->waiters);
}

static inline bool cio__waitq_empty(const struct cio__waitq *q)
{
	return cio__list_empty(&q->waiters);
}

/* Park the current task until a wake-up (its value, >= 0 by convention),
 * `deadline` (-ETIMEDOUT) or a cancellation (-ECANCELED, delivered).
 * -EPERM outside a task, -ENOMEM when the deadline cannot be armed. */
int cio__waitq_wait(struct cio__waitq *q, int64_t deadline);

/* As cio__waitq_wait() without a deadline, and a cancellation does not end
 * the wait: it stays pending for the task's next await. For waits the
 * caller knows to be short (a task leaving an object being torn down). */
int cio__waitq_wait_uncancellable(struct cio__waitq *q);

/* Make every waiter runnable with `value`. Never switches tasks. */
void cio__waitq_wake_all(struct cio__waitq *q, int value);

#endif
