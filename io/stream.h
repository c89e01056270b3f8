/* coreio — buffered streams: asyncio's StreamReader and StreamWriter, as one
 * object over one descriptor (a socket, a pipe, a tty or a regular file).
 *
 *     cio_stream *s;
 *     int rc = cio_open_connection(&s, "127.0.0.1", 8080, deadline, NULL);
 *     if (rc < 0)
 *         return rc;
 *     cio_stream_write(s, "PING\n", 5);          // buffered, never parks
 *     rc = cio_stream_drain(s, deadline);         // back-pressure
 *     char line[256];
 *     ssize_t n = cio_stream_readline(s, line, sizeof(line), deadline);
 *     cio_stream_close(s);                        // flushes, then closes
 *     cio_stream_wait_closed(s, deadline);
 *     cio_stream_free(s);
 *
 * Reading. The stream reads ahead into its read buffer and serves every read
 * call from it. Sockets are read through the loop's socket receive path
 * (on io_uring, a multishot receive into buffers the kernel picks from the
 * loop's buffer ring), everything else with read(2) at the current file
 * position (cio_read() with offset -1: a regular file is read from where
 * its position is, and advances it; writes likewise).
 * - End of file is explicit: cio_stream_read() and cio_stream_readline()
 *   return 0 there, and keep returning 0.
 * - Nothing a failed call has read is lost. A read that ends with an error
 *   (-ETIMEDOUT, -ECANCELED, a socket error) or at end of file before it is
 *   complete (-EPIPE, -EOVERFLOW) consumes nothing: the bytes that arrived
 *   stay in the read buffer for the next call (cio_stream_buffered()).
 * - A read error other than -ETIMEDOUT, -ECANCELED or -ENOMEM is sticky:
 *   once the buffered bytes are consumed, every read returns it again.
 * - cio_stream_read_until() and cio_stream_readline() find the separator
 *   in one pass over the data, however many reads it arrives in.
 *
 * Writing. cio_stream_write() copies into the write buffer and never parks;
 * a flusher task of the stream's own (spawned when the buffer stops being
 * empty, ended when it is empty again) sends it, with send(2) on sockets
 * and write(2) elsewhere. cio_stream_drain() is asyncio's drain(): it
 * returns at once while the buffer holds at most the high water mark, and
 * once the buffer went above it, waits until the flusher brought it down to
 * the low water mark. cio_stream_flush() waits until the buffer is empty.
 * A write error (-EPIPE, -ECONNRESET...) is sticky: the unsent data is
 * dropped, and every later write, drain, flush and wait_closed returns it.
 *
 * Limits, with their defaults (struct cio_stream_opts, 0 = default):
 * - limit 64 KiB: read_until/readline accept at most this many bytes before
 *   the separator (asyncio's limit);
 * - high_water 64 KiB, low_water high_water / 4 (asyncio's);
 * - read_size 16 KiB: the read-ahead asked of the kernel per read, and the
 *   read buffer's initial size. The buffer grows as a read needs (up to
 *   limit + separator for read_until, to n for read_exactly) and shrinks
 *   back once it is empty again.
 *
 * Tasks. One task may read while another writes: the read side (read,
 * read_exactly, read_until, readline) takes one task at a time (another
 * gets -EBUSY); write, write_eof, drain, flush may be called by any task
 * of the stream's loop, also while a read is in progress. Every call that
 * may park takes an absolute `deadline` (CIO_NO_DEADLINE for none; expiry
 * is -ETIMEDOUT), must be called from a task (-EPERM otherwise) and
 * returns -ECANCELED when the calling task is cancelled; the stream stays
 * usable after either.
 *
 * Closing.
 * - cio_stream_close() never parks: it ends the stream for new calls
 *   (they return -EBADF), lets the flusher send what is buffered, then
 *   closes the descriptor. A read in progress in another task ends with
 *   -EBADF then (its kernel operation is cancelled and awaited first).
 * - cio_stream_abort() is close() without the flush: buffered data is
 *   dropped (and a send in progress cancelled) at once.
 * - cio_stream_wait_closed() waits until the descriptor is closed.
 *
 * Ownership rules:
 * 1. cio_stream_new() succeeded => call cio_stream_free() once. The stream
 *    then owns `fd` and closes it with cio_close() (unless
 *    CIO_STREAM_KEEP_FD): do not close it yourself.
 * 2. cio_stream_free() releases the stream; call it when no other task is
 *    inside a call on it. A stream freed before cio_stream_close() is
 *    aborted (unsent data dropped). A stream freed after close() but before
 *    its flusher finished (no wait_closed()) keeps flushing in the
 *    background, as asyncio does without wait_closed(), and its memory is
 *    released when its descriptor is closed; a peer that never reads keeps
 *    it until the loop closes, so prefer close + wait_closed + free.
 *    When no flusher task is running, free() closes the descriptor itself:
 *    in a task that parks it for the close (as cio_close() does), outside
 *    one the descriptor is closed on the spot.
 * 3. Buffers passed in are only used during the call (write copies).
 * 4. A stream belongs to the loop it was made on (the running task's, else
 *    cio_loop_current()) and is used on that loop's thread.
 */
