/* charfinder — what the TCP and HTTP modes share: their options, the
 * runtime around them, the "Serving on" line, and how they wait for the
 * end. */
#ifndef CF_SERVE_H
#define CF_SERVE_H

#include <stdint.h>
#include <sys/socket.h>

#include "index.h"

/* Bytes of a query: a TCP line (without its '\n'), an HTTP query value
 * (decoded). */
#define CF_QUERY_MAX 1024

#define CF_DEFAULT_HOST "127.0.0.1"
#define CF_DEFAULT_TCP_PORT 2323 /* the book's */
#define CF_DEFAULT_HTTP_PORT 8888

struct cf_serve_opts {
	const struct cf_index *ix; /* built before, shared by every shard */
	const char *host;
	uint16_t port;
	unsigned shards; /* 0: the runtime's default, one per CPU */
};

/* Serve until SIGINT or SIGTERM. The exit status: 0 after a signal, 2
 * when the server could not start (the reason is printed on stderr). */
int cf_tcp_serve(const struct cf_serve_opts *o);
int cf_http_serve(const struct cf_serve_opts *o);

/* -- for the modes --------------------------------------------------------- */

/* cio_run(main, o) with o->shards shards. main returns 0, or 1 after it
 * reported why it could not serve. The exit status as above. */
int cf_serve_run(intptr_t (*main)(void *), const struct cf_serve_opts *o);
/* Print "Serving on 127.0.0.1:2323" ("[::1]:2323" for IPv6) on stdout and
 * flush it: a program that started the server reads the port there. */
void cf_serve_announce(const struct sockaddr *sa, socklen_t len);
/* Park until cio_run() cancels main (its answer to SIGINT / SIGTERM, once
 * the servers are closed and their connections had their grace period). */
void cf_serve_wait(void);

#endif
