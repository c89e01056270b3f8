/* bench/download — issue 8's downloads scenario: the flags app against
 * aria2c and curl, each fetching the same files from one local nginx at
 * the same concurrency.
 *
 * The files: flags-server --generate N (apps/flags) writes N small GIFs
 * (1.0 to 2.8 KB) as SITE/flags/<cc>/<cc>.gif into a temporary directory,
 * once; `flags -g N` asks for exactly those, and the URL lists of the
 * others are made from the directory, in the same (sorted) order.
 *
 * The server: /usr/sbin/nginx with its own configuration in the temporary
 * directory: master and one worker, 127.0.0.1 on a port found free, root
 * SITE, sendfile and tcp_nopush on, access_log off, keepalive_requests
 * 1000000 (no client ever sees a connection closed for its count). One
 * nginx serves every run; the files stay in the page cache.
 *
 * Systems (--systems, default all four), each a whole program run, timed
 * from posix_spawn() to its exit (wall), with its CPU time (user +
 * system, all its threads) from wait4():
 * - flags-uring, flags-epoll: build/apps/flags -s URL -g N -c C -o OUT
 *   with CIO_BACKEND=uring or epoll (default --save uring: io_uring
 *   writes, or the executor's threads on epoll).
 * - aria2c: aria2c -i URLS -j C -x1 -s1 -d OUT, no aria2.conf, no
 *   console readout or summary, --download-result=hide,
 *   --allow-overwrite, --auto-file-renaming=false,
 *   --file-allocation=none, --auto-save-interval=0 (no .aria2 control
 *   files while it runs), --max-tries=1.
 * - curl: curl -q -Z --parallel-max C --no-progress-meter --fail
 *   --remote-name-all --output-dir OUT -K CFG, CFG one `url = "..."` per
 *   file. curl caps --parallel-max at 300: above, it runs 300 (noted).
 * No .curlrc, no proxy variables (they are removed from the clients'
 * environment); every URL names 127.0.0.1, nothing is resolved.
 *
 * Where the clients write: OUT, on tmpfs (/dev/shm) when there is one,
 * so that what is measured is the clients, not the file system under
 * /tmp. On the 2-CPU reference VM (ext4 mounted with discard), creating
 * 1,000 files of 1.8 KB there takes 0.1 to 0.5 s of kernel CPU, varying
 * fivefold with what the disk did just before, against 10 ms on tmpfs
 * and about 50 ms for a whole flags or curl run: every client would
 * measure the disk. --outdir DIR puts OUT on DIR's file system instead
 * (the env row "output" says which).
 *
 * Method: OUT is a fresh empty directory before every run; after it, OUT
 * must hold exactly the N files, each the same bytes as the site's (a
 * failed or incomplete run stops the program with an error, never gives
 * a number). Each system runs once unmeasured first (its binary and
 * libraries, nginx's files, all warm). Then, for each concurrency, --runs
 * runs measure every system once, the order rotated from run to run;
 * reported are the medians (seconds, files/s, CPU seconds) and the
 * medians of the per-run speed-ups of flags-uring (time_other /
 * time_flags) over aria2c, curl and flags-epoll; the target is
 * flags-uring >= 1.5x aria2c. With 2 CPUs or more, nginx runs on the
 * first allowed CPU and the clients on the second.
 *
 * Neighbours: the CPU time other processes took during each run (busy
 * time of all CPUs from /proc/stat, less nginx's and the client's) is
 * computed; a run during which they took more than OTHERS_MAX % of one
 * CPU is run once more and the quieter attempt kept, as bench/http does.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_cpu.h"
#include "bench/bench_load.h"

#define NGINX "/usr/sbin/nginx"
#define MAX_CONCS 8
#define MAX_FILES 18252   /* what flags-server --generate can write */
#define MAX_CONCUR 1000   /* what flags -c accepts */
#define CURL_MAX_PARALLEL 300 /* curl's own cap on --parallel-max */
#define TARGET_ARIA2 1.5
/* Other processes' CPU (% of one CPU) above which a run is run again. */
#define OTHERS_MAX 25.0

enum { SYS_FLAGS_URING, SYS_FLAGS_EPOLL, SYS_ARIA2C, SYS_CURL, NSYS };
static const char *const sys_name[NSYS] = { "flags-uring", "flags-epoll",
					    "aria2c", "curl" };

static struct config {
	unsigned runs;
	unsigned long files;
	unsigned long concs[MAX_CONCS];
	unsigned nconcs;
	bool use[NSYS];
	bool keep;
	const char *outbase; /* --outdir */
} cfg = { .runs = 5, .files = 1000, .concs = { 20 }, .nconcs = 1,
	  .use = { true, true, true, true } };

/* Programs, found once. */
static char flags_bin[4096], server_bin[4096], aria2c_bin[4096],
	curl_bin[4096];

static char tmp[64];    /* the temporary directory, everything in it */
static char outtmp[1100]; /* OUT's own, when it is on another file system */
static char site[128], outdir[1120], urls[128], curlcfg[128], logdir[128];
static char outfs[32];    /* OUT's file system type */
static uint16_t port;
static char base_url[64]; /* http://127.0.0.1:PORT/flags */

/* CPU pinning: nginx on the first allowed CPU, clients on the second. */
static int cpu_server = -1, cpu_client = -1;
static int64_t ncpus_online; /* what /proc/stat counts */

