/* The quickest end-to-end check: a task that spawns, sleeps and awaits. */
#include "helpers/harness.h"

static intptr_t child(void *arg)
{
	cr_assert_eq(cio_sleep(CIO_NSEC_PER_MSEC), 0);
	return (intptr_t)arg * 2;
}

static intptr_t parent(void *arg)
{
	(void)arg;
	cio_task *t[3];
	intptr_t sum = 0;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(cio_spawn(&t[i], child, (void *)(intptr_t)(i + 1),
				       NULL), 0);
	for (int i = 0; i < 3; i++) {
		sum += cio_await_task(t[i]);
		cio_task_unref(t[i]);
	}
	return sum;
}

Test(smoke, spawn_sleep_await)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, parent, NULL), 12);
	th_loop_free(loop);
}
