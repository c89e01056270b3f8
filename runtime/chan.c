/* Channels: a ring of elements and two queues of parked tasks under one
 * lock, shared by tasks of any loop.
 *
 * Every transfer happens under ch->mu and is complete when the lock is
 * released: a parked peer's element is copied (into a parked receiver's
 * buffer, or out of a parked sender's) and the peer's waiter is marked
 * DONE with its result in the same critical section. Cancellation, a
 * deadline and loop close take the same lock and act only on a waiter
 * still WAITING, which is why an element is never lost or duplicated:
 * whoever gets the lock first decides, and a DONE waiter's task returns
 * its real result however late the wake-up arrives.
 *
 * Invariants (under mu): a receiver is parked only while nothing is
 * buffered and no sender is parked; a sender only while the ring is full
 * and no receiver is parked. A send therefore serves a parked receiver
 * first, and a recv that frees a slot fills it from the first parked
 * sender, so parked senders keep their place in the channel's order.
 *
 * Waking a task (outside the lock unless it is on the caller's own loop):
 * - same loop: cio__task_wake(), as a future wakes its awaiting task;
 * - another loop: the waiter's work record goes to that loop's inbox
 *   (cio__loop_post_threadsafe), which resumes the task from its ready
 *   queue. The post runs after the lock is dropped, so the waker still
 *   touches the waiter (on the parked task's stack) and its loop for a
 *   moment after the task could be told it is DONE. `posting` covers that
 *   moment: the resumed task, and a loop close that abandons the task,
 *   wait for it to clear before the stack can go away. The loop itself
 *   outlives the post: close waits for posts in progress
 *   (cio__loop_close_inbox), and before one starts the closing loop is
 *   held by abandon waiting on `posting`.
 */
#include "runtime/chan.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { W_WAITING, W_DONE, W_LEFT };

struct waiter {
	struct cio__work work;    /* the cross-loop wake-up */
	struct cio__list link;    /* ch->recvq or ch->sendq while WAITING */
	struct cio__timer timer;  /* deadline; only the task's loop uses it */
	cio_chan *ch;
	cio_task *task;
	cio_loop *loop;
	void *elem;               /* recv: copied to; send: copied from */
	struct waiter *next_post; /* in a batch posted after unlocking */
	int result;               /* final once DONE */
	atomic_int state;         /* W_*, changed under ch->mu */
	atomic_bool posting;      /* a peer's post is not finished */
};

struct cio_chan {
	pthread_mutex_t mu;
	size_t head, len;         /* the ring: buf[head], len elements */
	bool closed;
	struct cio__list recvq, sendq;
	size_t elem_size, cap;    /* constant */
	unsigned char buf[];
};

/* Wake-ups for other loops, collected under the lock and posted after. */
struct posts {
	struct waiter *head, **tailp;
};

#define POSTS_INIT(p) { NULL, &(p).head }

static inline unsigned char *slot(cio_chan *ch, size_t i)
{
	if (i >= ch->cap)
		i -= ch->cap;
	return ch->buf + i * ch->elem_size;
}

static inline struct waiter *first(struct cio__list *q)
{
	return cio__container_of(q->next, struct waiter, link);
}

/* Under mu: `w` is done with `result`; its element has been moved. */
static void complete(struct waiter *w, int result, struct posts *p)
{
	bool local = w->loop == cio__tls_running_loop;

	cio__list_del(&w->link);
	w->result = result;
	/* `posting` before DONE: whoever sees DONE sees it too. */
	if (!local)
		atomic_store_explicit(&w->posting, true, memory_order_relaxed);
	atomic_store_explicit(&w->state, W_DONE, memory_order_release);
	if (local) {
		cio__task_wake(w->task, result);
		return;
	}
	w->next_post = NULL;
	*p->tailp = w;
	p->tailp = &w->next_post;
}

static void post_all(struct posts *p)
{
	struct waiter *w = p->head;

	while (w) {
		struct waiter *next = w->next_post;
		/* Fails only when the loop is closing; its close abandons the
		 * task, after waiting for `posting` below. */
		cio__loop_post_threadsafe(w->loop, &w->work);
		/* Last touch of the waiter: its stack may go the moment it
		 * is seen clear. */
		atomic_store_explicit(&w->posting, false, memory_order_release);
		w = next;
	}
}

static void wait_posted(struct waiter *w)
{
	while (atomic_load_explicit(&w->posting, memory_order_acquire))
		sched_yield();
}

/* On the task's loop, from its ready queue (scheduler stack). */
static void wake_work(struct cio__work *work, bool discard)
{
	struct waiter *w = cio__container_of(work, struct waiter, work);

	/* Discarded: the loop is closing and abandons the task. */
	if (!discard)
		cio__task_resume_now(w->task, w->result);
}

