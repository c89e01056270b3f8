/* bench/echo — TCP echo servers side by side under one load generator:
 * the same coreio server on io_uring and on epoll and, as yardsticks,
 * bench/baseline's hand-written epoll server (no runtime) and its libuv
 * server.
 *
 * Servers: one per measurement, in its own process pinned to the first
 * allowed CPU, on one thread.
 * - uring, epoll: one coreio loop, created with cio_loop_opts.backend =
 *   URING or EPOLL and nothing else different, in a child of this
 *   process. A task accepts on 127.0.0.1:0 with cio_accept() in a loop
 *   and spawns one task per connection, which does cio_recv() ->
 *   cio_send() (until all is sent) until end of stream. TCP_NODELAY on
 *   every connection.
 * - baseline, libuv: baseline-echo and libuv-echo (bench/baseline/), found
 *   next to this program and run with --workers 1. The child pins itself
 *   before exec, as the coreio child does, so the server's one worker
 *   lands on the same CPU; its port comes from its "listening on" line
 *   and SIGTERM ends it. A server that is not built is skipped with a
 *   note, so the coreio comparison still runs.
 *
 * Load generator (this process, pinned to the second allowed CPU; it never
 * creates a coreio loop): plain epoll, level-triggered, non-blocking
 * sockets, TCP_NODELAY. Each connection runs a closed loop: send a message
 * of S bytes (its first 8 bytes a sequence number, checked on return),
 * wait until S bytes came back, record the latency (CLOCK_MONOTONIC, from
 * just before send() to just after the recv() that completed the reply),
 * send the next. After --warmup seconds the counting starts and lasts
 * --duration seconds. Requests/s = replies completed in the window /
 * window; p99 from a log-linear histogram (1/64 relative resolution).
 *
 * Besides, the server's CPU time over the window (its process CPU clock,
 * read from here with clock_getcpuclockid: the same for a forked coreio
 * server and an exec'ed one) gives server CPU per request and its
 * utilisation, and the generator's own CPU time its utilisation. With two
 * CPUs the generator has one CPU to itself: when it is near 100% and the
 * server is not, the generator is the bottleneck and req/s understates the
 * server's capacity; CPU per request still compares the servers.
 *
 * Cases: connections x message size, default {1, 16, 64, 256, 512} x
 * {64, 4096}. Each case runs --runs times; the systems rotate which goes
 * first (run r starts with the r-th), so a drift of the machine hits all
 * of them alike. Medians are reported, and for the first system against
 * each other one the median of the per-run ratios: uring/epoll,
 * uring/baseline, uring/libuv by default. Targets, on uring/epoll only:
 * >= 1.30 at 64 connections and above, >= 0.95 at 1.
 *
 * --systems picks the systems and their order. Besides the four above,
 * coreio servers on cio_stream (read, write, drain), whose reads on
 * io_uring go through the loop's multishot receive and provided buffer
 * ring, or with CIO_STREAM_RECV_ONESHOT through a one-shot receive into
 * the stream's buffer: --systems uring-stream,uring-stream-1shot measures
 * that choice (--columns A,B is the same as --systems A,B).
 *
 * Noise: other processes on the two CPUs are measured too (wall time
 * minus idle time, from /proc/stat, minus our two processes' CPU time);
 * a run during which they took more than OTHER_MAX is run once more and
 * the quieter of the two attempts kept (chosen by the neighbours'
 * activity, never by the result). --aa SYSTEM measures the same system
 * twice, as SYSTEM-a and SYSTEM-b: an A/A check of the method, whose
 * ratios show how much of a difference is noise.
 */
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_load.h"
#include "coreio.h"

#define MAX_CASES 8
/* A run during which other processes used more than this share of our
 * two CPUs (% of one CPU) is run once more. */
#define OTHER_MAX 25.0
#define NSYS_MAX 8
/* How long a server may take to say it listens, and to exit when told. */
#define START_MS 10000
#define STOP_MS 5000

/* How a coreio server reads and writes. */
enum srv_mode {
	MODE_RAW,         /* cio_recv -> cio_send on the caller's buffer */
	MODE_STREAM,      /* cio_stream: multishot receive + buffer ring on
			   * io_uring (one-shot on epoll) */
	MODE_STREAM_1SHOT /* cio_stream with CIO_STREAM_RECV_ONESHOT */
};

/* What --systems may name. */
static const struct sys_kind {
	const char *name;
	const char *bin; /* NULL: a coreio server in a child; else the
			  * program next to this one that is the server */
	enum cio_backend_kind backend;
	enum srv_mode mode;
	const char *what; /* an external server, for the env rows */
} sys_kinds[] = {
	{ "uring", NULL, CIO_BACKEND_URING, MODE_RAW, NULL },
	{ "epoll", NULL, CIO_BACKEND_EPOLL, MODE_RAW, NULL },
	{ "baseline", "baseline-echo", 0, MODE_RAW,
	  "hand-written epoll loop, no runtime, 1 worker" },
	{ "libuv", "libuv-echo", 0, MODE_RAW,
	  "uv_read_start + uv_write, 1 worker" },
	{ "uring-stream", NULL, CIO_BACKEND_URING, MODE_STREAM, NULL },
	{ "uring-stream-1shot", NULL, CIO_BACKEND_URING, MODE_STREAM_1SHOT,
	  NULL },
	{ "epoll-stream", NULL, CIO_BACKEND_EPOLL, MODE_STREAM, NULL },
};
#define NKINDS (sizeof(sys_kinds) / sizeof(sys_kinds[0]))
#define DEFAULT_SYSTEMS "uring,epoll,baseline,libuv"

/* The systems measured, in table order; the first is the numerator of
 * every ratio. */
static struct sys {
	const struct sys_kind *k;
	char name[32];      /* the kind's; -a, -b... when it is repeated */
	char path[PATH_MAX]; /* an external server's program */
	char env[200];      /* backend and flags, for the env rows */
} sys[NSYS_MAX];
static unsigned nsys;

