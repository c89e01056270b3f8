/* Streams: every kind of read over sockets, pipes and files, short reads
 * and writes through tiny buffers, back-pressure, deadlines on each kind of
 * call, cancellation, end of file in every state, peer resets, half-close,
 * close/abort/free, and bad arguments. Each test also checks that the loop
 * reported nothing and that nothing leaked. */
#include "helpers/net.h"
#include "io/stream.h"
#include "io/stream_internal.h"
#include "runtime/task_internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MS CIO_NSEC_PER_MSEC
#define LATER() cio_deadline_after(20 * CIO_NSEC_PER_SEC)

#if defined(__SANITIZE_THREAD__)
#define BIG (256u * 1024)
#else
#define BIG (2u * 1024 * 1024)
#endif

/* Counts the bytes the separator search looks at (the stream is linked
 * statically, so this definition is the one it calls). */
static size_t memmem_scanned;

void *memmem(const void *hay, size_t hl, const void *needle, size_t nl)
{
	const char *h = hay;

	memmem_scanned += hl;
	if (nl == 0)
		return (void *)hay;
	for (size_t i = 0; i + nl <= hl; i++)
		if (h[i] == *(const char *)needle &&
		    memcmp(h + i, needle, nl) == 0)
			return (void *)(h + i);
	return NULL;
}

/* -- helpers ----------------------------------------------------------------- */

static void set_bufs(int fd, int size)
{
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)),
		     0);
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)),
		     0);
}

/* AF_UNIX stream pair; with `bufsz` the socket buffers are made tiny (the
 * kernel rounds up to its minimum). */
static void unix_pair(int sv[2], int bufsz)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0, sv), 0);
	if (bufsz) {
		set_bufs(sv[0], bufsz);
		set_bufs(sv[1], bufsz);
	}
}

/* A connected TCP pair over 127.0.0.1. */
static void tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(l >= 0 && c >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	cr_assert_eq(getsockname(l, (struct sockaddr *)&a, &len), 0);
	cr_assert_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	sv[1] = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	cr_assert_geq(sv[1], 0);
	cr_assert_eq(fcntl(c, F_SETFL, O_NONBLOCK), 0);
	sv[0] = c;
	close(l); /* never seen by coreio */
}

/* A pipe holding one page at most. */
static void small_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	cr_assert_geq(fcntl(p[1], F_SETPIPE_SZ, 4096), 4096);
}

static cio_stream *stream(int fd, const struct cio_stream_opts *o)
{
	cio_stream *s = NULL;
	cr_assert_eq(cio_stream_new(&s, fd, o), 0);
	cr_assert_not_null(s);
	return s;
}

static void send_all(int fd, const void *p, size_t n)
{
	cr_assert_eq(cio_write_all(fd, p, n, -1, LATER(), NULL), (ssize_t)n);
}

static void send_str(int fd, const char *p)
{
	send_all(fd, p, strlen(p));
}

/* The event a test waits for: the stream's reader is parked in the
 * kernel, so what is sent next arrives in a read of its own. */
static void wait_reader_parked(cio_stream *s)
{
	while (!(s->reader && s->reader->state == CIO__TASK_PARKED))
		cr_assert_eq(cio_yield(), 0);
}

/* -- bad arguments ----------------------------------------------------------- */

