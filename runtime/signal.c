/* Signals through a signalfd read by the loop's backend (one read op per
 * loop, re-armed after each batch). */
#include "runtime/signal.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct cio__signals {
	cio_loop *loop;
	int fd;
	sigset_t mask;    /* signals with a handler */
	sigset_t ours;    /* signals this loop blocked (not blocked before) */
	struct {
		cio_callback cb;
		void *arg;
	} h[_NSIG];
	struct cio__op op;
	struct signalfd_siginfo buf[8];
	bool armed;
};

static void arm(struct cio__signals *s);

static void read_done(struct cio__op *op)
{
	struct cio__signals *s = op->owner;
	cio_loop *loop = s->loop;

	s->armed = false;
	if (loop->closed)
		return;
	if (op->res > 0) {
		size_t n = (size_t)op->res / sizeof(s->buf[0]);
		for (size_t i = 0; i < n; i++) {
			unsigned sig = s->buf[i].ssi_signo;
			/* As asyncio: the callback runs from the ready queue. */
			if (sig < _NSIG && s->h[sig].cb)
				cio_call_soon(loop, s->h[sig].cb,
					      s->h[sig].arg, NULL);
		}
	} else if (op->res != -EAGAIN && op->res != -EINTR &&
		   op->res != -ECANCELED) {
		/* The descriptor broke: re-arming would spin. */
		cio__loop_report(loop, CIO_REPORT_RESOURCE, NULL, NULL, op->res,
				 "signal handlers: read: %s", strerror(-op->res));
		return;
	}
	arm(s);
}

static void arm(struct cio__signals *s)
{
	if (s->armed || s->loop->closed)
		return;
	memset(&s->op, 0, sizeof(s->op));
	s->op.kind = CIO__OP_READ;
	s->op.fd = s->fd;
	s->op.done = read_done;
	s->op.owner = s;
	s->op.a.rw.buf = s->buf;
	s->op.a.rw.len = sizeof(s->buf);
	s->op.a.rw.off = -1;
	if (s->loop->be->submit(s->loop->be_data, &s->op) == 0)
		s->armed = true;
}

static cio_loop *current_loop(void)
{
	return cio__tls_task ? cio__tls_task->fut.loop : cio_loop_current();
}

static bool catchable(int sig)
{
	return sig > 0 && sig < _NSIG && sig != SIGKILL && sig != SIGSTOP;
}

int cio_add_signal_handler(int sig, cio_callback cb, void *arg)
{
	cio_loop *loop = current_loop();
	struct cio__signals *s;
	sigset_t one, old;
	int fd;

	if (!loop || loop->closed || !cb || !catchable(sig))
		return -EINVAL;
	if (!(s = loop->signals)) {
		if (!(s = calloc(1, sizeof(*s))))
			return -ENOMEM;
		s->loop = loop;
		s->fd = -1;
		sigemptyset(&s->mask);
		sigemptyset(&s->ours);
		loop->signals = s;
	}
	sigemptyset(&one);
	sigaddset(&one, sig);
	if (!sigismember(&s->mask, sig)) {
		pthread_sigmask(SIG_BLOCK, &one, &old);
		if (!sigismember(&old, sig))
			sigaddset(&s->ours, sig);
		sigaddset(&s->mask, sig);
	}
	if ((fd = signalfd(s->fd, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		int err = -errno;
		sigdelset(&s->mask, sig);
		if (sigismember(&s->ours, sig)) {
			sigdelset(&s->ours, sig);
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		}
		return err;
	}
	s->fd = fd;
	s->h[sig].cb = cb;
	s->h[sig].arg = arg;
	arm(s);
	return 0;
}

int cio_remove_signal_handler(int sig)
{
	cio_loop *loop = current_loop();
	struct cio__signals *s;
	sigset_t one;

	if (!loop || !catchable(sig))
		return -EINVAL;
	s = loop->signals;
	if (!s || !sigismember(&s->mask, sig))
		return 0;
	sigdelset(&s->mask, sig);
	s->h[sig].cb = NULL;
	s->h[sig].arg = NULL;
	/* The descriptor stays (with a smaller mask) until the loop closes:
	 * its read is in flight, and it costs nothing idle. */
	(void)signalfd(s->fd, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigismember(&s->ours, sig)) {
		sigdelset(&s->ours, sig);
		sigemptyset(&one);
		sigaddset(&one, sig);
		pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	}
	return 1;
}

/* Loop close, after the backend drained (the read op is done). */
void cio__signals_release(cio_loop *loop)
{
	struct cio__signals *s = loop->signals;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	/* Closed on its own thread, as loops are: give back what we took. */
	pthread_sigmask(SIG_UNBLOCK, &s->ours, NULL);
	free(s);
	loop->signals = NULL;
}
