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

#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/common.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/time_types.h>

#include "runtime/executor_internal.h"
#include "runtime/list.h"
#include "runtime/timer_heap.h"

struct cio_loop_opts;
struct cio__op;
struct statx;

typedef void (*cio__op_done_fn)(struct cio__op *op);

enum cio__op_kind {
	CIO__OP_NOP = 0, /* completes at once; tests and benchmarks */
	/* Descriptor transfers: sockets, pipes and files alike. On epoll,
	 * regular files go to the executor and the rest wait for
	 * readiness. */
	CIO__OP_READ,
	CIO__OP_WRITE,
	CIO__OP_READV,
	CIO__OP_WRITEV,
	CIO__OP_RECV,
	CIO__OP_SEND,
	CIO__OP_RECVMSG,
	CIO__OP_SENDMSG,
	CIO__OP_ACCEPT,
	CIO__OP_CONNECT,
	CIO__OP_SPLICE,
	/* Always run to completion without waiting for readiness: the
	 * executor on epoll. */
	CIO__OP_OPENAT,
	CIO__OP_CLOSE,
	CIO__OP_FSYNC,
	CIO__OP_FALLOCATE,
	CIO__OP_STATX,
	CIO__OP_UNLINKAT,
	CIO__OP_RENAMEAT,
	CIO__OP_LINKAT,
	CIO__OP_MKDIRAT,
	CIO__OP_SHUTDOWN,
	/* io_uring only. */
	CIO__OP_ACCEPT_MULTI,  /* done once per connection while CQE_F_MORE */
	CIO__OP_RECV_MULTI,    /* buffers from a provided ring, same */
	CIO__OP_CANCEL_FD,     /* cancel every request on op->fd */
	CIO__OP_KIND_COUNT
};

/* An operation record. It lives with its owner (usually on the awaiting
 * task's stack) from submit until done() has been called for the last
 * time; the backend never allocates for it. */
struct cio__op {
	cio__op_done_fn done;
	void *owner;        /* the parked task, for the default done */
	int32_t res;        /* result, as the kernel's cqe->res */
	uint32_t cqe_flags;
	uint8_t kind;
	bool cancel_sent;
	bool timed_out;     /* the deadline, not a cancel, ended it */
	bool fd_counted;    /* io_uring: in its ring's tally of ops per fd */
	struct cio__op *next; /* backend-private list link */
	int fd;
	/* Absolute monotonic ns; 0 for none, so a zeroed record has none
	 * (cio__op_deadline() converts a public deadline). */
	int64_t deadline;
	union {
		struct { void *buf; size_t len; int64_t off; } rw;
		struct { const struct iovec *iov; int cnt; int64_t off; } rwv;
		struct { void *buf; size_t len; int flags; } sr;
		struct { struct msghdr *msg; int flags; } msg;
		struct { struct sockaddr *addr; socklen_t *alen; int flags; } accept;
		struct { const struct sockaddr *addr; socklen_t alen; } connect;
		struct {
			int fd_out;
			int64_t off_in, off_out;
			size_t len;
			unsigned flags;
		} splice;
		struct {
			const char *path;
			int flags;
			mode_t mode;
			/* how.resolve != 0: openat2(2) with `how` (filled
			 * from flags and mode), which the kernel reads at
			 * submit, so it lives here, in the op. */
			struct open_how how;
		} open;
		struct { unsigned flags; } fsync;
		struct { int mode; int64_t off, len; } falloc;
		struct {
			const char *path;
			int flags;
			unsigned mask;
			struct statx *buf;
		} statx;
		struct { const char *path; int flags; } unlink;
		struct {
			const char *oldpath;
			int newdfd;
			const char *newpath;
			unsigned flags;
		} rename; /* and linkat */
		struct { const char *path; mode_t mode; } mkdir;
		struct { int how; } shutdown;
		struct { uint16_t bgid; } recv_multi;
	} a;
	/* Backend-private state. */
	union {
		struct __kernel_timespec ts; /* io_uring: the linked timeout */
		struct {
			struct cio__list node;   /* on its descriptor's waiters */
			struct cio__timer timer; /* the deadline */
			struct cio__exec_job job;
			void *self;              /* the backend */
			uint8_t dir;             /* which waiter list */
			bool queued;             /* on the executor's queue */
		} ep;
	} be;
};

static inline int64_t cio__op_deadline(int64_t deadline)
{
	if (deadline == CIO_NO_DEADLINE)
		return 0;
	return deadline < 1 ? 1 : deadline;
}

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
	/* Optional: wake from the running loop whose backend data is
	 * `from_data` (same backend), cheaper than wake(); < 0: use wake(). */
	int (*wake_from)(void *data, void *from_data);
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