static intptr_t bad_args_task(void *arg)
{
	int *p = arg;
	cio_stream *s = stream(p[0], NULL);
	char buf[8];

	cr_assert_eq(cio_stream_read(NULL, buf, 1, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_read(s, NULL, 1, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_read_exactly(s, NULL, 1, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_read_until(s, NULL, 1, buf, 8, LATER()),
		     -EINVAL);
	cr_assert_eq(cio_stream_read_until(s, "", 0, buf, 8, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_read_until(s, "abc", 3, buf, 2, LATER()),
		     -EINVAL, "cap below the separator");
	cr_assert_eq(cio_stream_readline(s, NULL, 8, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_write(NULL, "x", 1), -EINVAL);
	cr_assert_eq(cio_stream_write(s, NULL, 1), -EINVAL);
	cr_assert_eq(cio_stream_write(s, NULL, 0), 0);
	cr_assert_eq(cio_stream_drain(NULL, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_flush(NULL, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_write_eof(NULL), -EINVAL);
	cr_assert_eq(cio_stream_close(NULL), -EINVAL);
	cr_assert_eq(cio_stream_abort(NULL), -EINVAL);
	cr_assert_eq(cio_stream_wait_closed(NULL, LATER()), -EINVAL);
	cr_assert_eq(cio_stream_read(s, buf, 0, LATER()), 0, "len 0");
	cr_assert_eq(cio_stream_read_exactly(s, buf, 0, LATER()), 0);
	cr_assert_eq(cio_stream_fd(s), p[0]);
	cr_assert_eq(cio_stream_fd(NULL), -EBADF);
	cr_assert_eq(cio_stream_buffered(NULL), 0);
	cr_assert_eq(cio_stream_write_buffered(NULL), 0);
	cr_assert_not(cio_stream_at_eof(NULL));
	cr_assert_not(cio_stream_is_closing(s));
	cio_stream_free(NULL);

	/* Not a socket: no half-close. */
	cio_stream *ps = stream(p[2], NULL);
	cr_assert_eq(cio_stream_write_eof(ps), -EOPNOTSUPP);
	th_stream_finish(ps, 0);

	th_stream_finish(s, 0);
	cr_assert_eq(cio_close(p[1]), 0);
	cr_assert_eq(cio_close(p[3]), 0);
	return 0;
}

Test(stream, bad_arguments, .timeout = 60)
{
	struct cio_stream_opts o = { 0 };
	cio_stream *s = (cio_stream *)(uintptr_t)1;
	int p[4];

	unix_pair(p, 0);
	cr_assert_eq(pipe2(p + 2, O_CLOEXEC), 0);
	/* No loop yet. */
	cr_assert_eq(cio_stream_new(&s, p[0], NULL), -EINVAL);
	cr_assert_null(s);

	struct th_report_counts reports;
	cio_loop *loop = th_loop_new_counting(&reports);
	cr_assert_eq(cio_stream_new(NULL, p[0], NULL), -EINVAL);
	cr_assert_eq(cio_stream_new(&s, -1, NULL), -EINVAL);
	cr_assert_eq(cio_stream_new(&s, 999, NULL), -EBADF);
	o.high_water = 100;
	o.low_water = 101;
	cr_assert_eq(cio_stream_new(&s, p[0], &o), -EINVAL, "low > high");
	o = (struct cio_stream_opts){ .flags = 0x100 };
	cr_assert_eq(cio_stream_new(&s, p[0], &o), -EINVAL, "unknown flag");
	o = (struct cio_stream_opts){ .limit = ((size_t)1 << 30) + 1 };
	cr_assert_eq(cio_stream_new(&s, p[0], &o), -EINVAL, "limit");
	cr_assert_null(s);

	/* Outside a task: what parks says -EPERM, the rest works. */
	s = stream(p[0], NULL);
	char c;
	cr_assert_eq(cio_stream_read(s, &c, 1, LATER()), -EPERM);
	cr_assert_eq(cio_stream_readline(s, &c, 1, LATER()), -EPERM);
	cr_assert_eq(cio_stream_drain(s, LATER()), -EPERM);
	cr_assert_eq(cio_stream_flush(s, LATER()), -EPERM);
	cr_assert_eq(cio_stream_wait_closed(s, LATER()), -EPERM);
	cio_stream_free(s); /* closes p[0] on the spot */
	cr_assert_eq(fcntl(p[0], F_GETFD), -1, "the stream owned the fd");

	unix_pair(p, 0);
	cr_assert_eq(th_run(loop, bad_args_task, p), 0);
	th_loop_free_checked(loop);
	cr_assert_eq(reports.total, 0);
	th_leak_check();
}

/* write and close never park: they work outside a task too, and the
 * stream's flusher does the rest once the loop runs. */
struct outside {
	int sv[2];
	cio_stream *s;
};

static intptr_t outside_task(void *arg)
{
	struct outside *o = arg;
	char buf[8];

	cr_assert_eq(cio_read(o->sv[1], buf, sizeof(buf), -1, LATER()), 3);
	cr_assert_eq(memcmp(buf, "abc", 3), 0);
	cr_assert_eq(cio_read(o->sv[1], buf, sizeof(buf), -1, LATER()), 0);
	cr_assert_eq(cio_stream_wait_closed(o->s, LATER()), 0);
	cio_stream_free(o->s);
	cr_assert_eq(cio_close(o->sv[1]), 0);
	return 0;
}

Test(stream, write_and_close_outside_a_task, .timeout = 60)
{
	struct th_report_counts reports;
	cio_loop *loop = th_loop_new_counting(&reports);
	struct outside o;

	unix_pair(o.sv, 0);
	o.s = stream(o.sv[0], NULL);
	cr_assert_eq(cio_stream_write(o.s, "abc", 3), 0);
	cr_assert_eq(cio_stream_close(o.s), 0);
	cr_assert_eq(th_run(loop, outside_task, &o), 0);
	th_loop_free_checked(loop);
	cr_assert_eq(reports.total, 0);
	th_leak_check();
}

/* -- reading ----------------------------------------------------------------- */

static intptr_t read_basic_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[64];

	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], NULL);
	send_str(sv[1], "hello world");
	cr_assert_eq(cio_close(sv[1]), 0);

	cr_assert_eq(cio_stream_read(s, buf, 5, LATER()), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	cr_assert_eq(cio_stream_buffered(s), 6, "read ahead");
	cr_assert_not(cio_stream_at_eof(s));
	cr_assert_eq(cio_stream_read(s, buf, sizeof(buf), LATER()), 6);
	cr_assert_eq(memcmp(buf, " world", 6), 0);
	/* End of file is explicit and stays. */
	cr_assert_eq(cio_stream_read(s, buf, sizeof(buf), LATER()), 0);
	cr_assert_eq(cio_stream_read(s, buf, sizeof(buf), LATER()), 0);
	cr_assert(cio_stream_at_eof(s));
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 0);
	cr_assert_eq(cio_stream_read_exactly(s, buf, 1, LATER()), -EPIPE);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, read_then_eof, .timeout = 60)
{
	th_run_clean(read_basic_task, NULL);
}

/* The peer side of the fragment tests: one byte per read of the stream. */
struct dribble {
	cio_stream *s;
	int fd;
	const char *data;
	size_t len;
};

static intptr_t dribble_fn(void *arg)
{
	struct dribble *d = arg;

	for (size_t i = 0; i < d->len; i++) {
		wait_reader_parked(d->s);
		send_all(d->fd, d->data + i, 1);
	}
	return 0;
}

static intptr_t fragments_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[128], want[100];

	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], NULL);
	for (int i = 0; i < 100; i++)
		want[i] = (char)('A' + i % 26);
	struct dribble d = { s, sv[1], want, sizeof(want) };
	cio_task *t = th_spawn_here(dribble_fn, &d);
	cr_assert_eq(cio_stream_read_exactly(s, buf, 100, LATER()), 100);
	cr_assert_eq(memcmp(buf, want, 100), 0);
	cr_assert_eq(th_join(t), 0);

	/* A two-byte separator split over reads, then a line. */
	d.data = "abc\r\nrest\n";
	d.len = strlen(d.data);
	t = th_spawn_here(dribble_fn, &d);
	cr_assert_eq(cio_stream_read_until(s, "\r\n", 2, buf, sizeof(buf),
					   LATER()), 5);
	cr_assert_eq(memcmp(buf, "abc\r\n", 5), 0);
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 5);
	cr_assert_eq(memcmp(buf, "rest\n", 5), 0);
	cr_assert_eq(th_join(t), 0);

	/* A separator whose first byte repeats ("\r\r\n"). */
	d.data = "x\r\r\r\ny";
	d.len = strlen(d.data);
	t = th_spawn_here(dribble_fn, &d);
	cr_assert_eq(cio_stream_read_until(s, "\r\n", 2, buf, sizeof(buf),
					   LATER()), 5);
	cr_assert_eq(memcmp(buf, "x\r\r\r\n", 5), 0);
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), 1);
	cr_assert_eq(buf[0], 'y');
	cr_assert_eq(th_join(t), 0);

	cr_assert_eq(cio_close(sv[1]), 0);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, short_reads_reassembled, .timeout = 60)
{
	th_run_clean(fragments_task, NULL);
}

