/* epoll backend: the reactor used where io_uring is missing or blocked, and
 * the baseline every io_uring measurement is compared with.
 *
 * The loop sleeps in one epoll_pwait2() (nanosecond timeout; epoll_wait()
 * with the timeout rounded up to a millisecond on kernels before 5.11, so a
 * timer never fires early).
 *
 * An operation on a pollable descriptor (socket, pipe, tty) is tried at
 * once; if it would block it waits on its descriptor's read or write list
 * and is retried when epoll reports readiness. Descriptors are registered
 * edge-triggered for both directions on first wait and stay registered
 * until cio_close(), so waiting costs no epoll_ctl() in the steady state.
 * Regular files and metadata operations cannot wait for readiness: they
 * run on the executor, as libuv does. Results are delivered from poll(),
 * as CQEs would be, never from inside submit().
 */
#include "runtime/backend.h"
#include "runtime/epoll_internal.h"
#include "runtime/loop_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256

enum { DIR_READ, DIR_WRITE, DIR_JOB, NDIRS };

enum fd_type { FD_UNKNOWN, FD_POLLABLE, FD_FILE };

/* What the reactor knows of one descriptor. */
struct ep_fd {
	struct cio__list waiters[NDIRS]; /* ops waiting; DIR_JOB: executor */
	struct cio__op *closer;  /* a close waiting for running jobs */
	uint8_t type;
	bool registered;
};

struct epoll_be {
	int epfd;
	int wake_fd;
	cio_loop *loop;
	unsigned nfds;    /* descriptors registered besides wake_fd */
	bool no_pwait2;
	struct cio__op *done_head;
	struct cio__op **done_tail;
	struct ep_fd **fds;      /* indexed by descriptor */
	int nslots;
	/* Executor jobs that did not fit its bounded queue, in order. */
	struct cio__list backlog;
	/* Jobs on no descriptor (open, statx, rename...). */
	struct cio__list path_jobs;
	unsigned jobs_running;
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
	cio__list_init(&e->backlog);
	cio__list_init(&e->path_jobs);
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
	ev.data.fd = -1; /* marks the wake-up eventfd */
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

/* -- descriptors ------------------------------------------------------------ */

static struct ep_fd *fd_get(struct epoll_be *e, int fd)
{
	struct ep_fd *f;

	if (fd < 0)
		return NULL;
	if (fd >= e->nslots) {
		int n = e->nslots ? e->nslots : 64;
		while (n <= fd)
			n *= 2;
		struct ep_fd **v = realloc(e->fds, (size_t)n * sizeof(*v));
		if (!v)
			return NULL;
		memset(v + e->nslots, 0, (size_t)(n - e->nslots) * sizeof(*v));
		e->fds = v;
		e->nslots = n;
	}
	if ((f = e->fds[fd]))
		return f;
	if (!(f = calloc(1, sizeof(*f))))
		return NULL;
	for (int d = 0; d < NDIRS; d++)
		cio__list_init(&f->waiters[d]);
	e->fds[fd] = f;
	return f;
}

static struct ep_fd *fd_find(struct epoll_be *e, int fd)
{
	return fd >= 0 && fd < e->nslots ? e->fds[fd] : NULL;
}

static void fd_drop(struct epoll_be *e, int fd)
{
	struct ep_fd *f = fd_find(e, fd);
	if (!f)
		return;
	if (f->registered) {
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
		e->nfds--;
	}
	free(f);
	e->fds[fd] = NULL;
}

/* Learn once whether `fd` can wait for readiness; a pollable one is made
 * non-blocking (the flag belongs to the open file, so a descriptor handed
 * to coreio is changed for its other users too, as libuv does). */
static int fd_classify(struct ep_fd *f, int fd)
{
	struct stat st;
	int fl;

	if (f->type != FD_UNKNOWN)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)) {
		f->type = FD_FILE;
		return 0;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	f->type = FD_POLLABLE;
	return 0;
}

static int fd_register(struct epoll_be *e, struct ep_fd *f, int fd)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.fd = fd,
	};

	if (f->registered)
		return 0;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		if (errno != EEXIST)
			return -errno;
		/* Registered and forgotten (our entry was reset when the
		 * number was reused): take it over. */
		if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			return -errno;
	} else {
		e->nfds++;
	}
	f->registered = true;
	return 0;
}

/* -- completion ------------------------------------------------------------- */

static void complete(struct epoll_be *e, struct cio__op *op, int32_t res)
{
	op->res = res;
	op->cqe_flags = 0;
	op->next = NULL;
	*e->done_tail = op;
	e->done_tail = &op->next;
}

static void deadline_fire(struct cio__timer *t);

static void op_unwait(struct epoll_be *e, struct cio__op *op)
{
	cio__list_del(&op->be.ep.node);
	cio__timer_del(&e->loop->timers, &op->be.ep.timer);
}

