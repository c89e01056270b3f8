/* coreio-cp — the file workers, and the copy of one regular file.
 *
 * One file, step by step (every step that moves data, and the opens,
 * fallocate, link, close and rename, is a coreio operation: on io_uring
 * one SQE each, on epoll a job on the executor):
 *
 *   open the source; create ".NAME.coreio-cp.XXXXXX" beside the
 *   destination (O_EXCL, mode 0600) or, in a directory this run made, an
 *   unnamed file there (O_TMPFILE, the final mode); with --direct switch
 *   both to O_DIRECT; preallocate the size (a full file system fails
 *   here, before any data moves); copy through the window (window.c); cut
 *   the file to the size read (the preallocation, an O_DIRECT tail
 *   written as a whole block, or a source that shrank may have left it
 *   longer); --verify; mode, owner (as root) and times, where they
 *   differ; close and rename over the final name, or link the unnamed
 *   file under it and close.
 *
 * Any failure closes and unlinks the temporary file, names the file on
 * stderr and moves on to the next job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

static ssize_t copy_block(struct cp_window *w, void **bufs, int64_t off,
			  enum cp_side *side)
{
	struct cp_ctx *c = w->c;
	char *buf = bufs[0];
	ssize_t got, r;
	size_t len;

	if ((got = cp_read_block(w, w->src, buf, off)) <= 0) {
		*side = CP_SIDE_SRC;
		return got;
	}
	len = (size_t)got;
	if (w->dst_direct && len % CIO_DIRECT_ALIGN) {
		/* O_DIRECT writes whole blocks: write the tail padded with
		 * zeros; the file is cut to its size afterwards. */
		size_t full = (len + CIO_DIRECT_ALIGN - 1) &
			      ~(size_t)(CIO_DIRECT_ALIGN - 1);
		memset(buf + len, 0, full - len);
		len = full;
	}
	if (c->test_corrupt && off == 0)
		buf[0] ^= 1;
	r = cio_write_all(w->dst, buf, len, off, CIO_NO_DEADLINE, NULL);
	if (c->test_corrupt && off == 0)
		buf[0] ^= 1;
	if (r < 0) {
		*side = CP_SIDE_DST;
		return r;
	}
	if (off + (int64_t)len > w->written_end)
		w->written_end = off + (int64_t)len;
	c->bytes_done += (uint64_t)got;
	return got;
}

/* Switch fd to O_DIRECT. A file system that cannot do it (tmpfs on older
 * kernels, overlayfs, FUSE...) refuses with EINVAL: that file goes
 * through the page cache, and the run says so once. */
static bool set_direct(struct cp_ctx *c, int fd, const char *path)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0)
		return true;
	if (!atomic_exchange(&c->direct_warned, true))
		cp_note(c, "'%s': no O_DIRECT on this file system (%s); "
			"copying through the page cache", path,
			strerror(errno));
	return false;
}

/* Report a failure of the window (or of verify) on the right file. */
static void report(struct cp_ctx *c, const struct cp_job *j,
		   enum cp_side side, int rc)
{
	if (side == CP_SIDE_SRC)
		cp_error(c, "error reading '%s': %s", j->src, strerror(-rc));
	else
		cp_error(c, "error writing '%s': %s", j->dst, strerror(-rc));
}

/* Everything after the data: verify, metadata, close, rename. The
 * descriptor is closed here in every case. */
static int finish(struct cp_ctx *c, const struct cp_job *j,
		  struct cp_window *w, const char *tmp)
{
	int rc;

	if (c->o->verify && (rc = cp_verify(w)) != 0) {
		if (rc == 1)
			cp_error(c, "verify: '%s' and '%s' differ at byte "
				 "%lld; copy removed", j->src, j->dst,
				 (long long)w->mismatch);
		else if (rc != -ECANCELED)
			report(c, j, w->err_side, rc);
		cio_close(w->dst);
		return rc == 1 ? -EIO : rc;
	}
	if ((rc = cp_set_meta_fd(c, w->dst, &j->st)) < 0) {
		cp_error(c, "preserving mode and times of '%s': %s", j->dst,
			 strerror(-rc));
		cio_close(w->dst);
		return rc;
	}
	if (!tmp) {
		/* Named while still open: the name needs the descriptor. */
		if ((rc = cp_link_anon(w->dst, j->dst)) < 0) {
			if (rc != -ECANCELED)
				cp_error(c, "cannot create '%s': %s", j->dst,
					 strerror(-rc));
			cio_close(w->dst);
			return rc;
		}
		if ((rc = cio_close(w->dst)) < 0) {
			cp_error(c, "error writing '%s': %s", j->dst,
				 strerror(-rc));
			unlink(j->dst);
		}
		return rc;
	}
	/* close can report a failed write-back (NFS, quota). */
	if ((rc = cio_close(w->dst)) < 0) {
		cp_error(c, "error writing '%s': %s", j->dst, strerror(-rc));
		return rc;
	}
	if ((rc = cio_rename(tmp, j->dst)) < 0 && rc != -ECANCELED)
		cp_error(c, "cannot create '%s': %s", j->dst, strerror(-rc));
	return rc;
}