static intptr_t exactly_eof_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[32];

	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], NULL);
	send_str(sv[1], "0123456789");
	cr_assert_eq(cio_close(sv[1]), 0);
	cr_assert_eq(cio_stream_read_exactly(s, buf, 20, LATER()), -EPIPE);
	/* The partial bytes stay readable. */
	cr_assert_eq(cio_stream_buffered(s), 10);
	cr_assert_eq(cio_stream_read_exactly(s, buf, 10, LATER()), 10);
	cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), 0);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, read_exactly_eof_keeps_partial, .timeout = 60)
{
	th_run_clean(exactly_eof_task, NULL);
}

static intptr_t overflow_task(void *arg)
{
	(void)arg;
	struct cio_stream_opts o = { .limit = 16 };
	int sv[2];
	char buf[64];

	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], &o);

	/* 20 bytes without a separator: over the limit. */
	send_str(sv[1], "abcdefghijklmnopqrst");
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()),
		     -EOVERFLOW);
	cr_assert_eq(cio_stream_buffered(s), 20, "nothing consumed: %zu",
		     cio_stream_buffered(s));
	cr_assert_eq(cio_stream_read_exactly(s, buf, 20, LATER()), 20);
	cr_assert_eq(memcmp(buf, "abcdefghijklmnopqrst", 20), 0);

	/* A separator found past the limit. */
	send_str(sv[1], "0123456789abcdefXYZ\n");
	cr_assert_eq(cio_stream_read_until(s, "\n", 1, buf, sizeof(buf),
					   LATER()), -EOVERFLOW);
	cr_assert_eq(cio_stream_buffered(s), 20);
	cr_assert_eq(cio_stream_read_exactly(s, buf, 20, LATER()), 20);

	/* Exactly the limit before the separator is fine. */
	send_str(sv[1], "0123456789abcdef\n");
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 17);
	cr_assert_eq(memcmp(buf, "0123456789abcdef\n", 17), 0);

	/* The caller's buffer is a limit too. */
	send_str(sv[1], "123456789\n");
	cr_assert_eq(cio_stream_readline(s, buf, 8, LATER()), -EOVERFLOW);
	cr_assert_eq(cio_stream_buffered(s), 10);
	cr_assert_eq(cio_stream_readline(s, buf, 10, LATER()), 10);
	cr_assert_eq(memcmp(buf, "123456789\n", 10), 0);

	cr_assert_eq(cio_close(sv[1]), 0);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, read_until_limit_overflow_keeps_data, .timeout = 60)
{
	th_run_clean(overflow_task, NULL);
}

static intptr_t partial_line_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[64];

	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], NULL);
	send_str(sv[1], "line1\nlast");
	cr_assert_eq(cio_close(sv[1]), 0);
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 6);
	cr_assert_eq(memcmp(buf, "line1\n", 6), 0);
	/* read_until wants the separator; readline returns the rest. */
	cr_assert_eq(cio_stream_read_until(s, "\n", 1, buf, sizeof(buf),
					   LATER()), -EPIPE);
	cr_assert_eq(cio_stream_buffered(s), 4);
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 4);
	cr_assert_eq(memcmp(buf, "last", 4), 0);
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 0);
	cr_assert_eq(cio_stream_read_until(s, "\n", 1, buf, sizeof(buf),
					   LATER()), -EPIPE);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, readline_returns_last_partial_line, .timeout = 60)
{
	th_run_clean(partial_line_task, NULL);
}

/* A long line that arrives in many short reads: the separator search
 * looks at each byte a bounded number of times (no O(n^2) rescans). */
struct pump {
	int fd;
	size_t len;
	unsigned seed;
	bool newline;
};

static intptr_t pump_fn(void *arg)
{
	struct pump *p = arg;
	uint8_t chunk[4096];

	for (size_t off = 0; off < p->len; off += sizeof(chunk)) {
		size_t n = p->len - off < sizeof(chunk) ? p->len - off
							 : sizeof(chunk);
		th_fill_pat(chunk, n, off, p->seed);
		/* The pattern never holds '\n' where the line must not end. */
		for (size_t i = 0; i < n; i++)
			if (chunk[i] == '\n')
				chunk[i] = 'n';
		if (p->newline && off + n == p->len)
			chunk[n - 1] = '\n';
		send_all(p->fd, chunk, n);
	}
	return 0;
}

