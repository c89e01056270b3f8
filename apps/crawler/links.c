/* crawler — parse() of the seed: the links of one page.
 *
 *     HREF_RE = re.compile(r'href="(.*?)"')
 *     for link in HREF_RE.findall(html):
 *         abslink = urllib.parse.urljoin(url, link)
 *         found.add(abslink)
 *
 * The scan below gives exactly what findall() gives for that pattern:
 * "href=" followed by a double quote, case-sensitive; the value is the
 * shortest run up to the next double quote, and since '.' does not match
 * a newline, a value may not span lines: a match attempt that meets a
 * newline first fails, and the search goes on one byte further, as the
 * regex engine's does. Single quotes, unquoted values, HREF= and spaces
 * around '=' are not matched, as in the seed. Entities (&amp;) are left
 * as written.
 *
 * Each value is cleaned as Python's urlsplit() and browsers (the WHATWG
 * URL parser) do: leading and trailing C0 controls and spaces go, tabs
 * and carriage returns inside are dropped. It is then resolved against
 * the page's URL with cio_url_resolve() (RFC 3986 §5.2; urljoin() is
 * close to it), the fragment kept as urljoin() keeps it. Every resolved
 * link is kept, whatever its scheme (mailto:, javascript:...), as in the
 * seed; repeats within the page are dropped (the seed's set), in the
 * order of first appearance rather than a set's arbitrary one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crawler.h"

static const char needle[] = "href=\"";
#define NEEDLE_LEN (sizeof(needle) - 1)

int crw_href_scan(const char *body, size_t len,
		  int (*fn)(void *arg, const char *v, size_t n), void *arg)
{
	const char *p = body, *end = body + len;

	while ((size_t)(end - p) >= NEEDLE_LEN) {
		const char *m = memmem(p, (size_t)(end - p), needle,
				       NEEDLE_LEN);
		const char *v, *q;
		int rc;

		if (!m)
			break;
		v = m + NEEDLE_LEN;
		for (q = v; q < end && *q != '"' && *q != '\n'; q++)
			;
		if (q == end || *q == '\n') {
			/* No match starting at m: try from the next byte. */
			p = m + 1;
			continue;
		}
		if ((rc = fn(arg, v, (size_t)(q - v))) != 0)
			return rc;
		p = q + 1; /* findall() goes on after the whole match */
	}
	return 0;
}

struct extract {
	struct crw_block *b;
	const char *src, *base;
	size_t src_len;
	struct crw_strset seen;
	char *ref;       /* the cleaned value, NUL-terminated */
	char *abs;       /* the resolved link */
	size_t abs_cap;
};

static bool c0_or_space(char c)
{
	return (unsigned char)c <= 0x20;
}

static int put(struct crw_block *b, const char *s, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;
		char *nb;
		while (cap - b->len < n)
			cap *= 2;
		if (!(nb = realloc(b->buf, cap)))
			return -ENOMEM;
		b->buf = nb;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	return 0;
}

static int on_href(void *arg, const char *v, size_t n)
{
	struct extract *x = arg;
	size_t len = 0;
	ssize_t r;
	int rc;

	while (n > 0 && c0_or_space(*v))
		v++, n--;
	while (n > 0 && c0_or_space(v[n - 1]))
		n--;
	if (n > CIO_URL_MAX_LEN) {
		crw_log(CRW_WARNING,
			"Error parsing url: a link of %zu bytes on %s (the "
			"limit is %u)", n, x->src, CIO_URL_MAX_LEN);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\t' && v[i] != '\r')
			x->ref[len++] = v[i];
	x->ref[len] = '\0';
	if (memchr(x->ref, '\0', len)) {
		crw_log(CRW_WARNING, "Error parsing url: a NUL byte in '%s...' "
			"on %s", x->ref, x->src);
		return 0;
	}
	while ((r = cio_url_resolve(x->base, x->ref, x->abs, x->abs_cap)) ==
	       -ENOSPC) {
		char *na = realloc(x->abs, x->abs_cap * 2);
		if (!na)
			return -ENOMEM;
		x->abs = na;
		x->abs_cap *= 2;
	}
	if (r == -ENOMEM)
		return -ENOMEM;
	if (r < 0) {
		crw_log(CRW_WARNING, "Error parsing url: %s on %s", x->ref,
			x->src);
		return 0;
	}
	if ((rc = crw_strset_add(&x->seen, x->abs, (size_t)r)) <= 0)
		return rc; /* 0: seen on this page already */
	if (put(x->b, x->src, x->src_len) < 0 || put(x->b, "\t", 1) < 0 ||
	    put(x->b, x->abs, (size_t)r) < 0 || put(x->b, "\n", 1) < 0)
		return -ENOMEM;
	x->b->nlinks++;
	return 0;
}

int crw_links_extract(struct crw_block *b, const char *src, const char *base,
		      const char *body, size_t len)
{
	struct extract x = { .b = b, .src = src, .base = base,
			     .src_len = strlen(src), .abs_cap = 4096 };
	int rc = -ENOMEM;

	/* On the heap: a link may be 64 KiB, a task's stack is 64 KiB. */
	x.ref = malloc(CIO_URL_MAX_LEN + 1);
	x.abs = malloc(x.abs_cap);
	if (x.ref && x.abs)
		rc = crw_href_scan(body, len, on_href, &x);
	free(x.ref);
	free(x.abs);
	crw_strset_free(&x.seen);
	return rc;
}

void crw_block_free(struct crw_block *b)
{
	free(b->buf);
	*b = (struct crw_block){ 0 };
}
