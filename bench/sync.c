/* bench/sync — the synchronisation primitives of sync/ on one loop.
 *
 * Cases (each a group --only can select):
 *   lock     uncontended acquire + release in one task; and the hand-over
 *            of a lock between two tasks that both want it all the time
 *            (every release hands the lock to the other task, which then
 *            runs), beside a plain cio_yield() ping-pong between two tasks
 *            (the task switch a hand-over cannot avoid); the ratio is
 *            hand-over / switch. A hand-over also costs a loop iteration
 *            each (only one of the two tasks is ever runnable), where the
 *            ping-pong runs both tasks in one.
 *   queue    put_nowait + get_nowait in one task (FIFO, empty queue; and
 *            a priority queue holding --depth items with random
 *            priorities); a producer task and a consumer task through a
 *            bounded FIFO queue (maxsize 64, and maxsize 1, where every
 *            item is a hand-over between the two tasks)
 *   sem      fan-out: waves of 100 tasks, each takes a permit of a
 *            semaphore of 8, yields once, gives it back; beside the same
 *            fan-out without the semaphore, which gives the ratio. A wave
 *            stays within the loop's idle stack cache (256), so the figure
 *            is the tasks' and the semaphore's, not the stack pool's.
 *
 * Method (bench_util.h): CLOCK_MONOTONIC around a loop of n operations, n
 * calibrated so one repetition lasts about --rep-ms, one warm-up
 * repetition thrown away, then the median of --reps repetitions.
 * Comparisons alternate their repetitions, and the ratio is the median of
 * the per-pair ratios. The process is pinned to one CPU (the least busy
 * over 200 ms, or --cpu; --no-pin turns that off): everything here runs on
 * one loop, on one thread.
 */
#include <getopt.h>

#include "bench/bench_util.h"
#include "coreio.h"

enum {
	G_LOCK = 1u << 0,
	G_QUEUE = 1u << 1,
	G_SEM = 1u << 2,
	G_ALL = (1u << 3) - 1,
};

static const struct {
	const char *name;
	unsigned bit;
} groups[] = {
	{ "lock", G_LOCK },
	{ "queue", G_QUEUE },
	{ "sem", G_SEM },
};

static struct config {
	bool quick;
	bool pin;
	int cpu;
	unsigned long depth;
	unsigned groups;
} cfg;

static cio_loop *g_loop;

/* Run fn(arg) as a task of g_loop to its end; its result. */
static intptr_t run_task(cio_task_fn fn, void *arg)
{
	struct cio_task_opts o = { .loop = g_loop };
	cio_task *t;
	intptr_t v;
	int ret;

	if ((ret = cio_spawn(&t, fn, arg, &o)) < 0)
		return ret;
	v = cio_loop_run_until_complete(g_loop, cio_task_future(t));
	cio_task_unref(t);
	return v;
}

/* What a timed task body gets and gives back. */
struct timed {
	uint64_t n;
	int64_t elapsed;
	void *obj;
};

/* Time a task body: it stores its own elapsed time (so spawning is not
 * counted) and the figure is elapsed / (n * per_op). */
static int timed_run(cio_task_fn fn, struct timed *tm, double per_op,
		     double *ns)
{
	intptr_t v = run_task(fn, tm);

	if (v < 0)
		return (int)v;
	*ns = (double)tm->elapsed / ((double)tm->n * per_op);
	return 0;
}

/* -- lock ------------------------------------------------------------------- */

static intptr_t lock_uncontended_task(void *arg)
{
	struct timed *tm = arg;
	cio_lock *l = tm->obj;
	int64_t t0 = bu_now_ns();

	for (uint64_t i = 0; i < tm->n; i++) {
		int ret = cio_lock_acquire(l, CIO_NO_DEADLINE);
		if (ret < 0)
			return ret;
		cio_lock_release(l);
	}
	tm->elapsed = bu_now_ns() - t0;
	return 0;
}

static int bench_lock_uncontended(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n, .obj = ctx };
	return timed_run(lock_uncontended_task, &tm, 1, ns);
}

/* B: take the lock n times, giving it back each time. */
static intptr_t handoff_b(void *arg)
{
	cio_lock *l = arg;
	for (;;) {
		int ret = cio_lock_acquire(l, CIO_NO_DEADLINE);
		if (ret < 0)
			return ret == -ECANCELED ? 0 : ret;
		cio_lock_release(l);
	}
}

/* A: hold the lock, let B queue behind it, then release and re-acquire n
 * times: each release hands the lock to B, whose release hands it back.
 * 2n hand-overs. */
