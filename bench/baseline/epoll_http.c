/* baseline-http: an HTTP/1.1 "Hello, World!" server with no runtime at
 * all, the classic epoll loop, as the baseline of the wrk plaintext
 * benchmark (what coreio's http server costs over hand-written code).
 *
 * Not a general server: every request is assumed to be a GET without a
 * body, delimited by the blank line "\r\n\r\n", and gets the same 200
 * response; the request line and headers are not parsed (no
 * "Connection: close", no bodies, no chunking). Keep-alive and pipelining
 * work: each request in the input gets its response, in order, and the
 * responses of one read go out in one send. A request whose headers pass
 * 8 KiB closes the connection.
 *
 * Structure as in epoll_echo.c: one pinned thread per worker, each with
 * its own SO_REUSEPORT socket and level-triggered epoll set; a connection
 * waits for EPOLLOUT (and stops reading) while its responses do not fit
 * in the socket, so a client that pipelines without reading is bounded.
 *
 *   baseline-http [--host H] [--port P] [--workers N]
 *
 * Prints "listening on HOST:PORT" once every worker's socket is bound;
 * SIGINT or SIGTERM ends it with status 0. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_SIZE 8192   /* the largest request headers accepted */
#define OUT_SIZE 65536
#define MAX_EVENTS 256

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
			       "Content-Length: 13\r\n"
			       "Content-Type: text/plain\r\n"
			       "\r\n"
			       "Hello, World!";
#define RESPONSE_LEN (sizeof(RESPONSE) - 1)

struct conn {
	int fd;
	uint32_t ev;          /* what epoll watches for now */
	size_t in_len;        /* in[0, in_len): received, not yet answered */
	size_t out_off, out_len; /* out[out_off, out_len): still to send */
	char in[IN_SIZE];
	char out[OUT_SIZE];
};

struct worker {
	int lfd, cpu;
	pthread_t th;
};

/* Marks the listening socket in epoll_data (connections point to theirs). */
static char listen_tag;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void conn_close(struct conn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c);
}

static void conn_want(int ep, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->ev != ev && epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->ev = ev;
}

/* Send what is pending; 1 when all of it went, 0 when the socket is full,
 * -1 when the connection is gone. MSG_NOSIGNAL: a reset peer must not kill
 * the process with SIGPIPE. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/* Answer the complete requests at the start of `in` while the responses
 * fit in `out`; keep the rest of the input (a partial request, or requests
 * left for when `out` has drained). Returns whether any were answered. */
static int answer(struct conn *c)
{
	size_t pos = 0;
	char *end;

	while (c->out_len + RESPONSE_LEN <= OUT_SIZE &&
	       (end = memmem(c->in + pos, c->in_len - pos, "\r\n\r\n", 4))) {
		memcpy(c->out + c->out_len, RESPONSE, RESPONSE_LEN);
		c->out_len += RESPONSE_LEN;
		pos = (size_t)(end - c->in) + 4;
	}
	if (pos > 0)
		memmove(c->in, c->in + pos, c->in_len -= pos);
	return pos > 0;
}

static void conn_event(int ep, struct conn *c)
{
	int r;

	/* Responses left over from a full socket go first; reading waits
	 * until they have gone. */
	if (c->out_len > 0) {
		r = conn_flush(c);
		if (r <= 0)
			goto out;
	} else {
		/* One read per wakeup, level-triggered: a busy connection
		 * cannot starve the others of the same worker. */
		ssize_t n = read(c->fd, c->in + c->in_len,
				 IN_SIZE - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n > 0)
			c->in_len += (size_t)n;
	}
	/* Requests left in `in` when `out` filled up are answered as soon as
	 * it has drained. */
	r = 1;
	while (answer(c) && (r = conn_flush(c)) == 1)
		;
	if (r == 1 && c->in_len == IN_SIZE)
		r = -1; /* headers over 8 KiB: not a request we serve */
out:
	if (r < 0)
		conn_close(c);
	else
		conn_want(ep, c, r ? EPOLLIN : EPOLLOUT);
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE & co: try at the next wakeup */
		int one = 1;
		/* A response is one small send: no Nagle delay on it. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn *c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ev = EPOLLIN;
		c->in_len = c->out_off = c->out_len = 0;
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
			conn_close(c);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[MAX_EVENTS];
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &listen_tag };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		/* Best effort: in a restricted cpuset it may fail; run anyway. */
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, w->lfd, &e) < 0)
		die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listen_tag)
				accept_all(ep, w->lfd);
			else
				conn_event(ep, evs[i].data.ptr);
		}
	}
	return NULL;
}

