/* asyncio.Condition: a lock and a FIFO of tasks waiting for a notify. */
#include "sync/cond.h"
#include "sync/lock_internal.h"
#include "runtime/task_internal.h"

#include <limits.h>
#include <stdlib.h>

struct cio_cond {
	cio_lock *lock;      /* own_lock, or a borrowed one */
	size_t inside;       /* tasks inside wait(), parked or not */
	struct cio__sync_list waiters;
	cio_lock own_lock;
};

int cio_cond_new(cio_cond **out, cio_lock *lock)
{
	cio_cond *c;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!(c = malloc(sizeof(*c))))
		return -ENOMEM;
	cio__lock_init(&c->own_lock);
	c->lock = lock ? lock : &c->own_lock;
	c->inside = 0;
	cio__sync_list_init(&c->waiters);
	*out = c;
	return 0;
}

int cio_cond_free(cio_cond *c)
{
	int ret;

	if (!c)
		return 0;
	if (c->inside)
		return -EBUSY;
	if ((ret = cio__sync_list_busy(&c->own_lock.waiters)) < 0)
		return ret;
	free(c);
	return 0;
}

cio_lock *cio_cond_lock(cio_cond *c)
{
	return c ? c->lock : NULL;
}

static int wake(cio_cond *c, int n)
{
	int k = 0;

	while (k < n && !cio__sync_list_empty(&c->waiters)) {
		cio__sync_wake(cio__sync_first(&c->waiters), 0);
		k++;
	}
	return k;
}

/* The part of wait() between releasing the lock and having it back; the
 * caller counts itself inside so the condition outlives it. */
static int wait_released(cio_cond *c, int64_t deadline)
{
	struct cio__sync_waiter w;
	int ret, got;

	cio__lock_pass(c->lock);
	ret = cio__sync_wait(&c->waiters, &w, deadline, 0);
	got = cio__lock_acquire_uncancellable(c->lock);
	if (got < 0) {
		if (ret == 0)
			wake(c, 1);
		return got;
	}
	/* Cancelled after the notification chose us (before we ran, or while
	 * we took the lock back): fail, and let another waiter have it, as
	 * asyncio does. A spurious wake-up of that waiter is allowed. */
	if (cio__sync_cancelled_late(false)) {
		if (ret == 0)
			wake(c, 1);
		return -ECANCELED;
	}
	return ret;
}

int cio_cond_wait(cio_cond *c, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	int ret;

	if (!c)
		return -EINVAL;
	if (!t || !c->lock->locked)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (deadline != CIO_NO_DEADLINE && deadline <= cio_loop_time())
		return -ETIMEDOUT;
	c->inside++;
	ret = wait_released(c, deadline);
	c->inside--;
	return ret;
}

int cio_cond_wait_for(cio_cond *c, bool (*pred)(void *arg), void *arg,
		      int64_t deadline)
{
	cio_task *t = cio__tls_task;
	int ret;

	if (!c || !pred)
		return -EINVAL;
	if (!t || !c->lock->locked)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	while (!pred(arg)) {
		ret = cio_cond_wait(c, deadline);
		if (ret == -ETIMEDOUT)
			return pred(arg) ? 0 : -ETIMEDOUT;
		if (ret < 0)
			return ret;
	}
	return 0;
}

int cio_cond_notify(cio_cond *c, int n)
{
	if (!c || n < 0)
		return -EINVAL;
	if (!c->lock->locked)
		return -EPERM;
	return wake(c, n);
}

int cio_cond_notify_all(cio_cond *c)
{
	return cio_cond_notify(c, INT_MAX);
}