static intptr_t long_line_task(void *arg)
{
	(void)arg;
	const size_t len = BIG;
	struct cio_stream_opts o = { .limit = len, .read_size = 4096 };
	int p[2];

	small_pipe(p);
	cio_stream *s = stream(p[0], &o);
	uint8_t *buf = malloc(len);
	cr_assert_not_null(buf);
	struct pump pu = { p[1], len, 3, true };
	cio_task *t = th_spawn_here(pump_fn, &pu);
	memmem_scanned = 0;
	cr_assert_eq(cio_stream_readline(s, buf, len, LATER()), (ssize_t)len);
	cr_assert_eq(buf[len - 1], '\n');
	cr_assert_leq(memmem_scanned, 2 * len, "scanned %zu bytes for %zu",
		      memmem_scanned, len);
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_close(p[1]), 0);
	free(buf);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, long_line_scanned_once, .timeout = 60)
{
	th_run_clean(long_line_task, NULL);
}

/* -- short writes, full duplex ----------------------------------------------- */

struct xfer {
	cio_stream *s;
	size_t len;
	unsigned seed;
	unsigned rng;
	bool close_after;
};

static size_t rnd(unsigned *x, size_t max)
{
	*x = *x * 1103515245u + 12345u;
	return 1 + (*x >> 8) % max;
}

static intptr_t writer_fn(void *arg)
{
	struct xfer *x = arg;
	uint8_t chunk[9000];

	for (size_t off = 0; off < x->len;) {
		size_t n = rnd(&x->rng, sizeof(chunk));
		if (n > x->len - off)
			n = x->len - off;
		th_fill_pat(chunk, n, off, x->seed);
		cr_assert_eq(cio_stream_write(x->s, chunk, n), 0);
		cr_assert_eq(cio_stream_drain(x->s, LATER()), 0);
		off += n;
	}
	if (x->close_after)
		cr_assert_eq(cio_stream_write_eof(x->s), 0);
	cr_assert_eq(cio_stream_flush(x->s, LATER()), 0);
	return 0;
}

static intptr_t reader_fn(void *arg)
{
	struct xfer *x = arg;
	uint8_t chunk[9000];
	size_t off = 0;
	ssize_t n;

	while (off < x->len) {
		size_t want = rnd(&x->rng, sizeof(chunk));
		if (x->rng & 1)
			n = cio_stream_read(x->s, chunk, want, LATER());
		else if (want <= x->len - off)
			n = cio_stream_read_exactly(x->s, chunk, want, LATER());
		else
			continue;
		cr_assert_gt(n, 0, "read: %zd at %zu", n, off);
		th_check_pat(chunk, (size_t)n, off, x->seed);
		off += (size_t)n;
	}
	if (x->close_after)
		cr_assert_eq(cio_stream_read(x->s, chunk, 1, LATER()), 0);
	return 0;
}

static intptr_t pipe_xfer_task(void *arg)
{
	(void)arg;
	int p[2];

	small_pipe(p);
	cio_stream *r = stream(p[0], NULL), *w = stream(p[1], NULL);
	struct xfer wx = { w, BIG, 5, 1, false }, rx = { r, BIG, 5, 2, false };
	cio_task *tw = th_spawn_here(writer_fn, &wx);
	cio_task *tr = th_spawn_here(reader_fn, &rx);
	cr_assert_eq(th_join(tw), 0);
	th_stream_finish(w, 0);
	cr_assert_eq(th_join(tr), 0);
	char c;
	cr_assert_eq(cio_stream_read(r, &c, 1, LATER()), 0, "writer closed");
	th_stream_finish(r, 0);
	return 0;
}

Test(stream, short_writes_and_reads_through_small_pipe, .timeout = 60)
{
	th_run_clean(pipe_xfer_task, NULL);
}

/* Both directions at once on each stream (one reader task and one writer
 * task per stream) through kernel buffers of a few KiB. */
static intptr_t duplex_task(void *arg)
{
	int *tcp = arg;
	int sv[2];

	if (*tcp) {
		/* Small send buffers only: a TCP receive buffer below the
		 * loopback MSS stalls on zero-window probes (backing off to
		 * minutes), which tests the kernel, not the stream. */
		int small = 4096;
		tcp_pair(sv);
		for (int i = 0; i < 2; i++)
			cr_assert_eq(setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF,
						&small, sizeof(small)), 0);
	} else {
		unix_pair(sv, 4096);
	}
	cio_stream *a = stream(sv[0], NULL), *b = stream(sv[1], NULL);
	struct xfer aw = { a, BIG, 1, 11, true }, ar = { a, BIG, 2, 12, true };
	struct xfer bw = { b, BIG, 2, 13, true }, br = { b, BIG, 1, 14, true };
	cio_task *t[4] = {
		th_spawn_here(writer_fn, &aw), th_spawn_here(reader_fn, &ar),
		th_spawn_here(writer_fn, &bw), th_spawn_here(reader_fn, &br),
	};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(th_join(t[i]), 0);
	th_stream_finish(a, 0);
	th_stream_finish(b, 0);
	return 0;
}

Test(stream, full_duplex_tiny_unix_buffers, .timeout = 60)
{
	int tcp = 0;
	th_run_clean(duplex_task, &tcp);
}

Test(stream, full_duplex_small_tcp_send_buffers_with_half_close, .timeout = 60)
{
	int tcp = 1;
	th_run_clean(duplex_task, &tcp);
}

/* -- back-pressure ----------------------------------------------------------- */

struct slow_peer {
	int fd;
	size_t total;
	cio_stream *s;
	size_t max_seen_after_drain;
};

