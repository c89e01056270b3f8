/* epoll backend: the reactor used where io_uring is missing or blocked, and
 * the baseline every io_uring measurement is compared with.
 *
 * The loop sleeps in one epoll_pwait2() (nanosecond timeout; epoll_wait()
 * with the timeout rounded up to a millisecond on kernels before 5.11, so a
 * timer never fires early). Operations that complete at once (NOP) are
 * kept on a list and delivered by the next poll, as a CQE would be.
 */
#include "runtime/backend.h"
#include "runtime/loop_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

struct epoll_be {
	int epfd;
	int wake_fd;
	cio_loop *loop;
	unsigned nfds;    /* descriptors registered besides wake_fd */
	bool no_pwait2;
	struct cio__op *done_head;
	struct cio__op **done_tail;
};

static int epoll_create_be(cio_loop *loop, const struct cio_loop_opts *opts,
			   void **data)
{
	struct epoll_be *e;
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	(void)opts;
	if (!(e = calloc(1, sizeof(*e))))
		return -ENOMEM;
	e->loop = loop;
	e->done_tail = &e->done_head;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		ret = -errno;
		goto fail;
	}
	e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->wake_fd < 0) {
		ret = -errno;
		goto fail_ep;
	}
	ev.data.ptr = NULL; /* NULL marks the wake-up eventfd */
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wake_fd, &ev) < 0) {
		ret = -errno;
		goto fail_fd;
	}
	*data = e;
	return 0;

fail_fd:
	close(e->wake_fd);
fail_ep:
	close(e->epfd);
fail:
	free(e);
	return ret;
}

static void epoll_destroy_be(void *data)
{
	struct epoll_be *e = data;
	close(e->wake_fd);
	close(e->epfd);
	free(e);
}

static int wait_events(struct epoll_be *e, struct epoll_event *evs,
		       int64_t timeout_ns)
{
	int n;

	if (!e->no_pwait2) {
		struct timespec ts, *tsp = NULL;
		if (timeout_ns >= 0) {
			ts.tv_sec = timeout_ns / CIO_NSEC_PER_SEC;
			ts.tv_nsec = timeout_ns % CIO_NSEC_PER_SEC;
			tsp = &ts;
		}
		n = (int)syscall(SYS_epoll_pwait2, e->epfd, evs, MAX_EVENTS,
				 tsp, NULL, 0);
		if (n >= 0 || errno != ENOSYS)
			return n < 0 ? -errno : n;
		e->no_pwait2 = true;
	}
	int ms = -1;
	if (timeout_ns >= 0) {
		int64_t r = (timeout_ns + CIO_NSEC_PER_MSEC - 1) / CIO_NSEC_PER_MSEC;
		ms = r > INT32_MAX ? INT32_MAX : (int)r;
	}
	n = epoll_wait(e->epfd, evs, MAX_EVENTS, ms);
	return n < 0 ? -errno : n;
}

static int epoll_poll(void *data, int64_t timeout_ns)
{
	struct epoll_be *e = data;
	struct epoll_event evs[MAX_EVENTS];
	int n;

	if (e->done_head)
		timeout_ns = 0;
	/* A poll that may not block has nothing to find while only the
	 * wake-up eventfd is registered: the loop reads its inbox itself, and
	 * the eventfd matters only to a loop that sleeps. Skip the syscall
	 * (it is most of a call_soon round trip otherwise). */
	if (timeout_ns == 0 && e->nfds == 0)
		n = 0;
	else
		n = wait_events(e, evs, timeout_ns);
	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == NULL) {
			uint64_t v;
			ssize_t r = read(e->wake_fd, &v, sizeof(v));
			(void)r;
			atomic_store(&e->loop->wake_pending, 0);
		}
	}
	struct cio__op *op = e->done_head;
	e->done_head = NULL;
	e->done_tail = &e->done_head;
	while (op) {
		struct cio__op *next = op->next;
		op->done(op);
		op = next;
	}
	if (n == -EINTR)
		return 0;
	return n < 0 ? n : 0;
}

static void epoll_wake(void *data)
{
	struct epoll_be *e = data;
	uint64_t one = 1;
	ssize_t n = write(e->wake_fd, &one, sizeof(one));
	(void)n;
}

static int epoll_submit(void *data, struct cio__op *op)
{
	struct epoll_be *e = data;

	if (op->kind != CIO__OP_NOP)
		return -EOPNOTSUPP;
	op->res = 0;
	op->cqe_flags = 0;
	op->next = NULL;
	*e->done_tail = op;
	e->done_tail = &op->next;
	return 0;
}

static int epoll_cancel(void *data, struct cio__op *op)
{
	/* A NOP is complete the moment it is submitted: nothing to stop. Its
	 * completion still arrives through poll(). */
	(void)data;
	(void)op;
	return 0;
}

static const char *epoll_describe(void *data)
{
	return ((struct epoll_be *)data)->no_pwait2 ? "epoll_wait"
						    : "epoll_pwait2";
}

const struct cio__backend_ops cio__backend_epoll = {
	.name = "epoll",
	.create = epoll_create_be,
	.destroy = epoll_destroy_be,
	.poll = epoll_poll,
	.wake = epoll_wake,
	.submit = epoll_submit,
	.cancel = epoll_cancel,
	.describe = epoll_describe,
};
