/* File operations on both backends: every call's normal path, short
 * transfers, O_DIRECT, bad input, deadlines, cancellation and close with
 * operations in flight. */
#include "helpers/harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TestSuite(file, .timeout = 30);

static char dir[64];

static void mkdir_tmp(void)
{
	strcpy(dir, "/tmp/cio-file-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static char *path(const char *name)
{
	static char buf[4][128];
	static int i;
	char *p = buf[i++ % 4];
	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

static intptr_t roundtrip(void *arg)
{
	(void)arg;
	char out[8192], in[8192];
	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7);
	int fd = cio_open(path("a"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	cr_assert_geq(fd, 0, "open: %d", fd);
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_assert_eq(cio_write(fd, out, sizeof(out), 0, CIO_NO_DEADLINE), 8192);
	cr_assert_eq(cio_fsync(fd), 0);
	cr_assert_eq(cio_fdatasync(fd), 0);
	memset(in, 0, sizeof(in));
	cr_assert_eq(cio_read(fd, in, sizeof(in), 0, CIO_NO_DEADLINE), 8192);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	/* at an offset, and past the end */
	cr_assert_eq(cio_read(fd, in, 100, 8150, CIO_NO_DEADLINE), 42);
	cr_assert_eq(memcmp(in, out + 8150, 42), 0);
	cr_assert_eq(cio_read(fd, in, 100, 9000, CIO_NO_DEADLINE), 0);
	/* file position: -1 */
	cr_assert_eq(cio_read(fd, in, 10, -1, CIO_NO_DEADLINE), 10);
	cr_assert_eq(cio_read(fd, in + 10, 10, -1, CIO_NO_DEADLINE), 10);
	cr_assert_eq(memcmp(in, out, 20), 0);
	/* vectors */
	char a[3], b[5];
	struct iovec iov[2] = { { a, 3 }, { b, 5 } };
	cr_assert_eq(cio_readv(fd, iov, 2, 1, CIO_NO_DEADLINE), 8);
	cr_assert_eq(memcmp(a, out + 1, 3), 0);
	cr_assert_eq(memcmp(b, out + 4, 5), 0);
	struct iovec wv[2] = { { "hello ", 6 }, { "world", 5 } };
	cr_assert_eq(cio_writev(fd, wv, 2, 8192, CIO_NO_DEADLINE), 11);
	cr_assert_eq(cio_read(fd, in, 11, 8192, CIO_NO_DEADLINE), 11);
	cr_assert_eq(memcmp(in, "hello world", 11), 0);
	/* fallocate, statx */
	cr_assert_eq(cio_fallocate(fd, 0, 0, 1 << 20), 0);
	struct statx st;
	cr_assert_eq(cio_statx(AT_FDCWD, path("a"), 0, STATX_SIZE, &st), 0);
	cr_assert_eq(st.stx_size, 1u << 20);
	cr_assert_eq(cio_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &st), 0);
	cr_assert_eq(cio_close(fd), 0);
	/* rename, mkdir, unlink */
	cr_assert_eq(cio_rename(path("a"), path("b")), 0);
	cr_assert_eq(cio_statx(AT_FDCWD, path("a"), 0, STATX_SIZE, &st), -ENOENT);
	cr_assert_eq(cio_mkdir(path("d"), 0700), 0);
	cr_assert_eq(cio_mkdir(path("d"), 0700), -EEXIST);
	cr_assert_eq(cio_unlink(path("b")), 0);
	cr_assert_eq(cio_unlink(path("b")), -ENOENT);
	cr_assert_eq(cio_unlinkat(AT_FDCWD, path("d"), AT_REMOVEDIR), 0);
	cr_assert_eq(cio_open(path("nope/x"), O_RDONLY, 0), -ENOENT);
	return 0;
}

Test(file, roundtrip)
{
	mkdir_tmp();
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, roundtrip, NULL), 0);
	th_loop_free(loop);
	rm_tmp();
}

static intptr_t bad_input(void *arg)
{
	(void)arg;
	char b[4];
	cr_assert_eq(cio_read(-1, b, 4, 0, CIO_NO_DEADLINE), -EBADF);
	cr_assert_eq(cio_write(-1, b, 4, 0, CIO_NO_DEADLINE), -EBADF);
	cr_assert_eq(cio_read(0, NULL, 4, 0, CIO_NO_DEADLINE), -EFAULT);
	cr_assert_eq(cio_readv(0, NULL, 1, 0, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_readv(0, NULL, -1, 0, CIO_NO_DEADLINE), -EINVAL);
	cr_assert_eq(cio_open(NULL, O_RDONLY, 0), -EFAULT);
	cr_assert_eq(cio_statx(AT_FDCWD, "/", 0, 0, NULL), -EFAULT);
	cr_assert_eq(cio_rename(NULL, "x"), -EFAULT);
	cr_assert_eq(cio_mkdir(NULL, 0), -EFAULT);
	cr_assert_eq(cio_unlink(NULL), -EFAULT);
	cr_assert_eq(cio_linkat(AT_FDCWD, NULL, AT_FDCWD, "x", 0), -EFAULT);
	cr_assert_eq(cio_linkat(AT_FDCWD, "x", AT_FDCWD, NULL, 0), -EFAULT);
	cr_assert_eq(cio_linkat(1000, "", AT_FDCWD, "/tmp/cio-never",
				AT_EMPTY_PATH), -EBADF);
	cr_assert_eq(cio_fallocate(-1, 0, 0, 1), -EBADF);
	cr_assert_eq(cio_fallocate(0, 0, -1, 1), -EINVAL);
	cr_assert_eq(cio_fsync(-1), -EBADF);
	cr_assert_eq(cio_close(-1), -EBADF);
	cr_assert_eq(cio_splice(-1, -1, 1, -1, 1, 0, CIO_NO_DEADLINE), -EBADF);
	/* a descriptor that is not open */
	cr_assert_eq(cio_read(1000, b, 4, 0, CIO_NO_DEADLINE), -EBADF);
	cr_assert_eq(cio_fsync(1000), -EBADF);
	return 0;
}

/* A second name for a file; an O_TMPFILE file named when complete. */
static intptr_t links(void *arg)
{
	struct stat a, b;
	int fd;

	(void)arg;
	fd = cio_open(path("a"), O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(cio_close(fd), 0);
	cr_assert_eq(cio_linkat(AT_FDCWD, path("a"), AT_FDCWD, path("b"), 0),
		     0);
	cr_assert_eq(stat(path("a"), &a), 0);
	cr_assert_eq(stat(path("b"), &b), 0);
	cr_assert_eq(a.st_ino, b.st_ino);
	cr_assert_eq(b.st_nlink, 2);
	cr_assert_eq(cio_linkat(AT_FDCWD, path("a"), AT_FDCWD, path("b"), 0),
		     -EEXIST);
	cr_assert_eq(cio_linkat(AT_FDCWD, path("none"), AT_FDCWD, path("c"),
				0),
		     -ENOENT);
	/* Relative to a directory descriptor. */
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(d, 0);
	cr_assert_eq(cio_linkat(d, "a", d, "c", 0), 0);
	cr_assert_eq(stat(path("c"), &b), 0);
	cr_assert_eq(a.st_ino, b.st_ino);
	close(d);

	fd = cio_open(dir, O_TMPFILE | O_WRONLY, 0640);
	if (fd == -EOPNOTSUPP || fd == -EISDIR)
		return 0; /* no O_TMPFILE where $dir is */
	cr_assert_geq(fd, 0, "O_TMPFILE: %d", fd);
	cr_assert_eq(cio_write(fd, "tmp", 3, 0, CIO_NO_DEADLINE), 3);
	int rc = cio_linkat(fd, "", AT_FDCWD, path("t"), AT_EMPTY_PATH);
	if (rc == -ENOENT) {
		/* Not allowed AT_EMPTY_PATH (before 6.10, no
		 * CAP_DAC_READ_SEARCH): the /proc/self/fd way. */
		char proc[32];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		rc = cio_linkat(AT_FDCWD, proc, AT_FDCWD, path("t"),
				AT_SYMLINK_FOLLOW);
	}
	cr_assert_eq(rc, 0, "linkat: %d", rc);
	cr_assert_eq(cio_close(fd), 0);
	cr_assert_eq(stat(path("t"), &b), 0);
	cr_assert_eq(b.st_size, 3);
	mode_t mask = umask(0);
	umask(mask);
	cr_assert_eq(b.st_mode & 0777, 0640 & ~mask);
	return 0;
}

Test(file, linkat)
{
	mkdir_tmp();
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, links, NULL), 0);
	th_loop_free(loop);
	rm_tmp();
}

Test(file, bad_input)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, bad_input, NULL), 0);
	th_loop_free(loop);
	char b[4];
	/* outside a task */
	cr_assert_eq(cio_read(0, b, 4, 0, CIO_NO_DEADLINE), -EPERM);
	cr_assert_eq(cio_open("/", O_RDONLY, 0), -EPERM);
	cr_assert_eq(cio_fsync(0), -EPERM);
}

