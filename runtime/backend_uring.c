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
	int wake_fd;
	uint64_t wake_buf;
	struct cio__op wake_op;
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

/* An SQE, flushing the submission queue when it is full. Never fails an
 * operation for lack of room: a full queue is submitted, and a kernel that
 * pushes back (CQ overflow backlog) is given completions until it takes
 * more. */
static struct io_uring_sqe *get_sqe(struct uring *u, int *err)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&u->ring))) {
		int ret = enable(u);
		if (ret == 0)
			ret = io_uring_submit(&u->ring);
		/* Kernels since 5.19 do not push back but park what does not
		 * fit the CQ on an overflow list, in kernel memory, without
		 * bound: drain it as soon as it starts. */
		if (ret == -EBUSY || ret == -EAGAIN || ret == -EINTR ||
		    (ret >= 0 && (IO_URING_READ_ONCE(*u->ring.sq.kflags) &
				  IORING_SQ_CQ_OVERFLOW)))
			reap(u);
		else if (ret < 0) {
			*err = ret;
			return NULL;
		}
	}
	return sqe;
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
				continue; /* a cancel request's own CQE */
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

static void uring_destroy(void *data)
{
	struct uring *u = data;
	io_uring_queue_exit(&u->ring);
	close(u->wake_fd);
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

static int uring_submit(void *data, struct cio__op *op)
{
	struct uring *u = data;
	struct io_uring_sqe *sqe;
	int err = 0;

	if (op->kind != CIO__OP_NOP)
		return -EOPNOTSUPP;
	if (!(sqe = get_sqe(u, &err)))
		return err;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, op);
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
	.submit = uring_submit,
	.cancel = uring_cancel,
	.describe = uring_describe,
};
