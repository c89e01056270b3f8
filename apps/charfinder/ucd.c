/* charfinder — UnicodeData.txt reader (see ucd.h for what it yields). */
#include "ucd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fields of a line that the reader uses. */
#define F_CODE 0
#define F_NAME 1
#define F_CATEGORY 2
#define F_NAME1 10 /* Unicode 1.0 name */
#define NFIELDS 15

struct field {
	const char *p;
	size_t len;
};

/* The jamo short names of Unicode's Jamo.txt, by index, for rule NR1. */
static const char *const jamo_l[19] = {
	"G", "GG", "N", "D", "DD", "R", "M", "B", "BB", "S",
	"SS", "", "J", "JJ", "C", "K", "T", "P", "H",
};
static const char *const jamo_v[21] = {
	"A", "AE", "YA", "YAE", "EO", "E", "YEO", "YE", "O", "WA", "WAE",
	"OE", "YO", "U", "WEO", "WE", "WI", "YU", "EU", "YI", "I",
};
static const char *const jamo_t[28] = {
	"", "G", "GG", "GS", "N", "NJ", "NH", "D", "L", "LG",
	"LM", "LB", "LS", "LT", "LP", "LH", "M", "B", "BS", "S",
	"SS", "NG", "J", "C", "K", "T", "P", "H",
};

#define HANGUL_BASE 0xAC00u
#define HANGUL_COUNT 11172u

enum range_kind { RANGE_SKIP, RANGE_CJK, RANGE_TANGUT, RANGE_HANGUL };

static bool has_prefix(const struct field *f, const char *s)
{
	size_t n = strlen(s);
	return f->len >= n && memcmp(f->p, s, n) == 0;
}

static bool has_suffix(const struct field *f, const char *s)
{
	size_t n = strlen(s);
	return f->len >= n && memcmp(f->p + f->len - n, s, n) == 0;
}

/* "<CJK Ideograph Extension A, First>" -> "CJK Ideograph Extension A". */
static struct field range_label(const struct field *name, const char *end)
{
	struct field l = { name->p + 1, name->len - 1 - strlen(end) };
	return l;
}

static enum range_kind range_kind(const struct field *label)
{
	if (has_prefix(label, "CJK Ideograph"))
		return RANGE_CJK;
	if (has_prefix(label, "Tangut Ideograph"))
		return RANGE_TANGUT;
	if (has_prefix(label, "Hangul Syllable"))
		return RANGE_HANGUL;
	return RANGE_SKIP; /* surrogates, private use, what comes next */
}

/* Cc, Cf, Cs, Co, Cn (the "other" categories) and Zl, Zp. */
static bool printable_category(const struct field *gc)
{
	if (gc->len < 2)
		return true;
	if (gc->p[0] == 'C')
		return false;
	return !(gc->p[0] == 'Z' && (gc->p[1] == 'l' || gc->p[1] == 'p'));
}

static int parse_code(const struct field *f, uint32_t *cp)
{
	uint32_t v = 0;

	if (f->len < 4 || f->len > 6)
		return -EINVAL;
	for (size_t i = 0; i < f->len; i++) {
		char c = f->p[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -EINVAL;
		v = v * 16 + (uint32_t)d;
	}
	if (v > 0x10FFFF)
		return -EINVAL;
	*cp = v;
	return 0;
}

static size_t split(const char *line, size_t len, struct field *f)
{
	size_t n = 0;
	const char *p = line, *end = line + len;

	while (n < NFIELDS) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *stop = semi ? semi : end;
		f[n].p = p;
		f[n].len = (size_t)(stop - p);
		n++;
		if (!semi)
			break;
		p = semi + 1;
	}
	for (size_t i = n; i < NFIELDS; i++)
		f[i] = (struct field){ "", 0 };
	return n;
}

/* prefix + "-" + cp in hex (at least 4 digits): rule NR2. snprintf was a
 * fifth of the build's time for the 100,000 ideographs. */
static size_t nr2_name(const char *prefix, uint32_t cp, char *buf)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(prefix);
	size_t digits = cp > 0xFFFFF ? 6 : cp > 0xFFFF ? 5 : 4;

	memcpy(buf, prefix, n);
	buf[n++] = '-';
	for (size_t i = digits; i-- > 0;)
		buf[n++] = hex[cp >> (4 * i) & 0xF];
	buf[n] = '\0';
	return n;
}

