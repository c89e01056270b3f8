/* io_uring backend: one operation record -> one SQE.
 *
 * Offsets: -1 means "the file position", as read(2)/write(2); io_uring
 * takes that meaning from (u64)-1 (IORING_FEAT_RW_CUR_POS, 5.6).
 */
#include "runtime/backend.h"
#include "runtime/uring_internal.h"

#include <fcntl.h>
#include <liburing.h>

static inline uint64_t file_off(int64_t off)
{
	return off < 0 ? (uint64_t)-1 : (uint64_t)off;
}

int cio__uring_prep(struct io_uring_sqe *sqe, struct cio__op *op)
{
	switch (op->kind) {
	case CIO__OP_NOP:
		io_uring_prep_nop(sqe);
		break;
	case CIO__OP_READ:
		io_uring_prep_read(sqe, op->fd, op->a.rw.buf,
				   (unsigned)op->a.rw.len,
				   file_off(op->a.rw.off));
		break;
	case CIO__OP_WRITE:
		io_uring_prep_write(sqe, op->fd, op->a.rw.buf,
				    (unsigned)op->a.rw.len,
				    file_off(op->a.rw.off));
		break;
	case CIO__OP_READV:
		io_uring_prep_readv(sqe, op->fd, op->a.rwv.iov,
				    (unsigned)op->a.rwv.cnt,
				    file_off(op->a.rwv.off));
		break;
	case CIO__OP_WRITEV:
		io_uring_prep_writev(sqe, op->fd, op->a.rwv.iov,
				     (unsigned)op->a.rwv.cnt,
				     file_off(op->a.rwv.off));
		break;
	case CIO__OP_RECV:
		io_uring_prep_recv(sqe, op->fd, op->a.sr.buf, op->a.sr.len,
				   op->a.sr.flags);
		break;
	case CIO__OP_SEND:
		io_uring_prep_send(sqe, op->fd, op->a.sr.buf, op->a.sr.len,
				   op->a.sr.flags);
		break;
	case CIO__OP_RECVMSG:
		io_uring_prep_recvmsg(sqe, op->fd, op->a.msg.msg,
				      (unsigned)op->a.msg.flags);
		break;
	case CIO__OP_SENDMSG:
		io_uring_prep_sendmsg(sqe, op->fd, op->a.msg.msg,
				      (unsigned)op->a.msg.flags);
		break;
	case CIO__OP_ACCEPT:
		io_uring_prep_accept(sqe, op->fd, op->a.accept.addr,
				     op->a.accept.alen, op->a.accept.flags);
		break;
	case CIO__OP_ACCEPT_MULTI:
		io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL,
					       op->a.accept.flags);
		break;
	case CIO__OP_CONNECT:
		io_uring_prep_connect(sqe, op->fd, op->a.connect.addr,
				      op->a.connect.alen);
		break;
	case CIO__OP_SPLICE:
		io_uring_prep_splice(sqe, op->fd, op->a.splice.off_in,
				     op->a.splice.fd_out,
				     op->a.splice.off_out,
				     (unsigned)op->a.splice.len,
				     op->a.splice.flags);
		break;
	case CIO__OP_OPENAT:
		if (op->a.open.how.resolve) {
			io_uring_prep_openat2(sqe, op->fd, op->a.open.path,
					      &op->a.open.how);
			break;
		}
		io_uring_prep_openat(sqe, op->fd, op->a.open.path,
				     op->a.open.flags, op->a.open.mode);
		break;
	case CIO__OP_CLOSE:
		io_uring_prep_close(sqe, op->fd);
		break;
	case CIO__OP_FSYNC:
		io_uring_prep_fsync(sqe, op->fd, op->a.fsync.flags);
		break;
	case CIO__OP_FALLOCATE:
		io_uring_prep_fallocate(sqe, op->fd, op->a.falloc.mode,
					(off_t)op->a.falloc.off,
					(off_t)op->a.falloc.len);
		break;
	case CIO__OP_STATX:
		io_uring_prep_statx(sqe, op->fd, op->a.statx.path,
				    op->a.statx.flags, op->a.statx.mask,
				    op->a.statx.buf);
		break;
	case CIO__OP_UNLINKAT:
		io_uring_prep_unlinkat(sqe, op->fd, op->a.unlink.path,
				       op->a.unlink.flags);
		break;
	case CIO__OP_RENAMEAT:
		io_uring_prep_renameat(sqe, op->fd, op->a.rename.oldpath,
				       op->a.rename.newdfd,
				       op->a.rename.newpath,
				       op->a.rename.flags);
		break;
	case CIO__OP_LINKAT:
		io_uring_prep_linkat(sqe, op->fd, op->a.rename.oldpath,
				     op->a.rename.newdfd, op->a.rename.newpath,
				     (int)op->a.rename.flags);
		break;
	case CIO__OP_MKDIRAT:
		io_uring_prep_mkdirat(sqe, op->fd, op->a.mkdir.path,
				      op->a.mkdir.mode);
		break;
	case CIO__OP_SHUTDOWN:
		io_uring_prep_shutdown(sqe, op->fd, op->a.shutdown.how);
		break;
	case CIO__OP_RECV_MULTI:
		io_uring_prep_recv_multishot(sqe, op->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = op->a.recv_multi.bgid;
		break;
	case CIO__OP_CANCEL_FD:
		io_uring_prep_cancel_fd(sqe, op->fd, IORING_ASYNC_CANCEL_ALL);
		break;
	default:
		return -EOPNOTSUPP;
	}
	return 0;
}