static struct config {
	double duration, warmup;
	unsigned runs;
	bool quick, pin;
	int nice; /* setpriority() of both processes */
	unsigned long conns[MAX_CASES], sizes[MAX_CASES];
	unsigned nconns, nsizes;
	int srv_cpu, gen_cpu; /* -1: not pinned */
} cfg;

/* -- the coreio server (child process) ------------------------------------ */

#define SRV_BUF 16384

/* What the server child tells the parent once it listens. */
struct srv_hello {
	int32_t err; /* 0, or the negative errno of `what` */
	uint16_t port;
	char what[32];
	char backend[32];
	char flags[128];
};

static struct srv_state {
	int lfd, ctl;
	enum srv_mode mode;
	unsigned live; /* connection tasks running */
} srv;

static void nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static intptr_t conn_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[SRV_BUF];

	for (;;) {
		ssize_t n = cio_recv(fd, buf, sizeof(buf), 0, CIO_NO_DEADLINE);
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = cio_send(fd, buf + off, (size_t)(n - off),
					     0, CIO_NO_DEADLINE);
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	cio_close(fd);
	srv.live--;
	return 0; /* resets and cancellation end a connection quietly */
}

/* The same loop through a stream: what a server built on cio_stream (and
 * so, on io_uring, on the multishot receive) costs. */
static intptr_t stream_conn_task(void *arg)
{
	struct cio_stream_opts o = { 0 };
	int fd = (int)(intptr_t)arg;
	char buf[SRV_BUF];
	cio_stream *s;

	if (srv.mode == MODE_STREAM_1SHOT)
		o.flags = CIO_STREAM_RECV_ONESHOT;
	if (cio_stream_new(&s, fd, &o) < 0) {
		cio_close(fd);
		srv.live--;
		return 0;
	}
	for (;;) {
		ssize_t n = cio_stream_read(s, buf, sizeof(buf),
					    CIO_NO_DEADLINE);
		if (n <= 0 || cio_stream_write(s, buf, (size_t)n) < 0 ||
		    cio_stream_drain(s, CIO_NO_DEADLINE) < 0)
			break;
	}
	cio_stream_close(s);
	cio_stream_wait_closed(s, CIO_NO_DEADLINE);
	cio_stream_free(s);
	srv.live--;
	return 0;
}

static intptr_t acceptor_task(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = cio_accept(srv.lfd, NULL, NULL, CIO_NO_DEADLINE);
		if (fd == -ECANCELED)
			return 0;
		if (fd < 0) {
			/* EMFILE and friends: back off, the peer retries. */
			if (cio_sleep(CIO_NSEC_PER_MSEC) == -ECANCELED)
				return 0;
			continue;
		}
		nodelay(fd);
		srv.live++;
		if (cio_spawn(NULL,
			      srv.mode == MODE_RAW ? conn_task
						   : stream_conn_task,
			      (void *)(intptr_t)fd, NULL) < 0) {
			srv.live--;
			cio_close(fd);
		}
	}
}

/* Serve until the control pipe reaches end of file, then wait (a while)
 * for the connections to end and close everything. */
static intptr_t server_task(void *arg)
{
	cio_task *acc;
	char c;
	int rc;

	(void)arg;
	if ((rc = cio_spawn(&acc, acceptor_task, NULL, NULL)) < 0)
		return rc;
	while (cio_read(srv.ctl, &c, 1, -1, CIO_NO_DEADLINE) > 0)
		;
	cio_task_cancel(acc);
	cio_await_task(acc);
	cio_task_unref(acc);
	for (int i = 0; i < 3000 && srv.live; i++)
		cio_sleep(CIO_NSEC_PER_MSEC);
	cio_close(srv.lfd);
	cio_close(srv.ctl);
	return srv.live ? -EBUSY : 0;
}

static int listen_local(int fd, struct srv_hello *h)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -errno;
	h->port = ntohs(a.sin_port);
	return 0;
}

static void hello_fail(struct srv_hello *h, const char *what, int err)
{
	h->err = err;
	snprintf(h->what, sizeof(h->what), "%s", what);
}

/* The coreio server: returns the exit status of the child. */
static int coreio_server(const struct sys *s, int ready, int ctl)
{
	struct cio_loop_opts o = { .backend = s->k->backend };
	struct srv_hello h = { 0 };
	cio_loop *loop;
	cio_task *t;
	intptr_t r;
	int rc;

	srv.mode = s->k->mode;
	srv.ctl = ctl;
	if ((rc = cio_loop_new(&loop, &o)) < 0) {
		hello_fail(&h, "cio_loop_new", rc);
		goto fail;
	}
	snprintf(h.backend, sizeof(h.backend), "%s",
		 cio_loop_backend_name(loop));
	snprintf(h.flags, sizeof(h.flags), "%s", cio_loop_backend_flags(loop));
	if ((srv.lfd = cio_socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		hello_fail(&h, "cio_socket", srv.lfd);
		goto fail;
	}
	if ((rc = listen_local(srv.lfd, &h)) < 0) {
		hello_fail(&h, "bind/listen", rc);
		goto fail;
	}
	if ((rc = cio_spawn(&t, server_task, NULL, NULL)) < 0) {
		hello_fail(&h, "cio_spawn", rc);
		goto fail;
	}
	if (write(ready, &h, sizeof(h)) != (ssize_t)sizeof(h))
		return 1;
	close(ready);
	r = cio_loop_run_until_complete(loop, cio_task_future(t));
	cio_task_unref(t);
	cio_loop_free(loop);
	if (r < 0) {
		fprintf(stderr, "echo: server (%s): %s\n", s->name,
			strerror((int)-r));
		return 1;
	}
	return 0;
fail:
	if (write(ready, &h, sizeof(h)) != (ssize_t)sizeof(h))
		return 1;
	return 1;
}

/* -- latency histogram ---------------------------------------------------- */

/* Log-linear: values below 64 ns exact, above that 64 buckets per power
 * of two (relative width 1/64). */
#define H_SUB 6
#define H_N ((64 - H_SUB + 1) << H_SUB)

struct hist {
	uint64_t b[H_N];
	uint64_t n;
};

static inline unsigned h_index(uint64_t v)
{
	unsigned e;

	if (v < (1u << H_SUB))
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	return ((e - H_SUB + 1) << H_SUB) + (unsigned)(v >> (e - H_SUB)) -
	       (1u << H_SUB);
}

/* Middle of a bucket. */
static double h_value(unsigned i)
{
	unsigned k;
	uint64_t m;

	if (i < (2u << H_SUB))
		return i;
	k = (i >> H_SUB) - 1;
	m = (i & ((1u << H_SUB) - 1)) + (1u << H_SUB);
	return (double)(m << k) + (double)((1ull << k) - 1) / 2;
}

static double h_quantile(const struct hist *h, double q)
{
	uint64_t rank = (uint64_t)(q * (double)h->n), seen = 0;

	if (!h->n)
		return NAN;
	if ((double)rank < q * (double)h->n)
		rank++;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < H_N; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return h_value(i);
	}
	return NAN;
}

