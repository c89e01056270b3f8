/* coreio event loop: asyncio's loop for C.
 *
 * Ownership rules:
 * 1. cio_loop_new() succeeded => you must call cio_loop_free() once.
 *    cio_loop_free() closes the loop first if it is still open.
 * 2. cio_loop_close() releases the ring, timers, stacks and every task still
 *    pending (reported through the exception handler: a pending task cannot
 *    run its clean-up code, so cancel and await tasks before closing).
 *    After close, only cio_loop_is_closed(), cio_loop_close() (a no-op) and
 *    cio_loop_free() may be called; futures and tasks of the loop may still
 *    be inspected and must still be released.
 * 3. A loop is bound to the first thread that runs it; futures, tasks and
 *    handles of a loop are used on that thread only. The one exception is
 *    cio_call_soon_threadsafe(). Create, run, close and free a loop on one
 *    thread: the io_uring ring's registered fd and the thread's current
 *    loop (cio_loop_current()) belong to that thread.
 * 4. Handles: cio_call_* give you a handle only when `out` is not NULL; you
 *    then own one reference and release it with cio_handle_unref(), before
 *    or after the callback runs. The loop keeps its own reference while the
 *    callback is scheduled.
 *
 * One iteration, in order (as asyncio's _run_once):
 *   1. poll the backend, blocking until the nearest timer (not at all when
 *      callbacks are ready or the loop is stopping);
 *   2. take callbacks posted by other threads;
 *   3. move due timers to the ready queue (deadline order, ties in the order
 *      they were armed);
 *   4. run the callbacks that are ready now. Callbacks scheduled while this
 *      runs wait for the next iteration, so nothing starves the poll.
 */
#ifndef CIO_RUNTIME_LOOP_H
#define CIO_RUNTIME_LOOP_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef void (*cio_callback)(void *arg);

enum cio_backend_kind {
	CIO_BACKEND_AUTO = 0, /* $CIO_BACKEND, else io_uring, else epoll */
	CIO_BACKEND_URING = 1,
	CIO_BACKEND_EPOLL = 2,
};

/* Zero-initialise, then set what you need; every 0 means "default". */
struct cio_loop_opts {
	enum cio_backend_kind backend;
	/* io_uring submission queue entries (default 256, rounded up to a
	 * power of two); the completion queue gets four times as many. */
	unsigned ring_entries;
	/* Default task stack size in bytes (default 64 KiB, or
	 * $CIO_STACK_SIZE such as "128k"); 16 KiB to 1 GiB. */
	size_t stack_size;
	/* Idle stacks kept resident for reuse (default 256); idle stacks
	 * beyond that give their memory back to the kernel. */
	unsigned stack_cache;
	/* io_uring provided buffer ring for multishot receives (streams on
	 * sockets): buffers in the ring (default 1024, a power of two up to
	 * 32768) and bytes per buffer (default 4096). Shared by every
	 * connection of the loop; see io/recv_ring.h. */
	unsigned recv_buffers;
	unsigned recv_buffer_size;
};

/* Create a loop. The first loop created on a thread becomes that thread's
 * current loop (cio_loop_current()) until it is closed.
 * -EINVAL bad option, -ENOMEM, or the backend's error when a backend was
 * requested explicitly and cannot be set up. */
int cio_loop_new(cio_loop **loopp, const struct cio_loop_opts *opts);

/* Close: 0, also when already closed; -EBUSY while it runs. */
int cio_loop_close(cio_loop *loop);
void cio_loop_free(cio_loop *loop);
bool cio_loop_is_closed(const cio_loop *loop);
bool cio_loop_is_running(const cio_loop *loop);

/* Run until cio_loop_stop(). If stop was called before, run one iteration
 * and return. 0 when stopped; -EINVAL closed loop; -EBUSY already running
 * (or another loop runs on this thread); -EPERM wrong thread; or a fatal
 * backend error. */
int cio_loop_run_forever(cio_loop *loop);

/* Run until `fut` (of this loop) is done; returns what cio_await() would:
 * its result, its error, or -ECANCELED. -EINTR when the loop was stopped
 * before the future completed; the run_forever errors otherwise. */
intptr_t cio_loop_run_until_complete(cio_loop *loop, cio_future *fut);

/* Stop after the current iteration. Safe to call before the loop runs. */
int cio_loop_stop(cio_loop *loop);

/* The loop running on this thread, else this thread's current loop, else
 * NULL. */
cio_loop *cio_loop_current(void);

/* "io_uring" or "epoll", and the setup in use, e.g.
 * "SINGLE_ISSUER|DEFER_TASKRUN|TASKRUN_FLAG|REGISTERED_FD". */
const char *cio_loop_backend_name(const cio_loop *loop);
const char *cio_loop_backend_flags(const cio_loop *loop);

/* Schedule cb(arg). A NULL loop means cio_loop_current(). -EINVAL bad
 * argument or closed loop, -ENOMEM. */
int cio_call_soon(cio_loop *loop, cio_callback cb, void *arg,
		  cio_handle **out);
/* A negative delay runs the callback as soon as a zero delay would. */
int cio_call_later(cio_loop *loop, int64_t delay_ns, cio_callback cb,
		   void *arg, cio_handle **out);
int cio_call_at(cio_loop *loop, int64_t when_ns, cio_callback cb, void *arg,
		cio_handle **out);
/* From any thread: schedule cb(arg) on `loop` and wake it if it sleeps.
 * No handle: handles belong to the loop's thread. -EINVAL when the loop is
 * closed (the callback will then never run), -ENOMEM. */
int cio_call_soon_threadsafe(cio_loop *loop, cio_callback cb, void *arg);

/* 1 if this call cancelled a scheduled callback, 0 if it had already run
 * or been cancelled. */
int cio_handle_cancel(cio_handle *h);
bool cio_handle_cancelled(const cio_handle *h);
/* Deadline of a call_later/call_at handle (a negative deadline given to
 * call_at reads as 0, which is equally past); -EINVAL for call_soon
 * handles. */
int64_t cio_handle_when(const cio_handle *h);
void cio_handle_unref(cio_handle *h);

/* Things the loop reports instead of dropping silently. */
enum cio_report_kind {
	/* A task or future failed and nothing read its error before it was
	 * freed or its loop closed (asyncio: "exception was never
	 * retrieved"). */
	CIO_REPORT_ERROR_NEVER_RETRIEVED = 1,
	/* The loop closed while this task was still pending. */
	CIO_REPORT_TASK_PENDING_AT_CLOSE = 2,
	/* A misuse of the API the runtime caught and recovered from: a task
	 * that returned inside a timeout scope, freeing a running loop. The
	 * message says which. */
	CIO_REPORT_MISUSE = 3,
	/* A resource ran out and the runtime is backing off (a server
	 * hitting EMFILE/ENFILE on accept); `error` says which. */
	CIO_REPORT_RESOURCE = 4,
};

struct cio_report {
	enum cio_report_kind kind;
	const char *message; /* one line, no trailing newline */
	cio_task *task;      /* the task concerned, or NULL */
	cio_future *future;  /* the future concerned (the task's own) */
	int error;           /* the unretrieved error, or 0 */
};

typedef void (*cio_exception_handler)(cio_loop *loop,
				      const struct cio_report *report,
				      void *arg);

/* NULL restores the default, which writes "coreio: <message>" to stderr. */
void cio_loop_set_exception_handler(cio_loop *loop, cio_exception_handler h,
				    void *arg);
void cio_loop_default_exception_handler(cio_loop *loop,
					const struct cio_report *report);

CIO_END_DECLS

#endif
