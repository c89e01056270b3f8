/* The executor: results and errors from pool threads, the bounded queue
 * (tasks wait for a slot, others get -EAGAIN), cancelling queued and
 * running jobs, shutdown, loop close with jobs in flight, the default
 * executor's sizes, and the internal job contract the epoll backend uses.
 *
 * Jobs that must stay busy wait on a gate the test opens; the test learns
 * that a job has started, or finished, from the gate's counters. Nothing
 * sleeps to let something happen. */
#include "helpers/harness.h"
#include "runtime/executor_internal.h"
#include "runtime/loop_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

TestSuite(executor, .timeout = 60);

#if defined(__SANITIZE_THREAD__)
#define MANY_JOBS 100
#define PER_LOOP 100
#define STRESS_ROUNDS 20
#else
#define MANY_JOBS 1000
#define PER_LOOP 1000
#define STRESS_ROUNDS 200
#endif

/* -- a gate for jobs ------------------------------------------------------------ */

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	int started;
	int finished;
};

static void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->open = false;
	g->started = g->finished = 0;
}

static void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* In a job: count in, wait for the gate, count out. */
static void gate_pass(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->started++;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	g->finished++;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void gate_wait(struct gate *g, int *counter, int n)
{
	pthread_mutex_lock(&g->mu);
	while (*counter < n)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static int gate_count(struct gate *g, int *counter)
{
	pthread_mutex_lock(&g->mu);
	int n = *counter;
	pthread_mutex_unlock(&g->mu);
	return n;
}

/* -- job functions ---------------------------------------------------------------- */

struct job {
	struct gate *gate;  /* wait on it first, when set */
	intptr_t value;     /* what to return */
	atomic_int ran;     /* times fn was entered */
	pthread_t thread;   /* where it ran */
};

static intptr_t job_fn(void *arg)
{
	struct job *j = arg;
	atomic_fetch_add(&j->ran, 1);
	j->thread = pthread_self();
	if (j->gate)
		gate_pass(j->gate);
	return j->value;
}

static void job_init(struct job *j, struct gate *g, intptr_t value)
{
	j->gate = g;
	j->value = value;
	atomic_init(&j->ran, 0);
}

static intptr_t await_and_unref(cio_future *f)
{
	intptr_t v = cio_await(f);
	cio_future_unref(f);
	return v;
}

/* Run the loop until `f` is done (outside tasks). */
static intptr_t run_until(cio_loop *loop, cio_future *f)
{
	return cio_loop_run_until_complete(loop, f);
}

static cio_executor *executor_new(unsigned threads, unsigned queue)
{
	struct cio_executor_opts o = { .threads = threads, .queue_size = queue };
	cio_executor *ex = NULL;
	cr_assert_eq(cio_executor_new(&ex, &o), 0);
	cr_assert_not_null(ex);
	return ex;
}

/* -- results ---------------------------------------------------------------------- */

static intptr_t result_body(void *arg)
{
	struct job *j = arg;
	cio_future *f;
	int rc = cio_run_in_executor(&f, NULL, job_fn, j);
	cr_assert_eq(rc, 0);
	cr_assert_eq(cio_future_loop(f), cio_loop_current());
	cr_assert_eq(await_and_unref(f), 4242);
	return 0;
}

Test(executor, result_comes_back_from_another_thread)
{
	struct job j;
	job_init(&j, NULL, 4242);
	th_run_checked_no_reports(result_body, &j);
	cr_assert_eq(atomic_load(&j.ran), 1);
	cr_assert_not(pthread_equal(j.thread, pthread_self()),
		      "fn ran on a pool thread");
	th_leak_check();
}

static intptr_t error_body(void *arg)
{
	struct job *j = arg;
	cio_future *f;
	cr_assert_eq(cio_run_in_executor(&f, NULL, job_fn, j), 0);
	cr_assert_eq(cio_await(f), -EIO);
	cr_assert(cio_future_done(f));
	cr_assert_not(cio_future_cancelled(f));
	cr_assert_eq(cio_future_error(f), -EIO);
	cio_future_unref(f);
	return 0;
}

Test(executor, error_result)
{
	struct job j;
	job_init(&j, NULL, -EIO);
	th_run_checked_no_reports(error_body, &j);
	th_leak_check();
}

static intptr_t ecanceled_body(void *arg)
{
	struct job *j = arg;
	cio_future *f;
	cr_assert_eq(cio_run_in_executor(&f, NULL, job_fn, j), 0);
	cr_assert_eq(cio_await(f), -ECANCELED);
	cr_assert(cio_future_cancelled(f));
	cio_future_unref(f);
	return 0;
}

Test(executor, fn_returning_ecanceled_cancels_the_future)
{
	struct job j;
	job_init(&j, NULL, -ECANCELED);
	th_run_checked_no_reports(ecanceled_body, &j);
}

static void stop_loop(cio_future *f, void *arg)
{
	(void)f;
	cio_loop_stop(arg);
}

/* An error nobody reads is reported when the future goes, as for any
 * future. */
Test(executor, unread_error_is_reported)
{
	struct th_report_counts c;
	cio_loop *loop = th_loop_new_counting(&c);
	struct job j;
	cio_future *f;

	job_init(&j, NULL, -EIO);
	cr_assert_eq(cio_run_in_executor(&f, NULL, job_fn, &j), 0);
	cio_future_ref(f);
	cr_assert_eq(run_until(loop, f), -EIO);
	/* run_until read it; a second future never read is reported. */
	cio_future_unref(f);
	cio_future_unref(f);
	cr_assert_eq(c.never_retrieved, 0);

	cr_assert_eq(cio_run_in_executor(&f, NULL, job_fn, &j), 0);
	/* Wait for it without reading it: a done callback stops the loop. */
	cr_assert_eq(cio_future_add_done_callback(f, stop_loop, loop), 0);
	cr_assert_eq(cio_loop_run_forever(loop), 0);
	cr_assert(cio_future_done(f));
	cio_future_unref(f);
	cr_assert_eq(c.never_retrieved, 1);
	th_loop_free_checked(loop);
}

static intptr_t to_thread_body(void *arg)
{
	struct job *j = arg;
	cr_assert_eq(cio_to_thread(job_fn, j), 77);
	cr_assert_eq(cio_to_thread(NULL, j), -EINVAL);
	return 0;
}

Test(executor, to_thread)
{
	struct job j;
	job_init(&j, NULL, 77);
	th_run_checked_no_reports(to_thread_body, &j);
	cr_assert_eq(atomic_load(&j.ran), 1);
	cr_assert_eq(cio_to_thread(job_fn, &j), -EPERM, "outside a task");
	th_leak_check();
}

/* -- bad input ---------------------------------------------------------------------- */

static void *no_loop_thread(void *arg)
{
	cio_future *f = (cio_future *)(uintptr_t)1;
	*(int *)arg = cio_run_in_executor(&f, NULL, job_fn, NULL);
	if (f)
		*(int *)arg = 1;
	return NULL;
}

Test(executor, bad_input)
{
	struct cio_executor_opts big = { .threads = CIO_EXECUTOR_MAX_THREADS + 1 };
	struct cio_executor_opts bigq = { .queue_size = CIO_EXECUTOR_MAX_QUEUE + 1 };
	struct cio_executor_stats st;
	cio_executor *ex = (cio_executor *)(uintptr_t)1;
	cio_loop *loop = th_loop_new();
	cio_future *f = (cio_future *)(uintptr_t)1;
	pthread_t th;
	int rc = 0;

	cr_assert_eq(cio_run_in_executor(&f, NULL, NULL, NULL), -EINVAL);
	cr_assert_null(f, "*out is cleared on error");
	cr_assert_eq(cio_executor_new(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_executor_new(&ex, &big), -EINVAL);
	cr_assert_null(ex);
	cr_assert_eq(cio_executor_new(&ex, &bigq), -EINVAL);
	cr_assert_eq(cio_executor_configure_default(NULL), -EINVAL);
	cr_assert_eq(cio_executor_configure_default(&big), -EINVAL);
	cr_assert_eq(cio_executor_shutdown(NULL, 0), -EINVAL);
	cr_assert_eq(cio_executor_stats(NULL, NULL), -EINVAL);
	cio_executor_free(NULL);

	cr_assert_eq(cio_executor_new(&ex, NULL), 0);
	cr_assert_eq(cio_executor_shutdown(ex, 1u << 7), -EINVAL, "unknown flag");
	cr_assert_eq(cio_executor_stats(ex, &st), 0);
	cr_assert_eq(st.threads, 0);
	cio_executor_free(ex);

	/* A thread without a loop has nowhere to deliver a result. */
	cr_assert_eq(pthread_create(&th, NULL, no_loop_thread, &rc), 0);
	pthread_join(th, NULL);
	cr_assert_eq(rc, -EINVAL);

	/* Nor has a closed loop. */
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(cio_run_in_executor(&f, NULL, job_fn, NULL), -EINVAL);
	th_loop_free_closed(loop);
	th_leak_check();
}

/* -- the bounded queue ---------------------------------------------------------------- */

static struct {
	cio_executor *ex;
	struct gate gate;
	struct job blocked[2];
	struct job quick[MANY_JOBS];
	cio_future *f[MANY_JOBS];
	int submitted;
} mj;

static intptr_t many_submitter(void *arg)
{
	(void)arg;
	for (int i = 0; i < MANY_JOBS; i++) {
		cr_assert_eq(cio_run_in_executor(&mj.f[i], mj.ex, job_fn,
						 &mj.quick[i]), 0);
		mj.submitted++;
	}
	for (int i = 0; i < MANY_JOBS; i++)
		cr_assert_eq(await_and_unref(mj.f[i]), i);
	return 0;
}

static intptr_t many_body(void *arg)
{
	struct cio_executor_stats st;
	(void)arg;

	mj.ex = executor_new(2, 4);
	gate_init(&mj.gate);
	/* Both threads busy until the gate opens. */
	for (int i = 0; i < 2; i++) {
		job_init(&mj.blocked[i], &mj.gate, 0);
		cr_assert_eq(cio_run_in_executor(NULL, mj.ex, job_fn,
						 &mj.blocked[i]), 0);
	}
	gate_wait(&mj.gate, &mj.gate.started, 2);
	for (int i = 0; i < MANY_JOBS; i++)
		job_init(&mj.quick[i], NULL, i);
	cio_task *s = th_spawn(NULL, many_submitter, NULL, "submitter");
	/* The submitter runs until the queue is full and then parks: no
	 * slot frees while the gate is shut. */
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(mj.submitted, 4, "queue bound: 4");
	cr_assert_not(cio_task_done(s));
	cr_assert_eq(cio_executor_stats(mj.ex, &st), 0);
	cr_assert_eq(st.queued, 4);
	cr_assert_eq(st.running, 2);
	cr_assert_eq(st.threads, 2, "never more than `threads`");
	cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(mj.submitted, 4, "still parked");

	gate_open(&mj.gate);
	cr_assert_eq(cio_await_task(s), 0);
	cio_task_unref(s);
	for (int i = 0; i < MANY_JOBS; i++)
		cr_assert_eq(atomic_load(&mj.quick[i].ran), 1);
	cio_executor_free(mj.ex);
	return 0;
}

Test(executor, many_jobs_wait_for_slots)
{
	th_run_checked_no_reports(many_body, NULL);
	th_leak_check();
}

Test(executor, queue_full_outside_a_task_is_eagain)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 1);
	struct gate g;
	struct job a, b, c;
	cio_future *fa, *fb, *fc = (cio_future *)(uintptr_t)1;

	gate_init(&g);
	job_init(&a, &g, 1);
	job_init(&b, NULL, 2);
	job_init(&c, NULL, 3);
	cr_assert_eq(cio_run_in_executor(&fa, ex, job_fn, &a), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(cio_run_in_executor(&fb, ex, job_fn, &b), 0);
	cr_assert_eq(cio_run_in_executor(&fc, ex, job_fn, &c), -EAGAIN);
	cr_assert_null(fc);
	gate_open(&g);
	cr_assert_eq(run_until(loop, fa), 1);
	cr_assert_eq(run_until(loop, fb), 2);
	cr_assert_eq(atomic_load(&c.ran), 0);
	cio_future_unref(fa);
	cio_future_unref(fb);
	cio_executor_free(ex);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* -- cancellation ------------------------------------------------------------------------ */

Test(executor, cancel_queued_job_never_runs)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 4);
	struct gate g;
	struct job a, b, sentinel;
	cio_future *fa, *fb, *fs;

	gate_init(&g);
	job_init(&a, &g, 1);
	job_init(&b, NULL, 2);
	job_init(&sentinel, NULL, 3);
	cr_assert_eq(cio_run_in_executor(&fa, ex, job_fn, &a), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(cio_run_in_executor(&fb, ex, job_fn, &b), 0);
	cr_assert_eq(cio_future_cancel(fb), 1);
	cr_assert(cio_future_cancelled(fb), "cancelled at once");
	cr_assert_eq(cio_future_cancel(fb), 0);
	/* One thread, FIFO: once the sentinel queued after b has run, b
	 * would have run too. */
	cr_assert_eq(cio_run_in_executor(&fs, ex, job_fn, &sentinel), 0);
	gate_open(&g);
	cr_assert_eq(run_until(loop, fa), 1);
	cr_assert_eq(run_until(loop, fs), 3);
	cr_assert_eq(atomic_load(&b.ran), 0, "the cancelled job never ran");
	cr_assert_eq(run_until(loop, fb), -ECANCELED);
	cio_future_unref(fa);
	cio_future_unref(fb);
	cio_future_unref(fs);
	cio_executor_free(ex);
	cr_assert_eq(atomic_load(&b.ran), 0);
	th_loop_free_checked(loop);
	th_leak_check();
}

Test(executor, cancel_running_job_discards_the_result)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 4);
	struct gate g;
	struct job a;
	cio_future *fa;
	intptr_t v = 0;

	gate_init(&g);
	job_init(&a, &g, 5);
	cr_assert_eq(cio_run_in_executor(&fa, ex, job_fn, &a), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(cio_future_cancel(fa), 1);
	cr_assert(cio_future_cancelled(fa), "cancelled before fn returns");
	cr_assert_eq(gate_count(&g, &g.finished), 0);
	gate_open(&g);
	/* Shutdown waits for the running job; its result is then posted. */
	cr_assert_eq(cio_executor_shutdown(ex, 0), 0);
	cr_assert_eq(gate_count(&g, &g.finished), 1, "fn ran to its end");
	th_run_once(loop);
	cr_assert(cio_future_cancelled(fa), "the late result is dropped");
	cr_assert_eq(cio_future_result(fa, &v), -ECANCELED);
	cio_future_unref(fa);
	cio_executor_free(ex);
	th_loop_free_checked(loop);
	th_leak_check();
}

static struct {
	cio_executor *ex;
	struct gate gate;
	struct job a, b, c;
	int rc;
	bool returned;
} sw;

static intptr_t slot_waiter_task(void *arg)
{
	cio_future *f = (cio_future *)(uintptr_t)1;
	(void)arg;
	sw.rc = cio_run_in_executor(&f, sw.ex, job_fn, &sw.c);
	sw.returned = true;
	cr_assert_null(f);
	return 0;
}

static intptr_t cancel_slot_body(void *arg)
{
	cio_future *fa, *fb;
	(void)arg;

	sw.ex = executor_new(1, 1);
	gate_init(&sw.gate);
	job_init(&sw.a, &sw.gate, 1);
	job_init(&sw.b, NULL, 2);
	job_init(&sw.c, NULL, 3);
	cr_assert_eq(cio_run_in_executor(&fa, sw.ex, job_fn, &sw.a), 0);
	gate_wait(&sw.gate, &sw.gate.started, 1);
	cr_assert_eq(cio_run_in_executor(&fb, sw.ex, job_fn, &sw.b), 0);
	cio_task *t = th_spawn(NULL, slot_waiter_task, NULL, NULL);
	cr_assert_eq(cio_yield(), 0);
	cr_assert_not(sw.returned, "parked for a slot");
	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cr_assert(sw.returned);
	cr_assert_eq(sw.rc, -ECANCELED);
	gate_open(&sw.gate);
	cr_assert_eq(await_and_unref(fa), 1);
	cr_assert_eq(await_and_unref(fb), 2);
	cio_executor_free(sw.ex);
	cr_assert_eq(atomic_load(&sw.c.ran), 0, "never submitted");
	return 0;
}

Test(executor, cancel_while_waiting_for_a_slot)
{
	th_run_checked_no_reports(cancel_slot_body, NULL);
	th_leak_check();
}

/* A slot freed for a waiter that was cancelled meanwhile goes to the next
 * waiter: nobody is left parked with room in the queue. */
static struct {
	cio_executor *ex;
	struct gate gate, gate_b;
	struct job a, b, w[2];
	int rc[2];
} pass;

static intptr_t pass_waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	cio_future *f;
	pass.rc[i] = cio_run_in_executor(&f, pass.ex, job_fn, &pass.w[i]);
	if (pass.rc[i] == 0)
		return await_and_unref(f);
	return 0;
}

