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

/* Under LeakSanitizer, fail the test if memory it allocated is no longer
 * reachable; nothing otherwise. Call it at the end of a test body:
 * Criterion does not fail a test for leaks found at exit, nor for
 * assertions in a .fini. */
void th_leak_check(void);

#endif
