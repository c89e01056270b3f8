/* flags-server — a flag site to test flags against: a directory served by
 * the HTTP static file handler, optionally slowed down and failing on
 * purpose (the book's slow_server.py), with GET /stats telling how many
 * requests it served at most at once.
 *
 *     $ flags-server --generate 200 --delay 0.5..5 --error-rate 0.25
 *     Generated 200 flags in ./flags (AD to NM)
 *     Serving . on http://127.0.0.1:8001/
 *
 * The layout is the book's site: the flags are DIR/flags/<cc>/<cc>.gif,
 * so flags' default base URL, http://localhost:8001/flags, finds them.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flags.h"

#define PROG "flags-server"
/* Slow requests (up to the delay) are let finish this long after SIGINT
 * or SIGTERM; then they are cancelled. */
#define SHUTDOWN_GRACE (2 * CIO_NSEC_PER_SEC)

static const char usage_text[] =
	"Usage: flags-server [--port P] [--host H] [--dir DIR] [--delay "
	"SECONDS]\n"
	"                    [--error-rate R] [--seed N] [--shards N] "
	"[--generate N]\n"
	"\n"
	"Serve DIR over HTTP for flags: the flags are DIR/flags/<cc>/<cc>.gif "
	"and\n"
	"their base URL http://HOST:PORT/flags.\n"
	"\n"
	"  -p, --port P          port (default 8001; 0 picks a free one)\n"
	"  -H, --host H          address to listen on (default 127.0.0.1)\n"
	"  -d, --dir DIR         the directory to serve (default .)\n"
	"  -g, --generate N      first write N fake flags (small GIFs) into "
	"DIR/flags:\n"
	"                        the ISO codes in order, then the other "
	"two-letter\n"
	"                        codes, then AAA to ZZZ (1 to 18252; "
	"'flags -g N'\n"
	"                        downloads the same N)\n"
	"  -D, --delay SECONDS   wait this long before each answer; MIN..MAX "
	"waits a\n"
	"                        uniformly random time in between (the "
	"book's\n"
	"                        slow server: 0.5..5)\n"
	"  -e, --error-rate R    answer this fraction of requests (0 to 1) "
	"with\n"
	"                        418 I'm a teapot instead\n"
	"      --seed N          seed of the random delays and errors "
	"(default: random)\n"
	"  -S, --shards N        serving threads (default 1: see below)\n"
	"  -h, --help            this text\n"
	"\n"
	"GET /stats answers {\"requests\":N,\"max_concurrent\":M,"
	"\"errors\":E}: flag\n"
	"requests served, most at once, 418s sent; /stats?reset=1 starts "
	"afresh.\n"
	"The counts cover every shard; max_concurrent is exact with one "
	"shard (with\n"
	"more it may exceed the client's concurrency by up to shards - 1).\n"
	"Prints 'Serving DIR on http://HOST:PORT/' once it listens; SIGINT or "
	"SIGTERM\n"
	"stops it (exit 0). Exit status: 1 cannot generate or listen, 2 usage "
	"error.\n";

struct srv_opts {
	const char *host, *dir;
	uint16_t port;
	struct fl_server *srv;
	bool ran; /* server_main started: it reports its own errors */
};

_Static_assert(FL_ALL_CODES == 18252, "the help text says 18252");

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return 2;
}

static bool parse_uint(const char *s, unsigned long long min,
		       unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double min, double max, double *out,
			 const char **rest)
{
	char *end;
	double v;

	if (*s < '0' || *s > '9')
		return false; /* no sign, no "inf", no "nan" */
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < min || v > max)
		return false;
	if (rest)
		*rest = end;
	else if (*end)
		return false;
	*out = v;
	return true;
}

/* SECONDS or MIN..MAX, each at most an hour. */
static bool parse_delay(const char *s, struct fl_server *srv)
{
	double lo, hi;
	const char *rest;

	if (!parse_double(s, 0, 3600, &lo, &rest))
		return false;
	hi = lo;
	if (*rest) {
		if (strncmp(rest, "..", 2) != 0 ||
		    !parse_double(rest + 2, lo, 3600, &hi, NULL))
			return false;
	}
	srv->delay_min_ns = (int64_t)(lo * 1e9);
	srv->delay_max_ns = (int64_t)(hi * 1e9);
	return true;
}