static intptr_t pass_on_body(void *arg)
{
	cio_future *fa, *fb;
	(void)arg;

	pass.ex = executor_new(1, 1);
	gate_init(&pass.gate);
	gate_init(&pass.gate_b);
	job_init(&pass.a, &pass.gate, 1);
	job_init(&pass.b, &pass.gate_b, 2);
	job_init(&pass.w[0], NULL, 10);
	job_init(&pass.w[1], NULL, 11);
	cr_assert_eq(cio_run_in_executor(&fa, pass.ex, job_fn, &pass.a), 0);
	gate_wait(&pass.gate, &pass.gate.started, 1);
	cr_assert_eq(cio_run_in_executor(&fb, pass.ex, job_fn, &pass.b), 0);
	cio_task *t0 = th_spawn(NULL, pass_waiter, (void *)0, NULL);
	cio_task *t1 = th_spawn(NULL, pass_waiter, (void *)1, NULL);
	cr_assert_eq(cio_yield(), 0); /* both park */
	gate_open(&pass.gate);
	/* The pool takes b from the queue and tells t0 before it runs b.
	 * Blocking the loop's thread until b runs keeps that news in the
	 * inbox while t0 is cancelled: the slot must reach t1. */
	gate_wait(&pass.gate_b, &pass.gate_b.started, 1);
	cr_assert_eq(cio_task_cancel(t0), 1);
	cr_assert_eq(cio_await_task(t0), 0);
	cr_assert_eq(pass.rc[0], -ECANCELED);
	gate_open(&pass.gate_b);
	cr_assert_eq(cio_await_task(t1), 11);
	cr_assert_eq(await_and_unref(fa), 1);
	cr_assert_eq(await_and_unref(fb), 2);
	cio_task_unref(t0);
	cio_task_unref(t1);
	cr_assert_eq(pass.rc[1], 0);
	cr_assert_eq(atomic_load(&pass.w[0].ran), 0);
	cio_executor_free(pass.ex);
	return 0;
}

