/* call_soon / call_later / call_at and their handles: order, cancel,
 * cancelled, when, references. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"

#include <stdio.h>
#include <string.h>

struct rec {
	cio_loop *loop;
	int order[256];
	int n;
};

struct item {
	struct rec *rec;
	int id;
	cio_handle *other; /* for callbacks that act on another handle */
	int result;
};

static void record(void *arg)
{
	struct item *it = arg;
	cr_assert_lt(it->rec->n, 256);
	it->rec->order[it->rec->n++] = it->id;
}

static void count_cb(void *arg)
{
	(*(int *)arg)++;
}

Test(handle, call_soon_runs_in_fifo_order)
{
	struct rec r = { .loop = th_loop_new() };
	struct item it[200];

	for (int i = 0; i < 200; i++) {
		it[i] = (struct item){ &r, i, NULL, 0 };
		cr_assert_eq(cio_call_soon(r.loop, record, &it[i], NULL), 0);
	}
	th_run_once(r.loop);
	cr_assert_eq(r.n, 200);
	for (int i = 0; i < 200; i++)
		cr_assert_eq(r.order[i], i);
	th_loop_free(r.loop);
	th_leak_check();
}

static void reschedule(void *arg)
{
	struct item *it = arg;
	record(arg);
	if (it->id < 5) {
		it->id++;
		cr_assert_eq(cio_call_soon(it->rec->loop, reschedule, it,
					   NULL), 0);
	}
}

/* A callback scheduled while the ready queue runs waits for the next
 * iteration: each iteration runs exactly one step of the chain. */
Test(handle, call_soon_from_callback_runs_next_iteration)
{
	struct rec r = { .loop = th_loop_new() };
	struct item chain = { &r, 0, NULL, 0 };
	struct item other = { &r, 100, NULL, 0 };

	cr_assert_eq(cio_call_soon(r.loop, reschedule, &chain, NULL), 0);
	cr_assert_eq(cio_call_soon(r.loop, record, &other, NULL), 0);
	for (int i = 1; i <= 6; i++) {
		th_run_once(r.loop);
		cr_assert_eq(r.n, i == 1 ? 2 : i + 1, "iteration %d", i);
	}
	cr_assert_eq(r.order[0], 0);
	cr_assert_eq(r.order[1], 100);
	for (int i = 2; i < 7; i++)
		cr_assert_eq(r.order[i], i - 1);
	th_loop_free(r.loop);
	th_leak_check();
}

Test(handle, bad_arguments)
{
	cio_loop *loop = th_loop_new();
	cio_handle *h = (cio_handle *)(uintptr_t)1;
	int n = 0;

	cr_assert_eq(cio_call_soon(loop, NULL, &n, &h), -EINVAL);
	cr_assert_null(h, "out is cleared on failure");
	h = (cio_handle *)(uintptr_t)1;
	cr_assert_eq(cio_call_later(loop, 0, NULL, &n, &h), -EINVAL);
	cr_assert_null(h);
	h = (cio_handle *)(uintptr_t)1;
	cr_assert_eq(cio_call_at(loop, 0, NULL, &n, &h), -EINVAL);
	cr_assert_null(h);
	cr_assert_eq(cio_call_soon_threadsafe(loop, NULL, &n), -EINVAL);

	cr_assert_eq(cio_handle_cancel(NULL), 0);
	cr_assert_not(cio_handle_cancelled(NULL));
	cr_assert_eq(cio_handle_when(NULL), -EINVAL);
	cio_handle_unref(NULL);
	th_loop_free(loop);
	th_leak_check();
}

Test(handle, cancel_before_run)
{
	cio_loop *loop = th_loop_new();
	cio_handle *soon, *later;
	int n = 0;

	cr_assert_eq(cio_call_soon(loop, count_cb, &n, &soon), 0);
	cr_assert_eq(cio_call_later(loop, 0, count_cb, &n, &later), 0);
	cr_assert_not(cio_handle_cancelled(soon));
	cr_assert_eq(cio_handle_cancel(soon), 1);
	cr_assert_eq(cio_handle_cancel(later), 1);
	cr_assert(cio_handle_cancelled(soon));
	cr_assert(cio_handle_cancelled(later));
	cr_assert_eq(cio_handle_cancel(soon), 0, "already cancelled");
	cr_assert_eq(cio_handle_cancel(later), 0);
	cr_assert_eq(loop->timers.n, 0, "the timer left the heap");
	th_run_once(loop);
	th_run_once(loop);
	cr_assert_eq(n, 0);
	cio_handle_unref(soon);
	cio_handle_unref(later);
	th_loop_free(loop);
	th_leak_check();
}