static size_t hangul_name(uint32_t cp, char *buf)
{
	uint32_t s = cp - HANGUL_BASE;
	return (size_t)sprintf(buf, "HANGUL SYLLABLE %s%s%s",
			       jamo_l[s / 588], jamo_v[s % 588 / 28],
			       jamo_t[s % 28]);
}

static int emit_range(uint32_t first, uint32_t last, enum range_kind kind,
		      bool printable, cf_ucd_fn fn, void *arg)
{
	char buf[64];
	struct cf_ucd_char c = { .name = buf, .printable = printable };
	int ret;

	if (kind == RANGE_SKIP)
		return 0;
	for (uint32_t cp = first; cp <= last; cp++) {
		c.cp = cp;
		if (kind == RANGE_HANGUL) {
			/* The data may one day give a wider range than the
			 * 11,172 syllables the rule can name. */
			if (cp < HANGUL_BASE ||
			    cp >= HANGUL_BASE + HANGUL_COUNT)
				continue;
			c.name_len = hangul_name(cp, buf);
		} else {
			c.name_len = nr2_name(kind == RANGE_CJK
						      ? "CJK UNIFIED IDEOGRAPH"
						      : "TANGUT IDEOGRAPH",
					      cp, buf);
		}
		if ((ret = fn(&c, arg)) < 0)
			return ret;
	}
	return 0;
}

struct parser {
	cf_ucd_fn fn;
	void *arg;
	bool have_prev;
	uint32_t prev; /* last code point seen, for the ordering check */
	bool in_range;
	uint32_t range_first;
	struct field range_label;
};

/* One non-empty line. */
static int parse_line(struct parser *ps, const char *line, size_t len)
{
	struct field f[NFIELDS];
	struct cf_ucd_char c;
	uint32_t cp;
	int ret;

	if (split(line, len, f) < 3 || parse_code(&f[F_CODE], &cp) < 0)
		return -EINVAL;
	if (ps->have_prev && cp <= ps->prev)
		return -EINVAL;
	ps->have_prev = true;
	ps->prev = cp;

	const struct field *name = &f[F_NAME];
	bool printable = printable_category(&f[F_CATEGORY]);

	if (ps->in_range) {
		/* A First line must be followed by its Last line. */
		struct field l;
		if (!has_suffix(name, ", Last>"))
			return -EINVAL;
		l = range_label(name, ", Last>");
		if (l.len != ps->range_label.len ||
		    memcmp(l.p, ps->range_label.p, l.len) != 0)
			return -EINVAL;
		ps->in_range = false;
		return emit_range(ps->range_first, cp, range_kind(&l),
				  printable, ps->fn, ps->arg);
	}
	if (name->len > 0 && name->p[0] == '<') {
		if (has_suffix(name, ", First>")) {
			ps->in_range = true;
			ps->range_first = cp;
			ps->range_label = range_label(name, ", First>");
			return 0;
		}
		if (name->len == 9 && memcmp(name->p, "<control>", 9) == 0 &&
		    f[F_NAME1].len > 0)
			name = &f[F_NAME1];
		else
			return 0; /* unnamed: <control> without 1.0 name... */
	}
	if (name->len == 0 || name->len > CF_NAME_MAX)
		return -EINVAL;
	c.cp = cp;
	c.name = name->p;
	c.name_len = name->len;
	c.printable = printable;
	ret = ps->fn(&c, ps->arg);
	return ret < 0 ? ret : 0;
}

int cf_ucd_parse(const char *text, size_t len, cf_ucd_fn fn, void *arg,
		 size_t *bad_line)
{
	struct parser ps = { .fn = fn, .arg = arg };
	const char *p = text, *end = text + len;
	size_t lineno = 0;
	int ret;

	if (!text || !fn)
		return -EINVAL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t n = (size_t)(stop - p);

		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && p[0] != '#' &&
		    (ret = parse_line(&ps, p, n)) < 0) {
			if (bad_line)
				*bad_line = lineno;
			return ret;
		}
		p = nl ? nl + 1 : end;
	}
	if (ps.in_range) {
		if (bad_line)
			*bad_line = lineno;
		return -EINVAL;
	}
	return 0;
}

int cf_read_file(const char *path, char **data, size_t *len)
{
	struct stat st;
	size_t cap, n = 0;
	char *buf;
	int fd, ret;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* Size from fstat, but read to the end: a pipe or /proc file says
	 * 0, and a file may grow meanwhile. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	if (!(buf = malloc(cap))) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;
		if (n == cap) {
			char *nb = cap > SIZE_MAX / 2 ? NULL
						      : realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			free(buf);
			close(fd);
			return ret;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = n;
	return 0;
}
