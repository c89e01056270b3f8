/* cio_getaddrinfo(): loopback names and numbers only (no network here),
 * the EAI_* to errno map, bad input, and cancellation / deadlines while
 * the lookup waits in the queue or runs.
 *
 * To hold a lookup "running" for as long as a test needs, this binary
 * interposes getaddrinfo(): the name "gated.invalid" waits on a gate the
 * test opens, then resolves as 127.0.0.1. Every other name goes to the C
 * library's getaddrinfo(). */
#include "helpers/harness.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

TestSuite(dns, .timeout = 60);

#define GATED "gated.invalid"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	int started;
	int finished;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0 };

static atomic_int gated_calls;

static void gate_wait(int *counter, int n)
{
	pthread_mutex_lock(&gate.mu);
	while (*counter < n)
		pthread_cond_wait(&gate.cv, &gate.mu);
	pthread_mutex_unlock(&gate.mu);
}

static int gate_count(int *counter)
{
	pthread_mutex_lock(&gate.mu);
	int n = *counter;
	pthread_mutex_unlock(&gate.mu);
	return n;
}

static void gate_open(void)
{
	pthread_mutex_lock(&gate.mu);
	gate.open = true;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
}

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
		      struct addrinfo **);
static gai_fn real_gai;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void find_real(void)
{
	real_gai = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
}

int getaddrinfo(const char *node, const char *service,
		const struct addrinfo *hints, struct addrinfo **res)
{
	pthread_once(&real_once, find_real);
	if (node && strcmp(node, GATED) == 0) {
		atomic_fetch_add(&gated_calls, 1);
		pthread_mutex_lock(&gate.mu);
		gate.started++;
		pthread_cond_broadcast(&gate.cv);
		while (!gate.open)
			pthread_cond_wait(&gate.cv, &gate.mu);
		gate.finished++;
		pthread_cond_broadcast(&gate.cv);
		pthread_mutex_unlock(&gate.mu);
		node = "127.0.0.1";
	}
	return real_gai(node, service, hints, res);
}

/* -- lookups ------------------------------------------------------------------------ */

static const struct sockaddr_in *first_in(const struct addrinfo *res)
{
	for (; res; res = res->ai_next)
		if (res->ai_family == AF_INET)
			return (const struct sockaddr_in *)res->ai_addr;
	return NULL;
}

