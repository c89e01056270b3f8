/* cio_accept() on io_uring: one multishot accept per listening socket.
 *
 * The kernel keeps accepting on one SQE and posts a CQE per connection.
 * Connections nobody waits for yet queue here; a task in cio_accept()
 * takes the oldest or parks until the next one arrives. When the queue
 * holds QUEUE_PAUSE connections the multishot is cancelled, so a server
 * that stops accepting leaves further connections in the kernel's listen
 * backlog (where the kernel applies its own limit) rather than here; it is
 * re-armed when a task asks again. The kernel also ends a multishot on an
 * error (EMFILE, ENFILE...): that error goes to one waiting task, and the
 * next cio_accept() re-arms.
 *
 * A listener outlives its descriptor while its multishot is in flight:
 * cio_close() detaches it, and the final CQE frees it.
 */
#include "io/io_internal.h"
#include "io/op.h"

#include <liburing.h>

#include <stdlib.h>
#include <unistd.h>

#define QUEUE_PAUSE 128

struct cio__listener {
	struct cio__op op;       /* the multishot accept */
	cio_loop *loop;
	int fd;
	bool armed;              /* op in flight */
	bool detached;           /* fd closed or loop closing */
	int *q;                  /* accepted descriptors, FIFO */
	unsigned head, len, cap;
	int err;                 /* an error no task has taken yet */
	struct cio__list waiters;
};

struct waiter {
	struct cio__list node;
	cio_task *task;
	struct cio__timer timer;
};

static void listener_free(struct cio__listener *l)
{
	for (unsigned i = 0; i < l->len; i++)
		close(l->q[(l->head + i) % l->cap]);
	free(l->q);
	free(l);
}

