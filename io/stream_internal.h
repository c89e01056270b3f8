/* Internal: the stream object, shared by its read side (stream.c) and its
 * write and close side (stream_write.c). */
#ifndef CIO_IO_STREAM_INTERNAL_H
#define CIO_IO_STREAM_INTERNAL_H

#include "io/stream.h"
#include "io/waitq.h"
#include "runtime/loop.h"
#include "runtime/task.h"

struct cio__mrecv;

/* A byte buffer: data in [pos, len) of cap bytes. */
struct cio__sbuf {
	char *p;
	size_t pos, len, cap;
};

struct cio_stream {
	cio_loop *loop;
	int fd;
	bool is_socket;
	unsigned flags;

	/* -- read side: one reader task at a time -- */
	struct cio__mrecv *mrecv; /* sockets; opened by the first read */
	struct cio__sbuf rbuf;
	size_t limit;
	size_t read_size;
	cio_task *reader;         /* the task inside a read call */
	bool reader_kicked;       /* the closer cancelled it */
	bool eof;
	int rerr;                 /* sticky read error */

	/* -- write side: the flusher sends `out`, writers append to `pend`;
	 * `out` is never moved while a send may be writing from it. -- */
	struct cio__sbuf out, pend;
	size_t high, low;
	bool paused;              /* went above high, not yet down to low */
	cio_task *flusher;        /* alive until its body returns */
	bool flusher_sending;     /* parked in a send (cancel target) */
	bool flusher_kicked;      /* abort cancelled it */
	bool eof_requested;       /* write_eof() */
	bool eof_sent;
	int werr;                 /* sticky write error */
	struct cio__waitq drainq; /* drain/flush: buffer shrank or failed */

	/* -- closing -- */
	bool closing;             /* close() or abort() called */
	bool aborting;
	bool shutting_down;       /* a task runs stream_shutdown() */
	bool closed;              /* the descriptor is closed */
	bool orphaned;            /* freed: the flusher releases it */
	struct cio__waitq stateq; /* reader left, closed */
};

/* Validate options and fill in the defaults (into *out if not NULL). */
int cio__stream_opts_check(const struct cio_stream_opts *opts,
			   struct cio_stream_opts *out);

/* stream.c: the read side's part of closing. */
/* Get the reader out (cancel it, wait until it left) and stop receiving;
 * called by the task that closes. */
void cio__stream_stop_reading(cio_stream *s);
/* Release the memory of a closed stream. */
void cio__stream_release(cio_stream *s);

#endif
