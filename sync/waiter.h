/* Internal: the waiter lists every primitive of sync/ parks tasks on.
 *
 * A waiter lives on the parked task's stack, so waiting allocates nothing
 * (only the loop's timer heap may grow, for a deadline). Unlike io/waitq,
 * a wake-up here is a hand-over: the waker picks a waiter, gives it what
 * it waited for (the lock, a permit, an item, its arrival index) and
 * unlinks it in the same step, so nothing can take it in between and no
 * wake-up is lost or spurious.
 *
 * A waiter's life: linked (parked, on the list) -> woken (unlinked,
 * runnable, the grant recorded in its result) -> resumed. Between woken
 * and resumed the task may still be cancelled: the cancellation does not
 * reach the park (the task is no longer parked), so the primitive checks
 * cio__sync_cancelled_late() after the wait and decides whether to give
 * the grant back (a lock passes it on) or keep it and leave the
 * cancellation for the next await (a queue item, which must not be lost).
 *
 * `users` counts waiters from the moment they park until their task has
 * resumed (or was torn down by a closing loop): while it is non-zero a
 * waiter's code may still touch the primitive, so the primitive must not
 * be freed. It also binds the list to one loop while non-zero: every task
 * parked on a primitive must belong to the loop whose thread wakes them.
 */
#ifndef CIO_SYNC_WAITER_H
#define CIO_SYNC_WAITER_H

#include "runtime/common.h"
#include "runtime/list.h"
#include "runtime/task_internal.h"
#include "runtime/timer_heap.h"

struct cio__sync_list {
	struct cio__list head;
	size_t n;        /* linked */
	size_t users;    /* linked, or woken and not resumed yet */
	cio_loop *loop;  /* of the users, while there are any */
};

struct cio__sync_waiter {
	struct cio__list node;
	struct cio__sync_list *list;
	cio_task *task;
	struct cio__timer timer;
	/* Payload for the queue: the item a parked put carries, or the item
	 * handed to a parked get, and its priority. */
	void *item;
	int64_t prio;
};

enum {
	/* A cancellation does not end the wait; it stays pending for the
	 * task's next await. */
	CIO__SYNC_UNCANCELLABLE = 1u << 0,
};

static inline void cio__sync_list_init(struct cio__sync_list *l)
{
	cio__list_init(&l->head);
	l->n = 0;
	l->users = 0;
	l->loop = NULL;
}

static inline bool cio__sync_list_empty(const struct cio__sync_list *l)
{
	return l->n == 0;
}

/* The longest-waiting waiter, or NULL. */
static inline struct cio__sync_waiter *
cio__sync_first(const struct cio__sync_list *l)
{
	if (l->n == 0)
		return NULL;
	return cio__container_of(l->head.next, struct cio__sync_waiter, node);
}

/* Park the current task (the caller checked there is one) at the tail of
 * `l` until a waker hands it something (the `res` given to
 * cio__sync_wake(), >= 0 for a grant by convention), `deadline` passes
 * (-ETIMEDOUT; also at once when it has passed already) or it is
 * cancelled (-ECANCELED, delivered). -ENOMEM when the deadline cannot be
 * armed; -EINVAL when tasks of another loop are using the list. */
int cio__sync_wait(struct cio__sync_list *l, struct cio__sync_waiter *w,
		   int64_t deadline, unsigned flags);

/* Unlink `w` and make its task runnable with `res`. Never switches tasks.
 * Fill the payload before or after: the record stays valid until the
 * task resumes. */
void cio__sync_wake(struct cio__sync_waiter *w, int res);

/* Wake every linked waiter with `res`, in order; returns how many. */
size_t cio__sync_wake_all(struct cio__sync_list *l, int res);

/* After a wait that was granted: true if the current task was cancelled
 * between its wake-up and now. The cancellation is consumed (the caller
 * returns -ECANCELED) unless `keep`, when it stays for the next await. */
static inline bool cio__sync_cancelled_late(bool keep)
{
	cio_task *t = cio__tls_task;

	if (!t->cancel_pending)
		return false;
	if (!keep)
		t->cancel_pending = false;
	return true;
}

/* May the primitive owning `l` be freed? -EBUSY while a waiter may still
 * touch it. */
static inline int cio__sync_list_busy(const struct cio__sync_list *l)
{
	return l->users ? -EBUSY : 0;
}

#endif