/* -- the load generator (this process) ------------------------------------ */

struct gconn {
	int fd;
	bool want_out;
	uint32_t sent, rcvd;
	uint64_t seq, got_seq;
	int64_t t0;
	char *msg;
};

/* One measurement's figures. */
struct result {
	double rps, p99_us, p50_us;
	double srv_cpu_us_per_req, srv_util, gen_util;
	double other_util, idle_util; /* the two CPUs, besides us */
	uint64_t requests;
};

static struct hist g_hist;

static int64_t proc_cpu_ns(clockid_t clk)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double ncpus_used(void)
{
	return cfg.srv_cpu >= 0 ? 2 : (double)sysconf(_SC_NPROCESSORS_ONLN);
}

/* Idle time (with iowait) of the CPUs we use, from /proc/stat, in ns.
 * Idle time is exact on tickless kernels; busy time there is sampled by
 * the tick, which misses processes that run in short bursts, so what
 * others used is computed as wall - idle - our CPU clocks. */
static int64_t cpus_idle(void)
{
	unsigned long long v[5], total = 0;
	char line[512];
	long tick = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int cpu;
		if (strncmp(line, "cpu", 3) || !isdigit((unsigned char)line[3]) ||
		    sscanf(line + 3, "%d %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4]) < 6)
			continue;
		if (cfg.srv_cpu >= 0 && cpu != cfg.srv_cpu &&
		    cpu != cfg.gen_cpu)
			continue;
		total += v[3] + v[4];
	}
	fclose(f);
	return (int64_t)(total * 1000000000ULL / (unsigned long long)tick);
}

/* Send what is left of the current message; false on a fatal error. */
static bool g_send(int ep, struct gconn *c, size_t size)
{
	while (c->sent < size) {
		ssize_t w = send(c->fd, c->msg + c->sent, size - c->sent,
				 MSG_NOSIGNAL);
		if (w < 0) {
			if (errno != EAGAIN)
				return false;
			if (!c->want_out) {
				struct epoll_event ev = {
					.events = EPOLLIN | EPOLLOUT,
					.data.ptr = c,
				};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->want_out = true;
			}
			return true;
		}
		c->sent += (uint32_t)w;
	}
	if (c->want_out) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = false;
	}
	return true;
}

static bool g_start(int ep, struct gconn *c, size_t size, int64_t now)
{
	c->seq++;
	memcpy(c->msg, &c->seq, sizeof(c->seq));
	c->sent = c->rcvd = 0;
	c->got_seq = 0;
	c->t0 = now;
	return g_send(ep, c, size);
}