Test(executor, cancelled_waiter_passes_its_slot_on)
{
	th_run_checked_no_reports(pass_on_body, NULL);
}

static struct {
	struct gate gate;
	struct job job;
	intptr_t rc;
} tc;

static intptr_t to_thread_cancelled_task(void *arg)
{
	(void)arg;
	tc.rc = cio_to_thread(job_fn, &tc.job);
	return 0;
}

static intptr_t to_thread_cancel_body(void *arg)
{
	(void)arg;
	gate_init(&tc.gate);
	job_init(&tc.job, &tc.gate, 9);
	cio_task *t = th_spawn(NULL, to_thread_cancelled_task, NULL, NULL);
	cr_assert_eq(cio_yield(), 0);
	gate_wait(&tc.gate, &tc.gate.started, 1);
	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cr_assert_eq(tc.rc, -ECANCELED, "returned while fn still runs");
	cr_assert_eq(gate_count(&tc.gate, &tc.gate.finished), 0);
	gate_open(&tc.gate);
	gate_wait(&tc.gate, &tc.gate.finished, 1);
	return 0;
}

Test(executor, to_thread_cancelled_returns_at_once)
{
	th_run_checked_no_reports(to_thread_cancel_body, NULL);
}

/* -- shutdown ---------------------------------------------------------------------------- */

