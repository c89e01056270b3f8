/* coreio futures: a value that will exist later.
 *
 * A future is pending, then done exactly once in one of three ways: with a
 * result (any intptr_t), with an error (a negative errno), or cancelled.
 * Done callbacks run from the loop's ready queue, never from inside
 * set_result/set_error/cancel, in the order they were added.
 *
 * Ownership rules:
 * 1. cio_future_new() gives you one reference; cio_future_ref() another.
 *    Each reference is released with cio_future_unref(). The loop holds its
 *    own references while callbacks are scheduled, so unref is always safe.
 * 2. Tasks are futures (cio_task_future()); everything here applies to them
 *    except set_result/set_error, which a task does by returning.
 * 3. A future that failed and is freed before anything read its error
 *    (cio_future_result/_error, cio_await, a combinator) is reported through
 *    the loop's exception handler, as asyncio logs "exception was never
 *    retrieved".
 */
#ifndef CIO_RUNTIME_FUTURE_H
#define CIO_RUNTIME_FUTURE_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef void (*cio_future_cb)(cio_future *fut, void *arg);

/* A NULL loop means cio_loop_current(). -EINVAL (no loop, closed loop),
 * -ENOMEM. */
int cio_future_new(cio_loop *loop, cio_future **out);
cio_future *cio_future_ref(cio_future *fut);
void cio_future_unref(cio_future *fut);

/* 0, or -EINVAL if the future is already done (asyncio's
 * InvalidStateError) or is a task. set_error takes a negative errno in
 * [-4095, -1] other than -ECANCELED (use cio_future_cancel). */
int cio_future_set_result(cio_future *fut, intptr_t value);
int cio_future_set_error(cio_future *fut, int error);

/* Cancel: 1 if the future was pending (for a task: cancellation was
 * requested, see cio_task_cancel), 0 if it was already done. */
int cio_future_cancel(cio_future *fut);

bool cio_future_done(const cio_future *fut);
bool cio_future_cancelled(const cio_future *fut);

/* 0 and *value (if value is not NULL) when done with a result; the error
 * when done with one; -ECANCELED when cancelled; -EAGAIN when pending.
 * A stored error of -EAGAIN is told apart by cio_future_done(). */
int cio_future_result(cio_future *fut, intptr_t *value);
/* 0 when done with a result; otherwise as cio_future_result(). */
int cio_future_error(cio_future *fut);

/* Call cb(fut, arg) once the future is done (from the ready queue, even if
 * it is done already). -EINVAL when the future's loop is closed (it would
 * never run), -ENOMEM. */
int cio_future_add_done_callback(cio_future *fut, cio_future_cb cb,
				 void *arg);
/* Remove every registration of (cb, arg) that has not run yet; returns how
 * many were removed. A removed callback never runs. */
int cio_future_remove_done_callback(cio_future *fut, cio_future_cb cb,
				    void *arg);

cio_loop *cio_future_loop(const cio_future *fut);

CIO_END_DECLS

#endif
