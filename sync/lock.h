/* coreio locks: asyncio.Lock for tasks of one loop.
 *
 *     cio_lock *lock;
 *     int rc = cio_lock_new(&lock);
 *     ...
 *     rc = cio_lock_acquire(lock, CIO_NO_DEADLINE);
 *     if (rc < 0)
 *         return rc;                 // -ECANCELED, -ETIMEDOUT...
 *     ... touch what the lock guards, awaiting as needed ...
 *     cio_lock_release(lock);
 *
 * Semantics (asyncio.Lock, Python 3.12):
 * - The lock is not owned by a task: any task, or a callback of the loop,
 *   may release it, as in asyncio.
 * - FIFO: waiters get the lock in the order they called acquire(). A
 *   release with waiters hands the lock straight to the first of them (it
 *   stays locked), so a task that arrives later cannot take it first.
 * - A waiter that is cancelled (or whose deadline passes) while it waits
 *   leaves the queue. One cancelled after release() chose it but before it
 *   ran passes the lock on to the next waiter (or unlocks it) and returns
 *   -ECANCELED: nobody is left holding a lock it does not know it has.
 * - acquire() is an await: a cancellation pending on entry returns
 *   -ECANCELED at once, even when the lock is free. A deadline that has
 *   passed still takes a free lock; it only refuses to wait.
 *
 * Threads: a lock is shard-local. It is used from the thread of the loop
 * whose tasks use it, and every task waiting on it at the same time must
 * belong to that one loop (another loop's task gets -EINVAL). Tasks on
 * different shards coordinate with channels (runtime/chan.h).
 *
 * Ownership rules:
 * 1. cio_lock_new() succeeded => call cio_lock_free() once.
 * 2. cio_lock_free() refuses with -EBUSY (and frees nothing) while a task
 *    waits for the lock or was handed it and has not resumed yet. Freeing
 *    a lock that is held is allowed; whoever held it must not release it
 *    afterwards.
 * 3. A lock given to cio_cond_new() must outlive the condition.
 */
#ifndef CIO_SYNC_LOCK_H
#define CIO_SYNC_LOCK_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_lock cio_lock;

/* A new, unlocked lock. 0; -EINVAL (NULL out); -ENOMEM. */
int cio_lock_new(cio_lock **out);
/* 0, -EBUSY (see rule 2); NULL is a no-op returning 0. */
int cio_lock_free(cio_lock *lock);

/* Take the lock, waiting for it until `deadline` (absolute, as
 * cio_loop_time(); CIO_NO_DEADLINE: no limit). 0: the caller holds it.
 * -ETIMEDOUT, -ECANCELED, -EPERM outside a task, -EINVAL (NULL, or tasks
 * of another loop wait on it), -ENOMEM (the deadline's timer). On error
 * the caller does not hold the lock. */
int cio_lock_acquire(cio_lock *lock, int64_t deadline);
/* Take the lock if that needs no waiting: 0, or -EAGAIN when it is held.
 * Never parks, needs no task, ignores cancellation. -EINVAL for NULL. */
int cio_lock_try_acquire(cio_lock *lock);
/* Unlock, or hand the lock to the first waiter. 0; -EPERM when it is not
 * locked (asyncio's RuntimeError); -EINVAL for NULL. */
int cio_lock_release(cio_lock *lock);
/* Whether the lock is held (false for NULL). */
bool cio_lock_locked(const cio_lock *lock);

/* `async with lock: return fn(arg)`: acquire, call fn(arg), release
 * (whatever fn returned), and return fn's result. Returns acquire()'s
 * error without calling fn when the lock cannot be taken; -EINVAL for a
 * NULL fn. fn must leave the lock held. */
int cio_lock_with(cio_lock *lock, int64_t deadline, int (*fn)(void *arg),
		  void *arg);

CIO_END_DECLS

#endif
