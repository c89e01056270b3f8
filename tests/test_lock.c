/* cio_lock_*: asyncio.Lock semantics — FIFO hand-over, cancellation in
 * each state of a waiter, deadlines, misuse, many waiters. */
#include "helpers/harness.h"
#include "sync/lock.h"
#include "runtime/timeout.h"

#include <stdlib.h>

#define MS CIO_NSEC_PER_MSEC

TestSuite(lock, .timeout = 60);

/* A task that takes the lock, records when it got it, yields while it
 * holds it (so others run and find it held), then releases it. */
struct worker {
	cio_lock *lock;
	int64_t deadline;
	int *order;   /* shared counter: the worker's rank when it got it */
	int rank;     /* 1-based; 0: never got it */
	int rc;       /* what acquire returned */
	int hold_yields;
};

static intptr_t worker_fn(void *arg)
{
	struct worker *w = arg;

	w->rc = cio_lock_acquire(w->lock, w->deadline);
	if (w->rc < 0)
		return w->rc;
	cr_assert(cio_lock_locked(w->lock));
	w->rank = ++*w->order;
	for (int i = 0; i < w->hold_yields; i++)
		cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_release(w->lock), 0);
	return 0;
}

static void workers_init(struct worker *w, int n, cio_lock *lock, int *order)
{
	for (int i = 0; i < n; i++)
		w[i] = (struct worker){ .lock = lock,
					.deadline = CIO_NO_DEADLINE,
					.order = order };
}

/* -- bad input and misuse -------------------------------------------------- */

Test(lock, bad_arguments)
{
	cr_assert_eq(cio_lock_new(NULL), -EINVAL);
	cr_assert_eq(cio_lock_free(NULL), 0);
	cr_assert_eq(cio_lock_acquire(NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_lock_try_acquire(NULL), -EINVAL);
	cr_assert_eq(cio_lock_release(NULL), -EINVAL);
	cr_assert_not(cio_lock_locked(NULL));
	cr_assert_eq(cio_lock_with(NULL, CIO_NO_DEADLINE, NULL, NULL), -EINVAL);
	th_leak_check();
}

static int never_called(void *arg)
{
	(void)arg;
	cr_assert_fail("fn must not run");
	return 0;
}

Test(lock, outside_a_task)
{
	cio_lock *l;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), -EPERM);
	cr_assert_not(cio_lock_locked(l), "a refused acquire takes nothing");
	cr_assert_eq(cio_lock_with(l, CIO_NO_DEADLINE, never_called, NULL),
		     -EPERM);
	cr_assert_eq(cio_lock_release(l), -EPERM, "releasing an unlocked lock");
	/* The non-waiting calls need no task. */
	cr_assert_eq(cio_lock_try_acquire(l), 0);
	cr_assert_eq(cio_lock_try_acquire(l), -EAGAIN);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_lock_release(l), -EPERM);
	cr_assert_eq(cio_lock_free(l), 0);
	th_leak_check();
}

/* -- the uncontended path -------------------------------------------------- */

static intptr_t uncontended_body(void *arg)
{
	cio_lock *l;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
		cr_assert(cio_lock_locked(l));
		cr_assert_eq(cio_lock_try_acquire(l), -EAGAIN);
		cr_assert_eq(cio_lock_release(l), 0);
		cr_assert_not(cio_lock_locked(l));
	}
	cr_assert_eq(cio_lock_release(l), -EPERM);
	/* A deadline that has passed still takes a free lock... */
	cr_assert_eq(cio_lock_acquire(l, 0), 0);
	/* ... and refuses to wait for a held one. */
	cr_assert_eq(cio_lock_acquire(l, 0), -ETIMEDOUT);
	cr_assert_eq(cio_lock_acquire(l, cio_loop_time() - 1), -ETIMEDOUT);
	cr_assert(cio_lock_locked(l));
	cr_assert_eq(cio_lock_release(l), 0);
	/* A held lock may be freed (rule 2). */
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, uncontended)
{
	th_run_clean(uncontended_body, NULL);
}

/* -- FIFO ------------------------------------------------------------------ */

static intptr_t fifo_body(void *arg)
{
	enum { N = 6 };
	struct worker w[N];
	cio_task *t[N];
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(w, N, l, &order);
	for (int i = 0; i < N; i++) {
		w[i].hold_yields = 2;
		t[i] = th_spawn_here(worker_fn, &w[i]);
	}
	cr_assert_eq(cio_yield(), 0); /* every worker parks, in order */
	cr_assert_eq(cio_lock_release(l), 0);
	/* Handed over, not unlocked: a later comer cannot barge in. */
	cr_assert(cio_lock_locked(l));
	cr_assert_eq(cio_lock_try_acquire(l), -EAGAIN);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(th_join(t[i]), 0);
		cr_assert_eq(w[i].rank, i + 1, "worker %d got rank %d", i,
			     w[i].rank);
	}
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, waiters_get_it_in_arrival_order)
{
	th_run_clean(fifo_body, NULL);
}

