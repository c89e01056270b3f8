/* Backend choice under a real io_uring refusal (DESIGN.md section 1,
 * "Backend choice"; runtime/backend.c).
 *
 * Each test forks a child (th_fork_capture) that installs a seccomp filter
 * making io_uring_setup(2) fail with EPERM or ENOSYS, as a container's
 * seccomp profile or kernel.io_uring_disabled does, and then uses the
 * library with the environment the test sets itself: `make test` runs this
 * file with CIO_BACKEND=uring and with CIO_BACKEND=epoll already set, and
 * neither may leak into the child. The parent checks the child's exit
 * status and everything the child wrote on stderr.
 *
 * The children never use cr_assert (an assertion in a forked copy of a
 * Criterion test would report from the wrong process): a failed check
 * prints where it failed and exits non-zero, and the parent shows that.
 *
 * The work each child's loops must do (workload()) covers timers, a
 * spawned task, a cross-thread wake-up of a sleeping loop, a socketpair
 * send/recv round trip that waits for readiness, and a regular file
 * written and read back (the executor, on epoll).
 */
#include "helpers/harness.h"
/* loop->sleeping: the poster thread posts once the loop is blocked. */
#include "runtime/loop_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define FB_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FB_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define MS CIO_NSEC_PER_MSEC

/* -- in the child ---------------------------------------------------------- */

#define CHILD_CHECK(cond)                                                      \
	do {                                                                   \
		if (!(cond))                                                   \
			child_fail(__LINE__, #cond);                           \
	} while (0)

__attribute__((noreturn)) static void child_fail(int line, const char *what)
{
	fprintf(stderr, "child: check failed at %s:%d: %s\n", __FILE__, line,
		what);
	fflush(stderr);
	_exit(1);
}

/* The end of every child. (LeakSanitizer cannot check a forked child: it
 * still lists the parent's threads and warns about them; close_free()
 * checks instead that each loop's objects were all released.) */
__attribute__((noreturn)) static void child_done(void)
{
	fflush(stderr);
	_exit(0);
}

/* io_uring_setup(2) fails with `err` from now on, in this process and in
 * the threads it creates; every other system call is allowed, and so is
 * everything made with another architecture's calling convention. */
static void block_io_uring(int err)
{
#ifdef FB_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FB_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
		.filter = f,
	};
	CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
	/* The filter is in force: the raw system call is refused. */
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	CHILD_CHECK(syscall(__NR_io_uring_setup, 4, &p) == -1);
	CHILD_CHECK(errno == err);
#else
	(void)err;
	child_fail(__LINE__, "no seccomp filter for this architecture");
#endif
}

/* NULL: unset. */
static void set_backend_env(const char *value)
{
	if (value)
		CHILD_CHECK(setenv("CIO_BACKEND", value, 1) == 0);
	else
		CHILD_CHECK(unsetenv("CIO_BACKEND") == 0);
}

/* A thread that posts to the loop once it is blocked in its poll with no
 * deadline: only the backend's wake-up can end that wait. */
struct post {
	cio_loop *loop;
	cio_future *fut;
	int rc;
};

static void posted(void *arg)
{
	struct post *p = arg;
	cio_future_set_result(p->fut, 7);
}

static void *poster(void *arg)
{
	struct post *p = arg;
	while (!atomic_load(&p->loop->sleeping))
		sched_yield();
	p->rc = cio_call_soon_threadsafe(p->loop, posted, p);
	return NULL;
}

static intptr_t napper(void *arg)
{
	(void)arg;
	if (cio_sleep(MS) != 0)
		return -EIO;
	return 5;
}

/* Socket I/O: an echo task parks in cio_recv() on an empty socket (on
 * epoll: a wait for readiness), the caller sends, the echo comes back. */
static intptr_t echo(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char b[16];
	ssize_t n = cio_recv(fd, b, sizeof(b), 0, CIO_NO_DEADLINE);
	if (n <= 0)
		return n < 0 ? n : -EPIPE;
	for (ssize_t i = 0; i < n; i++)
		b[i] = (char)(b[i] ^ 0x20); /* swap the case: a real reply */
	return cio_send(fd, b, (size_t)n, 0, CIO_NO_DEADLINE);
}