#ifndef CIO_IO_STREAM_H
#define CIO_IO_STREAM_H

#include <sys/types.h>

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_stream cio_stream;

#define CIO_STREAM_DEFAULT_LIMIT (64u * 1024)
#define CIO_STREAM_DEFAULT_HIGH_WATER (64u * 1024)
#define CIO_STREAM_DEFAULT_READ_SIZE (16u * 1024)

/* Flags of cio_stream_opts. */
/* The stream does not close the descriptor (wait_closed still waits for
 * the flush; the descriptor stays yours after free). */
#define CIO_STREAM_KEEP_FD 0x1u
/* Sockets only: read with a one-shot receive into the stream's own buffer
 * instead of the loop's multishot receive and provided buffer ring (on
 * epoll every read is one-shot anyway). Which wins is measured by
 * bench/echo --columns uring-stream,uring-stream-1shot; see the README. */
#define CIO_STREAM_RECV_ONESHOT 0x2u

/* Zero-initialise, then set what you need; 0 means the default. */
struct cio_stream_opts {
	size_t limit;      /* bytes before a separator (64 KiB) */
	size_t high_water; /* drain() waits above this (64 KiB) */
	size_t low_water;  /* ... until at or below this (high / 4) */
	size_t read_size;  /* read-ahead per read (16 KiB) */
	unsigned flags;    /* CIO_STREAM_KEEP_FD, CIO_STREAM_RECV_ONESHOT */
};

/* Wrap `fd`. Never parks; may be called outside a task (the stream then
 * belongs to cio_loop_current()). -EINVAL (bad fd or options: low_water
 * above high_water, a size above 1 GiB, unknown flags, no loop), -EBADF
 * (fstat fails), -ENOMEM. On error the descriptor is left alone. */
int cio_stream_new(cio_stream **out, int fd,
		   const struct cio_stream_opts *opts);

/* -- reading ---------------------------------------------------------------
 *
 * Common errors: -EINVAL bad argument, -EPERM outside a task, -EBADF the
 * stream is closing, -EBUSY another task is reading, -ETIMEDOUT,
 * -ECANCELED, -ENOMEM, and what the descriptor reports (-ECONNRESET...).
 */

/* Up to `len` bytes (asyncio's read(n)): what is buffered, or else what
 * one read of the descriptor brings. > 0 bytes; 0 at end of file (and for
 * len 0). */
ssize_t cio_stream_read(cio_stream *s, void *buf, size_t len,
			int64_t deadline);

/* Exactly `n` bytes into buf (asyncio's readexactly): n; -EPIPE when the
 * file ends first, the bytes that did arrive staying buffered (read them
 * with cio_stream_read(); cio_stream_buffered() tells how many). The read
 * buffer grows to n bytes: n is not bounded by `limit`. */