static void cancel_self(void *arg)
{
	struct item *it = arg;
	it->result = cio_handle_cancel(it->other);
}

Test(handle, cancel_after_run_and_from_own_callback)
{
	cio_loop *loop = th_loop_new();
	cio_handle *h, *self;
	struct item it = { 0 };
	int n = 0;

	cr_assert_eq(cio_call_soon(loop, count_cb, &n, &h), 0);
	th_run_once(loop);
	cr_assert_eq(n, 1);
	cr_assert_eq(cio_handle_cancel(h), 0, "it ran already");
	cr_assert_not(cio_handle_cancelled(h));
	cio_handle_unref(h);

	it.result = -1;
	cr_assert_eq(cio_call_soon(loop, cancel_self, &it, &self), 0);
	it.other = self;
	th_run_once(loop);
	cr_assert_eq(it.result, 0, "a running callback cannot be cancelled");
	cr_assert_not(cio_handle_cancelled(self));
	cio_handle_unref(self);
	th_loop_free(loop);
	th_leak_check();
}

Test(handle, unref_before_and_after_run)
{
	cio_loop *loop = th_loop_new();
	cio_handle *a, *b, *c;
	int n = 0;

	cr_assert_eq(cio_call_soon(loop, count_cb, &n, &a), 0);
	cr_assert_eq(cio_call_later(loop, 0, count_cb, &n, &b), 0);
	cr_assert_eq(cio_call_soon(loop, count_cb, &n, &c), 0);
	cio_handle_unref(a); /* the loop's reference keeps it scheduled */
	cio_handle_unref(b);
	th_run_once(loop);
	th_run_once(loop);
	cr_assert_eq(n, 3);
	cr_assert_eq(loop->objects, 1, "only c is still referenced");
	cio_handle_unref(c);
	cr_assert_eq(loop->objects, 0);
	/* No out handle: nothing to release. */
	cr_assert_eq(cio_call_soon(loop, count_cb, &n, NULL), 0);
	cr_assert_eq(cio_call_at(loop, 0, count_cb, &n, NULL), 0);
	cr_assert_eq(loop->objects, 2);
	th_run_once(loop);
	th_run_once(loop);
	cr_assert_eq(n, 5);
	cr_assert_eq(loop->objects, 0);
	th_loop_free(loop);
	th_leak_check();
}

static void stop_loop(void *arg)
{
	cio_loop_stop(arg);
}

Test(handle, when)
{
	cio_loop *loop = th_loop_new();
	cio_handle *soon, *at, *later, *neg;
	int n = 0;

	cr_assert_eq(cio_call_soon(loop, count_cb, &n, &soon), 0);
	cr_assert_eq(cio_handle_when(soon), -EINVAL);
	int64_t deadline = cio_loop_time() + 5 * CIO_NSEC_PER_MSEC;
	cr_assert_eq(cio_call_at(loop, deadline, count_cb, &n, &at), 0);
	cr_assert_eq(cio_handle_when(at), deadline);
	int64_t before = cio_loop_time();
	cr_assert_eq(cio_call_later(loop, 2 * CIO_NSEC_PER_MSEC, count_cb, &n,
				    &later), 0);
	int64_t after = cio_loop_time();
	cr_assert_geq(cio_handle_when(later), before + 2 * CIO_NSEC_PER_MSEC);
	cr_assert_leq(cio_handle_when(later), after + 2 * CIO_NSEC_PER_MSEC);
	/* A negative delay runs as a zero one would. */
	before = cio_loop_time();
	cr_assert_eq(cio_call_later(loop, -CIO_NSEC_PER_SEC, count_cb, &n,
				    &neg), 0);
	cr_assert_geq(cio_handle_when(neg), before);
	cr_assert_leq(cio_handle_when(neg), cio_loop_time());
	/* A negative deadline reads as 0, never as an error code. */
	cio_handle *past;
	cr_assert_eq(cio_call_at(loop, -EINVAL, count_cb, &n, &past), 0);
	cr_assert_eq(cio_handle_when(past), 0);
	cr_assert_eq(cio_handle_cancel(past), 1);
	cio_handle_unref(past);

	/* Due with `at` and armed after it: runs after it, and stops. */
	cr_assert_eq(cio_call_at(loop, deadline, stop_loop, loop, NULL), 0);
	cr_assert_eq(cio_loop_run_forever(loop), 0);
	cr_assert_eq(n, 4);
	cr_assert_geq(cio_loop_time(), deadline);
	/* when() outlives the run and a cancel. */
	cr_assert_eq(cio_handle_when(at), deadline);
	cr_assert_eq(cio_handle_cancel(at), 0);
	cr_assert_eq(cio_handle_when(at), deadline);
	cr_assert_eq(cio_handle_when(soon), -EINVAL);
	cio_handle_unref(soon);
	cio_handle_unref(at);
	cio_handle_unref(later);
	cio_handle_unref(neg);
	th_loop_free(loop);
	th_leak_check();
}

