/* coreio-cp (apps/cp): the program run as a child process, its results
 * checked with plain system calls.
 *
 * Each test works in its own directory under $TMPDIR (default /tmp) and
 * removes it. make test runs the suite with CIO_BACKEND=uring and then
 * epoll; the child inherits it, so every case runs on both backends.
 *
 * Cases that need root (mounting a small tmpfs or a ramfs) skip with a
 * message when the mount is refused; the unreadable-file case drops
 * privileges to nobody in the child when run as root (root reads any
 * file); the 1 GiB case skips when the file system has less than 3 GiB
 * free.
 */
#include "helpers/harness.h"
#include "helpers/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIN TH_BUILD_DIR "/apps/coreio-cp"
#define BS (128 * 1024) /* the default --bs */

/* The slowest case writes, copies and reads back 1 GiB (under ASan the
 * test's own hashing is the slow part). */
TestSuite(app_cp, .timeout = 300);

/* -- helpers --------------------------------------------------------------- */

static char base[PATH_MAX];

static void setup_dir(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(base, sizeof(base), "%s/coreio-cp-test.XXXXXX",
		 t && *t ? t : "/tmp");
	cr_assert_not_null(mkdtemp(base), "mkdtemp: %s", strerror(errno));
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

/* Read-only directories (the tree test makes one) must be opened up
 * before what is in them can go. */
static int open_up(const char *p, const struct stat *st, int flag,
		   struct FTW *f)
{
	(void)f;
	if (flag == FTW_D || flag == FTW_DNR || S_ISDIR(st->st_mode))
		chmod(p, 0700);
	return 0;
}

static void rmtree(const char *p)
{
	nftw(p, open_up, 32, FTW_PHYS);
	nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static const char *P(const char *fmt, ...);

static void teardown_dir(void)
{
	if (!base[0])
		return;
	/* A failed assertion skips a test's own umount. */
	umount2(P("small"), MNT_DETACH);
	umount2(P("ramfs"), MNT_DETACH);
	rmtree(base);
	base[0] = '\0';
}

/* cr_skip_test() ends the test without its .fini: clean up first. */
#define SKIP(...)                                                      \
	do {                                                           \
		teardown_dir();                                        \
		cr_skip_test(__VA_ARGS__);                             \
	} while (0)

/* base + "/" + printf(fmt...) into a static ring of buffers. */
static const char *P(const char *fmt, ...)
{
	static char ring[16][PATH_MAX];
	static unsigned next;
	char *out = ring[next++ % 16];
	int n = snprintf(out, PATH_MAX, "%s/", base);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out + n, PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return out;
}

/* Run coreio-cp with args (NULL-terminated); its exit code (-1: killed).
 * p keeps stdout and stderr; free with th_proc_free(). */
static int run_cpv(struct th_proc *p, const char *const *args)
{
	const char *argv[64] = { BIN };
	int n = 1;

	while (n < 63 && *args)
		argv[n++] = *args++;
	argv[n] = NULL;
	th_proc_run(p, argv, NULL, 0);
	return th_proc_exit(p);
}

#define run_cp(p, ...) run_cpv(p, (const char *const[]){ __VA_ARGS__ })

/* A fast, deterministic byte stream: xorshift64 words. */
struct pat {
	uint64_t s;
};

static uint64_t pat_next(struct pat *p)
{
	p->s ^= p->s << 13;
	p->s ^= p->s >> 7;
	p->s ^= p->s << 17;
	return p->s;
}

static void pat_fill(struct pat *p, unsigned char *buf, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w = pat_next(p);
		memcpy(buf + i, &w, 8);
	}
	if (i < n) {
		uint64_t w = pat_next(p);
		memcpy(buf + i, &w, n - i);
	}
}

/* A word-at-a-time hash, fast enough for a GiB; the tail byte-wise. */
struct hash {
	uint64_t h, len;
};

static void hash_add(struct hash *h, const unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h->h = (h->h ^ w) * 0x100000001b3ull;
		h->h ^= h->h >> 29;
	}
	for (; i < n; i++)
		h->h = (h->h ^ p[i]) * 0x100000001b3ull;
	h->len += n;
}

