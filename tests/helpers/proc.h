/* Test helpers: run an external program (curl, nc, python3, nginx...) and
 * collect what it prints, from a task without blocking the loop. */
#ifndef CIO_TEST_PROC_H
#define CIO_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* What a program did. */
struct th_proc {
	int status;   /* waitpid status; -1 if it could not be started */
	char *out;    /* stdout, NUL-terminated (malloc'd) */
	size_t out_len;
	char *err;    /* stderr, NUL-terminated (malloc'd) */
	size_t err_len;
};

/* Run argv (argv[0] looked up in PATH) with `in` (in_len bytes, may be
 * NULL) on its stdin, to completion; the waiting happens on an executor
 * thread, so from a task the loop keeps serving meanwhile. Outside a task
 * it blocks. Free the result with th_proc_free(). */
void th_proc_run(struct th_proc *p, const char *const argv[], const void *in,
		 size_t in_len);
void th_proc_free(struct th_proc *p);
/* The exit code, or -1 if it did not exit normally. */
int th_proc_exit(const struct th_proc *p);
/* Is `prog` installed (found in PATH)? */
int th_have(const char *prog);

#endif
