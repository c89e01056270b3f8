/* coreio semaphores: asyncio.Semaphore and BoundedSemaphore for tasks of
 * one loop.
 *
 * A semaphore holds a count of permits. acquire() takes one, waiting while
 * there are none; release() gives one back. Limiting a fan-out to three
 * tasks at a time:
 *
 *     cio_sem *sem;
 *     cio_sem_new(&sem, 3, true);
 *     // in each worker:
 *     CIO_SEM_SCOPED(g);                 // released on every return path
 *     int rc = cio_sem_guard_acquire(&g, sem, CIO_NO_DEADLINE);
 *     if (rc < 0)
 *         return rc;
 *     return fetch(url);
 *
 * Semantics (asyncio, Python 3.12):
 * - FIFO: waiters get permits in the order they called acquire(). A
 *   release with waiters hands its permit straight to the first of them
 *   (the value stays 0), so a task that arrives later cannot take it
 *   first; locked() is true exactly when acquire() would wait.
 * - A waiter that is cancelled (or whose deadline passes) while it waits
 *   leaves the queue. One cancelled after a release chose it but before it
 *   ran passes the permit on and returns -ECANCELED.
 * - acquire() is an await: a cancellation pending on entry returns
 *   -ECANCELED at once, even with permits left. A deadline that has
 *   passed still takes a free permit; it only refuses to wait.
 * - Bounded (BoundedSemaphore): a release that would raise the value above
 *   the initial one fails with -EOVERFLOW (asyncio's ValueError) and
 *   changes nothing. An unbounded semaphore's value is limited to INT_MAX.
 *
 * Scoped use, so acquire and release cannot be unbalanced on an error
 * path: cio_sem_with() runs a function with a permit held; a guard
 * remembers whether it holds one, and releasing it is idempotent. With
 * GCC or Clang, CIO_SEM_SCOPED() declares a guard released automatically
 * when it goes out of scope.
 *
 * Threads: a semaphore is shard-local. It is used from the thread of the
 * loop whose tasks use it, and every task waiting on it at the same time
 * must belong to that one loop (another loop's task gets -EINVAL).
 *
 * Ownership rules:
 * 1. cio_sem_new() succeeded => call cio_sem_free() once.
 * 2. cio_sem_free() refuses with -EBUSY (and frees nothing) while a task
 *    waits on it or was handed a permit and has not resumed yet.
 * 3. A guard borrows its semaphore: release the guard before freeing it.
 */
#ifndef CIO_SYNC_SEM_H
#define CIO_SYNC_SEM_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_sem cio_sem;

/* A semaphore with `value` permits (asyncio's default is 1); `bounded`
 * makes it a BoundedSemaphore whose bound is `value`. 0; -EINVAL (NULL
 * out, negative value); -ENOMEM. */
int cio_sem_new(cio_sem **out, int value, bool bounded);
/* 0, -EBUSY (see rule 2); NULL is a no-op returning 0. */
int cio_sem_free(cio_sem *sem);

/* Take a permit, waiting for one until `deadline` (absolute, as
 * cio_loop_time(); CIO_NO_DEADLINE: no limit). 0: the caller holds one.
 * -ETIMEDOUT, -ECANCELED, -EPERM outside a task, -EINVAL (NULL, or tasks
 * of another loop wait on it), -ENOMEM (the deadline's timer). */
int cio_sem_acquire(cio_sem *sem, int64_t deadline);
/* Take a permit if that needs no waiting: 0, or -EAGAIN. Never parks,
 * needs no task, ignores cancellation. -EINVAL for NULL. */
int cio_sem_try_acquire(cio_sem *sem);
/* Give a permit back (to the first waiter, if any). 0; -EOVERFLOW (see
 * the bound above); -EINVAL for NULL. */
int cio_sem_release(cio_sem *sem);

/* Permits available now; -EINVAL for NULL. */
int cio_sem_value(const cio_sem *sem);
/* Whether acquire() would wait (false for NULL). */
bool cio_sem_locked(const cio_sem *sem);

/* `async with sem: return fn(arg)`: acquire, call fn(arg), release, and
 * return fn's result. Returns acquire()'s error without calling fn when no
 * permit can be had; -EINVAL for a NULL fn. */
int cio_sem_with(cio_sem *sem, int64_t deadline, int (*fn)(void *arg),
		 void *arg);

/* A permit held on behalf of a scope. Initialise with CIO_SEM_GUARD_INIT
 * (or zeroes); the fields are read-only for you. */
struct cio_sem_guard {
	cio_sem *sem; /* the semaphore, once acquire() succeeded */
	bool held;
};

#define CIO_SEM_GUARD_INIT { NULL, false }

/* acquire() on behalf of `g`; on success g holds the permit. -EINVAL also
 * for a NULL guard or one that holds a permit already. */
int cio_sem_guard_acquire(struct cio_sem_guard *g, cio_sem *sem,
			  int64_t deadline);
/* Release the permit `g` holds, if any; calling it again (or on a guard
 * that never acquired) does nothing. NULL is a no-op. */
void cio_sem_guard_release(struct cio_sem_guard *g);

#if defined(__GNUC__)
/* A guard named `name`, released when it goes out of scope. */
#define CIO_SEM_SCOPED(name)                                          \
	struct cio_sem_guard name                                     \
		__attribute__((cleanup(cio_sem_guard_release))) =     \
			CIO_SEM_GUARD_INIT
#endif

CIO_END_DECLS

#endif
