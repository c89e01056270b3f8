/* echo-server and echo-client (apps/echo), against each other and against
 * servers written here that misbehave on purpose.
 *
 * echo-server runs as a child with --port 0: the test reads the port from
 * its "listening on 127.0.0.1:PORT" line, and stops it with SIGTERM or
 * SIGINT, which must end it with status 0 and nothing on stderr (under
 * ASan a leak or an error would be there). $CIO_BACKEND reaches both
 * programs through the environment; --backend overrides it.
 *
 * The misbehaving servers (a byte flipped, an echo cut short, no echo at
 * all) run in this process on a coreio loop, while echo-client runs from
 * a task through th_proc_run(), which waits on an executor thread. */
#include "helpers/harness.h"
#include "helpers/proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SERVER TH_BUILD_DIR "/apps/echo-server"
#define CLIENT TH_BUILD_DIR "/apps/echo-client"
#define WAIT_MS 10000

extern char **environ;

TestSuite(echo, .timeout = 40);

/* -- echo-server as a child ------------------------------------------------- */

struct server {
	pid_t pid;
	int out, err;
	unsigned port;
	char port_s[8];
};

static void server_start_v(struct server *s, const char *const *extra)
{
	const char *argv[16] = { SERVER, "--port", "0", "--shards", "2" };
	posix_spawn_file_actions_t fa;
	int out[2], err[2], i = 5, ret;
	char line[128];
	size_t n = 0;

	for (; *extra; extra++)
		argv[i++] = *extra;
	argv[i] = NULL;
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	fflush(NULL);
	ret = posix_spawn(&s->pid, SERVER, &fa, NULL, (char *const *)argv,
			  environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(ret, 0, "spawn: %s", strerror(ret));
	close(out[1]);
	close(err[1]);
	s->out = out[0];
	s->err = err[0];
	/* Ready when it says so: one line on stdout. */
	while (n == 0 || line[n - 1] != '\n') {
		struct pollfd pf = { .fd = s->out, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "no 'listening' line");
		cr_assert_eq(read(s->out, line + n, 1), 1,
			     "echo-server ended before listening");
		cr_assert_lt(++n, sizeof(line));
	}
	line[n] = '\0';
	cr_assert_eq(sscanf(line, "listening on 127.0.0.1:%u", &s->port), 1,
		     "%s", line);
	cr_assert(s->port > 0 && s->port < 65536, "%s", line);
	snprintf(s->port_s, sizeof(s->port_s), "%u", s->port);
}

#define SERVER_START(s, ...) \
	server_start_v(s, (const char *const[]){ __VA_ARGS__ })

/* Everything left on fd, until end of file. */
static char *slurp(int fd)
{
	size_t cap = 1024, n = 0;
	char *b = malloc(cap);

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "child output stalled");
		if (n + 512 > cap)
			b = realloc(b, cap *= 2);
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	close(fd);
	return b;
}

/* Signal it; it must exit 0 and print nothing more. */
static void server_stop(struct server *s, int sig)
{
	int st;

	cr_assert_eq(kill(s->pid, sig), 0);
	char *out = slurp(s->out), *err = slurp(s->err);
	cr_assert_eq(waitpid(s->pid, &st, 0), s->pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "echo-server status %d, stderr: %s", st, err);
	cr_assert_str_eq(err, "", "echo-server stderr: %s", err);
	cr_assert_str_eq(out, "");
	free(out);
	free(err);
}

/* -- echo-client ----------------------------------------------------------- */

