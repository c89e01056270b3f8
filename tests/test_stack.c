/* The coroutine stack pool: size checks, $CIO_STACK_SIZE, hot and cold
 * reuse, other sizes, slabs, guard pages and the SIGSEGV handler set-up. */
#include "helpers/harness.h"
#include "runtime/stack.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB ((size_t)1024)

static void pool_init(struct cio__stack_pool *p, size_t size, size_t hot)
{
	int ret = cio__stack_pool_init(p, size, hot);
	cr_assert_eq(ret, 0, "pool init: %d", ret);
}

static struct cio__stack *get(struct cio__stack_pool *p, size_t size)
{
	struct cio__stack *s = NULL;
	int ret = cio__stack_get(p, size, &s);
	cr_assert_eq(ret, 0, "stack get(%zu): %d", size, ret);
	cr_assert_not_null(s);
	return s;
}

Test(stack, size_check)
{
	struct cio__stack_pool p;
	unsetenv("CIO_STACK_SIZE");
	pool_init(&p, 0, 0);
	cr_assert_eq(p.default_size, CIO__STACK_DEFAULT);
	cr_assert_eq(p.hot_max, CIO__STACK_HOT_DEFAULT);
	cr_assert_eq(cio__stack_size_check(&p, 0), (long)CIO__STACK_DEFAULT);
	cr_assert_eq(cio__stack_size_check(&p, CIO__STACK_MIN - 1), -EINVAL);
	cr_assert_eq(cio__stack_size_check(&p, 1), -EINVAL);
	cr_assert_eq(cio__stack_size_check(&p, CIO__STACK_MIN), CIO__STACK_MIN);
	cr_assert_eq(cio__stack_size_check(&p, CIO__STACK_MIN + 1),
		     CIO__STACK_MIN + 4096);
	cr_assert_eq(cio__stack_size_check(&p, CIO__STACK_MAX), CIO__STACK_MAX);
	cr_assert_eq(cio__stack_size_check(&p, CIO__STACK_MAX + 1), -EINVAL);
	cr_assert_eq(cio__stack_size_check(&p, SIZE_MAX), -EINVAL);
	struct cio__stack *s;
	cr_assert_eq(cio__stack_get(&p, 100, &s), -EINVAL);
	cr_assert_eq(cio__stack_get(&p, CIO__STACK_MAX + 1, &s), -EINVAL);
	cr_assert_eq(p.live, 0);
	cr_assert_eq(p.total, 0);
	cio__stack_pool_destroy(&p);
}

Test(stack, pool_init_options)
{
	struct cio__stack_pool p;
	cr_assert_eq(cio__stack_pool_init(&p, 1000, 0), -EINVAL);
	cr_assert_eq(cio__stack_pool_init(&p, CIO__STACK_MAX + 1, 0), -EINVAL);
	pool_init(&p, 20000, 3);
	cr_assert_eq(p.default_size, 20480);
	cr_assert_eq(p.hot_max, 3);
	cr_assert_eq(cio__stack_size_check(&p, 0), 20480);
	cio__stack_pool_destroy(&p);
	pool_init(&p, CIO__STACK_MIN, 0);
	cr_assert_eq(p.default_size, CIO__STACK_MIN);
	cio__stack_pool_destroy(&p);
}

static long env_size(const char *v)
{
	struct cio__stack_pool p;
	setenv("CIO_STACK_SIZE", v, 1);
	int ret = cio__stack_pool_init(&p, 0, 0);
	if (ret < 0)
		return ret;
	long size = (long)p.default_size;
	cio__stack_pool_destroy(&p);
	return size;
}

