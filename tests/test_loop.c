/* The event loop: creation and options, backend choice, run/stop
 * semantics, run_until_complete, threads, the current loop and the
 * exception handler. Closing is in test_loop_close.c. */
#include "helpers/harness.h"
#include "runtime/loop_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void count_cb(void *arg)
{
	(*(int *)arg)++;
}

/* -- creation and options ------------------------------------------------- */

Test(loop, new_rejects_null_out)
{
	cr_assert_eq(cio_loop_new(NULL, NULL), -EINVAL);
}

Test(loop, new_with_defaults)
{
	cr_assert_null(cio_loop_current());
	cio_loop *loop = th_loop_new();
	cr_assert_not(cio_loop_is_closed(loop));
	cr_assert_not(cio_loop_is_running(loop));
	cr_assert_eq(cio_loop_current(), loop);
	cr_assert_str_eq(cio_loop_backend_name(loop), th_backend_name());
	cr_assert_not_null(cio_loop_backend_flags(loop));
	th_loop_free(loop);
	cr_assert_null(cio_loop_current());
	th_leak_check();
}

static void expect_bad_opts(const struct cio_loop_opts *o, const char *what)
{
	cio_loop *loop = (cio_loop *)(uintptr_t)0x1;
	cr_assert_eq(cio_loop_new(&loop, o), -EINVAL, "%s", what);
	cr_assert_null(loop, "%s: *loopp must be NULL on failure", what);
}

Test(loop, new_rejects_bad_options)
{
	struct cio_loop_opts o;

	o = (struct cio_loop_opts){ .ring_entries = 32769 };
	expect_bad_opts(&o, "ring_entries too big");
	o = (struct cio_loop_opts){ .ring_entries = UINT32_MAX };
	expect_bad_opts(&o, "ring_entries UINT_MAX");
	o = (struct cio_loop_opts){ .stack_size = 1000 };
	expect_bad_opts(&o, "stack too small");
	o = (struct cio_loop_opts){ .stack_size = 16 * 1024 - 1 };
	expect_bad_opts(&o, "stack one byte too small");
	o = (struct cio_loop_opts){ .stack_size = (size_t)1 << 30 | 1 };
	expect_bad_opts(&o, "stack too big");
	o = (struct cio_loop_opts){ .backend = (enum cio_backend_kind)3 };
	expect_bad_opts(&o, "unknown backend");
	o = (struct cio_loop_opts){ .backend = (enum cio_backend_kind)-1 };
	expect_bad_opts(&o, "negative backend");
	cr_assert_null(cio_loop_current(), "a failed new sets no current loop");
}

