/* Coroutine stack pool: slabs, guards, hot/cold reuse. See stack.h. */
#include "runtime/stack.h"
#include "runtime/coro.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef CIO_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; glibc 2.36 does not know it */
#endif

/* Slabs are reserved 32 MiB at a time: at the default size that is ~400
 * stacks per mapping, so even a million tasks stay far below
 * vm.max_map_count when guards are page-table markers. */
#define SLAB_BYTES (32u * 1024u * 1024u)

struct cio__stack_slab {
	void *base;
	size_t len;
	struct cio__stack_slab *next;
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE); /* glibc reads it from auxv */
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static int light_guards = -1;
static pthread_once_t light_guards_once = PTHREAD_ONCE_INIT;

/* Ask the kernel once whether page-table guards work here. */
static void probe_light_guards(void)
{
	size_t pg = page_size();
	void *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	light_guards = 0;
	if (p == MAP_FAILED)
		return;
	if (madvise(p, pg, MADV_GUARD_INSTALL) == 0)
		light_guards = 1;
	munmap(p, 2 * pg);
}

bool cio__stack_light_guards(void)
{
	pthread_once(&light_guards_once, probe_light_guards);
	return light_guards == 1;
}

long cio__stack_size_check(const struct cio__stack_pool *pool, size_t size)
{
	if (size == 0)
		return (long)pool->default_size;
	if (size < CIO__STACK_MIN || size > CIO__STACK_MAX)
		return -EINVAL;
	return (long)round_up(size, page_size());
}

int cio__stack_pool_init(struct cio__stack_pool *pool, size_t default_size,
			 size_t hot_max)
{
	memset(pool, 0, sizeof(*pool));
	if (default_size == 0) {
		const char *env = getenv("CIO_STACK_SIZE");
		default_size = CIO__STACK_DEFAULT;
		if (env && *env) {
			char *end;
			unsigned long long v = strtoull(env, &end, 10);
			unsigned long long unit = 1;
			if (*end == 'k' || *end == 'K')
				unit = 1024, end++;
			else if (*end == 'm' || *end == 'M')
				unit = 1024 * 1024, end++;
			/* Range-check before scaling: "18014398509482000k"
			 * must not wrap around to 16 KiB. */
			if (*end != '\0' || v > CIO__STACK_MAX / unit ||
			    v * unit < CIO__STACK_MIN)
				return -EINVAL;
			default_size = (size_t)(v * unit);
		}
	}
	if (default_size < CIO__STACK_MIN || default_size > CIO__STACK_MAX)
		return -EINVAL;
	pool->default_size = round_up(default_size, page_size());
	pool->hot_max = hot_max ? hot_max : CIO__STACK_HOT_DEFAULT;
	cio__stack_light_guards();
	return 0;
}

static void free_list(struct cio__stack *s)
{
	while (s) {
		struct cio__stack *next = s->next;
		free(s);
		s = next;
	}
}

void cio__stack_pool_destroy(struct cio__stack_pool *pool)
{
	free_list(pool->hot);
	free_list(pool->cold);
	free_list(pool->other);
	struct cio__stack_slab *slab = pool->slabs;
	while (slab) {
		struct cio__stack_slab *next = slab->next;
		munmap(slab->base, slab->len);
		free(slab);
		slab = next;
	}
	memset(pool, 0, sizeof(*pool));
}

static int new_slab(struct cio__stack_pool *pool, size_t need)
{
	size_t len = need > SLAB_BYTES ? round_up(need, page_size()) : SLAB_BYTES;
	struct cio__stack_slab *slab = malloc(sizeof(*slab));
	if (!slab)
		return -ENOMEM;
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
			  -1, 0);
	if (base == MAP_FAILED) {
		free(slab);
		return -ENOMEM;
	}
	slab->base = base;
	slab->len = len;
	slab->next = pool->slabs;
	pool->slabs = slab;
	pool->carve = base;
	pool->carve_left = len;
	return 0;
}

static int guard(void *p, size_t len)
{
	if (light_guards == 1)
		return madvise(p, len, MADV_GUARD_INSTALL) ? -errno : 0;
	/* One mprotect per stack: fails with ENOMEM at vm.max_map_count. */
	return mprotect(p, len, PROT_NONE) ? -errno : 0;
}

static int carve(struct cio__stack_pool *pool, size_t size,
		 struct cio__stack **out)
{
	size_t need = CIO__STACK_GUARD + size;
	struct cio__stack *s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (pool->carve_left < need) {
		int ret = new_slab(pool, need);
		if (ret < 0) {
			free(s);
			return ret;
		}
	}
	char *base = pool->carve;
	int ret = guard(base, CIO__STACK_GUARD);
	if (ret < 0) {
		free(s);
		return ret == -EAGAIN ? -ENOMEM : ret;
	}
	pool->carve += need;
	pool->carve_left -= need;
	s->lo = base + CIO__STACK_GUARD;
	s->size = size;
	s->guard = CIO__STACK_GUARD;
	s->next = NULL;
	s->cold = false;
	pool->total++;
	*out = s;
	return 0;
}

int cio__stack_get(struct cio__stack_pool *pool, size_t size,
		   struct cio__stack **out)
{
	long checked = cio__stack_size_check(pool, size);
	struct cio__stack *s, **pp;

	if (checked < 0)
		return (int)checked;
	size = (size_t)checked;
	if (size == pool->default_size) {
		if ((s = pool->hot)) {
			pool->hot = s->next;
			pool->nhot--;
			goto found;
		}
		if ((s = pool->cold)) {
			pool->cold = s->next;
			goto found;
		}
	} else {
		for (pp = &pool->other; (s = *pp); pp = &s->next) {
			if (s->size == size) {
				*pp = s->next;
				goto found;
			}
		}
	}
	int ret = carve(pool, size, &s);
	if (ret < 0)
		return ret;
found:
	s->next = NULL;
	s->cold = false;
	pool->live++;
	*out = s;
	return 0;
}

void cio__stack_put_clean(struct cio__stack_pool *pool, struct cio__stack *s)
{
	pool->live--;
	if (s->size != pool->default_size) {
		madvise(s->lo, s->size, MADV_DONTNEED);
		s->cold = true;
		s->next = pool->other;
		pool->other = s;
		return;
	}
	if (pool->nhot < pool->hot_max) {
		s->next = pool->hot;
		pool->hot = s;
		pool->nhot++;
		return;
	}
	madvise(s->lo, s->size, MADV_DONTNEED);
	s->cold = true;
	s->next = pool->cold;
	pool->cold = s;
}

void cio__stack_put(struct cio__stack_pool *pool, struct cio__stack *s)
{
#ifdef CIO_ASAN
	ASAN_UNPOISON_MEMORY_REGION(s->lo, s->size);
#endif
	cio__stack_put_clean(pool, s);
}