Test(stack, size_from_environment)
{
	cr_assert_eq(env_size("128k"), 128 * 1024);
	cr_assert_eq(env_size("128K"), 128 * 1024);
	cr_assert_eq(env_size("1m"), 1024 * 1024);
	cr_assert_eq(env_size("1M"), 1024 * 1024);
	cr_assert_eq(env_size("65536"), 65536);
	cr_assert_eq(env_size("20000"), 20480);
	cr_assert_eq(env_size("16k"), 16 * 1024);
	cr_assert_eq(env_size("1048576k"), 1024 * 1024 * 1024);
	cr_assert_eq(env_size(""), (long)CIO__STACK_DEFAULT);

	static const char *const bad[] = {
		"abc", "8k", "1k", "15k", "2g", "1G", "12x", "64kb", "k", "-1",
		"1048577k", "1025m", "99999999999999999999",
		/* (2^54 + 16) KiB wraps to 16 KiB in 64 bits */
		"18014398509481984k", "18014398509482000k",
		/* (2^44 + 1) MiB wraps to 1 MiB */
		"17592186044417m",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(env_size(bad[i]), -EINVAL, "CIO_STACK_SIZE=%s",
			     bad[i]);

	/* An explicit size does not look at the environment. */
	struct cio__stack_pool p;
	setenv("CIO_STACK_SIZE", "bogus", 1);
	pool_init(&p, 32 * 1024, 0);
	cr_assert_eq(p.default_size, 32 * 1024);
	cio__stack_pool_destroy(&p);
	/* And a loop made with a bad one fails cleanly. */
	cio_loop *loop = (cio_loop *)(uintptr_t)1;
	cr_assert_eq(cio_loop_new(&loop, NULL), -EINVAL);
	cr_assert_null(loop);
	struct cio_loop_opts o = { .stack_size = 64 * 1024 };
	loop = th_loop_new_opts(&o);
	th_loop_free(loop);
	unsetenv("CIO_STACK_SIZE");
	th_leak_check();
}

Test(stack, hot_reuse)
{
	struct cio__stack_pool p;
	pool_init(&p, 0, 0);
	struct cio__stack *a = get(&p, 0);
	cr_assert_eq(a->size, p.default_size);
	cr_assert_eq(a->guard, CIO__STACK_GUARD);
	cr_assert_not(a->cold);
	cr_assert_eq(p.live, 1);
	cr_assert_eq(p.total, 1);
	memset(a->lo, 0xab, a->size);
	cio__stack_put(&p, a);
	cr_assert_eq(p.live, 0);
	cr_assert_eq(p.nhot, 1);
	struct cio__stack *b = get(&p, 0);
	cr_assert_eq(b, a, "the hot stack comes back");
	cr_assert_eq(p.total, 1, "nothing new was carved");
	cr_assert_eq(((unsigned char *)b->lo)[0], 0xab, "hot pages stay");
	cr_assert_eq(((unsigned char *)b->lo)[b->size - 1], 0xab);
	cio__stack_put(&p, b);
	cio__stack_pool_destroy(&p);
	th_leak_check();
}

Test(stack, cold_beyond_hot_max)
{
	struct cio__stack_pool p;
	struct cio__stack *s[4];
	pool_init(&p, 0, 2);
	for (int i = 0; i < 4; i++) {
		s[i] = get(&p, 0);
		memset(s[i]->lo, 0x11 * (i + 1), s[i]->size);
	}
	cr_assert_eq(p.total, 4);
	for (int i = 0; i < 4; i++)
		cio__stack_put(&p, s[i]);
	cr_assert_eq(p.nhot, 2);
	cr_assert_not(s[0]->cold);
	cr_assert_not(s[1]->cold);
	cr_assert(s[2]->cold);
	cr_assert(s[3]->cold);
	/* Hot ones first (most recent first), then the cold ones. */
	struct cio__stack *g[4];
	for (int i = 0; i < 4; i++)
		g[i] = get(&p, 0);
	cr_assert_eq(g[0], s[1]);
	cr_assert_eq(g[1], s[0]);
	cr_assert(g[2] == s[3] || g[2] == s[2]);
	cr_assert_eq(p.total, 4);
	cr_assert_eq(p.nhot, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_not(g[i]->cold, "handed out stacks are not cold");
	/* Cold stacks gave their pages back: they read as zero now. */
	for (int i = 2; i < 4; i++) {
		const unsigned char *m = g[i]->lo;
		cr_assert_eq(m[0], 0);
		cr_assert_eq(m[g[i]->size - 1], 0);
		cr_assert_eq(m[g[i]->size / 2], 0);
	}
	cr_assert_eq(((unsigned char *)g[0]->lo)[0], 0x22);
	for (int i = 0; i < 4; i++)
		cio__stack_put(&p, g[i]);
	cr_assert_eq(p.live, 0);
	cio__stack_pool_destroy(&p);
	th_leak_check();
}

Test(stack, other_sizes)
{
	struct cio__stack_pool p;
	pool_init(&p, 0, 0);
	struct cio__stack *a = get(&p, 128 * KiB);
	cr_assert_eq(a->size, 128 * KiB);
	memset(a->lo, 0x5a, a->size);
	cio__stack_put(&p, a);
	cr_assert_eq(p.nhot, 0, "other sizes are not hot stacks");
	cr_assert(a->cold);
	struct cio__stack *d = get(&p, 0);
	cr_assert_neq(d, a, "a default request never gets another size");
	cr_assert_eq(d->size, p.default_size);
	struct cio__stack *b = get(&p, 20000);
	cr_assert_neq(b, a);
	cr_assert_eq(b->size, 20480);
	struct cio__stack *c = get(&p, 128 * KiB);
	cr_assert_eq(c, a, "same size: reused");
	cr_assert_eq(((unsigned char *)c->lo)[0], 0, "and its pages were "
						     "returned");
	struct cio__stack *e = get(&p, 128 * KiB);
	cr_assert_neq(e, a, "none left of that size: carved");
	cr_assert_eq(p.live, 4);
	cr_assert_eq(p.total, 4);
	/* The default size asked for explicitly is the default size. */
	struct cio__stack *f = get(&p, p.default_size);
	cio__stack_put(&p, f);
	cr_assert_eq(p.nhot, 1);
	cio__stack_put(&p, b);
	cio__stack_put(&p, c);
	cio__stack_put(&p, d);
	cio__stack_put(&p, e);
	cr_assert_eq(p.live, 0);
	cio__stack_pool_destroy(&p);
	th_leak_check();
}

static int cmp_stack(const void *a, const void *b)
{
	const struct cio__stack *x = *(struct cio__stack *const *)a;
	const struct cio__stack *y = *(struct cio__stack *const *)b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* More stacks than one 32 MiB slab holds, of mixed sizes: all disjoint
 * (guards included) and fully writable. */
Test(stack, disjoint_across_slabs)
{
	enum { N = 900 };
	struct cio__stack_pool p;
	struct cio__stack **s = malloc(N * sizeof(*s));
	cr_assert_not_null(s);
	pool_init(&p, 64 * KiB, 0);
	for (int i = 0; i < N; i++) {
		s[i] = get(&p, i % 10 == 0 ? 96 * KiB : 0);
		memset(s[i]->lo, i & 0xff, s[i]->size);
	}
	qsort(s, N, sizeof(*s), cmp_stack);
	for (int i = 1; i < N; i++) {
		const char *prev_end = (const char *)s[i - 1]->lo +
				       s[i - 1]->size;
		cr_assert_leq(prev_end, (const char *)s[i]->lo - s[i]->guard,
			      "stack %d overlaps the previous one's", i);
	}
	cr_assert_eq(p.total, N);
	for (int i = 0; i < N; i++)
		cio__stack_put(&p, s[i]);
	cr_assert_eq(p.live, 0);
	cio__stack_pool_destroy(&p);
	free(s);
	th_leak_check();
}

Test(stack, largest_stack)
{
	struct cio__stack_pool p;
	pool_init(&p, 0, 0);
	struct cio__stack *s = get(&p, CIO__STACK_MAX);
	cr_assert_eq(s->size, CIO__STACK_MAX);
	char *m = s->lo;
	m[0] = 1;
	m[s->size - 1] = 2;
	m[s->size / 2] = 3;
	cio__stack_put(&p, s);
	cio__stack_pool_destroy(&p);
	th_leak_check();
}

struct poke {
	char *addr;
};

static void poke_child(void *arg)
{
	struct poke *pk = arg;
	*(volatile char *)pk->addr = 1;
	_exit(0);
}

static bool died_of_segv(int st, const char *err)
{
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGSEGV;
	/* ASan catches the fault itself and exits. */
	return WIFEXITED(st) && WEXITSTATUS(st) != 0 && strstr(err, "SEGV");
}

Test(stack, guard_below_each_stack, .timeout = 60)
{
	struct cio__stack_pool p;
	struct cio__stack *s[3];
	pool_init(&p, 0, 0);
	s[0] = get(&p, 0);
	s[1] = get(&p, 0);
	s[2] = get(&p, 32 * KiB);
	for (int i = 0; i < 3; i++) {
		char *lo = s[i]->lo;
		char *targets[] = { lo - 1, lo - s[i]->guard, lo - s[i]->guard / 2 };
		for (int j = 0; j < 3; j++) {
			struct poke pk = { targets[j] };
			char *err;
			int st = th_fork_capture(poke_child, &pk, &err);
			cr_assert(died_of_segv(st, err),
				  "stack %d, guard byte %d: status %#x\n%s", i,
				  j, st, err);
			free(err);
		}
		struct poke ok = { lo };
		char *err;
		int st = th_fork_capture(poke_child, &ok, &err);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
		free(err);
	}
	for (int i = 0; i < 3; i++)
		cio__stack_put(&p, s[i]);
	cio__stack_pool_destroy(&p);
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;
	cr_assert_not_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Page-table guards (Linux >= 6.13) keep a stack from costing mappings;
 * mprotect guards cost two each (stack.h). */
Test(stack, guards_and_mappings)
{
	enum { N = 1000 };
	struct cio__stack_pool p;
	struct cio__stack **s = malloc(N * sizeof(*s));
	cr_assert_not_null(s);
	pool_init(&p, 0, 0);
	bool light = cio__stack_light_guards();
	cr_log_info("page-table guards: %s", light ? "yes" : "no");
	int before = count_maps();
	for (int i = 0; i < N; i++)
		s[i] = get(&p, 0);
	int after = count_maps();
	if (light) /* a few slabs (and the sanitizers' own mappings) */
		cr_assert_lt(after - before, N / 10,
			     "%d new mappings for %d stacks", after - before, N);
	else
		cr_assert_geq(after - before, N);
	for (int i = 0; i < N; i++)
		cio__stack_put(&p, s[i]);
	cio__stack_pool_destroy(&p);
	if (!light)
		cr_assert_lt(count_maps(), after - N, "destroy unmaps them");
	free(s);
}

static void *install_elsewhere(void *arg)
{
	stack_t ss;
	(void)arg;
	if (cio__stack_guard_install() != 0)
		return (void *)1;
	if (sigaltstack(NULL, &ss) != 0 || (ss.ss_flags & SS_DISABLE))
		return (void *)2;
	return NULL;
}

Test(stack, guard_handler_install)
{
	struct sigaction sa;
	stack_t ss;
	cr_assert_eq(cio__stack_guard_install(), 0);
	cr_assert_eq(cio__stack_guard_install(), 0, "idempotent");
	cr_assert_eq(sigaction(SIGSEGV, NULL, &sa), 0);
	cr_assert(sa.sa_flags & SA_ONSTACK);
	cr_assert(sa.sa_flags & SA_SIGINFO);
	cr_assert_eq(sigaltstack(NULL, &ss), 0);
	cr_assert_not(ss.ss_flags & SS_DISABLE, "an alternate stack is set");
	cr_assert_geq(ss.ss_size, 16 * KiB);
	/* Each thread gets its own alternate stack. */
	pthread_t th;
	void *ret;
	cr_assert_eq(pthread_create(&th, NULL, install_elsewhere, NULL), 0);
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_null(ret);
}
