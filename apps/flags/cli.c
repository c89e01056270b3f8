/* flags — the downloader's command line (flags2_common.process_args). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

#define PROG "flags"

static const char usage_text[] =
	"Usage: flags [-s BASE_URL] [-c CONCURRENCY] [-o OUTDIR] [-m MAX] "
	"[-v]\n"
	"             [--save uring|executor] [-t SECONDS]\n"
	"             [CC... | -a | -e A..Z | -g N]\n"
	"\n"
	"Download the flag of each country code CC from "
	"BASE_URL/<cc>/<cc>.gif into\n"
	"OUTDIR/<cc>.gif (cc in lower case). Default: the 20 most populous "
	"countries.\n"
	"\n"
	"  CC                     a code (AD), a first letter (B for BA to "
	"BZ), or a\n"
	"                         three-letter code (AAA) as flags-server "
	"generates\n"
	"                         beyond the two-letter ones\n"
	"  -a, --all              every ISO 3166-1 code (AD to ZW, 249 "
	"codes)\n"
	"  -e, --every A..Z       every two-letter code starting with a letter "
	"in the\n"
	"                         range: -e A..C is AA to CZ, -e A..Z all 676\n"
	"  -g, --generated N      the N flags 'flags-server --generate N' "
	"writes\n"
	"                         (1 to 18252): the ISO codes, the other "
	"two-letter\n"
	"                         codes, then AAA, AAB... (-g 1000: 1000 "
	"files)\n"
	"  -m, --max MAX          the first MAX codes only (default 0: all)\n"
	"  -s, --server BASE_URL  where the flags are (default\n"
	"                         " FL_DEFAULT_BASE_URL "; http:// only)\n"
	"  -c, --concurrency N    requests at once, 1 to 1000 (default 5)\n"
	"  -o, --outdir DIR       where to save them (default downloads/, "
	"created)\n"
	"  -t, --timeout SECONDS  for each flag, from its request on (default "
	"30)\n"
	"      --save uring       write files with io_uring (cio_write; "
	"default)\n"
	"      --save executor    write files with write(2) on executor "
	"threads\n"
	"  -v, --verbose          a line per flag instead of the progress bar\n"
	"  -h, --help             this text\n"
	"\n"
	"The codes are sorted (two-letter codes before three-letter ones), "
	"then\n"
	"limited by -m. At the end: how many flags were downloaded, not found "
	"(404)\n"
	"and failed, and the elapsed time.\n"
	"Exit status: 0 no errors (404s are not errors), 1 some flag failed "
	"(or\n"
	"OUTDIR cannot be made), 2 usage error, 130 interrupted.\n";

_Static_assert(FL_ALL_CODES == 18252, "the help text says 18252");

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" PROG " --help'.\n");
	return 2;
}

static int bad_option(int c, char **argv)
{
	char shortopt[3] = { '-', (char)optopt, '\0' };

	/* Missing argument: the word typed (-c or --concurrency). Unknown:
	 * optopt names a short option; a long one is only in argv. */
	if (c == ':')
		return usage_error("%s needs an argument", argv[optind - 1]);
	return usage_error("unknown option '%s'",
			   optopt ? shortopt : argv[optind - 1]);
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

/* Only http:// (the client has no TLS), no credentials, no query (the
 * flag's path is appended). The check is here so that a bad URL is a
 * usage error rather than 20 identical download errors. */
static int check_base_url(const char *s, struct fl_opts *o)
{
	struct cio_url u;
	size_t len = strlen(s);

	if (len >= sizeof(o->base_url))
		return usage_error("base URL too long (%s)", "over 2 KiB");
	if (cio_url_parse(&u, s) < 0)
		return usage_error("bad base URL '%s'", s);
	int ret = 0;
	if (strcmp(u.scheme, "https") == 0)
		ret = usage_error("%s", cio_http_strerror(-EPROTONOSUPPORT));
	else if (strcmp(u.scheme, "http") != 0)
		ret = usage_error("only http:// base URLs are supported, not "
				  "'%s'", s);
	else if (u.userinfo)
		ret = usage_error("credentials in the base URL are not "
				  "supported ('%s')", s);
	else if (u.query || strchr(s, '#'))
		ret = usage_error("the base URL must not have a query or a "
				  "fragment ('%s')", s);
	cio_url_free(&u);
	if (ret)
		return ret;
	memcpy(o->base_url, s, len + 1);
	while (len > 0 && o->base_url[len - 1] == '/')
		o->base_url[--len] = '\0';
	return 0;
}

