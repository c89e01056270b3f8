/* asyncio.Queue, LifoQueue and PriorityQueue (Python 3.13).
 *
 * Invariants the hand-over keeps (see queue.h):
 * - gets wait only while the queue is empty, and an item arriving with
 *   gets waiting goes to the first of them: getters waiting => empty;
 * - puts wait only while it is full, and a slot freed with puts waiting
 *   goes to the first of them: putters waiting => full.
 * Shutdown wakes both lists, so neither can hold waiters afterwards.
 */
#include "sync/queue.h"
#include "sync/qbuf.h"
#include "sync/waiter.h"
#include "runtime/task_internal.h"

#include <stdlib.h>

struct cio_queue {
	struct cio__qbuf buf;
	size_t maxsize;
	size_t unfinished;   /* put and not yet task_done() */
	bool shutdown;
	bool prio;
	void (*drop)(void *item, void *arg);
	void *arg;
	struct cio__sync_list getters;
	struct cio__sync_list putters; /* each carries its item */
	struct cio__sync_list joiners;
};

int cio_queue_new(cio_queue **out, const struct cio_queue_opts *opts)
{
	static const struct cio_queue_opts defaults;
	cio_queue *q;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->kind != CIO_QUEUE_FIFO && opts->kind != CIO_QUEUE_LIFO &&
	    opts->kind != CIO_QUEUE_PRIORITY)
		return -EINVAL;
	if (opts->cmp && opts->kind != CIO_QUEUE_PRIORITY)
		return -EINVAL;
	if (!(q = malloc(sizeof(*q))))
		return -ENOMEM;
	q->prio = opts->kind == CIO_QUEUE_PRIORITY;
	cio__qbuf_init(&q->buf, q->prio, opts->kind == CIO_QUEUE_LIFO,
		       opts->cmp, opts->arg);
	q->maxsize = opts->maxsize;
	q->unfinished = 0;
	q->shutdown = false;
	q->drop = opts->drop;
	q->arg = opts->arg;
	cio__sync_list_init(&q->getters);
	cio__sync_list_init(&q->putters);
	cio__sync_list_init(&q->joiners);
	*out = q;
	return 0;
}

/* Items leave without being got: an immediate shutdown, or free. */
static size_t drop_all(cio_queue *q)
{
	size_t n = 0;

	while (q->buf.n) {
		void *item = cio__qbuf_pop(&q->buf);
		if (q->drop)
			q->drop(item, q->arg);
		n++;
	}
	return n;
}

int cio_queue_free(cio_queue *q)
{
	int ret;

	if (!q)
		return 0;
	if ((ret = cio__sync_list_busy(&q->getters)) < 0 ||
	    (ret = cio__sync_list_busy(&q->putters)) < 0 ||
	    (ret = cio__sync_list_busy(&q->joiners)) < 0)
		return ret;
	drop_all(q);
	cio__qbuf_destroy(&q->buf);
	free(q);
	return 0;
}

static bool full(const cio_queue *q)
{
	return q->maxsize && q->buf.n >= q->maxsize;
}

/* put_nowait() of an open queue: to a waiting get, or into the queue. */
static int offer(cio_queue *q, void *item, int64_t prio)
{
	struct cio__sync_waiter *g = cio__sync_first(&q->getters);
	int ret;

	if (g) {
		g->item = item;
		cio__sync_wake(g, 0);
	} else {
		if (full(q))
			return -EAGAIN;
		if ((ret = cio__qbuf_reserve(&q->buf, q->maxsize)) < 0)
			return ret;
		cio__qbuf_push(&q->buf, item, prio);
	}
	q->unfinished++;
	return 0;
}

/* get_nowait() of a queue with items; the slot this frees goes to the
 * first waiting put (there is room: the pop just made it). */