static intptr_t socket_round_trip(cio_loop *loop)
{
	int sv[2];
	char b[16];
	intptr_t ret = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) != 0)
		return -20;
	cio_task *t = NULL;
	struct cio_task_opts to = { .loop = loop, .name = "echo" };
	if (cio_spawn(&t, echo, (void *)(intptr_t)sv[1], &to) != 0)
		ret = -21;
	else if (cio_yield() != 0) /* the echo task parks in its recv */
		ret = -22;
	else if (cio_send(sv[0], "hello", 5, 0, CIO_NO_DEADLINE) != 5)
		ret = -23;
	else if (cio_recv(sv[0], b, sizeof(b), 0, cio_deadline_after(
				  5 * CIO_NSEC_PER_SEC)) != 5 ||
		 memcmp(b, "HELLO", 5) != 0)
		ret = -24;
	if (t) {
		if (ret != 0)
			cio_task_cancel(t);
		if (cio_await_task(t) != 5 && ret == 0)
			ret = -25;
		cio_task_unref(t);
	}
	if (cio_close(sv[0]) != 0 || cio_close(sv[1]) != 0)
		ret = ret ? ret : -26;
	return ret;
}

/* File I/O: written, read back, removed. */
static intptr_t file_round_trip(void)
{
	char path[64], b[16];
	intptr_t ret = 0;

	snprintf(path, sizeof(path), "/tmp/cio-fallback-%d", (int)getpid());
	int fd = cio_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -30;
	if (cio_write(fd, "coreio", 6, 0, CIO_NO_DEADLINE) != 6)
		ret = -31;
	else if (cio_read(fd, b, sizeof(b), 0, CIO_NO_DEADLINE) != 6 ||
		 memcmp(b, "coreio", 6) != 0)
		ret = -32;
	if (cio_close(fd) != 0)
		ret = ret ? ret : -33;
	if (cio_unlink(path) != 0)
		ret = ret ? ret : -34;
	return ret;
}

/* Timers, a spawned child task, a cross-thread wake-up of a sleeping loop,
 * socket and file I/O, and a value returned: 42 when all of it worked, a
 * negative number saying what failed otherwise. */
static intptr_t workload(void *arg)
{
	cio_loop *loop = arg;
	int64_t t0 = cio_loop_time();

	if (cio_sleep(2 * MS) != 0)
		return -1;
	if (cio_loop_time() - t0 < 2 * MS)
		return -2;

	cio_task *t = NULL;
	struct cio_task_opts to = { .loop = loop, .name = "napper" };
	if (cio_spawn(&t, napper, NULL, &to) != 0)
		return -3;
	intptr_t v = cio_await_task(t);
	cio_task_unref(t);
	if (v != 5)
		return -4;

	struct post p = { .loop = loop };
	pthread_t th;
	if (cio_future_new(loop, &p.fut) != 0)
		return -5;
	if (loop->timers.n != 0)
		return -6; /* the wait below must have no deadline */
	if (pthread_create(&th, NULL, poster, &p) != 0)
		return -7;
	v = cio_await(p.fut);
	pthread_join(th, NULL);
	cio_future_unref(p.fut);
	if (p.rc != 0)
		return -8;
	if (v != 7)
		return -9;

	if ((v = socket_round_trip(loop)) != 0)
		return v;
	if ((v = file_round_trip()) != 0)
		return v;
	return 42;
}

/* Run workload() on `loop`; it must return 42. */
#define CHILD_WORKLOAD(loop) run_workload(loop, __LINE__)
static void run_workload(cio_loop *loop, int line)
{
	cio_task *t = NULL;
	struct cio_task_opts o = { .loop = loop };
	CHILD_CHECK(cio_spawn(&t, workload, loop, &o) == 0);
	intptr_t v = cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_unref(t);
	if (v != 42) {
		char what[64];
		snprintf(what, sizeof(what), "workload returned %ld on %s",
			 (long)v, cio_loop_backend_name(loop));
		child_fail(line, what);
	}
}

