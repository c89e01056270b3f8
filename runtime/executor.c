/* The executor's pool: threads, the bounded queue, shutdown, and tasks
 * waiting for a slot in a full queue. The default executor and the sizes
 * are in executor_default.c.
 *
 * One mutex per executor guards everything of it: the queue, the counts,
 * the slot waiters. Pool threads take it twice per job (to take the job,
 * and to publish DONE), submitters once. Results go back to each job's
 * loop through its lock-free inbox (cio__loop_post_threadsafe()) outside
 * the mutex; only a task waiting for a slot is posted under it, so that
 * neither the waiter nor its loop can go away meanwhile.
 */
#include "runtime/executor_internal.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

enum ex_state {
	EX_OPEN = 0,
	EX_SHUT,   /* no new jobs; threads exit when the queue is empty */
};

struct cio_executor {
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* threads wait here for jobs */
	pthread_cond_t done_cv; /* cio__exec_wait(), joiners */
	struct cio__exec_job *head;
	struct cio__exec_job **tailp;
	unsigned queued;
	unsigned queue_size;
	unsigned threads;       /* started; they only exit at shutdown */
	unsigned max_threads;
	unsigned idle;          /* threads in cond_wait (or signalled) */
	unsigned running;
	unsigned done_waiters;
	struct cio__list slot_waiters;
	pthread_t *tids;
	uint8_t state;
	bool joining;
	bool joined;
	bool is_default;
};

/* A task parked in cio__exec_wait_slot(), on its own stack. `notify` is
 * written under the executor's mutex before the waiter is posted; the loop
 * reads it without the mutex, which is why it is atomic: a waiter told of
 * a shutdown never touches the executor again (it may be freed). */
enum { NOTIFY_NONE = 0, NOTIFY_SLOT, NOTIFY_SHUTDOWN };

struct slot_waiter {
	struct cio__work work;  /* posted to the task's loop */
	struct cio__list link;  /* ex->slot_waiters, under ex->mu */
	cio_task *task;
	cio_loop *loop;
	cio_executor *ex;
	atomic_int notify;
	bool cancelled;         /* loop thread only */
};

/* The executor a pool thread serves: shutdown from its own job would wait
 * for itself. */
static __thread cio_executor *tls_pool;

/* -- the pool ---------------------------------------------------------------- */

int cio__exec_create(cio_executor **out, const struct cio_executor_opts *opts,
		     bool is_default)
{
	struct cio_executor_opts o = *opts;
	cio_executor *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return -ENOMEM;
	cio__exec_fill_defaults(&o);
	ex->max_threads = o.threads;
	ex->queue_size = o.queue_size;
	ex->is_default = is_default;
	ex->tids = calloc(ex->max_threads, sizeof(*ex->tids));
	if (!ex->tids) {
		free(ex);
		return -ENOMEM;
	}
	pthread_mutex_init(&ex->mu, NULL);
	pthread_cond_init(&ex->work_cv, NULL);
	pthread_cond_init(&ex->done_cv, NULL);
	ex->tailp = &ex->head;
	cio__list_init(&ex->slot_waiters);
	*out = ex;
	return 0;
}

int cio_executor_new(cio_executor **out, const struct cio_executor_opts *opts)
{
	static const struct cio_executor_opts defaults;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (!cio__exec_opts_valid(opts))
		return -EINVAL;
	return cio__exec_create(out, opts, false);
}

/* Post a waiter back to its task's loop. Under ex->mu, so that neither
 * the loop (it closes on its thread, and abandon takes ex->mu) nor the
 * waiter (it is unlinked already) can go away meanwhile. false: the
 * loop's inbox is closed; its close abandons the task. */
static bool post_waiter(struct slot_waiter *w, int notify)
{
	atomic_store_explicit(&w->notify, notify, memory_order_release);
	return cio__loop_post_threadsafe(w->loop, &w->work) == 0;
}

/* Room has appeared in the queue: tell the first waiter. Under ex->mu. */
static void notify_slot(cio_executor *ex)
{
	while (ex->queued < ex->queue_size &&
	       !cio__list_empty(&ex->slot_waiters)) {
		struct slot_waiter *w = cio__container_of(
			ex->slot_waiters.next, struct slot_waiter, link);
		cio__list_del(&w->link);
		if (post_waiter(w, NOTIFY_SLOT))
			return;
	}
}

