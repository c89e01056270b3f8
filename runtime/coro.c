/* Execution contexts: creation, switching and the sanitizer annotations that
 * let ASan and TSan follow a thread jumping between stacks. */
#include "runtime/coro.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef CIO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CIO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifndef CIO_CORO_UCONTEXT
void cio__coro_switch_asm(void **save_sp, void *load_sp);
void cio__coro_trampoline(void);
#endif

#if !defined(CIO_CORO_UCONTEXT) && !defined(CIO_ASAN) && !defined(CIO_TSAN)
#define INLINE_SWITCH 1 /* coro.h defines cio__coro_switch() */
#endif

void cio__coro_init_self(struct cio__coro *self)
{
	memset(self, 0, sizeof(*self));
#ifdef CIO_TSAN
	self->tsan_fiber = __tsan_get_current_fiber();
#endif
}

/* Tell the sanitizers which stack is about to run. A context that will
 * never resume passes no fake-stack slot, so ASan frees its fake frames. */
static inline void before_switch(struct cio__coro *from, struct cio__coro *to,
				 int exiting)
{
#ifdef CIO_ASAN
	__sanitizer_start_switch_fiber(exiting ? NULL : &from->asan_fake_stack,
				       to->stack_lo, to->stack_size);
#else
	(void)from;
	(void)exiting;
#endif
#ifdef CIO_TSAN
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
	(void)to;
}

static inline void after_switch(struct cio__coro *self)
{
#ifdef CIO_ASAN
	const void *lo;
	size_t size;
	__sanitizer_finish_switch_fiber(self->asan_fake_stack, &lo, &size);
#else
	(void)self;
#endif
}

/* First function on a new stack. Completes the sanitizer hand-over (and
 * learns the scheduler's stack bounds, which ASan needs for the switch
 * back), then runs the entry, which leaves through cio__coro_exit(). */
static void coro_boot(struct cio__coro *c)
{
#ifdef CIO_ASAN
	const void *lo;
	size_t size;
	__sanitizer_finish_switch_fiber(NULL, &lo, &size);
	if (c->parent && c->parent->stack_size == 0) {
		c->parent->stack_lo = (void *)lo;
		c->parent->stack_size = size;
	}
#endif
	c->entry(c->arg);
	abort(); /* entry broke the contract: it must exit, not return */
}

#ifdef CIO_CORO_UCONTEXT
/* makecontext() passes int arguments only: split the pointer in two. */
static void coro_boot_uc(unsigned hi, unsigned lo)
{
	uintptr_t p = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
	coro_boot((struct cio__coro *)p);
}
#endif

void cio__coro_make(struct cio__coro *c, struct cio__coro *parent,
		    void *stack_lo, size_t size, cio__coro_entry entry,
		    void *arg)
{
	c->stack_lo = stack_lo;
	c->stack_size = size;
	c->entry = entry;
	c->arg = arg;
	c->parent = parent;
#ifdef CIO_ASAN
	c->asan_fake_stack = NULL;
#endif
#ifdef CIO_TSAN
	c->tsan_fiber = __tsan_create_fiber(0);
#endif
#ifdef CIO_CORO_UCONTEXT
	uintptr_t p = (uintptr_t)c;
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = stack_lo;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, (void (*)(void))coro_boot_uc, 2,
		    (unsigned)(p >> 16 >> 16), (unsigned)(p & 0xffffffffu));
#else
	/* Frame popped by the first cio__coro_switch_asm() into this context:
	 * r15, r14, r13 = c, r12 = coro_boot, rbx, rbp, then the return
	 * address. After that ret, rsp equals `top`, 16-byte aligned, which is
	 * what the trampoline's call needs. */
	uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
	void **sp = (void **)top;
	*--sp = (void *)cio__coro_trampoline;
	*--sp = NULL;             /* rbp: ends frame-pointer walks */
	*--sp = NULL;             /* rbx */
	*--sp = (void *)coro_boot; /* r12 */
	*--sp = (void *)c;        /* r13 */
	*--sp = NULL;             /* r14 */
	*--sp = NULL;             /* r15 */
	c->sp = sp;
#endif
}

#ifndef INLINE_SWITCH
void cio__coro_switch(struct cio__coro *from, struct cio__coro *to)
{
	before_switch(from, to, 0);
#ifdef CIO_CORO_UCONTEXT
	swapcontext(&from->uc, &to->uc);
#else
	cio__coro_switch_asm(&from->sp, to->sp);
#endif
	after_switch(from);
}
#endif

void cio__coro_exit(struct cio__coro *from, struct cio__coro *to)
{
	before_switch(from, to, 1);
#ifdef CIO_CORO_UCONTEXT
	swapcontext(&from->uc, &to->uc);
#else
	cio__coro_switch_asm(&from->sp, to->sp);
#endif
	abort(); /* a finished context was resumed */
}

void cio__coro_release(struct cio__coro *c)
{
#ifdef CIO_TSAN
	if (c->tsan_fiber) {
		__tsan_destroy_fiber(c->tsan_fiber);
		c->tsan_fiber = NULL;
	}
#else
	(void)c;
#endif
}
