/* The "no runtime" baselines of the benchmarks (bench/baseline/):
 * baseline-echo and baseline-http, hand-written epoll servers, and
 * libuv-echo, the same echo server on libuv, run as children with
 * --port 0 --workers 2. They use no coreio at all, so neither does this
 * suite: plain sockets, poll and threads.
 *
 * Echo (both servers): 16 connections at once, each sending 100 KiB in
 * writes of random sizes while reading back, so the server meets full
 * socket buffers (EPOLLOUT, libuv's write queue) and partial reads; every
 * byte must come back, in order.
 * HTTP: curl, three requests pipelined in one write, and 100 keep-alive
 * requests from python's http.client on one connection.
 * Both end with SIGTERM, which must give exit status 0. */
#include "helpers/proc.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ECHO TH_BUILD_DIR "/bench/baseline-echo"
#define UV_ECHO TH_BUILD_DIR "/bench/libuv-echo"
#define HTTP TH_BUILD_DIR "/bench/baseline-http"
#define WAIT_MS 10000
#define NCONN 16
#define PER_CONN (100 * 1024)
#define RESPONSE "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n" \
		 "Content-Type: text/plain\r\n\r\nHello, World!"

extern char **environ;

TestSuite(bench_baseline, .timeout = 30);

struct server {
	pid_t pid;
	int out;
	unsigned port;
	char port_s[8];
};

/* Start `bin` and wait for its "listening on 127.0.0.1:PORT" line. */
static void server_start(struct server *s, const char *bin)
{
	const char *argv[] = { bin, "--port", "0", "--workers", "2", NULL };
	posix_spawn_file_actions_t fa;
	char line[128];
	size_t n = 0;
	int out[2], ret;

	if (access(bin, X_OK) != 0)
		cr_skip_test("%s not built", bin);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	fflush(NULL);
	ret = posix_spawn(&s->pid, bin, &fa, NULL, (char *const *)argv,
			  environ);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(ret, 0, "spawn: %s", strerror(ret));
	close(out[1]);
	s->out = out[0];
	while (n == 0 || line[n - 1] != '\n') {
		struct pollfd pf = { .fd = s->out, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "no 'listening' line");
		cr_assert_eq(read(s->out, line + n, 1), 1,
			     "%s ended before listening", bin);
		cr_assert_lt(++n, sizeof(line));
	}
	line[n] = '\0';
	cr_assert_eq(sscanf(line, "listening on 127.0.0.1:%u", &s->port), 1,
		     "%s", line);
	cr_assert(s->port > 0 && s->port < 65536, "%s", line);
	snprintf(s->port_s, sizeof(s->port_s), "%u", s->port);
}