static intptr_t handoff_a(void *arg)
{
	struct timed *tm = arg;
	cio_lock *l = tm->obj;
	struct cio_task_opts o = { .loop = g_loop };
	cio_task *b;
	int64_t t0;
	int ret;

	if ((ret = cio_lock_acquire(l, CIO_NO_DEADLINE)) < 0)
		return ret;
	if ((ret = cio_spawn(&b, handoff_b, l, &o)) < 0)
		return ret;
	cio_yield(); /* b parks in acquire */
	t0 = bu_now_ns();
	for (uint64_t i = 0; i < tm->n; i++) {
		cio_lock_release(l);
		if ((ret = cio_lock_acquire(l, CIO_NO_DEADLINE)) < 0)
			break;
	}
	tm->elapsed = bu_now_ns() - t0;
	cio_task_cancel(b);
	cio_lock_release(l);
	cio_await_task(b);
	cio_task_unref(b);
	return ret;
}

static int bench_lock_handoff(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n, .obj = ctx };
	return timed_run(handoff_a, &tm, 2, ns);
}

static intptr_t yielder(void *arg)
{
	uint64_t n = *(const uint64_t *)arg;
	for (uint64_t i = 0; i < n; i++) {
		int ret = cio_yield();
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The floor of a hand-over: one task switch per yield, two tasks. */
static intptr_t switch_task(void *arg)
{
	struct timed *tm = arg;
	struct cio_task_opts o = { .loop = g_loop };
	cio_task *b;
	int64_t t0;
	int ret;

	if ((ret = cio_spawn(&b, yielder, &tm->n, &o)) < 0)
		return ret;
	t0 = bu_now_ns();
	ret = yielder(&tm->n);
	cio_await_task(b);
	tm->elapsed = bu_now_ns() - t0;
	cio_task_unref(b);
	return ret;
}

static int bench_switch(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n };
	(void)ctx;
	return timed_run(switch_task, &tm, 2, ns);
}

/* Two cases measured in alternation: medians of each and of the per-pair
 * ratio a / b. */
static void compare(bu_fn a, void *actx, const char *aname, bu_fn b,
		    void *bctx, const char *bname, struct bu_stats *sa,
		    struct bu_stats *sb, struct bu_stats *ratio)
{
	double va[BU_MAX_REPS], vb[BU_MAX_REPS], r[BU_MAX_REPS];
	uint64_t na = bu_calibrate(a, actx, aname);
	uint64_t nb = bu_calibrate(b, bctx, bname);

	BU_CHECK(a(actx, na, &va[0]), aname);
	BU_CHECK(b(bctx, nb, &vb[0]), bname);
	for (unsigned i = 0; i < bu.reps; i++) {
		bu_run_rep(a, actx, na, &va[i], aname);
		bu_run_rep(b, bctx, nb, &vb[i], bname);
		r[i] = va[i] / vb[i];
	}
	*sa = bu_summarize(va, bu.reps);
	*sb = bu_summarize(vb, bu.reps);
	*ratio = bu_summarize(r, bu.reps);
}

static void case_lock(void)
{
	struct bu_stats st, sw, ratio;
	cio_lock *l;

	BU_CHECK(cio_lock_new(&l), "cio_lock_new");
	st = bu_measure(bench_lock_uncontended, l, "lock uncontended");
	bu_row("lock_uncontended", "coreio", "ns_per_acquire_release", &st, 0,
	       "ns", NULL, BU_NO_TARGET);
	compare(bench_lock_handoff, l, "lock hand-over", bench_switch, NULL,
		"yield switch", &st, &sw, &ratio);
	bu_row("lock_handoff", "coreio", "ns_per_handoff", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	bu_row("lock_handoff", "coreio-yield", "ns_per_switch", &sw, 0, "ns",
	       NULL, BU_NO_TARGET);
	bu_row("lock_handoff", "coreio", "ratio_vs_yield_switch", &ratio, 0,
	       "x", NULL, BU_NO_TARGET);
	BU_CHECK(cio_lock_free(l), "cio_lock_free");
}

/* -- queue ------------------------------------------------------------------ */

static intptr_t nowait_task(void *arg)
{
	struct timed *tm = arg;
	cio_queue *q = tm->obj;
	int64_t t0 = bu_now_ns();
	void *item;

	for (uint64_t i = 0; i < tm->n; i++) {
		int ret = cio_queue_put_nowait(q, (void *)(uintptr_t)i);
		if (ret < 0 || (ret = cio_queue_get_nowait(q, &item)) < 0)
			return ret;
	}
	tm->elapsed = bu_now_ns() - t0;
	return 0;
}

static int bench_nowait(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n, .obj = ctx };
	return timed_run(nowait_task, &tm, 1, ns);
}

static intptr_t prio_task(void *arg)
{
	struct timed *tm = arg;
	cio_queue *q = tm->obj;
	int64_t t0 = bu_now_ns();
	void *item;

	for (uint64_t i = 0; i < tm->n; i++) {
		int64_t prio = (int64_t)(bu_rng() % 1024);
		int ret = cio_queue_put_prio_nowait(q, NULL, prio);
		if (ret < 0 || (ret = cio_queue_get_nowait(q, &item)) < 0)
			return ret;
	}
	tm->elapsed = bu_now_ns() - t0;
	return 0;
}

static int bench_prio(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n, .obj = ctx };
	return timed_run(prio_task, &tm, 1, ns);
}