static intptr_t slow_peer_fn(void *arg)
{
	struct slow_peer *p = arg;
	uint8_t buf[4096];
	size_t got = 0;

	while (got < p->total) {
		ssize_t n = cio_read(p->fd, buf, sizeof(buf), -1, LATER());
		cr_assert_gt(n, 0);
		th_check_pat(buf, (size_t)n, got, 9);
		got += (size_t)n;
		cr_assert_eq(cio_yield(), 0);
	}
	return 0;
}

static intptr_t drain_task(void *arg)
{
	(void)arg;
	struct cio_stream_opts o = { .high_water = 64 * 1024,
				     .low_water = 16 * 1024 };
	const size_t total = 256 * 1024;
	int sv[2];

	unix_pair(sv, 4096);
	cio_stream *s = stream(sv[0], &o);
	uint8_t *data = malloc(total);
	th_fill_pat(data, total, 0, 9);

	/* At or below the high water mark, drain does not wait (the flusher
	 * has not even run yet). */
	cr_assert_eq(cio_stream_write(s, data, 1000), 0);
	cr_assert_eq(cio_stream_drain(s, LATER()), 0);
	cr_assert_eq(cio_stream_write_buffered(s), 1000);
	/* Above it, drain waits until the flusher is down to the low mark. */
	cr_assert_eq(cio_stream_write(s, data + 1000, total - 1000), 0);
	cr_assert_eq(cio_stream_write_buffered(s), total);
	struct slow_peer p = { sv[1], total, s, 0 };
	cio_task *t = th_spawn_here(slow_peer_fn, &p);
	cr_assert_eq(cio_stream_drain(s, LATER()), 0);
	size_t left = cio_stream_write_buffered(s);
	cr_assert_leq(left, 16 * 1024, "drain returned with %zu buffered",
		      left);
	cr_assert_gt(left, 0, "drain waited for the low mark, not for empty");
	/* Below the high mark again: no waiting. */
	cr_assert_eq(cio_stream_drain(s, LATER()), 0);
	cr_assert_eq(cio_stream_flush(s, LATER()), 0);
	cr_assert_eq(cio_stream_write_buffered(s), 0);
	cr_assert_eq(th_join(t), 0);
	free(data);
	cr_assert_eq(cio_close(sv[1]), 0);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, drain_high_low_water_marks, .timeout = 60)
{
	th_run_clean(drain_task, NULL);
}

static intptr_t drainer_fn(void *arg)
{
	return cio_stream_drain(arg, LATER());
}

static intptr_t two_drainers_task(void *arg)
{
	(void)arg;
	const size_t total = 200 * 1024;
	int sv[2];

	unix_pair(sv, 4096);
	cio_stream *s = stream(sv[0], NULL);
	uint8_t *data = malloc(total);
	th_fill_pat(data, total, 0, 9);
	cr_assert_eq(cio_stream_write(s, data, total), 0);
	cio_task *d1 = th_spawn_here(drainer_fn, s);
	cio_task *d2 = th_spawn_here(drainer_fn, s);
	struct slow_peer p = { sv[1], total, s, 0 };
	cio_task *t = th_spawn_here(slow_peer_fn, &p);
	cr_assert_eq(th_join(d1), 0);
	cr_assert_eq(th_join(d2), 0);
	cr_assert_eq(th_join(t), 0);
	free(data);
	cr_assert_eq(cio_close(sv[1]), 0);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, drain_from_two_tasks, .timeout = 60)
{
	th_run_clean(two_drainers_task, NULL);
}

/* -- deadlines and cancellation ----------------------------------------------- */

static void expect_timeout(ssize_t got, int64_t start, int64_t wait)
{
	cr_assert_eq(got, -ETIMEDOUT);
	cr_assert_geq(cio_loop_time() - start, wait);
}

static intptr_t deadlines_task(void *arg)
{
	(void)arg;
	const int64_t w = 20 * MS;
	int sv[2];
	char buf[64];
	int64_t t0;

	unix_pair(sv, 4096);
	cio_stream *s = stream(sv[0], NULL);

	t0 = cio_loop_time();
	expect_timeout(cio_stream_read(s, buf, 8, t0 + w), t0, w);
	send_str(sv[1], "abcd");
	t0 = cio_loop_time();
	expect_timeout(cio_stream_read_exactly(s, buf, 10, t0 + w), t0, w);
	cr_assert_eq(cio_stream_buffered(s), 4, "the partial read is kept");
	t0 = cio_loop_time();
	expect_timeout(cio_stream_read_until(s, "\r\n", 2, buf, sizeof(buf),
					     t0 + w), t0, w);
	t0 = cio_loop_time();
	expect_timeout(cio_stream_readline(s, buf, sizeof(buf), t0 + w), t0, w);
	cr_assert_eq(cio_stream_buffered(s), 4);
	/* The rest arrives; nothing was lost. */
	send_str(sv[1], "efghij\n");
	cr_assert_eq(cio_stream_read_exactly(s, buf, 10, LATER()), 10);
	cr_assert_eq(memcmp(buf, "abcdefghij", 10), 0);
	/* A deadline already passed still returns what is buffered... */
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf),
					 cio_loop_time() - 1), 1);
	/* ... and times out at once otherwise. */
	cr_assert_eq(cio_stream_read(s, buf, 1, cio_loop_time() - 1),
		     -ETIMEDOUT);

	/* The write side: nobody reads the peer. */
	const size_t total = 512 * 1024;
	uint8_t *data = malloc(total);
	th_fill_pat(data, total, 0, 9);
	cr_assert_eq(cio_stream_write(s, data, total), 0);
	t0 = cio_loop_time();
	expect_timeout(cio_stream_drain(s, t0 + w), t0, w);
	t0 = cio_loop_time();
	expect_timeout(cio_stream_flush(s, t0 + w), t0, w);
	cr_assert_eq(cio_stream_close(s), 0);
	t0 = cio_loop_time();
	expect_timeout(cio_stream_wait_closed(s, t0 + w), t0, w);
	/* The deadline only ended the waits: everything still arrives. */
	struct slow_peer p = { sv[1], total, s, 0 };
	cio_task *t = th_spawn_here(slow_peer_fn, &p);
	cr_assert_eq(cio_stream_wait_closed(s, LATER()), 0);
	cr_assert_eq(th_join(t), 0);
	cr_assert_eq(cio_read(sv[1], buf, 1, -1, LATER()), 0);
	cio_stream_free(s);
	free(data);
	cr_assert_eq(cio_close(sv[1]), 0);
	return 0;
}