static struct {
	cio_executor *ex;
	unsigned flags;
	atomic_int returned;
} sd;

static void *shutdown_thread(void *arg)
{
	(void)arg;
	cr_assert_eq(cio_executor_shutdown(sd.ex, sd.flags), 0);
	atomic_store(&sd.returned, 1);
	return NULL;
}

/* a runs (held by the gate), b waits in the queue, and a task waits for a
 * slot. Another thread shuts down: the waiting task learns it (-EINVAL),
 * which tells us shutdown has begun; it cannot return while a runs. */
static void shutdown_case(unsigned flags, bool queued_runs)
{
	cio_loop *loop = th_loop_new();
	struct gate g;
	struct job a, b, c;
	cio_future *fa, *fb;
	pthread_t th;

	sd.ex = executor_new(1, 1);
	sd.flags = flags;
	atomic_init(&sd.returned, 0);
	gate_init(&g);
	job_init(&a, &g, 1);
	job_init(&b, NULL, 2);
	job_init(&c, NULL, 3);
	cr_assert_eq(cio_run_in_executor(&fa, sd.ex, job_fn, &a), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(cio_run_in_executor(&fb, sd.ex, job_fn, &b), 0);
	sw.ex = sd.ex;
	sw.returned = false;
	job_init(&sw.c, NULL, 3);
	cio_task *t = th_spawn(loop, slot_waiter_task, NULL, NULL);
	th_run_once(loop);
	cr_assert_not(sw.returned);

	cr_assert_eq(pthread_create(&th, NULL, shutdown_thread, NULL), 0);
	cr_assert_eq(run_until(loop, cio_task_future(t)), 0);
	cr_assert_eq(sw.rc, -EINVAL, "a shut-down executor takes no job");
	cr_assert_eq(cio_run_in_executor(NULL, sd.ex, job_fn, &c), -EINVAL);
	cr_assert_eq(atomic_load(&sd.returned), 0, "waits for the running job");
	cr_assert_eq(atomic_load(&a.ran), 1);

	gate_open(&g);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&sd.returned), 1);
	cr_assert_eq(gate_count(&g, &g.finished), 1);
	cr_assert_eq(run_until(loop, fa), 1);
	if (queued_runs) {
		cr_assert_eq(atomic_load(&b.ran), 1, "queued job ran first");
		cr_assert_eq(run_until(loop, fb), 2);
	} else {
		cr_assert_eq(atomic_load(&b.ran), 0, "queued job dropped");
		cr_assert_eq(run_until(loop, fb), -ECANCELED);
		cr_assert(cio_future_cancelled(fb));
	}
	cr_assert_eq(atomic_load(&c.ran), 0);
	cio_task_unref(t);
	cio_future_unref(fa);
	cio_future_unref(fb);
	cr_assert_eq(cio_executor_shutdown(sd.ex, 0), 0, "again: a no-op");
	cio_executor_free(sd.ex);
	th_loop_free_checked(loop);
	th_leak_check();
}