/* Write `size` pattern bytes (seed) to path with `mode`; their hash. */
static struct hash write_file(const char *path, uint64_t size, uint64_t seed,
			      mode_t mode)
{
	static unsigned char buf[1 << 20];
	struct pat pt = { seed * 0x9e3779b97f4a7c15ull + 1 };
	struct hash h = { 0xcbf29ce484222325ull, 0 };
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert_geq(fd, 0, "create %s: %s", path, strerror(errno));
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off)
						    : sizeof(buf);
		pat_fill(&pt, buf, n);
		hash_add(&h, buf, n);
		cr_assert_eq(write(fd, buf, n), (ssize_t)n, "write %s", path);
		off += n;
	}
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
	return h;
}

static struct hash hash_file(const char *path)
{
	static unsigned char buf[1 << 20];
	struct hash h = { 0xcbf29ce484222325ull, 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		hash_add(&h, buf, (size_t)n);
	cr_assert_eq(n, 0, "read %s", path);
	close(fd);
	return h;
}

static void assert_same_hash(struct hash a, const char *path)
{
	struct hash b = hash_file(path);

	cr_assert_eq(b.len, a.len, "%s: %llu bytes, expected %llu", path,
		     (unsigned long long)b.len, (unsigned long long)a.len);
	cr_assert_eq(b.h, a.h, "%s: contents differ", path);
}

static void set_times(const char *path, time_t asec, long ansec, time_t msec,
		      long mnsec)
{
	struct timespec ts[2] = { { asec, ansec }, { msec, mnsec } };

	cr_assert_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0,
		     "utimensat %s: %s", path, strerror(errno));
}

static void assert_meta(const char *src, const char *dst)
{
	struct stat a, b;

	cr_assert_eq(lstat(src, &a), 0, "%s", src);
	cr_assert_eq(lstat(dst, &b), 0, "%s: %s", dst, strerror(errno));
	cr_assert_eq(a.st_mode, b.st_mode, "%s: mode %o, expected %o", dst,
		     b.st_mode, a.st_mode);
	cr_assert_eq(a.st_mtim.tv_sec, b.st_mtim.tv_sec, "%s: mtime", dst);
	cr_assert_eq(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec, "%s: mtime ns",
		     dst);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* How many names under dir (recursively) contain ".coreio-cp.". */
static int count_temps(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strstr(de->d_name, ".coreio-cp."))
			n++;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			n += count_temps(sub);
	}
	closedir(d);
	return n;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	cr_assert_not_null(d, "%s", dir);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Copy one file of `size` bytes with extra options, check contents and
 * metadata. */
static void copy_size(uint64_t size, const char *o1, const char *o2)
{
	struct th_proc p;
	const char *src = P("src-%llu", (unsigned long long)size);
	const char *dst = P("dst-%llu", (unsigned long long)size);
	struct hash h = write_file(src, size, size, 0640);
	int rc;

	set_times(src, 1000000000, 111111111, 1200000000, 987654321);
	if (o2)
		rc = run_cp(&p, o1, o2, src, dst, NULL);
	else if (o1)
		rc = run_cp(&p, o1, src, dst, NULL);
	else
		rc = run_cp(&p, src, dst, NULL);
	cr_assert_eq(rc, 0, "size %llu: exit %d: %s", (unsigned long long)size,
		     rc, p.err);
	assert_same_hash(h, dst);
	assert_meta(src, dst);
	cr_assert_eq(count_temps(base), 0);
	th_proc_free(&p);
}

/* -- single files ---------------------------------------------------------- */

Test(app_cp, empty_and_one_byte_files, .init = setup_dir,
     .fini = teardown_dir)
{
	copy_size(0, NULL, NULL);
	copy_size(1, NULL, NULL);
}

