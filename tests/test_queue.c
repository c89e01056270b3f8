/* cio_queue_*: asyncio.Queue, LifoQueue and PriorityQueue (3.13) — the
 * seeds' producers and consumers with join, orders, bounds, hand-over
 * fairness, task_done/join, shutdown, cancellation in each state of a
 * waiter, deadlines, misuse, many waiters. */
#include "helpers/harness.h"
#include "sync/queue.h"

#include <stdlib.h>

#define MS CIO_NSEC_PER_MSEC
#define I(x) ((void *)(intptr_t)(x))
#define V(p) ((int)(intptr_t)(p))

TestSuite(queue, .timeout = 60);

static cio_queue *new_queue(enum cio_queue_kind kind, size_t maxsize)
{
	struct cio_queue_opts o = { .kind = kind, .maxsize = maxsize };
	cio_queue *q;
	cr_assert_eq(cio_queue_new(&q, &o), 0);
	return q;
}

/* One get or one put, in a task of its own. After a successful call,
 * `probe` yields once so a cancellation left pending shows in after_rc. */
struct op {
	cio_queue *q;
	int64_t deadline;
	void *item;      /* put: what to put; get: what was got */
	int rc, after_rc;
	bool probe;
	bool returned;
	int *order;
	int rank;        /* 1-based order of successful returns */
};

static void op_done(struct op *o)
{
	o->returned = true;
	if (o->rc == 0) {
		if (o->order)
			o->rank = ++*o->order;
		if (o->probe)
			o->after_rc = cio_yield();
	}
}

static intptr_t getter_fn(void *arg)
{
	struct op *o = arg;
	o->rc = cio_queue_get(o->q, &o->item, o->deadline);
	op_done(o);
	return o->rc;
}

static intptr_t putter_fn(void *arg)
{
	struct op *o = arg;
	o->rc = cio_queue_put(o->q, o->item, o->deadline);
	op_done(o);
	return o->rc;
}

static intptr_t joiner_fn(void *arg)
{
	struct op *o = arg;
	o->rc = cio_queue_join(o->q, o->deadline);
	op_done(o);
	return o->rc;
}

static void ops_init(struct op *o, int n, cio_queue *q, int *order)
{
	for (int i = 0; i < n; i++)
		o[i] = (struct op){ .q = q, .deadline = CIO_NO_DEADLINE,
				    .order = order };
}

/* -- bad input and misuse -------------------------------------------------- */

static int cmp_int(const void *a, const void *b, void *arg)
{
	(void)arg;
	return (V(a) > V(b)) - (V(a) < V(b));
}

