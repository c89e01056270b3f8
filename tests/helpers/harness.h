/* Test helpers shared by every suite: a loop per test on the backend named
 * by $CIO_BACKEND (make test runs each suite on uring and on epoll), and a
 * way to run a task function to completion. */
#ifndef CIO_TEST_HARNESS_H
#define CIO_TEST_HARNESS_H

#include <criterion/criterion.h>

#include "coreio.h"

/* New loop for this test; fails the test if it cannot be made. */
cio_loop *th_loop_new(void);
/* Close and free, asserting the close succeeded. */
void th_loop_free(cio_loop *loop);
/* Spawn fn(arg) on `loop`, run until it is done, return what awaiting it
 * returns. */
intptr_t th_run(cio_loop *loop, cio_task_fn fn, void *arg);

/* As th_loop_new() with options (backend AUTO still follows $CIO_BACKEND). */
cio_loop *th_loop_new_opts(const struct cio_loop_opts *opts);
/* "io_uring" or "epoll": what a loop made with backend AUTO must be. */
const char *th_backend_name(void);
/* Run exactly one iteration of `loop` (stop, then run_forever). */
void th_run_once(cio_loop *loop);
/* Spawn on `loop` with a name (NULL: default); asserts success. */
cio_task *th_spawn(cio_loop *loop, cio_task_fn fn, void *arg,
		   const char *name);

/* Reports delivered to a loop's exception handler, kept for assertions. */
#define TH_MAX_REPORTS 64
struct th_reports {
	int n; /* all reports, including those past TH_MAX_REPORTS */
	enum cio_report_kind kind[TH_MAX_REPORTS];
	int error[TH_MAX_REPORTS];
	cio_task *task[TH_MAX_REPORTS];
	cio_future *future[TH_MAX_REPORTS];
	char message[TH_MAX_REPORTS][256];
};
/* Install a handler on `loop` that records into *r (zeroed here). */
void th_collect_reports(cio_loop *loop, struct th_reports *r);

/* Redirect fd 2 to a temporary file until th_stderr_end(), which returns
 * what was written (malloc'd, NUL-terminated; free it). */
struct th_stderr {
	int saved;
	int fd;
};
void th_stderr_begin(struct th_stderr *c);
char *th_stderr_end(struct th_stderr *c);

/* Fork; the child runs fn(arg) with its stderr sent to a pipe and then
 * _exit(0)s. Returns the child's wait status and puts what it wrote to
 * stderr in *err (malloc'd; free it). */
int th_fork_capture(void (*fn)(void *arg), void *arg, char **err);

/* Descriptors this process has open (entries of /proc/self/fd), or -1:
 * compare before and after to find a leak. */
int th_count_fds(void);

/* Under LeakSanitizer, fail the test if memory it allocated is no longer
 * reachable; nothing otherwise. Call it at the end of a test body:
 * Criterion does not fail a test for leaks found at exit, nor for
 * assertions in a .fini. */
void th_leak_check(void);

/* -- checked loops, report counts and sleeping children --------------------
 *
 * Mostly for the suites of the combinators (gather, wait, as_completed,
 * wait_for, shield): their tests end by checking that the loop holds no
 * object any more, since a combinator that forgot to release a reference
 * shows up nowhere else. */

/* Close and free `loop`, asserting the close succeeded and that nothing of
 * it is still referenced. */
void th_loop_free_checked(cio_loop *loop);
/* The same for a loop the test closed itself (it releases what it still
 * holds after the close, then calls this). */
void th_loop_free_closed(cio_loop *loop);
/* Run one iteration, so that the tasks spawned so far start and park, then
 * close `loop` with them still pending: each is reported and torn down. */
void th_loop_close_pending(cio_loop *loop);

/* Reports delivered to a loop's exception handler, counted by kind, for
 * the tests that need only how many (th_collect_reports() keeps each). */
struct th_report_counts {
	int total;
	int never_retrieved;  /* CIO_REPORT_ERROR_NEVER_RETRIEVED */
	int pending_at_close; /* CIO_REPORT_TASK_PENDING_AT_CLOSE */
	int other;            /* every kind but ERROR_NEVER_RETRIEVED */
	cio_future *last_never_retrieved; /* the future of the latest one */
};
/* th_loop_new() with its reports counted into *c (zeroed here). */
cio_loop *th_loop_new_counting(struct th_report_counts *c);

/* On a new loop, run fn(arg) to completion, assert it returned 0, then
 * th_loop_free_checked(). The loop's reports go to the default handler
 * (stderr). */
void th_run_checked(cio_task_fn fn, void *arg);
/* As th_run_checked(), with the loop's reports counted into *c (when c is
 * not NULL) for the test to check afterwards. */
void th_run_checked_counting(cio_task_fn fn, void *arg,
			     struct th_report_counts *c);
/* As th_run_checked(), and the loop must have reported nothing at all (no
 * error left unread, no task pending at close, no misuse). */
void th_run_checked_no_reports(cio_task_fn fn, void *arg);
/* As th_run_checked(), with the new loop itself as fn's argument (for
 * bodies that make plain futures on it). */
void th_run_checked_on_loop(cio_task_fn fn);

/* A child task (th_child_fn, argument a struct th_child): sleeps `delay`,
 * or until `until` when that is set, then returns `value`. Cancelled, it
 * records that and returns -ECANCELED at once. */
struct th_child {
	int64_t delay;
	int64_t until; /* absolute, when set */
	intptr_t value;
	bool saw_cancel;
	bool finished; /* slept to the end and returned `value` */
};
intptr_t th_child_fn(void *arg);
/* Spawn one child on the current loop. */
cio_task *th_spawn_child(struct th_child *c);
/* Spawn n children on the current loop and point f[i] at t[i]'s future. */
void th_spawn_children(struct th_child *c, cio_task **t, cio_future **f,
		       size_t n);
/* Cancel what still runs, await everything, read each error (so nothing
 * is reported as never retrieved) and drop the references. */
void th_finish_children(cio_task **t, size_t n);

/* -- for the stream and server suites -------------------------------------- */

/* th_run_checked_no_reports(), then th_leak_check(): the body returns 0,
 * leaves the loop clean, has it report nothing and leaks nothing. */
void th_run_clean(cio_task_fn fn, void *arg);
/* Spawn fn(arg) on the current loop; asserts success. */
cio_task *th_spawn_here(cio_task_fn fn, void *arg);
/* Await `t`, drop the reference, return what the await returned. */
intptr_t th_join(cio_task *t);

#endif
