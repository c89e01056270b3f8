/* Unix signals as loop callbacks (asyncio's loop.add_signal_handler).
 *
 * The loop reads the signal through a signalfd, so the callback runs on
 * the loop's thread like any cio_call_soon() callback, never inside a
 * signal handler: it may do anything a callback may (start a task, set a
 * future, stop the loop).
 *
 * A signalfd only sees signals that are blocked: adding a handler blocks
 * the signal in the calling thread. A signal sent to the process goes to
 * any thread that does not block it, so block it in the program's other
 * threads too (threads inherit the mask of the thread that creates them:
 * block it before creating them). cio_run() does this for SIGINT and
 * SIGTERM in every shard thread. Removing the last handler of a signal
 * unblocks it again if it was not blocked before.
 *
 * Ownership: a handler belongs to its loop and ends with it (its `arg` is
 * borrowed until then, or until it is removed).
 */
#ifndef CIO_RUNTIME_SIGNAL_H
#define CIO_RUNTIME_SIGNAL_H

#include "runtime/common.h"
#include "runtime/loop.h"

CIO_BEGIN_DECLS

/* Call cb(arg) on the current loop (the running task's, else
 * cio_loop_current()) each time `sig` arrives; replaces the handler this
 * loop had for `sig`. Several arrivals before the loop reads them may
 * merge into one call (signals do not queue). 0; -EINVAL (no loop, NULL
 * cb, a signal out of range or one that cannot be caught: SIGKILL,
 * SIGSTOP), -ENOMEM, or signalfd's error. */
int cio_add_signal_handler(int sig, cio_callback cb, void *arg);

/* 1 if the current loop had a handler for `sig` (now removed), 0 if not;
 * -EINVAL (no loop, bad signal). */
int cio_remove_signal_handler(int sig);

CIO_END_DECLS

#endif
