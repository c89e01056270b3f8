/* charfinder — the inverted index of Unicode names (see index.h). */
#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ucd.h"

struct cf_char {
	uint32_t cp;
	uint32_t name_off; /* in the pool, NUL-terminated there */
	uint16_t name_len;
	uint8_t printable;
};

struct word {
	uint32_t off; /* its first occurrence, in the name pool */
	uint32_t len;
	/* Its posting list: postings[start..start+count). While building,
	 * `start` holds the id + 1 of the last character counted, so that a
	 * word repeated in one name counts once. */
	uint32_t start;
	uint32_t count;
};

/* A hash table slot. The hash is kept beside the id so that a probe
 * touches the word (and its bytes, in the pool) only when the hashes
 * agree: the build is bound by cache misses, not by instructions. */
struct slot {
	uint32_t hash;
	uint32_t id1; /* word id + 1; 0: empty */
};

struct cf_index {
	struct cf_char *chars;
	size_t nchars, chars_cap;
	char *pool;
	size_t pool_len, pool_cap;
	struct word *words;
	size_t nwords, words_cap;
	struct slot *slots;
	size_t nslots; /* a power of two, at least twice nwords */
	size_t nslots_hint; /* the first size, from the data's size */
	uint32_t *postings;
	size_t npostings;
	size_t max_word;
};

/* One (word, character) pair, kept while building. */
struct occ {
	uint32_t word;
	uint32_t id;
};

struct builder {
	struct cf_index *ix;
	struct occ *occ;
	size_t nocc, occ_cap;
};

static inline unsigned char upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 32) : c;
}

static inline bool word_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c >= 0x80;
}

bool cf_next_word(const char *s, size_t len, size_t *pos, size_t *off,
		  size_t *wlen)
{
	size_t i = *pos;

	while (i < len && !word_byte((unsigned char)s[i]))
		i++;
	if (i == len) {
		*pos = len;
		return false;
	}
	*off = i;
	while (i < len && word_byte((unsigned char)s[i]))
		i++;
	*wlen = i - *off;
	*pos = i;
	return true;
}

/* FNV-1a over the upper-cased bytes. */
static uint32_t hash_word(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= upper((unsigned char)p[i]);
		h *= 16777619u;
	}
	return h;
}

static bool same_word(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (upper((unsigned char)a[i]) != upper((unsigned char)b[i]))
			return false;
	return true;
}

/* The slot holding word p[0..n), or the empty slot where it would go. */
static size_t probe(const struct cf_index *ix, const char *p, size_t n,
		    uint32_t h)
{
	size_t mask = ix->nslots - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		const struct slot *s = &ix->slots[i];
		if (s->id1 == 0)
			return i;
		if (s->hash != h)
			continue;
		const struct word *w = &ix->words[s->id1 - 1];
		if (w->len == n && same_word(ix->pool + w->off, p, n))
			return i;
	}
}

static long find_word(const struct cf_index *ix, const char *p, size_t n)
{
	if (n > ix->max_word || !ix->nslots)
		return -1;
	uint32_t s = ix->slots[probe(ix, p, n, hash_word(p, n))].id1;
	return s ? (long)s - 1 : -1;
}

static int grow_slots(struct cf_index *ix)
{
	size_t n = ix->nslots ? ix->nslots * 2 : ix->nslots_hint;
	struct slot *old = ix->slots;
	size_t oldn = ix->nslots;

	if (!(ix->slots = calloc(n, sizeof(*ix->slots)))) {
		ix->slots = old;
		return -ENOMEM;
	}
	ix->nslots = n;
	for (size_t i = 0; i < oldn; i++) {
		if (!old[i].id1)
			continue;
		/* Words are distinct: the first empty slot is theirs. */
		size_t j = old[i].hash & (n - 1);
		while (ix->slots[j].id1)
			j = (j + 1) & (n - 1);
		ix->slots[j] = old[i];
	}
	free(old);
	return 0;
}

/* An array p of *cap elements of `size` bytes, grown if needed to hold
 * n + 1: the array (maybe moved), or NULL (p is left as it was). */
static void *reserve(void *p, size_t *cap, size_t n, size_t size,
		     size_t first)
{
	if (n < *cap)
		return p;
	size_t nc = *cap ? *cap * 2 : first;
	void *np = realloc(p, nc * size);
	if (np)
		*cap = nc;
	return np;
}

