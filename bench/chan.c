/* bench/chan — channels (runtime/chan.h) on one loop and between threads.
 *
 * Cases (each is a group --only can select):
 *   try          cio_chan_try_send + cio_chan_try_recv on one thread, no
 *                task: the lock and the copy, nothing else
 *   same_loop    a producer and a consumer task on one loop: streaming
 *                through a channel of 64 (the producer fills it, then the
 *                two take turns by the batch), and a rendezvous (capacity
 *                0: every element is one park and one direct wake)
 *   pingpong     two threads, each running its own loop, pinned to two
 *                CPUs: a task on each side bounces one element through two
 *                channels of capacity 1; every hop parks the receiver and
 *                wakes it through its loop's inbox. Side by side: the same
 *                round trip between two plain threads through a mutex and
 *                condition variable mailbox
 *   stream       the same two threads: one task sends, the other receives,
 *                through a channel of 1024; elements per second. Side by
 *                side: a bounded ring with a mutex and two condition
 *                variables between two plain threads
 *
 * Method: CLOCK_MONOTONIC around n operations, n calibrated so one
 * repetition lasts about --rep-ms, one warm-up repetition dropped, the
 * median of --reps repetitions (bench_util.h). The single-thread cases
 * re-run a repetition that shared its CPU; the two-thread cases cannot
 * tell (each side sleeps while it waits, by design) and take every
 * repetition. A comparison alternates its two sides repetition by
 * repetition and reports the median of the per-pair ratios. Elements are
 * 8 bytes. The peer thread, its loop and the handshake are set up before
 * the clock starts.
 */
#include <getopt.h>
#include <pthread.h>

#include "bench/bench_util.h"
#include "runtime/chan.h"
#include "runtime/loop.h"
#include "runtime/task.h"

enum {
	G_TRY = 1u << 0,
	G_SAME_LOOP = 1u << 1,
	G_PINGPONG = 1u << 2,
	G_STREAM = 1u << 3,
	G_ALL = (1u << 4) - 1,
};

static const struct {
	const char *name;
	unsigned bit;
} groups[] = {
	{ "try", G_TRY },
	{ "same_loop", G_SAME_LOOP },
	{ "pingpong", G_PINGPONG },
	{ "stream", G_STREAM },
};

static struct config {
	bool quick;
	bool pin;
	int cpu[2]; /* main thread, peer thread; -1: not pinned */
	unsigned groups;
} cfg;

static cio_loop *g_loop; /* the main thread's */

#define STREAM_CAP 1024

/* Two sides alternated, every repetition kept (no re-run: each side
 * sleeps while it waits, by design); st[0] ours, st[1] theirs, st[2]
 * theirs/ours. */
static void measure_pair(bu_fn ours, bu_fn theirs, const char *what,
			 struct bu_stats st[3])
{
	double a[BU_MAX_REPS], b[BU_MAX_REPS], r[BU_MAX_REPS], per;
	uint64_t na = bu_calibrate(ours, NULL, what);
	uint64_t nb = bu_calibrate(theirs, NULL, what);

	BU_CHECK(ours(NULL, na, &per), what);
	BU_CHECK(theirs(NULL, nb, &per), what);
	for (unsigned i = 0; i < bu.reps; i++) {
		BU_CHECK(ours(NULL, na, &a[i]), what);
		BU_CHECK(theirs(NULL, nb, &b[i]), what);
		r[i] = b[i] / a[i];
	}
	st[0] = bu_summarize(a, bu.reps);
	st[1] = bu_summarize(b, bu.reps);
	st[2] = bu_summarize(r, bu.reps);
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* -- 1. try_send + try_recv ------------------------------------------------ */

static int bench_try(void *ctx, uint64_t n, double *ns)
{
	cio_chan *ch = ctx;
	uint64_t x = 0, y;
	int64_t t0, t1;
	int ret;

	t0 = bu_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		if ((ret = cio_chan_try_send(ch, &i)) < 0 ||
		    (ret = cio_chan_try_recv(ch, &y)) < 0)
			return ret;
		x += y;
	}
	t1 = bu_now_ns();
	if (x != n * (n - 1) / 2)
		return -EPROTO;
	*ns = (double)(t1 - t0) / (2.0 * (double)n);
	return 0;
}

