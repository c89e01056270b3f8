/* coreio HTTP static files: a handler that serves a directory.
 *
 *     cio_http_static *st;
 *     int rc = cio_http_static_new(&st, "/srv/www", NULL);
 *     rc = cio_http_server_start(&hs, NULL, 8080, cio_http_static_serve, st,
 *                                &opts);
 *     ...after wait_closed():  cio_http_static_free(st);
 *
 * GET and HEAD only (anything else: 405 with Allow). The request path is
 * percent-decoded and resolved under the root:
 * - a NUL byte or a bad escape in the path → 400; a ".." segment → 400
 *   (no path escape, whatever follows);
 * - opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative
 *   to the root directory, so a symbolic link that points out of the root
 *   is refused by the kernel → 404 (links inside the root work);
 * - missing → 404; no permission → 403; a directory → its index file
 *   ("index.html") if any, else 404 (no listings); a directory path
 *   without the trailing '/' → 301 to the path with it;
 * - anything but a regular file → 404.
 * The response has Content-Type by extension (a built-in table of the
 * common types; application/octet-stream otherwise), Content-Length,
 * Last-Modified; If-Modified-Since at or after the file's time → 304.
 *
 * I/O: on the io_uring backend open, statx, read and close are io_uring
 * operations (no executor thread); on epoll they go to the executor, as
 * every file operation there does.
 *
 * Ownership rules:
 * 1. cio_http_static_new() succeeded => call cio_http_static_free() once,
 *    after the servers using it have been waited for.
 * 2. The object is read-only once made: any number of shards may serve
 *    with it at once.
 */
#ifndef CIO_IO_HTTP_STATIC_H
#define CIO_IO_HTTP_STATIC_H

#include "io/http_server.h"
#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_http_static cio_http_static;

/* Zero-initialise; 0/NULL means the default. */
struct cio_http_static_opts {
	const char *index;    /* "index.html"; "" disables index files */
	size_t chunk_size;    /* bytes per read of a file, 64 KiB */
	const char *cache_control; /* a Cache-Control value; NULL: none */
};

/* Serve the directory `root` (opened now; it must exist). 0 and *out;
 * -EINVAL, -ENOTDIR, open(2)'s errors, -ENOMEM. Never parks. */
int cio_http_static_new(cio_http_static **out, const char *root,
			const struct cio_http_static_opts *opts);

/* The handler (arg: the cio_http_static). Callable from other handlers
 * to delegate a request. */
int cio_http_static_serve(cio_http_request *req, cio_http_response *res,
			  void *arg);

/* Ownership rule 1. NULL is a no-op. */
void cio_http_static_free(cio_http_static *st);

CIO_END_DECLS

#endif
