/* bench/copy — copying one big file and a tree of small files: coreio-cp
 * on io_uring and on epoll against GNU cp, with dd and fio as the
 * direct-I/O peers, side by side in one run.
 *
 * Cases (--only picks some; the names follow --size, --files and
 * --file-size):
 *
 *   file_1G         one --size file (default 1 GiB): `coreio-cp SRC DST`
 *                   with CIO_BACKEND=uring and =epoll, `cp SRC DST`, and
 *                   fio as the device's ceiling
 *   tree_10k_4K     --files files (default 10,000) of --file-size bytes
 *                   (4 KiB) in directories of --per-dir (100) each:
 *                   `coreio-cp -r` on both backends against `cp -r`
 *   file_1G_direct  `coreio-cp --direct` on both backends; cp has no
 *                   direct mode and runs as it is (through the page
 *                   cache); `dd iflag=direct oflag=direct bs=1M` is the
 *                   direct-I/O peer, fio the ceiling
 *
 * fio-io_uring is one fio run of two jobs at once, a sequential read of
 * the source and a sequential write of a new file of the same size
 * (ioengine io_uring, bs 128k, iodepth 8, direct): what the device gives
 * a copy when nothing but I/O is done. Its time is fio's own runtime
 * (the longer job), so fio's start-up is not counted against it.
 *
 * Method. Every run of every system starts from the same state: no
 * destination (see "Where the trees go"), everything synced, and the page
 * cache, dentries and inodes dropped (sync; echo 3 >
 * /proc/sys/vm/drop_caches: root only; where that fails the run says so
 * and its cases are labelled "_warm").
 * The program about to run is then started once with --help, untimed,
 * so that paging in its binary and libraries is not part of a copy's
 * time. The time is the wall time from fork to the child's exit; the
 * dirty pages a buffered copy leaves behind are written back after it,
 * untimed, as a user of cp does not wait for them either. --runs runs
 * (default 3), each running every system once, the order rotated from
 * run to run so that a drift of the machine hits all alike.
 *
 * Reported: medians of wall time, MB/s (10^6 bytes of data per second)
 * and the child's CPU time (user + system of it, its threads and the
 * children it waited for); and the medians of the per-run ratios: a
 * speed-up "a/b" is time(b) / time(a), "coreio-x/fio" the share of the
 * ceiling reached. Targets (issue 8): tree copy coreio-uring >= 3x
 * cp -r; file copy coreio-uring >= 1.0x cp.
 *
 * No copy counts before it is checked: after every run the size (for a
 * tree: the count of files and directories and every file's size) and a
 * sample of its contents; the first run of each system compares every
 * byte. Source contents are a function of the offset (and file number),
 * so a check regenerates them instead of reading the source back.
 *
 * Where the trees go. On ext4 without a journal (as on the reference
 * VM) the inode allocator avoids the inodes deleted in the last minutes
 * (up to 6 while their table block is dirty) and, on every create, scans
 * past them from the start of the block group. A tree copied into the
 * group where the previous run's 10,000 files were just deleted pays
 * that scan for each file: about 0.5 s more per copy, for every tool
 * alike, a cost of the benchmark's own clean-up, not of copying. And a
 * group just emptied is where ext4 puts the next new tree (the one with
 * the fewest directories). So a file copy is deleted after its run, but
 * a tree copy is moved aside (into DIR/coreio-copy-PID/trash, synced)
 * and the trash is deleted after the case's last run; the work directory
 * is marked TOPDIR (chattr +T, where the file system knows it), so that
 * a directory made in it is placed like a top-level one, from a hash of
 * its name, and every run's tree copy gets a name of its own (PID and
 * run number). Running the benchmark again within minutes can still meet
 * the previous run's deleted inodes.
 *
 * Memory. On a VM whose balloon hands free memory back to the host
 * (virtio-balloon free page reporting, as on the reference VM), the
 * gigabytes a cache drop frees are returned within seconds, and the next
 * copy then takes a host page fault on every page it puts in the page
 * cache: 1 GiB copied in 3.9 s instead of 0.6 s, by whichever tool runs
 * at that moment (after a direct-I/O run, or first). So after each drop
 * the memory the copy will use (twice the data, plus 64 MiB) is mapped
 * and touched once, untimed, and given back to the guest's allocator,
 * which hands those pages out first.
 *
 * Files live in DIR/coreio-copy-PID (--dir, default the current
 * directory; tmpfs is refused: there is no device under it), removed at
 * exit unless --keep.
 */
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_load.h"

#define FIO "/usr/bin/fio"
#define CHUNK (1u << 20)
#define SAMPLES 64 /* 4 KiB blocks checked in a file after every run */

enum { SYS_URING, SYS_EPOLL, SYS_CP, SYS_DD, SYS_FIO, NSYS };
static const char *const sys_name[NSYS] = {
	"coreio-uring", "coreio-epoll", "cp", "dd-direct", "fio-io_uring"
};

enum kind { K_FILE, K_TREE, K_DIRECT, NKINDS };
static const char *const kind_key[NKINDS] = { "file", "tree", "direct" };

/* A speed-up a/b (time b / time a), with its target if it has one. */
struct ratio {
	int a, b;
	const char *label, *metric;
	double target;
};

