/* coreio conditions: asyncio.Condition for tasks of one loop.
 *
 * A condition pairs a lock (its own, or one shared with other conditions)
 * with a queue of tasks waiting to be notified. The classic use:
 *
 *     cio_lock *lock = cio_cond_lock(cond);
 *     rc = cio_lock_acquire(lock, dl);
 *     if (rc < 0)
 *         return rc;
 *     rc = cio_cond_wait_for(cond, queue_not_empty, q, dl);
 *     if (rc == 0)
 *         item = take(q);
 *     cio_lock_release(lock);      // held again after the wait, even
 *                                  // when it failed
 *
 * Semantics (asyncio.Condition, Python 3.13):
 * - wait() releases the lock, waits for a notification, then takes the
 *   lock again before it returns, whatever ended the wait: a notification
 *   (0), the deadline (-ETIMEDOUT) or a cancellation (-ECANCELED). Taking
 *   the lock back waits as long as it takes: the deadline and further
 *   cancellations do not cut it short (a cancellation arriving then makes
 *   wait() return -ECANCELED once it has the lock).
 * - notify(n) wakes the n tasks that have waited longest, notify_all()
 *   every waiting task. A notified task that is cancelled before wait()
 *   returns passes its notification on to the next waiter, so a
 *   notification is never swallowed by a task that reports failure.
 * - wait(), wait_for() and notify*() need the lock held (not necessarily
 *   by the caller: asyncio locks have no owner): -EPERM otherwise, as
 *   asyncio's RuntimeError.
 * - wait_for(pred) is `while not pred(): await wait()`: pred(arg) is called
 *   with the lock held, first before waiting. It returns 0 once pred is
 *   true; at the deadline it asks pred a last time and returns -ETIMEDOUT
 *   only if it is still false.
 * - wait() and wait_for() are awaits: a cancellation pending on entry
 *   returns -ECANCELED at once, the lock untouched. A deadline that has
 *   passed on entry returns -ETIMEDOUT the same way.
 *
 * Threads: a condition and its lock are shard-local, used from the thread
 * of the loop whose tasks use them; the tasks waiting at the same time
 * must all belong to that loop (another loop's task gets -EINVAL).
 *
 * Ownership rules:
 * 1. cio_cond_new() succeeded => call cio_cond_free() once.
 * 2. With a NULL lock the condition makes its own, freed with it; a lock
 *    you pass is borrowed and must outlive the condition.
 * 3. cio_cond_free() refuses with -EBUSY (and frees nothing) while a task
 *    is inside wait() or, for its own lock, waits for that lock.
 */
#ifndef CIO_SYNC_COND_H
#define CIO_SYNC_COND_H

#include "runtime/common.h"
#include "sync/lock.h"

CIO_BEGIN_DECLS

typedef struct cio_cond cio_cond;

/* A condition on `lock`, or on a new lock of its own when `lock` is NULL.
 * 0; -EINVAL (NULL out); -ENOMEM. */
int cio_cond_new(cio_cond **out, cio_lock *lock);
/* 0, -EBUSY (see rule 3); NULL is a no-op returning 0. */
int cio_cond_free(cio_cond *cond);

/* The condition's lock (NULL for NULL): acquire and release it with the
 * cio_lock_* functions. */
cio_lock *cio_cond_lock(cio_cond *cond);

/* Release the lock, wait for a notification until `deadline` (absolute,
 * as cio_loop_time(); CIO_NO_DEADLINE: no limit), take the lock back.
 * 0 when notified; -ETIMEDOUT, -ECANCELED; -EPERM outside a task or with
 * the lock not held; -EINVAL (NULL, or tasks of another loop wait on it);
 * -ENOMEM (the deadline's timer). Apart from -EPERM and -EINVAL, the
 * lock is held again when it returns. */
int cio_cond_wait(cio_cond *cond, int64_t deadline);

/* Wait until pred(arg) is true (see above). 0; wait()'s errors; -EINVAL
 * also for a NULL pred. */
int cio_cond_wait_for(cio_cond *cond, bool (*pred)(void *arg), void *arg,
		      int64_t deadline);

/* Wake up to n waiting tasks (longest waiting first); returns how many
 * were woken. -EPERM with the lock not held; -EINVAL (NULL, n < 0). */
int cio_cond_notify(cio_cond *cond, int n);
/* Wake every waiting task; returns how many (at most INT_MAX is
 * reported). -EPERM with the lock not held; -EINVAL for NULL. */
int cio_cond_notify_all(cio_cond *cond);

CIO_END_DECLS

#endif