/* SIGTERM must end it with status 0. */
static void server_stop(struct server *s)
{
	int st;

	cr_assert_eq(kill(s->pid, SIGTERM), 0);
	cr_assert_eq(waitpid(s->pid, &st, 0), s->pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	close(s->out);
}

static int connect_to(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* -- echo ------------------------------------------------------------------ */

struct echo_job {
	unsigned port, seed;
	char err[128]; /* empty when everything came back */
};

/* The byte at offset i of connection `seed`'s stream. */
static uint8_t pat(size_t i, unsigned seed)
{
	return (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

/* Send PER_CONN bytes in random-sized writes while reading the echo,
 * both through poll on a non-blocking socket: a client that only wrote
 * would deadlock against a server that stops reading when it cannot send.
 * Runs on its own thread, so it reports in job->err, not by asserting. */
static void *echo_conn(void *arg)
{
	struct echo_job *j = arg;
	static __thread uint8_t buf[16384];
	size_t sent = 0, got = 0;
	unsigned r = j->seed;
	int fd = connect_to(j->port);

	if (fd < 0) {
		snprintf(j->err, sizeof(j->err), "connect: %s", strerror(errno));
		return NULL;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (got < PER_CONN) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (sent < PER_CONN)
			pf.events |= POLLOUT;
		if (poll(&pf, 1, WAIT_MS) <= 0) {
			snprintf(j->err, sizeof(j->err), "stalled at %zu", got);
			break;
		}
		if ((pf.revents & POLLOUT) && sent < PER_CONN) {
			size_t n = 1 + (size_t)rand_r(&r) % sizeof(buf);
			if (n > PER_CONN - sent)
				n = PER_CONN - sent;
			for (size_t i = 0; i < n; i++)
				buf[i] = pat(sent + i, j->seed);
			ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			snprintf(j->err, sizeof(j->err), "closed at %zu", got);
			break;
		}
		for (ssize_t i = 0; i < n; i++, got++)
			if (buf[i] != pat(got, j->seed)) {
				snprintf(j->err, sizeof(j->err),
					 "wrong byte at %zu", got);
				close(fd);
				return NULL;
			}
	}
	close(fd);
	return NULL;
}

static void echo_check(const char *bin)
{
	struct server s;
	struct echo_job jobs[NCONN];
	pthread_t th[NCONN];

	server_start(&s, bin);
	for (unsigned i = 0; i < NCONN; i++) {
		jobs[i] = (struct echo_job){ .port = s.port, .seed = i + 1 };
		cr_assert_eq(pthread_create(&th[i], NULL, echo_conn, &jobs[i]),
			     0);
	}
	for (unsigned i = 0; i < NCONN; i++) {
		pthread_join(th[i], NULL);
		cr_expect_str_eq(jobs[i].err, "", "conn %u: %s", i,
				 jobs[i].err);
	}
	server_stop(&s);
}

Test(bench_baseline, echo)
{
	echo_check(ECHO);
}

Test(bench_baseline, libuv_echo)
{
	echo_check(UV_ECHO);
}

/* -- http ------------------------------------------------------------------ */

Test(bench_baseline, http_curl)
{
	struct server s;
	struct th_proc p;
	char url[64];

	server_start(&s, HTTP);
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", s.port_s);
	if (!th_have("curl")) {
		server_stop(&s);
		cr_skip_test("curl not installed");
	}
	th_proc_run(&p, (const char *const[]){ "curl", "-s", url, NULL },
		    NULL, 0);
	cr_expect_eq(th_proc_exit(&p), 0, "curl: %s", p.err);
	cr_expect_str_eq(p.out, "Hello, World!");
	th_proc_free(&p);
	server_stop(&s);
}

Test(bench_baseline, http_pipelined)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char send_buf[3 * sizeof(req)], want[3 * sizeof(RESPONSE)];
	char got[sizeof(want)];
	size_t n = 0, len = strlen(RESPONSE) * 3;
	struct server s;
	int fd;

	server_start(&s, HTTP);
	snprintf(send_buf, sizeof(send_buf), "%s%s%s", req, req, req);
	snprintf(want, sizeof(want), "%s%s%s", RESPONSE, RESPONSE, RESPONSE);
	fd = connect_to(s.port);
	cr_assert_geq(fd, 0);
	/* One write: the three requests arrive in one read. */
	cr_assert_eq(send(fd, send_buf, strlen(send_buf), 0),
		     (ssize_t)strlen(send_buf));
	while (n < len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		cr_assert_gt(poll(&pf, 1, WAIT_MS), 0, "got %zu of %zu", n, len);
		ssize_t r = read(fd, got + n, sizeof(got) - 1 - n);
		cr_assert_gt(r, 0, "closed after %zu bytes", n);
		n += (size_t)r;
	}
	got[n] = '\0';
	cr_expect_str_eq(got, want);
	close(fd);
	server_stop(&s);
}

Test(bench_baseline, http_keepalive)
{
	static const char script[] =
		"import http.client, sys\n"
		"c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))\n"
		"for i in range(100):\n"
		"    c.request('GET', '/%d' % i)\n"
		"    r = c.getresponse()\n"
		"    assert r.status == 200 and r.read() == b'Hello, World!'\n"
		"    assert not r.will_close\n"
		"c.close()\n"
		"print('ok')\n";
	struct server s;
	struct th_proc p;

	server_start(&s, HTTP);
	if (!th_have("python3")) {
		server_stop(&s);
		cr_skip_test("python3 not installed");
	}
	th_proc_run(&p, (const char *const[]){ "python3", "-c", script,
					       s.port_s, NULL }, NULL, 0);
	cr_expect_eq(th_proc_exit(&p), 0, "python3: %s", p.err);
	cr_expect_str_eq(p.out, "ok\n");
	th_proc_free(&p);
	server_stop(&s);
}

/* Headers past 8 KiB: the connection is closed, the server lives on. */
Test(bench_baseline, http_oversized)
{
	static char big[9000];
	struct server s;
	char buf[256];
	int fd;

	server_start(&s, HTTP);
	fd = connect_to(s.port);
	cr_assert_geq(fd, 0);
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	cr_assert_eq(send(fd, big, sizeof(big), MSG_NOSIGNAL),
		     (ssize_t)sizeof(big));
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	cr_assert_gt(poll(&pf, 1, WAIT_MS), 0);
	cr_expect_leq(read(fd, buf, sizeof(buf)), 0, "answered anyway");
	close(fd);
	server_stop(&s);
}