/* -- children -------------------------------------------------------------- */

/* What runs now, so that an error exit or a signal does not leave it
 * behind. */
static pid_t nginx_pid, child_pid;
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	if (child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
		child_pid = 0;
	}
	if (nginx_pid > 0) {
		kill(nginx_pid, SIGTERM); /* fast shutdown, workers too */
		waitpid(nginx_pid, NULL, 0);
		nginx_pid = 0;
	}
	if (tmp[0] && !cfg.keep)
		rm_tree(tmp);
	else if (tmp[0])
		fprintf(stderr, "download: kept %s\n", tmp);
	if (outtmp[0] && !cfg.keep)
		rm_tree(outtmp);
	else if (outtmp[0])
		fprintf(stderr, "download: kept %s\n", outtmp);
	tmp[0] = outtmp[0] = '\0';
}

/* Ctrl-C: nginx and the client are stopped; the temporary directories
 * stay (removing a tree is no work for a signal handler) and are named. */
static void say(const char *s)
{
	ssize_t n = write(2, s, strlen(s));
	(void)n; /* nothing better to do on a failed write to stderr */
}

static void on_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
	if (nginx_pid > 0)
		kill(nginx_pid, SIGTERM);
	say("download: interrupted");
	for (const char *d = tmp; d; d = d == tmp ? outtmp : NULL) {
		if (!d[0])
			continue;
		say(d == tmp ? "; left " : " and ");
		say(d);
	}
	say("\n");
	_exit(128 + sig);
}

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "download: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* stdin from /dev/null, stdout and stderr to `log` (truncated). */
static void child_stdio(const char *log)
{
	int null = open("/dev/null", O_RDONLY);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (null >= 0)
		dup2(null, 0);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
}

/* The last lines of a log, for an error message. */
static void show_log(const char *log)
{
	char buf[2048];
	ssize_t n;
	off_t size;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ?
			  size - (off_t)sizeof(buf) + 1 : 0,
	      SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "--- %s:\n%s%s---\n", log, buf,
			buf[n - 1] == '\n' ? "" : "\n");
	}
}

/* Does buf hold a whole line (ended by '\n') that starts with prefix? */
static bool has_line(const char *buf, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = buf; l;) {
		if (strncmp(l, prefix, n) == 0 && strchr(l, '\n'))
			return true;
		if ((l = strchr(l, '\n')))
			l++;
	}
	return false;
}

/* Read what fd gives until end of file, a whole line starting with
 * `stop`, or the deadline (ns). */
static void read_until(int fd, char *buf, size_t cap, const char *stop,
		       int64_t deadline)
{
	size_t len = 0;

	buf[0] = '\0';
	while (len < cap - 1 && !has_line(buf, stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - bu_now_ns();
		ssize_t n;
		if (left <= 0 || poll(&p, 1, (int)(left / 1000000) + 1) <= 0)
			return;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		buf[len] = '\0';
	}
}

/* -- finding the programs -------------------------------------------------- */

/* `name` in $PATH (or /usr/bin, /usr/sbin) into out; false if absent. */
static bool find_program(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *dir;

	snprintf(buf, sizeof(buf), "%s:/usr/bin:/usr/sbin",
		 path ? path : "");
	for (dir = strtok_r(buf, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if (!*dir)
			continue;
		snprintf(out, cap, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	out[0] = '\0';
	return false;
}

/* The first line of `cmd`'s output (versions, for the env rows). */
static void first_line(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)cap, f))
		out[strcspn(out, "\n")] = '\0';
	pclose(f);
}

/* build/bench/download -> build/apps/<name> */
static void app_path(const char *self, const char *name, char *out,
		     size_t cap)
{
	char buf[4096], *slash;

	snprintf(buf, sizeof(buf), "%s", self);
	for (int up = 0; up < 2; up++) {
		if (!(slash = strrchr(buf, '/'))) {
			strcpy(buf, ".");
			break;
		}
		*slash = '\0';
	}
	snprintf(out, cap, "%s/apps/%s", buf[0] ? buf : "/", name);
}

/* -- the files ------------------------------------------------------------- */

struct file {
	char name[16]; /* <cc>.gif, as every client saves it */
	size_t size;
	unsigned char *data;
};
static struct file *files;
static size_t nfiles;
static unsigned long long total_bytes;

/* The order of flags' (sorted) codes: shorter first, then by letters. */
static int file_cmp(const void *a, const void *b)
{
	const char *x = ((const struct file *)a)->name;
	const char *y = ((const struct file *)b)->name;
	size_t lx = strlen(x), ly = strlen(y);

	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *b;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	b = bu_xmalloc((size_t)st.st_size);
	n = read(fd, b, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(b);
		return NULL;
	}
	*len = (size_t)n;
	return b;
}

/* flags-server --generate N into SITE: up to its "Serving" line, then
 * stopped (it would serve them too, but nginx is the server here). */
static void generate(void)
{
	char n[32], out[4096];
	int pfd[2], st;
	pid_t pid;

	snprintf(n, sizeof(n), "%lu", cfg.files);
	if (pipe2(pfd, O_CLOEXEC) < 0)
		bu_die("pipe", -errno);
	fflush(NULL);
	if ((pid = fork()) < 0)
		bu_die("fork", -errno);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(pfd[1], 1);
		execl(server_bin, server_bin, "--port", "0", "--host",
		      "127.0.0.1", "--dir", site, "--generate", n, (char *)NULL);
		_exit(127);
	}
	child_pid = pid;
	close(pfd[1]);
	read_until(pfd[0], out, sizeof(out), "Serving ",
		   bu_now_ns() + 120 * 1000000000LL);
	close(pfd[0]);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	child_pid = 0;
	if (!has_line(out, "Generated ") || !has_line(out, "Serving "))
		fail("%s --generate %s failed:\n%s", server_bin, n, out);
}

