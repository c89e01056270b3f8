/* Channels: bad input, try_* and the ring, close, deadlines, cancellation
 * on one loop, the cancellation races against a peer on another thread
 * (played out deterministically: the peer acts while the parked task's
 * loop is not running, then the task is cancelled, then the loop runs),
 * loops closing under a remote peer, and stress across 2-4 threads, each
 * running its own loop, with every element accounted for exactly once,
 * FIFO per sender, and random cancellations and deadlines mixed in.
 *
 * Threads never assert (Criterion's assertions belong to the test's own
 * thread): they count what they saw and the test checks the counts. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

TestSuite(chan, .timeout = 120);

#if defined(__SANITIZE_THREAD__)
#define STRESS_TOTAL 12000
#define CLOSE_ROUNDS 40
#define PINGS 2000
#else
#define STRESS_TOTAL 100000
#define CLOSE_ROUNDS 300
#define PINGS 20000
#endif

static cio_chan *chan_new(size_t elem_size, size_t cap)
{
	cio_chan *ch = NULL;
	int rc = cio_chan_new(&ch, elem_size, cap);
	cr_assert_eq(rc, 0, "cio_chan_new: %d", rc);
	cr_assert_not_null(ch);
	return ch;
}

static void chan_free(cio_chan *ch)
{
	cr_assert_eq(cio_chan_free(ch), 0);
}

/* A thread that runs one plain function (no loop). */
static void run_in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, fn, arg), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
}

/* -- bad input ------------------------------------------------------------- */

