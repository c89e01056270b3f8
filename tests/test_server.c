/* TCP servers and clients: port 0, echo, 1,000 concurrent connections with
 * every byte checked, clients that vanish, half-closed connections,
 * graceful close (handlers finishing, then cancelled at the deadline),
 * max_connections, EMFILE on accept under a lowered RLIMIT_NOFILE (in a
 * forked child), open_connection's errors, and bad arguments. */
#include "helpers/net.h"
#include "io/server.h"
#include "io/stream.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS CIO_NSEC_PER_MSEC
#define LATER() cio_deadline_after(20 * CIO_NSEC_PER_SEC)
#define LOCAL "127.0.0.1"

#if defined(__SANITIZE_THREAD__)
#define CONNS 100
#else
#define CONNS 1000
#endif

/* -- helpers ----------------------------------------------------------------- */

/* A one-shot event between tasks. */
static cio_future *event_new(void)
{
	cio_future *f;
	cr_assert_eq(cio_future_new(NULL, &f), 0);
	return f;
}

static void event_set(cio_future *f, intptr_t v)
{
	if (!cio_future_done(f))
		cr_assert_eq(cio_future_set_result(f, v), 0);
}

static cio_stream *connect_to(cio_server *srv)
{
	cio_stream *s;
	cr_assert_eq(cio_open_connection(&s, LOCAL, cio_server_port(srv),
					 LATER(), NULL), 0);
	return s;
}

static void stop(cio_server *srv, int want)
{
	cr_assert_eq(cio_server_close(srv), 0);
	cr_assert_eq(cio_server_wait_closed(srv, LATER()), want);
	cr_assert_eq(cio_server_connections(srv), 0);
	cio_server_free(srv);
}

static intptr_t echo(cio_stream *s, void *arg)
{
	char buf[4096];
	ssize_t n;

	(void)arg;
	while ((n = cio_stream_read(s, buf, sizeof(buf), LATER())) > 0)
		if (cio_stream_write(s, buf, (size_t)n) < 0 ||
		    cio_stream_drain(s, LATER()) < 0)
			break;
	return n;
}

/* A request/response exchange on a stream: a line out, the same back. */
static void ping(cio_stream *c, const char *line)
{
	char buf[128];
	size_t n = strlen(line);

	cr_assert_eq(cio_stream_write(c, line, n), 0);
	cr_assert_eq(cio_stream_readline(c, buf, sizeof(buf), LATER()),
		     (ssize_t)n);
	cr_assert_eq(memcmp(buf, line, n), 0);
}

/* -- bad arguments ----------------------------------------------------------- */

static intptr_t bad_args_task(void *arg)
{
	cio_server *srv = arg;
	cio_stream *s = (cio_stream *)(uintptr_t)1;

	cr_assert_eq(cio_server_wait_closed(srv, LATER()), -EINVAL,
		     "not closed yet");
	cr_assert_eq(cio_server_wait_closed(NULL, LATER()), -EINVAL);
	cr_assert_eq(cio_open_connection(NULL, LOCAL, 1, LATER(), NULL),
		     -EINVAL);
	cr_assert_eq(cio_open_connection(&s, NULL, 1, LATER(), NULL), -EINVAL);
	cr_assert_null(s);
	struct cio_stream_opts bad = { .high_water = 10, .low_water = 20 };
	cr_assert_eq(cio_open_connection(&s, LOCAL, cio_server_port(srv),
					 LATER(), &bad), -EINVAL);
	/* The port is taken (SO_REUSEADDR does not share a listener). */
	cio_server *dup;
	cr_assert_eq(cio_start_server(&dup, LOCAL, cio_server_port(srv), echo,
				      NULL, NULL), -EADDRINUSE);
	stop(srv, 0);
	return 0;
}

