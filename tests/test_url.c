/* URLs: parsing (schemes, ports, IPv6 literals, userinfo, targets,
 * fragments, UTF-8, and what is refused), and RFC 3986 reference
 * resolution with every example of §5.4.1 and §5.4.2. No loop needed. */
#include "helpers/harness.h"
#include "io/url.h"

#include <stdlib.h>
#include <string.h>

/* -- parsing --------------------------------------------------------------- */

struct parse_case {
	const char *in;
	const char *scheme, *host, *target, *path, *query;
	uint16_t port;
	bool port_given, ipv6;
};

static const struct parse_case good[] = {
	{ "http://example.org", "http", "example.org", "/", "/", NULL, 80,
	  false, false },
	{ "http://example.org/", "http", "example.org", "/", "/", NULL, 80,
	  false, false },
	{ "HTTP://Example.ORG:8080/A/b?X=1", "http", "example.org",
	  "/A/b?X=1", "/A/b", "X=1", 8080, true, false },
	{ "http://127.0.0.1:1/", "http", "127.0.0.1", "/", "/", NULL, 1, true,
	  false },
	{ "http://h:65535", "http", "h", "/", "/", NULL, 65535, true, false },
	{ "http://h:/p", "http", "h", "/p", "/p", NULL, 80, false, false },
	{ "https://h/", "https", "h", "/", "/", NULL, 443, false, false },
	{ "ftp://h/", "ftp", "h", "/", "/", NULL, 0, false, false },
	{ "http://[::1]/", "http", "::1", "/", "/", NULL, 80, false, true },
	{ "http://[::1]:8080", "http", "::1", "/", "/", NULL, 8080, true,
	  true },
	{ "http://[2001:DB8::7]:99/x?y", "http", "2001:db8::7", "/x?y", "/x",
	  "y", 99, true, true },
	{ "http://[::ffff:10.0.0.1]/", "http", "::ffff:10.0.0.1", "/", "/",
	  NULL, 80, false, true },
	{ "http://h?q", "http", "h", "/?q", "/", "q", 80, false, false },
	{ "http://h/p?", "http", "h", "/p?", "/p", "", 80, false, false },
	{ "http://h/p?a=1&b=%20#frag", "http", "h", "/p?a=1&b=%20", "/p",
	  "a=1&b=%20", 80, false, false },
	{ "http://h#frag", "http", "h", "/", "/", NULL, 80, false, false },
	{ "http://h/a#f?not-a-query", "http", "h", "/a", "/a", NULL, 80, false,
	  false },
	{ "http://h/a/../b/./c", "http", "h", "/a/../b/./c", "/a/../b/./c",
	  NULL, 80, false, false },
	{ "http://h/caf\xc3\xa9?q=\xe2\x82\xac", "http", "h",
	  "/caf%C3%A9?q=%E2%82%AC", "/caf%C3%A9", "q=%E2%82%AC", 80, false,
	  false },
	{ "http://a-b_c.d~e/", "http", "a-b_c.d~e", "/", "/", NULL, 80, false,
	  false },
	{ "svn+ssh.x-y://h/", "svn+ssh.x-y", "h", "/", "/", NULL, 0, false,
	  false },
};

Test(url, parse_good, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct parse_case *c = &good[i];
		struct cio_url u;
		cr_assert_eq(cio_url_parse(&u, c->in), 0, "%s", c->in);
		cr_assert_str_eq(u.scheme, c->scheme, "%s", c->in);
		cr_assert_str_eq(u.host, c->host, "%s", c->in);
		cr_assert_str_eq(u.target, c->target, "%s", c->in);
		cr_assert_str_eq(u.path, c->path, "%s", c->in);
		if (c->query)
			cr_assert_str_eq(u.query, c->query, "%s", c->in);
		else
			cr_assert_null(u.query, "%s", c->in);
		cr_assert_eq(u.port, c->port, "%s", c->in);
		cr_assert_eq(u.port_given, c->port_given, "%s", c->in);
		cr_assert_eq(u.ipv6, c->ipv6, "%s", c->in);
		cr_assert_null(u.userinfo, "%s", c->in);
		cio_url_free(&u);
		cr_assert_null(u.mem_);
	}
}

Test(url, userinfo_is_kept, .timeout = 10)
{
	struct cio_url u;

	cr_assert_eq(cio_url_parse(&u, "http://user:pw@h:81/x"), 0);
	cr_assert_str_eq(u.userinfo, "user:pw");
	cr_assert_str_eq(u.host, "h");
	cr_assert_eq(u.port, 81);
	cio_url_free(&u);
	cr_assert_eq(cio_url_parse(&u, "http://@h/"), 0);
	cr_assert_str_eq(u.userinfo, "");
	cio_url_free(&u);
	cr_assert_eq(cio_url_parse(&u, "http://u@[::1]:9/"), 0);
	cr_assert_str_eq(u.userinfo, "u");
	cr_assert_str_eq(u.host, "::1");
	cr_assert_eq(u.port, 9);
	cio_url_free(&u);
}

