/* Coroutines: the raw context switch, registers and floating point across
 * awaits, stack alignment, deep recursion, and stack overflow detection. */
#include "helpers/harness.h"
#include "runtime/coro.h"
#include "runtime/loop_internal.h"
#include "runtime/stack.h"
#include "runtime/task_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* -- the switch itself ------------------------------------------------------- */

struct pingpong {
	struct cio__coro main, co;
	long sum;
	long n;
};

static void pingpong_entry(void *arg)
{
	struct pingpong *p = arg;
	for (long i = 0; i < p->n; i++) {
		p->sum += i;
		cio__coro_switch(&p->co, &p->main);
	}
	cio__coro_exit(&p->co, &p->main);
}

Test(coro, raw_switch_ping_pong)
{
	static struct pingpong p;
	struct cio__stack_pool pool;
	struct cio__stack *s;

	cr_assert_eq(cio__stack_pool_init(&pool, 0, 0), 0);
	cr_assert_eq(cio__stack_get(&pool, 0, &s), 0);
	p.n = 200000;
	cio__coro_init_self(&p.main);
	cio__coro_make(&p.co, &p.main, s->lo, s->size, pingpong_entry, &p);
	for (long k = 1; k <= p.n; k++) {
		cio__coro_switch(&p.main, &p.co);
		cr_assert_eq(p.sum, k * (k - 1) / 2);
	}
	cio__coro_switch(&p.main, &p.co); /* it exits back here */
	cr_assert_eq(p.sum, p.n * (p.n - 1) / 2);
	cio__coro_release(&p.co);
	cio__stack_put(&pool, s);
	/* The same stack runs a fresh coroutine. */
	cr_assert_eq(cio__stack_get(&pool, 0, &s), 0);
	p.n = 3;
	p.sum = 0;
	cio__coro_make(&p.co, &p.main, s->lo, s->size, pingpong_entry, &p);
	for (int k = 0; k <= 3; k++)
		cio__coro_switch(&p.main, &p.co);
	cr_assert_eq(p.sum, 3);
	cio__coro_release(&p.co);
	cio__stack_put(&pool, s);
	cio__stack_pool_destroy(&pool);
}

/* -- state that survives awaits ---------------------------------------------- */

#if defined(__x86_64__)
/* Values pinned in the callee-saved registers at the await. */
static intptr_t registers_task(void *arg)
{
	long seed = (long)(intptr_t)arg;
	register long rbx asm("rbx") = seed + 1;
	register long r12 asm("r12") = seed + 2;
	register long r13 asm("r13") = seed + 3;
	register long r14 asm("r14") = seed + 4;
	register long r15 asm("r15") = seed + 5;

	for (long i = 0; i < 2000; i++) {
		asm volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14),
			     "+r"(r15));
		int rc = i % 3 ? cio_yield() : cio_sleep(0);
		asm volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14),
			     "+r"(r15));
		if (rc != 0)
			return -EIO;
		if (rbx != seed + 1 + i || r12 != seed + 2 + 2 * i ||
		    r13 != seed + 3 + 3 * i || r14 != seed + 4 + 4 * i ||
		    r15 != seed + 5 + 5 * i)
			return -EFAULT;
		rbx += 1;
		r12 += 2;
		r13 += 3;
		r14 += 4;
		r15 += 5;
	}
	return seed;
}
#endif

/* One round of the arithmetic in many_locals_task(). A macro, not a
 * function: the ten stay plain locals, free to live in registers. */
#define MIX(a, b, c, d, e, f, g, h, i, j)                                      \
	do {                                                                   \
		a += 1;                                                        \
		b += a;                                                        \
		c ^= b;                                                        \
		d += c;                                                        \
		e -= d;                                                        \
		f += e;                                                        \
		g ^= f;                                                        \
		h += g;                                                        \
		i -= h;                                                        \
		j += i;                                                        \
	} while (0)

/* Many live integers: whatever the compiler keeps in callee-saved
 * registers across the await must come back intact. */
static intptr_t many_locals_task(void *arg)
{
	unsigned long s = (unsigned long)(uintptr_t)arg;
	unsigned long a = s, b = s * 3, c = s ^ 0x5555, d = s + 7, e = s * s,
		      f = ~s, g = s << 3, h = s - 11, i2 = s * 13, j = s | 0x100;

	for (int i = 0; i < 1000; i++) {
		if (cio_yield() != 0)
			return -EIO;
		MIX(a, b, c, d, e, f, g, h, i2, j);
	}
	/* The same arithmetic without awaits. */
	unsigned long A = s, B = s * 3, C = s ^ 0x5555, D = s + 7, E = s * s,
		      F = ~s, G = s << 3, H = s - 11, I = s * 13, J = s | 0x100;
	for (int i = 0; i < 1000; i++) {
		MIX(A, B, C, D, E, F, G, H, I, J);
		asm volatile("" ::: "memory");
	}
	if (a != A || b != B || c != C || d != D || e != E || f != F ||
	    g != G || h != H || i2 != I || j != J)
		return -EFAULT;
	return (intptr_t)s;
}