/* Close and free, every future and task of the loop released. */
static void close_free(cio_loop *loop)
{
	CHILD_CHECK(cio_loop_close(loop) == 0);
	CHILD_CHECK(loop->objects == 0);
	cio_loop_free(loop);
}

/* A loop made and used on its own thread. */
static void *thread_loop(void *arg)
{
	cio_loop *loop = NULL;
	(void)arg;
	CHILD_CHECK(cio_loop_new(&loop, NULL) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(loop), "epoll") == 0);
	CHILD_WORKLOAD(loop);
	close_free(loop);
	return NULL;
}

/* Filter with `err`, CIO_BACKEND unset, option at auto: every loop is an
 * epoll loop and works; the notice is printed once for the whole process
 * (two loops open at once, then one on another thread). */
static void auto_child(void *arg)
{
	int err = (int)(intptr_t)arg;
	struct cio_loop_opts o = { .backend = CIO_BACKEND_AUTO };
	cio_loop *a = NULL, *b = NULL;

	block_io_uring(err);
	set_backend_env(NULL);

	CHILD_CHECK(cio_loop_new(&a, &o) == 0);
	CHILD_CHECK(a != NULL);
	CHILD_CHECK(strcmp(cio_loop_backend_name(a), "epoll") == 0);
	CHILD_CHECK(cio_loop_new(&b, NULL) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(b), "epoll") == 0);

	CHILD_WORKLOAD(a);
	close_free(a);
	CHILD_WORKLOAD(b);
	close_free(b);

	pthread_t th;
	CHILD_CHECK(pthread_create(&th, NULL, thread_loop, NULL) == 0);
	CHILD_CHECK(pthread_join(th, NULL) == 0);
	child_done();
}

/* Filter, and io_uring asked for explicitly (by the environment, by the
 * option, by the option against the environment): the error is returned,
 * nothing falls back, nothing is printed, and the process goes on. */
static void explicit_uring_child(void *arg)
{
	struct cio_loop_opts uring = { .backend = CIO_BACKEND_URING };
	struct cio_loop_opts ep = { .backend = CIO_BACKEND_EPOLL };
	cio_loop *loop = (cio_loop *)&loop; /* must be reset to NULL */
	(void)arg;

	block_io_uring(EPERM);

	set_backend_env("uring");
	CHILD_CHECK(cio_loop_new(&loop, NULL) == -EPERM);
	CHILD_CHECK(loop == NULL);
	set_backend_env("io_uring");
	CHILD_CHECK(cio_loop_new(&loop, NULL) == -EPERM);
	CHILD_CHECK(loop == NULL);

	set_backend_env(NULL);
	CHILD_CHECK(cio_loop_new(&loop, &uring) == -EPERM);
	CHILD_CHECK(loop == NULL);

	/* The option outranks the environment. */
	set_backend_env("epoll");
	CHILD_CHECK(cio_loop_new(&loop, &uring) == -EPERM);
	CHILD_CHECK(loop == NULL);

	/* Still usable: an epoll loop asked for works. */
	set_backend_env("uring");
	CHILD_CHECK(cio_loop_new(&loop, &ep) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(loop), "epoll") == 0);
	CHILD_WORKLOAD(loop);
	close_free(loop);
	child_done();
}

/* Filter, and epoll asked for: it works, and io_uring is never tried (no
 * notice). */
static void explicit_epoll_child(void *arg)
{
	struct cio_loop_opts ep = { .backend = CIO_BACKEND_EPOLL };
	cio_loop *loop = NULL;
	(void)arg;

	block_io_uring(EPERM);

	set_backend_env("epoll");
	CHILD_CHECK(cio_loop_new(&loop, NULL) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(loop), "epoll") == 0);
	CHILD_WORKLOAD(loop);
	close_free(loop);

	/* By the option, whatever the environment says. */
	set_backend_env("uring");
	CHILD_CHECK(cio_loop_new(&loop, &ep) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(loop), "epoll") == 0);
	CHILD_WORKLOAD(loop);
	close_free(loop);
	child_done();
}

