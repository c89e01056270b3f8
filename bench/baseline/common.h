/* The setup both baseline servers share (common.c). */
#ifndef CIO_BENCH_BASELINE_COMMON_H
#define CIO_BENCH_BASELINE_COMMON_H

struct bl_ops {
	/* A new non-blocking connection (TCP_NODELAY set): set it up and add
	 * it to `ep`, or close it. */
	void (*accepted)(int ep, int fd);
	/* An event on a connection, the epoll_data pointer it was added
	 * with. */
	void (*event)(int ep, void *conn);
};

/* Print `what` and errno's text, exit 1. */
void bl_die(const char *what);

/* Parse [--host H] [--port P] [--workers N], bind every worker's socket,
 * print "listening on HOST:PORT", run the workers and wait for SIGINT or
 * SIGTERM, then exit 0. Never returns. */
int bl_main(int argc, char **argv, const struct bl_ops *ops);

#endif
