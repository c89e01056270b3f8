/* epoll backend: the system call behind each operation kind.
 *
 * Pollable descriptors are non-blocking here, so a call that cannot make
 * progress returns -EAGAIN and the reactor waits for readiness. The kinds
 * the executor runs (files, metadata) block on a pool thread instead.
 */
#include "runtime/backend.h"
#include "runtime/epoll_internal.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static inline int32_t ret_of(ssize_t r)
{
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r > INT32_MAX ? INT32_MAX : (int32_t)r;
}

int32_t cio__epoll_syscall(struct cio__op *op)
{
	ssize_t r;

	switch (op->kind) {
	case CIO__OP_NOP:
		return 0;
	case CIO__OP_READ:
		if (op->a.rw.off < 0)
			r = read(op->fd, op->a.rw.buf, op->a.rw.len);
		else
			r = pread(op->fd, op->a.rw.buf, op->a.rw.len,
				  op->a.rw.off);
		return ret_of(r);
	case CIO__OP_WRITE:
		if (op->a.rw.off < 0)
			r = write(op->fd, op->a.rw.buf, op->a.rw.len);
		else
			r = pwrite(op->fd, op->a.rw.buf, op->a.rw.len,
				   op->a.rw.off);
		return ret_of(r);
	case CIO__OP_READV:
		if (op->a.rwv.off < 0)
			r = readv(op->fd, op->a.rwv.iov, op->a.rwv.cnt);
		else
			r = preadv(op->fd, op->a.rwv.iov, op->a.rwv.cnt,
				   op->a.rwv.off);
		return ret_of(r);
	case CIO__OP_WRITEV:
		if (op->a.rwv.off < 0)
			r = writev(op->fd, op->a.rwv.iov, op->a.rwv.cnt);
		else
			r = pwritev(op->fd, op->a.rwv.iov, op->a.rwv.cnt,
				    op->a.rwv.off);
		return ret_of(r);
	case CIO__OP_RECV:
		return ret_of(recv(op->fd, op->a.sr.buf, op->a.sr.len,
				   op->a.sr.flags | MSG_DONTWAIT));
	case CIO__OP_SEND:
		return ret_of(send(op->fd, op->a.sr.buf, op->a.sr.len,
				   op->a.sr.flags | MSG_DONTWAIT));
	case CIO__OP_RECVMSG:
		return ret_of(recvmsg(op->fd, op->a.msg.msg,
				      op->a.msg.flags | MSG_DONTWAIT));
	case CIO__OP_SENDMSG:
		return ret_of(sendmsg(op->fd, op->a.msg.msg,
				      op->a.msg.flags | MSG_DONTWAIT));
	case CIO__OP_ACCEPT:
		return ret_of(accept4(op->fd, op->a.accept.addr,
				      op->a.accept.alen, op->a.accept.flags));
	case CIO__OP_CONNECT:
		return ret_of(connect(op->fd, op->a.connect.addr,
				      op->a.connect.alen));
	case CIO__OP_SPLICE: {
		loff_t in = op->a.splice.off_in, out = op->a.splice.off_out;
		r = splice(op->fd, in < 0 ? NULL : &in, op->a.splice.fd_out,
			   out < 0 ? NULL : &out, op->a.splice.len,
			   op->a.splice.flags | SPLICE_F_NONBLOCK);
		return ret_of(r);
	}
	case CIO__OP_OPENAT:
		if (op->a.open.how.resolve)
			return ret_of(syscall(SYS_openat2, op->fd,
					      op->a.open.path, &op->a.open.how,
					      sizeof(op->a.open.how)));
		return ret_of(openat(op->fd, op->a.open.path, op->a.open.flags,
				     op->a.open.mode));
	case CIO__OP_CLOSE:
		return ret_of(close(op->fd));
	case CIO__OP_FSYNC:
		if (op->a.fsync.flags & 1u) /* IORING_FSYNC_DATASYNC */
			return ret_of(fdatasync(op->fd));
		return ret_of(fsync(op->fd));
	case CIO__OP_FALLOCATE:
		return ret_of(fallocate(op->fd, op->a.falloc.mode,
					op->a.falloc.off, op->a.falloc.len));
	case CIO__OP_STATX:
		return ret_of(statx(op->fd, op->a.statx.path,
				    op->a.statx.flags, op->a.statx.mask,
				    op->a.statx.buf));
	case CIO__OP_UNLINKAT:
		return ret_of(unlinkat(op->fd, op->a.unlink.path,
				       op->a.unlink.flags));
	case CIO__OP_RENAMEAT:
		return ret_of(renameat2(op->fd, op->a.rename.oldpath,
					op->a.rename.newdfd,
					op->a.rename.newpath,
					op->a.rename.flags));
	case CIO__OP_LINKAT:
		return ret_of(linkat(op->fd, op->a.rename.oldpath,
				     op->a.rename.newdfd, op->a.rename.newpath,
				     (int)op->a.rename.flags));
	case CIO__OP_MKDIRAT:
		return ret_of(mkdirat(op->fd, op->a.mkdir.path,
				      op->a.mkdir.mode));
	case CIO__OP_SHUTDOWN:
		return ret_of(shutdown(op->fd, op->a.shutdown.how));
	default:
		return -EOPNOTSUPP;
	}
}

/* A connect in progress ends when the socket turns writable; its outcome
 * is then in SO_ERROR. */
int32_t cio__epoll_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}
