/* cio_barrier_*: asyncio.Barrier — arrival indices, rounds, reset and
 * abort, cancellation in each state of a waiter, deadlines, misuse, many
 * parties. */
#include "helpers/harness.h"
#include "sync/barrier.h"

#include <stdlib.h>

#define MS CIO_NSEC_PER_MSEC

TestSuite(barrier, .timeout = 60);

struct party {
	cio_barrier *b;
	int64_t deadline;
	int rounds;    /* waits in a row; 0 means 1 */
	int idx[4];    /* what each wait returned */
};

static intptr_t party_fn(void *arg)
{
	struct party *p = arg;
	int n = p->rounds ? p->rounds : 1;

	for (int r = 0; r < n; r++) {
		p->idx[r] = cio_barrier_wait(p->b, p->deadline);
		if (p->idx[r] < 0)
			return p->idx[r];
	}
	return p->idx[n - 1];
}

static void parties_init(struct party *p, int n, cio_barrier *b)
{
	for (int i = 0; i < n; i++)
		p[i] = (struct party){ .b = b, .deadline = CIO_NO_DEADLINE };
}

/* -- bad input and misuse -------------------------------------------------- */

Test(barrier, bad_arguments)
{
	cio_barrier *b = (cio_barrier *)1;

	cr_assert_eq(cio_barrier_new(NULL, 2), -EINVAL);
	cr_assert_eq(cio_barrier_new(&b, 0), -EINVAL);
	cr_assert_null(b);
	cr_assert_eq(cio_barrier_new(&b, (unsigned)INT32_MAX + 1), -EINVAL);
	cr_assert_eq(cio_barrier_free(NULL), 0);
	cr_assert_eq(cio_barrier_wait(NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_barrier_reset(NULL), -EINVAL);
	cr_assert_eq(cio_barrier_abort(NULL), -EINVAL);
	cr_assert_eq(cio_barrier_parties(NULL), -EINVAL);
	cr_assert_eq(cio_barrier_n_waiting(NULL), -EINVAL);
	cr_assert_not(cio_barrier_broken(NULL));
	th_leak_check();
}

Test(barrier, outside_a_task)
{
	cio_barrier *b;

	cr_assert_eq(cio_barrier_new(&b, 1), 0);
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	cr_assert_eq(cio_barrier_parties(b), 1);
	cr_assert_eq(cio_barrier_abort(b), 0);
	cr_assert(cio_barrier_broken(b));
	cr_assert_eq(cio_barrier_reset(b), 0);
	cr_assert_not(cio_barrier_broken(b));
	cr_assert_eq(cio_barrier_free(b), 0);
	th_leak_check();
}

/* -- rounds ---------------------------------------------------------------- */

static intptr_t rounds_body(void *arg)
{
	enum { N = 4, ROUNDS = 3 };
	struct party p[N];
	cio_task *t[N];
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, N), 0);
	parties_init(p, N, b);
	for (int i = 0; i < N; i++) {
		p[i].rounds = ROUNDS;
		t[i] = th_spawn_here(party_fn, &p[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_n_waiting(b), 1,
		     "the last of round one, first into round two");
	for (int i = 0; i < N; i++)
		cr_assert_eq(th_join(t[i]), (i + ROUNDS - 1) % N);
	/* Round one in spawn order; the task that completes a round never
	 * parks, so it is first into the next and the order rotates. */
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < N; i++)
			cr_assert_eq(p[i].idx[r], (i + r) % N,
				     "round %d party %d: %d", r, i,
				     p[i].idx[r]);
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	cr_assert_not(cio_barrier_broken(b));
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, indices_and_rounds)
{
	th_run_clean(rounds_body, NULL);
}

static intptr_t one_party_body(void *arg)
{
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 1), 0);
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_barrier_wait(b, 0), 0, "completing never waits");
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, one_party_never_waits)
{
	th_run_clean(one_party_body, NULL);
}

/* Main is one of the parties and arrives last: it completes the round
 * without parking, and the next round starts empty at once. */
static intptr_t last_arrival_body(void *arg)
{
	struct party p[2];
	cio_task *t[2];
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 3), 0);
	parties_init(p, 2, b);
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_n_waiting(b), 2);
	cr_assert_eq(cio_barrier_wait(b, 0), 2, "past deadline, but last");
	cr_assert_eq(cio_barrier_n_waiting(b), 0, "next round, empty");
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[1]), 1);
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, the_last_arrival_completes_the_round)
{
	th_run_clean(last_arrival_body, NULL);
}

/* -- reset and abort ------------------------------------------------------- */

static intptr_t abort_body(void *arg)
{
	struct party p[3];
	cio_task *t[3];
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 3), 0);
	parties_init(p, 3, b);
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_abort(b), 0);
	cr_assert(cio_barrier_broken(b));
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	cr_assert_eq(th_join(t[0]), -EPIPE);
	cr_assert_eq(th_join(t[1]), -EPIPE);
	/* Broken until reset: no arrival counts. */
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), -EPIPE);
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	cr_assert_eq(cio_barrier_reset(b), 0);
	cr_assert_not(cio_barrier_broken(b));
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	t[2] = th_spawn_here(party_fn, &p[2]);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(th_join(t[i]), i);
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, abort_breaks_it_until_reset)
{
	th_run_clean(abort_body, NULL);
}

