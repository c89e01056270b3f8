/* HTTP pieces the server and the client share: header lookup, status
 * texts, dates, query strings. */
#include "io/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *cio_http_header_find(const struct cio_http_header *h, size_t n,
				 const char *name)
{
	if (!h || !name)
		return NULL;
	size_t len = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (h[i].name_len == len && !strncasecmp(h[i].name, name, len))
			return h[i].value;
	return NULL;
}

bool cio_http_list_has(const char *value, const char *token)
{
	if (!value || !token)
		return false;
	size_t tlen = strlen(token);
	const char *p = value;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *start = p;
		while (*p && *p != ',' && *p != ';')
			p++;
		const char *end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == tlen &&
		    !strncasecmp(start, token, tlen))
			return true;
		while (*p && *p != ',')
			p++; /* skip parameters */
	}
	return false;
}

const char *cio_http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 418: return "I'm a teapot";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed",
				  "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
				    "May", "Jun", "Jul", "Aug",
				    "Sep", "Oct", "Nov", "Dec" };

int cio_http_date_format(time_t t, char *buf, size_t cap)
{
	struct tm tm;
	if (!buf || cap < CIO_HTTP_DATE_LEN + 1 || !gmtime_r(&t, &tm) ||
	    tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return -EINVAL;
	/* Built by hand: strftime would follow the locale. */
	snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return CIO_HTTP_DATE_LEN;
}

static int month_of(const char *s)
{
	for (int i = 0; i < 12; i++)
		if (!strncmp(s, months[i], 3))
			return i;
	return -1;
}

static bool valid_tm(const struct tm *tm)
{
	return tm->tm_mon >= 0 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
	       tm->tm_hour >= 0 && tm->tm_hour <= 23 && tm->tm_min >= 0 &&
	       tm->tm_min <= 59 && tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

int cio_http_date_parse(const char *s, time_t *out)
{
	if (!s || !out)
		return -EINVAL;
	struct tm tm = { 0 };
	char mon[4] = "", wday[16] = "", tz[4] = "";
	int year, n = 0;
	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n", wday,
		   &tm.tm_mday, mon, &year, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, tz, &n) == 8 && !strcmp(tz, "GMT")) {
		/* fall through to the common checks */
	} else if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3s%n",
			  wday, &tm.tm_mday, mon, &year, &tm.tm_hour,
			  &tm.tm_min, &tm.tm_sec, tz, &n) == 8 &&
		   !strcmp(tz, "GMT")) {
		/* RFC 850: two-digit year; RFC 9110 §5.6.7 says a year that
		 * looks more than 50 years ahead is in the past. */
		year += year < 70 ? 2000 : 1900;
	} else if (sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wday,
			  mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			  &tm.tm_sec, &year, &n) == 7) {
		/* asctime: Sun Nov  6 08:49:37 1994 */
	} else {
		return -EINVAL;
	}
	if (s[n] != '\0')
		return -EINVAL;
	tm.tm_mon = month_of(mon);
	tm.tm_year = year - 1900;
	if (!valid_tm(&tm) || year < 1970)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = t;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static ssize_t decode(const char *src, size_t len, char *dst, size_t cap,
		      bool plus_is_space)
{
	if (!src || !dst || !cap)
		return -EINVAL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -EILSEQ;
			int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -EILSEQ;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0')
			return -EILSEQ;
		if (o + 1 >= cap)
			return -ENOSPC;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (ssize_t)o;
}

ssize_t cio_http_pct_decode(const char *src, size_t len, char *dst,
			    size_t cap)
{
	return decode(src, len, dst, cap, false);
}

ssize_t cio_http_query_get(const char *query, const char *key, char *buf,
			   size_t cap)
{
	if (!query || !key || !buf || !cap)
		return -EINVAL;
	size_t klen = strlen(key);
	const char *p = query;
	while (*p) {
		const char *end = strchr(p, '&');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;
		if ((size_t)(kend - p) == klen && !memcmp(p, key, klen)) {
			const char *v = eq ? eq + 1 : end;
			return decode(v, (size_t)(end - v), buf, cap, true);
		}
		p = *end ? end + 1 : end;
	}
	return -ENOENT;
}
