/* Socket operations on both backends: TCP and UDP round trips, multishot
 * accept, deadlines on each kind of operation, peer reset, SIGPIPE,
 * cancellation safety (no write into a cancelled task's buffer, no fd
 * leak) and a small completion ring that overflows. */
#include "helpers/harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(socket, .timeout = 60);

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int listener(struct sockaddr_in *sa, int backlog)
{
	socklen_t len = sizeof(*sa);
	int fd = cio_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(cio_bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	cr_assert_eq(cio_listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

static int connect_to(const struct sockaddr_in *sa)
{
	int fd = cio_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	int r = cio_connect(fd, (const struct sockaddr *)sa, sizeof(*sa),
			    CIO_NO_DEADLINE);
	cr_assert_eq(r, 0, "connect: %s", strerror(-r));
	return fd;
}

static intptr_t tcp_roundtrip(void *arg)
{
	(void)arg;
	struct sockaddr_in sa, peer;
	socklen_t plen = sizeof(peer);
	int l = listener(&sa, 16);
	int c = connect_to(&sa);
	int s = cio_accept(l, (struct sockaddr *)&peer, &plen, CIO_NO_DEADLINE);
	cr_assert_geq(s, 0);
	cr_assert_eq(plen, sizeof(peer));
	cr_assert_eq(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert(fcntl(s, F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(s, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(cio_send(c, "ping", 4, 0, CIO_NO_DEADLINE), 4);
	char b[16];
	cr_assert_eq(cio_recv(s, b, sizeof(b), 0, CIO_NO_DEADLINE), 4);
	cr_assert_eq(memcmp(b, "ping", 4), 0);
	/* msg forms */
	struct iovec iov[2] = { { "po", 2 }, { "ng", 2 } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };
	cr_assert_eq(cio_sendmsg(s, &m, 0, CIO_NO_DEADLINE), 4);
	struct iovec riov = { b, sizeof(b) };
	struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1 };
	cr_assert_eq(cio_recvmsg(c, &rm, 0, CIO_NO_DEADLINE), 4);
	cr_assert_eq(memcmp(b, "pong", 4), 0);
	/* read/write work on sockets too */
	cr_assert_eq(cio_write(c, "abc", 3, -1, CIO_NO_DEADLINE), 3);
	cr_assert_eq(cio_read(s, b, 3, -1, CIO_NO_DEADLINE), 3);
	/* half close: the peer sees EOF, the other direction still works */
	cr_assert_eq(cio_shutdown(c, SHUT_WR), 0);
	cr_assert_eq(cio_recv(s, b, sizeof(b), 0, CIO_NO_DEADLINE), 0);
	cr_assert_eq(cio_send(s, "late", 4, 0, CIO_NO_DEADLINE), 4);
	cr_assert_eq(cio_recv(c, b, sizeof(b), 0, CIO_NO_DEADLINE), 4);
	cr_assert_eq(cio_shutdown(c, 42), -EINVAL);
	cr_assert_eq(cio_close(c), 0);
	cr_assert_eq(cio_close(s), 0);
	cr_assert_eq(cio_close(l), 0);
	return 0;
}

Test(socket, tcp_roundtrip)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, tcp_roundtrip, NULL), 0);
	th_loop_free(loop);
}

static intptr_t udp(void *arg)
{
	(void)arg;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = a, from;
	socklen_t len = sizeof(a), flen = sizeof(from);
	int x = cio_socket(AF_INET, SOCK_DGRAM, 0);
	int y = cio_socket(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(cio_bind(x, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(cio_bind(y, (struct sockaddr *)&b, sizeof(b)), 0);
	getsockname(x, (struct sockaddr *)&a, &len);
	getsockname(y, (struct sockaddr *)&b, &len);
	cr_assert_eq(cio_sendto(x, "dgram", 5, 0, (struct sockaddr *)&b,
				sizeof(b), CIO_NO_DEADLINE), 5);
	char buf[16];
	cr_assert_eq(cio_recvfrom(y, buf, sizeof(buf), 0,
				  (struct sockaddr *)&from, &flen,
				  CIO_NO_DEADLINE), 5);
	cr_assert_eq(from.sin_port, a.sin_port);
	cr_assert_eq(memcmp(buf, "dgram", 5), 0);
	/* nothing more: the deadline ends the wait */
	cr_assert_eq(cio_recvfrom(y, buf, sizeof(buf), 0, NULL, NULL,
				  cio_deadline_after(10 * CIO_NSEC_PER_MSEC)),
		     -ETIMEDOUT);
	cr_assert_eq(cio_recvfrom(y, buf, 1, 0, NULL, &flen, CIO_NO_DEADLINE),
		     -EFAULT);
	cio_close(x);
	cio_close(y);
	return 0;
}

Test(socket, udp)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, udp, NULL), 0);
	th_loop_free(loop);
}

/* Many connections queue before anyone accepts; each is accepted once. */
static intptr_t many_accepts(void *arg)
{
	(void)arg;
	enum { N = 300 };
	struct sockaddr_in sa;
	int l = listener(&sa, N);
	int c[N];
	for (int i = 0; i < N; i++) {
		c[i] = cio_socket(AF_INET, SOCK_STREAM, 0);
		cr_assert_eq(cio_connect(c[i], (struct sockaddr *)&sa,
					 sizeof(sa), CIO_NO_DEADLINE), 0);
		uint16_t tag = (uint16_t)i;
		cr_assert_eq(cio_send(c[i], &tag, 2, 0, CIO_NO_DEADLINE), 2);
	}
	bool seen[N] = { false };
	for (int i = 0; i < N; i++) {
		int s = cio_accept(l, NULL, NULL, CIO_NO_DEADLINE);
		cr_assert_geq(s, 0, "accept %d: %d", i, s);
		uint16_t tag;
		cr_assert_eq(cio_recv(s, &tag, 2, 0, CIO_NO_DEADLINE), 2);
		cr_assert(tag < N && !seen[tag]);
		seen[tag] = true;
		cio_close(s);
	}
	/* the next accept has nothing: its deadline ends it */
	cr_assert_eq(cio_accept(l, NULL, NULL,
				cio_deadline_after(10 * CIO_NSEC_PER_MSEC)),
		     -ETIMEDOUT);
	for (int i = 0; i < N; i++)
		cio_close(c[i]);
	cio_close(l);
	return 0;
}

Test(socket, many_accepts)
{
	int before = th_count_fds();
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, many_accepts, NULL), 0);
	th_loop_free(loop);
	cr_assert_eq(th_count_fds(), before);
}

/* Deadlines: recv with nothing to read, send into a full buffer, accept
 * with nobody connecting, connect to a full backlog. */
static intptr_t deadlines(void *arg)
{
	(void)arg;
	struct sockaddr_in sa;
	int l = listener(&sa, 1);
	int c = connect_to(&sa);
	int s = cio_accept(l, NULL, NULL, CIO_NO_DEADLINE);
	char b[4096];
	int64_t ms = CIO_NSEC_PER_MSEC;

	cr_assert_eq(cio_recv(s, b, sizeof(b), 0, cio_deadline_after(5 * ms)),
		     -ETIMEDOUT);
	int small = 4096;
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(b, 'x', sizeof(b));
	ssize_t r;
	size_t sent = 0;
	while ((r = cio_send(c, b, sizeof(b), 0, cio_deadline_after(20 * ms))) > 0)
		sent += (size_t)r;
	cr_assert_eq(r, -ETIMEDOUT);
	cr_assert_gt(sent, 0);
	cr_assert_eq(cio_accept(l, NULL, NULL, cio_deadline_after(5 * ms)),
		     -ETIMEDOUT);
	cr_assert_eq(cio_accept(l, NULL, NULL, cio_deadline_after(-ms)),
		     -ETIMEDOUT);
	cio_close(c);
	cio_close(s);
	cio_close(l);
	return 0;
}

Test(socket, deadlines)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, deadlines, NULL), 0);
	th_loop_free(loop);
}