Test(loop, new_accepts_limits)
{
	static const struct cio_loop_opts ok[] = {
		{ .ring_entries = 1 },
		{ .ring_entries = 5 }, /* rounded up to a power of two */
		{ .ring_entries = 32768 },
		{ .stack_size = 16 * 1024 },
		{ .stack_size = 1024 * 1024 * 1024 },
		{ .stack_size = 20000 }, /* rounded up to pages */
		{ .stack_cache = 1 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cio_loop *loop = th_loop_new_opts(&ok[i]);
		int n = 0;
		cr_assert_eq(cio_call_soon(loop, count_cb, &n, NULL), 0);
		th_run_once(loop);
		cr_assert_eq(n, 1, "opts #%zu: the loop runs", i);
		th_loop_free(loop);
	}
	th_leak_check();
}

static void expect_env_backend(const char *env, int ret, const char *name)
{
	cio_loop *loop = NULL;
	cr_assert_eq(setenv("CIO_BACKEND", env, 1), 0);
	cr_assert_eq(cio_loop_new(&loop, NULL), ret, "CIO_BACKEND='%s'", env);
	if (ret == 0) {
		cr_assert_str_eq(cio_loop_backend_name(loop), name,
				 "CIO_BACKEND='%s'", env);
		th_loop_free(loop);
	} else {
		cr_assert_null(loop);
	}
}

Test(loop, backend_from_environment)
{
	char *saved = getenv("CIO_BACKEND") ? strdup(getenv("CIO_BACKEND"))
					     : NULL;
	struct th_stderr cap;

	expect_env_backend("uring", 0, "io_uring");
	expect_env_backend("io_uring", 0, "io_uring");
	expect_env_backend("epoll", 0, "epoll");
	expect_env_backend("auto", 0, "io_uring");
	expect_env_backend("", 0, "io_uring");

	th_stderr_begin(&cap);
	expect_env_backend("bogus", -EINVAL, NULL);
	expect_env_backend("EPOLL", -EINVAL, NULL);
	expect_env_backend("uring ", -EINVAL, NULL);
	char *err = th_stderr_end(&cap);
	cr_assert_not_null(strstr(err, "CIO_BACKEND=bogus"), "%s", err);
	free(err);

	/* An explicit backend does not look at the environment. */
	struct cio_loop_opts o = { .backend = CIO_BACKEND_EPOLL };
	cio_loop *loop = th_loop_new_opts(&o);
	cr_assert_str_eq(cio_loop_backend_name(loop), "epoll");
	th_loop_free(loop);
	o.backend = CIO_BACKEND_URING;
	loop = th_loop_new_opts(&o);
	cr_assert_str_eq(cio_loop_backend_name(loop), "io_uring");
	th_loop_free(loop);

	cr_assert_eq(unsetenv("CIO_BACKEND"), 0);
	loop = th_loop_new();
	cr_assert_str_eq(cio_loop_backend_name(loop), "io_uring");
	th_loop_free(loop);
	if (saved) {
		setenv("CIO_BACKEND", saved, 1);
		free(saved);
	}
	th_leak_check();
}

static bool known_uring_flag(const char *tok, size_t n)
{
	static const char *const names[] = {
		"DEFER_TASKRUN", "SINGLE_ISSUER", "TASKRUN_FLAG",
		"COOP_TASKRUN",	 "REGISTERED_FD",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncmp(names[i], tok, n) == 0)
			return true;
	return false;
}

Test(loop, backend_names_and_flags)
{
	struct cio_loop_opts o = { .backend = CIO_BACKEND_EPOLL };
	cio_loop *loop = th_loop_new_opts(&o);
	const char *f = cio_loop_backend_flags(loop);
	cr_assert(strcmp(f, "epoll_pwait2") == 0 || strcmp(f, "epoll_wait") == 0,
		  "%s", f);
	th_loop_free(loop);
	cr_assert_str_eq(cio_loop_backend_flags(loop = th_loop_new_opts(&o)),
			 "epoll_pwait2");
	th_loop_free(loop);

	o.backend = CIO_BACKEND_URING;
	loop = th_loop_new_opts(&o);
	th_run_once(loop); /* the ring is enabled and its fd registered */
	f = cio_loop_backend_flags(loop);
	cr_assert_str_not_empty(f);
	for (const char *p = f; *p;) {
		size_t n = strcspn(p, "|");
		cr_assert(known_uring_flag(p, n), "unknown flag in '%s'", f);
		p += n + (p[n] == '|');
	}
	if (strstr(f, "DEFER_TASKRUN"))
		cr_assert_not_null(strstr(f, "SINGLE_ISSUER"), "%s", f);
	cr_assert_str_eq(cio_loop_backend_name(loop), "io_uring");
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_str_empty(cio_loop_backend_flags(loop));
	cio_loop_free(loop);

	cr_assert_str_eq(cio_loop_backend_name(NULL), "none");
	cr_assert_str_empty(cio_loop_backend_flags(NULL));
	th_leak_check();
}

Test(loop, time_and_deadlines)
{
	int64_t a = cio_loop_time();
	int64_t b = cio_loop_time();
	cr_assert_gt(a, 0);
	cr_assert_geq(b, a);
	int64_t d = cio_deadline_after(CIO_NSEC_PER_SEC);
	cr_assert_geq(d, b + CIO_NSEC_PER_SEC);
	cr_assert_leq(d, cio_loop_time() + CIO_NSEC_PER_SEC);
	cr_assert_eq(cio_deadline_after(INT64_MAX), CIO_NO_DEADLINE);
	cr_assert_eq(cio_deadline_after(INT64_MAX - 1), CIO_NO_DEADLINE);
	cr_assert_lt(cio_deadline_after(-CIO_NSEC_PER_SEC), cio_loop_time());
}

Test(loop, null_arguments)
{
	cr_assert_eq(cio_loop_close(NULL), -EINVAL);
	cio_loop_free(NULL);
	cr_assert(cio_loop_is_closed(NULL));
	cr_assert_not(cio_loop_is_running(NULL));
	cr_assert_eq(cio_loop_run_forever(NULL), -EINVAL);
	cr_assert_eq(cio_loop_run_until_complete(NULL, NULL), -EINVAL);
	cr_assert_eq(cio_loop_stop(NULL), -EINVAL);
	cio_loop_set_exception_handler(NULL, NULL, NULL);
	/* No current loop in this process: NULL means "none". */
	cr_assert_null(cio_loop_current());
	int n = 0;
	cr_assert_eq(cio_call_soon(NULL, count_cb, &n, NULL), -EINVAL);
	cr_assert_eq(cio_call_later(NULL, 0, count_cb, &n, NULL), -EINVAL);
	cr_assert_eq(cio_call_at(NULL, 0, count_cb, &n, NULL), -EINVAL);
	cr_assert_eq(cio_call_soon_threadsafe(NULL, count_cb, &n), -EINVAL);
	cio_loop *loop = th_loop_new();
	cr_assert_eq(cio_loop_run_until_complete(loop, NULL), -EINVAL);
	th_loop_free(loop);
	th_leak_check();
}

/* -- stop semantics ----------------------------------------------------------- */

struct trace {
	cio_loop *loop;
	char log[64];
	int n;
};

static void trace_add(struct trace *t, char c)
{
	cr_assert_lt(t->n, 63);
	t->log[t->n++] = c;
	t->log[t->n] = '\0';
}

static void later_cb(void *arg)
{
	trace_add(arg, 'l');
}

static void chain_cb(void *arg)
{
	struct trace *t = arg;
	trace_add(t, 'c');
	cr_assert_eq(cio_call_soon(t->loop, later_cb, t, NULL), 0);
}

Test(loop, stop_before_run_forever_runs_one_iteration)
{
	struct trace t = { .loop = th_loop_new() };

	cr_assert_eq(cio_call_soon(t.loop, chain_cb, &t, NULL), 0);
	cr_assert_eq(cio_loop_stop(t.loop), 0);
	cr_assert_eq(cio_loop_run_forever(t.loop), 0);
	cr_assert_str_eq(t.log, "c", "the callback queued by the iteration "
				      "waits for the next run");
	cr_assert_not(cio_loop_is_running(t.loop));
	/* The stop was consumed: a second stop is needed to return again. */
	th_run_once(t.loop);
	cr_assert_str_eq(t.log, "cl");
	/* An idle loop that was told to stop returns without blocking. */
	th_run_once(t.loop);
	cr_assert_str_eq(t.log, "cl");
	th_loop_free(t.loop);
	th_leak_check();
}

static void other_cb(void *arg)
{
	struct trace *t = arg;
	cr_assert(cio_loop_is_running(t->loop));
	cr_assert_eq(cio_loop_current(), t->loop);
	trace_add(t, 'o');
}

static void stop_cb(void *arg)
{
	struct trace *t = arg;
	trace_add(t, 's');
	cr_assert_eq(cio_loop_stop(t->loop), 0);
	cr_assert_eq(cio_call_soon(t->loop, later_cb, t, NULL), 0);
}

Test(loop, stop_lets_the_iteration_finish)
{
	struct trace t = { .loop = th_loop_new() };
	cio_handle *far;

	/* A far timer: the loop would block on it if stop did not end the
	 * run. */
	cr_assert_eq(cio_call_later(t.loop, 3600 * CIO_NSEC_PER_SEC, later_cb,
				    &t, &far), 0);
	cr_assert_eq(cio_call_soon(t.loop, other_cb, &t, NULL), 0);
	cr_assert_eq(cio_call_soon(t.loop, stop_cb, &t, NULL), 0);
	cr_assert_eq(cio_call_soon(t.loop, other_cb, &t, NULL), 0);
	cr_assert_eq(cio_loop_run_forever(t.loop), 0);
	cr_assert_str_eq(t.log, "oso");
	cr_assert_not(cio_loop_is_running(t.loop));
	th_run_once(t.loop);
	cr_assert_str_eq(t.log, "osol");
	cr_assert_eq(cio_handle_cancel(far), 1);
	cio_handle_unref(far);
	th_loop_free(t.loop);
	th_leak_check();
}

struct reenter {
	cio_loop *loop, *other;
	cio_future *fut;
	int close, run, ruc, run_other, ruc_other;
};

static void reenter_cb(void *arg)
{
	struct reenter *r = arg;
	r->close = cio_loop_close(r->loop);
	r->run = cio_loop_run_forever(r->loop);
	r->ruc = (int)cio_loop_run_until_complete(r->loop, r->fut);
	r->run_other = cio_loop_run_forever(r->other);
	cio_future *of;
	cr_assert_eq(cio_future_new(r->other, &of), 0);
	r->ruc_other = (int)cio_loop_run_until_complete(r->other, of);
	cio_future_unref(of);
	cio_loop_stop(r->loop);
}

Test(loop, no_reentry_while_running)
{
	struct reenter r = { .loop = th_loop_new(), .other = th_loop_new() };
	cr_assert_eq(cio_future_new(r.loop, &r.fut), 0);
	cr_assert_eq(cio_call_soon(r.loop, reenter_cb, &r, NULL), 0);
	cr_assert_eq(cio_loop_run_forever(r.loop), 0);
	cr_assert_eq(r.close, -EBUSY, "close of a running loop");
	cr_assert_eq(r.run, -EBUSY, "run_forever while running");
	cr_assert_eq(r.ruc, -EBUSY, "run_until_complete while running");
	cr_assert_eq(r.run_other, -EBUSY, "another loop runs on this thread");
	cr_assert_eq(r.ruc_other, -EBUSY);
	cr_assert_not(cio_loop_is_closed(r.loop));
	cr_assert_not(cio_future_done(r.fut));
	cio_future_unref(r.fut);
	th_loop_free(r.other);
	th_loop_free(r.loop);
	th_leak_check();
}

static void free_running_cb(void *arg)
{
	cio_loop *loop = arg;
	cio_loop_free(loop); /* refused and reported */
	cio_loop_stop(loop);
}

Test(loop, free_of_running_loop_is_refused)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	int n = 0;

	th_collect_reports(loop, &rep);
	cr_assert_eq(cio_call_soon(loop, free_running_cb, loop, NULL), 0);
	cr_assert_eq(cio_loop_run_forever(loop), 0);
	cr_assert_eq(rep.n, 1);
	cr_assert_eq(rep.kind[0], CIO_REPORT_MISUSE);
	cr_assert_eq(rep.error[0], -EBUSY);
	cr_assert_not(cio_loop_is_closed(loop));
	cr_assert_eq(cio_call_soon(loop, count_cb, &n, NULL), 0);
	th_run_once(loop);
	cr_assert_eq(n, 1, "the loop still works");
	th_loop_free(loop);
	th_leak_check();
}

