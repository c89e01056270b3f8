/* coreio combinators: asyncio's gather, wait, as_completed, wait_for and
 * shield, built on futures.
 *
 * All of them take futures of one loop (tasks are futures too: pass
 * cio_task_future(task)). None of them frees or cancels what it is given
 * except where written below.
 *
 * Ownership rules:
 * 1. cio_gather() and cio_shield() give you a new future and one reference
 *    to it, released with cio_future_unref(). While that future lives it
 *    holds a reference on each input future that is not done yet, dropped
 *    once that input is done. Releasing the combined future early drops
 *    them at once and leaves the inputs running.
 * 2. cio_wait(), cio_wait_for() and cio_as_completed_next() borrow the
 *    futures for the duration of the call and hold their own references
 *    while they wait. They never keep anything after they return.
 * 3. cio_as_completed_new() succeeded => call cio_as_completed_free() once,
 *    and not while a task waits in cio_as_completed_next(). The iterator
 *    holds a reference on every input future until it is freed; the
 *    futures it hands out are borrowed from it.
 * 4. Outcomes a combinator consumes are marked as read, as asyncio does, so
 *    the loop does not report them as "error never retrieved": a gather
 *    reads every child, wait_for reads its future, a shield reads its inner
 *    future. cio_wait() and as_completed only sort futures by completion
 *    and read nothing: the caller reads the futures it gets back.
 * 5. A future listed twice counts twice (it gets two result slots, is
 *    returned twice); asyncio would merge the duplicates.
 *
 * The awaiting calls (wait, wait_for, as_completed_next) park the current
 * task and follow cio_await(): -EPERM outside a task, and -ECANCELED when
 * the task is cancelled (also when a cancellation was pending on entry).
 */
#ifndef CIO_RUNTIME_COMBINATORS_H
#define CIO_RUNTIME_COMBINATORS_H

#include "runtime/common.h"
#include "runtime/future.h"

CIO_BEGIN_DECLS

/* -- gather ----------------------------------------------------------------
 *
 * asyncio.gather(*children, return_exceptions=...). The gather ends with
 * the result 0 once every child is done; cio_gather_results() then gives
 * one value per child, in input order.
 *
 * Without CIO_GATHER_RETURN_ERRORS, the first child to fail ends the gather
 * at once with that error, and a cancelled child ends it cancelled; the
 * other children keep running. With it, every child's error (or -ECANCELED
 * for a cancelled child) is stored as that child's value.
 *
 * Cancelling the gather (cio_future_cancel(), or cancelling a task that
 * awaits it) cancels every child not done yet; the gather then ends
 * cancelled once all children are done, whatever they returned. It returns
 * 0 (and changes nothing) when no child could be cancelled any more.
 *
 * n == 0 gives a gather done at once, with an empty result, on the current
 * loop. -EINVAL: NULL out, NULL children (with n > 0) or a NULL child,
 * children of different loops or of a closed loop, unknown flags, no loop
 * for n == 0; -ENOMEM.
 */
#define CIO_GATHER_RETURN_ERRORS 0x1u

int cio_gather(cio_future **out, cio_future *const *children, size_t n,
	       unsigned flags);

/* The n per-child values of a gather done with a result (a result, or with
 * CIO_GATHER_RETURN_ERRORS possibly an error), valid while you hold the
 * gather. NULL if `gather` is not a gather or is not done with a result. */
const intptr_t *cio_gather_results(cio_future *gather);

/* -- wait ------------------------------------------------------------------
 *
 * asyncio.wait(futs, timeout, return_when): park until the condition holds
 * or `deadline` passes, then sort the futures into done and pending. The
 * deadline only ends the wait; nothing is cancelled, ever.
 *
 *   CIO_ALL_COMPLETED    every future is done
 *   CIO_FIRST_COMPLETED  at least one is done
 *   CIO_FIRST_EXCEPTION  one ended with an error (cancellation does not
 *                        count), else as CIO_ALL_COMPLETED
 *
 * `done` and `pending` are yours, with room for n pointers each (either may
 * be NULL); they get the futures in input order, without new references.
 * *ndone / *npending (each may be NULL) get the counts.
 *
 * 0 on success; -ECANCELED when the waiting task is cancelled (the futures
 * are not); -EPERM outside a task; -EINVAL: n == 0, NULL futs or entry, a
 * future of another loop, a bad return_when; -ENOMEM (more than a few
 * futures need one allocation for the wait).
 */
enum cio_return_when {
	CIO_ALL_COMPLETED = 0,
	CIO_FIRST_COMPLETED = 1,
	CIO_FIRST_EXCEPTION = 2,
};

int cio_wait(cio_future *const *futs, size_t n, int64_t deadline,
	     int return_when, cio_future **done, size_t *ndone,
	     cio_future **pending, size_t *npending);

/* -- as_completed ----------------------------------------------------------
 *
 * asyncio.as_completed(futs, timeout) as an iterator:
 *
 *     cio_as_completed *it;
 *     cio_future *f;
 *     int rc = cio_as_completed_new(&it, futs, n, deadline);
 *     while (rc == 0 && (rc = cio_as_completed_next(it, &f)) == 1)
 *         use(cio_future_result(f, &v));
 *     cio_as_completed_free(it);
 *
 * The deadline runs from creation. Futures done at creation come first, in
 * input order, then the others as they complete.
 *
 * new: 0; -EINVAL (NULL out, NULL futs with n > 0, a NULL entry, futures of
 * different loops or of a closed loop); -ENOMEM. n == 0 is allowed.
 * next: 1 and *next; 0 once all n have been returned; -ETIMEDOUT once the
 * deadline has passed and every future done before it was returned (the
 * others are not cancelled; later calls return -ETIMEDOUT again);
 * -ECANCELED; -EPERM outside a task; -EINVAL bad arguments or a task of
 * another loop; -EBUSY while another task waits in next() on the same
 * iterator.
 */
typedef struct cio_as_completed cio_as_completed;

int cio_as_completed_new(cio_as_completed **out, cio_future *const *futs,
			 size_t n, int64_t deadline);
int cio_as_completed_next(cio_as_completed *it, cio_future **next);
void cio_as_completed_free(cio_as_completed *it);

/* -- wait_for --------------------------------------------------------------
 *
 * asyncio.wait_for (Python 3.12): await `fut`; at the deadline cancel it
 * and go on waiting until it is really done (a task runs its clean-up
 * first). Returns its result or error; -ETIMEDOUT if it ended cancelled
 * because of the deadline; its real outcome if it completed anyway.
 * Cancelling the calling task behaves as in cio_await(): `fut` is
 * cancelled, awaited, and -ECANCELED returned (it wins over a timeout).
 * With the deadline passed on entry a done future's outcome is returned,
 * and a pending one is cancelled and awaited.
 * -EPERM outside a task, -EINVAL NULL or foreign future, -EDEADLK a task
 * waiting for itself, -ENOMEM.
 */
intptr_t cio_wait_for(cio_future *fut, int64_t deadline);

/* -- shield ----------------------------------------------------------------
 *
 * asyncio.shield: *out is a new future that ends as `inner` ends (same
 * result, error or cancellation), but cancelling it (or a task awaiting
 * it) leaves `inner` running. When `inner` is done already, *out is done
 * at once with the same outcome. Once the outer future is cancelled,
 * inner's outcome counts as read. -EINVAL (NULL argument, closed loop),
 * -ENOMEM.
 */
int cio_shield(cio_future *inner, cio_future **out);

CIO_END_DECLS

#endif
