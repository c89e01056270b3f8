/* Internal: pieces of the epoll backend shared between its files. */
#ifndef CIO_RUNTIME_EPOLL_INTERNAL_H
#define CIO_RUNTIME_EPOLL_INTERNAL_H

#include <stdint.h>

struct cio__op;

/* Run the system call of `op` once: its result, or -errno (-EAGAIN when
 * a non-blocking descriptor is not ready). */
int32_t cio__epoll_syscall(struct cio__op *op);

/* The outcome of a non-blocking connect() that reported readiness. */
int32_t cio__epoll_connect_result(int fd);

/* `fd` was just returned by the kernel (socket, accept, open): what the
 * reactor remembers of an earlier descriptor with that number is stale.
 * Its waiters, if any, fail with -EBADF. */
void cio__epoll_fd_new(void *be_data, int fd);

#endif
