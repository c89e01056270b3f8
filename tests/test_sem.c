/* cio_sem_*: asyncio.Semaphore and BoundedSemaphore — the seeds' three
 * workers out of five, FIFO hand-over, the bound, the scoped helpers,
 * cancellation in each state of a waiter, deadlines, misuse, many
 * waiters. */
#include "helpers/harness.h"
#include "sync/sem.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS CIO_NSEC_PER_MSEC

TestSuite(sem, .timeout = 60);

/* A worker: takes a permit, works (yields) a while holding it, gives it
 * back. `log` records "+i" on acquire and "-i" on release. */
struct shared {
	cio_sem *sem;
	int inside, max_inside;
	int order;
	char log[256];
};

struct worker {
	struct shared *sh;
	int id;
	int64_t deadline;
	int work; /* yields while holding the permit */
	int rank; /* 1-based order of acquisition; 0: never */
	int rc;
};

static void note(struct shared *sh, char c, int id)
{
	size_t n = strlen(sh->log);
	snprintf(sh->log + n, sizeof(sh->log) - n, "%c%d", c, id);
}

static intptr_t worker_fn(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;

	w->rc = cio_sem_acquire(sh->sem, w->deadline);
	if (w->rc < 0)
		return w->rc;
	w->rank = ++sh->order;
	note(sh, '+', w->id);
	if (++sh->inside > sh->max_inside)
		sh->max_inside = sh->inside;
	for (int i = 0; i < w->work; i++)
		cr_assert_eq(cio_yield(), 0);
	sh->inside--;
	note(sh, '-', w->id);
	cr_assert_eq(cio_sem_release(sh->sem), 0);
	return 0;
}

static void workers_init(struct worker *w, int n, struct shared *sh)
{
	for (int i = 0; i < n; i++)
		w[i] = (struct worker){ .sh = sh, .id = i,
					.deadline = CIO_NO_DEADLINE };
}

/* -- bad input and misuse -------------------------------------------------- */

