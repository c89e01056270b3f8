/* coreio-cp — directory trees: make the destination directories, queue
 * a job for everything else, and give the directories their mode and
 * times at the end.
 *
 * The walk runs in the main task, ahead of the file workers, and waits
 * only when the job channel is full (its bound keeps memory flat however
 * big the tree is). A directory is read to the end and closed before
 * its subdirectories are entered, so the walk holds one directory
 * stream at a time, not one per level. Reading a directory and lstat()
 * are plain system calls (coreio has no getdents operation; both are
 * served from the dentry cache in microseconds), mkdir is cio_mkdir().
 *
 * Directories are made with mode 0700 so that the copy can fill them
 * whatever their source mode (a 0555 directory could not be written
 * into). Their own mode and times are set last, deepest first, once
 * nothing will be created in them any more: creating an entry changes a
 * directory's mtime.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

char *cp_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);

	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	/* "dir/" + "x" is "dir/x", not "dir//x". */
	if (dl && dir[dl - 1] != '/')
		p[dl++] = '/';
	memcpy(p + dl, name, nl + 1);
	return p;
}

int cp_put_job(struct cp_ctx *c, const char *src, const char *dst,
	       const struct stat *st, unsigned flags)
{
	size_t sl = strlen(src) + 1, dl = strlen(dst) + 1;
	struct cp_job *j = malloc(sizeof(*j) + sl + dl);
	int rc;

	if (!j)
		return -ENOMEM;
	j->src = (char *)(j + 1);
	j->dst = j->src + sl;
	memcpy(j->src, src, sl);
	memcpy(j->dst, dst, dl);
	j->st = *st;
	j->flags = flags;
	c->files_total++;
	if (S_ISREG(st->st_mode))
		c->bytes_total += (uint64_t)st->st_size;
	if ((rc = cio_chan_send(c->jobs, &j, CIO_NO_DEADLINE)) < 0)
		free(j);
	return rc;
}

void cp_job_free(struct cp_job *j)
{
	free(j);
}

static int add_dir(struct cp_ctx *c, const char *path, const struct stat *st)
{
	if (c->ndirs == c->capdirs) {
		size_t cap = c->capdirs ? c->capdirs * 2 : 64;
		struct cp_dir *d = realloc(c->dirs, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		c->dirs = d;
		c->capdirs = cap;
	}
	if (!(c->dirs[c->ndirs].path = strdup(path)))
		return -ENOMEM;
	c->dirs[c->ndirs++].st = *st;
	return 0;
}

/* Make (or adopt) the directory dst for the source directory with stat
 * *st. 0 and *fresh (made now: nothing to check inside); -ECANCELED; 1
 * after a reported failure. */
static int make_dir(struct cp_ctx *c, const char *src, const char *dst,
		    const struct stat *st, bool *fresh)
{
	struct stat d;
	int rc = cio_mkdir(dst, S_IRWXU);

	if (rc == -ECANCELED)
		return rc;
	*fresh = rc == 0;
	if (rc == -EEXIST) {
		/* Merge into a directory (or a symlink to one), as cp. */
		if (stat(dst, &d) == 0 && S_ISDIR(d.st_mode))
			rc = 0;
		else {
			cp_error(c, "cannot overwrite non-directory '%s' with "
				 "directory '%s'", dst, src);
			return 1;
		}
	}
	if (rc < 0) {
		cp_error(c, "cannot create directory '%s': %s", dst,
			 strerror(-rc));
		return 1;
	}
	if (add_dir(c, dst, st) < 0) {
		cp_error(c, "'%s': %s", dst, strerror(ENOMEM));
		return 1;
	}
	return 0;
}

/* The names in directory src, without "." and "..", into *out and *n
 * (what could be read, also after an error); 0 or a negative errno. */
static int list_dir(const char *src, char ***out, size_t *n)
{
	char **v = NULL;
	size_t len = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(src);
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return -errno;
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			rc = -errno;
			break;
		}
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] ||
		     (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		if (!(v[len] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		len++;
	}
	closedir(d);
	*out = v;
	*n = len;
	return rc;
}

static int walk_dir(struct cp_ctx *c, const char *src, const char *dst,
		    bool fresh)
{
	char **v;
	size_t n, i;
	int rc = list_dir(src, &v, &n);

	if (rc < 0)
		cp_error(c, "cannot read directory '%s': %s", src,
			 strerror(-rc));
	/* Copy what could be listed even after an error. */
	for (i = 0, rc = 0; i < n && rc != -ECANCELED; i++) {
		char *s = cp_join(src, v[i]), *t = cp_join(dst, v[i]);
		struct stat st;
		bool sub_fresh;

		rc = 0;
		if (!s || !t)
			cp_error(c, "'%s': %s", src, strerror(ENOMEM));
		else if (lstat(s, &st) < 0)
			cp_error(c, "cannot stat '%s': %s", s, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			rc = cp_put_job(c, s, t, &st,
					fresh ? 0 : CP_JOB_CHECK_DST);
		else if ((rc = make_dir(c, s, t, &st, &sub_fresh)) == 0)
			rc = walk_dir(c, s, t, sub_fresh);
		if (rc == -ENOMEM)
			cp_error(c, "'%s': %s", s, strerror(ENOMEM));
		free(s);
		free(t);
	}
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc == -ECANCELED ? rc : 0;
}

int cp_walk(struct cp_ctx *c, const char *src, const char *dst,
	    const struct stat *st)
{
	bool fresh;
	int rc = make_dir(c, src, dst, st, &fresh);

	if (rc != 0)
		return rc == -ECANCELED ? rc : 0;
	return walk_dir(c, src, dst, fresh);
}

void cp_finish_dirs(struct cp_ctx *c)
{
	for (size_t i = c->ndirs; i-- > 0;) {
		int rc = cp_set_meta_path(c, c->dirs[i].path, &c->dirs[i].st);
		if (rc < 0)
			cp_error(c, "preserving mode and times of '%s': %s",
				 c->dirs[i].path, strerror(-rc));
	}
}
