/* coreio executor: a pool of threads for blocking work, asyncio's
 * loop.run_in_executor() and asyncio.to_thread() for C.
 *
 *     static intptr_t checksum(void *arg) {        // runs on a pool thread
 *         return crc_of_file(arg);                 // may block as it likes
 *     }
 *     static intptr_t task(void *arg) {
 *         intptr_t crc = cio_to_thread(checksum, "/etc/hosts");
 *         ...                                      // the loop ran meanwhile
 *     }
 *
 * A job is fn(arg), called once on a pool thread. Its result travels as an
 * intptr_t, like a task's: a value in [-4095, -1] is an error, and
 * -ECANCELED ends the future cancelled. The result is posted back to the
 * loop of the caller (as call_soon_threadsafe() would, without allocating)
 * and completes the job's future there.
 *
 * Sizes, with their defaults:
 * - threads: started on demand, up to `threads` (default min(32, CPUs + 4),
 *   Python's ThreadPoolExecutor rule, CPUs counted in the process's
 *   affinity mask). Once started, a thread stays until shutdown.
 * - queue: at most `queue_size` jobs wait for a thread (default 1024); jobs
 *   being run do not count. When it is full, a task that submits waits for
 *   a slot (cancellable); any other caller gets -EAGAIN.
 * The default executor (pass NULL) takes CIO_EXECUTOR_THREADS and
 * CIO_EXECUTOR_QUEUE from the environment for fields left 0 in
 * cio_executor_configure_default(); a value that is not a number in range
 * makes it fail with -EINVAL, as a bad CIO_STACK_SIZE fails loop creation.
 *
 * Cancellation (asyncio's wrap_future rules):
 * - Cancelling the future of a job that waits in the queue takes the job
 *   out: fn never runs.
 * - Cancelling the future of a running job cancels the future at once;
 *   the job runs to its end (a thread cannot be interrupted) and its
 *   result is dropped when it arrives.
 * - A task cancelled in cio_to_thread() returns -ECANCELED at once, by the
 *   same rules.
 * A result that is dropped (cancelled future, released future, closed
 * loop) is lost: if it owns memory, that memory leaks. Hand such results
 * over through `arg` instead, or await the future.
 *
 * Ownership rules:
 * 1. cio_executor_new() succeeded => call cio_executor_free() once. Free
 *    waits for the jobs it has (shutdown without flags first, if you did
 *    not shut it down) and joins its threads.
 * 2. The default executor (NULL) is one per process, shared by every loop
 *    and thread, created on first use; it is never shut down or freed.
 * 3. cio_run_in_executor() gives you one reference to the job's future,
 *    released with cio_future_unref() whenever you like: releasing it does
 *    not cancel the job (it runs, and its result is dropped). The future
 *    belongs to the loop of the calling thread and is used on that thread.
 * 4. `arg` is borrowed until fn returns. A future cancelled while its job
 *    runs is done before that, and so is a cio_to_thread() that returned
 *    -ECANCELED: do not point `arg` into the stack of a task that may be
 *    cancelled; give fn memory it frees itself instead. (A job taken out
 *    of the queue never looks at `arg`.)
 * 5. Free an executor only once nothing uses it: no task waiting for a
 *    slot in it, no submission racing the free on another thread. Futures
 *    it made may outlive it. Freeing it from one of its own jobs is
 *    refused (-EDEADLK from shutdown; free then does nothing).
 * 6. A loop may close with jobs queued or running: they still run, their
 *    results are dropped, and nothing of them touches the closed loop.
 */
#ifndef CIO_RUNTIME_EXECUTOR_H
#define CIO_RUNTIME_EXECUTOR_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_executor cio_executor;

/* Runs on a pool thread. It must not use the loop's objects (futures,
 * tasks, handles): only cio_call_soon_threadsafe() crosses threads. */
typedef intptr_t (*cio_blocking_fn)(void *arg);

/* Bounds that opts may not exceed. */
#define CIO_EXECUTOR_MAX_THREADS 1024u
#define CIO_EXECUTOR_MAX_QUEUE (1u << 20)

/* Zero-initialise; 0 means the default (see the top of this file). */
struct cio_executor_opts {
	unsigned threads;    /* most threads at once, 1..1024 */
	unsigned queue_size; /* most jobs waiting for a thread, 1..2^20 */
};

/* -EINVAL bad option, -ENOMEM. No thread starts before the first job. */
int cio_executor_new(cio_executor **out, const struct cio_executor_opts *opts);

/* Options of the default executor, before its first use: 0, -EINVAL bad
 * option, -EBUSY once it exists. */
int cio_executor_configure_default(const struct cio_executor_opts *opts);

/* cio_executor_shutdown() flags. */
enum {
	/* Jobs still in the queue do not run: their futures end cancelled
	 * (asyncio's cancel_futures=True). Without it they run first. */
	CIO_EXECUTOR_CANCEL_QUEUED = 1u << 0,
	/* Return at once (asyncio's wait=False); free() waits later. */
	CIO_EXECUTOR_NOWAIT = 1u << 1,
};

/* Stop accepting jobs (submissions then fail with -EINVAL, and tasks
 * waiting for a slot get -EINVAL), then wait until the queue is empty and
 * every running job has returned, and join the threads. Blocks the calling
 * thread, loop and all, unless CIO_EXECUTOR_NOWAIT. May be called again
 * (e.g. to wait after a NOWAIT one). 0; -EINVAL NULL (the default
 * executor) or unknown flags; -EDEADLK from one of its own jobs. */
int cio_executor_shutdown(cio_executor *ex, unsigned flags);

/* Shut down (waiting) and free. NULL does nothing. */
void cio_executor_free(cio_executor *ex);

struct cio_executor_stats {
	unsigned threads;    /* started so far */
	unsigned idle;       /* threads waiting for a job */
	unsigned running;    /* jobs being run */
	unsigned queued;     /* jobs waiting for a thread */
	unsigned max_threads;
	unsigned queue_size;
};

/* A snapshot (NULL: the default executor, created if need be). 0,
 * -EINVAL, or the default executor's creation error. */
int cio_executor_stats(cio_executor *ex, struct cio_executor_stats *st);

/* Run fn(arg) on `ex` (NULL: the default executor) and give its future in
 * *out (NULL: nobody wants the result; the job runs all the same).
 * From a task, a full queue parks the task until a slot frees.
 * 0; -EINVAL (no fn, no current loop or a closed one, executor shut down);
 * -EAGAIN (queue full, not in a task); -ECANCELED (the task was cancelled
 * while it waited for a slot); -ENOMEM; or the error of starting the first
 * thread. On error *out is NULL and fn will not run. */
int cio_run_in_executor(cio_future **out, cio_executor *ex,
			cio_blocking_fn fn, void *arg);

/* From a task: run fn(arg) on the default executor and await it (asyncio's
 * to_thread). Returns fn's result, or -ECANCELED (the task was cancelled:
 * a queued job never runs, a running one finishes unobserved), or an error
 * of cio_run_in_executor(). -EPERM outside a task. A negative result of fn
 * outside [-4095, -1] is returned as it is. */
intptr_t cio_to_thread(cio_blocking_fn fn, void *arg);

CIO_END_DECLS

#endif
