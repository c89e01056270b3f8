/* Per-loop state of io/ and the descriptor hooks. */
#include "io/io_internal.h"
#include "runtime/epoll_internal.h"

#include <stdlib.h>

struct cio__io *cio__io_get(cio_loop *loop)
{
	if (!loop->io && (loop->io = calloc(1, sizeof(*loop->io)))) {
		cio__list_init(&loop->io->servers);
		cio__waitq_init(&loop->io->servers_q);
	}
	return loop->io;
}

void cio__io_fd_new(cio_loop *loop, int fd)
{
	if (!loop || fd < 0)
		return;
	if (loop->be == &cio__backend_epoll)
		cio__epoll_fd_new(loop->be_data, fd);
	else
		cio__io_fd_closing(loop, fd);
}

void cio__io_fd_closing(cio_loop *loop, int fd)
{
	struct cio__io *io = loop ? loop->io : NULL;

	if (!io || fd < 0 || fd >= io->nlisteners || !io->listeners[fd])
		return;
	cio__listener_detach(io->listeners[fd]);
	io->listeners[fd] = NULL;
}

void cio__io_loop_close(cio_loop *loop)
{
	struct cio__io *io = loop->io;

	if (!io)
		return;
	for (int fd = 0; fd < io->nlisteners; fd++)
		if (io->listeners[fd])
			cio__listener_detach(io->listeners[fd]);
	free(io->listeners);
	io->listeners = NULL;
	io->nlisteners = 0;
}

void cio__io_loop_release(cio_loop *loop)
{
	struct cio__io *io = loop->io;

	if (!io)
		return;
	/* After the backend drained: no receive can write into it now. */
	if (io->bufs)
		cio__buf_ring_free(loop, io->bufs);
	free(io);
	loop->io = NULL;
}
