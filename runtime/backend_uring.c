/* io_uring backend: the loop's proactor.
 *
 * Setup asks for the best flags first and steps down one flag at a time on
 * EINVAL, so the same binary runs on 5.x kernels:
 *   DEFER_TASKRUN (6.1)  completions are posted only when we enter the
 *                        kernel to wait, in batches, with no IPIs;
 *   SINGLE_ISSUER (6.0)  only this loop's thread submits (lets the kernel
 *                        skip locking);
 *   TASKRUN_FLAG, COOP_TASKRUN (5.19)  the kernel raises IORING_SQ_TASKRUN
 *                        instead of interrupting us, and we enter only
 *                        when that flag says there is work;
 *   R_DISABLED (5.10)    the ring is enabled by the thread that first runs
 *                        the loop, which becomes its single issuer;
 *   CQSIZE (5.5)         a completion queue 4x the submission queue.
 * The ring fd is registered (5.18) when possible, saving an fget/fput per
 * io_uring_enter.
 *
 * The loop sleeps in exactly one io_uring_submit_and_wait_timeout() with
 * the nearest timer as its timeout: timers never cost an SQE. Another
 * thread wakes us through an eventfd read that is always armed.
 */
#include "runtime/backend.h"
#include "runtime/loop_internal.h"
#include "runtime/uring_internal.h"

#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#ifndef IORING_REGISTER_ENABLE_RINGS
#define IORING_REGISTER_ENABLE_RINGS 12
#endif

#define DEFAULT_ENTRIES 256u
#define MAX_ENTRIES 32768u

/* Test hook: setup flags to refuse with EINVAL, as an older kernel would. */
unsigned cio__uring_reject_flags;

struct uring {
	struct io_uring ring;
	cio_loop *loop;
	unsigned flags;
	bool registered_fd;
	bool enabled;
	bool started;
	unsigned inflight; /* ops whose last CQE has not arrived */
	/* Ops in flight per descriptor (op->fd), so that a close cancels
	 * first only when something may be in flight on it: a cancel by fd
	 * walks every io-wq worker and pending list, which costs more than
	 * the close when a program closes thousands of idle files. When the
	 * table cannot grow, `untracked` makes every close cancel first. */
	uint32_t *fd_ops;
	unsigned nfd_ops;
	bool untracked;
	int wake_fd;
	uint64_t wake_buf;
	struct cio__op wake_op;
	/* Wake-ups from another io_uring loop arrive as IORING_OP_MSG_RING
	 * completions carrying &msg_op (see uring_wake_from()). */
	struct cio__op msg_op;
	bool msg_ring; /* the kernel has MSG_RING and it is wanted */
	char desc[160];
};

