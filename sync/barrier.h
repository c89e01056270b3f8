/* coreio barriers: asyncio.Barrier for tasks of one loop.
 *
 * A barrier for `parties` tasks: each calls wait(), and all of them return
 * once the last has arrived; then the barrier is ready for the next round.
 *
 *     int idx = cio_barrier_wait(b, CIO_NO_DEADLINE);
 *     if (idx < 0)
 *         return idx;                // -EPIPE: reset or aborted
 *     if (idx == 0)
 *         ... one task of the round does the bookkeeping ...
 *
 * Semantics (asyncio.Barrier, Python 3.11+):
 * - wait() returns the caller's arrival index in its round, 0 to
 *   parties - 1; the task that completes the round gets parties - 1 and
 *   does not park. Tasks that arrive while a round's tasks are still on
 *   their way out belong to the next round.
 * - A waiter that is cancelled (or whose deadline passes) leaves its round,
 *   which then needs one more arrival; the barrier is not broken (asyncio
 *   breaks it only on reset or abort). Indices stay unique within a round:
 *   the waiters that arrived after it move up one place.
 *   One cancelled after its round completed but before it ran returns
 *   -ECANCELED; the round stays complete for the others.
 * - reset() ends the round in progress: its waiters return -EPIPE
 *   (BrokenBarrierError) and the barrier starts empty and unbroken.
 *   abort() breaks the barrier: its waiters and every later wait() return
 *   -EPIPE until reset().
 * - wait() is an await: a cancellation pending on entry returns
 *   -ECANCELED at once, and a broken barrier -EPIPE, before anything
 *   counts as an arrival. A deadline that has passed still completes a
 *   round the caller is the last party of; it only refuses to wait.
 *
 * Threads: a barrier is shard-local, used from the thread of the loop whose
 * tasks use it; the tasks waiting at the same time must all belong to that
 * loop (another loop's task gets -EINVAL).
 *
 * Ownership rules:
 * 1. cio_barrier_new() succeeded => call cio_barrier_free() once.
 * 2. cio_barrier_free() refuses with -EBUSY (and frees nothing) while a
 *    task waits on it or was released and has not resumed yet.
 */
#ifndef CIO_SYNC_BARRIER_H
#define CIO_SYNC_BARRIER_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_barrier cio_barrier;

/* A barrier for `parties` tasks. 0; -EINVAL (NULL out, parties < 1 or
 * above INT_MAX); -ENOMEM. */
int cio_barrier_new(cio_barrier **out, unsigned parties);
/* 0, -EBUSY (see rule 2); NULL is a no-op returning 0. */
int cio_barrier_free(cio_barrier *b);

/* Arrive and wait for the round to complete, until `deadline` (absolute,
 * as cio_loop_time(); CIO_NO_DEADLINE: no limit). The arrival index
 * (>= 0); -EPIPE (reset or aborted), -ETIMEDOUT, -ECANCELED, -EPERM
 * outside a task, -EINVAL (NULL, or tasks of another loop wait on it),
 * -ENOMEM (the deadline's timer). */
int cio_barrier_wait(cio_barrier *b, int64_t deadline);

/* Fail the waiting tasks with -EPIPE and start over, unbroken. 0, -EINVAL
 * for NULL. */
int cio_barrier_reset(cio_barrier *b);
/* Break the barrier (see above). 0, -EINVAL for NULL. */
int cio_barrier_abort(cio_barrier *b);

/* Parties needed per round; -EINVAL for NULL. */
int cio_barrier_parties(const cio_barrier *b);
/* Tasks waiting in the current round; -EINVAL for NULL. */
int cio_barrier_n_waiting(const cio_barrier *b);
/* Whether the barrier is broken (false for NULL). */
bool cio_barrier_broken(const cio_barrier *b);

CIO_END_DECLS

#endif
