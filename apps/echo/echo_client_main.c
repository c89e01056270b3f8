/* echo-client — a load generator for echo servers, on coreio: CONNECTIONS
 * connections, each sending SIZE-byte requests in lockstep (one in flight
 * per connection) and verifying every byte of every echo, for SECONDS;
 * then requests/s and the latency percentiles. Any mismatch or connection
 * error is named on stderr and makes the exit status 1. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

#define PROG "echo-client"
#define STR(x) #x
#define XSTR(x) STR(x)
/* Each connection holds two buffers of SIZE bytes. */
#define MAX_TOTAL_BYTES (1ull << 30)

static const char usage_text[] =
	"Usage: echo-client [--host HOST] -p PORT [-c CONNECTIONS] [-s SIZE] "
	"[-d SECONDS]\n"
	"                   [--timeout SECONDS] [--shards N] [--backend "
	"NAME] [--json]\n"
	"\n"
	"Load an echo server: every connection sends SIZE bytes, reads the "
	"echo back\n"
	"and checks every byte, one request at a time, for SECONDS. Reports "
	"requests/s\n"
	"and round-trip latency percentiles.\n"
	"\n"
	"  -H, --host HOST          server address (default 127.0.0.1)\n"
	"  -p, --port PORT          server port (required)\n"
	"  -c, --connections N      connections at once (default 8)\n"
	"  -s, --size BYTES         request size (default 64; 1 to 64 MiB)\n"
	"  -d, --duration SECONDS   how long to send requests (default 1)\n"
	"  -t, --timeout SECONDS    connect, and each echo, must take less "
	"(default 5)\n"
	"  -S, --shards N           threads generating the load (default 1)\n"
	"  -b, --backend NAME       uring, epoll or auto (default: "
	"$CIO_BACKEND, else auto)\n"
	"  -j, --json               one JSON object per metric and line\n"
	"  -h, --help               this text\n"
	"\n"
	"Exit status: 0 every echo was right, 1 a mismatch or a connection "
	"error\n"
	"(named on stderr), 2 usage error.\n";

static void json_row(const char *cas, const char *sys, const char *metric,
		     double value, const char *unit)
{
	/* The names are ours (no quotes or controls to escape). */
	printf("{\"bench\":\"" PROG "\",\"case\":\"%s\",\"system\":\"%s\","
	       "\"metric\":\"%s\",\"value\":",
	       cas, sys, metric);
	if (value == (double)(uint64_t)value && value < 1e15)
		printf("%llu", (unsigned long long)value);
	else
		printf("%.3f", value);
	printf(",\"unit\":\"%s\"}\n", unit);
}

