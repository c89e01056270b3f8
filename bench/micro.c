/* bench/micro — micro-benchmarks of the coreio runtime core.
 *
 * Cases (each is a group --only can select):
 *   switch       raw context switch: two contexts ping-pong through
 *                cio__coro_switch(), and glibc swapcontext() measured the
 *                same way, on a stack from the same pool, in the same run
 *   task_switch  cio_yield() ping-pong between two tasks on one loop
 *   spawn        a task spawns an empty child and awaits it, in a loop
 *   call_soon    a callback re-schedules itself with cio_call_soon(); also
 *                64 such chains at once, which spreads the per-iteration
 *                cost of the loop over 64 callbacks
 *   timers       cio_call_later() with many timers armed, then
 *                cio_handle_cancel() in random order; the same on a bare
 *                cio__timer_heap
 *   tasks        N tasks (default a million) parked in cio_sleep():
 *                resident memory per task (VmRSS before and after, over
 *                N), page tables, mappings, and the time to spawn, start
 *                and tear down each task
 *
 * Method (bench_util.h has the details): CLOCK_MONOTONIC around a loop of
 * n operations, n calibrated so one repetition lasts about --rep-ms, one
 * warm-up repetition thrown away, then the median of --reps repetitions;
 * a repetition that shared its CPU with a neighbour is run again, and
 * how many were is reported as env/reps_rerun. The timer cases use a
 * fixed count (--timers) instead of calibrating, with the same warm-up.
 * The sleeping-task case runs each repetition on a fresh loop and has no
 * warm-up: first-touch page faults are part of what it measures.
 * Comparisons (coreio against swapcontext) alternate their repetitions,
 * so both see the same conditions, and the ratio is the median of the
 * per-pair ratios.
 *
 * The process is pinned to one CPU (the least busy one over 200 ms at
 * start, or --cpu) so the scheduler does not migrate it between
 * repetitions; --no-pin turns that off. Everything here is
 * single-threaded, so one CPU is all it uses.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "runtime/coro.h"
#include "runtime/loop.h"
#include "runtime/stack.h"
#include "runtime/task.h"
#include "runtime/timer_heap.h"

enum {
	G_SWITCH = 1u << 0,
	G_TASK_SWITCH = 1u << 1,
	G_SPAWN = 1u << 2,
	G_CALL_SOON = 1u << 3,
	G_TIMERS = 1u << 4,
	G_TASKS = 1u << 5,
	G_ALL = (1u << 6) - 1,
};

static const struct {
	const char *name;
	unsigned bit;
} groups[] = {
	{ "switch", G_SWITCH },
	{ "task_switch", G_TASK_SWITCH },
	{ "spawn", G_SPAWN },
	{ "call_soon", G_CALL_SOON },
	{ "timers", G_TIMERS },
	{ "tasks", G_TASKS },
};

/* What the options set besides `bu` (--json, --reps, --rep-ms). */
static struct config {
	bool quick;
	bool pin;
	int cpu;	    /* -1: the idlest CPU */
	unsigned task_reps; /* repetitions of the N-task case */
	unsigned long tasks;
	unsigned long timers;
	unsigned groups;
} cfg;

static cio_loop *g_loop; /* shared by the loop-level cases */

/* -- 1. context switch: cio__coro_switch vs swapcontext ------------------- */

/* The coroutine side of the ping-pong: switch back to main until told to
 * stop. One round trip (main -> co -> main) is two switches. */
struct pingpong {
	struct cio__coro main, co;
	bool stop;
};

static void pingpong_entry(void *arg)
{
	struct pingpong *p = arg;
	while (!p->stop)
		cio__coro_switch(&p->co, &p->main);
	cio__coro_exit(&p->co, &p->main);
}

