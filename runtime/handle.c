/* call_soon / call_later / call_at / call_soon_threadsafe and their handles. */
#include "runtime/loop_internal.h"

#include <sched.h>
#include <stdlib.h>

#define HANDLE_CACHE_MAX 256

struct cio_handle {
	struct cio__work work;
	struct cio__timer timer;
	cio_loop *loop;
	cio_callback cb;
	void *arg;
	uint32_t refs;
	bool cancelled;
	bool ran;
	bool is_timer;
	struct cio_handle *next_free;
};

static void handle_free(cio_handle *h)
{
	cio_loop *loop = h->loop;
	if (!loop->closed && loop->handle_cache_len < HANDLE_CACHE_MAX) {
		h->next_free = loop->handle_cache;
		loop->handle_cache = h;
		loop->handle_cache_len++;
	} else {
		free(h);
	}
	cio__loop_obj_put(loop);
}

void cio__handle_cache_free(cio_loop *loop)
{
	cio_handle *h = loop->handle_cache;
	while (h) {
		cio_handle *next = h->next_free;
		free(h);
		h = next;
	}
	loop->handle_cache = NULL;
	loop->handle_cache_len = 0;
}

void cio_handle_unref(cio_handle *h)
{
	if (h && --h->refs == 0)
		handle_free(h);
}

static void handle_run(struct cio__work *w, bool discard)
{
	cio_handle *h = cio__container_of(w, cio_handle, work);
	if (!discard && !h->cancelled) {
		h->ran = true;
		h->cb(h->arg);
	}
	cio_handle_unref(h);
}

/* The timer keeps the loop's reference and hands it to the ready queue. */
static void handle_fire(struct cio__timer *t)
{
	cio_handle *h = cio__container_of(t, cio_handle, timer);
	if (h->loop->closed) {
		cio_handle_unref(h);
		return;
	}
	cio__loop_schedule(h->loop, &h->work);
}

static cio_handle *handle_new(cio_loop *loop, cio_callback cb, void *arg)
{
	cio_handle *h = loop->handle_cache;
	if (h) {
		loop->handle_cache = h->next_free;
		loop->handle_cache_len--;
	} else if (!(h = malloc(sizeof(*h)))) {
		return NULL;
	}
	h->work.fn = handle_run;
	h->loop = loop;
	h->cb = cb;
	h->arg = arg;
	h->refs = 1;
	h->cancelled = h->ran = h->is_timer = false;
	cio__timer_init(&h->timer, handle_fire);
	cio__loop_obj_get(loop);
	return h;
}

static void give_out(cio_handle *h, cio_handle **out)
{
	if (out) {
		h->refs++;
		*out = h;
	}
}

int cio_call_soon(cio_loop *loop, cio_callback cb, void *arg,
		  cio_handle **out)
{
	cio_handle *h;

	if (out)
		*out = NULL;
	loop = cio__loop_or_current(loop);
	if (!loop || loop->closed || !cb)
		return -EINVAL;
	if (!(h = handle_new(loop, cb, arg)))
		return -ENOMEM;
	give_out(h, out);
	cio__loop_schedule(loop, &h->work);
	return 0;
}

int cio_call_at(cio_loop *loop, int64_t when_ns, cio_callback cb, void *arg,
		cio_handle **out)
{
	cio_handle *h;
	int ret;

	if (out)
		*out = NULL;
	loop = cio__loop_or_current(loop);
	if (!loop || loop->closed || !cb)
		return -EINVAL;
	if (!(h = handle_new(loop, cb, arg)))
		return -ENOMEM;
	h->is_timer = true;
	/* The clock never reads below 0, so nothing changes when a negative
	 * deadline is clamped, and cio_handle_when() stays unambiguous. */
	ret = cio__timer_add(&loop->timers, &h->timer, when_ns < 0 ? 0 : when_ns);
	if (ret < 0) {
		cio_handle_unref(h);
		return ret;
	}
	give_out(h, out);
	return 0;
}

int cio_call_later(cio_loop *loop, int64_t delay_ns, cio_callback cb,
		   void *arg, cio_handle **out)
{
	return cio_call_at(loop, cio_deadline_after(delay_ns < 0 ? 0 : delay_ns),
			   cb, arg, out);
}