static void case_try(void)
{
	cio_chan *ch;
	struct bu_stats st;

	BU_CHECK(cio_chan_new(&ch, sizeof(uint64_t), 64), "cio_chan_new");
	st = bu_measure(bench_try, ch, "try_send + try_recv");
	bu_row("try", "coreio", "ns_per_op", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	cio_chan_free(ch);
}

/* -- 2. one loop: producer and consumer tasks ------------------------------- */

struct flow {
	cio_chan *ch, *ack;
	uint64_t n;
	int64_t t0, t1;
	int err;
};

static intptr_t producer(void *arg)
{
	struct flow *f = arg;
	int ret;

	for (uint64_t i = 0; i < f->n; i++)
		if ((ret = cio_chan_send(f->ch, &i, CIO_NO_DEADLINE)) < 0)
			return ret;
	return 0;
}

static intptr_t consumer(void *arg)
{
	struct flow *f = arg;
	uint64_t x, sum = 0;
	int ret;

	for (uint64_t i = 0; i < f->n; i++) {
		if ((ret = cio_chan_recv(f->ch, &x, CIO_NO_DEADLINE)) < 0)
			return ret;
		sum += x;
	}
	return sum == f->n * (f->n - 1) / 2 ? 0 : -EPROTO;
}

static int bench_same_loop(void *ctx, uint64_t n, double *ns)
{
	size_t cap = *(const size_t *)ctx;
	struct cio_task_opts o = { .loop = g_loop };
	struct flow f = { .n = n };
	cio_task *p, *c;
	int64_t t0, t1;
	intptr_t vp, vc;
	int ret;

	if ((ret = cio_chan_new(&f.ch, sizeof(uint64_t), cap)) < 0)
		return ret;
	if ((ret = cio_spawn(&c, consumer, &f, &o)) < 0)
		return ret;
	if ((ret = cio_spawn(&p, producer, &f, &o)) < 0)
		return ret;
	t0 = bu_now_ns();
	vc = cio_loop_run_until_complete(g_loop, cio_task_future(c));
	t1 = bu_now_ns();
	vp = cio_loop_run_until_complete(g_loop, cio_task_future(p));
	cio_task_unref(p);
	cio_task_unref(c);
	cio_chan_free(f.ch);
	if (vc < 0 || vp < 0)
		return (int)(vc < 0 ? vc : vp);
	*ns = (double)(t1 - t0) / (double)n;
	return 0;
}

static void case_same_loop(void)
{
	size_t cap64 = 64, cap0 = 0;
	struct bu_stats st;

	st = bu_measure(bench_same_loop, &cap64, "same loop, capacity 64");
	bu_row("same_loop_cap64", "coreio", "ns_per_elem", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	st = bu_measure(bench_same_loop, &cap0, "same loop, capacity 0");
	bu_row("same_loop_cap0", "coreio", "ns_per_elem", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
}

/* -- the peer thread: its own loop and one task ------------------------------ */

struct peer {
	pthread_t th;
	cio_task_fn fn;
	struct flow *f;
	intptr_t result;
};

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct cio_task_opts o;
	cio_loop *loop;
	cio_task *t;
	int ret;

	pin_self(cfg.cpu[1]);
	p->result = -EIO;
	if ((ret = cio_loop_new(&loop, NULL)) < 0) {
		p->result = ret;
		return NULL;
	}
	o = (struct cio_task_opts){ .loop = loop };
	if ((ret = cio_spawn(&t, p->fn, p->f, &o)) < 0) {
		p->result = ret;
	} else {
		p->result = cio_loop_run_until_complete(loop,
							cio_task_future(t));
		cio_task_unref(t);
	}
	cio_loop_free(loop);
	return NULL;
}

/* Run mine(f) as a task on g_loop while the peer thread runs theirs(f). */
static int run_two(cio_task_fn mine, cio_task_fn theirs, struct flow *f)
{
	struct cio_task_opts o = { .loop = g_loop };
	struct peer p = { .fn = theirs, .f = f };
	cio_task *t;
	intptr_t v;
	int ret;

	if ((ret = pthread_create(&p.th, NULL, peer_main, &p)) != 0)
		return -ret;
	if ((ret = cio_spawn(&t, mine, f, &o)) < 0) {
		/* The peer waits for us forever: unblock it. */
		cio_chan_close(f->ch);
		cio_chan_close(f->ack);
		pthread_join(p.th, NULL);
		return ret;
	}
	v = cio_loop_run_until_complete(g_loop, cio_task_future(t));
	cio_task_unref(t);
	pthread_join(p.th, NULL);
	if (v < 0)
		return (int)v;
	return p.result < 0 ? (int)p.result : 0;
}

static int flow_init(struct flow *f, uint64_t n, size_t cap)
{
	int ret;

	*f = (struct flow){ .n = n };
	if ((ret = cio_chan_new(&f->ch, sizeof(uint64_t), cap)) < 0)
		return ret;
	if ((ret = cio_chan_new(&f->ack, sizeof(uint64_t), 1)) < 0) {
		cio_chan_free(f->ch);
		return ret;
	}
	return 0;
}

static void flow_free(struct flow *f)
{
	cio_chan_free(f->ch);
	cio_chan_free(f->ack);
}

/* -- 3. ping-pong between two threads ---------------------------------------- */

/* One extra round first: the peer's loop is up before the clock starts. */
static intptr_t pinger(void *arg)
{
	struct flow *f = arg;
	uint64_t x;
	int ret;

	for (uint64_t i = 0; i <= f->n; i++) {
		if (i == 1)
			f->t0 = bu_now_ns();
		if ((ret = cio_chan_send(f->ch, &i, CIO_NO_DEADLINE)) < 0 ||
		    (ret = cio_chan_recv(f->ack, &x, CIO_NO_DEADLINE)) < 0)
			return ret;
		if (x != i + 1)
			return -EPROTO;
	}
	f->t1 = bu_now_ns();
	return 0;
}

static intptr_t ponger(void *arg)
{
	struct flow *f = arg;
	uint64_t x;
	int ret;

	for (uint64_t i = 0; i <= f->n; i++) {
		if ((ret = cio_chan_recv(f->ch, &x, CIO_NO_DEADLINE)) < 0)
			return ret;
		x++;
		if ((ret = cio_chan_send(f->ack, &x, CIO_NO_DEADLINE)) < 0)
			return ret;
	}
	return 0;
}

static int bench_pingpong(void *ctx, uint64_t n, double *ns)
{
	struct flow f;
	int ret;

	(void)ctx;
	if ((ret = flow_init(&f, n, 1)) < 0)
		return ret;
	ret = run_two(pinger, ponger, &f);
	flow_free(&f);
	if (ret < 0)
		return ret;
	*ns = (double)(f.t1 - f.t0) / (double)n;
	return 0;
}

/* The reference: the same round trip between two plain threads, each
 * blocking on a condition variable. */
struct mbox {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool full;
	uint64_t v;
};

static void mbox_init(struct mbox *m)
{
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->full = false;
}

static void mbox_destroy(struct mbox *m)
{
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->mu);
}

static void mbox_put(struct mbox *m, uint64_t v)
{
	pthread_mutex_lock(&m->mu);
	while (m->full)
		pthread_cond_wait(&m->cv, &m->mu);
	m->v = v;
	m->full = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
}

static uint64_t mbox_get(struct mbox *m)
{
	uint64_t v;

	pthread_mutex_lock(&m->mu);
	while (!m->full)
		pthread_cond_wait(&m->cv, &m->mu);
	v = m->v;
	m->full = false;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return v;
}

struct cv_pp {
	struct mbox to, from;
	uint64_t n;
};

static void *cv_ponger(void *arg)
{
	struct cv_pp *p = arg;

	pin_self(cfg.cpu[1]);
	for (uint64_t i = 0; i <= p->n; i++)
		mbox_put(&p->from, mbox_get(&p->to) + 1);
	return NULL;
}

static int bench_cv_pingpong(void *ctx, uint64_t n, double *ns)
{
	struct cv_pp p;
	pthread_t th;
	int64_t t0 = 0, t1;
	bool ok = true;
	int ret;

	(void)ctx;
	p.n = n;
	mbox_init(&p.to);
	mbox_init(&p.from);
	if ((ret = pthread_create(&th, NULL, cv_ponger, &p)) != 0)
		return -ret;
	for (uint64_t i = 0; i <= n; i++) {
		if (i == 1)
			t0 = bu_now_ns();
		mbox_put(&p.to, i);
		ok &= mbox_get(&p.from) == i + 1;
	}
	t1 = bu_now_ns();
	pthread_join(th, NULL);
	mbox_destroy(&p.to);
	mbox_destroy(&p.from);
	if (!ok)
		return -EPROTO;
	*ns = (double)(t1 - t0) / (double)n;
	return 0;
}

static void case_pingpong(void)
{
	struct bu_stats st[3];

	measure_pair(bench_pingpong, bench_cv_pingpong, "ping-pong", st);
	bu_row("xthread_pingpong", "coreio", "ns_per_round_trip", &st[0], 0,
	       "ns", NULL, BU_NO_TARGET);
	bu_row("xthread_pingpong", "pthread-condvar", "ns_per_round_trip",
	       &st[1], 0, "ns", NULL, BU_NO_TARGET);
	bu_row("xthread_pingpong", "coreio", "ratio_vs_condvar", &st[2], 0, "x",
	       NULL, BU_NO_TARGET);
}

/* -- 4. streaming between two threads ------------------------------------------ */

/* Handshake on `ack` first, so the clock starts with both sides up; the
 * consumer acknowledges the last element the same way. */
static intptr_t stream_producer(void *arg)
{
	struct flow *f = arg;
	uint64_t x;
	int ret;

	if ((ret = cio_chan_recv(f->ack, &x, CIO_NO_DEADLINE)) < 0)
		return ret;
	f->t0 = bu_now_ns();
	for (uint64_t i = 0; i < f->n; i++)
		if ((ret = cio_chan_send(f->ch, &i, CIO_NO_DEADLINE)) < 0)
			return ret;
	if ((ret = cio_chan_recv(f->ack, &x, CIO_NO_DEADLINE)) < 0)
		return ret;
	f->t1 = bu_now_ns();
	return x == f->n * (f->n - 1) / 2 ? 0 : -EPROTO;
}

static intptr_t stream_consumer(void *arg)
{
	struct flow *f = arg;
	uint64_t x, sum = 0;
	int ret;

	if ((ret = cio_chan_send(f->ack, &sum, CIO_NO_DEADLINE)) < 0)
		return ret;
	for (uint64_t i = 0; i < f->n; i++) {
		if ((ret = cio_chan_recv(f->ch, &x, CIO_NO_DEADLINE)) < 0)
			return ret;
		sum += x;
	}
	return cio_chan_send(f->ack, &sum, CIO_NO_DEADLINE);
}

static int bench_stream(void *ctx, uint64_t n, double *ns)
{
	struct flow f;
	int ret;

	(void)ctx;
	if ((ret = flow_init(&f, n, STREAM_CAP)) < 0)
		return ret;
	ret = run_two(stream_producer, stream_consumer, &f);
	flow_free(&f);
	if (ret < 0)
		return ret;
	*ns = (double)(f.t1 - f.t0) / (double)n;
	return 0;
}

/* The reference: a bounded ring between two plain threads. */
struct cv_ring {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	uint64_t buf[STREAM_CAP];
	size_t head, len;
	uint64_t n, sum;
};

static void *cv_consumer(void *arg)
{
	struct cv_ring *r = arg;
	uint64_t sum = 0;

	pin_self(cfg.cpu[1]);
	for (uint64_t i = 0; i < r->n; i++) {
		pthread_mutex_lock(&r->mu);
		while (!r->len)
			pthread_cond_wait(&r->not_empty, &r->mu);
		sum += r->buf[r->head];
		r->head = (r->head + 1) % STREAM_CAP;
		if (r->len-- == STREAM_CAP)
			pthread_cond_signal(&r->not_full);
		pthread_mutex_unlock(&r->mu);
	}
	r->sum = sum;
	return NULL;
}

static int bench_cv_stream(void *ctx, uint64_t n, double *ns)
{
	struct cv_ring *r = calloc(1, sizeof(*r));
	pthread_t th;
	int64_t t0, t1;
	int ret;

	(void)ctx;
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->not_full, NULL);
	pthread_cond_init(&r->not_empty, NULL);
	r->n = n;
	t0 = bu_now_ns();
	if ((ret = pthread_create(&th, NULL, cv_consumer, r)) != 0) {
		free(r);
		return -ret;
	}
	for (uint64_t i = 0; i < n; i++) {
		pthread_mutex_lock(&r->mu);
		while (r->len == STREAM_CAP)
			pthread_cond_wait(&r->not_full, &r->mu);
		r->buf[(r->head + r->len) % STREAM_CAP] = i;
		if (r->len++ == 0)
			pthread_cond_signal(&r->not_empty);
		pthread_mutex_unlock(&r->mu);
	}
	pthread_join(th, NULL);
	t1 = bu_now_ns();
	ret = r->sum == n * (n - 1) / 2 ? 0 : -EPROTO;
	pthread_cond_destroy(&r->not_full);
	pthread_cond_destroy(&r->not_empty);
	pthread_mutex_destroy(&r->mu);
	free(r);
	if (ret < 0)
		return ret;
	*ns = (double)(t1 - t0) / (double)n;
	return 0;
}