Test(executor, shutdown_waits_for_running_and_queued_jobs)
{
	shutdown_case(0, true);
}

Test(executor, shutdown_cancel_queued)
{
	shutdown_case(CIO_EXECUTOR_CANCEL_QUEUED, false);
}

Test(executor, shutdown_nowait_then_free_waits)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 4);
	struct gate g;
	struct job a, b;
	cio_future *fa;

	gate_init(&g);
	job_init(&a, &g, 1);
	job_init(&b, NULL, 2);
	cr_assert_eq(cio_run_in_executor(&fa, ex, job_fn, &a), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(cio_executor_shutdown(ex, CIO_EXECUTOR_NOWAIT), 0);
	cr_assert_eq(cio_run_in_executor(NULL, ex, job_fn, &b), -EINVAL);
	cr_assert_eq(gate_count(&g, &g.finished), 0, "returned at once");
	gate_open(&g);
	cio_executor_free(ex);
	cr_assert_eq(gate_count(&g, &g.finished), 1, "free waited");
	cr_assert_eq(run_until(loop, fa), 1);
	cio_future_unref(fa);
	th_loop_free_checked(loop);
	th_leak_check();
}

static intptr_t shutdown_self_fn(void *arg)
{
	return cio_executor_shutdown(arg, 0);
}

Test(executor, shutdown_from_its_own_job_is_edeadlk)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 4);
	cio_future *f;

	cr_assert_eq(cio_run_in_executor(&f, ex, shutdown_self_fn, ex), 0);
	cr_assert_eq(run_until(loop, f), -EDEADLK);
	cio_future_unref(f);
	cio_executor_free(ex);
	th_loop_free_checked(loop);
}

static atomic_int ff_count;

static intptr_t ff_fn(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ff_count, 1);
	return -EIO; /* dropped: nobody asked */
}

