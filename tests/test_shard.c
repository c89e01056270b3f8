/* Shards: cio_run, shard ids, cio_submit_to, cio_broadcast, back-pressure,
 * cancellation and shutdown.
 *
 * Assertions run on the test's thread only: code on shard threads records
 * the first failed check (TH_CHECK), and the test asserts on it after
 * cio_run() returned. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/helpers/check.h"
#include "tests/helpers/harness.h"

#define CHECK(c) TH_CHECK(c)

static intptr_t run(cio_task_fn fn, void *arg, unsigned shards,
		    unsigned ring)
{
	struct cio_run_opts o = { .shards = shards, .msg_ring = ring };
	intptr_t r;

	th_check_reset();
	r = cio_run(fn, arg, &o);
	th_check_assert();
	return r;
}

/* -- basics ------------------------------------------------------------------ */

static intptr_t whoami(void *arg)
{
	(void)arg;
	return cio_shard_id();
}

static intptr_t basics_main(void *arg)
{
	unsigned n = *(unsigned *)arg;
	cio_future *f;

	CHECK(cio_shard_id() == 0);
	CHECK(cio_shard_count() == n);
	CHECK(cio_shard_loop(0) == cio_loop_current());
	CHECK(cio_shard_loop(n) == NULL);
	for (unsigned i = 0; i < n; i++) {
		CHECK(cio_submit_to(i, whoami, NULL, &f) == 0);
		CHECK(cio_await(f) == (intptr_t)i);
		cio_future_unref(f);
	}
	CHECK(cio_run(whoami, NULL, NULL) == -EBUSY);
	return 42;
}

Test(shard, run_returns_main_result_and_ids, .timeout = 120)
{
	unsigned n = 2;

	cr_assert_eq(cio_shard_id(), -1);
	cr_assert_eq(cio_shard_count(), 0);
	cr_assert_null(cio_shard_loop(0));
	cr_assert_eq(run(basics_main, &n, n, 0), 42);
	n = 4; /* more shards than CPUs: they share */
	cr_assert_eq(run(basics_main, &n, n, 0), 42);
	n = 1;
	cr_assert_eq(run(basics_main, &n, n, 0), 42);
	cr_assert_eq(cio_shard_count(), 0);
	th_leak_check();
}

static intptr_t count_main(void *arg)
{
	*(unsigned *)arg = cio_shard_count();
	return 0;
}

Test(shard, shard_count_from_env_and_affinity, .timeout = 120)
{
	unsigned got = 0;
	cpu_set_t set;

	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	unsetenv("CIO_SHARDS");
	cr_assert_eq(cio_run(count_main, &got, NULL), 0);
	cr_assert_eq(got, (unsigned)CPU_COUNT(&set));
	setenv("CIO_SHARDS", "3", 1);
	cr_assert_eq(cio_run(count_main, &got, NULL), 0);
	cr_assert_eq(got, 3);
	setenv("CIO_SHARDS", "3x", 1);
	cr_assert_eq(cio_run(count_main, &got, NULL), -EINVAL);
	setenv("CIO_SHARDS", "0", 1);
	cr_assert_eq(cio_run(count_main, &got, NULL), -EINVAL);
	unsetenv("CIO_SHARDS");
}

Test(shard, bad_arguments, .timeout = 120)
{
	struct cio_run_opts o = { 0 };
	cio_future *f = (cio_future *)1;

	cr_assert_eq(cio_run(NULL, NULL, NULL), -EINVAL);
	o.flags = 0x100;
	cr_assert_eq(cio_run(whoami, NULL, &o), -EINVAL);
	o = (struct cio_run_opts){ .msg_ring = 3 };
	cr_assert_eq(cio_run(whoami, NULL, &o), -EINVAL);
	o = (struct cio_run_opts){ .msg_ring = 1 };
	cr_assert_eq(cio_run(whoami, NULL, &o), -EINVAL);
	o = (struct cio_run_opts){ .msg_ring = 131072 };
	cr_assert_eq(cio_run(whoami, NULL, &o), -EINVAL);
	o = (struct cio_run_opts){ .shards = CIO_RUN_MAX_SHARDS + 1 };
	cr_assert_eq(cio_run(whoami, NULL, &o), -EINVAL);
	struct cio_loop_opts lo = { .stack_size = 1 };
	o = (struct cio_run_opts){ .shards = 2, .loop = &lo };
	cr_assert_lt(cio_run(whoami, NULL, &o), 0, "a loop that cannot start");
	/* Not on a shard. */
	cr_assert_eq(cio_submit_to(0, whoami, NULL, &f), -EPERM);
	cr_assert_null(f);
	cr_assert_eq(cio_broadcast(whoami, NULL, NULL), -EPERM);
	th_leak_check();
}