/* -- executor --------------------------------------------------------------- */

/* Operations on a path, not on an open descriptor of ours. */
static bool on_path(uint8_t kind)
{
	return kind == CIO__OP_OPENAT || kind == CIO__OP_STATX ||
	       kind == CIO__OP_UNLINKAT || kind == CIO__OP_RENAMEAT ||
	       kind == CIO__OP_LINKAT || kind == CIO__OP_MKDIRAT;
}

static void job_run(struct cio__exec_job *job)
{
	struct cio__op *op = cio__container_of(job, struct cio__op, be.ep.job);
	op->res = cio__epoll_syscall(op);
}

static void close_now(struct epoll_be *e, struct cio__op *op);
static void job_start(struct epoll_be *e, struct cio__op *op);

static void pump_backlog(struct epoll_be *e)
{
	while (!cio__list_empty(&e->backlog)) {
		struct cio__op *op = cio__container_of(
			e->backlog.next, struct cio__op, be.ep.node);
		cio__list_del(&op->be.ep.node);
		int ret = cio__exec_submit(NULL, &op->be.ep.job);
		if (ret == -EAGAIN) {
			cio__list_add_tail(&e->backlog, &op->be.ep.node);
			return;
		}
		struct ep_fd *f = on_path(op->kind) ? NULL
						    : fd_find(e, op->fd);
		if (ret < 0) {
			cio__timer_del(&e->loop->timers, &op->be.ep.timer);
			complete(e, op, ret);
			continue;
		}
		e->jobs_running++;
		op->be.ep.queued = true;
		cio__list_add_tail(f ? &f->waiters[DIR_JOB] : &e->path_jobs,
				   &op->be.ep.node);
	}
}

/* Back on the loop's thread after the pool ran the system call. */
static void job_done(struct cio__work *w, bool discard)
{
	struct cio__op *op = cio__container_of(w, struct cio__op,
					       be.ep.job.work);
	struct epoll_be *e;
	struct ep_fd *f;

	if (discard)
		return; /* loop close: destroy waits for the job */
	e = op->be.ep.self;
	e->jobs_running--;
	op->be.ep.queued = false;
	op_unwait(e, op);
	f = on_path(op->kind) ? NULL : fd_find(e, op->fd);
	/* The job's record may be freed once done() runs: wait for the
	 * pool thread's last touch first (a few instructions away). */
	cio__exec_wait(&op->be.ep.job);
	op->cqe_flags = 0;
	op->done(op);
	if (f && f->closer && cio__list_empty(&f->waiters[DIR_JOB])) {
		struct cio__op *c = f->closer;
		f->closer = NULL;
		close_now(e, c);
	}
	pump_backlog(e);
}

static void job_start(struct epoll_be *e, struct cio__op *op)
{
	struct ep_fd *f = NULL;
	int ret;

	op->be.ep.job.run = job_run;
	op->be.ep.job.work.fn = job_done;
	op->be.ep.job.loop = e->loop;
	op->be.ep.dir = DIR_JOB;
	op->be.ep.self = e;
	if (!on_path(op->kind) && !(f = fd_get(e, op->fd))) {
		cio__list_init(&op->be.ep.node);
		complete(e, op, op->fd < 0 ? -EBADF : -ENOMEM);
		return;
	}
	if (!cio__list_empty(&e->backlog) ||
	    (ret = cio__exec_submit(NULL, &op->be.ep.job)) == -EAGAIN) {
		cio__list_add_tail(&e->backlog, &op->be.ep.node);
		return;
	}
	if (ret < 0) {
		cio__list_init(&op->be.ep.node);
		complete(e, op, ret);
		return;
	}
	e->jobs_running++;
	op->be.ep.queued = true;
	cio__list_add_tail(f ? &f->waiters[DIR_JOB] : &e->path_jobs,
			   &op->be.ep.node);
}

/* -- readiness -------------------------------------------------------------- */

static int op_dir(const struct cio__op *op)
{
	switch (op->kind) {
	case CIO__OP_WRITE:
	case CIO__OP_WRITEV:
	case CIO__OP_SEND:
	case CIO__OP_SENDMSG:
	case CIO__OP_CONNECT:
		return DIR_WRITE;
	default:
		return DIR_READ;
	}
}

/* One attempt; true when the op is finished (and queued for delivery). */
static bool attempt(struct epoll_be *e, struct cio__op *op)
{
	int32_t res;

	if (op->kind == CIO__OP_CONNECT && op->be.ep.dir == DIR_WRITE &&
	    op->cqe_flags) /* connect in progress: readiness means done */
		res = cio__epoll_connect_result(op->fd);
	else
		res = cio__epoll_syscall(op);
	if (res == -EAGAIN)
		return false;
	if (op->kind == CIO__OP_CONNECT && res == -EINPROGRESS) {
		op->cqe_flags = 1; /* from now on, ask SO_ERROR */
		return false;
	}
	complete(e, op, res);
	return true;
}