/* Flags in the order they are given up when the kernel refuses them. */
static const struct {
	unsigned flag;
	const char *name;
} step_down[] = {
	{ IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN" },
	{ IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER" },
	{ IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG" },
	{ IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN" },
	{ IORING_SETUP_R_DISABLED, "R_DISABLED" },
	{ IORING_SETUP_CQSIZE, "CQSIZE" },
};
#define NSTEPS (sizeof(step_down) / sizeof(step_down[0]))

static int setup(struct uring *u, unsigned entries)
{
	unsigned flags = 0;
	size_t i;
	int ret;

	for (i = 0; i < NSTEPS; i++)
		flags |= step_down[i].flag;
	for (i = 0;; i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = flags;
		p.cq_entries = entries * 4;
		if (flags & cio__uring_reject_flags)
			ret = -EINVAL;
		else
			ret = io_uring_queue_init_params(entries, &u->ring, &p);
		if (ret != -EINVAL || i == NSTEPS)
			break;
		flags &= ~step_down[i].flag;
	}
	if (ret < 0)
		return ret;
	u->flags = flags;
	u->enabled = !(flags & IORING_SETUP_R_DISABLED);
	return 0;
}

/* $CIO_WAKE: how a loop thread wakes another io_uring loop. "msgring"
 * (default) posts a completion straight into the target's ring with
 * IORING_OP_MSG_RING; "eventfd" writes the target's eventfd, as any other
 * thread does. bench/shard measures the two. */
static bool want_msg_ring(void)
{
	const char *w = getenv("CIO_WAKE");
	return !w || strcmp(w, "eventfd") != 0;
}

/* Every opcode this backend submits must be known to the kernel. */
static int probe(struct uring *u)
{
	static const int needed[] = { IORING_OP_NOP, IORING_OP_READ,
				      IORING_OP_ASYNC_CANCEL };
	struct io_uring_probe *pr = io_uring_get_probe_ring(&u->ring);
	int ret = 0;

	if (!pr)
		return -ENOSYS;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!io_uring_opcode_supported(pr, needed[i]))
			ret = -ENOSYS;
	u->msg_ring = io_uring_opcode_supported(pr, IORING_OP_MSG_RING) &&
		      want_msg_ring();
	io_uring_free_probe(pr);
	return ret;
}

static void describe_setup(struct uring *u)
{
	size_t off = 0;
	u->desc[0] = '\0';
	for (size_t i = NSTEPS; i-- > 0;) {
		if (!(u->flags & step_down[i].flag) ||
		    step_down[i].flag == IORING_SETUP_R_DISABLED ||
		    step_down[i].flag == IORING_SETUP_CQSIZE)
			continue;
		off += (size_t)snprintf(u->desc + off, sizeof(u->desc) - off,
					"%s%s", off ? "|" : "",
					step_down[i].name);
	}
	if (u->registered_fd)
		snprintf(u->desc + off, sizeof(u->desc) - off, "%s%s",
			 off ? "|" : "", "REGISTERED_FD");
}

/* First use from the thread that runs the loop. Enabling a R_DISABLED ring
 * makes this thread its single issuer; a registered ring fd lives in the
 * registering thread's io_uring context, so it is registered here too and
 * not at creation, which may have happened on another thread. */
static int enable(struct uring *u)
{
	if (u->started)
		return 0;
	if (!u->enabled) {
		int ret = io_uring_register(u->ring.ring_fd,
					    IORING_REGISTER_ENABLE_RINGS, NULL,
					    0);
		if (ret < 0)
			return ret;
		u->enabled = true;
	}
	u->registered_fd = io_uring_register_ring_fd(&u->ring) == 1;
	u->started = true;
	describe_setup(u);
	return 0;
}

static void reap(struct uring *u);

/* Make room in a full submission queue: submit it. Kernels since 5.19
 * do not push back but park what does not fit the CQ on an overflow
 * list, in kernel memory, without bound: drain it as soon as it starts. */
static int flush(struct uring *u)
{
	int ret = enable(u);
	if (ret == 0)
		ret = io_uring_submit(&u->ring);
	if (ret == -EBUSY || ret == -EAGAIN || ret == -EINTR ||
	    (ret >= 0 && (IO_URING_READ_ONCE(*u->ring.sq.kflags) &
			  IORING_SQ_CQ_OVERFLOW)))
		reap(u);
	else if (ret < 0)
		return ret;
	return 0;
}

/* `n` free SQEs (at most the ring's size), flushing as needed. Never
 * fails an operation for lack of room. */
static int reserve(struct uring *u, unsigned n)
{
	int ret;
	while (io_uring_sq_space_left(&u->ring) < n)
		if ((ret = flush(u)) < 0)
			return ret;
	return 0;
}

static struct io_uring_sqe *get_sqe(struct uring *u, int *err)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&u->ring)))
		if ((*err = flush(u)) < 0)
			return NULL;
	return sqe;
}

static void count_fd(struct uring *u, struct cio__op *op)
{
	unsigned fd = (unsigned)op->fd;

	if (op->fd < 0 || u->untracked)
		return;
	if (fd >= u->nfd_ops) {
		unsigned n = u->nfd_ops ? u->nfd_ops : 64;
		uint32_t *t;
		while (n <= fd)
			n *= 2;
		if (!(t = realloc(u->fd_ops, n * sizeof(*t)))) {
			u->untracked = true;
			return;
		}
		memset(t + u->nfd_ops, 0, (n - u->nfd_ops) * sizeof(*t));
		u->fd_ops = t;
		u->nfd_ops = n;
	}
	u->fd_ops[fd]++;
	op->fd_counted = true;
}

static void uncount_fd(struct uring *u, struct cio__op *op)
{
	if (!op->fd_counted)
		return;
	op->fd_counted = false;
	u->fd_ops[op->fd]--;
}

static bool fd_may_be_busy(struct uring *u, int fd)
{
	return u->untracked ||
	       (fd >= 0 && (unsigned)fd < u->nfd_ops && u->fd_ops[fd]);
}

static void wake_done(struct cio__op *op);

static int arm_wake(struct uring *u)
{
	int err = 0;
	struct io_uring_sqe *sqe = get_sqe(u, &err);
	if (!sqe)
		return err;
	io_uring_prep_read(sqe, u->wake_fd, &u->wake_buf, sizeof(u->wake_buf),
			   0);
	io_uring_sqe_set_data(sqe, &u->wake_op);
	u->inflight++;
	return 0;
}

static void wake_done(struct cio__op *op)
{
	struct uring *u = op->owner;
	/* The eventfd is drained by the read itself; new wake-ups may now
	 * write again. */
	atomic_store(&u->loop->wake_pending, 0);
	if (op->res == -ECANCELED || u->loop->closed)
		return;
	arm_wake(u);
}