Test(queue, bad_arguments)
{
	struct cio_queue_opts o = { 0 };
	cio_queue *q = (cio_queue *)1;
	void *item = I(-1);

	cr_assert_eq(cio_queue_new(NULL, NULL), -EINVAL);
	o.kind = (enum cio_queue_kind)7;
	cr_assert_eq(cio_queue_new(&q, &o), -EINVAL);
	cr_assert_null(q);
	o.kind = CIO_QUEUE_FIFO;
	o.cmp = cmp_int;
	cr_assert_eq(cio_queue_new(&q, &o), -EINVAL, "cmp needs PRIORITY");
	o.kind = CIO_QUEUE_LIFO;
	cr_assert_eq(cio_queue_new(&q, &o), -EINVAL);
	cr_assert_eq(cio_queue_free(NULL), 0);

	cr_assert_eq(cio_queue_put(NULL, I(1), CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_queue_put_nowait(NULL, I(1)), -EINVAL);
	cr_assert_eq(cio_queue_put_prio(NULL, I(1), 0, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_eq(cio_queue_put_prio_nowait(NULL, I(1), 0), -EINVAL);
	cr_assert_eq(cio_queue_get(NULL, &item, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_queue_get_nowait(NULL, &item), -EINVAL);
	cr_assert_eq(cio_queue_task_done(NULL), -EINVAL);
	cr_assert_eq(cio_queue_join(NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_queue_shutdown(NULL, false), -EINVAL);
	cr_assert_eq(cio_queue_qsize(NULL), 0);
	cr_assert(cio_queue_empty(NULL));
	cr_assert_not(cio_queue_full(NULL));
	cr_assert_eq(cio_queue_maxsize(NULL), 0);

	cr_assert_eq(cio_queue_new(&q, NULL), 0);
	cr_assert_eq(cio_queue_get(q, NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_queue_get_nowait(q, NULL), -EINVAL);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(1), 3), -EINVAL,
		     "priorities need a PRIORITY queue");
	cr_assert_eq(cio_queue_put_prio(q, I(1), 3, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_queue_qsize(q), 0);
	cr_assert_eq(cio_queue_task_done(q), -EINVAL, "nothing was put");
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_queue_task_done(q), -EINVAL, "called once too often");
	cr_assert_eq(item, I(1));
	cr_assert_eq(cio_queue_free(q), 0);
	th_leak_check();
}

Test(queue, outside_a_task)
{
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	void *item = NULL;

	cr_assert_eq(cio_queue_put(q, I(1), CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_queue_qsize(q), 0, "a refused put puts nothing");
	cr_assert_eq(cio_queue_join(q, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), -EPERM);
	cr_assert_null(item);
	cr_assert_eq(cio_queue_qsize(q), 1);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(item, I(1));
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_queue_shutdown(q, false), 0);
	cr_assert_eq(cio_queue_free(q), 0);
	th_leak_check();
}

/* -- orders ---------------------------------------------------------------- */

static void put_all(cio_queue *q, const int *v, int n)
{
	for (int i = 0; i < n; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(v[i])), 0);
}

static void expect_all(cio_queue *q, const int *v, int n)
{
	void *item;
	for (int i = 0; i < n; i++) {
		cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
		cr_assert_eq(V(item), v[i], "item %d: %d, not %d", i, V(item),
			     v[i]);
	}
	cr_assert_eq(cio_queue_get_nowait(q, &item), -EAGAIN);
}

Test(queue, fifo_lifo_and_priority_orders)
{
	static const int in[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	static const int fifo[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	static const int lifo[] = { 6, 2, 9, 5, 1, 4, 1, 3 };
	static const int sorted[] = { 1, 1, 2, 3, 4, 5, 6, 9 };
	struct cio_queue_opts o = { .kind = CIO_QUEUE_PRIORITY,
				    .cmp = cmp_int };
	cio_queue *q;

	q = new_queue(CIO_QUEUE_FIFO, 0);
	put_all(q, in, 8);
	cr_assert_eq(cio_queue_qsize(q), 8);
	expect_all(q, fifo, 8);
	cr_assert_eq(cio_queue_free(q), 0);

	q = new_queue(CIO_QUEUE_LIFO, 0);
	put_all(q, in, 8);
	expect_all(q, lifo, 8);
	cr_assert_eq(cio_queue_free(q), 0);

	cr_assert_eq(cio_queue_new(&q, &o), 0);
	put_all(q, in, 8);
	expect_all(q, sorted, 8);
	cr_assert_eq(cio_queue_free(q), 0);
	th_leak_check();
}

/* Integer priorities: lowest first, first in first out among equals; a
 * comparator orders within a priority, before arrival. */
Test(queue, priorities)
{
	struct cio_queue_opts o = { .kind = CIO_QUEUE_PRIORITY };
	cio_queue *q;
	void *item;

	cr_assert_eq(cio_queue_new(&q, &o), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(10), 2), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(20), 1), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(11), 2), 0);
	cr_assert_eq(cio_queue_put_nowait(q, I(30)), 0); /* priority 0 */
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(12), 2), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(40), -5), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(21), 1), 0);
	static const int want[] = { 40, 30, 20, 21, 10, 11, 12 };
	expect_all(q, want, 7);
	cr_assert_eq(cio_queue_free(q), 0);

	o.cmp = cmp_int;
	cr_assert_eq(cio_queue_new(&q, &o), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(7), 1), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(5), 1), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(9), 0), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(5), 0), 0);
	static const int want2[] = { 5, 9, 5, 7 };
	expect_all(q, want2, 4);
	cr_assert_eq(cio_queue_get_nowait(q, &item), -EAGAIN);
	cr_assert_eq(cio_queue_free(q), 0);
	th_leak_check();
}

/* Many items in random order with few distinct priorities: the heap gives
 * them back sorted by priority, each priority in arrival order. */
