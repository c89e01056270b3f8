/* HTTP static files: map a request path under a root directory, open it
 * so that it cannot leave the root, and send it. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/file.h"
#include "io/http_static.h"

#define DEFAULT_CHUNK (64u * 1024)
#define MAX_PATH_LEN 4096

struct cio_http_static {
	int rootfd;
	char *index;
	size_t chunk;
	char *cache_control;
};

static const struct {
	const char *ext, *type;
} types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "md", "text/markdown; charset=utf-8" },
	{ "csv", "text/csv; charset=utf-8" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/vnd.microsoft.icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "mp3", "audio/mpeg" },
	{ "mp4", "video/mp4" },
	{ "webm", "video/webm" },
	{ "woff", "font/woff" },
	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },
	{ "zip", "application/zip" },
	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" },
};

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot + 1, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

int cio_http_static_new(cio_http_static **out, const char *root,
			const struct cio_http_static_opts *opts)
{
	struct cio_http_static_opts o = { 0 };
	cio_http_static *st;

	if (!out || !root || !*root)
		return -EINVAL;
	*out = NULL;
	if (opts)
		o = *opts;
	if ((o.index && (strchr(o.index, '/') || !strcmp(o.index, "..") ||
			 strlen(o.index) > 255)) ||
	    (o.cache_control && strpbrk(o.cache_control, "\r\n")) ||
	    o.chunk_size > (64u << 20))
		return -EINVAL;
	if (!(st = calloc(1, sizeof(*st))))
		return -ENOMEM;
	st->chunk = o.chunk_size ? o.chunk_size : DEFAULT_CHUNK;
	st->index = strdup(o.index ? o.index : "index.html");
	st->cache_control = o.cache_control ? strdup(o.cache_control) : NULL;
	if (!st->index || (o.cache_control && !st->cache_control)) {
		cio_http_static_free(st);
		return -ENOMEM;
	}
	/* Set-up, once: a plain open(2) is fine here and needs no task. */
	st->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st->rootfd < 0) {
		int err = -errno;
		st->rootfd = -1;
		cio_http_static_free(st);
		return err;
	}
	*out = st;
	return 0;
}

void cio_http_static_free(cio_http_static *st)
{
	if (!st)
		return;
	if (st->rootfd >= 0)
		close(st->rootfd);
	free(st->index);
	free(st->cache_control);
	free(st);
}

/* 400 for a ".." segment: whatever it would resolve to, a path that
 * climbs is not one this handler serves. */
static bool climbs(const char *p)
{
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		if (end - p == 2 && p[0] == '.' && p[1] == '.')
			return true;
		p = end;
	}
	return false;
}

static int status_of_open_error(int err)
{
	switch (err) {
	case -EACCES:
	case -EPERM:
		return 403;
	case -ENOENT:
	case -ENOTDIR:
	case -EXDEV:  /* out of the root */
	case -ELOOP:  /* a link loop, or a magic link */
	case -ENAMETOOLONG:
	case -ENXIO:  /* a socket */
		return 404;
	default:
		return 500;
	}
}

static int respond_status(cio_http_response *res, int status)
{
	char body[80];
	int n = snprintf(body, sizeof(body), "%d %s\n", status,
			 cio_http_status_text(status));
	return cio_http_respond(res, status, "text/plain; charset=utf-8", body,
				(size_t)n);
}

static int open_beneath(const cio_http_static *st, const char *rel)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = cio_openat2(st->rootfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK,
			     0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return fd;
	/* ...and reads must not fail with EAGAIN (io_uring honours the
	 * flag on regular files). */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static int send_file(const cio_http_static *st, cio_http_request *req,
		     cio_http_response *res, int fd, const struct statx *sx,
		     const char *path)
{
	char lm[CIO_HTTP_DATE_LEN + 1];
	const char *ims = cio_http_request_header(req, "If-Modified-Since");
	time_t since, mtime = (time_t)sx->stx_mtime.tv_sec;
	int64_t size = (int64_t)sx->stx_size, off = 0;
	int rc;

	if (cio_http_date_format(mtime, lm, sizeof(lm)) > 0)
		cio_http_response_header(res, "Last-Modified", lm);
	if (st->cache_control)
		cio_http_response_header(res, "Cache-Control",
					 st->cache_control);
	if (ims && cio_http_date_parse(ims, &since) == 0 && mtime <= since)
		return cio_http_respond(res, 304, NULL, NULL, 0);
	cio_http_response_header(res, "Content-Type", content_type(path));
	if ((rc = cio_http_response_start(res, 200, size)) < 0 || req->head)
		return rc < 0 ? rc : cio_http_response_end(res);
	size_t cap = size < (int64_t)st->chunk ? (size_t)size : st->chunk;
	char *buf = malloc(cap ? cap : 1);
	if (!buf)
		return -ENOMEM;
	while (off < size) {
		size_t want = size - off < (int64_t)cap ? (size_t)(size - off) :
							  cap;
		ssize_t n = cio_read(fd, buf, want, off, CIO_NO_DEADLINE);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EPROTO; /* the file shrank */
			break;
		}
		if ((rc = cio_http_response_write(res, buf, (size_t)n)) < 0)
			break;
		off += n;
	}
	free(buf);
	if (rc < 0)
		return rc;
	return cio_http_response_end(res);
}

int cio_http_static_serve(cio_http_request *req, cio_http_response *res,
			  void *arg)
{
	const cio_http_static *st = arg;
	char path[MAX_PATH_LEN + 1], rel[MAX_PATH_LEN + 300];
	struct statx sx;
	ssize_t len;
	int fd, rc;

	if (!req || !res || !st)
		return -EINVAL;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
		cio_http_response_header(res, "Allow", "GET, HEAD");
		return respond_status(res, 405);
	}
	len = cio_http_pct_decode(req->path, strlen(req->path), path,
				  sizeof(path));
	if (len == -ENOSPC)
		return respond_status(res, 414);
	if (len < 0 || path[0] != '/' || climbs(path))
		return respond_status(res, 400);
	/* Relative to the root: openat2 takes a leading '/' for the
	 * filesystem's root, which RESOLVE_BENEATH refuses. */
	const char *tail = path + strspn(path, "/");
	snprintf(rel, sizeof(rel), "%s", *tail ? tail : ".");
	if ((fd = open_beneath(st, rel)) < 0)
		return respond_status(res, status_of_open_error(fd));
	rc = cio_statx(fd, "", AT_EMPTY_PATH,
		       STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_MTIME,
		       &sx);
	if (rc == 0 && S_ISDIR(sx.stx_mode)) {
		cio_close(fd);
		fd = -1;
		if (path[len - 1] != '/') {
			/* Relative links in the index resolve against the
			 * directory only with the slash. */
			snprintf(rel, sizeof(rel), "%s/%s%s", req->path,
				 *req->query ? "?" : "", req->query);
			cio_http_response_header(res, "Location", rel);
			return respond_status(res, 301);
		}
		if (!*st->index)
			return respond_status(res, 404);
		snprintf(rel, sizeof(rel), "%s%s", tail, st->index);
		if ((fd = open_beneath(st, rel)) < 0)
			return respond_status(res, status_of_open_error(fd));
		rc = cio_statx(fd, "", AT_EMPTY_PATH,
			       STATX_TYPE | STATX_MODE | STATX_SIZE |
				       STATX_MTIME,
			       &sx);
	}
	if (rc < 0)
		rc = respond_status(res, 500);
	else if (!S_ISREG(sx.stx_mode))
		rc = respond_status(res, 404);
	else
		rc = send_file(st, req, res, fd, &sx, rel);
	cio_close(fd);
	return rc;
}