static intptr_t server_main(void *arg)
{
	struct srv_opts *o = arg;
	struct cio_http_server_opts ho = { .flags = CIO_HTTP_SERVER_SHARDED };
	cio_http_server *hs;
	int ret;

	o->ran = true;
	ret = cio_http_server_start(&hs, o->host, o->port, fl_server_handle,
				    o->srv, &ho);
	if (ret < 0) {
		fprintf(stderr, PROG ": cannot listen on %s port %u: %s\n",
			o->host, o->port, strerror(-ret));
		return ret;
	}
	printf("Serving %s on http://%s%s%s:%u/\n", o->dir,
	       strchr(o->host, ':') ? "[" : "", o->host,
	       strchr(o->host, ':') ? "]" : "", cio_http_server_port(hs));
	fflush(stdout);
	/* Only the signal's cancellation ends this sleep. */
	while (cio_sleep(24 * 3600 * CIO_NSEC_PER_SEC) == 0)
		;
	/* cio_run() has closed the server on every shard and let the
	 * requests finish; this waits for the last of them. */
	cio_http_server_close(hs);
	cio_http_server_wait_closed(hs, cio_deadline_after(SHUTDOWN_GRACE));
	cio_http_server_free(hs);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "dir", required_argument, NULL, 'd' },
		{ "delay", required_argument, NULL, 'D' },
		{ "error-rate", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "shards", required_argument, NULL, 'S' },
		{ "generate", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct fl_server srv; /* shared by the shards: static */
	struct srv_opts o = { .host = "127.0.0.1", .dir = ".",
			      .port = FL_SERVER_DEFAULT_PORT, .srv = &srv };
	struct cio_run_opts ro = { .shards = 1,
				   .shutdown_grace = SHUTDOWN_GRACE };
	unsigned long long v, generate = 0;
	bool seeded = false;
	char shortopt[3] = { '-', 0, 0 }, failed[4200];
	intptr_t ret;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:H:d:D:e:S:g:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_uint(optarg, 0, 65535, &v))
				return usage_error("bad port '%s' (0 to "
						   "65535)", optarg);
			o.port = (uint16_t)v;
			break;
		case 'H':
			if (!*optarg)
				return usage_error("%s", "empty host");
			o.host = optarg;
			break;
		case 'd':
			if (!*optarg)
				return usage_error("%s", "empty directory");
			o.dir = optarg;
			break;
		case 'D':
			if (!parse_delay(optarg, &srv))
				return usage_error("bad delay '%s' (seconds, "
						   "or MIN..MAX, up to 3600)",
						   optarg);
			break;
		case 'e':
			if (!parse_double(optarg, 0, 1, &srv.error_rate, NULL))
				return usage_error("bad error rate '%s' (0 to "
						   "1)", optarg);
			break;
		case 's':
			if (!parse_uint(optarg, 0, UINT64_MAX, &v))
				return usage_error("bad seed '%s'", optarg);
			srv.seed = v;
			seeded = true;
			break;
		case 'S':
			if (!parse_uint(optarg, 1, CIO_RUN_MAX_SHARDS, &v))
				return usage_error("bad shard count '%s' (1 "
						   "to 1024)", optarg);
			ro.shards = (unsigned)v;
			break;
		case 'g':
			if (!parse_uint(optarg, 1, FL_ALL_CODES, &v))
				return usage_error("bad --generate '%s' (1 to "
						   "18252)", optarg);
			generate = v;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("%s needs an argument",
					   argv[optind - 1]);
		default:
			shortopt[1] = (char)optopt;
			return usage_error("unknown option '%s'",
					   optopt ? shortopt
						  : argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!seeded && getrandom(&srv.seed, sizeof(srv.seed), 0) !=
			       sizeof(srv.seed))
		srv.seed = (uint64_t)time(NULL);

	if (generate) {
		char first[FL_CC_SIZE], last[FL_CC_SIZE];
		if ((ret = fl_generate(o.dir, generate, failed,
				       sizeof(failed))) < 0) {
			fprintf(stderr, PROG ": cannot write %s: %s\n", failed,
				strerror((int)-ret));
			return 1;
		}
		fl_generate_code(0, first);
		fl_generate_code(generate - 1, last);
		printf("Generated %llu flag%s in %s/flags (%s to %s)\n",
		       generate, generate == 1 ? "" : "s", o.dir, first, last);
	}
	if ((ret = cio_http_static_new(&srv.st, o.dir, NULL)) < 0) {
		fprintf(stderr, PROG ": cannot serve %s: %s\n", o.dir,
			strerror((int)-ret));
		return 1;
	}
	ret = cio_run(server_main, &o, &ro);
	cio_http_static_free(srv.st);
	if (ret == 0 || ret == -ECANCELED)
		return 0;
	if (!o.ran)
		fprintf(stderr, PROG ": cannot start the runtime: %s\n",
			strerror((int)-ret));
	return 1;
}