static intptr_t bad_input_body(void *arg)
{
	cio_chan *ch = arg;
	int x = 0;

	cr_assert_eq(cio_chan_send(NULL, &x, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_chan_send(ch, NULL, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_chan_recv(NULL, &x, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_chan_recv(ch, NULL, CIO_NO_DEADLINE), -EINVAL);
	return 0;
}

Test(chan, bad_input)
{
	cio_chan *ch = (cio_chan *)(uintptr_t)1;
	int x = 0;

	cr_assert_eq(cio_chan_new(NULL, 4, 4), -EINVAL);
	cr_assert_eq(cio_chan_new(&ch, 0, 4), -EINVAL, "elem_size 0");
	cr_assert_null(ch, "*out cleared on failure");
	cr_assert_eq(cio_chan_new(&ch, SIZE_MAX / 2, 3), -EINVAL, "overflow");
	cr_assert_eq(cio_chan_new(&ch, SIZE_MAX, 1), -EINVAL, "overflow");
	cr_assert_eq(cio_chan_free(NULL), 0);
	cr_assert_eq(cio_chan_close(NULL), -EINVAL);
	cr_assert_not(cio_chan_is_closed(NULL));
	cr_assert_eq(cio_chan_len(NULL), 0);
	cr_assert_eq(cio_chan_cap(NULL), 0);
	cr_assert_eq(cio_chan_elem_size(NULL), 0);
	cr_assert_eq(cio_chan_try_send(NULL, &x), -EINVAL);
	cr_assert_eq(cio_chan_try_recv(NULL, &x), -EINVAL);

	ch = chan_new(sizeof(int), 2);
	cr_assert_eq(cio_chan_try_send(ch, NULL), -EINVAL);
	cr_assert_eq(cio_chan_try_recv(ch, NULL), -EINVAL);
	/* Outside a task, the awaits refuse (the others work anywhere). */
	cr_assert_eq(cio_chan_send(ch, &x, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_chan_recv(ch, &x, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_chan_len(ch), 0, "a refused send sends nothing");
	th_run_checked(bad_input_body, ch);
	chan_free(ch);
	th_leak_check();
}

/* -- try_* and the ring ---------------------------------------------------- */

struct big {
	unsigned char b[67]; /* an odd size: no alignment is assumed */
};

static void big_fill(struct big *e, unsigned v)
{
	for (size_t i = 0; i < sizeof(e->b); i++)
		e->b[i] = (unsigned char)(v * 31 + i);
}

static bool big_check(const struct big *e, unsigned v)
{
	struct big want;
	big_fill(&want, v);
	return memcmp(e, &want, sizeof(want)) == 0;
}

Test(chan, try_send_try_recv_fifo_and_wraparound)
{
	cio_chan *ch = chan_new(sizeof(struct big), 5);
	struct big e;
	unsigned in = 0, out = 0;

	cr_assert_eq(cio_chan_cap(ch), 5);
	cr_assert_eq(cio_chan_elem_size(ch), sizeof(struct big));
	cr_assert_eq(cio_chan_try_recv(ch, &e), -EAGAIN, "empty");
	/* Fill, drain part, refill: the ring wraps many times over. */
	for (int round = 0; round < 50; round++) {
		while (cio_chan_len(ch) < 5) {
			big_fill(&e, in++);
			cr_assert_eq(cio_chan_try_send(ch, &e), 0);
		}
		big_fill(&e, 9999);
		cr_assert_eq(cio_chan_try_send(ch, &e), -EAGAIN, "full");
		cr_assert_eq(cio_chan_len(ch), 5);
		for (int k = 0; k < 1 + round % 5; k++) {
			cr_assert_eq(cio_chan_try_recv(ch, &e), 0);
			cr_assert(big_check(&e, out++), "FIFO");
		}
	}
	while (cio_chan_try_recv(ch, &e) == 0)
		cr_assert(big_check(&e, out++));
	cr_assert_eq(in, out);
	cr_assert_eq(cio_chan_len(ch), 0);
	chan_free(ch);
	th_leak_check();
}

Test(chan, rendezvous_try_needs_a_parked_peer)
{
	cio_chan *ch = chan_new(sizeof(int), 0);
	int x = 1;

	cr_assert_eq(cio_chan_cap(ch), 0);
	cr_assert_eq(cio_chan_try_send(ch, &x), -EAGAIN);
	cr_assert_eq(cio_chan_try_recv(ch, &x), -EAGAIN);
	cr_assert_eq(cio_chan_close(ch), 0);
	cr_assert_eq(cio_chan_try_send(ch, &x), -EPIPE);
	cr_assert_eq(cio_chan_try_recv(ch, &x), -EPIPE);
	chan_free(ch);
}

/* -- close ----------------------------------------------------------------- */

Test(chan, close_drains_then_epipe)
{
	cio_chan *ch = chan_new(sizeof(int), 4);
	int x;

	for (x = 0; x < 3; x++)
		cr_assert_eq(cio_chan_try_send(ch, &x), 0);
	cr_assert_not(cio_chan_is_closed(ch));
	cr_assert_eq(cio_chan_close(ch), 0);
	cr_assert(cio_chan_is_closed(ch));
	cr_assert_eq(cio_chan_close(ch), -EPIPE, "closed already");
	cr_assert_eq(cio_chan_try_send(ch, &x), -EPIPE);
	cr_assert_eq(cio_chan_len(ch), 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(cio_chan_try_recv(ch, &x), 0);
		cr_assert_eq(x, i);
	}
	cr_assert_eq(cio_chan_try_recv(ch, &x), -EPIPE);
	chan_free(ch);
}

struct closer {
	cio_chan *ch;
	int rc[4];
	int val[4];
	int done;
};

static intptr_t park_recv(void *arg)
{
	struct closer *c = arg;
	int i = c->done++;
	c->rc[i] = cio_chan_recv(c->ch, &c->val[i], CIO_NO_DEADLINE);
	return 0;
}

static intptr_t park_send(void *arg)
{
	struct closer *c = arg;
	int i = c->done++;
	c->val[i] = 100 + i;
	c->rc[i] = cio_chan_send(c->ch, &c->val[i], CIO_NO_DEADLINE);
	return 0;
}

static intptr_t blocking_after_close(void *arg)
{
	cio_chan *ch = arg;
	int x = 5;
	cr_assert_eq(cio_chan_send(ch, &x, CIO_NO_DEADLINE), -EPIPE);
	cr_assert_eq(cio_chan_recv(ch, &x, CIO_NO_DEADLINE), 0, "drains");
	cr_assert_eq(x, 7);
	cr_assert_eq(cio_chan_recv(ch, &x, CIO_NO_DEADLINE), -EPIPE);
	cr_assert_eq(cio_chan_recv(ch, &x, 0), -EPIPE, "before -ETIMEDOUT");
	return 0;
}

Test(chan, close_wakes_parked_receivers_and_senders)
{
	cio_loop *loop = th_loop_new();
	cio_chan *ch = chan_new(sizeof(int), 1);
	struct closer c = { .ch = ch };
	cio_task *t[3];
	int x;

	/* Receivers parked on an empty channel. */
	t[0] = th_spawn(loop, park_recv, &c, NULL);
	t[1] = th_spawn(loop, park_recv, &c, NULL);
	th_run_once(loop);
	cr_assert_eq(cio_chan_free(ch), -EBUSY, "tasks are parked on it");
	cr_assert_eq(cio_chan_close(ch), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(cio_loop_run_until_complete(loop,
							 cio_task_future(t[i])),
			     0);
		cr_assert_eq(c.rc[i], -EPIPE);
		cio_task_unref(t[i]);
	}
	chan_free(ch);

	/* Senders parked on a full one: their elements are not sent. */
	ch = chan_new(sizeof(int), 1);
	c = (struct closer){ .ch = ch };
	x = 7;
	cr_assert_eq(cio_chan_try_send(ch, &x), 0);
	t[0] = th_spawn(loop, park_send, &c, NULL);
	t[1] = th_spawn(loop, park_send, &c, NULL);
	th_run_once(loop);
	cr_assert_eq(cio_chan_len(ch), 1);
	cr_assert_eq(cio_chan_close(ch), 0);
	for (int i = 0; i < 2; i++) {
		cio_loop_run_until_complete(loop, cio_task_future(t[i]));
		cr_assert_eq(c.rc[i], -EPIPE);
		cio_task_unref(t[i]);
	}
	cr_assert_eq(th_run(loop, blocking_after_close, ch), 0);
	chan_free(ch);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* A receiver parked on another thread's loop is told of the close through
 * its loop's inbox. */
struct remote_close {
	cio_chan *ch;
	pthread_barrier_t parked;
	int rc;
};

static intptr_t remote_close_recv(void *arg)
{
	struct remote_close *r = arg;
	int x;
	r->rc = cio_chan_recv(r->ch, &x, CIO_NO_DEADLINE);
	return 0;
}

static void *remote_close_thread(void *arg)
{
	struct remote_close *r = arg;
	cio_loop *loop;
	cio_task *t;
	struct cio_task_opts o;

	if (cio_loop_new(&loop, NULL) < 0)
		abort();
	o = (struct cio_task_opts){ .loop = loop };
	if (cio_spawn(&t, remote_close_recv, r, &o) < 0)
		abort();
	cio_loop_stop(loop);
	cio_loop_run_forever(loop); /* the receiver parks */
	pthread_barrier_wait(&r->parked);
	cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_unref(t);
	cio_loop_free(loop);
	return NULL;
}

Test(chan, close_from_another_thread_wakes_a_parked_receiver)
{
	struct remote_close r = { .ch = chan_new(sizeof(int), 2), .rc = 1 };
	pthread_t th;

	pthread_barrier_init(&r.parked, NULL, 2);
	cr_assert_eq(pthread_create(&th, NULL, remote_close_thread, &r), 0);
	pthread_barrier_wait(&r.parked);
	cr_assert_eq(cio_chan_close(r.ch), 0);
	pthread_join(th, NULL);
	cr_assert_eq(r.rc, -EPIPE);
	pthread_barrier_destroy(&r.parked);
	chan_free(r.ch);
	th_leak_check();
}

/* -- one loop: parking both ways ------------------------------------------- */

struct pc {
	cio_chan *ch;
	int n;
	int errors;
	int64_t deadline;
};

static intptr_t producer(void *arg)
{
	struct pc *p = arg;
	for (int i = 0; i < p->n; i++)
		if (cio_chan_send(p->ch, &i, p->deadline) != 0)
			p->errors++;
	return 0;
}

static intptr_t consumer(void *arg)
{
	struct pc *p = arg;
	int x;
	for (int i = 0; i < p->n; i++)
		if (cio_chan_recv(p->ch, &x, p->deadline) != 0 || x != i)
			p->errors++;
	return 0;
}

static void same_loop(size_t cap, int64_t deadline)
{
	cio_loop *loop = th_loop_new();
	struct pc p = { .ch = chan_new(sizeof(int), cap), .n = 5000,
			.deadline = deadline };
	cio_task *a = th_spawn(loop, consumer, &p, NULL);
	cio_task *b = th_spawn(loop, producer, &p, NULL);

	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(a)), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(b)), 0);
	cr_assert_eq(p.errors, 0);
	cr_assert_eq(loop->timers.n, 0, "every deadline timer disarmed");
	cio_task_unref(a);
	cio_task_unref(b);
	chan_free(p.ch);
	th_loop_free_checked(loop);
}

Test(chan, same_loop_producer_consumer)
{
	same_loop(1, CIO_NO_DEADLINE);
	same_loop(0, CIO_NO_DEADLINE);
	same_loop(7, CIO_NO_DEADLINE);
	same_loop(3, cio_deadline_after(3600 * CIO_NSEC_PER_SEC));
	same_loop(0, cio_deadline_after(3600 * CIO_NSEC_PER_SEC));
	th_leak_check();
}

/* -- deadlines ------------------------------------------------------------- */

static intptr_t deadline_body(void *arg)
{
	cio_chan *ch = arg;
	int64_t t0 = cio_loop_time();
	int64_t dl = t0 + 20 * CIO_NSEC_PER_MSEC;
	int x = 1;

	cr_assert_eq(cio_chan_recv(ch, &x, dl), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time(), dl, "not before the deadline");
	/* A deadline already passed is a try: it works when no wait is
	 * needed, and times out at once otherwise. */
	cr_assert_eq(cio_chan_recv(ch, &x, t0), -ETIMEDOUT);
	cr_assert_eq(cio_chan_send(ch, &x, t0), 0);
	cr_assert_eq(cio_chan_send(ch, &x, 0), -ETIMEDOUT, "full");
	dl = cio_loop_time() + 5 * CIO_NSEC_PER_MSEC;
	cr_assert_eq(cio_chan_send(ch, &x, dl), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time(), dl);
	cr_assert_eq(cio_chan_len(ch), 1, "a timed-out send sent nothing");
	cr_assert_eq(cio_chan_recv(ch, &x, INT64_MIN), 0);
	cr_assert_eq(cio_loop_current()->timers.n, 0);
	return 0;
}

Test(chan, deadlines)
{
	cio_chan *ch = chan_new(sizeof(int), 1);
	th_run_checked_no_reports(deadline_body, ch);
	chan_free(ch);
	th_leak_check();
}

/* -- cancellation on one loop ---------------------------------------------- */

struct victim {
	cio_chan *ch;
	int val;
	int rc;       /* of the channel call */
	int rc_next;  /* of the await after it */
	bool recv;
	int64_t deadline;
};

static intptr_t victim_fn(void *arg)
{
	struct victim *v = arg;
	v->rc = v->recv ? cio_chan_recv(v->ch, &v->val, v->deadline)
			: cio_chan_send(v->ch, &v->val, v->deadline);
	v->rc_next = cio_yield();
	return 0;
}

static cio_task *spawn_victim(cio_loop *loop, struct victim *v, cio_chan *ch,
			      bool recv, int val)
{
	*v = (struct victim){ .ch = ch, .val = val, .rc = 1, .rc_next = 1,
			      .recv = recv, .deadline = CIO_NO_DEADLINE };
	cio_task *t = th_spawn(loop, victim_fn, v, NULL);
	th_run_once(loop); /* it parks */
	return t;
}

static void finish(cio_loop *loop, cio_task *t)
{
	cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_error(t);
	cio_task_unref(t);
}

static intptr_t self_cancelled_recv(void *arg)
{
	cio_chan *ch = arg;
	int x = 0;

	cio_task_cancel(cio_current_task());
	cr_assert_eq(cio_chan_recv(ch, &x, CIO_NO_DEADLINE), -ECANCELED);
	cr_assert_eq(cio_chan_len(ch), 1, "not taken");
	cr_assert_eq(cio_chan_recv(ch, &x, CIO_NO_DEADLINE), 0,
		     "delivered once");
	cio_task_cancel(cio_current_task());
	cr_assert_eq(cio_chan_send(ch, &x, CIO_NO_DEADLINE), -ECANCELED);
	cr_assert_eq(cio_chan_len(ch), 0, "not sent");
	cr_assert_eq(x, 1, "the element sent before");
	return 0;
}

Test(chan, cancel_parked_takes_nothing)
{
	cio_loop *loop = th_loop_new();
	cio_chan *ch = chan_new(sizeof(int), 1);
	struct victim v;
	cio_task *t;
	int x = 1;

	/* A cancelled receiver leaves; the element goes to whoever is next. */
	t = spawn_victim(loop, &v, ch, true, 0);
	cr_assert_eq(cio_task_cancel(t), 1);
	finish(loop, t);
	cr_assert_eq(v.rc, -ECANCELED);
	cr_assert_eq(v.rc_next, 0, "delivered once");
	cr_assert_eq(cio_chan_try_send(ch, &x), 0);
	cr_assert_eq(cio_chan_len(ch), 1, "buffered, not handed to it");

	/* A cancelled sender's element never enters. */
	t = spawn_victim(loop, &v, ch, false, 2);
	cr_assert_eq(cio_task_cancel(t), 1);
	finish(loop, t);
	cr_assert_eq(v.rc, -ECANCELED);
	cr_assert_eq(cio_chan_try_recv(ch, &x), 0);
	cr_assert_eq(x, 1);
	cr_assert_eq(cio_chan_try_recv(ch, &x), -EAGAIN);

	/* Cancelled before the call: nothing moves, even with an element
	 * there to take. */
	cr_assert_eq(cio_chan_try_send(ch, &x), 0);
	cr_assert_eq(th_run(loop, self_cancelled_recv, ch), 0);
	chan_free(ch);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* The transfer won on the same loop: the peer task's direct wake made the
 * victim ready, and a cancel that comes before it runs is delivered by its
 * next await. */
struct peer {
	cio_chan *ch;
	cio_task *victim;
	bool recv;
	int val;
	int rc;
};

static intptr_t peer_then_cancel(void *arg)
{
	struct peer *p = arg;
	p->rc = p->recv ? cio_chan_try_recv(p->ch, &p->val)
			: cio_chan_try_send(p->ch, &p->val);
	cio_task_cancel(p->victim);
	return 0;
}

Test(chan, same_loop_cancel_after_handoff_keeps_the_element)
{
	cio_loop *loop = th_loop_new();
	cio_chan *ch = chan_new(sizeof(int), 0);
	struct victim v;
	struct peer p;
	cio_task *t;

	t = spawn_victim(loop, &v, ch, true, 0);
	p = (struct peer){ .ch = ch, .victim = t, .val = 42, .rc = 1 };
	cr_assert_eq(th_run(loop, peer_then_cancel, &p), 0);
	cr_assert_eq(p.rc, 0, "handed to the parked receiver");
	finish(loop, t);
	cr_assert_eq(v.rc, 0);
	cr_assert_eq(v.val, 42);
	cr_assert_eq(v.rc_next, -ECANCELED, "the cancel is not lost either");

	t = spawn_victim(loop, &v, ch, false, 43);
	p = (struct peer){ .ch = ch, .victim = t, .recv = true, .rc = 1 };
	cr_assert_eq(th_run(loop, peer_then_cancel, &p), 0);
	cr_assert_eq(p.rc, 0);
	cr_assert_eq(p.val, 43);
	finish(loop, t);
	cr_assert_eq(v.rc, 0, "its element was taken: the send succeeded");
	cr_assert_eq(v.rc_next, -ECANCELED);
	chan_free(ch);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* -- the cross-thread races, in a fixed order -------------------------------
 *
 * The task parks on loop L; a peer thread transfers (L is not running, so
 * the wake-up waits in L's inbox); then the task is cancelled (or its
 * deadline passes); then L runs. The reverse order is checked too. */

static void *peer_try_send(void *arg)
{
	cio_chan *ch = arg;
	int x = 77;
	if (cio_chan_try_send(ch, &x) != 0)
		abort();
	return NULL;
}

static int peer_got;

static void *peer_try_recv(void *arg)
{
	if (cio_chan_try_recv(arg, &peer_got) != 0)
		abort();
	return NULL;
}

Test(chan, remote_handoff_then_cancel_receiver_gets_it)
{
	cio_loop *loop = th_loop_new();
	cio_chan *ch = chan_new(sizeof(int), 2);
	struct victim v;
	cio_task *t;
	int x;

	t = spawn_victim(loop, &v, ch, true, 0);
	run_in_thread(peer_try_send, ch);
	cr_assert_eq(cio_chan_len(ch), 0, "handed straight to the receiver");
	cr_assert_eq(cio_task_cancel(t), 1);
	finish(loop, t);
	cr_assert_eq(v.rc, 0, "received: the element is not lost");
	cr_assert_eq(v.val, 77);
	cr_assert_eq(v.rc_next, -ECANCELED, "cancel delivered next");

	/* Cancelled first: the element stays in the channel. */
	t = spawn_victim(loop, &v, ch, true, 0);
	cio_task_cancel(t);
	run_in_thread(peer_try_send, ch);
	finish(loop, t);
	cr_assert_eq(v.rc, -ECANCELED);
	cr_assert_eq(cio_chan_try_recv(ch, &x), 0);
	cr_assert_eq(x, 77);
	chan_free(ch);
	th_loop_free_checked(loop);
	th_leak_check();
}

Test(chan, remote_take_then_cancel_sender_succeeds)
{
	cio_loop *loop = th_loop_new();
	cio_chan *ch = chan_new(sizeof(int), 1);
	struct victim v;
	cio_task *t;
	int x = 1;

	/* Full; the sender parks; the peer takes 1 and the sender's 2 moves
	 * into the freed slot in the same instant. */
	cr_assert_eq(cio_chan_try_send(ch, &x), 0);
	t = spawn_victim(loop, &v, ch, false, 2);
	run_in_thread(peer_try_recv, ch);
	cr_assert_eq(peer_got, 1);
	cr_assert_eq(cio_chan_len(ch), 1);
	cio_task_cancel(t);
	finish(loop, t);
	cr_assert_eq(v.rc, 0, "the element was taken: sent");
	cr_assert_eq(v.rc_next, -ECANCELED);
	cr_assert_eq(cio_chan_try_recv(ch, &x), 0);
	cr_assert_eq(x, 2, "exactly once");
	cr_assert_eq(cio_chan_try_recv(ch, &x), -EAGAIN);

	/* Rendezvous: the peer takes straight from the parked sender. */
	chan_free(ch);
	ch = chan_new(sizeof(int), 0);
	t = spawn_victim(loop, &v, ch, false, 3);
	run_in_thread(peer_try_recv, ch);
	cr_assert_eq(peer_got, 3);
	cio_task_cancel(t);
	finish(loop, t);
	cr_assert_eq(v.rc, 0);

	/* Cancelled first: the peer finds nothing. */
	t = spawn_victim(loop, &v, ch, false, 4);
	cio_task_cancel(t);
	finish(loop, t);
	cr_assert_eq(v.rc, -ECANCELED);
	cr_assert_eq(cio_chan_try_recv(ch, &x), -EAGAIN);
	chan_free(ch);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* The deadline fires in the same iteration that brings the wake-up (the
 * inbox is drained before timers fire): the transfer wins. */
Test(chan, remote_handoff_beats_a_deadline_in_the_same_iteration)
{
	cio_loop *loop = th_loop_new();
	cio_chan *ch = chan_new(sizeof(int), 1);
	struct victim v;
	struct timespec ts;
	cio_task *t;

	v = (struct victim){ .ch = ch, .recv = true, .rc = 1, .rc_next = 1,
			     .deadline = cio_deadline_after(
				     20 * CIO_NSEC_PER_MSEC) };
	t = th_spawn(loop, victim_fn, &v, NULL);
	th_run_once(loop);
	cr_assert_eq(v.rc, 1, "parked");
	run_in_thread(peer_try_send, ch);
	/* The deadline passing is the event under test here. */
	ts.tv_sec = v.deadline / CIO_NSEC_PER_SEC;
	ts.tv_nsec = v.deadline % CIO_NSEC_PER_SEC;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		;
	finish(loop, t);
	cr_assert_eq(v.rc, 0);
	cr_assert_eq(v.val, 77);
	cr_assert_eq(v.rc_next, 0);
	cr_assert_eq(loop->timers.n, 0);
	chan_free(ch);
	th_loop_free_checked(loop);
}

/* -- loops closing under a remote peer --------------------------------------- */

struct close_race {
	cio_chan *ch;
	pthread_barrier_t bar;
	bool recv;
	int reports;
};

static intptr_t close_race_task(void *arg)
{
	struct close_race *r = arg;
	int x = 5;
	if (r->recv)
		cio_chan_recv(r->ch, &x, CIO_NO_DEADLINE);
	else
		cio_chan_send(r->ch, &x, CIO_NO_DEADLINE);
	return 0;
}

static void count_reports(cio_loop *loop, const struct cio_report *rep,
			  void *arg)
{
	(void)loop;
	(void)rep;
	((struct close_race *)arg)->reports++;
}

/* Park a task on a loop of this thread, then close the loop while the
 * test's thread is transferring to (or from) it. */
static void *close_race_thread(void *arg)
{
	struct close_race *r = arg;
	struct cio_task_opts o;
	cio_loop *loop;

	if (cio_loop_new(&loop, NULL) < 0)
		abort();
	cio_loop_set_exception_handler(loop, count_reports, r);
	o = (struct cio_task_opts){ .loop = loop };
	if (cio_spawn(NULL, close_race_task, r, &o) < 0)
		abort();
	cio_loop_stop(loop);
	cio_loop_run_forever(loop);
	pthread_barrier_wait(&r->bar);
	cio_loop_close(loop);
	cio_loop_free(loop);
	return NULL;
}

static void close_race(bool recv, size_t cap, int *handed)
{
	struct close_race r = { .ch = chan_new(sizeof(int), cap),
				.recv = recv };
	pthread_t th;
	int x = 9, rc;

	pthread_barrier_init(&r.bar, NULL, 2);
	cr_assert_eq(pthread_create(&th, NULL, close_race_thread, &r), 0);
	pthread_barrier_wait(&r.bar);
	rc = recv ? cio_chan_try_send(r.ch, &x) : cio_chan_try_recv(r.ch, &x);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&r.bar);
	cr_assert_eq(r.reports, 1, "the parked task was destroyed");
	if (recv && cap) {
		/* Buffered (the receiver was gone first), or handed to the
		 * receiver the close destroyed (rule 4 of chan.h). */
		cr_assert_eq(rc, 0);
		if (cio_chan_len(r.ch) == 0)
			(*handed)++;
		else
			cr_assert_eq(cio_chan_try_recv(r.ch, &x), 0);
	} else if (rc == 0) {
		/* Met the parked peer before its loop closed: once. */
		if (!recv)
			cr_assert_eq(x, 5);
		cr_assert_eq(cio_chan_len(r.ch), 0);
		(*handed)++;
	} else {
		cr_assert_eq(rc, -EAGAIN, "the peer was gone first");
	}
	cr_assert_eq(cio_chan_free(r.ch), 0, "nothing left parked");
}

Test(chan, loop_closes_while_a_remote_peer_transfers)
{
	int handed[4] = { 0 };

	for (int i = 0; i < CLOSE_ROUNDS; i++) {
		close_race(true, 1, &handed[0]);
		close_race(true, 0, &handed[1]);
		close_race(false, 0, &handed[2]);
	}
	cr_log_info("handed over before the close: recv %d/%d, "
		    "rendezvous recv %d/%d, send %d/%d",
		    handed[0], CLOSE_ROUNDS, handed[1], CLOSE_ROUNDS,
		    handed[2], CLOSE_ROUNDS);
	th_leak_check();
}

/* A parked receiver on a closed loop is gone from the channel. */
Test(chan, loop_close_unlinks_the_parked_task)
{
	struct close_race r = { .ch = chan_new(sizeof(int), 0), .recv = true };
	struct cio_task_opts o;
	cio_loop *loop = th_loop_new();
	int x = 1;

	cio_loop_set_exception_handler(loop, count_reports, &r);
	o = (struct cio_task_opts){ .loop = loop };
	cr_assert_eq(cio_spawn(NULL, close_race_task, &r, &o), 0);
	th_run_once(loop);
	cr_assert_eq(cio_chan_free(r.ch), -EBUSY);
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(r.reports, 1);
	cr_assert_eq(cio_chan_try_send(r.ch, &x), -EAGAIN, "nobody parked");
	cio_loop_free(loop);
	chan_free(r.ch);
	th_leak_check();
}

/* -- cross-thread ping-pong --------------------------------------------------- */

struct ping {
	cio_chan *to, *from;
	int n;
	int errors;
};

static intptr_t pinger(void *arg)
{
	struct ping *p = arg;
	for (int i = 0; i < p->n; i++) {
		int x = i, y = -1;
		if (cio_chan_send(p->to, &x, CIO_NO_DEADLINE) != 0 ||
		    cio_chan_recv(p->from, &y, CIO_NO_DEADLINE) != 0 ||
		    y != i + 1)
			p->errors++;
	}
	return 0;
}

static intptr_t ponger(void *arg)
{
	struct ping *p = arg;
	int x;
	for (int i = 0; i < p->n; i++) {
		if (cio_chan_recv(p->to, &x, CIO_NO_DEADLINE) != 0)
			p->errors++;
		x++;
		if (cio_chan_send(p->from, &x, CIO_NO_DEADLINE) != 0)
			p->errors++;
	}
	return 0;
}

/* One loop on a new thread running fn(arg) to its end. */
struct loop_thread {
	pthread_t th;
	cio_task_fn fn;
	void *arg;
	intptr_t result;
};

static void *loop_thread_main(void *arg)
{
	struct loop_thread *lt = arg;
	struct cio_task_opts o;
	cio_loop *loop;
	cio_task *t;

	lt->result = -EIO;
	if (cio_loop_new(&loop, NULL) < 0)
		return NULL;
	o = (struct cio_task_opts){ .loop = loop };
	if (cio_spawn(&t, lt->fn, lt->arg, &o) == 0) {
		lt->result = cio_loop_run_until_complete(loop,
							 cio_task_future(t));
		cio_task_unref(t);
	}
	cio_loop_free(loop);
	return NULL;
}

static void loop_thread_start(struct loop_thread *lt, cio_task_fn fn,
			      void *arg)
{
	lt->fn = fn;
	lt->arg = arg;
	cr_assert_eq(pthread_create(&lt->th, NULL, loop_thread_main, lt), 0);
}

static intptr_t loop_thread_join(struct loop_thread *lt)
{
	cr_assert_eq(pthread_join(lt->th, NULL), 0);
	return lt->result;
}

static void ping_pong(size_t cap)
{
	struct ping p = { .to = chan_new(sizeof(int), cap),
			  .from = chan_new(sizeof(int), cap), .n = PINGS };
	struct loop_thread a, b;

	loop_thread_start(&a, pinger, &p);
	loop_thread_start(&b, ponger, &p);
	cr_assert_eq(loop_thread_join(&a), 0);
	cr_assert_eq(loop_thread_join(&b), 0);
	cr_assert_eq(p.errors, 0);
	chan_free(p.to);
	chan_free(p.from);
}

Test(chan, ping_pong_between_two_threads)
{
	ping_pong(1);
	ping_pong(0);
	th_leak_check();
}

/* -- stress: many senders and receivers on 2-4 loops ----------------------------
 *
 * Each sender sends (id, 0..per-1). Receivers mark each element in `seen`
 * and check that a sender's sequence only grows in what they receive (one
 * order for the whole channel implies that, per receiver). A "storm" adds
 * cancellations: after each call a task may cancel a random sibling on its
 * loop, wherever that one is (parked, woken with the wake-up still on its
 * way, about to run); it may add short random deadlines too. A sender
 * whose send failed sends the same element again; a task that sees a
 * cancellation (delivered or pending after a success) withdraws it and
 * carries on. At the end every element must have been received exactly
 * once. */

struct elem {
	uint32_t sender, seq;
	uint64_t check;
};

static uint64_t mix(uint32_t a, uint32_t b)
{
	uint64_t x = ((uint64_t)a << 32 | b) * 0x9e3779b97f4a7c15ull;
	return x ^ (x >> 29);
}

struct stress {
	cio_chan *ch;
	uint32_t senders, receivers, per;
	bool storm, deadlines;
	atomic_int senders_left;
	atomic_uchar *seen;
	atomic_long received, bad, fifo, cancelled, late, timeouts, epipe;
	atomic_long raced; /* cancelled while parked, after the transfer */
};

#define MAX_LOCAL 8

struct shard {
	struct stress *s;
	cio_task *tasks[MAX_LOCAL];
	struct worker *workers[MAX_LOCAL];
	bool started[MAX_LOCAL]; /* a task cancelled before it starts
				  * never runs its body at all */
	unsigned ntasks;
	uint32_t first_sender, nsend, nrecv;
	uint64_t rng;
};

struct worker {
	struct shard *sh;
	uint32_t id; /* sender id, or receiver index */
	unsigned slot; /* in sh->tasks */
	uint64_t rng;
	bool hit_parked; /* a sibling cancelled it while it was parked */
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static int64_t pick_deadline(struct worker *w)
{
	uint64_t r = rnd(&w->rng);
	if (!w->sh->s->deadlines || r % 4)
		return CIO_NO_DEADLINE;
	return cio_deadline_after((int64_t)(r >> 8) % (50 * CIO_NSEC_PER_USEC));
}

/* After each call in a storm: perhaps cancel a sibling (or oneself),
 * then withdraw whatever cancellation this task has. Returns whether one
 * was pending when the call returned. */
static bool storm_step(struct worker *w, int last_rc)
{
	cio_task *me = cio_current_task();
	bool pending = cio_task_cancelling(me) > 0;
	struct shard *sh = w->sh;

	if (!sh->s->storm)
		return false;
	if (rnd(&w->rng) % 3 == 0) {
		unsigned i = (unsigned)(rnd(&w->rng) % sh->ntasks);
		cio_task *t = sh->tasks[i];
		if (sh->started[i] && t != me && !cio_task_done(t)) {
			/* Parked (not just woken by a peer of this loop):
			 * its cancel handler runs now. */
			if (t->state == CIO__TASK_PARKED)
				sh->workers[i]->hit_parked = true;
			cio_task_cancel(t);
		}
	}
	while (cio_task_cancelling(me) > 0)
		cio_task_uncancel(me);
	/* Succeeded although cancelled while parked: a peer on another
	 * thread had completed the transfer and its wake-up was on the
	 * way; the cancel handler found the waiter done. */
	if (pending && w->hit_parked && last_rc == 0)
		atomic_fetch_add(&sh->s->raced, 1);
	w->hit_parked = false;
	return pending;
}

static intptr_t stress_sender(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->sh->s;

	w->sh->started[w->slot] = true;
	for (uint32_t seq = 0; seq < s->per;) {
		struct elem e = { w->id, seq, mix(w->id, seq) };
		int rc = cio_chan_send(s->ch, &e, pick_deadline(w));
		bool pending = storm_step(w, rc);
		if (rc == 0) {
			seq++;
			if (pending)
				atomic_fetch_add(&s->late, 1);
		} else if (rc == -ECANCELED) {
			atomic_fetch_add(&s->cancelled, 1);
		} else if (rc == -ETIMEDOUT) {
			atomic_fetch_add(&s->timeouts, 1);
		} else {
			atomic_fetch_add(&s->bad, 1);
			break;
		}
	}
	if (atomic_fetch_sub(&s->senders_left, 1) == 1)
		cio_chan_close(s->ch);
	return 0;
}

static intptr_t stress_receiver(void *arg)
{
	struct worker *w = arg;
	struct stress *s = w->sh->s;
	uint32_t *next = calloc(s->senders, sizeof(*next));

	w->sh->started[w->slot] = true;
	if (!next)
		return -ENOMEM;
	for (;;) {
		struct elem e;
		int rc = cio_chan_recv(s->ch, &e, pick_deadline(w));
		bool pending = storm_step(w, rc);
		if (rc == 0) {
			if (e.sender >= s->senders || e.seq >= s->per ||
			    e.check != mix(e.sender, e.seq)) {
				atomic_fetch_add(&s->bad, 1);
				continue;
			}
			if (e.seq < next[e.sender])
				atomic_fetch_add(&s->fifo, 1);
			next[e.sender] = e.seq + 1;
			atomic_fetch_add(&s->seen[(size_t)e.sender * s->per +
						  e.seq], 1);
			atomic_fetch_add(&s->received, 1);
			if (pending)
				atomic_fetch_add(&s->late, 1);
		} else if (rc == -EPIPE) {
			atomic_fetch_add(&s->epipe, 1);
			break;
		} else if (rc == -ECANCELED) {
			atomic_fetch_add(&s->cancelled, 1);
		} else if (rc == -ETIMEDOUT) {
			atomic_fetch_add(&s->timeouts, 1);
		} else {
			atomic_fetch_add(&s->bad, 1);
			break;
		}
	}
	free(next);
	return 0;
}

/* The first task of each loop: spawn the workers, await them all. */
static intptr_t shard_main(void *arg)
{
	struct shard *sh = arg;
	struct worker w[MAX_LOCAL];
	intptr_t ret = 0;
	unsigned n = 0;

	for (uint32_t i = 0; i < sh->nsend; i++, n++) {
		w[n] = (struct worker){ .sh = sh, .id = sh->first_sender + i,
					.slot = n, .rng = sh->rng + n * 7919 + 1 };
		sh->workers[n] = &w[n];
		sh->tasks[n] = th_spawn(NULL, stress_sender, &w[n], NULL);
	}
	for (uint32_t i = 0; i < sh->nrecv; i++, n++) {
		w[n] = (struct worker){ .sh = sh, .id = i, .slot = n,
					.rng = sh->rng + n * 7919 + 1 };
		sh->workers[n] = &w[n];
		sh->tasks[n] = th_spawn(NULL, stress_receiver, &w[n], NULL);
	}
	sh->ntasks = n;
	for (unsigned i = 0; i < n; i++) {
		/* Only the workers are cancelled, never this task. */
		intptr_t v = cio_await_task(sh->tasks[i]);
		if (v != 0 && !cio_task_cancelled(sh->tasks[i]))
			ret = v;
	}
	for (unsigned i = 0; i < n; i++) {
		/* A worker cancelled as it returned ends cancelled: its
		 * work is still complete, and counted. */
		cio_task_error(sh->tasks[i]);
		cio_task_unref(sh->tasks[i]);
	}
	return ret;
}

/* The same on the shard runtime: each shard runs shard_main. */
static struct shard *g_shards;

static intptr_t on_each_shard(void *arg)
{
	(void)arg;
	return shard_main(&g_shards[cio_shard_id()]);
}

static intptr_t run_main(void *arg)
{
	intptr_t results[4] = { 0 };
	int rc = cio_broadcast(on_each_shard, NULL, results);

	(void)arg;
	for (unsigned i = 0; i < cio_shard_count() && rc == 0; i++)
		rc = (int)results[i];
	return rc;
}

static void stress_on(bool shards, unsigned threads, uint32_t send_per,
		      uint32_t recv_per, size_t cap, bool storm,
		      bool deadlines)
{
	struct stress s = { 0 };
	struct shard sh[4];
	struct loop_thread lt[4];
	size_t total;

	cr_assert_leq(threads, 4);
	cr_assert_leq(send_per + recv_per, MAX_LOCAL);
	s.ch = chan_new(sizeof(struct elem), cap);
	s.senders = threads * send_per;
	s.receivers = threads * recv_per;
	s.per = STRESS_TOTAL / s.senders;
	s.storm = storm;
	s.deadlines = deadlines;
	atomic_init(&s.senders_left, (int)s.senders);
	total = (size_t)s.senders * s.per;
	s.seen = calloc(total, sizeof(*s.seen));
	cr_assert_not_null(s.seen);
	for (unsigned i = 0; i < threads; i++) {
		sh[i] = (struct shard){ .s = &s, .first_sender = i * send_per,
					.nsend = send_per, .nrecv = recv_per,
					.rng = 0x1234567ull * (i + 1) };
		if (!shards)
			loop_thread_start(&lt[i], shard_main, &sh[i]);
	}
	if (shards) {
		struct cio_run_opts o = { .shards = threads,
					  .flags = CIO_RUN_NO_SIGNALS };
		g_shards = sh;
		cr_assert_eq(cio_run(run_main, NULL, &o), 0);
	}
	for (unsigned i = 0; i < threads && !shards; i++)
		cr_assert_eq(loop_thread_join(&lt[i]), 0);

	cr_assert_eq(atomic_load(&s.bad), 0, "corrupt elements or errors");
	cr_assert_eq(atomic_load(&s.fifo), 0, "FIFO per sender");
	cr_assert_eq(atomic_load(&s.received), (long)total);
	cr_assert_eq(atomic_load(&s.epipe), (long)s.receivers,
		     "every receiver saw the close");
	for (size_t i = 0; i < total; i++)
		cr_assert_eq(atomic_load(&s.seen[i]), 1,
			     "element %zu seen %d times", i,
			     (int)atomic_load(&s.seen[i]));
	cr_assert_eq(cio_chan_len(s.ch), 0);
	if (storm)
		cr_log_info("%u threads, cap %zu: %zu elements; cancelled %ld, "
			    "cancelled after the transfer %ld (%ld of them "
			    "parked, the wake-up from another thread on its "
			    "way), timed out %ld",
			    threads, cap, total, atomic_load(&s.cancelled),
			    atomic_load(&s.late), atomic_load(&s.raced),
			    atomic_load(&s.timeouts));
	free(s.seen);
	chan_free(s.ch);
}

static void stress(unsigned threads, uint32_t send_per, uint32_t recv_per,
		   size_t cap, bool storm, bool deadlines)
{
	stress_on(false, threads, send_per, recv_per, cap, storm, deadlines);
}

Test(chan, stress_fifo_4_threads)
{
	stress(4, 1, 1, 16, false, false);
	th_leak_check();
}

Test(chan, stress_fifo_2_threads_rendezvous)
{
	stress(2, 2, 2, 0, false, false);
	th_leak_check();
}

Test(chan, stress_fifo_3_threads_many_tasks)
{
	stress(3, 3, 2, 4, false, false);
	th_leak_check();
}

Test(chan, storm_cancel_3_threads)
{
	stress(3, 2, 2, 4, true, false);
	th_leak_check();
}

Test(chan, storm_cancel_and_deadlines_2_threads)
{
	stress(2, 2, 3, 2, true, true);
	th_leak_check();
}

Test(chan, storm_cancel_rendezvous_4_threads)
{
	stress(4, 1, 1, 0, true, true);
	th_leak_check();
}

/* The same channel traffic between the shards of cio_run(). */
Test(chan, storm_cancel_on_shards)
{
	stress_on(true, 2, 2, 2, 3, true, true);
	th_leak_check();
}
