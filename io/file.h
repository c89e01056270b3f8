/* coreio — awaitable file operations.
 *
 * On io_uring every call here is one SQE: the kernel does the work (page
 * cache or device), no thread pool is involved. On the epoll backend they
 * run on the executor (runtime/executor.h), as libuv does.
 *
 * Rules:
 *  1. Each function must be called from a task (cio_spawn()); outside one
 *     it returns -EPERM. It parks the task until the operation is done.
 *  2. Results are counts or descriptors (>= 0) or negative errno values.
 *  3. Buffers and paths passed in must stay valid until the call returns;
 *     the operation record lives on the calling task's stack, so I/O
 *     allocates nothing.
 *  4. Cancelling the task (or a timeout scope expiring) cancels the
 *     operation in the kernel, and the call still waits for the kernel's
 *     completion before it returns: a buffer is never written after the
 *     call returns. If the operation completed anyway, its real result is
 *     returned and the cancellation is delivered by the next await —
 *     except cio_open(), which closes the descriptor it got and returns
 *     -ECANCELED, so a cancelled open never leaks.
 *  5. `deadline` is absolute (cio_loop_time() base; CIO_NO_DEADLINE for
 *     none). Expiry returns -ETIMEDOUT. On io_uring it is a linked timeout.
 *  6. Offsets: `off` >= 0 reads or writes at that offset (pread/pwrite);
 *     -1 uses and advances the file position (pipes, ttys, sockets).
 *  7. Descriptors given to coreio operations must be closed with
 *     cio_close() (see there).
 */
#ifndef CIO_IO_FILE_H
#define CIO_IO_FILE_H

#include <sys/types.h>
#include <sys/uio.h>

#include "runtime/common.h"

CIO_BEGIN_DECLS

struct statx;

/* openat(2) relative to the working directory, O_CLOEXEC always added.
 * Returns the descriptor. */
int cio_open(const char *path, int flags, mode_t mode);
int cio_openat(int dirfd, const char *path, int flags, mode_t mode);
/* openat2(2) with `resolve` (RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS... of
 * <linux/openat2.h>), O_CLOEXEC added; resolve 0 is cio_openat(). On
 * io_uring, IORING_OP_OPENAT2. -EXDEV when the path leaves what
 * RESOLVE_BENEATH allows, -ELOOP for a link RESOLVE_NO_SYMLINKS refuses,
 * -EINVAL for flags openat2 does not know. */
int cio_openat2(int dirfd, const char *path, int flags, mode_t mode,
		uint64_t resolve);

ssize_t cio_read(int fd, void *buf, size_t len, int64_t off,
		 int64_t deadline);
ssize_t cio_write(int fd, const void *buf, size_t len, int64_t off,
		  int64_t deadline);
/* At most IOV_MAX (1024) segments. */
ssize_t cio_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off,
		  int64_t deadline);
ssize_t cio_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off,
		   int64_t deadline);

/* Loop over short transfers. cio_read_all returns the bytes read, fewer
 * than `len` only at end of file; cio_write_all returns `len`. On an
 * error after some progress, the error is returned (the bytes moved are
 * reported through `*done` when it is not NULL). With `off` >= 0 the
 * offset advances with each transfer. */
ssize_t cio_read_all(int fd, void *buf, size_t len, int64_t off,
		     int64_t deadline, size_t *done);
ssize_t cio_write_all(int fd, const void *buf, size_t len, int64_t off,
		      int64_t deadline, size_t *done);

int cio_fsync(int fd);
int cio_fdatasync(int fd);
int cio_fallocate(int fd, int mode, int64_t off, int64_t len);
/* statx(2); `buf` is a struct statx from <sys/stat.h> (_GNU_SOURCE). */
int cio_statx(int dirfd, const char *path, int flags, unsigned mask,
	      struct statx *buf);
int cio_unlink(const char *path);
/* unlinkat(2): AT_REMOVEDIR in `flags` removes a directory. */
int cio_unlinkat(int dirfd, const char *path, int flags);
int cio_rename(const char *oldpath, const char *newpath);
/* linkat(2): a new name, newpath, for oldpath; AT_SYMLINK_FOLLOW in
 * `flags` links what a symlink oldpath points to. With AT_EMPTY_PATH and
 * oldpath "", the file open as olddirfd gets the name: how an O_TMPFILE
 * file is given its first one (allowed to its opener since Linux 6.10,
 * before only with CAP_DAC_READ_SEARCH: -ENOENT otherwise). On io_uring,
 * IORING_OP_LINKAT (Linux 5.15; -EINVAL before). */
int cio_linkat(int olddirfd, const char *oldpath, int newdirfd,
	       const char *newpath, int flags);
int cio_mkdir(const char *path, mode_t mode);

/* splice(2) between a pipe and anything; `off_*` -1 for "no offset"
 * (pipes must have -1). Returns bytes moved, 0 at end of input. */
ssize_t cio_splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out,
		   size_t len, unsigned flags, int64_t deadline);

/* Close `fd`. Operations still in flight on it (in any task) are
 * cancelled first and complete with -ECANCELED; the descriptor is closed
 * after. Always use this, not close(2), for a descriptor coreio has
 * waited on: the epoll backend keeps it registered until then. */
int cio_close(int fd);

/* Memory for O_DIRECT: `size` rounded up to, and aligned on, 4096 bytes
 * (the largest logical block size in use). NULL when out of memory.
 * Release with cio_aligned_free(). */
void *cio_aligned_alloc(size_t size);
void cio_aligned_free(void *p);
#define CIO_DIRECT_ALIGN 4096

CIO_END_DECLS

#endif
