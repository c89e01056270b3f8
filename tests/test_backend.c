/* Backends: io_uring setup flag step-down, a full submission queue, a full
 * completion queue, kernel-operation awaits and their cancellation, the
 * auto fallback. Suites run on both backends ($CIO_BACKEND); the step-down
 * tests ask for io_uring explicitly. */
#include "helpers/harness.h"
#include "runtime/backend.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern unsigned cio__uring_reject_flags;

static bool has_flag(const char *flags, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = flags; *p;) {
		size_t len = strcspn(p, "|");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (p[len] == '|');
	}
	return false;
}

/* Timers, a kernel operation and a cross-thread wake-up on one loop. */
static intptr_t exercise(void *arg)
{
	struct cio__op op = { .kind = CIO__OP_NOP };
	(void)arg;
	if (cio_sleep(CIO_NSEC_PER_MSEC) != 0)
		return -EIO;
	intptr_t v = cio__op_await(&op);
	if (v != 0)
		return v;
	if (cio_yield() != 0)
		return -EIO;
	return 42;
}

Test(backend, uring_flag_step_down)
{
	static const struct {
		unsigned reject;
		const char *gone[2];
	} cases[] = {
		{ IORING_SETUP_DEFER_TASKRUN, { "DEFER_TASKRUN", NULL } },
		/* DEFER_TASKRUN needs SINGLE_ISSUER: both go. */
		{ IORING_SETUP_SINGLE_ISSUER, { "SINGLE_ISSUER", "DEFER_TASKRUN" } },
		{ IORING_SETUP_TASKRUN_FLAG, { "TASKRUN_FLAG", NULL } },
		{ IORING_SETUP_COOP_TASKRUN, { "COOP_TASKRUN", NULL } },
		{ IORING_SETUP_R_DISABLED, { NULL, NULL } },
		{ IORING_SETUP_CQSIZE, { NULL, NULL } },
		{ IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN,
		  { "DEFER_TASKRUN", "COOP_TASKRUN" } },
	};
	struct cio_loop_opts o = { .backend = CIO_BACKEND_URING };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cio__uring_reject_flags = cases[i].reject;
		cio_loop *loop = th_loop_new_opts(&o);
		cr_assert_str_eq(cio_loop_backend_name(loop), "io_uring");
		cr_assert_eq(th_run(loop, exercise, NULL), 42, "case %zu", i);
		const char *flags = cio_loop_backend_flags(loop);
		cr_log_info("reject %#x: %s", cases[i].reject, flags);
		for (int j = 0; j < 2; j++)
			if (cases[i].gone[j])
				cr_assert_not(has_flag(flags, cases[i].gone[j]),
					      "case %zu: '%s' lists %s", i,
					      flags, cases[i].gone[j]);
		th_loop_free(loop);
	}

	/* Everything refused: a plain ring, still a working loop. */
	cio__uring_reject_flags = ~0u;
	cio_loop *loop = th_loop_new_opts(&o);
	cr_assert_eq(th_run(loop, exercise, NULL), 42);
	const char *flags = cio_loop_backend_flags(loop);
	cr_assert(flags[0] == '\0' || strcmp(flags, "REGISTERED_FD") == 0,
		  "%s", flags);
	th_loop_free(loop);
	cio__uring_reject_flags = 0;
	th_leak_check();
}

/* -- many operations on a small ring -------------------------------------------- */

struct nops {
	struct cio__op *ops;
	int *hits;
	int n, done, bad;
	int done_before_park;
	cio_future *all;
};

static void nop_done(struct cio__op *op)
{
	struct nops *ns = op->owner;
	ns->hits[op - ns->ops]++;
	if (op->res != 0)
		ns->bad++;
	if (++ns->done == ns->n)
		cr_assert_eq(cio_future_set_result(ns->all, ns->done), 0);
}

static intptr_t submit_many(void *arg)
{
	struct nops *ns = arg;
	cio_loop *loop = cio_loop_current();
	for (int i = 0; i < ns->n; i++) {
		ns->ops[i] = (struct cio__op){ .done = nop_done, .owner = ns,
					       .kind = CIO__OP_NOP };
		int rc = loop->be->submit(loop->be_data, &ns->ops[i]);
		if (rc < 0)
			return rc;
	}
	ns->done_before_park = ns->done;
	return cio_await(ns->all);
}

