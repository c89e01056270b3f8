/* Awaitable socket operations. */
#include "io/io_internal.h"
#include "io/op.h"
#include "io/socket.h"

#include <unistd.h>

static cio_loop *current_loop(void)
{
	return cio__tls_task ? cio__tls_task->fut.loop : cio_loop_current();
}

int cio_socket(int domain, int type, int protocol)
{
	int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	cio__io_fd_new(current_loop(), fd);
	return fd;
}

int cio_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!addr)
		return -EFAULT;
	return bind(fd, addr, len) < 0 ? -errno : 0;
}

int cio_listen(int fd, int backlog)
{
	return listen(fd, backlog) < 0 ? -errno : 0;
}

int cio_accept(int fd, struct sockaddr *addr, socklen_t *alen,
	       int64_t deadline)
{
	struct cio__op op;
	cio_loop *loop;
	int ret;

	if (fd < 0)
		return -EBADF;
	if ((addr == NULL) != (alen == NULL))
		return -EFAULT;
	if (!cio__tls_task)
		return -EPERM;
	loop = cio__tls_task->fut.loop;
	if ((ret = cio__task_check_cancel(cio__tls_task)) < 0)
		return ret;
	if (loop->be == &cio__backend_uring) {
		ret = cio__accept_multishot(loop, fd, deadline);
		/* The shared multishot cannot fill a per-call address. */
		if (ret >= 0 && addr && getpeername(ret, addr, alen) < 0)
			*alen = 0;
	} else {
		cio__op_init(&op, CIO__OP_ACCEPT, fd, deadline);
		op.a.accept.addr = addr;
		op.a.accept.alen = alen;
		op.a.accept.flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
		ret = (int)cio__op_await(&op);
		if (ret >= 0 && op.cancel_sent)
			return cio__op_drop_fd(&op, ret);
	}
	if (ret >= 0)
		cio__io_fd_new(loop, ret);
	return ret;
}

int cio_connect(int fd, const struct sockaddr *addr, socklen_t len,
		int64_t deadline)
{
	struct cio__op op;

	if (fd < 0)
		return -EBADF;
	if (!addr)
		return -EFAULT;
	cio__op_init(&op, CIO__OP_CONNECT, fd, deadline);
	op.a.connect.addr = addr;
	op.a.connect.alen = len;
	return (int)cio__op_await(&op);
}

static ssize_t sr(enum cio__op_kind kind, int fd, void *buf, size_t len,
		  int flags, int64_t deadline)
{
	struct cio__op op;
	int ret = cio__op_init_buf(&op, kind, fd, buf, &len, deadline);

	if (ret < 0)
		return ret;
	op.a.sr.buf = buf;
	op.a.sr.len = len;
	op.a.sr.flags = flags;
	return (ssize_t)cio__op_await(&op);
}

ssize_t cio_recv(int fd, void *buf, size_t len, int flags, int64_t deadline)
{
	return sr(CIO__OP_RECV, fd, buf, len, flags, deadline);
}

ssize_t cio_send(int fd, const void *buf, size_t len, int flags,
		 int64_t deadline)
{
	return sr(CIO__OP_SEND, fd, (void *)buf, len, flags | MSG_NOSIGNAL,
		  deadline);
}

static ssize_t msg(enum cio__op_kind kind, int fd, struct msghdr *m,
		   int flags, int64_t deadline)
{
	struct cio__op op;

	if (fd < 0)
		return -EBADF;
	if (!m)
		return -EFAULT;
	cio__op_init(&op, kind, fd, deadline);
	op.a.msg.msg = m;
	op.a.msg.flags = flags;
	return (ssize_t)cio__op_await(&op);
}

ssize_t cio_recvmsg(int fd, struct msghdr *m, int flags, int64_t deadline)
{
	return msg(CIO__OP_RECVMSG, fd, m, flags, deadline);
}

ssize_t cio_sendmsg(int fd, const struct msghdr *m, int flags,
		    int64_t deadline)
{
	return msg(CIO__OP_SENDMSG, fd, (struct msghdr *)m,
		   flags | MSG_NOSIGNAL, deadline);
}

ssize_t cio_sendto(int fd, const void *buf, size_t len, int flags,
		   const struct sockaddr *addr, socklen_t alen,
		   int64_t deadline)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = {
		.msg_name = (void *)addr,
		.msg_namelen = addr ? alen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	if (!buf && len)
		return -EFAULT;
	return msg(CIO__OP_SENDMSG, fd, &m, flags | MSG_NOSIGNAL, deadline);
}

ssize_t cio_recvfrom(int fd, void *buf, size_t len, int flags,
		     struct sockaddr *addr, socklen_t *alen, int64_t deadline)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = {
		.msg_name = addr,
		.msg_namelen = alen ? *alen : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t r;

	if ((!buf && len) || (addr == NULL) != (alen == NULL))
		return -EFAULT;
	r = msg(CIO__OP_RECVMSG, fd, &m, flags, deadline);
	if (r >= 0 && alen)
		*alen = m.msg_namelen;
	return r;
}

int cio_shutdown(int fd, int how)
{
	struct cio__op op;

	if (fd < 0)
		return -EBADF;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	/* Outside a task it is done on the spot. In a task it is one SQE,
	 * and not cancellable: half a shutdown is not a state to leave a
	 * connection in; a pending cancel waits for the next await. */
	if (!cio__tls_task)
		return shutdown(fd, how) < 0 ? -errno : 0;
	cio__op_init(&op, CIO__OP_SHUTDOWN, fd, CIO_NO_DEADLINE);
	op.a.shutdown.how = how;
	return (int)cio__op_await_uncancellable(&op);
}
