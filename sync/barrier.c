/* asyncio.Barrier. A round completes in one step: the last arrival gives
 * every waiter its index and unlinks it, so the barrier is at once empty
 * for the next round. That replaces asyncio's "draining" state, which
 * exists only because its waiters read the outcome back from the barrier
 * after they wake. */
#include "sync/barrier.h"
#include "sync/waiter.h"
#include "runtime/task_internal.h"

#include <limits.h>
#include <stdlib.h>

struct cio_barrier {
	unsigned parties;
	bool broken;
	struct cio__sync_list waiters; /* the round in progress, in order */
};

int cio_barrier_new(cio_barrier **out, unsigned parties)
{
	cio_barrier *b;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (parties < 1 || parties > INT_MAX)
		return -EINVAL;
	if (!(b = malloc(sizeof(*b))))
		return -ENOMEM;
	b->parties = parties;
	b->broken = false;
	cio__sync_list_init(&b->waiters);
	*out = b;
	return 0;
}

int cio_barrier_free(cio_barrier *b)
{
	int ret;

	if (!b)
		return 0;
	if ((ret = cio__sync_list_busy(&b->waiters)) < 0)
		return ret;
	free(b);
	return 0;
}

int cio_barrier_wait(cio_barrier *b, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret, idx = 0;

	if (!b)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (b->broken)
		return -EPIPE;
	if (b->waiters.n + 1 == b->parties) {
		/* Indices come from the order of the list, not from a count
		 * taken at arrival, so a waiter that left leaves no gap. */
		while (!cio__sync_list_empty(&b->waiters))
			cio__sync_wake(cio__sync_first(&b->waiters), idx++);
		return idx;
	}
	ret = cio__sync_wait(&b->waiters, &w, deadline, 0);
	if (ret >= 0 && cio__sync_cancelled_late(false))
		return -ECANCELED;
	return ret;
}

int cio_barrier_reset(cio_barrier *b)
{
	if (!b)
		return -EINVAL;
	b->broken = false;
	cio__sync_wake_all(&b->waiters, -EPIPE);
	return 0;
}

int cio_barrier_abort(cio_barrier *b)
{
	if (!b)
		return -EINVAL;
	b->broken = true;
	cio__sync_wake_all(&b->waiters, -EPIPE);
	return 0;
}

int cio_barrier_parties(const cio_barrier *b)
{
	return b ? (int)b->parties : -EINVAL;
}

int cio_barrier_n_waiting(const cio_barrier *b)
{
	return b ? (int)b->waiters.n : -EINVAL;
}

bool cio_barrier_broken(const cio_barrier *b)
{
	return b && b->broken;
}