static void case_stream(void)
{
	struct bu_stats st[3];

	measure_pair(bench_stream, bench_cv_stream, "stream", st);
	bu_row("xthread_stream", "coreio", "ns_per_elem", &st[0], 0, "ns",
	       NULL, BU_NO_TARGET);
	bu_row("xthread_stream", "coreio", "melems_per_sec", NULL,
	       1e3 / st[0].median, "M/s", NULL, BU_NO_TARGET);
	bu_row("xthread_stream", "pthread-condvar", "ns_per_elem", &st[1], 0,
	       "ns", NULL, BU_NO_TARGET);
	bu_row("xthread_stream", "pthread-condvar", "melems_per_sec", NULL,
	       1e3 / st[1].median, "M/s", NULL, BU_NO_TARGET);
	bu_row("xthread_stream", "coreio", "ratio_vs_condvar", &st[2], 0, "x",
	       NULL, BU_NO_TARGET);
}

/* -- options and main ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: chan [options]\n"
"Benchmarks of coreio channels: try_send/try_recv, producer and consumer\n"
"on one loop, ping-pong and streaming between two loops on two pinned\n"
"threads (each beside the same exchange between plain threads through a\n"
"mutex and condition variables). Each result is the median of --reps\n"
"repetitions after a warm-up.\n"
"\n"
"  -j, --json         one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick        a few seconds: 3 reps, short repetitions\n"
"  -r, --reps N       repetitions per case, 1..%d (default 7; quick: 3)\n"
"      --rep-ms MS    target duration of one repetition (default 100)\n"
"      --only LIST    comma-separated groups: try, same_loop, pingpong,\n"
"                     stream (default: all)\n"
"      --cpus A,B     pin the main thread to CPU A, the peer to CPU B\n"
"                     (default: the first two CPUs this process may use)\n"
"      --no-pin       do not pin\n"
"  -h, --help         this text\n"
"\n"
"Environment: CIO_BACKEND=uring|epoll|auto picks the loop backend.\n",
		BU_MAX_REPS);
}

static unsigned parse_groups(const char *list)
{
	unsigned mask = 0;
	char *copy = strdup(list), *save = NULL, *tok;

	if (!copy)
		bu_die("strdup", -ENOMEM);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			if (strcmp(tok, groups[i].name) == 0)
				break;
		if (i == sizeof(groups) / sizeof(groups[0]))
			bu_bad_usage("--only: unknown group '%s'", tok);
		mask |= groups[i].bit;
	}
	free(copy);
	if (!mask)
		bu_bad_usage("--only: empty list");
	return mask;
}

static void parse_cpus(const char *s)
{
	char buf[64], *comma;

	snprintf(buf, sizeof(buf), "%s", s);
	if (!(comma = strchr(buf, ',')))
		bu_bad_usage("--cpus: expected A,B, got '%s'", s);
	*comma = '\0';
	cfg.cpu[0] = (int)bu_parse_count("--cpus", buf, 0, CPU_SETSIZE - 1);
	cfg.cpu[1] = (int)bu_parse_count("--cpus", comma + 1, 0,
					 CPU_SETSIZE - 1);
}

/* The first two CPUs of the affinity mask, or none if there is one. */
static void default_cpus(void)
{
	cpu_set_t set;
	int k = 0;

	cfg.cpu[0] = cfg.cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
		if (CPU_ISSET(c, &set))
			cfg.cpu[k++] = c;
	if (k < 2)
		cfg.cpu[0] = cfg.cpu[1] = -1;
}