/* A pool thread. Generic jobs report through their work and DONE; a job
 * that completes itself is forgotten once run() is called (it may free
 * itself). */
static void *worker(void *arg)
{
	cio_executor *ex = arg;
	struct cio__exec_job *job;
	bool self;

	tls_pool = ex;
	pthread_mutex_lock(&ex->mu);
	for (;;) {
		while (!ex->head && ex->state == EX_OPEN) {
			ex->idle++;
			pthread_cond_wait(&ex->work_cv, &ex->mu);
			ex->idle--;
		}
		if (!(job = ex->head))
			break; /* shut down and drained */
		if (!(ex->head = job->next))
			ex->tailp = &ex->head;
		ex->queued--;
		ex->running++;
		atomic_store_explicit(&job->state, CIO__JOB_RUNNING,
				      memory_order_relaxed);
		self = job->self;
		notify_slot(ex);
		pthread_mutex_unlock(&ex->mu);

		job->run(job);
		/* Fails only on a closed loop: then nobody calls work.fn,
		 * and the owner waits for DONE instead. */
		if (!self)
			cio__loop_post_threadsafe(job->loop, &job->work);
		pthread_mutex_lock(&ex->mu);
		if (!self) {
			/* Our last touch of the job. */
			atomic_store_explicit(&job->state, CIO__JOB_DONE,
					      memory_order_release);
			if (ex->done_waiters)
				pthread_cond_broadcast(&ex->done_cv);
		}
		ex->running--;
	}
	pthread_mutex_unlock(&ex->mu);
	return NULL;
}

/* Under ex->mu. Pool threads take no signals: a process signal is for
 * the loops (signalfd, cio_add_signal_handler), never for a thread that
 * happens to be in getaddrinfo(). */
static int spawn_thread(cio_executor *ex)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ex->tids[ex->threads], NULL, worker, ex);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return -err;
	pthread_setname_np(ex->tids[ex->threads], "cio-executor");
	ex->threads++;
	return 0;
}

/* Under ex->mu. -ENOSPC when full. */
static int enqueue(cio_executor *ex, struct cio__exec_job *job, bool self)
{
	int ret;

	if (ex->state != EX_OPEN)
		return -EINVAL;
	if (ex->queued >= ex->queue_size)
		return -ENOSPC;
	job->ex = ex;
	job->self = self;
	job->cancelled = false;
	job->next = NULL;
	atomic_store_explicit(&job->state, CIO__JOB_QUEUED,
			      memory_order_relaxed);
	*ex->tailp = job;
	ex->tailp = &job->next;
	ex->queued++;
	/* Each idle thread takes one job; more jobs than that need more
	 * threads. A thread that cannot start is only an error when there
	 * is none to run the job (and then the queue holds only this one). */
	if (ex->queued > ex->idle && ex->threads < ex->max_threads) {
		ret = spawn_thread(ex);
		if (ret < 0 && ex->threads == 0) {
			ex->head = NULL;
			ex->tailp = &ex->head;
			ex->queued = 0;
			atomic_store_explicit(&job->state, CIO__JOB_IDLE,
					      memory_order_relaxed);
			return ret;
		}
	}
	if (ex->idle)
		pthread_cond_signal(&ex->work_cv);
	return 0;
}

/* -- submit, unqueue, wait ----------------------------------------------------- */

static int submit(cio_executor *ex, struct cio__exec_job *job, bool self)
{
	int ret;

	if (!job || !job->run || (!self && !job->work.fn) || !job->loop)
		return -EINVAL;
	if (!(ex = cio__exec_resolve(ex, &ret)))
		return ret;
	pthread_mutex_lock(&ex->mu);
	ret = enqueue(ex, job, self);
	pthread_mutex_unlock(&ex->mu);
	return ret;
}

int cio__exec_submit(cio_executor *ex, struct cio__exec_job *job)
{
	int ret = submit(ex, job, false);
	return ret == -ENOSPC ? -EAGAIN : ret;
}

int cio__exec_submit_self(cio_executor *ex, struct cio__exec_job *job)
{
	return submit(ex, job, true);
}