/* -- the transfers (under mu) ------------------------------------------- */

/* 0 sent, -EPIPE, or -EAGAIN: full. */
static int send_locked(cio_chan *ch, const void *elem, struct posts *p)
{
	if (ch->closed)
		return -EPIPE;
	if (!cio__list_empty(&ch->recvq)) {
		struct waiter *r = first(&ch->recvq);
		memcpy(r->elem, elem, ch->elem_size);
		complete(r, 0, p);
		return 0;
	}
	if (ch->len < ch->cap) {
		memcpy(slot(ch, ch->head + ch->len), elem, ch->elem_size);
		ch->len++;
		return 0;
	}
	return -EAGAIN;
}

/* 0 received, -EPIPE closed and drained, or -EAGAIN: empty. */
static int recv_locked(cio_chan *ch, void *elem, struct posts *p)
{
	struct waiter *s;

	if (ch->len) {
		memcpy(elem, slot(ch, ch->head), ch->elem_size);
		if (++ch->head == ch->cap)
			ch->head = 0;
		ch->len--;
		if (cio__list_empty(&ch->sendq))
			return 0;
		s = first(&ch->sendq);
		memcpy(slot(ch, ch->head + ch->len), s->elem, ch->elem_size);
		ch->len++;
		complete(s, 0, p);
		return 0;
	}
	if (!cio__list_empty(&ch->sendq)) { /* capacity 0 */
		s = first(&ch->sendq);
		memcpy(elem, s->elem, ch->elem_size);
		complete(s, 0, p);
		return 0;
	}
	return ch->closed ? -EPIPE : -EAGAIN;
}

/* -- parking ------------------------------------------------------------ */

/* Under mu: leave the queue if still in it. */
static bool unlink_waiting(struct waiter *w)
{
	if (atomic_load_explicit(&w->state, memory_order_relaxed) != W_WAITING)
		return false;
	cio__list_del(&w->link);
	atomic_store_explicit(&w->state, W_LEFT, memory_order_relaxed);
	return true;
}

/* DONE is final, and once it is set the waiter needs nothing more of the
 * channel: checked without the lock, which then is never taken on a
 * channel whose last transfer is done (it may be freed already). */
static bool is_done(struct waiter *w)
{
	return atomic_load_explicit(&w->state, memory_order_acquire) == W_DONE;
}

/* Cancellation or deadline: leave the queue, unless a peer completed the
 * waiter first; then its wake-up is on the way with the real result. */
static void leave(struct waiter *w, int why)
{
	bool left;

	if (is_done(w))
		return;
	pthread_mutex_lock(&w->ch->mu);
	left = unlink_waiting(w);
	pthread_mutex_unlock(&w->ch->mu);
	if (left) {
		cio__timer_del(&w->loop->timers, &w->timer);
		cio__task_wake(w->task, why);
	}
}

static void waiter_cancel(cio_task *t, void *ctx)
{
	(void)t;
	leave(ctx, -ECANCELED);
}

static void waiter_timeout(struct cio__timer *tm)
{
	struct waiter *w = cio__container_of(tm, struct waiter, timer);

	/* A closing loop fires every timer; abandon does the work. */
	if (!w->loop->closed)
		leave(w, -ETIMEDOUT);
}

/* Loop close: posts to this loop fail from now on, and those that got in
 * were discarded already. */
static void waiter_abandon(cio_task *t, void *ctx)
{
	struct waiter *w = ctx;

	(void)t;
	cio__timer_del(&w->loop->timers, &w->timer);
	if (!is_done(w)) {
		pthread_mutex_lock(&w->ch->mu);
		unlink_waiting(w);
		pthread_mutex_unlock(&w->ch->mu);
	}
	/* Done, before or while we looked: the peer may still be posting. */
	wait_posted(w);
}

static const struct cio__park_ops chan_park = {
	.cancel = waiter_cancel,
	.abandon = waiter_abandon,
};

/* Under mu, the transfer could not happen now: queue `w` (1), or
 * -ETIMEDOUT / -ENOMEM. The timer cannot fire before the task parks: it
 * fires on this very thread. */
static int enqueue(cio_chan *ch, struct waiter *w, cio_task *t, void *elem,
		   int64_t deadline, bool expired, struct cio__list *q)
{
	int ret;

	if (expired)
		return -ETIMEDOUT;
	w->loop = t->fut.loop;
	cio__timer_init(&w->timer, waiter_timeout);
	if (deadline != CIO_NO_DEADLINE &&
	    (ret = cio__timer_add(&w->loop->timers, &w->timer, deadline)) < 0)
		return ret;
	w->work.fn = wake_work;
	w->ch = ch;
	w->task = t;
	w->elem = elem;
	w->result = 0;
	atomic_init(&w->state, W_WAITING);
	atomic_init(&w->posting, false);
	cio__list_add_tail(q, &w->link);
	return 1;
}

