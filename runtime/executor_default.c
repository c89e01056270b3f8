/* The executor's sizes and the process-wide default executor: created on
 * first use, sized by cio_executor_configure_default(), then the
 * environment, then the built-in defaults. */
#include "runtime/executor_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFAULT_QUEUE 1024u
#define DEFAULT_THREADS_CAP 32u

static unsigned cpu_count(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Python's ThreadPoolExecutor: min(32, CPUs + 4). Enough threads to keep
 * the CPUs busy with jobs that mostly wait (I/O, DNS), not so many that a
 * large machine starts hundreds. */
void cio__exec_fill_defaults(struct cio_executor_opts *o)
{
	if (!o->threads) {
		unsigned n = cpu_count() + 4;
		o->threads = n < DEFAULT_THREADS_CAP ? n : DEFAULT_THREADS_CAP;
	}
	if (!o->queue_size)
		o->queue_size = DEFAULT_QUEUE;
}

bool cio__exec_opts_valid(const struct cio_executor_opts *o)
{
	return o->threads <= CIO_EXECUTOR_MAX_THREADS &&
	       o->queue_size <= CIO_EXECUTOR_MAX_QUEUE;
}

/* A decimal in [1, max] from the environment; 0 when unset. */
static int env_unsigned(const char *name, unsigned max, unsigned *out)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	*out = 0;
	if (!s || !*s)
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(cio_executor *) default_ex;
static struct cio_executor_opts default_opts;
static bool atfork_set;

/* A child of fork() has none of the parent's pool threads: it starts a
 * default executor of its own on first use, as libuv's pool does. The
 * parent's copy stays allocated (and reachable) in `forked`. */
static cio_executor *forked;

static void atfork_child(void)
{
	forked = atomic_load_explicit(&default_ex, memory_order_relaxed);
	atomic_store_explicit(&default_ex, NULL, memory_order_relaxed);
	pthread_mutex_init(&default_mu, NULL);
}

static int default_create(cio_executor **out)
{
	struct cio_executor_opts o = default_opts;
	unsigned v;
	int ret;

	if (!o.threads) {
		if ((ret = env_unsigned("CIO_EXECUTOR_THREADS",
					CIO_EXECUTOR_MAX_THREADS, &v)) < 0)
			return ret;
		o.threads = v;
	}
	if (!o.queue_size) {
		if ((ret = env_unsigned("CIO_EXECUTOR_QUEUE",
					CIO_EXECUTOR_MAX_QUEUE, &v)) < 0)
			return ret;
		o.queue_size = v;
	}
	return cio__exec_create(out, &o, true);
}

cio_executor *cio__exec_resolve(cio_executor *ex, int *err)
{
	*err = 0;
	if (ex)
		return ex;
	ex = atomic_load_explicit(&default_ex, memory_order_acquire);
	if (ex)
		return ex;
	pthread_mutex_lock(&default_mu);
	if (!(ex = atomic_load_explicit(&default_ex, memory_order_relaxed)) &&
	    (*err = default_create(&ex)) == 0) {
		if (!atfork_set && pthread_atfork(NULL, NULL, atfork_child) == 0)
			atfork_set = true;
		atomic_store_explicit(&default_ex, ex, memory_order_release);
	}
	pthread_mutex_unlock(&default_mu);
	return *err ? NULL : ex;
}

int cio_executor_configure_default(const struct cio_executor_opts *opts)
{
	int ret = 0;

	if (!opts || !cio__exec_opts_valid(opts))
		return -EINVAL;
	pthread_mutex_lock(&default_mu);
	if (atomic_load_explicit(&default_ex, memory_order_relaxed))
		ret = -EBUSY;
	else
		default_opts = *opts;
	pthread_mutex_unlock(&default_mu);
	return ret;
}
