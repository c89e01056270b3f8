/* Fork-per-test runner for the Criterion stand-in (see criterion.h here).
 * Options understood: --jobs=N / -jN (tests run N at a time), --filter=
 * SUITE/NAME glob, --verbose; anything else Criterion takes is ignored. */
#include "criterion/criterion.h"

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT 300.0 /* s; a hung test must not hang CI */
#define SKIP_STATUS 77

static struct shim_test *tests;
static struct shim_suite *suites;
static int failures;

void shim_register_test(struct shim_test *t)
{
	t->next = tests;
	tests = t;
}

void shim_register_suite(struct shim_suite *s)
{
	s->next = suites;
	suites = s;
}

void shim_check(bool ok, bool fatal, const char *file, int line,
		const char *expr, const char *fmt, ...)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: Assertion failed: %s", file, line, expr);
	if (fmt && *fmt) {
		va_list ap;
		va_start(ap, fmt);
		fputs(": ", stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	failures++;
	if (fatal) {
		fflush(NULL);
		_exit(1);
	}
}

void shim_log(const char *level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "[%s] ", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void shim_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("[skip] ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(NULL);
	_exit(SKIP_STATUS);
}

/* A test's own settings win over its suite's. */
static struct criterion_test_extra_data settings(const struct shim_test *t)
{
	struct criterion_test_extra_data d = t->data;
	for (struct shim_suite *s = suites; s; s = s->next) {
		if (strcmp(s->name, t->suite) != 0)
			continue;
		if (!d.init)
			d.init = s->data.init;
		if (!d.fini)
			d.fini = s->data.fini;
		if (d.timeout == 0)
			d.timeout = s->data.timeout;
		d.disabled = d.disabled || s->data.disabled;
	}
	if (d.timeout == 0)
		d.timeout = DEFAULT_TIMEOUT;
	return d;
}

struct running {
	struct shim_test *t;
	struct criterion_test_extra_data d;
	pid_t pid;
	struct timespec start;
};

static double since(const struct timespec *a)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->tv_sec) +
	       (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

static pid_t start(struct running *r)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t set;
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		if (r->d.init)
			r->d.init();
		r->t->fn();
		if (r->d.fini)
			r->d.fini();
		fflush(NULL);
		_exit(failures ? 1 : 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	r->pid = pid;
	return pid;
}

/* Did the child end the way the test said it would? */
static int judge(const struct running *r, int status, int *skipped)
{
	*skipped = 0;
	if (r->d.signal) {
		if (WIFSIGNALED(status) && WTERMSIG(status) == r->d.signal)
			return 1;
		fprintf(stderr, "%s::%s: expected signal %d\n", r->t->suite,
			r->t->name, r->d.signal);
		return 0;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s::%s: CRASH: signal %d\n", r->t->suite,
			r->t->name, WTERMSIG(status));
		return 0;
	}
	int code = WEXITSTATUS(status);
	if (code == SKIP_STATUS && r->d.exit_code != SKIP_STATUS) {
		*skipped = 1;
		return 1;
	}
	if (code == r->d.exit_code)
		return 1;
	fprintf(stderr, "%s::%s: FAIL (exit %d)\n", r->t->suite, r->t->name,
		code);
	return 0;
}

int main(int argc, char **argv)
{
	int jobs = 1, verbose = 0;
	const char *filter = NULL;
	int total = 0, passed = 0, failed = 0, skipped = 0;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--jobs=", 7) == 0)
			jobs = atoi(argv[i] + 7);
		else if (strncmp(argv[i], "-j", 2) == 0 && argv[i][2])
			jobs = atoi(argv[i] + 2);
		else if (strncmp(argv[i], "--filter=", 9) == 0)
			filter = argv[i] + 9;
		else if (strncmp(argv[i], "--verbose", 9) == 0)
			verbose = 1;
	}
	if (jobs < 1)
		jobs = 1;

	/* Registration ran constructors in file order, prepending: reverse. */
	struct shim_test *next = NULL;
	while (tests) {
		struct shim_test *t = tests;
		tests = t->next;
		t->next = next;
		next = t;
	}

	/* SIGCHLD stays blocked so sigtimedwait() can sleep until a child
	 * ends, waking once a second to enforce timeouts. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	struct running *run = calloc((size_t)jobs, sizeof(*run));
	int active = 0;

	for (;;) {
		while (active < jobs && next) {
			struct shim_test *t = next;
			char full[256];
			next = t->next;
			snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
			struct criterion_test_extra_data d = settings(t);
			if (d.disabled || (filter && fnmatch(filter, full, 0)))
				continue;
			for (int s = 0; s < jobs; s++) {
				if (run[s].pid)
					continue;
				run[s].t = t;
				run[s].d = d;
				start(&run[s]);
				active++;
				total++;
				break;
			}
		}
		if (active == 0)
			break;
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0) {
			/* Nobody finished: enforce timeouts, then sleep until
			 * a child ends (or a second passes). */
			for (int s = 0; s < jobs; s++)
				if (run[s].pid && since(&run[s].start) > run[s].d.timeout)
					kill(run[s].pid, SIGKILL);
			struct timespec ts = { 1, 0 };
			sigtimedwait(&chld, NULL, &ts);
			continue;
		}
		if (pid < 0)
			break;
		for (int s = 0; s < jobs; s++) {
			if (run[s].pid != pid)
				continue;
			int skip;
			if (judge(&run[s], status, &skip)) {
				passed++;
				skipped += skip;
				if (verbose)
					fprintf(stderr, "[PASS] %s::%s\n",
						run[s].t->suite, run[s].t->name);
			} else {
				failed++;
			}
			run[s].pid = 0;
			active--;
		}
	}
	free(run);
	printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d "
	       "| Skipped: %d (TSan runner)\n", total, passed, failed, skipped);
	return failed ? 1 : 0;
}