static void msg_done(struct cio__op *op)
{
	struct uring *u = op->owner;
	/* Not one of our ops: reap counted it off `inflight`; count it back. */
	u->inflight++;
	atomic_store(&u->loop->wake_pending, 0);
}

/* Deliver every completion. Each CQE is consumed before its op->done runs,
 * so a done that submits (and so may reap) never sees it twice. */
static void reap(struct uring *u)
{
	struct io_uring_cqe *cqe;

	/* The common case on a busy loop: nothing completed. Two loads from
	 * the shared rings answer that; liburing's peek would make an
	 * out-of-line call to find out. */
	if (!io_uring_cq_ready(&u->ring) &&
	    !(IO_URING_READ_ONCE(*u->ring.sq.kflags) &
	      (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)))
		return;
	for (;;) {
		/* peek enters the kernel only when IORING_SQ_TASKRUN or
		 * IORING_SQ_CQ_OVERFLOW says completions wait there. */
		while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			struct cio__op *op = io_uring_cqe_get_data(cqe);
			int32_t res = cqe->res;
			uint32_t flags = cqe->flags;
			io_uring_cqe_seen(&u->ring, cqe);
			if (!op)
				continue; /* a cancel or linked timeout */
			if (!(flags & IORING_CQE_F_MORE)) {
				u->inflight--;
				uncount_fd(u, op);
			}
			/* A linked timeout ends its op with -ECANCELED; only
			 * our own cancel request may mean that. */
			if (res == -ECANCELED && !op->cancel_sent &&
			    op->deadline != 0) {
				res = -ETIMEDOUT;
				op->timed_out = true;
			}
			op->res = res;
			op->cqe_flags = flags;
			op->done(op);
		}
		if (!(IO_URING_READ_ONCE(*u->ring.sq.kflags) &
		      IORING_SQ_CQ_OVERFLOW))
			break;
		/* Completions the kernel kept aside when the CQ was full:
		 * flush them into the ring and go round again. */
		io_uring_get_events(&u->ring);
	}
}

static int uring_create(cio_loop *loop, const struct cio_loop_opts *opts,
			void **data)
{
	unsigned entries = opts->ring_entries ? opts->ring_entries
					      : DEFAULT_ENTRIES;
	struct uring *u;
	int ret;

	if (entries > MAX_ENTRIES)
		return -EINVAL;
	if (!(u = calloc(1, sizeof(*u))))
		return -ENOMEM;
	u->loop = loop;
	ret = setup(u, entries);
	if (ret < 0)
		goto fail;
	ret = probe(u);
	if (ret < 0)
		goto fail_ring;
	u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->wake_fd < 0) {
		ret = -errno;
		goto fail_ring;
	}
	u->wake_op.done = wake_done;
	u->wake_op.owner = u;
	u->msg_op.done = msg_done;
	u->msg_op.owner = u;
	ret = arm_wake(u);
	if (ret < 0)
		goto fail_fd;
	describe_setup(u);
	*data = u;
	return 0;

fail_fd:
	close(u->wake_fd);
fail_ring:
	io_uring_queue_exit(&u->ring);
fail:
	free(u);
	return ret;
}

/* Loop close: every operation still in flight may point into a task's
 * stack or a record about to be freed, so cancel them all and wait for
 * their last completions before the ring goes. Their owners have been
 * abandoned (done is a no-op) by then. */
static void drain(struct uring *u)
{
	struct io_uring_sqe *sqe;
	int err = 0;

	if (!u->started || !u->inflight)
		return;
	if ((sqe = get_sqe(u, &err))) {
		io_uring_prep_cancel(sqe, NULL, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data(sqe, NULL);
	}
	while (u->inflight) {
		struct io_uring_cqe *cqe;
		int ret = io_uring_submit_and_wait(&u->ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN &&
		    ret != -EBUSY && io_uring_peek_cqe(&u->ring, &cqe) != 0)
			break; /* the kernel refuses: nothing more to wait for */
		reap(u);
	}
}

static void uring_destroy(void *data)
{
	struct uring *u = data;
	drain(u);
	io_uring_queue_exit(&u->ring);
	close(u->wake_fd);
	free(u->fd_ops);
	free(u);
}

static int uring_poll(void *data, int64_t timeout_ns)
{
	struct uring *u = data;
	int ret = 0;

	if (!u->started && (ret = enable(u)) < 0)
		return ret;
	if (timeout_ns == 0) {
		if (io_uring_sq_ready(&u->ring))
			ret = io_uring_submit_and_get_events(&u->ring);
	} else {
		struct __kernel_timespec ts, *tsp = NULL;
		struct io_uring_cqe *cqe;
		if (timeout_ns > 0) {
			ts.tv_sec = timeout_ns / CIO_NSEC_PER_SEC;
			ts.tv_nsec = timeout_ns % CIO_NSEC_PER_SEC;
			tsp = &ts;
		}
		ret = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, tsp,
						       NULL);
	}
	reap(u);
	if (ret == -ETIME || ret == -EINTR || ret == -EBUSY || ret == -EAGAIN)
		ret = 0;
	return ret < 0 ? ret : 0;
}