static void run_nops(const struct cio_loop_opts *o, int n)
{
	cio_loop *loop = th_loop_new_opts(o);
	struct nops ns = { .n = n };
	ns.ops = calloc((size_t)n, sizeof(*ns.ops));
	ns.hits = calloc((size_t)n, sizeof(*ns.hits));
	cr_assert_not_null(ns.ops);
	cr_assert_not_null(ns.hits);
	cr_assert_eq(cio_future_new(loop, &ns.all), 0);

	cr_assert_eq(th_run(loop, submit_many, &ns), n);
	cr_assert_eq(ns.done, n);
	cr_assert_eq(ns.bad, 0);
	for (int i = 0; i < n; i++)
		cr_assert_eq(ns.hits[i], 1, "op %d completed %d times", i,
			     ns.hits[i]);
	if (strcmp(cio_loop_backend_name(loop), "io_uring") == 0)
		/* The queue was flushed from the submitting task, and the
		 * completions that did not fit the CQ were drained then too:
		 * the kernel's overflow backlog stays small. */
		cr_assert_leq(n - ns.done_before_park, 64,
			      "%d completions were still in the kernel",
			      n - ns.done_before_park);
	else
		/* epoll delivers at the next poll, as a CQE would be. */
		cr_assert_eq(ns.done_before_park, 0);
	cr_log_info("%s: %d ops, %d completed before the task parked",
		    cio_loop_backend_name(loop), n, ns.done_before_park);
	cio_future_unref(ns.all);
	free(ns.ops);
	free(ns.hits);
	th_loop_free(loop);
}

Test(backend, full_submission_queue_is_flushed)
{
	struct cio_loop_opts o = { .ring_entries = 4 };
	run_nops(&o, 5000);
	th_leak_check();
}

/* ring_entries 4: CQ of 16. Ten thousand completions overflow it many
 * times over; none may be lost or delivered twice. */
Test(backend, completion_queue_overflow_loses_nothing)
{
	struct cio_loop_opts o = { .ring_entries = 4 };
	run_nops(&o, 10000);
	o.ring_entries = 1;
	run_nops(&o, 10000);
	th_leak_check();
}

Test(backend, overflow_without_cqsize)
{
	/* CQ twice the SQ only: overflow sooner. */
	struct cio_loop_opts o = { .ring_entries = 2 };
	cio__uring_reject_flags = IORING_SETUP_CQSIZE;
	run_nops(&o, 10000);
	cio__uring_reject_flags = 0;
	th_leak_check();
}

/* -- awaiting an operation ----------------------------------------------------- */

static intptr_t one_op(void *arg)
{
	struct cio__op *op = arg;
	return cio__op_await(op);
}

