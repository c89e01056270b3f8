/* URL parsing and RFC 3986 §5.2 reference resolution. */
#include "io/url.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* -- characters ------------------------------------------------------------ */

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* unreserved / sub-delims (RFC 3986 §2.2, §2.3): what a reg-name and an
 * IPv4 address are made of, once percent-escapes are ruled out. */
static bool is_host_char(int c)
{
	return is_alpha(c) || is_digit(c) ||
	       (c && strchr("-._~!$&'()*+,;=", c));
}

/* Bytes that can never appear in a URL on the wire. */
static bool is_forbidden(unsigned char c)
{
	return c <= 0x20 || c == 0x7f;
}

/* A valid scheme spans s[0..n). */
static bool scheme_ok(const char *s, size_t n)
{
	if (!n || !is_alpha((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		int c = (unsigned char)s[i];
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
		    c != '.')
			return false;
	}
	return true;
}

uint16_t cio_url_default_port(const char *scheme)
{
	if (!scheme)
		return 0;
	if (!strcasecmp(scheme, "http"))
		return 80;
	if (!strcasecmp(scheme, "https"))
		return 443;
	return 0;
}

/* -- parsing --------------------------------------------------------------- */

static int parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Copy the host s[0..n) lower-cased to dst, checking it. */
static int copy_host(char *dst, const char *s, size_t n, bool *ipv6)
{
	*ipv6 = false;
	if (n && s[0] == '[') {
		struct in6_addr a;
		if (n < 3 || s[n - 1] != ']' || n - 2 >= INET6_ADDRSTRLEN)
			return -EINVAL;
		for (size_t i = 1; i < n - 1; i++)
			dst[i - 1] = (char)lower((unsigned char)s[i]);
		dst[n - 2] = '\0';
		if (inet_pton(AF_INET6, dst, &a) != 1)
			return -EINVAL;
		*ipv6 = true;
		return 0;
	}
	if (!n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!is_host_char((unsigned char)s[i]))
			return -EINVAL;
		dst[i] = (char)lower((unsigned char)s[i]);
	}
	dst[n] = '\0';
	return 0;
}

/* Copy s[0..n) (path and query) to dst, percent-encoding bytes from 0x80
 * up and checking escapes. The bytes written. */
static ssize_t copy_target(char *dst, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *d = dst;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%' &&
		    (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) ||
		     !is_hex((unsigned char)s[i + 2])))
			return -EINVAL;
		if (c >= 0x80) {
			*d++ = '%';
			*d++ = hex[c >> 4];
			*d++ = hex[c & 15];
		} else {
			*d++ = (char)c;
		}
	}
	return d - dst;
}