static int connect_local(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	nodelay(fd);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Drive `nconn` connections against `port` for warm-up + duration. */
static void generate(uint16_t port, unsigned nconn, size_t size, pid_t srv,
		     struct result *res)
{
	struct gconn *conns = calloc(nconn, sizeof(*conns));
	struct epoll_event *evs = calloc(nconn, sizeof(*evs));
	char *rbuf = bu_xmalloc(SRV_BUF);
	clockid_t srv_clk;
	int64_t t_begin, t_w, t_e, now, s0 = 0, s1, g0 = 0, g1, m0 = 0;
	int64_t i0 = 0, i1;
	bool measuring = false;
	uint64_t count = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (!conns || !evs || ep < 0)
		bu_die("generator setup", -ENOMEM);
	if (clock_getcpuclockid(srv, &srv_clk) != 0)
		bu_die("clock_getcpuclockid", -EPERM);
	memset(&g_hist, 0, sizeof(g_hist));
	for (unsigned i = 0; i < nconn; i++) {
		struct gconn *c = &conns[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		c->fd = connect_local(port);
		if (c->fd < 0)
			bu_die("connect", c->fd);
		c->msg = bu_xmalloc(size);
		memset(c->msg, 'a' + (int)(i % 26), size);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			bu_die("epoll_ctl", -errno);
	}
	t_begin = bu_now_ns();
	t_w = t_begin + (int64_t)(cfg.warmup * 1e9);
	t_e = t_w + (int64_t)(cfg.duration * 1e9);
	for (unsigned i = 0; i < nconn; i++)
		if (!g_start(ep, &conns[i], size, bu_now_ns()))
			bu_die("send", -errno);
	for (;;) {
		int64_t until = measuring ? t_e : t_w;
		int timeout, n;

		now = bu_now_ns();
		if (!measuring && now >= t_w) {
			measuring = true;
			m0 = now;
			s0 = proc_cpu_ns(srv_clk);
			g0 = proc_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
			i0 = cpus_idle();
			continue;
		}
		if (measuring && now >= t_e)
			break;
		timeout = (int)((until - now + 999999) / 1000000);
		n = epoll_wait(ep, evs, (int)nconn, timeout);
		if (n < 0 && errno != EINTR)
			bu_die("epoll_wait", -errno);
		for (int i = 0; i < n; i++) {
			struct gconn *c = evs[i].data.ptr;
			if ((evs[i].events & EPOLLOUT) && c->sent < size &&
			    !g_send(ep, c, size))
				bu_die("send", -errno);
			if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
				continue;
			ssize_t r = recv(c->fd, rbuf, size - c->rcvd, 0);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				fprintf(stderr,
					"echo: server closed a connection (%s)\n",
					r < 0 ? strerror(errno) : "EOF");
				exit(1);
			}
			/* The sequence number: the first 8 bytes. */
			for (uint32_t k = c->rcvd; k < 8 && k < c->rcvd + r;
			     k++)
				((char *)&c->got_seq)[k] = rbuf[k - c->rcvd];
			c->rcvd += (uint32_t)r;
			if (c->rcvd < size)
				continue;
			if (c->got_seq != c->seq) {
				fprintf(stderr,
					"echo: reply out of order (seq %llu, "
					"expected %llu)\n",
					(unsigned long long)c->got_seq,
					(unsigned long long)c->seq);
				exit(1);
			}
			now = bu_now_ns();
			if (measuring && now < t_e) {
				uint64_t lat = (uint64_t)(now - c->t0);
				g_hist.b[h_index(lat)]++;
				count++;
			}
			if (now < t_e && !g_start(ep, c, size, now))
				bu_die("send", -errno);
		}
	}
	s1 = proc_cpu_ns(srv_clk);
	g1 = proc_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	i1 = cpus_idle();
	g_hist.n = count;
	res->requests = count;
	res->rps = (double)count / ((double)(t_e - m0) / 1e9);
	res->p99_us = h_quantile(&g_hist, 0.99) / 1e3;
	res->p50_us = h_quantile(&g_hist, 0.50) / 1e3;
	res->srv_util = 100.0 * (double)(s1 - s0) / (double)(now - m0);
	res->gen_util = 100.0 * (double)(g1 - g0) / (double)(now - m0);
	res->idle_util = 100.0 * (double)(i1 - i0) / (double)(now - m0);
	res->other_util = 100.0 * ncpus_used() - res->idle_util -
			  res->srv_util - res->gen_util;
	if (res->other_util < 0)
		res->other_util = 0;
	res->srv_cpu_us_per_req =
		count ? (double)(s1 - s0) / 1e3 / (double)count : NAN;
	for (unsigned i = 0; i < nconn; i++) {
		close(conns[i].fd);
		free(conns[i].msg);
	}
	close(ep);
	free(rbuf);
	free(evs);
	free(conns);
}

/* -- one measurement ------------------------------------------------------ */

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		bu_die("sched_setaffinity", -errno);
}

/* Wait for the child to exit, at most `ms`; kill it after that. */
static int reap(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* A server under measurement. */
struct server {
	pid_t pid;
	int fd; /* coreio: the control pipe, whose end of file stops it;
		 * external: its stdout, open until it exits so that a late
		 * write there cannot kill it with SIGPIPE */
	uint16_t port;
};

static void start_coreio(struct sys *s, struct server *sv)
{
	int ready[2], ctl[2];
	struct srv_hello h;
	struct pollfd pfd;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(ctl, O_CLOEXEC) < 0)
		bu_die("pipe", -errno);
	fflush(NULL);
	sv->pid = fork();
	if (sv->pid < 0)
		bu_die("fork", -errno);
	if (sv->pid == 0) {
		close(ready[0]);
		close(ctl[1]);
		pin_self(cfg.srv_cpu);
		_exit(coreio_server(s, ready[1], ctl[0]));
	}
	close(ready[1]);
	close(ctl[0]);
	pfd.fd = ready[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, START_MS) != 1 ||
	    read(ready[0], &h, sizeof(h)) != (ssize_t)sizeof(h)) {
		fprintf(stderr, "echo: server (%s) did not start\n", s->name);
		exit(1);
	}
	close(ready[0]);
	if (h.err < 0) {
		fprintf(stderr, "echo: server (%s): %s failed: %s\n", s->name,
			h.what, strerror(-h.err));
		exit(1);
	}
	if (!s->env[0])
		snprintf(s->env, sizeof(s->env), "%s %s", h.backend, h.flags);
	sv->fd = ctl[1];
	sv->port = h.port;
}

static void start_failed(const struct sys *s, struct server *sv,
			 const char *why)
{
	fprintf(stderr, "echo: server (%s, %s) %s\n", s->name, s->path, why);
	kill(sv->pid, SIGKILL);
	waitpid(sv->pid, NULL, 0);
	exit(1);
}

/* An external server: fork, pin, exec, then its "listening on HOST:PORT"
 * line. */
