/* coreio-cp — the main task: what each operand means (cp's rules), the
 * workers, and the end of the run.
 *
 *   SRC DST        DST is not a directory: SRC is copied to the name DST
 *   SRC... DIR     each SRC is copied to DIR/basename(SRC)
 *
 * Without -r a symlink operand is followed and a directory is skipped
 * with an error; with -r a directory is copied as a tree and a symlink
 * as a symlink (cp -r does the same). A directory is never copied into
 * itself, and a file never onto itself (that check is made per file, by
 * the worker, on the final name).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

/* The last component of p, trailing slashes ignored (malloc'd). */
static char *base_name(const char *p)
{
	size_t len = strlen(p), start;

	while (len > 1 && p[len - 1] == '/')
		len--;
	for (start = len; start > 0 && p[start - 1] != '/'; start--)
		;
	return strndup(p + start, len - start);
}

/* The absolute path `target` names, resolving everything but a last
 * component that does not exist yet (malloc'd; NULL if its directory
 * cannot be resolved). */
static char *resolve(const char *target)
{
	char *r = realpath(target, NULL), *dir, *base, *slash;

	if (r || !(dir = strdup(target)))
		return r;
	base = base_name(target);
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (base && (r = realpath(dir, NULL))) {
		char *full = cp_join(r, base);
		free(r);
		r = full;
	}
	free(dir);
	free(base);
	return r;
}

/* Would copying directory src to target write inside src? */
static bool inside(const char *src, const char *target)
{
	char *rs = realpath(src, NULL), *rt = resolve(target);
	bool in = false;

	if (rs && rt) {
		size_t l = strlen(rs);
		in = strncmp(rt, rs, l) == 0 &&
		     (rt[l] == '\0' || rt[l] == '/' || rs[l - 1] == '/');
	}
	free(rs);
	free(rt);
	return in;
}

