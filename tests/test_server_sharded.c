/* Sharded servers: CIO_SERVER_SHARDED with each balance, on 2 shards.
 * The handler answers every line with the id of the shard it runs on, so
 * the client sees where each connection landed. Checks on shard threads go
 * through CHECK() and are asserted after cio_run() returns. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/helpers/check.h"
#include "tests/helpers/harness.h"

#define CHECK(c) TH_CHECK(c)

#define SOON() cio_deadline_after(10 * CIO_NSEC_PER_SEC)

static atomic_int handlers_cancelled;

static intptr_t who(cio_stream *s, void *arg)
{
	char line[64], out[16];
	ssize_t n;

	(void)arg;
	while ((n = cio_stream_readline(s, line, sizeof(line),
					CIO_NO_DEADLINE)) > 0) {
		if (line[0] == 'w') { /* wait until cancelled */
			if (cio_sleep(3600 * CIO_NSEC_PER_SEC) == -ECANCELED)
				atomic_fetch_add(&handlers_cancelled, 1);
			return 0;
		}
		int k = snprintf(out, sizeof(out), "%d\n", cio_shard_id());
		if (cio_stream_write(s, out, (size_t)k) < 0 ||
		    cio_stream_drain(s, CIO_NO_DEADLINE) < 0)
			break;
	}
	return 0;
}

static cio_stream *dial(uint16_t port)
{
	cio_stream *c = NULL;
	CHECK(cio_open_connection(&c, "127.0.0.1", port, SOON(), NULL) == 0);
	return c;
}

/* Ask which shard serves `c`. */
static int where(cio_stream *c)
{
	char line[16];
	if (!c || cio_stream_write(c, "?\n", 2) < 0)
		return -1;
	if (cio_stream_readline(c, line, sizeof(line), SOON()) <= 0)
		return -1;
	return atoi(line);
}

static void hang_up(cio_stream *c)
{
	if (!c)
		return;
	cio_stream_close(c);
	cio_stream_wait_closed(c, SOON());
	cio_stream_free(c);
}

static cio_server *start(enum cio_server_balance b)
{
	struct cio_server_opts o = { .flags = CIO_SERVER_SHARDED,
				     .balance = b };
	cio_server *srv = NULL;
	CHECK(cio_start_server(&srv, "127.0.0.1", 0, who, NULL, &o) == 0);
	CHECK(srv && cio_server_port(srv) != 0);
	return srv;
}

static void stop(cio_server *srv, int want)
{
	CHECK(cio_server_close(srv) == 0);
	CHECK(cio_server_wait_closed(srv, SOON()) == want);
	CHECK(cio_server_connections(srv) == 0);
	cio_server_free(srv);
}

static intptr_t run(cio_task_fn fn)
{
	struct cio_run_opts o = { .shards = 2 };
	intptr_t r;

	th_check_reset();
	r = cio_run(fn, NULL, &o);
	th_check_assert();
	return r;
}

/* -- reuseport --------------------------------------------------------------- */

#define NCONN 64

static intptr_t reuseport_main(void *arg)
{
	cio_server *srv = start(CIO_SERVER_BALANCE_REUSEPORT);
	cio_stream *c[NCONN];
	int per[2] = { 0, 0 };

	(void)arg;
	for (int i = 0; i < NCONN; i++)
		c[i] = dial(cio_server_port(srv));
	for (int i = 0; i < NCONN; i++) {
		int w = where(c[i]);
		CHECK(w == 0 || w == 1);
		if (w == 0 || w == 1)
			per[w]++;
		CHECK(where(c[i]) == w); /* a connection stays put */
	}
	/* The kernel hashes 64 four-tuples over two sockets: both get
	 * some (all on one would be a 1 in 2^63 event). */
	CHECK(per[0] > 0 && per[1] > 0);
	CHECK(cio_server_connections(srv) == NCONN);
	CHECK(cio_server_accepted(srv) == NCONN);
	for (int i = 0; i < NCONN; i++)
		hang_up(c[i]);
	stop(srv, 0);
	return 0;
}

Test(server_sharded, reuseport_spreads_connections_over_shards,
     .timeout = 60)
{
	cr_assert_eq(run(reuseport_main), 0);
	th_leak_check();
}

/* -- one acceptor ------------------------------------------------------------ */

static intptr_t round_robin_main(void *arg)
{
	cio_server *srv = start(CIO_SERVER_BALANCE_ROUND_ROBIN);
	cio_stream *c[8];

	(void)arg;
	/* One at a time, so accept order is connect order. */
	for (int i = 0; i < 8; i++) {
		c[i] = dial(cio_server_port(srv));
		CHECK(where(c[i]) == i % 2);
	}
	CHECK(cio_server_connections(srv) == 8);
	for (int i = 0; i < 8; i++)
		hang_up(c[i]);
	stop(srv, 0);
	return 0;
}

Test(server_sharded, round_robin_alternates, .timeout = 60)
{
	cr_assert_eq(run(round_robin_main), 0);
	th_leak_check();
}