/* The peer resets the connection; writing to a closed peer gives -EPIPE
 * (or -ECONNRESET), never SIGPIPE. */
static intptr_t reset(void *arg)
{
	(void)arg;
	struct sockaddr_in sa;
	int l = listener(&sa, 4);
	int c = connect_to(&sa);
	int s = cio_accept(l, NULL, NULL, CIO_NO_DEADLINE);
	struct linger lg = { 1, 0 };
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	cio_close(c);
	char b[8];
	cr_assert_eq(cio_recv(s, b, sizeof(b), 0, CIO_NO_DEADLINE), -ECONNRESET);
	ssize_t r = 0;
	for (int i = 0; i < 4 && r >= 0; i++)
		r = cio_send(s, "x", 1, 0, CIO_NO_DEADLINE);
	cr_assert(r == -EPIPE || r == -ECONNRESET, "%zd", r);
	for (int i = 0; i < 4 && r >= 0; i++)
		r = cio_write(s, "x", 1, -1, CIO_NO_DEADLINE);
	cr_assert(r == -EPIPE || r == -ECONNRESET, "%zd", r);
	cio_close(s);
	/* a pipe whose reader is gone */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	cr_assert_eq(cio_write(p[1], "x", 1, -1, CIO_NO_DEADLINE), -EPIPE);
	cio_close(p[1]);
	cio_close(l);
	return 0;
}