Test(app_cp, sizes_around_the_block_size, .init = setup_dir,
     .fini = teardown_dir)
{
	static const uint64_t sizes[] = { BS - 1, BS, BS + 1, 2 * BS,
					  2 * BS + 1, 10 * BS + 7 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		copy_size(sizes[i], NULL, NULL);
	/* Small blocks and a window of 3: many blocks in flight, out of
	 * order. */
	copy_size(100 * 4096 + 5, "--bs=4K", "-j3");
	copy_size(4096 * 7, "--bs=4096", "--queue-depth=1");
	copy_size(1000, "--bs=512", NULL);
}

/* Can the file system under base do O_DIRECT? */
static bool direct_ok(void)
{
	const char *p = P("direct-probe");
	int fd = open(p, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
	unlink(p);
	return fd >= 0;
}

Test(app_cp, direct_sizes_and_unaligned_tails, .init = setup_dir,
     .fini = teardown_dir)
{
	static const uint64_t sizes[] = { 0, 1, 4095, 4096, 4097, BS - 1,
					  BS, BS + 1, 3 * BS + 4097 };
	bool ok = direct_ok();

	cr_log_info("O_DIRECT under %s: %s", base, ok ? "yes" : "no "
		    "(the fallback path is what runs)");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		copy_size(sizes[i], "--direct", NULL);
	copy_size(5 * 4096 + 1, "--direct", "--bs=4K");
	copy_size(BS + 1, "--direct", "--verify");
}

/* ramfs has no O_DIRECT at all: --direct must fall back, say so once,
 * and copy correctly. */
Test(app_cp, direct_falls_back_where_refused, .init = setup_dir,
     .fini = teardown_dir)
{
	char mnt[PATH_MAX];
	struct th_proc p;
	struct hash h;
	int rc;

	snprintf(mnt, sizeof(mnt), "%s", P("ramfs"));
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("ramfs", mnt, "ramfs", 0, NULL) < 0) {
		const char *why = strerror(errno);
		SKIP("cannot mount a ramfs (%s)", why);
	}
	h = write_file(P("a"), 3 * BS + 17, 1, 0644);
	write_file(P("b"), 100, 2, 0644);
	rc = run_cp(&p, "--direct", P("a"), P("b"), mnt, NULL);
	cr_expect_eq(rc, 0, "exit %d: %s", rc, p.err);
	/* Said once, not per file. */
	const char *say = strstr(p.err, "O_DIRECT");
	cr_expect(say != NULL, "no notice: %s", p.err);
	cr_expect(!say || !strstr(say + 1, "O_DIRECT"), "%s", p.err);
	assert_same_hash(h, P("ramfs/a"));
	th_proc_free(&p);
	umount2(mnt, MNT_DETACH);
}

/* 1 GiB of a pattern, hashed while written, copied, read back. */
Test(app_cp, one_gib_file, .init = setup_dir, .fini = teardown_dir)
{
	struct statvfs sv;
	struct th_proc p;
	struct hash h;
	int rc;

	cr_assert_eq(statvfs(base, &sv), 0);
	if ((uint64_t)sv.f_bavail * sv.f_frsize < (3ull << 30))
		SKIP("less than 3 GiB free in $TMPDIR (or /tmp)");
	h = write_file(P("big"), 1ull << 30, 42, 0600);
	rc = run_cp(&p, P("big"), P("big.copy"), NULL);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, p.err);
	th_proc_free(&p);
	unlink(P("big")); /* room, and no cache for the read back */
	assert_same_hash(h, P("big.copy"));
}

Test(app_cp, replaces_an_existing_file_by_rename, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	struct stat before, after;
	struct hash h = write_file(P("src"), 5000, 1, 0644);
	int rc;

	write_file(P("dst"), 99999, 2, 0600);
	cr_assert_eq(stat(P("dst"), &before), 0);
	rc = run_cp(&p, P("src"), P("dst"), NULL);
	cr_assert_eq(rc, 0, "%s", p.err);
	cr_assert_eq(stat(P("dst"), &after), 0);
	/* A new inode took the name: readers of the old one never saw a
	 * half-written file. */
	cr_expect_neq(before.st_ino, after.st_ino);
	assert_same_hash(h, P("dst"));
	assert_meta(P("src"), P("dst"));
	th_proc_free(&p);
}