/* Step i of float_task()'s arithmetic; a macro for the reason MIX is. */
#define FLOAT_MIX(acc, prod, ld, fl, x, i)                                     \
	do {                                                                   \
		acc += x / i;                                                  \
		prod *= 1.0 + 1e-7 * x;                                        \
		ld += (long double)i * 0.25L;                                  \
		fl *= 1.0001f;                                                 \
	} while (0)

static intptr_t float_task(void *arg)
{
	double x = (double)(intptr_t)arg, acc = 0.0, prod = 1.0;
	long double ld = 1.0L;
	float fl = 0.5f;

	for (int i = 1; i <= 1000; i++) {
		FLOAT_MIX(acc, prod, ld, fl, x, i);
		if (cio_yield() != 0)
			return -EIO;
	}
	volatile double rx = x;
	double racc = 0.0, rprod = 1.0;
	long double rld = 1.0L;
	float rfl = 0.5f;
	for (int i = 1; i <= 1000; i++)
		FLOAT_MIX(racc, rprod, rld, rfl, rx, i);
	if (acc != racc || prod != rprod || ld != rld || fl != rfl)
		return -EFAULT;
	return (intptr_t)arg;
}

static intptr_t spawn_mix(void *arg)
{
	enum { EACH = 8 };
	cio_task *t[3 * EACH];
	int n = 0;
	(void)arg;
	for (int i = 0; i < EACH; i++) {
#if defined(__x86_64__)
		cr_assert_eq(cio_spawn(&t[n++], registers_task,
				       (void *)(intptr_t)(i * 1000), NULL), 0);
#else
		cr_assert_eq(cio_spawn(&t[n++], many_locals_task,
				       (void *)(intptr_t)(i * 1000), NULL), 0);
#endif
		cr_assert_eq(cio_spawn(&t[n++], many_locals_task,
				       (void *)(intptr_t)(i + 17), NULL), 0);
		cr_assert_eq(cio_spawn(&t[n++], float_task,
				       (void *)(intptr_t)(i + 3), NULL), 0);
	}
	for (int i = 0; i < n; i++) {
		intptr_t v = cio_await_task(t[i]);
		cr_assert_geq(v, 0, "task %d: %zd", i, (ssize_t)v);
		cio_task_unref(t[i]);
	}
	return n;
}

Test(coro, registers_and_floats_survive_awaits)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, spawn_mix, NULL), 24);
	th_loop_free(loop);
	th_leak_check();
}