/* Every SITE/flags/<cc>/<cc>.gif, in memory, to check downloads
 * against. */
static void load_files(void)
{
	char dir[256], path[512];
	struct dirent *e;
	DIR *d;
	size_t cap = cfg.files;

	snprintf(dir, sizeof(dir), "%s/flags", site);
	if (!(d = opendir(dir)))
		bu_die(dir, -errno);
	files = bu_xmalloc(cap * sizeof(*files));
	while ((e = readdir(d))) {
		struct file *f;
		if (e->d_name[0] == '.')
			continue;
		if (nfiles == cap || strlen(e->d_name) > 3)
			fail("%s holds more than the %lu flags generated", dir,
			     cfg.files);
		f = &files[nfiles++];
		snprintf(f->name, sizeof(f->name), "%s.gif", e->d_name);
		snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name,
			 f->name);
		if (!(f->data = slurp(path, &f->size)))
			fail("cannot read %s", path);
		total_bytes += f->size;
	}
	closedir(d);
	if (nfiles != cfg.files)
		fail("%s holds %zu flags, not %lu", dir, nfiles, cfg.files);
	qsort(files, nfiles, sizeof(*files), file_cmp);
}

/* The URL lists of aria2c (-i) and curl (-K). */
static void write_lists(void)
{
	FILE *a = fopen(urls, "w"), *c = fopen(curlcfg, "w");

	if (!a || !c)
		bu_die("fopen", -errno);
	for (size_t i = 0; i < nfiles; i++) {
		int len = (int)strlen(files[i].name) - 4; /* the code */
		fprintf(a, "%s/%.*s/%s\n", base_url, len, files[i].name,
			files[i].name);
		fprintf(c, "url = \"%s/%.*s/%s\"\n", base_url, len,
			files[i].name, files[i].name);
	}
	if (fclose(a) != 0 || fclose(c) != 0)
		bu_die("writing the URL lists", -errno);
}

/* OUT must hold exactly the site's files, byte for byte. */
static void verify(int sys, unsigned long conc, int run, const char *log)
{
	bool *seen = calloc(nfiles ? nfiles : 1, sizeof(*seen));
	unsigned long long bytes = 0;
	char path[1400], what[96];
	size_t count = 0;
	struct dirent *e;
	DIR *d;

	if (run < 0)
		snprintf(what, sizeof(what), "%s (warm-up, c%lu)",
			 sys_name[sys], conc);
	else
		snprintf(what, sizeof(what), "%s (c%lu, run %d)",
			 sys_name[sys], conc, run + 1);
	if (!seen || !(d = opendir(outdir)))
		bu_die(outdir, seen ? -errno : -ENOMEM);
	while ((e = readdir(d))) {
		struct file key, *f;
		unsigned char *b;
		size_t len;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		len = strlen(e->d_name);
		f = NULL;
		if (len < sizeof(key.name)) {
			memcpy(key.name, e->d_name, len + 1);
			f = bsearch(&key, files, nfiles, sizeof(*files),
				    file_cmp);
		}
		if (!f || seen[f - files]) {
			show_log(log);
			fail("%s: unexpected file %s/%s", what, outdir,
			     e->d_name);
		}
		snprintf(path, sizeof(path), "%s/%s", outdir, e->d_name);
		b = slurp(path, &len);
		if (!b || len != f->size || memcmp(b, f->data, len) != 0) {
			show_log(log);
			fail("%s: %s is not the site's %s (%zu bytes, want "
			     "%zu)", what, path, f->name, b ? len : 0,
			     f->size);
		}
		free(b);
		seen[f - files] = true;
		count++;
		bytes += len;
	}
	closedir(d);
	if (count != nfiles || bytes != total_bytes) {
		size_t miss = 0;
		while (miss < nfiles && seen[miss])
			miss++;
		show_log(log);
		fail("%s: %zu files, %llu bytes; want %zu files, %llu bytes "
		     "(first missing: %s)", what, count, bytes, nfiles,
		     total_bytes, miss < nfiles ? files[miss].name : "none");
	}
	free(seen);
}

/* -- nginx ----------------------------------------------------------------- */

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

static bool accepts(uint16_t p)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(p) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* keepalive_requests: more than any client sends on one connection, so
 * none is made to reconnect. */
static const char nginx_conf[] =
	"daemon off;\n"
	"master_process on;\n"
	"worker_processes 1;\n"
	"pid %1$s/nginx.pid;\n"
	"error_log %1$s/error.log;\n"
	"events { worker_connections 4096; }\n"
	"http {\n"
	"  access_log off;\n"
	"  sendfile on;\n"
	"  tcp_nopush on;\n"
	"  keepalive_requests 1000000;\n"
	"  keepalive_timeout 75s;\n"
	"  types { image/gif gif; }\n"
	"  default_type application/octet-stream;\n"
	"  client_body_temp_path %1$s/tmp;\n"
	"  proxy_temp_path %1$s/tmp;\n"
	"  fastcgi_temp_path %1$s/tmp;\n"
	"  uwsgi_temp_path %1$s/tmp;\n"
	"  scgi_temp_path %1$s/tmp;\n"
	"  server {\n"
	"    listen 127.0.0.1:%2$u backlog=4096;\n"
	"    root %3$s;\n"
	"  }\n"
	"}\n";