static int bench_coro_switch(void *ctx, uint64_t n, double *ns)
{
	struct cio__stack_pool *pool = ctx;
	struct cio__stack *s;
	struct pingpong p;
	int64_t t0, t1;
	int ret;

	if ((ret = cio__stack_get(pool, 0, &s)) < 0)
		return ret;
	cio__coro_init_self(&p.main);
	p.stop = false;
	cio__coro_make(&p.co, &p.main, s->lo, s->size, pingpong_entry, &p);
	cio__coro_switch(&p.main, &p.co); /* boot it, outside the timing */
	t0 = bu_now_ns();
	for (uint64_t i = 0; i < n; i++)
		cio__coro_switch(&p.main, &p.co);
	t1 = bu_now_ns();
	p.stop = true;
	cio__coro_switch(&p.main, &p.co);
	cio__coro_release(&p.co);
	cio__stack_put(pool, s);
	*ns = (double)(t1 - t0) / (2.0 * (double)n);
	return 0;
}

/* The reference: the same ping-pong with swapcontext(), which also saves
 * and restores the signal mask (a system call each way) and the FPU
 * environment; that is the price coreio's switch avoids. makecontext()
 * passes only ints, so this side keeps its state in statics; the benchmark
 * is single-threaded. */
static ucontext_t uc_main, uc_co;
static bool uc_stop;

static void uc_entry(void)
{
	while (!uc_stop)
		swapcontext(&uc_co, &uc_main);
	/* Returning resumes uc_link, i.e. main. */
}

static int bench_swapcontext(void *ctx, uint64_t n, double *ns)
{
	struct cio__stack_pool *pool = ctx;
	struct cio__stack *s;
	int64_t t0, t1;
	int ret;

	if ((ret = cio__stack_get(pool, 0, &s)) < 0)
		return ret;
	if (getcontext(&uc_co) < 0) {
		cio__stack_put(pool, s);
		return -EINVAL;
	}
	uc_co.uc_stack.ss_sp = s->lo;
	uc_co.uc_stack.ss_size = s->size;
	uc_co.uc_link = &uc_main;
	makecontext(&uc_co, uc_entry, 0);
	uc_stop = false;
	swapcontext(&uc_main, &uc_co);
	t0 = bu_now_ns();
	for (uint64_t i = 0; i < n; i++)
		swapcontext(&uc_main, &uc_co);
	t1 = bu_now_ns();
	uc_stop = true;
	swapcontext(&uc_main, &uc_co);
	cio__stack_put(pool, s);
	*ns = (double)(t1 - t0) / (2.0 * (double)n);
	return 0;
}

