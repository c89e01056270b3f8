/* coreio-cp — copy files and directory trees on io_uring.
 *
 * How the work is split: cio_run() starts --shards loops (default one
 * per CPU), each a thread with its own ring, and so its own io-wq
 * workers for the operations the kernel cannot do without blocking
 * (creating a file, naming it, a buffered write to ext4). One loop
 * serves a tree of small files with a single io-wq worker running at a
 * time: the kernel starts another only when one sleeps. Shards give each
 * CPU a loop and an io-wq of its own.
 *
 *   main task     on shard 0: parses the operands (plan.c), walks
 *                 directory trees (walk.c), makes the destination
 *                 directories and sends one job per file, symlink or
 *                 special file into a bounded channel;
 *   file workers  --files tasks (default 64) in all, spread over the
 *                 shards, take jobs from the channel: that many files
 *                 are copied at once (copy_file.c);
 *   window        inside one file, up to -j tasks (default 8) each read
 *                 one --bs block and write it at the same offset
 *                 (window.c): -j reads or writes in flight per file;
 *   progress      with -P, a task redraws the bar ~10 times a second
 *                 (progress.c).
 *
 * So at most files x qd block operations are in flight, and at most
 * files x qd buffers of --bs bytes exist (a pool on each shard reuses
 * them).
 *
 * A file is written under a temporary name in its destination directory
 * (".NAME.coreio-cp.XXXXXX", mode 0600), gets its mode and times, is
 * verified if asked, and only then renamed over the final name: a
 * reader never sees a partial file under the final name, and a failed
 * copy leaves nothing behind. In a directory this run made, where there
 * is nothing to replace, the file is made without a name (O_TMPFILE)
 * and linked under its final one when complete: the same guarantee, one
 * directory update instead of three.
 *
 * Threads: a job is copied entirely on the shard whose worker took it.
 * What the shards share is the channel, the counters below (atomics) and
 * stderr (messages are written under its lock).
 */
#ifndef COREIO_CP_H
#define COREIO_CP_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "coreio.h"

#define CP_PROG "coreio-cp"
#define CP_DEFAULT_QD 8
#define CP_DEFAULT_BS (128 * 1024)
#define CP_DEFAULT_FILES 64
#define CP_MAX_QD 256
#define CP_MAX_FILES 4096
#define CP_MAX_SHARDS 256
#define CP_MIN_BS 512
#define CP_MAX_BS (64u << 20)

/* -- cli.c ----------------------------------------------------------------- */

struct cp_opts {
	bool recursive, direct, progress, verify;
	unsigned qd;    /* -j: block operations in flight per file */
	size_t bs;      /* --bs: bytes per read/write */
	unsigned files; /* --files: files copied at once */
	unsigned shards; /* --shards: loops (threads); 0: one per CPU */
	char **srcs;    /* the SRC operands, from argv */
	int nsrcs;
	const char *dst;
};

/* Fill *o from argv. -1: go on; otherwise the exit status to return at
 * once (0 after --help, 2 after a usage error, already reported). */
int cp_parse_args(int argc, char **argv, struct cp_opts *o);

/* -- shared state ---------------------------------------------------------- */

/* A directory whose mode and times are set once everything in it has
 * been written (creating entries changes a directory's mtime). */
struct cp_dir {
	char *path;
	struct stat st;
};

struct cp_ctx {
	const struct cp_opts *o;
	cio_chan *jobs;       /* struct cp_job *: the walk sends, any shard
			       * takes */
	atomic_int status;    /* 0, or 1 once anything failed */
	bool root;            /* euid 0: ownership is kept too */
	/* Directories to finish, in the order they were made (the walk's,
	 * on shard 0 only). */
	struct cp_dir *dirs;
	size_t ndirs, capdirs;
	/* O_DIRECT refused by a file system: said once, not per file. */
	atomic_bool direct_warned;
	/* Progress: what the walk found so far and what was copied. */
	_Atomic uint64_t bytes_total, bytes_done;
	_Atomic uint64_t files_total, files_done;
	atomic_bool walk_done;
	int64_t t0;
	/* The workers of each shard, a task group made and used on that
	 * shard only (NULL before and after); `stopping` tells a shard
	 * that has not made its group yet to cancel it at once. */
	unsigned nshards;
	cio_task_group **groups;
	atomic_bool stopping;
	/* Test hook: $COREIO_CP_TEST_CORRUPT flips a byte of each copy, so
	 * the tests can see --verify catch a difference. */
	bool test_corrupt;
};

/* -- progress.c: everything written to stderr ---------------------------- */

/* "coreio-cp: <message>" on stderr, clearing the progress bar's line
 * first; cp_error() also makes the exit status 1. */