/* -- run_until_complete ------------------------------------------------------- */

struct setter {
	cio_future *fut;
	intptr_t value;
	int error;
	bool cancel;
	bool stop;
};

static void setter_cb(void *arg)
{
	struct setter *s = arg;
	if (s->stop)
		cr_assert_eq(cio_loop_stop(cio_future_loop(s->fut)), 0);
	else if (s->cancel)
		cr_assert_eq(cio_future_cancel(s->fut), 1);
	else if (s->error)
		cr_assert_eq(cio_future_set_error(s->fut, s->error), 0);
	else
		cr_assert_eq(cio_future_set_result(s->fut, s->value), 0);
}

static intptr_t ruc_with(cio_loop *loop, struct setter *s)
{
	cr_assert_eq(cio_future_new(loop, &s->fut), 0);
	cr_assert_eq(cio_call_later(loop, CIO_NSEC_PER_MSEC, setter_cb, s,
				    NULL), 0);
	return cio_loop_run_until_complete(loop, s->fut);
}

Test(loop, run_until_complete_outcomes)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	struct setter s;

	th_collect_reports(loop, &rep);
	s = (struct setter){ .value = 42 };
	cr_assert_eq(ruc_with(loop, &s), 42);
	cr_assert(cio_future_done(s.fut));
	cio_future_unref(s.fut);

	s = (struct setter){ .value = -5000 }; /* below the error range */
	cr_assert_eq(ruc_with(loop, &s), -5000);
	cio_future_unref(s.fut);

	s = (struct setter){ .error = -EIO };
	cr_assert_eq(ruc_with(loop, &s), -EIO);
	cio_future_unref(s.fut);
	cr_assert_eq(rep.n, 0, "run_until_complete retrieved the error");

	s = (struct setter){ .cancel = true };
	cr_assert_eq(ruc_with(loop, &s), -ECANCELED);
	cr_assert(cio_future_cancelled(s.fut));
	cio_future_unref(s.fut);

	/* Done before the run: one iteration, then its result. */
	cr_assert_eq(cio_future_new(loop, &s.fut), 0);
	cr_assert_eq(cio_future_set_result(s.fut, 7), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, s.fut), 7);
	cio_future_unref(s.fut);
	cr_assert_eq(rep.n, 0);
	th_loop_free(loop);
	th_leak_check();
}