Test(server, bad_arguments, .timeout = 60)
{
	struct cio_server_opts o = { 0 };
	cio_server *srv = (cio_server *)(uintptr_t)1;

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, NULL),
		     -EINVAL, "no loop");
	cr_assert_null(srv);

	struct th_report_counts reports;
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(cio_start_server(NULL, LOCAL, 0, echo, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, NULL, NULL, NULL),
		     -EINVAL);
	o.backlog = -1;
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, &o), -EINVAL);
	o = (struct cio_server_opts){ .flags = 0x80 };
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, &o), -EINVAL);
	struct cio_stream_opts so = { .low_water = 1, .high_water = 0 };
	so.low_water = CIO_STREAM_DEFAULT_HIGH_WATER + 1;
	o = (struct cio_server_opts){ .stream = &so };
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, &o), -EINVAL);
	/* A name needs a lookup, and a lookup needs a task. */
	cr_assert_eq(cio_start_server(&srv, "localhost", 0, echo, NULL, NULL),
		     -EPERM);
	cr_assert_null(srv);
	cr_assert_eq(cio_server_close(NULL), -EINVAL);
	cr_assert_eq(cio_server_port(NULL), 0);
	cr_assert_eq(cio_server_connections(NULL), 0);
	cio_server_free(NULL);

	/* Numeric hosts work outside a task. */
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, NULL), 0);
	cr_assert_neq(cio_server_port(srv), 0);
	cr_assert_eq(cio_server_wait_closed(srv, LATER()), -EINVAL);
	cr_assert_eq(th_run(loop, bad_args_task, srv), 0);
	th_loop_free_checked(loop);
	cr_assert_eq(reports.total, 0);
	th_leak_check();
}

/* -- port 0, echo ------------------------------------------------------------ */

static intptr_t echo_task(void *arg)
{
	(void)arg;
	cio_server *srv;
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, NULL), 0);
	cr_assert_eq(cio_server_sockname(srv, (struct sockaddr *)&a, &len), 0);
	cr_assert_eq(len, sizeof(a));
	cr_assert_eq(ntohs(a.sin_port), cio_server_port(srv));
	cr_assert_eq(a.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	cio_stream *c = connect_to(srv);
	ping(c, "hello\n");
	ping(c, "world\n");
	th_stream_finish(c, 0);
	/* By name, through cio_getaddrinfo(): "localhost" may list ::1
	 * first, which this IPv4 server refuses; the next address works. */
	cr_assert_eq(cio_open_connection(&c, "localhost", cio_server_port(srv),
					 LATER(), NULL), 0);
	ping(c, "by name\n");
	th_stream_finish(c, 0);
	cr_assert_eq(cio_server_accepted(srv), 2);
	stop(srv, 0);
	return 0;
}

Test(server, port_zero_echo, .timeout = 60)
{
	th_run_clean(echo_task, NULL);
}

/* -- 1,000 concurrent connections ----------------------------------------------- */

struct client {
	cio_server *srv;
	unsigned id;
	size_t len;
	int rc;
};

static intptr_t client_fn(void *arg)
{
	struct client *cl = arg;
	uint8_t *buf = malloc(cl->len);
	cio_stream *c;
	char eof;

	cr_assert_not_null(buf);
	cr_assert_eq(cio_open_connection(&c, LOCAL, cio_server_port(cl->srv),
					 LATER(), NULL), 0);
	th_fill_pat(buf, cl->len, 0, cl->id);
	/* Send it all, half-close, read the echo to the server's EOF. */
	cr_assert_eq(cio_stream_write(c, buf, cl->len), 0);
	cr_assert_eq(cio_stream_write_eof(c), 0);
	memset(buf, 0, cl->len);
	cr_assert_eq(cio_stream_read_exactly(c, buf, cl->len, LATER()),
		     (ssize_t)cl->len);
	th_check_pat(buf, cl->len, 0, cl->id);
	cr_assert_eq(cio_stream_read(c, &eof, 1, LATER()), 0);
	th_stream_finish(c, 0);
	free(buf);
	cl->rc = 1;
	return 0;
}

static intptr_t many_task(void *arg)
{
	(void)arg;
	static struct client cl[CONNS];
	static cio_task *t[CONNS];
	cio_server *srv;

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, echo, NULL, NULL), 0);
	for (unsigned i = 0; i < CONNS; i++) {
		cl[i] = (struct client){ srv, i, 4096 + 61 * i % 20000, 0 };
		t[i] = th_spawn_here(client_fn, &cl[i]);
	}
	for (unsigned i = 0; i < CONNS; i++) {
		cr_assert_eq(th_join(t[i]), 0);
		cr_assert_eq(cl[i].rc, 1);
	}
	cr_assert_eq(cio_server_accepted(srv), CONNS);
	stop(srv, 0);
	return 0;
}

