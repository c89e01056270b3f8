/* Timeout scopes: a timer that cancels the task, and the bookkeeping that
 * tells the scope's cancellation from anyone else's (see timeout.h). */
#include "runtime/timeout.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdalign.h>

/* States are distinctive words rather than 0..3: storage that was never
 * entered (zeroes, or stale bytes) is very unlikely to look open. */
enum {
	TMO_IDLE = 0,
	TMO_ENTERED = 0x746d6f31,  /* open, deadline not reached */
	TMO_EXPIRING = 0x746d6f32, /* open, the task was cancelled */
	TMO_EXITED = 0x746d6f33,
	TMO_EXPIRED = 0x746d6f34,  /* closed after expiring */
};

/* may_alias: the caller's storage is declared as struct cio_timeout, and
 * we reach it through this type. */
struct __attribute__((may_alias)) tmo {
	struct cio__timer timer;
	cio_task *task;
	int64_t when;
	uint32_t cancelling; /* the task's count at enter */
	uint32_t state;
};

_Static_assert(sizeof(struct tmo) <= sizeof(struct cio_timeout),
	       "struct cio_timeout too small");
_Static_assert(alignof(struct tmo) <= alignof(struct cio_timeout),
	       "struct cio_timeout misaligned");

static inline struct tmo *tmo_of(struct cio_timeout *to)
{
	return (struct tmo *)(void *)to;
}

static inline const struct tmo *ctmo_of(const struct cio_timeout *to)
{
	return (const struct tmo *)(const void *)to;
}

static bool is_open(const struct tmo *s)
{
	return s->state == TMO_ENTERED || s->state == TMO_EXPIRING;
}

/* Runs in loop context, before the ready batch, so the task is parked or
 * queued and sees the cancellation at its current or next await. */
static void tmo_fire(struct cio__timer *timer)
{
	struct tmo *s = cio__container_of(timer, struct tmo, timer);

	if (s->task->fut.loop->closed)
		return; /* the task is torn down with the loop */
	s->state = TMO_EXPIRING;
	cio_task_cancel(s->task);
}

/* Point the timer at `deadline`. Deleting first frees a heap slot, so
 * re-arming an armed timer cannot fail; only arming a disarmed one can. */
static int arm(struct tmo *s, int64_t deadline)
{
	cio_loop *loop = s->task->fut.loop;
	int ret = 0;

	cio__timer_del(&loop->timers, &s->timer);
	if (deadline != CIO_NO_DEADLINE)
		ret = cio__timer_add(&loop->timers, &s->timer, deadline);
	return ret;
}

int cio_timeout_enter(struct cio_timeout *to, int64_t deadline)
{
	cio_task *t = cio__tls_task;
	struct tmo *s;
	int ret;

	if (!to)
		return -EINVAL;
	if (!t)
		return -EPERM;
	s = tmo_of(to);
	if (is_open(s))
		return -EINVAL;
	cio__timer_init(&s->timer, tmo_fire);
	s->task = t;
	s->cancelling = t->cancelling;
	ret = arm(s, deadline);
	if (ret < 0) {
		s->state = TMO_IDLE;
		return ret;
	}
	s->when = deadline;
	s->state = TMO_ENTERED;
	t->open_scopes++;
	return 0;
}

int cio_timeout_enter_after(struct cio_timeout *to, int64_t delay_ns)
{
	return cio_timeout_enter(to, cio_deadline_after(delay_ns));
}

int cio_timeout_exit(struct cio_timeout *to, int rc)
{
	struct tmo *s;

	if (!to)
		return -EINVAL;
	s = tmo_of(to);
	if (!is_open(s))
		return -EINVAL;
	if (s->task != cio__tls_task)
		return -EPERM;
	cio__timer_del(&s->task->fut.loop->timers, &s->timer);
	s->task->open_scopes--;
	if (s->state == TMO_ENTERED) {
		s->state = TMO_EXITED;
		return rc;
	}
	s->state = TMO_EXPIRED;
	/* Withdraw our request whatever rc is: if the body never saw it, the
	 * uncancel to the saved count drops it. Only when nobody else's
	 * request remains was the -ECANCELED ours. */
	if ((uint32_t)cio_task_uncancel(s->task) <= s->cancelling &&
	    rc == -ECANCELED)
		return -ETIMEDOUT;
	return rc;
}

int cio_timeout_reschedule(struct cio_timeout *to, int64_t deadline)
{
	struct tmo *s;
	int ret;

	if (!to)
		return -EINVAL;
	s = tmo_of(to);
	/* After expiry the cancellation is on its way: moving the deadline
	 * could not take it back. */
	if (s->state != TMO_ENTERED || s->task->fut.loop->closed)
		return -EINVAL;
	ret = arm(s, deadline);
	if (ret < 0)
		return ret;
	s->when = deadline;
	return 0;
}

int64_t cio_timeout_when(const struct cio_timeout *to)
{
	const struct tmo *s = to ? ctmo_of(to) : NULL;

	if (!s || s->state == TMO_IDLE)
		return -EINVAL;
	return s->when;
}

bool cio_timeout_expired(const struct cio_timeout *to)
{
	const struct tmo *s = to ? ctmo_of(to) : NULL;

	return s && (s->state == TMO_EXPIRING || s->state == TMO_EXPIRED);
}