/* Two timers due together: the first one's callback cancels the second,
 * which has already left the heap for the ready queue. */
Test(handle, cancel_fired_timer_before_it_runs)
{
	cio_loop *loop = th_loop_new();
	struct item it = { 0 };
	cio_handle *first, *second;
	int n = 0;

	cr_assert_eq(cio_call_at(loop, 0, cancel_self, &it, &first), 0);
	cr_assert_eq(cio_call_at(loop, 0, count_cb, &n, &second), 0);
	it.other = second;
	th_run_once(loop);
	cr_assert_eq(it.result, 1);
	cr_assert(cio_handle_cancelled(second));
	th_run_once(loop);
	cr_assert_eq(n, 0);
	cio_handle_unref(first);
	cio_handle_unref(second);
	cr_assert_eq(loop->objects, 0);
	th_loop_free(loop);
	th_leak_check();
}

Test(handle, call_at_in_the_past_runs_after_ready_callbacks)
{
	struct rec r = { .loop = th_loop_new() };
	struct item a = { &r, 1, NULL, 0 }, b = { &r, 2, NULL, 0 };

	/* Timers move to the ready queue after what is already there. */
	cr_assert_eq(cio_call_at(r.loop, 1, record, &a, NULL), 0);
	cr_assert_eq(cio_call_soon(r.loop, record, &b, NULL), 0);
	th_run_once(r.loop);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r.order[0], 2);
	cr_assert_eq(r.order[1], 1);
	th_loop_free(r.loop);
	th_leak_check();
}

/* The handle cache recycles freed handles: many rounds, each handle
 * distinct while alive. */
Test(handle, many_rounds_reuse_handles)
{
	cio_loop *loop = th_loop_new();
	cio_handle *h[300];
	int n = 0;

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 300; i++)
			cr_assert_eq(cio_call_soon(loop, count_cb, &n,
						   i % 2 ? &h[i] : NULL), 0);
		for (int i = 1; i < 300; i += 4)
			cr_assert_eq(cio_handle_cancel(h[i]), 1);
		th_run_once(loop);
		for (int i = 1; i < 300; i += 2)
			cio_handle_unref(h[i]);
	}
	cr_assert_eq(n, 20 * (300 - 75));
	cr_assert_eq(loop->objects, 0);
	cr_assert_leq(loop->handle_cache_len, 256);
	th_loop_free(loop);
	th_leak_check();
}

Test(handle, threadsafe_from_the_loop_thread)
{
	cio_loop *loop = th_loop_new();
	int n = 0;
	cr_assert_eq(cio_call_soon_threadsafe(loop, count_cb, &n), 0);
	cr_assert_eq(cio_call_soon_threadsafe(loop, count_cb, &n), 0);
	cr_assert_eq(n, 0);
	th_run_once(loop);
	cr_assert_eq(n, 2);
	cr_assert_eq(loop->objects, 0);
	th_loop_free(loop);
	th_leak_check();
}
