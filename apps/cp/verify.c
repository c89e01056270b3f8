/* coreio-cp — --verify: read the source and the copy back and compare.
 *
 * It runs before the copy is renamed into place, so a copy that differs
 * never appears under the final name. The copy is written out and
 * dropped from the page cache first (fdatasync, POSIX_FADV_DONTNEED), so
 * that its blocks are read back from the device rather than from the
 * pages that were just written; the source's pages are what was copied,
 * so they may come from the cache. The comparison uses the same window
 * as the copy: -j blocks of each file in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "cp.h"

/* Sentinel for "the blocks differ": stops the window like an error. */
#define DIFFER (-EBADMSG)

static ssize_t compare_block(struct cp_window *w, void **bufs, int64_t off,
			     enum cp_side *side)
{
	const unsigned char *a = bufs[0], *b = bufs[1];
	ssize_t na, nb;
	size_t n, i;

	if ((na = cp_read_block(w, w->src, bufs[0], off)) < 0) {
		*side = CP_SIDE_SRC;
		return na;
	}
	if ((nb = cp_read_block(w, w->dst, bufs[1], off)) < 0) {
		*side = CP_SIDE_DST;
		return nb;
	}
	n = (size_t)(na < nb ? na : nb);
	i = n;
	if (memcmp(a, b, n) != 0)
		for (i = 0; a[i] == b[i]; i++)
			;
	if (i < n || na != nb) {
		int64_t at = off + (int64_t)i;
		if (w->mismatch < 0 || at < w->mismatch)
			w->mismatch = at;
		return DIFFER;
	}
	return na;
}

int cp_verify(struct cp_window *w)
{
	struct cp_window v = *w;
	int rc;

	/* The copy's size is known now: a short block there is its end. */
	v.size_hint = w->eof;
	v.block = compare_block;
	v.nbufs = 2;
	if (!w->dst_direct) {
		if ((rc = cio_fdatasync(w->dst)) < 0) {
			w->err_side = CP_SIDE_DST;
			return rc;
		}
		posix_fadvise(w->dst, 0, 0, POSIX_FADV_DONTNEED);
	}
	rc = cp_window_run(&v);
	w->mismatch = v.mismatch;
	w->err_side = v.err_side;
	if (rc == DIFFER)
		return 1;
	return rc;
}