enum { OPT_SAVE = 256 };

int fl_parse_args(int argc, char **argv, struct fl_opts *o)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "outdir", required_argument, NULL, 'o' },
		{ "max", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' },
		{ "every", required_argument, NULL, 'e' },
		{ "generated", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "save", required_argument, NULL, OPT_SAVE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* 18 KiB: not on the caller's stack. */
	static struct fl_ccset set;
	const char *base = FL_DEFAULT_BASE_URL;
	bool all = false, generated = false;
	int every = 0, ret, c;
	unsigned long v;
	char *end;
	double secs;

	memset(&set, 0, sizeof(set));
	memset(o, 0, sizeof(*o));
	o->outdir = FL_DEFAULT_OUTDIR;
	o->concurrency = FL_DEFAULT_CONCUR;
	o->save = FL_SAVE_URING;
	o->timeout_ns = FL_DEFAULT_TIMEOUT_S * CIO_NSEC_PER_SEC;

	opterr = 0; /* our own messages, in our own words */
	while ((c = getopt_long(argc, argv, ":s:c:o:m:t:ae:g:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			base = optarg;
			break;
		case 'c':
			if (!parse_uint(optarg, 1, FL_MAX_CONCUR, &v))
				return usage_error("bad concurrency '%s' (1 "
						   "to 1000)", optarg);
			o->concurrency = (unsigned)v;
			break;
		case 'o':
			if (!*optarg)
				return usage_error("%s", "empty output "
						   "directory");
			o->outdir = optarg;
			break;
		case 'm':
			if (!parse_uint(optarg, 0, ULONG_MAX, &v))
				return usage_error("bad maximum '%s' (a "
						   "number; 0: no limit)",
						   optarg);
			o->limit = v;
			break;
		case 't':
			errno = 0;
			secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(secs) ||
			    secs <= 0 || secs > 86400)
				return usage_error("bad timeout '%s' (seconds, "
						   "up to 86400)", optarg);
			o->timeout_ns = (int64_t)(secs * 1e9);
			break;
		case 'a':
			all = true;
			break;
		case 'e':
			if (!fl_ccset_add_range(&set, optarg))
				return usage_error("bad range '%s' (a letter, "
						   "or two as in A..C)",
						   optarg);
			every = 1;
			break;
		case 'g':
			if (!parse_uint(optarg, 1, FL_ALL_CODES, &v))
				return usage_error("bad --generated '%s' (1 to "
						   "18252)", optarg);
			fl_ccset_add_generated(&set, v);
			generated = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case OPT_SAVE:
			if (strcmp(optarg, "uring") == 0)
				o->save = FL_SAVE_URING;
			else if (strcmp(optarg, "executor") == 0)
				o->save = FL_SAVE_EXECUTOR;
			else
				return usage_error("bad --save '%s' (uring or "
						   "executor)", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 1 : 2;
		default:
			return bad_option(c, argv);
		}
	}
	if ((ret = check_base_url(base, o)) != 0)
		return ret;
	/* The book lets -e win over -a over codes; saying so is clearer. */
	if (all + every + generated + (optind < argc) > 1)
		return usage_error("%s", "give codes, -a, -e or -g, not "
				   "several of them");
	for (int i = optind; i < argc; i++)
		if (!fl_ccset_add_arg(&set, argv[i]))
			return usage_error("bad country code '%s': each CC "
					   "must be A to Z, AA to ZZ or AAA to "
					   "ZZZ",
					   argv[i]);
	if (all)
		fl_ccset_add_list(&set, fl_iso_codes, fl_iso_count);
	else if (!every && !generated && optind == argc)
		fl_ccset_add_list(&set, fl_pop20_codes, fl_pop20_count);

	o->codes = malloc(FL_ALL_CODES * sizeof(o->codes[0]));
	if (!o->codes) {
		fprintf(stderr, PROG ": out of memory\n");
		return 2;
	}
	o->ncodes = fl_ccset_sorted(&set, o->limit, o->codes);
	return 0;
}