static intptr_t localhost_body(void *arg)
{
	struct addrinfo hints = { .ai_family = AF_INET,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	const struct sockaddr_in *sin;
	(void)arg;

	cr_assert_eq(cio_getaddrinfo("localhost", "80", &hints, &res,
				     CIO_NO_DEADLINE), 0);
	cr_assert_not_null(res);
	cr_assert_eq(res->ai_socktype, SOCK_STREAM);
	cr_assert_not_null(sin = first_in(res));
	cr_assert_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq(sin->sin_port, htons(80));
	cio_freeaddrinfo(res);

	/* With a deadline that does not pass. */
	cr_assert_eq(cio_getaddrinfo("localhost", "http", &hints, &res,
				     cio_deadline_after(30 * CIO_NSEC_PER_SEC)),
		     0);
	cr_assert_not_null(sin = first_in(res));
	cr_assert_eq(sin->sin_port, htons(80), "service names resolve too");
	freeaddrinfo(res); /* plain freeaddrinfo() is as good */
	return 0;
}

Test(dns, localhost)
{
	th_run_checked_no_reports(localhost_body, NULL);
	th_leak_check();
}

static intptr_t numeric_body(void *arg)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				  .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	const struct sockaddr_in *sin;
	(void)arg;

	cr_assert_eq(cio_getaddrinfo("127.0.0.1", "8080", &hints, &res,
				     CIO_NO_DEADLINE), 0);
	cr_assert_not_null(sin = first_in(res));
	cr_assert_eq(sin->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq(sin->sin_port, htons(8080));
	cr_assert_eq(res->ai_socktype, SOCK_DGRAM);
	cio_freeaddrinfo(res);

	hints.ai_family = AF_INET6;
	cr_assert_eq(cio_getaddrinfo("::1", "443", &hints, &res,
				     CIO_NO_DEADLINE), 0);
	cr_assert_eq(res->ai_family, AF_INET6);
	const struct sockaddr_in6 *s6 = (void *)res->ai_addr;
	cr_assert(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	cr_assert_eq(s6->sin6_port, htons(443));
	cio_freeaddrinfo(res);

	/* A passive lookup without a host: the wildcard address. */
	struct addrinfo passive = { .ai_flags = AI_PASSIVE,
				    .ai_family = AF_INET,
				    .ai_socktype = SOCK_STREAM };
	cr_assert_eq(cio_getaddrinfo(NULL, "9000", &passive, &res,
				     CIO_NO_DEADLINE), 0);
	cr_assert_not_null(sin = first_in(res));
	cr_assert_eq(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_eq(sin->sin_port, htons(9000));
	cio_freeaddrinfo(res);

	/* No hints, no service. */
	cr_assert_eq(cio_getaddrinfo("127.0.0.1", NULL, NULL, &res,
				     CIO_NO_DEADLINE), 0);
	cr_assert_not_null(first_in(res));
	cio_freeaddrinfo(res);
	cio_freeaddrinfo(NULL);
	return 0;
}

Test(dns, numeric_hosts_and_services)
{
	th_run_checked_no_reports(numeric_body, NULL);
	th_leak_check();
}

/* Hints are copied; what the caller's struct holds besides the four
 * input fields is ignored. */
static intptr_t hints_copied_body(void *arg)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	(void)arg;

	memset(&hints, 0xff, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = 0;
	cr_assert_eq(cio_getaddrinfo("127.0.0.1", "1", &hints, &res,
				     CIO_NO_DEADLINE), 0);
	cio_freeaddrinfo(res);
	return 0;
}

Test(dns, only_the_input_fields_of_hints_are_used)
{
	th_run_checked_no_reports(hints_copied_body, NULL);
}

/* -- errors ---------------------------------------------------------------------------- */

static intptr_t errors_body(void *arg)
{
	struct addrinfo stream = { .ai_socktype = SOCK_STREAM };
	struct addrinfo numeric = { .ai_flags = AI_NUMERICHOST };
	struct addrinfo family = { .ai_family = 12345 };
	struct addrinfo socktype = { .ai_socktype = 12345 };
	struct addrinfo flags = { .ai_flags = 0x10000000 };
	struct addrinfo *res = (struct addrinfo *)(uintptr_t)1;
	(void)arg;

	cr_assert_eq(cio_getaddrinfo("localhost", "no-such-service-xyz",
				     &stream, &res, CIO_NO_DEADLINE), -ESRCH);
	cr_assert_null(res, "*res is NULL on error");
	cr_assert_eq(cio_getaddrinfo("not-an-address", "80", &numeric, &res,
				     CIO_NO_DEADLINE), -ENOENT);
	cr_assert_eq(cio_getaddrinfo("127.0.0.1", "80", &family, &res,
				     CIO_NO_DEADLINE), -EAFNOSUPPORT);
	cr_assert_eq(cio_getaddrinfo("127.0.0.1", "80", &socktype, &res,
				     CIO_NO_DEADLINE), -ESOCKTNOSUPPORT);
	cr_assert_eq(cio_getaddrinfo("127.0.0.1", "80", &flags, &res,
				     CIO_NO_DEADLINE), -EINVAL);
	cr_assert_null(res);
	return 0;
}

Test(dns, errors_map_to_errno)
{
	th_run_checked_no_reports(errors_body, NULL);
	th_leak_check();
}

Test(dns, gai_strerror)
{
	cr_assert_str_eq(cio_gai_strerror(-ENOENT), gai_strerror(EAI_NONAME));
	cr_assert_str_eq(cio_gai_strerror(-ESRCH), gai_strerror(EAI_SERVICE));
	cr_assert_str_eq(cio_gai_strerror(-EAGAIN), gai_strerror(EAI_AGAIN));
	cr_assert_str_eq(cio_gai_strerror(-EAFNOSUPPORT),
			 gai_strerror(EAI_FAMILY));
	cr_assert_str_eq(cio_gai_strerror(-EIO), gai_strerror(EAI_FAIL));
	cr_assert_str_eq(cio_gai_strerror(-EINVAL), strerror(EINVAL));
	cr_assert_str_eq(cio_gai_strerror(-ETIMEDOUT), strerror(ETIMEDOUT));
	cr_assert_str_eq(cio_gai_strerror(-ECANCELED), strerror(ECANCELED));
	cr_assert_not_null(cio_gai_strerror(-4000));
}

static intptr_t bad_input_body(void *arg)
{
	struct addrinfo *res = (struct addrinfo *)(uintptr_t)1;
	(void)arg;

	cr_assert_eq(cio_getaddrinfo(NULL, NULL, NULL, &res, CIO_NO_DEADLINE),
		     -EINVAL);
	cr_assert_null(res);
	cr_assert_eq(cio_getaddrinfo("localhost", "80", NULL, NULL,
				     CIO_NO_DEADLINE), -EINVAL);
	/* A deadline already passed: nothing is looked up. */
	cr_assert_eq(cio_getaddrinfo(GATED, "80", NULL, &res,
				     cio_loop_time() - 1), -ETIMEDOUT);
	cr_assert_null(res);
	cr_assert_eq(atomic_load(&gated_calls), 0);
	return 0;
}

Test(dns, bad_input)
{
	struct addrinfo *res = (struct addrinfo *)(uintptr_t)1;

	th_run_checked_no_reports(bad_input_body, NULL);
	cr_assert_eq(cio_getaddrinfo("localhost", "80", NULL, &res,
				     CIO_NO_DEADLINE), -EPERM, "outside a task");
	cr_assert_null(res);
}

/* -- cancellation, deadlines, loop close ------------------------------------------------- */

static struct {
	int64_t deadline;
	int rc;
	bool returned;
} lk;

static intptr_t gated_lookup(void *arg)
{
	struct addrinfo hints = { .ai_family = AF_INET };
	struct addrinfo *res = NULL;
	(void)arg;

	lk.rc = cio_getaddrinfo(GATED, "80", &hints, &res, lk.deadline);
	lk.returned = true;
	cr_assert_null(res);
	return 0;
}

static struct cio_executor_opts one_thread = { .threads = 1, .queue_size = 4 };

/* One pool thread, FIFO: once a lookup queued now has finished, every job
 * queued before it has finished and freed its record. */
static intptr_t drain_body(void *arg)
{
	struct addrinfo *res;
	(void)arg;
	cr_assert_eq(cio_getaddrinfo("127.0.0.1", "1", NULL, &res,
				     CIO_NO_DEADLINE), 0);
	cio_freeaddrinfo(res);
	return 0;
}

static void drain_default_executor(void)
{
	th_run_checked(drain_body, NULL);
}

static intptr_t cancel_running_body(void *arg)
{
	(void)arg;
	lk.deadline = CIO_NO_DEADLINE;
	cio_task *t = th_spawn(NULL, gated_lookup, NULL, NULL);
	cr_assert_eq(cio_yield(), 0);
	gate_wait(&gate.started, 1);
	cr_assert_eq(cio_task_cancel(t), 1);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cr_assert(lk.returned);
	cr_assert_eq(lk.rc, -ECANCELED);
	cr_assert_eq(gate_count(&gate.finished), 0, "returned while it runs");
	return 0;
}

Test(dns, cancelled_while_running)
{
	cr_assert_eq(cio_executor_configure_default(&one_thread), 0);
	th_run_checked_no_reports(cancel_running_body, NULL);
	gate_open();
	drain_default_executor();
	cr_assert_eq(gate_count(&gate.finished), 1);
	th_leak_check(); /* the list it found was freed */
}

static intptr_t deadline_running_body(void *arg)
{
	(void)arg;
	lk.deadline = cio_deadline_after(20 * CIO_NSEC_PER_MSEC);
	cio_task *t = th_spawn(NULL, gated_lookup, NULL, NULL);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cr_assert_eq(lk.rc, -ETIMEDOUT);
	cr_assert_geq(cio_loop_time(), lk.deadline);
	cr_assert_eq(gate_count(&gate.started), 1);
	cr_assert_eq(gate_count(&gate.finished), 0, "returned while it runs");
	return 0;
}

Test(dns, deadline_while_running)
{
	cr_assert_eq(cio_executor_configure_default(&one_thread), 0);
	th_run_checked_no_reports(deadline_running_body, NULL);
	gate_open();
	drain_default_executor();
	th_leak_check();
}

static intptr_t blocker_fn(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate.mu);
	gate.started++;
	pthread_cond_broadcast(&gate.cv);
	while (!gate.open)
		pthread_cond_wait(&gate.cv, &gate.mu);
	pthread_mutex_unlock(&gate.mu);
	return 0;
}

/* The only pool thread is busy: the lookup waits in the queue, the
 * deadline passes, and the lookup is taken out of the queue unrun. */
static intptr_t deadline_queued_body(void *arg)
{
	cio_future *busy;
	(void)arg;

	cr_assert_eq(cio_run_in_executor(&busy, NULL, blocker_fn, NULL), 0);
	gate_wait(&gate.started, 1);
	lk.deadline = cio_deadline_after(10 * CIO_NSEC_PER_MSEC);
	cio_task *t = th_spawn(NULL, gated_lookup, NULL, NULL);
	cr_assert_eq(cio_await_task(t), 0);
	cio_task_unref(t);
	cr_assert_eq(lk.rc, -ETIMEDOUT);
	gate_open();
	cr_assert_eq(cio_await(busy), 0);
	cio_future_unref(busy);
	return 0;
}

Test(dns, deadline_while_queued)
{
	cr_assert_eq(cio_executor_configure_default(&one_thread), 0);
	th_run_checked_no_reports(deadline_queued_body, NULL);
	drain_default_executor();
	cr_assert_eq(atomic_load(&gated_calls), 0, "never looked up");
	th_leak_check();
}

Test(dns, loop_close_while_running)
{
	struct th_report_counts c;
	cio_loop *loop;

	cr_assert_eq(cio_executor_configure_default(&one_thread), 0);
	loop = th_loop_new_counting(&c);
	lk.deadline = cio_deadline_after(60 * CIO_NSEC_PER_SEC);
	cio_task *t = th_spawn(loop, gated_lookup, NULL, NULL);
	th_run_once(loop);
	gate_wait(&gate.started, 1);
	cr_assert_eq(cio_loop_close(loop), 0);
	cr_assert_eq(c.pending_at_close, 1);
	cr_assert_not(lk.returned);
	cio_task_unref(t);
	th_loop_free_closed(loop);
	gate_open();
	drain_default_executor();
	cr_assert_eq(gate_count(&gate.finished), 1);
	th_leak_check();
}