void cp_error(struct cp_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cp_note(struct cp_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Start the -P task (no-op without -P); stop it and print the summary. */
int cp_progress_start(struct cp_ctx *c, cio_task **out);
void cp_progress_stop(struct cp_ctx *c, cio_task *t);

/* -- plan.c: the operands -------------------------------------------------- */

/* The main task, on shard 0: arg is the struct cp_ctx. Returns the exit
 * status, or -ECANCELED when it was cancelled (a signal). */
intptr_t cp_main_task(void *arg);

/* -- walk.c: trees and jobs ------------------------------------------------ */

/* One thing to copy. `st` is the source's lstat (its stat for a
 * command-line operand followed without -r). */
struct cp_job {
	char *src, *dst; /* one allocation, owned by the job */
	struct stat st;
	unsigned flags;  /* CP_JOB_* */
};

/* Something may exist under dst (its directory was not made by this
 * run): look at it before replacing it. */
#define CP_JOB_CHECK_DST 0x1u
/* src is a command-line operand given without -r: follow a symlink. */
#define CP_JOB_FOLLOW 0x2u

/* Queue a job (copied); awaits room in the channel. 0, -ECANCELED,
 * -ENOMEM. */
int cp_put_job(struct cp_ctx *c, const char *src, const char *dst,
	       const struct stat *st, unsigned flags);
void cp_job_free(struct cp_job *j);
/* Copy the tree at src (a directory, stat in *st) to dst, which is
 * made, or merged into when it is a directory already. Errors are
 * reported and the walk goes on; returns only -ECANCELED (stop) or 0. */
int cp_walk(struct cp_ctx *c, const char *src, const char *dst,
	    const struct stat *st);
/* Give every directory made or merged its source's mode and times. */
void cp_finish_dirs(struct cp_ctx *c);
/* dir + "/" + name (malloc'd; NULL when out of memory). */
char *cp_join(const char *dir, const char *name);

/* -- copy_file.c ----------------------------------------------------------- */

/* Worker task: takes jobs until the channel is closed and empty. arg:
 * cp_ctx. */
intptr_t cp_worker_task(void *arg);

/* -- meta.c: names, metadata, non-regular files --------------------------- */

/* A fresh temporary name beside `dst` (malloc'd). */
char *cp_temp_name(const char *dst);
/* Create and open a new temporary file beside dst: its descriptor and
 * *tmp (malloc'd), or a negative errno. */
int cp_create_temp(const char *dst, int flags, char **tmp);
/* The directory part of path ("." if none; malloc'd). */
char *cp_dir_of(const char *path);
/* Create an unnamed file (O_TMPFILE) in dst's directory, with `mode`:
 * nobody can open it until cp_link_anon() names it, and a copy that
 * fails leaves nothing. Its descriptor or a negative errno (-EOPNOTSUPP,
 * -EISDIR or -EINVAL where the file system or kernel cannot). */
int cp_create_anon(const char *dst, int flags, mode_t mode);
/* Name the unnamed file fd dst (replacing what may have appeared
 * there). 0 or a negative errno. */
int cp_link_anon(int fd, const char *dst);
/* Mode (and ownership as root) and atime/mtime of *st onto fd. */
int cp_set_meta_fd(struct cp_ctx *c, int fd, const struct stat *st);
/* The same by path, not following a symlink at the end. */
int cp_set_meta_path(struct cp_ctx *c, const char *path,
		     const struct stat *st);
/* Copy a symlink, FIFO, socket or device node: made under a temporary
 * name, then renamed. Errors are reported; returns 0 or -ECANCELED. */
int cp_copy_special(struct cp_ctx *c, const struct cp_job *j);
/* "'a' and 'b' are the same file" and friends: check what exists at
 * j->dst. 0: go on; 1: reported, skip this job. */
int cp_check_dst(struct cp_ctx *c, const struct cp_job *j);

/* -- window.c: blocks in flight -------------------------------------------- */

/* A buffer of o->bs bytes (aligned to 4096) from the calling shard's
 * pool; NULL when out of memory. */
void *cp_buf_get(struct cp_ctx *c);
void cp_buf_put(struct cp_ctx *c, void *buf);
/* Free the calling shard's pool (its workers are done). */
void cp_buf_pool_free(void);

struct cp_window;
enum cp_side { CP_SIDE_NONE, CP_SIDE_SRC, CP_SIDE_DST };

/* Process the block at `off` with the worker's buffers; return how many
 * bytes the block had (fewer than bs: end of file) or a negative errno
 * and which file it came from in *side. */
typedef ssize_t (*cp_block_fn)(struct cp_window *w, void **bufs,
			       int64_t off, enum cp_side *side);

struct cp_window {
	struct cp_ctx *c;
	cp_block_fn block;
	unsigned nbufs;        /* buffers per worker (1 copy, 2 verify) */
	int src, dst;          /* descriptors */
	bool src_direct, dst_direct;
	int64_t size_hint;     /* the size stat gave: where a short read
				* means end of file */
	/* Outcome. */
	int err;               /* first error, 0 if none */
	enum cp_side err_side;
	int64_t eof;           /* where the first short block ended */
	int64_t written_end;   /* copy: end of what was written to dst */
	int64_t mismatch;      /* verify: offset of a difference, or -1 */
	/* Hand-out state. */
	int64_t next, limit;
};

/* Run w->block over the blocks from offset 0 until end of file, with up
 * to c->o->qd blocks in flight. 0 (w->eof is the size), or the first
 * error (also in w->err), -ENOMEM, -ECANCELED. */
int cp_window_run(struct cp_window *w);
/* Read the block at `off` (up to bs bytes) into buf: the bytes read,
 * fewer than bs only at end of file; a negative errno. */
ssize_t cp_read_block(struct cp_window *w, int fd, void *buf, int64_t off);

/* -- verify.c -------------------------------------------------------------- */

/* Compare the contents of w->src and w->dst (read both back). 0 equal;
 * 1 they differ (w->mismatch); negative errno (w->err_side). */
int cp_verify(struct cp_window *w);

#endif