Test(queue, priority_heap_against_a_reference)
{
	enum { N = 5000 };
	struct cio_queue_opts o = { .kind = CIO_QUEUE_PRIORITY };
	int *prio = malloc(N * sizeof(*prio));
	int last_prio = -1, last_seq = -1;
	cio_queue *q;
	void *item;

	cr_assert_not_null(prio);
	srand(42);
	cr_assert_eq(cio_queue_new(&q, &o), 0);
	for (int i = 0; i < N; i++) {
		prio[i] = rand() % 17;
		cr_assert_eq(cio_queue_put_prio_nowait(q, I(i), prio[i]), 0);
	}
	cr_assert_eq(cio_queue_qsize(q), N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
		int seq = V(item);
		cr_assert_geq(prio[seq], last_prio);
		if (prio[seq] == last_prio)
			cr_assert_gt(seq, last_seq, "FIFO among equals");
		last_prio = prio[seq];
		last_seq = seq;
	}
	cr_assert(cio_queue_empty(q));
	cr_assert_eq(cio_queue_free(q), 0);
	free(prio);
	th_leak_check();
}

/* The ring wraps and grows with items in it, FIFO and LIFO alike. */
Test(queue, storage_wraps_and_grows)
{
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 0);
	int next_in = 0, next_out = 0;
	void *item;

	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < round % 13 + 3; i++)
			cr_assert_eq(cio_queue_put_nowait(q, I(next_in++)), 0);
		for (int i = 0; i < round % 7 + 1 && next_out < next_in; i++) {
			cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
			cr_assert_eq(V(item), next_out++);
		}
	}
	while (next_out < next_in) {
		cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
		cr_assert_eq(V(item), next_out++);
	}
	cr_assert(cio_queue_empty(q));
	cr_assert_eq(cio_queue_free(q), 0);

	q = new_queue(CIO_QUEUE_LIFO, 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(i)), 0);
	for (int i = 999; i >= 0; i--) {
		cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
		cr_assert_eq(V(item), i);
	}
	cr_assert_eq(cio_queue_free(q), 0);
	th_leak_check();
}

Test(queue, bounded_nowait)
{
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 3);
	void *item;

	cr_assert_eq(cio_queue_maxsize(q), 3);
	cr_assert(cio_queue_empty(q));
	cr_assert_not(cio_queue_full(q));
	cr_assert_eq(cio_queue_get_nowait(q, &item), -EAGAIN);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(i)), 0);
	cr_assert(cio_queue_full(q));
	cr_assert_not(cio_queue_empty(q));
	cr_assert_eq(cio_queue_qsize(q), 3);
	cr_assert_eq(cio_queue_put_nowait(q, I(3)), -EAGAIN);
	cr_assert_eq(cio_queue_qsize(q), 3);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(item, I(0));
	cr_assert_not(cio_queue_full(q));
	cr_assert_eq(cio_queue_put_nowait(q, I(3)), 0);
	static const int want[] = { 1, 2, 3 };
	expect_all(q, want, 3);
	cr_assert_eq(cio_queue_free(q), 0);

	/* Unbounded: never full. */
	q = new_queue(CIO_QUEUE_LIFO, 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(i)), 0);
	cr_assert_not(cio_queue_full(q));
	cr_assert_eq(cio_queue_maxsize(q), 0);
	cr_assert_eq(cio_queue_free(q), 0);
	th_leak_check();
}

/* -- the seeds' producers and consumers ------------------------------------ */

/* 003 "使用 Queue": producers put a random number of items after random
 * pauses, consumers get and task_done() forever; main gathers the
 * producers, joins the queue, then cancels the consumers. */
enum { NPROD = 5, NCON = 10, MAXITEMS = 10 };

struct pc {
	cio_queue *q;
	int produced[NPROD];
	int consumed[NPROD * MAXITEMS];
	int total_produced, total_consumed;
};

struct prod {
	struct pc *pc;
	int id, n;
};

static int64_t rand_pause(void)
{
	return (rand() % 4) * MS / 2; /* 0 to 1.5 ms of "work" */
}

static intptr_t produce(void *arg)
{
	struct prod *p = arg;
	for (int i = 0; i < p->n; i++) {
		int rc = cio_sleep(rand_pause());
		if (rc < 0)
			return rc;
		int item = p->id * MAXITEMS + i;
		if ((rc = cio_queue_put(p->pc->q, I(item), CIO_NO_DEADLINE)) < 0)
			return rc;
		p->pc->produced[p->id]++;
		p->pc->total_produced++;
	}
	return 0;
}

