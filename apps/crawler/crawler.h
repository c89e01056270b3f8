/* crawler — the Real Python "areq.py" example on coreio: read a list of
 * URLs, fetch them concurrently, pull the href="..." links out of each
 * page, resolve them against the page's URL and append
 * "source_url<TAB>parsed_url" lines to an output file.
 *
 * How the seed's functions map onto the files here (one loop, one thread):
 *
 *   bulk_crawl_and_write  crawl.c    the main task: reads the URL list
 *                                    (input.c), truncates the output and
 *                                    writes its header (output.c), then one
 *                                    task per URL in a task group;
 *   write_one             crawl.c    one URL: fetch, parse, append;
 *   fetch_html            fetch.c    GET with a deadline, raise_for_status,
 *                                    "is this text?";
 *   parse                 links.c    HREF_RE as a hand-written scan,
 *                                    urljoin() as RFC 3986 resolution,
 *                                    repeats dropped as set() does;
 *   (the sets)            strset.c   the URL list's and each page's;
 *   logging               log.c      "%H:%M:%S LEVEL:crawler: message".
 *
 * A semaphore (-c, default 10) bounds the requests in flight; all of them
 * share one cio_http_client, so connections to a host are kept alive and
 * reused, as aiohttp's ClientSession does.
 */
#ifndef CRW_CRAWLER_H
#define CRW_CRAWLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coreio.h"

#define CRW_PROG "crawler"
#define CRW_DEFAULT_CONCURRENCY 10
#define CRW_MAX_CONCURRENCY 10000
#define CRW_DEFAULT_TIMEOUT (10 * CIO_NSEC_PER_SEC)
#define CRW_MAX_TIMEOUT (86400 * CIO_NSEC_PER_SEC)
/* A page larger than this is an error rather than a memory hog: at most
 * concurrency x this much body is held at once. */
#define CRW_MAX_BODY ((size_t)16 << 20)
/* The URL list is read whole; a list larger than this is refused. */
#define CRW_MAX_INPUT ((size_t)256 << 20)

/* -- cli.c ----------------------------------------------------------------- */

struct crw_opts {
	const char *input;    /* -i: the URL list */
	const char *output;   /* -o: the file of found links */
	unsigned concurrency; /* -c: requests in flight at most */
	int64_t timeout;      /* --timeout: ns per URL, the whole request */
};

/* Fill *o from argv. -1: go on; otherwise the exit status to return at
 * once (0 after --help, 2 after a usage error, already reported). */
int crw_parse_args(int argc, char **argv, struct crw_opts *o);

/* -- log.c ----------------------------------------------------------------- */

enum crw_level { CRW_INFO, CRW_WARNING, CRW_ERROR };

/* One line on stderr, as the seed's logging.basicConfig() formats it:
 * "14:32:01 INFO:crawler: Got response [200] for URL: http://...".
 * The line goes out in one write(2), so lines never mix. */
void crw_log(enum crw_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* -- strset.c -------------------------------------------------------------- */

/* A set of byte strings (copied in): Python's set() for the seed's two
 * uses, the URL list and a page's links. Open addressing, FNV-1a. */
struct crw_strset {
	struct crw_strset_slot *slots;
	size_t cap, n;
};

/* Add s[0..len): 1 if it was new, 0 if it was there, -ENOMEM. */
int crw_strset_add(struct crw_strset *set, const char *s, size_t len);
void crw_strset_free(struct crw_strset *set);

/* -- input.c --------------------------------------------------------------- */

/* The URLs of the list, in the order of their first appearance. */
struct crw_urls {
	char **v;
	size_t n;
	char *mem_; /* private: the file's text the strings point into */
};

/* Read `path` (from a task) and collect its URLs: one per line, blanks
 * around them stripped, blank lines and lines starting with '#' skipped,
 * repeats dropped (the seed makes a set of them). 0; a negative errno
 * from opening or reading the file; -EFBIG over CRW_MAX_INPUT; -ENOMEM. */
int crw_urls_read(struct crw_urls *u, const char *path);
void crw_urls_free(struct crw_urls *u);

/* -- output.c -------------------------------------------------------------- */

/* The output file. Every page's lines go in with one write at an offset
 * reserved for it (see output.c), so pages never interleave and any
 * number of them may be written at once. */
struct crw_out {
	int fd;
	int64_t next; /* where the next block goes */
	int err;      /* the first write error, or 0 */
	uint64_t lines;
};

/* Create or truncate `path` and write the header line. 0, or a negative
 * errno (nothing to close then). From a task. */
int crw_out_open(struct crw_out *o, const char *path);
/* Append `len` bytes as one block. 0 or a negative errno; after the first
 * error every later append fails with it (the file is incomplete). */
int crw_out_append(struct crw_out *o, const void *buf, size_t len,
		   unsigned nlines);
/* Close; 0, or the first error seen (writes or close). */
int crw_out_close(struct crw_out *o);

/* -- fetch.c --------------------------------------------------------------- */

/* GET `url` with the client, holding one of sem's permits for the
 * request, within `timeout` ns counted from when the permit was had, and
 * check the answer as the seed does: a 2xx status (raise_for_status) and
 * a body that is text. 0 and *res (free with cio_http_result_free());
 * otherwise the error has been logged for `url` and a negative errno is
 * returned (-ECANCELED when the task was cancelled: not logged, the crawl
 * is being stopped). */
int crw_fetch(cio_http_client *c, cio_sem *sem, const char *url,
	      int64_t timeout, struct cio_http_result *res);

/* -- links.c --------------------------------------------------------------- */

/* The lines "src<TAB>link\n" for the links of one page. */
struct crw_block {
	char *buf;
	size_t len, cap;
	unsigned nlinks;
};

/* Find every href="..." in body[0..len) (the seed's HREF_RE), resolve it
 * against `base` (the URL that answered), drop repeats, and append one
 * line per distinct link to *b, with `src` as its first column. 0 or
 * -ENOMEM; a link that cannot be resolved is logged and skipped. */
int crw_links_extract(struct crw_block *b, const char *src, const char *base,
		      const char *body, size_t len);
void crw_block_free(struct crw_block *b);

/* The scanner alone: call fn for each href value (not NUL-terminated)
 * in order; stop early when fn returns non-zero, and return that. */
int crw_href_scan(const char *body, size_t len,
		  int (*fn)(void *arg, const char *v, size_t n), void *arg);

/* -- crawl.c --------------------------------------------------------------- */

/* The main task (arg: const struct crw_opts *). Its result is the exit
 * status: 0 every URL fetched and written, 1 something failed, 2 the
 * input could not be read or the output not created. */
intptr_t crw_main_task(void *arg);

#endif
