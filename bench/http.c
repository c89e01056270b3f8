/* bench/http — the coreio HTTP/1.1 server on io_uring and on epoll against
 * nginx, side by side under wrk.
 *
 * Systems (--systems, default uring,epoll,nginx,baseline):
 * - uring, epoll: this program run again as a server (--serve), with
 *   CIO_BACKEND set to the backend: cio_run() with --shards shards (one per
 *   CPU by default, pinned), and cio_http_server_start() with
 *   CIO_HTTP_SERVER_SHARDED (a SO_REUSEPORT socket per shard) on
 *   127.0.0.1. The handler answers every request with cio_http_respond():
 *   200, Content-Type text/plain, the 13 bytes "Hello, World!".
 * - nginx: /usr/sbin/nginx in the foreground with a generated
 *   configuration in a temporary directory: worker_processes = shards,
 *   worker_cpu_affinity auto, `listen 127.0.0.1:PORT reuseport`,
 *   access_log off, error_log and pid file in the directory,
 *   keepalive_requests 100000000, and `location / { return 200
 *   "Hello, World!"; }` with default_type text/plain: the same response,
 *   from nginx's fastest path.
 * - baseline: bench/baseline's hand-written epoll server (baseline-http,
 *   next to this program; no runtime), --workers = shards, each worker
 *   pinned as coreio's shards are. It answers the same bytes as coreio.
 *
 * Load: wrk (keep-alive, GET /), `wrk -t T -c C -d D --latency
 * --timeout 2s`, after an unmeasured warm-up run of --warmup seconds on
 * the same server. By default the servers get half the allowed CPUs (at
 * least one) and wrk is pinned to the others, so that load generator and
 * server do not take CPU time from each other (coreio pins shard i to the
 * i-th allowed CPU, as baseline does its workers, nginx gets
 * worker_cpu_affinity auto); --shards N with N = CPUs makes them share.
 * Each measurement starts its server
 * afresh and stops it
 * after. For each connection count, each of --runs runs measures every
 * system once, the order rotated from run to run (a drift of the machine
 * hits all alike). Reported: the median requests/s and the median 99th
 * percentile latency (wrk's Latency Distribution), the medians of the
 * per-run ratios uring/nginx and uring/epoll (requests/s) and
 * p99 uring/nginx, with the targets of the issue: coreio on io_uring
 * >= 1.3x nginx and >= 1.2x coreio on epoll, and a p99 no worse than
 * nginx's. Besides: each server's CPU time per request (all its threads
 * or processes, from /proc; lower is better) and its ratios, and wrk's
 * use of a CPU: near 100%, wrk is the bottleneck and requests/s
 * understate the servers, while CPU per request still compares them.
 *
 * Noise: the CPU time other processes took during each measured run is
 * computed (wall time x CPUs - idle time, from /proc/stat, minus the CPU
 * time of the server's processes and of wrk). A run during which they
 * took more than OTHER_MAX % of one CPU is run once more and the quieter
 * attempt kept (chosen by the neighbours' activity, never by the result);
 * the median neighbours' share is reported per system.
 *
 * Everything listens on 127.0.0.1 only; every child is killed if it
 * outlives its time (wrk: duration + 15 s; servers: 5 s to start, 5 s to
 * stop).
 */
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_cpu.h"
#include "bench/bench_load.h"
#include "coreio.h"

#define WRK "/usr/bin/wrk"
#define NGINX "/usr/sbin/nginx"
#define MAX_CONNS 8
/* A run during which other processes used more than this share of the
 * CPUs (% of one CPU) is run once more. */
#define OTHER_MAX 25.0

enum { SYS_URING, SYS_EPOLL, SYS_NGINX, SYS_BASELINE, NSYS };
static const char *const sys_name[NSYS] = { "uring", "epoll", "nginx",
					    "baseline" };

static struct config {
	double duration, warmup;
	unsigned runs, shards, wrk_threads;
	unsigned long conns[MAX_CONNS];
	unsigned nconns;
	bool use[NSYS];
	/* With fewer shards than CPUs, wrk runs on the CPUs the servers do
	 * not use (the servers pin to the first ones). */
	cpu_set_t wrk_cpus;
	bool wrk_pinned;
	double ncpus; /* online: what /proc/stat counts */
} cfg = { .duration = 3, .warmup = 1, .runs = 3, .wrk_threads = 1,
	    .conns = { 64 }, .nconns = 1,
	    .use = { true, true, true, true } };