Test(executor, fire_and_forget)
{
	struct th_report_counts c;
	cio_loop *loop = th_loop_new_counting(&c);
	cio_executor *ex = executor_new(2, 64);

	for (int i = 0; i < 50; i++)
		cr_assert_eq(cio_run_in_executor(NULL, ex, ff_fn, NULL), 0);
	cio_executor_free(ex);
	cr_assert_eq(atomic_load(&ff_count), 50);
	th_run_once(loop);
	cr_assert_eq(c.total, 0);
	th_loop_free_checked(loop);
	th_leak_check();
}

/* -- loop close with jobs in flight --------------------------------------------------- */

/* Futures released before the jobs end: the pool threads free the
 * records and never touch the loop, which is freed first. */
Test(executor, loop_close_with_jobs_running)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(2, 8);
	struct gate g;
	struct job j[6];
	cio_future *f[6];

	gate_init(&g);
	for (int i = 0; i < 6; i++) {
		job_init(&j[i], &g, i);
		cr_assert_eq(cio_run_in_executor(&f[i], ex, job_fn, &j[i]), 0);
	}
	gate_wait(&g, &g.started, 2);
	cr_assert_eq(cio_loop_close(loop), 0);
	for (int i = 0; i < 6; i++)
		cio_future_unref(f[i]);
	th_loop_free_closed(loop);
	gate_open(&g);
	cio_executor_free(ex);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(atomic_load(&j[i].ran), 1, "queued jobs still ran");
	th_leak_check();
}

/* Futures released after the jobs end: the posts failed on the closed
 * inbox, and releasing the futures frees the records. */
Test(executor, loop_close_then_jobs_end_then_release)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(2, 8);
	struct gate g;
	struct job j[4];
	cio_future *f[4];

	gate_init(&g);
	for (int i = 0; i < 4; i++) {
		job_init(&j[i], &g, i);
		cr_assert_eq(cio_run_in_executor(&f[i], ex, job_fn, &j[i]), 0);
	}
	gate_wait(&g, &g.started, 2);
	cr_assert_eq(cio_loop_close(loop), 0);
	gate_open(&g);
	cio_executor_free(ex);
	for (int i = 0; i < 4; i++) {
		cr_assert_not(cio_future_done(f[i]), "never delivered");
		cio_future_unref(f[i]);
	}
	th_loop_free_closed(loop);
	th_leak_check();
}

/* Results posted but not yet taken by the loop when it closes. */
Test(executor, loop_close_with_results_in_the_inbox)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(2, 8);
	struct job j[4];
	cio_future *f[4];

	for (int i = 0; i < 4; i++) {
		job_init(&j[i], NULL, i);
		cr_assert_eq(cio_run_in_executor(&f[i], ex, job_fn, &j[i]), 0);
	}
	cr_assert_eq(cio_executor_shutdown(ex, 0), 0); /* all posted */
	cio_future_unref(f[0]);
	cr_assert_eq(cio_loop_close(loop), 0);
	for (int i = 1; i < 4; i++)
		cio_future_unref(f[i]);
	th_loop_free_closed(loop);
	cio_executor_free(ex);
	th_leak_check();
}

static struct {
	struct gate gate;
	struct job job[3];
} lc;

static intptr_t closing_to_thread(void *arg)
{
	return cio_to_thread(job_fn, arg);
}

static intptr_t closing_waiter(void *arg)
{
	cio_future *f;
	int rc = cio_run_in_executor(&f, NULL, job_fn, arg);
	return rc < 0 ? rc : await_and_unref(f);
}

static intptr_t sentinel_body(void *arg)
{
	(void)arg;
	return cio_to_thread(job_fn, &lc.job[2]) == 2 ? 0 : -EIO;
}

/* Tasks parked in cio_to_thread() and waiting for a slot when the loop
 * closes: torn down without leaks; the job finishes later. */
Test(executor, loop_close_with_tasks_in_to_thread)
{
	struct cio_executor_opts one = { .threads = 1, .queue_size = 1 };
	cio_loop *loop;
	cio_task *t[2];
	struct th_report_counts c;

	cr_assert_eq(cio_executor_configure_default(&one), 0);
	gate_init(&lc.gate);
	job_init(&lc.job[0], &lc.gate, 0);
	job_init(&lc.job[1], NULL, 1);
	job_init(&lc.job[2], NULL, 2);
	loop = th_loop_new_counting(&c);
	t[0] = th_spawn(loop, closing_to_thread, &lc.job[0], NULL);
	th_run_once(loop);
	gate_wait(&lc.gate, &lc.gate.started, 1);
	/* Fill the one-job queue, then park a task for a slot. */
	cr_assert_eq(cio_run_in_executor(NULL, NULL, job_fn, &lc.job[1]), 0);
	t[1] = th_spawn(loop, closing_waiter, &lc.job[2], NULL);
	th_run_once(loop);
	cr_assert_not(cio_task_done(t[1]));
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(c.pending_at_close, 2);
	cio_task_unref(t[0]);
	cio_task_unref(t[1]);
	th_loop_free_closed(loop);

	gate_open(&lc.gate);
	/* One thread, FIFO: when a job queued now has run, the others have
	 * finished and released their records. */
	th_run_checked(sentinel_body, NULL);
	cr_assert_eq(atomic_load(&lc.job[1].ran), 1);
	th_leak_check();
}

