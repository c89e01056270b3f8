/* Internal: the loop object and what the rest of the runtime may use of it. */
#ifndef CIO_RUNTIME_LOOP_INTERNAL_H
#define CIO_RUNTIME_LOOP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "runtime/backend.h"
#include "runtime/coro.h"
#include "runtime/list.h"
#include "runtime/loop.h"
#include "runtime/stack.h"
#include "runtime/timer_heap.h"
#include "runtime/work.h"

/* Thread-locals of the runtime use the initial-exec model: a fixed offset
 * from the thread pointer, no __tls_get_addr() call, also in the shared
 * library (a few words of the static TLS surplus). */
#define CIO__TLS_IE __attribute__((tls_model("initial-exec")))

/* Marks the inbox of a closed loop: producers see it and give up. */
#define CIO__INBOX_CLOSED ((struct cio__work *)(uintptr_t)1)

struct cio_loop {
	const struct cio__backend_ops *be;
	void *be_data;

	struct cio__work_queue ready;
	struct cio__timer_heap timers;

	/* Cross-thread: a Treiber stack of cio_call_soon_threadsafe handles,
	 * taken whole by the loop. `sleeping` and `wake_pending` make sure a
	 * producer wakes a loop that is about to block, once. */
	_Atomic(struct cio__work *) inbox;
	atomic_int sleeping;
	atomic_int wake_pending;
	atomic_int producers; /* threadsafe calls in progress */

	bool running;
	bool stopping;
	bool closed;
	bool freed;
	bool has_owner;
	pthread_t owner;

	struct cio__coro sched; /* the context tasks switch back to */
	struct cio__stack_pool stacks;

	struct cio__list tasks; /* every task not yet freed */
	size_t tasks_pending;
	uint64_t next_task_id;

	/* Futures, tasks and handles of this loop still allocated: the loop
	 * struct outlives cio_loop_free() until they are all released. */
	size_t objects;

	cio_exception_handler handler;
	void *handler_arg;

	/* io/: per-loop state (listeners of multishot accept, the provided
	 * buffer ring); released by cio__io_loop_close(). */
	struct cio__io *io;
	unsigned recv_buffers, recv_buffer_size; /* options, 0: default */

	/* runtime/signal.c: handlers and their signalfd; NULL until used. */
	struct cio__signals *signals;

	struct cio_handle *handle_cache;
	unsigned handle_cache_len;
	struct cio_task *task_cache;
	unsigned task_cache_len;
};

extern __thread cio_loop *cio__tls_running_loop CIO__TLS_IE;

/* The loop to use when the caller passed NULL. */
cio_loop *cio__loop_or_current(cio_loop *loop);

static inline void cio__loop_schedule(cio_loop *loop, struct cio__work *w)
{
	cio__work_push(&loop->ready, w);
}

static inline void cio__loop_obj_get(cio_loop *loop)
{
	loop->objects++;
}

void cio__loop_obj_put(cio_loop *loop);

/* Report through the loop's exception handler. */
void cio__loop_report(cio_loop *loop, enum cio_report_kind kind,
		      cio_task *task, cio_future *fut, int error,
		      const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Thread-safe: queue `w` to run on the loop's thread (w->fn(w, false)),
 * waking the loop if it sleeps. Work still queued when the loop closes is
 * called with discard = true. -EINVAL once the loop is closed. */
int cio__loop_post_threadsafe(cio_loop *loop, struct cio__work *w);

/* Loop close, before the backend drains: io/ lets go of its state. */
void cio__io_loop_close(cio_loop *loop);
/* ... and after it: free what the kernel could still write into. */
void cio__io_loop_release(cio_loop *loop);

/* Loop close, after the backend drained: the signalfd and its handlers. */
void cio__signals_release(cio_loop *loop);

/* Drop cached handles (loop close / free). */
void cio__handle_cache_free(cio_loop *loop);
/* Move handles posted by other threads to the ready queue. */
void cio__loop_drain_inbox(cio_loop *loop);
/* Close the inbox and discard what is in it. */
void cio__loop_close_inbox(cio_loop *loop);

#endif
