/* coreio HTTP/1.1 — what the server (io/http_server.h) and the client
 * (io/http_client.h) share: header fields, status texts, HTTP dates and
 * query strings.
 *
 * None of these functions parks or allocates; all may be called from any
 * thread.
 */
#ifndef CIO_IO_HTTP_H
#define CIO_IO_HTTP_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "runtime/common.h"

CIO_BEGIN_DECLS

/* One header field. Both strings are NUL-terminated (the lengths are
 * there so that binary-safe code need not call strlen); value has its
 * leading and trailing blanks removed, as RFC 9110 §5.5 says. */
struct cio_http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* The first field named `name` (compared case-insensitively) in h[0..n):
 * its value, or NULL. */
const char *cio_http_header_find(const struct cio_http_header *h, size_t n,
				 const char *name);

/* Does the comma-separated list `value` (a Connection, Accept or
 * Transfer-Encoding value) hold `token`, case-insensitively, ignoring
 * parameters after ';'? NULL value: false. */
bool cio_http_list_has(const char *value, const char *token);

/* The reason phrase of a status code ("Not Found"), or "Unknown". */
const char *cio_http_status_text(int status);

/* An IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
 * Writes 29 characters and a NUL into buf. 29, or -EINVAL (NULL buf, a
 * time gmtime_r cannot represent, cap < 30). */
#define CIO_HTTP_DATE_LEN 29
int cio_http_date_format(time_t t, char *buf, size_t cap);
/* Parse an HTTP date: IMF-fixdate, and the obsolete RFC 850 and asctime
 * forms the RFC says recipients must accept. 0 and *out, or -EINVAL. */
int cio_http_date_parse(const char *s, time_t *out);

/* Find `key` in a query string ("a=1&b=x+y%21", without the '?') and
 * percent-decode its value ('+' is a space) into buf, NUL-terminated.
 * The value's length; -ENOENT when the key is absent; -ENOSPC when the
 * decoded value does not fit in cap - 1 bytes; -EILSEQ for a bad escape
 * or a decoded NUL; -EINVAL (NULL, cap 0). A key without '=' has the
 * empty value. */
ssize_t cio_http_query_get(const char *query, const char *key, char *buf,
			   size_t cap);

/* Percent-decode `len` bytes of src into dst (cap bytes, NUL-terminated),
 * '+' left alone (paths do not use it for spaces). The decoded length;
 * -EILSEQ for a bad escape or a decoded NUL; -ENOSPC; -EINVAL. */
ssize_t cio_http_pct_decode(const char *src, size_t len, char *dst,
			    size_t cap);

CIO_END_DECLS

#endif
