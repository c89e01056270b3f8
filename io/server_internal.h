/* Internal: the server object, and what the sharded server
 * (io/server_sharded.c) uses of io/server.c. */
#ifndef CIO_IO_SERVER_INTERNAL_H
#define CIO_IO_SERVER_INTERNAL_H

#include <stdatomic.h>

#include "io/server.h"
#include "io/stream.h"
#include "io/waitq.h"
#include "runtime/list.h"

struct cio__server_group;

struct cio_server {
	cio_loop *loop;
	int fd;                     /* listening socket; -1 once closed */
	struct sockaddr_storage addr;
	socklen_t alen;
	uint16_t port;
	cio_server_handler handler;
	void *arg;
	struct cio_stream_opts sopts;
	unsigned max_conns;
	cio_task *acceptor;         /* until it ends */
	bool acceptor_started;
	bool accept_done;           /* the acceptor ended, socket closed */
	bool closing;
	bool exhausted;             /* in an EMFILE/ENFILE episode */
	bool orphaned;              /* freed: the last task releases it */
	struct cio__list conns;
	unsigned nconns;
	uint64_t accepted;
	struct cio__waitq q;        /* a connection or the acceptor ended */

	/* Sharded: the part of a group on one shard (group set), or the
	 * object the user holds (front), or a part without a listening
	 * socket that adopts what the acceptor hands it (passive). */
	struct cio__list registered; /* in loop->io->servers; front: not */
	struct cio__server_group *group; /* a reference */
	unsigned shard;
	bool front;
	bool passive;
};

/* One sharded server. Parts are created, used and freed on their own
 * shards; what other shards read is atomic or written before any use. */
struct cio__server_group {
	atomic_int refs; /* the front, every part, every fd in transit */
	unsigned n;
	enum cio_server_balance balance;
	atomic_uint next;          /* round robin */
	_Atomic uint64_t accepted;
	_Atomic unsigned *load;    /* [n] connections per shard */
	cio_server **parts;        /* [n] */
	atomic_bool *gone;         /* [n] part freed: hand it nothing */
};

/* server.c */
int cio__server_start_one(cio_server **out, const char *host, uint16_t port,
			  cio_server_handler handler, void *arg,
			  const struct cio_server_opts *opts,
			  struct cio__server_group *group);
int cio__server_new_passive(cio_server **out, cio_server_handler handler,
			    void *arg, const struct cio_server_opts *o);
int cio__server_start_conn(cio_server *srv, int fd);
/* Protocols with keep-alive (HTTP) mark a connection idle while it waits
 * for the next request, so that closing the server ends it at once instead
 * of at the wait_closed() deadline. cio__server_conn_current() is the
 * connection of the calling handler; call it before the handler first
 * parks (NULL otherwise, and for streams not from a server).
 * cio__server_conn_idle() returns -ESHUTDOWN when marking idle a
 * connection of a closing server: end it. */
void *cio__server_conn_current(void);
int cio__server_conn_idle(void *conn, bool idle);

/* List a server (not a front) in its loop's servers. */
void cio__server_register(cio_server *srv);

/* A shard's graceful shutdown: close every server of `loop`, let their
 * handlers run until `deadline`, then cancel them and wait until they have
 * ended. 0, or -ETIMEDOUT when some were cancelled. In a task. */
int cio__servers_stop(cio_loop *loop, int64_t deadline);

/* server_sharded.c */
int cio__server_start_sharded(cio_server **out, const char *host,
			      uint16_t port, cio_server_handler handler,
			      void *arg, const struct cio_server_opts *o);
void cio__server_group_join(struct cio__server_group *g, cio_server *part);
void cio__server_group_put(struct cio__server_group *g);
void cio__server_dispatch(cio_server *srv, int fd);
unsigned cio__server_group_connections(struct cio__server_group *g);
void cio__server_group_close(struct cio__server_group *g);
int cio__server_group_wait(struct cio__server_group *g, int64_t deadline);
void cio__server_group_free(struct cio__server_group *g);

#endif
