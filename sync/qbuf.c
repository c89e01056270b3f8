/* Queue storage: a ring of pointers or a binary heap (see qbuf.h). */
#include "sync/qbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define QBUF_MIN_CAP 8

void cio__qbuf_init(struct cio__qbuf *b, bool prio, bool lifo,
		    cio__qbuf_cmp cmp, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->is_heap = prio;
	b->lifo = lifo;
	b->cmp = cmp;
	b->arg = arg;
}

void cio__qbuf_destroy(struct cio__qbuf *b)
{
	free(b->ring);
	free(b->heap);
	b->ring = NULL;
	b->heap = NULL;
	b->n = b->cap = 0;
}

/* Ring positions wrap without a division: the index is always below
 * 2 * cap. */
static size_t slot(const struct cio__qbuf *b, size_t i)
{
	size_t s = b->head + i;
	return s >= b->cap ? s - b->cap : s;
}

int cio__qbuf_reserve(struct cio__qbuf *b, size_t limit)
{
	size_t cap, esize = b->is_heap ? sizeof(*b->heap) : sizeof(*b->ring);
	void *p;

	if (b->n < b->cap)
		return 0;
	cap = b->cap ? b->cap * 2 : QBUF_MIN_CAP;
	if (cap < b->cap || cap > SIZE_MAX / esize)
		return -ENOMEM;
	if (limit && cap > limit)
		cap = limit > b->n ? limit : b->n + 1;
	if (b->is_heap) {
		if (!(p = realloc(b->heap, cap * esize)))
			return -ENOMEM;
		b->heap = p;
	} else {
		/* A fresh array with the items in order from 0: the wrapped
		 * tail would otherwise need moving anyway. */
		void **r = malloc(cap * esize);
		if (!r)
			return -ENOMEM;
		for (size_t i = 0; i < b->n; i++)
			r[i] = b->ring[slot(b, i)];
		free(b->ring);
		b->ring = r;
		b->head = 0;
	}
	b->cap = cap;
	return 0;
}

/* x goes out before y. */
static bool before(const struct cio__qbuf *b, const struct cio__qent *x,
		   const struct cio__qent *y)
{
	int c;

	if (x->prio != y->prio)
		return x->prio < y->prio;
	if (b->cmp && (c = b->cmp(x->item, y->item, b->arg)) != 0)
		return c < 0;
	return x->seq < y->seq;
}

static void heap_push(struct cio__qbuf *b, struct cio__qent e)
{
	size_t i = b->n++;

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!before(b, &e, &b->heap[parent]))
			break;
		b->heap[i] = b->heap[parent];
		i = parent;
	}
	b->heap[i] = e;
}

static void *heap_pop(struct cio__qbuf *b)
{
	void *top = b->heap[0].item;
	struct cio__qent last = b->heap[--b->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= b->n)
			break;
		if (c + 1 < b->n && before(b, &b->heap[c + 1], &b->heap[c]))
			c++;
		if (!before(b, &b->heap[c], &last))
			break;
		b->heap[i] = b->heap[c];
		i = c;
	}
	if (b->n)
		b->heap[i] = last;
	return top;
}

void cio__qbuf_push(struct cio__qbuf *b, void *item, int64_t prio)
{
	if (b->is_heap) {
		struct cio__qent e = { item, prio, b->seq++ };
		heap_push(b, e);
		return;
	}
	b->ring[slot(b, b->n)] = item;
	b->n++;
}

void *cio__qbuf_pop(struct cio__qbuf *b)
{
	void *item;

	if (b->is_heap)
		return heap_pop(b);
	if (b->lifo)
		return b->ring[slot(b, --b->n)];
	item = b->ring[b->head];
	b->head = slot(b, 1);
	b->n--;
	return item;
}