enum { OPT_REP_MS = 256, OPT_ONLY, OPT_CPUS, OPT_NO_PIN };

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "rep-ms", required_argument, NULL, OPT_REP_MS },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "no-pin", no_argument, NULL, OPT_NO_PIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long reps = -1, rep_ms = -1;
	bool cpus_given = false;
	int c;

	cfg.pin = true;
	cfg.groups = G_ALL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			bu.json = true;
			break;
		case 'q':
			cfg.quick = true;
			break;
		case 'r':
			reps = (long)bu_parse_count("--reps", optarg, 1,
						    BU_MAX_REPS);
			break;
		case OPT_REP_MS:
			rep_ms = (long)bu_parse_count("--rep-ms", optarg, 1,
						      60000);
			break;
		case OPT_ONLY:
			cfg.groups = parse_groups(optarg);
			break;
		case OPT_CPUS:
			parse_cpus(optarg);
			cpus_given = true;
			break;
		case OPT_NO_PIN:
			cfg.pin = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			bu_bad_usage("option '%s' needs a value",
				     argv[optind - 1]);
		default:
			if (optopt)
				bu_bad_usage("unknown option '-%c'", optopt);
			bu_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bu_bad_usage("unexpected argument '%s'", argv[optind]);
	if (!cfg.pin)
		cfg.cpu[0] = cfg.cpu[1] = -1;
	else if (!cpus_given)
		default_cpus();
	bu.reps = reps > 0 ? (unsigned)reps : cfg.quick ? 3 : 7;
	bu.rep_ns = 1e6 * (rep_ms > 0 ? (double)rep_ms : cfg.quick ? 20 : 100);
}

