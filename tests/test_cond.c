/* cio_cond_*: asyncio.Condition semantics — the lock released while
 * waiting and held again on every return, notify order, wait_for,
 * cancellation in each state of a waiter, deadlines, misuse, many
 * waiters. */
#include "helpers/harness.h"
#include "sync/cond.h"

#include <stdlib.h>

#define MS CIO_NSEC_PER_MSEC

TestSuite(cond, .timeout = 60);

/* A task that takes the lock, waits (or waits for pred), notes whether it
 * has the lock back and in which order it got through, then releases. */
struct cw {
	cio_cond *c;
	int64_t deadline;
	bool (*pred)(void *arg);
	void *parg;
	int *order;
	int rank; /* 1-based, among the waits that returned 0 */
	int rc;
	bool held_after;
	bool returned;
};

static intptr_t cw_fn(void *arg)
{
	struct cw *w = arg;
	cio_lock *l = cio_cond_lock(w->c);

	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	w->rc = w->pred ? cio_cond_wait_for(w->c, w->pred, w->parg, w->deadline)
			: cio_cond_wait(w->c, w->deadline);
	w->returned = true;
	w->held_after = cio_lock_locked(l);
	if (w->rc == 0 && w->order)
		w->rank = ++*w->order;
	if (w->held_after)
		cr_assert_eq(cio_lock_release(l), 0);
	return w->rc;
}

static void cw_init(struct cw *w, int n, cio_cond *c, int *order)
{
	for (int i = 0; i < n; i++)
		w[i] = (struct cw){ .c = c, .deadline = CIO_NO_DEADLINE,
				    .order = order };
}

static bool always(void *arg)
{
	(void)arg;
	return true;
}

/* -- bad input and misuse -------------------------------------------------- */

Test(cond, bad_arguments)
{
	cio_cond *c;

	cr_assert_eq(cio_cond_new(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_cond_free(NULL), 0);
	cr_assert_null(cio_cond_lock(NULL));
	cr_assert_eq(cio_cond_wait(NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_cond_wait_for(NULL, always, NULL, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_eq(cio_cond_notify(NULL, 1), -EINVAL);
	cr_assert_eq(cio_cond_notify_all(NULL), -EINVAL);
	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	cr_assert_eq(cio_cond_wait_for(c, NULL, NULL, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_eq(cio_lock_try_acquire(cio_cond_lock(c)), 0);
	cr_assert_eq(cio_cond_notify(c, -1), -EINVAL);
	cr_assert_eq(cio_lock_release(cio_cond_lock(c)), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	th_leak_check();
}

Test(cond, outside_a_task)
{
	cio_cond *c;
	cio_lock *l;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cr_assert_not_null(l);
	cr_assert_eq(cio_cond_notify(c, 1), -EPERM, "lock not held");
	cr_assert_eq(cio_cond_notify_all(c), -EPERM);
	cr_assert_eq(cio_lock_try_acquire(l), 0);
	cr_assert_eq(cio_cond_wait(c, CIO_NO_DEADLINE), -EPERM, "no task");
	cr_assert_eq(cio_cond_wait_for(c, always, NULL, CIO_NO_DEADLINE),
		     -EPERM);
	/* notify needs the lock, not a task. */
	cr_assert_eq(cio_cond_notify(c, 1), 0);
	cr_assert_eq(cio_cond_notify_all(c), 0);
	cr_assert(cio_lock_locked(l));
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	th_leak_check();
}

static intptr_t without_lock_body(void *arg)
{
	cio_cond *c;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	cr_assert_eq(cio_cond_wait(c, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_cond_wait_for(c, always, NULL, CIO_NO_DEADLINE),
		     -EPERM, "checked before the predicate");
	cr_assert_eq(cio_cond_notify(c, 1), -EPERM);
	cr_assert_eq(cio_cond_notify_all(c), -EPERM);
	cr_assert_not(cio_lock_locked(cio_cond_lock(c)));
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, calls_without_the_lock_held)
{
	th_run_clean(without_lock_body, NULL);
}

/* -- notify ---------------------------------------------------------------- */

static intptr_t notify_order_body(void *arg)
{
	enum { N = 5 };
	struct cw w[N];
	cio_task *t[N];
	cio_cond *c;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(w, N, c, &order);
	for (int i = 0; i < N; i++)
		t[i] = th_spawn_here(cw_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(cio_lock_locked(l), "every waiter released it");

	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 0), 0);
	cr_assert_eq(cio_cond_notify(c, 2), 2);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(cio_yield(), 0);
	for (int i = 2; i < N; i++)
		cr_assert_not(w[i].returned, "not notified");

	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_cond_notify_all(c), 2);
	cr_assert_eq(cio_cond_notify_all(c), 0, "nobody left");
	cr_assert_eq(cio_lock_release(l), 0);
	for (int i = 2; i < N; i++)
		cr_assert_eq(th_join(t[i]), 0);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(w[i].rank, i + 1);
		cr_assert(w[i].held_after);
	}
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, notify_wakes_the_longest_waiting_first)
{
	th_run_clean(notify_order_body, NULL);
}

/* The lock is free while the waiter waits, and the waiter does not return
 * before it has the lock back. */
static intptr_t releases_and_reacquires_body(void *arg)
{
	struct cw w;
	cio_task *t;
	cio_cond *c;
	cio_lock *l;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(&w, 1, c, NULL);
	t = th_spawn_here(cw_fn, &w);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_acquire(l, 0), 0, "released by wait()");
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(w.returned, "notified, but the lock is ours");
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t), 0);
	cr_assert(w.held_after);
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, wait_releases_and_reacquires_the_lock)
{
	th_run_clean(releases_and_reacquires_body, NULL);
}

/* Two conditions on one lock: waiting on either releases it; a notify on
 * one wakes only its own waiters. */
static intptr_t shared_lock_body(void *arg)
{
	struct cw a, b;
	cio_task *ta, *tb;
	cio_cond *c1, *c2;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_lock_new(&l), 0);
	cr_assert_eq(cio_cond_new(&c1, l), 0);
	cr_assert_eq(cio_cond_new(&c2, l), 0);
	cr_assert_eq(cio_cond_lock(c1), l);
	cr_assert_eq(cio_cond_lock(c2), l);
	cw_init(&a, 1, c1, &order);
	cw_init(&b, 1, c2, &order);
	ta = th_spawn_here(cw_fn, &a);
	tb = th_spawn_here(cw_fn, &b);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify_all(c2), 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(tb), 0);
	cr_assert_not(a.returned);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify_all(c1), 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(ta), 0);
	cr_assert_eq(b.rank, 1);
	cr_assert_eq(a.rank, 2);
	cr_assert_eq(cio_cond_free(c1), 0);
	cr_assert_eq(cio_cond_free(c2), 0);
	cr_assert_eq(cio_lock_free(l), 0, "borrowed, not freed with them");
	return 0;
}