Test(sem, bad_arguments)
{
	cio_sem *s = (cio_sem *)1;
	struct cio_sem_guard g = CIO_SEM_GUARD_INIT;

	cr_assert_eq(cio_sem_new(NULL, 1, false), -EINVAL);
	cr_assert_eq(cio_sem_new(&s, -1, false), -EINVAL);
	cr_assert_null(s, "*out cleared on error");
	cr_assert_eq(cio_sem_new(&s, -1, true), -EINVAL);
	cr_assert_eq(cio_sem_free(NULL), 0);
	cr_assert_eq(cio_sem_acquire(NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_sem_try_acquire(NULL), -EINVAL);
	cr_assert_eq(cio_sem_release(NULL), -EINVAL);
	cr_assert_eq(cio_sem_value(NULL), -EINVAL);
	cr_assert_not(cio_sem_locked(NULL));
	cr_assert_eq(cio_sem_with(NULL, CIO_NO_DEADLINE, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_sem_guard_acquire(NULL, NULL, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_eq(cio_sem_guard_acquire(&g, NULL, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_not(g.held);
	cio_sem_guard_release(NULL);
	cio_sem_guard_release(&g);
	th_leak_check();
}

Test(sem, outside_a_task)
{
	cio_sem *s;

	cr_assert_eq(cio_sem_new(&s, 1, true), 0);
	cr_assert_eq(cio_sem_acquire(s, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_sem_value(s), 1, "a refused acquire takes nothing");
	/* The non-waiting calls need no task. */
	cr_assert_eq(cio_sem_try_acquire(s), 0);
	cr_assert_eq(cio_sem_try_acquire(s), -EAGAIN);
	cr_assert(cio_sem_locked(s));
	cr_assert_eq(cio_sem_release(s), 0);
	cr_assert_eq(cio_sem_release(s), -EOVERFLOW);
	cr_assert_eq(cio_sem_free(s), 0);
	th_leak_check();
}

/* -- the seeds' example ---------------------------------------------------- */

/* 002 section 5.1.4: a semaphore of 3 lets three workers out of five run
 * at once; the fourth and fifth wait for a release. */
static intptr_t three_of_five_body(void *arg)
{
	enum { N = 5 };
	struct shared sh = { 0 };
	struct worker w[N];
	cio_task *t[N];
	(void)arg;

	cr_assert_eq(cio_sem_new(&sh.sem, 3, true), 0);
	workers_init(w, N, &sh);
	for (int i = 0; i < N; i++) {
		w[i].work = i + 1; /* the first in is the first out */
		t[i] = th_spawn_here(worker_fn, &w[i]);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(th_join(t[i]), 0);
	cr_assert_eq(sh.max_inside, 3);
	/* 3 and 4 get in only as 0 and 1 leave, in that order. */
	cr_assert_str_eq(sh.log, "+0+1+2-0+3-1+4-2-3-4");
	for (int i = 0; i < N; i++)
		cr_assert_eq(w[i].rank, i + 1);
	cr_assert_eq(cio_sem_value(sh.sem), 3);
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	return 0;
}

Test(sem, three_workers_out_of_five)
{
	th_run_clean(three_of_five_body, NULL);
}

/* -- value, locked, the bound ---------------------------------------------- */

static intptr_t value_body(void *arg)
{
	cio_sem *s;
	(void)arg;

	cr_assert_eq(cio_sem_new(&s, 2, false), 0);
	cr_assert_eq(cio_sem_value(s), 2);
	cr_assert_not(cio_sem_locked(s));
	cr_assert_eq(cio_sem_acquire(s, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_sem_acquire(s, 0), 0, "past deadline, free permit");
	cr_assert_eq(cio_sem_value(s), 0);
	cr_assert(cio_sem_locked(s));
	cr_assert_eq(cio_sem_acquire(s, 0), -ETIMEDOUT);
	cr_assert_eq(cio_sem_try_acquire(s), -EAGAIN);
	/* Unbounded: releases may raise it past the start. */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(cio_sem_release(s), 0);
	cr_assert_eq(cio_sem_value(s), 5);
	cr_assert_eq(cio_sem_free(s), 0);

	/* Zero permits is allowed: every acquire waits. */
	cr_assert_eq(cio_sem_new(&s, 0, false), 0);
	cr_assert(cio_sem_locked(s));
	cr_assert_eq(cio_sem_acquire(s, 0), -ETIMEDOUT);
	cr_assert_eq(cio_sem_free(s), 0);

	/* The unbounded value stops at INT_MAX. */
	cr_assert_eq(cio_sem_new(&s, INT_MAX - 1, false), 0);
	cr_assert_eq(cio_sem_release(s), 0);
	cr_assert_eq(cio_sem_release(s), -EOVERFLOW);
	cr_assert_eq(cio_sem_value(s), INT_MAX);
	cr_assert_eq(cio_sem_free(s), 0);
	return 0;
}

Test(sem, value_and_locked)
{
	th_run_clean(value_body, NULL);
}

static intptr_t bounded_body(void *arg)
{
	cio_sem *s;
	(void)arg;

	cr_assert_eq(cio_sem_new(&s, 2, true), 0);
	cr_assert_eq(cio_sem_release(s), -EOVERFLOW, "above the start");
	cr_assert_eq(cio_sem_value(s), 2, "and nothing changed");
	cr_assert_eq(cio_sem_acquire(s, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_sem_release(s), 0);
	cr_assert_eq(cio_sem_release(s), -EOVERFLOW);
	cr_assert_eq(cio_sem_value(s), 2);
	cr_assert_eq(cio_sem_free(s), 0);

	/* A bound of 0: every release overflows. */
	cr_assert_eq(cio_sem_new(&s, 0, true), 0);
	cr_assert_eq(cio_sem_release(s), -EOVERFLOW);
	cr_assert_eq(cio_sem_free(s), 0);
	return 0;
}

Test(sem, bounded_release_above_the_start)
{
	th_run_clean(bounded_body, NULL);
}

/* -- FIFO ------------------------------------------------------------------ */

static intptr_t fifo_body(void *arg)
{
	enum { N = 6 };
	struct shared sh = { 0 };
	struct worker w[N];
	cio_task *t[N];
	(void)arg;

	cr_assert_eq(cio_sem_new(&sh.sem, 0, false), 0);
	workers_init(w, N, &sh);
	for (int i = 0; i < N; i++)
		t[i] = th_spawn_here(worker_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	/* One permit: handed to the first waiter, so a later comer cannot
	 * take it. */
	cr_assert_eq(cio_sem_release(sh.sem), 0);
	cr_assert_eq(cio_sem_value(sh.sem), 0);
	cr_assert(cio_sem_locked(sh.sem));
	cr_assert_eq(cio_sem_try_acquire(sh.sem), -EAGAIN);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(th_join(t[i]), 0);
		cr_assert_eq(w[i].rank, i + 1);
	}
	cr_assert_eq(cio_sem_value(sh.sem), 1);
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	return 0;
}

Test(sem, waiters_get_permits_in_arrival_order)
{
	th_run_clean(fifo_body, NULL);
}

/* -- cancellation ---------------------------------------------------------- */

static intptr_t cancel_parked_body(void *arg)
{
	struct shared sh = { 0 };
	struct worker w[3];
	cio_task *t[3];
	(void)arg;

	cr_assert_eq(cio_sem_new(&sh.sem, 0, false), 0);
	workers_init(w, 3, &sh);
	for (int i = 0; i < 3; i++)
		t[i] = th_spawn_here(worker_fn, &w[i]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(t[1]), 1);
	cr_assert_eq(th_join(t[1]), -ECANCELED);
	cr_assert_eq(cio_sem_value(sh.sem), 0, "took nothing");
	cr_assert_eq(cio_sem_release(sh.sem), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[2]), 0);
	cr_assert_eq(w[0].rank, 1);
	cr_assert_eq(w[1].rank, 0);
	cr_assert_eq(w[2].rank, 2);
	cr_assert_eq(cio_sem_value(sh.sem), 1);
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	return 0;
}

Test(sem, cancel_a_parked_waiter)
{
	th_run_clean(cancel_parked_body, NULL);
}

static intptr_t cancel_chosen_body(void *arg)
{
	struct shared sh = { 0 };
	struct worker w[2];
	cio_task *t[2];
	(void)arg;

	cr_assert_eq(cio_sem_new(&sh.sem, 1, true), 0);
	cr_assert_eq(cio_sem_acquire(sh.sem, CIO_NO_DEADLINE), 0);
	workers_init(w, 2, &sh);
	t[0] = th_spawn_here(worker_fn, &w[0]);
	t[1] = th_spawn_here(worker_fn, &w[1]);
	cr_assert_eq(cio_yield(), 0);
	/* The permit goes to t[0], which is cancelled before it runs: it
	 * passes the permit to t[1]. */
	cr_assert_eq(cio_sem_release(sh.sem), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(w[0].rank, 0);
	cr_assert_eq(w[1].rank, 1);
	cr_assert_eq(cio_sem_value(sh.sem), 1, "no permit lost or made up");

	/* With nobody behind it, the permit goes back to the count. */
	cr_assert_eq(cio_sem_acquire(sh.sem, CIO_NO_DEADLINE), 0);
	t[0] = th_spawn_here(worker_fn, &w[0]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_sem_release(sh.sem), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_eq(cio_sem_value(sh.sem), 1);
	cr_assert_eq(cio_sem_release(sh.sem), -EOVERFLOW, "still bounded");
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	return 0;
}

Test(sem, cancel_after_being_chosen_passes_the_permit_on)
{
	th_run_clean(cancel_chosen_body, NULL);
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_sem *s;
	(void)arg;

	cr_assert_eq(cio_sem_new(&s, 1, false), 0);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_sem_acquire(s, CIO_NO_DEADLINE), -ECANCELED);
	cr_assert_eq(cio_sem_value(s), 1);
	cr_assert_eq(cio_sem_acquire(s, CIO_NO_DEADLINE), 0);
	cio_task_uncancel(cio_current_task());
	cr_assert_eq(cio_sem_release(s), 0);
	cr_assert_eq(cio_sem_free(s), 0);
	return 0;
}

Test(sem, pending_cancellation_on_entry)
{
	th_run_clean(pending_cancel_body, NULL);
}

/* -- deadlines ------------------------------------------------------------- */

static intptr_t deadline_body(void *arg)
{
	struct shared sh = { 0 };
	struct worker w[2];
	cio_task *t[2];
	int64_t start;
	(void)arg;

	cr_assert_eq(cio_sem_new(&sh.sem, 0, false), 0);
	workers_init(w, 2, &sh);
	start = cio_loop_time();
	w[0].deadline = start + 20 * MS;
	t[0] = th_spawn_here(worker_fn, &w[0]);
	t[1] = th_spawn_here(worker_fn, &w[1]);
	cr_assert_eq(th_join(t[0]), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert_eq(cio_sem_release(sh.sem), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(w[1].rank, 1);
	cr_assert_eq(cio_sem_value(sh.sem), 1);
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	return 0;
}

Test(sem, deadline)
{
	th_run_clean(deadline_body, NULL);
}

/* -- scoped helpers -------------------------------------------------------- */

struct with_arg {
	cio_sem *sem;
	int calls;
};

static int with_fn(void *arg)
{
	struct with_arg *a = arg;
	a->calls++;
	cr_assert_eq(cio_sem_value(a->sem), 0);
	cr_assert_eq(cio_yield(), 0);
	return a->calls == 1 ? 5 : -EIO;
}

static intptr_t with_body(void *arg)
{
	struct with_arg a = { 0 };
	(void)arg;

	cr_assert_eq(cio_sem_new(&a.sem, 1, true), 0);
	cr_assert_eq(cio_sem_with(a.sem, CIO_NO_DEADLINE, NULL, NULL), -EINVAL);
	cr_assert_eq(cio_sem_with(a.sem, CIO_NO_DEADLINE, with_fn, &a), 5);
	cr_assert_eq(cio_sem_value(a.sem), 1);
	cr_assert_eq(cio_sem_with(a.sem, CIO_NO_DEADLINE, with_fn, &a), -EIO);
	cr_assert_eq(cio_sem_value(a.sem), 1, "released on the error path");
	cr_assert_eq(cio_sem_try_acquire(a.sem), 0);
	cr_assert_eq(cio_sem_with(a.sem, 0, with_fn, &a), -ETIMEDOUT);
	cr_assert_eq(a.calls, 2, "not called without a permit");
	cr_assert_eq(cio_sem_release(a.sem), 0);
	cr_assert_eq(cio_sem_free(a.sem), 0);
	return 0;
}

Test(sem, with)
{
	th_run_clean(with_body, NULL);
}

/* A function with early returns: the scoped guard releases on each. */
static int scoped_user(cio_sem *s, int fail_at)
{
	CIO_SEM_SCOPED(g);
	int rc = cio_sem_guard_acquire(&g, s, CIO_NO_DEADLINE);

	if (rc < 0)
		return rc;
	cr_assert(g.held);
	cr_assert_eq(g.sem, s);
	if (fail_at == 1)
		return -EIO;
	if (cio_yield() < 0 || fail_at == 2)
		return -EPIPE;
	return 0;
}

static intptr_t guard_body(void *arg)
{
	struct cio_sem_guard g = CIO_SEM_GUARD_INIT;
	cio_sem *s;
	(void)arg;

	cr_assert_eq(cio_sem_new(&s, 1, true), 0);
	cr_assert_eq(scoped_user(s, 0), 0);
	cr_assert_eq(cio_sem_value(s), 1);
	cr_assert_eq(scoped_user(s, 1), -EIO);
	cr_assert_eq(cio_sem_value(s), 1);
	cr_assert_eq(scoped_user(s, 2), -EPIPE);
	cr_assert_eq(cio_sem_value(s), 1);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(scoped_user(s, 0), -ECANCELED, "never acquired");
	cio_task_uncancel(cio_current_task());
	cr_assert_eq(cio_sem_value(s), 1, "and nothing released");

	/* An explicit guard: release is idempotent, acquire is not. */
	cr_assert_eq(cio_sem_guard_acquire(&g, s, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_sem_guard_acquire(&g, s, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_sem_value(s), 0);
	cio_sem_guard_release(&g);
	cr_assert_not(g.held);
	cio_sem_guard_release(&g);
	cr_assert_eq(cio_sem_value(s), 1, "released once");
	cr_assert_eq(cio_sem_guard_acquire(&g, s, CIO_NO_DEADLINE), 0,
		     "reusable");
	cio_sem_guard_release(&g);
	cr_assert_eq(cio_sem_free(s), 0);
	return 0;
}

Test(sem, scoped_guard)
{
	th_run_clean(guard_body, NULL);
}

/* -- free ------------------------------------------------------------------ */

static intptr_t free_busy_body(void *arg)
{
	struct shared sh = { 0 };
	struct worker w;
	cio_task *t;
	(void)arg;

	cr_assert_eq(cio_sem_new(&sh.sem, 0, false), 0);
	workers_init(&w, 1, &sh);
	t = th_spawn_here(worker_fn, &w);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_sem_free(sh.sem), -EBUSY);
	cr_assert_eq(cio_sem_release(sh.sem), 0);
	cr_assert_eq(cio_sem_free(sh.sem), -EBUSY, "handed over, not resumed");
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	return 0;
}

Test(sem, free_refuses_while_a_task_waits)
{
	th_run_clean(free_busy_body, NULL);
}

/* -- many waiters ---------------------------------------------------------- */

static intptr_t many_body(void *arg)
{
	enum { N = 10000, PERMITS = 7 };
	struct shared sh = { 0 };
	struct worker *w = calloc(N, sizeof(*w));
	cio_task **t = calloc(N, sizeof(*t));
	(void)arg;

	cr_assert(w && t);
	cr_assert_eq(cio_sem_new(&sh.sem, 0, false), 0);
	workers_init(w, N, &sh);
	for (int i = 0; i < N; i++) {
		w[i].work = 1;
		if (i % 2)
			w[i].deadline = cio_deadline_after(60 *
							   CIO_NSEC_PER_SEC);
		t[i] = th_spawn_here(worker_fn, &w[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	for (int i = 0; i < N; i += 10)
		cr_assert_eq(cio_task_cancel(t[i]), 1);
	for (int i = 0; i < PERMITS; i++)
		cr_assert_eq(cio_sem_release(sh.sem), 0);
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
	cr_assert_eq(sh.max_inside, PERMITS);
	cr_assert_eq(cio_sem_value(sh.sem), PERMITS);
	cr_assert_eq(cio_sem_free(sh.sem), 0);
	free(w);
	free(t);
	return 0;
}

Test(sem, ten_thousand_waiters)
{
	th_run_clean(many_body, NULL);
}
