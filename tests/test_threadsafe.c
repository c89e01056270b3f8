/* cio_call_soon_threadsafe(): many producers, waking a loop that sleeps
 * with nothing to do, calls after close, and close racing producers. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>

/* -- many producers ------------------------------------------------------------ */

#define PRODUCERS 4
#define PER_PRODUCER 10000

static struct {
	cio_loop *loop;
	long last[PRODUCERS];
	long count;
	long count_at_stop;
	int stops;
	bool in_order;
	bool wrong_thread;
	pthread_t loop_thread;
	atomic_int remaining;
	atomic_int failures;
} mp;

static void mp_cb(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	int id = (int)(v >> 32);
	long seq = (long)(v & 0xffffffffu);
	if (!pthread_equal(pthread_self(), mp.loop_thread))
		mp.wrong_thread = true;
	if (mp.last[id] + 1 != seq)
		mp.in_order = false;
	mp.last[id] = seq;
	mp.count++;
}

static void mp_stop(void *arg)
{
	(void)arg;
	mp.stops++;
	mp.count_at_stop = mp.count;
	cio_loop_stop(mp.loop);
}

static void *producer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (uintptr_t seq = 0; seq < PER_PRODUCER; seq++)
		if (cio_call_soon_threadsafe(mp.loop, mp_cb,
					     (void *)(id << 32 | seq)) != 0)
			atomic_fetch_add(&mp.failures, 1);
	/* The last producer to finish posts the stop: it comes after every
	 * callback of every producer. */
	if (atomic_fetch_sub(&mp.remaining, 1) == 1 &&
	    cio_call_soon_threadsafe(mp.loop, mp_stop, NULL) != 0)
		atomic_fetch_add(&mp.failures, 1);
	return NULL;
}

Test(threadsafe, many_producers_onto_a_sleeping_loop, .timeout = 120)
{
	pthread_t th[PRODUCERS];
	mp.loop = th_loop_new();
	mp.loop_thread = pthread_self();
	mp.in_order = true;
	for (int i = 0; i < PRODUCERS; i++)
		mp.last[i] = -1;
	atomic_init(&mp.remaining, PRODUCERS);
	atomic_init(&mp.failures, 0);
	for (uintptr_t i = 0; i < PRODUCERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, producer, (void *)i), 0);
	/* No timers and no other work: the loop sleeps until woken. */
	cr_assert_eq(cio_loop_run_forever(mp.loop), 0);
	for (int i = 0; i < PRODUCERS; i++)
		cr_assert_eq(pthread_join(th[i], NULL), 0);
	cr_assert_eq(atomic_load(&mp.failures), 0);
	cr_assert_eq(mp.stops, 1);
	cr_assert_eq(mp.count_at_stop, PRODUCERS * PER_PRODUCER,
		     "the stop ran after every callback");
	cr_assert_eq(mp.count, PRODUCERS * PER_PRODUCER);
	cr_assert(mp.in_order, "each producer's order is kept");
	for (int i = 0; i < PRODUCERS; i++)
		cr_assert_eq(mp.last[i], PER_PRODUCER - 1);
	cr_assert_not(mp.wrong_thread);
	cr_assert_eq(mp.loop->objects, 0);
	th_loop_free(mp.loop);
	th_leak_check();
}

/* -- waking a loop blocked with nothing to do ----------------------------------- */

#define ROUNDS 300

static struct {
	cio_loop *loop;
	sem_t ran;
	int count;
	int failures;
} wk;

static void wk_cb(void *arg)
{
	wk.count = (int)(intptr_t)arg;
	cio_loop_stop(wk.loop);
	sem_post(&wk.ran);
}

static void *waker(void *arg)
{
	(void)arg;
	for (int r = 1; r <= ROUNDS; r++) {
		/* Wait until the loop is about to block (or blocked) in its
		 * poll, with no deadline: only our wake-up can end it. */
		while (!atomic_load(&wk.loop->sleeping))
			sched_yield();
		if (cio_call_soon_threadsafe(wk.loop, wk_cb,
					     (void *)(intptr_t)r) != 0)
			wk.failures++;
		while (sem_wait(&wk.ran) != 0)
			;
	}
	return NULL;
}

Test(threadsafe, wakes_a_loop_blocked_without_timers, .timeout = 120)
{
	pthread_t th;
	wk.loop = th_loop_new();
	cr_assert_eq(sem_init(&wk.ran, 0, 0), 0);
	cr_assert_eq(pthread_create(&th, NULL, waker, NULL), 0);
	for (int r = 1; r <= ROUNDS; r++) {
		cr_assert_eq(wk.loop->timers.n, 0);
		cr_assert_eq(cio_loop_run_forever(wk.loop), 0);
		cr_assert_eq(wk.count, r, "run_forever returned only because "
					  "of the wake-up");
	}
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(wk.failures, 0);
	sem_destroy(&wk.ran);
	th_loop_free(wk.loop);
	th_leak_check();
}

/* -- a loop running on another thread ------------------------------------------- */

struct remote {
	cio_loop *loop;
	cio_loop *seen_current;
	int count;
	int ret;
};