Test(cond, conditions_sharing_a_lock)
{
	th_run_clean(shared_lock_body, NULL);
}

/* -- wait_for -------------------------------------------------------------- */

struct counter {
	int value, target, calls;
};

static bool reached(void *arg)
{
	struct counter *k = arg;
	k->calls++;
	return k->value >= k->target;
}

/* The seeds' producer/consumer: a consumer waits until the producer made
 * enough, re-checking each time it is notified. */
static intptr_t wait_for_body(void *arg)
{
	struct counter k = { .target = 3 };
	struct cw w;
	cio_task *t;
	cio_cond *c;
	cio_lock *l;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(&w, 1, c, NULL);
	w.pred = reached;
	w.parg = &k;
	t = th_spawn_here(cw_fn, &w);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(cio_yield(), 0);
		cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
		if (w.returned) {
			cr_assert_eq(cio_lock_release(l), 0);
			break;
		}
		k.value++;
		cr_assert_eq(cio_cond_notify_all(c), 1);
		cr_assert_eq(cio_lock_release(l), 0);
	}
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(k.value, 3, "returned as soon as the predicate held");
	cr_assert_eq(k.calls, 4, "once up front, once per notification");
	cr_assert(w.held_after);

	/* True up front: no waiting at all, the lock never let go. */
	k.calls = 0;
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_wait_for(c, reached, &k, 0), 0);
	cr_assert_eq(k.calls, 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, wait_for_a_predicate)
{
	th_run_clean(wait_for_body, NULL);
}

/* -- deadlines ------------------------------------------------------------- */

static intptr_t deadline_body(void *arg)
{
	struct counter k = { .target = 1 };
	cio_cond *c;
	cio_lock *l;
	int64_t start;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_wait(c, 0), -ETIMEDOUT, "passed on entry");
	cr_assert(cio_lock_locked(l));
	start = cio_loop_time();
	cr_assert_eq(cio_cond_wait(c, start + 20 * MS), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert(cio_lock_locked(l), "held again after the timeout");
	cr_assert_eq(cio_cond_wait_for(c, reached, &k, cio_deadline_after(
							   5 * MS)),
		     -ETIMEDOUT);
	cr_assert(cio_lock_locked(l));
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, deadline)
{
	th_run_clean(deadline_body, NULL);
}

/* The predicate became true without a notification: the last check at the
 * deadline finds it. */
static intptr_t wait_for_late_true_body(void *arg)
{
	struct counter k = { .target = 1 };
	struct cw w;
	cio_task *t;
	cio_cond *c;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	cw_init(&w, 1, c, NULL);
	w.pred = reached;
	w.parg = &k;
	w.deadline = cio_deadline_after(10 * MS);
	t = th_spawn_here(cw_fn, &w);
	cr_assert_eq(cio_yield(), 0);
	k.value = 1; /* no notify */
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(k.calls, 2);
	cr_assert(w.held_after);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, wait_for_checks_once_more_at_the_deadline)
{
	th_run_clean(wait_for_late_true_body, NULL);
}

/* -- cancellation ---------------------------------------------------------- */

/* Cancelled while waiting for a notification, with the lock held by
 * someone else: wait() returns -ECANCELED only once it has the lock. */