Test(socket, peer_reset_and_no_sigpipe)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, reset, NULL), 0);
	th_loop_free(loop);
	struct sigaction sa;
	sigaction(SIGPIPE, NULL, &sa);
	cr_assert_eq(sa.sa_handler, SIG_IGN);
}

static intptr_t refused(void *arg)
{
	(void)arg;
	struct sockaddr_in sa;
	int l = listener(&sa, 1);
	cio_close(l); /* nobody listens on that port now */
	int c = cio_socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(cio_connect(c, (struct sockaddr *)&sa, sizeof(sa),
				 CIO_NO_DEADLINE), -ECONNREFUSED);
	cio_close(c);
	cr_assert_eq(cio_connect(-1, (struct sockaddr *)&sa, sizeof(sa), 0), -EBADF);
	cr_assert_eq(cio_connect(0, NULL, 0, 0), -EFAULT);
	cr_assert_eq(cio_accept(-1, NULL, NULL, 0), -EBADF);
	socklen_t len;
	cr_assert_eq(cio_accept(0, NULL, &len, 0), -EFAULT);
	cr_assert_eq(cio_recv(-1, NULL, 0, 0, 0), -EBADF);
	cr_assert_eq(cio_send(0, NULL, 1, 0, 0), -EFAULT);
	cr_assert_eq(cio_recvmsg(0, NULL, 0, 0), -EFAULT);
	cr_assert_eq(cio_bind(0, NULL, 0), -EFAULT);
	/* not a socket */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(cio_recv(p[0], &len, 1, 0, CIO_NO_DEADLINE), -ENOTSOCK);
	cio_close(p[0]);
	cio_close(p[1]);
	return 0;
}

Test(socket, refused_and_bad_input)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, refused, NULL), 0);
	th_loop_free(loop);
	cr_assert_eq(cio_recv(0, NULL, 0, 0, 0), -EPERM, "outside a task");
	cr_assert_eq(cio_accept(0, NULL, NULL, 0), -EPERM);
}

/* Cancellation safety: a receive into a buffer on the task's stack is
 * cancelled; after the task resumes, data sent to the socket must land
 * elsewhere and the buffer must stay untouched. */
struct stackbuf {
	int fd;
	bool resumed;
	char *buf;
};

static intptr_t stack_reader(void *arg)
{
	struct stackbuf *sb = arg;
	char buf[64];
	memset(buf, 0, sizeof(buf));
	sb->buf = buf;
	ssize_t r = cio_recv(sb->fd, buf, sizeof(buf), 0, CIO_NO_DEADLINE);
	cr_assert_eq(r, -ECANCELED);
	memset(buf, 0xAA, sizeof(buf));
	sb->resumed = true;
	/* Stay alive (stack intact) until the data has gone elsewhere. */
	cr_assert_eq(cio_sleep(30 * CIO_NSEC_PER_MSEC), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq((unsigned char)buf[i], 0xAA, "byte %zu written", i);
	return 0;
}

static intptr_t cancel_safety(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct stackbuf sb = { .fd = sv[0] };
	cio_task *t;
	cr_assert_eq(cio_spawn(&t, stack_reader, &sb, NULL), 0);
	cio_yield();
	cio_yield();
	cio_task_cancel(t);
	while (!sb.resumed)
		cio_yield();
	cr_assert_eq(cio_send(sv[1], "0123456789", 10, 0, CIO_NO_DEADLINE), 10);
	char b[16];
	cr_assert_eq(cio_recv(sv[0], b, sizeof(b), 0, CIO_NO_DEADLINE), 10);
	cr_assert_eq(cio_await((cio_future *)t), 0);
	cio_task_unref(t);
	cio_close(sv[0]);
	cio_close(sv[1]);
	return 0;
}

Test(socket, cancelled_receive_never_writes_the_stack)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, cancel_safety, NULL), 0);
	th_loop_free(loop);
}

/* A storm of cancellations against accepts, connects, receives and sends:
 * afterwards the process holds exactly the descriptors it held before. */
struct storm {
	struct sockaddr_in sa;
	int l;
};