static void start_nginx(void)
{
	char dir[160], conf[192], log[192], tmpd[192];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/nginx", tmp);
	snprintf(tmpd, sizeof(tmpd), "%s/tmp", dir);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	snprintf(log, sizeof(log), "%s/stderr.log", dir);
	if (mkdir(dir, 0755) < 0 || mkdir(tmpd, 0755) < 0)
		bu_die(dir, -errno);
	/* Another process may take the port between free_port() and
	 * nginx's bind: then nginx exits, and a new port is tried. */
	for (int attempt = 0; attempt < 3; attempt++) {
		port = free_port();
		if (!(f = fopen(conf, "w")))
			bu_die(conf, -errno);
		fprintf(f, nginx_conf, dir, (unsigned)port, site);
		if (fclose(f) != 0)
			bu_die(conf, -errno);
		fflush(NULL);
		if ((nginx_pid = fork()) < 0)
			bu_die("fork", -errno);
		if (nginx_pid == 0) {
			pin_to(cpu_server);
			child_stdio(log);
			execl(NGINX, NGINX, "-p", dir, "-e", "stderr", "-c",
			      conf, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 500 && !accepts(port); i++) {
			if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
				nginx_pid = 0;
				break;
			}
			usleep(10000);
		}
		if (nginx_pid > 0 && accepts(port)) {
			snprintf(base_url, sizeof(base_url),
				 "http://127.0.0.1:%u/flags", (unsigned)port);
			return;
		}
	}
	show_log(log);
	fail("nginx does not start (%s)", conf);
}

/* -- the clients ----------------------------------------------------------- */

struct result {
	double secs, cpu;
	double others; /* other processes' CPU meanwhile, % of one CPU */
};

/* -- CPU accounting, to tell a disturbed run ------------------------------- */

/* nginx's master and its worker. */
static int64_t nginx_cpu(void)
{
	char path[64];
	int64_t total = proc_cpu(nginx_pid);
	int child;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
		 (int)nginx_pid, (int)nginx_pid);
	if ((f = fopen(path, "re"))) {
		while (fscanf(f, "%d", &child) == 1)
			total += proc_cpu(child);
		fclose(f);
	}
	return total;
}

extern char **environ;

/* The environment of a client: ours without proxies, and for flags the
 * backend. */
static char **client_env(int sys)
{
	static char *env[4096];
	static char backend[32];
	size_t n = 0;

	for (char **e = environ; *e && n < 4090; e++) {
		static const char *const drop[] = {
			"http_proxy=", "HTTP_PROXY=", "https_proxy=",
			"HTTPS_PROXY=", "all_proxy=", "ALL_PROXY=",
			"no_proxy=", "NO_PROXY=", "CIO_BACKEND=",
		};
		bool keep = true;
		for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
			if (!strncmp(*e, drop[i], strlen(drop[i])))
				keep = false;
		if (keep)
			env[n++] = *e;
	}
	if (sys == SYS_FLAGS_URING || sys == SYS_FLAGS_EPOLL) {
		snprintf(backend, sizeof(backend), "CIO_BACKEND=%s",
			 sys == SYS_FLAGS_URING ? "uring" : "epoll");
		env[n++] = backend;
	}
	env[n] = NULL;
	return env;
}

/* Append the words to argv[k...]. */
#define ARGS(...)                                                        \
	do {                                                             \
		const char *w_[] = { __VA_ARGS__ };                      \
		for (size_t i_ = 0; i_ < sizeof(w_) / sizeof(w_[0]); i_++) \
			argv[k++] = w_[i_];                              \
	} while (0)

/* The command line of `sys` at concurrency `conc` (static storage). */
static char **client_argv(int sys, unsigned long conc)
{
	static char c[16], n[16], par[16];
	static const char *argv[40];
	int k = 0;

	snprintf(c, sizeof(c), "%lu", conc);
	snprintf(n, sizeof(n), "%lu", cfg.files);
	snprintf(par, sizeof(par), "%lu",
		 conc < CURL_MAX_PARALLEL ? conc : CURL_MAX_PARALLEL);
	switch (sys) {
	case SYS_FLAGS_URING:
	case SYS_FLAGS_EPOLL:
		ARGS(flags_bin, "-s", base_url, "-g", n, "-c", c, "-o",
		     outdir);
		break;
	case SYS_ARIA2C:
		ARGS(aria2c_bin, "--no-conf", "-i", urls, "-j", c, "-x1", "-s1",
		     "-d", outdir, "--allow-overwrite=true",
		     "--auto-file-renaming=false", "--file-allocation=none",
		     "--auto-save-interval=0", "--max-tries=1",
		     "--console-log-level=error", "--summary-interval=0",
		     "--show-console-readout=false", "--download-result=hide",
		     "--enable-color=false");
		break;
	case SYS_CURL:
		/* -q first: no .curlrc. --silent would not stop curl 7.88's
		 * parallel progress meter; --no-progress-meter does. The
		 * URLs (--config) come last: --remote-name-all applies to
		 * the URLs after it. */
		ARGS(curl_bin, "-q", "--parallel", "--parallel-max", par,
		     "--no-progress-meter", "--fail", "--remote-name-all",
		     "--output-dir", outdir, "--config", curlcfg);
		break;
	}
	argv[k] = NULL;
	return (char **)argv;
}

