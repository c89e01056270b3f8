/* Internal: where a queue keeps its items. FIFO and LIFO queues use a
 * ring of item pointers (taken from the front or the back), priority
 * queues a binary min-heap ordered by (priority, comparator, arrival).
 *
 * Storage grows by doubling, up to the queue's maxsize, and is kept once
 * grown: a queue in steady use allocates nothing.
 */
#ifndef CIO_SYNC_QBUF_H
#define CIO_SYNC_QBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int (*cio__qbuf_cmp)(const void *a, const void *b, void *arg);

struct cio__qent {
	void *item;
	int64_t prio;
	uint64_t seq; /* arrival: FIFO among equals */
};

struct cio__qbuf {
	void **ring;           /* FIFO/LIFO */
	struct cio__qent *heap; /* PRIORITY */
	size_t head;           /* ring: the oldest item */
	size_t n, cap;         /* ring: cap is a power of two */
	uint64_t seq;
	bool is_heap;
	bool lifo;
	cio__qbuf_cmp cmp;
	void *arg;
};

/* `prio`: a heap (cmp optional); otherwise a ring, `lifo` or not. */
void cio__qbuf_init(struct cio__qbuf *b, bool prio, bool lifo,
		    cio__qbuf_cmp cmp, void *arg);
void cio__qbuf_destroy(struct cio__qbuf *b);

/* Make room for one more item, growing to at most `limit` items (0: no
 * limit). 0, or -ENOMEM. */
int cio__qbuf_reserve(struct cio__qbuf *b, size_t limit);

/* Add an item; there must be room (cio__qbuf_reserve()). */
void cio__qbuf_push(struct cio__qbuf *b, void *item, int64_t prio);
/* Remove and return the next item: the oldest (FIFO), the newest (LIFO)
 * or the first by priority. There must be one. */
void *cio__qbuf_pop(struct cio__qbuf *b);

#endif
