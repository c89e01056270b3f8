/* cio_run(): start the shards, run main on shard 0, shut down in order.
 *
 * Life of a shard thread:
 *   1. pin, create its loop, report in at the start gate; cio_run()
 *      checks that every loop exists, then opens the gate (or aborts);
 *   2. serve: run the loop until the stop work arrives (main returned);
 *   3. stopping: refuse new requests (-ESHUTDOWN), cancel every task and
 *      run until they are all done — the loop still serves replies, which
 *      tasks elsewhere may be waiting for;
 *   4. quiet: count itself in; the last shard in posts `quiet` to all. Until
 *      then the loop keeps serving (refusals and replies still flow);
 *   5. meet the others at `finished`: past it nobody posts to anybody, so
 *      each shard closes and frees its own loop (a SINGLE_ISSUER ring must
 *      be torn down by its own thread).
 * cio_run() then joins the threads and frees what is left in the rings.
 */
#include "runtime/shard_internal.h"
#include "runtime/combinators.h"
#include "runtime/signal.h"
#include "runtime/task_internal.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct cio__rt *_Atomic cio__rt_current;
__thread struct cio__shard *cio__tls_shard CIO__TLS_IE;

enum { GATE_WAIT, GATE_GO, GATE_ABORT };

struct run_state {
	struct cio__rt rt;
	/* Start gate: threads report in (`ready`), then wait for GO/ABORT. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready;
	int gate;
	pthread_barrier_t finished;
	cio_task *main_task;
	struct cio__fut_cb main_done;
	struct cio__work cancel_main;
	int64_t grace;
	bool signals;
	int signalled; /* shard 0's thread only */
};

int cio_shard_id(void)
{
	return cio__tls_shard ? (int)cio__tls_shard->id : -1;
}

unsigned cio_shard_count(void)
{
	struct cio__rt *rt = atomic_load(&cio__rt_current);
	return rt ? rt->n : 0;
}

cio_loop *cio_shard_loop(unsigned shard)
{
	struct cio__rt *rt = atomic_load(&cio__rt_current);
	return rt && shard < rt->n ? rt->shards[shard].loop : NULL;
}

/* -- shutdown ---------------------------------------------------------------- */

static void stop_work(struct cio__work *w, bool discard)
{
	struct cio__shard *sh = cio__container_of(w, struct cio__shard, stop);
	if (!discard)
		cio_loop_stop(sh->loop);
}

static void quiet_work(struct cio__work *w, bool discard)
{
	struct cio__shard *sh = cio__container_of(w, struct cio__shard, quiet);
	if (!discard)
		cio_loop_stop(sh->loop);
}

void cio__rt_begin_shutdown(struct cio__rt *rt)
{
	if (atomic_exchange(&rt->shutting_down, true))
		return;
	for (unsigned i = 0; i < rt->n; i++)
		cio__loop_post_threadsafe(rt->shards[i].loop,
					  &rt->shards[i].stop);
}

/* -- graceful shutdown (signals) ----------------------------------------------- */

static void cancel_main_work(struct cio__work *w, bool discard)
{
	struct run_state *st = cio__container_of(w, struct run_state,
						 cancel_main);
	if (!discard && st->main_task)
		cio_task_cancel(st->main_task);
}

static intptr_t drain_task(void *arg)
{
	struct cio__shard *sh = arg;
	struct cio__rt *rt = sh->rt;
	struct run_state *st = cio__container_of(rt, struct run_state, rt);

	cio__servers_stop(sh->loop, rt->grace_deadline);
	if ((unsigned)atomic_fetch_add(&rt->drained, 1) + 1 == rt->n)
		cio__loop_post_threadsafe(rt->shards[0].loop,
					  &st->cancel_main);
	return 0;
}

static void graceful_work(struct cio__work *w, bool discard)
{
	struct cio__shard *sh = cio__container_of(w, struct cio__shard,
						  graceful);
	struct cio_task_opts o = { .loop = sh->loop, .name = "shutdown" };

	if (discard || sh->stopping)
		return;
	/* Without a task, only this shard's servers are not drained. */
	if (cio_spawn(NULL, drain_task, sh, &o) < 0)
		drain_task(sh);
}

