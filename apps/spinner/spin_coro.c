/* spinner --coro: spinner_asyncio.py on the coreio loop. The spinner is a
 * task that awaits cio_sleep() between frames; the slow function is an
 * awaitable sleep, so the loop runs the spinner while it waits. Nothing
 * blocks, and one thread does everything.
 *
 * Stopping: a task, unlike a thread, can be cancelled from outside. The
 * supervisor cancels the spinner; its pending cio_sleep() returns
 * -ECANCELED (asyncio's CancelledError at the await), the spinner clears
 * its line and returns, and the supervisor awaits it so the line is clear
 * before the answer is printed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coreio.h"
#include "spinner.h"

struct spin_arg {
	const char *msg;
	bool animate;
};

static intptr_t spin(void *arg)
{
	const struct spin_arg *a = arg;
	int ret = 0;

	for (unsigned i = 0; ret == 0; i++) {
		if (a->animate)
			spin_draw(i, a->msg);
		/* -ECANCELED: the supervisor has the answer. Any other
		 * error (-ENOMEM for the timer) ends the animation too. */
		ret = cio_sleep(SPIN_INTERVAL_NS);
	}
	if (a->animate)
		spin_clear(a->msg);
	/* Handled, as the seed's `except CancelledError: break`: the task
	 * ends with a result, not cancelled. */
	return 0;
}

/* As Task.__repr__: "<Task pending name='spin' coro=<spin()>>". */
static void describe(cio_task *t, const char *coro, char *buf, size_t n)
{
	const char *state = !cio_task_done(t)	   ? "pending"
			    : cio_task_cancelled(t) ? "cancelled"
						    : "finished";

	snprintf(buf, n, "<Task %s name='%s' coro=<%s>>", state,
		 cio_task_name(t), coro);
}

/* The seed's `async def slow_function(): await asyncio.sleep(3)`. */
static intptr_t slow_function(int64_t delay_ns)
{
	int ret = cio_sleep(delay_ns);

	return ret < 0 ? ret : SPIN_ANSWER;
}

static intptr_t supervisor(void *arg)
{
	const struct spin_opts *o = arg;
	struct spin_arg sa = { .msg = SPIN_MSG, .animate = o->animate };
	struct cio_task_opts to = { .name = "spin" };
	cio_task *spinner;
	char desc[128];
	intptr_t result;
	int ret;

	ret = cio_spawn(&spinner, spin, &sa, &to);
	if (ret < 0)
		return ret;
	/* Scheduled but not started yet: pending, as asyncio's. */
	describe(spinner, "spin()", desc, sizeof(desc));
	printf("spinner object: %s\n", desc);
	fflush(stdout);

	result = slow_function(o->delay_ns);

	cio_task_cancel(spinner);
	/* The spinner handles the cancellation and returns 0; awaiting it
	 * lets it clear the line first. */
	cio_await_task(spinner);
	cio_task_unref(spinner);
	return result;
}

intptr_t spin_coro_supervisor(const struct spin_opts *o)
{
	cio_loop *loop;
	cio_task *t;
	intptr_t result;
	int ret;

	ret = cio_loop_new(&loop, NULL);
	if (ret < 0) {
		fprintf(stderr, "spinner: cannot create the event loop: %s\n",
			strerror(-ret));
		return ret;
	}
	ret = cio_spawn(&t, supervisor, (void *)o, NULL);
	if (ret < 0) {
		result = ret;
	} else {
		result = cio_loop_run_until_complete(loop, cio_task_future(t));
		cio_task_unref(t);
	}
	cio_loop_close(loop);
	cio_loop_free(loop);
	if (CIO_IS_ERR(result))
		fprintf(stderr, "spinner: %s\n", strerror((int)-result));
	return result;
}