bool cio__exec_unqueue(struct cio__exec_job *job)
{
	struct cio__exec_job **pp;
	cio_executor *ex;
	bool found = false;

	/* Only a QUEUED job's executor is sure to be alive; a job in any
	 * other state cannot become QUEUED behind our back (its owner
	 * submits it, on this thread). */
	if (atomic_load_explicit(&job->state, memory_order_relaxed) !=
	    CIO__JOB_QUEUED)
		return false;
	ex = job->ex;
	pthread_mutex_lock(&ex->mu);
	if (atomic_load_explicit(&job->state, memory_order_relaxed) ==
	    CIO__JOB_QUEUED) {
		for (pp = &ex->head; *pp != job; pp = &(*pp)->next)
			;
		if (!(*pp = job->next))
			ex->tailp = pp;
		ex->queued--;
		atomic_store_explicit(&job->state, CIO__JOB_IDLE,
				      memory_order_relaxed);
		notify_slot(ex);
		found = true;
	}
	pthread_mutex_unlock(&ex->mu);
	return found;
}

static bool job_settled(struct cio__exec_job *job)
{
	int s = atomic_load_explicit(&job->state, memory_order_acquire);
	return s == CIO__JOB_DONE || s == CIO__JOB_IDLE;
}

void cio__exec_wait(struct cio__exec_job *job)
{
	cio_executor *ex;

	if (job_settled(job))
		return;
	ex = job->ex;
	pthread_mutex_lock(&ex->mu);
	while (!job_settled(job)) {
		ex->done_waiters++;
		pthread_cond_wait(&ex->done_cv, &ex->mu);
		ex->done_waiters--;
	}
	pthread_mutex_unlock(&ex->mu);
}

/* -- waiting for a slot ---------------------------------------------------------- */

/* On the task's loop, once a pool thread or a shutdown posted the waiter. */
static void slot_ready(struct cio__work *work, bool discard)
{
	struct slot_waiter *w = cio__container_of(work, struct slot_waiter,
						  work);
	int notify;

	if (discard)
		return; /* loop close: slot_abandon() follows */
	notify = atomic_load_explicit(&w->notify, memory_order_acquire);
	if (w->cancelled)
		cio__task_wake(w->task, -ECANCELED);
	else
		cio__task_wake(w->task, notify == NOTIFY_SLOT ? 0 : -EINVAL);
}

static void slot_cancel(cio_task *t, void *ctx)
{
	struct slot_waiter *w = ctx;
	cio_executor *ex = w->ex;
	int notify;

	/* Told of a shutdown: the executor may be gone; the post is on its
	 * way and slot_ready() returns -ECANCELED. */
	if (atomic_load_explicit(&w->notify, memory_order_acquire) ==
	    NOTIFY_SHUTDOWN) {
		w->cancelled = true;
		return;
	}
	pthread_mutex_lock(&ex->mu);
	notify = atomic_load_explicit(&w->notify, memory_order_relaxed);
	if (notify == NOTIFY_NONE) {
		cio__list_del(&w->link);
		pthread_mutex_unlock(&ex->mu);
		cio__task_wake(t, -ECANCELED);
		return;
	}
	/* The slot we were told of goes to the next waiter; our wake-up is
	 * already posted, so we stay parked until it arrives. */
	if (notify == NOTIFY_SLOT)
		notify_slot(ex);
	pthread_mutex_unlock(&ex->mu);
	w->cancelled = true;
}

/* Loop close. Posts to this loop fail from now on and those in flight
 * have landed (close drained the inbox first), so the waiter is either
 * still linked or was told already. */
static void slot_abandon(cio_task *t, void *ctx)
{
	struct slot_waiter *w = ctx;
	cio_executor *ex = w->ex;
	int notify;

	(void)t;
	if (atomic_load_explicit(&w->notify, memory_order_acquire) ==
	    NOTIFY_SHUTDOWN)
		return;
	pthread_mutex_lock(&ex->mu);
	notify = atomic_load_explicit(&w->notify, memory_order_relaxed);
	if (notify == NOTIFY_NONE)
		cio__list_del(&w->link);
	else if (notify == NOTIFY_SLOT && !w->cancelled)
		notify_slot(ex);
	pthread_mutex_unlock(&ex->mu);
}

