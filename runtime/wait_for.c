/* wait_for: await a future with a deadline. As in Python 3.12, it is
 * `async with timeout(deadline): return await fut` — the two pieces already
 * have the semantics wait_for needs:
 * - at the deadline the scope cancels this task, so cio_await() cancels
 *   the future and keeps waiting until it is really done (a task runs its
 *   clean-up before we return);
 * - if the future ended cancelled, the scope turns -ECANCELED into
 *   -ETIMEDOUT; if it completed anyway, its outcome is returned and the
 *   scope withdraws its cancellation;
 * - a cancellation from anyone else is not the scope's and stays
 *   -ECANCELED, winning over the deadline. */
#include "runtime/combinators.h"
#include "runtime/task_internal.h"
#include "runtime/timeout.h"

intptr_t cio_wait_for(cio_future *fut, int64_t deadline)
{
	struct cio_timeout to = CIO_TIMEOUT_INIT;
	cio_task *t = cio__tls_task;
	intptr_t v;
	int ret;

	/* Bad arguments fail before a scope is opened for them. */
	if ((ret = cio__await_check(t, fut)) < 0)
		return ret;
	if ((ret = cio_timeout_enter(&to, deadline)) < 0)
		return ret;
	v = cio_await(fut);
	/* Only whether the await was cancelled matters to the scope; the
	 * value itself (any intptr_t) passes through untouched. */
	ret = cio_timeout_exit(&to, v == -ECANCELED ? -ECANCELED : 0);
	return ret == -ETIMEDOUT ? -ETIMEDOUT : v;
}