static intptr_t cancel_parked_body(void *arg)
{
	struct cw w[2];
	cio_task *t[2];
	cio_cond *c;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(w, 2, c, &order);
	t[0] = th_spawn_here(cw_fn, &w[0]);
	t[1] = th_spawn_here(cw_fn, &w[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(w[0].returned, "waiting for the lock");
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert(w[0].held_after);
	/* It was not notified, so it notifies nobody: t[1] still waits. */
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(w[1].returned);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, cancel_a_parked_waiter)
{
	th_run_clean(cancel_parked_body, NULL);
}

/* Notified, then cancelled before it ran: it fails, and its notification
 * goes to the next waiter rather than being lost. */
static intptr_t cancel_notified_body(void *arg)
{
	struct cw w[3];
	cio_task *t[3];
	cio_cond *c;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(w, 3, c, &order);
	for (int i = 0; i < 3; i++)
		t[i] = th_spawn_here(cw_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert(w[0].held_after, "the lock is reacquired all the same");
	cr_assert_eq(th_join(t[1]), 0, "the notification passed on");
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(w[2].returned, "and only one");
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[2]), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, cancel_after_notify_passes_the_notification_on)
{
	th_run_clean(cancel_notified_body, NULL);
}

/* Notified, ran, and parked again taking the lock back: a cancellation
 * then does not cut that short, and is reported once it has the lock. */
static intptr_t cancel_reacquiring_body(void *arg)
{
	struct cw w[2];
	cio_task *t[2];
	cio_cond *c;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(w, 2, c, &order);
	t[0] = th_spawn_here(cw_fn, &w[0]);
	t[1] = th_spawn_here(cw_fn, &w[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_yield(), 0); /* t[0] runs, parks on the lock */
	cr_assert_not(w[0].returned);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(w[0].returned, "still taking the lock back");
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert(w[0].held_after);
	cr_assert_eq(th_join(t[1]), 0, "the notification passed on");
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, cancel_while_taking_the_lock_back)
{
	th_run_clean(cancel_reacquiring_body, NULL);
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_cond *c;
	cio_lock *l;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_cond_wait(c, CIO_NO_DEADLINE), -ECANCELED);
	cr_assert(cio_lock_locked(l));
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_cond_wait_for(c, always, NULL, CIO_NO_DEADLINE),
		     -ECANCELED);
	cr_assert_eq(cio_cond_wait_for(c, always, NULL, CIO_NO_DEADLINE), 0);
	cio_task_uncancel(cio_current_task());
	cio_task_uncancel(cio_current_task());
	cr_assert(cio_lock_locked(l));
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, pending_cancellation_on_entry)
{
	th_run_clean(pending_cancel_body, NULL);
}

/* -- free ------------------------------------------------------------------ */

static intptr_t free_busy_body(void *arg)
{
	struct cw w;
	cio_task *t;
	cio_cond *c;
	cio_lock *l;
	(void)arg;

	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(&w, 1, c, NULL);
	t = th_spawn_here(cw_fn, &w);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_cond_free(c), -EBUSY, "a task waits");
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify(c, 1), 1);
	cr_assert_eq(cio_cond_free(c), -EBUSY, "notified, not resumed");
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_cond_free(c), -EBUSY, "waits for the lock");
	cr_assert_eq(cio_lock_release(l), 0);
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_cond_free(c), 0);
	return 0;
}

Test(cond, free_refuses_while_a_task_waits)
{
	th_run_clean(free_busy_body, NULL);
}

/* -- many waiters ---------------------------------------------------------- */

static intptr_t many_body(void *arg)
{
	enum { N = 10000 };
	struct cw *w = calloc(N, sizeof(*w));
	cio_task **t = calloc(N, sizeof(*t));
	cio_cond *c;
	cio_lock *l;
	int order = 0;
	(void)arg;

	cr_assert(w && t);
	cr_assert_eq(cio_cond_new(&c, NULL), 0);
	l = cio_cond_lock(c);
	cw_init(w, N, c, &order);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			w[i].deadline = cio_deadline_after(60 *
							   CIO_NSEC_PER_SEC);
		t[i] = th_spawn_here(cw_fn, &w[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	for (int i = 0; i < N; i += 10)
		cr_assert_eq(cio_task_cancel(t[i]), 1);
	cr_assert_eq(cio_lock_acquire(l, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_cond_notify_all(c), N - N / 10);
	cr_assert_eq(cio_lock_release(l), 0);
	int expect = 0;
	for (int i = 0; i < N; i++) {
		intptr_t v = th_join(t[i]);
		cr_assert(w[i].held_after);
		if (i % 10 == 0) {
			cr_assert_eq(v, -ECANCELED);
		} else {
			cr_assert_eq(v, 0);
			cr_assert_eq(w[i].rank, ++expect);
		}
	}
	cr_assert_not(cio_lock_locked(l));
	cr_assert_eq(cio_cond_free(c), 0);
	free(w);
	free(t);
	return 0;
}

Test(cond, ten_thousand_waiters)
{
	th_run_clean(many_body, NULL);
}