static intptr_t consume(void *arg)
{
	struct pc *pc = arg;
	for (;;) {
		void *item;
		int rc = cio_sleep(rand_pause());
		if (rc < 0)
			return rc;
		if ((rc = cio_queue_get(pc->q, &item, CIO_NO_DEADLINE)) < 0)
			return rc;
		pc->consumed[V(item)]++;
		pc->total_consumed++;
		cr_assert_eq(cio_queue_task_done(pc->q), 0);
	}
}

static intptr_t producer_consumer_body(void *arg)
{
	struct pc pc = { 0 };
	struct prod p[NPROD];
	cio_task *pt[NPROD], *ct[NCON];
	bool *bounded = arg;
	(void)arg;

	srand(444);
	pc.q = new_queue(CIO_QUEUE_FIFO, *bounded ? 2 : 0);
	for (int i = 0; i < NPROD; i++) {
		p[i] = (struct prod){ .pc = &pc, .id = i,
				      .n = rand() % (MAXITEMS + 1) };
		pt[i] = th_spawn_here(produce, &p[i]);
	}
	for (int i = 0; i < NCON; i++)
		ct[i] = th_spawn_here(consume, &pc);
	for (int i = 0; i < NPROD; i++)
		cr_assert_eq(th_join(pt[i]), 0);
	cr_assert_eq(cio_queue_join(pc.q, CIO_NO_DEADLINE), 0);
	/* th_join() returned: every item was consumed, exactly once. */
	cr_assert_eq(pc.total_consumed, pc.total_produced);
	cr_assert(cio_queue_empty(pc.q));
	for (int i = 0; i < NPROD; i++) {
		cr_assert_eq(pc.produced[i], p[i].n);
		for (int k = 0; k < MAXITEMS; k++)
			cr_assert_eq(pc.consumed[i * MAXITEMS + k],
				     k < p[i].n ? 1 : 0);
	}
	for (int i = 0; i < NCON; i++)
		cio_task_cancel(ct[i]);
	for (int i = 0; i < NCON; i++)
		cr_assert_eq(th_join(ct[i]), -ECANCELED);
	cr_assert_eq(cio_queue_free(pc.q), 0);
	return 0;
}

Test(queue, seed_producers_and_consumers_with_join)
{
	bool bounded = false;
	th_run_clean(producer_consumer_body, &bounded);
}

Test(queue, seed_producers_and_consumers_bounded)
{
	bool bounded = true;
	th_run_clean(producer_consumer_body, &bounded);
}

/* -- waiting gets and puts ------------------------------------------------- */

static intptr_t getters_fifo_body(void *arg)
{
	enum { N = 4 };
	struct op o[N];
	cio_task *t[N];
	cio_queue *q = new_queue(CIO_QUEUE_LIFO, 0);
	int order = 0;
	void *item;
	(void)arg;

	ops_init(o, N, q, &order);
	for (int i = 0; i < N; i++)
		t[i] = th_spawn_here(getter_fn, &o[i]);
	cr_assert_eq(cio_yield(), 0);
	/* Each item goes straight to the longest waiting get (the queue
	 * kind orders items, not waiters): nothing is left for a get that
	 * comes later. */
	cr_assert_eq(cio_queue_put_nowait(q, I(100)), 0);
	cr_assert_eq(cio_queue_qsize(q), 0);
	cr_assert(cio_queue_empty(q));
	cr_assert_eq(cio_queue_get_nowait(q, &item), -EAGAIN);
	for (int i = 1; i < N; i++)
		cr_assert_eq(cio_queue_put(q, I(100 + i), CIO_NO_DEADLINE), 0);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(th_join(t[i]), 0);
		cr_assert_eq(o[i].item, I(100 + i));
		cr_assert_eq(o[i].rank, i + 1);
	}
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, waiting_gets_are_served_in_order)
{
	th_run_clean(getters_fifo_body, NULL);
}

