/* coreio — definitions shared by every public header.
 *
 * Conventions that hold across the whole API:
 *
 * 1. Errors are negative errno values, returned directly. Zero or a positive
 *    value is success. The library never reads or sets errno for you.
 * 2. Task results travel as intptr_t. A value in [-4095, -1] is an error
 *    (a negative errno, as the kernel's ERR_PTR convention); anything else,
 *    including a pointer cast to intptr_t, is a result. CIO_IS_ERR() tells.
 * 3. Time is CLOCK_MONOTONIC in nanoseconds (cio_loop_time()). Deadlines are
 *    absolute, so nested calls share one budget; CIO_NO_DEADLINE means none.
 * 4. Objects made on a loop (futures, tasks, handles) are used on the thread
 *    that runs that loop. Only cio_call_soon_threadsafe() crosses threads.
 */
#ifndef CIO_RUNTIME_COMMON_H
#define CIO_RUNTIME_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
#define CIO_BEGIN_DECLS extern "C" {
#define CIO_END_DECLS }
#else
#define CIO_BEGIN_DECLS
#define CIO_END_DECLS
#endif

#define CIO_VERSION_MAJOR 0
#define CIO_VERSION_MINOR 1
#define CIO_VERSION_PATCH 0

/* Largest errno the kernel hands out; the top 4095 values of intptr_t are
 * reserved for errors, as in the kernel's IS_ERR_VALUE(). */
#define CIO_MAX_ERRNO 4095

#define CIO_IS_ERR(v) ((intptr_t)(v) < 0 && (intptr_t)(v) >= -CIO_MAX_ERRNO)

/* No deadline: wait as long as it takes. */
#define CIO_NO_DEADLINE INT64_MAX

#define CIO_NSEC_PER_USEC 1000LL
#define CIO_NSEC_PER_MSEC 1000000LL
#define CIO_NSEC_PER_SEC 1000000000LL

CIO_BEGIN_DECLS

/* Opaque objects of the runtime; their headers document ownership. */
typedef struct cio_loop cio_loop;
typedef struct cio_future cio_future;
typedef struct cio_task cio_task;
typedef struct cio_handle cio_handle;

/* Monotonic clock in nanoseconds: the time base of every deadline. */
int64_t cio_loop_time(void);

/* Absolute deadline `ns` nanoseconds from now; saturates at CIO_NO_DEADLINE,
 * and a negative `ns` gives a deadline already in the past. */
int64_t cio_deadline_after(int64_t ns);

CIO_END_DECLS

#endif
