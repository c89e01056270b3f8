/* spinner — the command line: pick the mode, parse the delay, run the
 * supervisor and print the answer (the seeds' main()). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spinner.h"

/* A day: more is surely a typo, and keeps the nanoseconds in range. */
#define MAX_DELAY_S 86400.0

static const char usage_text[] =
	"Usage: spinner [--thread | --coro] [--delay SECONDS]\n"
	"\n"
	"Fluent Python's spinner (section 18.1): animate '|/-\\ thinking!' "
	"while a\n"
	"slow function runs, then print 'Answer: 42'.\n"
	"\n"
	"  -t, --thread          the spinner is a thread; the slow function "
	"blocks\n"
	"                        the main thread (spinner_thread.py)\n"
	"  -c, --coro            the spinner is a coroutine task; the slow "
	"function\n"
	"                        awaits a sleep on the event loop "
	"(spinner_asyncio.py;\n"
	"                        the default)\n"
	"  -d, --delay SECONDS   how long the slow function takes (default 3; "
	"fractions\n"
	"                        allowed, 0 to 86400)\n"
	"  -h, --help            this text\n"
	"\n"
	"The animation is drawn only when stdout is a terminal; otherwise "
	"only the\n"
	"spinner object and the answer are printed.\n"
	"Exit status: 0 ok, 1 runtime failure, 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "spinner: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'spinner --help'.\n");
	return 2;
}

/* getopt's '?': optopt names a short option; a long one is the word. */
static int bad_option(const char *word)
{
	char shortopt[3] = { '-', (char)optopt, '\0' };

	return usage_error("unknown option '%s'", optopt ? shortopt : word);
}

/* Seconds as a plain decimal (no "inf", "nan" or hex), in range. */
static bool parse_seconds(const char *s, int64_t *ns)
{
	char *end;
	double v;

	if (!((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < 0 ||
	    v > MAX_DELAY_S)
		return false;
	*ns = (int64_t)(v * 1e9 + 0.5); /* no libm: the Makefile links none */
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "thread", no_argument, NULL, 't' },
		{ "coro", no_argument, NULL, 'c' },
		{ "delay", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct spin_opts o = { .delay_ns = 3 * 1000000000LL };
	int mode = 0; /* 't' or 'c'; 0: not chosen, the coroutine */
	intptr_t result;
	int c;

	opterr = 0; /* our own messages */
	while ((c = getopt_long(argc, argv, ":tcd:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 't':
		case 'c':
			if (mode && mode != c)
				return usage_error("%s", "choose one of "
						   "--thread and --coro");
			mode = c;
			break;
		case 'd':
			if (!parse_seconds(optarg, &o.delay_ns))
				return usage_error("bad delay '%s' (seconds, "
						   "0 to 86400)", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("%s needs an argument",
					   argv[optind - 1]);
		default:
			return bad_option(argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);

	o.animate = isatty(STDOUT_FILENO);
	result = mode == 't' ? spin_thread_supervisor(&o)
			     : spin_coro_supervisor(&o);
	if (result < 0)
		return 1;
	printf("Answer: %ld\n", (long)result);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "spinner: cannot write to stdout: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
