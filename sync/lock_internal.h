/* Internal: the lock object, which a condition embeds or borrows. */
#ifndef CIO_SYNC_LOCK_INTERNAL_H
#define CIO_SYNC_LOCK_INTERNAL_H

#include "sync/lock.h"
#include "sync/waiter.h"

struct cio_lock {
	bool locked;
	struct cio__sync_list waiters;
};

void cio__lock_init(cio_lock *lock);

/* Unlock, or hand the lock to the first waiter. The lock must be held. */
void cio__lock_pass(cio_lock *lock);

/* Take the lock from a task, waiting as long as it takes; a cancellation
 * meanwhile stays pending. What a condition's wait() uses to get its lock
 * back: asyncio reacquires it even when the wait was cancelled. 0, or
 * -EINVAL when tasks of another loop wait on it. */
int cio__lock_acquire_uncancellable(cio_lock *lock);

#endif
