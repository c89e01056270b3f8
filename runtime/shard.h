/* Thread-per-core: shards and the messages between them.
 *
 * cio_run() starts N shards. A shard is one thread, pinned to one CPU,
 * owning one loop (its ring, timers, tasks, stacks, provided buffers).
 * Shards share nothing; they talk through cio_submit_to() and
 * cio_broadcast() (and channels, runtime/chan.h). Every other coreio
 * object belongs to the shard that made it and is used on its thread.
 *
 *     static intptr_t hello(void *arg) { return cio_shard_id(); }
 *
 *     static intptr_t main_task(void *arg)
 *     {
 *             cio_future *f;
 *             if (cio_submit_to(1, hello, NULL, &f) == 0) {
 *                     intptr_t r = cio_await(f);  // 1
 *                     cio_future_unref(f);
 *             }
 *             return 0;
 *     }
 *
 *     int main(void) { return (int)cio_run(main_task, NULL, NULL); }
 *
 * Messages. Each ordered pair of shards has a single-producer
 * single-consumer ring of message pointers; a message is a request (run
 * fn(arg) on the target) and then, on the way back, its reply. The
 * sender wakes the target only when the target has not been told yet
 * (one doorbell per target, cleared when the target starts draining), and
 * the wake-up costs a syscall only when the target's loop is asleep; the
 * target drains every ring in one go, so messages travel in batches.
 * Message records come from a per-shard free list: steady-state traffic
 * allocates nothing (the target's task comes from its task and stack
 * caches).
 *
 * Ownership rules:
 * 1. cio_submit_to() with `out` gives you one reference to a new future
 *    (on your shard), released with cio_future_unref(). Dropping it or
 *    cancelling the future does not stop fn: it runs once on the target
 *    and its result is discarded.
 * 2. `arg` is passed as is: what it points to must stay valid, and safe to
 *    use from the target's thread, until fn has returned.
 * 3. cio_run() owns the shards: they exist from its start to its return,
 *    and what a shard made (loops, tasks, futures) must not outlive it.
 */
#ifndef CIO_RUNTIME_SHARD_H
#define CIO_RUNTIME_SHARD_H

#include "runtime/common.h"
#include "runtime/future.h"
#include "runtime/loop.h"
#include "runtime/task.h"

CIO_BEGIN_DECLS

/* Flags of cio_run_opts. */
/* Do not pin shard threads to CPUs (they still number from 0). */
#define CIO_RUN_NO_PIN 0x1u
/* Leave SIGINT and SIGTERM alone (see cio_run()). */
#define CIO_RUN_NO_SIGNALS 0x2u

#define CIO_RUN_DEFAULT_GRACE (10 * CIO_NSEC_PER_SEC)

#define CIO_RUN_DEFAULT_MSG_RING 256u
#define CIO_RUN_MAX_SHARDS 1024u

/* Zero-initialise; 0/NULL fields take their defaults. */
struct cio_run_opts {
	/* Shards: default $CIO_SHARDS, else one per CPU of the process's
	 * affinity mask; 1..CIO_RUN_MAX_SHARDS. With pinning, shard i runs
	 * on the i-th allowed CPU (modulo their number). */
	unsigned shards;
	unsigned flags; /* CIO_RUN_NO_PIN, CIO_RUN_NO_SIGNALS */
	/* Slots of each shard-to-shard ring (default 256; a power of two,
	 * 2..65536). A full ring makes the sender wait. */
	unsigned msg_ring;
	/* Options of every shard's loop (NULL: defaults). */
	const struct cio_loop_opts *loop;
	/* Graceful shutdown: how long connection handlers may go on after
	 * SIGINT/SIGTERM (ns, default CIO_RUN_DEFAULT_GRACE). */
	int64_t shutdown_grace;
};

/* asyncio.run() for all shards: start them, run `main(arg)` as a task on
 * shard 0 and, once it returns, cancel the tasks left on every shard, wait
 * for them, close every loop and join every thread. Returns main's result
 * (-ECANCELED if main was cancelled). Before main runs: -EINVAL (bad
 * options, NULL main, $CIO_SHARDS not a number in range), -EBUSY (called
 * from a shard, or another cio_run() is in progress in this process),
 * -ENOMEM, or the error of a loop or thread that could not start.
 * Called from a thread that has a loop of its own, that loop is left
 * alone: shards are new threads.
 *
 * Signals (unless CIO_RUN_NO_SIGNALS): SIGINT and SIGTERM are blocked in
 * the calling thread for the duration (restored on return) and so in
 * every shard, and shard 0 reads them (runtime/signal.h). The first one
 * starts a graceful shutdown: every shard closes its servers (new
 * connections are refused), their handlers get `shutdown_grace` to
 * finish and are then cancelled; once every shard is done with that,
 * main is cancelled, and the shutdown above follows (cio_run() returns
 * what main returns, -ECANCELED if it lets the cancellation through).
 * A second SIGINT or SIGTERM ends the process at once, with that signal's
 * default action. */
intptr_t cio_run(cio_task_fn main, void *arg, const struct cio_run_opts *opts);

/* The calling thread's shard, 0..count-1; -1 when it is not a shard. */
int cio_shard_id(void);
/* Shards of the cio_run() in progress; 0 when none is. */
unsigned cio_shard_count(void);
/* A shard's loop (for cio_call_soon_threadsafe() from any thread); NULL
 * when `shard` is out of range or no cio_run() is in progress. */
cio_loop *cio_shard_loop(unsigned shard);

/* Run fn(arg) as a task on `shard` and, with `out`, get a future on the
 * calling shard that completes with fn's return value; -ESHUTDOWN as its
 * error when the target is shutting down and fn did not run, -ENOMEM when
 * the target could not make the task. `shard` may be the caller's own
 * (the task is spawned locally). When the ring to the target is full, the
 * calling task waits for room (nothing is dropped): -ECANCELED if it is
 * cancelled meanwhile (nothing was sent), -EAGAIN outside a task. Other
 * errors: -EPERM not on a shard, -EINVAL bad shard or NULL fn, -ENOMEM,
 * -ESHUTDOWN once the runtime is shutting down. On error *out is NULL. */
int cio_submit_to(unsigned shard, cio_task_fn fn, void *arg,
		  cio_future **out);

/* Run fn(arg) on every shard (the caller's included) and wait for all:
 * results[i] gets shard i's return value (cio_shard_count() entries;
 * NULL to ignore them). 0 when every shard ran fn; else the first error
 * by shard order (its results[i] holds that error). -ECANCELED when the
 * calling task is cancelled (the runs go on, their results discarded);
 * -EPERM outside a task on a shard; -EINVAL for NULL fn. */
int cio_broadcast(cio_task_fn fn, void *arg, intptr_t *results);

CIO_END_DECLS

#endif
