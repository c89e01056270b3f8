/* cio_event_*: asyncio.Event semantics — set wakes every waiter, clear,
 * cancellation in each state of a waiter, deadlines, misuse, many
 * waiters. */
#include "helpers/harness.h"
#include "sync/event.h"

#include <stdlib.h>

#define MS CIO_NSEC_PER_MSEC

TestSuite(event, .timeout = 60);

struct waiter {
	cio_event *ev;
	int64_t deadline;
	int *order;
	int rank; /* 1-based order in which waiters returned 0 */
	int rc;
};

static intptr_t waiter_fn(void *arg)
{
	struct waiter *w = arg;

	w->rc = cio_event_wait(w->ev, w->deadline);
	if (w->rc == 0) {
		cr_assert(w->order);
		w->rank = ++*w->order;
	}
	return w->rc;
}

static void waiters_init(struct waiter *w, int n, cio_event *ev, int *order)
{
	for (int i = 0; i < n; i++)
		w[i] = (struct waiter){ .ev = ev, .deadline = CIO_NO_DEADLINE,
					.order = order };
}

/* -- bad input and misuse -------------------------------------------------- */

Test(event, bad_arguments)
{
	cr_assert_eq(cio_event_new(NULL), -EINVAL);
	cr_assert_eq(cio_event_free(NULL), 0);
	cr_assert_eq(cio_event_set(NULL), -EINVAL);
	cr_assert_eq(cio_event_clear(NULL), -EINVAL);
	cr_assert_not(cio_event_is_set(NULL));
	cr_assert_eq(cio_event_wait(NULL, CIO_NO_DEADLINE), -EINVAL);
	th_leak_check();
}

Test(event, outside_a_task)
{
	cio_event *ev;

	cr_assert_eq(cio_event_new(&ev), 0);
	cr_assert_not(cio_event_is_set(ev));
	cr_assert_eq(cio_event_wait(ev, CIO_NO_DEADLINE), -EPERM);
	/* set and clear need no task. */
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert(cio_event_is_set(ev));
	cr_assert_eq(cio_event_wait(ev, CIO_NO_DEADLINE), -EPERM,
		     "an await, even when it would not wait");
	cr_assert_eq(cio_event_set(ev), 0, "setting twice is fine");
	cr_assert_eq(cio_event_clear(ev), 0);
	cr_assert_not(cio_event_is_set(ev));
	cr_assert_eq(cio_event_clear(ev), 0);
	cr_assert_eq(cio_event_free(ev), 0);
	th_leak_check();
}

/* -- set and clear --------------------------------------------------------- */

static intptr_t set_wakes_all_body(void *arg)
{
	enum { N = 5 };
	struct waiter w[N];
	cio_task *t[N];
	cio_event *ev;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	waiters_init(w, N, ev, &order);
	for (int i = 0; i < N; i++)
		t[i] = th_spawn_here(waiter_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	for (int i = 0; i < N; i++)
		cr_assert_not(cio_task_done(t[i]), "waiting");
	cr_assert_eq(cio_event_set(ev), 0);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(th_join(t[i]), 0);
		cr_assert_eq(w[i].rank, i + 1, "woken in the order they came");
	}
	/* Set: wait returns at once, without a switch to anyone. */
	cr_assert_eq(cio_event_wait(ev, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_event_wait(ev, 0), 0, "even with a past deadline");
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, set_wakes_every_waiter)
{
	th_run_clean(set_wakes_all_body, NULL);
}

static intptr_t clear_body(void *arg)
{
	struct waiter w[3];
	cio_task *t[3];
	cio_event *ev;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	waiters_init(w, 3, ev, &order);
	t[0] = th_spawn_here(waiter_fn, &w[0]);
	t[1] = th_spawn_here(waiter_fn, &w[1]);
	cr_assert_eq(cio_yield(), 0);
	/* Set then cleared before the waiters ran: they were woken by the
	 * set and return 0 (asyncio resolved their futures). */
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(cio_event_clear(ev), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[1]), 0);
	/* A wait after the clear waits for the next set. */
	t[2] = th_spawn_here(waiter_fn, &w[2]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(cio_task_done(t[2]));
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(th_join(t[2]), 0);
	cr_assert_eq(order, 3);
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, clear)
{
	th_run_clean(clear_body, NULL);
}

static void set_cb(void *arg)
{
	cr_assert_eq(cio_event_set(arg), 0);
}

static intptr_t set_from_callback_body(void *arg)
{
	cio_event *ev;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	cr_assert_eq(cio_call_soon(NULL, set_cb, ev, NULL), 0);
	cr_assert_eq(cio_event_wait(ev, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, set_from_a_callback)
{
	th_run_clean(set_from_callback_body, NULL);
}

/* -- cancellation ---------------------------------------------------------- */

static intptr_t cancel_parked_body(void *arg)
{
	struct waiter w[3];
	cio_task *t[3];
	cio_event *ev;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	waiters_init(w, 3, ev, &order);
	for (int i = 0; i < 3; i++)
		t[i] = th_spawn_here(waiter_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(t[1]), 1);
	cr_assert_eq(th_join(t[1]), -ECANCELED);
	cr_assert_eq(w[1].rc, -ECANCELED);
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[2]), 0);
	cr_assert_eq(order, 2);
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, cancel_a_parked_waiter)
{
	th_run_clean(cancel_parked_body, NULL);
}

static intptr_t cancel_woken_body(void *arg)
{
	struct waiter w[2];
	cio_task *t[2];
	cio_event *ev;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	waiters_init(w, 2, ev, &order);
	t[0] = th_spawn_here(waiter_fn, &w[0]);
	t[1] = th_spawn_here(waiter_fn, &w[1]);
	cr_assert_eq(cio_yield(), 0);
	/* Woken by set, cancelled before it ran: the cancellation wins, as
	 * in asyncio; the other waiter and the event are unaffected. */
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert(cio_event_is_set(ev));
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, cancel_after_set_before_it_ran)
{
	th_run_clean(cancel_woken_body, NULL);
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_event *ev;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_event_wait(ev, CIO_NO_DEADLINE), -ECANCELED,
		     "delivered even though the event is set");
	cr_assert_eq(cio_event_wait(ev, CIO_NO_DEADLINE), 0);
	cio_task_uncancel(cio_current_task());
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, pending_cancellation_on_entry)
{
	th_run_clean(pending_cancel_body, NULL);
}