/* Count word p[0..n) of character `id` (its name at pool offset off). */
static int add_word(struct builder *b, uint32_t off, size_t n, uint32_t id)
{
	struct cf_index *ix = b->ix;
	const char *p = ix->pool + off;
	uint32_t h = hash_word(p, n);
	size_t slot;
	struct word *w;

	if ((ix->nwords + 1) * 2 > ix->nslots && grow_slots(ix) < 0)
		return -ENOMEM;
	slot = probe(ix, p, n, h);
	if (!ix->slots[slot].id1) {
		void *nw = reserve(ix->words, &ix->words_cap, ix->nwords,
				   sizeof(*ix->words), 16384);
		if (!nw)
			return -ENOMEM;
		ix->words = nw;
		ix->words[ix->nwords] = (struct word){ off, (uint32_t)n, 0, 0 };
		ix->slots[slot] = (struct slot){ h, (uint32_t)++ix->nwords };
		if (n > ix->max_word)
			ix->max_word = n;
	}
	w = &ix->words[ix->slots[slot].id1 - 1];
	if (w->start == id + 1)
		return 0; /* "LIGHT DOWN AND LIGHT LEFT": once */
	w->start = id + 1;
	w->count++;
	void *no = reserve(b->occ, &b->occ_cap, b->nocc, sizeof(*b->occ),
			   65536);
	if (!no)
		return -ENOMEM;
	b->occ = no;
	b->occ[b->nocc++] = (struct occ){ ix->slots[slot].id1 - 1, id };
	return 0;
}

static int add_char(const struct cf_ucd_char *c, void *arg)
{
	struct builder *b = arg;
	struct cf_index *ix = b->ix;
	uint32_t id = (uint32_t)ix->nchars, off;
	size_t pos = 0, woff, wlen;
	void *grown;
	int ret;

	grown = reserve(ix->chars, &ix->chars_cap, ix->nchars,
			sizeof(*ix->chars), 65536);
	if (!grown)
		return -ENOMEM;
	ix->chars = grown;
	while (ix->pool_len + c->name_len + 1 > ix->pool_cap) {
		size_t nc = ix->pool_cap ? ix->pool_cap * 2 : 1u << 20;
		char *np = realloc(ix->pool, nc);
		if (!np)
			return -ENOMEM;
		ix->pool = np;
		ix->pool_cap = nc;
	}
	off = (uint32_t)ix->pool_len;
	memcpy(ix->pool + off, c->name, c->name_len);
	ix->pool[off + c->name_len] = '\0';
	ix->pool_len += c->name_len + 1;
	ix->chars[ix->nchars++] = (struct cf_char){
		c->cp, off, (uint16_t)c->name_len, c->printable
	};
	while (cf_next_word(c->name, c->name_len, &pos, &woff, &wlen))
		if ((ret = add_word(b, off + (uint32_t)woff, wlen, id)) < 0)
			return ret;
	return 0;
}

/* Lay the posting lists out: counts become offsets, then each pair lands
 * at its word's cursor. Pairs come in id order, so each list is sorted. */
static int lay_out(struct builder *b)
{
	struct cf_index *ix = b->ix;
	uint32_t total = 0;

	if (!(ix->postings = malloc((b->nocc ? b->nocc : 1) *
				    sizeof(*ix->postings))))
		return -ENOMEM;
	ix->npostings = b->nocc;
	for (size_t i = 0; i < ix->nwords; i++) {
		ix->words[i].start = total;
		total += ix->words[i].count;
	}
	/* `count` is the cursor now, and back to the count when done. */
	for (size_t i = 0; i < ix->nwords; i++)
		ix->words[i].count = 0;
	for (size_t i = 0; i < b->nocc; i++) {
		struct word *w = &ix->words[b->occ[i].word];
		ix->postings[w->start + w->count++] = b->occ[i].id;
	}
	return 0;
}

int cf_index_build(struct cf_index **out, const char *text, size_t len,
		   size_t *bad_line)
{
	struct builder b = { 0 };
	int ret;

	if (!out || !text)
		return -EINVAL;
	*out = NULL;
	if (!(b.ix = calloc(1, sizeof(*b.ix))))
		return -ENOMEM;
	/* UnicodeData.txt has one distinct word per 15 bytes or so: start
	 * the table big enough for that, at half load, and skip the
	 * regrowing. */
	b.ix->nslots_hint = 1024;
	while (b.ix->nslots_hint < len / 8 && b.ix->nslots_hint < 1u << 24)
		b.ix->nslots_hint *= 2;
	ret = cf_ucd_parse(text, len, add_char, &b, bad_line);
	if (ret == 0)
		ret = lay_out(&b);
	free(b.occ);
	if (ret < 0) {
		cf_index_free(b.ix);
		return ret;
	}
	*out = b.ix;
	return 0;
}