static intptr_t putters_fifo_body(void *arg)
{
	enum { N = 4 };
	struct op o[N];
	cio_task *t[N];
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	int order = 0;
	void *item;
	(void)arg;

	cr_assert_eq(cio_queue_put_nowait(q, I(0)), 0);
	ops_init(o, N, q, &order);
	for (int i = 0; i < N; i++) {
		o[i].item = I(i + 1);
		t[i] = th_spawn_here(putter_fn, &o[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	cr_assert(cio_queue_full(q));
	for (int i = 0; i <= N; i++) {
		cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), 0);
		cr_assert_eq(V(item), i, "got %d", V(item));
		/* The slot went straight to the next waiting put. */
		if (i < N) {
			cr_assert(cio_queue_full(q));
			cr_assert_eq(cio_queue_put_nowait(q, I(99)), -EAGAIN);
		}
	}
	for (int i = 0; i < N; i++) {
		cr_assert_eq(th_join(t[i]), 0);
		cr_assert_eq(o[i].rank, i + 1);
	}
	cr_assert(cio_queue_empty(q));
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, waiting_puts_are_served_in_order)
{
	th_run_clean(putters_fifo_body, NULL);
}

/* A bounded LIFO and a bounded priority queue take a waiting put's item
 * into the slot a get freed, then order it as usual. */
static intptr_t bounded_kinds_body(void *arg)
{
	struct cio_queue_opts o = { .kind = CIO_QUEUE_PRIORITY, .maxsize = 2 };
	struct op put;
	cio_task *t;
	cio_queue *q;
	void *item;
	(void)arg;

	cr_assert_eq(cio_queue_new(&q, &o), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(5), 5), 0);
	cr_assert_eq(cio_queue_put_prio_nowait(q, I(3), 3), 0);
	cr_assert_eq(cio_queue_put_prio(q, I(1), 1, 0), -ETIMEDOUT, "full");
	ops_init(&put, 1, q, NULL);
	put.item = I(4);
	t = th_spawn_here(putter_fn, &put); /* priority 0 */
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), 0);
	cr_assert_eq(item, I(3));
	cr_assert_eq(th_join(t), 0);
	static const int want[] = { 4, 5 };
	expect_all(q, want, 2);
	cr_assert_eq(cio_queue_free(q), 0);

	q = new_queue(CIO_QUEUE_LIFO, 2);
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	cr_assert_eq(cio_queue_put_nowait(q, I(2)), 0);
	ops_init(&put, 1, q, NULL);
	put.item = I(4);
	t = th_spawn_here(putter_fn, &put);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), 0);
	cr_assert_eq(item, I(2));
	cr_assert_eq(th_join(t), 0);
	static const int want2[] = { 4, 1 };
	expect_all(q, want2, 2);
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, bounded_lifo_and_priority)
{
	th_run_clean(bounded_kinds_body, NULL);
}

/* -- task_done and join ---------------------------------------------------- */

static intptr_t join_body(void *arg)
{
	struct op j[2];
	cio_task *t[2];
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 0);
	void *item;
	(void)arg;

	cr_assert_eq(cio_queue_join(q, 0), 0, "nothing unfinished");
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	cr_assert_eq(cio_queue_put_nowait(q, I(2)), 0);
	ops_init(j, 2, q, NULL);
	t[0] = th_spawn_here(joiner_fn, &j[0]);
	t[1] = th_spawn_here(joiner_fn, &j[1]);
	cr_assert_eq(cio_yield(), 0);
	/* Getting is not finishing: join waits for task_done(). */
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(j[0].returned);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(j[0].returned);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(th_join(t[0]), 0);
	cr_assert_eq(th_join(t[1]), 0);
	cr_assert_eq(cio_queue_task_done(q), -EINVAL);

	/* Deadline and cancellation of a join. */
	cr_assert_eq(cio_queue_put_nowait(q, I(3)), 0);
	int64_t start = cio_loop_time();
	cr_assert_eq(cio_queue_join(q, start + 10 * MS), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 10 * MS);
	t[0] = th_spawn_here(joiner_fn, &j[0]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	/* Cancelled after join was released, before it ran. */
	t[0] = th_spawn_here(joiner_fn, &j[0]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_task_cancel(t[0]), 1);
	cr_assert_eq(th_join(t[0]), -ECANCELED);
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, task_done_and_join)
{
	th_run_clean(join_body, NULL);
}

/* -- shutdown -------------------------------------------------------------- */

