/* Multishot receive through the provided buffer ring (io/recv_ring.h):
 * data integrity across buffer boundaries, a ring too small for the
 * traffic (-ENOBUFS re-arms, nothing lost), one connection hoarding
 * buffers while another still makes progress, cancellation keeping
 * queued data, EOF and errors. On epoll the same calls are one-shot
 * receives, and the same tests hold. */
#include "helpers/harness.h"
#include "io/recv_ring.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(recv_ring, .timeout = 60);

static cio_loop *small_ring_loop(unsigned n, unsigned size)
{
	struct cio_loop_opts o = { .recv_buffers = n, .recv_buffer_size = size };
	return th_loop_new_opts(&o);
}

struct pair {
	int sv[2];
	size_t total;
};

static intptr_t sender(void *arg)
{
	struct pair *p = arg;
	char buf[1000];
	size_t sent = 0;
	while (sent < p->total) {
		size_t n = p->total - sent < sizeof(buf) ? p->total - sent : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)((sent + i) % 251);
		ssize_t r = cio_send(p->sv[0], buf, n, 0, CIO_NO_DEADLINE);
		cr_assert_gt(r, 0);
		sent += (size_t)r;
	}
	cio_shutdown(p->sv[0], SHUT_WR);
	return 0;
}

static intptr_t receiver(void *arg)
{
	struct pair *p = arg;
	struct cio__mrecv *m;
	char buf[777];
	size_t got = 0;
	cr_assert_eq(cio__mrecv_open(&m, p->sv[1]), 0);
	for (;;) {
		ssize_t r = cio__mrecv_read(m, buf, sizeof(buf), CIO_NO_DEADLINE);
		cr_assert_geq(r, 0, "read: %zd", r);
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			cr_assert_eq(buf[i], (char)((got + (size_t)i) % 251),
				     "byte %zu", got + (size_t)i);
		got += (size_t)r;
	}
	cr_assert_eq(got, p->total);
	/* EOF stays EOF */
	cr_assert_eq(cio__mrecv_read(m, buf, sizeof(buf), CIO_NO_DEADLINE), 0);
	cio__mrecv_close(m);
	return 0;
}

static intptr_t many(void *arg)
{
	int n = (int)(intptr_t)arg;
	struct pair p[64];
	cio_task *t[128];
	for (int i = 0; i < n; i++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p[i].sv), 0);
		p[i].total = 200000 + (size_t)i * 1000;
		cr_assert_eq(cio_spawn(&t[2 * i], receiver, &p[i], NULL), 0);
		cr_assert_eq(cio_spawn(&t[2 * i + 1], sender, &p[i], NULL), 0);
	}
	for (int i = 0; i < 2 * n; i++) {
		cr_assert_eq(cio_await((cio_future *)t[i]), 0);
		cio_task_unref(t[i]);
	}
	for (int i = 0; i < n; i++) {
		cio_close(p[i].sv[0]);
		cio_close(p[i].sv[1]);
	}
	return 0;
}

Test(recv_ring, data_integrity_default_ring)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, many, (void *)(intptr_t)16), 0);
	th_loop_free(loop);
}

/* 8 buffers of 64 bytes for 32 connections: the ring runs dry all the
 * time; every byte still arrives in order. */
Test(recv_ring, ring_too_small_loses_nothing)
{
	cio_loop *loop = small_ring_loop(8, 64);
	cr_assert_eq(th_run(loop, many, (void *)(intptr_t)32), 0);
	th_loop_free(loop);
}

/* A connection whose reader never reads holds at most its share of the
 * ring; another connection keeps receiving. */
