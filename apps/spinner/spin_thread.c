/* spinner --thread: spinner_thread.py. The spinner is a pthread; the slow
 * function blocks the main thread; a flag tells the spinner to stop.
 *
 * Python has no API to stop a thread from outside, and neither has C (not
 * one that leaves the program in a known state): the thread is sent a
 * message. The seed's `signal.go` becomes a flag under a mutex with a
 * condition variable, so the spinner's 0.1 s pause doubles as its wait for
 * the message and it stops at once instead of finishing its nap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "spinner.h"

/* The seed's `class Signal: go = True`. */
struct signal_go {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* waits on CLOCK_MONOTONIC */
	bool go;
};

/* threading.Thread(target=spin, args=('thinking!', signal)), before and
 * after start(). */
struct spinner_thread {
	const char *name;
	bool started;
	pthread_t tid;
	struct signal_go *signal;
	const char *msg;
	bool animate;
};

/* As Thread.__repr__: "<Thread(name, initial)>", then "started <ident>". */
static void describe(const struct spinner_thread *t, char *buf, size_t n)
{
	if (!t->started)
		snprintf(buf, n, "<Thread(%s, initial)>", t->name);
	else
		snprintf(buf, n, "<Thread(%s, started %lu)>", t->name,
			 (unsigned long)t->tid);
}

static void ts_add_ns(struct timespec *ts, int64_t ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

static void *spin(void *arg)
{
	struct spinner_thread *t = arg;
	struct signal_go *s = t->signal;
	struct timespec next;
	bool go = true;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned i = 0; go; i++) {
		if (t->animate)
			spin_draw(i, t->msg);
		/* Absolute wake-ups: the frames keep their pace however
		 * long drawing took. */
		ts_add_ns(&next, SPIN_INTERVAL_NS);
		pthread_mutex_lock(&s->mu);
		while (s->go &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &next) == 0)
			;
		go = s->go;
		pthread_mutex_unlock(&s->mu);
	}
	if (t->animate)
		spin_clear(t->msg);
	return NULL;
}

/* The seed's slow_function(): time.sleep(3), which blocks this thread. An
 * absolute deadline keeps an interrupted sleep from starting over. */
static intptr_t slow_function(int64_t delay_ns)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	ts_add_ns(&until, delay_ns);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
			       NULL) == EINTR)
		;
	return SPIN_ANSWER;
}

intptr_t spin_thread_supervisor(const struct spin_opts *o)
{
	struct signal_go signal = { .go = true };
	struct spinner_thread spinner = {
		.name = "spin",
		.signal = &signal,
		.msg = SPIN_MSG,
		.animate = o->animate,
	};
	pthread_condattr_t ca;
	char desc[128];
	intptr_t result;
	int ret;

	pthread_mutex_init(&signal.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&signal.cv, &ca);
	pthread_condattr_destroy(&ca);

	describe(&spinner, desc, sizeof(desc));
	printf("spinner object: %s\n", desc);
	fflush(stdout); /* before the thread writes too */

	ret = pthread_create(&spinner.tid, NULL, spin, &spinner);
	if (ret) {
		fprintf(stderr, "spinner: cannot start the thread: %s\n",
			strerror(ret));
		result = -ret;
		goto out;
	}
	spinner.started = true;

	result = slow_function(o->delay_ns);

	pthread_mutex_lock(&signal.mu);
	signal.go = false;
	pthread_cond_signal(&signal.cv);
	pthread_mutex_unlock(&signal.mu);
	pthread_join(spinner.tid, NULL);
out:
	pthread_cond_destroy(&signal.cv);
	pthread_mutex_destroy(&signal.mu);
	return result;
}