/* The default action, now: a second signal is the user insisting. */
static void force_exit(int sig)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t one;

	sigaction(sig, &sa, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void on_signal(struct run_state *st, int sig)
{
	struct cio__rt *rt = &st->rt;

	if (st->signalled++)
		force_exit(sig);
	rt->grace_deadline = cio_loop_time() + st->grace;
	for (unsigned i = 0; i < rt->n; i++)
		cio__loop_post_threadsafe(rt->shards[i].loop,
					  &rt->shards[i].graceful);
}

static void on_sigint(void *arg)
{
	on_signal(arg, SIGINT);
}

static void on_sigterm(void *arg)
{
	on_signal(arg, SIGTERM);
}

static void main_done(struct cio__fut_cb *cb, cio_future *f)
{
	struct run_state *st = cio__container_of(cb, struct run_state,
						 main_done);

	st->rt.main_result = f->value; /* the result, error or -ECANCELED */
	f->retrieved = true;
	cio_task_unref(st->main_task);
	st->main_task = NULL;
	cio__rt_begin_shutdown(&st->rt);
}

/* asyncio.run()'s _cancel_all_tasks: cancel, gather, repeat while tasks
 * made new ones. */
static void cancel_all(cio_loop *loop)
{
	for (;;) {
		int n = cio_all_tasks(loop, NULL, 0);
		cio_task **tasks;
		cio_future **futs, *g;

		if (n <= 0)
			return;
		tasks = calloc((size_t)n, sizeof(*tasks));
		futs = calloc((size_t)n, sizeof(*futs));
		if (!tasks || !futs) {
			free(tasks);
			free(futs);
			/* Without memory, cancel one at a time. */
			cio_task *t;
			if (cio_all_tasks(loop, &t, 1) <= 0)
				return;
			cio_task_cancel(t);
			cio_loop_run_until_complete(loop, cio_task_future(t));
			continue;
		}
		n = cio_all_tasks(loop, tasks, (size_t)n);
		for (int i = 0; i < n; i++) {
			cio_task_cancel(tasks[i]);
			futs[i] = cio_task_future(tasks[i]);
		}
		if (cio_gather(&g, futs, (size_t)n,
			       CIO_GATHER_RETURN_ERRORS) == 0) {
			cio_loop_run_until_complete(loop, g);
			cio_future_unref(g);
		} else {
			cio_loop_run_until_complete(loop, futs[0]);
		}
		free(tasks);
		free(futs);
	}
}

static void serve(struct run_state *st, struct cio__shard *sh)
{
	struct cio__rt *rt = sh->rt;
	int ret;

	if (sh->id == 0) {
		struct cio_task_opts o = { .loop = sh->loop, .name = "main" };
		ret = cio_spawn(&st->main_task, rt->main, rt->main_arg, &o);
		if (ret < 0) {
			rt->main_result = ret;
			cio__rt_begin_shutdown(rt);
		} else {
			cio__fut_cb_init(&st->main_done, main_done);
			cio__future_add_cb(cio_task_future(st->main_task),
					   &st->main_done);
		}
	}
	cio_loop_run_forever(sh->loop);

	sh->stopping = true;
	cancel_all(sh->loop);
	if ((unsigned)atomic_fetch_add(&rt->quiet, 1) + 1 == rt->n)
		for (unsigned i = 0; i < rt->n; i++)
			cio__loop_post_threadsafe(rt->shards[i].loop,
						  &rt->shards[i].quiet);
	cio_loop_run_forever(sh->loop);
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* Best effort: a CPU taken away since cio_run() read the mask only
	 * costs locality. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *shard_thread(void *arg)
{
	struct cio__shard *sh = arg;
	struct run_state *st = cio__container_of(sh->rt, struct run_state,
						 rt);
	int gate;

	cio__tls_shard = sh;
	pin(sh->cpu);
	sh->start_err = cio_loop_new(&sh->loop, sh->rt->loop_opts);
	if (sh->start_err == 0 &&
	    !(sh->out = calloc(sh->rt->n, sizeof(*sh->out))))
		sh->start_err = -ENOMEM;
	if (sh->start_err == 0)
		cio__shard_msg_init(sh);
	if (sh->start_err == 0 && sh->id == 0 && st->signals) {
		sh->start_err = cio_add_signal_handler(SIGINT, on_sigint, st);
		if (sh->start_err == 0)
			sh->start_err = cio_add_signal_handler(
				SIGTERM, on_sigterm, st);
	}
	pthread_mutex_lock(&st->lock);
	st->ready++;
	pthread_cond_broadcast(&st->cond);
	while (st->gate == GATE_WAIT)
		pthread_cond_wait(&st->cond, &st->lock);
	gate = st->gate;
	pthread_mutex_unlock(&st->lock);
	if (gate == GATE_GO) {
		serve(st, sh);
		pthread_barrier_wait(&st->finished);
	}
	if (sh->loop)
		cio_loop_free(sh->loop);
	cio__tls_shard = NULL;
	return NULL;
}

/* -- options ----------------------------------------------------------------- */

static int allowed_cpus(int *cpus, unsigned cap)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (int c = 0; c < CPU_SETSIZE && (unsigned)n < cap; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static int shard_count(const struct cio_run_opts *o, unsigned ncpu,
		       unsigned *out)
{
	const char *env = getenv("CIO_SHARDS");
	unsigned long v;
	char *end;

	if (o->shards) {
		v = o->shards;
	} else if (env && *env) {
		errno = 0;
		v = strtoul(env, &end, 10);
		if (errno || *end || end == env)
			return -EINVAL;
	} else {
		v = ncpu ? ncpu : 1;
	}
	if (v < 1 || v > CIO_RUN_MAX_SHARDS)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* -- cio_run ----------------------------------------------------------------- */

static int start(struct run_state *st, const struct cio_run_opts *o)
{
	struct cio__rt *rt = &st->rt;
	int cpus[CPU_SETSIZE], ncpu, ret;
	unsigned slots = o->msg_ring ? o->msg_ring : CIO_RUN_DEFAULT_MSG_RING;

	if (slots < 2 || slots > 65536 || (slots & (slots - 1)))
		return -EINVAL;
	if ((ncpu = allowed_cpus(cpus, CPU_SETSIZE)) < 0)
		return ncpu;
	if ((ret = shard_count(o, (unsigned)ncpu, &rt->n)) < 0)
		return ret;
	if (!(rt->shards = calloc(rt->n, sizeof(*rt->shards))))
		return -ENOMEM;
	if ((ret = cio__rings_new(rt, slots)) < 0)
		return ret;
	for (unsigned i = 0; i < rt->n; i++) {
		struct cio__shard *sh = &rt->shards[i];
		sh->rt = rt;
		sh->id = i;
		sh->cpu = (o->flags & CIO_RUN_NO_PIN) || ncpu <= 0
				  ? -1
				  : cpus[i % (unsigned)ncpu];
		sh->stop.fn = stop_work;
		sh->quiet.fn = quiet_work;
		sh->graceful.fn = graceful_work;
	}
	return 0;
}

intptr_t cio_run(cio_task_fn main, void *arg, const struct cio_run_opts *opts)
{
	static const struct cio_run_opts defaults;
	const struct cio_run_opts *o = opts ? opts : &defaults;
	struct cio__rt *expected = NULL;
	struct run_state *st;
	unsigned started = 0;
	intptr_t ret;

	sigset_t sigs, old_mask;

	if (!main || (o->flags & ~(CIO_RUN_NO_PIN | CIO_RUN_NO_SIGNALS)) ||
	    o->shutdown_grace < 0)
		return -EINVAL;
	if (cio__tls_shard)
		return -EBUSY;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	if (!atomic_compare_exchange_strong(&cio__rt_current, &expected,
					    &st->rt)) {
		free(st);
		return -EBUSY;
	}
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	st->rt.main = main;
	st->rt.main_arg = arg;
	st->cancel_main.fn = cancel_main_work;
	st->grace = o->shutdown_grace ? o->shutdown_grace
				      : CIO_RUN_DEFAULT_GRACE;
	st->signals = !(o->flags & CIO_RUN_NO_SIGNALS);
	/* Blocked here, so in every thread created from here on (shards,
	 * their executors): only shard 0's signalfd sees them. */
	sigemptyset(&sigs);
	if (st->signals) {
		sigaddset(&sigs, SIGINT);
		sigaddset(&sigs, SIGTERM);
	}
	pthread_sigmask(SIG_BLOCK, &sigs, &old_mask);
	st->rt.loop_opts = o->loop;
	if ((ret = start(st, o)) < 0)
		goto out;
	pthread_barrier_init(&st->finished, NULL, st->rt.n);
	for (; started < st->rt.n; started++) {
		struct cio__shard *sh = &st->rt.shards[started];
		if ((ret = -pthread_create(&sh->thread, NULL, shard_thread,
					   sh)) < 0)
			break;
	}
	pthread_mutex_lock(&st->lock);
	while (st->ready < started)
		pthread_cond_wait(&st->cond, &st->lock);
	st->gate = started < st->rt.n ? GATE_ABORT : GATE_GO;
	for (unsigned i = 0; i < started && st->gate == GATE_GO; i++)
		if (st->rt.shards[i].start_err < 0) {
			ret = st->rt.shards[i].start_err;
			st->gate = GATE_ABORT;
		}
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(st->rt.shards[i].thread, NULL);
	pthread_barrier_destroy(&st->finished);
	if (st->gate == GATE_GO)
		ret = st->rt.main_result;
out:
	cio__rings_free(&st->rt);
	for (unsigned i = 0; st->rt.shards && i < st->rt.n; i++)
		free(st->rt.shards[i].out);
	free(st->rt.shards);
	atomic_store(&cio__rt_current, NULL);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
	return ret;
}