static const struct cio__park_ops slot_park = {
	.cancel = slot_cancel,
	.abandon = slot_abandon,
};

int cio__exec_wait_slot(cio_executor *ex)
{
	cio_task *t = cio__tls_task;
	struct slot_waiter w;
	intptr_t v;
	int ret;

	if (!t)
		return -EPERM;
	if (!(ex = cio__exec_resolve(ex, &ret)))
		return ret;
	pthread_mutex_lock(&ex->mu);
	if (ex->state != EX_OPEN)
		ret = -EINVAL;
	else if (ex->queued < ex->queue_size)
		ret = 0;
	else if ((ret = cio__task_check_cancel(t)) == 0)
		ret = 1;
	if (ret != 1) {
		pthread_mutex_unlock(&ex->mu);
		return ret;
	}
	w.work.fn = slot_ready;
	w.task = t;
	w.loop = t->fut.loop;
	w.ex = ex;
	w.cancelled = false;
	atomic_init(&w.notify, NOTIFY_NONE);
	cio__list_add_tail(&ex->slot_waiters, &w.link);
	pthread_mutex_unlock(&ex->mu);

	v = cio__task_park(&slot_park, &w);
	if (v == -ECANCELED)
		t->cancel_pending = false;
	return (int)v;
}

/* -- shutdown, free, stats ---------------------------------------------------------- */

int cio_executor_shutdown(cio_executor *ex, unsigned flags)
{
	struct cio__exec_job *job;

	if (!ex || ex->is_default ||
	    (flags & ~(unsigned)(CIO_EXECUTOR_CANCEL_QUEUED |
				 CIO_EXECUTOR_NOWAIT)))
		return -EINVAL;
	if (tls_pool == ex)
		return -EDEADLK;
	pthread_mutex_lock(&ex->mu);
	if (ex->state == EX_OPEN) {
		ex->state = EX_SHUT;
		while (!cio__list_empty(&ex->slot_waiters)) {
			struct slot_waiter *w = cio__container_of(
				ex->slot_waiters.next, struct slot_waiter,
				link);
			cio__list_del(&w->link);
			post_waiter(w, NOTIFY_SHUTDOWN);
		}
		pthread_cond_broadcast(&ex->work_cv);
	}
	/* Only futures' jobs can be dropped; the runtime's own (file
	 * operations on epoll) always run. */
	if (flags & CIO_EXECUTOR_CANCEL_QUEUED)
		for (job = ex->head; job; job = job->next)
			if (job->self)
				job->cancelled = true;
	if (flags & CIO_EXECUTOR_NOWAIT) {
		pthread_mutex_unlock(&ex->mu);
		return 0;
	}
	while (ex->joining)
		pthread_cond_wait(&ex->done_cv, &ex->mu);
	if (!ex->joined) {
		unsigned n = ex->threads;
		/* No thread starts after EX_SHUT, so tids[0..n) is final. */
		ex->joining = true;
		pthread_mutex_unlock(&ex->mu);
		for (unsigned i = 0; i < n; i++)
			pthread_join(ex->tids[i], NULL);
		pthread_mutex_lock(&ex->mu);
		ex->joining = false;
		ex->joined = true;
		pthread_cond_broadcast(&ex->done_cv);
	}
	pthread_mutex_unlock(&ex->mu);
	return 0;
}

void cio_executor_free(cio_executor *ex)
{
	if (!ex || ex->is_default || cio_executor_shutdown(ex, 0) < 0)
		return;
	pthread_cond_destroy(&ex->done_cv);
	pthread_cond_destroy(&ex->work_cv);
	pthread_mutex_destroy(&ex->mu);
	free(ex->tids);
	free(ex);
}

int cio_executor_stats(cio_executor *ex, struct cio_executor_stats *st)
{
	int ret;

	if (!st)
		return -EINVAL;
	if (!(ex = cio__exec_resolve(ex, &ret)))
		return ret;
	pthread_mutex_lock(&ex->mu);
	st->threads = ex->threads;
	st->idle = ex->idle;
	st->running = ex->running;
	st->queued = ex->queued;
	st->max_threads = ex->max_threads;
	st->queue_size = ex->queue_size;
	pthread_mutex_unlock(&ex->mu);
	return 0;
}