/* A client's time limit: far more than any should need. */
static unsigned timeout_s(void)
{
	return 60 + (unsigned)(cfg.files / 20);
}

/* One run of `sys` into a fresh OUT, checked. run < 0: the warm-up. */
static void run_client(int sys, unsigned long conc, int run,
		       struct result *r)
{
	posix_spawn_file_actions_t fa;
	char log[192], **argv = client_argv(sys, conc);
	struct rusage ru;
	int64_t t0, t1, i0, n0, busy;
	int st, rc;
	pid_t pid, w;

	snprintf(log, sizeof(log), "%s/%s.log", logdir, sys_name[sys]);
	rm_tree(outdir);
	if (mkdir(outdir, 0755) < 0)
		bu_die(outdir, -errno);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	timed_out = 0;
	fflush(NULL);
	i0 = cpus_idle();
	n0 = nginx_cpu();
	/* posix_spawn (vfork-like, nothing copied) inside the timed span:
	 * the same small cost for every client. They inherit this
	 * process's CPU (the clients' one). */
	t0 = bu_now_ns();
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, client_env(sys));
	if (rc != 0)
		bu_die(argv[0], -rc);
	child_pid = pid;
	alarm(timeout_s());
	while ((w = wait4(pid, &st, 0, &ru)) < 0 && errno == EINTR)
		;
	t1 = bu_now_ns();
	alarm(0);
	child_pid = 0;
	/* Busy time of every CPU meanwhile, less nginx's (the client's is
	 * taken off below). */
	busy = (t1 - t0) * ncpus_online - (cpus_idle() - i0) -
	       (nginx_cpu() - n0);
	posix_spawn_file_actions_destroy(&fa);
	if (w != pid)
		bu_die("wait4", -errno);
	if (timed_out || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		show_log(log);
		if (timed_out)
			fail("%s took more than %u s (c%lu)", sys_name[sys],
			     timeout_s(), conc);
		fail("%s failed (c%lu, %s %d); its output is above",
		     sys_name[sys], conc,
		     WIFEXITED(st) ? "exit status" : "signal",
		     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}
	verify(sys, conc, run, log);
	rm_tree(outdir);
	r->secs = (double)(t1 - t0) / 1e9;
	r->cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	r->others = 100.0 * ((double)busy / 1e9 - r->cpu) / r->secs;
	if (r->others < 0)
		r->others = 0;
}

/* One figure; a run during which other processes took more than
 * OTHERS_MAX % of a CPU is run once more and the quieter attempt kept
 * (chosen by the neighbours, never by the result). */
static unsigned reruns;

static void measure(int sys, unsigned long conc, int run, struct result *r)
{
	struct result again;

	run_client(sys, conc, run, r);
	if (r->others <= OTHERS_MAX)
		return;
	reruns++;
	run_client(sys, conc, run, &again);
	if (again.others < r->others)
		*r = again;
}

/* -- the report ------------------------------------------------------------ */

struct series {
	struct bl_series secs, fps, cpu, others;
};

/* The speed-ups of flags-uring reported, and the one with a target. */
static const int vs[] = { SYS_ARIA2C, SYS_CURL, SYS_FLAGS_EPOLL };

/* Targets met and missed, for the closing line. */
static unsigned targets_met, targets_total;
static char missed[256];

static void report_json(const char *cas, struct series *f)
{
	char name[64];

	for (int s = 0; s < NSYS; s++) {
		struct bu_stats st;
		if (!cfg.use[s])
			continue;
		st = bl_stats(&f[s].secs);
		bu_row(cas, sys_name[s], "seconds", &st, 0, "s", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&f[s].fps);
		bu_row(cas, sys_name[s], "files_per_sec", &st, 0, "files/s",
		       NULL, BU_NO_TARGET);
		st = bl_stats(&f[s].cpu);
		bu_row(cas, sys_name[s], "cpu_seconds", &st, 0, "s", NULL,
		       BU_NO_TARGET);
		st = bl_stats(&f[s].others);
		bu_row(cas, sys_name[s], "neighbours_cpu", &st, 0, "%", NULL,
		       BU_NO_TARGET);
	}
	if (!cfg.use[SYS_FLAGS_URING])
		return;
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		struct bl_series q;
		struct bu_stats st;
		bool target = vs[i] == SYS_ARIA2C;
		if (!cfg.use[vs[i]])
			continue;
		q = bl_ratios(&f[vs[i]].secs, &f[SYS_FLAGS_URING].secs);
		st = bl_stats(&q);
		snprintf(name, sizeof(name), "flags-uring/%s",
			 sys_name[vs[i]]);
		bu_row(cas, name, "speedup", &st, 0, "ratio",
		       target ? ">= 1.50" : NULL,
		       !target ? BU_NO_TARGET
		       : st.median >= TARGET_ARIA2 ? BU_PASS : BU_MISS);
	}
}

