/* coreio — awaitable socket operations.
 *
 * The rules of io/file.h hold here too (call from a task, negative errno,
 * buffers valid until the call returns, safe cancellation, absolute
 * deadlines with -ETIMEDOUT, cio_close()). Besides:
 *
 *  1. Sockets made by cio_socket() and cio_accept() are non-blocking and
 *     close-on-exec, on both backends.
 *  2. Sends never raise SIGPIPE: MSG_NOSIGNAL is always added, and the
 *     first loop of a process ignores SIGPIPE (as Python does) so that
 *     writes to pipes and cio_write() on sockets cannot kill it either;
 *     a peer that went away is -EPIPE or -ECONNRESET.
 *  3. cio_accept() on io_uring arms one multishot accept per listening
 *     socket: one SQE keeps accepting, connections queue until taken, and
 *     it is re-armed when the kernel ends it. Its deadline is a timer on
 *     the waiting task (the kernel operation is shared), and a waiter
 *     cancelled at any moment loses no connection.
 *  4. cio_socket(), cio_bind(), cio_listen() and cio_getsockname-like
 *     calls never wait and may be called outside a task.
 */
#ifndef CIO_IO_SOCKET_H
#define CIO_IO_SOCKET_H

#include <sys/socket.h>
#include <sys/types.h>

#include "runtime/common.h"

CIO_BEGIN_DECLS

/* socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC. */
int cio_socket(int domain, int type, int protocol);
int cio_bind(int fd, const struct sockaddr *addr, socklen_t len);
int cio_listen(int fd, int backlog);

/* A connected socket, non-blocking and close-on-exec. `addr`/`alen` may
 * be NULL; otherwise they receive the peer's address as accept(2). */
int cio_accept(int fd, struct sockaddr *addr, socklen_t *alen,
	       int64_t deadline);
int cio_connect(int fd, const struct sockaddr *addr, socklen_t len,
		int64_t deadline);

/* Returns bytes moved; 0 from cio_recv() is end of stream. */
ssize_t cio_recv(int fd, void *buf, size_t len, int flags, int64_t deadline);
ssize_t cio_send(int fd, const void *buf, size_t len, int flags,
		 int64_t deadline);
ssize_t cio_recvmsg(int fd, struct msghdr *msg, int flags, int64_t deadline);
ssize_t cio_sendmsg(int fd, const struct msghdr *msg, int flags,
		    int64_t deadline);
/* Datagrams: cio_sendto() with `addr` NULL sends on a connected socket;
 * cio_recvfrom() fills `addr`/`alen` when they are not NULL. */
ssize_t cio_sendto(int fd, const void *buf, size_t len, int flags,
		   const struct sockaddr *addr, socklen_t alen,
		   int64_t deadline);
ssize_t cio_recvfrom(int fd, void *buf, size_t len, int flags,
		     struct sockaddr *addr, socklen_t *alen, int64_t deadline);

/* shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR. */
int cio_shutdown(int fd, int how);

CIO_END_DECLS

#endif
