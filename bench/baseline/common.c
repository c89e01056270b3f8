/* What the baseline servers share: options, one SO_REUSEPORT listening
 * socket per worker, pinned worker threads, and the signal wait that ends
 * the process (bl_serve). The epoll servers also share their worker loop,
 * a level-triggered epoll set per worker (bl_main): each only says what
 * to do with a new connection and with an event on one (struct bl_ops).
 * libuv-echo brings its own loop and uses bl_serve alone. */
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

#include "bench/baseline/common.h"

#define MAX_EVENTS 256

/* Marks the listening socket in epoll_data (connections point to theirs). */
static char listen_tag;

/* The process ends with exit(0) from the signal wait while workers still
 * hold connections that only their event loops point to: LeakSanitizer
 * (in sanitizer builds) would report each as a leak and fail the exit
 * status. Nothing here outlives the process, so it is turned off. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}

void bl_die(const char *what)
{
	perror(what);
	exit(1);
}

static void accept_all(const struct bl_ops *ops, int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE & co: try at the next wakeup */
		int one = 1;
		/* Both answer with small sends: no Nagle delay on them. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ops->accepted(ep, fd);
	}
}

static void *epoll_worker(struct bl_worker *w)
{
	const struct bl_ops *ops = w->arg;
	struct epoll_event evs[MAX_EVENTS];
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &listen_tag };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, w->lfd, &e) < 0)
		bl_die("epoll");
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &listen_tag)
				accept_all(ops, ep, w->lfd);
			else
				ops->event(ep, evs[i].data.ptr);
		}
	}
	return NULL;
}

int bl_main(int argc, char **argv, const struct bl_ops *ops)
{
	bl_serve(argc, argv, epoll_worker, ops);
}

/* Pin first, so that everything the loop allocates is touched from its
 * CPU. */
static void *worker_start(void *arg)
{
	struct bl_worker *w = arg;

	if (w->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		/* Best effort: in a restricted cpuset it may fail; run anyway. */
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	return w->run(w);
}

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
		bl_die("listen");
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

void bl_serve(int argc, char **argv, void *(*run)(struct bl_worker *w),
	      const void *arg)
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
		exit(2);
	}
	/* One worker per CPU we may run on, each pinned to the next one. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) < 0)
		CPU_ZERO(&cpus);
	if (nw == 0)
		nw = CPU_COUNT(&cpus) > 0 ? CPU_COUNT(&cpus) : 1;
	struct bl_worker *ws = calloc((size_t)nw, sizeof(*ws));
	if (!ws)
		bl_die("calloc");
	/* Worker 0 binds first so that port 0 becomes a real port, which the
	 * others then share. */
	for (long i = 0; i < nw; i++) {
		ws[i].lfd = listen_on(ai, (unsigned)port);
		if (i == 0) {
			if (getsockname(ws[0].lfd, (struct sockaddr *)&ss,
					&sl) < 0)
				bl_die("getsockname");
			port = ntohs(ss.ss_family == AF_INET6
				? ((struct sockaddr_in6 *)&ss)->sin6_port
				: ((struct sockaddr_in *)&ss)->sin_port);
		}
		ws[i].cpu = pick_cpu(&cpus, i);
		ws[i].arg = arg;
		ws[i].run = run;
	}
	/* Signals reach only the main thread (workers inherit the block),
	 * which waits for them: no handler runs inside the loops. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	for (long i = 0; i < nw; i++)
		if (pthread_create(&ws[i].th, NULL, worker_start, &ws[i]) != 0)
			bl_die("pthread_create");
	printf(ai->ai_family == AF_INET6 ? "listening on [%s]:%ld\n"
					 : "listening on %s:%ld\n", host, port);
	fflush(stdout);
	freeaddrinfo(ai);
	sigwait(&sigs, &sig);
	/* Workers never return; the process ends with them. */
	exit(0);
}
