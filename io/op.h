/* Internal: how io/ builds an operation record and awaits it. */
#ifndef CIO_IO_OP_H
#define CIO_IO_OP_H

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
