/* coreio — TCP servers and clients: asyncio's start_server() and
 * open_connection(), over cio_stream.
 *
 *     static intptr_t echo(cio_stream *s, void *arg) {
 *         char buf[4096];
 *         ssize_t n;
 *         while ((n = cio_stream_read(s, buf, sizeof(buf),
 *                                     CIO_NO_DEADLINE)) > 0) {
 *             if (cio_stream_write(s, buf, (size_t)n) < 0 ||
 *                 cio_stream_drain(s, CIO_NO_DEADLINE) < 0)
 *                 break;
 *         }
 *         return 0;                  // the server closes the stream
 *     }
 *
 *     cio_server *srv;
 *     int rc = cio_start_server(&srv, "127.0.0.1", 0, echo, NULL, NULL);
 *     ...  cio_server_port(srv) is the port the kernel picked  ...
 *     cio_server_close(srv);                         // stop accepting
 *     cio_server_wait_closed(srv, cio_deadline_after(5 * CIO_NSEC_PER_SEC));
 *     cio_server_free(srv);
 *
 * Serving. One listening socket. An acceptor task takes connections and
 * starts one task per connection, which runs handler(stream, arg). When the
 * handler returns, the server closes the stream (flushing what it left
 * buffered) and frees it; the handler's result is discarded. Accepted
 * sockets get TCP_NODELAY, as asyncio sets it.
 *
 * Failures the server lives through:
 * - Out of descriptors or memory on accept (EMFILE, ENFILE, ENOBUFS,
 *   ENOMEM): the acceptor backs off, sleeping 10 ms, doubling up to 1 s,
 *   back to 10 ms after the next connection it gets. The first failure of
 *   each such episode is reported once through the loop's exception
 *   handler (kind CIO_REPORT_MISUSE, `error` the errno). Connections wait
 *   in the kernel's backlog meanwhile.
 * - Per-connection accept errors (ECONNABORTED, EPROTO, network errors):
 *   skipped.
 * - A client that goes away, resets, or half-closes its side: that is the
 *   handler's stream returning 0 (end of file) or an error; other
 *   connections are not affected.
 * Any other accept error (the listening socket broke) is reported and
 * ends accepting; the server then waits to be closed.
 *
 * Closing (graceful): cio_server_close() stops accepting at once (the
 * acceptor ends and closes the listening socket, so new connections are
 * refused). cio_server_wait_closed(srv, deadline) lets the running
 * handlers finish until `deadline`, then cancels those still running
 * (their awaits return -ECANCELED, their unsent data is dropped) and waits
 * until they have ended: a handler must not ignore cancellation.
 *
 * Sharded (CIO_SERVER_SHARDED, from a task on a shard of cio_run()): every
 * shard serves; each connection lives, handler and all, on one shard. With
 * the default balance each shard has its own listening socket bound with
 * SO_REUSEPORT to the same address (port 0: the first shard's pick), and
 * the kernel spreads connections by hash of their addresses. With
 * ROUND_ROBIN or LEAST_LOADED one acceptor on the calling shard hands each
 * accepted descriptor to a shard (cio_submit_to()). The server object you
 * get belongs to the calling shard and stands for all of them: close()
 * closes every shard's part, wait_closed() waits for all of them (each
 * with the same deadline), connections() and accepted() add them up (a
 * snapshot), free() releases every part on its own shard. `handler` runs
 * on every shard and `arg` is shared by them all: make it safe for that.
 *
 * Ownership rules:
 * 1. cio_start_server() succeeded => call cio_server_free() once, normally
 *    after cio_server_wait_closed() returned. Freeing a server that still
 *    has handlers running closes it and cancels them; its memory is
 *    released when the last of them has ended.
 * 2. The stream given to a handler belongs to the server: the handler may
 *    read, write, write_eof and close it, but not free it, and must not
 *    use it after returning.
 * 3. `arg` is borrowed by every handler call: keep it valid until
 *    wait_closed() returned.
 * 4. A server belongs to the loop it was started on and is used on that
 *    loop's thread.
 */
#ifndef CIO_IO_SERVER_H
#define CIO_IO_SERVER_H

#include <sys/socket.h>

#include "io/stream.h"
#include "runtime/common.h"

CIO_BEGIN_DECLS

typedef struct cio_server cio_server;

/* Runs in a task of its own, one per connection. */
typedef intptr_t (*cio_server_handler)(cio_stream *s, void *arg);