static intptr_t bad_submit_main(void *arg)
{
	cio_future *f = (cio_future *)1;

	(void)arg;
	CHECK(cio_submit_to(2, whoami, NULL, &f) == -EINVAL);
	CHECK(f == NULL);
	CHECK(cio_submit_to(0, NULL, NULL, &f) == -EINVAL);
	CHECK(cio_broadcast(NULL, NULL, NULL) == -EINVAL);
	return 0;
}

Test(shard, bad_submissions, .timeout = 120)
{
	cr_assert_eq(run(bad_submit_main, NULL, 2, 0), 0);
}

/* -- broadcast --------------------------------------------------------------- */

static intptr_t times_ten(void *arg)
{
	(void)arg;
	return cio_shard_id() * 10;
}

static intptr_t broadcast_main(void *arg)
{
	intptr_t res[4] = { -1, -1, -1, -1 };

	(void)arg;
	CHECK(cio_broadcast(times_ten, NULL, res) == 0);
	for (int i = 0; i < 3; i++)
		CHECK(res[i] == i * 10);
	CHECK(res[3] == -1);
	CHECK(cio_broadcast(times_ten, NULL, NULL) == 0);
	return 0;
}

Test(shard, broadcast_gathers_every_shard, .timeout = 120)
{
	cr_assert_eq(run(broadcast_main, NULL, 3, 0), 0);
	th_leak_check();
}

/* -- volume and back-pressure -------------------------------------------------- */

static atomic_long ran;

static intptr_t bump(void *arg)
{
	atomic_fetch_add(&ran, 1);
	return (intptr_t)arg;
}

#define VOLUME 20000

/* Fire-and-forget through a ring of 2 slots: the sender waits for room
 * again and again, nothing is dropped; then awaited ones, all values
 * checked. */
static intptr_t volume_main(void *arg)
{
	cio_future *f[64];

	(void)arg;
	for (long i = 0; i < VOLUME; i++)
		CHECK(cio_submit_to(1, bump, (void *)i, NULL) == 0);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 64; i++)
			CHECK(cio_submit_to(1, bump, (void *)(intptr_t)i,
					    &f[i]) == 0);
		for (int i = 0; i < 64; i++) {
			CHECK(cio_await(f[i]) == i);
			cio_future_unref(f[i]);
		}
	}
	return 0;
}

Test(shard, full_ring_makes_sender_wait_nothing_dropped, .timeout = 120)
{
	atomic_store(&ran, 0);
	cr_assert_eq(run(volume_main, NULL, 2, 2), 0);
	cr_assert_eq(atomic_load(&ran), VOLUME + 20 * 64);
	th_leak_check();
}

/* Both shards flood each other at once through tiny rings: requests wait
 * for room while replies overflow; neither side may deadlock. */
struct flood {
	long n;
	atomic_long sum;
};

static intptr_t flood_worker(void *arg)
{
	struct flood *fl = arg;
	unsigned peer = (unsigned)(cio_shard_id() + 1) % cio_shard_count();
	cio_future *f[16];
	long sum = 0;

	for (long i = 0; i < fl->n; i += 16) {
		for (int j = 0; j < 16; j++)
			CHECK(cio_submit_to(peer, bump, (void *)(i + j),
					    &f[j]) == 0);
		for (int j = 0; j < 16; j++) {
			sum += cio_await(f[j]);
			cio_future_unref(f[j]);
		}
	}
	atomic_fetch_add(&fl->sum, sum);
	return 0;
}

static intptr_t flood_main(void *arg)
{
	intptr_t res[2];

	CHECK(cio_broadcast(flood_worker, arg, res) == 0);
	return 0;
}

