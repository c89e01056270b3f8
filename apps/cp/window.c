/* coreio-cp — a window of blocks in flight over one file.
 *
 * A coreio call parks its task until the kernel is done, so a task has
 * one operation in flight. To keep -j of them in flight on one file,
 * cp_window_run() starts up to -j tasks (a task group) that take block
 * offsets in turn from a shared cursor, as bench/fileio does: each reads
 * its block and writes it (or compares it) at the same offset. Blocks
 * finish out of order; pwrite-style offsets make that harmless.
 *
 * End of file. stat's size is only a hint (the file may grow or shrink
 * while it is copied), so the cursor hands out offsets up to the block
 * that starts at that size, a probe that normally reads 0 bytes. A short
 * block marks the end: no offset at or past it is handed out again. A
 * full block that reaches past the hint moves the limit one block on, so
 * a file that grew is copied to its new end (with fewer tasks: those
 * that found nothing to take have ended).
 *
 * A file smaller than one block runs inline in the caller: no task is
 * spawned for it, and its copy is one read and one write.
 *
 * A failing block stops the others: the group cancels them (their
 * operations are cancelled in the kernel and they wait for the
 * completion), and the first error is what the window returns.
 */
#include <errno.h>
#include <stdlib.h>

#include "cp.h"

/* Buffers of o->bs bytes, aligned for O_DIRECT, kept for reuse: one
 * pool per shard (thread), so taking one needs no lock. */
static _Thread_local struct {
	void **v;
	size_t n, cap;
} pool;

void *cp_buf_get(struct cp_ctx *c)
{
	if (pool.n)
		return pool.v[--pool.n];
	return cio_aligned_alloc(c->o->bs);
}

void cp_buf_put(struct cp_ctx *c, void *buf)
{
	(void)c;
	if (!buf)
		return;
	if (pool.n == pool.cap) {
		size_t cap = pool.cap ? pool.cap * 2 : 64;
		void **p = realloc(pool.v, cap * sizeof(*p));
		if (!p) {
			cio_aligned_free(buf);
			return;
		}
		pool.v = p;
		pool.cap = cap;
	}
	pool.v[pool.n++] = buf;
}

void cp_buf_pool_free(void)
{
	while (pool.n)
		cio_aligned_free(pool.v[--pool.n]);
	free(pool.v);
	pool.v = NULL;
	pool.cap = 0;
}

ssize_t cp_read_block(struct cp_window *w, int fd, void *buf, int64_t off)
{
	size_t bs = w->c->o->bs, got = 0;

	while (got < bs) {
		ssize_t r = cio_read(fd, (char *)buf + got, bs - got,
				     off + (int64_t)got, CIO_NO_DEADLINE);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (size_t)r;
		/* A short read where stat said the file ends is its end:
		 * asking again would cost one more operation per file
		 * just to read 0 bytes. Short reads elsewhere are retried. */
		if (off + (int64_t)got >= w->size_hint)
			break;
	}
	return (ssize_t)got;
}

/* The next block offset to work on, if any. */
static bool take(struct cp_window *w, int64_t *off)
{
	if (w->err || w->next >= w->eof || w->next > w->limit)
		return false;
	*off = w->next;
	w->next += (int64_t)w->c->o->bs;
	return true;
}

/* One worker: blocks until there are none left or something failed. */
static int run_blocks(struct cp_window *w)
{
	int64_t bs = (int64_t)w->c->o->bs, off;
	void *bufs[2] = { NULL, NULL };
	int rc = 0;

	for (unsigned i = 0; i < w->nbufs; i++)
		if (!(bufs[i] = cp_buf_get(w->c))) {
			rc = -ENOMEM;
			goto out;
		}
	while (take(w, &off)) {
		enum cp_side side = CP_SIDE_NONE;
		ssize_t n = w->block(w, bufs, off, &side);
		if (n < 0) {
			rc = (int)n;
			if (!w->err) {
				w->err = rc;
				w->err_side = side;
			}
			break;
		}
		if (n < bs) {
			if (off + n < w->eof)
				w->eof = off + n;
		} else if (off + bs > w->limit) {
			w->limit = off + bs; /* it grew: probe further */
		}
	}
out:
	if (rc < 0 && !w->err)
		w->err = rc;
	for (unsigned i = 0; i < w->nbufs; i++)
		cp_buf_put(w->c, bufs[i]);
	return rc;
}

static intptr_t window_task(void *arg)
{
	return run_blocks(arg);
}

int cp_window_run(struct cp_window *w)
{
	uint64_t bs = w->c->o->bs;
	/* The blocks up to the hint, and the probe after them. */
	uint64_t blocks = (uint64_t)w->size_hint / bs + 1;
	unsigned n = blocks < w->c->o->qd ? (unsigned)blocks : w->c->o->qd;
	struct cio_task_opts to = { .name = "block" };
	cio_task_group *g;
	int rc;

	w->next = 0;
	w->limit = w->size_hint > 0 ? w->size_hint : 0;
	w->eof = INT64_MAX;
	w->err = 0;
	w->err_side = CP_SIDE_NONE;
	w->written_end = 0;
	w->mismatch = -1;
	if (n <= 1) {
		rc = run_blocks(w);
		return rc < 0 ? rc : w->err;
	}
	if ((rc = cio_task_group_new(&g)) < 0)
		return rc;
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = cio_task_group_spawn(g, NULL, window_task, w, &to);
	if (rc < 0) {
		/* Those spawned stop at the first take(). */
		if (!w->err)
			w->err = rc;
	}
	rc = cio_task_group_wait(g);
	cio_task_group_free(g);
	if (rc == 0)
		rc = w->err;
	return rc;
}
