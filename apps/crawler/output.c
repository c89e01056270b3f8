/* crawler — the output file, written with coreio's file operations
 * (io_uring writes, or the executor on epoll).
 *
 * The seed opens the file in append mode for each page and writes a line
 * at a time, so two pages finishing together can interleave their lines.
 * Here each page is one block written at an offset reserved for it:
 * reserving is a plain addition, and the loop runs one task at a time,
 * so two blocks can never get overlapping ranges, even while their
 * writes are in flight together. A short write is continued at the right
 * place (cio_write_all), which O_APPEND could not promise once another
 * block had been appended in between.
 *
 * O_APPEND is not used: Linux's pwrite(2) ignores the offset on an
 * O_APPEND descriptor.
 */
#include <errno.h>
#include <fcntl.h>

#include "crawler.h"

static const char header[] = "source_url\tparsed_url\n";

int crw_out_open(struct crw_out *o, const char *path)
{
	ssize_t n;
	int fd;

	*o = (struct crw_out){ .fd = -1 };
	fd = cio_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	if (fd < 0)
		return fd;
	n = cio_write_all(fd, header, sizeof(header) - 1, 0, CIO_NO_DEADLINE,
			  NULL);
	if (n < 0) {
		cio_close(fd);
		return (int)n;
	}
	o->fd = fd;
	o->next = (int64_t)sizeof(header) - 1;
	return 0;
}

int crw_out_append(struct crw_out *o, const void *buf, size_t len,
		   unsigned nlines)
{
	int64_t off;
	ssize_t n;

	if (o->err)
		return o->err;
	/* Reserve before the first await: see the top of the file. */
	off = o->next;
	o->next += (int64_t)len;
	n = cio_write_all(o->fd, buf, len, off, CIO_NO_DEADLINE, NULL);
	if (n < 0) {
		/* The file now has a gap or a partial block: stop writing
		 * more into it and let the caller report it. A cancelled
		 * write (Ctrl-C) is not a write error of the file. */
		if (n != -ECANCELED && !o->err)
			o->err = (int)n;
		return (int)n;
	}
	o->lines += nlines;
	return 0;
}

int crw_out_close(struct crw_out *o)
{
	int rc = 0;

	if (o->fd >= 0)
		rc = cio_close(o->fd);
	o->fd = -1;
	return o->err ? o->err : rc;
}
