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

#endif
