/* Internal: coroutine stacks, pooled per loop.
 *
 * A stack is [guard][usable], the guard below the usable part because
 * x86-64 and aarch64 stacks grow down. Stacks are carved out of large slabs
 * mapped with MAP_NORESERVE: only pages a coroutine touches cost memory, so
 * a parked task with a shallow call chain costs one page of stack.
 *
 * Guard pages: on Linux >= 6.13 they are installed with MADV_GUARD_INSTALL,
 * which marks page-table entries and does not split the mapping, so a
 * million stacks need a handful of VMAs. On older kernels each guard is an
 * mprotect(PROT_NONE) range, two VMAs per stack, and vm.max_map_count
 * (65530 by default) caps concurrent tasks near 32k; the pool then fails
 * with -ENOMEM rather than hand out an unguarded stack.
 *
 * Freed stacks stay in the pool. The first `hot_max` stay as they are; the
 * rest give their pages back with MADV_DONTNEED and are reused after the hot
 * ones, so a burst of tasks does not pin its peak memory forever.
 */
#ifndef CIO_RUNTIME_STACK_H
#define CIO_RUNTIME_STACK_H

#include <stdbool.h>
#include <stddef.h>

/* Default usable size. 64 KiB holds libc calls such as snprintf and several
 * KiB of local buffers with room to spare, while the reservation (virtual
 * only) keeps a million tasks within a few percent of the address space.
 * Sanitizer builds quadruple it: instrumented frames are much larger. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CIO__STACK_DEFAULT (256u * 1024u)
#else
#define CIO__STACK_DEFAULT (64u * 1024u)
#endif
#define CIO__STACK_MIN (16u * 1024u)
#define CIO__STACK_MAX (1024u * 1024u * 1024u)
/* Guard below each stack; large enough that a frame with a few KiB of
 * locals cannot step over it into the neighbouring stack. */
#define CIO__STACK_GUARD (16u * 1024u)
#define CIO__STACK_HOT_DEFAULT 256u

struct cio__stack {
	void *lo;         /* lowest usable byte, just above the guard */
	size_t size;      /* usable bytes */
	size_t guard;     /* guard bytes below lo */
	struct cio__stack *next; /* free-list link while pooled */
	bool cold;        /* pages returned with MADV_DONTNEED */
};

struct cio__stack_slab;

struct cio__stack_pool {
	size_t default_size;
	size_t hot_max;
	size_t nhot;
	struct cio__stack *hot;   /* default size, pages resident */
	struct cio__stack *cold;  /* default size, pages returned */
	struct cio__stack *other; /* non-default sizes */
	char *carve;              /* unused tail of the newest slab */
	size_t carve_left;
	struct cio__stack_slab *slabs;
	size_t live;              /* stacks handed out */
	size_t total;             /* stacks ever carved */
};

/* `default_size` 0 picks CIO__STACK_DEFAULT (or $CIO_STACK_SIZE). */
int cio__stack_pool_init(struct cio__stack_pool *pool, size_t default_size,
			 size_t hot_max);
/* Unmaps everything. Stacks still handed out become invalid. */
void cio__stack_pool_destroy(struct cio__stack_pool *pool);

/* Round a requested size to what the pool hands out; -EINVAL for sizes
 * outside [CIO__STACK_MIN, CIO__STACK_MAX] (0 means the default). */
long cio__stack_size_check(const struct cio__stack_pool *pool, size_t size);

int cio__stack_get(struct cio__stack_pool *pool, size_t size,
		   struct cio__stack **out);
/* Give a stack back. Under ASan its shadow is cleared first: frames of a
 * context that never returned are still poisoned. */
void cio__stack_put(struct cio__stack_pool *pool, struct cio__stack *s);
/* As cio__stack_put(), for a stack whose coroutine returned normally: its
 * frames unpoisoned themselves, so ASan builds skip clearing the whole
 * stack's shadow. */
void cio__stack_put_clean(struct cio__stack_pool *pool, struct cio__stack *s);

/* True when guards are page-table markers (MADV_GUARD_INSTALL). */
bool cio__stack_light_guards(void);

/* Install the SIGSEGV handler (once per process) and an alternate signal
 * stack for the calling thread (once per thread), so a guard-page hit is
 * reported as a coroutine stack overflow. */
int cio__stack_guard_install(void);

#endif
