/* charfinder — reading UnicodeData.txt (the Unicode Character Database's
 * main file, one character per line, fields separated by ';').
 *
 * What becomes a named character:
 * - an ordinary line: its name (field 1), as is;
 * - a control (name "<control>"): its Unicode 1.0 name (field 10, e.g.
 *   "LINE FEED (LF)"), and nothing when that field is empty (U+0080,
 *   U+0081, U+0084, U+0099 have none);
 * - a range (a "<X, First>" line and its "<X, Last>" line): the names
 *   Unicode derives for its characters (rules NR1 and NR2 of the
 *   standard's §4.8), as Python's unicodedata.name() gives them:
 *   "CJK UNIFIED IDEOGRAPH-4E00", "TANGUT IDEOGRAPH-17000", and the
 *   Hangul syllables' names made of their jamo ("HANGUL SYLLABLE GAG").
 *   Surrogates and private-use ranges have no names and are skipped, as
 *   is any range kind this reader does not know;
 * - any other "<...>" name: skipped.
 */
#ifndef CF_UCD_H
#define CF_UCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest name accepted; Unicode's longest is 88 bytes. */
#define CF_NAME_MAX 255

struct cf_ucd_char {
	uint32_t cp;
	const char *name; /* not NUL-terminated; valid during the callback */
	size_t name_len;
	/* False for what must not be shown raw: controls (Cc), format
	 * characters (Cf: bidi overrides, zero-width joiners...), the line
	 * and paragraph separators (Zl, Zp), surrogates and private use. */
	bool printable;
};

/* Called once per named character, in increasing code point order. A
 * negative return stops the parse and is returned by cf_ucd_parse(). */
typedef int (*cf_ucd_fn)(const struct cf_ucd_char *c, void *arg);

/* Parse the text of UnicodeData.txt. 0; fn's error; -EINVAL for a
 * malformed line (bad code point, fewer than 3 fields, a name longer than
 * CF_NAME_MAX, code points not increasing, a range without its end), with
 * its number (from 1) in *bad_line when bad_line is not NULL. */
int cf_ucd_parse(const char *text, size_t len, cf_ucd_fn fn, void *arg,
		 size_t *bad_line);

/* Read a whole file into a malloc'd buffer (free it). 0; -errno. */
int cf_read_file(const char *path, char **data, size_t *len);

#endif
