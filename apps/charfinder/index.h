/* charfinder — the Unicode name index: which characters have every word of
 * a query in their name.
 *
 * Words. A word is a maximal run of ASCII letters and digits (and of
 * bytes >= 0x80, so that a non-ASCII query word stays one word, matching
 * nothing); everything else separates words. Words compare without
 * regard to ASCII case. So "hyphen-minus" is the two words HYPHEN and
 * MINUS, as in the name "HYPHEN-MINUS", and "LINE FEED (LF)" has the
 * words LINE, FEED and LF.
 *
 * Structure. Characters are kept in code point order, numbered 0..n-1
 * (their id). An inverted index maps each word to the sorted list of the
 * ids whose name contains it (a "posting list"): one open-addressing hash
 * table of words, one array holding every posting list end to end. A
 * query looks its words up (a miss means no match at all) and intersects
 * their lists, shortest first, walking the longer ones with a galloping
 * search; the cost depends on the shortest list, not on the 150,000
 * names. Ids are in code point order, so the result is too.
 *
 * Ownership: an index is built once and then only read; any number of
 * threads may query it at once (the shards of a server do).
 */
#ifndef CF_INDEX_H
#define CF_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CF_DEFAULT_DATA "/usr/share/unicode/UnicodeData.txt"

struct cf_index;

struct cf_entry {
	uint32_t cp;
	bool printable; /* see struct cf_ucd_char */
	const char *name; /* NUL-terminated; lives as long as the index */
	size_t name_len;
};

/* The result of a query: ids[0..n) in increasing order. `owned` is what
 * cf_match_release() frees (NULL when ids point into the index). */
struct cf_match {
	const uint32_t *ids;
	size_t n;
	uint32_t *owned;
};

/* Build from UnicodeData.txt's text. 0 and *out; -EINVAL for malformed
 * data (line number in *bad_line if not NULL); -ENOMEM. */
int cf_index_build(struct cf_index **out, const char *text, size_t len,
		   size_t *bad_line);
/* Read `path` (NULL: CF_DEFAULT_DATA) and build. Also open/read errors. */
int cf_index_load(struct cf_index **out, const char *path, size_t *bad_line);
/* NULL is a no-op. */
void cf_index_free(struct cf_index *ix);

/* Characters indexed; distinct words. */
size_t cf_index_size(const struct cf_index *ix);
size_t cf_index_words(const struct cf_index *ix);

/* Character `id` (< cf_index_size()). */
void cf_index_entry(const struct cf_index *ix, uint32_t id,
		    struct cf_entry *e);

/* The characters whose name has every word of query[0..len). Returns the
 * number of words in the query (with repeats) and fills *m (release it
 * with cf_match_release()); 0 means the query has no word, and then no
 * match. -EINVAL (NULL argument), -ENOMEM. */
int cf_index_find(const struct cf_index *ix, const char *query, size_t len,
		  struct cf_match *m);
void cf_match_release(struct cf_match *m);

/* Word iteration shared by the index and its callers: the next word of
 * s[*pos..len), as its offset and length; false when none is left. */
bool cf_next_word(const char *s, size_t len, size_t *pos, size_t *off,
		  size_t *wlen);

#endif