Test(app_cp, several_sources_into_a_directory, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	struct hash a = write_file(P("a"), 10, 1, 0644);
	struct hash b = write_file(P("b"), BS * 3, 2, 0755);
	int rc;

	cr_assert_eq(mkdir(P("out"), 0755), 0);
	cr_assert_eq(symlink("a", P("link")), 0);
	/* Without -r a symlink operand is followed. */
	rc = run_cp(&p, P("a"), P("b"), P("link"), P("out/"), NULL);
	cr_assert_eq(rc, 0, "%s", p.err);
	assert_same_hash(a, P("out/a"));
	assert_same_hash(b, P("out/b"));
	assert_same_hash(a, P("out/link"));
	assert_meta(P("b"), P("out/b"));
	th_proc_free(&p);

	rc = run_cp(&p, P("a"), P("b"), P("a"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "is not a directory"), "%s", p.err);
	th_proc_free(&p);
	rc = run_cp(&p, P("a"), P("b"), P("nowhere"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "No such file or directory"), "%s", p.err);
	cr_expect(!exists(P("nowhere")));
	th_proc_free(&p);
}

/* -- trees ----------------------------------------------------------------- */

#define TOP 10
#define SUB 10
#define PER 100 /* 10 x 10 x 100 = 10,000 files */

static mode_t mode_of(unsigned i)
{
	static const mode_t modes[] = { 0644, 0600, 0755, 0400, 0664 };
	return modes[i % 5];
}