static void *take(cio_queue *q)
{
	void *item = cio__qbuf_pop(&q->buf);
	struct cio__sync_waiter *p = cio__sync_first(&q->putters);

	if (p) {
		cio__qbuf_push(&q->buf, p->item, p->prio);
		q->unfinished++;
		cio__sync_wake(p, 0);
	}
	return item;
}

static int put_nowait(cio_queue *q, void *item, int64_t prio)
{
	if (!q)
		return -EINVAL;
	if (q->shutdown)
		return -ESHUTDOWN;
	return offer(q, item, prio);
}

static int put(cio_queue *q, void *item, int64_t prio, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret;

	if (!q)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (q->shutdown)
		return -ESHUTDOWN;
	if ((ret = offer(q, item, prio)) != -EAGAIN)
		return ret;
	w.item = item;
	w.prio = prio;
	/* 0 means taken in (see queue.h: a late cancellation stays pending);
	 * -ESHUTDOWN comes from shutdown(). */
	return cio__sync_wait(&q->putters, &w, deadline, 0);
}

int cio_queue_put(cio_queue *q, void *item, int64_t deadline)
{
	return put(q, item, 0, deadline);
}

int cio_queue_put_nowait(cio_queue *q, void *item)
{
	return put_nowait(q, item, 0);
}

int cio_queue_put_prio(cio_queue *q, void *item, int64_t prio,
		       int64_t deadline)
{
	if (q && !q->prio)
		return -EINVAL;
	return put(q, item, prio, deadline);
}

int cio_queue_put_prio_nowait(cio_queue *q, void *item, int64_t prio)
{
	if (q && !q->prio)
		return -EINVAL;
	return put_nowait(q, item, prio);
}

int cio_queue_get(cio_queue *q, void **item, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret;

	if (!q || !item)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (q->buf.n) {
		*item = take(q);
		return 0;
	}
	if (q->shutdown)
		return -ESHUTDOWN;
	ret = cio__sync_wait(&q->getters, &w, deadline, 0);
	/* Handed an item: ours even if a cancellation came since (it stays
	 * pending), or it would be lost. */
	if (ret == 0)
		*item = w.item;
	return ret;
}

int cio_queue_get_nowait(cio_queue *q, void **item)
{
	if (!q || !item)
		return -EINVAL;
	if (q->buf.n) {
		*item = take(q);
		return 0;
	}
	return q->shutdown ? -ESHUTDOWN : -EAGAIN;
}

size_t cio_queue_qsize(const cio_queue *q)
{
	return q ? q->buf.n : 0;
}

bool cio_queue_empty(const cio_queue *q)
{
	return !q || q->buf.n == 0;
}

bool cio_queue_full(const cio_queue *q)
{
	return q && full(q);
}

size_t cio_queue_maxsize(const cio_queue *q)
{
	return q ? q->maxsize : 0;
}

int cio_queue_task_done(cio_queue *q)
{
	if (!q || q->unfinished == 0)
		return -EINVAL;
	if (--q->unfinished == 0)
		cio__sync_wake_all(&q->joiners, 0);
	return 0;
}

int cio_queue_join(cio_queue *q, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret;

	if (!q)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (q->unfinished == 0)
		return 0;
	ret = cio__sync_wait(&q->joiners, &w, deadline, 0);
	if (ret == 0 && cio__sync_cancelled_late(false))
		return -ECANCELED;
	return ret;
}

int cio_queue_shutdown(cio_queue *q, bool immediate)
{
	size_t dropped;

	if (!q)
		return -EINVAL;
	q->shutdown = true;
	if (immediate) {
		dropped = drop_all(q);
		q->unfinished -= dropped < q->unfinished ? dropped
							 : q->unfinished;
		if (q->unfinished == 0)
			cio__sync_wake_all(&q->joiners, 0);
	}
	cio__sync_wake_all(&q->getters, -ESHUTDOWN);
	cio__sync_wake_all(&q->putters, -ESHUTDOWN);
	return 0;
}
