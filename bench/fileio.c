/* bench/fileio — the same file read/write loop on io_uring and on epoll
 * (where file operations run on the executor, a thread pool), side by
 * side.
 *
 * A test file of --size bytes (default 1 GiB) is written once with plain
 * pwrite() into --dir (default: the current directory; not /tmp, which
 * may be tmpfs and would then measure memory), fsync'ed, and removed at
 * exit unless --keep. Each measurement creates a loop with
 * cio_loop_opts.backend = URING or EPOLL, opens the file with cio_open()
 * and runs `qd` tasks that each loop on cio_read() (or cio_write()):
 *
 *   seq_read_128k_qd1   one task reads the whole file in 128 KiB chunks
 *   seq_read_128k_qd4   4 tasks take the next 128 KiB chunk in turn
 *   rand_read_4k_qd32   32 tasks read 4 KiB at random 4 KiB-aligned
 *                       offsets for --duration seconds: the blocks of
 *                       the file in a random permutation, taken in turn,
 *                       so no block is read twice in a run (the file is
 *                       opened with POSIX_FADV_RANDOM: no readahead)
 *   seq_write_128k_qd1  one task overwrites the first min(size, 256 MiB)
 *                       in 128 KiB chunks (buffered: into the page cache;
 *                       the fsync that follows is not timed)
 *
 * Read cases run "cold" (posix_fadvise(POSIX_FADV_DONTNEED) on the whole
 * file before each run, checked with mincore(): reads reach the device)
 * and "cached" (the whole file resident first: the cost of the I/O path
 * itself). --direct opens with O_DIRECT instead (buffers from
 * cio_aligned_alloc()), and the cached cases are left out. On a virtual
 * disk the host may cache the file too: "cold" then means the guest's
 * page cache only, and the device is as fast as the host's memory path.
 *
 * Each case runs once per backend as a warm-up (not counted), then
 * --runs times per backend, alternating which goes first;
 * reported: the medians (MB/s for sequential cases, IOPS for random),
 * the process CPU time per operation (loop, executor threads and io_uring
 * workers alike), and the median of the per-run ratios uring/epoll.
 * Target: rand_read_4k_qd32 (cold) uring/epoll >= 1.5.
 *
 * On epoll, at most as many reads are in flight as the executor has
 * threads (default min(32, CPUs + 4)); --threads changes that.
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench_load.h"
#include "coreio.h"

#define SEQ_BS (128 * 1024)
#define RAND_BS 4096
#define WRITE_MAX (256ll << 20)

static struct config {
	int64_t size;
	const char *dir;
	bool direct, keep, quick, cached;
	unsigned runs;
	double duration;
	unsigned threads; /* executor threads, 0: its default */
	const char *only; /* comma-separated case names, NULL: all */
} cfg;

/* --only: is `name` in the list? */
static bool selected(const char *name)
{
	size_t l = strlen(name);
	const char *p = cfg.only;

	if (!p)
		return true;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == l && strncmp(p, name, l) == 0)
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

static char g_path[4096];
static int g_fd = -1; /* the parent's own descriptor, for fadvise/mincore */

/* -- the cases ------------------------------------------------------------ */

enum kind { SEQ_READ, RAND_READ, SEQ_WRITE };

struct fcase {
	const char *name;
	enum kind kind;
	size_t bs;
	unsigned qd;
	bool cached;
	double target; /* uring/epoll at least this; 0: none */
};