/* Flags of cio_server_opts. */
#define CIO_SERVER_NO_REUSEADDR 0x1u /* SO_REUSEADDR is set unless this */
#define CIO_SERVER_REUSEPORT 0x2u    /* SO_REUSEPORT */
/* Serve on every shard of the cio_run() in progress (see "Sharded" above);
 * call it from a task on a shard. */
#define CIO_SERVER_SHARDED 0x4u

/* How a sharded server spreads connections over the shards. */
enum cio_server_balance {
	/* One listening socket per shard, SO_REUSEPORT: the kernel picks. */
	CIO_SERVER_BALANCE_REUSEPORT = 0,
	/* One acceptor, on the calling shard, hands each connection to the
	 * next shard in turn... */
	CIO_SERVER_BALANCE_ROUND_ROBIN,
	/* ...or to the shard with the fewest connections (ties: the
	 * lowest-numbered). */
	CIO_SERVER_BALANCE_LEAST_LOADED,
};

/* Zero-initialise, then set what you need; 0 means the default. */
struct cio_server_opts {
	int backlog;              /* listen(2) backlog (SOMAXCONN) */
	/* At most this many handlers at once (0: no limit). At the limit the
	 * server stops accepting until one ends; connections wait in the
	 * backlog. */
	unsigned max_connections;
	unsigned flags;
	/* Options of every connection's stream (copied); NULL: defaults. */
	const struct cio_stream_opts *stream;
	/* With CIO_SERVER_SHARDED. max_connections then holds per shard. */
	enum cio_server_balance balance;
};

/* Listen on host:port and serve. `host`: a numeric IPv4 or IPv6 address,
 * a name (resolved with cio_getaddrinfo(), which needs a task), or NULL for
 * every IPv4 interface. Port 0 picks a free port (cio_server_port()).
 * Never parks for a numeric host or NULL; may then be called outside a
 * task (the server belongs to cio_loop_current()).
 * -EINVAL (bad argument or options, no loop), -EPERM (a name outside a
 * task; CIO_SERVER_SHARDED outside a task on a shard), cio_getaddrinfo()'s
 * errors, socket/bind/listen errors (-EADDRINUSE...), -ENOMEM; sharded,
 * also cio_submit_to()'s. */
int cio_start_server(cio_server **out, const char *host, uint16_t port,
		     cio_server_handler handler, void *arg,
		     const struct cio_server_opts *opts);

/* The port the listening socket is bound to (in host byte order). */
uint16_t cio_server_port(const cio_server *srv);
/* Its address, as getsockname(2): 0, or -EINVAL. */
int cio_server_sockname(const cio_server *srv, struct sockaddr *addr,
			socklen_t *len);
/* Handlers running (or about to start). */
unsigned cio_server_connections(const cio_server *srv);
/* Connections accepted so far. */
uint64_t cio_server_accepted(const cio_server *srv);

/* Stop accepting. Never parks. 0 (also when closed already), -EINVAL. */
int cio_server_close(cio_server *srv);

/* After close(): wait for the handlers until `deadline`, then cancel the
 * ones left and wait for them to end. 0: every handler ended on its own;
 * -ETIMEDOUT: some were cancelled; -ECANCELED: the calling task was
 * cancelled, which cancels (and awaits) the handlers as the deadline
 * would. Either way no handler runs any more when it returns.
 * -EINVAL (NULL, not closed), -EPERM outside a task, -EDEADLK from one of
 * the server's own handlers. */
int cio_server_wait_closed(cio_server *srv, int64_t deadline);

/* See ownership rule 1. NULL is a no-op. */
void cio_server_free(cio_server *srv);

/* -- clients ---------------------------------------------------------------
 *
 * asyncio's open_connection(): resolve host (numeric addresses without a
 * lookup, names with cio_getaddrinfo()), try each address in turn until a
 * connect succeeds, and wrap the socket (TCP_NODELAY set) in a stream with
 * `opts` (NULL: defaults). asyncio's reader and writer pair is the one
 * stream. From a task; the deadline covers the lookup and every attempt.
 * 0 and *out (free it with cio_stream_free()); the last attempt's error
 * (-ECONNREFUSED...), -ETIMEDOUT, -ECANCELED, cio_getaddrinfo()'s errors,
 * -EINVAL, -EPERM outside a task, -ENOMEM. */
int cio_open_connection(cio_stream **out, const char *host, uint16_t port,
			int64_t deadline, const struct cio_stream_opts *opts);

CIO_END_DECLS

#endif
