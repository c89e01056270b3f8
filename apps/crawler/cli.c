/* crawler — the command line: options, numbers, usage text. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler.h"

static const char usage_text[] =
	"Usage: " CRW_PROG " -i URLS -o FOUND [-c N] [--timeout S]\n"
	"\n"
	"Fetch every URL of the file URLS concurrently, find the href=\"...\" "
	"links\n"
	"of each page, resolve them against the page's URL (RFC 3986) and "
	"write\n"
	"\"source_url<TAB>parsed_url\" lines to FOUND (truncated first; its "
	"first\n"
	"line is the header \"source_url<TAB>parsed_url\"). The lines of one "
	"page are\n"
	"contiguous and each link appears once per page. Progress and errors "
	"are\n"
	"logged on stderr, one line per event.\n"
	"\n"
	"  -i, --input URLS       one URL per line; blank lines and lines "
	"starting\n"
	"                         with '#' are skipped, repeats are crawled "
	"once\n"
	"  -o, --output FOUND     where the links go\n"
	"  -c, --concurrency N    requests in flight at most (default 10, "
	"1..10000)\n"
	"  -t, --timeout S        seconds per URL for the whole request: "
	"connect,\n"
	"                         redirects and body (default 10; decimals "
	"allowed)\n"
	"  -h, --help             this text\n"
	"\n"
	"Only http:// URLs can be fetched (coreio has no TLS). A URL that "
	"fails\n"
	"(name not known, refused, timed out, a status other than 2xx, a body "
	"that\n"
	"is not text) is logged as an error; the others go on.\n"
	"CIO_BACKEND=uring|epoll|auto chooses coreio's backend.\n"
	"Exit status: 0 every URL fetched, 1 some URL failed (or FOUND could "
	"not be\n"
	"written in full), 2 usage error, URLS unreadable or FOUND not "
	"creatable.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, CRW_PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" CRW_PROG " --help' for more information.\n");
	return 2;
}

/* An unsigned decimal in [min, max], the whole string. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Seconds as "10", "2.5" or ".25", to nanoseconds, in (0, max]. Parsed by
 * hand: strtod() would also take "inf", "nan", hex and exponents, none of
 * which is a sensible timeout. */
static bool parse_seconds(const char *s, int64_t max, int64_t *out)
{
	int64_t sec = 0, frac = 0, scale = CIO_NSEC_PER_SEC;
	bool digits = false;

	for (; *s >= '0' && *s <= '9'; s++, digits = true) {
		sec = sec * 10 + (*s - '0');
		if (sec > max / CIO_NSEC_PER_SEC)
			return false;
	}
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
			if (scale > 1) {
				scale /= 10;
				frac += (*s - '0') * scale;
			}
	if (*s || !digits)
		return false;
	sec = sec * CIO_NSEC_PER_SEC + frac;
	if (sec <= 0 || sec > max)
		return false;
	*out = sec;
	return true;
}

int crw_parse_args(int argc, char **argv, struct crw_opts *o)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int ch;

	*o = (struct crw_opts){ .concurrency = CRW_DEFAULT_CONCURRENCY,
			       .timeout = CRW_DEFAULT_TIMEOUT };
	opterr = 0; /* our own messages */
	while ((ch = getopt_long(argc, argv, ":i:o:c:t:h", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'i':
			o->input = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'c':
			if (!parse_uint(optarg, 1, CRW_MAX_CONCURRENCY, &v))
				return usage_error("bad concurrency '%s' (1 "
						   "to 10000)", optarg);
			o->concurrency = (unsigned)v;
			break;
		case 't':
			if (!parse_seconds(optarg, CRW_MAX_TIMEOUT,
					   &o->timeout))
				return usage_error("bad timeout '%s' (seconds, "
						   "more than 0, at most "
						   "86400)", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : 2;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			if (optopt) {
				char s[3] = { '-', (char)optopt, '\0' };
				return usage_error("unknown option '%s'", s);
			}
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->input || !*o->input)
		return usage_error("%s", "missing the URL list (-i URLS)");
	if (!o->output || !*o->output)
		return usage_error("%s", "missing the output file (-o FOUND)");
	return -1;
}