/* No filter: an unknown CIO_BACKEND is refused with one line saying what
 * is expected; an explicit option does not read the environment. */
static void bogus_child(void *arg)
{
	struct cio_loop_opts ep = { .backend = CIO_BACKEND_EPOLL };
	cio_loop *loop = (cio_loop *)&loop;
	(void)arg;

	set_backend_env("bogus");
	CHILD_CHECK(cio_loop_new(&loop, NULL) == -EINVAL);
	CHILD_CHECK(loop == NULL);

	CHILD_CHECK(cio_loop_new(&loop, &ep) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(loop), "epoll") == 0);
	CHILD_WORKLOAD(loop);
	close_free(loop);
	child_done();
}

/* No filter, CIO_BACKEND unset: io_uring, silently. */
static void control_child(void *arg)
{
	cio_loop *loop = NULL;
	(void)arg;

	set_backend_env(NULL);
	CHILD_CHECK(cio_loop_new(&loop, NULL) == 0);
	CHILD_CHECK(strcmp(cio_loop_backend_name(loop), "io_uring") == 0);
	CHILD_WORKLOAD(loop);
	close_free(loop);
	child_done();
}

/* -- in the parent --------------------------------------------------------- */

static void skip_without_filter(void)
{
#ifndef FB_AUDIT_ARCH
	cr_skip_test("no seccomp filter written for this architecture");
#endif
}

/* Run `fn` in a child; it must exit 0. Returns its stderr (free it). */
static char *run_child(void (*fn)(void *), void *arg)
{
	char *err = NULL;
	int st = th_fork_capture(fn, arg, &err);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child status %#x; stderr:\n%s", st, err);
	return err;
}

static void check_auto_fallback(int err)
{
	char want[256];
	skip_without_filter();
	char *got = run_child(auto_child, (void *)(intptr_t)err);
	snprintf(want, sizeof(want),
		 "coreio: io_uring unavailable (%s); using the epoll backend\n",
		 strerror(err));
	cr_assert_str_eq(got, want, "stderr, once for three loops:\n%s", got);
	free(got);
	th_leak_check();
}

Test(fallback, auto_falls_back_on_eperm, .timeout = 60)
{
	check_auto_fallback(EPERM);
}

Test(fallback, auto_falls_back_on_enosys, .timeout = 60)
{
	check_auto_fallback(ENOSYS);
}

Test(fallback, explicit_uring_fails_without_fallback, .timeout = 60)
{
	skip_without_filter();
	char *got = run_child(explicit_uring_child, NULL);
	cr_assert_str_empty(got, "stderr:\n%s", got);
	free(got);
	th_leak_check();
}

Test(fallback, explicit_epoll_works_silently, .timeout = 60)
{
	skip_without_filter();
	char *got = run_child(explicit_epoll_child, NULL);
	cr_assert_str_empty(got, "stderr:\n%s", got);
	free(got);
	th_leak_check();
}

Test(fallback, bogus_env_is_refused, .timeout = 60)
{
	char *got = run_child(bogus_child, NULL);
	cr_assert_str_eq(got, "coreio: CIO_BACKEND=bogus: expected uring, "
			      "epoll or auto\n",
			 "stderr:\n%s", got);
	free(got);
	th_leak_check();
}

/* The other tests' epoll loops come from the filter: without it, auto
 * picks io_uring and prints nothing. */
Test(fallback, auto_without_filter_uses_io_uring, .timeout = 60)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);
	if (rc < 0)
		cr_skip_test("io_uring unavailable here (%s)", strerror(-rc));
	io_uring_queue_exit(&ring);
	char *got = run_child(control_child, NULL);
	cr_assert_str_empty(got, "stderr:\n%s", got);
	free(got);
	th_leak_check();
}
