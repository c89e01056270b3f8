/* asyncio.Lock: FIFO hand-over, no owner. */
#include "sync/lock_internal.h"
#include "runtime/task_internal.h"

#include <stdlib.h>

void cio__lock_init(cio_lock *l)
{
	l->locked = false;
	cio__sync_list_init(&l->waiters);
}

int cio_lock_new(cio_lock **out)
{
	cio_lock *l;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!(l = malloc(sizeof(*l))))
		return -ENOMEM;
	cio__lock_init(l);
	*out = l;
	return 0;
}

int cio_lock_free(cio_lock *l)
{
	int ret;

	if (!l)
		return 0;
	if ((ret = cio__sync_list_busy(&l->waiters)) < 0)
		return ret;
	free(l);
	return 0;
}

void cio__lock_pass(cio_lock *l)
{
	struct cio__sync_waiter *w = cio__sync_first(&l->waiters);

	if (w)
		cio__sync_wake(w, 0);
	else
		l->locked = false;
}

int cio_lock_acquire(cio_lock *l, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret;

	if (!l)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (!l->locked) {
		l->locked = true;
		return 0;
	}
	ret = cio__sync_wait(&l->waiters, &w, deadline, 0);
	if (ret < 0)
		return ret;
	/* release() made us the holder; a cancellation since then must not
	 * leave the lock with a task that is told it failed. */
	if (cio__sync_cancelled_late(false)) {
		cio__lock_pass(l);
		return -ECANCELED;
	}
	return 0;
}

int cio__lock_acquire_uncancellable(cio_lock *l)
{
	struct cio__sync_waiter w;
	int ret;

	if (!l->locked) {
		l->locked = true;
		return 0;
	}
	ret = cio__sync_wait(&l->waiters, &w, CIO_NO_DEADLINE,
			     CIO__SYNC_UNCANCELLABLE);
	return ret < 0 ? ret : 0;
}

int cio_lock_try_acquire(cio_lock *l)
{
	if (!l)
		return -EINVAL;
	if (l->locked)
		return -EAGAIN;
	l->locked = true;
	return 0;
}

int cio_lock_release(cio_lock *l)
{
	if (!l)
		return -EINVAL;
	if (!l->locked)
		return -EPERM;
	cio__lock_pass(l);
	return 0;
}

bool cio_lock_locked(const cio_lock *l)
{
	return l && l->locked;
}

int cio_lock_with(cio_lock *l, int64_t deadline, int (*fn)(void *arg),
		  void *arg)
{
	int ret;

	if (!fn)
		return -EINVAL;
	if ((ret = cio_lock_acquire(l, deadline)) < 0)
		return ret;
	ret = fn(arg);
	cio_lock_release(l);
	return ret;
}