Test(shard, two_way_flood_through_tiny_rings, .timeout = 120)
{
	struct flood fl = { .n = 4096 };

	atomic_store(&fl.sum, 0);
	cr_assert_eq(run(flood_main, &fl, 2, 2), 0);
	cr_assert_eq(atomic_load(&fl.sum), 2 * (fl.n * (fl.n - 1) / 2));
	th_leak_check();
}

/* -- cancellation -------------------------------------------------------------- */

struct gate {
	int p[2]; /* shard 1 waits to read one byte */
	atomic_int runs;
};

static intptr_t wait_gate(void *arg)
{
	struct gate *g = arg;
	char c;

	atomic_fetch_add(&g->runs, 1);
	return cio_read(g->p[0], &c, 1, -1, CIO_NO_DEADLINE);
}

/* The caller's future is cancelled while fn is running on the target:
 * fn still runs to its end, once, and its result is dropped. */
static intptr_t cancel_after_send_main(void *arg)
{
	struct gate *g = arg;
	cio_future *f, *f2;

	CHECK(cio_submit_to(1, wait_gate, g, &f) == 0);
	CHECK(cio_future_cancel(f) == 1);
	CHECK(cio_await(f) == -ECANCELED);
	cio_future_unref(f); /* the trip still holds the record */
	CHECK(write(g->p[1], "x", 1) == 1);
	/* Messages on one ring arrive in order; this one returns after the
	 * first run was let go. */
	CHECK(write(g->p[1], "y", 1) == 1);
	CHECK(cio_submit_to(1, wait_gate, g, &f2) == 0);
	CHECK(cio_await(f2) == 1);
	cio_future_unref(f2);
	CHECK(atomic_load(&g->runs) == 2);
	return 0;
}

Test(shard, cancelled_future_runs_fn_once_and_leaks_nothing, .timeout = 120)
{
	struct gate g;

	cr_assert_eq(pipe(g.p), 0);
	atomic_store(&g.runs, 0);
	cr_assert_eq(run(cancel_after_send_main, &g, 2, 0), 0);
	cr_assert_eq(atomic_load(&g.runs), 2);
	close(g.p[0]);
	close(g.p[1]);
	th_leak_check();
}

/* A sender parked on a full ring is cancelled: -ECANCELED, nothing sent;
 * what was sent before it all runs. Shard 1 is held in a blocking read
 * (outside its loop), so it cannot drain its ring meanwhile. */
struct hold {
	int p[2];
	int started[2]; /* shard 1 says it is about to block */
	atomic_long runs;
	cio_task *parked;
	int parked_ret;
	long sent;
};

static intptr_t hold_thread(void *arg)
{
	struct hold *h = arg;
	char c;

	/* Blocks the whole shard on purpose. */
	CHECK(write(h->started[1], "s", 1) == 1);
	CHECK(read(h->p[0], &c, 1) == 1);
	atomic_fetch_add(&h->runs, 1);
	return 0;
}

static intptr_t count_run(void *arg)
{
	struct hold *h = arg;
	atomic_fetch_add(&h->runs, 1);
	return 0;
}

static intptr_t fill_ring(void *arg)
{
	struct hold *h = arg;
	int ret;

	/* 4 slots: the 5th request must wait. */
	for (;;) {
		if ((ret = cio_submit_to(1, count_run, h, NULL)) < 0)
			break;
		h->sent++;
	}
	h->parked_ret = ret;
	return 0;
}

static intptr_t cancel_parked_main(void *arg)
{
	struct hold *h = arg;
	cio_future *f;

	char c;

	CHECK(cio_submit_to(1, hold_thread, h, NULL) == 0);
	CHECK(cio_read(h->started[0], &c, 1, -1, CIO_NO_DEADLINE) == 1);
	cio_task *t = NULL;
	CHECK(cio_spawn(&t, fill_ring, h, NULL) == 0);
	/* The filler parks once the ring is full; yield until then. */
	while (h->sent < 4 && !cio_task_done(t))
		cio_yield();
	cio_yield();
	CHECK(!cio_task_done(t));
	CHECK(cio_task_cancel(t) == 1);
	cio_await_task(t);
	cio_task_unref(t);
	CHECK(h->parked_ret == -ECANCELED);
	CHECK(write(h->p[1], "x", 1) == 1);
	/* Everything sent before ran, then this one. */
	CHECK(cio_submit_to(1, count_run, h, &f) == 0);
	CHECK(cio_await(f) == 0);
	cio_future_unref(f);
	CHECK(atomic_load(&h->runs) == 1 + h->sent + 1);
	return 0;
}