ssize_t cio_stream_read_exactly(cio_stream *s, void *buf, size_t n,
				int64_t deadline);

/* Bytes up to and including the first `sep` (asyncio's readuntil), copied
 * to buf: their count, separator included (buf is not NUL-terminated).
 * -EOVERFLOW when more than min(limit, cap - seplen) bytes come before the
 * separator (it could not fit, or the limit forbids it); -EPIPE when the
 * file ends before a separator. In both cases nothing is consumed: the
 * data stays buffered, to be read with cio_stream_read() (or skipped).
 * -EINVAL for an empty separator or cap < seplen. */
ssize_t cio_stream_read_until(cio_stream *s, const void *sep, size_t seplen,
			      void *buf, size_t cap, int64_t deadline);

/* A line ending in '\n' (asyncio's readline): as read_until with "\n",
 * except at end of file, where the last, unterminated line is returned
 * (and consumed), and 0 once nothing is left. */
ssize_t cio_stream_readline(cio_stream *s, void *buf, size_t cap,
			    int64_t deadline);

/* Bytes in the read buffer, readable without parking. */
size_t cio_stream_buffered(const cio_stream *s);
/* End of file was seen and the read buffer is empty (asyncio's at_eof). */
bool cio_stream_at_eof(const cio_stream *s);

/* -- writing ---------------------------------------------------------------
 *
 * Common errors: -EINVAL bad argument, -EBADF the stream is closing, the
 * sticky write error, -EPIPE after write_eof().
 */

/* Append `len` bytes to the write buffer; the flusher sends them. 0;
 * -ENOMEM (nothing was appended). Never parks; may be called outside a
 * task. The bytes of one call are never interleaved with another's. */
int cio_stream_write(cio_stream *s, const void *buf, size_t len);

/* Back-pressure: 0 at once while the write buffer has not gone above the
 * high water mark; otherwise parks until it is at or below the low water
 * mark. The deadline only ends the wait: the data still goes out. */
int cio_stream_drain(cio_stream *s, int64_t deadline);

/* Park until the write buffer is empty (every byte handed to the kernel). */
int cio_stream_flush(cio_stream *s, int64_t deadline);

/* Half-close (asyncio's write_eof): once the buffer is sent, shut down the
 * sending direction of the socket (shutdown(SHUT_WR)); the peer reads end
 * of file, and reading goes on. Never parks. 0 (also when repeated);
 * -EOPNOTSUPP when the descriptor is not a socket; -ENOMEM. */
int cio_stream_write_eof(cio_stream *s);

/* Bytes in the write buffer, not yet handed to the kernel. */
size_t cio_stream_write_buffered(const cio_stream *s);

/* -- closing --------------------------------------------------------------- */

/* Begin closing (see above). Never parks; may be called outside a task.
 * 0 (also when closing already); -EINVAL for NULL. */
int cio_stream_close(cio_stream *s);

/* Begin closing, dropping what is buffered. 0; -EINVAL for NULL. Writes
 * dropped this way make wait_closed() return -ECONNABORTED. */
int cio_stream_abort(cio_stream *s);

/* Park until the descriptor is closed. 0 when every byte written was sent;
 * the sticky write error otherwise (-ECONNABORTED: dropped by abort or
 * free). -ETIMEDOUT, -ECANCELED (the close goes on), -EPERM outside a task.
 * Called before close(), it waits for someone to close the stream. */
int cio_stream_wait_closed(cio_stream *s, int64_t deadline);

/* close() (or abort()) was called. */
bool cio_stream_is_closing(const cio_stream *s);

/* See ownership rule 2. NULL is a no-op. */
void cio_stream_free(cio_stream *s);

/* The descriptor, or -EBADF once the stream has closed it. */
int cio_stream_fd(const cio_stream *s);

CIO_END_DECLS

#endif