/* -- the coreio server (--serve) ------------------------------------------- */

static const char hello[] = "Hello, World!";
static int serve_ready_fd = -1;

static int hello_handler(cio_http_request *req, cio_http_response *res,
			 void *arg)
{
	(void)req, (void)arg;
	return cio_http_respond(res, 200, "text/plain", hello,
				sizeof(hello) - 1);
}

/* Serve until SIGTERM: cio_run() then closes the server, lets its
 * connections finish (shutdown_grace) and cancels this task. */
static intptr_t serve_main(void *arg)
{
	struct cio_http_server_opts o = { .flags = CIO_HTTP_SERVER_SHARDED };
	cio_http_server *hs;
	int rc;

	(void)arg;
	rc = cio_http_server_start(&hs, "127.0.0.1", 0, hello_handler, NULL,
				   &o);
	dprintf(serve_ready_fd, "%d %u %s\n", rc, rc < 0 ? 0u :
		(unsigned)cio_http_server_port(hs),
		cio_loop_backend_name(cio_loop_current()));
	close(serve_ready_fd);
	if (rc < 0)
		return rc;
	while (cio_sleep(3600 * CIO_NSEC_PER_SEC) != -ECANCELED)
		;
	cio_http_server_close(hs);
	cio_http_server_wait_closed(hs, cio_deadline_after(CIO_NSEC_PER_SEC));
	cio_http_server_free(hs);
	return 0;
}

static int serve(unsigned shards, int ready_fd)
{
	struct cio_run_opts o = { .shards = shards,
				  .shutdown_grace = CIO_NSEC_PER_SEC };
	intptr_t r;

	serve_ready_fd = ready_fd;
	r = cio_run(serve_main, NULL, &o);
	if (r < 0 && r != -ECANCELED) {
		fprintf(stderr, "http --serve: %s\n", strerror((int)-r));
		return 1;
	}
	return 0;
}

/* -- children -------------------------------------------------------------- */

/* Wait for `pid` at most `ms`, then kill it. Its wait status, or -1 when
 * it had to be killed. */
static int reap(pid_t pid, int ms)
{
	int st;

	for (int i = 0; i < ms / 5; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

/* Read what fd gives until end of file or the deadline (ns). */
static size_t read_until_eof(int fd, char *buf, size_t cap, int64_t deadline)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - bu_now_ns();
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)(left / 1000000) + 1) <= 0)
			break;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == cap - 1)
			break;
	}
	buf[len] = '\0';
	return len;
}

struct server {
	int sys;
	pid_t pid;
	uint16_t port;
	char dir[64];          /* nginx: its temporary directory */
	char backend[32];
};

/* The server running now, stopped by stop() or, if we exit on an error,
 * by this. */
static struct server *running;

static void kill_running(void)
{
	char cmd[128];

	if (!running)
		return;
	if (running->pid > 0) {
		kill(running->pid, SIGKILL);
		waitpid(running->pid, NULL, 0);
	}
	if (running->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", running->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "http: could not remove %s\n",
				running->dir);
	}
	running = NULL;
}

static void start_coreio(struct server *s, const char *self)
{
	char line[128], shards[16], fdarg[16];
	int ready[2], rc = -1;
	unsigned port = 0;

	if (pipe(ready) < 0)
		bu_die("pipe", -errno);
	snprintf(shards, sizeof(shards), "%u", cfg.shards);
	snprintf(fdarg, sizeof(fdarg), "%d", ready[1]);
	fflush(NULL);
	if ((s->pid = fork()) < 0)
		bu_die("fork", -errno);
	if (s->pid == 0) {
		close(ready[0]);
		setenv("CIO_BACKEND", s->sys == SYS_URING ? "uring" : "epoll",
		       1);
		execl(self, self, "--serve", "--shards", shards, "--ready-fd",
		      fdarg, (char *)NULL);
		_exit(127);
	}
	running = s;
	close(ready[1]);
	read_until_eof(ready[0], line, sizeof(line), bu_now_ns() + 5000000000);
	close(ready[0]);
	if (sscanf(line, "%d %u %31s", &rc, &port, s->backend) != 3 || rc < 0) {
		fprintf(stderr, "http: the %s server did not start (%s)\n",
			sys_name[s->sys], line);
		exit(1);
	}
	s->port = (uint16_t)port;
}

