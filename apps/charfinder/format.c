/* charfinder — the output shapes (see format.h). */
#include "format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

size_t cf_code_str(uint32_t cp, char buf[CF_CODE_MAX])
{
	return (size_t)snprintf(buf, CF_CODE_MAX, "U+%04X",
				(unsigned)(cp & 0x1FFFFF));
}

size_t cf_utf8(uint32_t cp, char buf[4])
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		buf[0] = (char)(0xC0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		buf[0] = (char)(0xE0 | cp >> 12);
		buf[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		buf[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	buf[0] = (char)(0xF0 | cp >> 18);
	buf[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	buf[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	buf[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

bool cf_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (n - i - 1 < need)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

/* -- the buffered sink ----------------------------------------------------- */

void cf_out_init(struct cf_out *o, char *buf, size_t cap,
		 int (*write)(void *ctx, const void *p, size_t n), void *ctx)
{
	*o = (struct cf_out){ buf, cap, 0, write, ctx, 0 };
}

int cf_out_flush(struct cf_out *o)
{
	int ret;

	if (o->err)
		return o->err;
	if (!o->len)
		return 0;
	ret = o->write(o->ctx, o->buf, o->len);
	o->len = 0;
	if (ret < 0)
		o->err = ret;
	return ret < 0 ? ret : 0;
}

int cf_out_put(struct cf_out *o, const void *p, size_t n)
{
	int ret;

	if (o->err)
		return o->err;
	if (o->len + n > o->cap && (ret = cf_out_flush(o)) < 0)
		return ret;
	if (n > o->cap) {
		/* Bigger than the buffer: straight through. */
		if ((ret = o->write(o->ctx, p, n)) < 0)
			o->err = ret;
		return ret < 0 ? ret : 0;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

int cf_out_puts(struct cf_out *o, const char *s)
{
	return cf_out_put(o, s, strlen(s));
}

int cf_out_html(struct cf_out *o, const char *s, size_t n)
{
	size_t run = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		const char *esc;
		switch (s[i]) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default: continue;
		}
		if ((ret = cf_out_put(o, s + run, i - run)) < 0 ||
		    (ret = cf_out_puts(o, esc)) < 0)
			return ret;
		run = i + 1;
	}
	return cf_out_put(o, s + run, n - run);
}

/* \uXXXX for one UTF-16 unit. */
static int put_u(struct cf_out *o, unsigned v)
{
	char e[7];

	snprintf(e, sizeof(e), "\\u%04x", v & 0xFFFF);
	return cf_out_put(o, e, 6);
}

int cf_out_json_str(struct cf_out *o, const char *s, size_t n)
{
	size_t run = 0;
	int ret;

	if ((ret = cf_out_put(o, "\"", 1)) < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		unsigned u = 0;
		size_t skip = 1;

		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\r')
			esc = "\\r";
		else if (c < 0x20 || c == 0x7F)
			u = c;
		else if (c == 0xE2 && i + 2 < n &&
			 (unsigned char)s[i + 1] == 0x80 &&
			 ((unsigned char)s[i + 2] == 0xA8 ||
			  (unsigned char)s[i + 2] == 0xA9)) {
			/* U+2028, U+2029: legal in JSON, line breaks in
			 * JavaScript. */
			u = (unsigned char)s[i + 2] == 0xA8 ? 0x2028 : 0x2029;
			skip = 3;
		} else
			continue;
		if ((ret = cf_out_put(o, s + run, i - run)) < 0)
			return ret;
		ret = esc ? cf_out_puts(o, esc) : put_u(o, u);
		if (ret < 0)
			return ret;
		i += skip - 1;
		run = i + 1;
	}
	if ((ret = cf_out_put(o, s + run, n - run)) < 0)
		return ret;
	return cf_out_put(o, "\"", 1);
}

/* -- rows ------------------------------------------------------------------ */

/* The character as shown in text and HTML: itself, or nothing. */
static size_t shown(const struct cf_entry *e, char buf[4])
{
	return e->printable ? cf_utf8(e->cp, buf) : 0;
}

int cf_out_text_row(struct cf_out *o, const struct cf_entry *e,
		    const char *eol)
{
	char line[CF_CODE_MAX + 4 + 2];
	size_t n = cf_code_str(e->cp, line);
	int ret;

	line[n++] = '\t';
	n += shown(e, line + n);
	line[n++] = '\t';
	if ((ret = cf_out_put(o, line, n)) < 0 ||
	    (ret = cf_out_put(o, e->name, e->name_len)) < 0)
		return ret;
	return cf_out_puts(o, eol);
}

int cf_out_html_row(struct cf_out *o, const struct cf_entry *e)
{
	char code[CF_CODE_MAX], ch[4];
	size_t cn = cf_code_str(e->cp, code), chn = shown(e, ch);
	int ret;

	if ((ret = cf_out_puts(o, "<tr><td>")) < 0 ||
	    (ret = cf_out_put(o, code, cn)) < 0 ||
	    (ret = cf_out_puts(o, "</td><th>")) < 0 ||
	    (ret = cf_out_html(o, ch, chn)) < 0 ||
	    (ret = cf_out_puts(o, "</th><td>")) < 0 ||
	    (ret = cf_out_html(o, e->name, e->name_len)) < 0)
		return ret;
	return cf_out_puts(o, "</td></tr>\n");
}

int cf_out_json_obj(struct cf_out *o, const struct cf_entry *e)
{
	char code[CF_CODE_MAX], ch[4];
	size_t cn = cf_code_str(e->cp, code);
	int ret;

	if ((ret = cf_out_puts(o, "{\"code\":\"")) < 0 ||
	    (ret = cf_out_put(o, code, cn)) < 0 ||
	    (ret = cf_out_puts(o, "\",\"char\":")) < 0)
		return ret;
	if (e->printable) {
		ret = cf_out_json_str(o, ch, cf_utf8(e->cp, ch));
	} else if (e->cp < 0x10000) {
		if ((ret = cf_out_put(o, "\"", 1)) == 0 &&
		    (ret = put_u(o, e->cp)) == 0)
			ret = cf_out_put(o, "\"", 1);
	} else {
		/* A surrogate pair, as JSON spells characters past the BMP. */
		uint32_t v = e->cp - 0x10000;
		if ((ret = cf_out_put(o, "\"", 1)) == 0 &&
		    (ret = put_u(o, 0xD800 | v >> 10)) == 0 &&
		    (ret = put_u(o, 0xDC00 | (v & 0x3FF))) == 0)
			ret = cf_out_put(o, "\"", 1);
	}
	if (ret < 0 || (ret = cf_out_puts(o, ",\"name\":")) < 0 ||
	    (ret = cf_out_json_str(o, e->name, e->name_len)) < 0)
		return ret;
	return cf_out_put(o, "}", 1);
}
