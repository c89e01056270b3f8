/* Streams: the write side (write buffer, flusher task, back-pressure) and
 * closing.
 *
 * The flusher is a task of the stream's own, alive while there is
 * something to send (or a close to carry out). Writers append to `pend`;
 * the flusher swaps it with the empty `out` and sends `out`, so the buffer
 * a send is reading from is never moved or freed under the kernel.
 *
 * Closing is done by one task, in order: flush (unless aborting), get the
 * reader out, stop receiving, close the descriptor. That task is the
 * flusher when one could be started, else whoever calls wait_closed() or
 * free() first.
 */
#include "io/stream_internal.h"
#include "io/file.h"
#include "io/socket.h"
#include "runtime/task_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t wbuffered(const cio_stream *s)
{
	return (s->out.len - s->out.pos) + s->pend.len;
}

size_t cio_stream_write_buffered(const cio_stream *s)
{
	/* After abort, a send in flight may still hold `out`: it is dropped
	 * all the same. */
	return s && !s->aborting ? wbuffered(s) : 0;
}

bool cio_stream_is_closing(const cio_stream *s)
{
	return s && s->closing;
}

/* Empty `b`; a buffer grown well past the water mark is given back. */
static void sbuf_reset(cio_stream *s, struct cio__sbuf *b)
{
	b->pos = b->len = 0;
	if (b->cap > 2 * s->high && b->cap > 64 * 1024) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

static int append(struct cio__sbuf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap * 2;
		char *q;

		if (b->len + n < b->len)
			return -ENOMEM;
		if (cap < b->len + n)
			cap = b->len + n;
		if (cap < 1024)
			cap = 1024;
		if (!(q = realloc(b->p, cap)))
			return -ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* -- closing ----------------------------------------------------------------- */

static void stream_shutdown(cio_stream *s)
{
	s->shutting_down = true;
	cio__stream_stop_reading(s);
	if (!(s->flags & CIO_STREAM_KEEP_FD))
		cio_close(s->fd);
	s->closed = true;
	s->shutting_down = false;
	cio__waitq_wake_all(&s->stateq, 0);
	cio__waitq_wake_all(&s->drainq, 0);
}

/* Drop what is buffered; `out` only when no send reads from it. */
static void drop_buffers(cio_stream *s)
{
	sbuf_reset(s, &s->pend);
	if (!s->flusher_sending)
		sbuf_reset(s, &s->out);
	s->paused = false;
	cio__waitq_wake_all(&s->drainq, 0);
}

/* -- the flusher ------------------------------------------------------------- */

static ssize_t raw_write(cio_stream *s, const void *p, size_t n)
{
	if (s->is_socket)
		return cio_send(s->fd, p, n, 0, CIO_NO_DEADLINE);
	return cio_write(s->fd, p, n, -1, CIO_NO_DEADLINE);
}

static intptr_t flusher_main(void *arg)
{
	cio_stream *s = arg;
	cio_task *self = s->flusher;
	struct cio__sbuf tmp;
	ssize_t n;

	while (!s->aborting && !s->werr) {
		if (s->out.pos == s->out.len) {
			if (!s->pend.len)
				break;
			tmp = s->out;
			s->out = s->pend;
			s->pend = tmp;
			s->pend.pos = s->pend.len = 0;
		}
		s->flusher_sending = true;
		n = raw_write(s, s->out.p + s->out.pos, s->out.len - s->out.pos);
		s->flusher_sending = false;
		if (s->flusher_kicked) {
			/* abort() cancelled the send; a send that completed
			 * anyway must not leave that request pending. */
			s->flusher_kicked = false;
			cio_task_uncancel(self);
		}
		if (n <= 0) {
			if (!s->aborting)
				s->werr = n < 0 ? (int)n : -EIO;
			break;
		}
		s->out.pos += (size_t)n;
		if (s->out.pos == s->out.len)
			sbuf_reset(s, &s->out);
		if (s->paused && wbuffered(s) <= s->low)
			s->paused = false;
		cio__waitq_wake_all(&s->drainq, 0);
	}
	if (s->aborting || s->werr) {
		drop_buffers(s);
	} else if (s->eof_requested && !s->eof_sent) {
		/* Writes are refused from here on, so nothing can be left
		 * behind while this parks. */
		s->eof_sent = true;
		n = cio_shutdown(s->fd, SHUT_WR);
		if (n < 0 && n != -ENOTCONN)
			s->werr = (int)n;
		cio__waitq_wake_all(&s->drainq, 0);
	}
	if (s->closing && !s->closed && !s->shutting_down)
		stream_shutdown(s);
	s->flusher = NULL;
	cio_task_unref(self);
	if (s->orphaned)
		cio__stream_release(s);
	return 0;
}

static int start_flusher(cio_stream *s)
{
	struct cio_task_opts o = { .loop = s->loop, .name = "stream-flusher" };
	cio_task *t;
	int ret;

	if (s->flusher)
		return 0;
	if ((ret = cio_spawn(&t, flusher_main, s, &o)) < 0)
		return ret;
	s->flusher = t;
	return 0;
}

/* -- writing ----------------------------------------------------------------- */

static int write_check(const cio_stream *s)
{
	if (s->closing)
		return -EBADF;
	if (s->werr)
		return s->werr;
	if (s->eof_requested)
		return -EPIPE;
	return 0;
}

int cio_stream_write(cio_stream *s, const void *buf, size_t len)
{
	int ret;

	if (!s || (!buf && len))
		return -EINVAL;
	if ((ret = write_check(s)) < 0 || !len)
		return ret;
	if ((ret = append(&s->pend, buf, len)) < 0)
		return ret;
	if ((ret = start_flusher(s)) < 0) {
		s->pend.len -= len;
		return ret;
	}
	if (wbuffered(s) > s->high)
		s->paused = true;
	return 0;
}

int cio_stream_write_eof(cio_stream *s)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (s->eof_requested && !s->closing)
		return 0;
	if ((ret = write_check(s)) < 0)
		return ret;
	if (!s->is_socket)
		return -EOPNOTSUPP;
	if ((ret = start_flusher(s)) < 0)
		return ret;
	s->eof_requested = true;
	return 0;
}

/* Park until done(s) holds or the write side failed. */
static int wait_written(cio_stream *s, int64_t deadline,
			bool (*done)(const cio_stream *s))
{
	int ret;

	if (!s)
		return -EINVAL;
	if (!cio__tls_task)
		return -EPERM;
	if (s->closing)
		return -EBADF;
	for (;;) {
		if (s->werr)
			return s->werr;
		if (done(s))
			return 0;
		if ((ret = cio__waitq_wait(&s->drainq, deadline)) < 0)
			return ret;
	}
}

static bool below_low(const cio_stream *s)
{
	return !s->paused;
}

static bool all_sent(const cio_stream *s)
{
	return wbuffered(s) == 0;
}

int cio_stream_drain(cio_stream *s, int64_t deadline)
{
	return wait_written(s, deadline, below_low);
}

int cio_stream_flush(cio_stream *s, int64_t deadline)
{
	return wait_written(s, deadline, all_sent);
}

/* -- close, abort, wait_closed, free ----------------------------------------- */

static void begin_close(cio_stream *s, bool abort)
{
	s->closing = true;
	if (abort && !s->aborting) {
		s->aborting = true;
		if (wbuffered(s) && !s->werr)
			s->werr = -ECONNABORTED;
		drop_buffers(s);
		if (s->flusher && s->flusher_sending && !s->flusher_kicked) {
			s->flusher_kicked = true;
			cio_task_cancel(s->flusher);
		}
	}
}

int cio_stream_close(cio_stream *s)
{
	if (!s)
		return -EINVAL;
	if (s->closing)
		return 0;
	begin_close(s, false);
	/* Without a flusher, wait_closed() or free() closes instead. */
	start_flusher(s);
	return 0;
}

int cio_stream_abort(cio_stream *s)
{
	if (!s)
		return -EINVAL;
	if (s->closed)
		return 0;
	begin_close(s, true);
	if (!s->shutting_down)
		start_flusher(s);
	return 0;
}

int cio_stream_wait_closed(cio_stream *s, int64_t deadline)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (!cio__tls_task)
		return -EPERM;
	while (!s->closed) {
		/* No flusher means nothing is buffered: close right here. */
		if (s->closing && !s->flusher && !s->shutting_down) {
			stream_shutdown(s);
			break;
		}
		if ((ret = cio__waitq_wait(&s->stateq, deadline)) < 0)
			return ret;
	}
	return s->werr;
}

void cio_stream_free(cio_stream *s)
{
	if (!s)
		return;
	if (!s->closing)
		begin_close(s, true);
	if (s->flusher) {
		s->orphaned = true;
		return;
	}
	if (!s->closed && !s->shutting_down)
		stream_shutdown(s);
	cio__stream_release(s);
}