static void wait_ready(struct epoll_be *e, struct ep_fd *f, struct cio__op *op)
{
	int dir = op_dir(op), wfd = op->fd, ret;

	/* A splice waits on whichever end is a pipe or socket. */
	if (op->kind == CIO__OP_SPLICE && f->type == FD_FILE) {
		wfd = op->a.splice.fd_out;
		dir = DIR_WRITE;
		if (!(f = fd_get(e, wfd))) {
			complete(e, op, -ENOMEM);
			return;
		}
		if ((ret = fd_classify(f, wfd)) < 0) {
			complete(e, op, ret);
			return;
		}
	}
	if ((ret = fd_register(e, f, wfd)) < 0) {
		complete(e, op, ret);
		return;
	}
	if (op->deadline && op->deadline <= cio_loop_time()) {
		op->timed_out = true;
		complete(e, op, -ETIMEDOUT);
		return;
	}
	op->be.ep.dir = (uint8_t)dir;
	cio__list_add_tail(&f->waiters[dir], &op->be.ep.node);
	if (op->deadline &&
	    cio__timer_add(&e->loop->timers, &op->be.ep.timer, op->deadline) < 0) {
		cio__list_del(&op->be.ep.node);
		complete(e, op, -ENOMEM);
	}
}

/* Readiness on `fd`: retry its waiters in order until one would block
 * again (edge-triggered: the next edge retries the rest). */
static void ready(struct epoll_be *e, int fd, uint32_t events)
{
	struct ep_fd *f = fd_find(e, fd);

	if (!f)
		return;
	for (int dir = DIR_READ; dir <= DIR_WRITE; dir++) {
		uint32_t want = dir == DIR_READ
			? EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR
			: EPOLLOUT | EPOLLHUP | EPOLLERR;
		if (!(events & want))
			continue;
		while (!cio__list_empty(&f->waiters[dir])) {
			struct cio__op *op = cio__container_of(
				f->waiters[dir].next, struct cio__op, be.ep.node);
			if (!attempt(e, op))
				break;
			op_unwait(e, op);
		}
	}
}

static void deadline_fire(struct cio__timer *t)
{
	struct cio__op *op = cio__container_of(t, struct cio__op, be.ep.timer);
	struct epoll_be *e = op->be.ep.self;

	if (e->loop->closed)
		return;
	if (op->be.ep.dir == DIR_JOB) {
		/* A job that has started cannot be stopped; it finishes. */
		if (!op->be.ep.queued) {
			cio__list_del(&op->be.ep.node); /* backlog */
		} else if (cio__exec_unqueue(&op->be.ep.job)) {
			e->jobs_running--;
			op->be.ep.queued = false;
			cio__list_del(&op->be.ep.node);
		} else {
			return;
		}
	} else {
		cio__list_del(&op->be.ep.node);
	}
	op->timed_out = true;
	op->res = -ETIMEDOUT;
	op->cqe_flags = 0;
	op->done(op);
}

/* -- close ------------------------------------------------------------------ */

/* Cancel what waits on the descriptor; true if executor jobs still run on
 * it and the close must wait for them. */
static bool cancel_fd_ops(struct epoll_be *e, struct ep_fd *f)
{
	for (int dir = 0; dir < NDIRS; dir++) {
		struct cio__list *n, *next;
		for (n = f->waiters[dir].next; n != &f->waiters[dir]; n = next) {
			struct cio__op *op = cio__container_of(
				n, struct cio__op, be.ep.node);
			next = n->next;
			if (dir == DIR_JOB) {
				if (!cio__exec_unqueue(&op->be.ep.job))
					continue; /* running: wait for it */
				e->jobs_running--;
				op->be.ep.queued = false;
			}
			op_unwait(e, op);
			complete(e, op, -ECANCELED);
		}
	}
	return !cio__list_empty(&f->waiters[DIR_JOB]);
}

static void close_now(struct epoll_be *e, struct cio__op *op)
{
	struct ep_fd *f = fd_find(e, op->fd);
	bool file = f && f->type == FD_FILE;

	fd_drop(e, op->fd);
	/* close() of a file may flush (NFS, FUSE): the executor does it. */
	if (file)
		job_start(e, op);
	else
		complete(e, op, cio__epoll_syscall(op));
}