int cio_url_parse(struct cio_url *out, const char *s)
{
	const char *p, *auth, *auth_end, *host, *host_end, *frag;
	size_t len, slen, tlen;
	char *m;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s || (len = strnlen(s, CIO_URL_MAX_LEN + 1)) > CIO_URL_MAX_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (is_forbidden((unsigned char)s[i]))
			return -EINVAL;

	if (!(p = strchr(s, ':')) || !scheme_ok(s, (size_t)(p - s)) ||
	    p[1] != '/' || p[2] != '/')
		return -EINVAL;
	slen = (size_t)(p - s);
	auth = p + 3;
	auth_end = auth + strcspn(auth, "/?#");
	frag = auth_end + strcspn(auth_end, "#");
	tlen = (size_t)(frag - auth_end);

	/* One block: scheme, userinfo, host, then the target and a copy of
	 * its path, each with room for every byte to triple, plus a '/' and
	 * the NULs. */
	if (!(m = malloc(len + 6 * tlen + 16)))
		return -ENOMEM;
	out->mem_ = m;

	for (size_t i = 0; i < slen; i++)
		m[i] = (char)lower((unsigned char)s[i]);
	m[slen] = '\0';
	out->scheme = m;
	m += slen + 1;

	host = auth;
	const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
	if (at) {
		memcpy(m, auth, (size_t)(at - auth));
		m[at - auth] = '\0';
		out->userinfo = m;
		m += at - auth + 1;
		host = at + 1;
	}
	/* The port follows the last ':' unless that one is inside an IPv6
	 * literal's brackets. */
	host_end = auth_end;
	const char *colon = NULL;
	for (const char *q = host; q < auth_end; q++)
		if (*q == ':')
			colon = q;
	const char *rb = memchr(host, ']', (size_t)(auth_end - host));
	if (colon && (!rb || colon > rb)) {
		if (colon + 1 < auth_end &&
		    (rc = parse_port(colon + 1, (size_t)(auth_end - colon - 1),
				     &out->port)) < 0)
			goto fail;
		out->port_given = colon + 1 < auth_end;
		host_end = colon;
	}
	if (rb && rb != host_end - 1) {
		rc = -EINVAL;
		goto fail;
	}
	rc = copy_host(m, host, (size_t)(host_end - host), &out->ipv6);
	if (rc < 0)
		goto fail;
	out->host = m;
	m += strlen(m) + 1;
	if (!out->port_given)
		out->port = cio_url_default_port(out->scheme);

	/* target = path ["?" query]; path and query point into it. */
	char *t = m;
	ssize_t n;
	if (tlen == 0 || auth_end[0] == '?')
		*m++ = '/';
	if ((n = copy_target(m, auth_end, tlen)) < 0) {
		rc = (int)n;
		goto fail;
	}
	m += n;
	*m = '\0';
	out->target = t;
	char *qm = strchr(t, '?');
	size_t plen = qm ? (size_t)(qm - t) : strlen(t);
	/* The path gets its own copy after the target: no '?' in it. */
	char *path = m + 1;
	memcpy(path, t, plen);
	path[plen] = '\0';
	out->path = path;
	out->query = qm ? qm + 1 : NULL;
	return 0;
fail:
	cio_url_free(out);
	return rc;
}

void cio_url_free(struct cio_url *u)
{
	if (!u)
		return;
	free(u->mem_);
	memset(u, 0, sizeof(*u));
}

/* -- resolution (RFC 3986 §5.2) -------------------------------------------- */

/* A string slice; `def` tells an empty component from an absent one
 * ("http://a?" has an empty query, "http://a" none). */
struct part {
	const char *p;
	size_t n;
	bool def;
};

struct uri {
	struct part scheme, auth, path, query, frag;
};

/* Appendix B: ^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))? */
static void split(const char *s, struct uri *u)
{
	size_t k = strcspn(s, ":/?#");

	memset(u, 0, sizeof(*u));
	/* A would-be scheme that is not one ("1a:b") reads as a path. */
	if (s[k] == ':' && scheme_ok(s, k)) {
		u->scheme = (struct part){ s, k, true };
		s += k + 1;
	}
	if (s[0] == '/' && s[1] == '/') {
		k = strcspn(s + 2, "/?#");
		u->auth = (struct part){ s + 2, k, true };
		s += 2 + k;
	}
	k = strcspn(s, "?#");
	u->path = (struct part){ s, k, true };
	s += k;
	if (*s == '?') {
		k = strcspn(s + 1, "#");
		u->query = (struct part){ s + 1, k, true };
		s += 1 + k;
	}
	if (*s == '#')
		u->frag = (struct part){ s + 1, strlen(s + 1), true };
}

static bool starts(const char *in, const char *end, const char *pre)
{
	size_t n = strlen(pre);
	return (size_t)(end - in) >= n && !memcmp(in, pre, n);
}

static bool equals(const char *in, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - in) == n && !memcmp(in, s, n);
}

/* Drop the last segment of out[0..*on) and its preceding '/'. */
static void pop_segment(const char *out, size_t *on)
{
	while (*on && out[*on - 1] != '/')
		(*on)--;
	if (*on)
		(*on)--;
}

/* §5.2.4: in[0..n) is modified in place (a "/." becomes "/"); the result
 * goes to out, which has room for n bytes. Its length. */
