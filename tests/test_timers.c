/* Timers: firing order and timing through the loop, a million pending
 * timers, and the heap itself against a reference model. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"
#include "runtime/timer_heap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLOW_BUILD 1
#else
#define SLOW_BUILD 0
#endif

struct rec {
	cio_loop *loop;
	char log[64];
	int n;
	int64_t late_by_min; /* how early a timer ran (negative: early) */
};

struct tm_item {
	struct rec *rec;
	char id;
	int64_t when;
	bool stop;
};

static void record(void *arg)
{
	struct tm_item *it = arg;
	int64_t now = cio_loop_time();
	cr_assert_lt(it->rec->n, 63);
	it->rec->log[it->rec->n++] = it->id;
	if (it->when >= 0 && now - it->when < it->rec->late_by_min)
		it->rec->late_by_min = now - it->when;
	if (it->stop)
		cio_loop_stop(it->rec->loop);
}

Test(timers, order_by_deadline_ties_in_insertion_order)
{
	struct rec r = { .loop = th_loop_new(), .late_by_min = INT64_MAX };
	int64_t ms = CIO_NSEC_PER_MSEC, base = cio_loop_time() + 5 * ms;
	struct tm_item it[] = {
		{ &r, 'a', base + 3 * ms, false },
		{ &r, 'b', base + 1 * ms, false },
		{ &r, 'c', base + 2 * ms, false },
		{ &r, 'd', base + 1 * ms, false },
		{ &r, 'e', base + 3 * ms, false },
		{ &r, 'f', base + 1 * ms, false },
		{ &r, 'g', base, false },
		{ &r, 'z', base + 4 * ms, true },
	};
	for (size_t i = 0; i < sizeof(it) / sizeof(it[0]); i++)
		cr_assert_eq(cio_call_at(r.loop, it[i].when, record, &it[i],
					 NULL), 0);
	cr_assert_eq(cio_loop_run_forever(r.loop), 0);
	cr_assert_str_eq(r.log, "gbdfcaez");
	cr_assert_geq(r.late_by_min, 0, "a timer ran before its deadline");
	th_loop_free(r.loop);
	th_leak_check();
}

/* All due at once: one batch, still in (deadline, insertion) order. */
Test(timers, past_deadlines_in_one_batch)
{
	struct rec r = { .loop = th_loop_new(), .late_by_min = INT64_MAX };
	struct tm_item it[] = {
		{ &r, '3', 30, false }, { &r, '1', 10, false },
		{ &r, '2', 20, false }, { &r, 'x', 10, false },
		{ &r, '0', INT64_MIN, false }, { &r, 'y', 20, false },
	};
	for (size_t i = 0; i < sizeof(it) / sizeof(it[0]); i++)
		cr_assert_eq(cio_call_at(r.loop, it[i].when, record, &it[i],
					 NULL), 0);
	th_run_once(r.loop);
	cr_assert_str_eq(r.log, "01x2y3");
	th_loop_free(r.loop);
	th_leak_check();
}

Test(timers, call_later_order_and_timing)
{
	struct rec r = { .loop = th_loop_new(), .late_by_min = INT64_MAX };
	struct tm_item it[] = {
		{ &r, 'c', 0, true }, { &r, 'a', 0, false },
		{ &r, 'b', 0, false },
	};
	int64_t delays[] = { 30, 10, 20 };
	int64_t start = cio_loop_time();
	for (int i = 0; i < 3; i++) {
		cio_handle *h;
		cr_assert_eq(cio_call_later(r.loop, delays[i] * CIO_NSEC_PER_MSEC,
					    record, &it[i], &h), 0);
		it[i].when = cio_handle_when(h);
		cio_handle_unref(h);
	}
	cr_assert_eq(cio_loop_run_forever(r.loop), 0);
	cr_assert_str_eq(r.log, "abc");
	cr_assert_geq(r.late_by_min, 0);
	cr_assert_geq(cio_loop_time() - start, 30 * CIO_NSEC_PER_MSEC,
		      "the loop blocked until the last timer");
	th_loop_free(r.loop);
	th_leak_check();
}

static void arm_past(void *arg)
{
	struct tm_item *it = arg;
	record(arg);
	/* Armed by a timer callback with a passed deadline: next batch. */
	it[1].when = 0;
	cr_assert_eq(cio_call_at(it->rec->loop, 0, record, &it[1], NULL), 0);
}

Test(timers, timer_armed_from_timer_callback)
{
	struct rec r = { .loop = th_loop_new(), .late_by_min = INT64_MAX };
	struct tm_item it[2] = { { &r, 'a', 0, false }, { &r, 'b', 0, false } };
	cr_assert_eq(cio_call_at(r.loop, 0, arm_past, it, NULL), 0);
	th_run_once(r.loop);
	cr_assert_str_eq(r.log, "a");
	th_run_once(r.loop);
	cr_assert_str_eq(r.log, "ab");
	th_loop_free(r.loop);
	th_leak_check();
}