static const char *const bad[] = {
	"",
	"example.org/x",
	"/just/a/path",
	"http:/h/x",
	"http:h",
	"1http://h/",
	"ht tp://h/",
	"://h/",
	"http://",
	"http:///x",
	"http://:80/",
	"http://u@/",
	"http://h:0/",
	"http://h:65536/",
	"http://h:123456/",
	"http://h:-1/",
	"http://h:8o/",
	"http://h: 80/",
	"http://h:80:81/",
	"http://a b/",
	"http://h/a b",
	"http://h/a\tb",
	"http://h/a\x7f",
	"http://h/\r\nX: y",
	" http://h/",
	"http://h/%",
	"http://h/%4",
	"http://h/%zz",
	"http://h/?q=%g1",
	"http://h%41/",
	"http://h<x>/",
	"http://[::1/",
	"http://::1/",
	"http://[::1]x/",
	"http://[]/",
	"http://[zz::1]/",
	"http://[::1%25eth0]/",
	"http://[v1.fe]/",
	"http://[127.0.0.1]/",
	"http://caf\xc3\xa9.example/",
};

Test(url, parse_bad, .timeout = 10)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cio_url u;
		memset(&u, 0x55, sizeof(u));
		cr_assert_eq(cio_url_parse(&u, bad[i]), -EINVAL, "'%s'",
			     bad[i]);
		cr_assert_null(u.mem_, "'%s' leaves the struct zeroed", bad[i]);
		cio_url_free(&u);
	}
	cr_assert_eq(cio_url_parse(NULL, "http://h/"), -EINVAL);
	struct cio_url u;
	cr_assert_eq(cio_url_parse(&u, NULL), -EINVAL);
	cio_url_free(NULL);
}

Test(url, length_limit, .timeout = 10)
{
	size_t n = CIO_URL_MAX_LEN + 1;
	char *s = malloc(n + 1);
	struct cio_url u;

	cr_assert_not_null(s);
	memcpy(s, "http://h/", 9);
	memset(s + 9, 'a', n - 9);
	s[n] = '\0';
	cr_assert_eq(cio_url_parse(&u, s), -EINVAL);
	s[n - 1] = '\0'; /* exactly the limit */
	cr_assert_eq(cio_url_parse(&u, s), 0);
	cr_assert_eq(strlen(u.target), CIO_URL_MAX_LEN - 8);
	cio_url_free(&u);
	/* Every byte of the target UTF-8: it triples and still fits. */
	memset(s + 9, '\xe9', n - 10);
	cr_assert_eq(cio_url_parse(&u, s), 0);
	cr_assert_eq(strlen(u.target), 1 + 3 * (CIO_URL_MAX_LEN - 9));
	cr_assert_eq(strlen(u.path), strlen(u.target));
	cio_url_free(&u);
	free(s);
}

Test(url, default_port, .timeout = 10)
{
	cr_assert_eq(cio_url_default_port("http"), 80);
	cr_assert_eq(cio_url_default_port("HTTP"), 80);
	cr_assert_eq(cio_url_default_port("https"), 443);
	cr_assert_eq(cio_url_default_port("gopher"), 0);
	cr_assert_eq(cio_url_default_port(NULL), 0);
}

/* -- resolution ------------------------------------------------------------ */

#define BASE "http://a/b/c/d;p?q"

struct resolve_case {
	const char *ref, *want;
};

/* RFC 3986 §5.4.1. */
static const struct resolve_case normal[] = {
	{ "g:h", "g:h" },
	{ "g", "http://a/b/c/g" },
	{ "./g", "http://a/b/c/g" },
	{ "g/", "http://a/b/c/g/" },
	{ "/g", "http://a/g" },
	{ "//g", "http://g" },
	{ "?y", "http://a/b/c/d;p?y" },
	{ "g?y", "http://a/b/c/g?y" },
	{ "#s", "http://a/b/c/d;p?q#s" },
	{ "g#s", "http://a/b/c/g#s" },
	{ "g?y#s", "http://a/b/c/g?y#s" },
	{ ";x", "http://a/b/c/;x" },
	{ "g;x", "http://a/b/c/g;x" },
	{ "g;x?y#s", "http://a/b/c/g;x?y#s" },
	{ "", "http://a/b/c/d;p?q" },
	{ ".", "http://a/b/c/" },
	{ "./", "http://a/b/c/" },
	{ "..", "http://a/b/" },
	{ "../", "http://a/b/" },
	{ "../g", "http://a/b/g" },
	{ "../..", "http://a/" },
	{ "../../", "http://a/" },
	{ "../../g", "http://a/g" },
};

