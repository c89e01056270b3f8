/* coreio URLs: parsing an absolute URL into the parts an HTTP client needs,
 * and RFC 3986 reference resolution (an href against its page's URL).
 *
 *     struct cio_url u;
 *     int rc = cio_url_parse(&u, "http://[::1]:8080/a/b?x=1#top");
 *     // u.scheme "http", u.host "::1" (u.ipv6), u.port 8080,
 *     // u.path "/a/b", u.query "x=1", u.target "/a/b?x=1"
 *     cio_url_free(&u);
 *
 *     char abs[2048];
 *     ssize_t n = cio_url_resolve("http://a/b/c/d;p?q", "../g", abs,
 *                                 sizeof(abs));          // "http://a/b/g"
 *
 * What cio_url_parse() accepts: scheme "://" authority [path] ["?" query]
 * ["#" fragment], that is an absolute URL with a host (RFC 3986 §3).
 * - scheme: a letter, then letters, digits, '+', '-', '.'; lower-cased.
 * - authority: [userinfo "@"] host [":" port]. userinfo is kept as
 *   written (the HTTP client refuses it: credentials in URLs are not
 *   supported). host is a bracketed IPv6 literal (checked with
 *   inet_pton(3); zone identifiers and IPvFuture are refused) or a name
 *   or IPv4 address of unreserved and sub-delimiter characters (no
 *   percent-escapes); lower-cased; never empty. port: decimal, 1..65535;
 *   absent or empty means the scheme's default (http 80, https 443,
 *   otherwise 0).
 * - path and query are kept as written, except that bytes from 0x80 up
 *   (UTF-8 in a link) are percent-encoded, as browsers send them. An
 *   empty path is "/". The fragment is dropped: it never goes on the
 *   wire.
 * - Refused with -EINVAL: no scheme or no "//", an empty host, a bad
 *   port, a control character, space or DEL anywhere, a '%' not followed
 *   by two hex digits, more than CIO_URL_MAX_LEN bytes.
 *
 * Ownership rules:
 * 1. cio_url_parse() succeeded => call cio_url_free() once. The strings
 *    of a struct cio_url live in one allocation that free() releases;
 *    do not free them one by one. On error nothing is to be freed (the
 *    struct is zeroed, so cio_url_free() on it is harmless).
 * 2. Input strings are only read during the call.
 * 3. Nothing here parks or keeps state: any thread may call any of it.
 */
#ifndef CIO_IO_URL_H
#define CIO_IO_URL_H

#include <sys/types.h>

#include "runtime/common.h"

CIO_BEGIN_DECLS

/* Longest URL (and reference) accepted, in bytes. */
#define CIO_URL_MAX_LEN (64u * 1024)

struct cio_url {
	const char *scheme;   /* "http" */
	const char *userinfo; /* "user:pw" before '@', or NULL */
	const char *host;     /* "example.org", "10.0.0.1", "::1" */
	const char *path;     /* "/a/b", at least "/" */
	const char *query;    /* after '?', without '#'; NULL when no '?' */
	const char *target;   /* path ["?" query]: an HTTP request-target */
	uint16_t port;        /* given, or the scheme's default, or 0 */
	bool port_given;      /* the URL named a port */
	bool ipv6;            /* host was a bracketed IPv6 literal */
	char *mem_;           /* private: the allocation behind the strings */
};

/* Parse the absolute URL `s` (see above). 0 and *out; -EINVAL; -ENOMEM.
 * *out is zeroed on error. */
int cio_url_parse(struct cio_url *out, const char *s);

/* Release what cio_url_parse() allocated and zero *u. NULL is a no-op. */
void cio_url_free(struct cio_url *u);

/* The default port of a scheme (case-insensitive): 80 for http, 443 for
 * https, 0 for any other. */
uint16_t cio_url_default_port(const char *scheme);

/* Resolve the URI reference `ref` against the absolute URI `base` (RFC
 * 3986 §5.2, strict: a reference with a scheme is taken as absolute,
 * "http:g" included) and write the result, NUL-terminated, into out.
 * Dot segments ("." and "..") are removed (§5.2.4); the fragment of ref
 * is kept. This is the generic algorithm: it does not check the
 * characters of either input, lower-case anything or add a default path,
 * so feed the result to cio_url_parse() to get a usable URL.
 * Its length; -EINVAL (NULL, base without a scheme, an input longer than
 * CIO_URL_MAX_LEN); -ENOSPC (cap too small for the result and its NUL);
 * -ENOMEM. */
ssize_t cio_url_resolve(const char *base, const char *ref, char *out,
			size_t cap);

CIO_END_DECLS

#endif
