/* echo — what echo-server and echo-client share: option parsing with the
 * programs' own messages, and the load generator's interface. */
#ifndef ECHO_H
#define ECHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coreio.h"
#include "hist.h"

/* -- the command line (cli.c) ---------------------------------------------- */

/* "<prog>: <message>\nTry '<prog> --help'." on stderr; returns 2. */
int ec_usage_error(const char *prog, const char *fmt, const char *arg);
/* getopt_long's '?' or ':' turned into ec_usage_error(). */
int ec_bad_option(const char *prog, int c, char **argv);
/* An unsigned decimal in [min, max], the whole string. */
bool ec_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out);
/* A plain decimal number of seconds in [min, max], as nanoseconds. */
bool ec_parse_seconds(const char *s, double min, double max, int64_t *ns);
/* "uring", "epoll" or "auto". */
bool ec_parse_backend(const char *s, enum cio_backend_kind *out);
/* Raise the soft descriptor limit to the hard one: thousands of
 * connections need more than the usual 1024. */
void ec_raise_nofile(void);
/* "host:port", with an IPv6 address in brackets ("[::1]:7000"). */
const char *ec_host_port(char *buf, size_t n, const char *host,
			 unsigned port);

/* -- the load generator (load.c) -------------------------------------------- */

struct ec_load_opts {
	const char *host;
	uint16_t port;
	unsigned connections;
	size_t size;         /* bytes per request, echoed back */
	int64_t duration_ns; /* requests start until this much has passed */
	int64_t timeout_ns;  /* connect, and each request's echo */
};

struct ec_load_result {
	uint64_t requests;   /* echoed and verified */
	double elapsed_s;    /* from the first connect to the last echo */
	struct eh_hist hist; /* latency of each request, ns */
	unsigned failed;     /* connections that ended with an error */
	char backend[16];    /* "io_uring" or "epoll" */
	unsigned shards;
};

/* Failures printed as they happen; the others are only counted. */
#define EC_MAX_PRINTED 5

/* The main task for cio_run(): arg is a struct ec_load_run. Every
 * connection runs on shard (index % shards) as a task of its own. Each
 * failure is printed on stderr as it happens (the first few; the count
 * is in the result) and stops the other connections. 0, or -ECANCELED
 * (a signal), -ENOMEM.
 * The shards share state that must outlive main (a cancelled main does
 * not wait for them; cio_run() does): ec_load_release() frees it, after
 * cio_run() has returned. */
struct ec_load_run {
	const struct ec_load_opts *opts;
	struct ec_load_result *res;
	void *state; /* NULL-initialise */
};
intptr_t ec_load_main(void *arg);
void ec_load_release(struct ec_load_run *run);

#endif
