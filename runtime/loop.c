/* The event loop: creation, the iteration, run/stop/close. */
#include "runtime/loop_internal.h"
#include "runtime/future_internal.h"
#include "runtime/task_internal.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__thread cio_loop *cio__tls_running_loop CIO__TLS_IE;
static __thread cio_loop *tls_default_loop CIO__TLS_IE;

int64_t cio_loop_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * CIO_NSEC_PER_SEC + ts.tv_nsec;
}

int64_t cio_deadline_after(int64_t ns)
{
	int64_t now = cio_loop_time();
	if (ns > CIO_NO_DEADLINE - now)
		return CIO_NO_DEADLINE;
	return now + ns;
}

cio_loop *cio_loop_current(void)
{
	return cio__tls_running_loop ? cio__tls_running_loop : tls_default_loop;
}

cio_loop *cio__loop_or_current(cio_loop *loop)
{
	return loop ? loop : cio_loop_current();
}

/* As Python does at startup: a peer that goes away turns writes into
 * -EPIPE instead of killing the process. A handler the program installed
 * itself is left alone. */
static void ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL &&
	    !(sa.sa_flags & SA_SIGINFO)) {
		sa.sa_handler = SIG_IGN;
		sigaction(SIGPIPE, &sa, NULL);
	}
}

int cio_loop_new(cio_loop **loopp, const struct cio_loop_opts *opts)
{
	static pthread_once_t sigpipe_once = PTHREAD_ONCE_INIT;
	static const struct cio_loop_opts defaults;
	cio_loop *loop;
	int ret;

	if (!loopp)
		return -EINVAL;
	*loopp = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->ring_entries > 32768 || opts->recv_buffers > 32768 ||
	    (opts->recv_buffers & (opts->recv_buffers - 1)) ||
	    opts->recv_buffer_size > (1u << 20) ||
	    (unsigned)opts->backend > CIO_BACKEND_EPOLL)
		return -EINVAL;
	pthread_once(&sigpipe_once, ignore_sigpipe);
	loop = calloc(1, sizeof(*loop));
	if (!loop)
		return -ENOMEM;
	ret = cio__stack_pool_init(&loop->stacks, opts->stack_size,
				   opts->stack_cache);
	if (ret < 0)
		goto fail;
	loop->recv_buffers = opts->recv_buffers;
	loop->recv_buffer_size = opts->recv_buffer_size;
	cio__work_queue_init(&loop->ready);
	cio__timer_heap_init(&loop->timers);
	cio__list_init(&loop->tasks);
	atomic_init(&loop->inbox, NULL);
	atomic_init(&loop->sleeping, 0);
	atomic_init(&loop->wake_pending, 0);
	atomic_init(&loop->producers, 0);
	loop->next_task_id = 1;
	ret = cio__stack_guard_install();
	if (ret < 0)
		goto fail_stacks;
	ret = cio__backend_open(loop, opts, &loop->be, &loop->be_data);
	if (ret < 0)
		goto fail_stacks;
	if (!tls_default_loop)
		tls_default_loop = loop;
	*loopp = loop;
	return 0;

fail_stacks:
	cio__stack_pool_destroy(&loop->stacks);
fail:
	free(loop);
	return ret;
}

bool cio_loop_is_closed(const cio_loop *loop)
{
	return !loop || loop->closed;
}

bool cio_loop_is_running(const cio_loop *loop)
{
	return loop && loop->running;
}

const char *cio_loop_backend_name(const cio_loop *loop)
{
	return loop && loop->be ? loop->be->name : "none";
}

const char *cio_loop_backend_flags(const cio_loop *loop)
{
	if (!loop || loop->closed)
		return "";
	return loop->be->describe(loop->be_data);
}

int cio_loop_stop(cio_loop *loop)
{
	if (!loop)
		return -EINVAL;
	loop->stopping = true;
	return 0;
}

static void fire_due_timers(cio_loop *loop)
{
	struct cio__timer *t;
	int64_t now;

	if (!loop->timers.n)
		return;
	now = cio_loop_time();
	while ((t = cio__timer_pop_due(&loop->timers, now)))
		t->fire(t);
}

static void run_ready(cio_loop *loop)
{
	struct cio__work *w = cio__work_take_all(&loop->ready);
	while (w) {
		struct cio__work *next = w->next;
		w->fn(w, false);
		w = next;
	}
}

/* One iteration; see loop.h for the order of its phases. */
static int run_once(cio_loop *loop)
{
	int64_t timeout = -1;
	struct cio__timer *first;
	int ret;

	if (!cio__work_queue_empty(&loop->ready) || loop->stopping) {
		timeout = 0;
	} else if ((first = cio__timer_first(&loop->timers))) {
		int64_t now = cio_loop_time();
		timeout = first->when > now ? first->when - now : 0;
	}
	if (timeout != 0) {
		/* Pairs with the producer's push-then-load in
		 * cio_call_soon_threadsafe(): with both seq_cst, either we see
		 * its callback here or it sees us sleeping and wakes us. */
		atomic_store(&loop->sleeping, 1);
		if (atomic_load(&loop->inbox) != NULL)
			timeout = 0;
	}
	ret = loop->be->poll(loop->be_data, timeout);
	if (timeout != 0)
		atomic_store_explicit(&loop->sleeping, 0, memory_order_relaxed);
	if (ret < 0 && ret != -EINTR && ret != -ETIME)
		return ret;
	cio__loop_drain_inbox(loop);
	fire_due_timers(loop);
	run_ready(loop);
	return 0;
}

