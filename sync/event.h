/* coreio events: asyncio.Event for tasks of one loop.
 *
 * An event is a flag, initially clear. wait() returns at once while it is
 * set and otherwise waits until set() sets it; set() wakes every waiter.
 *
 *     cio_event *ready;
 *     cio_event_new(&ready);
 *     // one task:                         // others:
 *     ... prepare ...                      rc = cio_event_wait(ready, dl);
 *     cio_event_set(ready);
 *
 * Semantics (asyncio.Event):
 * - Every task waiting when set() is called wakes, even if clear() is
 *   called before it runs. Tasks that call wait() after clear() wait for
 *   the next set().
 * - wait() is an await: a cancellation pending on entry returns
 *   -ECANCELED even when the event is set, and so does a cancellation that
 *   arrives after set() woke the waiter but before it ran (asyncio raises
 *   CancelledError there too; nothing is lost, the event stays set).
 *
 * Threads: an event is shard-local. set() and clear() may be called by any
 * task or callback of the loop whose tasks wait on it, on its thread; the
 * tasks waiting at the same time must all belong to that one loop (another
 * loop's task gets -EINVAL).
 *
 * Ownership rules:
 * 1. cio_event_new() succeeded => call cio_event_free() once.
 * 2. cio_event_free() refuses with -EBUSY (and frees nothing) while a task
 *    waits on the event or was woken and has not resumed yet.
 */
#ifndef CIO_SYNC_EVENT_H
#define CIO_SYNC_EVENT_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_event cio_event;

/* A new, clear event. 0; -EINVAL (NULL out); -ENOMEM. */
int cio_event_new(cio_event **out);
/* 0, -EBUSY (see rule 2); NULL is a no-op returning 0. */
int cio_event_free(cio_event *ev);

/* Set the flag and wake every waiter; setting a set event does nothing.
 * 0, -EINVAL for NULL. */
int cio_event_set(cio_event *ev);
/* Clear the flag. 0, -EINVAL for NULL. */
int cio_event_clear(cio_event *ev);
/* Whether the flag is set (false for NULL). */
bool cio_event_is_set(const cio_event *ev);

/* Wait until the flag is set or `deadline` passes (absolute, as
 * cio_loop_time(); CIO_NO_DEADLINE: no limit). 0 once set; -ETIMEDOUT,
 * -ECANCELED, -EPERM outside a task, -EINVAL (NULL, or tasks of another
 * loop wait on it), -ENOMEM (the deadline's timer). */
int cio_event_wait(cio_event *ev, int64_t deadline);

CIO_END_DECLS

#endif