Test(loop, run_until_complete_stopped_early)
{
	cio_loop *loop = th_loop_new();
	struct setter s = { .stop = true };

	cr_assert_eq(ruc_with(loop, &s), -EINTR);
	cr_assert_not(cio_future_done(s.fut));
	cr_assert_not(cio_loop_is_running(loop));

	/* Stopped before it ran at all. */
	cr_assert_eq(cio_loop_stop(loop), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, s.fut), -EINTR);

	/* The future is still usable and a later run completes it. */
	struct setter s2 = { .fut = s.fut, .value = 3 };
	cr_assert_eq(cio_call_soon(loop, setter_cb, &s2, NULL), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, s.fut), 3);
	cio_future_unref(s.fut);
	th_loop_free(loop);
	th_leak_check();
}

Test(loop, run_until_complete_foreign_future)
{
	cio_loop *a = th_loop_new(), *b = th_loop_new();
	cio_future *fb;
	cr_assert_eq(cio_future_new(b, &fb), 0);
	cr_assert_eq(cio_future_set_result(fb, 1), 0);
	cr_assert_eq(cio_loop_run_until_complete(a, fb), -EINVAL);
	cr_assert_eq(cio_loop_run_until_complete(b, fb), 1);
	cr_assert_eq(cio_loop_close(b), 0);
	cr_assert_eq(cio_loop_run_until_complete(b, fb), -EINVAL,
		     "closed loop");
	cio_future_unref(fb);
	cio_loop_free(b);
	th_loop_free(a);
	th_leak_check();
}