Test(backend, op_await_basics)
{
	cio_loop *loop = th_loop_new();
	struct cio__op op = { .kind = CIO__OP_NOP, .res = 123 };
	cr_assert_eq(cio__op_await(&op), -EPERM, "outside a task");
	cr_assert_eq(th_run(loop, one_op, &op), 0);
	cr_assert_eq(op.res, 0);
	cr_assert_not(op.cancel_sent);
	/* Unknown operations are refused by the backend. */
	struct cio__op bad = { .kind = 200 };
	cr_assert_eq(th_run(loop, one_op, &bad), -EOPNOTSUPP);
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t cancelled_op(void *arg)
{
	struct cio__op *op = arg;
	cr_assert_eq(cio_task_cancel(cio_current_task()), 1);
	intptr_t v = cio__op_await(op);
	cr_assert_eq(cio_yield(), 0);
	return v;
}

Test(backend, op_await_with_pending_cancel_submits_nothing)
{
	cio_loop *loop = th_loop_new();
	struct cio__op op = { .kind = CIO__OP_NOP };
	cr_assert_eq(th_run(loop, cancelled_op, &op), -ECANCELED);
	cr_assert_null(op.done, "never handed to the backend");
	th_loop_free(loop);
}

static int cancels_sent;
static int (*real_cancel)(void *data, struct cio__op *op);

static int counting_cancel(void *data, struct cio__op *op)
{
	cancels_sent++;
	return real_cancel(data, op);
}

struct opc {
	cio_task *target;
	struct cio__op op;
	int crc, crc2;
	int state_after_cancel, state_after_second;
	bool sent_after_cancel;
	intptr_t v, next;
};

static intptr_t op_then_yield(void *arg)
{
	struct opc *c = arg;
	c->v = cio__op_await(&c->op);
	c->next = cio_yield();
	return 0;
}

static intptr_t op_canceller(void *arg)
{
	struct opc *c = arg;
	c->crc = cio_task_cancel(c->target);
	c->state_after_cancel = c->target->state;
	c->sent_after_cancel = c->op.cancel_sent;
	c->crc2 = cio_task_cancel(c->target);
	c->state_after_second = c->target->state;
	return 0;
}

/* Cancelling a task parked on an operation asks the backend to cancel it
 * once and keeps the task parked until the completion arrives; the
 * operation's real result is returned and the cancellation stays pending
 * for the next await (DESIGN.md section 3). */
Test(backend, op_cancel_keeps_the_task_parked)
{
	cio_loop *loop = th_loop_new();
	const struct cio__backend_ops *orig = loop->be;
	struct cio__backend_ops counting = *orig;
	struct opc c = { .op = { .kind = CIO__OP_NOP } };

	real_cancel = loop->be->cancel;
	counting.cancel = counting_cancel;
	loop->be = &counting;
	c.target = th_spawn(loop, op_then_yield, &c, NULL);
	cio_task *k = th_spawn(loop, op_canceller, &c, NULL);
	cr_assert_eq(cio_loop_run_until_complete(loop, cio_task_future(c.target)),
		     0);
	cr_assert_eq(c.crc, 1);
	cr_assert_eq(c.crc2, 1);
	cr_assert_eq(c.state_after_cancel, CIO__TASK_PARKED,
		     "still parked after the cancel");
	cr_assert_eq(c.state_after_second, CIO__TASK_PARKED);
	cr_assert(c.sent_after_cancel);
	cr_assert_eq(cancels_sent, 1, "the backend is asked once");
	cr_assert_eq(c.v, 0, "the operation's real result");
	cr_assert_eq(c.next, -ECANCELED, "the cancellation is delivered next");
	cr_assert_not(cio_task_cancelled(c.target));
	cr_assert_eq(cio_task_cancelling(c.target), 2);
	cio_task_unref(k);
	cio_task_unref(c.target);
	loop->be = orig;
	th_loop_free(loop);
	th_leak_check();
}

static intptr_t ops_in_a_row(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		struct cio__op op = { .kind = CIO__OP_NOP, .res = -1 };
		if (cio__op_await(&op) != 0)
			return -EIO;
	}
	return 7;
}

Test(backend, many_awaited_ops_on_a_tiny_ring)
{
	struct cio_loop_opts o = { .ring_entries = 1 };
	cio_loop *loop = th_loop_new_opts(&o);
	cr_assert_eq(th_run(loop, ops_in_a_row, NULL), 7);
	th_loop_free(loop);
}

/* -- backend choice -------------------------------------------------------------- */

Test(backend, auto_falls_back_to_epoll)
{
	struct cio_loop_opts ep = { .backend = CIO_BACKEND_EPOLL };
	cio_loop *loop = th_loop_new_opts(&ep);
	/* An io_uring set-up that cannot succeed (too many entries), chosen
	 * automatically: epoll, with a notice. */
	struct cio_loop_opts o = { .ring_entries = 40000 };
	const struct cio__backend_ops *ops = NULL;
	void *data = NULL;
	struct th_stderr cap;

	unsetenv("CIO_BACKEND");
	th_stderr_begin(&cap);
	cr_assert_eq(cio__backend_open(loop, &o, &ops, &data), 0);
	char *err = th_stderr_end(&cap);
	cr_assert_eq(ops, &cio__backend_epoll);
	cr_assert_not_null(strstr(err, "coreio: io_uring unavailable "
				       "(Invalid argument); using the epoll "
				       "backend"),
			   "%s", err);
	free(err);
	ops->destroy(data);

	/* Asked for explicitly, the failure is returned. */
	o.backend = CIO_BACKEND_URING;
	cr_assert_eq(cio__backend_open(loop, &o, &ops, &data), -EINVAL);
	th_loop_free(loop);
	th_leak_check();
}