static size_t remove_dots(char *in, size_t n, char *out)
{
	char *end = in + n;
	size_t on = 0;

	while (in < end) {
		if (starts(in, end, "../")) {
			in += 3;
		} else if (starts(in, end, "./")) {
			in += 2;
		} else if (starts(in, end, "/./")) {
			in += 2;
		} else if (equals(in, end, "/.")) {
			in += 1;
			*in = '/';
		} else if (starts(in, end, "/../")) {
			in += 3;
			pop_segment(out, &on);
		} else if (equals(in, end, "/..")) {
			in += 2;
			*in = '/';
			pop_segment(out, &on);
		} else if (equals(in, end, ".") || equals(in, end, "..")) {
			in = end;
		} else {
			/* Move the first segment, with its leading '/'. */
			char *q = in + 1;
			while (q < end && *q != '/')
				q++;
			memmove(out + on, in, (size_t)(q - in));
			on += (size_t)(q - in);
			in = q;
		}
	}
	return on;
}

static void put(char **w, const char *s, size_t n)
{
	memcpy(*w, s, n);
	*w += n;
}

ssize_t cio_url_resolve(const char *base, const char *ref, char *out,
			size_t cap)
{
	struct uri b, r, t;
	size_t blen, rlen;
	char *work, *merged, *path, *w;
	ssize_t ret;

	if (!base || !ref || (!out && cap) ||
	    (blen = strnlen(base, CIO_URL_MAX_LEN + 1)) > CIO_URL_MAX_LEN ||
	    (rlen = strnlen(ref, CIO_URL_MAX_LEN + 1)) > CIO_URL_MAX_LEN)
		return -EINVAL;
	split(base, &b);
	split(ref, &r);
	if (!b.scheme.def)
		return -EINVAL;
	/* The merged path, and its dot-free copy, each fit in blen + rlen
	 * + 1 bytes; the result in that plus the scheme, "//", '?', '#'. */
	if (!(work = malloc(3 * (blen + rlen + 8))))
		return -ENOMEM;
	merged = work;
	path = merged + blen + rlen + 8;

	/* §5.2.2, strict. */
	t.frag = r.frag;
	struct part src = { 0 };
	bool remove = true;
	if (r.scheme.def) {
		t.scheme = r.scheme;
		t.auth = r.auth;
		src = r.path;
		t.query = r.query;
	} else {
		t.scheme = b.scheme;
		if (r.auth.def) {
			t.auth = r.auth;
			src = r.path;
			t.query = r.query;
		} else if (r.path.n == 0) {
			t.auth = b.auth;
			src = b.path;
			remove = false;
			t.query = r.query.def ? r.query : b.query;
		} else {
			t.auth = b.auth;
			t.query = r.query;
			if (r.path.p[0] == '/') {
				src = r.path;
			} else {
				/* §5.2.3 merge. */
				size_t keep = b.path.n;
				while (keep && b.path.p[keep - 1] != '/')
					keep--;
				w = merged;
				if (b.auth.def && b.path.n == 0)
					put(&w, "/", 1);
				else
					put(&w, b.path.p, keep);
				put(&w, r.path.p, r.path.n);
				src.p = merged;
				src.n = (size_t)(w - merged);
			}
		}
	}
	if (remove) {
		if (src.p != merged) {
			memcpy(merged, src.p, src.n);
			src.p = merged;
		}
		t.path = (struct part){ path, remove_dots(merged, src.n, path),
					true };
	} else {
		t.path = src;
	}

	/* §5.3 recomposition. */
	w = path + blen + rlen + 8;
	char *res = w;
	put(&w, t.scheme.p, t.scheme.n);
	put(&w, ":", 1);
	if (t.auth.def) {
		put(&w, "//", 2);
		put(&w, t.auth.p, t.auth.n);
	}
	put(&w, t.path.p, t.path.n);
	if (t.query.def) {
		put(&w, "?", 1);
		put(&w, t.query.p, t.query.n);
	}
	if (t.frag.def) {
		put(&w, "#", 1);
		put(&w, t.frag.p, t.frag.n);
	}
	ret = w - res;
	if ((size_t)ret >= cap) {
		ret = -ENOSPC;
	} else {
		memcpy(out, res, (size_t)ret);
		out[ret] = '\0';
	}
	free(work);
	return ret;
}
