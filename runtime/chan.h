/* coreio channels: bounded queues of fixed-size elements that tasks on
 * different loops (different threads, different shards) share.
 *
 * A channel holds up to `capacity` elements of `elem_size` bytes each;
 * send copies an element in, recv copies one out. Any number of tasks may
 * send and receive at once, each on any loop: a channel is the one
 * coreio object that is not bound to a loop.
 *
 *     cio_chan *ch;
 *     cio_chan_new(&ch, sizeof(struct msg), 64);
 *     // producer task, on one shard          // consumer task, on another
 *     cio_chan_send(ch, &m, CIO_NO_DEADLINE); cio_chan_recv(ch, &m, dl);
 *
 * Order: the channel has one order, the order in which elements enter it.
 * Elements of one sender come out in the order that sender sent them, and
 * tasks parked in send (or recv) are served first come, first served.
 *
 * Capacity 0 is a rendezvous: a send completes only by handing its element
 * to a receiver, and try_send succeeds only when a receiver is parked.
 *
 * Close: cio_chan_close() makes every send fail with -EPIPE (parked
 * senders too; their elements were not sent). Receivers get what is still
 * buffered, then -EPIPE.
 *
 * Cancellation and deadlines (the element is never lost or duplicated):
 * - A transfer happens at one instant, under the channel's lock, and a
 *   parked task's element moves in that same instant. A parked send or
 *   recv that a deadline or a cancellation reaches before that instant
 *   transfers nothing and returns -ETIMEDOUT or -ECANCELED.
 * - One reached after it (a peer on another thread took the parked
 *   sender's element, or handed the parked receiver one, and the wake-up
 *   is on its way) returns 0: the element was sent, or received into
 *   `elem`. A cancellation then stays pending and the task's next await
 *   returns -ECANCELED, as for a kernel operation that completed anyway
 *   (DESIGN.md section 3).
 * - send and recv are awaits: with a cancellation pending they return
 *   -ECANCELED at once without touching the channel. try_send and
 *   try_recv never park and ignore cancellation.
 *
 * Ownership rules:
 * 1. cio_chan_new() succeeded => call cio_chan_free() once, after every
 *    task and thread that uses the channel is done with it: no call in
 *    progress, no task parked in send or recv (cio_chan_free() refuses
 *    with -EBUSY when it sees one parked). Closing first, and joining or
 *    awaiting the users, is the usual way to get there.
 * 2. The channel copies elements: `elem` is read (send) or written (recv)
 *    only during the call, and for a parked call until it returns; the
 *    caller owns that memory.
 * 3. Elements still buffered at cio_chan_free() are dropped: drain them
 *    with cio_chan_try_recv() first if they own resources.
 * 4. A loop closed while one of its tasks is parked in send or recv
 *    destroys that task (the loop reports it, see loop.h). Its pending
 *    send transferred nothing; a recv that had already been handed an
 *    element (it was on its way to the task) loses that element with the
 *    task. Cancel and await tasks before closing their loop.
 *
 * Threads: every function may be called from any thread. send and recv
 * must be called from a task (-EPERM otherwise); the others need none.
 */
#ifndef CIO_RUNTIME_CHAN_H
#define CIO_RUNTIME_CHAN_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_chan cio_chan;

/* A channel for elements of `elem_size` bytes (> 0) holding up to
 * `capacity` of them (0: rendezvous). -EINVAL: NULL `out`, elem_size 0,
 * or a buffer size that overflows; -ENOMEM. */
int cio_chan_new(cio_chan **out, size_t elem_size, size_t capacity);

/* Free a channel nobody uses any more (rule 1). 0, also for NULL;
 * -EBUSY (nothing freed) while a task is parked on it. */
int cio_chan_free(cio_chan *ch);

/* Copy elem_size bytes from `elem` into the channel, parking the task
 * while it is full. 0 sent; -EPIPE closed; -ETIMEDOUT `deadline`
 * (absolute, cio_loop_time(); CIO_NO_DEADLINE for none) passed first;
 * -ECANCELED; -EPERM outside a task; -EINVAL NULL argument; -ENOMEM when
 * the deadline timer cannot be armed. */
int cio_chan_send(cio_chan *ch, const void *elem, int64_t deadline);

/* Take the oldest element into `elem` (elem_size bytes), parking the task
 * while the channel is empty. 0 received; -EPIPE closed and drained;
 * the other errors as cio_chan_send(). */
int cio_chan_recv(cio_chan *ch, void *elem, int64_t deadline);

/* Never park: 0, -EAGAIN (full / empty), -EPIPE (closed / closed and
 * drained), -EINVAL. */
int cio_chan_try_send(cio_chan *ch, const void *elem);
int cio_chan_try_recv(cio_chan *ch, void *elem);

/* Close: 0, or -EPIPE if it was closed already; -EINVAL for NULL. Wakes
 * every parked task (senders and receivers of an empty channel get
 * -EPIPE). */
int cio_chan_close(cio_chan *ch);
bool cio_chan_is_closed(cio_chan *ch);

/* Elements buffered now (parked senders' elements not counted), the
 * capacity, the element size; 0 for NULL. A snapshot: other threads may
 * change it the next moment. */
size_t cio_chan_len(cio_chan *ch);
size_t cio_chan_cap(const cio_chan *ch);
size_t cio_chan_elem_size(const cio_chan *ch);

CIO_END_DECLS

#endif