static void table_header(void)
{
	printf("%-11s %-12s %8s %8s %7s %5s %-13s | %-21s %s\n", "case",
	       "system", "seconds", "files/s", "cpu s", "oth%", "range (s)",
	       "flags-uring speed-up", "target");
}

static void report_table(const char *cas, struct series *f)
{
	bool first = true;

	for (int s = 0; s < NSYS; s++) {
		struct bu_stats t, q;
		struct bl_series r;
		char range[32] = "", sp[32] = "";
		if (!cfg.use[s])
			continue;
		t = bl_stats(&f[s].secs);
		if (t.n > 1)
			snprintf(range, sizeof(range), "%.3f..%.3f", t.min,
				 t.max);
		printf("%-11s %-12s %8.3f %8.0f %7.3f %5.0f %-13s |",
		       first ? cas : "", sys_name[s], t.median,
		       bl_median(&f[s].fps), bl_median(&f[s].cpu),
		       bl_median(&f[s].others), range);
		first = false;
		if (s == SYS_FLAGS_URING || !cfg.use[SYS_FLAGS_URING]) {
			printf("\n");
			continue;
		}
		r = bl_ratios(&f[s].secs, &f[SYS_FLAGS_URING].secs);
		q = bl_stats(&r);
		if (q.n > 1)
			snprintf(sp, sizeof(sp), " (%.2f..%.2f)", q.min, q.max);
		printf(" %5.2fx%-15s", q.median, sp);
		if (s == SYS_ARIA2C) {
			bool met = q.median >= TARGET_ARIA2;
			printf(" >= %.1fx %s", TARGET_ARIA2,
			       met ? "met" : "MISSED");
		}
		printf("\n");
	}
	fflush(stdout);
}

static void report(unsigned long conc, struct series *f)
{
	char cas[64];

	/* Where the files land is in the case's name: creating 1,000 files
	 * costs far more on some disks than any client's own work, so
	 * results on tmpfs and on disk are different measurements. */
	snprintf(cas, sizeof(cas), "c%lu_%s", conc, outfs);
	if (cfg.use[SYS_FLAGS_URING] && cfg.use[SYS_ARIA2C]) {
		struct bl_series r = bl_ratios(&f[SYS_ARIA2C].secs,
					       &f[SYS_FLAGS_URING].secs);
		double m = bl_median(&r);
		size_t l = strlen(missed);
		targets_total++;
		if (m >= TARGET_ARIA2)
			targets_met++;
		else
			snprintf(missed + l, sizeof(missed) - l, "%s%s %.2fx",
				 l ? ", " : "", cas, m);
	}
	if (bu.json)
		report_json(cas, f);
	else
		report_table(cas, f);
}

/* What was measured, with what: the closing line and the env rows. */
static void report_env(int ncpus)
{
	char text[1400], v[256], cmd[4200];

	if (!bu.json && targets_total)
		printf("\ntarget flags-uring >= %.1fx aria2c: %s%s%s\n",
		       TARGET_ARIA2,
		       targets_met == targets_total ? "met" : "MISSED",
		       missed[0] ? " at " : "", missed);
	if (!bu.json)
		printf("\n");
	snprintf(text, sizeof(text), "%zu GIFs, %llu bytes (%.0f on "
		 "average), from flags-server --generate %lu; every run "
		 "checked byte for byte", nfiles, total_bytes,
		 (double)total_bytes / (double)nfiles, cfg.files);
	bu_text_row("env", "download", "files", text);
	snprintf(text, sizeof(text), "OUT on %s, under %s", outfs,
		 cfg.outbase ? cfg.outbase : "/tmp");
	bu_text_row("env", "download", "output", text);
	first_line(NGINX " -v 2>&1", v, sizeof(v));
	snprintf(text, sizeof(text), "nginx %s: master + 1 worker, sendfile, "
		 "keepalive_requests 1000000, 127.0.0.1",
		 strchr(v, '/') ? strchr(v, '/') + 1 : v);
	bu_text_row("env", "nginx", "server", text);
	if (cpu_server >= 0)
		snprintf(text, sizeof(text), "nginx on CPU %d, the clients on "
			 "CPU %d (%d allowed)", cpu_server, cpu_client, ncpus);
	else
		snprintf(text, sizeof(text), "one CPU: nginx and the clients "
			 "share it");
	bu_text_row("env", "download", "pinning", text);
	snprintf(text, sizeof(text), "median of %u run%s per system, order "
		 "rotated, after one unmeasured run each; %u re-run for "
		 "neighbours (over %.0f%% of a CPU)", cfg.runs,
		 cfg.runs == 1 ? "" : "s", reruns, OTHERS_MAX);
	bu_text_row("env", "download", "runs", text);
	for (int s = 0; s < NSYS; s++) {
		char **av;
		size_t l = 0;
		if (!cfg.use[s])
			continue;
		av = client_argv(s, cfg.concs[0]);
		if (s == SYS_FLAGS_URING || s == SYS_FLAGS_EPOLL)
			l = (size_t)snprintf(text, sizeof(text),
					     "CIO_BACKEND=%s ",
					     s == SYS_FLAGS_URING ? "uring"
								  : "epoll");
		for (char **a = av; *a && l < sizeof(text); a++) {
			const char *w = *a;
			/* The temporary paths by their role. */
			if (w == outdir)
				w = "OUT";
			else if (w == urls)
				w = "URLS";
			else if (w == curlcfg)
				w = "CFG";
			else if (w == base_url)
				w = "http://127.0.0.1:PORT/flags";
			else if (a == av && strrchr(w, '/'))
				w = strrchr(w, '/') + 1;
			l += (size_t)snprintf(text + l, sizeof(text) - l,
					      "%s%s", a == av ? "" : " ", w);
		}
		bu_text_row("env", sys_name[s], "command", text);
		if (s != SYS_ARIA2C && s != SYS_CURL)
			continue;
		snprintf(cmd, sizeof(cmd), "'%s' --version 2>&1",
			 s == SYS_ARIA2C ? aria2c_bin : curl_bin);
		first_line(cmd, v, sizeof(v));
		/* "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/..." */
		if (s == SYS_CURL && strchr(v, '('))
			strchr(v, '(')[-1] = '\0';
		bu_text_row("env", sys_name[s], "version", v);
	}
	for (unsigned k = 0; k < cfg.nconcs && cfg.use[SYS_CURL]; k++)
		if (cfg.concs[k] > CURL_MAX_PARALLEL) {
			bu_text_row("env", "curl", "note", "curl caps "
				    "--parallel-max at 300: above, it runs "
				    "300 at once");
			break;
		}
}