static int push(struct cio__listener *l, int fd)
{
	if (l->len == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 16;
		int *q = malloc(cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		for (unsigned i = 0; i < l->len; i++)
			q[i] = l->q[(l->head + i) % l->cap];
		free(l->q);
		l->q = q;
		l->head = 0;
		l->cap = cap;
	}
	l->q[(l->head + l->len++) % l->cap] = fd;
	return 0;
}

static int pop(struct cio__listener *l)
{
	int fd = l->q[l->head];
	l->head = (l->head + 1) % l->cap;
	l->len--;
	return fd;
}

static void wake_first(struct cio__listener *l, intptr_t v)
{
	struct waiter *w = cio__container_of(l->waiters.next, struct waiter,
					     node);
	cio__list_del(&w->node);
	cio__timer_del(&l->loop->timers, &w->timer);
	cio__task_wake(w->task, v);
}

static int arm(struct cio__listener *l);

static void multishot_done(struct cio__op *op)
{
	struct cio__listener *l = cio__container_of(op, struct cio__listener,
						    op);
	int res = op->res;

	if (!(op->cqe_flags & IORING_CQE_F_MORE))
		l->armed = false;
	if (l->detached) {
		if (res >= 0)
			close(res);
		if (!l->armed)
			listener_free(l);
		return;
	}
	if (res >= 0) {
		if (!cio__list_empty(&l->waiters))
			wake_first(l, res);
		else if (push(l, res) < 0)
			close(res); /* out of memory: drop it, not the loop */
		else if (l->len >= QUEUE_PAUSE && l->armed && !op->cancel_sent) {
			op->cancel_sent = true;
			l->loop->be->cancel(l->loop->be_data, op);
		}
		return;
	}
	if (res == -ECANCELED) {
		/* Our pause. A taker that emptied the queue and parked while
		 * the cancel was in flight saw the accept still armed and did
		 * not re-arm it: do it for them, or they wait forever. */
		if (!l->armed && !cio__list_empty(&l->waiters) &&
		    (res = arm(l)) < 0)
			wake_first(l, res);
		return;
	}
	if (!cio__list_empty(&l->waiters))
		wake_first(l, res);
	else
		l->err = res;
}

static int arm(struct cio__listener *l)
{
	int ret;

	cio__op_init(&l->op, CIO__OP_ACCEPT_MULTI, l->fd, CIO_NO_DEADLINE);
	l->op.a.accept.flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
	l->op.done = multishot_done;
	l->op.owner = l;
	ret = l->loop->be->submit(l->loop->be_data, &l->op);
	if (ret == 0)
		l->armed = true;
	return ret;
}

void cio__listener_detach(struct cio__listener *l)
{
	l->detached = true;
	while (!cio__list_empty(&l->waiters))
		wake_first(l, -ECANCELED);
	if (!l->armed) {
		listener_free(l);
		return;
	}
	/* Closing the descriptor cancels it too; ask anyway, for a loop
	 * that closes with the socket still open. */
	if (!l->op.cancel_sent) {
		l->op.cancel_sent = true;
		l->loop->be->cancel(l->loop->be_data, &l->op);
	}
}

static struct cio__listener *listener_get(cio_loop *loop, int fd)
{
	struct cio__io *io = cio__io_get(loop);
	struct cio__listener *l;

	if (!io)
		return NULL;
	if (fd >= io->nlisteners) {
		int n = io->nlisteners ? io->nlisteners : 16;
		while (n <= fd)
			n *= 2;
		struct cio__listener **v = realloc(io->listeners,
						   (size_t)n * sizeof(*v));
		if (!v)
			return NULL;
		for (int i = io->nlisteners; i < n; i++)
			v[i] = NULL;
		io->listeners = v;
		io->nlisteners = n;
	}
	if ((l = io->listeners[fd]))
		return l;
	if (!(l = calloc(1, sizeof(*l))))
		return NULL;
	l->loop = loop;
	l->fd = fd;
	cio__list_init(&l->waiters);
	io->listeners[fd] = l;
	return l;
}

static void waiter_cancel(cio_task *t, void *ctx)
{
	struct waiter *w = ctx;
	cio__list_del(&w->node);
	cio__timer_del(&t->fut.loop->timers, &w->timer);
	cio__task_wake(t, -ECANCELED);
}

static void waiter_abandon(cio_task *t, void *ctx)
{
	struct waiter *w = ctx;
	cio__list_del(&w->node);
	cio__timer_del(&t->fut.loop->timers, &w->timer);
}

static const struct cio__park_ops waiter_park = {
	.cancel = waiter_cancel,
	.abandon = waiter_abandon,
};

static void waiter_timeout(struct cio__timer *tm)
{
	struct waiter *w = cio__container_of(tm, struct waiter, timer);
	if (w->task->fut.loop->closed)
		return;
	cio__list_del(&w->node);
	cio__task_wake(w->task, -ETIMEDOUT);
}

int cio__accept_multishot(cio_loop *loop, int fd, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__listener *l = listener_get(loop, fd);
	struct waiter w;
	intptr_t v;
	int ret;

	if (!l)
		return -ENOMEM;
	if (l->len) {
		int c = pop(l);
		/* Below the pause mark again: accept ahead once more. */
		if (!l->armed && l->len < QUEUE_PAUSE / 2 && !l->err)
			arm(l);
		return c;
	}
	if (l->err) {
		ret = l->err;
		l->err = 0;
		return ret;
	}
	if (!l->armed && (ret = arm(l)) < 0)
		return ret;
	if (deadline != CIO_NO_DEADLINE && deadline <= cio_loop_time())
		return -ETIMEDOUT;
	w.task = t;
	cio__timer_init(&w.timer, waiter_timeout);
	if (deadline != CIO_NO_DEADLINE &&
	    (ret = cio__timer_add(&loop->timers, &w.timer, deadline)) < 0)
		return ret;
	cio__list_add_tail(&l->waiters, &w.node);
	v = cio__task_park(&waiter_park, &w);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	/* A connection handed over as the cancel came in is the task's: it
	 * was woken with it before the cancel could take effect. */
	return (int)v;
}
