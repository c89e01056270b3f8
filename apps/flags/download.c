/* flags — the downloads (flags2_asyncio.py: download_one, downloader_coro).
 *
 * One task per code, all spawned at once; a semaphore lets CONCURRENCY of
 * them hold a request at a time (the book's `async with semaphore:` around
 * get_flag); the main task takes them as they complete (as_completed) to
 * count them, print them and move the progress bar. Every task shares one
 * cio_http_client, so the connections to the server are kept alive and
 * reused: at most one per permit. All of it runs on one shard: the work
 * is waiting on the network, and a client belongs to one loop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

struct dl {
	struct fl_run *run;
	cio_http_client *client;
	cio_sem *sem;
	char outdir[4096]; /* without trailing '/' (unless it is "/") */
};

/* A task's argument: the run and its job. */
struct slot {
	struct dl *dl;
	size_t idx;
};

static void lower_code(const char *cc, char out[FL_CC_SIZE])
{
	size_t k = 0;

	for (; cc[k] && k < FL_CC_SIZE - 1; k++)
		out[k] = (char)(cc[k] | 0x20); /* ASCII letters only */
	out[k] = '\0';
}

/* Mark the job failed, with why (truncated to fit). Returns ret. */
__attribute__((format(printf, 3, 4)))
static intptr_t fail(struct fl_job *job, intptr_t ret, const char *fmt, ...)
{
	va_list ap;

	job->status = FL_ERROR;
	va_start(ap, fmt);
	vsnprintf(job->reason, sizeof(job->reason), fmt, ap);
	va_end(ap);
	return ret;
}

/* get_flag() and save_flag() of one code. Returns the slot's index (its
 * job holds the outcome), or -ECANCELED when the run was interrupted. */
static intptr_t download_one(void *arg)
{
	struct slot *s = arg;
	struct dl *dl = s->dl;
	const struct fl_opts *o = dl->run->o;
	struct fl_job *job = &dl->run->jobs[s->idx];
	struct cio_http_result res;
	char url[sizeof(o->base_url) + 16], path[4096 + 16], cc[FL_CC_SIZE];
	int ret;

	lower_code(job->cc, cc);
	snprintf(url, sizeof(url), "%s/%s/%s.gif", o->base_url, cc, cc);
	{
		CIO_SEM_SCOPED(g); /* released on leaving this block */
		if ((ret = cio_sem_guard_acquire(&g, dl->sem,
						 CIO_NO_DEADLINE)) < 0)
			return ret; /* -ECANCELED: interrupted */
		/* The deadline starts once we hold a permit: time spent
		 * waiting for one is not the server's fault. */
		struct cio_http_req req = { .url = url };
		int64_t deadline = cio_deadline_after(o->timeout_ns);
		ret = cio_http_client_request(dl->client, &req, &res,
					      deadline);
	}
	if (ret == -ECANCELED)
		return ret;
	if (ret < 0)
		return fail(job, (intptr_t)s->idx, "%s",
			    cio_http_strerror(ret));
	if (res.status == 404) {
		cio_http_result_free(&res);
		job->status = FL_NOT_FOUND;
		return (intptr_t)s->idx;
	}
	if (res.status != 200) {
		int status = res.status;
		cio_http_result_free(&res);
		return fail(job, (intptr_t)s->idx, "HTTP %d %s", status,
			    cio_http_status_text(status));
	}
	snprintf(path, sizeof(path), "%s/%s.gif", dl->outdir, cc);
	ret = fl_save(o->save, path, res.body, res.body_len);
	cio_http_result_free(&res);
	if (ret == -ECANCELED)
		return ret;
	if (ret < 0)
		return fail(job, (intptr_t)s->idx, "cannot save %s: %s", path,
			    strerror(-ret));
	job->status = FL_OK;
	return (intptr_t)s->idx;
}

/* Count a finished job, as the book's loop over as_completed() does. */
static void count(struct dl *dl, struct slot *s, struct fl_progress *bar)
{
	struct fl_run *run = dl->run;
	struct fl_job *job = &run->jobs[s->idx];

	job->done = true;
	run->counts[job->status]++;
	run->finished++;
	if (!run->o->verbose) {
		fl_progress_step(bar);
		return;
	}
	if (job->status == FL_ERROR)
		printf("*** Error for %s: %s\n", job->cc, job->reason);
	else
		printf("%s %s\n", job->cc,
		       job->status == FL_OK ? "ok" : "not found");
	fflush(stdout);
}