/* bench/baseline's epoll server, next to this program: --workers shards,
 * pinned as coreio's shards are (worker i on the i-th allowed CPU); it
 * says "listening on 127.0.0.1:PORT" once every worker listens. */
static void start_baseline(struct server *s, const char *self)
{
	char path[4200], workers[16], line[128];
	const char *slash = strrchr(self, '/');
	unsigned port = 0;
	int out[2];

	snprintf(path, sizeof(path), "%.*s/baseline-http",
		 (int)(slash - self), self);
	snprintf(workers, sizeof(workers), "%u", cfg.shards);
	if (pipe(out) < 0)
		bu_die("pipe", -errno);
	fflush(NULL);
	if ((s->pid = fork()) < 0)
		bu_die("fork", -errno);
	if (s->pid == 0) {
		close(out[0]);
		dup2(out[1], 1);
		execl(path, path, "--host", "127.0.0.1", "--port", "0",
		      "--workers", workers, (char *)NULL);
		_exit(127);
	}
	running = s;
	close(out[1]);
	read_until_eof(out[0], line, sizeof(line), bu_now_ns() + 5000000000);
	close(out[0]);
	if (sscanf(line, "listening on 127.0.0.1:%u", &port) != 1) {
		fprintf(stderr, "http: %s did not start (%s)\n", path, line);
		exit(1);
	}
	s->port = (uint16_t)port;
	snprintf(s->backend, sizeof(s->backend), "epoll (no runtime)");
}

/* A port that was free a moment ago (nginx cannot be given port 0). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		bu_die("bind 127.0.0.1:0", -errno);
	close(fd);
	return ntohs(a.sin_port);
}

static bool accepts(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void start_nginx(struct server *s)
{
	char path[128];
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/coreio-bench-nginx-XXXXXX");
	if (!mkdtemp(s->dir))
		bu_die("mkdtemp", -errno);
	s->port = free_port();
	snprintf(path, sizeof(path), "%s/nginx.conf", s->dir);
	if (!(f = fopen(path, "w")))
		bu_die("nginx.conf", -errno);
	fprintf(f,
		"worker_processes %u;\n"
		"worker_cpu_affinity auto;\n"
		"daemon off;\n"
		"master_process on;\n"
		"pid %s/nginx.pid;\n"
		"error_log %s/error.log;\n"
		"events { worker_connections 16384; }\n"
		"http {\n"
		"  access_log off;\n"
		"  keepalive_requests 100000000;\n"
		"  keepalive_timeout 60s;\n"
		"  default_type text/plain;\n"
		"  client_body_temp_path %s/body;\n"
		"  proxy_temp_path %s/proxy;\n"
		"  fastcgi_temp_path %s/fastcgi;\n"
		"  uwsgi_temp_path %s/uwsgi;\n"
		"  scgi_temp_path %s/scgi;\n"
		"  server {\n"
		"    listen 127.0.0.1:%u reuseport;\n"
		"    location / { return 200 \"Hello, World!\"; }\n"
		"  }\n"
		"}\n",
		cfg.shards, s->dir, s->dir, s->dir, s->dir, s->dir, s->dir,
		s->dir, (unsigned)s->port);
	fclose(f);
	fflush(NULL);
	if ((s->pid = fork()) < 0)
		bu_die("fork", -errno);
	if (s->pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execl(NGINX, NGINX, "-p", s->dir, "-e", "stderr", "-c", path,
		      (char *)NULL);
		_exit(127);
	}
	running = s;
	snprintf(s->backend, sizeof(s->backend), "nginx");
	/* Up when it accepts (at most 5 s). */
	for (int i = 0; i < 500 && !accepts(s->port); i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0; /* reaped: nothing to kill */
			fprintf(stderr, "http: nginx exited at start (see "
				"above)\n");
			exit(1);
		}
		usleep(10000);
	}
	if (!accepts(s->port)) {
		fprintf(stderr, "http: nginx does not accept on port %u\n",
			(unsigned)s->port);
		exit(1);
	}
}

static void stop(struct server *s)
{
	/* coreio: SIGTERM is cio_run()'s graceful shutdown; nginx: fast
	 * shutdown (the master stops its workers). */
	kill(s->pid, SIGTERM);
	if (reap(s->pid, 5000) < 0)
		fprintf(stderr, "http: the %s server had to be killed\n",
			sys_name[s->sys]);
	if (s->dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "http: could not remove %s\n", s->dir);
	}
	running = NULL;
}