static const struct ratio ratios[NKINDS][8] = {
	[K_FILE] = {
		{ SYS_URING, SYS_CP, "coreio-uring/cp", "speedup", 1.0 },
		{ SYS_EPOLL, SYS_CP, "coreio-epoll/cp", "speedup", 0 },
		{ SYS_URING, SYS_EPOLL, "uring/epoll", "speedup", 0 },
		{ SYS_URING, SYS_FIO, "coreio-uring/fio", "of_ceiling", 0 },
		{ SYS_EPOLL, SYS_FIO, "coreio-epoll/fio", "of_ceiling", 0 },
	},
	[K_TREE] = {
		{ SYS_URING, SYS_CP, "coreio-uring/cp", "speedup", 3.0 },
		{ SYS_EPOLL, SYS_CP, "coreio-epoll/cp", "speedup", 0 },
		{ SYS_URING, SYS_EPOLL, "uring/epoll", "speedup", 0 },
	},
	[K_DIRECT] = {
		{ SYS_URING, SYS_CP, "coreio-uring/cp", "speedup", 0 },
		{ SYS_EPOLL, SYS_CP, "coreio-epoll/cp", "speedup", 0 },
		{ SYS_URING, SYS_EPOLL, "uring/epoll", "speedup", 0 },
		{ SYS_URING, SYS_DD, "coreio-uring/dd", "speedup", 0 },
		{ SYS_EPOLL, SYS_DD, "coreio-epoll/dd", "speedup", 0 },
		{ SYS_URING, SYS_FIO, "coreio-uring/fio", "of_ceiling", 0 },
		{ SYS_EPOLL, SYS_FIO, "coreio-epoll/fio", "of_ceiling", 0 },
	},
};

static struct config {
	int64_t size;      /* the big file */
	unsigned files;    /* files in the tree */
	unsigned per_dir;  /* files per directory of the tree */
	int64_t fsize;     /* size of each file of the tree */
	unsigned runs;
	const char *dir;
	bool keep, quick, demo;
	bool kind[NKINDS]; /* cases selected */
	bool have[NSYS];   /* peers found */
} cfg;

static char case_name[NKINDS][64];
static bool warm; /* the page cache could not be dropped */
static char warm_why[128];

/* Paths: the programs, the work directory and what is in it. */
static char cp_bin[PATH_MAX];
/* Bounded below PATH_MAX so that a name built on them always fits. */
#define WORK_MAX 3072
static char work[WORK_MAX], src_file[WORK_MAX + 32], dst_file[WORK_MAX + 32],
	src_tree[WORK_MAX + 32], dst_tree[WORK_MAX + 32],
	fio_out[WORK_MAX + 32], fio_json[WORK_MAX + 32],
	err_log[WORK_MAX + 32], trash[WORK_MAX + 32];
static unsigned tree_seq; /* tree copies made: each gets a name of its own */
static bool work_made;
static bool topdir; /* the work directory is marked TOPDIR */

/* -- contents ------------------------------------------------------------- */

/* splitmix64: word `i` of file `key` is a pure function of both, so a
 * check can regenerate any block of a source without reading it. */