static void uring_wake(void *data)
{
	struct uring *u = data;
	uint64_t one = 1;
	/* EAGAIN means the counter is saturated: a wake-up is pending. */
	ssize_t n = write(u->wake_fd, &one, sizeof(one));
	(void)n;
}

/* Called on the thread of `from_data`'s loop, which is running: post a
 * completion into the target ring instead of writing its eventfd. It is
 * submitted at once, not with the loop's next batch: the caller holds the
 * target's `producers` count, which keeps the target ring (and so its fd)
 * alive only until we return. */
static int uring_wake_from(void *data, void *from_data)
{
	struct uring *u = data, *from = from_data;
	struct io_uring_sqe *sqe;
	int err = 0;

	if (!u->msg_ring || !from->msg_ring || !from->enabled)
		return -EOPNOTSUPP;
	if (!(sqe = get_sqe(from, &err)))
		return err;
	io_uring_prep_msg_ring(sqe, u->ring.ring_fd, 0,
			       (uint64_t)(uintptr_t)&u->msg_op, 0);
	/* Our own completion only matters if it failed; nobody listens. */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data(sqe, NULL);
	if ((err = flush(from)) < 0)
		return err;
	return 0;
}

static int uring_submit(void *data, struct cio__op *op)
{
	struct uring *u = data;
	struct io_uring_sqe *sqe;
	int err = 0;
	bool linked = op->deadline != 0;
	/* A close first cancels what is in flight on the descriptor: a
	 * hard link, so the close runs even when nothing was found. */
	bool cancel_first = op->kind == CIO__OP_CLOSE &&
			    fd_may_be_busy(u, op->fd);

	op->timed_out = false;
	/* An op and its linked timeout go in one submission: a link cut by
	 * a flush in between would leave the op without its deadline. */
	if ((linked || cancel_first) && (err = reserve(u, 2)) < 0)
		return err;
	if (!(sqe = get_sqe(u, &err)))
		return err;
	if (cancel_first) {
		io_uring_prep_cancel_fd(sqe, op->fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data(sqe, NULL);
		sqe->flags |= IOSQE_IO_HARDLINK;
		sqe = io_uring_get_sqe(&u->ring); /* room made above */
	}
	if ((err = cio__uring_prep(sqe, op)) < 0) {
		/* Nothing was queued: turn the SQE into a NOP nobody hears. */
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL);
		return err;
	}
	io_uring_sqe_set_data(sqe, op);
	u->inflight++;
	op->fd_counted = false;
	if (op->kind != CIO__OP_CLOSE)
		count_fd(u, op);
	if (linked) {
		int64_t d = op->deadline;
		sqe->flags |= IOSQE_IO_LINK;
		op->be.ts.tv_sec = d / CIO_NSEC_PER_SEC;
		op->be.ts.tv_nsec = d % CIO_NSEC_PER_SEC;
		/* Room for it was made above. */
		sqe = io_uring_get_sqe(&u->ring);
		io_uring_prep_link_timeout(sqe, &op->be.ts, IORING_TIMEOUT_ABS);
		io_uring_sqe_set_data(sqe, NULL);
	}
	return 0;
}

static int uring_cancel(void *data, struct cio__op *op)
{
	struct uring *u = data;
	struct io_uring_sqe *sqe;
	int err = 0;

	if (!(sqe = get_sqe(u, &err)))
		return err;
	io_uring_prep_cancel(sqe, op, 0);
	io_uring_sqe_set_data(sqe, NULL);
	return 0;
}

struct io_uring *cio__uring_ring(cio_loop *loop)
{
	if (loop->be != &cio__backend_uring)
		return NULL;
	return &((struct uring *)loop->be_data)->ring;
}

static const char *uring_describe(void *data)
{
	return ((struct uring *)data)->desc;
}

const struct cio__backend_ops cio__backend_uring = {
	.name = "io_uring",
	.create = uring_create,
	.destroy = uring_destroy,
	.poll = uring_poll,
	.wake = uring_wake,
	.wake_from = uring_wake_from,
	.submit = uring_submit,
	.cancel = uring_cancel,
	.describe = uring_describe,
};