Test(stream, deadline_on_every_kind_of_call, .timeout = 60)
{
	th_run_clean(deadlines_task, NULL);
}

struct reader_arg {
	cio_stream *s;
	size_t n;
	char buf[64];
};

static intptr_t read_exactly_fn(void *arg)
{
	struct reader_arg *r = arg;
	return cio_stream_read_exactly(r->s, r->buf, r->n, LATER());
}

static intptr_t read_fn(void *arg)
{
	struct reader_arg *r = arg;
	return cio_stream_read(r->s, r->buf, r->n, LATER());
}

static intptr_t cancel_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[16];

	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], NULL);
	struct reader_arg r = { .s = s, .n = 10 };
	cio_task *t = th_spawn_here(read_exactly_fn, &r);
	wait_reader_parked(s);
	send_str(sv[1], "0123");
	/* The four bytes land in the buffer; the reader parks again. */
	while (cio_stream_buffered(s) < 4 ||
	       s->reader->state != CIO__TASK_PARKED)
		cr_assert_eq(cio_yield(), 0);
	/* Another reader is refused meanwhile. */
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), -EBUSY);
	cio_task_cancel(t);
	cr_assert_eq(th_join(t), -ECANCELED);
	cr_assert_eq(cio_stream_buffered(s), 4);
	send_str(sv[1], "456789");
	cr_assert_eq(cio_stream_read_exactly(s, buf, 10, LATER()), 10);
	cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
	cr_assert_eq(cio_close(sv[1]), 0);
	th_stream_finish(s, 0);
	return 0;
}

Test(stream, cancelled_read_loses_nothing, .timeout = 60)
{
	th_run_clean(cancel_task, NULL);
}

/* -- end of file, resets, half-close ------------------------------------------- */

static intptr_t eof_states_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[64];

	/* A reader parked when the peer closes. */
	unix_pair(sv, 0);
	cio_stream *s = stream(sv[0], NULL);
	struct reader_arg r = { .s = s, .n = 8 };
	cio_task *t = th_spawn_here(read_fn, &r);
	wait_reader_parked(s);
	cr_assert_eq(cio_close(sv[1]), 0);
	cr_assert_eq(th_join(t), 0);
	th_stream_finish(s, 0);

	/* Parked in read_exactly with part of it buffered. */
	unix_pair(sv, 0);
	s = stream(sv[0], NULL);
	r = (struct reader_arg){ .s = s, .n = 8 };
	t = th_spawn_here(read_exactly_fn, &r);
	wait_reader_parked(s);
	send_str(sv[1], "abc");
	while (cio_stream_buffered(s) < 3 ||
	       s->reader->state != CIO__TASK_PARKED)
		cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_close(sv[1]), 0);
	cr_assert_eq(th_join(t), -EPIPE);
	cr_assert_eq(cio_stream_read(s, buf, sizeof(buf), LATER()), 3);
	cr_assert_eq(cio_stream_read(s, buf, sizeof(buf), LATER()), 0);
	th_stream_finish(s, 0);

	/* Data buffered, then end of file: data first. */
	unix_pair(sv, 0);
	s = stream(sv[0], NULL);
	send_str(sv[1], "xyz\n12");
	cr_assert_eq(cio_close(sv[1]), 0);
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), 1);
	cr_assert_eq(cio_stream_read_until(s, "\n", 1, buf, sizeof(buf),
					   LATER()), 3);
	cr_assert_eq(cio_stream_read_exactly(s, buf, 3, LATER()), -EPIPE);
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()), 2);
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), 0);
	/* The write side is still open after the peer's end of file? The
	 * peer is gone entirely: the write fails, and the error sticks. */
	cr_assert_eq(cio_stream_write(s, "q", 1), 0);
	cr_assert_eq(cio_stream_flush(s, LATER()), -EPIPE);
	cr_assert_eq(cio_stream_write(s, "q", 1), -EPIPE);
	cr_assert_eq(cio_stream_drain(s, LATER()), -EPIPE);
	th_stream_finish(s, -EPIPE);
	return 0;
}

Test(stream, eof_in_every_read_state, .timeout = 60)
{
	th_run_clean(eof_states_task, NULL);
}