static int op(cio_chan *ch, void *elem, int64_t deadline, bool is_send)
{
	cio_task *t = cio__tls_task;
	struct posts p = POSTS_INIT(p);
	struct waiter w;
	bool expired;
	intptr_t v;
	int ret;

	if (!ch || !elem)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	/* Read the clock before the lock; an expired deadline still lets a
	 * transfer that needs no waiting happen. */
	expired = deadline != CIO_NO_DEADLINE && deadline <= cio_loop_time();
	pthread_mutex_lock(&ch->mu);
	ret = is_send ? send_locked(ch, elem, &p) : recv_locked(ch, elem, &p);
	if (ret == -EAGAIN)
		ret = enqueue(ch, &w, t, elem, deadline, expired,
			      is_send ? &ch->sendq : &ch->recvq);
	pthread_mutex_unlock(&ch->mu);
	post_all(&p);
	if (ret != 1)
		return ret;

	v = cio__task_park(&chan_park, &w);
	wait_posted(&w);
	cio__timer_del(&t->fut.loop->timers, &w.timer);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return (int)v;
}

/* -- public API --------------------------------------------------------- */

int cio_chan_new(cio_chan **out, size_t elem_size, size_t capacity)
{
	cio_chan *ch;
	size_t bytes;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!elem_size || (capacity && elem_size > SIZE_MAX / capacity))
		return -EINVAL;
	bytes = elem_size * capacity;
	if (bytes > SIZE_MAX - sizeof(*ch))
		return -EINVAL;
	if (!(ch = malloc(sizeof(*ch) + bytes)))
		return -ENOMEM;
	pthread_mutex_init(&ch->mu, NULL);
	ch->head = ch->len = 0;
	ch->closed = false;
	cio__list_init(&ch->recvq);
	cio__list_init(&ch->sendq);
	ch->elem_size = elem_size;
	ch->cap = capacity;
	*out = ch;
	return 0;
}

int cio_chan_free(cio_chan *ch)
{
	bool busy;

	if (!ch)
		return 0;
	pthread_mutex_lock(&ch->mu);
	busy = !cio__list_empty(&ch->recvq) || !cio__list_empty(&ch->sendq);
	pthread_mutex_unlock(&ch->mu);
	if (busy)
		return -EBUSY;
	pthread_mutex_destroy(&ch->mu);
	free(ch);
	return 0;
}

int cio_chan_send(cio_chan *ch, const void *elem, int64_t deadline)
{
	/* A sender's element is only read; the cast lets both directions
	 * share one waiter. */
	return op(ch, (void *)(uintptr_t)elem, deadline, true);
}

int cio_chan_recv(cio_chan *ch, void *elem, int64_t deadline)
{
	return op(ch, elem, deadline, false);
}

int cio_chan_try_send(cio_chan *ch, const void *elem)
{
	struct posts p = POSTS_INIT(p);
	int ret;

	if (!ch || !elem)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	ret = send_locked(ch, elem, &p);
	pthread_mutex_unlock(&ch->mu);
	post_all(&p);
	return ret;
}

int cio_chan_try_recv(cio_chan *ch, void *elem)
{
	struct posts p = POSTS_INIT(p);
	int ret;

	if (!ch || !elem)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	ret = recv_locked(ch, elem, &p);
	pthread_mutex_unlock(&ch->mu);
	post_all(&p);
	return ret;
}

int cio_chan_close(cio_chan *ch)
{
	struct posts p = POSTS_INIT(p);

	if (!ch)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->mu);
		return -EPIPE;
	}
	ch->closed = true;
	/* Parked receivers mean an empty ring; parked senders' elements
	 * were never sent. */
	while (!cio__list_empty(&ch->recvq))
		complete(first(&ch->recvq), -EPIPE, &p);
	while (!cio__list_empty(&ch->sendq))
		complete(first(&ch->sendq), -EPIPE, &p);
	pthread_mutex_unlock(&ch->mu);
	post_all(&p);
	return 0;
}

bool cio_chan_is_closed(cio_chan *ch)
{
	bool closed;

	if (!ch)
		return false;
	pthread_mutex_lock(&ch->mu);
	closed = ch->closed;
	pthread_mutex_unlock(&ch->mu);
	return closed;
}

size_t cio_chan_len(cio_chan *ch)
{
	size_t len;

	if (!ch)
		return 0;
	pthread_mutex_lock(&ch->mu);
	len = ch->len;
	pthread_mutex_unlock(&ch->mu);
	return len;
}

size_t cio_chan_cap(const cio_chan *ch)
{
	return ch ? ch->cap : 0;
}

size_t cio_chan_elem_size(const cio_chan *ch)
{
	return ch ? ch->elem_size : 0;
}