void cio__epoll_fd_new(void *be_data, int fd)
{
	struct epoll_be *e = be_data;
	struct ep_fd *f = fd_find(e, fd);

	if (!f)
		return;
	for (int dir = DIR_READ; dir <= DIR_WRITE; dir++) {
		while (!cio__list_empty(&f->waiters[dir])) {
			struct cio__op *op = cio__container_of(
				f->waiters[dir].next, struct cio__op, be.ep.node);
			op_unwait(e, op);
			complete(e, op, -EBADF);
		}
	}
	/* The kernel dropped the old registration with the old file. */
	if (f->registered)
		e->nfds--;
	f->registered = false;
	f->type = FD_UNKNOWN;
}

/* -- backend interface ------------------------------------------------------ */

static void epoll_destroy_be(void *data)
{
	struct epoll_be *e = data;

	/* Jobs still queued are taken back; running ones may write into a
	 * task's stack, which is freed after us: wait for them. */
	for (int fd = 0; fd < e->nslots; fd++) {
		struct ep_fd *f = e->fds[fd];
		if (!f)
			continue;
		struct cio__list *n, *next;
		for (n = f->waiters[DIR_JOB].next; n != &f->waiters[DIR_JOB];
		     n = next) {
			struct cio__op *op = cio__container_of(
				n, struct cio__op, be.ep.node);
			next = n->next;
			if (!cio__exec_unqueue(&op->be.ep.job))
				cio__exec_wait(&op->be.ep.job);
		}
		free(f);
	}
	for (struct cio__list *n = e->path_jobs.next; n != &e->path_jobs;
	     n = n->next) {
		struct cio__op *op = cio__container_of(n, struct cio__op,
						       be.ep.node);
		if (!cio__exec_unqueue(&op->be.ep.job))
			cio__exec_wait(&op->be.ep.job);
	}
	free(e->fds);
	close(e->wake_fd);
	close(e->epfd);
	free(e);
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
		if (evs[i].data.fd < 0) {
			uint64_t v;
			ssize_t r = read(e->wake_fd, &v, sizeof(v));
			(void)r;
			atomic_store(&e->loop->wake_pending, 0);
			continue;
		}
		ready(e, evs[i].data.fd, evs[i].events);
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

static bool runs_on_executor(uint8_t kind)
{
	switch (kind) {
	case CIO__OP_OPENAT:
	case CIO__OP_FSYNC:
	case CIO__OP_FALLOCATE:
	case CIO__OP_STATX:
	case CIO__OP_UNLINKAT:
	case CIO__OP_RENAMEAT:
	case CIO__OP_LINKAT:
	case CIO__OP_MKDIRAT:
		return true;
	default:
		return false;
	}
}

static int epoll_submit(void *data, struct cio__op *op)
{
	struct epoll_be *e = data;
	struct ep_fd *f;
	int ret;

	op->timed_out = false;
	op->cqe_flags = 0;
	op->be.ep.self = e;
	cio__timer_init(&op->be.ep.timer, deadline_fire);
	cio__list_init(&op->be.ep.node);
	op->be.ep.queued = false;
	op->be.ep.dir = DIR_READ;
	if (op->kind >= CIO__OP_ACCEPT_MULTI)
		return -EOPNOTSUPP;
	if (op->kind == CIO__OP_NOP || op->kind == CIO__OP_SHUTDOWN) {
		complete(e, op, cio__epoll_syscall(op));
		return 0;
	}
	if (runs_on_executor(op->kind)) {
		job_start(e, op);
		goto armed;
	}
	if (!(f = fd_get(e, op->fd)))
		return op->fd < 0 ? -EBADF : -ENOMEM;
	if (op->kind == CIO__OP_CLOSE) {
		if (cancel_fd_ops(e, f))
			f->closer = op; /* after the running jobs */
		else
			close_now(e, op);
		return 0;
	}
	if ((ret = fd_classify(f, op->fd)) < 0) {
		complete(e, op, ret);
		return 0;
	}
	if (f->type == FD_FILE && op->kind <= CIO__OP_WRITEV) {
		job_start(e, op);
		goto armed;
	}
	if (!attempt(e, op))
		wait_ready(e, f, op);
	return 0;

armed:
	/* Without room for its deadline, a job just runs to its end. */
	if (op->deadline && !cio__list_empty(&op->be.ep.node))
		cio__timer_add(&e->loop->timers, &op->be.ep.timer,
			       op->deadline);
	return 0;
}

static int epoll_cancel(void *data, struct cio__op *op)
{
	struct epoll_be *e = data;

	if (cio__list_empty(&op->be.ep.node))
		return 0; /* complete, or running on no descriptor's list */
	if (op->be.ep.dir == DIR_JOB) {
		if (!op->be.ep.queued) {
			/* still on the backlog */
		} else if (cio__exec_unqueue(&op->be.ep.job)) {
			e->jobs_running--;
			op->be.ep.queued = false;
		} else {
			return 0; /* running: it finishes */
		}
	}
	op_unwait(e, op);
	complete(e, op, -ECANCELED);
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
