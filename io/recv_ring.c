/* Multishot receive with the loop's provided buffer ring (io_uring).
 *
 * The ring: recv_buffers buffers of recv_buffer_size bytes (defaults 1024
 * x 4 KiB = 4 MiB per loop), registered as buffer group 0 the first time
 * a connection asks for it, on the loop's thread (a SINGLE_ISSUER ring
 * refuses registration from any other).
 *
 * Per connection, one multishot recv SQE delivers each arrival into a
 * buffer the kernel takes from the ring; the CQE says which. Arrivals
 * queue here until the reader copies them out, and a buffer goes back to
 * the ring as soon as it has been copied in full.
 *
 * Fairness and running out:
 *   - A connection holding HOLD_MAX buffers nobody has read yet gets its
 *     multishot cancelled; it is re-armed when its reader has drained
 *     them. One slow reader cannot take the whole ring from the others.
 *   - When the ring is empty the kernel ends the multishot with -ENOBUFS.
 *     No data is lost (what was not received stays in the socket), and
 *     the next read of that connection receives one-shot into the
 *     caller's own buffer before re-arming, so a connection always makes
 *     progress even while others hold every ring buffer.
 */
#include "io/io_internal.h"
#include "io/op.h"
#include "io/recv_ring.h"
#include "io/socket.h"
#include "runtime/uring_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DEFAULT_BUFFERS 1024u
#define DEFAULT_BUFFER_SIZE 4096u
#define BGID 0

struct cio__buf_ring {
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	char *mem;
	unsigned count, size, mask;
	unsigned hold_max;
};

struct chunk {
	uint16_t bid;
	uint32_t len;
};

struct cio__mrecv {
	struct cio__op op;        /* the multishot recv */
	cio_loop *loop;
	struct cio__buf_ring *ring; /* NULL: one-shot receives only */
	int fd;
	bool armed;
	bool closing;             /* freed by the final CQE */
	bool nobufs;              /* the ring ran dry: next read one-shot */
	int32_t end;              /* 1: none; 0: EOF; < 0: error, after data */
	struct chunk *q;
	unsigned head, len, cap;
	uint32_t off;             /* bytes of q[head] already read */
	cio_task *waiter;
	struct cio__timer timer;
};

static void give_back(struct cio__buf_ring *r, uint16_t bid)
{
	io_uring_buf_ring_add(r->br, r->mem + (size_t)bid * r->size, r->size,
			      bid, r->mask, 0);
	io_uring_buf_ring_advance(r->br, 1);
}

static struct cio__buf_ring *ring_get(cio_loop *loop)
{
	struct cio__io *io = cio__io_get(loop);
	struct io_uring *ring = cio__uring_ring(loop);
	struct io_uring_buf_reg reg;
	struct cio__buf_ring *r;

	if (!io || !ring)
		return NULL;
	if (io->bufs)
		return io->bufs;
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	r->count = loop->recv_buffers ? loop->recv_buffers : DEFAULT_BUFFERS;
	r->size = loop->recv_buffer_size ? loop->recv_buffer_size
					 : DEFAULT_BUFFER_SIZE;
	r->mask = io_uring_buf_ring_mask(r->count);
	r->hold_max = r->count / 8 ? r->count / 8 : 1;
	r->br_bytes = r->count * sizeof(struct io_uring_buf);
	r->br = mmap(NULL, r->br_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->br == MAP_FAILED)
		goto fail;
	if (!(r->mem = malloc((size_t)r->count * r->size)))
		goto fail_map;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)r->br;
	reg.ring_entries = r->count;
	reg.bgid = BGID;
	if (io_uring_register_buf_ring(ring, &reg, 0) < 0)
		goto fail_mem; /* kernel before 5.19: one-shot receives */
	io_uring_buf_ring_init(r->br);
	for (unsigned i = 0; i < r->count; i++)
		io_uring_buf_ring_add(r->br, r->mem + (size_t)i * r->size,
				      r->size, (uint16_t)i, r->mask, (int)i);
	io_uring_buf_ring_advance(r->br, (int)r->count);
	io->bufs = r;
	return r;

fail_mem:
	free(r->mem);
fail_map:
	munmap(r->br, r->br_bytes);
fail:
	free(r);
	return NULL;
}

void cio__buf_ring_free(cio_loop *loop, struct cio__buf_ring *r)
{
	(void)loop;
	free(r->mem);
	munmap(r->br, r->br_bytes);
	free(r);
}

static void wake(struct cio__mrecv *m, intptr_t v)
{
	cio_task *t = m->waiter;
	if (!t)
		return;
	m->waiter = NULL;
	cio__timer_del(&m->loop->timers, &m->timer);
	cio__task_wake(t, v);
}