static intptr_t reset_body(void *arg)
{
	struct party p[3];
	cio_task *t[3];
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 3), 0);
	parties_init(p, 3, b);
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_reset(b), 0);
	cr_assert_not(cio_barrier_broken(b), "reset does not break it");
	cr_assert_eq(th_join(t[0]), -EPIPE);
	cr_assert_eq(th_join(t[1]), -EPIPE);
	/* A fresh round: three new arrivals are needed. */
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_n_waiting(b), 2);
	t[2] = th_spawn_here(party_fn, &p[2]);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(th_join(t[i]), i);
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, reset_fails_the_round_and_starts_over)
{
	th_run_clean(reset_body, NULL);
}

/* -- cancellation and deadlines -------------------------------------------- */

static intptr_t cancel_parked_body(void *arg)
{
	struct party p[4];
	cio_task *t[4];
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 3), 0);
	parties_init(p, 4, b);
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	/* It left the round, which now needs two more, and is not broken. */
	cr_assert_eq(cio_barrier_n_waiting(b), 1);
	cr_assert_not(cio_barrier_broken(b));
	t[2] = th_spawn_here(party_fn, &p[2]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_n_waiting(b), 2);
	t[3] = th_spawn_here(party_fn, &p[3]);
	/* Indices stay unique: t[1] moved up to 0. */
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(th_join(t[2]), 1);
	cr_assert_eq(th_join(t[3]), 2);
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, cancel_a_parked_waiter)
{
	th_run_clean(cancel_parked_body, NULL);
}

static intptr_t cancel_released_body(void *arg)
{
	struct party p[3];
	cio_task *t[3];
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 3), 0);
	parties_init(p, 3, b);
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	/* Main completes the round; t[0] is then cancelled before it runs. */
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), 2);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_eq(th_join(t[1]), 1, "the round stays complete for others");
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	cr_assert_not(cio_barrier_broken(b));
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, cancel_after_the_round_completed)
{
	th_run_clean(cancel_released_body, NULL);
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 1), 0);
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), -ECANCELED,
		     "not even an arrival");
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), 0);
	cio_task_uncancel(cio_current_task());
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, pending_cancellation_on_entry)
{
	th_run_clean(pending_cancel_body, NULL);
}

static intptr_t deadline_body(void *arg)
{
	struct party p[2];
	cio_task *t[2];
	cio_barrier *b;
	int64_t start;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 2), 0);
	cr_assert_eq(cio_barrier_wait(b, 0), -ETIMEDOUT, "would wait");
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	parties_init(p, 2, b);
	start = cio_loop_time();
	p[0].deadline = start + 20 * MS;
	t[0] = th_spawn_here(party_fn, &p[0]);
	cr_assert_eq(th_join(t[0]), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert_eq(cio_barrier_n_waiting(b), 0);
	cr_assert_not(cio_barrier_broken(b), "asyncio does not break it");
	p[0].deadline = CIO_NO_DEADLINE;
	t[0] = th_spawn_here(party_fn, &p[0]);
	t[1] = th_spawn_here(party_fn, &p[1]);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[1]), 1);
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, deadline)
{
	th_run_clean(deadline_body, NULL);
}

/* -- free ------------------------------------------------------------------ */

static intptr_t free_busy_body(void *arg)
{
	struct party p;
	cio_task *t;
	cio_barrier *b;
	(void)arg;

	cr_assert_eq(cio_barrier_new(&b, 2), 0);
	parties_init(&p, 1, b);
	t = th_spawn_here(party_fn, &p);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_barrier_free(b), -EBUSY);
	cr_assert_eq(cio_barrier_wait(b, CIO_NO_DEADLINE), 1);
	cr_assert_eq(cio_barrier_free(b), -EBUSY, "released, not resumed");
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_barrier_free(b), 0);
	return 0;
}

Test(barrier, free_refuses_while_a_task_waits)
{
	th_run_clean(free_busy_body, NULL);
}

/* -- many parties ---------------------------------------------------------- */

static intptr_t many_body(void *arg)
{
	enum { N = 10000 };
	struct party *p = calloc(N, sizeof(*p));
	cio_task **t = calloc(N, sizeof(*t));
	bool *seen = calloc(N, sizeof(*seen));
	cio_barrier *b;
	(void)arg;

	cr_assert(p && t && seen);
	cr_assert_eq(cio_barrier_new(&b, N), 0);
	parties_init(p, N, b);
	for (int i = 0; i < N; i++) {
		p[i].rounds = 2;
		if (i % 2)
			p[i].deadline = cio_deadline_after(60 *
							   CIO_NSEC_PER_SEC);
		t[i] = th_spawn_here(party_fn, &p[i]);
	}
	for (int i = 0; i < N; i++) {
		intptr_t v = th_join(t[i]);
		cr_assert(v >= 0 && v < N);
		cr_assert_not(seen[v], "index %ld twice", (long)v);
		seen[v] = true;
		cr_assert_eq(p[i].idx[0], i);
	}
	cr_assert_eq(cio_barrier_free(b), 0);
	free(p);
	free(t);
	free(seen);
	return 0;
}

Test(barrier, ten_thousand_parties)
{
	th_run_clean(many_body, NULL);
}
