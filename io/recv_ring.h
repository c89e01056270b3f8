/* Internal: multishot receive into the loop's provided buffer ring.
 *
 * One recv SQE per connection keeps delivering data into buffers the
 * kernel picks from a ring shared by the whole loop; the reader copies out
 * of them and hands each buffer back the moment it is used up. On the
 * epoll backend (or where buffer rings are unavailable) the same calls do
 * a plain cio_recv() into the caller's memory.
 *
 * A cio__mrecv belongs to one descriptor and one task at a time (one
 * reader); it is created with cio__mrecv_open() and must be released with
 * cio__mrecv_close() before the descriptor is closed.
 */
#ifndef CIO_IO_RECV_RING_H
#define CIO_IO_RECV_RING_H

#include <sys/types.h>

#include "runtime/common.h"

struct cio__mrecv;

/* 0 and *out set, or -ENOMEM. Never fails for lack of io_uring: it then
 * falls back to one-shot receives. */
int cio__mrecv_open(struct cio__mrecv **out, int fd);

/* Up to `len` bytes into `buf`: > 0 bytes, 0 at end of stream, or a
 * negative errno (-ETIMEDOUT at `deadline`, -ECANCELED...). Data that
 * arrived before a cancellation stays queued for the next read. */
ssize_t cio__mrecv_read(struct cio__mrecv *m, void *buf, size_t len,
			int64_t deadline);

/* Stop receiving; waits for the kernel to let go of the request. */
void cio__mrecv_close(struct cio__mrecv *m);

#endif
