/* coreio-cp — names and metadata: temporary names, mode/owner/times,
 * the checks on an existing destination, and the entries that have no
 * contents to copy (symlinks, FIFOs, sockets, device nodes).
 *
 * coreio has no fchmod/fchown/futimens/symlinkat/readlinkat/mknodat
 * operations; these are metadata calls that do not touch file data, so
 * they are plain system calls here, made on the loop's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cp.h"

/* Room left for ".<name>.coreio-cp.XXXXXX" within NAME_MAX. */
#define TEMP_NAME_KEEP (NAME_MAX - 24)

/* xorshift64*: the suffix only has to be unlikely to collide; O_EXCL
 * settles the rest. */
static uint64_t next_random(void)
{
	static uint64_t s;

	if (!s) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		    ((uint64_t)getpid() << 40) ^ 0x9e3779b97f4a7c15ull;
	}
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

char *cp_temp_name(const char *dst)
{
	static const char set[] = "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const char *slash = strrchr(dst, '/');
	const char *base = slash ? slash + 1 : dst;
	size_t dirlen = (size_t)(base - dst);
	size_t blen = strlen(base);
	uint64_t r = next_random();
	char suffix[7], *out;

	if (blen > TEMP_NAME_KEEP)
		blen = TEMP_NAME_KEEP;
	for (int i = 0; i < 6; i++, r /= sizeof(set) - 1)
		suffix[i] = set[r % (sizeof(set) - 1)];
	suffix[6] = '\0';
	if (!(out = malloc(dirlen + blen + 32)))
		return NULL;
	sprintf(out, "%.*s.%.*s.coreio-cp.%s", (int)dirlen, dst, (int)blen,
		base, suffix);
	return out;
}

int cp_create_temp(const char *dst, int flags, char **tmp)
{
	for (int tries = 0; tries < 32; tries++) {
		char *name = cp_temp_name(dst);
		int fd;

		if (!name)
			return -ENOMEM;
		/* 0600 while it is being written: nobody else reads a
		 * partial copy; the final mode comes after the data. */
		fd = cio_open(name, flags | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			*tmp = name;
			return fd;
		}
		/* A cancelled open may have created the file before the
		 * cancellation reached it. */
		if (fd == -ECANCELED)
			unlink(name);
		free(name);
		if (fd != -EEXIST)
			return fd;
	}
	return -EEXIST;
}

char *cp_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

int cp_create_anon(const char *dst, int flags, mode_t mode)
{
	char *dir = cp_dir_of(dst);
	int fd;

	if (!dir)
		return -ENOMEM;
	fd = cio_open(dir, flags | O_TMPFILE, mode);
	free(dir);
	return fd;
}

/* Give the unnamed file fd the name `name`. AT_EMPTY_PATH needs
 * CAP_DAC_READ_SEARCH before Linux 6.10; /proc/self/fd does not. */
static int link_fd(int fd, const char *name)
{
	char proc[32];
	int rc = cio_linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH);

	if (rc != -ENOENT && rc != -EPERM)
		return rc;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return cio_linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

int cp_link_anon(int fd, const char *dst)
{
	int rc = link_fd(fd, dst);

	if (rc != -EEXIST)
		return rc;
	/* Something took the name since its directory was made: replace
	 * it as a named temporary file would, by rename. */
	for (int tries = 0; tries < 32; tries++) {
		char *tmp = cp_temp_name(dst);
		if (!tmp)
			return -ENOMEM;
		rc = link_fd(fd, tmp);
		if (rc == 0 && (rc = cio_rename(tmp, dst)) < 0)
			unlink(tmp);
		free(tmp);
		if (rc != -EEXIST)
			return rc;
	}
	return -EEXIST;
}

static void times_of(const struct stat *st, struct timespec ts[2])
{
	ts[0] = st->st_atim;
	ts[1] = st->st_mtim;
}