static intptr_t storm_client(void *arg)
{
	struct storm *st = arg;
	int c = cio_socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0)
		return c;
	int r = cio_connect(c, (struct sockaddr *)&st->sa, sizeof(st->sa),
			    CIO_NO_DEADLINE);
	char b[8];
	if (r == 0)
		r = (int)cio_recv(c, b, sizeof(b), 0, CIO_NO_DEADLINE);
	cio_close(c);
	return r;
}

static intptr_t storm_acceptor(void *arg)
{
	struct storm *st = arg;
	int s = cio_accept(st->l, NULL, NULL, CIO_NO_DEADLINE);
	if (s < 0)
		return s;
	char b[8];
	ssize_t r = cio_recv(s, b, sizeof(b), 0, CIO_NO_DEADLINE);
	cio_close(s);
	return r;
}

static intptr_t cancel_storm(void *arg)
{
	(void)arg;
#if defined(__SANITIZE_THREAD__)
	enum { N = 50 };
#else
	enum { N = 200 };
#endif
	struct storm st;
	st.l = listener(&st.sa, 4 * N);
	cio_task *t[2 * N];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			cr_assert_eq(cio_spawn(&t[2 * i], storm_client, &st, NULL), 0);
			cr_assert_eq(cio_spawn(&t[2 * i + 1], storm_acceptor, &st, NULL), 0);
		}
		for (int k = 0; k < round + 1; k++)
			cio_yield();
		for (int i = 0; i < 2 * N; i++)
			cio_task_cancel(t[i]);
		for (int i = 0; i < 2 * N; i++) {
			cio_await((cio_future *)t[i]);
			cio_task_unref(t[i]);
		}
	}
	/* connections still queued in the listener are closed with it */
	cio_close(st.l);
	return 0;
}

Test(socket, cancel_storm_leaks_no_descriptor)
{
	int before = th_count_fds();
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, cancel_storm, NULL), 0);
	th_loop_free(loop);
	cr_assert_eq(th_count_fds(), before);
}

/* Timing out through a timeout scope (not the op's own deadline) cancels
 * the kernel operation the same way, and the scope reports -ETIMEDOUT. */
static intptr_t scoped(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	char b[8];
	struct cio_timeout to;
	cr_assert_eq(cio_timeout_enter_after(&to, 10 * CIO_NSEC_PER_MSEC), 0);
	int rc = (int)cio_recv(sv[0], b, sizeof(b), 0, CIO_NO_DEADLINE);
	cr_assert_eq(rc, -ECANCELED);
	cr_assert_eq(cio_timeout_exit(&to, rc), -ETIMEDOUT);
	/* the socket still works afterwards */
	cr_assert_eq(cio_send(sv[1], "ok", 2, 0, CIO_NO_DEADLINE), 2);
	cr_assert_eq(cio_recv(sv[0], b, sizeof(b), 0, CIO_NO_DEADLINE), 2);
	cio_close(sv[0]);
	cio_close(sv[1]);
	return 0;
}

Test(socket, timeout_scope_cancels_the_operation)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, scoped, NULL), 0);
	th_loop_free(loop);
}

/* A completion queue of 8 entries for 320 connections' worth of traffic:
 * completions that overflow it are delivered, none lost. */
static intptr_t overflow(void *arg)
{
	(void)arg;
	enum { N = 40 };
	int sv[N][2];
	for (int i = 0; i < N; i++)
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]), 0);
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < N; i++)
			cr_assert_eq(cio_send(sv[i][0], &i, sizeof(i), 0,
					      CIO_NO_DEADLINE), sizeof(i));
		for (int i = 0; i < N; i++) {
			int v = -1;
			cr_assert_eq(cio_recv(sv[i][1], &v, sizeof(v), 0,
					      CIO_NO_DEADLINE), sizeof(v));
			cr_assert_eq(v, i);
		}
	}
	for (int i = 0; i < N; i++) {
		cio_close(sv[i][0]);
		cio_close(sv[i][1]);
	}
	return 0;
}

static intptr_t overflow_parallel(void *arg)
{
	(void)arg;
	enum { T = 8 };
	cio_task *t[T];
	for (int i = 0; i < T; i++)
		cr_assert_eq(cio_spawn(&t[i], overflow, NULL, NULL), 0);
	for (int i = 0; i < T; i++) {
		cr_assert_eq(cio_await((cio_future *)t[i]), 0);
		cio_task_unref(t[i]);
	}
	return 0;
}

Test(socket, tiny_completion_ring_loses_nothing)
{
	struct cio_loop_opts o = { .ring_entries = 2 };
	cio_loop *loop = th_loop_new_opts(&o);
	cr_assert_eq(th_run(loop, overflow_parallel, NULL), 0);
	th_loop_free(loop);
}
