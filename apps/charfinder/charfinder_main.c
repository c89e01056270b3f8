/* charfinder — find Unicode characters by the words of their names
 * (Fluent Python, chapter 18: charfinder.py, tcp_charfinder.py,
 * http_charfinder.py), from the command line, over TCP or over HTTP.
 *
 * The index is built once, before anything is served, from
 * UnicodeData.txt (index.h); the servers' shards share it read-only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "index.h"
#include "serve.h"

static const char usage_text[] =
	"Usage: charfinder [--data FILE] WORD...\n"
	"       charfinder --tcp  [--host HOST] [--port PORT] [--shards N] "
	"[--data FILE]\n"
	"       charfinder --http [--host HOST] [--port PORT] [--shards N] "
	"[--data FILE]\n"
	"\n"
	"Find Unicode characters by the words of their names. Every WORD "
	"must be a\n"
	"whole word of a character's name, in any case: 'charfinder cat "
	"face' prints\n"
	"  U+1F431\t\xF0\x9F\x90\xB1\tCAT FACE\n"
	"(and the other cat faces), one line per character, in code point "
	"order.\n"
	"\n"
	"  -d, --data FILE   the UnicodeData.txt to index (default:\n"
	"                    " CF_DEFAULT_DATA ")\n"
	"  -t, --tcp         serve over TCP: prompt '?> ', one query per line, "
	"the\n"
	"                    results and a blank line; an empty line ends the "
	"session\n"
	"                    (default port 2323)\n"
	"  -w, --http        serve over HTTP: GET /?query=cat+face gives an "
	"HTML page,\n"
	"                    or JSON with 'Accept: application/json' or "
	"&format=json\n"
	"                    (default port 8888)\n"
	"  -H, --host HOST   the address to listen on (default 127.0.0.1)\n"
	"  -p, --port PORT   the port to listen on; 0 picks a free one\n"
	"  -s, --shards N    serving threads, one per CPU (default: every "
	"CPU)\n"
	"  -h, --help        this text\n"
	"\n"
	"A server prints 'Serving on HOST:PORT' once it listens, and stops on "
	"SIGINT\n"
	"or SIGTERM.\n"
	"Exit status: 0 characters found (or a server stopped by a signal), 1 "
	"no\n"
	"match, 2 usage error or failure (unreadable data, cannot listen).\n";

enum mode { MODE_QUERY, MODE_TCP, MODE_HTTP, MODE_BENCH };

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "charfinder: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'charfinder --help'.\n");
	return 2;
}

/* An unsigned decimal in [min, max], the whole string. */
static bool parse_num(const char *s, unsigned long min, unsigned long max,
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

static int load(const char *path, struct cf_index **ix)
{
	size_t bad = 0;
	int ret = cf_index_load(ix, path, &bad);

	path = path ? path : CF_DEFAULT_DATA;
	if (ret == -EINVAL)
		fprintf(stderr, "charfinder: %s:%zu: not UnicodeData.txt "
				"data\n", path, bad);
	else if (ret < 0)
		fprintf(stderr, "charfinder: cannot read %s: %s\n", path,
			strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "tcp", no_argument, NULL, 't' },
		{ "http", no_argument, NULL, 'w' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "shards", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "bench", no_argument, NULL, 'B' }, /* not in --help */
		{ NULL, 0, NULL, 0 },
	};
	struct cf_serve_opts so = { .host = CF_DEFAULT_HOST };
	enum mode mode = MODE_QUERY;
	const char *data = NULL;
	bool port_set = false, server_opt = false;
	struct cf_index *ix;
	unsigned long v;
	int c, status;

	opterr = 0; /* our own messages, in our own words */
	while ((c = getopt_long(argc, argv, ":d:twH:p:s:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 't':
		case 'w':
		case 'B': {
			enum mode m = c == 't' ? MODE_TCP
				      : c == 'w' ? MODE_HTTP : MODE_BENCH;
			if (mode != MODE_QUERY && mode != m)
				return usage_error("%s", "choose one of --tcp "
						   "and --http");
			mode = m;
			break;
		}
		case 'H':
			so.host = optarg;
			server_opt = true;
			break;
		case 'p':
			if (!parse_num(optarg, 0, 65535, &v))
				return usage_error("bad port '%s' "
						   "(0 to 65535)", optarg);
			so.port = (uint16_t)v;
			port_set = server_opt = true;
			break;
		case 's':
			if (!parse_num(optarg, 1, 1024, &v))
				return usage_error("bad shard count '%s' "
						   "(1 to 1024)", optarg);
			so.shards = (unsigned)v;
			server_opt = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? 0 : 2;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			if (optopt) {
				char o[3] = { '-', (char)optopt, '\0' };
				return usage_error("unknown option '%s'", o);
			}
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		}
	}
	argv += optind;
	argc -= optind;

	if (server_opt && mode != MODE_TCP && mode != MODE_HTTP)
		return usage_error("%s", "--host, --port and --shards go with "
				   "--tcp or --http");
	if (mode == MODE_BENCH)
		return cf_bench(data, argv, argc);
	if ((mode == MODE_TCP || mode == MODE_HTTP) && argc > 0)
		return usage_error("a server takes no words ('%s')", argv[0]);
	if (mode == MODE_QUERY && argc == 0)
		return usage_error("%s", "what to look for? Give words of a "
				   "character's name");
	if (!port_set)
		so.port = mode == MODE_HTTP ? CF_DEFAULT_HTTP_PORT
					    : CF_DEFAULT_TCP_PORT;

	if (load(data, &ix) < 0)
		return 2;
	so.ix = ix;
	switch (mode) {
	case MODE_TCP:
		status = cf_tcp_serve(&so);
		break;
	case MODE_HTTP:
		status = cf_http_serve(&so);
		break;
	default:
		status = cf_cli_query(ix, argv, argc);
		break;
	}
	cf_index_free(ix);
	return status;
}