/* -- options and main ------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: download [options]\n"
"The downloads scenario: the flags app (apps/flags, on io_uring and on\n"
"epoll), aria2c -j N and curl --parallel fetching the same files from a\n"
"local nginx at the same concurrency, side by side, the order rotated\n"
"from run to run. Reports the median seconds, files/s and CPU seconds of\n"
"each, and flags-uring's speed-ups (time_other / time_flags); target:\n"
"flags-uring >= %.1fx aria2c.\n"
"\n"
"  -j, --json              one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick             smoke run: 200 files, 1 run\n"
"  -r, --runs N            runs per system (default 5), medians reported\n"
"  -n, --files N           files, 1 to %d (default 1000): what\n"
"                          flags-server --generate N writes, 1.0-2.8 KB each\n"
"  -c, --concurrency LIST  downloads at once, 1 to %d (default 20; a list\n"
"                          such as 20,100 measures each)\n"
"      --systems LIST      any of flags-uring,flags-epoll,aria2c,curl\n"
"                          (default all four)\n"
"      --outdir DIR        where the clients write (a new directory in DIR;\n"
"                          default /dev/shm when it is a tmpfs, else /tmp)\n"
"      --keep              keep the temporary directories (files,\n"
"                          nginx.conf, URL lists, the clients' logs)\n"
"  -h, --help              this text\n"
"\n"
"Needs build/apps/flags and flags-server beside this program (make), and\n"
"%s (without it the bench is skipped with a note). A missing aria2c\n"
"or curl is skipped with a note. Every run's files are counted and\n"
"compared with the site's, byte for byte; a failed run is an error (exit\n"
"1). nginx runs on the first allowed CPU, the clients on the second.\n"
"curl caps --parallel-max at %d.\n",
		TARGET_ARIA2, MAX_FILES, MAX_CONCUR, NGINX,
		CURL_MAX_PARALLEL);
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
			bu_bad_usage("--systems: unknown system '%s' (any of "
				     "flags-uring,flags-epoll,aria2c,curl)",
				     tok);
		cfg.use[i] = true;
	}
	for (int i = 0; i < NSYS; i++)
		if (cfg.use[i])
			return;
	bu_bad_usage("--systems: empty list");
}

/* A system left out, said on stderr and, for the report, as a row. */
static void skip(int sys, const char *why)
{
	fprintf(stderr, "download: %s: %s is left out\n", why, sys_name[sys]);
	bu_text_row("env", sys_name[sys], "skipped", why);
	cfg.use[sys] = false;
}

/* The file system type of path, by name where it is a common one. */
static void fs_name(const char *path, char *out, size_t cap)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		snprintf(out, cap, "unknown");
	else if (sf.f_type == TMPFS_MAGIC)
		snprintf(out, cap, "tmpfs");
	else if (sf.f_type == EXT4_SUPER_MAGIC)
		snprintf(out, cap, "ext4");
	else if (sf.f_type == XFS_SUPER_MAGIC)
		snprintf(out, cap, "xfs");
	else if (sf.f_type == BTRFS_SUPER_MAGIC)
		snprintf(out, cap, "btrfs");
	else
		snprintf(out, cap, "fs 0x%lx", (unsigned long)sf.f_type);
}