/* Spawn one task per code, then count them as they complete. */
static int run_all(struct dl *dl, struct slot *slots, cio_task **tasks,
		   cio_future **futs, size_t n)
{
	struct fl_run *run = dl->run;
	struct fl_progress bar;
	cio_as_completed *it;
	cio_future *f;
	intptr_t v;
	size_t spawned = 0;
	int ret = 0;

	for (; spawned < n; spawned++) {
		char name[16];
		snprintf(name, sizeof(name), "flag-%s", run->jobs[spawned].cc);
		struct cio_task_opts to = { .name = name };
		slots[spawned] = (struct slot){ .dl = dl, .idx = spawned };
		if ((ret = cio_spawn(&tasks[spawned], download_one,
				     &slots[spawned], &to)) < 0)
			break;
		futs[spawned] = cio_task_future(tasks[spawned]);
	}
	if (ret == 0)
		ret = cio_as_completed_new(&it, futs, n, CIO_NO_DEADLINE);
	if (ret < 0) {
		snprintf(run->fatal, sizeof(run->fatal),
			 "cannot start the downloads: %s", strerror(-ret));
	} else {
		if (!run->o->verbose)
			fl_progress_init(&bar, n);
		while ((ret = cio_as_completed_next(it, &f)) == 1) {
			/* A task fails only when cancelled, and only an
			 * interruption cancels them. */
			if (cio_future_result(f, &v) == 0)
				count(dl, &slots[v], &bar);
		}
		cio_as_completed_free(it);
		if (!run->o->verbose)
			fl_progress_end(&bar);
		if (ret < 0 && ret != -ECANCELED)
			snprintf(run->fatal, sizeof(run->fatal),
				 "waiting for the downloads: %s",
				 strerror(-ret));
	}
	/* Interrupted (or a failed start): stop the others and wait for
	 * them, so that nothing of theirs outlives this function. What
	 * completed meanwhile still counts. */
	for (size_t i = 0; i < spawned; i++)
		cio_task_cancel(tasks[i]);
	for (size_t i = 0; i < spawned; i++) {
		/* An await parks until the task is done; only a failure to
		 * park at all could make it return sooner. */
		while (!cio_task_done(tasks[i]))
			cio_await_task(tasks[i]);
		if (!run->jobs[i].done && cio_task_result(tasks[i], &v) == 0)
			count(dl, &slots[i], NULL);
		cio_task_unref(tasks[i]);
	}
	if (ret == -ECANCELED)
		run->interrupted = true;
	return ret;
}

intptr_t fl_download_main(void *arg)
{
	struct fl_run *run = arg;
	const struct fl_opts *o = run->o;
	size_t n = o->ncodes;
	struct dl *dl = calloc(1, sizeof(*dl));
	struct slot *slots = calloc(n ? n : 1, sizeof(*slots));
	cio_task **tasks = calloc(n ? n : 1, sizeof(*tasks));
	cio_future **futs = calloc(n ? n : 1, sizeof(*futs));
	int ret = -ENOMEM;

	if (!dl || !slots || !tasks || !futs) {
		snprintf(run->fatal, sizeof(run->fatal), "out of memory");
		goto out;
	}
	dl->run = run;
	snprintf(dl->outdir, sizeof(dl->outdir), "%s", o->outdir);
	for (size_t len = strlen(dl->outdir);
	     len > 1 && dl->outdir[len - 1] == '/';)
		dl->outdir[--len] = '\0';
	/* Keep as many idle connections as there are permits: with the
	 * default 8, -c 100 would close and reopen most of them. */
	struct cio_http_client_opts co = { .max_idle_per_host = run->concur };
	if ((ret = cio_http_client_new(&dl->client, &co)) < 0 ||
	    (ret = cio_sem_new(&dl->sem, (int)run->concur, true)) < 0) {
		snprintf(run->fatal, sizeof(run->fatal),
			 "cannot start the client: %s", strerror(-ret));
		goto out;
	}
	ret = run_all(dl, slots, tasks, futs, n);
out:
	if (dl) {
		cio_sem_free(dl->sem);
		cio_http_client_free(dl->client);
	}
	free(futs);
	free(tasks);
	free(slots);
	free(dl);
	return ret;
}
