/* crawler — the URL list: read with coreio's file operations (io_uring,
 * or the executor on epoll), split into lines, cleaned as the seed does
 * with set(map(str.strip, inf)), in the order the URLs first appear so
 * that runs are repeatable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "crawler.h"

/* Read all of fd into a NUL-terminated buffer. Reads at explicit offsets
 * (the file is ours alone) until one returns 0. */
static ssize_t slurp(int fd, char **out)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		/* Grow while under the limit; one byte past it is room
		 * enough to tell that the file is too large. */
		if (cap - len < 4096 && cap < CRW_MAX_INPUT + 1) {
			size_t ncap = cap ? cap * 2 : 64 * 1024;
			char *nb;
			if (ncap > CRW_MAX_INPUT + 1)
				ncap = CRW_MAX_INPUT + 1;
			if (!(nb = realloc(buf, ncap + 1))) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = cio_read(fd, buf + len, cap - len, (int64_t)len,
				     CIO_NO_DEADLINE);
		if (n < 0) {
			free(buf);
			return n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CRW_MAX_INPUT) {
			free(buf);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

static bool blank(char c)
{
	/* str.strip()'s ASCII whitespace. */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* Split text in place: each kept line is stripped and NUL-terminated. */
static int collect(struct crw_urls *u, char *text, size_t len)
{
	struct crw_strset seen = { 0 };
	size_t cap = 0;
	char *p = text, *end = text + len;
	int rc = 0;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end, *s = p;
		p = nl ? nl + 1 : end;
		while (s < le && blank(*s))
			s++;
		while (le > s && blank(le[-1]))
			le--;
		if (s == le || *s == '#')
			continue;
		*le = '\0';
		if ((rc = crw_strset_add(&seen, s, (size_t)(le - s))) < 0)
			break;
		if (rc == 0)
			continue; /* crawled once, like the seed's set */
		if (u->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nv = realloc(u->v, ncap * sizeof(*nv));
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			u->v = nv;
			cap = ncap;
		}
		u->v[u->n++] = s;
		rc = 0;
	}
	crw_strset_free(&seen);
	return rc;
}

int crw_urls_read(struct crw_urls *u, const char *path)
{
	char *text;
	ssize_t len;
	int fd, rc;

	*u = (struct crw_urls){ 0 };
	if ((fd = cio_open(path, O_RDONLY, 0)) < 0)
		return fd;
	len = slurp(fd, &text);
	cio_close(fd);
	if (len < 0)
		return (int)len;
	u->mem_ = text;
	if ((rc = collect(u, text, (size_t)len)) < 0) {
		crw_urls_free(u);
		return rc;
	}
	return 0;
}

void crw_urls_free(struct crw_urls *u)
{
	free(u->v);
	free(u->mem_);
	*u = (struct crw_urls){ 0 };
}