/* A pipe with a one-page buffer: every transfer is short. */
struct pipe_ctx {
	int r, w;
	size_t len;
	char *src, *dst;
};

static intptr_t pipe_writer(void *arg)
{
	struct pipe_ctx *c = arg;
	size_t done = 0;
	ssize_t n = cio_write_all(c->w, c->src, c->len, -1, CIO_NO_DEADLINE,
				  &done);
	cr_assert_eq(n, (ssize_t)c->len);
	cr_assert_eq(done, c->len);
	return cio_close(c->w);
}

static intptr_t pipe_reader(void *arg)
{
	struct pipe_ctx *c = arg;
	ssize_t n = cio_read_all(c->r, c->dst, c->len + 10, -1,
				 CIO_NO_DEADLINE, NULL);
	cr_assert_eq(n, (ssize_t)c->len, "read_all stops at EOF: %zd", n);
	return cio_close(c->r);
}

Test(file, short_transfers_through_a_pipe)
{
	int p[2];
	struct pipe_ctx c = { .len = 1 << 20 };
	cr_assert_eq(pipe(p), 0);
	cr_assert_geq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
	c.r = p[0];
	c.w = p[1];
	c.src = malloc(c.len);
	c.dst = malloc(c.len + 10);
	for (size_t i = 0; i < c.len; i++)
		c.src[i] = (char)(i ^ (i >> 8));
	cio_loop *loop = th_loop_new();
	cio_task *w = th_spawn(loop, pipe_writer, &c, "writer");
	cio_task *r = th_spawn(loop, pipe_reader, &c, "reader");
	cr_assert_eq(cio_loop_run_until_complete(loop, (cio_future *)r), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, (cio_future *)w), 0);
	cr_assert_eq(memcmp(c.src, c.dst, c.len), 0);
	cio_task_unref(w);
	cio_task_unref(r);
	th_loop_free(loop);
	free(c.src);
	free(c.dst);
}

