/* coreio queues: asyncio.Queue, LifoQueue and PriorityQueue for tasks of
 * one loop (Python 3.13, with task_done/join and shutdown).
 *
 * Items are pointers (void *), or integers cast through intptr_t. The
 * producer/consumer pattern:
 *
 *     cio_queue *q;
 *     cio_queue_new(&q, NULL);                  // unbounded FIFO
 *     // producers:                             // consumers:
 *     cio_queue_put(q, job, CIO_NO_DEADLINE);   void *job;
 *                                               while (cio_queue_get(q,
 *                                                   &job, dl) == 0) {
 *                                                   run(job);
 *                                                   cio_queue_task_done(q);
 *                                               }
 *     // main: await the producers, then
 *     cio_queue_join(q, CIO_NO_DEADLINE);       // every job was run
 *     // ... and cancel the consumers.
 *
 * Kinds:
 * - CIO_QUEUE_FIFO: first in, first out.
 * - CIO_QUEUE_LIFO: last in, first out.
 * - CIO_QUEUE_PRIORITY: lowest priority value first (as heapq); among
 *   equal priorities, by the options' comparator if there is one; among
 *   items still equal, first in, first out. put() gives priority 0,
 *   put_prio() any other.
 *
 * Semantics:
 * - maxsize 0 is unbounded. A bounded queue holds at most maxsize items;
 *   put() waits while it is full, get() while it is empty. Waiting puts
 *   and gets are served in the order they arrived (FIFO), whatever the
 *   kind of queue.
 * - An item put while gets are waiting goes straight to the longest
 *   waiting get, and a slot freed by a get goes straight to the longest
 *   waiting put: a task that comes later cannot take it first. What was
 *   handed over is no longer in the queue: qsize() counts what a get can
 *   still take, and empty() and full() say whether get_nowait() and
 *   put_nowait() would find an item or room.
 * - task_done()/join(): every item put counts as unfinished until a
 *   task_done() call for it; join() waits until none is. task_done()
 *   called more often than items were put fails with -EINVAL (asyncio's
 *   ValueError).
 * - shutdown(immediate = false): put() and put_nowait() fail with
 *   -ESHUTDOWN (asyncio's QueueShutDown), also the puts waiting; gets take
 *   what is left, then fail with -ESHUTDOWN, also the gets waiting.
 *   shutdown(immediate = true) also drops every item left (through the
 *   drop callback, if any) and counts each as done, so join() returns once
 *   the items being worked on are done. Shutting down twice is allowed;
 *   an immediate shutdown after a graceful one drops what is left.
 * - Cancellation and deadlines. A put or get that a deadline or a
 *   cancellation reaches while it waits leaves the queue having done
 *   nothing (-ETIMEDOUT, -ECANCELED). Once an item was handed to a waiting
 *   get, or a waiting put's item was taken in, the transfer has happened:
 *   a cancellation that arrives before the task runs again does not undo
 *   it. The call returns 0 (the get with its item, never lost) and the
 *   cancellation stays pending for the task's next await, as for a kernel
 *   operation that completed anyway (DESIGN.md section 3).
 * - put(), get() and join() are awaits: with a cancellation pending they
 *   return -ECANCELED at once, touching nothing. A deadline that has
 *   passed still lets a transfer that needs no waiting happen. The
 *   _nowait calls never park, need no task and ignore cancellation.
 *
 * Threads: a queue is shard-local. It is used from the thread of the loop
 * whose tasks use it (callbacks of that loop may call the _nowait
 * functions, task_done and shutdown), and every task waiting on it at the
 * same time must belong to that loop (another loop's task gets -EINVAL).
 * Tasks on different shards exchange items through channels
 * (runtime/chan.h).
 *
 * Ownership rules:
 * 1. cio_queue_new() succeeded => call cio_queue_free() once.
 * 2. cio_queue_free() refuses with -EBUSY (and frees nothing) while a task
 *    waits in put(), get() or join(), or was woken from one and has not
 *    resumed yet.
 * 3. The queue stores the item pointers, never what they point to. Items
 *    still queued at cio_queue_free() or dropped by an immediate shutdown
 *    go to the drop callback, if one was given (for example to free
 *    them), and are otherwise forgotten. The callbacks (cmp, drop) must
 *    not call into the queue.
 * 4. Memory: the queue's storage grows (by doubling, up to maxsize) as it
 *    fills and is kept until it is freed; a put that needs to grow it and
 *    cannot fails with -ENOMEM and changes nothing.
 */