static intptr_t shutdown_graceful_body(void *arg)
{
	struct op g[2], p;
	cio_task *gt[2], *pt;
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	void *item;
	(void)arg;

	/* Waiting gets fail when the queue shuts down empty. */
	ops_init(g, 2, q, NULL);
	gt[0] = th_spawn_here(getter_fn, &g[0]);
	gt[1] = th_spawn_here(getter_fn, &g[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_shutdown(q, false), 0);
	cr_assert_eq(th_join(gt[0]), -ESHUTDOWN);
	cr_assert_eq(th_join(gt[1]), -ESHUTDOWN);
	cr_assert_eq(cio_queue_free(q), 0);

	/* Waiting puts fail; what is queued is still got, then -ESHUTDOWN. */
	q = new_queue(CIO_QUEUE_FIFO, 1);
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	ops_init(&p, 1, q, NULL);
	p.item = I(2);
	pt = th_spawn_here(putter_fn, &p);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_shutdown(q, false), 0);
	cr_assert_eq(th_join(pt), -ESHUTDOWN);
	cr_assert_eq(cio_queue_put_nowait(q, I(3)), -ESHUTDOWN);
	cr_assert_eq(cio_queue_put(q, I(3), CIO_NO_DEADLINE), -ESHUTDOWN);
	cr_assert_eq(cio_queue_qsize(q), 1);
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), 0);
	cr_assert_eq(item, I(1));
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), -ESHUTDOWN);
	cr_assert_eq(cio_queue_get_nowait(q, &item), -ESHUTDOWN);
	/* join still counts: the one item got must be done. */
	cr_assert_eq(cio_queue_join(q, 0), -ETIMEDOUT);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_queue_join(q, 0), 0);
	cr_assert_eq(cio_queue_shutdown(q, false), 0, "twice is fine");
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, shutdown_graceful)
{
	th_run_clean(shutdown_graceful_body, NULL);
}

struct dropped {
	int n;
	int sum;
};

static void drop_fn(void *item, void *arg)
{
	struct dropped *d = arg;
	d->n++;
	d->sum += V(item);
}

static intptr_t shutdown_immediate_body(void *arg)
{
	struct dropped d = { 0 };
	struct cio_queue_opts o = { .maxsize = 3, .drop = drop_fn, .arg = &d };
	struct op j;
	cio_task *jt;
	cio_queue *q;
	void *item;
	(void)arg;

	cr_assert_eq(cio_queue_new(&q, &o), 0);
	for (int i = 1; i <= 3; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(i)), 0);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0); /* being worked on */
	ops_init(&j, 1, q, NULL);
	jt = th_spawn_here(joiner_fn, &j);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_shutdown(q, true), 0);
	cr_assert_eq(d.n, 2);
	cr_assert_eq(d.sum, 5);
	cr_assert(cio_queue_empty(q));
	cr_assert_eq(cio_queue_get_nowait(q, &item), -ESHUTDOWN);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(j.returned, "the item got is not done yet");
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(th_join(jt), 0);
	cr_assert_eq(cio_queue_free(q), 0);
	cr_assert_eq(d.n, 2, "nothing left to drop at free");

	/* Immediate after graceful drops what was left to drain; with
	 * nothing being worked on, th_join() is released at once. */
	d = (struct dropped){ 0 };
	cr_assert_eq(cio_queue_new(&q, &o), 0);
	cr_assert_eq(cio_queue_put_nowait(q, I(7)), 0);
	ops_init(&j, 1, q, NULL);
	jt = th_spawn_here(joiner_fn, &j);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_shutdown(q, false), 0);
	cr_assert_eq(cio_queue_qsize(q), 1);
	cr_assert_eq(cio_queue_shutdown(q, true), 0);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(th_join(jt), 0);
	cr_assert_eq(cio_queue_task_done(q), -EINVAL, "counted as done");
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, shutdown_immediate)
{
	th_run_clean(shutdown_immediate_body, NULL);
}

/* -- cancellation ---------------------------------------------------------- */

