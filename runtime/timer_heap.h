/* Internal: the loop's timers, a 4-ary min-heap keyed by (deadline,
 * insertion sequence).
 *
 * Timers are intrusive: a cio__timer lives inside whatever owns it (a
 * handle, a sleeping task, a timeout scope), so arming one allocates only
 * when the heap array grows. Each timer remembers its heap slot, which makes
 * removal O(log n) instead of the lazy "mark cancelled and skip" of asyncio
 * that lets a million cancelled timers pile up. Ties fire in insertion
 * order, as asyncio's call_at does.
 */
#ifndef CIO_RUNTIME_TIMER_HEAP_H
#define CIO_RUNTIME_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CIO__TIMER_IDLE UINT32_MAX

struct cio__timer;
typedef void (*cio__timer_fn)(struct cio__timer *t);

struct cio__timer {
	int64_t when;
	uint64_t seq;
	uint32_t slot; /* index in the heap, CIO__TIMER_IDLE when not armed */
	cio__timer_fn fire;
};

struct cio__timer_slot {
	int64_t when; /* copy of the key: sifting reads no timer memory */
	struct cio__timer *t;
};

struct cio__timer_heap {
	struct cio__timer_slot *v;
	size_t n, cap;
	uint64_t seq;
};

static inline void cio__timer_init(struct cio__timer *t, cio__timer_fn fire)
{
	t->when = 0;
	t->seq = 0;
	t->slot = CIO__TIMER_IDLE;
	t->fire = fire;
}

static inline bool cio__timer_armed(const struct cio__timer *t)
{
	return t->slot != CIO__TIMER_IDLE;
}

void cio__timer_heap_init(struct cio__timer_heap *h);
void cio__timer_heap_destroy(struct cio__timer_heap *h);

/* Arm `t` (which must not be armed) for `when`. -ENOMEM if the heap
 * cannot grow. */
int cio__timer_add(struct cio__timer_heap *h, struct cio__timer *t,
		   int64_t when);
/* Disarm `t`; harmless if it is not armed. */
void cio__timer_del(struct cio__timer_heap *h, struct cio__timer *t);

static inline struct cio__timer *cio__timer_first(const struct cio__timer_heap *h)
{
	return h->n ? h->v[0].t : NULL;
}

/* Disarm every timer whose node lies in [lo, hi) without reading the
 * nodes (they may be stale memory): for frames that no longer exist.
 * Returns how many. O(n); only for misuse recovery. */
size_t cio__timer_del_range(struct cio__timer_heap *h, const void *lo,
			    const void *hi);

/* Remove and return the earliest timer if it is due at `now`. */
struct cio__timer *cio__timer_pop_due(struct cio__timer_heap *h, int64_t now);

#endif
