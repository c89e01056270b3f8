#include <dirent.h>
#include "helpers/harness.h"
/* loop->objects, for th_loop_free_closed(). */
#include "runtime/loop_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

cio_loop *th_loop_new(void)
{
	cio_loop *loop = NULL;
	int ret = cio_loop_new(&loop, NULL);
	cr_assert_eq(ret, 0, "cio_loop_new: %d", ret);
	cr_assert_not_null(loop);
	return loop;
}

void th_loop_free(cio_loop *loop)
{
	cr_assert_eq(cio_loop_close(loop), 0);
	cio_loop_free(loop);
}

intptr_t th_run(cio_loop *loop, cio_task_fn fn, void *arg)
{
	cio_task *t = NULL;
	struct cio_task_opts o = { .loop = loop };
	int ret = cio_spawn(&t, fn, arg, &o);
	cr_assert_eq(ret, 0, "cio_spawn: %d", ret);
	intptr_t v = cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_unref(t);
	return v;
}

cio_loop *th_loop_new_opts(const struct cio_loop_opts *opts)
{
	cio_loop *loop = NULL;
	int ret = cio_loop_new(&loop, opts);
	cr_assert_eq(ret, 0, "cio_loop_new: %d", ret);
	cr_assert_not_null(loop);
	return loop;
}

const char *th_backend_name(void)
{
	const char *env = getenv("CIO_BACKEND");
	return env && strcmp(env, "epoll") == 0 ? "epoll" : "io_uring";
}

void th_run_once(cio_loop *loop)
{
	cr_assert_eq(cio_loop_stop(loop), 0);
	cr_assert_eq(cio_loop_run_forever(loop), 0);
}

cio_task *th_spawn(cio_loop *loop, cio_task_fn fn, void *arg,
		   const char *name)
{
	cio_task *t = NULL;
	struct cio_task_opts o = { .loop = loop, .name = name };
	int ret = cio_spawn(&t, fn, arg, &o);
	cr_assert_eq(ret, 0, "cio_spawn: %d", ret);
	return t;
}

static void collect(cio_loop *loop, const struct cio_report *rep, void *arg)
{
	struct th_reports *r = arg;
	(void)loop;
	if (r->n < TH_MAX_REPORTS) {
		r->kind[r->n] = rep->kind;
		r->error[r->n] = rep->error;
		r->task[r->n] = rep->task;
		r->future[r->n] = rep->future;
		snprintf(r->message[r->n], sizeof(r->message[0]), "%s",
			 rep->message);
	}
	r->n++;
}

void th_collect_reports(cio_loop *loop, struct th_reports *r)
{
	memset(r, 0, sizeof(*r));
	cio_loop_set_exception_handler(loop, collect, r);
}

void th_stderr_begin(struct th_stderr *c)
{
	char path[] = "/tmp/cio-test-stderr-XXXXXX";
	fflush(stderr);
	c->fd = mkstemp(path);
	cr_assert_geq(c->fd, 0);
	unlink(path);
	c->saved = dup(STDERR_FILENO);
	cr_assert_geq(c->saved, 0);
	cr_assert_geq(dup2(c->fd, STDERR_FILENO), 0);
}

static char *read_all(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	cr_assert_not_null(buf);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
	}
	buf[len] = '\0';
	return buf;
}

char *th_stderr_end(struct th_stderr *c)
{
	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	lseek(c->fd, 0, SEEK_SET);
	char *s = read_all(c->fd);
	close(c->fd);
	return s;
}

int th_fork_capture(void (*fn)(void *arg), void *arg, char **err)
{
	int p[2], status = 0;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	*err = read_all(p[0]);
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

void th_leak_check(void)
{
#if defined(__SANITIZE_ADDRESS__)
	cr_assert_eq(__lsan_do_recoverable_leak_check(), 0,
		     "LeakSanitizer found leaks (report above)");
#endif
}

void th_loop_free_closed(cio_loop *loop)
{
	cr_assert_eq(loop->objects, 0, "every future and task released");
	cio_loop_free(loop);
}

void th_loop_free_checked(cio_loop *loop)
{
	cr_assert_eq(cio_loop_close(loop), 0);
	th_loop_free_closed(loop);
}

void th_loop_close_pending(cio_loop *loop)
{
	cio_loop_stop(loop);
	cr_assert_eq(cio_loop_run_forever(loop), 0);
	cr_assert_eq(cio_loop_close(loop), 0);
}

static void count(cio_loop *loop, const struct cio_report *rep, void *arg)
{
	struct th_report_counts *c = arg;
	(void)loop;
	c->total++;
	if (rep->kind == CIO_REPORT_ERROR_NEVER_RETRIEVED) {
		c->never_retrieved++;
		c->last_never_retrieved = rep->future;
	} else {
		c->other++;
		if (rep->kind == CIO_REPORT_TASK_PENDING_AT_CLOSE)
			c->pending_at_close++;
	}
}

cio_loop *th_loop_new_counting(struct th_report_counts *c)
{
	cio_loop *loop = th_loop_new();
	memset(c, 0, sizeof(*c));
	cio_loop_set_exception_handler(loop, count, c);
	return loop;
}

void th_run_checked_counting(cio_task_fn fn, void *arg,
			     struct th_report_counts *c)
{
	cio_loop *loop = c ? th_loop_new_counting(c) : th_loop_new();
	cr_assert_eq(th_run(loop, fn, arg), 0);
	th_loop_free_checked(loop);
}

void th_run_checked(cio_task_fn fn, void *arg)
{
	th_run_checked_counting(fn, arg, NULL);
}

void th_run_checked_no_reports(cio_task_fn fn, void *arg)
{
	struct th_report_counts c;

	th_run_checked_counting(fn, arg, &c);
	cr_assert_eq(c.never_retrieved, 0, "errors never retrieved: %d",
		     c.never_retrieved);
	cr_assert_eq(c.other, 0, "other reports: %d", c.other);
}

void th_run_checked_on_loop(cio_task_fn fn)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, fn, loop), 0);
	th_loop_free_checked(loop);
}

intptr_t th_child_fn(void *arg)
{
	struct th_child *c = arg;
	int rc = c->until ? cio_sleep_until(c->until) : cio_sleep(c->delay);
	if (rc == -ECANCELED) {
		c->saw_cancel = true;
		return -ECANCELED;
	}
	c->finished = true;
	return c->value;
}

cio_task *th_spawn_child(struct th_child *c)
{
	return th_spawn(NULL, th_child_fn, c, NULL);
}

void th_spawn_children(struct th_child *c, cio_task **t, cio_future **f,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		t[i] = th_spawn_child(&c[i]);
		f[i] = cio_task_future(t[i]);
	}
}

void th_finish_children(cio_task **t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cio_task_cancel(t[i]);
		intptr_t v = cio_await_task(t[i]);
		(void)v;
		cio_task_error(t[i]);
		cio_task_unref(t[i]);
	}
}

void th_run_clean(cio_task_fn fn, void *arg)
{
	th_run_checked_no_reports(fn, arg);
	th_leak_check();
}

cio_task *th_spawn_here(cio_task_fn fn, void *arg)
{
	return th_spawn(NULL, fn, arg, NULL);
}

intptr_t th_join(cio_task *t)
{
	intptr_t v = cio_await_task(t);
	cio_task_unref(t);
	return v;
}

int th_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}
