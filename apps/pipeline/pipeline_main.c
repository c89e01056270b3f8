/* pipeline — the command line: the mode, its numbers, the seed and the
 * time scale; then asyncio.run(main()) as cio_run() on one shard, timed
 * as the seeds time it. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coreio.h"
#include "pipeline.h"

static const char usage_text[] =
	"Usage: pipeline [OPTIONS] chain [N...]\n"
	"       pipeline [OPTIONS] queue [-p PRODUCERS] [-c CONSUMERS] "
	"[-m MAX]\n"
	"\n"
	"asyncio design patterns from the Real Python walkthrough, on "
	"coreio:\n"
	"  chain   run chain(N) for every N at once (default: 1 2 3); a "
	"chain awaits\n"
	"          part1(N), then part2(N, result of part1), each sleeping "
	"0-10 s\n"
	"  queue   producers put random items on a queue, consumers take "
	"them; the\n"
	"          consumers are cancelled once q.join() returns (every "
	"item done)\n"
	"\n"
	"  -s, --seed S          seed of the random sleeps and items (default: "
	"from the\n"
	"                        clock, printed on stderr); one seed, one "
	"output\n"
	"  -t, --time-scale F    a second of sleep lasts F seconds (default 1; "
	"e.g.\n"
	"                        0.001 runs the same program in milliseconds)\n"
	"  -p, --producers N     queue: producers (default 5)\n"
	"  -c, --consumers N     queue: consumers (default 10, at least 1)\n"
	"  -m, --max-items N     queue: each producer makes 0..N items "
	"(default 10)\n"
	"  -h, --help            this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure or interrupted, 2 usage "
	"error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "pipeline: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'pipeline --help'.\n");
	return 2;
}

static int bad_option(const char *word)
{
	char shortopt[3] = { '-', (char)optopt, '\0' };

	return usage_error("unknown option '%s'", optopt ? shortopt : word);
}

/* A decimal integer in [min, max], the whole string. */
static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' &&
					    s[1] <= '9')))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

/* A plain decimal (no "inf", "nan", hex) in [0, 1000]. */
static bool parse_scale(const char *s, double *out)
{
	char *end;
	double v;

	if (!((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < 0 || v > 1000)
		return false;
	*out = v;
	return true;
}

static uint64_t clock_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
	       ((uint64_t)getpid() << 32);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "time-scale", required_argument, NULL, 't' },
		{ "producers", required_argument, NULL, 'p' },
		{ "consumers", required_argument, NULL, 'c' },
		{ "max-items", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const long default_chains[] = { 1, 2, 3 };
	struct pl_opts o = { .time_scale = 1.0, .producers = 5,
			     .consumers = 10, .max_items = 10 };
	struct cio_run_opts ro = { .shards = 1, .flags = CIO_RUN_NO_PIN };
	bool seeded = false, queue_opt = false;
	const char *mode;
	long *ns = NULL, v;
	double start;
	intptr_t ret;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:t:p:c:m:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_u64(optarg, &o.seed))
				return usage_error("bad seed '%s' (0 to "
						   "2^64-1)", optarg);
			seeded = true;
			break;
		case 't':
			if (!parse_scale(optarg, &o.time_scale))
				return usage_error("bad time scale '%s' (0 to "
						   "1000)", optarg);
			break;
		case 'p':
			if (!parse_long(optarg, 0, PL_MAX_WORKERS, &v))
				return usage_error("bad producer count '%s' "
						   "(0 to 10000)", optarg);
			o.producers = (unsigned)v;
			queue_opt = true;
			break;
		case 'c':
			if (!parse_long(optarg, 1, PL_MAX_WORKERS, &v))
				return usage_error("bad consumer count '%s' "
						   "(1 to 10000)", optarg);
			o.consumers = (unsigned)v;
			queue_opt = true;
			break;
		case 'm':
			if (!parse_long(optarg, 0, PL_MAX_ITEMS, &v))
				return usage_error("bad item count '%s' (0 to "
						   "1000000)", optarg);
			o.max_items = (unsigned)v;
			queue_opt = true;
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
	if (optind >= argc)
		return usage_error("%s", "say which: chain or queue");
	mode = argv[optind++];
	if (strcmp(mode, "chain") == 0) {
		size_t n = (size_t)(argc - optind);
		if (queue_opt)
			return usage_error("%s", "-p, -c and -m are options "
					   "of queue, not chain");
		if (n > PL_MAX_CHAINS)
			return usage_error("%s", "at most 10000 chains");
		if (n) {
			ns = calloc(n, sizeof(*ns));
			if (!ns) {
				fprintf(stderr, "pipeline: out of memory\n");
				return 1;
			}
			for (size_t i = 0; i < n; i++)
				if (!parse_long(argv[optind + i], -1000000000L,
						1000000000L, &ns[i])) {
					free(ns);
					return usage_error("bad chain number "
							   "'%s'",
							   argv[optind + i]);
				}
			o.chain_n = ns;
			o.nchains = n;
		} else {
			o.chain_n = default_chains;
			o.nchains = 3;
		}
	} else if (strcmp(mode, "queue") == 0) {
		if (optind < argc)
			return usage_error("unexpected argument '%s'",
					   argv[optind]);
	} else {
		return usage_error("unknown mode '%s' (chain or queue)", mode);
	}
	if (!seeded) {
		o.seed = clock_seed();
		fprintf(stderr, "pipeline: --seed %llu\n",
			(unsigned long long)o.seed);
	}

	start = pl_now();
	ret = cio_run(mode[0] == 'c' ? pl_chain_main : pl_queue_main, &o,
		      &ro);
	free(ns);
	if (ret == -ECANCELED) {
		fflush(stdout);
		fprintf(stderr, "pipeline: interrupted\n");
		return 1;
	}
	if (ret < 0) {
		fflush(stdout);
		fprintf(stderr, "pipeline: %s\n", strerror((int)-ret));
		return 1;
	}
	if (mode[0] == 'c')
		printf("Program finished in %0.2f seconds.\n", pl_now() - start);
	else
		printf("Program completed in %0.5f seconds.\n",
		       pl_now() - start);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pipeline: cannot write to stdout: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