static intptr_t direct_io(void *arg)
{
	(void)arg;
	int fd = cio_open(path("direct"), O_CREAT | O_RDWR | O_DIRECT, 0600);
	if (fd == -EINVAL)
		return 1; /* tmpfs: no O_DIRECT here */
	cr_assert_geq(fd, 0);
	char *buf = cio_aligned_alloc(65536);
	cr_assert_not_null(buf);
	cr_assert_eq((uintptr_t)buf % CIO_DIRECT_ALIGN, 0);
	for (int i = 0; i < 65536; i++)
		buf[i] = (char)i;
	cr_assert_eq(cio_write(fd, buf, 65536, 0, CIO_NO_DEADLINE), 65536);
	memset(buf, 0, 65536);
	cr_assert_eq(cio_read(fd, buf, 65536, 0, CIO_NO_DEADLINE), 65536);
	for (int i = 0; i < 65536; i++)
		cr_assert_eq(buf[i], (char)i);
	/* misaligned buffer: the kernel refuses */
	cr_assert_eq(cio_read(fd, buf + 1, 4096, 0, CIO_NO_DEADLINE), -EINVAL);
	cio_aligned_free(buf);
	cr_assert_eq(cio_close(fd), 0);
	return 0;
}

Test(file, o_direct)
{
	/* /tmp may be tmpfs; the build directory is on a real filesystem. */
	char *cwd = getcwd(NULL, 0);
	snprintf(dir, sizeof(dir), "%s", "build");
	cio_loop *loop = th_loop_new();
	intptr_t r = th_run(loop, direct_io, NULL);
	cr_assert(r == 0 || r == 1);
	th_loop_free(loop);
	unlink("build/direct");
	free(cwd);
	cr_assert_null(cio_aligned_alloc(SIZE_MAX));
	void *p = cio_aligned_alloc(0);
	cr_assert_not_null(p);
	cio_aligned_free(p);
}