static intptr_t reset_task(void *arg)
{
	(void)arg;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int sv[2];
	char buf[64];

	tcp_pair(sv);
	cio_stream *s = stream(sv[0], NULL);
	send_str(sv[1], "hi");
	cr_assert_eq(cio_stream_read_exactly(s, buf, 2, LATER()), 2);
	struct reader_arg r = { .s = s, .n = 8 };
	cio_task *t = th_spawn_here(read_fn, &r);
	wait_reader_parked(s);
	/* The peer resets the connection under a parked reader. */
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
		     0);
	cr_assert_eq(cio_close(sv[1]), 0);
	cr_assert_eq(th_join(t), -ECONNRESET);
	/* Sticky. */
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), -ECONNRESET);
	cr_assert_eq(cio_stream_readline(s, buf, sizeof(buf), LATER()),
		     -ECONNRESET);
	cr_assert_eq(cio_stream_write(s, "x", 1), 0);
	int e = cio_stream_flush(s, LATER());
	cr_assert(e == -EPIPE || e == -ECONNRESET, "flush: %d", e);
	cr_assert_eq(cio_stream_write(s, "x", 1), e);
	th_stream_finish(s, e);
	return 0;
}

Test(stream, peer_reset, .timeout = 60)
{
	th_run_clean(reset_task, NULL);
}

static intptr_t half_close_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[64];

	tcp_pair(sv);
	cio_stream *a = stream(sv[0], NULL), *b = stream(sv[1], NULL);
	cr_assert_eq(cio_stream_write(a, "request", 7), 0);
	cr_assert_eq(cio_stream_write_eof(a), 0);
	cr_assert_eq(cio_stream_write_eof(a), 0, "again: nothing to do");
	cr_assert_eq(cio_stream_write(a, "more", 4), -EPIPE);
	/* The peer reads the request to its end... */
	cr_assert_eq(cio_stream_read_exactly(b, buf, 7, LATER()), 7);
	cr_assert_eq(memcmp(buf, "request", 7), 0);
	cr_assert_eq(cio_stream_read(b, buf, sizeof(buf), LATER()), 0);
	/* ... and answers on its half, still open. */
	cr_assert_eq(cio_stream_write(b, "response\n", 9), 0);
	th_stream_finish(b, 0);
	cr_assert_eq(cio_stream_readline(a, buf, sizeof(buf), LATER()), 9);
	cr_assert_eq(memcmp(buf, "response\n", 9), 0);
	cr_assert_eq(cio_stream_readline(a, buf, sizeof(buf), LATER()), 0);
	th_stream_finish(a, 0);
	return 0;
}

Test(stream, half_close, .timeout = 60)
{
	th_run_clean(half_close_task, NULL);
}

/* -- closing ------------------------------------------------------------------- */

static intptr_t close_task(void *arg)
{
	(void)arg;
	const size_t total = 100 * 1000;
	int sv[2];
	char buf[16];

	unix_pair(sv, 4096);
	cio_stream *s = stream(sv[0], NULL);
	struct reader_arg r = { .s = s, .n = 8 };
	cio_task *t = th_spawn_here(read_fn, &r);
	wait_reader_parked(s);
	uint8_t *data = malloc(total);
	th_fill_pat(data, total, 0, 9);
	cr_assert_eq(cio_stream_write(s, data, total), 0);
	cr_assert_eq(cio_stream_close(s), 0);
	cr_assert_eq(cio_stream_close(s), 0, "twice");
	cr_assert(cio_stream_is_closing(s));
	/* Closing: no new calls. */
	cr_assert_eq(cio_stream_write(s, "x", 1), -EBADF);
	cr_assert_eq(cio_stream_read(s, buf, 1, LATER()), -EBADF);
	cr_assert_eq(cio_stream_drain(s, LATER()), -EBADF);
	cr_assert_eq(cio_stream_write_eof(s), -EBADF);
	/* The buffered data is flushed first, then the reader leaves. */
	struct slow_peer p = { sv[1], total, s, 0 };
	cio_task *pt = th_spawn_here(slow_peer_fn, &p);
	cr_assert_eq(th_join(pt), 0);
	cr_assert_eq(cio_read(sv[1], buf, 1, -1, LATER()), 0, "then EOF");
	cr_assert_eq(th_join(t), -EBADF);
	cr_assert_eq(cio_stream_wait_closed(s, LATER()), 0);
	cr_assert_eq(cio_stream_wait_closed(s, LATER()), 0, "twice");
	cr_assert_eq(cio_stream_fd(s), -EBADF);
	cr_assert_eq(cio_stream_abort(s), 0, "after close: nothing");
	cio_stream_free(s);
	free(data);
	cr_assert_eq(cio_close(sv[1]), 0);
	return 0;
}

Test(stream, close_flushes_then_ends_the_reader, .timeout = 60)
{
	th_run_clean(close_task, NULL);
}

static intptr_t abort_task(void *arg)
{
	(void)arg;
	const size_t total = 1024 * 1024;
	int sv[2];
	uint8_t buf[4096];

	unix_pair(sv, 4096);
	cio_stream *s = stream(sv[0], NULL);
	uint8_t *data = malloc(total);
	th_fill_pat(data, total, 0, 9);
	cr_assert_eq(cio_stream_write(s, data, total), 0);
	/* Let the flusher park in a send the peer does not read. */
	while (!s->flusher_sending || s->flusher->state != CIO__TASK_PARKED)
		cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_stream_abort(s), 0);
	cr_assert_eq(cio_stream_write_buffered(s), 0);
	cr_assert_eq(cio_stream_wait_closed(s, LATER()), -ECONNABORTED);
	size_t got = 0;
	ssize_t n;
	while ((n = cio_read(sv[1], buf, sizeof(buf), -1, LATER())) > 0) {
		th_check_pat(buf, (size_t)n, got, 9);
		got += (size_t)n;
	}
	cr_assert_eq(n, 0);
	cr_assert_lt(got, total, "the rest was dropped");
	cio_stream_free(s);
	free(data);
	cr_assert_eq(cio_close(sv[1]), 0);
	return 0;
}

