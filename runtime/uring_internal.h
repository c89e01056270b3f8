/* Internal: pieces of the io_uring backend shared between its files. */
#ifndef CIO_RUNTIME_URING_INTERNAL_H
#define CIO_RUNTIME_URING_INTERNAL_H

#include <liburing.h>

struct cio__op;

/* Fill `sqe` for `op` (user_data and link flags are the caller's).
 * -EOPNOTSUPP for a kind this backend does not know. */
int cio__uring_prep(struct io_uring_sqe *sqe, struct cio__op *op);

/* The ring of an io_uring loop, for what the backend interface does not
 * cover (provided buffer rings); NULL on another backend. */
struct io_uring *cio__uring_ring(cio_loop *loop);

#endif
