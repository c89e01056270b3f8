/* Internal: the future object and its intrusive done-callback list.
 *
 * Callback nodes (cio__fut_cb) are embedded in whoever waits (a task, a
 * combinator), so waiting allocates nothing; only the public
 * cio_future_add_done_callback() allocates a node. When the future is done,
 * one work item runs all callbacks registered at that moment, in order.
 */
#ifndef CIO_RUNTIME_FUTURE_INTERNAL_H
#define CIO_RUNTIME_FUTURE_INTERNAL_H

#include "runtime/future.h"
#include "runtime/list.h"
#include "runtime/work.h"

enum cio__fut_state {
	CIO__FUT_PENDING = 0,
	CIO__FUT_RESULT,
	CIO__FUT_ERROR,
	CIO__FUT_CANCELLED,
};

struct cio__fut_cb;
typedef void (*cio__fut_cb_fn)(struct cio__fut_cb *cb, cio_future *fut);

struct cio__fut_cb {
	struct cio__list link; /* self-linked when not registered */
	cio__fut_cb_fn fn;
};

/* What makes a task, a gather or an I/O future more than a plain one. */
struct cio__future_ops {
	const char *kind;
	/* Cancel request; NULL cancels like a plain future. Returns as
	 * cio_future_cancel(). */
	int (*cancel)(cio_future *fut);
	/* Free the object once the last reference is gone; NULL: free(). */
	void (*destroy)(cio_future *fut);
	/* May a user call set_result/set_error on it? */
	bool settable;
};

struct cio_future {
	cio_loop *loop;
	const struct cio__future_ops *ops;
	uint32_t refs;
	uint8_t state;
	bool retrieved;   /* something read the outcome */
	bool reported;    /* an unread error was already reported */
	bool cb_queued;   /* cb_work is on the ready queue */
	intptr_t value;   /* result, or the error */
	struct cio__list cbs;
	struct cio__list *batch; /* callbacks being run now, or NULL */
	struct cio__work cb_work;
};

void cio__future_init(cio_future *fut, cio_loop *loop,
		      const struct cio__future_ops *ops);

static inline void cio__fut_cb_init(struct cio__fut_cb *cb, cio__fut_cb_fn fn)
{
	cio__list_init(&cb->link);
	cb->fn = fn;
}

static inline bool cio__fut_cb_linked(const struct cio__fut_cb *cb)
{
	return !cio__list_empty(&cb->link);
}

/* Register `cb`; if the future is done already it runs from the ready
 * queue like any other. */
void cio__future_add_cb(cio_future *fut, struct cio__fut_cb *cb);
/* Unregister `cb` if it has not run; harmless otherwise. */
static inline void cio__future_del_cb(struct cio__fut_cb *cb)
{
	cio__list_del(&cb->link);
}

/* Move a pending future to `state` with `value` and schedule its
 * callbacks. -EINVAL if it is done already. */
int cio__future_complete(cio_future *fut, enum cio__fut_state state,
			 intptr_t value);
/* Plain cancellation (the default of cio_future_cancel()). */
int cio__future_cancel_plain(cio_future *fut);

/* The last reference is gone: report, destroy, free. */
void cio__future_free(cio_future *fut);

/* cio_future_unref() for the runtime's own hot paths: the common case
 * (references remain) stays inline. */
static inline void cio__future_put(cio_future *fut)
{
	if (--fut->refs == 0)
		cio__future_free(fut);
}

/* The outcome as cio_await() returns it; marks it retrieved. */
intptr_t cio__future_take(cio_future *fut);

/* Report an unread error now (loop close) so freeing does not again. */
void cio__future_report_unretrieved(cio_future *fut);

#endif
