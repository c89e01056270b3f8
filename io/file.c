/* Awaitable file operations: fill an operation record on the caller's
 * stack, submit, park until the completion (task_await.c). */
#include "io/file.h"
#include "io/io_internal.h"
#include "io/op.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int cio__op_drop_fd(struct cio__op *op, int fd)
{
	(void)op;
	close(fd);
	return cio__task_check_cancel(cio__tls_task) ?: -ECANCELED;
}

static intptr_t await_op(struct cio__op *op)
{
	return cio__op_await(op);
}

static int open_op(int dirfd, const char *path, int flags, mode_t mode,
		   uint64_t resolve)
{
	struct cio__op op;
	intptr_t r;

	if (!path)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_OPENAT, dirfd, CIO_NO_DEADLINE);
	op.a.open.path = path;
	op.a.open.flags = flags | O_CLOEXEC;
	op.a.open.mode = mode;
	op.a.open.how.flags = (uint64_t)op.a.open.flags;
	/* openat2 refuses a mode without a flag that creates. */
	op.a.open.how.mode = flags & (O_CREAT | O_TMPFILE) ? mode : 0;
	op.a.open.how.resolve = resolve;
	r = await_op(&op);
	if (r >= 0 && op.cancel_sent)
		return cio__op_drop_fd(&op, (int)r);
	if (r >= 0)
		cio__io_fd_new(cio__tls_task->fut.loop, (int)r);
	return (int)r;
}

int cio_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return open_op(dirfd, path, flags, mode, 0);
}

int cio_openat2(int dirfd, const char *path, int flags, mode_t mode,
		uint64_t resolve)
{
	return open_op(dirfd, path, flags, mode, resolve);
}

int cio_open(const char *path, int flags, mode_t mode)
{
	return cio_openat(AT_FDCWD, path, flags, mode);
}

static ssize_t rw(enum cio__op_kind kind, int fd, void *buf, size_t len,
		  int64_t off, int64_t deadline)
{
	struct cio__op op;
	int ret = cio__op_init_buf(&op, kind, fd, buf, &len, deadline);

	if (ret < 0)
		return ret;
	op.a.rw.buf = buf;
	op.a.rw.len = len;
	op.a.rw.off = off < 0 ? -1 : off;
	return (ssize_t)await_op(&op);
}

ssize_t cio_read(int fd, void *buf, size_t len, int64_t off, int64_t deadline)
{
	return rw(CIO__OP_READ, fd, buf, len, off, deadline);
}

ssize_t cio_write(int fd, const void *buf, size_t len, int64_t off,
		  int64_t deadline)
{
	return rw(CIO__OP_WRITE, fd, (void *)buf, len, off, deadline);
}

static ssize_t rwv(enum cio__op_kind kind, int fd, const struct iovec *iov,
		   int cnt, int64_t off, int64_t deadline)
{
	struct cio__op op;

	if (fd < 0)
		return -EBADF;
	if (cnt < 0 || cnt > IOV_MAX || (!iov && cnt))
		return -EINVAL;
	cio__op_init(&op, kind, fd, deadline);
	op.a.rwv.iov = iov;
	op.a.rwv.cnt = cnt;
	op.a.rwv.off = off < 0 ? -1 : off;
	return (ssize_t)await_op(&op);
}

ssize_t cio_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off,
		  int64_t deadline)
{
	return rwv(CIO__OP_READV, fd, iov, iovcnt, off, deadline);
}

ssize_t cio_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off,
		   int64_t deadline)
{
	return rwv(CIO__OP_WRITEV, fd, iov, iovcnt, off, deadline);
}

