/* The setup the baseline servers share (common.c). */
#ifndef CIO_BENCH_BASELINE_COMMON_H
#define CIO_BENCH_BASELINE_COMMON_H

#include <pthread.h>

/* One worker thread: its own listening socket, its CPU. */
struct bl_worker {
	int lfd;         /* non-blocking, SO_REUSEPORT, already listening */
	int cpu;         /* the thread is pinned to it; -1: not pinned */
	const void *arg; /* the server's, from bl_serve() */
	void *(*run)(struct bl_worker *w);
	pthread_t th;
};

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
 * start the workers, each on its own thread pinned to the next allowed
 * CPU, running `run` (which never returns), print "listening on
 * HOST:PORT", wait for SIGINT or SIGTERM, then exit 0. Never returns.
 * Every worker thread starts with those two signals blocked. */
_Noreturn void bl_serve(int argc, char **argv,
			void *(*run)(struct bl_worker *w), const void *arg);

/* bl_serve() with a level-triggered epoll loop per worker that accepts
 * and hands connections and their events to `ops`. Never returns. */
int bl_main(int argc, char **argv, const struct bl_ops *ops);

#endif