static intptr_t least_loaded_main(void *arg)
{
	cio_server *srv = start(CIO_SERVER_BALANCE_LEAST_LOADED);
	cio_stream *a, *b, *c, *d;

	(void)arg;
	a = dial(cio_server_port(srv));
	CHECK(where(a) == 0); /* a tie goes to the lowest */
	b = dial(cio_server_port(srv));
	CHECK(where(b) == 1);
	c = dial(cio_server_port(srv));
	CHECK(where(c) == 0);
	/* Shard 1 now has fewer. */
	d = dial(cio_server_port(srv));
	CHECK(where(d) == 1);
	hang_up(b);
	hang_up(d);
	/* Until shard 1's handlers have ended its load is not down. */
	while (cio_server_connections(srv) > 2)
		cio_sleep(CIO_NSEC_PER_MSEC);
	b = dial(cio_server_port(srv));
	CHECK(where(b) == 1);
	hang_up(a);
	hang_up(b);
	hang_up(c);
	stop(srv, 0);
	return 0;
}

Test(server_sharded, least_loaded_picks_the_emptier_shard, .timeout = 60)
{
	cr_assert_eq(run(least_loaded_main), 0);
	th_leak_check();
}

/* -- closing ----------------------------------------------------------------- */

static intptr_t graceful_main(void *arg)
{
	enum cio_server_balance b = *(enum cio_server_balance *)arg;
	struct cio_server_opts o = { .flags = CIO_SERVER_SHARDED,
				     .balance = b };
	cio_server *srv = NULL;
	cio_stream *c[8];

	CHECK(cio_start_server(&srv, "127.0.0.1", 0, who, NULL, &o) == 0);
	for (int i = 0; i < 8; i++) {
		c[i] = dial(cio_server_port(srv));
		CHECK(where(c[i]) >= 0);
		CHECK(cio_stream_write(c[i], "w\n", 2) == 0);
		CHECK(cio_stream_flush(c[i], SOON()) == 0);
	}
	while (cio_server_connections(srv) < 8)
		cio_sleep(CIO_NSEC_PER_MSEC);
	CHECK(cio_server_close(srv) == 0);
	CHECK(cio_server_wait_closed(
		      srv, cio_deadline_after(50 * CIO_NSEC_PER_MSEC)) ==
	      -ETIMEDOUT);
	/* Every shard's listening socket is closed by now. */
	cio_stream *late = NULL;
	CHECK(cio_open_connection(&late, "127.0.0.1", cio_server_port(srv),
				  SOON(), NULL) == -ECONNREFUSED);
	CHECK(cio_server_connections(srv) == 0);
	cio_server_free(srv);
	for (int i = 0; i < 8; i++)
		hang_up(c[i]);
	return 0;
}

Test(server_sharded, wait_closed_cancels_handlers_on_every_shard,
     .timeout = 60)
{
	enum cio_server_balance b[] = { CIO_SERVER_BALANCE_REUSEPORT,
					CIO_SERVER_BALANCE_ROUND_ROBIN };
	for (int i = 0; i < 2; i++) {
		atomic_store(&handlers_cancelled, 0);
		struct cio_run_opts o = { .shards = 2 };
		th_check_reset();
		cr_assert_eq(cio_run(graceful_main, &b[i], &o), 0);
		th_check_assert();
		cr_assert_eq(atomic_load(&handlers_cancelled), 8);
	}
	th_leak_check();
}

static intptr_t bad_main(void *arg)
{
	struct cio_server_opts o = { .flags = CIO_SERVER_SHARDED,
				     .balance = 7 };
	cio_server *srv = NULL;

	(void)arg;
	CHECK(cio_start_server(&srv, "127.0.0.1", 0, who, NULL, &o) ==
	      -EINVAL);
	o.balance = -1;
	CHECK(cio_start_server(&srv, "127.0.0.1", 0, who, NULL, &o) ==
	      -EINVAL);
	/* A port in use: every part fails to bind, nothing is left. */
	o.balance = CIO_SERVER_BALANCE_REUSEPORT;
	o.flags |= CIO_SERVER_NO_REUSEADDR;
	cio_server *plain = NULL;
	CHECK(cio_start_server(&plain, "127.0.0.1", 0, who, NULL, NULL) == 0);
	CHECK(cio_start_server(&srv, "127.0.0.1", cio_server_port(plain), who,
			       NULL, &o) == -EADDRINUSE);
	CHECK(srv == NULL);
	cio_server_close(plain);
	cio_server_wait_closed(plain, SOON());
	cio_server_free(plain);
	return 0;
}

static void outside(void *arg)
{
	(void)arg;
}

Test(server_sharded, bad_input, .timeout = 60)
{
	struct cio_server_opts o = { .flags = CIO_SERVER_SHARDED };
	cio_loop *loop = th_loop_new();
	cio_server *srv = NULL;

	(void)outside;
	/* Not on a shard. */
	cr_assert_eq(cio_start_server(&srv, "127.0.0.1", 0, who, NULL, &o),
		     -EPERM);
	th_loop_free(loop);
	cr_assert_eq(run(bad_main), 0);
	th_leak_check();
}