/* File k of the tree: its contents (regenerated from k), mode, times. */
static void check_tree_file(unsigned a, unsigned b, unsigned i, unsigned k)
{
	const char *f = P("tree/d%u/s%u/f%u", a, b, i);
	const char *g = P("copy/d%u/s%u/f%u", a, b, i);
	struct pat pt = { k * 0x9e3779b97f4a7c15ull + 1 };
	unsigned char want[9000], got[9001];
	size_t n = (k * 37) % 9000;
	int fd = open(g, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", g, strerror(errno));
	cr_assert_eq(read(fd, got, sizeof(got)), (ssize_t)n, "%s: size", g);
	close(fd);
	pat_fill(&pt, want, n);
	cr_assert(memcmp(want, got, n) == 0, "%s", g);
	assert_meta(f, g);
}

Test(app_cp, ten_thousand_files_in_nested_folders, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	unsigned k = 0;
	int rc;

	cr_assert_eq(mkdir(P("tree"), 0755), 0);
	for (unsigned a = 0; a < TOP; a++) {
		cr_assert_eq(mkdir(P("tree/d%u", a), 0750), 0);
		for (unsigned b = 0; b < SUB; b++) {
			cr_assert_eq(mkdir(P("tree/d%u/s%u", a, b), 0755), 0);
			for (unsigned i = 0; i < PER; i++, k++) {
				const char *f = P("tree/d%u/s%u/f%u", a, b, i);
				write_file(f, (k * 37) % 9000, k, mode_of(k));
				set_times(f, 1500000000 + k, k, 1600000000 + k,
					  (long)(k * 1000 + 7));
			}
			set_times(P("tree/d%u/s%u", a, b), 1400000000, 5,
				  1400000000 + a * 100 + b, 123456789);
		}
		/* Read-only directory: the copy must still fill it. */
		chmod(P("tree/d%u", a), a == 3 ? 0555 : 0750);
		set_times(P("tree/d%u", a), 1300000000, 1, 1300000000 + a, 2);
	}
	rc = run_cp(&p, "-r", P("tree"), P("copy"), NULL);
	cr_assert_eq(rc, 0, "exit %d: %s", rc, p.err);
	cr_assert_eq(p.err_len, 0, "%s", p.err);
	th_proc_free(&p);

	k = 0;
	for (unsigned a = 0; a < TOP; a++) {
		for (unsigned b = 0; b < SUB; b++) {
			for (unsigned i = 0; i < PER; i++, k++)
				check_tree_file(a, b, i, k);
			assert_meta(P("tree/d%u/s%u", a, b),
				    P("copy/d%u/s%u", a, b));
		}
		assert_meta(P("tree/d%u", a), P("copy/d%u", a));
	}
	cr_assert_eq(count_temps(P("copy")), 0);
}

/* Any number of shards, also more than CPUs and than file workers (some
 * shards then have none): the same copy. Set-user-ID and set-group-ID
 * bits survive the unnamed file's creation (made without them, set
 * after) as root. */
Test(app_cp, shards_share_the_files, .init = setup_dir, .fini = teardown_dir)
{
	static const char *const shards[] = { "1", "3", "8" };
	static const mode_t modes[] = { 0644, 04755, 02750, 0 };
	struct hash h[3][40];
	struct th_proc p;
	int rc;

	cr_assert_eq(mkdir(P("t"), 0755), 0);
	for (unsigned d = 0; d < 3; d++) {
		cr_assert_eq(mkdir(P("t/%u", d), 0755), 0);
		for (unsigned i = 0; i < 40; i++) {
			const char *f = P("t/%u/f%u", d, i);
			h[d][i] = write_file(f, 100 * i + d, d * 40 + i, 0644);
			/* chmod: the umask would have dropped bits. */
			cr_assert_eq(chmod(f, geteuid() == 0
						      ? modes[i % 4]
						      : modes[i % 4] & 0777),
				     0);
		}
	}
	for (size_t s = 0; s < sizeof(shards) / sizeof(shards[0]); s++) {
		rc = run_cp(&p, "-r", "--shards", shards[s], "--files", "2",
			    P("t"), P("c%zu", s), NULL);
		cr_assert_eq(rc, 0, "--shards %s: exit %d: %s", shards[s], rc,
			     p.err);
		th_proc_free(&p);
		for (unsigned d = 0; d < 3; d++)
			for (unsigned i = 0; i < 40; i++) {
				assert_same_hash(h[d][i],
						 P("c%zu/%u/f%u", s, d, i));
				assert_meta(P("t/%u/f%u", d, i),
					    P("c%zu/%u/f%u", s, d, i));
			}
		cr_expect_eq(count_temps(P("c%zu", s)), 0);
	}
}

Test(app_cp, symlinks_and_fifos_in_trees, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	char t[PATH_MAX];
	ssize_t n;
	int rc;

	cr_assert_eq(mkdir(P("t"), 0755), 0);
	write_file(P("t/file"), 10, 1, 0644);
	cr_assert_eq(symlink("file", P("t/rel")), 0);
	cr_assert_eq(symlink("/nonexistent/dangling", P("t/dangling")), 0);
	cr_assert_eq(mkfifo(P("t/fifo"), 0640), 0);
	set_times(P("t/rel"), 1000, 1, 2000, 3);
	cr_assert_eq(symlink("t", P("tlink")), 0);

	cr_assert_eq(mkdir(P("out"), 0755), 0);

	rc = run_cp(&p, "-r", P("t"), P("missing"), P("tlink"), P("out"),
		    NULL);
	/* "missing" does not exist: an error, the rest is copied. */
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "cannot stat '"), "%s", p.err);
	cr_expect(strstr(p.err, "missing': No such file or directory"), "%s",
		  p.err);
	th_proc_free(&p);

	n = readlink(P("out/t/rel"), t, sizeof(t) - 1);
	cr_assert_eq(n, 4);
	cr_expect(memcmp(t, "file", 4) == 0);
	assert_meta(P("t/rel"), P("out/t/rel"));
	n = readlink(P("out/t/dangling"), t, sizeof(t) - 1);
	cr_assert_eq(n, (ssize_t)strlen("/nonexistent/dangling"));
	struct stat st;
	cr_assert_eq(lstat(P("out/t/fifo"), &st), 0);
	cr_expect(S_ISFIFO(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0640);
	/* With -r a symlink operand is copied as a symlink. */
	cr_assert_eq(lstat(P("out/tlink"), &st), 0);
	cr_expect(S_ISLNK(st.st_mode));
	n = readlink(P("out/tlink"), t, sizeof(t) - 1);
	cr_expect_eq(n, 1);
	cr_expect_eq(count_temps(P("out")), 0);
}