Test(server, thousand_concurrent_echo_connections, .timeout = 60)
{
	struct rlimit rl;

	/* Both ends of each connection live in this process. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * CONNS + 64) {
		rl.rlim_cur = rl.rlim_max;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < 2 * CONNS + 64)
		cr_skip_test("RLIMIT_NOFILE hard limit %lu is too low",
			     (unsigned long)rl.rlim_max);
	th_run_clean(many_task, NULL);
}

/* -- clients that vanish ---------------------------------------------------------- */

struct seen {
	cio_future *ended[4];
	intptr_t result[4];
	int n;
};

/* Reads one request line, or records why it could not. */
static intptr_t line_handler(cio_stream *s, void *arg)
{
	struct seen *sn = arg;
	char buf[256];
	ssize_t n = cio_stream_readline(s, buf, sizeof(buf), LATER());
	int i = sn->n++;

	if (n > 0 && buf[n - 1] == '\n')
		cio_stream_write(s, buf, (size_t)n);
	sn->result[i] = n;
	event_set(sn->ended[i], 0);
	return n < 0 ? n : 0;
}

static intptr_t vanish_task(void *arg)
{
	(void)arg;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct seen sn = { .n = 0 };
	cio_server *srv;
	cio_stream *c;

	for (int i = 0; i < 4; i++)
		sn.ended[i] = event_new();
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, line_handler, &sn, NULL),
		     0);
	/* Half a request, then gone (FIN). */
	c = connect_to(srv);
	cr_assert_eq(cio_stream_write(c, "GET /par", 8), 0);
	th_stream_finish(c, 0);
	cr_assert_eq(cio_await(sn.ended[0]), 0);
	cr_assert_eq(sn.result[0], 8, "the partial line at EOF");

	/* Half a request, then reset (RST). */
	c = connect_to(srv);
	cr_assert_eq(cio_stream_write(c, "GET /par", 8), 0);
	cr_assert_eq(cio_stream_flush(c, LATER()), 0);
	cr_assert_eq(setsockopt(cio_stream_fd(c), SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)), 0);
	cio_stream_abort(c);
	cr_assert_eq(cio_stream_wait_closed(c, LATER()), 0);
	cio_stream_free(c);
	cr_assert_eq(cio_await(sn.ended[1]), 0);
	cr_assert(sn.result[1] == -ECONNRESET || sn.result[1] == 8,
		  "reset: %ld", (long)sn.result[1]);

	/* Connected, then gone without a byte. */
	c = connect_to(srv);
	th_stream_finish(c, 0);
	cr_assert_eq(cio_await(sn.ended[2]), 0);
	cr_assert_eq(sn.result[2], 0);

	/* The server is unharmed. */
	c = connect_to(srv);
	ping(c, "GET /\n");
	th_stream_finish(c, 0);
	cr_assert_eq(cio_await(sn.ended[3]), 0);
	cr_assert_eq(sn.result[3], 6);
	stop(srv, 0);
	for (int i = 0; i < 4; i++)
		cio_future_unref(sn.ended[i]);
	return 0;
}

Test(server, client_vanishes_mid_request, .timeout = 60)
{
	th_run_clean(vanish_task, NULL);
}

/* The client goes away while the handler is still sending a big reply. */
static intptr_t big_reply(cio_stream *s, void *arg)
{
	struct seen *sn = arg;
	static char chunk[64 * 1024];
	int rc = 0;
	int i = sn->n++;

	for (int k = 0; k < 1024 && rc == 0; k++)
		if ((rc = cio_stream_write(s, chunk, sizeof(chunk))) == 0)
			rc = cio_stream_drain(s, LATER());
	sn->result[i] = rc;
	event_set(sn->ended[i], 0);
	return rc;
}

static intptr_t vanish_reply_task(void *arg)
{
	(void)arg;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct seen sn = { .n = 0 };
	cio_server *srv;
	char buf[4096];

	for (int i = 0; i < 4; i++)
		sn.ended[i] = event_new();
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, big_reply, &sn, NULL), 0);
	cio_stream *c = connect_to(srv);
	cr_assert_eq(cio_stream_read_exactly(c, buf, sizeof(buf), LATER()),
		     (ssize_t)sizeof(buf));
	cr_assert_eq(setsockopt(cio_stream_fd(c), SOL_SOCKET, SO_LINGER, &lg,
				sizeof(lg)), 0);
	th_stream_finish(c, 0);
	cr_assert_eq(cio_await(sn.ended[0]), 0);
	cr_assert(sn.result[0] == -ECONNRESET || sn.result[0] == -EPIPE,
		  "drain: %ld", (long)sn.result[0]);
	stop(srv, 0);
	for (int i = 0; i < 4; i++)
		cio_future_unref(sn.ended[i]);
	return 0;
}

