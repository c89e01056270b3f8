/* flags — saving a flag (flags2_common.save_flag), two ways to compare:
 *
 * - FL_SAVE_URING: cio_open, cio_write_all, cio_close, cio_rename. On
 *   io_uring each is one SQE and no thread is involved; on the epoll
 *   backend coreio itself runs them on the executor (regular files are
 *   never "ready").
 * - FL_SAVE_EXECUTOR: the book's fix for a blocking save_flag(),
 *   loop.run_in_executor(None, save_flag, ...): plain open(2), write(2),
 *   close(2) and rename(2) in one job on the default executor's threads.
 *
 * The bytes go to "<path>.part", renamed to path once complete: OUTDIR
 * never holds a truncated flag that looks downloaded, even when the run
 * is interrupted in the middle of a write (or of an open, which creates
 * the file before its cancellation is noticed), and a flag saved by an
 * earlier run stays until a whole new one replaces it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flags.h"

#define FILE_MODE 0644
#define OPEN_FLAGS (O_WRONLY | O_CREAT | O_TRUNC)

#define PART ".part"

static int save_uring(const char *path, const char *tmp, const void *data,
		      size_t len)
{
	int fd = cio_open(tmp, OPEN_FLAGS, FILE_MODE);
	ssize_t n = 0;
	int ret;

	if (fd >= 0) {
		n = cio_write_all(fd, data, len, 0, CIO_NO_DEADLINE, NULL);
		ret = cio_close(fd);
		if (n < 0)
			ret = (int)n;
		if (ret == 0)
			ret = cio_rename(tmp, path);
	} else {
		ret = fd;
	}
	/* Plain unlink(2), not cio_unlink(): after a cancellation that
	 * would return -ECANCELED without unlinking. */
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/* One job for the executor. It owns itself and frees itself: a task
 * cancelled in cio_to_thread() returns at once while the job may still
 * run (executor.h, ownership rule 4), so nothing of it may live on the
 * task's stack. */
struct save_job {
	size_t len;
	char *path, *tmp; /* point into data[] after the flag's bytes */
	char data[];
};

static intptr_t save_blocking(void *arg)
{
	struct save_job *j = arg;
	int fd = open(j->tmp, OPEN_FLAGS | O_CLOEXEC, FILE_MODE);
	size_t off = 0;
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		free(j);
		return ret;
	}
	while (off < j->len) {
		ssize_t n = write(fd, j->data + off, j->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(j->tmp, j->path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(j->tmp);
	free(j);
	return ret;
}

static int save_executor(const char *path, const char *tmp,
			 const void *data, size_t len)
{
	size_t plen = strlen(path) + 1, tlen = strlen(tmp) + 1;
	struct save_job *j = malloc(sizeof(*j) + len + plen + tlen);
	cio_future *job, *shield;
	int ret;

	if (!j)
		return -ENOMEM;
	j->len = len;
	memcpy(j->data, data, len);
	j->path = j->data + len;
	memcpy(j->path, path, plen);
	j->tmp = j->path + plen;
	memcpy(j->tmp, tmp, tlen);
	if ((ret = cio_run_in_executor(&job, NULL, save_blocking, j)) < 0) {
		free(j); /* on error the job will not run */
		return ret;
	}
	/* Awaiting the job's own future would cancel it when this task is
	 * cancelled, and a job taken out of the queue never runs: nobody
	 * would free j. Behind a shield it always runs, and frees j. */
	if ((ret = cio_shield(job, &shield)) < 0) {
		cio_future_unref(job); /* the job runs all the same */
		return ret;
	}
	ret = (int)cio_await(shield);
	cio_future_unref(shield);
	cio_future_unref(job);
	return ret;
}

int fl_save(enum fl_save_mode mode, const char *path, const void *data,
	    size_t len)
{
	char tmp[4096 + sizeof(PART)];

	if (snprintf(tmp, sizeof(tmp), "%s" PART, path) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (mode == FL_SAVE_EXECUTOR)
		return save_executor(path, tmp, data, len);
	return save_uring(path, tmp, data, len);
}

int fl_make_dirs(const char *dir)
{
	char path[4096];
	size_t len = strlen(dir);
	struct stat st;

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		path[i] = c;
	}
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}