static intptr_t cancel_parked_body(void *arg)
{
	struct op g[2], p[2];
	cio_task *gt[2], *pt[2];
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	void *item;
	(void)arg;

	/* A parked get leaves having taken nothing. */
	ops_init(g, 2, q, NULL);
	gt[0] = th_spawn_here(getter_fn, &g[0]);
	gt[1] = th_spawn_here(getter_fn, &g[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(gt[0]), 1);
	cr_assert_eq(th_join(gt[0]), -ECANCELED);
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	cr_assert_eq(th_join(gt[1]), 0);
	cr_assert_eq(g[1].item, I(1));
	cr_assert_null(g[0].item);
	cr_assert_eq(cio_queue_task_done(q), 0);

	/* A parked put leaves having put nothing. */
	cr_assert_eq(cio_queue_put_nowait(q, I(2)), 0);
	ops_init(p, 2, q, NULL);
	p[0].item = I(3);
	p[1].item = I(4);
	pt[0] = th_spawn_here(putter_fn, &p[0]);
	pt[1] = th_spawn_here(putter_fn, &p[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_task_cancel(pt[0]), 1);
	cr_assert_eq(th_join(pt[0]), -ECANCELED);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(item, I(2));
	cr_assert_eq(th_join(pt[1]), 0);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(item, I(4), "3 was never put");
	cr_assert_eq(cio_queue_get_nowait(q, &item), -EAGAIN);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_queue_task_done(q), 0);
	cr_assert_eq(cio_queue_task_done(q), -EINVAL, "3 never counted");
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, cancel_parked_gets_and_puts)
{
	th_run_clean(cancel_parked_body, NULL);
}

/* An item handed to a waiting get that is cancelled before it runs is not
 * lost: the get returns it, and the cancellation comes with the task's
 * next await. */
static intptr_t cancel_handed_get_body(void *arg)
{
	struct op g[2];
	cio_task *gt[2];
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 0);
	(void)arg;

	ops_init(g, 2, q, NULL);
	g[0].probe = true;
	gt[0] = th_spawn_here(getter_fn, &g[0]);
	gt[1] = th_spawn_here(getter_fn, &g[1]);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_put_nowait(q, I(42)), 0);
	cr_assert_eq(cio_task_cancel(gt[0]), 1);
	cr_assert_eq(th_join(gt[0]), 0, "it handled the cancellation");
	cr_assert_eq(g[0].rc, 0);
	cr_assert_eq(g[0].item, I(42), "the item came with it");
	cr_assert_eq(g[0].after_rc, -ECANCELED, "then the cancellation");
	cr_assert_not(g[1].returned);
	cr_assert_eq(cio_queue_put_nowait(q, I(43)), 0);
	cr_assert_eq(th_join(gt[1]), 0);
	cr_assert_eq(g[1].item, I(43));
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, cancel_after_an_item_was_handed_over)
{
	th_run_clean(cancel_handed_get_body, NULL);
}

static intptr_t cancel_taken_put_body(void *arg)
{
	struct op p;
	cio_task *pt;
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	void *item;
	(void)arg;

	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	ops_init(&p, 1, q, NULL);
	p.item = I(2);
	p.probe = true;
	pt = th_spawn_here(putter_fn, &p);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0); /* takes 2 in */
	cr_assert_eq(cio_task_cancel(pt), 1);
	cr_assert_eq(th_join(pt), 0);
	cr_assert_eq(p.rc, 0, "the item was put");
	cr_assert_eq(p.after_rc, -ECANCELED);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(item, I(2));
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, cancel_after_a_put_was_taken_in)
{
	th_run_clean(cancel_taken_put_body, NULL);
}

static intptr_t pending_cancel_body(void *arg)
{
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 0);
	cio_task *me = cio_current_task();
	void *item = NULL;
	(void)arg;

	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_queue_put(q, I(1), CIO_NO_DEADLINE), -ECANCELED);
	cr_assert_eq(cio_queue_qsize(q), 0);
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0, "nowait ignores it");
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), -ECANCELED);
	cr_assert_null(item);
	cr_assert_eq(cio_queue_qsize(q), 1);
	cr_assert_eq(cio_task_cancel(me), 1);
	cr_assert_eq(cio_queue_join(q, CIO_NO_DEADLINE), -ECANCELED);
	cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_queue_task_done(q), 0);
	for (int i = 0; i < 3; i++)
		cio_task_uncancel(me);
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, pending_cancellation_on_entry)
{
	th_run_clean(pending_cancel_body, NULL);
}

/* -- deadlines ------------------------------------------------------------- */

