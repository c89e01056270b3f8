/* asyncio.Semaphore and BoundedSemaphore: FIFO hand-over of permits. */
#include "sync/sem.h"
#include "sync/waiter.h"
#include "runtime/task_internal.h"

#include <limits.h>
#include <stdlib.h>

struct cio_sem {
	int value;
	int bound; /* the initial value; only a bounded semaphore checks it */
	bool bounded;
	struct cio__sync_list waiters;
};

int cio_sem_new(cio_sem **out, int value, bool bounded)
{
	cio_sem *s;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (value < 0)
		return -EINVAL;
	if (!(s = malloc(sizeof(*s))))
		return -ENOMEM;
	s->value = value;
	s->bound = value;
	s->bounded = bounded;
	cio__sync_list_init(&s->waiters);
	*out = s;
	return 0;
}

int cio_sem_free(cio_sem *s)
{
	int ret;

	if (!s)
		return 0;
	if ((ret = cio__sync_list_busy(&s->waiters)) < 0)
		return ret;
	free(s);
	return 0;
}

/* A permit comes back: the first waiter gets it, or the count does. */
static void give(cio_sem *s)
{
	struct cio__sync_waiter *w = cio__sync_first(&s->waiters);

	if (w)
		cio__sync_wake(w, 0);
	else
		s->value++;
}

int cio_sem_acquire(cio_sem *s, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct cio__sync_waiter w;
	int ret;

	if (!s)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((ret = cio__task_check_cancel(t)) < 0)
		return ret;
	/* Waiters mean the value is 0: release() hands permits over. */
	if (s->value > 0) {
		s->value--;
		return 0;
	}
	ret = cio__sync_wait(&s->waiters, &w, deadline, 0);
	if (ret < 0)
		return ret;
	if (cio__sync_cancelled_late(false)) {
		give(s);
		return -ECANCELED;
	}
	return 0;
}

int cio_sem_try_acquire(cio_sem *s)
{
	if (!s)
		return -EINVAL;
	if (s->value == 0)
		return -EAGAIN;
	s->value--;
	return 0;
}

int cio_sem_release(cio_sem *s)
{
	if (!s)
		return -EINVAL;
	if (s->bounded ? s->value >= s->bound : s->value == INT_MAX)
		return -EOVERFLOW;
	give(s);
	return 0;
}

int cio_sem_value(const cio_sem *s)
{
	return s ? s->value : -EINVAL;
}

bool cio_sem_locked(const cio_sem *s)
{
	return s && s->value == 0;
}

int cio_sem_with(cio_sem *s, int64_t deadline, int (*fn)(void *arg),
		 void *arg)
{
	int ret;

	if (!fn)
		return -EINVAL;
	if ((ret = cio_sem_acquire(s, deadline)) < 0)
		return ret;
	ret = fn(arg);
	cio_sem_release(s);
	return ret;
}

int cio_sem_guard_acquire(struct cio_sem_guard *g, cio_sem *s,
			  int64_t deadline)
{
	int ret;

	if (!g || g->held)
		return -EINVAL;
	if ((ret = cio_sem_acquire(s, deadline)) < 0)
		return ret;
	g->sem = s;
	g->held = true;
	return 0;
}

void cio_sem_guard_release(struct cio_sem_guard *g)
{
	if (!g || !g->held)
		return;
	g->held = false;
	cio_sem_release(g->sem);
}