__attribute__((noinline)) static uintptr_t frame_address(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

static intptr_t alignment_task(void *arg)
{
	char buf[128];
	(void)arg;
	/* The ABI wants rsp 16-byte aligned at each call; a frame pointer
	 * pushed on entry is then 16-byte aligned too. */
	if (frame_address() % 16 != 0)
		return -EFAULT;
	/* glibc's printf of floating point uses aligned SSE stores. */
	snprintf(buf, sizeof(buf), "%.3f %.2Lf %g", 3.14159, 2.5L, 1e-3);
	if (strcmp(buf, "3.142 2.50 0.001") != 0)
		return -EINVAL;
	if (cio_yield() != 0 || frame_address() % 16 != 0)
		return -EFAULT;
	return 1;
}

Test(coro, stack_is_aligned)
{
	cio_loop *loop = th_loop_new();
	cr_assert_eq(th_run(loop, alignment_task, NULL), 1);
	cr_assert_eq(frame_address() % 16, 0);
	th_loop_free(loop);
	th_leak_check();
}

/* -- recursion and overflow ---------------------------------------------------- */

static volatile bool keep_diving = true;

/* Each frame holds a buffer the next frame reads, so no frame can be
 * optimised away. */
__attribute__((noinline)) static long dive(const char *limit,
					   volatile char *parent, long depth)
{
	volatile char buf[256];
	buf[0] = (char)(parent ? parent[0] + 1 : 0);
	buf[255] = buf[0];
	if (keep_diving && (!limit || (const char *)buf > limit))
		return dive(limit, buf, depth + 1) + buf[255] - buf[0];
	return depth;
}

struct deep {
	long depth;
	char text[64];
};

static intptr_t deep_task(void *arg)
{
	struct deep *d = arg;
	cio_task *self = cio_current_task();
	const char *lo = self->stack->lo;
	/* Go down to within 1/8 of the stack's end, then show libc still
	 * works at that depth. */
	d->depth = dive(lo + self->stack->size / 8, NULL, 0);
	snprintf(d->text, sizeof(d->text), "depth %ld", d->depth);
	return cio_yield() == 0 ? 1 : -EIO;
}

Test(coro, deep_recursion_within_the_limit)
{
	cio_loop *loop = th_loop_new();
	static const size_t sizes[] = { 0, 64 * 1024, 1024 * 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct deep d = { 0 };
		struct cio_task_opts o = { .loop = loop,
					   .stack_size = sizes[i] };
		cio_task *t;
		cr_assert_eq(cio_spawn(&t, deep_task, &d, &o), 0);
		size_t size = t->stack->size;
		cr_assert_eq(cio_loop_run_until_complete(loop,
							 cio_task_future(t)), 1);
		cr_assert_gt(d.depth, (long)(size / 2 / 1024),
			     "only %ld frames in %zu bytes", d.depth, size);
		cr_assert_not_null(strstr(d.text, "depth"));
		cio_task_unref(t);
	}
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t overflow_task(void *arg)
{
	(void)arg;
	return dive(NULL, NULL, 0);
}

static void overflow_child(void *arg)
{
	cio_loop *loop;
	cio_task *t;
	struct cio_task_opts o = { .name = "deep-diver",
				   .stack_size = (size_t)(uintptr_t)arg };
	if (cio_loop_new(&loop, NULL) < 0)
		_exit(3);
	o.loop = loop;
	if (cio_spawn(&t, overflow_task, NULL, &o) < 0)
		_exit(4);
	cio_loop_run_until_complete(loop, cio_task_future(t));
	_exit(5); /* not reached: the overflow kills the process */
}

Test(coro, stack_overflow_is_reported, .timeout = 60)
{
	static const size_t sizes[] = { 0, 20 * 1024, 128 * 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *err = NULL;
		int st = th_fork_capture(overflow_child,
					 (void *)(uintptr_t)sizes[i], &err);
		cr_assert(WIFSIGNALED(st), "child status %#x; stderr:\n%s", st,
			  err);
		cr_assert_eq(WTERMSIG(st), SIGSEGV, "stderr:\n%s", err);
		cr_assert_not_null(strstr(err, "coreio: coroutine stack overflow "
					       "in task 'deep-diver'"),
				   "stderr:\n%s", err);
		if (sizes[i]) {
			char want[64];
			snprintf(want, sizeof(want), "(stack of %zu bytes",
				 (sizes[i] + 4095) / 4096 * 4096);
			cr_assert_not_null(strstr(err, want), "stderr:\n%s",
					   err);
		}
		free(err);
	}
}

/* Unmapped, but not NULL (UBSan would catch that one first). */
static volatile uintptr_t bad_address = 16;

static intptr_t bad_read_task(void *arg)
{
	volatile int *p = (volatile int *)bad_address;
	(void)arg;
	return *p;
}

static void segv_child(void *arg)
{
	cio_loop *loop;
	(void)arg;
	if (cio_loop_new(&loop, NULL) < 0)
		_exit(3);
	struct cio_task_opts o = { .loop = loop, .name = "bad-reader" };
	cio_task *t;
	if (cio_spawn(&t, bad_read_task, NULL, &o) < 0)
		_exit(4);
	cio_loop_run_until_complete(loop, cio_task_future(t));
	_exit(0);
}

/* A fault that is not a guard-page hit is left to the previous handler
 * (the default, or ASan's) and not called an overflow. */
Test(coro, other_faults_are_not_overflows, .timeout = 60)
{
	char *err = NULL;
	int st = th_fork_capture(segv_child, NULL, &err);
	cr_assert((WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) ||
		  (WIFEXITED(st) && WEXITSTATUS(st) != 0 &&
		   strstr(err, "SEGV")),
		  "child status %#x; stderr:\n%s", st, err);
	cr_assert_null(strstr(err, "stack overflow"), "stderr:\n%s", err);
	free(err);
}

static intptr_t yield_once_task(void *arg)
{
	(void)arg;
	return cio_yield() == 0 ? 1 : -EIO;
}

/* A task started in one run of the loop and resumed in a later one
 * switches back to a scheduler context the sanitizers must still know:
 * here, LeakSanitizer must still scan this thread's stack afterwards. */
Test(coro, scheduler_context_across_runs)
{
	cio_loop *loop = th_loop_new();
	char *volatile only_here = malloc(123);
	cr_assert_not_null(only_here);
	cio_task *t = th_spawn(loop, yield_once_task, NULL, NULL);
	th_run_once(loop); /* starts, parks in its yield */
	cr_assert_not(cio_task_done(t));
	/* Second run: no new task starts, the old one resumes and ends. */
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(t)), 1);
	cio_task_unref(t);
	th_leak_check();
	free(only_here);
	th_loop_free(loop);
	th_leak_check();
}