static intptr_t splice_task(void *arg)
{
	(void)arg;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	int in = cio_open(path("src"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	int out = cio_open(path("dst"), O_CREAT | O_RDWR | O_TRUNC, 0600);
	cr_assert_eq(cio_write(in, "0123456789", 10, 0, CIO_NO_DEADLINE), 10);
	cr_assert_eq(cio_splice(in, 2, p[1], -1, 6, 0, CIO_NO_DEADLINE), 6);
	cr_assert_eq(cio_splice(p[0], -1, out, 0, 6, 0, CIO_NO_DEADLINE), 6);
	char b[8] = { 0 };
	cr_assert_eq(cio_read(out, b, 8, 0, CIO_NO_DEADLINE), 6);
	cr_assert_str_eq(b, "234567");
	cio_close(p[0]);
	cio_close(p[1]);
	cio_close(in);
	cio_close(out);
	return 0;
}

Test(file, splice)
{
	mkdir_tmp();
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, splice_task, NULL), 0);
	th_loop_free(loop);
	rm_tmp();
}

/* Deadline on a read that cannot complete: an empty pipe. */
static intptr_t pipe_deadline(void *arg)
{
	int *p = arg;
	char b[4];
	int64_t t0 = cio_loop_time();
	ssize_t n = cio_read(p[0], b, 4, -1, cio_deadline_after(20 * CIO_NSEC_PER_MSEC));
	cr_assert_eq(n, -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - t0, 20 * CIO_NSEC_PER_MSEC);
	/* already expired, nothing ready */
	cr_assert_eq(cio_read(p[0], b, 4, -1, cio_deadline_after(-1)), -ETIMEDOUT);
	/* already expired, data ready: the data wins */
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(cio_read(p[0], b, 4, -1, cio_deadline_after(-1)), 1);
	return 0;
}

Test(file, read_deadline)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, pipe_deadline, p), 0);
	th_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* Cancelled opens never leak a descriptor: cancel each open at every
 * point from "not started" to "done", many times over. */
static intptr_t opener(void *arg)
{
	(void)arg;
	int fd = cio_open("/etc/hostname", O_RDONLY, 0);
	if (fd >= 0)
		cio_close(fd);
	return fd < 0 ? fd : 0;
}

static intptr_t open_storm(void *arg)
{
	(void)arg;
	enum { N = 200 };
	cio_task *t[N];
	int cancelled = 0;
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < N; i++)
			cr_assert_eq(cio_spawn(&t[i], opener, NULL, NULL), 0);
		/* cancel at varying points: some before they run, some
		 * parked in the kernel, some after */
		for (int i = 0; i < N; i++) {
			if (i % 3 == 0)
				cio_task_cancel(t[i]);
		}
		cio_yield();
		for (int i = 0; i < N; i++)
			if (i % 3 == 1)
				cio_task_cancel(t[i]);
		for (int i = 0; i < N; i++) {
			intptr_t r = cio_await((cio_future *)t[i]);
			cr_assert(r == 0 || r == -ECANCELED, "r=%ld", (long)r);
			cancelled += r == -ECANCELED;
			cio_future_unref((cio_future *)t[i]);
		}
	}
	cr_assert_gt(cancelled, 0);
	return 0;
}