Test(shard, sender_cancelled_while_waiting_for_room, .timeout = 120)
{
	struct hold h = { 0 };

	cr_assert_eq(pipe(h.p), 0);
	cr_assert_eq(pipe(h.started), 0);
	atomic_store(&h.runs, 0);
	cr_assert_eq(run(cancel_parked_main, &h, 2, 4), 0);
	cr_assert_eq(h.sent, 4);
	close(h.p[0]);
	close(h.p[1]);
	close(h.started[0]);
	close(h.started[1]);
	th_leak_check();
}

/* -- shutdown ------------------------------------------------------------------ */

static atomic_int cancelled_at_exit;

static intptr_t sleep_forever(void *arg)
{
	(void)arg;
	if (cio_sleep(3600 * CIO_NSEC_PER_SEC) == -ECANCELED)
		atomic_fetch_add(&cancelled_at_exit, 1);
	return 0;
}

static intptr_t leave_work_main(void *arg)
{
	(void)arg;
	/* Tasks left behind on every shard, some of them with a caller
	 * that never awaits. */
	for (unsigned i = 0; i < cio_shard_count(); i++)
		for (int j = 0; j < 10; j++)
			CHECK(cio_submit_to(i, sleep_forever, NULL, NULL) == 0);
	cio_future *f;
	CHECK(cio_submit_to(1, sleep_forever, NULL, &f) == 0);
	cio_future_unref(f);
	CHECK(cio_spawn(NULL, sleep_forever, NULL, NULL) == 0);
	cio_yield();
	return 7;
}

Test(shard, return_of_main_cancels_what_is_left_everywhere, .timeout = 120)
{
	atomic_store(&cancelled_at_exit, 0);
	cr_assert_eq(run(leave_work_main, NULL, 3, 0), 7);
	/* Those that had started sleeping saw the cancellation; those still
	 * queued in a ring or not yet started were refused or never ran. */
	cr_assert_leq(atomic_load(&cancelled_at_exit), 32);
	th_leak_check();
}

static intptr_t main_cancelled(void *arg)
{
	(void)arg;
	cio_task_cancel(cio_current_task());
	return cio_sleep(CIO_NSEC_PER_SEC);
}

Test(shard, main_cancelled_returns_ecanceled, .timeout = 120)
{
	cr_assert_eq(run(main_cancelled, NULL, 2, 0), -ECANCELED);
}

static atomic_int late_ret;

static intptr_t late_submit(void *arg)
{
	int *p = arg;
	int ret;

	CHECK(cio_write(p[1], "s", 1, -1, CIO_NO_DEADLINE) == 1);
	/* Still running when main returns: once shutdown began, new
	 * submissions are refused. */
	while ((ret = cio_submit_to(0, whoami, NULL, NULL)) == 0)
		if (cio_yield() < 0)
			ret = cio_submit_to(0, whoami, NULL, NULL);
	atomic_store(&late_ret, ret);
	return ret;
}

static intptr_t late_main(void *arg)
{
	int *p = arg;
	char c;

	CHECK(cio_submit_to(1, late_submit, p, NULL) == 0);
	CHECK(cio_read(p[0], &c, 1, -1, CIO_NO_DEADLINE) == 1);
	return 0;
}

Test(shard, submissions_during_shutdown_are_refused, .timeout = 120)
{
	int p[2];

	cr_assert_eq(pipe(p), 0);
	atomic_store(&late_ret, 0);
	cr_assert_eq(run(late_main, p, 2, 0), 0);
	close(p[0]);
	close(p[1]);
	cr_assert_eq(atomic_load(&late_ret), -ESHUTDOWN);
	th_leak_check();
}
