/* Built by `make check-install` against a staged `make install`, through
 * pkg-config, exactly as a user would: proves the installed headers, the
 * umbrella header and coreio.pc work. */
#include <coreio.h>
#include <stdio.h>

static intptr_t answer(void *arg)
{
	(void)arg;
	if (cio_sleep(CIO_NSEC_PER_MSEC) < 0)
		return -EIO;
	return 42;
}

int main(void)
{
	cio_loop *loop;
	cio_task *t;
	intptr_t v;

	if (cio_loop_new(&loop, NULL) < 0)
		return 1;
	if (cio_spawn(&t, answer, NULL, NULL) < 0)
		return 1;
	v = cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_unref(t);
	cio_loop_free(loop);
	printf("installed coreio says %ld\n", (long)v);
	return v == 42 ? 0 : 1;
}
