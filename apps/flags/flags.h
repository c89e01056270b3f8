/* flags — Fluent Python's flag downloaders (chapter 18: flags_asyncio.py,
 * flags2_asyncio.py with flags2_common.py) and the book's slow test
 * server, on coreio. What the two programs share.
 *
 * flags (flags_main.c) downloads BASE_URL/<cc>/<cc>.gif for each country
 * code, through one keep-alive HTTP client, at most CONCURRENCY requests
 * at a time (a semaphore), counting each result as it completes
 * (as_completed) and saving each flag with io_uring writes or on the
 * executor.
 *
 * flags-server (flags_server_main.c) serves a directory with the static
 * file handler, optionally slowed down and failing on purpose, and counts
 * how many requests it serves at once.
 *
 * Every .c file of this folder but the *_main.c ones is linked into both
 * programs.
 */
#ifndef FLAGS_H
#define FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coreio.h"

/* -- country codes (cc.c) --------------------------------------------------
 *
 * A code is two upper-case ASCII letters (the ISO 3166-1 alpha-2 shape),
 * or three for the fake flags flags-server --generate writes once the 676
 * two-letter codes are used up. Sets of codes are kept as a bitmap of all
 * the possible codes, so that expanding, merging and sorting
 * (flags2_common.expand_cc_args) are the same pass.
 */
#define FL_CODES2 (26 * 26)
#define FL_CODES3 (26 * 26 * 26)
#define FL_ALL_CODES (FL_CODES2 + FL_CODES3)
#define FL_CC_SIZE 4 /* a code and its '\0' */

/* The ISO 3166-1 alpha-2 codes (249 of them, sorted): flags -a. */
extern const char *const fl_iso_codes[];
extern const size_t fl_iso_count;
/* The 20 most populous countries: flags without codes (the book's
 * POP20_CC). */
extern const char *const fl_pop20_codes[];
extern const size_t fl_pop20_count;

/* The n-th code of the server's --generate order, 0 <= n < FL_ALL_CODES:
 * the ISO codes (sorted), then every other two-letter code (sorted), then
 * the three-letter codes AAA to ZZZ. */
void fl_generate_code(size_t n, char out[FL_CC_SIZE]);

struct fl_ccset {
	bool has[FL_ALL_CODES];
};

/* Add one command-line CC: two or three letters (any case) add that
 * code, one letter every two-letter code starting with it (as the book's
 * "B for BA...BZ"). false for anything else. */
bool fl_ccset_add_arg(struct fl_ccset *s, const char *arg);
/* -e RANGE: "A..C" (AA to CZ) or a single letter "B" (BA to BZ), any
 * case. false when it is neither or the range runs backwards. */
bool fl_ccset_add_range(struct fl_ccset *s, const char *range);
void fl_ccset_add_list(struct fl_ccset *s, const char *const *codes,
		       size_t n);
/* -g N: the first n codes of the --generate order (n <= FL_ALL_CODES),
 * the very flags flags-server --generate N writes. */
void fl_ccset_add_generated(struct fl_ccset *s, size_t n);
/* The codes in sorted order (the two-letter ones first), at most `limit`
 * of them (0: all), into out[] (room for FL_ALL_CODES). Their number. */
size_t fl_ccset_sorted(const struct fl_ccset *s, size_t limit,
		       char (*out)[FL_CC_SIZE]);

/* -- the downloader (cli.c, download.c, save.c, report.c) ------------------ */

#define FL_DEFAULT_BASE_URL "http://localhost:8001/flags"
#define FL_DEFAULT_OUTDIR "downloads/"
#define FL_DEFAULT_CONCUR 5   /* flags2_asyncio.DEFAULT_CONCUR_REQ */
#define FL_MAX_CONCUR 1000    /* flags2_asyncio.MAX_CONCUR_REQ */
#define FL_DEFAULT_TIMEOUT_S 30

enum fl_save_mode { FL_SAVE_URING, FL_SAVE_EXECUTOR };

struct fl_opts {
	char base_url[2048];  /* without trailing '/' */
	const char *outdir;
	unsigned concurrency; /* as asked; the run uses min(this, codes) */
	size_t limit;         /* -m; 0: no limit */
	bool verbose;
	enum fl_save_mode save;
	int64_t timeout_ns;   /* per flag, from when its request starts */
	char (*codes)[FL_CC_SIZE]; /* sorted, malloc'd */
	size_t ncodes;
};

