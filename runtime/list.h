/* Internal: intrusive circular doubly-linked list with a sentinel. A node
 * can unlink itself without knowing which list holds it, which is what lets
 * a waiter leave a wait queue (or a spliced-off batch) in O(1). */
#ifndef CIO_RUNTIME_LIST_H
#define CIO_RUNTIME_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct cio__list {
	struct cio__list *prev, *next;
};

#define cio__container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void cio__list_init(struct cio__list *l)
{
	l->prev = l->next = l;
}

/* A node that is not on any list points at itself. */
static inline bool cio__list_empty(const struct cio__list *l)
{
	return l->next == l;
}

static inline void cio__list_add_tail(struct cio__list *head,
				      struct cio__list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void cio__list_del(struct cio__list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* Move every node of `from` to the (empty) list `to`. */
static inline void cio__list_splice_init(struct cio__list *from,
					 struct cio__list *to)
{
	if (cio__list_empty(from)) {
		cio__list_init(to);
		return;
	}
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	cio__list_init(from);
}

#endif