/* -- CPU accounting -------------------------------------------------------- */

/* A server's CPU time: its process and its children (nginx's workers). */
static int64_t server_cpu(pid_t pid)
{
	char path[64];
	int64_t total = proc_cpu(pid);
	int child;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	if ((f = fopen(path, "re"))) {
		while (fscanf(f, "%d", &child) == 1)
			total += proc_cpu(child);
		fclose(f);
	}
	return total;
}

/* -- wrk ------------------------------------------------------------------- */

struct result {
	double rps;
	double p99_us;
	unsigned long long errors, non2xx;
	int64_t wrk_cpu_ns;
	double others;      /* other processes, % of one CPU */
	double wrk_util;    /* wrk, % of one CPU */
	double srv_us_per_req; /* the server's CPU time per request */
};

/* "1.23ms", "512.00us", "1.02s" in microseconds. */
static double to_us(const char *v)
{
	char *end;
	double x = strtod(v, &end);

	if (end == v)
		return NAN;
	if (!strncmp(end, "us", 2))
		return x;
	if (!strncmp(end, "ms", 2))
		return x * 1e3;
	if (*end == 's')
		return x * 1e6;
	return NAN;
}

/* Run wrk for `seconds`; parse its report. */
static void run_wrk(uint16_t port, unsigned long conns, double seconds,
		    struct result *r)
{
	char url[64], c[16], t[16], d[32], out[16384];
	const char *p;
	int pipefd[2], st;
	pid_t pid;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)port);
	snprintf(c, sizeof(c), "%lu", conns);
	snprintf(t, sizeof(t), "%lu", cfg.wrk_threads < conns ?
					      (unsigned long)cfg.wrk_threads :
					      conns);
	snprintf(d, sizeof(d), "%.0fs", seconds); /* wrk: whole seconds */
	if (pipe(pipefd) < 0)
		bu_die("pipe", -errno);
	fflush(NULL);
	if ((pid = fork()) < 0)
		bu_die("fork", -errno);
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (cfg.wrk_pinned)
			sched_setaffinity(0, sizeof(cfg.wrk_cpus),
					  &cfg.wrk_cpus);
		execl(WRK, WRK, "-t", t, "-c", c, "-d", d, "--latency",
		      "--timeout", "2s", url, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	read_until_eof(pipefd[0], out, sizeof(out),
		       bu_now_ns() + (int64_t)((seconds + 15) * 1e9));
	close(pipefd[0]);
	/* wrk has ended its run: collect it with its CPU time. */
	struct rusage ru;
	st = -1;
	for (int i = 0; i < 400; i++) {
		if (wait4(pid, &st, WNOHANG, &ru) == pid)
			break;
		st = -1;
		usleep(5000);
	}
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	memset(r, 0, sizeof(*r));
	r->wrk_cpu_ns = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
				1000000000 +
			(int64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) *
				1000;
	r->rps = r->p99_us = NAN;
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "http: wrk failed:\n%s\n", out);
		exit(1);
	}
	if ((p = strstr(out, "Requests/sec:")))
		r->rps = strtod(p + 13, NULL);
	if ((p = strstr(out, "Latency Distribution")) &&
	    (p = strstr(p, "99%")))
		r->p99_us = to_us(p + 3 + strspn(p + 3, " "));
	if ((p = strstr(out, "Socket errors:"))) {
		unsigned long long a = 0, b = 0, w = 0, to = 0;
		sscanf(p, "Socket errors: connect %llu, read %llu, write %llu, "
			  "timeout %llu", &a, &b, &w, &to);
		r->errors = a + b + w + to;
	}
	if ((p = strstr(out, "Non-2xx or 3xx responses:")))
		r->non2xx = strtoull(p + 25, NULL, 10);
	if (isnan(r->rps) || isnan(r->p99_us)) {
		fprintf(stderr, "http: cannot read wrk's report:\n%s\n", out);
		exit(1);
	}
}

/* -- one measurement ------------------------------------------------------- */

static char backend_seen[NSYS][32];
static unsigned long long errors_seen[NSYS];

static unsigned reruns;

static void measure_once(int sys, unsigned long conns, const char *self,
			 struct result *r)
{
	struct server s = { .sys = sys };
	struct result warm;
	int64_t w0, i0, s0, w1;