static void client_v(struct th_proc *p, const char *const *args)
{
	const char *argv[20] = { CLIENT };
	int i = 0;

	for (; args[i]; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	th_proc_run(p, argv, NULL, 0);
}

#define CLIENT_RUN(p, ...) \
	client_v(p, (const char *const[]){ __VA_ARGS__, NULL })

struct report {
	unsigned long long requests;
	double rps, p50, p90, p99, max;
	char backend[16];
};

/* Read the text report and check that it is sane. */
static void parse_report(const struct th_proc *p, unsigned conns,
			 size_t size, struct report *r)
{
	const char *l;
	char want[64];

	cr_assert_eq(th_proc_exit(p), 0, "echo-client status %d: %s",
		     p->status, p->err);
	cr_assert_str_eq(p->err, "", "%s", p->err);
	snprintf(want, sizeof(want), "load        %u connections x %zu bytes",
		 conns, size);
	l = strstr(p->out, want);
	cr_assert(l, "%s", p->out);
	l = strchr(l, '(');
	cr_assert(l && sscanf(l, "(%15[^)])", r->backend) == 1, "%s", p->out);
	l = strstr(p->out, "requests    ");
	cr_assert(l && sscanf(l, "requests    %llu, every byte verified",
			      &r->requests) == 1, "%s", p->out);
	l = strstr(p->out, "rate        ");
	cr_assert(l && sscanf(l, "rate        %lf req/s", &r->rps) == 1, "%s",
		  p->out);
	l = strstr(p->out, "latency     ");
	cr_assert(l && sscanf(l, "latency     p50 %lf us, p90 %lf us, p99 %lf "
			      "us, max %lf us", &r->p50, &r->p90, &r->p99,
			      &r->max) == 4, "%s", p->out);
	/* Lockstep for about a second: some requests, no more than a
	 * loopback can carry, and ordered percentiles. */
	cr_assert_gt(r->requests, 10, "%s", p->out);
	cr_assert_gt(r->rps, 5, "%s", p->out);
	cr_assert(r->p50 > 0 && r->p50 <= r->p90 && r->p90 <= r->p99 &&
		  r->p99 <= r->max, "%s", p->out);
	/* One round trip never takes the whole run. */
	cr_assert_lt(r->p50, 1e6, "%s", p->out);
}

static void check_load(const char *conns, const char *size)
{
	struct server s;
	struct th_proc p;
	struct report r;

	SERVER_START(&s, NULL);
	CLIENT_RUN(&p, "-p", s.port_s, "-c", conns, "-s", size, "-d", "1");
	parse_report(&p, (unsigned)atoi(conns), (size_t)atol(size), &r);
	cr_assert_str_eq(r.backend, th_backend_name());
	th_proc_free(&p);
	server_stop(&s, SIGTERM);
}

Test(echo, eight_connections_small_messages)
{
	check_load("8", "64");
}

Test(echo, two_connections_100k_messages)
{
	check_load("2", "100000");
}

/* A burst of 2,000 connections on one shard fills the accept queue past
 * the point where io_uring's multishot accept is paused: it must be
 * re-armed, or the clients still in the backlog are never served. */
Test(echo, two_thousand_connections_at_once_on_one_shard)
{
	struct server s;
	struct th_proc p;
	struct report r;
	struct rlimit rl;

	/* The programs raise their soft limit to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max < 2100)
		cr_skip_test("RLIMIT_NOFILE hard limit %lu < 2100",
			     (unsigned long)rl.rlim_max);
	SERVER_START(&s, "-S", "1", NULL);
	CLIENT_RUN(&p, "-p", s.port_s, "-c", "2000", "-s", "64", "-d", "1",
		   "-S", "2");
	parse_report(&p, 2000, 64, &r);
	th_proc_free(&p);
	server_stop(&s, SIGTERM);
}

Test(echo, json_lines)
{
	static const char *const metrics[] = { "requests", "req_per_s",
					       "mb_per_s", "p50_us", "p90_us",
					       "p99_us", "max_us", "errors" };
	struct server s;
	struct th_proc p;
	char head[160], *l;
	double v;

	SERVER_START(&s, NULL);
	CLIENT_RUN(&p, "--port", s.port_s, "--connections", "3", "--size",
		   "512", "--duration", "0.3", "--shards", "2", "--json");
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	l = p.out;
	for (size_t i = 0; i < 8; i++) {
		snprintf(head, sizeof(head),
			 "{\"bench\":\"echo-client\",\"case\":\"c3-s512\","
			 "\"system\":\"%s\",\"metric\":\"%s\",\"value\":",
			 th_backend_name(), metrics[i]);
		cr_assert(strncmp(l, head, strlen(head)) == 0,
			  "line %zu: %s", i, l);
		l += strlen(head);
		cr_assert_eq(sscanf(l, "%lf", &v), 1, "%s", l);
		if (i == 0)
			cr_assert_gt(v, 0, "requests");
		if (i == 7)
			cr_assert_eq(v, 0, "errors");
		l = strchr(l, '\n');
		cr_assert(l && l[-1] == '}', "line %zu unterminated", i);
		l++;
	}
	cr_assert_str_eq(l, "");
	th_proc_free(&p);
	server_stop(&s, SIGINT);
}

/* --backend on either side overrides $CIO_BACKEND. */
Test(echo, both_backends_by_option)
{
	static const char *const be[2][2] = { { "epoll", "uring" },
					      { "uring", "epoll" } };
	struct report r;

	for (int i = 0; i < 2; i++) {
		struct server s;
		struct th_proc p;
		SERVER_START(&s, "--backend", be[i][0], NULL);
		CLIENT_RUN(&p, "-p", s.port_s, "-c", "4", "-s", "1000", "-d",
			   "0.3", "--backend", be[i][1]);
		parse_report(&p, 4, 1000, &r);
		cr_assert_str_eq(r.backend, i == 0 ? "io_uring" : "epoll");
		th_proc_free(&p);
		server_stop(&s, SIGTERM);
	}
}

/* A client still connected does not keep the server from ending: it
 * gets the grace period, then its handler is cancelled. */
Test(echo, sigterm_with_a_client_connected)
{
	struct server s;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[5];
	int fd;

	SERVER_START(&s, NULL);
	sa.sin_port = htons((uint16_t)s.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* Served: the echo came back. */
	cr_assert_eq(write(fd, "hello", 5), 5);
	cr_assert_eq(recv(fd, buf, 5, MSG_WAITALL), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	server_stop(&s, SIGTERM);
	/* ...and the connection was closed. */
	cr_assert_eq(recv(fd, buf, 1, 0), 0);
	close(fd);
}

/* -- misbehaving servers, in this process ------------------------------------ */

enum fake { FLIP_BYTE_100, CUT_SHORT, SILENT };

struct fake_run {
	enum fake kind;
	const char *const *args; /* after -p PORT */
	struct th_proc p;
};

static intptr_t fake_handler(cio_stream *s, void *arg)
{
	const struct fake_run *f = arg;
	uint8_t buf[4096];
	size_t off = 0;
	ssize_t n;

	if (f->kind == CUT_SHORT) {
		/* Half of the first (64-byte) request, then hang up. */
		if (cio_stream_read_exactly(s, buf, 64, CIO_NO_DEADLINE) == 64)
			cio_stream_write(s, buf, 32);
		return 0;
	}
	while ((n = cio_stream_read(s, buf, sizeof(buf),
				    CIO_NO_DEADLINE)) > 0) {
		if (f->kind == SILENT)
			continue;
		if (off <= 100 && 100 < off + (size_t)n)
			buf[100 - off] ^= 0x20;
		off += (size_t)n;
		if (cio_stream_write(s, buf, (size_t)n) < 0 ||
		    cio_stream_drain(s, CIO_NO_DEADLINE) < 0)
			break;
	}
	return 0;
}

static intptr_t fake_main(void *arg)
{
	struct fake_run *f = arg;
	const char *argv[16] = { CLIENT, "-p" };
	char port[8];
	cio_server *srv;
	int i = 3;

	cr_assert_eq(cio_start_server(&srv, "127.0.0.1", 0, fake_handler, f,
				      NULL), 0);
	snprintf(port, sizeof(port), "%u", cio_server_port(srv));
	argv[2] = port;
	for (const char *const *a = f->args; *a; a++)
		argv[i++] = *a;
	argv[i] = NULL;
	th_proc_run(&f->p, argv, NULL, 0);
	cio_server_close(srv);
	cio_server_wait_closed(srv, cio_deadline_after(CIO_NSEC_PER_SEC));
	cio_server_free(srv);
	return 0;
}

static void run_fake(struct fake_run *f)
{
	cio_loop *loop = th_loop_new();

	cr_assert_eq(th_run(loop, fake_main, f), 0);
	th_loop_free(loop);
	cr_assert_eq(th_proc_exit(&f->p), 1, "echo-client status %d: %s",
		     f->p.status, f->p.err);
	cr_assert_str_eq(f->p.out, "", "no report after a failure: %s",
			 f->p.out);
}

Test(echo, a_flipped_byte_is_named)
{
	/* Stream offset 100 with 64-byte requests: request 1, byte 36. */
	struct fake_run f = {
		.kind = FLIP_BYTE_100,
		.args = (const char *const[]){ "-c", "1", "-s", "64", "-d",
					       "1", NULL },
	};

	run_fake(&f);
	cr_assert(strstr(f.p.err, "echo-client: connection 0: mismatch in "
			 "request 1 at byte 36 of 64: sent 0x"),
		  "%s", f.p.err);
	cr_assert(strstr(f.p.err, "echo-client: 1 of 1 connections failed"),
		  "%s", f.p.err);
	/* Exactly that byte, and it differs by the bit flipped. */
	unsigned sent, got;
	const char *l = strstr(f.p.err, "sent 0x");
	cr_assert_eq(sscanf(l, "sent 0x%x, got 0x%x", &sent, &got), 2);
	cr_assert_eq(sent ^ got, 0x20u);
	th_proc_free(&f.p);
}

Test(echo, a_flipped_byte_among_many_connections)
{
	/* Every connection meets the flip at its offset 100; the first
	 * stops all of them, each is named, and the count is right. */
	struct fake_run f = {
		.kind = FLIP_BYTE_100,
		.args = (const char *const[]){ "-c", "4", "-s", "1000", "-d",
					       "1", "-S", "2", NULL },
	};

	run_fake(&f);
	cr_assert(strstr(f.p.err, "mismatch in request 0 at byte 100 of "
			 "1000"), "%s", f.p.err);
	cr_assert(strstr(f.p.err, "connections failed"), "%s", f.p.err);
	th_proc_free(&f.p);
}

Test(echo, an_echo_cut_short_is_named)
{
	struct fake_run f = {
		.kind = CUT_SHORT,
		.args = (const char *const[]){ "-c", "1", "-s", "64", NULL },
	};

	run_fake(&f);
	cr_assert(strstr(f.p.err, "connection 0: request 0: the server "
			 "closed the connection after 32 of 64 bytes"),
		  "%s", f.p.err);
	th_proc_free(&f.p);
}

Test(echo, no_echo_times_out)
{
	struct fake_run f = {
		.kind = SILENT,
		.args = (const char *const[]){ "-c", "2", "-s", "10",
					       "--timeout", "0.2", NULL },
	};

	run_fake(&f);
	cr_assert(strstr(f.p.err, ": request 0: no echo within 0.2 s"), "%s",
		  f.p.err);
	cr_assert(strstr(f.p.err, "echo-client: 2 of 2 connections failed"),
		  "%s", f.p.err);
	th_proc_free(&f.p);
}

Test(echo, connection_refused)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct th_proc p;
	char port[8], want[96];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port bound but not listening refuses, and stays ours. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	CLIENT_RUN(&p, "-p", port, "-c", "3");
	cr_assert_eq(th_proc_exit(&p), 1, "status %d", p.status);
	cr_assert_str_eq(p.out, "");
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%s: "
		 "Connection refused\n", port);
	cr_assert(strstr(p.err, want), "%s", p.err);
	cr_assert(strstr(p.err, "echo-client: 3 of 3 connections failed"),
		  "%s", p.err);
	th_proc_free(&p);
	close(fd);
}

/* -- command lines ------------------------------------------------------------ */

static void usage_v(const char *bin, const char *const *args,
		    const char *needle)
{
	const char *argv[12] = { bin };
	struct th_proc p;
	int i = 0;

	for (; args[i]; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 2, "'%s': status %d, stderr %s",
		     needle, p.status, p.err);
	cr_assert_str_eq(p.out, "");
	cr_assert(strstr(p.err, needle), "stderr '%s', wanted '%s'", p.err,
		  needle);
	cr_assert(strstr(p.err, "--help'"), "%s", p.err);
	th_proc_free(&p);
}

#define CLIENT_USAGE(needle, ...) \
	usage_v(CLIENT, (const char *const[]){ __VA_ARGS__, NULL }, needle)
#define SERVER_USAGE(needle, ...) \
	usage_v(SERVER, (const char *const[]){ __VA_ARGS__, NULL }, needle)

Test(echo, bad_command_lines)
{
	CLIENT_USAGE("which port? (-p PORT)", "-c", "2");
	CLIENT_USAGE("bad port '0'", "-p", "0");
	CLIENT_USAGE("bad port '65536'", "-p", "65536");
	CLIENT_USAGE("bad port 'http'", "--port", "http");
	CLIENT_USAGE("bad connection count '0'", "-p", "1", "-c", "0");
	CLIENT_USAGE("bad size '0'", "-p", "1", "-s", "0");
	CLIENT_USAGE("bad size '-5'", "-p", "1", "-s", "-5");
	CLIENT_USAGE("bad size '67108865'", "-p", "1", "-s", "67108865");
	CLIENT_USAGE("bad time 'abc'", "-p", "1", "-d", "abc");
	CLIENT_USAGE("bad time '-1'", "-p", "1", "-d", "-1");
	CLIENT_USAGE("bad time '0'", "-p", "1", "--timeout", "0");
	CLIENT_USAGE("bad shard count '0'", "-p", "1", "--shards", "0");
	CLIENT_USAGE("bad backend 'kqueue'", "-p", "1", "--backend",
		     "kqueue");
	CLIENT_USAGE("connections x size above 1 GiB", "-p", "1", "-c",
		     "100000", "-s", "1000000");
	CLIENT_USAGE("unexpected argument 'now'", "-p", "1", "now");
	CLIENT_USAGE("unknown option '--rate'", "-p", "1", "--rate", "5");
	CLIENT_USAGE("-p needs an argument", "-p");
	SERVER_USAGE("bad port '70000'", "--port", "70000");
	SERVER_USAGE("bad shard count '0'", "--shards", "0");
	SERVER_USAGE("bad shard count '1025'", "-S", "1025");
	SERVER_USAGE("bad backend 'foo'", "-b", "foo");
	SERVER_USAGE("empty host", "--host", "");
	SERVER_USAGE("unexpected argument 'x'", "x");
	SERVER_USAGE("unknown option '-z'", "-z");
	SERVER_USAGE("--port needs an argument", "--port");
}

Test(echo, server_cannot_listen)
{
	/* TEST-NET-1 is no address of this machine. */
	const char *argv[] = { SERVER, "--host", "192.0.2.1", "--port", "0",
			       "--shards", "1", NULL };
	struct th_proc p;

	th_proc_run(&p, argv, NULL, 0);
	cr_assert_eq(th_proc_exit(&p), 1, "status %d", p.status);
	cr_assert_str_eq(p.out, "");
	cr_assert(strstr(p.err, "echo-server: cannot listen on 192.0.2.1:0: "),
		  "%s", p.err);
	th_proc_free(&p);
}

Test(echo, help)
{
	const char *bins[2] = { SERVER, CLIENT };

	for (int i = 0; i < 2; i++) {
		const char *argv[] = { bins[i], "--help", NULL };
		struct th_proc p;
		th_proc_run(&p, argv, NULL, 0);
		cr_assert_eq(th_proc_exit(&p), 0);
		cr_assert(strstr(p.out, "Usage: echo-"), "%s", p.out);
		cr_assert_str_eq(p.err, "");
		th_proc_free(&p);
	}
}