int cp_set_meta_fd(struct cp_ctx *c, int fd, const struct stat *st)
{
	struct timespec ts[2];
	struct stat now;

	/* What the file has already is not set again: each of these calls
	 * dirties the inode, an fstat does not, and in a tree of small
	 * files they are a good part of the work. */
	if (fstat(fd, &now) < 0)
		return -errno;
	/* chown before chmod: a chown clears the set-user-ID bit. */
	if (c->root && (now.st_uid != st->st_uid || now.st_gid != st->st_gid)) {
		if (fchown(fd, st->st_uid, st->st_gid) < 0)
			return -errno;
		now.st_mode = ~st->st_mode; /* the mode may have changed */
	}
	if ((now.st_mode & 07777) != (st->st_mode & 07777) &&
	    fchmod(fd, st->st_mode & 07777) < 0)
		return -errno;
	times_of(st, ts);
	return futimens(fd, ts) < 0 ? -errno : 0;
}

int cp_set_meta_path(struct cp_ctx *c, const char *path,
		     const struct stat *st)
{
	struct timespec ts[2];

	if (c->root && lchown(path, st->st_uid, st->st_gid) < 0)
		return -errno;
	/* A symlink has no mode of its own (and Linux cannot set one). */
	if (!S_ISLNK(st->st_mode) && chmod(path, st->st_mode & 07777) < 0)
		return -errno;
	times_of(st, ts);
	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno
								      : 0;
}

int cp_check_dst(struct cp_ctx *c, const struct cp_job *j)
{
	struct stat d;

	if (!(j->flags & CP_JOB_CHECK_DST))
		return 0;
	if (lstat(j->dst, &d) < 0)
		return 0; /* nothing there (or the create will say why) */
	if (d.st_dev == j->st.st_dev && d.st_ino == j->st.st_ino) {
		cp_error(c, "'%s' and '%s' are the same file", j->src, j->dst);
		return 1;
	}
	if (S_ISDIR(d.st_mode)) {
		cp_error(c, "cannot overwrite directory '%s' with "
			 "non-directory", j->dst);
		return 1;
	}
	return 0;
}

/* Make the entry under `tmp`: a copy of the symlink (its target given)
 * or special file. */
static int make_special(const struct cp_job *j, const char *target,
			const char *tmp)
{
	if (target)
		return symlink(target, tmp) < 0 ? -errno : 0;
	/* FIFO, socket, character or block device: a new node of the same
	 * kind (devices need root, as for cp). */
	return mknod(tmp, j->st.st_mode & (S_IFMT | 0600), j->st.st_rdev) < 0
		       ? -errno
		       : 0;
}

int cp_copy_special(struct cp_ctx *c, const struct cp_job *j)
{
	/* st_size is a link's target length, but /proc and some file
	 * systems say 0: read into a PATH_MAX buffer regardless. */
	char target[PATH_MAX + 1], *tmp = NULL;
	bool link = S_ISLNK(j->st.st_mode);
	int rc = 0;

	if (cp_check_dst(c, j))
		return 0;
	if (link) {
		ssize_t n = readlink(j->src, target, sizeof(target));
		if (n < 0 || (size_t)n == sizeof(target)) {
			int e = n < 0 ? errno : ENAMETOOLONG;
			cp_error(c, "cannot read symbolic link '%s': %s",
				 j->src, strerror(e));
			return 0;
		}
		target[n] = '\0';
	}
	for (int tries = 0; tries < 32; tries++) {
		free(tmp);
		if (!(tmp = cp_temp_name(j->dst))) {
			rc = -ENOMEM;
			break;
		}
		rc = make_special(j, link ? target : NULL, tmp);
		if (rc != -EEXIST)
			break;
	}
	if (rc < 0) {
		cp_error(c, "cannot create '%s': %s", j->dst, strerror(-rc));
		free(tmp);
		return 0;
	}
	if ((rc = cp_set_meta_path(c, tmp, &j->st)) < 0)
		cp_error(c, "preserving mode and times of '%s': %s", j->dst,
			 strerror(-rc));
	else if ((rc = cio_rename(tmp, j->dst)) < 0 && rc != -ECANCELED)
		cp_error(c, "cannot create '%s': %s", j->dst, strerror(-rc));
	if (rc < 0)
		unlink(tmp);
	else
		c->files_done++;
	free(tmp);
	return rc == -ECANCELED ? rc : 0;
}
