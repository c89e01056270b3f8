/* 4-ary min-heap of timers. A 4-ary heap halves the depth of a binary one
 * and keeps each node's children in one cache line (4 x 16 bytes), which is
 * what matters with a million timers. */
#include "runtime/timer_heap.h"

#include <errno.h>
#include <stdlib.h>

#define ARITY 4

static inline bool before(const struct cio__timer_slot *a,
			  const struct cio__timer_slot *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return a->t->seq < b->t->seq;
}

static inline void place(struct cio__timer_heap *h, size_t i,
			 struct cio__timer_slot s)
{
	h->v[i] = s;
	s.t->slot = (uint32_t)i;
}

static void sift_up(struct cio__timer_heap *h, size_t i)
{
	struct cio__timer_slot s = h->v[i];
	while (i > 0) {
		size_t parent = (i - 1) / ARITY;
		if (!before(&s, &h->v[parent]))
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, s);
}

static void sift_down(struct cio__timer_heap *h, size_t i)
{
	struct cio__timer_slot s = h->v[i];
	for (;;) {
		size_t first = i * ARITY + 1;
		if (first >= h->n)
			break;
		size_t last = first + ARITY < h->n ? first + ARITY : h->n;
		size_t best = first;
		for (size_t c = first + 1; c < last; c++)
			if (before(&h->v[c], &h->v[best]))
				best = c;
		if (!before(&h->v[best], &s))
			break;
		place(h, i, h->v[best]);
		i = best;
	}
	place(h, i, s);
}

void cio__timer_heap_init(struct cio__timer_heap *h)
{
	h->v = NULL;
	h->n = h->cap = 0;
	h->seq = 0;
}

void cio__timer_heap_destroy(struct cio__timer_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i].t->slot = CIO__TIMER_IDLE;
	free(h->v);
	cio__timer_heap_init(h);
}

int cio__timer_add(struct cio__timer_heap *h, struct cio__timer *t,
		   int64_t when)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		if (cap >= CIO__TIMER_IDLE)
			return -ENOMEM;
		struct cio__timer_slot *v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	t->when = when;
	t->seq = h->seq++;
	size_t i = h->n++;
	h->v[i].when = when;
	h->v[i].t = t;
	t->slot = (uint32_t)i;
	sift_up(h, i);
	return 0;
}

/* Remove slot i; the timer there is not touched. */
static void del_at(struct cio__timer_heap *h, size_t i)
{
	size_t last = --h->n;
	if (i == last)
		return;
	place(h, i, h->v[last]);
	/* The moved slot may belong above or below its new position. */
	if (i > 0 && before(&h->v[i], &h->v[(i - 1) / ARITY]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

void cio__timer_del(struct cio__timer_heap *h, struct cio__timer *t)
{
	size_t i = t->slot;
	if (i == CIO__TIMER_IDLE)
		return;
	t->slot = CIO__TIMER_IDLE;
	del_at(h, i);
}

size_t cio__timer_del_range(struct cio__timer_heap *h, const void *lo,
			    const void *hi)
{
	size_t kept = 0, removed, i;

	/* Filter, then heapify: sifting while stale timers are still in the
	 * heap would compare against their (garbage) sequence numbers. */
	for (i = 0; i < h->n; i++) {
		const char *p = (const char *)h->v[i].t;
		if (p >= (const char *)lo && p < (const char *)hi)
			continue;
		h->v[kept] = h->v[i];
		h->v[kept].t->slot = (uint32_t)kept;
		kept++;
	}
	removed = h->n - kept;
	h->n = kept;
	if (removed && kept > 1)
		for (i = (kept - 2) / ARITY + 1; i-- > 0;)
			sift_down(h, i);
	return removed;
}

struct cio__timer *cio__timer_pop_due(struct cio__timer_heap *h, int64_t now)
{
	if (h->n == 0 || h->v[0].when > now)
		return NULL;
	struct cio__timer *t = h->v[0].t;
	cio__timer_del(h, t);
	return t;
}