static void *remote_main(void *arg)
{
	struct remote *r = arg;
	r->ret = cio_loop_run_forever(r->loop);
	return NULL;
}

static void remote_cb(void *arg)
{
	struct remote *r = arg;
	r->count++;
	r->seen_current = cio_loop_current();
}

static void remote_stop(void *arg)
{
	struct remote *r = arg;
	cio_loop_stop(r->loop);
}

Test(threadsafe, post_to_a_loop_on_another_thread, .timeout = 120)
{
	struct remote r = { .loop = th_loop_new(), .ret = -1 };
	pthread_t th;

	/* Posted before the loop ever runs: runs on its first iteration. */
	cr_assert_eq(cio_call_soon_threadsafe(r.loop, remote_cb, &r), 0);
	cr_assert_eq(pthread_create(&th, NULL, remote_main, &r), 0);
	for (int i = 0; i < 999; i++)
		cr_assert_eq(cio_call_soon_threadsafe(r.loop, remote_cb, &r), 0);
	cr_assert_eq(cio_call_soon_threadsafe(r.loop, remote_stop, &r), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.count, 1000);
	cr_assert_eq(r.seen_current, r.loop);
	cr_assert_eq(cio_loop_run_forever(r.loop), -EPERM,
		     "the loop belongs to the thread that ran it");
	th_loop_free(r.loop);
	th_leak_check();
}

/* -- after close ---------------------------------------------------------------- */

static void never(void *arg)
{
	(void)arg;
	cr_assert_fail("a callback posted after close ran");
}

static void *post_never(void *arg)
{
	return (void *)(intptr_t)cio_call_soon_threadsafe(arg, never, NULL);
}

Test(threadsafe, after_close_is_refused)
{
	cio_loop *loop = th_loop_new();
	pthread_t th;
	void *ret;
	int n = 0;

	cr_assert_eq(cio_call_soon_threadsafe(NULL, never, NULL), -EINVAL);
	cr_assert_eq(cio_call_soon_threadsafe(loop, NULL, NULL), -EINVAL);
	/* Accepted, then the loop closes before running it: freed. */
	cr_assert_eq(cio_call_soon_threadsafe(loop, never, &n), 0);
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(cio_call_soon_threadsafe(loop, never, NULL), -EINVAL);
	cr_assert_eq(pthread_create(&th, NULL, post_never, loop), 0);
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_eq((intptr_t)ret, -EINVAL);
	cio_loop_free(loop);
	th_leak_check();
}

/* -- close racing producers ------------------------------------------------------ */

#define RACERS 3

static struct {
	cio_loop *loop;
	long ran[RACERS];
	long last[RACERS];
	long accepted[RACERS];
	bool in_order;
} rc;

static void rc_cb(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	int id = (int)(v >> 32);
	long seq = (long)(v & 0xffffffffu);
	if (rc.last[id] + 1 != seq)
		rc.in_order = false;
	rc.last[id] = seq;
	rc.ran[id]++;
	long total = 0;
	for (int i = 0; i < RACERS; i++)
		total += rc.ran[i];
	if (total == 20000)
		cio_loop_stop(rc.loop);
}

static void *racer(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (uintptr_t seq = 0;; seq++) {
		int ret = cio_call_soon_threadsafe(rc.loop, rc_cb,
						   (void *)(id << 32 | seq));
		if (ret == -EINVAL)
			break;
		if (ret != 0)
			return (void *)(intptr_t)ret;
		rc.accepted[id]++;
		if (seq == 0xffffffffu)
			return (void *)(intptr_t)-E2BIG;
	}
	return NULL;
}

/* Producers keep posting while the loop stops and closes: callbacks that
 * got in before close either ran (in order, once) or were freed (ASan
 * checks), and every producer ends with -EINVAL. */
Test(threadsafe, close_races_producers, .timeout = 120)
{
	pthread_t th[RACERS];
	rc.loop = th_loop_new();
	rc.in_order = true;
	for (int i = 0; i < RACERS; i++)
		rc.last[i] = -1;
	for (uintptr_t i = 0; i < RACERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, racer, (void *)i), 0);
	cr_assert_eq(cio_loop_run_forever(rc.loop), 0);
	cr_assert_eq(cio_loop_close(rc.loop), 0);
	for (int i = 0; i < RACERS; i++) {
		void *ret;
		cr_assert_eq(pthread_join(th[i], &ret), 0);
		cr_assert_null(ret, "producer %d: %zd", i, (ssize_t)(intptr_t)ret);
	}
	long ran = 0;
	for (int i = 0; i < RACERS; i++) {
		cr_assert_leq(rc.ran[i], rc.accepted[i]);
		cr_assert_eq(rc.last[i] + 1, rc.ran[i],
			     "what ran is a prefix of what was accepted");
		ran += rc.ran[i];
	}
	cr_assert(rc.in_order);
	cr_assert_geq(ran, 20000);
	cr_log_info("accepted %ld/%ld/%ld, ran %ld/%ld/%ld", rc.accepted[0],
		    rc.accepted[1], rc.accepted[2], rc.ran[0], rc.ran[1],
		    rc.ran[2]);
	cr_assert_eq(rc.loop->objects, 0);
	cio_loop_free(rc.loop);
	th_leak_check();
}
