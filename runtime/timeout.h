/* coreio timeout scopes: asyncio.timeout() / timeout_at() for C.
 *
 * A scope bounds the awaits between enter and exit by a deadline. When the
 * deadline passes, the task that entered the scope is cancelled (as
 * cio_task_cancel()), so the await in progress returns -ECANCELED; exit
 * then turns that -ECANCELED into -ETIMEDOUT:
 *
 *     struct cio_timeout to = CIO_TIMEOUT_INIT;
 *     int rc = cio_timeout_enter_after(&to, 50 * CIO_NSEC_PER_MSEC);
 *     if (rc < 0)
 *         return rc;
 *     rc = (int)cio_await(fut);            // -ECANCELED at the deadline
 *     rc = cio_timeout_exit(&to, rc);      // ... reported as -ETIMEDOUT
 *
 * Semantics (Python 3.11-3.13):
 * - exit() converts rc only when the scope expired, rc is -ECANCELED and no
 *   other cancellation of the task is left once the scope withdraws its
 *   own. So nested scopes tell whose deadline it was, and a cancellation
 *   from elsewhere inside a scope stays -ECANCELED.
 * - If the deadline passed but the body finished without seeing the
 *   cancellation, exit() withdraws it and returns rc unchanged: nothing
 *   leaks into the task's later awaits.
 * - A deadline already passed at enter (or reschedule) expires on the next
 *   loop iteration, not inside the call.
 *
 * Ownership rules:
 * 1. The caller provides the storage (no allocation). Initialise it with
 *    CIO_TIMEOUT_INIT or zeroes, or pass it to enter() which initialises
 *    it; its contents are private.
 * 2. enter() succeeded => exit() must be called, by the same task, before
 *    the storage goes away or the task returns: the armed timer points at
 *    it. Scopes exit in the reverse order they were entered. A task that
 *    returns with a scope open has the scope's timer disarmed for it and
 *    the misuse reported (CIO_REPORT_MISUSE); storage that goes away any
 *    other way while open is a use-after-free the runtime cannot see.
 * 3. After exit() the storage may be entered again (a fresh scope) or
 *    dropped; when() and expired() still tell how the last scope ended.
 * 4. A scope belongs to its task's loop and thread.
 */
#ifndef CIO_RUNTIME_TIMEOUT_H
#define CIO_RUNTIME_TIMEOUT_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

struct cio_timeout {
	uint64_t opaque[8];
};

#define CIO_TIMEOUT_INIT { { 0 } }

/* Open a scope of the current task ending at `deadline` (absolute, as
 * cio_loop_time(); CIO_NO_DEADLINE: none until rescheduled).
 * 0; -EPERM outside a task; -EINVAL for NULL or a scope that is open;
 * -ENOMEM. On error nothing was entered. */
int cio_timeout_enter(struct cio_timeout *to, int64_t deadline);
/* As enter(), `delay_ns` from now (saturating; <= 0: already passed). */
int cio_timeout_enter_after(struct cio_timeout *to, int64_t delay_ns);

/* Close the scope and return what the body's outcome `rc` becomes:
 * -ETIMEDOUT for the scope's own cancellation, otherwise rc itself.
 * Misuse returns an error in place of rc: -EINVAL (NULL, not entered,
 * exited already), -EPERM (not the task that entered). */
int cio_timeout_exit(struct cio_timeout *to, int rc);

/* Move the deadline of an open scope; CIO_NO_DEADLINE disarms it. May be
 * called from any task of the loop. 0; -EINVAL when the scope is not open
 * or has expired already (asyncio's RuntimeError); -ENOMEM. */
int cio_timeout_reschedule(struct cio_timeout *to, int64_t deadline);

/* The current (or last) deadline; -EINVAL (negative, never a deadline the
 * clock hands out) for NULL or a scope never entered. */
int64_t cio_timeout_when(const struct cio_timeout *to);
/* The deadline passed while the scope was open (stays true after exit). */
bool cio_timeout_expired(const struct cio_timeout *to);

CIO_END_DECLS

#endif