/* Futures released, cancelled and kept while their jobs complete, then
 * the loop closed with results still on their way: every record is freed
 * once, by whichever side lets go last, and nothing touches a freed loop
 * (ASan) or races (TSan). */
static intptr_t ident_fn(void *arg)
{
	return (intptr_t)arg;
}

Test(executor, release_and_close_race_completions)
{
	enum { N = 64 };
	cio_future *f[N];

	for (int round = 0; round < STRESS_ROUNDS; round++) {
		cio_loop *loop = th_loop_new();
		cio_executor *ex = executor_new(4, N);
		for (int i = 0; i < N; i++)
			cr_assert_eq(cio_run_in_executor(&f[i], ex, ident_fn,
							 (void *)(intptr_t)i),
				     0);
		for (int i = 0; i < N; i += 3) {
			cio_future_unref(f[i]);
			f[i] = NULL;
		}
		for (int i = 1; i < N; i += 3)
			cio_future_cancel(f[i]);
		if (round & 1)
			th_run_once(loop);
		cr_assert_eq(cio_loop_close(loop), 0);
		for (int i = 0; i < N; i++) {
			intptr_t v;
			if (!f[i])
				continue;
			if (cio_future_result(f[i], &v) == 0)
				cr_assert_eq(v, i);
			cio_future_unref(f[i]);
		}
		th_loop_free_closed(loop);
		cio_executor_free(ex);
	}
	th_leak_check();
}

/* -- the default executor's sizes ------------------------------------------------------ */

static unsigned cpus(void)
{
	cpu_set_t set;
	cr_assert_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	return (unsigned)CPU_COUNT(&set);
}

Test(executor, default_sizes)
{
	struct cio_executor_stats st;
	struct cio_executor_opts o = { .threads = 2 };
	unsigned want = cpus() + 4 < 32 ? cpus() + 4 : 32;

	unsetenv("CIO_EXECUTOR_THREADS");
	unsetenv("CIO_EXECUTOR_QUEUE");
	cr_assert_eq(cio_executor_stats(NULL, &st), 0);
	cr_assert_eq(st.max_threads, want, "min(32, CPUs + 4)");
	cr_assert_eq(st.queue_size, 1024);
	cr_assert_eq(st.threads, 0, "threads start on demand");
	cr_assert_eq(cio_executor_configure_default(&o), -EBUSY);
}

Test(executor, default_sizes_from_the_environment)
{
	struct cio_executor_stats st;
	struct cio_executor_opts o = { .queue_size = 7 };

	setenv("CIO_EXECUTOR_THREADS", "3", 1);
	setenv("CIO_EXECUTOR_QUEUE", "99", 1);
	/* Configured fields win; the others come from the environment. */
	cr_assert_eq(cio_executor_configure_default(&o), 0);
	cr_assert_eq(cio_executor_stats(NULL, &st), 0);
	cr_assert_eq(st.max_threads, 3);
	cr_assert_eq(st.queue_size, 7);
}

static intptr_t env_bad_body(void *arg)
{
	(void)arg;
	cr_assert_eq(cio_to_thread(job_fn, NULL), -EINVAL);
	return 0;
}

Test(executor, bad_environment_is_refused)
{
	struct cio_executor_stats st;

	setenv("CIO_EXECUTOR_THREADS", "lots", 1);
	cr_assert_eq(cio_executor_stats(NULL, &st), -EINVAL);
	setenv("CIO_EXECUTOR_THREADS", "0", 1);
	cr_assert_eq(cio_executor_stats(NULL, &st), -EINVAL);
	setenv("CIO_EXECUTOR_THREADS", "5000", 1);
	cr_assert_eq(cio_executor_stats(NULL, &st), -EINVAL);
	th_run_checked(env_bad_body, NULL);
	setenv("CIO_EXECUTOR_THREADS", "2", 1);
	cr_assert_eq(cio_executor_stats(NULL, &st), 0);
	cr_assert_eq(st.max_threads, 2);
}

static intptr_t lazy_body(void *arg)
{
	struct cio_executor_stats st;
	cio_executor *ex = arg;
	struct job j;

	job_init(&j, NULL, 1);
	for (int i = 0; i < 20; i++) {
		cio_future *f;
		cr_assert_eq(cio_run_in_executor(&f, ex, job_fn, &j), 0);
		cr_assert_eq(await_and_unref(f), 1);
	}
	cr_assert_eq(cio_executor_stats(ex, &st), 0);
	/* One job at a time: the thread that ran the first runs the rest. */
	cr_assert_eq(st.threads, 1);
	cr_assert_eq(st.running, 0);
	cr_assert_eq(st.queued, 0);
	return 0;
}

Test(executor, threads_start_on_demand)
{
	cio_executor *ex = executor_new(8, 0);
	struct cio_executor_stats st;

	cr_assert_eq(cio_executor_stats(ex, &st), 0);
	cr_assert_eq(st.threads, 0);
	cr_assert_eq(st.max_threads, 8);
	cr_assert_eq(st.queue_size, 1024, "0 is the default");
	th_run_checked_no_reports(lazy_body, ex);
	cio_executor_free(ex);
}

