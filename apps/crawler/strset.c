/* crawler — a set of byte strings, for "have I seen this URL already?".
 *
 * Open addressing with linear probing, kept at most half full; FNV-1a
 * hashes. Each string is copied into the set, so the caller's buffer may
 * move or go away (a page's output block is realloc'd as it grows).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crawler.h"

struct crw_strset_slot {
	uint64_t hash;
	char *s; /* NULL: empty slot */
	size_t len;
};

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* The slot holding s, or the empty slot where it would go. */
static struct crw_strset_slot *find(struct crw_strset_slot *slots, size_t cap,
				    uint64_t h, const char *s, size_t len)
{
	size_t i = (size_t)h & (cap - 1);

	for (;; i = (i + 1) & (cap - 1)) {
		struct crw_strset_slot *e = &slots[i];
		if (!e->s || (e->hash == h && e->len == len &&
			      memcmp(e->s, s, len) == 0))
			return e;
	}
}

static int grow(struct crw_strset *set)
{
	size_t cap = set->cap ? set->cap * 2 : 16;
	struct crw_strset_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < set->cap; i++) {
		struct crw_strset_slot *e = &set->slots[i];
		if (e->s)
			*find(slots, cap, e->hash, e->s, e->len) = *e;
	}
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

int crw_strset_add(struct crw_strset *set, const char *s, size_t len)
{
	struct crw_strset_slot *e;
	uint64_t h = fnv1a(s, len);
	char *copy;

	/* At most half full, so probes stay short and one empty slot is
	 * always there for find() to stop at. */
	if ((set->n + 1) * 2 > set->cap && grow(set) < 0)
		return -ENOMEM;
	e = find(set->slots, set->cap, h, s, len);
	if (e->s)
		return 0;
	if (!(copy = malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	*e = (struct crw_strset_slot){ .hash = h, .s = copy, .len = len };
	set->n++;
	return 1;
}

void crw_strset_free(struct crw_strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].s);
	free(set->slots);
	*set = (struct crw_strset){ 0 };
}