Test(server, client_vanishes_during_reply, .timeout = 60)
{
	th_run_clean(vanish_reply_task, NULL);
}

/* -- half-closed connections ----------------------------------------------------- */

/* Reads the whole request (to the client's half-close), then answers. */
static intptr_t count_handler(cio_stream *s, void *arg)
{
	char buf[4096], reply[64];
	size_t total = 0;
	ssize_t n;

	(void)arg;
	while ((n = cio_stream_read(s, buf, sizeof(buf), LATER())) > 0)
		total += (size_t)n;
	if (n < 0)
		return n;
	n = snprintf(reply, sizeof(reply), "got %zu\n", total);
	return cio_stream_write(s, reply, (size_t)n);
}

/* Greets and half-closes first, then reads to the client's EOF. */
static intptr_t greet_handler(cio_stream *s, void *arg)
{
	size_t *total = arg;
	char buf[4096];
	ssize_t n;

	cio_stream_write(s, "hello\n", 6);
	cio_stream_write_eof(s);
	while ((n = cio_stream_read(s, buf, sizeof(buf), LATER())) > 0)
		*total += (size_t)n;
	return n;
}

static intptr_t half_close_task(void *arg)
{
	(void)arg;
	static char big[300 * 1000];
	cio_server *srv;
	char buf[64];
	size_t total = 0;

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, count_handler, NULL,
				      NULL), 0);
	cio_stream *c = connect_to(srv);
	cr_assert_eq(cio_stream_write(c, big, sizeof(big)), 0);
	cr_assert_eq(cio_stream_write_eof(c), 0);
	cr_assert_eq(cio_stream_readline(c, buf, sizeof(buf), LATER()), 11);
	cr_assert_eq(memcmp(buf, "got 300000\n", 11), 0);
	cr_assert_eq(cio_stream_read(c, buf, 1, LATER()), 0);
	th_stream_finish(c, 0);
	stop(srv, 0);

	/* The server's side half-closes first. */
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, greet_handler, &total,
				      NULL), 0);
	c = connect_to(srv);
	cr_assert_eq(cio_stream_readline(c, buf, sizeof(buf), LATER()), 6);
	cr_assert_eq(cio_stream_read(c, buf, 1, LATER()), 0);
	cr_assert_eq(cio_stream_write(c, big, sizeof(big)), 0);
	th_stream_finish(c, 0);
	stop(srv, 0);
	cr_assert_eq(total, sizeof(big));
	return 0;
}

Test(server, half_closed_connections, .timeout = 60)
{
	th_run_clean(half_close_task, NULL);
}

/* -- graceful close ---------------------------------------------------------------- */

struct gate {
	cio_future *entered;
	cio_future *release;
	intptr_t got;
	bool done;
};

/* Answers once the test releases it; records how its wait ended. */
static intptr_t gated(cio_stream *s, void *arg)
{
	struct gate *g = arg;

	event_set(g->entered, 0);
	g->got = cio_await(g->release);
	if (g->got == 0)
		cio_stream_write(s, "bye\n", 4);
	g->done = true;
	return 0;
}

static intptr_t graceful_task(void *arg)
{
	(void)arg;
	struct gate g = { event_new(), event_new(), -1, false };
	cio_server *srv;
	cio_stream *c, *late;
	char buf[16];

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, gated, &g, NULL), 0);
	uint16_t port = cio_server_port(srv);
	c = connect_to(srv);
	cr_assert_eq(cio_await(g.entered), 0);
	cr_assert_eq(cio_server_connections(srv), 1);
	cr_assert_eq(cio_server_close(srv), 0);
	cr_assert_eq(cio_server_close(srv), 0, "twice");
	/* The handler finishes within the deadline: nothing is cancelled,
	 * and what it wrote on its way out is flushed. */
	event_set(g.release, 0);
	cr_assert_eq(cio_server_wait_closed(srv, LATER()), 0);
	cr_assert(g.done);
	cr_assert_eq(g.got, 0);
	cr_assert_eq(cio_stream_readline(c, buf, sizeof(buf), LATER()), 4);
	cr_assert_eq(cio_stream_read(c, buf, 1, LATER()), 0);
	th_stream_finish(c, 0);
	/* Not listening any more. */
	cr_assert_eq(cio_open_connection(&late, LOCAL, port, LATER(), NULL),
		     -ECONNREFUSED);
	cio_server_free(srv);
	cio_future_unref(g.entered);
	cio_future_unref(g.release);
	return 0;
}

