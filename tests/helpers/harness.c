#include "helpers/harness.h"

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