static void recv_done(struct cio__op *op)
{
	struct cio__mrecv *m = cio__container_of(op, struct cio__mrecv, op);
	int32_t res = op->res;
	bool has_buf = op->cqe_flags & IORING_CQE_F_BUFFER;
	uint16_t bid = (uint16_t)(op->cqe_flags >> IORING_CQE_BUFFER_SHIFT);

	if (!(op->cqe_flags & IORING_CQE_F_MORE))
		m->armed = false;
	if (m->closing) {
		if (has_buf)
			give_back(m->ring, bid);
		if (!m->armed)
			free(m);
		return;
	}
	if (res > 0 && has_buf) {
		if (m->len == m->cap) {
			unsigned cap = m->cap ? m->cap * 2 : 8;
			struct chunk *q = malloc(cap * sizeof(*q));
			if (!q) { /* the data would be lost: fail the stream */
				give_back(m->ring, bid);
				m->end = -ENOMEM;
				wake(m, 0);
				return;
			}
			for (unsigned i = 0; i < m->len; i++)
				q[i] = m->q[(m->head + i) % m->cap];
			free(m->q);
			m->q = q;
			m->head = 0;
			m->cap = cap;
		}
		m->q[(m->head + m->len++) % m->cap] =
			(struct chunk){ bid, (uint32_t)res };
		if (m->len >= m->ring->hold_max && m->armed &&
		    !op->cancel_sent) {
			op->cancel_sent = true;
			m->loop->be->cancel(m->loop->be_data, op);
		}
	} else if (res == -ENOBUFS) {
		m->nobufs = true;
	} else if (res == -ECANCELED && op->cancel_sent) {
		/* our pause; re-armed by the reader */
	} else if (res <= 0) {
		m->end = res;
	}
	wake(m, 0);
}

static int arm(struct cio__mrecv *m)
{
	int ret;

	cio__op_init(&m->op, CIO__OP_RECV_MULTI, m->fd, CIO_NO_DEADLINE);
	m->op.a.recv_multi.bgid = BGID;
	m->op.done = recv_done;
	m->op.owner = m;
	if ((ret = m->loop->be->submit(m->loop->be_data, &m->op)) == 0)
		m->armed = true;
	return ret;
}

int cio__mrecv_open(struct cio__mrecv **out, int fd)
{
	struct cio__mrecv *m;

	if (fd < 0)
		return -EBADF;
	if (!(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	m->fd = fd;
	m->end = 1;
	if (cio__tls_task) {
		m->loop = cio__tls_task->fut.loop;
		m->ring = ring_get(m->loop);
	}
	*out = m;
	return 0;
}

static size_t copy_out(struct cio__mrecv *m, char *buf, size_t len)
{
	size_t n = 0;

	while (m->len && n < len) {
		struct chunk *c = &m->q[m->head];
		size_t k = c->len - m->off;
		if (k > len - n)
			k = len - n;
		memcpy(buf + n, m->ring->mem + (size_t)c->bid * m->ring->size +
				m->off, k);
		n += k;
		m->off += (uint32_t)k;
		if (m->off == c->len) {
			give_back(m->ring, c->bid);
			m->head = (m->head + 1) % m->cap;
			m->len--;
			m->off = 0;
		}
	}
	return n;
}

static void waiter_cancel(cio_task *t, void *ctx)
{
	struct cio__mrecv *m = ctx;
	(void)t;
	wake(m, -ECANCELED);
}

static void waiter_abandon(cio_task *t, void *ctx)
{
	struct cio__mrecv *m = ctx;
	(void)t;
	m->waiter = NULL;
	cio__timer_del(&m->loop->timers, &m->timer);
}

static const struct cio__park_ops waiter_park = {
	.cancel = waiter_cancel,
	.abandon = waiter_abandon,
};

static void waiter_timeout(struct cio__timer *tm)
{
	struct cio__mrecv *m = cio__container_of(tm, struct cio__mrecv, timer);
	if (m->loop->closed)
		return;
	wake(m, -ETIMEDOUT);
}

ssize_t cio__mrecv_read(struct cio__mrecv *m, void *buf, size_t len,
			int64_t deadline)
{
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	if (!m->ring || !t || t->fut.loop != m->loop)
		return cio_recv(m->fd, buf, len, 0, deadline);
	if (!buf && len)
		return -EFAULT;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (m->waiter)
		return -EBUSY; /* one reader at a time */
	for (;;) {
		if (m->len)
			return (ssize_t)copy_out(m, buf, len);
		if (m->end <= 0)
			return m->end; /* EOF stays EOF; an error stays */
		if (m->nobufs && !m->armed) {
			m->nobufs = false;
			return cio_recv(m->fd, buf, len, 0, deadline);
		}
		if (!m->armed && (ret = arm(m)) < 0)
			return ret;
		if (deadline != CIO_NO_DEADLINE && deadline <= cio_loop_time())
			return -ETIMEDOUT;
		cio__timer_init(&m->timer, waiter_timeout);
		if (deadline != CIO_NO_DEADLINE &&
		    (ret = cio__timer_add(&m->loop->timers, &m->timer,
					  deadline)) < 0)
			return ret;
		m->waiter = t;
		v = cio__task_park(&waiter_park, m);
		if (v == -ECANCELED)
			t->cancel_pending = false;
		if (v < 0)
			return v;
	}
}

void cio__mrecv_close(struct cio__mrecv *m)
{
	if (!m)
		return;
	wake(m, -ECANCELED);
	if (m->ring) {
		while (m->len) {
			give_back(m->ring, m->q[m->head].bid);
			m->head = (m->head + 1) % m->cap;
			m->len--;
		}
	}
	free(m->q);
	m->q = NULL;
	if (m->armed && !m->loop->closed) {
		m->closing = true;
		if (!m->op.cancel_sent) {
			m->op.cancel_sent = true;
			m->loop->be->cancel(m->loop->be_data, &m->op);
		}
		return;
	}
	free(m);
}
