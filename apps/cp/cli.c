/* coreio-cp — the command line: options, sizes, usage text. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"

static const char usage_text[] =
	"Usage: " CP_PROG " [OPTION]... SRC DST\n"
	"       " CP_PROG " [OPTION]... SRC... DIR\n"
	"\n"
	"Copy files, and with -r directory trees, with io_uring: several "
	"blocks of\n"
	"each file and many files in flight at once. Mode and access/"
	"modification\n"
	"times are kept (as cp -p; ownership too when run as root). Each file "
	"is\n"
	"written under a temporary name beside its destination and renamed "
	"into\n"
	"place when complete: a failed copy leaves nothing behind.\n"
	"\n"
	"  -r, -R, --recursive  copy directories and what they hold; "
	"symlinks are\n"
	"                       copied as symlinks\n"
	"  -j, --queue-depth N  reads/writes in flight per file (default "
	"8, 1..256)\n"
	"      --bs SIZE        bytes per read/write, K/M suffixes (default "
	"128K)\n"
	"      --files N        files copied at once (default 64, 1..4096)\n"
	"      --shards N       loops (threads, each with its own ring) "
	"sharing the\n"
	"                       files (default: one per CPU, 1..256)\n"
	"      --direct         O_DIRECT (no page cache); a file system that "
	"refuses\n"
	"                       it gets buffered I/O, with a notice\n"
	"  -P, --progress       progress on stderr: redrawn ~10 times a "
	"second on a\n"
	"                       terminal, a line a second otherwise, and a "
	"summary\n"
	"      --verify         read source and copy back before installing "
	"the copy\n"
	"                       and compare them; a difference fails that "
	"file\n"
	"  -h, --help           this text\n"
	"\n"
	"CIO_BACKEND=uring|epoll|auto chooses coreio's backend (on epoll "
	"file I/O\n"
	"runs on a thread pool).\n"
	"Exit status: 0 all copied, 1 something failed (each failure is "
	"named on\n"
	"stderr), 2 usage error.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, CP_PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" CP_PROG " --help' for more information.\n");
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

/* Bytes with an optional binary suffix: 4096, 64K, 1M, 1MiB. */
static bool parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (*end || v > (CP_MAX_BS >> shift))
		return false;
	*out = (size_t)(v << shift);
	return true;
}

int cp_parse_args(int argc, char **argv, struct cp_opts *o)
{
	enum { OPT_BS = 256, OPT_FILES, OPT_SHARDS, OPT_DIRECT, OPT_VERIFY };
	static const struct option longopts[] = {
		{ "recursive", no_argument, NULL, 'r' },
		{ "queue-depth", required_argument, NULL, 'j' },
		{ "bs", required_argument, NULL, OPT_BS },
		{ "files", required_argument, NULL, OPT_FILES },
		{ "shards", required_argument, NULL, OPT_SHARDS },
		{ "direct", no_argument, NULL, OPT_DIRECT },
		{ "progress", no_argument, NULL, 'P' },
		{ "verify", no_argument, NULL, OPT_VERIFY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bs_arg = NULL;
	unsigned long v;
	int ch;

	*o = (struct cp_opts){ .qd = CP_DEFAULT_QD, .bs = CP_DEFAULT_BS,
			       .files = CP_DEFAULT_FILES };
	opterr = 0; /* our own messages */
	while ((ch = getopt_long(argc, argv, ":rRj:Ph", longopts, NULL)) !=
	       -1) {
		switch (ch) {
		case 'r':
		case 'R':
			o->recursive = true;
			break;
		case 'j':
			if (!parse_uint(optarg, 1, CP_MAX_QD, &v))
				return usage_error("bad queue depth '%s' "
						   "(1 to 256)", optarg);
			o->qd = (unsigned)v;
			break;
		case OPT_BS:
			if (!parse_size(optarg, &o->bs) || o->bs < CP_MIN_BS)
				return usage_error("bad block size '%s' (512 "
						   "to 64M)", optarg);
			bs_arg = optarg;
			break;
		case OPT_FILES:
			if (!parse_uint(optarg, 1, CP_MAX_FILES, &v))
				return usage_error("bad file count '%s' "
						   "(1 to 4096)", optarg);
			o->files = (unsigned)v;
			break;
		case OPT_SHARDS:
			if (!parse_uint(optarg, 1, CP_MAX_SHARDS, &v))
				return usage_error("bad shard count '%s' "
						   "(1 to 256)", optarg);
			o->shards = (unsigned)v;
			break;
		case OPT_DIRECT:
			o->direct = true;
			break;
		case 'P':
			o->progress = true;
			break;
		case OPT_VERIFY:
			o->verify = true;
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
	/* O_DIRECT transfers must be whole logical blocks: 4096 covers
	 * every device in use. */
	if (o->direct && o->bs % CIO_DIRECT_ALIGN)
		return usage_error("--direct needs a block size that is a "
				   "multiple of 4096, not '%s'", bs_arg);
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return usage_error("%s", "missing file operand");
	if (argc == 1)
		return usage_error("missing destination file operand after "
				   "'%s'", argv[0]);
	o->srcs = argv;
	o->nsrcs = argc - 1;
	o->dst = argv[argc - 1];
	return -1;
}