int main(int argc, char **argv)
{
	char text[64];

	bu.prog = "chan";
	parse_args(argc, argv);
	if (cfg.cpu[0] >= 0)
		bu_pin(cfg.cpu[0]);
	BU_CHECK(cio_loop_new(&g_loop, NULL), "cio_loop_new");

	bu_table_header();
	bu_text_row("env", "coreio", "backend", cio_loop_backend_name(g_loop));
	bu_text_row("env", "coreio", "backend_flags",
		    cio_loop_backend_flags(g_loop));
	if (cfg.cpu[0] >= 0)
		snprintf(text, sizeof(text), "main on CPU %d, peer on CPU %d",
			 cfg.cpu[0], cfg.cpu[1]);
	else
		snprintf(text, sizeof(text), "not pinned");
	bu_text_row("env", "coreio", "cpus", text);
	snprintf(text, sizeof(text), "median of %u", bu.reps);
	bu_text_row("env", "coreio", "reps", text);

	if (cfg.groups & G_TRY)
		case_try();
	if (cfg.groups & G_SAME_LOOP)
		case_same_loop();
	if (cfg.groups & G_PINGPONG)
		case_pingpong();
	if (cfg.groups & G_STREAM)
		case_stream();
	cio_loop_free(g_loop);
	bu_row("env", "coreio", "reps_rerun", NULL, (double)bu.reruns, "count",
	       NULL, BU_NO_TARGET);
	return 0;
}
