/* baseline-echo: a TCP echo server with no runtime at all, the classic
 * epoll loop (as in Redis' ae_epoll), so benchmarks can show what coreio
 * costs over hand-written code.
 *
 * One thread per worker, pinned to a CPU when possible, each with its own
 * SO_REUSEPORT listening socket and its own level-triggered epoll set: the
 * kernel spreads connections over the sockets and nothing is shared.
 * Each connection has one buffer: read into it, write it back; when the
 * peer does not take everything, stop reading and wait for EPOLLOUT, so a
 * slow reader costs a bounded buffer, not memory without end.
 *
 *   baseline-echo [--host H] [--port P] [--workers N]
 *
 * Prints "listening on HOST:PORT" once every worker's socket is bound;
 * SIGINT or SIGTERM ends it with status 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/baseline/common.h"

#define BUF_SIZE 16384

struct conn {
	int fd;
	uint32_t ev;        /* what epoll watches for now */
	size_t off, len;    /* buf[off, len) is still to be echoed */
	char buf[BUF_SIZE];
};

static void conn_close(struct conn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

static void conn_want(int ep, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->ev != ev && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->ev = ev;
}

/* Send what is pending; 1 when all of it went, 0 when the socket is full,
 * -1 when the connection is gone. MSG_NOSIGNAL: a reset peer must not kill
 * the process with SIGPIPE. */
static int conn_flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 1;
}

static void conn_event(int ep, struct conn *c)
{
	int r;

	/* One read per wakeup, level-triggered: a busy connection cannot
	 * starve the others of the same worker. */
	if (c->len == 0) {
		ssize_t n = read(c->fd, c->buf, sizeof(c->buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n < 0)
			return;
		c->len = (size_t)n;
	}
	r = conn_flush(c);
	if (r < 0)
		conn_close(c);
	else
		conn_want(ep, c, r ? EPOLLIN : EPOLLOUT);
}

static void event(int ep, void *conn)
{
	conn_event(ep, conn);
}

static void accepted(int ep, int fd)
{
	struct conn *c = malloc(sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->ev = EPOLLIN;
	c->off = c->len = 0;
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
		conn_close(c);
}

static const struct bl_ops ops = { accepted, event };

int main(int argc, char **argv)
{
	return bl_main(argc, argv, &ops);
}
