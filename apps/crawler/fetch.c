/* crawler — fetch_html() of the seed: GET one URL and check the answer.
 *
 *     resp = await session.request(method='GET', url=url, timeout=5)
 *     resp.raise_for_status()
 *     logger.info(f'Got response [{resp.status}] for URL: {url}')
 *     html = await resp.text()
 *
 * Each failure is logged here, as the seed's parse() logs the exceptions
 * of fetch_html(), so the caller only counts it.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "crawler.h"

/* Say why a URL cannot be fetched before taking a permit for it. The
 * client would refuse these too, but with one message for all schemes. */
static int check_url(const char *url)
{
	struct cio_url u;
	int rc;

	if (cio_url_parse(&u, url) < 0) {
		crw_log(CRW_ERROR, "Invalid URL: %s", url);
		return -EINVAL;
	}
	rc = 0;
	if (!strcmp(u.scheme, "https")) {
		crw_log(CRW_ERROR, "Cannot fetch %s: %s", url,
			cio_http_strerror(-EPROTONOSUPPORT));
		rc = -EPROTONOSUPPORT;
	} else if (strcmp(u.scheme, "http")) {
		crw_log(CRW_ERROR,
			"Cannot fetch %s: %s is not supported: only http:// "
			"URLs", url, u.scheme);
		rc = -EPROTONOSUPPORT;
	} else if (u.userinfo) {
		crw_log(CRW_ERROR,
			"Cannot fetch %s: credentials in URLs are not "
			"supported", url);
		rc = -EINVAL;
	}
	cio_url_free(&u);
	return rc;
}

/* Can the seed's resp.text() make text of this body? text/... and the XML
 * types (XHTML included) are text. Without a Content-Type, a body with
 * no NUL byte in its first KiB is taken for text, as a browser's sniffer
 * would. Anything else (images, archives, octet-stream) is not: aiohttp
 * fails to decode it, which the seed logs as an error. */
static bool is_text(const char *ct, const char *body, size_t len)
{
	char type[128];
	size_t n = 0;

	if (ct)
		while (*ct == ' ' || *ct == '\t')
			ct++;
	if (!ct || !*ct)
		return !memchr(body, '\0', len < 1024 ? len : 1024);
	for (; ct[n] && ct[n] != ';' && n < sizeof(type) - 1; n++)
		type[n] = (char)tolower((unsigned char)ct[n]);
	while (n > 0 && (type[n - 1] == ' ' || type[n - 1] == '\t'))
		n--;
	type[n] = '\0';
	if (!strncmp(type, "text/", 5) || !strcmp(type, "application/xml"))
		return true;
	return n > 4 && !strcmp(type + n - 4, "+xml");
}

int crw_fetch(cio_http_client *c, cio_sem *sem, const char *url,
	      int64_t timeout, struct cio_http_result *res)
{
	struct cio_http_req req = { .url = url, .max_body = CRW_MAX_BODY };
	struct cio_sem_guard g = CIO_SEM_GUARD_INIT;
	const char *ct;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_url(url)) < 0)
		return rc;
	if ((rc = cio_sem_guard_acquire(&g, sem, CIO_NO_DEADLINE)) < 0)
		return rc; /* -ECANCELED: the crawl is being stopped */
	/* The time budget starts with the permit: a URL waiting for its
	 * turn behind -c others is not late yet. */
	rc = cio_http_client_request(c, &req, res,
				     cio_deadline_after(timeout));
	cio_sem_guard_release(&g);
	if (rc == -ECANCELED)
		return rc;
	if (rc == -ETIMEDOUT) {
		crw_log(CRW_ERROR, "Request failed for %s: %s (limit %g s)",
			url, cio_http_strerror(rc),
			(double)timeout / CIO_NSEC_PER_SEC);
		return rc;
	}
	if (rc < 0) {
		crw_log(CRW_ERROR, "Request failed for %s: %s", url,
			cio_http_strerror(rc));
		return rc;
	}
	if (res->status < 200 || res->status > 299) {
		/* raise_for_status() raises for 4xx and 5xx. The client
		 * skips 1xx and follows 3xx, so what else ends here is a 3xx
		 * without a Location: no page to parse either. */
		crw_log(CRW_ERROR, "HTTP error for %s [%d]: %s", url,
			res->status, cio_http_status_text(res->status));
		cio_http_result_free(res);
		return -EPROTO;
	}
	if (res->redirects)
		crw_log(CRW_INFO,
			"Got response [%d] for URL: %s (redirected to %s)",
			res->status, url, res->url);
	else
		crw_log(CRW_INFO, "Got response [%d] for URL: %s", res->status,
			url);
	ct = cio_http_result_header(res, "Content-Type");
	if (!is_text(ct, res->body, res->body_len)) {
		crw_log(CRW_ERROR, "Not a text document at %s (Content-Type: "
			"%s): no links looked for", url, ct ? ct : "none");
		cio_http_result_free(res);
		return -EMEDIUMTYPE;
	}
	return 0;
}
