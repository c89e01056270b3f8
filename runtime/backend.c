/* Backend choice: explicit option, then $CIO_BACKEND, then io_uring with a
 * fallback to epoll. */
#include "runtime/backend.h"
#include "runtime/loop_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Once per process, whichever thread's loop falls back first. */
static atomic_flag noticed = ATOMIC_FLAG_INIT;

static void notice_fallback(int err)
{
	if (atomic_flag_test_and_set(&noticed))
		return;
	fprintf(stderr,
		"coreio: io_uring unavailable (%s); using the epoll backend\n",
		strerror(-err));
}

static int parse_env(enum cio_backend_kind *kind)
{
	const char *env = getenv("CIO_BACKEND");

	if (!env || !*env || strcmp(env, "auto") == 0)
		*kind = CIO_BACKEND_AUTO;
	else if (strcmp(env, "uring") == 0 || strcmp(env, "io_uring") == 0)
		*kind = CIO_BACKEND_URING;
	else if (strcmp(env, "epoll") == 0)
		*kind = CIO_BACKEND_EPOLL;
	else
		return -EINVAL;
	return 0;
}

int cio__backend_open(cio_loop *loop, const struct cio_loop_opts *opts,
		      const struct cio__backend_ops **ops, void **data)
{
	enum cio_backend_kind kind = opts->backend;
	int ret;

	if (kind == CIO_BACKEND_AUTO && parse_env(&kind) < 0) {
		fprintf(stderr, "coreio: CIO_BACKEND=%s: expected uring, epoll "
				"or auto\n", getenv("CIO_BACKEND"));
		return -EINVAL;
	}
	switch (kind) {
	case CIO_BACKEND_URING:
		*ops = &cio__backend_uring;
		break;
	case CIO_BACKEND_EPOLL:
		*ops = &cio__backend_epoll;
		break;
	case CIO_BACKEND_AUTO:
		*ops = &cio__backend_uring;
		ret = cio__backend_uring.create(loop, opts, data);
		if (ret == 0)
			return 0;
		/* Any failure (ENOSYS, EPERM from seccomp or
		 * kernel.io_uring_disabled, ENOMEM from RLIMIT_MEMLOCK on old
		 * kernels) falls back. */
		notice_fallback(ret);
		*ops = &cio__backend_epoll;
		break;
	default:
		return -EINVAL;
	}
	return (*ops)->create(loop, opts, data);
}