/* -- threads ---------------------------------------------------------------------- */

static void *run_elsewhere(void *arg)
{
	return (void *)(intptr_t)cio_loop_run_forever(arg);
}

static void *run_once_elsewhere(void *arg)
{
	cio_loop *loop = arg;
	cio_loop_stop(loop);
	return (void *)(intptr_t)cio_loop_run_forever(loop);
}

Test(loop, bound_to_the_first_thread_that_runs_it)
{
	cio_loop *loop = th_loop_new();
	pthread_t th;
	void *ret;
	int n = 0;

	/* Made here, first run on another thread: that thread owns it. */
	cr_assert_eq(cio_call_soon(loop, count_cb, &n, NULL), 0);
	cr_assert_eq(pthread_create(&th, NULL, run_once_elsewhere, loop), 0);
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_eq((intptr_t)ret, 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(cio_loop_run_forever(loop), -EPERM);
	cio_future *f;
	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_loop_run_until_complete(loop, f), -EPERM);
	cio_future_unref(f);
	/* Run it there once more: still works. */
	cr_assert_eq(cio_call_soon(loop, count_cb, &n, NULL), 0);
	cr_assert_eq(pthread_create(&th, NULL, run_once_elsewhere, loop), 0);
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_eq((intptr_t)ret, 0);
	cr_assert_eq(n, 2);
	th_loop_free(loop);

	/* And the other way round. */
	loop = th_loop_new();
	th_run_once(loop);
	cr_assert_eq(pthread_create(&th, NULL, run_elsewhere, loop), 0);
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_eq((intptr_t)ret, -EPERM);
	th_loop_free(loop);
	th_leak_check();
}

/* -- the current loop ---------------------------------------------------------- */

static void record_current(void *arg)
{
	*(cio_loop **)arg = cio_loop_current();
}