static ssize_t rw_all(enum cio__op_kind kind, int fd, char *buf, size_t len,
		      int64_t off, int64_t deadline, size_t *done)
{
	size_t n = 0;
	ssize_t r = 0;

	while (n < len) {
		r = rw(kind, fd, buf + n, len - n, off < 0 ? -1 : off + (int64_t)n,
		       deadline);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (done)
		*done = n;
	if (r < 0)
		return r;
	/* A write that moves nothing would loop forever: report it. */
	if (kind == CIO__OP_WRITE && n < len)
		return -EIO;
	return (ssize_t)n;
}

ssize_t cio_read_all(int fd, void *buf, size_t len, int64_t off,
		     int64_t deadline, size_t *done)
{
	return rw_all(CIO__OP_READ, fd, buf, len, off, deadline, done);
}

ssize_t cio_write_all(int fd, const void *buf, size_t len, int64_t off,
		      int64_t deadline, size_t *done)
{
	return rw_all(CIO__OP_WRITE, fd, (char *)buf, len, off, deadline, done);
}

static int fsync_op(int fd, unsigned flags)
{
	struct cio__op op;

	if (fd < 0)
		return -EBADF;
	cio__op_init(&op, CIO__OP_FSYNC, fd, CIO_NO_DEADLINE);
	op.a.fsync.flags = flags;
	return (int)await_op(&op);
}

int cio_fsync(int fd)
{
	return fsync_op(fd, 0);
}

int cio_fdatasync(int fd)
{
	return fsync_op(fd, 1u /* IORING_FSYNC_DATASYNC */);
}

int cio_fallocate(int fd, int mode, int64_t off, int64_t len)
{
	struct cio__op op;

	if (fd < 0)
		return -EBADF;
	if (off < 0 || len <= 0)
		return -EINVAL;
	cio__op_init(&op, CIO__OP_FALLOCATE, fd, CIO_NO_DEADLINE);
	op.a.falloc.mode = mode;
	op.a.falloc.off = off;
	op.a.falloc.len = len;
	return (int)await_op(&op);
}

int cio_statx(int dirfd, const char *path, int flags, unsigned mask,
	      struct statx *buf)
{
	struct cio__op op;

	if (!path || !buf)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_STATX, dirfd, CIO_NO_DEADLINE);
	op.a.statx.path = path;
	op.a.statx.flags = flags;
	op.a.statx.mask = mask;
	op.a.statx.buf = buf;
	return (int)await_op(&op);
}

int cio_unlinkat(int dirfd, const char *path, int flags)
{
	struct cio__op op;

	if (!path)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_UNLINKAT, dirfd, CIO_NO_DEADLINE);
	op.a.unlink.path = path;
	op.a.unlink.flags = flags;
	return (int)await_op(&op);
}

int cio_unlink(const char *path)
{
	return cio_unlinkat(AT_FDCWD, path, 0);
}

int cio_rename(const char *oldpath, const char *newpath)
{
	struct cio__op op;

	if (!oldpath || !newpath)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_RENAMEAT, AT_FDCWD, CIO_NO_DEADLINE);
	op.a.rename.oldpath = oldpath;
	op.a.rename.newdfd = AT_FDCWD;
	op.a.rename.newpath = newpath;
	return (int)await_op(&op);
}

int cio_linkat(int olddirfd, const char *oldpath, int newdirfd,
	       const char *newpath, int flags)
{
	struct cio__op op;

	if (!oldpath || !newpath)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_LINKAT, olddirfd, CIO_NO_DEADLINE);
	op.a.rename.oldpath = oldpath;
	op.a.rename.newdfd = newdirfd;
	op.a.rename.newpath = newpath;
	op.a.rename.flags = (unsigned)flags;
	return (int)await_op(&op);
}

int cio_mkdir(const char *path, mode_t mode)
{
	struct cio__op op;

	if (!path)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_MKDIRAT, AT_FDCWD, CIO_NO_DEADLINE);
	op.a.mkdir.path = path;
	op.a.mkdir.mode = mode;
	return (int)await_op(&op);
}

ssize_t cio_splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out,
		   size_t len, unsigned flags, int64_t deadline)
{
	struct cio__op op;

	if (fd_in < 0 || fd_out < 0)
		return -EBADF;
	if (len > INT32_MAX)
		len = INT32_MAX;
	cio__op_init(&op, CIO__OP_SPLICE, fd_in, deadline);
	op.a.splice.fd_out = fd_out;
	op.a.splice.off_in = off_in < 0 ? -1 : off_in;
	op.a.splice.off_out = off_out < 0 ? -1 : off_out;
	op.a.splice.len = len;
	op.a.splice.flags = flags;
	return (ssize_t)await_op(&op);
}

int cio_close(int fd)
{
	struct cio__op op;
	cio_loop *loop;

	if (fd < 0)
		return -EBADF;
	/* Outside a task (cleanup after the loop ran) close on the spot;
	 * nothing of ours can be in flight on it then. */
	if (!cio__tls_task) {
		if ((loop = cio_loop_current()) && !loop->closed)
			cio__io_fd_new(loop, fd); /* forget it */
		return close(fd) < 0 ? -errno : 0;
	}
	loop = cio__tls_task->fut.loop;
	cio__io_fd_closing(loop, fd);
	cio__op_init(&op, CIO__OP_CLOSE, fd, CIO_NO_DEADLINE);
	/* A close is not cancellable: the descriptor would be left in an
	 * unknown state. A pending cancel is delivered by the next await. */
	return (int)cio__op_await_uncancellable(&op);
}

void *cio_aligned_alloc(size_t size)
{
	void *p;
	size_t n = (size + CIO_DIRECT_ALIGN - 1) & ~(size_t)(CIO_DIRECT_ALIGN - 1);

	if (n < size || posix_memalign(&p, CIO_DIRECT_ALIGN, n ? n : CIO_DIRECT_ALIGN))
		return NULL;
	return p;
}

void cio_aligned_free(void *p)
{
	free(p);
}