Test(server, graceful_close_lets_handlers_finish, .timeout = 60)
{
	th_run_clean(graceful_task, NULL);
}

static intptr_t deadline_task(void *arg)
{
	(void)arg;
	struct gate g = { event_new(), event_new(), -1, false };
	cio_server *srv;
	char buf[16];

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, gated, &g, NULL), 0);
	cio_stream *c = connect_to(srv);
	cr_assert_eq(cio_await(g.entered), 0);
	cr_assert_eq(cio_server_close(srv), 0);
	int64_t t0 = cio_loop_time();
	cr_assert_eq(cio_server_wait_closed(srv, t0 + 50 * MS), -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - t0, 50 * MS);
	cr_assert(g.done);
	cr_assert_eq(g.got, -ECANCELED, "the handler was cancelled");
	cr_assert_eq(cio_server_connections(srv), 0);
	cr_assert_eq(cio_stream_read(c, buf, 1, LATER()), 0);
	th_stream_finish(c, 0);
	cio_server_free(srv);
	cio_future_unref(g.entered);
	cio_future_unref(g.release);
	return 0;
}

Test(server, graceful_close_cancels_at_deadline, .timeout = 60)
{
	th_run_clean(deadline_task, NULL);
}

struct waiter {
	cio_server *srv;
};

static intptr_t wait_closed_fn(void *arg)
{
	return cio_server_wait_closed(arg, CIO_NO_DEADLINE);
}

static intptr_t cancelled_wait_task(void *arg)
{
	(void)arg;
	struct gate g = { event_new(), event_new(), -1, false };
	cio_server *srv;

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, gated, &g, NULL), 0);
	cio_stream *c = connect_to(srv);
	cr_assert_eq(cio_await(g.entered), 0);
	cr_assert_eq(cio_server_close(srv), 0);
	cio_task *w = th_spawn_here(wait_closed_fn, srv);
	cr_assert_eq(cio_yield(), 0);
	cio_task_cancel(w);
	cr_assert_eq(th_join(w), -ECANCELED);
	cr_assert(g.done, "handlers are cancelled and awaited first");
	cr_assert_eq(g.got, -ECANCELED);
	th_stream_finish(c, 0);
	cio_server_free(srv);
	cio_future_unref(g.entered);
	cio_future_unref(g.release);
	return 0;
}

Test(server, cancelled_wait_closed_cancels_handlers, .timeout = 60)
{
	th_run_clean(cancelled_wait_task, NULL);
}

/* wait_closed from one of the server's own handlers would wait for
 * itself. */
static intptr_t self_wait(cio_stream *s, void *arg)
{
	cio_server **srv = arg;
	(void)s;
	cio_server_close(*srv);
	return cio_server_wait_closed(*srv, LATER()) == -EDEADLK ? 0 : -EIO;
}

static intptr_t self_wait_task(void *arg)
{
	(void)arg;
	cio_server *srv;

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, self_wait, &srv, NULL),
		     0);
	cio_stream *c = connect_to(srv);
	char b;
	cr_assert_eq(cio_stream_read(c, &b, 1, LATER()), 0);
	th_stream_finish(c, 0);
	cr_assert_eq(cio_server_wait_closed(srv, LATER()), 0);
	cio_server_free(srv);
	return 0;
}

Test(server, wait_closed_from_a_handler, .timeout = 60)
{
	th_run_clean(self_wait_task, NULL);
}

/* Freed with a handler still running: it is cancelled, and the server's
 * memory goes once it has ended. */
static intptr_t free_running_task(void *arg)
{
	(void)arg;
	struct gate g = { event_new(), event_new(), -1, false };
	cio_server *srv;
	char b;

	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, gated, &g, NULL), 0);
	cio_stream *c = connect_to(srv);
	cr_assert_eq(cio_await(g.entered), 0);
	cio_server_free(srv);
	cr_assert_eq(cio_stream_read(c, &b, 1, LATER()), 0);
	cr_assert_eq(g.got, -ECANCELED);
	th_stream_finish(c, 0);
	/* The handler's task ends right after the close it awaited. */
	while (cio_all_tasks(NULL, NULL, 0) > 1)
		cr_assert_eq(cio_yield(), 0);
	cio_future_unref(g.entered);
	cio_future_unref(g.release);
	return 0;
}

