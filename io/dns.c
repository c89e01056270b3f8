/* cio_getaddrinfo(): getaddrinfo(3) on the default executor. */
#include "io/dns.h"
#include "runtime/executor_internal.h"
#include "runtime/task_internal.h"
#include "runtime/timeout.h"

#include <stdlib.h>
#include <string.h>

/* The record of one lookup: the executor's call record, then copies of
 * what the caller passed (the task may be gone by the time the pool
 * thread reads them). */
struct gai_call {
	struct cio__exec_call call; /* first: freed as one block */
	struct addrinfo hints;
	bool has_hints;
	const char *host;
	const char *service;
	char strings[];
};

static const struct {
	int eai;
	int err;
} gai_errors[] = {
	{ EAI_NONAME, -ENOENT },
	{ EAI_SERVICE, -ESRCH },
#ifdef EAI_NODATA
	{ EAI_NODATA, -ENODATA },
#endif
#ifdef EAI_ADDRFAMILY
	{ EAI_ADDRFAMILY, -EADDRNOTAVAIL },
#endif
	{ EAI_AGAIN, -EAGAIN },
	{ EAI_FAIL, -EIO },
	{ EAI_FAMILY, -EAFNOSUPPORT },
	{ EAI_SOCKTYPE, -ESOCKTNOSUPPORT },
	{ EAI_BADFLAGS, -EINVAL },
	{ EAI_MEMORY, -ENOMEM },
	{ EAI_OVERFLOW, -EOVERFLOW },
};

#define N_GAI_ERRORS (sizeof(gai_errors) / sizeof(gai_errors[0]))

/* `sys_errno` is errno right after the call, for EAI_SYSTEM. */
static int gai_to_errno(int eai, int sys_errno)
{
	if (eai == EAI_SYSTEM)
		return sys_errno > 0 ? -sys_errno : -EIO;
	for (size_t i = 0; i < N_GAI_ERRORS; i++)
		if (gai_errors[i].eai == eai)
			return gai_errors[i].err;
	return -EIO;
}

const char *cio_gai_strerror(int err)
{
	if (err != -EINVAL)
		for (size_t i = 0; i < N_GAI_ERRORS; i++)
			if (gai_errors[i].err == err)
				return gai_strerror(gai_errors[i].eai);
	return strerror(err < 0 ? -err : err);
}

void cio_freeaddrinfo(struct addrinfo *res)
{
	if (res)
		freeaddrinfo(res);
}

/* On a pool thread. A list in [-4095, -1] cannot exist: user space does
 * not reach the top page of the address space. */
static intptr_t gai_run(void *arg)
{
	struct gai_call *g = arg;
	struct addrinfo *res = NULL;
	int rc;

	errno = 0;
	rc = getaddrinfo(g->host, g->service, g->has_hints ? &g->hints : NULL,
			 &res);
	if (rc != 0)
		return gai_to_errno(rc, errno);
	return (intptr_t)res;
}

/* A list nobody received (cancelled, timed out, loop closed) is freed
 * here, on whichever thread lets the record go last. */
static void gai_release(struct cio__exec_call *c, bool delivered)
{
	if (!delivered && !CIO_IS_ERR(c->result) && c->result)
		freeaddrinfo((struct addrinfo *)c->result);
	free(c);
}

static struct gai_call *gai_call_new(cio_loop *loop, const char *host,
				     const char *service,
				     const struct addrinfo *hints)
{
	size_t hl = host ? strlen(host) + 1 : 0;
	size_t sl = service ? strlen(service) + 1 : 0;
	struct gai_call *g = malloc(sizeof(*g) + hl + sl);

	if (!g)
		return NULL;
	cio__exec_call_init(&g->call, loop, gai_run, g, gai_release);
	/* Only these four fields are input; the rest must be zero. */
	memset(&g->hints, 0, sizeof(g->hints));
	g->has_hints = hints != NULL;
	if (hints) {
		g->hints.ai_flags = hints->ai_flags;
		g->hints.ai_family = hints->ai_family;
		g->hints.ai_socktype = hints->ai_socktype;
		g->hints.ai_protocol = hints->ai_protocol;
	}
	g->host = host ? memcpy(g->strings, host, hl) : NULL;
	g->service = service ? memcpy(g->strings + hl, service, sl) : NULL;
	return g;
}

/* Submit and await, parking for a slot while the queue is full. */
static intptr_t lookup(const char *host, const char *service,
		       const struct addrinfo *hints)
{
	cio_loop *loop = cio__tls_task->fut.loop;
	struct gai_call *g;
	int ret;

	/* Allocate only once there is room, so that a task torn down while
	 * it waits (loop close) holds nothing. */
	for (;;) {
		if ((ret = cio__exec_wait_slot(NULL)) < 0)
			return ret;
		if (!(g = gai_call_new(loop, host, service, hints)))
			return -ENOMEM;
		ret = cio__exec_call_start(&g->call, NULL);
		if (ret == 0)
			return cio__exec_call_await(&g->call);
		if (ret != -ENOSPC)
			return ret;
	}
}

int cio_getaddrinfo(const char *host, const char *service,
		    const struct addrinfo *hints, struct addrinfo **res,
		    int64_t deadline)
{
	struct cio_timeout to;
	intptr_t v;
	int ret;

	if (res)
		*res = NULL;
	if (!res || (!host && !service))
		return -EINVAL;
	if (!cio__tls_task)
		return -EPERM;
	if (deadline == CIO_NO_DEADLINE)
		v = lookup(host, service, hints);
	else {
		if (deadline <= cio_loop_time())
			return -ETIMEDOUT;
		if ((ret = cio_timeout_enter(&to, deadline)) < 0)
			return ret;
		v = lookup(host, service, hints);
		/* A list is a success for the scope; its -ECANCELED is
		 * turned into -ETIMEDOUT when the deadline was the cause. */
		ret = cio_timeout_exit(&to, CIO_IS_ERR(v) ? (int)v : 0);
		if (ret < 0 && !CIO_IS_ERR(v)) {
			freeaddrinfo((struct addrinfo *)v); /* scope misuse */
			return ret;
		}
		if (ret < 0)
			v = ret;
	}
	if (CIO_IS_ERR(v))
		return (int)v;
	*res = (struct addrinfo *)v;
	return 0;
}
