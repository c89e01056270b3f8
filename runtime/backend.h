/* Internal: the interface every I/O backend implements.
 *
 * A backend owns the one blocking wait of its loop. The io_uring backend is
 * a proactor: an operation is an SQE whose user_data points at its
 * cio__op, and the CQE calls op->done. The epoll backend is a reactor with
 * the same contract. Completions are delivered only from poll(), on the
 * loop's thread, and op->done must only record the result and schedule
 * work: it never switches stacks, so poll() may run from inside a task (a
 * full submission queue is flushed from the submitting task).
 */
#ifndef CIO_RUNTIME_BACKEND_H
#define CIO_RUNTIME_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/common.h"

struct cio_loop_opts;
struct cio__op;

typedef void (*cio__op_done_fn)(struct cio__op *op);

enum cio__op_kind {
	CIO__OP_NOP = 0, /* completes at once; tests and benchmarks */
};

struct cio__op {
	cio__op_done_fn done;
	void *owner;        /* the parked task, for the default done */
	int32_t res;        /* result, as the kernel's cqe->res */
	uint32_t cqe_flags;
	uint8_t kind;
	bool cancel_sent;
	struct cio__op *next; /* backend-private list link */
};

struct cio__backend_ops {
	const char *name;
	/* Create for `loop`. `wake_pending` is the loop's flag the backend
	 * clears once a wake-up has been consumed. */
	int (*create)(cio_loop *loop, const struct cio_loop_opts *opts,
		      void **data);
	void (*destroy)(void *data);
	/* Submit pending work and wait up to timeout_ns (0: do not block,
	 * <0: no limit) for completions, calling op->done for each. */
	int (*poll)(void *data, int64_t timeout_ns);
	/* Thread-safe: interrupt a blocked poll(). */
	void (*wake)(void *data);
	int (*submit)(void *data, struct cio__op *op);
	/* Ask for `op` to end early; it still completes through op->done. */
	int (*cancel)(void *data, struct cio__op *op);
	/* Human-readable description of the setup in use. */
	const char *(*describe)(void *data);
};

extern const struct cio__backend_ops cio__backend_uring;
extern const struct cio__backend_ops cio__backend_epoll;

/* Pick and create the backend for a new loop: opts->backend, else
 * $CIO_BACKEND (uring|epoll|auto), else io_uring with a fallback to epoll
 * (announced once on stderr) when io_uring is unavailable. */
int cio__backend_open(cio_loop *loop, const struct cio_loop_opts *opts,
		      const struct cio__backend_ops **ops, void **data);

#endif