Test(server, free_with_running_handler, .timeout = 60)
{
	th_run_clean(free_running_task, NULL);
}

/* -- max_connections ----------------------------------------------------------------- */

struct limited {
	int running, peak;
	cio_future *release[3];
	int n;
};

static intptr_t limited_handler(cio_stream *s, void *arg)
{
	struct limited *l = arg;
	int i = l->n++;
	char buf[8];

	if (++l->running > l->peak)
		l->peak = l->running;
	cio_stream_write(s, "in\n", 3);
	cio_await(l->release[i]);
	l->running--;
	(void)buf;
	return 0;
}

static intptr_t max_conns_task(void *arg)
{
	(void)arg;
	struct cio_server_opts o = { .max_connections = 2 };
	struct limited l = { 0 };
	cio_server *srv;
	cio_stream *c[3];
	char buf[8];

	for (int i = 0; i < 3; i++)
		l.release[i] = event_new();
	cr_assert_eq(cio_start_server(&srv, LOCAL, 0, limited_handler, &l, &o),
		     0);
	for (int i = 0; i < 3; i++)
		c[i] = connect_to(srv);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(cio_stream_readline(c[i], buf, sizeof(buf),
						 LATER()), 3);
	/* The third waits in the backlog: no greeting within 100 ms. */
	cr_assert_eq(cio_stream_readline(c[2], buf, sizeof(buf),
					 cio_deadline_after(100 * MS)),
		     -ETIMEDOUT);
	cr_assert_eq(cio_server_connections(srv), 2);
	event_set(l.release[0], 0);
	cr_assert_eq(cio_stream_readline(c[2], buf, sizeof(buf), LATER()), 3);
	cr_assert_eq(l.peak, 2);
	event_set(l.release[1], 0);
	event_set(l.release[2], 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(cio_stream_read(c[i], buf, 1, LATER()), 0);
		th_stream_finish(c[i], 0);
	}
	stop(srv, 0);
	for (int i = 0; i < 3; i++)
		cio_future_unref(l.release[i]);
	return 0;
}

Test(server, max_connections, .timeout = 60)
{
	th_run_clean(max_conns_task, NULL);
}

/* -- open_connection errors ---------------------------------------------------------- */

static intptr_t connect_errors_task(void *arg)
{
	(void)arg;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	cio_stream *c;

	/* A port nobody listens on. */
	int fd = cio_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(cio_bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	cr_assert_eq(cio_open_connection(&c, LOCAL, ntohs(a.sin_port),
					 LATER(), NULL), -ECONNREFUSED);
	cr_assert_null(c);
	cr_assert_eq(cio_close(fd), 0);
	/* A deadline already passed. */
	cr_assert_eq(cio_open_connection(&c, "localhost", 9,
					 cio_loop_time() - 1, NULL),
		     -ETIMEDOUT);
	/* A name that does not resolve (or, with an unreachable name server,
	 * does not resolve in time). */
	int rc = cio_open_connection(&c, "no-such-host.invalid", 80,
				     cio_deadline_after(3 * CIO_NSEC_PER_SEC),
				     NULL);
	cr_assert(rc == -ENOENT || rc == -EAGAIN || rc == -ENODATA ||
		  rc == -ETIMEDOUT, "lookup: %d", rc);
	cr_assert_null(c);
	return 0;
}

Test(server, open_connection_errors, .timeout = 60)
{
	th_run_clean(connect_errors_task, NULL);
}

static intptr_t ipv6_task(void *arg)
{
	(void)arg;
	cio_server *srv;

	int rc = cio_start_server(&srv, "::1", 0, echo, NULL, NULL);
	if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT)
		return 0; /* no IPv6 loopback here */
	cr_assert_eq(rc, 0);
	cio_stream *c;
	cr_assert_eq(cio_open_connection(&c, "::1", cio_server_port(srv),
					 LATER(), NULL), 0);
	ping(c, "six\n");
	th_stream_finish(c, 0);
	stop(srv, 0);
	return 0;
}