/* The temporary directories and the paths in them. */
static void make_dirs(void)
{
	struct statfs sf;

	snprintf(tmp, sizeof(tmp), "/tmp/coreio-bench-download-XXXXXX");
	/* Readable by all: nginx's worker, started as root, is "nobody". */
	if (!mkdtemp(tmp) || chmod(tmp, 0755) < 0)
		bu_die("mkdtemp /tmp", -errno);
	snprintf(site, sizeof(site), "%s/site", tmp);
	snprintf(urls, sizeof(urls), "%s/urls.txt", tmp);
	snprintf(curlcfg, sizeof(curlcfg), "%s/curl.cfg", tmp);
	snprintf(logdir, sizeof(logdir), "%s/logs", tmp);
	if (mkdir(logdir, 0755) < 0)
		bu_die(logdir, -errno);
	if (!cfg.outbase && statfs("/dev/shm", &sf) == 0 &&
	    sf.f_type == TMPFS_MAGIC && access("/dev/shm", W_OK) == 0)
		cfg.outbase = "/dev/shm";
	if (cfg.outbase) {
		snprintf(outtmp, sizeof(outtmp),
			 "%s/coreio-bench-download-XXXXXX", cfg.outbase);
		if (!mkdtemp(outtmp))
			bu_die(outtmp, -errno);
		snprintf(outdir, sizeof(outdir), "%s/out", outtmp);
	} else {
		snprintf(outdir, sizeof(outdir), "%s/out", tmp);
	}
	fs_name(outtmp[0] ? outtmp : tmp, outfs, sizeof(outfs));
}

enum { OPT_SYSTEMS = 256, OPT_OUTDIR, OPT_KEEP };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "files", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "systems", required_argument, NULL, OPT_SYSTEMS },
		{ "outdir", required_argument, NULL, OPT_OUTDIR },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct series fig[MAX_CONCS][NSYS];
	bool runs_set = false, files_set = false, quick = false;
	struct sigaction sa = { .sa_handler = on_alarm };
	int cpus[256], ncpus, c;
	struct rlimit rl;
	struct result res;
	char self[4096];
	struct stat st;
	ssize_t n;

	bu.prog = "download";
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:n:c:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			bu.json = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'r':
			cfg.runs = (unsigned)bu_parse_count("--runs", optarg, 1,
							    BU_MAX_REPS);
			runs_set = true;
			break;
		case 'n':
			cfg.files = bu_parse_count("--files", optarg, 1,
						   MAX_FILES);
			files_set = true;
			break;
		case 'c':
			cfg.nconcs = bl_parse_list("--concurrency", optarg,
						   cfg.concs, MAX_CONCS, 1,
						   MAX_CONCUR);
			break;
		case OPT_SYSTEMS:
			parse_systems(optarg);
			break;
		case OPT_OUTDIR:
			if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode) ||
			    strlen(optarg) > 1024)
				bu_bad_usage("--outdir: '%s' is not a "
					     "directory", optarg);
			cfg.outbase = optarg;
			break;
		case OPT_KEEP:
			cfg.keep = true;
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
	/* --quick sets what --runs and --files, wherever given, do not. */
	if (quick && !runs_set)
		cfg.runs = 1;
	if (quick && !files_set)
		cfg.files = 200;

	if (access(NGINX, X_OK) != 0) {
		fprintf(stderr, "download: %s is missing (apt-get install "
			"nginx): the download bench is skipped\n", NGINX);
		bu_text_row("env", "download", "skipped",
			    "nginx is not installed");
		return 0;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		bu_die("readlink /proc/self/exe", -errno);
	self[n] = '\0';
	app_path(self, "flags", flags_bin, sizeof(flags_bin));
	app_path(self, "flags-server", server_bin, sizeof(server_bin));
	if (access(server_bin, X_OK) != 0 ||
	    ((cfg.use[SYS_FLAGS_URING] || cfg.use[SYS_FLAGS_EPOLL]) &&
	     access(flags_bin, X_OK) != 0))
		fail("%s or %s is missing: build the apps (make)", flags_bin,
		     server_bin);
	if (cfg.use[SYS_ARIA2C] &&
	    !find_program("aria2c", aria2c_bin, sizeof(aria2c_bin)))
		skip(SYS_ARIA2C, "aria2c is not installed (apt-get install "
		     "aria2)");
	if (cfg.use[SYS_CURL] &&
	    !find_program("curl", curl_bin, sizeof(curl_bin)))
		skip(SYS_CURL, "curl is not installed");
	if (!cfg.use[0] && !cfg.use[1] && !cfg.use[2] && !cfg.use[3]) {
		fprintf(stderr, "download: no system left to measure\n");
		return 0;
	}

	/* Every client may hold -c sockets and files at once; nginx its
	 * worker_connections. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ncpus = bl_allowed_cpus(cpus, 256);
	ncpus_online = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus >= 2) {
		cpu_server = cpus[0];
		cpu_client = cpus[1];
	}
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	make_dirs();
	generate();
	load_files();
	start_nginx();
	write_lists();
	/* The clients inherit this process's CPU (see run_client()). */
	pin_to(cpu_client);

	/* One unmeasured run each: binaries, libraries and files warm. */
	for (int s = 0; s < NSYS; s++)
		if (cfg.use[s])
			run_client(s, cfg.concs[0], -1, &res);
	if (!bu.json)
		table_header();
	for (unsigned k = 0; k < cfg.nconcs; k++) {
		for (unsigned r = 0; r < cfg.runs; r++) {
			for (int i = 0; i < NSYS; i++) {
				int s = (int)((unsigned)i + r) % NSYS;
				if (!cfg.use[s])
					continue;
				measure(s, cfg.concs[k], (int)r, &res);
				bl_add(&fig[k][s].secs, res.secs);
				bl_add(&fig[k][s].fps,
				       (double)nfiles / res.secs);
				bl_add(&fig[k][s].cpu, res.cpu);
				bl_add(&fig[k][s].others, res.others);
			}
		}
		report(cfg.concs[k], fig[k]);
	}
	report_env(ncpus);
	return 0;
}