int cio_handle_cancel(cio_handle *h)
{
	if (!h || h->cancelled || h->ran)
		return 0;
	h->cancelled = true;
	if (cio__timer_armed(&h->timer)) {
		cio__timer_del(&h->loop->timers, &h->timer);
		cio_handle_unref(h); /* the loop's reference */
	}
	return 1;
}

bool cio_handle_cancelled(const cio_handle *h)
{
	return h && h->cancelled;
}

int64_t cio_handle_when(const cio_handle *h)
{
	if (!h || !h->is_timer)
		return -EINVAL;
	return h->timer.when;
}

/* Push `w` on the loop's inbox and wake the loop if it is about to sleep.
 * -EINVAL once the loop has closed its inbox. */
int cio__loop_post_threadsafe(cio_loop *loop, struct cio__work *w)
{
	struct cio__work *head;

	/* `producers` keeps close from destroying the backend between our
	 * push and our wake() below. */
	atomic_fetch_add(&loop->producers, 1);
	head = atomic_load(&loop->inbox);
	do {
		if (head == CIO__INBOX_CLOSED) {
			atomic_fetch_sub(&loop->producers, 1);
			return -EINVAL;
		}
		w->next = head;
	} while (!atomic_compare_exchange_weak(&loop->inbox, &head, w));
	if (atomic_load(&loop->sleeping) &&
	    !atomic_exchange(&loop->wake_pending, 1)) {
		cio_loop *me = cio__tls_running_loop;
		if (!me || me == loop || me->be != loop->be ||
		    !loop->be->wake_from ||
		    loop->be->wake_from(loop->be_data, me->be_data) < 0)
			loop->be->wake(loop->be_data);
	}
	atomic_fetch_sub(&loop->producers, 1);
	return 0;
}

int cio_call_soon_threadsafe(cio_loop *loop, cio_callback cb, void *arg)
{
	cio_handle *h;
	int ret;

	if (!loop || !cb)
		return -EINVAL;
	/* Not from the loop's cache: that belongs to the loop's thread. */
	if (!(h = malloc(sizeof(*h))))
		return -ENOMEM;
	h->work.fn = handle_run;
	h->loop = loop;
	h->cb = cb;
	h->arg = arg;
	h->refs = 1;
	h->cancelled = h->ran = h->is_timer = false;
	cio__timer_init(&h->timer, handle_fire);
	if ((ret = cio__loop_post_threadsafe(loop, &h->work)) < 0)
		free(h);
	return ret;
}

/* Take the whole stack at once; it is LIFO, so reverse it to keep the
 * posting order. */
static struct cio__work *take_inbox(cio_loop *loop, struct cio__work *with)
{
	struct cio__work *w = atomic_exchange(&loop->inbox, with);
	struct cio__work *fifo = NULL;
	if (w == CIO__INBOX_CLOSED)
		return NULL;
	while (w) {
		struct cio__work *next = w->next;
		w->next = fifo;
		fifo = w;
		w = next;
	}
	return fifo;
}

void cio__loop_drain_inbox(cio_loop *loop)
{
	struct cio__work *w;

	if (atomic_load_explicit(&loop->inbox, memory_order_relaxed) == NULL)
		return;
	w = take_inbox(loop, NULL);
	while (w) {
		struct cio__work *next = w->next;
		/* A handle's loop reference is taken here, on the loop's
		 * thread; other posted work keeps its own accounting. */
		if (w->fn == handle_run)
			cio__loop_obj_get(loop);
		cio__loop_schedule(loop, w);
		w = next;
	}
}

void cio__loop_close_inbox(cio_loop *loop)
{
	struct cio__work *w = take_inbox(loop, CIO__INBOX_CLOSED);
	/* Producers that pushed before the swap may still be about to call
	 * wake(); the backend must outlive them. They hold no lock, so this
	 * wait is a few instructions long. */
	while (atomic_load(&loop->producers) != 0)
		sched_yield();
	while (w) {
		struct cio__work *next = w->next;
		if (w->fn == handle_run)
			free(cio__container_of(w, cio_handle, work));
		else
			w->fn(w, true);
		w = next;
	}
}