/* -- setup: shared word for word with epoll_echo.c ------------------------ */

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--host H] [--port P] [--workers N]\n",
		prog);
	exit(2);
}

/* A non-blocking SO_REUSEPORT socket listening on host:port. */
static int listen_on(const struct addrinfo *ai, unsigned port)
{
	struct sockaddr_storage ss;
	int one = 1, fd;

	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, ai->ai_addrlen) < 0 ||
	    listen(fd, 4096) < 0)
		die("listen");
	return fd;
}

/* The i-th CPU of the set, wrapping around; -1 (do not pin) if empty. */
static int pick_cpu(const cpu_set_t *cpus, long i)
{
	int n = CPU_COUNT(cpus);

	if (n <= 0)
		return -1;
	i %= n;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, cpus) && i-- == 0)
			return c;
	return -1;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	long port = 0, nw = 0;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICHOST };
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	cpu_set_t cpus;
	sigset_t sigs;
	int sig;

	for (int i = 1; i < argc; i++) {
		char *end = "";
		if (i + 1 >= argc)
			usage(argv[0]);
		if (!strcmp(argv[i], "--host"))
			host = argv[++i];
		else if (!strcmp(argv[i], "--port"))
			port = strtol(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--workers"))
			nw = strtol(argv[++i], &end, 10);
		else
			usage(argv[0]);
		if (*end || port < 0 || port > 65535 || nw < 0 || nw > 1024)
			usage(argv[0]);
	}
	if (getaddrinfo(host, NULL, &hints, &ai) != 0) {
		fprintf(stderr, "%s: bad host '%s'\n", argv[0], host);
		return 2;
	}
	/* One worker per CPU we may run on, each pinned to the next one. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) < 0)
		CPU_ZERO(&cpus);
	if (nw == 0)
		nw = CPU_COUNT(&cpus) > 0 ? CPU_COUNT(&cpus) : 1;
	struct worker *ws = calloc((size_t)nw, sizeof(*ws));
	if (!ws)
		die("calloc");
	/* Worker 0 binds first so that port 0 becomes a real port, which the
	 * others then share. */
	for (long i = 0; i < nw; i++) {
		ws[i].lfd = listen_on(ai, (unsigned)port);
		if (i == 0) {
			if (getsockname(ws[0].lfd, (struct sockaddr *)&ss,
					&sl) < 0)
				die("getsockname");
			port = ntohs(ss.ss_family == AF_INET6
				? ((struct sockaddr_in6 *)&ss)->sin6_port
				: ((struct sockaddr_in *)&ss)->sin_port);
		}
		ws[i].cpu = pick_cpu(&cpus, i);
	}
	/* Signals reach only the main thread (workers inherit the block),
	 * which waits for them: no handler runs inside the loops. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	for (long i = 0; i < nw; i++)
		if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0)
			die("pthread_create");
	printf(ai->ai_family == AF_INET6 ? "listening on [%s]:%ld\n"
					 : "listening on %s:%ld\n", host, port);
	fflush(stdout);
	freeaddrinfo(ai);
	sigwait(&sigs, &sig);
	/* Workers never return; the process ends with them. */
	exit(0);
}
