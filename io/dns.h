/* coreio DNS: asyncio's loop.getaddrinfo() for C.
 *
 * cio_getaddrinfo() runs getaddrinfo(3) on the default executor (see
 * runtime/executor.h) and parks the calling task until it returns, so
 * /etc/hosts, NSS modules and DNS all work as they do for the C library,
 * without blocking the loop.
 *
 *     struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
 *     struct addrinfo *res;
 *     int rc = cio_getaddrinfo("localhost", "8080", &hints, &res,
 *                              cio_deadline_after(5 * CIO_NSEC_PER_SEC));
 *     if (rc < 0)
 *         return rc;                          // cio_gai_strerror(rc) says why
 *     ...connect to res->ai_addr...
 *     cio_freeaddrinfo(res);
 *
 * Errors: getaddrinfo's EAI_* codes come back as negative errno values:
 *
 *     EAI_NONAME      -ENOENT        name or service not known
 *     EAI_SERVICE     -ESRCH         service not known for the socket type
 *     EAI_NODATA      -ENODATA       the name has no address
 *     EAI_ADDRFAMILY  -EADDRNOTAVAIL no address in the requested family
 *     EAI_AGAIN       -EAGAIN        temporary failure (try again)
 *     EAI_FAIL        -EIO           permanent failure of the name server
 *     EAI_FAMILY      -EAFNOSUPPORT  ai_family not supported
 *     EAI_SOCKTYPE    -ESOCKTNOSUPPORT ai_socktype not supported
 *     EAI_BADFLAGS    -EINVAL        bad ai_flags
 *     EAI_MEMORY      -ENOMEM
 *     EAI_OVERFLOW    -EOVERFLOW
 *     EAI_SYSTEM      the errno it set (-EIO if none)
 *     anything else   -EIO
 *
 * and cio_gai_strerror() turns any of them back into getaddrinfo's text.
 *
 * Cancellation and deadline: the call in the pool thread cannot be
 * interrupted. A cancelled task returns -ECANCELED, and one whose deadline
 * passes -ETIMEDOUT, at once; the lookup finishes in the background and
 * its result is freed there. The deadline covers waiting for a slot in the
 * executor's queue as well.
 *
 * Ownership rules:
 * 1. host, service and hints are copied: they may go away once the call
 *    returns, whatever it returns.
 * 2. On success *res is a list you own: free it with cio_freeaddrinfo()
 *    or freeaddrinfo(3) (the same thing). On error *res is NULL.
 */
#ifndef CIO_IO_DNS_H
#define CIO_IO_DNS_H

#include <netdb.h>

#include "runtime/common.h"

CIO_BEGIN_DECLS

/* From a task: getaddrinfo(host, service, hints) with `deadline` (absolute,
 * as cio_loop_time(); CIO_NO_DEADLINE for none). Only the ai_flags,
 * ai_family, ai_socktype and ai_protocol of hints are used; NULL hints
 * mean what they mean to getaddrinfo(3). 0 and *res, or a negative errno:
 * the table above; -EINVAL (host and service both NULL, res NULL);
 * -EPERM outside a task; -ECANCELED; -ETIMEDOUT (also for a deadline
 * already passed); -ENOMEM; or cio_run_in_executor()'s errors. */
int cio_getaddrinfo(const char *host, const char *service,
		    const struct addrinfo *hints, struct addrinfo **res,
		    int64_t deadline);

/* freeaddrinfo(3); NULL does nothing. */
void cio_freeaddrinfo(struct addrinfo *res);

/* Text for an error of cio_getaddrinfo(): getaddrinfo's own message for
 * the errors of the table above, strerror()'s for the others (-EINVAL
 * gets "Invalid argument", as it is not only EAI_BADFLAGS). Never NULL. */
const char *cio_gai_strerror(int err);

CIO_END_DECLS

#endif
