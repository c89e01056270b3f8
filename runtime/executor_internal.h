/* Internal: jobs for the blocking-work executor, as the runtime uses them.
 *
 * A job is intrusive: it lives inside whatever owns it (a future's record
 * for cio_run_in_executor(), an operation record on a task's stack for the
 * epoll backend's file operations), so submitting allocates nothing.
 *
 * Life of a job:
 *   1. The loop's thread fills run, work.fn and loop, then calls
 *      cio__exec_submit(). The job is QUEUED.
 *   2. A pool thread takes it (RUNNING) and calls run(job).
 *   3. The pool thread posts job->work to job->loop with
 *      cio__loop_post_threadsafe(); the loop's thread then calls
 *      work.fn(&job->work, false). If the loop has closed its inbox the
 *      post fails and work.fn is never called.
 *   4. The pool thread's last touch of the job is the release store that
 *      makes it DONE; after that the owner may free it.
 * A QUEUED job may be taken back with cio__exec_unqueue(): run() and
 * work.fn are then never called.
 */
#ifndef CIO_RUNTIME_EXECUTOR_INTERNAL_H
#define CIO_RUNTIME_EXECUTOR_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "runtime/common.h"
#include "runtime/executor.h"
#include "runtime/future_internal.h"
#include "runtime/work.h"

enum cio__job_state {
	CIO__JOB_IDLE = 0,
	CIO__JOB_QUEUED,
	CIO__JOB_RUNNING,
	CIO__JOB_DONE,
};

struct cio__exec_job {
	struct cio__work work;  /* posted back when run() has returned */
	void (*run)(struct cio__exec_job *job); /* on a pool thread */
	cio_loop *loop;
	struct cio__exec_job *next; /* executor-private queue link */
	cio_executor *ex;           /* set by submit */
	atomic_int state;           /* enum cio__job_state */
	/* Set by submit; see cio__exec_submit_self(). */
	bool self;
	bool cancelled;
};

/* Queue `job` on `ex` (NULL: the process's default executor, started on
 * first use). Never blocks: -EAGAIN when the queue is full, -EINVAL after
 * shutdown, -ENOMEM/-EAGAIN if a thread cannot be started. */
int cio__exec_submit(cio_executor *ex, struct cio__exec_job *job);

/* Take back a job that no pool thread has started. true: it was QUEUED
 * and is now IDLE; nothing of it will run. false: it is running or done;
 * its work will be posted (or the post fails on a closed loop). */
bool cio__exec_unqueue(struct cio__exec_job *job);

/* Block until `job` is DONE. For loop close only: the job's owner is
 * about to free it. (Also from work.fn, which may run before the pool
 * thread's DONE store: there it returns at once or after a few
 * instructions.) Returns at once for a job that is IDLE. */
void cio__exec_wait(struct cio__exec_job *job);

/* -- additions for cio_run_in_executor() and cio_getaddrinfo() ------------ */

/* `ex`, or the default executor (created on first use); NULL and *err
 * when that creation fails. */
cio_executor *cio__exec_resolve(cio_executor *ex, int *err);
/* An executor with `opts` (validated by the caller; 0 fields get
 * defaults). */
int cio__exec_create(cio_executor **out, const struct cio_executor_opts *opts,
		     bool is_default);
void cio__exec_fill_defaults(struct cio_executor_opts *opts);
bool cio__exec_opts_valid(const struct cio_executor_opts *opts);

/* Queue a job that completes itself. The pool thread calls run(job) and
 * forgets the job: it neither posts job->work nor stores DONE, and run()
 * may free the job (a future released while its job ran is freed by the
 * pool thread, which never touches the loop). cio__exec_wait() does not
 * apply. If a shutdown with CIO_EXECUTOR_CANCEL_QUEUED drops the job,
 * run(job) is still called, with job->cancelled set. Returns as
 * cio__exec_submit(), except -ENOSPC for a full queue (-EAGAIN then only
 * means a thread could not be started). */
int cio__exec_submit_self(cio_executor *ex, struct cio__exec_job *job);

/* From a task: return 0 at once if `ex` (NULL: the default) has room in
 * its queue, else park until a job leaves the queue. Room is not
 * reserved: the caller submits and, on -ENOSPC, waits again. -ECANCELED,
 * -EINVAL (shut down), -EPERM outside a task, or the default executor's
 * creation error. */
int cio__exec_wait_slot(cio_executor *ex);

/* A job with a future: the record behind cio_run_in_executor(). Records of
 * other kinds (cio_getaddrinfo()) embed it first and free themselves in
 * release(). */
struct cio__exec_call {
	cio_future fut;          /* first: the record is a future */
	struct cio__exec_job job;
	cio_blocking_fn fn;
	void *arg;
	/* Called once, on whichever thread lets the record go last, to free
	 * it (NULL: free()). `delivered`: the result was set on the future,
	 * so whoever reads the future owns it; otherwise it was dropped (or
	 * fn never ran, and result is -ECANCELED). */
	void (*release)(struct cio__exec_call *c, bool delivered);
	intptr_t result;
	bool delivered;
	atomic_uint flags;       /* who still holds the record; private */
};

/* Prepare a record for fn(arg) on `loop` (the caller's loop, open). It
 * holds one reference to its future. */
void cio__exec_call_init(struct cio__exec_call *c, cio_loop *loop,
			 cio_blocking_fn fn, void *arg,
			 void (*release)(struct cio__exec_call *, bool));

/* Queue it on `ex` (NULL: the default). On failure (-ENOSPC: full, see
 * cio__exec_submit_self()) the record has been released already. */
int cio__exec_call_start(struct cio__exec_call *c, cio_executor *ex);

/* From a task: await the record's future and release the caller's
 * reference, also when the loop closes with the task parked here. Returns
 * as cio_await(); a future left pending (a cancellation was pending on
 * entry) is cancelled first, so a queued job does not run. */
intptr_t cio__exec_call_await(struct cio__exec_call *c);

#endif
