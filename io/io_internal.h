/* Internal: per-loop state of io/ (loop->io), and the hooks io/ files
 * call when descriptors appear and go. */
#ifndef CIO_IO_IO_INTERNAL_H
#define CIO_IO_IO_INTERNAL_H

#include "io/waitq.h"
#include "runtime/list.h"
#include "runtime/loop_internal.h"

struct cio__listener;
struct cio__buf_ring;

struct cio__io {
	struct cio__listener **listeners; /* by descriptor; io_uring only */
	int nlisteners;
	struct cio__buf_ring *bufs;       /* provided buffers; io_uring */
	/* Every server part of this loop (not fronts), for a shard's
	 * graceful shutdown: woken when a handler or an acceptor ends. */
	struct cio__list servers;
	struct cio__waitq servers_q;
};

/* loop->io, created on first use; NULL when out of memory. */
struct cio__io *cio__io_get(cio_loop *loop);

/* A descriptor the kernel just handed out: forget what any earlier
 * descriptor with this number left behind. */
void cio__io_fd_new(cio_loop *loop, int fd);

/* `fd` is being closed: detach the state io/ keeps for it (its
 * multishot accept is cancelled, waiters get -ECANCELED). */
void cio__io_fd_closing(cio_loop *loop, int fd);

/* accept.c */
void cio__listener_detach(struct cio__listener *l);
int cio__accept_multishot(cio_loop *loop, int fd, int64_t deadline);

/* recv_ring.c */
void cio__buf_ring_free(cio_loop *loop, struct cio__buf_ring *br);

#endif
