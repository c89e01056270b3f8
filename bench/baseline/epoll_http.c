/* baseline-http: an HTTP/1.1 "Hello, World!" server with no runtime at
 * all, the classic epoll loop, as the baseline of the wrk plaintext
 * benchmark (what coreio's http server costs over hand-written code).
 *
 * Not a general server: every request is assumed to be a GET without a
 * body, delimited by the blank line "\r\n\r\n", and gets the same 200
 * response; the request line and headers are not parsed (no
 * "Connection: close", no bodies, no chunking). Keep-alive and pipelining
 * work: each request in the input gets its response, in order, and the
 * responses of one read go out in one send. A request whose headers pass
 * 8 KiB closes the connection.
 *
 * Structure as in epoll_echo.c: one pinned thread per worker, each with
 * its own SO_REUSEPORT socket and level-triggered epoll set; a connection
 * waits for EPOLLOUT (and stops reading) while its responses do not fit
 * in the socket, so a client that pipelines without reading is bounded.
 *
 *   baseline-http [--host H] [--port P] [--workers N]
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

#define IN_SIZE 8192   /* the largest request headers accepted */
#define OUT_SIZE 65536

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
			       "Content-Length: 13\r\n"
			       "Content-Type: text/plain\r\n"
			       "\r\n"
			       "Hello, World!";
#define RESPONSE_LEN (sizeof(RESPONSE) - 1)

struct conn {
	int fd;
	uint32_t ev;          /* what epoll watches for now */
	size_t in_len;        /* in[0, in_len): received, not yet answered */
	size_t out_off, out_len; /* out[out_off, out_len): still to send */
	char in[IN_SIZE];
	char out[OUT_SIZE];
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
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/* Answer the complete requests at the start of `in` while the responses
 * fit in `out`; keep the rest of the input (a partial request, or requests
 * left for when `out` has drained). Returns whether any were answered. */
static int answer(struct conn *c)
{
	size_t pos = 0;
	char *end;

	while (c->out_len + RESPONSE_LEN <= OUT_SIZE &&
	       (end = memmem(c->in + pos, c->in_len - pos, "\r\n\r\n", 4))) {
		memcpy(c->out + c->out_len, RESPONSE, RESPONSE_LEN);
		c->out_len += RESPONSE_LEN;
		pos = (size_t)(end - c->in) + 4;
	}
	if (pos > 0)
		memmove(c->in, c->in + pos, c->in_len -= pos);
	return pos > 0;
}

static void conn_event(int ep, struct conn *c)
{
	int r;

	/* Responses left over from a full socket go first; reading waits
	 * until they have gone. */
	if (c->out_len > 0) {
		r = conn_flush(c);
		if (r <= 0)
			goto out;
	} else {
		/* One read per wakeup, level-triggered: a busy connection
		 * cannot starve the others of the same worker. */
		ssize_t n = read(c->fd, c->in + c->in_len,
				 IN_SIZE - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
	}
	/* Requests left in `in` when `out` filled up are answered as soon as
	 * it has drained. */
	r = 1;
	while (answer(c) && (r = conn_flush(c)) == 1)
		;
	if (r == 1 && c->in_len == IN_SIZE)
		r = -1; /* headers over 8 KiB: not a request we serve */
out:
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
	c->in_len = c->out_off = c->out_len = 0;
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
		conn_close(c);
}

static const struct bl_ops ops = { accepted, event };

int main(int argc, char **argv)
{
	return bl_main(argc, argv, &ops);
}