struct pc {
	cio_queue *q;
	uint64_t n;
};

static intptr_t consumer(void *arg)
{
	struct pc *pc = arg;
	void *item;

	for (uint64_t i = 0; i < pc->n; i++) {
		int ret = cio_queue_get(pc->q, &item, CIO_NO_DEADLINE);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The producer; times until the consumer has the last item. */
static intptr_t producer(void *arg)
{
	struct timed *tm = arg;
	struct pc pc = { .q = tm->obj, .n = tm->n };
	struct cio_task_opts o = { .loop = g_loop };
	cio_task *c;
	int64_t t0;
	intptr_t v;
	int ret;

	if ((ret = cio_spawn(&c, consumer, &pc, &o)) < 0)
		return ret;
	t0 = bu_now_ns();
	for (uint64_t i = 0; i < tm->n; i++) {
		ret = cio_queue_put(pc.q, (void *)(uintptr_t)i,
				    CIO_NO_DEADLINE);
		if (ret < 0)
			break;
	}
	v = cio_await_task(c);
	tm->elapsed = bu_now_ns() - t0;
	cio_task_unref(c);
	return ret < 0 ? ret : v;
}

static int bench_pc(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n, .obj = ctx };
	return timed_run(producer, &tm, 1, ns);
}

static void case_queue(void)
{
	struct cio_queue_opts o = { .kind = CIO_QUEUE_FIFO };
	struct bu_stats st;
	cio_queue *q;
	char sys[32];

	BU_CHECK(cio_queue_new(&q, &o), "cio_queue_new");
	st = bu_measure(bench_nowait, q, "queue nowait");
	bu_row("queue_nowait", "coreio-fifo", "ns_per_put_get", &st, 0, "ns",
	       NULL, BU_NO_TARGET);
	BU_CHECK(cio_queue_free(q), "cio_queue_free");

	o.kind = CIO_QUEUE_PRIORITY;
	BU_CHECK(cio_queue_new(&q, &o), "cio_queue_new");
	for (unsigned long i = 0; i < cfg.depth; i++)
		BU_CHECK(cio_queue_put_prio_nowait(q, NULL,
						   (int64_t)(bu_rng() % 1024)),
			 "put_prio_nowait");
	st = bu_measure(bench_prio, q, "priority queue nowait");
	snprintf(sys, sizeof(sys), "coreio-prio-%lu", cfg.depth);
	bu_row("queue_nowait", sys, "ns_per_put_get", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	BU_CHECK(cio_queue_free(q), "cio_queue_free");

	o.kind = CIO_QUEUE_FIFO;
	o.maxsize = 64;
	BU_CHECK(cio_queue_new(&q, &o), "cio_queue_new");
	st = bu_measure(bench_pc, q, "producer/consumer 64");
	bu_row("queue_tasks", "coreio-max64", "ns_per_item", &st, 0, "ns",
	       NULL, BU_NO_TARGET);
	BU_CHECK(cio_queue_free(q), "cio_queue_free");

	o.maxsize = 1;
	BU_CHECK(cio_queue_new(&q, &o), "cio_queue_new");
	st = bu_measure(bench_pc, q, "producer/consumer 1");
	bu_row("queue_tasks", "coreio-max1", "ns_per_item", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	BU_CHECK(cio_queue_free(q), "cio_queue_free");
}

/* -- semaphore fan-out ------------------------------------------------------ */

#define FAN_WAVE 100
#define FAN_LIMIT 8

static intptr_t fan_worker(void *arg)
{
	cio_sem *s = arg;
	int ret;

	if (s && (ret = cio_sem_acquire(s, CIO_NO_DEADLINE)) < 0)
		return ret;
	ret = cio_yield();
	if (s)
		cio_sem_release(s);
	return ret;
}

/* Waves of FAN_WAVE tasks, each awaited before the next; ctx is the
 * semaphore, or NULL for the bare fan-out. */
static intptr_t fan_task(void *arg)
{
	static cio_task *t[FAN_WAVE];
	struct timed *tm = arg;
	struct cio_task_opts o = { .loop = g_loop };
	int64_t t0 = bu_now_ns();
	uint64_t done = 0;

	while (done < tm->n) {
		unsigned wave = tm->n - done < FAN_WAVE ? (unsigned)(tm->n - done)
							: FAN_WAVE;
		intptr_t bad = 0;
		for (unsigned i = 0; i < wave; i++) {
			int ret = cio_spawn(&t[i], fan_worker, tm->obj, &o);
			if (ret < 0)
				return ret;
		}
		for (unsigned i = 0; i < wave; i++) {
			intptr_t v = cio_await_task(t[i]);
			if (v < 0)
				bad = v;
			cio_task_unref(t[i]);
		}
		if (bad < 0)
			return bad;
		done += wave;
	}
	tm->elapsed = bu_now_ns() - t0;
	return 0;
}

static int bench_fan(void *ctx, uint64_t n, double *ns)
{
	struct timed tm = { .n = n, .obj = ctx };
	return timed_run(fan_task, &tm, 1, ns);
}

static void case_sem(void)
{
	struct bu_stats with, bare, ratio;
	char sys[32];
	cio_sem *s;

	BU_CHECK(cio_sem_new(&s, FAN_LIMIT, true), "cio_sem_new");
	compare(bench_fan, s, "sem fan-out", bench_fan, NULL, "bare fan-out",
		&with, &bare, &ratio);
	snprintf(sys, sizeof(sys), "coreio-sem%d", FAN_LIMIT);
	bu_row("sem_fanout", sys, "ns_per_task", &with, 0, "ns", NULL,
	       BU_NO_TARGET);
	bu_row("sem_fanout", "coreio-bare", "ns_per_task", &bare, 0, "ns",
	       NULL, BU_NO_TARGET);
	bu_row("sem_fanout", sys, "ratio_vs_bare", &ratio, 0, "x", NULL,
	       BU_NO_TARGET);
	BU_CHECK(cio_sem_free(s), "cio_sem_free");
}

/* -- options and main ------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: sync [options]\n"
"Benchmarks of coreio's locks, queues and semaphores on one loop. Each\n"
"result is the median of --reps repetitions after a warm-up.\n"
"\n"
"  -j, --json         one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick        3 reps of 20 ms\n"
"  -r, --reps N       repetitions per case, 1..%d (default 7; quick: 3)\n"
"      --rep-ms MS    target duration of one repetition (default 100)\n"
"      --depth N      items held in the priority queue case (default 1024)\n"
"      --only LIST    comma-separated groups: lock, queue, sem (default:\n"
"                     all)\n"
"      --cpu N        pin to CPU N (default: the least busy CPU over\n"
"                     200 ms at start)\n"
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

enum { OPT_REP_MS = 256, OPT_DEPTH, OPT_ONLY, OPT_CPU, OPT_NO_PIN };

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "rep-ms", required_argument, NULL, OPT_REP_MS },
		{ "depth", required_argument, NULL, OPT_DEPTH },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "no-pin", no_argument, NULL, OPT_NO_PIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long reps = -1, rep_ms = -1;
	int c;

	cfg.pin = true;
	cfg.cpu = -1;
	cfg.depth = 1024;
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
		case OPT_DEPTH:
			cfg.depth = bu_parse_count("--depth", optarg, 0,
						   100000000);
			break;
		case OPT_ONLY:
			cfg.groups = parse_groups(optarg);
			break;
		case OPT_CPU:
			cfg.cpu = (int)bu_parse_count("--cpu", optarg, 0,
						      CPU_SETSIZE - 1);
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
	bu.reps = reps > 0 ? (unsigned)reps : cfg.quick ? 3 : 7;
	bu.rep_ns = 1e6 * (rep_ms > 0 ? (double)rep_ms : cfg.quick ? 20 : 100);
}

int main(int argc, char **argv)
{
	char text[64];
	int cpu;

	bu.prog = "sync";
	parse_args(argc, argv);
	cpu = cfg.pin ? bu_pin(cfg.cpu) : -1;
	BU_CHECK(cio_loop_new(&g_loop, NULL), "cio_loop_new");

	bu_table_header();
	bu_text_row("env", "coreio", "backend", cio_loop_backend_name(g_loop));
	if (cpu >= 0)
		snprintf(text, sizeof(text), "pinned to CPU %d", cpu);
	else
		snprintf(text, sizeof(text), "not pinned");
	bu_text_row("env", "coreio", "cpu", text);
	snprintf(text, sizeof(text), "median of %u", bu.reps);
	bu_text_row("env", "coreio", "reps", text);

	if (cfg.groups & G_LOCK)
		case_lock();
	if (cfg.groups & G_QUEUE)
		case_queue();
	if (cfg.groups & G_SEM)
		case_sem();
	cio_loop_free(g_loop);
	bu_row("env", "coreio", "reps_rerun", NULL, (double)bu.reruns, "count",
	       NULL, BU_NO_TARGET);
	return 0;
}