/* RFC 3986 §5.4.2 (strict parser: "http:g" stays as it is). */
static const struct resolve_case abnormal[] = {
	{ "../../../g", "http://a/g" },
	{ "../../../../g", "http://a/g" },
	{ "/./g", "http://a/g" },
	{ "/../g", "http://a/g" },
	{ "g.", "http://a/b/c/g." },
	{ ".g", "http://a/b/c/.g" },
	{ "g..", "http://a/b/c/g.." },
	{ "..g", "http://a/b/c/..g" },
	{ "./../g", "http://a/b/g" },
	{ "./g/.", "http://a/b/c/g/" },
	{ "g/./h", "http://a/b/c/g/h" },
	{ "g/../h", "http://a/b/c/h" },
	{ "g;x=1/./y", "http://a/b/c/g;x=1/y" },
	{ "g;x=1/../y", "http://a/b/c/y" },
	{ "g?y/./x", "http://a/b/c/g?y/./x" },
	{ "g?y/../x", "http://a/b/c/g?y/../x" },
	{ "g#s/./x", "http://a/b/c/g#s/./x" },
	{ "g#s/../x", "http://a/b/c/g#s/../x" },
	{ "http:g", "http:g" },
};

static void check_resolve(const char *base, const struct resolve_case *c,
			  size_t n)
{
	char out[256];

	for (size_t i = 0; i < n; i++) {
		ssize_t r = cio_url_resolve(base, c[i].ref, out, sizeof(out));
		cr_assert_eq(r, (ssize_t)strlen(c[i].want), "'%s' -> %zd",
			     c[i].ref, r);
		cr_assert_str_eq(out, c[i].want, "'%s'", c[i].ref);
	}
}

Test(url, resolve_rfc_normal, .timeout = 10)
{
	check_resolve(BASE, normal, sizeof(normal) / sizeof(normal[0]));
}

Test(url, resolve_rfc_abnormal, .timeout = 10)
{
	check_resolve(BASE, abnormal, sizeof(abnormal) / sizeof(abnormal[0]));
}

static const struct resolve_case more[] = {
	/* A base with an authority and no path merges under "/". */
	{ "g", "http://h/g" },
	{ "?x", "http://h?x" },
	{ "#f", "http://h#f" },
	{ "HTTP://Other/x/../y", "HTTP://Other/y" },
	{ "//o:81/a/./b", "http://o:81/a/b" },
	{ "/a/b/../../..", "http://h/" },
	{ "./a:b", "http://h/a:b" },
	/* Not a scheme (starts with a digit): a relative path. */
	{ "1a:b", "http://h/1a:b" },
};

Test(url, resolve_more, .timeout = 10)
{
	check_resolve("http://h", more, sizeof(more) / sizeof(more[0]));

	char out[64];
	/* The base's fragment never carries over. */
	cr_assert_eq(cio_url_resolve("http://h/a#x", "", out, sizeof(out)), 10);
	cr_assert_str_eq(out, "http://h/a");
	cr_assert_eq(cio_url_resolve("http://h/a/b?q#x", "c", out, sizeof(out)),
		     12);
	cr_assert_str_eq(out, "http://h/a/c");
	/* A base without authority (a URN-like one). */
	cr_assert_gt(cio_url_resolve("mailto:x/y", "../z", out, sizeof(out)),
		     0);
	cr_assert_str_eq(out, "mailto:/z");
	/* The result parses. */
	struct cio_url u;
	cr_assert_gt(cio_url_resolve("http://h:81/d/e", "../f?g#h", out,
				     sizeof(out)), 0);
	cr_assert_eq(cio_url_parse(&u, out), 0);
	cr_assert_str_eq(u.target, "/f?g");
	cr_assert_eq(u.port, 81);
	cio_url_free(&u);
}

Test(url, resolve_bad, .timeout = 10)
{
	char out[16];

	cr_assert_eq(cio_url_resolve(NULL, "g", out, sizeof(out)), -EINVAL);
	cr_assert_eq(cio_url_resolve(BASE, NULL, out, sizeof(out)), -EINVAL);
	cr_assert_eq(cio_url_resolve(BASE, "g", NULL, 16), -EINVAL);
	cr_assert_eq(cio_url_resolve("/b/c", "g", out, sizeof(out)), -EINVAL,
		     "base without a scheme");
	cr_assert_eq(cio_url_resolve("//a/b", "g", out, sizeof(out)), -EINVAL);
	/* "http://a/b/c/g" is 14 bytes: 15 with its NUL fit, 14 do not. */
	cr_assert_eq(cio_url_resolve(BASE, "g", out, 15), 14);
	cr_assert_eq(cio_url_resolve(BASE, "g", out, 14), -ENOSPC);
	cr_assert_eq(cio_url_resolve(BASE, "g", NULL, 0), -ENOSPC);

	size_t n = CIO_URL_MAX_LEN + 1;
	char *s = malloc(n + 1);
	cr_assert_not_null(s);
	memset(s, 'a', n);
	s[n] = '\0';
	cr_assert_eq(cio_url_resolve(BASE, s, out, sizeof(out)), -EINVAL);
	free(s);
}