static inline uint64_t word_at(uint64_t key, uint64_t i)
{
	uint64_t z = (key << 40) + i + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* `len` bytes of file `key` from `off` (a multiple of 8) into buf, which
 * has room for len rounded up to 8. */
static void fill(uint64_t key, int64_t off, void *buf, size_t len)
{
	uint64_t *w = buf, first = (uint64_t)off / 8;

	for (size_t i = 0; i < (len + 7) / 8; i++)
		w[i] = word_at(key, first + i);
}

static void write_source(const char *path, uint64_t key, int64_t size,
			 char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		bu_die(path, -errno);
	for (int64_t off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		fill(key, off, buf, n);
		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			bu_die(path, errno ? -errno : -EIO);
	}
	if (close(fd) < 0)
		bu_die(path, -errno);
}

/* A copy that is wrong ends the benchmark: its time would be a lie. */
__attribute__((format(printf, 2, 3), noreturn))
static void bad_copy(int sys, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "copy: the copy made by %s is wrong: ", sys_name[sys]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* Compare [off, off + len) of fd with file `key`'s contents. */
static void check_range(int sys, const char *path, int fd, uint64_t key,
			int64_t off, size_t len, char *got, char *want)
{
	ssize_t n = pread(fd, got, len, off);

	if (n != (ssize_t)len)
		bad_copy(sys, "%s: short read at %lld", path, (long long)off);
	fill(key, off, want, len);
	if (memcmp(got, want, len) != 0) {
		size_t i = 0;
		while (got[i] == want[i])
			i++;
		bad_copy(sys, "%s differs at byte %lld", path,
			 (long long)off + (long long)i);
	}
}

/* path must be a regular file of `size` bytes holding file `key`: every
 * byte if `full`, else SAMPLES blocks spread over it and its end. */
static void check_file(int sys, const char *path, uint64_t key, int64_t size,
		       bool full, char *got, char *want)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		bad_copy(sys, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size != size)
		bad_copy(sys, "%s: %lld bytes, expected %lld", path,
			 (long long)st.st_size, (long long)size);
	if (full) {
		for (int64_t off = 0; off < size; off += CHUNK)
			check_range(sys, path, fd, key, off,
				    size - off < CHUNK ? (size_t)(size - off)
						       : CHUNK,
				    got, want);
	} else {
		for (int i = 0; i <= SAMPLES; i++) {
			int64_t off = size / SAMPLES * i & ~(int64_t)4095;
			if (i == SAMPLES)
				off = size > 4096 ? (size - 4096) & ~7 : 0;
			if (off < size)
				check_range(sys, path, fd, key, off,
					    size - off < 4096
						    ? (size_t)(size - off)
						    : 4096,
					    got, want);
		}
	}
	close(fd);
}

/* -- the tree -------------------------------------------------------------- */

static void tree_path(char *out, size_t n, const char *root, unsigned k)
{
	snprintf(out, n, "%s/d%05u/f%07u", root, k / cfg.per_dir, k);
}

static unsigned tree_dirs(void)
{
	return (cfg.files + cfg.per_dir - 1) / cfg.per_dir;
}

static void make_tree(char *buf)
{
	char p[PATH_MAX];

	if (mkdir(src_tree, 0755) < 0)
		bu_die(src_tree, -errno);
	for (unsigned d = 0; d < tree_dirs(); d++) {
		snprintf(p, sizeof(p), "%s/d%05u", src_tree, d);
		if (mkdir(p, 0755) < 0)
			bu_die(p, -errno);
	}
	for (unsigned k = 0; k < cfg.files; k++) {
		tree_path(p, sizeof(p), src_tree, k);
		write_source(p, k + 1, cfg.fsize, buf);
	}
}

static unsigned long walk_files, walk_dirs, walk_other;

static int count_one(const char *p, const struct stat *st, int flag,
		     struct FTW *f)
{
	(void)p, (void)f;
	if (flag == FTW_D)
		walk_dirs++;
	else if (flag == FTW_F && S_ISREG(st->st_mode))
		walk_files++;
	else
		walk_other++;
	return 0;
}

/* Every file there with its size, nothing more (a temporary file left
 * behind counts as wrong); all contents if `full`, else the first file
 * of each directory. */
static void check_tree(int sys, bool full, char *got, char *want)
{
	char p[PATH_MAX];

	walk_files = walk_dirs = walk_other = 0;
	if (nftw(dst_tree, count_one, 16, FTW_PHYS) < 0)
		bad_copy(sys, "%s: %s", dst_tree, strerror(errno));
	if (walk_files != cfg.files || walk_dirs != tree_dirs() + 1 ||
	    walk_other)
		bad_copy(sys, "%s holds %lu files, %lu directories and %lu "
			 "other entries, expected %u files and %u directories",
			 dst_tree, walk_files, walk_dirs, walk_other,
			 cfg.files, tree_dirs() + 1);
	for (unsigned k = 0; k < cfg.files; k++) {
		bool content = full || k % cfg.per_dir == 0;
		struct stat st;
		tree_path(p, sizeof(p), dst_tree, k);
		if (content)
			check_file(sys, p, k + 1, cfg.fsize, true, got, want);
		else if (stat(p, &st) < 0 || st.st_size != cfg.fsize)
			bad_copy(sys, "%s: missing or not %lld bytes", p,
				 (long long)cfg.fsize);
	}
}

/* -- cleaning up ----------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st, (void)f;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

static void rm_tree(const char *p)
{
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* What a run leaves: its copies (a failed copy may leave a half). */
static void remove_outputs(void)
{
	unlink(dst_file);
	unlink(fio_out);
	rm_tree(dst_tree);
}

/* A checked tree copy goes out of the way, kept until the case ends
 * (see "Where the trees go" at the top). */
static void set_aside(void)
{
	char p[WORK_MAX + 64];

	if (mkdir(trash, 0755) < 0 && errno != EEXIST)
		bu_die(trash, -errno);
	snprintf(p, sizeof(p), "%s/%u", trash, tree_seq);
	if (rename(dst_tree, p) < 0)
		bu_die(dst_tree, -errno);
}

static pid_t child;

static void cleanup(void)
{
	if (child > 0)
		kill(child, SIGKILL);
	if (!work_made)
		return;
	remove_outputs();
	rm_tree(trash);
	unlink(fio_json);
	unlink(err_log);
	if (cfg.keep)
		return;
	unlink(src_file);
	rm_tree(src_tree);
	rmdir(work);
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_alarm(int sig)
{
	(void)sig;
	if (child > 0)
		kill(child, SIGKILL);
}

/* -- children -------------------------------------------------------------- */

struct outcome {
	double wall, cpu; /* seconds */
	int status;       /* wait status; -1: killed for taking too long */
};

/* Run argv (CIO_BACKEND=backend if given) with stdout to /dev/null and
 * stderr to err_log; wall time from fork to exit. */
static void run_child(char *const argv[], const char *backend,
		      unsigned timeout_s, struct outcome *o)
{
	struct rusage ru;
	int64_t t0, t1;
	int st, fd;
	pid_t r;

	fflush(NULL);
	t0 = bu_now_ns();
	if ((child = fork()) < 0)
		bu_die("fork", -errno);
	if (child == 0) {
		if (backend)
			setenv("CIO_BACKEND", backend, 1);
		if ((fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, 1);
		if ((fd = open(err_log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
		    0)
			dup2(fd, 2);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	alarm(timeout_s);
	while ((r = wait4(child, &st, 0, &ru)) < 0 && errno == EINTR)
		;
	t1 = bu_now_ns();
	alarm(0);
	child = 0;
	if (r < 0)
		bu_die("wait4", -errno);
	o->wall = (double)(t1 - t0) / 1e9;
	o->cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	o->status = WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? -1 : st;
}

static void show_err_log(void)
{
	char line[512];
	FILE *f = fopen(err_log, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

static bool err_log_empty(void)
{
	struct stat st;
	return stat(err_log, &st) < 0 || st.st_size == 0;
}

static void print_argv(char *const argv[])
{
	for (int i = 0; argv[i]; i++)
		fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
	fprintf(stderr, "\n");
}

/* -- one run of one system ------------------------------------------------- */

/* Everything written back, then caches dropped. The first failure is
 * remembered and the run goes on warm. */
static void drop_caches(void)
{
	int fd;

	sync();
	if (warm)
		return;
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		snprintf(warm_why, sizeof(warm_why), "%s", strerror(errno));
		warm = true;
		fprintf(stderr,
			"copy: cannot drop the page cache (/proc/sys/vm/"
			"drop_caches: %s; needs root): results are WARM, "
			"cases labelled _warm\n",
			warm_why);
	}
	if (fd >= 0)
		close(fd);
}

/* See "Memory" at the top: back `bytes` of guest memory again after a
 * cache drop (at most what is available, less 512 MiB). */
static void back_memory(double bytes)
{
	double avail = (double)sysconf(_SC_AVPHYS_PAGES) *
		       (double)sysconf(_SC_PAGESIZE);
	size_t n;
	void *p;

	if (bytes > avail - (512 << 20))
		bytes = avail - (512 << 20);
	if (bytes <= 0)
		return;
	n = (size_t)bytes;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p != MAP_FAILED)
		munmap(p, n);
}

static unsigned timeout_for(enum kind k)
{
	/* Generous: a device slower than 5 MB/s is not benchmarked here. */
	double bytes = k == K_TREE ? (double)cfg.files * (double)cfg.fsize
				   : (double)cfg.size;
	return 120 + (unsigned)(bytes / 5e6) + cfg.files / 100;
}

/* fio's runtime (ms) of the slower job: the largest "runtime" in its
 * JSON output (each job reports one for reads and one for writes). */
static double fio_runtime_ms(void)
{
	static const char key[] = "\"runtime\"";
	char *text, *p;
	double best = 0;
	long len;
	FILE *f = fopen(fio_json, "re");

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = bu_xmalloc((size_t)len + 1);
	len = (long)fread(text, 1, (size_t)len, f);
	text[len] = '\0';
	fclose(f);
	for (p = strstr(text, key); p; p = strstr(p + 1, key)) {
		char *q = p + sizeof(key) - 1;
		double v;
		while (*q == ' ' || *q == ':')
			q++;
		v = strtod(q, NULL);
		if (v > best)
			best = v;
	}
	free(text);
	return best > 0 ? best : -1;
}

struct figures {
	double wall, mbps, cpu;
};

static void run_one(enum kind k, int sys, bool full_check, char *got,
		    char *want, struct figures *fig)
{
	char fio_size[32], out_arg[PATH_MAX + 16],
		if_arg[PATH_MAX + 8], of_arg[PATH_MAX + 8];
	char *argv[24], *prime[3];
	const char *backend = NULL;
	bool tree = k == K_TREE;
	const char *src = tree ? src_tree : src_file;
	const char *dst = tree ? dst_tree : dst_file;
	double bytes = tree ? (double)cfg.files * (double)cfg.fsize
			    : (double)cfg.size;
	struct outcome o;
	int n = 0;

	if (tree) /* a name of its own: see "Where the trees go" */
		snprintf(dst_tree, sizeof(dst_tree), "%s/tree-%d-%u", work,
			 (int)getpid(), tree_seq++);

	switch (sys) {
	case SYS_URING:
	case SYS_EPOLL:
		backend = sys == SYS_URING ? "uring" : "epoll";
		argv[n++] = cp_bin;
		if (tree)
			argv[n++] = "-r";
		if (k == K_DIRECT)
			argv[n++] = "--direct";
		argv[n++] = (char *)src;
		argv[n++] = (char *)dst;
		break;
	case SYS_CP:
		argv[n++] = "cp";
		if (tree)
			argv[n++] = "-r";
		argv[n++] = (char *)src;
		argv[n++] = (char *)dst;
		break;
	case SYS_DD:
		snprintf(if_arg, sizeof(if_arg), "if=%s", src);
		snprintf(of_arg, sizeof(of_arg), "of=%s", dst);
		argv[n++] = "dd";
		argv[n++] = if_arg;
		argv[n++] = of_arg;
		argv[n++] = "iflag=direct";
		argv[n++] = "oflag=direct";
		argv[n++] = "bs=1M";
		argv[n++] = "status=none";
		break;
	case SYS_FIO:
		snprintf(fio_size, sizeof(fio_size), "--size=%lld",
			 (long long)cfg.size);
		snprintf(if_arg, sizeof(if_arg), "--filename=%s", src);
		snprintf(of_arg, sizeof(of_arg), "--filename=%s", fio_out);
		snprintf(out_arg, sizeof(out_arg), "--output=%s", fio_json);
		argv[n++] = FIO;
		argv[n++] = "--output-format=json";
		argv[n++] = out_arg;
		argv[n++] = "--ioengine=io_uring";
		argv[n++] = "--direct=1";
		argv[n++] = "--bs=128k";
		argv[n++] = "--iodepth=8";
		argv[n++] = fio_size;
		argv[n++] = "--name=read";
		argv[n++] = if_arg;
		argv[n++] = "--rw=read";
		argv[n++] = "--name=write";
		argv[n++] = of_arg;
		argv[n++] = "--rw=write";
		break;
	}
	argv[n] = NULL;

	drop_caches();
	back_memory(2 * bytes + (64 << 20));
	/* Page in the program and its libraries, untimed. */
	prime[0] = argv[0];
	prime[1] = sys == SYS_FIO ? "--version" : "--help";
	prime[2] = NULL;
	run_child(prime, NULL, 30, &o);

	run_child(argv, backend, timeout_for(k), &o);
	if (o.status != 0) {
		fprintf(stderr, "copy: %s: %s failed (%s): ", case_name[k],
			sys_name[sys],
			o.status < 0		 ? "killed after the timeout"
			: WIFEXITED(o.status) ? "non-zero exit status"
					       : "killed by a signal");
		print_argv(argv);
		show_err_log();
		exit(1);
	}
	if (!err_log_empty()) {
		/* A notice (a fallback to buffered I/O, a backend that could
		 * not start) changes what was measured: show it. */
		fprintf(stderr, "copy: %s: %s said:\n", case_name[k],
			sys_name[sys]);
		show_err_log();
	}
	fig->wall = o.wall;
	fig->cpu = o.cpu;
	if (sys == SYS_FIO) {
		double ms = fio_runtime_ms();
		struct stat st;
		if (ms <= 0) {
			fprintf(stderr, "copy: no runtime in fio's output %s\n",
				fio_json);
			exit(1);
		}
		if (stat(fio_out, &st) < 0 || st.st_size != cfg.size)
			bad_copy(sys, "%s is not %lld bytes", fio_out,
				 (long long)cfg.size);
		fig->wall = ms / 1e3;
	} else if (tree) {
		check_tree(sys, full_check, got, want);
	} else {
		check_file(sys, dst_file, 0, cfg.size, full_check, got, want);
	}
	fig->mbps = bytes / 1e6 / fig->wall;
	if (tree)
		set_aside();
	remove_outputs();
	sync();
}

/* -- report ---------------------------------------------------------------- */

struct series {
	struct bl_series wall, mbps, cpu;
};

static bool in_case(enum kind k, int sys)
{
	if (!cfg.have[sys])
		return false;
	switch (sys) {
	case SYS_DD:
		return k == K_DIRECT;
	case SYS_FIO:
		return k != K_TREE;
	default:
		return true;
	}
}

static void fmt_range(char *buf, size_t n, const struct bu_stats *st)
{
	if (st->n > 1)
		snprintf(buf, n, "%.3f..%.3f", st->min, st->max);
	else
		snprintf(buf, n, "-");
}

static const char *note_for(enum kind k, int sys)
{
	if (k == K_DIRECT && sys == SYS_CP)
		return "cp has no direct mode: a buffered copy";
	if (sys == SYS_FIO)
		return "ceiling: read + write jobs at once, direct, qd 8, "
		       "128k; fio's runtime";
	if (sys == SYS_DD)
		return "direct, one 1 MiB block at a time";
	return NULL;
}

static void report(enum kind k, struct series *s)
{
	const char *name = case_name[k];
	bool tree = k == K_TREE;
	double nfiles = tree ? cfg.files : 1;

	if (!bu.json)
		printf("\n%-16s %-18s %9s %9s %9s %8s  %s\n", name, "system",
		       "wall s", "MB/s", tree ? "files/s" : "", "cpu s",
		       "wall range");
	for (int sys = 0; sys < NSYS; sys++) {
		struct bu_stats w, m, c;
		const char *note = note_for(k, sys);
		char range[48];
		if (!in_case(k, sys))
			continue;
		w = bl_stats(&s[sys].wall);
		m = bl_stats(&s[sys].mbps);
		c = bl_stats(&s[sys].cpu);
		if (bu.json) {
			bu_row(name, sys_name[sys], "seconds", &w, 0, "s", NULL,
			       BU_NO_TARGET);
			bu_row(name, sys_name[sys], "mb_per_s", &m, 0, "MB/s",
			       NULL, BU_NO_TARGET);
			if (tree)
				bu_row(name, sys_name[sys], "files_per_s",
				       NULL, nfiles / w.median, "files/s",
				       NULL, BU_NO_TARGET);
			bu_row(name, sys_name[sys], "cpu_s", &c, 0, "s", NULL,
			       BU_NO_TARGET);
			if (note)
				bu_text_row(name, sys_name[sys], "note", note);
			continue;
		}
		fmt_range(range, sizeof(range), &w);
		printf("%-16s %-18s %9.3f %9.1f ", "", sys_name[sys], w.median,
		       m.median);
		if (tree)
			printf("%9.0f", nfiles / w.median);
		else
			printf("%9s", "");
		printf(" %8.3f  %s%s%s\n", c.median, range, note ? "  " : "",
		       note ? note : "");
	}
	if (!bu.json)
		printf("%-16s %-18s %9s %9s %9s\n", "", "ratio", "value",
		       "target", "result");
	for (const struct ratio *r = ratios[k]; r->label; r++) {
		struct bl_series v;
		struct bu_stats st;
		enum bu_verdict verdict = BU_NO_TARGET;
		char tgt[24] = "-";
		bool ceiling = strcmp(r->metric, "of_ceiling") == 0;
		if (!in_case(k, r->a) || !in_case(k, r->b))
			continue;
		/* A speed-up a/b is time(b) / time(a). */
		v = bl_ratios(&s[r->b].wall, &s[r->a].wall);
		st = bl_stats(&v);
		if (r->target > 0) {
			snprintf(tgt, sizeof(tgt), ">= %.2fx", r->target);
			verdict = st.median >= r->target ? BU_PASS : BU_MISS;
		}
		if (bu.json) {
			bu_row(name, r->label, r->metric, &st, 0, "ratio",
			       r->target > 0 ? tgt : NULL, verdict);
			continue;
		}
		printf("%-16s %-18s %8.2f%s %9s %9s", "", r->label, st.median,
		       ceiling ? " " : "x", tgt,
		       verdict == BU_PASS   ? "met"
		       : verdict == BU_MISS ? "MISSED"
					    : "");
		if (ceiling)
			printf("  (share of fio's rate)");
		if (st.n > 1)
			printf("  %.2f..%.2f", st.min, st.max);
		printf("\n");
	}
	fflush(stdout);
}

/* -- options --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: copy [options]\n"
"Copy one big file and a tree of small files with coreio-cp (io_uring and\n"
"epoll backends) and GNU cp, side by side, the page cache dropped before\n"
"every run; dd (direct) and fio (io_uring, direct) as the device's peers.\n"
"Medians of wall time, MB/s and CPU time; speed-ups as time(b)/time(a).\n"
"Targets: tree copy coreio-uring >= 3x cp -r; file copy >= 1.0x cp.\n"
"\n"
"  -j, --json           one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick          smoke run: 64 MiB file, 1,000-file tree, 1 run\n"
"      --demo           the headline in about 25 s: the 10,000-file tree\n"
"                       and a 256 MiB file, 3 runs, no direct case\n"
"  -r, --runs N         runs of each system per case, 1..%d (default 3)\n"
"  -s, --size BYTES     the big file, K/M/G suffixes (binary; default 1G,\n"
"                       quick 64M); a multiple of 4 KiB, at least 1M\n"
"  -n, --files N        files in the tree (default 10000, quick 1000)\n"
"      --per-dir N      files per directory of the tree (default 100)\n"
"      --file-size BYTES  size of each file of the tree (default 4K)\n"
"  -d, --dir DIR        where to work (default: the current directory);\n"
"                       not tmpfs: there is no device under it\n"
"      --only LIST      comma-separated cases: file, tree, direct, or\n"
"                       their full names (file_1G, tree_10k_4K, ...)\n"
"      --keep           leave the sources in DIR/coreio-copy-PID\n"
"  -h, --help           this text\n"
"\n"
"Needs root to drop the page cache; without it results are labelled warm.\n"
"coreio-cp is found at ../apps/coreio-cp beside this program's directory.\n",
		BU_MAX_REPS);
}

static int64_t parse_bytes(const char *opt, const char *s, int64_t min,
			   int64_t max, int64_t multiple)
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
	if (errno || *end || v < (unsigned long long)min ||
	    v > (unsigned long long)max || v % (unsigned long long)multiple)
		bu_bad_usage("%s: expected a multiple of %lld bytes between "
			     "%lld and %lld, got '%s'",
			     opt, (long long)multiple, (long long)min,
			     (long long)max, s);
	return (int64_t)v;
}

/* 1G, 64M, 4K, or the bytes. */
static void fmt_bytes(char *out, size_t n, int64_t v)
{
	if (v >= 1 << 30 && v % (1 << 30) == 0)
		snprintf(out, n, "%lldG", (long long)(v >> 30));
	else if (v >= 1 << 20 && v % (1 << 20) == 0)
		snprintf(out, n, "%lldM", (long long)(v >> 20));
	else if (v >= 1 << 10 && v % (1 << 10) == 0)
		snprintf(out, n, "%lldK", (long long)(v >> 10));
	else
		snprintf(out, n, "%lld", (long long)v);
}

static void name_cases(void)
{
	char sz[24], fs[24], cnt[24];

	fmt_bytes(sz, sizeof(sz), cfg.size);
	fmt_bytes(fs, sizeof(fs), cfg.fsize);
	if (cfg.files % 1000000 == 0)
		snprintf(cnt, sizeof(cnt), "%uM", cfg.files / 1000000);
	else if (cfg.files % 1000 == 0)
		snprintf(cnt, sizeof(cnt), "%uk", cfg.files / 1000);
	else
		snprintf(cnt, sizeof(cnt), "%u", cfg.files);
	snprintf(case_name[K_FILE], sizeof(case_name[0]), "file_%s", sz);
	snprintf(case_name[K_TREE], sizeof(case_name[0]), "tree_%.20s_%.20s",
		 cnt, fs);
	snprintf(case_name[K_DIRECT], sizeof(case_name[0]), "file_%s_direct",
		 sz);
}

static void select_cases(const char *list)
{
	char buf[256], *save = NULL, *tok;

	if (!list) {
		for (int k = 0; k < NKINDS; k++)
			cfg.kind[k] = true;
		return;
	}
	if (strlen(list) >= sizeof(buf))
		bu_bad_usage("--only: list too long");
	strcpy(buf, list);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int k;
		for (k = 0; k < NKINDS; k++)
			if (strcmp(tok, kind_key[k]) == 0 ||
			    strcmp(tok, case_name[k]) == 0)
				break;
		if (k == NKINDS)
			bu_bad_usage("--only: unknown case '%s' (file, tree, "
				     "direct, %s, %s, %s)",
				     tok, case_name[K_FILE], case_name[K_TREE],
				     case_name[K_DIRECT]);
		cfg.kind[k] = true;
	}
	if (!cfg.kind[K_FILE] && !cfg.kind[K_TREE] && !cfg.kind[K_DIRECT])
		bu_bad_usage("--only: no case");
}

enum { OPT_PER_DIR = 256, OPT_FILE_SIZE, OPT_ONLY, OPT_KEEP, OPT_DEMO };

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "demo", no_argument, NULL, OPT_DEMO },
		{ "runs", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "files", required_argument, NULL, 'n' },
		{ "per-dir", required_argument, NULL, OPT_PER_DIR },
		{ "file-size", required_argument, NULL, OPT_FILE_SIZE },
		{ "dir", required_argument, NULL, 'd' },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *only = NULL;
	long runs = -1, files = -1;
	int64_t size = -1;
	int c;

	cfg.dir = ".";
	cfg.per_dir = 100;
	cfg.fsize = 4096;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:s:n:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'j':
			bu.json = true;
			break;
		case 'q':
			cfg.quick = true;
			break;
		case OPT_DEMO:
			cfg.demo = true;
			break;
		case 'r':
			runs = (long)bu_parse_count("--runs", optarg, 1,
						    BU_MAX_REPS);
			break;
		case 's':
			size = parse_bytes("--size", optarg, 1 << 20,
					   1ll << 40, 4096);
			break;
		case 'n':
			files = (long)bu_parse_count("--files", optarg, 1,
						     10000000);
			break;
		case OPT_PER_DIR:
			cfg.per_dir = (unsigned)bu_parse_count(
				"--per-dir", optarg, 1, 1000000);
			break;
		case OPT_FILE_SIZE:
			cfg.fsize = parse_bytes("--file-size", optarg, 1,
						64ll << 20, 1);
			break;
		case 'd':
			cfg.dir = optarg;
			break;
		case OPT_ONLY:
			only = optarg;
			break;
		case OPT_KEEP:
			cfg.keep = true;
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
	cfg.size = size > 0	 ? size
		   : cfg.quick ? 64ll << 20
		   : cfg.demo  ? 256ll << 20
			       : 1ll << 30;
	cfg.files = files > 0 ? (unsigned)files : cfg.quick ? 1000 : 10000;
	name_cases();
	select_cases(only ? only : cfg.demo ? "file,tree" : NULL);
}

/* -- setup ----------------------------------------------------------------- */

/* The file system under `real`, for the record: "ext4 on / (/dev/vda)". */
static void describe_fs(const char *real, char *out, size_t n)
{
	char line[2048], dev[512], mnt[1024], fs[64];
	size_t best = 0;
	FILE *f = fopen("/proc/mounts", "re");

	snprintf(out, n, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t l;
		if (sscanf(line, "%511s %1023s %63s", dev, mnt, fs) != 3)
			continue;
		l = strlen(mnt);
		if (strncmp(real, mnt, l) != 0 ||
		    (real[l] != '/' && real[l] && l > 1) || l < best)
			continue;
		best = l;
		snprintf(out, n, "%.60s on %.200s (%.200s)", fs, mnt, dev);
	}
	fclose(f);
}

static void find_programs(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		bu_die("readlink /proc/self/exe", -errno);
	self[n] = '\0';
	snprintf(cp_bin, sizeof(cp_bin), "%s/../apps/coreio-cp",
		 dirname(self));
	if (access(cp_bin, X_OK) != 0) {
		fprintf(stderr, "copy: %s: %s (make builds it)\n", cp_bin,
			strerror(errno));
		exit(1);
	}
	cfg.have[SYS_URING] = cfg.have[SYS_EPOLL] = true;
	cfg.have[SYS_CP] = system("cp --version >/dev/null 2>&1") == 0;
	cfg.have[SYS_DD] = system("dd --version >/dev/null 2>&1") == 0;
	cfg.have[SYS_FIO] = access(FIO, X_OK) == 0;
	if (!cfg.have[SYS_CP]) {
		fprintf(stderr, "copy: cp is missing: nothing to compare "
				"with\n");
		exit(1);
	}
	if (!cfg.have[SYS_FIO] && (cfg.kind[K_FILE] || cfg.kind[K_DIRECT]))
		fprintf(stderr, "copy: note: %s is missing: no fio ceiling "
				"(apt-get install fio)\n", FIO);
	if (!cfg.have[SYS_DD] && cfg.kind[K_DIRECT])
		fprintf(stderr, "copy: note: dd is missing: no dd peer\n");
}

/* chattr +T on the work directory; where the file system has no such
 * flag the trees go where they go (see "Where the trees go"). */
static void set_topdir(void)
{
	int fd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fl;

	if (fd < 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0) {
		fl |= FS_TOPDIR_FL;
		topdir = ioctl(fd, FS_IOC_SETFLAGS, &fl) == 0;
	}
	close(fd);
}

static void make_work_dir(char *fsdesc, size_t fsn)
{
	char real[PATH_MAX];
	struct statfs sf;
	struct statvfs sv;
	double need = 64.0 * (1 << 20), have;

	if (!realpath(cfg.dir, real)) {
		fprintf(stderr, "copy: --dir %s: %s\n", cfg.dir,
			strerror(errno));
		exit(2);
	}
	if (statfs(real, &sf) < 0)
		bu_die(real, -errno);
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC) {
		fprintf(stderr,
			"copy: %s is on tmpfs/ramfs: a copy there never "
			"reaches a device and 'cold' means memory; choose a "
			"directory on a disk with --dir\n",
			real);
		exit(2);
	}
	if (cfg.kind[K_FILE] || cfg.kind[K_DIRECT])
		need += 2.0 * (double)cfg.size;
	/* The source and the copies kept until the case ends. */
	if (cfg.kind[K_TREE])
		need += (1.0 + 3.0 * cfg.runs) * cfg.files *
			((double)cfg.fsize + 4096);
	if (statvfs(real, &sv) == 0 &&
	    (have = (double)sv.f_bavail * (double)sv.f_frsize) < need) {
		fprintf(stderr, "copy: %s has %.0f MiB free, the cases "
			"need %.0f MiB\n", real, have / 1048576,
			need / 1048576);
		exit(1);
	}
	describe_fs(real, fsdesc, fsn);
	if (strlen(real) > WORK_MAX - 32) {
		fprintf(stderr, "copy: --dir %s: path too long\n", real);
		exit(2);
	}
	snprintf(work, sizeof(work), "%.*s/coreio-copy-%d", WORK_MAX - 32,
		 real, (int)getpid());
	if (mkdir(work, 0755) < 0)
		bu_die(work, -errno);
	work_made = true;
	set_topdir();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
#define WORK_PATH(var, name) snprintf(var, sizeof(var), "%s/" name, work)
	WORK_PATH(src_file, "src.dat");
	WORK_PATH(dst_file, "dst.dat");
	WORK_PATH(src_tree, "src_tree");
	WORK_PATH(fio_out, "fio.dat");
	WORK_PATH(fio_json, "fio.json");
	WORK_PATH(err_log, "stderr.log");
	WORK_PATH(trash, "trash");
#undef WORK_PATH
}

/* -- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct series s[NKINDS][NSYS];
	char fsdesc[512], text[512], *got, *want;
	struct sigaction sa = { .sa_handler = on_alarm };
	int64_t t0 = bu_now_ns(), tc;

	bu.prog = "copy";
	parse_args(argc, argv);
	find_programs();
	make_work_dir(fsdesc, sizeof(fsdesc));
	/* No SA_RESTART: the alarm interrupts wait4 after killing. */
	sigaction(SIGALRM, &sa, NULL);
	got = bu_xmalloc(CHUNK + 8);
	want = bu_xmalloc(CHUNK + 8);

	if (cfg.kind[K_FILE] || cfg.kind[K_DIRECT])
		write_source(src_file, 0, cfg.size, want);
	if (cfg.kind[K_TREE])
		make_tree(want);
	sync();
	tc = bu_now_ns();
	drop_caches();
	if (warm)
		for (int k = 0; k < NKINDS; k++)
			strncat(case_name[k], "_warm",
				sizeof(case_name[k]) - strlen(case_name[k]) - 1);
	if (!bu.json)
		printf("copy: sources written in %.1f s to %s (%s); %s; %u "
		       "run%s per system, order rotated; medians; MB/s = "
		       "10^6 bytes of data per second\n",
		       (double)(tc - t0) / 1e9, work, fsdesc,
		       warm ? "WARM: the page cache could not be dropped"
			    : "cold: page cache dropped before every run",
		       cfg.runs, cfg.runs > 1 ? "s" : "");

	memset(s, 0, sizeof(s));
	remove_outputs();
	for (int k = 0; k < NKINDS; k++) {
		int order[NSYS], n = 0;
		if (!cfg.kind[k])
			continue;
		for (int sys = 0; sys < NSYS; sys++)
			if (in_case((enum kind)k, sys))
				order[n++] = sys;
		for (unsigned r = 0; r < cfg.runs; r++) {
			for (int i = 0; i < n; i++) {
				int sys = order[(i + (int)r) % n];
				struct figures f;
				run_one((enum kind)k, sys, r == 0, got, want,
					&f);
				bl_add(&s[k][sys].wall, f.wall);
				bl_add(&s[k][sys].mbps, f.mbps);
				bl_add(&s[k][sys].cpu, f.cpu);
			}
		}
		rm_tree(trash);
		sync();
		report((enum kind)k, s[k]);
	}

	if (!bu.json)
		printf("\n");
	bu_text_row("env", "copy", "coreio-cp", cp_bin);
	bu_text_row("env", "copy", "dir", fsdesc);
	snprintf(text, sizeof(text), "%s%s",
		 warm ? "warm: drop_caches failed: " : "cold: sync + "
		 "drop_caches 3 before every run", warm ? warm_why : "");
	bu_text_row("env", "copy", "cache", text);
	bu_text_row("env", "copy", "memory",
		    "twice the data + 64 MiB touched after each cache drop, "
		    "untimed (free page reporting)");
	bu_text_row("env", "copy", "cleanup",
		    topdir ? "file copies deleted after each run; tree copies "
			     "moved aside, deleted after the case, each in a "
			     "group of its own (TOPDIR)"
			   : "file copies deleted after each run; tree copies "
			     "moved aside, deleted after the case (no "
			     "TOPDIR here)");
	snprintf(text, sizeof(text), "file %lld bytes; tree %u x %lld "
		 "bytes, %u per directory; %u runs; every byte checked "
		 "on each system's first run, sizes and samples after",
		 (long long)cfg.size, cfg.files, (long long)cfg.fsize,
		 cfg.per_dir, cfg.runs);
	bu_text_row("env", "copy", "setup", text);
	bu_row("env", "copy", "create_s", NULL, (double)(tc - t0) / 1e9, "s",
	       NULL, BU_NO_TARGET);
	bu_row("env", "copy", "wall_s", NULL, (double)(bu_now_ns() - t0) / 1e9,
	       "s", NULL, BU_NO_TARGET);
	if (cfg.keep && !bu.json)
		printf("kept the sources in %s\n", work);
	free(got);
	free(want);
	return 0;
}