Test(server, ipv6_loopback, .timeout = 60)
{
	th_run_clean(ipv6_task, NULL);
}

/* -- EMFILE on accept (forked child) --------------------------------------------------- */

#define CHILD_CHECK(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__,        \
				__LINE__, #cond);                              \
			fflush(stderr);                                        \
			_exit(1);                                              \
		}                                                              \
	} while (0)

#define NCLIENTS 3

static int64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * CIO_NSEC_PER_SEC +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static intptr_t emfile_main(void *arg)
{
	(void)arg;
	static int fillers[4096];
	int nfill = 0, cl[NCLIENTS];
	cio_server *srv;
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct rlimit rl;

	CHILD_CHECK(cio_start_server(&srv, LOCAL, 0, echo, NULL, NULL) == 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(cio_server_port(srv));
	for (int i = 0; i < NCLIENTS; i++)
		CHILD_CHECK((cl[i] = cio_socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	/* No descriptor left: every number below the limit is taken. */
	CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = 256;
	CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHILD_CHECK(nul >= 0);
	fillers[nfill++] = nul;
	for (;;) {
		int fd = dup(nul);
		if (fd < 0) {
			CHILD_CHECK(errno == EMFILE);
			break;
		}
		CHILD_CHECK(nfill < 4096);
		fillers[nfill++] = fd;
	}
	/* The kernel completes these handshakes; accept cannot take them. */
	for (int i = 0; i < NCLIENTS; i++)
		CHILD_CHECK(cio_connect(cl[i], (struct sockaddr *)&a,
					sizeof(a), LATER()) == 0);
	/* Measure the server over a window while accept keeps failing:
	 * backing off, it uses next to no CPU (a spinning retry uses all). */
	int64_t c0 = cpu_ns(), w0 = cio_loop_time();
	CHILD_CHECK(cio_sleep(400 * MS) == 0);
	int64_t cpu = cpu_ns() - c0, wall = cio_loop_time() - w0;
	if (cpu * 4 > wall) {
		fprintf(stderr, "child: %lld ns CPU in %lld ns\n",
			(long long)cpu, (long long)wall);
		_exit(2);
	}
	CHILD_CHECK(cio_server_accepted(srv) == 0);
	/* Descriptors come back: the pending clients are served. */
	for (int i = 0; i < nfill; i++)
		close(fillers[i]); /* never seen by coreio */
	for (int i = 0; i < NCLIENTS; i++) {
		char buf[8];
		ssize_t got = 0, n;
		CHILD_CHECK(cio_send(cl[i], "ping\n", 5, 0, LATER()) == 5);
		while (got < 5 && (n = cio_recv(cl[i], buf + got,
						(size_t)(5 - got), 0,
						LATER())) > 0)
			got += n;
		CHILD_CHECK(got == 5);
		CHILD_CHECK(memcmp(buf, "ping\n", 5) == 0);
		CHILD_CHECK(cio_close(cl[i]) == 0);
	}
	CHILD_CHECK(cio_server_accepted(srv) == NCLIENTS);
	CHILD_CHECK(cio_server_close(srv) == 0);
	CHILD_CHECK(cio_server_wait_closed(srv, LATER()) == 0);
	cio_server_free(srv);
	return 0;
}

static void emfile_child(void *arg)
{
	(void)arg;
	cio_loop *loop;
	cio_task *t;

	CHILD_CHECK(cio_loop_new(&loop, NULL) == 0);
	CHILD_CHECK(cio_spawn(&t, emfile_main, NULL, NULL) == 0);
	CHILD_CHECK(cio_loop_run_until_complete(loop, cio_task_future(t)) == 0);
	cio_task_unref(t);
	CHILD_CHECK(cio_loop_close(loop) == 0);
	cio_loop_free(loop);
	fflush(stderr);
	_exit(0);
}

Test(server, emfile_on_accept_backs_off_and_recovers, .timeout = 60)
{
	char *err = NULL;
	int st = th_fork_capture(emfile_child, NULL, &err);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child status %#x; stderr:\n%s", st, err);
	/* Reported once, however many retries. */
	const char *p = err;
	int reports = 0;
	while ((p = strstr(p, "backing off"))) {
		reports++;
		p++;
	}
	cr_assert_eq(reports, 1, "stderr:\n%s", err);
	cr_assert(strstr(err, "Too many open files"), "stderr:\n%s", err);
	free(err);
	th_leak_check();
}
