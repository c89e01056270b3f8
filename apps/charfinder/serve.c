/* charfinder — the server modes' common part (see serve.h). */
#include "serve.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "coreio.h"

/* How long connections may go on after SIGINT / SIGTERM before they are
 * cancelled. A TCP session idles at its prompt between queries, so a long
 * grace would mostly be spent waiting for people who will not type. */
#define CF_SHUTDOWN_GRACE (2 * CIO_NSEC_PER_SEC)

int cf_serve_run(intptr_t (*main)(void *), const struct cf_serve_opts *o)
{
	struct cio_run_opts ro = { .shards = o->shards,
				   .shutdown_grace = CF_SHUTDOWN_GRACE };
	intptr_t r = cio_run(main, (void *)o, &ro);

	/* -ECANCELED: main let the signal's cancellation through. */
	if (r == 0 || r == -ECANCELED)
		return 0;
	if (r < 0)
		fprintf(stderr, "charfinder: cannot start the runtime: %s\n",
			strerror((int)-r));
	return 2;
}

void cf_serve_announce(const struct sockaddr *sa, socklen_t len)
{
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strcpy(host, "?");
		strcpy(port, "?");
	}
	if (sa->sa_family == AF_INET6)
		printf("Serving on [%s]:%s\n", host, port);
	else
		printf("Serving on %s:%s\n", host, port);
	fflush(stdout);
}

void cf_serve_wait(void)
{
	/* Only a cancellation (or a broken loop) ends the sleep early. */
	while (cio_sleep(24 * 3600 * CIO_NSEC_PER_SEC) == 0)
		;
}