static void never(void *arg)
{
	(void)arg;
	cr_assert_fail("a cancelled timer ran");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* A million pending timers: arming and cancelling are O(log n) each, so
 * the whole test takes a fraction of a second (seconds under ASan). */
Test(timers, million_pending_timers, .timeout = 120)
{
	enum { N = 1000000 };
	cio_loop *loop = th_loop_new();
	cio_handle **h = malloc(N * sizeof(*h));
	uint32_t *perm = malloc(N * sizeof(*perm));
	int64_t base = cio_loop_time() + 3600 * CIO_NSEC_PER_SEC;

	cr_assert_not_null(h);
	cr_assert_not_null(perm);
	int64_t t0 = cio_loop_time();
	for (uint32_t i = 0; i < N; i++) {
		cr_assert_eq(cio_call_at(loop, base + (int64_t)(rng() % 100000),
					 never, NULL, &h[i]), 0);
		perm[i] = i;
	}
	int64_t t1 = cio_loop_time();
	cr_assert_eq(loop->timers.n, N);
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(rng() % (i + 1));
		uint32_t tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (uint32_t i = 0; i < N; i++) {
		cr_assert_eq(cio_handle_cancel(h[perm[i]]), 1);
		cio_handle_unref(h[perm[i]]);
	}
	int64_t t2 = cio_loop_time();
	cr_assert_eq(loop->timers.n, 0);
	cr_assert_eq(loop->objects, 0);
	th_run_once(loop);
	int64_t limit = (SLOW_BUILD ? 30 : 4) * CIO_NSEC_PER_SEC;
	cr_log_info("1M timers: arm %.3f s, cancel %.3f s",
		    (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9);
	cr_assert_lt(t2 - t0, limit, "arm+cancel took %.3f s",
		     (double)(t2 - t0) / 1e9);
	free(perm);
	free(h);
	th_loop_free(loop);
	th_leak_check();
}

/* -- the heap against a reference model ------------------------------------ */

#define NT 1500

struct model {
	struct cio__timer_heap h;
	struct cio__timer t[NT];
	bool armed[NT];
	int fired;
};

static void nofire(struct cio__timer *t)
{
	(void)t;
}

static bool key_before(const struct cio__timer *a, const struct cio__timer *b)
{
	return a->when != b->when ? a->when < b->when : a->seq < b->seq;
}

static void check_invariants(struct model *m)
{
	size_t armed = 0;
	for (int i = 0; i < NT; i++)
		armed += m->armed[i];
	cr_assert_eq(m->h.n, armed);
	cr_assert_leq(m->h.n, m->h.cap);
	for (size_t i = 0; i < m->h.n; i++) {
		struct cio__timer *t = m->h.v[i].t;
		int idx = (int)(t - m->t);
		cr_assert(idx >= 0 && idx < NT);
		cr_assert(m->armed[idx], "slot %zu holds a disarmed timer", i);
		cr_assert_eq(t->slot, i, "timer %d: slot %u at index %zu", idx,
			     t->slot, i);
		cr_assert_eq(m->h.v[i].when, t->when);
		if (i > 0) {
			struct cio__timer *p = m->h.v[(i - 1) / 4].t;
			cr_assert_not(key_before(t, p), "heap order at %zu", i);
		}
	}
	for (int i = 0; i < NT; i++)
		cr_assert_eq(cio__timer_armed(&m->t[i]), m->armed[i]);
}

static struct cio__timer *model_first_due(struct model *m, int64_t now)
{
	struct cio__timer *best = NULL;
	for (int i = 0; i < NT; i++)
		if (m->armed[i] && m->t[i].when <= now &&
		    (!best || key_before(&m->t[i], best)))
			best = &m->t[i];
	return best;
}

Test(timers, heap_matches_reference_model, .timeout = 120)
{
	static struct model m;
	uint64_t last_seq = 0;

	cio__timer_heap_init(&m.h);
	for (int i = 0; i < NT; i++)
		cio__timer_init(&m.t[i], nofire);
	cr_assert_null(cio__timer_first(&m.h));
	cr_assert_null(cio__timer_pop_due(&m.h, INT64_MAX));

	for (int step = 0; step < 60000; step++) {
		int op = (int)(rng() % 10);
		int i = (int)(rng() % NT);
		if (op < 5) {
			if (m.armed[i])
				continue;
			/* Few distinct deadlines: plenty of ties. */
			int64_t when = (int64_t)(rng() % 64) - 8;
			cr_assert_eq(cio__timer_add(&m.h, &m.t[i], when), 0);
			cr_assert_eq(m.t[i].when, when);
			cr_assert_geq(m.t[i].seq, last_seq);
			last_seq = m.t[i].seq;
			m.armed[i] = true;
		} else if (op < 8) {
			cio__timer_del(&m.h, &m.t[i]); /* armed or not */
			m.armed[i] = false;
		} else {
			int64_t now = (int64_t)(rng() % 80) - 16;
			struct cio__timer *want = model_first_due(&m, now);
			struct cio__timer *got = cio__timer_pop_due(&m.h, now);
			cr_assert_eq(got, want, "step %d", step);
			if (got) {
				m.armed[got - m.t] = false;
				cr_assert_not(cio__timer_armed(got));
			}
		}
		if (m.h.n) {
			struct cio__timer *f = cio__timer_first(&m.h);
			cr_assert_eq(f, model_first_due(&m, INT64_MAX));
		}
		if (step % 97 == 0)
			check_invariants(&m);
	}
	check_invariants(&m);

	/* Drain: strictly increasing (when, seq). */
	struct cio__timer *prev = NULL, *t;
	while ((t = cio__timer_pop_due(&m.h, INT64_MAX))) {
		if (prev)
			cr_assert(key_before(prev, t));
		m.armed[t - m.t] = false;
		prev = t;
	}
	cr_assert_eq(m.h.n, 0);
	check_invariants(&m);

	/* destroy() disarms what is still in the heap. */
	for (int i = 0; i < 10; i++)
		cr_assert_eq(cio__timer_add(&m.h, &m.t[i], i), 0);
	cio__timer_heap_destroy(&m.h);
	for (int i = 0; i < 10; i++)
		cr_assert_not(cio__timer_armed(&m.t[i]));
	cr_assert_eq(m.h.n, 0);
	cr_assert_null(m.h.v);
}

Test(timers, heap_pop_due_respects_now)
{
	struct cio__timer_heap h;
	struct cio__timer a, b, c;

	cio__timer_heap_init(&h);
	cio__timer_init(&a, nofire);
	cio__timer_init(&b, nofire);
	cio__timer_init(&c, nofire);
	cr_assert_not(cio__timer_armed(&a));
	cio__timer_del(&h, &a); /* harmless when not armed */
	cr_assert_eq(cio__timer_add(&h, &a, 100), 0);
	cr_assert_eq(cio__timer_add(&h, &b, 50), 0);
	cr_assert_eq(cio__timer_add(&h, &c, 100), 0);
	cr_assert_eq(cio__timer_first(&h), &b);
	cr_assert_null(cio__timer_pop_due(&h, 49));
	cr_assert_eq(cio__timer_pop_due(&h, 50), &b);
	cr_assert_null(cio__timer_pop_due(&h, 99));
	cr_assert_eq(cio__timer_pop_due(&h, 100), &a);
	cr_assert_eq(cio__timer_pop_due(&h, 100), &c);
	cr_assert_null(cio__timer_pop_due(&h, INT64_MAX));
	/* Re-arm after pop and after del. */
	cr_assert_eq(cio__timer_add(&h, &a, 1), 0);
	cio__timer_del(&h, &a);
	cr_assert_eq(cio__timer_add(&h, &a, 2), 0);
	cr_assert_eq(cio__timer_pop_due(&h, 2), &a);
	cio__timer_heap_destroy(&h);
}

/* Dropping every timer that lies in a range of memory (a returned task's
 * stack) must not read those timers: their memory is scribbled over here
 * before the call, and what stays must still be a heap popping in
 * (deadline, sequence) order. */
Test(timers, heap_del_range_never_reads_the_dropped_timers)
{
	static struct model m;
	const int lo = 400, hi = 900;

	cio__timer_heap_init(&m.h);
	for (int i = 0; i < NT; i++) {
		cio__timer_init(&m.t[i], nofire);
		/* Few distinct deadlines: many ties to order by sequence. */
		cr_assert_eq(cio__timer_add(&m.h, &m.t[i],
					    (int64_t)(rng() % 16)), 0);
		m.armed[i] = true;
	}
	/* Stale memory: a sequence number and slot that would corrupt the
	 * ordering if anything read them. */
	memset(&m.t[lo], 0xa5, (size_t)(hi - lo) * sizeof(m.t[0]));
	size_t n = cio__timer_del_range(&m.h, &m.t[lo], &m.t[hi]);
	cr_assert_eq(n, (size_t)(hi - lo));
	for (int i = lo; i < hi; i++)
		m.armed[i] = false;
	for (size_t i = 0; i < m.h.n; i++) {
		struct cio__timer *t = m.h.v[i].t;
		cr_assert(t < &m.t[lo] || t >= &m.t[hi]);
		cr_assert_eq(t->slot, i);
		if (i > 0)
			cr_assert_not(key_before(t, m.h.v[(i - 1) / 4].t));
	}
	struct cio__timer *prev = NULL, *t;
	size_t popped = 0;
	while ((t = cio__timer_pop_due(&m.h, INT64_MAX))) {
		if (prev)
			cr_assert(key_before(prev, t), "pop order");
		prev = t;
		popped++;
	}
	cr_assert_eq(popped, (size_t)(NT - (hi - lo)));
	cr_assert_eq(cio__timer_del_range(&m.h, &m.t[0], &m.t[NT]), 0);
	cio__timer_heap_destroy(&m.h);
}