int cio_loop_run_forever(cio_loop *loop)
{
	int ret;

	if (!loop || loop->closed)
		return -EINVAL;
	if (loop->running || cio__tls_running_loop)
		return -EBUSY;
	if (loop->has_owner && !pthread_equal(loop->owner, pthread_self()))
		return -EPERM;
	if (!loop->has_owner) {
		loop->has_owner = true;
		loop->owner = pthread_self();
		/* The scheduler context is this thread's own; every later run
		 * is on this thread too. Initialised once, it keeps the stack
		 * bounds the sanitizers learnt for it: a task started in one
		 * run may switch back to it in a later one. */
		cio__coro_init_self(&loop->sched);
	}
	loop->running = true;
	cio__tls_running_loop = loop;
	do {
		ret = run_once(loop);
	} while (ret == 0 && !loop->stopping);
	loop->stopping = false;
	loop->running = false;
	cio__tls_running_loop = NULL;
	return ret;
}

struct stopper {
	struct cio__fut_cb cb;
	cio_loop *loop;
};

static void stop_on_done(struct cio__fut_cb *cb, cio_future *fut)
{
	(void)fut;
	cio__container_of(cb, struct stopper, cb)->loop->stopping = true;
}

intptr_t cio_loop_run_until_complete(cio_loop *loop, cio_future *fut)
{
	struct stopper stop;
	intptr_t ret;

	if (!loop || !fut || fut->loop != loop || loop->closed)
		return -EINVAL;
	if (loop->running || cio__tls_running_loop)
		return -EBUSY;
	stop.loop = loop;
	cio__fut_cb_init(&stop.cb, stop_on_done);
	cio_future_ref(fut);
	cio__future_add_cb(fut, &stop.cb);
	ret = cio_loop_run_forever(loop);
	cio__future_del_cb(&stop.cb);
	if (ret == 0)
		ret = cio_future_done(fut) ? cio__future_take(fut) : -EINTR;
	cio_future_unref(fut);
	return ret;
}

static void discard_ready(cio_loop *loop)
{
	struct cio__work *w;
	while ((w = cio__work_take_all(&loop->ready))) {
		while (w) {
			struct cio__work *next = w->next;
			w->fn(w, true);
			w = next;
		}
	}
}

int cio_loop_close(cio_loop *loop)
{
	struct cio__timer *t;

	if (!loop)
		return -EINVAL;
	if (loop->running)
		return -EBUSY;
	if (loop->closed)
		return 0;
	loop->closed = true;
	cio__loop_close_inbox(loop);
	discard_ready(loop);
	/* Timer owners see loop->closed in fire() and only drop what they
	 * hold (a handle's reference); a sleeping task is torn down below. */
	while ((t = cio__timer_pop_due(&loop->timers, INT64_MAX)))
		t->fire(t);
	cio__tasks_destroy_pending(loop);
	discard_ready(loop);
	cio__io_loop_close(loop);
	/* The ring goes before the stacks: in-flight operations may point
	 * into a parked task's stack until the kernel has cancelled them. */
	loop->be->destroy(loop->be_data);
	loop->be_data = NULL;
	cio__io_loop_release(loop);
	cio__signals_release(loop);
	cio__timer_heap_destroy(&loop->timers);
	cio__stack_pool_destroy(&loop->stacks);
	cio__handle_cache_free(loop);
	cio__task_cache_free(loop);
	if (tls_default_loop == loop)
		tls_default_loop = NULL;
	return 0;
}

void cio__loop_obj_put(cio_loop *loop)
{
	if (--loop->objects == 0 && loop->freed)
		free(loop);
}

void cio_loop_free(cio_loop *loop)
{
	if (!loop || loop->freed)
		return;
	if (loop->running) {
		/* Freeing a running loop is a caller bug we refuse to act on:
		 * the iteration in progress still uses it. */
		cio__loop_report(loop, CIO_REPORT_MISUSE, NULL, NULL, -EBUSY,
				 "cio_loop_free() called on a running loop; "
				 "ignored");
		return;
	}
	cio_loop_close(loop);
	loop->freed = true;
	if (loop->objects == 0)
		free(loop);
}

void cio_loop_default_exception_handler(cio_loop *loop,
					const struct cio_report *r)
{
	(void)loop;
	if (r && r->message)
		fprintf(stderr, "coreio: %s\n", r->message);
}

void cio_loop_set_exception_handler(cio_loop *loop, cio_exception_handler h,
				    void *arg)
{
	if (!loop)
		return;
	loop->handler = h;
	loop->handler_arg = arg;
}

void cio__loop_report(cio_loop *loop, enum cio_report_kind kind,
		      cio_task *task, cio_future *fut, int error,
		      const char *fmt, ...)
{
	char msg[512];
	struct cio_report r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r.kind = kind;
	r.message = msg;
	r.task = task;
	r.future = fut;
	r.error = error;
	if (loop->handler)
		loop->handler(loop, &r, loop->handler_arg);
	else
		cio_loop_default_exception_handler(loop, &r);
}
