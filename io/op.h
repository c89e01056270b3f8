/* Internal: how io/ builds an operation record and awaits it. */
#ifndef CIO_IO_OP_H
#define CIO_IO_OP_H

#include <errno.h>
#include <string.h>

#include "runtime/backend.h"
#include "runtime/task_internal.h"

static inline void cio__op_init(struct cio__op *op, enum cio__op_kind kind,
				int fd, int64_t deadline)
{
	memset(op, 0, sizeof(*op));
	op->kind = (uint8_t)kind;
	op->fd = fd;
	op->deadline = cio__op_deadline(deadline);
}

/* The common start of a one-buffer transfer (read, write, recv, send):
 * check the descriptor and the buffer, clamp *len, init `op`. One SQE
 * moves at most what fits the CQE's 32-bit result; the clamp is the
 * kernel's own page-aligned limit for one read or write (MAX_RW_COUNT),
 * so a long transfer goes on from an aligned offset. Returns 0, or
 * -errno with `op` untouched. */
static inline int cio__op_init_buf(struct cio__op *op, enum cio__op_kind kind,
				   int fd, const void *buf, size_t *len,
				   int64_t deadline)
{
	if (fd < 0)
		return -EBADF;
	if (!buf && *len)
		return -EFAULT;
	if (*len > INT32_MAX)
		*len = INT32_MAX & ~4095;
	cio__op_init(op, kind, fd, deadline);
	return 0;
}

/* The running loop's backend kind: io/ takes a different path on each
 * only where the kernel interfaces differ (multishot, buffer rings). */
static inline bool cio__on_uring(void)
{
	return cio__tls_task &&
	       cio__tls_task->fut.loop->be == &cio__backend_uring;
}

/* A descriptor an operation returned after its task asked to cancel it
 * ("cancelled but executed"): nobody will own it, so close it and deliver
 * the cancellation now. */
int cio__op_drop_fd(struct cio__op *op, int fd);

#endif
