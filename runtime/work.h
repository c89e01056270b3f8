/* Internal: the ready queue's unit of work.
 *
 * Everything the loop runs "soon" (a call_soon handle, a task step, a
 * future's done callbacks) embeds a cio__work, so scheduling allocates
 * nothing. A work item is on at most one queue at a time; its owner keeps
 * the flag that says so. When the loop closes, queued work is called with
 * discard = true so its owner can drop references without running.
 */
#ifndef CIO_RUNTIME_WORK_H
#define CIO_RUNTIME_WORK_H

#include <stdbool.h>
#include <stddef.h>

struct cio__work;
typedef void (*cio__work_fn)(struct cio__work *w, bool discard);

struct cio__work {
	struct cio__work *next;
	cio__work_fn fn;
};

struct cio__work_queue {
	struct cio__work *head;
	struct cio__work **tailp;
};

static inline void cio__work_queue_init(struct cio__work_queue *q)
{
	q->head = NULL;
	q->tailp = &q->head;
}

static inline bool cio__work_queue_empty(const struct cio__work_queue *q)
{
	return q->head == NULL;
}

static inline void cio__work_push(struct cio__work_queue *q,
				  struct cio__work *w)
{
	w->next = NULL;
	*q->tailp = w;
	q->tailp = &w->next;
}

/* Detach everything queued so far: work queued while the batch runs waits
 * for the next batch, as asyncio's ready queue does. */
static inline struct cio__work *cio__work_take_all(struct cio__work_queue *q)
{
	struct cio__work *batch = q->head;
	cio__work_queue_init(q);
	return batch;
}

#endif