static const struct fcase cases[] = {
	{ "seq_read_128k_qd1", SEQ_READ, SEQ_BS, 1, false, 0 },
	{ "seq_read_128k_qd4", SEQ_READ, SEQ_BS, 4, false, 0 },
	{ "rand_read_4k_qd32", RAND_READ, RAND_BS, 32, false, 1.5 },
	{ "seq_read_128k_qd1_cached", SEQ_READ, SEQ_BS, 1, true, 0 },
	{ "seq_read_128k_qd4_cached", SEQ_READ, SEQ_BS, 4, true, 0 },
	{ "rand_read_4k_qd32_cached", RAND_READ, RAND_BS, 32, true, 0 },
	{ "seq_write_128k_qd1", SEQ_WRITE, SEQ_BS, 1, false, 0 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* -- one measurement (a loop, a file, qd tasks) --------------------------- */

struct fjob {
	const struct fcase *c;
	int fd;
	int64_t len;      /* bytes covered by a sequential case */
	int64_t cursor;   /* next sequential offset */
	uint64_t pick;    /* random: next index into g_perm */
	int64_t deadline; /* random: stop issuing after this */
	uint64_t ops, bytes;
	int err;
	int64_t t0, t1;
};

struct worker {
	struct fjob *j;
	void *buf;
};

/* The 4 KiB blocks of the file in a random order: random reads take them
 * in turn, so a run reads no block twice (every cold read misses the
 * cache) until it has read them all. Each run starts at another place;
 * both backends read the same blocks in a run. */
static uint32_t *g_perm;
static uint64_t g_nperm;

/* Move all of [off, off + len), as cio_read_all/cio_write_all do, but
 * counting each system-level operation. */
static int xfer(struct fjob *j, char *buf, size_t len, int64_t off)
{
	while (len) {
		ssize_t r = j->c->kind == SEQ_WRITE
				    ? cio_write(j->fd, buf, len, off,
						CIO_NO_DEADLINE)
				    : cio_read(j->fd, buf, len, off,
					       CIO_NO_DEADLINE);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO; /* the file is shorter than it was */
		j->ops++;
		j->bytes += (uint64_t)r;
		buf += r;
		off += r;
		len -= (size_t)r;
	}
	return 0;
}

static intptr_t worker_task(void *arg)
{
	struct worker *w = arg;
	struct fjob *j = w->j;
	size_t bs = j->c->bs;
	int rc = 0;

	while (!j->err) {
		int64_t off;
		if (j->c->kind == RAND_READ) {
			if (cio_loop_time() >= j->deadline)
				break;
			off = (int64_t)g_perm[j->pick++ % g_nperm] *
			      RAND_BS;
		} else {
			off = j->cursor;
			if (off >= j->len)
				break;
			j->cursor += (int64_t)bs;
		}
		if ((rc = xfer(j, w->buf, bs, off)) < 0)
			j->err = rc;
	}
	return 0;
}

static intptr_t main_task(void *arg)
{
	struct fjob *j = arg;
	const struct fcase *c = j->c;
	struct worker w[64] = { { 0 } };
	cio_task *t[64];
	int flags = (c->kind == SEQ_WRITE ? O_WRONLY : O_RDONLY) |
		    (cfg.direct ? O_DIRECT : 0);
	unsigned n = 0;
	int rc = 0;

	if ((j->fd = cio_open(g_path, flags, 0)) < 0)
		return j->fd;
	if (c->kind == RAND_READ)
		posix_fadvise(j->fd, 0, 0, POSIX_FADV_RANDOM);
	for (unsigned i = 0; i < c->qd; i++) {
		w[i].j = j;
		if (!(w[i].buf = cio_aligned_alloc(c->bs))) {
			rc = -ENOMEM;
			goto out;
		}
		memset(w[i].buf, 'a' + (int)(i % 26), c->bs);
	}
	j->deadline = cio_loop_time() + (int64_t)(cfg.duration * 1e9);
	j->t0 = bu_now_ns();
	for (n = 0; n < c->qd; n++)
		if ((rc = cio_spawn(&t[n], worker_task, &w[n], NULL)) < 0) {
			j->err = rc; /* the others stop at once */
			break;
		}
	for (unsigned i = 0; i < n; i++) {
		cio_await_task(t[i]);
		cio_task_unref(t[i]);
	}
	j->t1 = bu_now_ns();
out:
	for (unsigned i = 0; i < c->qd; i++)
		if (w[i].buf)
			cio_aligned_free(w[i].buf);
	cio_close(j->fd);
	return rc < 0 ? rc : j->err;
}

struct result {
	double rate;    /* MB/s or IOPS */
	double cpu_us;  /* process CPU time per operation */
	uint64_t ops;
};

static char env_backend[BL_NSYS][200];

static void measure(int sys, const struct fcase *c, unsigned run,
		    struct result *res)
{
	struct cio_loop_opts o = { .backend = bl_sys_backend[sys] };
	struct fjob j = { .c = c };
	cio_loop *loop;
	cio_task *t;
	intptr_t r;
	int64_t cpu0, cpu1;
	struct timespec ts;
	double secs;

	j.len = c->kind == SEQ_WRITE && cfg.size > WRITE_MAX ? WRITE_MAX
							     : cfg.size;
	j.pick = (uint64_t)run * (g_nperm / 5 + 1);
	BU_CHECK(cio_loop_new(&loop, &o), bl_sys_name[sys]);
	if (!env_backend[sys][0])
		snprintf(env_backend[sys], sizeof(env_backend[sys]), "%s %s",
			 cio_loop_backend_name(loop),
			 cio_loop_backend_flags(loop));
	BU_CHECK(cio_spawn(&t, main_task, &j, NULL), "cio_spawn");
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cpu0 = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	r = cio_loop_run_until_complete(loop, cio_task_future(t));
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cpu1 = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	cio_task_unref(t);
	cio_loop_free(loop);
	if (r < 0) {
		fprintf(stderr, "fileio: %s on %s: %s\n", c->name,
			bl_sys_name[sys], strerror((int)-r));
		exit(1);
	}
	secs = (double)(j.t1 - j.t0) / 1e9;
	res->ops = j.ops;
	res->rate = c->kind == RAND_READ ? (double)j.ops / secs
					 : (double)j.bytes / 1e6 / secs;
	/* Includes opening and closing, which are a few operations. */
	res->cpu_us = j.ops ? (double)(cpu1 - cpu0) / 1e3 / (double)j.ops : 0;
}

/* -- the test file -------------------------------------------------------- */

static void remove_file(void)
{
	if (g_path[0] && !cfg.keep)
		unlink(g_path);
}

static void on_signal(int sig)
{
	remove_file();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void create_file(void)
{
	const size_t chunk = 1 << 20;
	char *buf = bu_xmalloc(chunk);
	uint64_t *p = (uint64_t *)buf;

	snprintf(g_path, sizeof(g_path), "%s/coreio-fileio-%ld.dat", cfg.dir,
		 (long)getpid());
	g_fd = open(g_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (g_fd < 0) {
		fprintf(stderr, "fileio: cannot create %s: %s\n", g_path,
			strerror(errno));
		g_path[0] = 0;
		exit(1);
	}
	atexit(remove_file);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int64_t off = 0; off < cfg.size; off += (int64_t)chunk) {
		size_t n = (size_t)(cfg.size - off) < chunk
				   ? (size_t)(cfg.size - off)
				   : chunk;
		for (size_t i = 0; i < chunk / 8; i++)
			p[i] = bu_rng();
		if (pwrite(g_fd, buf, n, off) != (ssize_t)n) {
			fprintf(stderr, "fileio: writing %s: %s\n", g_path,
				errno ? strerror(errno) : "short write");
			exit(1);
		}
	}
	if (fsync(g_fd) < 0)
		bu_die("fsync", -errno);
	free(buf);
}

/* Fraction of the file in the page cache. */
static double resident(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t npages = (size_t)(cfg.size + (int64_t)pg - 1) / pg, in = 0;
	unsigned char *vec;
	void *m;

	m = mmap(NULL, (size_t)cfg.size, PROT_READ, MAP_SHARED, g_fd, 0);
	if (m == MAP_FAILED)
		return -1;
	vec = bu_xmalloc(npages);
	if (mincore(m, (size_t)cfg.size, vec) == 0)
		for (size_t i = 0; i < npages; i++)
			in += vec[i] & 1;
	munmap(m, (size_t)cfg.size);
	free(vec);
	return (double)in / (double)npages;
}

static void drop_cache(void)
{
	double r;

	fdatasync(g_fd);
	posix_fadvise(g_fd, 0, 0, POSIX_FADV_DONTNEED);
	if ((r = resident()) > 0.01)
		fprintf(stderr,
			"fileio: warning: %.0f%% of the file still cached "
			"after POSIX_FADV_DONTNEED\n",
			100 * r);
}

static void warm_cache(void)
{
	const size_t chunk = 1 << 20;
	char *buf;

	if (resident() >= 0.999)
		return;
	buf = bu_xmalloc(chunk);
	for (int64_t off = 0; off < cfg.size; off += (int64_t)chunk)
		if (pread(g_fd, buf, chunk, off) < 0)
			bu_die("pread", -errno);
	free(buf);
}

/* The page cache as the case wants it. */
static void prepare(const struct fcase *c)
{
	if (c->kind == SEQ_WRITE)
		fdatasync(g_fd); /* the previous run's writes, not timed */
	else if (c->cached)
		warm_cache();
	else
		drop_cache();
}

/* -- report --------------------------------------------------------------- */

struct case_res {
	struct bl_series rate[BL_NSYS], cpu[BL_NSYS];
};

static const char *unit_of(const struct fcase *c)
{
	return c->kind == RAND_READ ? "IOPS" : "MB/s";
}

static const char *metric_of(const struct fcase *c)
{
	return c->kind == RAND_READ ? "iops" : "mb_per_s";
}

static void report_json(const struct fcase *c, const struct case_res *cr)
{
	struct bl_series ratio;
	struct bu_stats st;
	char tgt[16];

	for (int s = 0; s < BL_NSYS; s++) {
		st = bl_stats(&cr->rate[s]);
		bu_row(c->name, bl_sys_name[s], metric_of(c), &st, 0,
		       unit_of(c), NULL, BU_NO_TARGET);
		st = bl_stats(&cr->cpu[s]);
		bu_row(c->name, bl_sys_name[s], "cpu_us_per_op", &st, 0, "us",
		       NULL, BU_NO_TARGET);
	}
	ratio = bl_ratios(&cr->rate[BL_URING], &cr->rate[BL_EPOLL]);
	st = bl_stats(&ratio);
	snprintf(tgt, sizeof(tgt), ">= %.2f", c->target);
	bu_row(c->name, "uring/epoll", metric_of(c), &st, 0, "ratio",
	       c->target > 0 ? tgt : NULL,
	       c->target <= 0		? BU_NO_TARGET
	       : st.median >= c->target ? BU_PASS
					: BU_MISS);
	ratio = bl_ratios(&cr->cpu[BL_URING], &cr->cpu[BL_EPOLL]);
	st = bl_stats(&ratio);
	bu_row(c->name, "uring/epoll", "cpu_us_per_op", &st, 0, "ratio",
	       NULL, BU_NO_TARGET);
}

static void table_header(void)
{
	printf("\n%-26s %5s %10s %10s %6s %8s %4s | %9s %9s | %s\n", "case",
	       "unit", "uring", "epoll", "ratio", "target", "met",
	       "uring cpu", "epoll cpu", "range uring / epoll");
	printf("%-26s %5s %10s %10s %6s %8s %4s | %9s %9s |\n", "", "", "", "",
	       "", "", "", "us/op", "us/op");
}

static void report_table(const struct fcase *c, const struct case_res *cr)
{
	struct bl_series ratio = bl_ratios(&cr->rate[BL_URING],
					   &cr->rate[BL_EPOLL]);
	struct bu_stats u = bl_stats(&cr->rate[BL_URING]),
			e = bl_stats(&cr->rate[BL_EPOLL]);
	double r = bl_median(&ratio);
	char tgt[16] = "-";

	if (c->target > 0)
		snprintf(tgt, sizeof(tgt), ">= %.2f", c->target);
	printf("%-26s %5s %10.0f %10.0f %6.2f %8s %4s | %9.2f %9.2f | "
	       "%.0f..%.0f / %.0f..%.0f\n",
	       c->name, unit_of(c), u.median, e.median, r, tgt,
	       c->target <= 0 ? "-" : r >= c->target ? "yes" : "NO",
	       bl_median(&cr->cpu[BL_URING]), bl_median(&cr->cpu[BL_EPOLL]),
	       u.min, u.max, e.min, e.max);
	fflush(stdout);
}

/* -- options and main ----------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: fileio [options]\n"
"File reads (and one write loop) through coreio on io_uring and on epoll\n"
"(where file I/O runs on the executor's threads), side by side: MB/s for\n"
"sequential 128 KiB reads at queue depth 1 and 4, IOPS for random 4 KiB\n"
"reads at queue depth 32, each with the page cache dropped (cold) and\n"
"with the file cached; medians of --runs, ratio uring/epoll.\n"
"\n"
"  -j, --json           one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick          smoke run: 64 MiB file, 0.2 s random runs, 1 run\n"
"  -r, --runs N         runs per case and backend, 1..%d (default 3)\n"
"  -s, --size BYTES     test file size, K/M/G suffixes (binary; default\n"
"                       1G, quick 64M); a multiple of 128 KiB\n"
"  -d, --dir DIR        where to create the test file (default: the\n"
"                       current directory). Not /tmp: on tmpfs there is\n"
"                       no device and 'cold' reads are memory reads\n"
"      --duration SEC   length of each random-read run (default 1)\n"
"      --direct         O_DIRECT (no page cache; cached cases skipped)\n"
"      --no-cached      skip the cached cases\n"
"      --threads N      executor threads for epoll (default: the\n"
"                       executor's own, min(32, CPUs + 4))\n"
"      --only LIST      comma-separated case names (default: all)\n"
"      --keep           leave the test file in place at exit\n"
"  -h, --help           this text\n",
		BU_MAX_REPS);
}

static int64_t parse_size(const char *opt, const char *s)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		bu_bad_usage("%s: not a size: '%s'", opt, s);
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (errno || *end || v < SEQ_BS || v > (1ull << 40) || v % SEQ_BS)
		bu_bad_usage("%s: expected a multiple of 128 KiB between "
			     "128K and 1T, got '%s'",
			     opt, s);
	return (int64_t)v;
}

enum {
	OPT_DURATION = 256,
	OPT_DIRECT,
	OPT_NO_CACHED,
	OPT_THREADS,
	OPT_KEEP,
	OPT_ONLY,
};

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "no-cached", no_argument, NULL, OPT_NO_CACHED },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double duration = -1;
	long runs = -1;
	int64_t size = -1;
	int c;

	cfg.dir = ".";
	cfg.cached = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:s:d:h", longopts, NULL)) !=
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
		case 's':
			size = parse_size("--size", optarg);
			break;
		case 'd':
			cfg.dir = optarg;
			break;
		case OPT_DURATION:
			duration = bl_parse_seconds("--duration", optarg, 0.01,
						    3600);
			break;
		case OPT_DIRECT:
			cfg.direct = true;
			break;
		case OPT_NO_CACHED:
			cfg.cached = false;
			break;
		case OPT_THREADS:
			cfg.threads = (unsigned)bu_parse_count(
				"--threads", optarg, 1,
				CIO_EXECUTOR_MAX_THREADS);
			break;
		case OPT_KEEP:
			cfg.keep = true;
			break;
		case OPT_ONLY:
			cfg.only = optarg;
			break;
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
	cfg.size = size > 0 ? size : cfg.quick ? 64ll << 20 : 1ll << 30;
	cfg.duration = duration > 0 ? duration : cfg.quick ? 0.2 : 1.0;
	if (cfg.direct)
		cfg.cached = false;
	if (cfg.only) {
		char buf[512], *save = NULL, *tok;
		snprintf(buf, sizeof(buf), "%s", cfg.only);
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			size_t i;
			for (i = 0; i < NCASES; i++)
				if (strcmp(tok, cases[i].name) == 0)
					break;
			if (i == NCASES)
				bu_bad_usage("--only: unknown case '%s'", tok);
		}
	}
}

/* The file system under --dir, for the record. */
static void describe_dir(char *out, size_t n)
{
	char line[1024], real[4096], best[256] = "?", mnt[4096], fs[64];
	size_t bestlen = 0;
	FILE *f;

	if (!realpath(cfg.dir, real) || !(f = fopen("/proc/mounts", "re"))) {
		snprintf(out, n, "?");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char dev[1024];
		size_t l;
		if (sscanf(line, "%1023s %4095s %63s", dev, mnt, fs) != 3)
			continue;
		l = strlen(mnt);
		if (strncmp(real, mnt, l) == 0 &&
		    (real[l] == '/' || real[l] == 0 || l == 1) &&
		    l >= bestlen) {
			bestlen = l;
			snprintf(best, sizeof(best), "%.20s on %.150s (%.60s)",
				 fs, mnt, dev);
		}
	}
	fclose(f);
	snprintf(out, n, "%.240s: %.250s", real, best);
}

int main(int argc, char **argv)
{
	struct case_res *res;
	struct cio_executor_stats xs;
	char text[512];
	int64_t t0 = bu_now_ns(), tc;

	bu.prog = "fileio";
	parse_args(argc, argv);
	if (cfg.threads) {
		struct cio_executor_opts xo = { .threads = cfg.threads };
		BU_CHECK(cio_executor_configure_default(&xo),
			 "cio_executor_configure_default");
	}
	describe_dir(text, sizeof(text));
	if (strstr(text, "(tmpfs)"))
		fprintf(stderr,
			"fileio: warning: %s is tmpfs: 'cold' reads will not "
			"reach a device (use --dir)\n",
			cfg.dir);
	create_file();
	g_nperm = (uint64_t)cfg.size / RAND_BS;
	g_perm = bu_random_perm(g_nperm);
	tc = bu_now_ns();
	if (!bu.json) {
		printf("fileio: %lld MiB file in %s, written in %.1f s; %u "
		       "runs per case and backend; medians, ratio = median "
		       "of per-run uring/epoll\n",
		       (long long)(cfg.size >> 20), text,
		       (double)(tc - t0) / 1e9, cfg.runs);
		table_header();
	}

	res = calloc(NCASES, sizeof(*res));
	if (!res)
		bu_die("calloc", -ENOMEM);
	for (size_t i = 0; i < NCASES; i++) {
		const struct fcase *c = &cases[i];
		if ((c->cached && !cfg.cached) || !selected(c->name))
			continue;
		/* Run -1 is the warm-up of each backend, not counted. */
		for (int r = -1; r < (int)cfg.runs; r++) {
			for (int pos = 0; pos < BL_NSYS; pos++) {
				int sys = bl_order((unsigned)(r + 1), pos);
				struct result m;
				prepare(c);
				measure(sys, c, (unsigned)(r + 1), &m);
				if (r < 0)
					continue;
				bl_add(&res[i].rate[sys], m.rate);
				bl_add(&res[i].cpu[sys], m.cpu_us);
			}
		}
		if (bu.json)
			report_json(c, &res[i]);
		else
			report_table(c, &res[i]);
	}

	if (!bu.json)
		printf("\nMB/s = 10^6 bytes/s; cpu = process CPU time per "
		       "read/write (loop thread, executor threads, io_uring "
		       "workers)\n\n");
	for (int s = 0; s < BL_NSYS; s++)
		bu_text_row("env", bl_sys_name[s], "backend", env_backend[s]);
	if (cio_executor_stats(NULL, &xs) == 0) {
		snprintf(text, sizeof(text), "%u threads max, %u started",
			 xs.max_threads, xs.threads);
		bu_text_row("env", "epoll", "executor", text);
	}
	describe_dir(text, sizeof(text));
	bu_text_row("env", "fileio", "dir", text);
	snprintf(text, sizeof(text), "%lld MiB%s%s", (long long)(cfg.size >> 20),
		 cfg.direct ? ", O_DIRECT" : ", buffered",
		 cfg.keep ? ", kept" : "");
	bu_text_row("env", "fileio", "file", text);
	snprintf(text, sizeof(text), "median of %u; random runs %.2f s",
		 cfg.runs, cfg.duration);
	bu_text_row("env", "fileio", "runs", text);
	bu_row("env", "fileio", "create_s", NULL, (double)(tc - t0) / 1e9,
	       "s", NULL, BU_NO_TARGET);
	bu_row("env", "fileio", "wall_s", NULL,
	       (double)(bu_now_ns() - t0) / 1e9, "s", NULL, BU_NO_TARGET);
	if (cfg.keep && !bu.json)
		printf("kept %s\n", g_path);
	free(res);
	free(g_perm);
	return 0;
}