/* 0 or -ECANCELED (stop); other failures are reported here. */
static int copy_regular(struct cp_ctx *c, const struct cp_job *j)
{
	const struct cp_opts *o = c->o;
	struct cp_window w = { .c = c, .block = copy_block, .nbufs = 1,
			       .size_hint = j->st.st_size };
	int64_t cur_size = 0;
	char *tmp = NULL;
	int rc;

	if (cp_check_dst(c, j))
		return 0;
	/* In a tree the entry was a regular file when it was listed: do
	 * not follow a symlink that replaced it since. */
	w.src = cio_open(j->src, O_RDONLY |
			 (j->flags & CP_JOB_FOLLOW ? 0 : O_NOFOLLOW), 0);
	if (w.src < 0) {
		if (w.src != -ECANCELED)
			cp_error(c, "cannot open '%s': %s", j->src,
				 strerror(-w.src));
		return w.src == -ECANCELED ? w.src : 0;
	}
	/* In a directory this run made there is nothing to replace: an
	 * unnamed file, named when complete, saves the temporary name and
	 * the rename, two directory updates per file. */
	w.dst = -EOPNOTSUPP;
	if (!(j->flags & CP_JOB_CHECK_DST))
		w.dst = cp_create_anon(j->dst, o->verify ? O_RDWR : O_WRONLY,
				       j->st.st_mode & 0777);
	if (w.dst == -EOPNOTSUPP || w.dst == -EISDIR || w.dst == -EINVAL)
		w.dst = cp_create_temp(j->dst, o->verify ? O_RDWR : O_WRONLY,
				       &tmp);
	if (w.dst < 0) {
		if ((rc = w.dst) != -ECANCELED)
			cp_error(c, "cannot create '%s': %s", j->dst,
				 strerror(-rc));
		goto out;
	}
	if (o->direct) {
		w.src_direct = set_direct(c, w.src, j->src);
		w.dst_direct = set_direct(c, w.dst, j->dst);
	}
	/* Small files skip it: one more operation per file, for nothing. */
	if (j->st.st_size > (off_t)o->bs) {
		rc = cio_fallocate(w.dst, 0, 0, j->st.st_size);
		if (rc == 0)
			cur_size = j->st.st_size;
		else if (rc != -EOPNOTSUPP && rc != -ENOSYS)
			goto failed_write;
	}
	if ((rc = cp_window_run(&w)) < 0) {
		if (rc != -ECANCELED)
			report(c, j, w.err_side, rc);
		goto failed;
	}
	if (w.written_end > cur_size)
		cur_size = w.written_end;
	if (cur_size != w.eof && ftruncate(w.dst, w.eof) < 0) {
		rc = -errno;
		goto failed_write;
	}
	if ((rc = finish(c, j, &w, tmp)) < 0) {
		w.dst = -1; /* closed by finish() */
		goto failed;
	}
	c->files_done++;
	goto out;

failed_write:
	if (rc != -ECANCELED)
		cp_error(c, "error writing '%s': %s", j->dst, strerror(-rc));
failed:
	if (w.dst >= 0)
		cio_close(w.dst);
	/* Plain unlink: a cancellation still pending would make
	 * cio_unlink() return at once and leave the file. */
	if (tmp)
		unlink(tmp);
out:
	cio_close(w.src);
	free(tmp);
	return rc == -ECANCELED ? rc : 0;
}

intptr_t cp_worker_task(void *arg)
{
	struct cp_ctx *c = arg;
	struct cp_job *j;
	int rc;

	while ((rc = cio_chan_recv(c->jobs, &j, CIO_NO_DEADLINE)) == 0) {
		if (S_ISREG(j->st.st_mode))
			rc = copy_regular(c, j);
		else
			rc = cp_copy_special(c, j);
		cp_job_free(j);
		if (rc == -ECANCELED)
			return rc;
	}
	/* Closed and empty: the walk is over. */
	return rc == -EPIPE ? 0 : rc;
}