/* -- many loops, one default executor ------------------------------------------------------ */

static intptr_t square_fn(void *arg)
{
	intptr_t v = (intptr_t)arg;
	return v * v;
}

static intptr_t per_loop_body(void *arg)
{
	(void)arg;
	long sum = 0;
	for (intptr_t i = 0; i < PER_LOOP; i++) {
		intptr_t v = cio_to_thread(square_fn, (void *)(i % 1000));
		if (v != (i % 1000) * (i % 1000))
			return -EIO;
		sum += v;
	}
	return sum > 0 ? 0 : -EIO;
}

static void *loop_thread(void *arg)
{
	cio_loop *loop;
	cio_task *t;
	(void)arg;

	if (cio_loop_new(&loop, NULL) < 0)
		return (void *)1;
	if (cio_spawn(&t, per_loop_body, NULL, NULL) < 0)
		return (void *)1;
	intptr_t v = cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_unref(t);
	cio_loop_close(loop);
	cio_loop_free(loop);
	return (void *)(intptr_t)(v == 0 ? 0 : 1);
}

Test(executor, many_loops_share_the_default_executor)
{
	struct cio_executor_opts o = { .threads = 3, .queue_size = 2 };
	pthread_t th[4];
	void *ret;

	cr_assert_eq(cio_executor_configure_default(&o), 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, loop_thread, NULL), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &ret);
		cr_assert_null(ret);
	}
	th_leak_check();
}

/* -- the internal job contract (epoll backend) ---------------------------------------------- */

struct raw_job {
	struct cio__exec_job job;
	struct gate *gate;
	int value;
	int seen;
	bool done_called;
	bool discarded;
};

static void raw_run(struct cio__exec_job *job)
{
	struct raw_job *r = cio__container_of(job, struct raw_job, job);
	if (r->gate)
		gate_pass(r->gate);
	r->value = 42;
}

static void raw_done(struct cio__work *w, bool discard)
{
	struct raw_job *r = cio__container_of(w, struct raw_job, job.work);
	r->done_called = true;
	r->discarded = discard;
	/* May run before the pool thread's DONE store. */
	cio__exec_wait(&r->job);
	r->seen = r->value;
	cr_assert_eq(atomic_load(&r->job.state), CIO__JOB_DONE);
}

static void raw_init(struct raw_job *r, cio_loop *loop, struct gate *g)
{
	memset(r, 0, sizeof(*r));
	r->job.run = raw_run;
	r->job.work.fn = raw_done;
	r->job.loop = loop;
	r->gate = g;
}

Test(executor, internal_job_contract)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 1);
	struct raw_job a, b, c;
	struct gate g;

	gate_init(&g);
	raw_init(&a, loop, &g);
	raw_init(&b, loop, NULL);
	raw_init(&c, loop, NULL);
	cr_assert_eq(cio__exec_submit(ex, &a.job), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(atomic_load(&a.job.state), CIO__JOB_RUNNING);
	cr_assert_not(cio__exec_unqueue(&a.job), "running: cannot take back");
	cr_assert_eq(cio__exec_submit(ex, &b.job), 0);
	cr_assert_eq(cio__exec_submit(ex, &c.job), -EAGAIN, "queue full");
	cr_assert(cio__exec_unqueue(&b.job));
	cr_assert_eq(atomic_load(&b.job.state), CIO__JOB_IDLE);
	cio__exec_wait(&b.job); /* IDLE: returns at once */
	cr_assert_eq(cio__exec_submit(ex, &c.job), 0, "room again");
	gate_open(&g);
	cio__exec_wait(&a.job);
	cio__exec_wait(&c.job);
	/* DONE comes after the post: both are in the inbox now. */
	th_run_once(loop);
	cr_assert(a.done_called && c.done_called);
	cr_assert_not(a.discarded);
	cr_assert_eq(a.seen, 42);
	cr_assert_eq(c.seen, 42);
	cr_assert_not(b.done_called, "taken back: never posted");
	cr_assert_eq(b.value, 0, "taken back: never run");
	cio_executor_free(ex);
	cr_assert_eq(cio__exec_submit(NULL, NULL), -EINVAL);
	th_loop_free_checked(loop);
}

Test(executor, internal_job_on_a_closed_loop)
{
	cio_loop *loop = th_loop_new();
	cio_executor *ex = executor_new(1, 1);
	struct raw_job a;
	struct gate g;

	gate_init(&g);
	raw_init(&a, loop, &g);
	cr_assert_eq(cio__exec_submit(ex, &a.job), 0);
	gate_wait(&g, &g.started, 1);
	cr_assert_eq(cio_loop_close(loop), 0);
	gate_open(&g);
	cio__exec_wait(&a.job); /* as a backend's destroy would */
	cr_assert_eq(a.value, 42);
	cr_assert_not(a.done_called, "the post failed: work.fn never runs");
	cio_executor_free(ex);
	th_loop_free_closed(loop);
}
