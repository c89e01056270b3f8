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

static void drop_job(void *item, void *arg)
{
	(void)arg;
	cp_job_free(item);
}

/* Start the workers: -files tasks in a group. */
static int start_workers(struct cp_ctx *c, cio_task_group **g)
{
	struct cio_task_opts to = { .name = "file" };
	int rc = cio_task_group_new(g);

	for (unsigned i = 0; rc == 0 && i < c->o->files; i++)
		rc = cio_task_group_spawn(*g, NULL, cp_worker_task, c, &to);
	return rc;
}

intptr_t cp_main_task(void *arg)
{
	struct cp_ctx *c = arg;
	/* Enough jobs queued to keep every worker busy while the walk
	 * reads the next directory; bounded, so memory stays flat. */
	struct cio_queue_opts qo = { .maxsize = 4 * (size_t)c->o->files + 256,
				     .drop = drop_job };
	cio_task_group *g = NULL;
	cio_task *progress = NULL;
	int rc, wrc;

	c->t0 = cio_loop_time();
	if ((rc = cio_queue_new(&c->jobs, &qo)) < 0 ||
	    (rc = cp_progress_start(c, &progress)) < 0 ||
	    (rc = start_workers(c, &g)) < 0)
		cp_error(c, "cannot start: %s", strerror(-rc));
	else
		rc = plan_all(c);
	c->walk_done = true;
	if (c->jobs)
		cio_queue_shutdown(c->jobs, rc < 0);
	if (g) {
		/* Interrupted: the workers stop in the middle of their
		 * files and remove the temporary copies. */
		if (rc < 0)
			cio_task_group_cancel(g);
		wrc = cio_task_group_wait(g);
		if (rc == 0)
			rc = wrc;
		cio_task_group_free(g);
	}
	if (rc == 0)
		cp_finish_dirs(c);
	cp_progress_stop(c, progress);
	cio_queue_free(c->jobs);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i].path);
	free(c->dirs);
	while (c->npool)
		cio_aligned_free(c->pool[--c->npool]);
	free(c->pool);
	if (rc == -ECANCELED)
		return rc;
	return rc < 0 ? 1 : c->status;
}
