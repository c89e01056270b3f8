/* asyncio.Event: a flag and the tasks waiting for it. */
#include "sync/event.h"
#include "sync/waiter.h"
#include "runtime/task_internal.h"

#include <stdlib.h>

struct cio_event {
	bool set;
	struct cio__sync_list waiters;
};

int cio_event_new(cio_event **out)
{
	cio_event *ev;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!(ev = malloc(sizeof(*ev))))
		return -ENOMEM;
	ev->set = false;
	cio__sync_list_init(&ev->waiters);
	*out = ev;
	return 0;
}

int cio_event_free(cio_event *ev)
{
	int ret;

	if (!ev)
		return 0;
	if ((ret = cio__sync_list_busy(&ev->waiters)) < 0)
		return ret;
	free(ev);
	return 0;
}

int cio_event_set(cio_event *ev)
{
	if (!ev)
		return -EINVAL;
	if (!ev->set) {
		ev->set = true;
		cio__sync_wake_all(&ev->waiters, 0);
	}
	return 0;
}

int cio_event_clear(cio_event *ev)
{
	if (!ev)
		return -EINVAL;
	ev->set = false;
	return 0;
}

bool cio_event_is_set(const cio_event *ev)
{
	return ev && ev->set;
}

int cio_event_wait(cio_event *ev, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret;

	if (!ev)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	if (ev->set)
		return 0;
	ret = cio__sync_wait(&ev->waiters, &w, deadline, 0);
	if (ret == 0 && cio__sync_cancelled_late(false))
		return -ECANCELED;
	return ret;
}