Test(file, cancelled_opens_leak_nothing)
{
	cio_loop *loop = th_loop_new();
	int before = th_count_fds();
	cr_assert_eq(th_run(loop, open_storm, NULL), 0);
	cr_assert_eq(th_count_fds(), before);
	th_loop_free(loop);
}

/* cio_close() with a read parked on the descriptor: the read is cancelled
 * first and completes with -ECANCELED; the close succeeds. */
struct closer {
	int fd;
	ssize_t got;
};

static intptr_t blocked_reader(void *arg)
{
	struct closer *c = arg;
	char b[16];
	c->got = cio_read(c->fd, b, sizeof(b), -1, CIO_NO_DEADLINE);
	return 0;
}

static intptr_t close_in_flight(void *arg)
{
	struct closer *c = arg;
	cio_task *r;
	cr_assert_eq(cio_spawn(&r, blocked_reader, c, NULL), 0);
	cio_yield(); /* the reader parks in the kernel */
	cio_yield();
	cr_assert_eq(cio_close(c->fd), 0);
	cr_assert_eq(cio_await((cio_future *)r), 0);
	cio_future_unref((cio_future *)r);
	cr_assert(c->got == -ECANCELED || c->got == -EBADF, "got %zd", c->got);
	return 0;
}

Test(file, close_cancels_operations_in_flight)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct closer c = { .fd = p[0] };
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, close_in_flight, &c), 0);
	th_loop_free(loop);
	cr_assert_eq(fcntl(p[0], F_GETFD), -1, "read end closed");
	close(p[1]);
}

/* openat2: RESOLVE_BENEATH keeps a path under its directory, whatever
 * "..", absolute paths or links try. */
static intptr_t openat2_task(void *arg)
{
	(void)arg;
	int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(root, 0);
	cr_assert_eq(mkdir(path("in"), 0755), 0);
	int fd = open(path("in/f"), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(symlink("/etc/hostname", path("in/abs")), 0);
	cr_assert_eq(symlink("f", path("in/rel")), 0);
	uint64_t b = RESOLVE_BENEATH;

	fd = cio_openat2(root, "in/f", O_RDONLY, 0, b);
	cr_assert_geq(fd, 0);
	cr_assert_eq(cio_close(fd), 0);
	fd = cio_openat2(root, "in/rel", O_RDONLY, 0, b);
	cr_assert_geq(fd, 0);
	cr_assert_eq(cio_close(fd), 0);
	cr_assert_eq(cio_openat2(root, "../x", O_RDONLY, 0, b), -EXDEV);
	cr_assert_eq(cio_openat2(root, "/etc/hostname", O_RDONLY, 0, b),
		     -EXDEV);
	cr_assert_eq(cio_openat2(root, "in/abs", O_RDONLY, 0, b), -EXDEV);
	cr_assert_eq(cio_openat2(root, "in/rel", O_RDONLY, 0,
				 b | RESOLVE_NO_SYMLINKS),
		     -ELOOP);
	cr_assert_eq(cio_openat2(root, "in/missing", O_RDONLY, 0, b), -ENOENT);
	/* Creating through openat2 takes the mode. */
	fd = cio_openat2(root, "in/new", O_CREAT | O_WRONLY, 0600, b);
	cr_assert_geq(fd, 0);
	cr_assert_eq(cio_close(fd), 0);
	struct stat st;
	cr_assert_eq(stat(path("in/new"), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* resolve 0 is a plain openat. */
	fd = cio_openat2(root, "in/abs", O_RDONLY, 0, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(cio_close(fd), 0);
	cr_assert_eq(cio_openat2(root, NULL, O_RDONLY, 0, b), -EFAULT);
	close(root);
	return 0;
}

Test(file, openat2_resolve_beneath)
{
	mkdir_tmp();
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, openat2_task, NULL), 0);
	th_loop_free(loop);
	rm_tmp();
}