int cf_index_load(struct cf_index **out, const char *path, size_t *bad_line)
{
	char *text;
	size_t len;
	int ret;

	if (!out)
		return -EINVAL;
	ret = cf_read_file(path ? path : CF_DEFAULT_DATA, &text, &len);
	if (ret < 0)
		return ret;
	ret = cf_index_build(out, text, len, bad_line);
	free(text);
	return ret;
}

void cf_index_free(struct cf_index *ix)
{
	if (!ix)
		return;
	free(ix->chars);
	free(ix->pool);
	free(ix->words);
	free(ix->slots);
	free(ix->postings);
	free(ix);
}

size_t cf_index_size(const struct cf_index *ix)
{
	return ix->nchars;
}

size_t cf_index_words(const struct cf_index *ix)
{
	return ix->nwords;
}

void cf_index_entry(const struct cf_index *ix, uint32_t id,
		    struct cf_entry *e)
{
	const struct cf_char *c = &ix->chars[id];

	e->cp = c->cp;
	e->printable = c->printable;
	e->name = ix->pool + c->name_off;
	e->name_len = c->name_len;
}

/* -- queries --------------------------------------------------------------- */

struct term {
	uint32_t count;
	uint32_t word;
};

static int term_cmp(const void *a, const void *b)
{
	const struct term *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	return (x->word > y->word) - (x->word < y->word);
}

/* Keep the r[0..n) that are also in l[0..ln) (both sorted): the count
 * kept. From each position in l, a galloping search (steps 1, 2, 4...,
 * then binary) finds the next candidate, so a short r against a long l
 * costs O(n log(ln / n)). */
static size_t intersect(uint32_t *r, size_t n, const uint32_t *l, size_t ln)
{
	size_t kept = 0, j = 0;

	for (size_t i = 0; i < n && j < ln; i++) {
		uint32_t x = r[i];
		if (l[j] < x) {
			size_t lo = j, step = 1, hi;
			while (lo + step < ln && l[lo + step] < x) {
				lo += step;
				step *= 2;
			}
			hi = lo + step < ln ? lo + step : ln;
			lo++; /* l[lo - 1] < x; the answer is in [lo, hi] */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (l[mid] < x)
					lo = mid + 1;
				else
					hi = mid;
			}
			j = lo;
			if (j == ln)
				break;
		}
		if (l[j] == x) {
			r[kept++] = x;
			j++;
		}
	}
	return kept;
}

int cf_index_find(const struct cf_index *ix, const char *query, size_t len,
		  struct cf_match *m)
{
	struct term small[16], *t = small;
	size_t cap = 16, k = 0, pos = 0, off, wlen;
	int nwords = 0;
	bool miss = false;

	if (!ix || !m || (!query && len))
		return -EINVAL;
	*m = (struct cf_match){ 0 };
	while (cf_next_word(query, len, &pos, &off, &wlen)) {
		long w;
		if (nwords < 1 << 30)
			nwords++;
		if (miss)
			continue;
		if ((w = find_word(ix, query + off, wlen)) < 0) {
			miss = true; /* one word nowhere: nothing matches */
			continue;
		}
		if (k == cap) {
			struct term *nt = malloc(cap * 2 * sizeof(*nt));
			if (!nt) {
				if (t != small)
					free(t);
				return -ENOMEM;
			}
			memcpy(nt, t, k * sizeof(*t));
			if (t != small)
				free(t);
			t = nt;
			cap *= 2;
		}
		t[k++] = (struct term){ ix->words[w].count, (uint32_t)w };
	}
	if (miss || k == 0)
		goto out;

	/* Shortest list first; repeated words end up side by side. */
	qsort(t, k, sizeof(*t), term_cmp);
	const struct word *w0 = &ix->words[t[0].word];
	if (k == 1 || t[k - 1].word == t[0].word) {
		m->ids = ix->postings + w0->start;
		m->n = w0->count;
		goto out;
	}
	if (!(m->owned = malloc(w0->count * sizeof(*m->owned)))) {
		nwords = -ENOMEM;
		goto out;
	}
	memcpy(m->owned, ix->postings + w0->start,
	       w0->count * sizeof(*m->owned));
	m->n = w0->count;
	for (size_t i = 1; i < k && m->n; i++) {
		if (t[i].word == t[i - 1].word)
			continue;
		const struct word *w = &ix->words[t[i].word];
		m->n = intersect(m->owned, m->n, ix->postings + w->start,
				 w->count);
	}
	m->ids = m->owned;
out:
	if (t != small)
		free(t);
	return nwords;
}

void cf_match_release(struct cf_match *m)
{
	if (!m)
		return;
	free(m->owned);
	*m = (struct cf_match){ 0 };
}
