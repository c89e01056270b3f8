/* charfinder — results as text lines, HTML rows and JSON objects, written
 * through a small buffer to any sink (stdout, a stream, an HTTP body).
 *
 * The shapes:
 *   text  "U+1F431\t🐱\tCAT FACE\n"
 *   HTML  "<tr><td>U+1F431</td><th>🐱</th><td>CAT FACE</td></tr>\n"
 *   JSON  {"code":"U+1F431","char":"🐱","name":"CAT FACE"}
 * The code point has at least 4 hex digits. A character that must not be
 * shown raw (a control, a format character, a line or paragraph
 * separator: see struct cf_ucd_char) is shown as nothing in text and HTML;
 * in JSON, where escapes say exactly what it is, it is a \u escape.
 * HTML and JSON text is escaped.
 */
#ifndef CF_FORMAT_H
#define CF_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"

/* "U+10FFFF" and its NUL. */
#define CF_CODE_MAX 9

/* "U+0041" into buf: its length. */
size_t cf_code_str(uint32_t cp, char buf[CF_CODE_MAX]);
/* UTF-8 of cp (not a surrogate, at most U+10FFFF): 1 to 4 bytes. */
size_t cf_utf8(uint32_t cp, char buf[4]);
/* Is s[0..n) valid UTF-8 (no overlong forms, surrogates or values above
 * U+10FFFF)? */
bool cf_utf8_valid(const char *s, size_t n);

/* A buffered sink. write() gets every byte in order and returns 0 or a
 * negative errno; the first error sticks and is what every later call
 * returns. */
struct cf_out {
	char *buf;
	size_t cap, len;
	int (*write)(void *ctx, const void *p, size_t n);
	void *ctx;
	int err;
};

void cf_out_init(struct cf_out *o, char *buf, size_t cap,
		 int (*write)(void *ctx, const void *p, size_t n), void *ctx);
int cf_out_put(struct cf_out *o, const void *p, size_t n);
int cf_out_puts(struct cf_out *o, const char *s);
/* s[0..n) with & < > " ' escaped. */
int cf_out_html(struct cf_out *o, const char *s, size_t n);
/* s[0..n) (UTF-8) as a quoted JSON string. */
int cf_out_json_str(struct cf_out *o, const char *s, size_t n);
/* Hand what is buffered to write(). */
int cf_out_flush(struct cf_out *o);

/* The text line, ended by eol ("\n", or "\r\n" for a client that uses
 * it). */
int cf_out_text_row(struct cf_out *o, const struct cf_entry *e,
		    const char *eol);
int cf_out_html_row(struct cf_out *o, const struct cf_entry *e);
int cf_out_json_obj(struct cf_out *o, const struct cf_entry *e);

#endif