static void case_switch(void)
{
	struct cio__stack_pool pool;
	double ours[BU_MAX_REPS], theirs[BU_MAX_REPS], ratio[BU_MAX_REPS];
	uint64_t n_ours, n_theirs;
	struct bu_stats st;

	BU_CHECK(cio__stack_pool_init(&pool, 0, 0), "cio__stack_pool_init");
	n_ours = bu_calibrate(bench_coro_switch, &pool, "cio__coro_switch");
	n_theirs = bu_calibrate(bench_swapcontext, &pool, "swapcontext");
	/* Warm-up at full size, results dropped. */
	BU_CHECK(bench_coro_switch(&pool, n_ours, &ours[0]),
		 "cio__coro_switch");
	BU_CHECK(bench_swapcontext(&pool, n_theirs, &theirs[0]), "swapcontext");
	/* Alternate the two so a noisy moment hits both sides of a pair. */
	for (unsigned r = 0; r < bu.reps; r++) {
		bu_run_rep(bench_coro_switch, &pool, n_ours, &ours[r],
			   "cio__coro_switch");
		bu_run_rep(bench_swapcontext, &pool, n_theirs, &theirs[r],
			   "swapcontext");
		ratio[r] = theirs[r] / ours[r];
	}
	cio__stack_pool_destroy(&pool);

	st = bu_summarize(ours, bu.reps);
	bu_row("context_switch", "coreio", "ns_per_switch", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	st = bu_summarize(theirs, bu.reps);
	bu_row("context_switch", "glibc-swapcontext", "ns_per_switch", &st, 0,
	       "ns", NULL, BU_NO_TARGET);
	/* How many times faster than swapcontext; the issue asks >= 20. */
	st = bu_summarize(ratio, bu.reps);
	bu_row("context_switch", "coreio", "ratio_vs_swapcontext", &st, 0, "x",
	       ">= 20", st.median >= 20 ? BU_PASS : BU_MISS);
}

/* -- 2. task switch: cio_yield between two tasks -------------------------- */

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

/* Two tasks yield n times each; the loop alternates them, so every yield
 * is one switch from a task to the other (through the scheduler). The
 * two spawns and exits are amortised over 2n yields. */
static int bench_task_switch(void *ctx, uint64_t n, double *ns)
{
	struct cio_task_opts o = { .loop = g_loop };
	cio_task *a, *b;
	int64_t t0, t1;
	intptr_t va, vb;
	int ret;

	(void)ctx;
	if ((ret = cio_spawn(&a, yielder, &n, &o)) < 0)
		return ret;
	if ((ret = cio_spawn(&b, yielder, &n, &o)) < 0) {
		cio_task_unref(a);
		return ret;
	}
	t0 = bu_now_ns();
	vb = cio_loop_run_until_complete(g_loop, cio_task_future(b));
	t1 = bu_now_ns();
	va = cio_task_done(a) ? 0 : -EPROTO; /* a yields first, ends first */
	if (va == 0)
		cio_task_result(a, &va);
	cio_task_unref(a);
	cio_task_unref(b);
	if (vb < 0 || va < 0)
		return (int)(vb < 0 ? vb : va);
	*ns = (double)(t1 - t0) / (2.0 * (double)n);
	return 0;
}

static void case_task_switch(void)
{
	struct bu_stats st = bu_measure(bench_task_switch, NULL, "task switch");
	bu_row("task_switch", "coreio", "ns_per_switch", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
}

/* -- 3. spawn + run + await an empty task --------------------------------- */

struct spawn_ctx {
	uint64_t n;
	int64_t elapsed;
};

static intptr_t empty_task(void *arg)
{
	(void)arg;
	return 0;
}

/* Timed inside the parent, so the parent's own spawn and the loop start
 * are not counted. The child's stack comes from the pool's hot list after
 * the first iteration, as it would in a steady server. */
static intptr_t spawner(void *arg)
{
	struct spawn_ctx *c = arg;
	int64_t t0 = bu_now_ns();

	for (uint64_t i = 0; i < c->n; i++) {
		cio_task *t;
		intptr_t v;
		int ret = cio_spawn(&t, empty_task, NULL, NULL);
		if (ret < 0)
			return ret;
		v = cio_await_task(t);
		cio_task_unref(t);
		if (v != 0)
			return v < 0 ? v : -EPROTO;
	}
	c->elapsed = bu_now_ns() - t0;
	return 0;
}

static int bench_spawn(void *ctx, uint64_t n, double *ns)
{
	struct cio_task_opts o = { .loop = g_loop };
	struct spawn_ctx c = { .n = n };
	cio_task *t;
	intptr_t v;
	int ret;

	(void)ctx;
	if ((ret = cio_spawn(&t, spawner, &c, &o)) < 0)
		return ret;
	v = cio_loop_run_until_complete(g_loop, cio_task_future(t));
	cio_task_unref(t);
	if (v < 0)
		return (int)v;
	*ns = (double)c.elapsed / (double)n;
	return 0;
}

static void case_spawn(void)
{
	struct bu_stats st = bu_measure(bench_spawn, NULL, "spawn + await");
	bu_row("spawn_await", "coreio", "ns_per_task", &st, 0, "ns", "< 100",
	       st.median < 100 ? BU_PASS : BU_MISS);
}

/* -- 4. call_soon round trip ---------------------------------------------- */

struct soon_shared {
	cio_loop *loop;
	unsigned live; /* chains still running */
	int err;
};

struct soon_chain {
	struct soon_shared *sh;
	uint64_t left;
};

/* Each callback schedules the next one of its chain: one loop iteration
 * per callback with one chain, 64 callbacks per iteration with 64. */
static void soon_cb(void *arg)
{
	struct soon_chain *c = arg;
	int ret;

	if (--c->left == 0) {
		if (--c->sh->live == 0)
			cio_loop_stop(c->sh->loop);
		return;
	}
	ret = cio_call_soon(c->sh->loop, soon_cb, c, NULL);
	if (ret < 0) {
		c->sh->err = ret;
		cio_loop_stop(c->sh->loop);
	}
}

static int bench_soon(void *ctx, uint64_t n, double *ns)
{
	unsigned chains = *(const unsigned *)ctx;
	struct soon_chain c[64];
	struct soon_shared sh = { .loop = g_loop, .live = chains };
	uint64_t per = n / chains ? n / chains : 1;
	int64_t t0, t1;
	int ret;

	t0 = bu_now_ns();
	for (unsigned i = 0; i < chains; i++) {
		c[i].sh = &sh;
		c[i].left = per;
		if ((ret = cio_call_soon(g_loop, soon_cb, &c[i], NULL)) < 0)
			return ret;
	}
	ret = cio_loop_run_forever(g_loop);
	t1 = bu_now_ns();
	if (ret < 0)
		return ret;
	if (sh.err < 0)
		return sh.err;
	if (sh.live != 0)
		return -EPROTO;
	*ns = (double)(t1 - t0) / (double)(per * chains);
	return 0;
}

static void case_call_soon(void)
{
	unsigned one = 1, many = 64;
	struct bu_stats st = bu_measure(bench_soon, &one, "call_soon");
	bu_row("call_soon", "coreio", "ns_per_callback", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
	st = bu_measure(bench_soon, &many, "call_soon x64");
	bu_row("call_soon_x64", "coreio", "ns_per_callback", &st, 0, "ns", NULL,
	       BU_NO_TARGET);
}

/* -- 5. timers: call_later + cancel, and the bare heap -------------------- */

static void never_cb(void *arg)
{
	(void)arg;
	fprintf(stderr, "%s: a benchmark timer fired\n", bu.prog);
	exit(1);
}

struct timer_ctx {
	size_t m;
	const int64_t *delay; /* random, in [1 h, 2 h) */
	const uint32_t *perm; /* cancel order */
	cio_handle **h;
	struct cio__timer *tm;
	struct cio__timer_heap heap;
	int64_t base;
};

/* Bulk insert then bulk cancel, so that while cancelling up to `m` timers
 * are pending: that is where a heap pays (log of the size, cache misses).
 * Deadlines are random in [1 h, 2 h) so none fires and insertion order is
 * not heap order. Cancelling includes releasing the handle: call_later
 * handed it out, so the pair is not complete without it.
 * ns[0..2]: per insert, per cancel, per pair. */
static int bench_call_later(void *arg, uint64_t n, double *ns)
{
	struct timer_ctx *c = arg;
	int64_t t0, t1, t2;
	int ret;

	(void)n;
	t0 = bu_now_ns();
	for (size_t i = 0; i < c->m; i++) {
		ret = cio_call_later(g_loop, c->delay[i], never_cb, NULL,
				     &c->h[i]);
		if (ret < 0)
			return ret;
	}
	t1 = bu_now_ns();
	for (size_t i = 0; i < c->m; i++) {
		cio_handle *x = c->h[c->perm[i]];
		if (cio_handle_cancel(x) != 1)
			return -EPROTO;
		cio_handle_unref(x);
	}
	t2 = bu_now_ns();
	ns[0] = (double)(t1 - t0) / (double)c->m;
	ns[1] = (double)(t2 - t1) / (double)c->m;
	ns[2] = (double)(t2 - t0) / (double)c->m;
	return 0;
}

/* The same pattern on a standalone heap: what the data structure costs
 * without handles, allocation or the clock read. */
static int bench_heap(void *arg, uint64_t n, double *ns)
{
	struct timer_ctx *c = arg;
	int64_t t0, t1, t2;
	int ret;

	(void)n;
	t0 = bu_now_ns();
	for (size_t i = 0; i < c->m; i++)
		if ((ret = cio__timer_add(&c->heap, &c->tm[i],
					  c->base + c->delay[i])) < 0)
			return ret;
	t1 = bu_now_ns();
	for (size_t i = 0; i < c->m; i++)
		cio__timer_del(&c->heap, &c->tm[c->perm[i]]);
	t2 = bu_now_ns();
	if (c->heap.n != 0)
		return -EPROTO;
	ns[0] = (double)(t1 - t0) / (double)c->m;
	ns[1] = (double)(t2 - t1) / (double)c->m;
	ns[2] = (double)(t2 - t0) / (double)c->m;
	return 0;
}

/* Warm-up (which grows the heap array and fills the allocator, as in a
 * long-running program), then bu.reps kept repetitions of three figures. */
static void measure3(bu_fn fn, struct timer_ctx *c, const char *what,
		     struct bu_stats st[3])
{
	double v[3][BU_MAX_REPS], one[3];

	BU_CHECK(fn(c, 0, one), what);
	for (unsigned r = 0; r < bu.reps; r++) {
		bu_run_rep(fn, c, 0, one, what);
		for (int k = 0; k < 3; k++)
			v[k][r] = one[k];
	}
	for (int k = 0; k < 3; k++)
		st[k] = bu_summarize(v[k], bu.reps);
}

static void case_timers(void)
{
	struct timer_ctx c = { .m = cfg.timers };
	int64_t *delay = bu_xmalloc(c.m * sizeof(*delay));
	uint32_t *perm = bu_random_perm(c.m);
	struct bu_stats st[3];

	for (size_t i = 0; i < c.m; i++)
		delay[i] = 3600 * CIO_NSEC_PER_SEC +
			   (int64_t)(bu_rng() % (3600 * CIO_NSEC_PER_SEC));
	c.delay = delay;
	c.perm = perm;
	c.h = bu_xmalloc(c.m * sizeof(*c.h));
	c.tm = bu_xmalloc(c.m * sizeof(*c.tm));
	for (size_t i = 0; i < c.m; i++)
		cio__timer_init(&c.tm[i], NULL);
	cio__timer_heap_init(&c.heap);
	c.base = bu_now_ns();

	measure3(bench_call_later, &c, "cio_call_later/cancel", st);
	bu_row("call_later", "coreio", "ns_per_insert", &st[0], 0, "ns", NULL,
	       BU_NO_TARGET);
	bu_row("call_later", "coreio", "ns_per_cancel", &st[1], 0, "ns", NULL,
	       BU_NO_TARGET);
	bu_row("call_later", "coreio", "ns_per_insert_cancel", &st[2], 0, "ns",
	       NULL, BU_NO_TARGET);
	bu_row("call_later", "coreio", "timers_pending", NULL, (double)c.m,
	       "count", NULL, BU_NO_TARGET);

	measure3(bench_heap, &c, "cio__timer_add/del", st);
	bu_row("timer_heap", "coreio", "ns_per_add", &st[0], 0, "ns", NULL,
	       BU_NO_TARGET);
	bu_row("timer_heap", "coreio", "ns_per_del", &st[1], 0, "ns", NULL,
	       BU_NO_TARGET);
	bu_row("timer_heap", "coreio", "ns_per_add_del", &st[2], 0, "ns", NULL,
	       BU_NO_TARGET);

	cio__timer_heap_destroy(&c.heap);
	free(c.tm);
	free(c.h);
	free(perm);
	free(delay);
}

/* -- 6. many sleeping tasks: memory per parked task ----------------------- */

/* A field of /proc/self/status in bytes ("VmRSS", "VmPTE"), or -1. */
static long long proc_status_bytes(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long long kb = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			kb = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Lines of /proc/self/maps: the VMAs counted against vm.max_map_count. */
static long count_maps(void)
{
	char buf[65536];
	long lines = 0;
	ssize_t got;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

/* Hand freed memory back to the kernel, so that RSS measured next counts
 * what is live and not what an earlier case left in the allocator's
 * caches. jemalloc: purge every arena (4096 is MALLCTL_ARENAS_ALL). */
typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

static mallctl_fn find_mallctl(void)
{
	return (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
}

static void allocator_purge(void)
{
	mallctl_fn mallctl = find_mallctl();
	if (mallctl) {
		mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
		mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
	} else {
		malloc_trim(0);
	}
}

struct park_ctx {
	cio_loop *loop;
	unsigned long n, parked, woken;
	int err;
};

/* Park in a sleep that never ends by itself; the last task to park stops
 * the loop, so run_forever returns with every task parked. */
static intptr_t sleeper(void *arg)
{
	struct park_ctx *p = arg;
	int ret;

	if (++p->parked == p->n)
		cio_loop_stop(p->loop);
	ret = cio_sleep(3600 * CIO_NSEC_PER_SEC);
	if (ret != -ECANCELED && p->err == 0)
		p->err = ret < 0 ? ret : -EPROTO;
	if (++p->woken == p->n)
		cio_loop_stop(p->loop);
	return 0;
}

struct park_result {
	double rss, pte, spawn, park, teardown;
	long maps;
};

/* One repetition on a fresh loop, closed at the end, so its stack slabs
 * are unmapped and the next repetition starts from the same state. RSS is
 * read after the loop and the task array exist, and after the allocator
 * was purged: the difference is what the parked tasks cost (task object,
 * touched stack pages, timer-heap slot, allocator overhead). */
static void park_once(cio_task **tasks, struct park_result *res)
{
	struct park_ctx p = { .n = cfg.tasks };
	struct cio_task_opts o;
	long long rss0, rss1, pte0, pte1;
	int64_t t0, t1, t2, t3;
	char what[64];

	BU_CHECK(cio_loop_new(&p.loop, NULL), "cio_loop_new");
	o = (struct cio_task_opts){ .loop = p.loop };
	allocator_purge();
	rss0 = proc_status_bytes("VmRSS");
	pte0 = proc_status_bytes("VmPTE");
	t0 = bu_now_ns();
	for (unsigned long i = 0; i < p.n; i++) {
		int ret = cio_spawn(&tasks[i], sleeper, &p, &o);
		if (ret < 0) {
			snprintf(what, sizeof(what),
				 "cio_spawn (task %lu of %lu)", i + 1, p.n);
			bu_die(what, ret);
		}
	}
	t1 = bu_now_ns();
	BU_CHECK(cio_loop_run_forever(p.loop), "cio_loop_run_forever");
	t2 = bu_now_ns();
	if (p.err < 0)
		bu_die("cio_sleep", p.err);
	if (p.parked != p.n)
		bu_die("parking the tasks", -EPROTO);
	rss1 = proc_status_bytes("VmRSS");
	pte1 = proc_status_bytes("VmPTE");
	res->maps = count_maps();
	if (rss0 < 0 || rss1 < 0)
		bu_die("reading /proc/self/status", -EIO);
	res->rss = (double)(rss1 - rss0) / (double)p.n;
	res->pte =
		pte0 < 0 || pte1 < 0 ? 0 : (double)(pte1 - pte0) / (double)p.n;
	res->spawn = (double)(t1 - t0) / (double)p.n;
	res->park = (double)(t2 - t1) / (double)p.n;

	/* Tear down the way a program should: cancel, let every task see
	 * -ECANCELED and return, then release. Timed too: it is where each
	 * stack goes back to the pool. */
	t2 = bu_now_ns();
	for (unsigned long i = 0; i < p.n; i++)
		cio_task_cancel(tasks[i]);
	BU_CHECK(cio_loop_run_forever(p.loop), "cio_loop_run_forever");
	if (p.err < 0)
		bu_die("cio_sleep", p.err);
	if (p.woken != p.n)
		bu_die("waking the tasks", -EPROTO);
	for (unsigned long i = 0; i < p.n; i++)
		cio_task_unref(tasks[i]);
	t3 = bu_now_ns();
	res->teardown = (double)(t3 - t2) / (double)p.n;
	cio_loop_free(p.loop);
}

static void case_tasks(void)
{
	/* Touched up front so it is resident before the first RSS reading. */
	cio_task **tasks = bu_xmalloc(cfg.tasks * sizeof(*tasks));
	double rss[BU_MAX_REPS], pte[BU_MAX_REPS], spawn[BU_MAX_REPS],
		park[BU_MAX_REPS];
	double teardown[BU_MAX_REPS];
	struct park_result res;
	struct bu_stats st;
	long maps = 0, map_max = 0;
	char target[32];
	FILE *f;

	memset(tasks, 0, cfg.tasks * sizeof(*tasks));
	for (unsigned r = 0; r < cfg.task_reps; r++) {
		park_once(tasks, &res);
		rss[r] = res.rss;
		pte[r] = res.pte;
		spawn[r] = res.spawn;
		park[r] = res.park;
		teardown[r] = res.teardown;
		if (res.maps > maps)
			maps = res.maps;
	}
	free(tasks);

	st = bu_summarize(rss, cfg.task_reps);
	bu_row("sleeping_tasks", "coreio", "rss_per_task", &st, 0, "bytes",
	       "<= 8192", st.median <= 8192 ? BU_PASS : BU_MISS);
	st = bu_summarize(pte, cfg.task_reps);
	bu_row("sleeping_tasks", "coreio", "page_tables_per_task", &st, 0,
	       "bytes", NULL, BU_NO_TARGET);
	st = bu_summarize(spawn, cfg.task_reps);
	bu_row("sleeping_tasks", "coreio", "spawn_ns_per_task", &st, 0, "ns",
	       NULL, BU_NO_TARGET);
	st = bu_summarize(park, cfg.task_reps);
	bu_row("sleeping_tasks", "coreio", "start_park_ns_per_task", &st, 0,
	       "ns", NULL, BU_NO_TARGET);
	st = bu_summarize(teardown, cfg.task_reps);
	bu_row("sleeping_tasks", "coreio", "teardown_ns_per_task", &st, 0, "ns",
	       NULL, BU_NO_TARGET);
	bu_row("sleeping_tasks", "coreio", "tasks", NULL, (double)cfg.tasks,
	       "count", NULL, BU_NO_TARGET);
	/* Mappings while every task is parked, against the kernel's cap. */
	if ((f = fopen("/proc/sys/vm/max_map_count", "re"))) {
		if (fscanf(f, "%ld", &map_max) != 1)
			map_max = 0;
		fclose(f);
	}
	if (map_max > 0) {
		snprintf(target, sizeof(target), "< %ld", map_max);
		bu_row("sleeping_tasks", "coreio", "mappings", NULL,
		       (double)maps, "count", target,
		       maps < map_max ? BU_PASS : BU_MISS);
	} else {
		bu_row("sleeping_tasks", "coreio", "mappings", NULL,
		       (double)maps, "count", NULL, BU_NO_TARGET);
	}
}

/* -- options and main ----------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: micro [options]\n"
"Micro-benchmarks of the coreio runtime core (context switch, task switch,\n"
"spawn+await, call_soon, timers, memory per parked task). Each result is\n"
"the median of --reps repetitions after a warm-up.\n"
"\n"
"  -j, --json         one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick        a few seconds: 3 reps, short repetitions,\n"
"                     100k timers, 100k tasks\n"
"  -r, --reps N       repetitions per case, 1..%d (default 7; quick: 3)\n"
"      --rep-ms MS    target duration of one repetition (default 100)\n"
"  -t, --tasks N      sleeping tasks to park (default 1000000; quick:\n"
"                     100000); counts take k/M suffixes\n"
"      --task-reps N  repetitions of the sleeping-task case (default 1:\n"
"                     its memory figure is exact to a few bytes, and one\n"
"                     run of a million tasks takes ~10-20 s here)\n"
"      --timers N     timers pending in the timer cases (default 1000000)\n"
"      --only LIST    comma-separated groups: switch, task_switch, spawn,\n"
"                     call_soon, timers, tasks (default: all)\n"
"      --cpu N        pin to CPU N (default: the least busy CPU over\n"
"                     200 ms at start)\n"
"      --no-pin       do not pin\n"
"  -h, --help         this text\n"
"\n"
"Environment: CIO_BACKEND=uring|epoll|auto picks the loop backend;\n"
"CIO_STACK_SIZE sets the task stack size.\n",
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

enum {
	OPT_REP_MS = 256,
	OPT_TASK_REPS,
	OPT_TIMERS,
	OPT_ONLY,
	OPT_CPU,
	OPT_NO_PIN,
};

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "reps", required_argument, NULL, 'r' },
		{ "rep-ms", required_argument, NULL, OPT_REP_MS },
		{ "tasks", required_argument, NULL, 't' },
		{ "task-reps", required_argument, NULL, OPT_TASK_REPS },
		{ "timers", required_argument, NULL, OPT_TIMERS },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "cpu", required_argument, NULL, OPT_CPU },
		{ "no-pin", no_argument, NULL, OPT_NO_PIN },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long reps = -1, rep_ms = -1, tasks = -1, timers = -1, task_reps = -1;
	int c;

	cfg.pin = true;
	cfg.cpu = -1;
	cfg.groups = G_ALL;
	opterr = 0; /* our own messages, with the exit status 2 */
	while ((c = getopt_long(argc, argv, ":jqr:t:h", longopts, NULL)) !=
	       -1) {
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
		case 't':
			tasks = (long)bu_parse_count("--tasks", optarg, 1,
						     100000000);
			break;
		case OPT_TASK_REPS:
			task_reps = (long)bu_parse_count("--task-reps", optarg,
							 1, BU_MAX_REPS);
			break;
		case OPT_TIMERS:
			timers = (long)bu_parse_count("--timers", optarg, 1,
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
	cfg.task_reps = task_reps > 0 ? (unsigned)task_reps : 1;
	bu.rep_ns = 1e6 * (rep_ms > 0 ? (double)rep_ms : cfg.quick ? 20 : 100);
	cfg.tasks = tasks > 0	? (unsigned long)tasks
		    : cfg.quick ? 100000
				: 1000000;
	cfg.timers = timers > 0	 ? (unsigned long)timers
		     : cfg.quick ? 100000
				 : 1000000;
}

int main(int argc, char **argv)
{
	char text[64];
	int cpu;

	bu.prog = "micro";
	parse_args(argc, argv);
	cpu = cfg.pin ? bu_pin(cfg.cpu) : -1;
	BU_CHECK(cio_loop_new(&g_loop, NULL), "cio_loop_new");

	bu_table_header();
	bu_text_row("env", "coreio", "backend", cio_loop_backend_name(g_loop));
	bu_text_row("env", "coreio", "backend_flags",
		    cio_loop_backend_flags(g_loop));
	bu_text_row("env", "coreio", "allocator",
		    find_mallctl() ? "jemalloc" : "glibc");
	bu_text_row("env", "coreio", "stack_guards",
		    cio__stack_light_guards() ? "MADV_GUARD_INSTALL"
					      : "mprotect");
	if (cpu >= 0)
		snprintf(text, sizeof(text), "pinned to CPU %d", cpu);
	else
		snprintf(text, sizeof(text), "not pinned");
	bu_text_row("env", "coreio", "cpu", text);
	snprintf(text, sizeof(text), "median of %u", bu.reps);
	bu_text_row("env", "coreio", "reps", text);

	if (cfg.groups & G_SWITCH)
		case_switch();
	if (cfg.groups & G_TASK_SWITCH)
		case_task_switch();
	if (cfg.groups & G_SPAWN)
		case_spawn();
	if (cfg.groups & G_CALL_SOON)
		case_call_soon();
	if (cfg.groups & G_TIMERS)
		case_timers();
	cio_loop_free(g_loop);
	/* Last, on its own loop, after the shared one is gone: it is by far
	 * the largest, and nothing else should run beside its memory. */
	if (cfg.groups & G_TASKS)
		case_tasks();
	bu_row("env", "coreio", "reps_rerun", NULL, (double)bu.reruns, "count",
	       NULL, BU_NO_TARGET);
	return 0;
}