/* A task that acquires while others wait goes to the back, even when the
 * lock is released in the same step (asyncio's Lock does not barge). */
static intptr_t no_barging_body(void *arg)
{
	struct worker w[2];
	cio_task *t[2];
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(w, 2, l, &order);
	t[0] = th_spawn_here(worker_fn, &w[0]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_release(l), 0);
	t[1] = th_spawn_here(worker_fn, &w[1]);
	/* Main asks again right away: w[0] first, then main, then w[1]. */
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(w[0].rank, 1);
	cr_assert_eq(w[1].rank, 0);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(w[1].rank, 2);
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, a_new_acquire_queues_behind_waiters)
{
	th_run_clean(no_barging_body, NULL);
}

/* -- cancellation ---------------------------------------------------------- */

static intptr_t cancel_parked_body(void *arg)
{
	struct worker w[3];
	cio_task *t[3];
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(w, 3, l, &order);
	for (int i = 0; i < 3; i++)
		t[i] = th_spawn_here(worker_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	/* The middle one leaves the queue; the others keep their places. */
	cr_assert_eq(cio_task_cancel(t[1]), 1);
	cr_assert_eq(th_join(t[1]), -ECANCELED);
	cr_assert_eq(w[1].rc, -ECANCELED);
	cr_assert(cio_lock_locked(l), "still main's");
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[2]), 0);
	cr_assert_eq(w[0].rank, 1);
	cr_assert_eq(w[1].rank, 0);
	cr_assert_eq(w[2].rank, 2);
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, cancel_a_parked_waiter)
{
	th_run_clean(cancel_parked_body, NULL);
}

static intptr_t cancel_chosen_body(void *arg)
{
	struct worker w[3];
	cio_task *t[3];
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(w, 3, l, &order);
	for (int i = 0; i < 3; i++)
		t[i] = th_spawn_here(worker_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	/* w[0] is handed the lock, then cancelled before it runs: it must
	 * pass the lock on rather than keep it or lose it. */
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_eq(w[0].rc, -ECANCELED);
	cr_assert_eq(w[0].rank, 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(th_join(t[2]), 0);
	cr_assert_eq(w[1].rank, 1);
	cr_assert_eq(w[2].rank, 2);
	cr_assert_not(cio_lock_locked(l));

	/* The same with nobody behind it: the lock ends up unlocked. */
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	t[0] = th_spawn_here(worker_fn, &w[0]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert(cio_lock_locked(l), "handed to the waiter");
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_not(cio_lock_locked(l), "given back, nobody waits");
	cr_assert_eq(cio_lock_try_acquire(l), 0);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, cancel_after_being_chosen_passes_the_lock_on)
{
	th_run_clean(cancel_chosen_body, NULL);
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_lock *l;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), -ECANCELED,
		     "an await delivers a pending cancellation");
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0, "only once");
	cr_assert_eq(cio_task_uncancel(cio_current_task()), 0);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, pending_cancellation_on_entry)
{
	th_run_clean(pending_cancel_body, NULL);
}

/* -- deadlines ------------------------------------------------------------- */

static intptr_t timeout_body(void *arg)
{
	struct worker w[2];
	cio_task *t[2];
	cio_lock *l;
	int order = 0;
	int64_t start;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(w, 2, l, &order);
	start = cio_loop_time();
	w[0].deadline = start + 20 * MS;
	t[0] = th_spawn_here(worker_fn, &w[0]);
	t[1] = th_spawn_here(worker_fn, &w[1]);
	cr_assert_eq(th_join(t[0]), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert(cio_lock_locked(l));
	/* The timed-out waiter left the queue: the next one gets it. */
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(w[1].rank, 1);
	cr_assert_eq(w[0].rank, 0);
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, deadline)
{
	th_run_clean(timeout_body, NULL);
}

/* A timeout scope around acquire: the scope's cancellation ends the wait
 * and exit() reports -ETIMEDOUT. */
static intptr_t scope_body(void *arg)
{
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_lock *l;
	int rc;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_try_acquire(l), 0);
	cr_assert_eq(cio_timeout_enter_after(&to, 10 * MS), 0);
	rc = cio_lock_acquire(l, CIO_NO_DEADLINE);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, inside_a_timeout_scope)
{
	th_run_clean(scope_body, NULL);
}

/* -- cio_lock_with --------------------------------------------------------- */

struct with_arg {
	cio_lock *lock;
	int calls;
};

static int with_fn(void *arg)
{
	struct with_arg *a = arg;
	a->calls++;
	cr_assert(cio_lock_locked(a->lock));
	cr_assert_eq(cio_yield(), 0);
	return a->calls == 1 ? 7 : -EIO;
}