Test(stream, abort_drops_unsent_data, .timeout = 60)
{
	th_run_clean(abort_task, NULL);
}

static intptr_t free_open_task(void *arg)
{
	(void)arg;
	int sv[2];
	char buf[8];

	/* Freed with data buffered and no close: aborted, fd closed. */
	unix_pair(sv, 4096);
	cio_stream *s = stream(sv[0], NULL);
	cr_assert_eq(cio_stream_write(s, "abc", 3), 0);
	cio_stream_free(s);
	cr_assert_eq(cio_read(sv[1], buf, sizeof(buf), -1, LATER()), 0);
	/* The orphaned flusher ends right after the close it awaited. */
	while (cio_all_tasks(NULL, NULL, 0) > 1)
		cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_close(sv[1]), 0);

	/* Closed but not waited for: the flush goes on in the background. */
	unix_pair(sv, 4096);
	s = stream(sv[0], NULL);
	cr_assert_eq(cio_stream_write(s, "abc", 3), 0);
	cr_assert_eq(cio_stream_close(s), 0);
	cio_stream_free(s);
	cr_assert_eq(cio_read(sv[1], buf, sizeof(buf), -1, LATER()), 3);
	cr_assert_eq(cio_read(sv[1], buf, sizeof(buf), -1, LATER()), 0);
	while (cio_all_tasks(NULL, NULL, 0) > 1)
		cr_assert_eq(cio_yield(), 0);
	cr_assert_eq(cio_close(sv[1]), 0);

	/* Nothing buffered: free closes right here. */
	unix_pair(sv, 0);
	s = stream(sv[0], NULL);
	cio_stream_free(s);
	cr_assert_eq(fcntl(sv[0], F_GETFD), -1);
	cr_assert_eq(cio_close(sv[1]), 0);

	/* KEEP_FD: the descriptor stays ours. */
	struct cio_stream_opts o = { .flags = CIO_STREAM_KEEP_FD };
	unix_pair(sv, 0);
	s = stream(sv[0], &o);
	cr_assert_eq(cio_stream_write(s, "k", 1), 0);
	th_stream_finish(s, 0);
	cr_assert_geq(fcntl(sv[0], F_GETFD), 0);
	cr_assert_eq(cio_read(sv[1], buf, sizeof(buf), -1, LATER()), 1);
	cr_assert_eq(cio_close(sv[0]), 0);
	cr_assert_eq(cio_close(sv[1]), 0);
	return 0;
}

Test(stream, free_without_close_and_keep_fd, .timeout = 60)
{
	th_run_clean(free_open_task, NULL);
}

/* -- regular files -------------------------------------------------------------- */

static intptr_t file_task(void *arg)
{
	(void)arg;
	char path[] = "/tmp/cio-stream-XXXXXX";
	const size_t total = 300 * 1000;
	int fd = mkstemp(path);
	char line[64];

	cr_assert_geq(fd, 0);
	cio_stream *s = stream(fd, NULL);
	uint8_t *data = malloc(total), *back = malloc(total);
	th_fill_pat(data, total, 0, 4);
	for (size_t off = 0; off < total; off += 7000) {
		size_t n = total - off < 7000 ? total - off : 7000;
		cr_assert_eq(cio_stream_write(s, data + off, n), 0);
	}
	cr_assert_eq(cio_stream_write(s, "one\ntwo\n", 8), 0);
	th_stream_finish(s, 0);

	fd = cio_open(path, O_RDONLY, 0);
	cr_assert_geq(fd, 0);
	s = stream(fd, NULL);
	cr_assert_eq(cio_stream_read_exactly(s, back, total, LATER()),
		     (ssize_t)total);
	th_check_pat(back, total, 0, 4);
	cr_assert_eq(cio_stream_readline(s, line, sizeof(line), LATER()), 4);
	cr_assert_eq(cio_stream_readline(s, line, sizeof(line), LATER()), 4);
	cr_assert_eq(memcmp(line, "two\n", 4), 0);
	cr_assert_eq(cio_stream_read(s, line, sizeof(line), LATER()), 0);
	th_stream_finish(s, 0);
	cr_assert_eq(cio_unlink(path), 0);
	free(data);
	free(back);
	return 0;
}

Test(stream, regular_file, .timeout = 60)
{
	th_run_clean(file_task, NULL);
}

/* CIO_STREAM_RECV_ONESHOT: the same full-duplex transfer over TCP with
 * one-shot receives into the stream's buffer (on io_uring this bypasses
 * the multishot receive and the buffer ring). */
static intptr_t oneshot_duplex_task(void *arg)
{
	struct cio_stream_opts o = { .flags = CIO_STREAM_RECV_ONESHOT };
	int sv[2];

	(void)arg;
	tcp_pair(sv);
	cio_stream *a = stream(sv[0], &o), *b = stream(sv[1], &o);
	struct xfer aw = { a, BIG, 1, 21, true }, ar = { a, BIG, 2, 22, true };
	struct xfer bw = { b, BIG, 2, 23, true }, br = { b, BIG, 1, 24, true };
	cio_task *t[4] = {
		th_spawn_here(writer_fn, &aw), th_spawn_here(reader_fn, &ar),
		th_spawn_here(writer_fn, &bw), th_spawn_here(reader_fn, &br),
	};
	for (int i = 0; i < 4; i++)
		cr_assert_eq(th_join(t[i]), 0);
	th_stream_finish(a, 0);
	th_stream_finish(b, 0);
	return 0;
}

Test(stream, recv_oneshot_flag_full_duplex_tcp, .timeout = 60)
{
	th_run_clean(oneshot_duplex_task, NULL);
}