Test(app_cp, merges_into_an_existing_directory, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	struct hash h;
	int rc;

	cr_assert_eq(mkdir(P("src"), 0755), 0);
	cr_assert_eq(mkdir(P("src/sub"), 0755), 0);
	h = write_file(P("src/sub/new"), 3000, 1, 0644);
	cr_assert_eq(mkdir(P("dst"), 0755), 0);
	cr_assert_eq(mkdir(P("dst/src"), 0755), 0);
	cr_assert_eq(mkdir(P("dst/src/sub"), 0755), 0);
	write_file(P("dst/src/sub/new"), 5, 2, 0644);
	write_file(P("dst/src/keep"), 5, 3, 0644);
	cr_assert_eq(mkdir(P("dst/src/sub/new2"), 0755), 0);
	write_file(P("src/sub/new2"), 5, 4, 0644);

	rc = run_cp(&p, "-r", P("src"), P("dst"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "cannot overwrite directory"), "%s", p.err);
	assert_same_hash(h, P("dst/src/sub/new"));
	cr_expect(exists(P("dst/src/keep")));
	th_proc_free(&p);
}

/* -- refusals and errors --------------------------------------------------- */

Test(app_cp, copy_onto_itself_is_refused, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	struct hash h = write_file(P("a"), 5000, 1, 0644);
	int rc;

	rc = run_cp(&p, P("a"), P("a"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "are the same file"), "%s", p.err);
	th_proc_free(&p);
	/* The same through a directory operand and through a hard link. */
	rc = run_cp(&p, P("a"), base, NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "are the same file"), "%s", p.err);
	th_proc_free(&p);
	cr_assert_eq(link(P("a"), P("hard")), 0);
	rc = run_cp(&p, P("a"), P("hard"), NULL);
	cr_expect_eq(rc, 1);
	th_proc_free(&p);
	assert_same_hash(h, P("a"));
	cr_expect_eq(count_temps(base), 0);
}