static intptr_t deadline_body(void *arg)
{
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	void *item = NULL;
	int64_t start;
	(void)arg;

	cr_assert_eq(cio_queue_get(q, &item, 0), -ETIMEDOUT);
	start = cio_loop_time();
	cr_assert_eq(cio_queue_get(q, &item, start + 20 * MS), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert_null(item);
	/* A transfer that needs no waiting happens past the deadline. */
	cr_assert_eq(cio_queue_put(q, I(1), 0), 0);
	cr_assert_eq(cio_queue_put(q, I(2), 0), -ETIMEDOUT);
	start = cio_loop_time();
	cr_assert_eq(cio_queue_put(q, I(2), start + 20 * MS), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, 20 * MS);
	cr_assert_eq(cio_queue_qsize(q), 1);
	cr_assert_eq(cio_queue_get(q, &item, 0), 0);
	cr_assert_eq(item, I(1));
	cr_assert_eq(cio_queue_free(q), 0);
	return 0;
}

Test(queue, deadline)
{
	th_run_clean(deadline_body, NULL);
}

/* -- free ------------------------------------------------------------------ */

static intptr_t free_body(void *arg)
{
	struct dropped d = { 0 };
	struct cio_queue_opts o = { .drop = drop_fn, .arg = &d };
	struct op g;
	cio_task *gt;
	cio_queue *q;
	(void)arg;

	cr_assert_eq(cio_queue_new(&q, &o), 0);
	ops_init(&g, 1, q, NULL);
	gt = th_spawn_here(getter_fn, &g);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_queue_free(q), -EBUSY, "a get waits");
	cr_assert_eq(cio_queue_put_nowait(q, I(1)), 0);
	cr_assert_eq(cio_queue_free(q), -EBUSY, "handed over, not resumed");
	cr_assert_eq(th_join(gt), 0);
	/* Items left at free go to the drop callback. */
	for (int i = 10; i < 14; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(i)), 0);
	cr_assert_eq(cio_queue_free(q), 0);
	cr_assert_eq(d.n, 4);
	cr_assert_eq(d.sum, 10 + 11 + 12 + 13);
	return 0;
}

Test(queue, free)
{
	th_run_clean(free_body, NULL);
}

/* -- many waiters ---------------------------------------------------------- */

static intptr_t many_getters_body(void *arg)
{
	enum { N = 10000 };
	struct op *o = calloc(N, sizeof(*o));
	cio_task **t = calloc(N, sizeof(*t));
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 0);
	int order = 0;
	(void)arg;

	cr_assert(o && t);
	ops_init(o, N, q, &order);
	for (int i = 0; i < N; i++) {
		if (i % 2)
			o[i].deadline = cio_deadline_after(60 *
							   CIO_NSEC_PER_SEC);
		t[i] = th_spawn_here(getter_fn, &o[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	for (int i = 0; i < N; i += 10)
		cr_assert_eq(cio_task_cancel(t[i]), 1);
	for (int i = 0; i < N - N / 10; i++)
		cr_assert_eq(cio_queue_put_nowait(q, I(i)), 0);
	cr_assert(cio_queue_empty(q), "every item handed over");
	int expect = 0;
	for (int i = 0; i < N; i++) {
		intptr_t v = th_join(t[i]);
		if (i % 10 == 0) {
			cr_assert_eq(v, -ECANCELED);
		} else {
			cr_assert_eq(v, 0);
			cr_assert_eq(V(o[i].item), expect);
			cr_assert_eq(o[i].rank, ++expect);
		}
	}
	cr_assert_eq(cio_queue_free(q), 0);
	free(o);
	free(t);
	return 0;
}

Test(queue, ten_thousand_waiting_gets)
{
	th_run_clean(many_getters_body, NULL);
}

static intptr_t many_putters_body(void *arg)
{
	enum { N = 10000 };
	struct op *o = calloc(N, sizeof(*o));
	cio_task **t = calloc(N, sizeof(*t));
	cio_queue *q = new_queue(CIO_QUEUE_FIFO, 1);
	void *item;
	(void)arg;

	cr_assert(o && t);
	cr_assert_eq(cio_queue_put_nowait(q, I(-1)), 0);
	ops_init(o, N, q, NULL);
	for (int i = 0; i < N; i++) {
		o[i].item = I(i);
		t[i] = th_spawn_here(putter_fn, &o[i]);
	}
	cr_assert_eq(cio_yield(), 0);
	for (int i = 0; i < N; i += 10)
		cr_assert_eq(cio_task_cancel(t[i]), 1);
	cr_assert_eq(cio_queue_get_nowait(q, &item), 0);
	cr_assert_eq(item, I(-1));
	for (int i = 0; i < N; i++) {
		if (i % 10 == 0)
			continue;
		cr_assert_eq(cio_queue_get(q, &item, CIO_NO_DEADLINE), 0);
		cr_assert_eq(V(item), i);
	}
	cr_assert(cio_queue_empty(q));
	for (int i = 0; i < N; i++)
		cr_assert_eq(th_join(t[i]), i % 10 == 0 ? -ECANCELED : 0);
	cr_assert_eq(cio_queue_free(q), 0);
	free(o);
	free(t);
	return 0;
}

Test(queue, ten_thousand_waiting_puts)
{
	th_run_clean(many_putters_body, NULL);
}