Test(loop, current_loop)
{
	cio_loop *seen = NULL;
	cio_future *f;

	cr_assert_null(cio_loop_current());
	cio_loop *a = th_loop_new();
	cr_assert_eq(cio_loop_current(), a);
	cio_loop *b = th_loop_new();
	cr_assert_eq(cio_loop_current(), a, "the first loop stays current");

	cr_assert_eq(cio_call_soon(b, record_current, &seen, NULL), 0);
	th_run_once(b);
	cr_assert_eq(seen, b, "the running loop is current");
	cr_assert_eq(cio_loop_current(), a);

	/* NULL loop arguments mean the current one. */
	cr_assert_eq(cio_future_new(NULL, &f), 0);
	cr_assert_eq(cio_future_loop(f), a);
	cio_future_unref(f);
	cr_assert_eq(cio_call_soon(NULL, record_current, &seen, NULL), 0);
	th_run_once(a);
	cr_assert_eq(seen, a);

	th_loop_free(a);
	cr_assert_null(cio_loop_current(), "closing the current loop clears it");
	cr_assert_eq(cio_future_new(NULL, &f), -EINVAL);
	cio_loop *c = th_loop_new();
	cr_assert_eq(cio_loop_current(), c, "the next new loop is current");
	th_loop_free(c);
	th_loop_free(b);
	th_leak_check();
}

static void *current_elsewhere(void *arg)
{
	cio_loop **out = arg;
	out[0] = cio_loop_current();
	if (cio_loop_new(&out[1], NULL) < 0)
		return NULL;
	out[2] = cio_loop_current();
	cio_loop_free(out[1]);
	out[3] = cio_loop_current();
	return NULL;
}

Test(loop, current_loop_is_per_thread)
{
	cio_loop *seen[4] = { 0 };
	cio_loop *mine = th_loop_new();
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, current_elsewhere, seen), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_null(seen[0], "another thread's loop is not current here");
	cr_assert_not_null(seen[1]);
	cr_assert_eq(seen[2], seen[1], "that thread's first loop is its own");
	cr_assert_null(seen[3]);
	cr_assert_eq(cio_loop_current(), mine);
	th_loop_free(mine);
	th_leak_check();
}

/* -- the exception handler ----------------------------------------------------- */

Test(loop, exception_handler_custom_and_default)
{
	cio_loop *loop = th_loop_new();
	struct th_reports rep;
	struct th_stderr cap;
	cio_future *f;
	int marker;

	th_collect_reports(loop, &rep);
	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_future_set_error(f, -ENOENT), 0);
	cio_future_unref(f);
	cr_assert_eq(rep.n, 1);
	cr_assert_eq(rep.kind[0], CIO_REPORT_ERROR_NEVER_RETRIEVED);
	cr_assert_eq(rep.error[0], -ENOENT);
	cr_assert_eq(rep.future[0], f);
	cr_assert_null(rep.task[0]);
	cr_assert_not_null(strstr(rep.message[0], "error never retrieved"),
			   "%s", rep.message[0]);
	cr_assert_null(strchr(rep.message[0], '\n'));

	/* NULL restores the default, which writes to stderr. */
	cio_loop_set_exception_handler(loop, NULL, &marker);
	th_stderr_begin(&cap);
	cr_assert_eq(cio_future_new(loop, &f), 0);
	cr_assert_eq(cio_future_set_error(f, -EPIPE), 0);
	cio_future_unref(f);
	struct cio_report r = { .kind = CIO_REPORT_ERROR_NEVER_RETRIEVED,
				.message = "hello from the test" };
	cio_loop_default_exception_handler(loop, &r);
	cio_loop_default_exception_handler(loop, NULL); /* ignored */
	cio_loop_default_exception_handler(NULL, &r);
	char *err = th_stderr_end(&cap);
	cr_assert_eq(rep.n, 1, "the custom handler is gone");
	cr_assert_not_null(strstr(err, "coreio: future "), "%s", err);
	cr_assert_not_null(strstr(err, "error never retrieved"), "%s", err);
	char *hello = strstr(err, "coreio: hello from the test\n");
	cr_assert_not_null(hello, "%s", err);
	cr_assert_not_null(strstr(hello + 1, "coreio: hello from the test\n"),
			   "a NULL loop is fine: %s", err);
	free(err);
	th_loop_free(loop);
	th_leak_check();
}