/* Parse argv. 0 and *o filled (free o->codes); 1 when --help was printed
 * (exit 0); 2 after a usage error was printed (exit 2). */
int fl_parse_args(int argc, char **argv, struct fl_opts *o);

/* The outcome of one flag (flags2_common.HTTPStatus). */
enum fl_status { FL_OK, FL_NOT_FOUND, FL_ERROR, FL_NSTATUS };

struct fl_job {
	char cc[FL_CC_SIZE];
	enum fl_status status;
	bool done; /* finished and counted (an interruption leaves some) */
	char reason[256]; /* FL_ERROR: why ("HTTP 418 I'm a teapot") */
};

struct fl_run {
	const struct fl_opts *o;
	unsigned concur;          /* actual concurrent requests */
	struct fl_job *jobs;      /* one per code, in code order */
	size_t counts[FL_NSTATUS];
	size_t finished;          /* counted so far */
	bool interrupted;         /* SIGINT/SIGTERM cut the run short */
	char fatal[256];          /* set when the run could not start */
};

/* The main task for cio_run() (arg: struct fl_run). 0 when every job was
 * counted; -ECANCELED after an interruption (what finished is counted);
 * another negative errno (and run->fatal) when nothing could start. */
intptr_t fl_download_main(void *arg);

/* Save `len` bytes as path, from a task: cio_open/cio_write/cio_close, or
 * open(2)/write(2)/close(2) on an executor thread. 0 or a negative errno. */
int fl_save(enum fl_save_mode mode, const char *path, const void *data,
	    size_t len);

/* mkdir -p, with plain system calls: for the setup before the loop
 * runs. 0 or a negative errno (-ENOTDIR: a file is in the way). */
int fl_make_dirs(const char *dir);

/* flags2_common.initial_report / final_report, on stdout. */
void fl_initial_report(const struct fl_run *run);
void fl_final_report(const struct fl_run *run, double elapsed_s);
/* Errors grouped by reason, on stderr (without -v, where each was not
 * printed as it came). */
void fl_error_summary(const struct fl_run *run);

/* The progress bar (tqdm's), on stderr: "N/TOTAL [####      ]",
 * redrawn in place at most every 100 ms on a terminal; elsewhere only
 * the last state, once, at the end. */
struct fl_progress {
	size_t total, done;
	bool tty;
	int64_t last_draw;
};
void fl_progress_init(struct fl_progress *p, size_t total);
void fl_progress_step(struct fl_progress *p);
void fl_progress_end(struct fl_progress *p);

/* -- the server (slow.c, gif.c) ---------------------------------------- */

#define FL_SERVER_DEFAULT_PORT 8001

/* What the handler needs, shared by every shard: read-only settings and
 * atomic counters. */
struct fl_server {
	cio_http_static *st;
	int64_t delay_min_ns, delay_max_ns; /* uniform in [min, max] */
	double error_rate;                  /* 0..1: answer 418 */
	uint64_t seed;
	/* Counters (C11 atomics: every shard's handler updates them). */
	_Atomic uint64_t draws;    /* random numbers drawn */
	_Atomic uint64_t requests; /* flag requests (not /stats) */
	_Atomic uint64_t errors;   /* of which answered 418 */
	_Atomic long current;      /* in a handler now */
	_Atomic long max_current;  /* most at once */
};

/* The request handler (arg: struct fl_server). */
int fl_server_handle(cio_http_request *req, cio_http_response *res,
		     void *arg);

/* A small valid GIF (a three-stripe "flag" whose size and colours
 * depend on the code, a string of two or three letters) into buf (room
 * for FL_GIF_MAX bytes). Its size. */
#define FL_GIF_MAX 4096
size_t fl_gif_make(const char *cc, uint8_t *buf);

/* Write DIR/flags/<cc>/<cc>.gif for the first n codes of the --generate
 * order. 0, or a negative errno with *failed the path that failed. */
int fl_generate(const char *dir, size_t n, char *failed, size_t cap);

#endif