/* One operand. 0, or -ECANCELED to stop. */
static int plan_one(struct cp_ctx *c, const char *src, const char *dst,
		    bool into_dir)
{
	bool rec = c->o->recursive;
	struct stat st;
	char *target;
	int rc = 0;

	if ((rec ? lstat(src, &st) : stat(src, &st)) < 0) {
		cp_error(c, "cannot stat '%s': %s", src, strerror(errno));
		return 0;
	}
	if (S_ISDIR(st.st_mode) && !rec) {
		cp_error(c, "-r not specified; omitting directory '%s'", src);
		return 0;
	}
	if (into_dir) {
		char *b = base_name(src);
		target = b ? cp_join(dst, b) : NULL;
		free(b);
	} else {
		target = strdup(dst);
	}
	if (!target) {
		cp_error(c, "'%s': %s", src, strerror(ENOMEM));
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		rc = cp_put_job(c, src, target, &st,
				CP_JOB_CHECK_DST | (rec ? 0 : CP_JOB_FOLLOW));
	else if (inside(src, target))
		cp_error(c, "cannot copy a directory, '%s', into itself, '%s'",
			 src, target);
	else
		rc = cp_walk(c, src, target, &st);
	if (rc == -ENOMEM)
		cp_error(c, "'%s': %s", src, strerror(ENOMEM));
	free(target);
	return rc == -ECANCELED ? rc : 0;
}

static int plan_all(struct cp_ctx *c)
{
	const struct cp_opts *o = c->o;
	struct stat st;
	bool dst_dir = stat(o->dst, &st) == 0 && S_ISDIR(st.st_mode);

	if (o->nsrcs > 1 && !dst_dir) {
		if (access(o->dst, F_OK) < 0)
			cp_error(c, "target '%s': %s", o->dst, strerror(errno));
		else
			cp_error(c, "target '%s' is not a directory", o->dst);
		return 0;
	}
	for (int i = 0; i < o->nsrcs; i++)
		if (plan_one(c, o->srcs[i], o->dst, dst_dir) == -ECANCELED)
			return -ECANCELED;
	return 0;
}

/* On each shard (cio_submit_to()): its share of the --files workers, in
 * a task group of its own, until the channel is closed and empty. */
static intptr_t shard_workers(void *arg)
{
	struct cp_ctx *c = arg;
	struct cio_task_opts to = { .name = "file" };
	unsigned id = (unsigned)cio_shard_id();
	unsigned n = c->o->files / c->nshards +
		     (id < c->o->files % c->nshards ? 1 : 0);
	cio_task_group *g;
	int rc, wrc;

	if (n == 0)
		return 0;
	if ((rc = cio_task_group_new(&g)) < 0)
		return rc;
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = cio_task_group_spawn(g, NULL, cp_worker_task, c, &to);
	c->groups[id] = g;
	/* Spawned ones stop at once too: a failed start, or an interrupt
	 * that came before this group existed. */
	if (rc < 0 || atomic_load(&c->stopping))
		cio_task_group_cancel(g);
	wrc = cio_task_group_wait(g);
	c->groups[id] = NULL;
	cio_task_group_free(g);
	cp_buf_pool_free();
	return rc < 0 ? rc : wrc;
}

/* On each shard: interrupted, stop the workers in the middle of their
 * files (they remove their temporary copies). */
static intptr_t shard_stop(void *arg)
{
	struct cp_ctx *c = arg;
	cio_task_group *g = c->groups[cio_shard_id()];

	if (g)
		cio_task_group_cancel(g);
	return 0;
}

static void stop_all(struct cp_ctx *c)
{
	atomic_store(&c->stopping, true);
	cio_broadcast(shard_stop, c, NULL);
}

/* Wait until every shard's workers are done, stopping them if this task
 * is cancelled meanwhile. The first error of a shard, or 0. */
static int wait_workers(struct cp_ctx *c, cio_future **futs, unsigned n)
{
	int rc = 0, e;

	while (cio_wait(futs, n, CIO_NO_DEADLINE, CIO_ALL_COMPLETED, NULL,
			NULL, NULL, NULL) == -ECANCELED) {
		stop_all(c);
		rc = -ECANCELED;
	}
	for (unsigned i = 0; i < n; i++)
		if (rc == 0 && (e = cio_future_error(futs[i])) < 0)
			rc = e;
	return rc;
}

intptr_t cp_main_task(void *arg)
{
	struct cp_ctx *c = arg;
	cio_future **futs = NULL;
	cio_task *progress = NULL;
	struct cp_job *j;
	unsigned started = 0;
	int rc, wrc;

	c->t0 = cio_loop_time();
	c->nshards = cio_shard_count();
	/* Enough jobs queued to keep every worker busy while the walk
	 * reads the next directory; bounded, so memory stays flat. */
	rc = cio_chan_new(&c->jobs, sizeof(struct cp_job *),
			  4 * (size_t)c->o->files + 256);
	if (rc == 0 && (!(c->groups = calloc(c->nshards, sizeof(*c->groups))) ||
			!(futs = calloc(c->nshards, sizeof(*futs)))))
		rc = -ENOMEM;
	if (rc == 0)
		rc = cp_progress_start(c, &progress);
	while (rc == 0 && started < c->nshards &&
	       (rc = cio_submit_to(started, shard_workers, c,
				   &futs[started])) == 0)
		started++;
	if (rc < 0 && rc != -ECANCELED)
		cp_error(c, "cannot start: %s", strerror(-rc));
	else if (rc == 0)
		rc = plan_all(c);
	c->walk_done = true;
	if (rc < 0 && started)
		stop_all(c);
	if (c->jobs)
		cio_chan_close(c->jobs);
	if (started) {
		wrc = wait_workers(c, futs, started);
		if (rc == 0)
			rc = wrc;
	}
	if (rc == 0)
		cp_finish_dirs(c);
	cp_progress_stop(c, progress);
	/* Jobs an interrupt left behind. */
	while (c->jobs && cio_chan_try_recv(c->jobs, &j) == 0)
		cp_job_free(j);
	cio_chan_free(c->jobs);
	for (unsigned i = 0; i < started; i++)
		cio_future_unref(futs[i]);
	free(futs);
	free(c->groups);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	if (rc == -ECANCELED)
		return rc;
	return rc < 0 ? 1 : c->status;
}