	if (sys == SYS_NGINX)
		start_nginx(&s);
	else if (sys == SYS_BASELINE)
		start_baseline(&s, self);
	else
		start_coreio(&s, self);
	snprintf(backend_seen[sys], sizeof(backend_seen[sys]), "%s",
		 s.backend);
	if (cfg.warmup > 0)
		run_wrk(s.port, conns, cfg.warmup, &warm);
	w0 = bu_now_ns();
	i0 = cpus_idle();
	s0 = server_cpu(s.pid);
	run_wrk(s.port, conns, cfg.duration, r);
	w1 = bu_now_ns();
	/* Busy time of all CPUs, less ours. */
	int64_t srv = server_cpu(s.pid) - s0;
	r->others = 100.0 *
		    ((double)(w1 - w0) * cfg.ncpus -
		     (double)(cpus_idle() - i0) - (double)srv -
		     (double)r->wrk_cpu_ns) /
		    (double)(w1 - w0);
	r->wrk_util = 100.0 * (double)r->wrk_cpu_ns / (double)(w1 - w0);
	r->srv_us_per_req = (double)srv / 1e3 / (r->rps * cfg.duration);
	if (r->others < 0)
		r->others = 0;
	stop(&s);
	errors_seen[sys] += r->errors + r->non2xx;
}

/* One figure; a run disturbed by other processes is run once more and the
 * quieter attempt kept. */
static void measure(int sys, unsigned long conns, const char *self,
		    struct result *r)
{
	struct result again;

	measure_once(sys, conns, self, r);
	if (r->others <= OTHER_MAX)
		return;
	reruns++;
	measure_once(sys, conns, self, &again);
	if (again.others < r->others)
		*r = again;
}

/* -- the report ------------------------------------------------------------ */

static void ratio_row(const char *cas, const char *name, const char *metric,
		      struct bl_series *a, struct bl_series *b,
		      const char *target, double want, bool at_least)
{
	struct bl_series q = bl_ratios(a, b);
	struct bu_stats st = bl_stats(&q);
	enum bu_verdict v = BU_NO_TARGET;

	if (target)
		v = (at_least ? st.median >= want : st.median <= want) ?
			    BU_PASS : BU_MISS;
	bu_row(cas, name, metric, &st, 0, "ratio", target, v);
}

/* Per connection count and system, one figure per run. */
struct series {
	struct bl_series rps, p99, others, wrk, cpu;
};

static void report(unsigned long conns, struct series *f)
{
	char cas[32];

	snprintf(cas, sizeof(cas), "c%lu", conns);
	for (int sys = 0; sys < NSYS; sys++) {
		if (!cfg.use[sys])
			continue;
		struct bu_stats a = bl_stats(&f[sys].rps);
		struct bu_stats b = bl_stats(&f[sys].p99);
		struct bu_stats c = bl_stats(&f[sys].cpu);
		struct bu_stats w = bl_stats(&f[sys].wrk);
		struct bu_stats o = bl_stats(&f[sys].others);
		bu_row(cas, sys_name[sys], "requests_per_sec", &a, 0, "req/s",
		       NULL, BU_NO_TARGET);
		bu_row(cas, sys_name[sys], "latency_p99", &b, 0, "us", NULL,
		       BU_NO_TARGET);
		bu_row(cas, sys_name[sys], "server_cpu_per_req", &c, 0, "us",
		       NULL, BU_NO_TARGET);
		bu_row(cas, sys_name[sys], "wrk_cpu", &w, 0, "%", NULL,
		       BU_NO_TARGET);
		bu_row(cas, sys_name[sys], "neighbours_cpu", &o, 0, "%", NULL,
		       BU_NO_TARGET);
	}
	if (cfg.use[SYS_URING] && cfg.use[SYS_NGINX]) {
		ratio_row(cas, "uring/nginx", "rps_ratio", &f[SYS_URING].rps,
			  &f[SYS_NGINX].rps, ">= 1.30", 1.3, true);
		ratio_row(cas, "uring/nginx", "p99_ratio", &f[SYS_URING].p99,
			  &f[SYS_NGINX].p99, "<= 1.00", 1.0, false);
		ratio_row(cas, "uring/nginx", "cpu_per_req_ratio",
			  &f[SYS_URING].cpu, &f[SYS_NGINX].cpu, NULL, 0, true);
	}
	if (cfg.use[SYS_URING] && cfg.use[SYS_EPOLL]) {
		ratio_row(cas, "uring/epoll", "rps_ratio", &f[SYS_URING].rps,
			  &f[SYS_EPOLL].rps, ">= 1.20", 1.2, true);
		ratio_row(cas, "uring/epoll", "cpu_per_req_ratio",
			  &f[SYS_URING].cpu, &f[SYS_EPOLL].cpu, NULL, 0, true);
	}
	if (cfg.use[SYS_EPOLL] && cfg.use[SYS_NGINX])
		ratio_row(cas, "epoll/nginx", "rps_ratio", &f[SYS_EPOLL].rps,
			  &f[SYS_NGINX].rps, NULL, 0, true);
	if (cfg.use[SYS_URING] && cfg.use[SYS_BASELINE]) {
		ratio_row(cas, "uring/baseline", "rps_ratio",
			  &f[SYS_URING].rps, &f[SYS_BASELINE].rps, NULL, 0,
			  true);
		ratio_row(cas, "uring/baseline", "cpu_per_req_ratio",
			  &f[SYS_URING].cpu, &f[SYS_BASELINE].cpu, NULL, 0,
			  true);
	}
}

