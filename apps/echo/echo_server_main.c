/* echo-server — a TCP echo server on every shard (asyncio's start_server
 * echo example, thread-per-core): every byte a client sends comes back.
 *
 * cio_run() starts the shards; main starts one CIO_SERVER_SHARDED server
 * (a SO_REUSEPORT listening socket per shard, the kernel spreading the
 * connections), says where it listens, and sleeps until SIGINT or SIGTERM.
 * Then cio_run() closes the listening sockets, gives the connections
 * SHUTDOWN_GRACE to end and cancels the rest, and main returns 0.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

#define PROG "echo-server"
#define DEFAULT_PORT 7000
/* Echo connections have no natural end: a client that stays connected
 * would hold the shutdown for the whole grace, so keep it short. */
#define SHUTDOWN_GRACE CIO_NSEC_PER_SEC
/* What one read may take from the stream (it has read ahead already). */
#define ECHO_CHUNK (16u * 1024)

static const char usage_text[] =
	"Usage: echo-server [--host HOST] [--port PORT] [--shards N] "
	"[--backend uring|epoll]\n"
	"\n"
	"A TCP echo server on every shard: whatever a client sends comes "
	"back.\n"
	"\n"
	"  -H, --host HOST      address to listen on (default 127.0.0.1; a "
	"name,\n"
	"                       an IPv4 or an IPv6 address)\n"
	"  -p, --port PORT      port (default 7000; 0 picks a free one)\n"
	"  -S, --shards N       threads, one per CPU (default: $CIO_SHARDS, "
	"else every\n"
	"                       CPU); each accepts and serves its own "
	"connections\n"
	"  -b, --backend NAME   uring, epoll or auto (default: $CIO_BACKEND, "
	"else auto)\n"
	"  -h, --help           this text\n"
	"\n"
	"Prints 'listening on HOST:PORT' once it accepts connections. SIGINT "
	"or\n"
	"SIGTERM stops it: no new connections, open ones get 1 s to end.\n"
	"Exit status: 0 stopped by a signal, 1 runtime failure (cannot "
	"listen...),\n"
	"2 usage error.\n";

struct srv_opts {
	const char *host;
	uint16_t port;
	bool ran; /* server_main started: it reports its own errors */
};

static intptr_t echo(cio_stream *s, void *arg)
{
	char *buf = malloc(ECHO_CHUNK);
	ssize_t n;

	(void)arg;
	if (!buf)
		return -ENOMEM;
	/* drain() after each write: a client that sends without reading
	 * makes us wait here instead of buffering without bound. */
	while ((n = cio_stream_read(s, buf, ECHO_CHUNK, CIO_NO_DEADLINE)) >
	       0) {
		if (cio_stream_write(s, buf, (size_t)n) < 0 ||
		    cio_stream_drain(s, CIO_NO_DEADLINE) < 0)
			break;
	}
	free(buf);
	return 0; /* the server flushes, closes and frees the stream */
}

static void announce(cio_server *srv)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (cio_server_sockname(srv, (struct sockaddr *)&ss, &len) < 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, sizeof(host), "?");
		snprintf(port, sizeof(port), "%u", cio_server_port(srv));
	}
	printf(ss.ss_family == AF_INET6 ? "listening on [%s]:%s\n"
					: "listening on %s:%s\n",
	       host, port);
	fflush(stdout);
}

static intptr_t server_main(void *arg)
{
	struct srv_opts *o = arg;
	struct cio_server_opts so = { .flags = CIO_SERVER_SHARDED };
	cio_server *srv;
	char hp[300];
	int ret;

	o->ran = true;
	ret = cio_start_server(&srv, o->host, o->port, echo, NULL, &so);
	if (ret < 0) {
		fprintf(stderr, PROG ": cannot listen on %s: %s\n",
			ec_host_port(hp, sizeof(hp), o->host, o->port),
			strerror(-ret));
		return ret;
	}
	announce(srv);
	/* Only the signal's cancellation ends this sleep. */
	while (cio_sleep(24 * 3600 * CIO_NSEC_PER_SEC) == 0)
		;
	/* cio_run() has closed the server on every shard by now and let
	 * the connections finish; this waits for the last of them. */
	cio_server_close(srv);
	cio_server_wait_closed(srv, cio_deadline_after(SHUTDOWN_GRACE));
	cio_server_free(srv);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "shards", required_argument, NULL, 'S' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct srv_opts o = { .host = "127.0.0.1", .port = DEFAULT_PORT };

	ec_raise_nofile();
	struct cio_loop_opts lo = { 0 };
	struct cio_run_opts ro = { .loop = &lo,
				   .shutdown_grace = SHUTDOWN_GRACE };
	unsigned long v;
	intptr_t ret;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:p:S:b:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'H':
			if (!*optarg)
				return ec_usage_error(PROG, "%s",
						      "empty host");
			o.host = optarg;
			break;
		case 'p':
			if (!ec_parse_uint(optarg, 0, 65535, &v))
				return ec_usage_error(PROG, "bad port '%s' (0 "
						      "to 65535)", optarg);
			o.port = (uint16_t)v;
			break;
		case 'S':
			if (!ec_parse_uint(optarg, 1, CIO_RUN_MAX_SHARDS, &v))
				return ec_usage_error(PROG, "bad shard count "
						      "'%s' (1 to 1024)",
						      optarg);
			ro.shards = (unsigned)v;
			break;
		case 'b':
			if (!ec_parse_backend(optarg, &lo.backend))
				return ec_usage_error(PROG, "bad backend '%s' "
						      "(uring, epoll or auto)",
						      optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return ec_bad_option(PROG, c, argv);
		}
	}
	if (optind < argc)
		return ec_usage_error(PROG, "unexpected argument '%s'",
				      argv[optind]);

	ret = cio_run(server_main, &o, &ro);
	if (ret == 0 || ret == -ECANCELED)
		return 0;
	if (!o.ran)
		fprintf(stderr, PROG ": cannot start the runtime: %s\n",
			strerror((int)-ret));
	return 1;
}