static void report(const struct ec_load_opts *o,
		   const struct ec_load_result *r, bool json)
{
	double rps = r->elapsed_s > 0 ? (double)r->requests / r->elapsed_s
				      : 0;
	double mbps = rps * (double)o->size / 1e6;
	double us[4] = {
		eh_quantile(&r->hist, 0.50) / 1e3,
		eh_quantile(&r->hist, 0.90) / 1e3,
		eh_quantile(&r->hist, 0.99) / 1e3,
		(double)r->hist.max / 1e3,
	};
	static const char *const names[4] = { "p50_us", "p90_us", "p99_us",
					      "max_us" };
	char cas[64], hp[300];

	if (json) {
		snprintf(cas, sizeof(cas), "c%u-s%zu", o->connections,
			 o->size);
		json_row(cas, r->backend, "requests", (double)r->requests,
			 "count");
		json_row(cas, r->backend, "req_per_s", rps, "req/s");
		json_row(cas, r->backend, "mb_per_s", mbps, "MB/s");
		for (int i = 0; i < 4; i++)
			json_row(cas, r->backend, names[i], us[i], "us");
		json_row(cas, r->backend, "errors", r->failed, "count");
		return;
	}
	printf("server      %s\n",
	       ec_host_port(hp, sizeof(hp), o->host, o->port));
	printf("load        %u connections x %zu bytes, %.2f s, %u shard%s "
	       "(%s)\n",
	       o->connections, o->size, r->elapsed_s, r->shards,
	       r->shards == 1 ? "" : "s", r->backend);
	printf("requests    %llu, every byte verified\n",
	       (unsigned long long)r->requests);
	printf("rate        %.0f req/s, %.2f MB/s each way\n", rps, mbps);
	printf("latency     p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f "
	       "us\n",
	       us[0], us[1], us[2], us[3]);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "connections", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "shards", required_argument, NULL, 'S' },
		{ "backend", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ec_load_opts o = { .host = "127.0.0.1",
				  .connections = 8,
				  .size = 64,
				  .duration_ns = CIO_NSEC_PER_SEC,
				  .timeout_ns = 5 * CIO_NSEC_PER_SEC };

	ec_raise_nofile();
	struct cio_loop_opts lo = { 0 };
	/* Not pinned: the server being measured likely runs pinned on
	 * these same CPUs; let the scheduler place the load. */
	struct cio_run_opts ro = { .shards = 1, .flags = CIO_RUN_NO_PIN,
				   .loop = &lo };
	struct ec_load_result *res = calloc(1, sizeof(*res));
	struct ec_load_run run = { .opts = &o, .res = res };
	bool json = false, have_port = false;
	unsigned long v;
	intptr_t ret;
	int c, status;

	if (!res) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":H:p:c:s:d:t:S:b:jh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'H':
			if (!*optarg) {
				status = ec_usage_error(PROG, "%s",
							"empty host");
				goto out;
			}
			o.host = optarg;
			break;
		case 'p':
			if (!ec_parse_uint(optarg, 1, 65535, &v)) {
				status = ec_usage_error(PROG, "bad port '%s' "
							"(1 to 65535)",
							optarg);
				goto out;
			}
			o.port = (uint16_t)v;
			have_port = true;
			break;
		case 'c':
			if (!ec_parse_uint(optarg, 1, 100000, &v)) {
				status = ec_usage_error(PROG, "bad connection "
							"count '%s' (1 to "
							"100000)", optarg);
				goto out;
			}
			o.connections = (unsigned)v;
			break;
		case 's':
			if (!ec_parse_uint(optarg, 1, 64ul << 20, &v)) {
				status = ec_usage_error(PROG, "bad size '%s' "
							"(1 to 67108864 "
							"bytes)", optarg);
				goto out;
			}
			o.size = v;
			break;
		case 'd':
		case 't':
			if (!ec_parse_seconds(optarg, 0.001, 86400,
					      c == 'd' ? &o.duration_ns
						       : &o.timeout_ns)) {
				status = ec_usage_error(PROG, "bad time '%s' "
							"(seconds, 0.001 to "
							"86400)", optarg);
				goto out;
			}
			break;
		case 'S':
			if (!ec_parse_uint(optarg, 1, CIO_RUN_MAX_SHARDS, &v)) {
				status = ec_usage_error(PROG, "bad shard count "
							"'%s' (1 to 1024)",
							optarg);
				goto out;
			}
			ro.shards = (unsigned)v;
			break;
		case 'b':
			if (!ec_parse_backend(optarg, &lo.backend)) {
				status = ec_usage_error(PROG, "bad backend "
							"'%s' (uring, epoll "
							"or auto)", optarg);
				goto out;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			status = 0;
			goto out;
		default:
			status = ec_bad_option(PROG, c, argv);
			goto out;
		}
	}
	if (optind < argc) {
		status = ec_usage_error(PROG, "unexpected argument '%s'",
					argv[optind]);
		goto out;
	}
	if (!have_port) {
		status = ec_usage_error(PROG, "%s", "which port? (-p PORT)");
		goto out;
	}
	if ((unsigned long long)o.connections * o.size > MAX_TOTAL_BYTES) {
		status = ec_usage_error(PROG, "%s", "connections x size "
					"above 1 GiB");
		goto out;
	}

	ret = cio_run(ec_load_main, &run, &ro);
	ec_load_release(&run);
	status = 1;
	if (ret == -ECANCELED) {
		fprintf(stderr, PROG ": interrupted\n");
	} else if (ret < 0) {
		fprintf(stderr, PROG ": %s\n", strerror((int)-ret));
	} else if (res->failed) {
		fprintf(stderr, PROG ": %u of %u connections failed%s\n",
			res->failed, o.connections,
			res->failed > EC_MAX_PRINTED ? " (the first "
			XSTR(EC_MAX_PRINTED) " shown)" : "");
	} else {
		report(&o, res, json);
		status = fflush(stdout) == 0 ? 0 : 1;
	}
out:
	free(res);
	return status;
}