static intptr_t with_body(void *arg)
{
	struct with_arg a = { 0 };
	(void)arg;

	cr_assert_eq(cio_lock_new(&a.lock), 0);
	cr_assert_eq(cio_lock_with(a.lock, CIO_NO_DEADLINE, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(cio_lock_with(a.lock, CIO_NO_DEADLINE, with_fn, &a), 7);
	cr_assert_not(cio_lock_locked(a.lock));
	/* fn's error is returned, and the lock released all the same. */
	cr_assert_eq(cio_lock_with(a.lock, CIO_NO_DEADLINE, with_fn, &a),
		     -EIO);
	cr_assert_not(cio_lock_locked(a.lock));
	/* No lock, no call. */
	cr_assert_eq(cio_lock_try_acquire(a.lock), 0);
	cr_assert_eq(cio_lock_with(a.lock, 0, with_fn, &a), -ETIMEDOUT);
	cr_assert_eq(a.calls, 2);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_lock_with(a.lock, CIO_NO_DEADLINE, with_fn, &a),
		     -ECANCELED);
	cio_task_uncancel(cio_current_task());
	cr_assert_eq(a.calls, 2);
	cr_assert_eq(cio_lock_release(a.lock), 0);
	cr_assert_eq(cio_lock_free(a.lock), 0);
	return 0;
}

Test(lock, with)
{
	th_run_clean(with_body, NULL);
}

/* -- free ------------------------------------------------------------------ */

static intptr_t free_busy_body(void *arg)
{
	struct worker w;
	cio_task *t;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(&w, 1, l, &order);
	t = th_spawn_here(worker_fn, &w);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_free(l), -EBUSY, "a task waits");
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_lock_free(l), -EBUSY, "handed over, not resumed");
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_lock_free(l), 0);
	return 0;
}

Test(lock, free_refuses_while_a_task_waits)
{
	th_run_clean(free_busy_body, NULL);
}

/* -- loops ----------------------------------------------------------------- */

static intptr_t acquire_once(void *arg)
{
	return cio_lock_acquire(arg, CIO_NO_DEADLINE);
}

/* Tasks of two loops cannot wait on one lock at the same time: the lock
 * would be handed to a task from another loop's thread. */
Test(lock, waiters_of_another_loop_are_refused)
{
	cio_loop *a = th_loop_new(), *b = th_loop_new();
	cio_lock *l;
	cio_task *t;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_try_acquire(l), 0);
	t = th_spawn(a, acquire_once, l, NULL);
	th_run_once(a); /* t parks on the lock */
	cr_assert_not(cio_task_done(t));
	cr_assert_eq(th_run(b, acquire_once, l), -EINVAL);
	/* Released from outside any task: t gets it. */
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_loop_run_until_complete(a, cio_task_future(t)), 0);
	cio_task_unref(t);
	cr_assert_eq(cio_lock_release(l), 0);
	/* Nobody waits any more: another loop may use it now. */
	cr_assert_eq(th_run(b, acquire_once, l), 0);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_lock_free(l), 0);
	th_loop_free_checked(a);
	th_loop_free_checked(b);
	th_leak_check();
}

/* A loop closed with a task parked on the lock unlinks it: the lock is
 * usable (and freeable) afterwards. */
Test(lock, loop_closed_with_a_waiter)
{
	struct th_report_counts c;
	cio_loop *loop = th_loop_new_counting(&c);
	cio_lock *l;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_try_acquire(l), 0);
	cio_task *t = th_spawn(loop, acquire_once, l, NULL);
	th_loop_close_pending(loop);
	cr_assert_eq(c.pending_at_close, 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_not(cio_lock_locked(l), "nobody left to hand it to");
	cr_assert_eq(cio_lock_free(l), 0);
	cio_task_unref(t);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- many waiters ---------------------------------------------------------- */

static intptr_t many_body(void *arg)
{
	enum { N = 10000 };
	struct worker *w = calloc(N, sizeof(*w));
	cio_task **t = calloc(N, sizeof(*t));
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert(w && t);
	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	workers_init(w, N, l, &order);
	for (int i = 0; i < N; i++) {
		/* Every other one with a deadline: timers for half of them. */
		if (i % 2)
			w[i].deadline = cio_deadline_after(60 *
							   CIO_NSEC_PER_SEC);
		t[i] = th_spawn_here(worker_fn, &w[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	/* Cancel every tenth while parked. */
	for (int i = 0; i < N; i += 10)
		cr_assert_eq(cio_task_cancel(t[i]), 1);
	cr_assert_eq(cio_lock_release(l), 0);
	int expect = 0;
	for (int i = 0; i < N; i++) {
		intptr_t v = th_join(t[i]);
		if (i % 10 == 0) {
			cr_assert_eq(v, -ECANCELED);
			cr_assert_eq(w[i].rank, 0);
		} else {
			cr_assert_eq(v, 0);
			cr_assert_eq(w[i].rank, ++expect);
		}
	}
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_free(l), 0);
	free(w);
	free(t);
	return 0;
}

Test(lock, ten_thousand_waiters)
{
	th_run_clean(many_body, NULL);
}
