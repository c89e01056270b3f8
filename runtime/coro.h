/* Internal: execution contexts and the switch between them.
 *
 * A context is a saved stack pointer (x86-64 assembly backend) or a
 * ucontext_t (portable fallback, also selectable with -DCIO_CORO_UCONTEXT).
 * Switching is asymmetric in practice: the loop's scheduler context switches
 * into a task, and the task switches back; nothing here enforces that.
 *
 * The x86-64 switch saves only what the SysV ABI makes callee-saved (rbx,
 * rbp, r12-r15, rsp). The MXCSR and x87 control words are not saved: every
 * coroutine of a loop shares the thread's floating-point environment, and a
 * task that changes rounding modes must restore them before it awaits.
 *
 * Sanitizers: AddressSanitizer and ThreadSanitizer must be told about stack
 * switches, or they report false errors (ASan) or lose track of
 * happens-before (TSan). The annotations live in coro.c and cost nothing in
 * normal builds.
 */
#ifndef CIO_RUNTIME_CORO_H
#define CIO_RUNTIME_CORO_H

#include <stddef.h>

#if !defined(__x86_64__) && !defined(CIO_CORO_UCONTEXT)
#define CIO_CORO_UCONTEXT 1
#endif

#ifdef CIO_CORO_UCONTEXT
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIO_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define CIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIO_TSAN 1
#endif
#endif

typedef void (*cio__coro_entry)(void *arg);

struct cio__coro {
#ifdef CIO_CORO_UCONTEXT
	ucontext_t uc;
#else
	void *sp; /* saved stack pointer; the registers sit on that stack */
#endif
	void *stack_lo;     /* usable stack [stack_lo, stack_lo + stack_size) */
	size_t stack_size;  /* 0 for the thread's own stack until learnt */
	cio__coro_entry entry;
	void *arg;
	struct cio__coro *parent; /* context a fresh coroutine was started from */
#ifdef CIO_ASAN
	void *asan_fake_stack;
#endif
#ifdef CIO_TSAN
	void *tsan_fiber;
#endif
};

/* Describe the calling thread's own context (the loop's scheduler). */
void cio__coro_init_self(struct cio__coro *self);

/* Prepare `c` to run entry(arg) on [stack_lo, stack_lo + size) the first
 * time something switches to it. `parent` is the context that will do so.
 * entry must never return: it ends with cio__coro_exit(). */
void cio__coro_make(struct cio__coro *c, struct cio__coro *parent,
		    void *stack_lo, size_t size, cio__coro_entry entry,
		    void *arg);

/* Save the current context into `from` and resume `to`. Returns when
 * something switches back to `from`. Without sanitizers or ucontext this
 * is the bare assembly switch, inlined into the scheduler's hot path. */
#if !defined(CIO_CORO_UCONTEXT) && !defined(CIO_ASAN) && !defined(CIO_TSAN)
void cio__coro_switch_asm(void **save_sp, void *load_sp);

static inline void cio__coro_switch(struct cio__coro *from,
				    struct cio__coro *to)
{
	cio__coro_switch_asm(&from->sp, to->sp);
}
#else
void cio__coro_switch(struct cio__coro *from, struct cio__coro *to);
#endif

/* Last switch out of a finished coroutine: `from` is never resumed, so the
 * sanitizers may drop its state. */
__attribute__((noreturn)) void cio__coro_exit(struct cio__coro *from,
					      struct cio__coro *to);

/* Release sanitizer state of a context that will never run again (finished,
 * or destroyed while suspended). Must not be called on the running one. */
void cio__coro_release(struct cio__coro *c);

#endif