Test(app_cp, directory_into_itself_is_refused, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	int rc;

	cr_assert_eq(mkdir(P("d"), 0755), 0);
	cr_assert_eq(mkdir(P("d/sub"), 0755), 0);
	write_file(P("d/f"), 10, 1, 0644);
	rc = run_cp(&p, "-r", P("d"), P("d/sub"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "into itself"), "%s", p.err);
	cr_expect(!exists(P("d/sub/d")));
	th_proc_free(&p);
	rc = run_cp(&p, "-r", P("d"), P("d"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "into itself"), "%s", p.err);
	cr_expect(!exists(P("d/d")));
	th_proc_free(&p);
	rc = run_cp(&p, "-r", P("d"), P("d/new"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(!exists(P("d/new")));
	th_proc_free(&p);
}

Test(app_cp, directory_without_r_is_omitted, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	struct hash h = write_file(P("f"), 10, 1, 0644);
	int rc;

	cr_assert_eq(mkdir(P("d"), 0755), 0);
	cr_assert_eq(mkdir(P("out"), 0755), 0);
	rc = run_cp(&p, P("d"), P("f"), P("out"), NULL);
	cr_expect_eq(rc, 1);
	cr_expect(strstr(p.err, "-r not specified; omitting directory"),
		  "%s", p.err);
	cr_expect(!exists(P("out/d")));
	assert_same_hash(h, P("out/f"));
	th_proc_free(&p);
}

Test(app_cp, usage_errors, .init = setup_dir, .fini = teardown_dir)
{
	static const char *const bad[][5] = {
		{ NULL },
		{ "onlyone", NULL },
		{ "--bogus", "a", "b", NULL },
		{ "-x", "a", "b", NULL },
		{ "-j", "0", "a", "b" },
		{ "-j", "x", "a", "b" },
		{ "--bs", "100", "a", "b" },
		{ "--bs", "1G", "a", "b" },
		{ "--bs", "12Q", "a", "b" },
		{ "--direct", "--bs=5000", "a", "b" },
		{ "--files", "0", "a", "b" },
		{ "--shards", "0", "a", "b" },
		{ "--shards", "257", "a", "b" },
		{ "--shards", "two", "a", "b" },
		{ "-j", NULL },
	};
	struct th_proc p;
	int rc;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = run_cpv(&p, bad[i]);
		cr_expect_eq(rc, 2, "case %zu: exit %d", i, rc);
		cr_expect(strstr(p.err, "coreio-cp: ") == p.err, "case %zu: "
			  "%s", i, p.err);
		cr_expect(strstr(p.err, "--help"), "case %zu: %s", i, p.err);
		th_proc_free(&p);
	}
	rc = run_cp(&p, "--help", NULL);
	cr_expect_eq(rc, 0);
	cr_expect(strstr(p.out, "Usage: coreio-cp"), "%s", p.out);
	th_proc_free(&p);
}

/* Run BIN with args as uid/gid 65534 (when root); exit code, stderr. */
static int run_as_nobody(char **err, const char *const *args)
{
	int pipefd[2], status;
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const char *argv[16] = { BIN };
		int k = 1;
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(99);
		while (*args && k < 15)
			argv[k++] = *args++;
		argv[k] = NULL;
		execv(BIN, (char *const *)argv);
		_exit(98);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	*err = strdup(buf);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* chmod 000 stops everyone but root: as root the child becomes nobody,
 * and everything it must reach is opened up to it. */
Test(app_cp, unreadable_file_is_named_and_the_rest_copied,
     .init = setup_dir, .fini = teardown_dir)
{
	const char *args[6];
	char *err;
	struct hash h;
	int rc;

	chmod(base, 0777);
	cr_assert_eq(mkdir(P("out"), 0777), 0);
	chmod(P("out"), 0777);
	write_file(P("secret"), 1000, 1, 0000);
	h = write_file(P("open"), 1000, 2, 0644);
	args[0] = P("secret");
	args[1] = P("open");
	args[2] = P("out");
	args[3] = NULL;
	rc = run_as_nobody(&err, args);
	if (rc == 98 || rc == 99)
		SKIP("cannot run %s as nobody (%s)", BIN,
		     rc == 99 ? "setuid" : "exec");
	cr_expect_eq(rc, 1, "exit %d: %s", rc, err);
	cr_expect(strstr(err, "cannot open '"), "%s", err);
	cr_expect(strstr(err, "secret': Permission denied"), "%s", err);
	cr_expect(!exists(P("out/secret")));
	assert_same_hash(h, P("out/open"));
	cr_expect_eq(count_temps(P("out")), 0);
	free(err);
}

/* A 2 MiB file onto a 1 MiB tmpfs: the error names the file, and
 * neither the final name nor a temporary file is left. */
Test(app_cp, full_file_system_leaves_nothing, .init = setup_dir,
     .fini = teardown_dir)
{
	char mnt[PATH_MAX];
	struct th_proc p;
	struct hash h;
	int rc;

	snprintf(mnt, sizeof(mnt), "%s", P("small"));
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") < 0) {
		const char *why = strerror(errno);
		SKIP("cannot mount a tmpfs (%s)", why);
	}
	write_file(P("big"), 2 << 20, 1, 0644);
	h = write_file(P("small1"), 1000, 2, 0644);
	rc = run_cp(&p, P("big"), P("small1"), mnt, NULL);
	cr_expect_eq(rc, 1, "exit %d: %s", rc, p.err);
	cr_expect(strstr(p.err, "small/big"), "%s", p.err);
	cr_expect(strstr(p.err, "No space left on device"), "%s", p.err);
	cr_expect(!exists(P("small/big")));
	assert_same_hash(h, P("small/small1"));
	cr_expect_eq(count_entries(mnt), 1);
	th_proc_free(&p);
	/* Without preallocation in the way: many small files, some fit. */
	cr_assert_eq(mkdir(P("many"), 0755), 0);
	for (int i = 0; i < 40; i++)
		write_file(P("many/f%02d", i), 100 * 1024, (uint64_t)i, 0644);
	rc = run_cp(&p, "-r", P("many"), mnt, NULL);
	cr_expect_eq(rc, 1, "exit %d: %s", rc, p.err);
	cr_expect(strstr(p.err, "No space left on device"), "%s", p.err);
	cr_expect_eq(count_temps(mnt), 0);
	/* What was installed is complete. */
	for (int i = 0; i < 40; i++) {
		struct stat st;
		if (lstat(P("small/many/f%02d", i), &st) == 0)
			cr_expect_eq(st.st_size, 100 * 1024, "f%02d", i);
	}
	th_proc_free(&p);
	umount2(mnt, MNT_DETACH);
}

/* -- options --------------------------------------------------------------- */

Test(app_cp, verify_passes_and_catches_a_difference, .init = setup_dir,
     .fini = teardown_dir)
{
	struct th_proc p;
	const char *argv[] = { BIN, "--verify", NULL, NULL, NULL };
	struct hash h = write_file(P("a"), 5 * BS + 3, 1, 0644);
	int rc;

	rc = run_cp(&p, "--verify", P("a"), P("b"), NULL);
	cr_expect_eq(rc, 0, "%s", p.err);
	assert_same_hash(h, P("b"));
	th_proc_free(&p);

	/* The test hook flips a byte of the first block written. */
	argv[2] = P("a");
	argv[3] = P("c");
	setenv("COREIO_CP_TEST_CORRUPT", "1", 1);
	th_proc_run(&p, argv, NULL, 0);
	unsetenv("COREIO_CP_TEST_CORRUPT");
	cr_expect_eq(th_proc_exit(&p), 1, "%s", p.err);
	cr_expect(strstr(p.err, "differ at byte 0"), "%s", p.err);
	cr_expect(!exists(P("c")));
	cr_expect_eq(count_temps(base), 0);
	th_proc_free(&p);
}

Test(app_cp, progress_output, .init = setup_dir, .fini = teardown_dir)
{
	struct th_proc p;
	int rc;

	write_file(P("a"), 3 * BS, 1, 0644);
	rc = run_cp(&p, "-P", P("a"), P("b"), NULL);
	cr_expect_eq(rc, 0, "%s", p.err);
	cr_expect(strstr(p.err, "coreio-cp: copied 384.0 KiB in "), "%s",
		  p.err);
	cr_expect(strstr(p.err, "1 of 1 files"), "%s", p.err);
	th_proc_free(&p);
	rc = run_cp(&p, P("a"), P("c"), NULL);
	cr_expect_eq(p.err_len, 0, "without -P nothing: %s", p.err);
	th_proc_free(&p);
}

/* SIGINT in the middle of a copy: the temporary file goes, nothing is
 * left under the final name, and the program dies of SIGINT. The test
 * waits for the temporary file to appear (inotify), not for a time. */
Test(app_cp, interrupted_copy_leaves_nothing, .init = setup_dir,
     .fini = teardown_dir)
{
	int in = inotify_init1(IN_CLOEXEC), status;
	char evbuf[4096];
	pid_t pid;

	write_file(P("a"), 64 << 20, 1, 0644);
	cr_assert_eq(mkdir(P("out"), 0755), 0);
	cr_assert_geq(in, 0);
	cr_assert_geq(inotify_add_watch(in, P("out"), IN_CREATE), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Slow on purpose: 512-byte blocks, one at a time. */
		execl(BIN, BIN, "--bs=512", "-j1", P("a"), P("out/a"),
		      (char *)NULL);
		_exit(98);
	}
	cr_assert_gt(read(in, evbuf, sizeof(evbuf)), 0);
	close(in);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT,
		  "status %#x", status);
	cr_expect_eq(count_entries(P("out")), 0);
}