/* -- options --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: http [options]\n"
"The coreio HTTP server (io_uring and epoll backends) against nginx and\n"
"bench/baseline's hand-written epoll server, under wrk (keep-alive, GET /,\n"
"the 13-byte body \"Hello, World!\"), side by side, systems alternating. Reports requests/s and p99 latency\n"
"(medians of --runs), their ratios, and the issue's targets.\n"
"\n"
"  -j, --json            one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick           smoke run: 1 run of 1 s, no warm-up\n"
"  -r, --runs N          runs per system (default 3), medians reported\n"
"  -d, --duration SEC    measured whole seconds per run (default 3)\n"
"      --warmup SEC      unmeasured wrk run before it (default 1; 0: none)\n"
"  -c, --connections L   wrk connections, a list (default 64; e.g. 16,64,256)\n"
"      --shards N        coreio shards, nginx and baseline workers (default:\n"
"                        half the CPUs, wrk pinned to the other half)\n"
"      --systems L       any of uring,epoll,nginx,baseline (default all)\n"
"      --wrk-threads T   wrk threads (default 1)\n"
"  -h, --help            this text\n"
"\n"
"Needs %s; nginx runs from %s (skipped with a note when missing).\n"
"Internal: --serve --shards N --ready-fd FD runs one coreio server.\n",
		WRK, NGINX);
}

static void parse_systems(const char *s)
{
	char buf[128], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		bu_bad_usage("--systems: too long");
	strcpy(buf, s);
	memset(cfg.use, 0, sizeof(cfg.use));
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 0; i < NSYS && strcmp(tok, sys_name[i]); i++)
			;
		if (i == NSYS)
			bu_bad_usage("--systems: unknown system '%s'", tok);
		cfg.use[i] = true;
	}
}

enum { OPT_WARMUP = 256, OPT_SHARDS, OPT_SYSTEMS, OPT_WRK_THREADS, OPT_SERVE,
       OPT_READY_FD };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
		{ "connections", required_argument, NULL, 'c' },
		{ "shards", required_argument, NULL, OPT_SHARDS },
		{ "systems", required_argument, NULL, OPT_SYSTEMS },
		{ "wrk-threads", required_argument, NULL, OPT_WRK_THREADS },
		{ "serve", no_argument, NULL, OPT_SERVE },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct series fig[MAX_CONNS][NSYS];
	char self[4096], text[128];
	bool serve_mode = false;
	int ready_fd = -1, cpus[256], ncpus, c;
	ssize_t n;

	bu.prog = "http";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:d:c:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			bu.json = true;
			break;
		case 'q':
			cfg.runs = 1;
			cfg.duration = 1;
			cfg.warmup = 0;
			break;
		case 'r':
			cfg.runs = (unsigned)bu_parse_count("--runs", optarg, 1,
							    BU_MAX_REPS);
			break;
		case 'd':
			cfg.duration = (double)bu_parse_count("--duration",
							      optarg, 1, 600);
			break;
		case OPT_WARMUP:
			cfg.warmup = (double)bu_parse_count("--warmup", optarg,
							    0, 60);
			break;
		case 'c':
			cfg.nconns = bl_parse_list("--connections", optarg,
						   cfg.conns, MAX_CONNS, 1,
						   10000);
			break;
		case OPT_SHARDS:
			cfg.shards = (unsigned)bu_parse_count(
				"--shards", optarg, 1, CIO_RUN_MAX_SHARDS);
			break;
		case OPT_SYSTEMS:
			parse_systems(optarg);
			break;
		case OPT_WRK_THREADS:
			cfg.wrk_threads = (unsigned)bu_parse_count(
				"--wrk-threads", optarg, 1, 256);
			break;
		case OPT_SERVE:
			serve_mode = true;
			break;
		case OPT_READY_FD:
			ready_fd = (int)bu_parse_count("--ready-fd", optarg, 0,
						       65535);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			bu_bad_usage("option '%s' needs a value",
				     argv[optind - 1]);
		default:
			bu_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bu_bad_usage("unexpected argument '%s'", argv[optind]);
	ncpus = bl_allowed_cpus(cpus, 256);
	cfg.ncpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
	if (!cfg.shards)
		cfg.shards = ncpus > 1 ? (unsigned)ncpus / 2 : 1;
	CPU_ZERO(&cfg.wrk_cpus);
	for (int i = (int)cfg.shards; i < ncpus; i++) {
		CPU_SET(cpus[i], &cfg.wrk_cpus);
		cfg.wrk_pinned = true;
	}
	if (serve_mode) {
		if (ready_fd < 0)
			bu_bad_usage("--serve needs --ready-fd");
		return serve(cfg.shards, ready_fd);
	}
	if (access(WRK, X_OK) != 0) {
		fprintf(stderr, "http: %s is missing (apt-get install wrk)\n",
			WRK);
		return 1;
	}
	if (cfg.use[SYS_NGINX] && access(NGINX, X_OK) != 0) {
		fprintf(stderr, "http: %s is missing: nginx is left out\n",
			NGINX);
		cfg.use[SYS_NGINX] = false;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		bu_die("readlink /proc/self/exe", -errno);
	self[n] = '\0';
	snprintf(text, sizeof(text), "%.*s/baseline-http",
		 (int)(strrchr(self, '/') - self), self);
	if (cfg.use[SYS_BASELINE] && access(text, X_OK) != 0) {
		fprintf(stderr, "http: %s is missing: baseline is left out\n",
			text);
		cfg.use[SYS_BASELINE] = false;
	}
	signal(SIGPIPE, SIG_IGN);
	atexit(kill_running);

	bu_table_header();
	for (unsigned k = 0; k < cfg.nconns; k++) {
		for (unsigned r = 0; r < cfg.runs; r++) {
			for (int i = 0; i < NSYS; i++) {
				int sys = (int)((unsigned)i + r) % NSYS;
				struct result res;
				if (!cfg.use[sys])
					continue;
				measure(sys, cfg.conns[k], self, &res);
				bl_add(&fig[k][sys].rps, res.rps);
				bl_add(&fig[k][sys].p99, res.p99_us);
				bl_add(&fig[k][sys].cpu, res.srv_us_per_req);
				bl_add(&fig[k][sys].wrk, res.wrk_util);
				bl_add(&fig[k][sys].others, res.others);
			}
		}
		report(cfg.conns[k], fig[k]);
	}
	for (int sys = 0; sys < NSYS; sys++) {
		if (!cfg.use[sys])
			continue;
		bu_text_row("env", sys_name[sys], "backend", backend_seen[sys]);
		if (errors_seen[sys]) {
			snprintf(text, sizeof(text), "%llu (wrk socket errors "
				 "and non-2xx responses)", errors_seen[sys]);
			bu_text_row("env", sys_name[sys], "errors", text);
		}
	}
	snprintf(text, sizeof(text), "%u shards/workers, wrk -t%u%s, %u CPUs",
		 cfg.shards, cfg.wrk_threads,
		 cfg.wrk_pinned ? " on the other CPUs" : " sharing them",
		 (unsigned)ncpus);
	bu_text_row("env", "http", "setup", text);
	snprintf(text, sizeof(text), "median of %u runs x %.0f s (+%.0f s "
		 "warm-up), %u re-run for neighbours", cfg.runs, cfg.duration,
		 cfg.warmup, reruns);
	bu_text_row("env", "http", "runs", text);
	return 0;
}