static void start_external(struct sys *s, struct server *sv)
{
	const char *argv[] = { s->path, "--host", "127.0.0.1", "--port", "0",
			       "--workers", "1", NULL };
	char line[128], *colon;
	unsigned port = 0;
	size_t n = 0;
	int out[2];

	if (pipe2(out, O_CLOEXEC) < 0)
		bu_die("pipe", -errno);
	fflush(NULL);
	sv->pid = fork();
	if (sv->pid < 0)
		bu_die("fork", -errno);
	if (sv->pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		/* Pinned before exec: the server pins its worker to a CPU of
		 * the set it inherits, which is then this one alone. */
		pin_self(cfg.srv_cpu);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execv(s->path, (char *const *)argv);
		fprintf(stderr, "echo: exec %s: %s\n", s->path,
			strerror(errno));
		_exit(127);
	}
	close(out[1]);
	while (n == 0 || line[n - 1] != '\n') {
		struct pollfd pfd = { .fd = out[0], .events = POLLIN };
		if (n + 1 >= sizeof(line))
			start_failed(s, sv, "printed too long a line");
		if (poll(&pfd, 1, START_MS) != 1)
			start_failed(s, sv, "did not say it listens");
		if (read(out[0], line + n, 1) != 1)
			start_failed(s, sv, "ended before it listened");
		n++;
	}
	line[n - 1] = '\0';
	colon = strrchr(line, ':');
	if (strncmp(line, "listening on ", 13) != 0 || !colon ||
	    sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
		start_failed(s, sv, "printed no 'listening on' line");
	if (!s->env[0])
		snprintf(s->env, sizeof(s->env), "%s: %s", s->k->bin,
			 s->k->what);
	sv->fd = out[0];
	sv->port = (uint16_t)port;
}

static void measure(struct sys *s, unsigned nconn, size_t size,
		    struct result *res)
{
	struct server sv;
	int status;

	if (s->k->bin)
		start_external(s, &sv);
	else
		start_coreio(s, &sv);
	generate(sv.port, nconn, size, sv.pid, res);
	if (s->k->bin)
		kill(sv.pid, SIGTERM);
	else
		close(sv.fd);
	status = reap(sv.pid, STOP_MS);
	if (s->k->bin)
		close(sv.fd);
	if (status != 0)
		fprintf(stderr,
			"echo: warning: server (%s, %u conns) %s (status %d)\n",
			s->name, nconn,
			status < 0 ? "did not exit within 5 s, killed"
				   : "exited with an error",
			status);
}

/* -- cases and report ----------------------------------------------------- */

struct case_res {
	unsigned conns;
	size_t size;
	char name[32];
	struct bl_series rps[NSYS_MAX], p50[NSYS_MAX], p99[NSYS_MAX],
		cpu[NSYS_MAX], sutil[NSYS_MAX], gutil[NSYS_MAX],
		other[NSYS_MAX], idle[NSYS_MAX];
};

/* The target of the ratio sys[0] / sys[s] at `conns` connections, and its
 * minimum; NULL when there is none. Only the same coreio server on
 * io_uring over epoll has one: that is what the backend is for. */
static const char *target_of(unsigned s, unsigned conns, double *min)
{
	const struct sys_kind *a = sys[0].k, *b = sys[s].k;

	*min = 0;
	if (s == 0 || a->bin || b->bin || a->backend != CIO_BACKEND_URING ||
	    b->backend != CIO_BACKEND_EPOLL || a->mode != b->mode)
		return NULL;
	if (conns >= 64) {
		*min = 1.30;
		return ">= 1.30";
	}
	if (conns == 1) {
		*min = 0.95;
		return ">= 0.95";
	}
	return NULL;
}

static void run_case(struct case_res *cr)
{
	for (unsigned r = 0; r < cfg.runs; r++) {
		for (unsigned pos = 0; pos < nsys; pos++) {
			unsigned s = (pos + r) % nsys;
			struct result res, again;
			measure(&sys[s], cr->conns, cr->size, &res);
			/* Shared with a neighbour: once more, and keep the
			 * quieter of the two (chosen by the neighbour's
			 * activity, never by the result). */
			if (res.other_util > OTHER_MAX) {
				bu.reruns++;
				measure(&sys[s], cr->conns, cr->size, &again);
				if (again.other_util < res.other_util)
					res = again;
			}
			bl_add(&cr->rps[s], res.rps);
			bl_add(&cr->p50[s], res.p50_us);
			bl_add(&cr->p99[s], res.p99_us);
			bl_add(&cr->cpu[s], res.srv_cpu_us_per_req);
			bl_add(&cr->sutil[s], res.srv_util);
			bl_add(&cr->gutil[s], res.gen_util);
			bl_add(&cr->other[s], res.other_util);
			bl_add(&cr->idle[s], res.idle_util);
		}
	}
}

static void ratio_name(unsigned s, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", sys[0].name, sys[s].name);
}

static void report_json(const struct case_res *cr)
{
	struct bl_series ratio;
	struct bu_stats st;
	const char *tgt;
	char rname[80];
	double min;

	for (unsigned s = 0; s < nsys; s++) {
		const char *n = sys[s].name;
		st = bl_stats(&cr->rps[s]);
		bu_row(cr->name, n, "req_per_s", &st, 0, "req/s", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&cr->p50[s]);
		bu_row(cr->name, n, "p50_us", &st, 0, "us", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&cr->p99[s]);
		bu_row(cr->name, n, "p99_us", &st, 0, "us", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&cr->cpu[s]);
		bu_row(cr->name, n, "server_cpu_us_per_req", &st, 0, "us",
		       NULL, BU_NO_TARGET);
		st = bl_stats(&cr->sutil[s]);
		bu_row(cr->name, n, "server_cpu_util", &st, 0, "%", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&cr->gutil[s]);
		bu_row(cr->name, n, "loadgen_cpu_util", &st, 0, "%", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&cr->other[s]);
		bu_row(cr->name, n, "other_cpu_util", &st, 0, "%", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&cr->idle[s]);
		bu_row(cr->name, n, "idle_cpu_util", &st, 0, "%", NULL,
		       BU_NO_TARGET);
	}
	for (unsigned s = 1; s < nsys; s++) {
		ratio_name(s, rname, sizeof(rname));
		tgt = target_of(s, cr->conns, &min);
		ratio = bl_ratios(&cr->rps[0], &cr->rps[s]);
		st = bl_stats(&ratio);
		bu_row(cr->name, rname, "req_per_s", &st, 0, "ratio", tgt,
		       tgt ? (st.median >= min ? BU_PASS : BU_MISS)
			   : BU_NO_TARGET);
		ratio = bl_ratios(&cr->p99[0], &cr->p99[s]);
		st = bl_stats(&ratio);
		bu_row(cr->name, rname, "p99_us", &st, 0, "ratio", NULL,
		       BU_NO_TARGET);
		ratio = bl_ratios(&cr->cpu[0], &cr->cpu[s]);
		st = bl_stats(&ratio);
		bu_row(cr->name, rname, "server_cpu_us_per_req", &st, 0,
		       "ratio", NULL, BU_NO_TARGET);
	}
}

/* Targets met and missed over the whole run, for the closing line. */
static struct {
	unsigned met, total;
	char missed[256];
} verdicts;

/* The min..max of the req/s ratio, when there is more than one run. */
static int range_width(void)
{
	return cfg.runs > 1 ? 14 : 0;
}

static void table_header(void)
{
	char rtitle[64];

	snprintf(rtitle, sizeof(rtitle), "%s/system", sys[0].name);
	printf("\n%-14s %-18s %9s %8s %8s %8s %5s %5s %5s %5s | %s\n",
	       "", "", "", "p50", "p99", "cpu", "", "", "", "", rtitle);
	printf("%-14s %-18s %9s %8s %8s %8s %5s %5s %5s %5s | %6s%-*s "
	       "%6s %6s  %s\n",
	       "case", "system", "req/s", "us", "us", "us/req", "srv%",
	       "gen%", "oth%", "idle%", "req/s", range_width(), "",
	       "p99", "cpu", "target");
}

/* One line per system; the others carry their ratio to the first. */
static void report_table(const struct case_res *cr)
{
	for (unsigned s = 0; s < nsys; s++) {
		struct bl_series rr, rp, rc;
		struct bu_stats st;
		const char *tgt;
		char range[32] = "";
		double min;

		printf("%-14s %-18s %9.0f %8.1f %8.1f %8.2f %5.0f %5.0f %5.0f "
		       "%5.0f |",
		       s ? "" : cr->name, sys[s].name, bl_median(&cr->rps[s]),
		       bl_median(&cr->p50[s]), bl_median(&cr->p99[s]),
		       bl_median(&cr->cpu[s]), bl_median(&cr->sutil[s]),
		       bl_median(&cr->gutil[s]), bl_median(&cr->other[s]),
		       bl_median(&cr->idle[s]));
		if (s == 0) {
			printf("\n");
			continue;
		}
		rr = bl_ratios(&cr->rps[0], &cr->rps[s]);
		rp = bl_ratios(&cr->p99[0], &cr->p99[s]);
		rc = bl_ratios(&cr->cpu[0], &cr->cpu[s]);
		st = bl_stats(&rr);
		if (rr.n > 1)
			snprintf(range, sizeof(range), " (%.2f..%.2f)", st.min,
				 st.max);
		printf(" %6.2f%-*s %6.2f %6.2f", st.median, range_width(),
		       range, bl_median(&rp), bl_median(&rc));
		tgt = target_of(s, cr->conns, &min);
		if (tgt) {
			bool met = st.median >= min;
			printf("  %s %s", tgt, met ? "met" : "MISSED");
			verdicts.total++;
			if (met) {
				verdicts.met++;
			} else {
				size_t l = strlen(verdicts.missed);
				snprintf(verdicts.missed + l,
					 sizeof(verdicts.missed) - l,
					 "%s%s %.2f", l ? ", " : "", cr->name,
					 st.median);
			}
		}
		printf("\n");
	}
	fflush(stdout);
}

/* -- options and main ----------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: echo [options]\n"
"TCP echo servers on 127.0.0.1 side by side, driven by a plain-epoll load\n"
"generator in another process (closed loop: one message in flight per\n"
"connection): the same coreio server on io_uring and on epoll, and the\n"
"servers of bench/baseline (hand-written epoll, libuv), each on one\n"
"thread. Reports requests/s, p50/p99 latency and the server's CPU time per\n"
"request per system (medians of --runs), and the median per-run ratios of\n"
"the first system to each other one (uring/epoll, uring/baseline,\n"
"uring/libuv).\n"
"\n"
"  -j, --json           one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick          smoke run: 0.3 s per case, 0.1 s warm-up, 1 run\n"
"  -r, --runs N         runs per case and system, 1..%d (default 3); the\n"
"                       systems take turns at going first\n"
"  -d, --duration SEC   measured time per run (default 2; '500ms' works)\n"
"      --warmup SEC     unmeasured time before it (default 0.3)\n"
"      --conns LIST     connection counts (default 1,16,64,256,512)\n"
"      --sizes LIST     message sizes in bytes, 8..%d (default 64,4096)\n"
"      --systems LIST   the systems, in table order; ratios are the first\n"
"                       over each other (default " DEFAULT_SYSTEMS "):\n"
"                         uring, epoll    coreio, cio_recv/cio_send\n"
"                         baseline        baseline-echo --workers 1\n"
"                         libuv           libuv-echo --workers 1\n"
"                         uring-stream, epoll-stream   coreio on\n"
"                                         cio_stream (multishot receive\n"
"                                         and buffer ring on io_uring)\n"
"                         uring-stream-1shot   stream, one-shot receive\n"
"                       baseline-echo and libuv-echo are looked for next\n"
"                       to this program; one that is missing is skipped.\n"
"                       Targets (>= 1.30 at >= 64 connections, >= 0.95 at\n"
"                       1) apply to the same coreio server, io_uring over\n"
"                       epoll\n"
"      --columns A,B    the same as --systems A,B\n"
"      --aa SYSTEM      A/A check of the method: --systems SYSTEM,SYSTEM;\n"
"                       the ratio should be 1 within the noise\n"
"      --no-pin         do not pin (default with >= 2 CPUs: server on\n"
"                       the first allowed CPU, load generator on the\n"
"                       second); baseline-echo and libuv-echo pin their\n"
"                       worker to the first allowed CPU all the same\n"
"      --nice N         run servers and generator at this nice value\n"
"                       (-20..19; below 0 needs privilege)\n"
"  -h, --help           this text\n"
"\n"
"The soft RLIMIT_NOFILE is raised to the hard limit; each process needs\n"
"about one descriptor per connection.\n",
		BU_MAX_REPS, SRV_BUF);
}

enum {
	OPT_WARMUP = 256,
	OPT_CONNS,
	OPT_SIZES,
	OPT_SYSTEMS,
	OPT_NO_PIN,
	OPT_NICE,
	OPT_AA,
	OPT_COLUMNS,
};

static const struct sys_kind *sys_kind(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(sys_kinds[i].name, name) == 0)
			return &sys_kinds[i];
	return NULL;
}

/* A comma-separated list of system names, `want` of them (0: any number
 * up to NSYS_MAX). A repeated system gets -a, -b... suffixes, so the
 * rows of an A/A check stay apart. */
static void set_systems(const char *opt, const char *list, unsigned want)
{
	char buf[256], *save = NULL, *tok;
	unsigned n = 0;

	if (strlen(list) >= sizeof(buf))
		bu_bad_usage("%s: list too long", opt);
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		const struct sys_kind *k = sys_kind(tok);
		if (!k)
			bu_bad_usage("%s: unknown system '%s' (uring, epoll, "
				     "baseline, libuv, uring-stream, "
				     "uring-stream-1shot, epoll-stream)",
				     opt, tok);
		if (n == NSYS_MAX)
			bu_bad_usage("%s: at most %d systems", opt, NSYS_MAX);
		memset(&sys[n], 0, sizeof(sys[n]));
		sys[n++].k = k;
	}
	if (!n || (want && n != want))
		bu_bad_usage("%s: expected %s, got '%s'", opt,
			     want == 2 ? "two systems A,B"
				       : "a list of systems",
			     list);
	nsys = n;
	for (unsigned i = 0; i < n; i++) {
		unsigned nth = 0, count = 0;
		for (unsigned j = 0; j < n; j++) {
			if (sys[j].k != sys[i].k)
				continue;
			count++;
			if (j < i)
				nth++;
		}
		if (count > 1)
			snprintf(sys[i].name, sizeof(sys[i].name), "%s-%c",
				 sys[i].k->name, 'a' + (int)nth);
		else
			snprintf(sys[i].name, sizeof(sys[i].name), "%s",
				 sys[i].k->name);
	}
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "conns", required_argument, NULL, OPT_CONNS },
		{ "sizes", required_argument, NULL, OPT_SIZES },
		{ "systems", required_argument, NULL, OPT_SYSTEMS },
		{ "no-pin", no_argument, NULL, OPT_NO_PIN },
		{ "nice", required_argument, NULL, OPT_NICE },
		{ "aa", required_argument, NULL, OPT_AA },
		{ "columns", required_argument, NULL, OPT_COLUMNS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const unsigned long def_conns[] = { 1, 16, 64, 256, 512 };
	double duration = -1, warmup = -1;
	char pair[80];
	long runs = -1;
	int c;

	cfg.pin = true;
	cfg.nconns = sizeof(def_conns) / sizeof(def_conns[0]);
	memcpy(cfg.conns, def_conns, sizeof(def_conns));
	cfg.nsizes = 2;
	cfg.sizes[0] = 64, cfg.sizes[1] = 4096;
	set_systems("--systems", DEFAULT_SYSTEMS, 0);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:d:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			bu.json = true;
			break;
		case 'q':
			cfg.quick = true;
			break;
		case 'r':
			runs = (long)bu_parse_count("--runs", optarg, 1,
						    BU_MAX_REPS);
			break;
		case 'd':
			duration = bl_parse_seconds("--duration", optarg, 0.01,
						    3600);
			break;
		case OPT_WARMUP:
			warmup = bl_parse_seconds("--warmup", optarg, 0, 3600);
			break;
		case OPT_CONNS:
			cfg.nconns = bl_parse_list("--conns", optarg,
						   cfg.conns, MAX_CASES, 1,
						   100000);
			break;
		case OPT_SIZES:
			cfg.nsizes = bl_parse_list("--sizes", optarg,
						   cfg.sizes, MAX_CASES, 8,
						   SRV_BUF);
			break;
		case OPT_SYSTEMS:
			set_systems("--systems", optarg, 0);
			break;
		case OPT_COLUMNS:
			set_systems("--columns", optarg, 2);
			break;
		case OPT_AA:
			if (strchr(optarg, ',') || !sys_kind(optarg))
				bu_bad_usage("--aa: expected one system, got "
					     "'%s'",
					     optarg);
			snprintf(pair, sizeof(pair), "%s,%s", optarg, optarg);
			set_systems("--aa", pair, 2);
			break;
		case OPT_NO_PIN:
			cfg.pin = false;
			break;
		case OPT_NICE: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (end == optarg || *end || v < -20 || v > 19)
				bu_bad_usage("--nice: expected -20..19, got "
					     "'%s'",
					     optarg);
			cfg.nice = (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			bu_bad_usage("option '%s' needs a value",
				     argv[optind - 1]);
		default:
			if (optopt)
				bu_bad_usage("unknown option '-%c'", optopt);
			bu_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bu_bad_usage("unexpected argument '%s'", argv[optind]);
	cfg.runs = runs > 0 ? (unsigned)runs : cfg.quick ? 1 : 3;
	cfg.duration = duration > 0 ? duration : cfg.quick ? 0.3 : 2.0;
	cfg.warmup = warmup >= 0 ? warmup : cfg.quick ? 0.1 : 0.3;
}

/* Find the external servers next to this program; drop, with a note,
 * those that are not there (not built, or built elsewhere). */
static void find_servers(const char *argv0)
{
	char self[PATH_MAX], *dir;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	unsigned kept = 0;

	if (len > 0) {
		self[len] = '\0';
	} else {
		snprintf(self, sizeof(self), "%s", argv0);
	}
	dir = dirname(self);
	for (unsigned s = 0; s < nsys; s++) {
		if (sys[s].k->bin) {
			snprintf(sys[s].path, sizeof(sys[s].path), "%s/%s",
				 dir, sys[s].k->bin);
			if (access(sys[s].path, X_OK) != 0) {
				fprintf(stderr,
					"echo: note: skipping %s: %s: %s "
					"(make builds it)\n",
					sys[s].name, sys[s].path,
					strerror(errno));
				continue;
			}
		}
		sys[kept++] = sys[s];
	}
	nsys = kept;
	if (!nsys) {
		fprintf(stderr, "echo: no system left to measure\n");
		exit(1);
	}
}

/* Raise the soft descriptor limit to the hard one; returns the limit. */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

int main(int argc, char **argv)
{
	struct case_res *cases;
	unsigned ncases = 0, maxconn = 0;
	int cpus[2], ncpu;
	rlim_t nofile;
	char text[128];
	int64_t t0 = bu_now_ns();

	bu.prog = "echo";
	parse_args(argc, argv);
	find_servers(argv[0]);
	for (unsigned i = 0; i < cfg.nconns; i++)
		if (cfg.conns[i] > maxconn)
			maxconn = (unsigned)cfg.conns[i];
	nofile = raise_nofile();
	if (nofile < (rlim_t)maxconn + 64) {
		fprintf(stderr,
			"echo: %u connections need about %u descriptors per "
			"process; RLIMIT_NOFILE is %llu (raise the hard limit, "
			"e.g. ulimit -Hn)\n",
			maxconn, maxconn + 64, (unsigned long long)nofile);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (cfg.nice && setpriority(PRIO_PROCESS, 0, cfg.nice) < 0)
		bu_die("setpriority (--nice)", -errno);
	ncpu = bl_allowed_cpus(cpus, 2);
	cfg.srv_cpu = cfg.gen_cpu = -1;
	if (cfg.pin && ncpu >= 2) {
		cfg.srv_cpu = cpus[0];
		cfg.gen_cpu = cpus[1];
		pin_self(cfg.gen_cpu);
	}

	cases = calloc(cfg.nconns * cfg.nsizes, sizeof(*cases));
	if (!cases)
		bu_die("calloc", -ENOMEM);
	for (unsigned i = 0; i < cfg.nconns; i++)
		for (unsigned j = 0; j < cfg.nsizes; j++) {
			struct case_res *cr = &cases[ncases++];
			cr->conns = (unsigned)cfg.conns[i];
			cr->size = cfg.sizes[j];
			if (cr->size % 1024 == 0)
				snprintf(cr->name, sizeof(cr->name),
					 "%uconn_%zuKiB", cr->conns,
					 cr->size / 1024);
			else
				snprintf(cr->name, sizeof(cr->name),
					 "%uconn_%zuB", cr->conns, cr->size);
		}

	if (!bu.json) {
		printf("echo: %u runs x %.2f s (+%.2f s warm-up) per case and "
		       "system, their order rotating; medians; ratios = median "
		       "of per-run %s/system\nsystems:",
		       cfg.runs, cfg.duration, cfg.warmup, sys[0].name);
		for (unsigned s = 0; s < nsys; s++)
			printf("%s %s", s ? "," : "", sys[s].name);
		printf("\n");
		if (cfg.srv_cpu >= 0)
			printf("server pinned to CPU %d, load generator to "
			       "CPU %d\n",
			       cfg.srv_cpu, cfg.gen_cpu);
		else
			printf("not pinned (%d CPUs allowed)\n", ncpu);
		table_header();
	}
	for (unsigned i = 0; i < ncases; i++) {
		run_case(&cases[i]);
		if (bu.json)
			report_json(&cases[i]);
		else
			report_table(&cases[i]);
	}

	if (!bu.json) {
		printf("\ncpu = server CPU time per request; srv%% = server "
		       "CPU use; gen%% = load generator, oth%% = other "
		       "processes, idle%% = idle time of the two CPUs during "
		       "that system's runs; 100%% = one CPU.\nRatios are %s "
		       "over the system of the line: above 1 is better for "
		       "req/s, below 1 for p99 and cpu. A run with oth%% > "
		       "%.0f is run once more and the quieter kept.\n",
		       sys[0].name, OTHER_MAX);
		if (verdicts.total)
			printf("target (%s req/s >= 1.30 at >= 64 connections,"
			       " >= 0.95 at 1): met in %u of %u cases%s%s\n",
			       "io_uring/epoll", verdicts.met, verdicts.total,
			       verdicts.met < verdicts.total ? "; MISSED: "
							     : "",
			       verdicts.missed);
		printf("\n");
	}
	for (unsigned s = 0; s < nsys; s++)
		bu_text_row("env", sys[s].name, "backend", sys[s].env);
	if (cfg.srv_cpu >= 0)
		snprintf(text, sizeof(text), "server CPU %d, generator CPU %d",
			 cfg.srv_cpu, cfg.gen_cpu);
	else
		snprintf(text, sizeof(text), "not pinned");
	bu_text_row("env", "echo", "cpu", text);
	snprintf(text, sizeof(text), "median of %u x %.2f s (warm-up %.2f s)",
		 cfg.runs, cfg.duration, cfg.warmup);
	bu_text_row("env", "echo", "runs", text);
	bu_row("env", "echo", "runs_rerun", NULL, (double)bu.reruns, "count",
	       NULL, BU_NO_TARGET);
	bu_row("env", "echo", "nice", NULL, (double)cfg.nice, "count", NULL,
	       BU_NO_TARGET);
	bu_row("env", "echo", "wall_s", NULL,
	       (double)(bu_now_ns() - t0) / 1e9, "s", NULL, BU_NO_TARGET);
	free(cases);
	return 0;
}