static intptr_t hoarder(void *arg)
{
	(void)arg;
	int a[2], b[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	struct cio__mrecv *ma, *mb;
	cr_assert_eq(cio__mrecv_open(&ma, a[1]), 0);
	cr_assert_eq(cio__mrecv_open(&mb, b[1]), 0);
	char buf[64];
	/* arm a's multishot, then never read again while data pours in */
	cr_assert_eq(cio__mrecv_read(ma, buf, 1, cio_deadline_after(1000)), -ETIMEDOUT);
	char blob[64];
	memset(blob, 'a', sizeof(blob));
	for (int i = 0; i < 200; i++)
		cr_assert_eq(cio_send(a[0], blob, sizeof(blob), 0, CIO_NO_DEADLINE), 64);
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(cio_send(b[0], "0123456789", 10, 0, CIO_NO_DEADLINE), 10);
		size_t got = 0;
		while (got < 10) {
			ssize_t r = cio__mrecv_read(mb, buf + got, 10 - got,
						    cio_deadline_after(5 * CIO_NSEC_PER_SEC));
			cr_assert_gt(r, 0, "b starved: %zd", r);
			got += (size_t)r;
		}
		cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
	}
	/* a's data is all there, in order */
	size_t total = 0;
	while (total < 200 * 64) {
		ssize_t r = cio__mrecv_read(ma, buf, sizeof(buf), CIO_NO_DEADLINE);
		cr_assert_gt(r, 0);
		for (ssize_t i = 0; i < r; i++)
			cr_assert_eq(buf[i], 'a');
		total += (size_t)r;
	}
	cio__mrecv_close(ma);
	cio__mrecv_close(mb);
	cio_close(a[0]); cio_close(a[1]); cio_close(b[0]); cio_close(b[1]);
	return 0;
}

Test(recv_ring, one_hoarder_does_not_starve_others)
{
	cio_loop *loop = small_ring_loop(16, 64);
	cr_assert_eq(th_run(loop, hoarder, NULL), 0);
	th_loop_free(loop);
}

/* A reader cancelled while parked: data arriving after stays queued for
 * the next read. */
struct cx {
	struct cio__mrecv *m;
	ssize_t r;
};

static intptr_t parked_reader(void *arg)
{
	struct cx *c = arg;
	char buf[8];
	c->r = cio__mrecv_read(c->m, buf, sizeof(buf), CIO_NO_DEADLINE);
	return 0;
}

static intptr_t cancel_keeps_data(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct cx c;
	cr_assert_eq(cio__mrecv_open(&c.m, sv[1]), 0);
	cio_task *t;
	cr_assert_eq(cio_spawn(&t, parked_reader, &c, NULL), 0);
	cio_yield();
	cio_task_cancel(t);
	cr_assert_eq(cio_await((cio_future *)t), 0);
	cio_task_unref(t);
	cr_assert_eq(c.r, -ECANCELED);
	cr_assert_eq(cio_send(sv[0], "kept", 4, 0, CIO_NO_DEADLINE), 4);
	char buf[8];
	cr_assert_eq(cio__mrecv_read(c.m, buf, sizeof(buf), CIO_NO_DEADLINE), 4);
	cr_assert_eq(memcmp(buf, "kept", 4), 0);
	/* a peer reset is reported after the data */
	cr_assert_eq(cio_send(sv[0], "x", 1, 0, CIO_NO_DEADLINE), 1);
	cio_close(sv[0]);
	cr_assert_eq(cio__mrecv_read(c.m, buf, sizeof(buf), CIO_NO_DEADLINE), 1);
	cr_assert_eq(cio__mrecv_read(c.m, buf, sizeof(buf), CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio__mrecv_read(c.m, NULL, 1, CIO_NO_DEADLINE), -EFAULT);
	cio__mrecv_close(c.m);
	cio_close(sv[1]);
	return 0;
}

Test(recv_ring, cancelled_reader_keeps_data)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, cancel_keeps_data, NULL), 0);
	th_loop_free(loop);
}

/* Closing with data queued and the multishot armed, then the loop. */
static intptr_t close_armed(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct cio__mrecv *m;
	cr_assert_eq(cio__mrecv_open(&m, sv[1]), 0);
	char b[4];
	cr_assert_eq(cio_send(sv[0], "abcdefgh", 8, 0, CIO_NO_DEADLINE), 8);
	cr_assert_eq(cio__mrecv_read(m, b, 4, CIO_NO_DEADLINE), 4);
	cio__mrecv_close(m);
	cio_close(sv[0]);
	cio_close(sv[1]);
	return 0;
}

Test(recv_ring, close_while_armed)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, close_armed, NULL), 0);
	th_loop_free(loop);
	th_leak_check();
}

Test(recv_ring, bad_options)
{
	struct cio_loop_opts o = { .recv_buffers = 100 };
	cio_loop *loop;
	cr_assert_eq(cio_loop_new(&loop, &o), -EINVAL, "not a power of two");
	o.recv_buffers = 65536;
	cr_assert_eq(cio_loop_new(&loop, &o), -EINVAL);
	o.recv_buffers = 0;
	o.recv_buffer_size = 2u << 20;
	cr_assert_eq(cio_loop_new(&loop, &o), -EINVAL);
	cr_assert_eq(cio__mrecv_open(NULL, -1), -EBADF);
}