/* -- deadlines ------------------------------------------------------------- */

static intptr_t deadline_body(void *arg)
{
	struct waiter w[2];
	cio_task *t[2];
	cio_event *ev;
	int order = 0;
	int64_t start;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	cr_assert_eq(cio_event_wait(ev, 0), -ETIMEDOUT, "past, clear");
	waiters_init(w, 2, ev, &order);
	start = cio_loop_time();
	w[0].deadline = start + 20 * MS;
	t[0] = th_spawn_here(waiter_fn, &w[0]);
	t[1] = th_spawn_here(waiter_fn, &w[1]);
	cr_assert_eq(th_join(t[0]), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert_not(cio_task_done(t[1]));
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(order, 1);
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, deadline)
{
	th_run_clean(deadline_body, NULL);
}

/* -- free ------------------------------------------------------------------ */

static intptr_t free_busy_body(void *arg)
{
	struct waiter w;
	cio_task *t;
	cio_event *ev;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_event_new(&ev), 0);
	waiters_init(&w, 1, ev, &order);
	t = th_spawn_here(waiter_fn, &w);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_event_free(ev), -EBUSY);
	cr_assert_eq(cio_event_set(ev), 0);
	cr_assert_eq(cio_event_free(ev), -EBUSY, "woken, not resumed");
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_event_free(ev), 0);
	return 0;
}

Test(event, free_refuses_while_a_task_waits)
{
	th_run_clean(free_busy_body, NULL);
}

/* -- many waiters ---------------------------------------------------------- */

static intptr_t many_body(void *arg)
{
	enum { N = 10000 };
	struct waiter *w = calloc(N, sizeof(*w));
	cio_task **t = calloc(N, sizeof(*t));
	cio_event *ev;
	int order = 0;
	(void)arg;

	cr_assert(w && t);
	cr_assert_eq(cio_event_new(&ev), 0);
	waiters_init(w, N, ev, &order);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			w[i].deadline = cio_deadline_after(60 *
							   CIO_NSEC_PER_SEC);
		t[i] = th_spawn_here(waiter_fn, &w[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	for (int i = 0; i < N; i += 10)
		cr_assert_eq(cio_task_cancel(t[i]), 1);
	cr_assert_eq(cio_event_set(ev), 0);
	int expect = 0;
	for (int i = 0; i < N; i++) {
		intptr_t v = th_join(t[i]);
		if (i % 10 == 0) {
			cr_assert_eq(v, -ECANCELED);
		} else {
			cr_assert_eq(v, 0);
			cr_assert_eq(w[i].rank, ++expect);
		}
	}
	cr_assert_eq(cio_event_free(ev), 0);
	free(w);
	free(t);
	return 0;
}

Test(event, ten_thousand_waiters)
{
	th_run_clean(many_body, NULL);
}