#ifndef CIO_SYNC_QUEUE_H
#define CIO_SYNC_QUEUE_H

#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_queue cio_queue;

enum cio_queue_kind {
	CIO_QUEUE_FIFO = 0,
	CIO_QUEUE_LIFO = 1,
	CIO_QUEUE_PRIORITY = 2,
};

/* Zero-initialise, then set what you need (all zero: unbounded FIFO). */
struct cio_queue_opts {
	enum cio_queue_kind kind;
	size_t maxsize; /* 0: unbounded */
	/* PRIORITY only, optional: orders items of equal priority (< 0: a
	 * before b, 0: by arrival). Called as cmp(a, b, arg). */
	int (*cmp)(const void *a, const void *b, void *arg);
	/* Optional: receives items the queue drops (rule 3). */
	void (*drop)(void *item, void *arg);
	void *arg; /* for cmp and drop */
};

/* A new queue (opts NULL: unbounded FIFO). 0; -EINVAL (NULL out, unknown
 * kind, a comparator for a kind other than PRIORITY); -ENOMEM. */
int cio_queue_new(cio_queue **out, const struct cio_queue_opts *opts);
/* 0, -EBUSY (see rule 2); NULL is a no-op returning 0. */
int cio_queue_free(cio_queue *q);

/* Put `item`, waiting for room until `deadline` (absolute, as
 * cio_loop_time(); CIO_NO_DEADLINE: no limit). 0; -ESHUTDOWN, -ETIMEDOUT,
 * -ECANCELED, -EPERM outside a task, -EINVAL (NULL q, or tasks of another
 * loop wait on it), -ENOMEM. */
int cio_queue_put(cio_queue *q, void *item, int64_t deadline);
/* Put without waiting: 0; -EAGAIN when full (asyncio's QueueFull);
 * -ESHUTDOWN; -EINVAL (NULL); -ENOMEM. */
int cio_queue_put_nowait(cio_queue *q, void *item);
/* The same with a priority (lower goes first); -EINVAL also when the
 * queue is not a PRIORITY queue. */
int cio_queue_put_prio(cio_queue *q, void *item, int64_t prio,
		       int64_t deadline);
int cio_queue_put_prio_nowait(cio_queue *q, void *item, int64_t prio);

/* Take the next item into *item, waiting for one until `deadline`. 0;
 * -ESHUTDOWN (shut down and empty), -ETIMEDOUT, -ECANCELED, -EPERM
 * outside a task, -EINVAL (NULL q or item, or tasks of another loop wait
 * on it). *item is written only on success. */
int cio_queue_get(cio_queue *q, void **item, int64_t deadline);
/* Take without waiting: 0; -EAGAIN when empty (asyncio's QueueEmpty);
 * -ESHUTDOWN when shut down and empty; -EINVAL (NULL q or item). */
int cio_queue_get_nowait(cio_queue *q, void **item);

/* Items in the queue (0 for NULL). */
size_t cio_queue_qsize(const cio_queue *q);
/* Whether get_nowait() would find nothing (true for NULL). */
bool cio_queue_empty(const cio_queue *q);
/* Whether put_nowait() would find no room: always false when unbounded
 * (and for NULL). */
bool cio_queue_full(const cio_queue *q);
/* The bound given at creation, 0 when unbounded (and for NULL). */
size_t cio_queue_maxsize(const cio_queue *q);

/* One item taken earlier is done. 0; -EINVAL (NULL, or more calls than
 * items put). */
int cio_queue_task_done(cio_queue *q);
/* Wait until every item put is done, until `deadline`. 0; -ETIMEDOUT,
 * -ECANCELED, -EPERM outside a task, -EINVAL (NULL, or tasks of another
 * loop wait on it), -ENOMEM (the deadline's timer). */
int cio_queue_join(cio_queue *q, int64_t deadline);

/* Shut the queue down (see above). 0, -EINVAL for NULL. */
int cio_queue_shutdown(cio_queue *q, bool immediate);

CIO_END_DECLS

#endif
