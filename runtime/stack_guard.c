/* Report a coroutine stack overflow instead of corrupting memory.
 *
 * Every task stack has a guard below it. A task that overflows faults in
 * the guard; the fault is taken on an alternate signal stack (the task's
 * own stack is exhausted), recognised by its address, reported as
 *   coreio: coroutine stack overflow in task '<name>' ...
 * and then turned into the default SIGSEGV, so the process dies with a core
 * dump pointing at the overflowing frame. Faults anywhere else go to the
 * handler that was installed before ours (ASan's, a debugger's, SIG_DFL).
 */
#include "runtime/stack.h"
#include "runtime/task_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct sigaction previous;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static int handler_error;
static pthread_key_t altstack_key;
static __thread bool altstack_done;

static void write_str(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void write_num(size_t v)
{
	char buf[24];
	char *p = buf + sizeof(buf);
	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	write_str(p);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
	if (previous.sa_flags & SA_SIGINFO) {
		if (previous.sa_sigaction) {
			previous.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (previous.sa_handler != SIG_DFL &&
		   previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/* Returning re-executes the faulting access with the default action
	 * in place: the process dies of SIGSEGV where it faulted. */
	signal(sig, SIG_DFL);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	cio_task *t = cio__tls_task;

	if (t && cio__task_guard_hit(t, si->si_addr)) {
		write_str("coreio: coroutine stack overflow in task '");
		if (t->name) {
			write_str(t->name);
		} else { /* a default name not formatted yet */
			write_str("Task-");
			write_num((size_t)t->id);
		}
		write_str("' (stack of ");
		write_num(t->stack->size);
		write_str(" bytes; raise cio_task_opts.stack_size or "
			  "CIO_STACK_SIZE)\n");
		signal(sig, SIG_DFL);
		return;
	}
	chain(sig, si, uc);
}

struct altstack {
	void *p;
	size_t size;
};

/* Thread exit: the alternate stack we mapped for this thread goes too. */
static void free_altstack(void *arg)
{
	struct altstack *as = arg;
	stack_t cur;
	stack_t off = { .ss_flags = SS_DISABLE };

	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == as->p)
		sigaltstack(&off, NULL);
	munmap(as->p, as->size);
	free(as);
}

static void install_handler(void)
{
	struct sigaction sa;

	if (pthread_key_create(&altstack_key, free_altstack) != 0) {
		handler_error = -EAGAIN;
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &previous) < 0)
		handler_error = -errno;
}

int cio__stack_guard_install(void)
{
	pthread_once(&handler_once, install_handler);
	if (handler_error)
		return handler_error;
	if (altstack_done)
		return 0;
	altstack_done = true;

	/* Keep an alternate stack someone else (ASan, the program) set up. */
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE))
		return 0;
	size_t size = (size_t)sysconf(_SC_SIGSTKSZ);
	if (size < 64 * 1024)
		size = 64 * 1024;
	struct altstack *as = malloc(sizeof(*as));
	if (!as)
		return -ENOMEM;
	as->size = size;
	as->p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (as->p == MAP_FAILED) {
		free(as);
		return -ENOMEM;
	}
	stack_t ss = { .ss_sp = as->p, .ss_size = size, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) < 0) {
		int err = -errno;
		munmap(as->p, size);
		free(as);
		return err;
	}
	pthread_setspecific(altstack_key, as);
	return 0;
}
