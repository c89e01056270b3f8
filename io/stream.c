/* Streams: creation and the read side. */
#include "io/stream_internal.h"
#include "io/file.h"
#include "io/recv_ring.h"
#include "io/socket.h"
#include "runtime/task_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SIZE ((size_t)1 << 30)

int cio__stream_opts_check(const struct cio_stream_opts *opts,
			   struct cio_stream_opts *out)
{
	struct cio_stream_opts o = { 0 };

	if (opts)
		o = *opts;
	if ((o.flags & ~(CIO_STREAM_KEEP_FD | CIO_STREAM_RECV_ONESHOT)) || o.limit > MAX_SIZE ||
	    o.high_water > MAX_SIZE || o.read_size > MAX_SIZE)
		return -EINVAL;
	if (!o.limit)
		o.limit = CIO_STREAM_DEFAULT_LIMIT;
	if (!o.high_water)
		o.high_water = CIO_STREAM_DEFAULT_HIGH_WATER;
	if (!o.low_water)
		o.low_water = o.high_water / 4;
	if (!o.read_size)
		o.read_size = CIO_STREAM_DEFAULT_READ_SIZE;
	if (o.low_water > o.high_water)
		return -EINVAL;
	if (out)
		*out = o;
	return 0;
}

int cio_stream_new(cio_stream **out, int fd,
		   const struct cio_stream_opts *opts)
{
	struct cio_stream_opts o;
	cio_loop *loop;
	cio_stream *s;
	struct stat st;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (fd < 0)
		return -EINVAL;
	if ((ret = cio__stream_opts_check(opts, &o)) < 0)
		return ret;
	loop = cio__tls_task ? cio__tls_task->fut.loop : cio_loop_current();
	if (!loop || cio_loop_is_closed(loop))
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -EBADF;
	if (!(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	s->loop = loop;
	s->fd = fd;
	s->is_socket = S_ISSOCK(st.st_mode);
	s->flags = o.flags;
	s->limit = o.limit;
	s->read_size = o.read_size;
	s->high = o.high_water;
	s->low = o.low_water;
	cio__waitq_init(&s->drainq);
	cio__waitq_init(&s->stateq);
	*out = s;
	return 0;
}

void cio__stream_release(cio_stream *s)
{
	free(s->rbuf.p);
	free(s->out.p);
	free(s->pend.p);
	free(s);
}

size_t cio_stream_buffered(const cio_stream *s)
{
	return s ? s->rbuf.len - s->rbuf.pos : 0;
}

bool cio_stream_at_eof(const cio_stream *s)
{
	return s && s->eof && s->rbuf.len == s->rbuf.pos;
}

int cio_stream_fd(const cio_stream *s)
{
	return s && !s->closed ? s->fd : -EBADF;
}

/* -- the reader slot --------------------------------------------------------- */

static int enter_read(cio_stream *s)
{
	if (!cio__tls_task)
		return -EPERM;
	if (cio__tls_task->fut.loop != s->loop)
		return -EINVAL;
	if (s->closing)
		return -EBADF;
	if (s->reader)
		return -EBUSY;
	s->reader = cio__tls_task;
	return 0;
}

static ssize_t leave_read(cio_stream *s, ssize_t ret)
{
	cio_task *self = s->reader;

	s->reader = NULL;
	if (s->reader_kicked) {
		/* The closer cancelled us to get us out: withdraw that
		 * request; any other one stays and wins. */
		s->reader_kicked = false;
		cio_task_uncancel(self);
		if (ret == -ECANCELED && cio_task_cancelling(self) == 0)
			ret = -EBADF;
	}
	if (s->shutting_down)
		cio__waitq_wake_all(&s->stateq, 0);
	return ret;
}

void cio__stream_stop_reading(cio_stream *s)
{
	/* Outside a task (free() after the loop ran) nobody can be reading
	 * and nothing can wait. */
	while (s->reader && cio__tls_task) {
		if (!s->reader_kicked) {
			s->reader_kicked = true;
			cio_task_cancel(s->reader);
		}
		cio__waitq_wait_uncancellable(&s->stateq);
	}
	if (s->mrecv) {
		cio__mrecv_close(s->mrecv);
		s->mrecv = NULL;
	}
}

/* -- the read buffer --------------------------------------------------------- */

static void consume(cio_stream *s, void *dst, size_t n)
{
	struct cio__sbuf *b = &s->rbuf;

	if (!n)
		return;
	if (dst)
		memcpy(dst, b->p + b->pos, n);
	b->pos += n;
	if (b->pos < b->len)
		return;
	b->pos = b->len = 0;
	/* A big read_exactly or line grew it: give that back. */
	if (b->cap > 4 * s->read_size) {
		free(b->p);
		b->p = NULL;
		b->cap = 0;
	}
}

/* Room to read at least one more byte, such that the buffered data can
 * grow to `need` bytes without moving again. Growth doubles (capped by
 * `most`, the most a caller can use, but never below read_size), so a
 * line that arrives a byte at a time is copied O(1) times per byte. */
static int reserve(cio_stream *s, size_t need, size_t most)
{
	struct cio__sbuf *b = &s->rbuf;
	size_t have = b->len - b->pos, cap;
	char *p;

	if (need <= have)
		need = have + 1;
	if (b->cap - b->pos >= need && b->len < b->cap &&
	    !(b->pos && b->cap - b->len < b->cap / 4))
		return 0;
	if (b->cap >= need) {
		memmove(b->p, b->p + b->pos, have);
		b->pos = 0;
		b->len = have;
		return 0;
	}
	cap = b->cap * 2;
	if (cap > most)
		cap = most;
	if (cap < s->read_size)
		cap = s->read_size;
	if (cap < need)
		cap = need;
	if (!(p = malloc(cap)))
		return -ENOMEM;
	if (have)
		memcpy(p, b->p + b->pos, have);
	free(b->p);
	b->p = p;
	b->cap = cap;
	b->pos = 0;
	b->len = have;
	return 0;
}

/* One read of the descriptor. End of file and hard errors are remembered;
 * a timeout, a cancellation or a closing stream are not. */
static ssize_t raw_read(cio_stream *s, void *buf, size_t len,
			int64_t deadline)
{
	ssize_t n;
	int ret;

	if (s->is_socket && !(s->flags & CIO_STREAM_RECV_ONESHOT)) {
		if (!s->mrecv && (ret = cio__mrecv_open(&s->mrecv, s->fd)) < 0)
			return ret;
		n = cio__mrecv_read(s->mrecv, buf, len, deadline);
	} else if (s->is_socket) {
		n = cio_recv(s->fd, buf, len, 0, deadline);
	} else {
		n = cio_read(s->fd, buf, len, -1, deadline);
	}
	if (n == 0)
		s->eof = true;
	else if (n < 0 && n != -ETIMEDOUT && n != -ECANCELED &&
		 n != -ENOMEM && n != -EINTR && n != -EAGAIN && !s->closing)
		s->rerr = (int)n;
	return n;
}

static ssize_t fill(cio_stream *s, size_t need, size_t most,
		    int64_t deadline)
{
	struct cio__sbuf *b = &s->rbuf;
	ssize_t n;
	int ret;

	if ((ret = reserve(s, need, most)) < 0)
		return ret;
	n = raw_read(s, b->p + b->len, b->cap - b->len, deadline);
	if (n > 0)
		b->len += (size_t)n;
	return n;
}

/* What a read that needs more data returns when none can come. */
static int no_more(cio_stream *s)
{
	return s->rerr ? s->rerr : 0;
}

/* -- read calls -------------------------------------------------------------- */

ssize_t cio_stream_read(cio_stream *s, void *buf, size_t len,
			int64_t deadline)
{
	size_t have;
	ssize_t n;
	int ret;

	if (!s || (!buf && len))
		return -EINVAL;
	if ((ret = enter_read(s)) < 0)
		return ret;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (;;) {
		have = s->rbuf.len - s->rbuf.pos;
		if (have || !len) {
			n = (ssize_t)(have < len ? have : len);
			consume(s, buf, (size_t)n);
			break;
		}
		if (s->eof || s->rerr) {
			n = no_more(s);
			break;
		}
		/* Big reads skip the copy. */
		if (len >= s->read_size) {
			n = raw_read(s, buf, len, deadline);
			break;
		}
		if ((n = fill(s, 1, s->read_size, deadline)) < 0)
			break;
	}
	return leave_read(s, n);
}

ssize_t cio_stream_read_exactly(cio_stream *s, void *buf, size_t n,
				int64_t deadline)
{
	ssize_t ret;

	if (!s || (!buf && n) || n > SSIZE_MAX)
		return -EINVAL;
	if ((ret = enter_read(s)) < 0)
		return ret;
	for (;;) {
		if (s->rbuf.len - s->rbuf.pos >= n) {
			consume(s, buf, n);
			ret = (ssize_t)n;
			break;
		}
		if (s->eof || s->rerr) {
			ret = s->rerr ? s->rerr : -EPIPE;
			break;
		}
		if ((ret = fill(s, n, n, deadline)) < 0)
			break;
	}
	return leave_read(s, ret);
}

/* read_until and readline. `partial_ok`: at end of file, return the bytes
 * left (readline) instead of -EPIPE (read_until). */
static ssize_t until(cio_stream *s, const void *sep, size_t seplen,
		     void *buf, size_t cap, int64_t deadline, bool partial_ok)
{
	struct cio__sbuf *b = &s->rbuf;
	size_t limit, scanned = 0, have, idx;
	const char *hit;
	ssize_t ret;

	if (!s || !sep || !seplen || (!buf && cap) || cap < seplen)
		return -EINVAL;
	limit = cap - seplen < s->limit ? cap - seplen : s->limit;
	if ((ret = enter_read(s)) < 0)
		return ret;
	for (;;) {
		have = b->len - b->pos;
		/* Only what arrived since the last pass is new: a separator
		 * starting before `scanned` would have been found then. */
		if (have >= seplen) {
			hit = memmem(b->p + b->pos + scanned, have - scanned,
				     sep, seplen);
			if (hit) {
				idx = (size_t)(hit - (b->p + b->pos));
				if (idx > limit) {
					ret = -EOVERFLOW;
					break;
				}
				consume(s, buf, idx + seplen);
				ret = (ssize_t)(idx + seplen);
				break;
			}
			scanned = have - seplen + 1;
		}
		if (scanned > limit) {
			ret = -EOVERFLOW;
			break;
		}
		if (s->eof || s->rerr) {
			if (s->rerr)
				ret = s->rerr;
			else if (!partial_ok)
				ret = -EPIPE;
			else {
				/* have <= limit here, so it fits. */
				consume(s, buf, have);
				ret = (ssize_t)have;
			}
			break;
		}
		if ((ret = fill(s, have + 1, limit + seplen, deadline)) < 0)
			break;
	}
	return leave_read(s, ret);
}

ssize_t cio_stream_read_until(cio_stream *s, const void *sep, size_t seplen,
			      void *buf, size_t cap, int64_t deadline)
{
	return until(s, sep, seplen, buf, cap, deadline, false);
}

ssize_t cio_stream_readline(cio_stream *s, void *buf, size_t cap,
			    int64_t deadline)
{
	return until(s, "\n", 1, buf, cap, deadline, true);
}
