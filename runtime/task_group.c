/* Task groups: children tracked by intrusive done callbacks, the parent
 * parked in wait() until the last one ends (see task_group.h). */
#include "runtime/task_group.h"
#include "runtime/loop_internal.h"
#include "runtime/task_internal.h"

#include <stdlib.h>
#include <string.h>

struct child {
	struct cio__fut_cb cb;   /* on the child's future */
	struct cio__list link;   /* group->live */
	cio_task *task;          /* the group's reference */
	cio_task_group *g;
};

struct cio_task_group {
	cio_loop *loop;
	cio_task *parent;        /* referenced until the group is released */
	uint32_t base_cancelling;
	struct cio__list live;   /* children not yet ended */
	size_t nlive;
	int first_error;         /* kept even if `errors` cannot grow */
	int *errors;
	size_t nerrors, cap;
	bool aborting;           /* no more spawns; children cancelled */
	bool parent_cancel_requested;
	bool exiting;            /* wait() started */
	bool waiting;            /* the parent is parked in wait() */
	bool freed;              /* cio_task_group_free() was called */
};

static void release(cio_task_group *g)
{
	cio_task_unref(g->parent);
	free(g->errors);
	free(g);
}

/* The group goes once its owner let go and nothing can reach it any more:
 * no child callback to come, no parent parked in wait(). */
static void maybe_release(cio_task_group *g)
{
	if (g->freed && g->nlive == 0 && !g->waiting)
		release(g);
}

static int abort_children(cio_task_group *g)
{
	struct cio__list *n;
	int n_cancelled = 0;

	g->aborting = true;
	/* Cancelling only schedules work; no child callback runs from here,
	 * so the list stays as it is while we walk it. */
	for (n = g->live.next; n != &g->live; n = n->next) {
		struct child *c = cio__container_of(n, struct child, link);
		n_cancelled += cio_task_cancel(c->task);
	}
	return n_cancelled;
}

static void record_error(cio_task_group *g, int err)
{
	if (!g->first_error)
		g->first_error = err;
	if (g->nerrors == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 4;
		int *v = realloc(g->errors, cap * sizeof(*v));
		if (!v)
			return;
		g->errors = v;
		g->cap = cap;
	}
	g->errors[g->nerrors++] = err;
}

static void on_child_failed(cio_task_group *g, cio_task *child, int err)
{
	cio_task *p = g->parent;

	record_error(g, err);
	if (p->state == CIO__TASK_DONE) {
		cio__loop_report(g->loop, CIO_REPORT_ERROR_NEVER_RETRIEVED,
				 child, &child->fut, err,
				 "task '%s' of a task group failed (%d) after "
				 "its parent '%s' ended",
				 cio_task_name(child), err, cio_task_name(p));
		return;
	}
	/* The first failure stops the body too: the parent's current await
	 * is interrupted, and wait() withdraws this request again. */
	if (!g->aborting && !g->parent_cancel_requested) {
		abort_children(g);
		g->parent_cancel_requested = true;
		cio_task_cancel(p);
	}
}

static void child_done(struct cio__fut_cb *cb, cio_future *fut)
{
	struct child *c = cio__container_of(cb, struct child, cb);
	cio_task_group *g = c->g;

	cio__list_del(&c->link);
	g->nlive--;
	/* A freed group collects nothing: the unread error is left for
	 * whoever still holds the task, or for the never-retrieved report. */
	if (fut->state == CIO__FUT_ERROR && !g->freed)
		on_child_failed(g, c->task, (int)cio__future_take(fut));
	cio_task_unref(c->task);
	free(c);
	if (g->nlive == 0 && g->waiting)
		cio__task_wake(g->parent, 0);
	maybe_release(g);
}

int cio_task_group_new(cio_task_group **out)
{
	cio_task *t = cio__tls_task;
	cio_task_group *g;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!t)
		return -EPERM;
	if (!(g = calloc(1, sizeof(*g))))
		return -ENOMEM;
	g->loop = t->fut.loop;
	g->parent = cio_task_ref(t);
	g->base_cancelling = t->cancelling;
	cio__list_init(&g->live);
	*out = g;
	return 0;
}

int cio_task_group_spawn(cio_task_group *g, cio_task **out, cio_task_fn fn,
			 void *arg, const struct cio_task_opts *opts)
{
	struct cio_task_opts o = { 0 };
	struct child *c;
	int ret;

	if (out)
		*out = NULL;
	if (!g || !fn || g->freed)
		return -EINVAL;
	if (opts) {
		if (opts->loop && opts->loop != g->loop)
			return -EINVAL;
		o = *opts;
	}
	o.loop = g->loop;
	if (g->aborting || (g->exiting && g->nlive == 0))
		return -EINVAL;
	if (!(c = malloc(sizeof(*c))))
		return -ENOMEM;
	ret = cio_spawn(&c->task, fn, arg, &o);
	if (ret < 0) {
		free(c);
		return ret;
	}
	c->g = g;
	cio__fut_cb_init(&c->cb, child_done);
	cio__future_add_cb(&c->task->fut, &c->cb);
	cio__list_add_tail(&g->live, &c->link);
	g->nlive++;
	if (out)
		*out = cio_task_ref(c->task);
	return 0;
}

int cio_task_group_cancel(cio_task_group *g)
{
	if (!g || g->freed)
		return -EINVAL;
	return abort_children(g);
}

/* A cancel of the parent parked in wait() ends that park; wait() decides
 * what it means (as asyncio's __aexit__ catches the CancelledError of its
 * await and loops). */
static void wait_cancel(cio_task *t, void *ctx)
{
	(void)ctx;
	cio__task_wake(t, -ECANCELED);
}

static void wait_abandon(cio_task *t, void *ctx)
{
	cio_task_group *g = ctx;

	(void)t;
	g->waiting = false;
}

static const struct cio__park_ops wait_park = {
	.cancel = wait_cancel,
	.abandon = wait_abandon,
};

/* The parent was cancelled from outside: the group ends with -ECANCELED
 * unless a shutdown was already under way for another reason. */
static void parent_cancelled(cio_task_group *g, bool *propagate)
{
	if (g->aborting)
		return;
	*propagate = true;
	abort_children(g);
}

int cio_task_group_wait(cio_task_group *g)
{
	cio_task *t = cio__tls_task;
	bool propagate = false;
	uint32_t own;
	int rc = 0;

	if (!g || g->freed)
		return -EINVAL;
	if (!t || t != g->parent)
		return -EPERM;
	if (g->exiting)
		return -EINVAL;
	g->exiting = true;
	/* A request the body saw and did not withdraw is, in C, the body
	 * ending with CancelledError. */
	own = g->base_cancelling + (g->parent_cancel_requested ? 1 : 0);
	if (t->cancelling > own)
		parent_cancelled(g, &propagate);

	while (g->nlive > 0) {
		intptr_t v;
		if (cio__task_check_cancel(t) < 0) {
			parent_cancelled(g, &propagate);
			continue;
		}
		g->waiting = true;
		v = cio__task_park(&wait_park, g);
		g->waiting = false;
		if (v == -ECANCELED) {
			t->cancel_pending = false;
			parent_cancelled(g, &propagate);
		}
	}

	if (g->parent_cancel_requested && cio_task_uncancel(t) == 0)
		propagate = false;
	g->parent_cancel_requested = false;
	if (g->first_error) {
		/* The error wins over an outside cancellation, which must not
		 * be lost: request it again for the parent's next await. */
		if (t->cancelling > 0) {
			cio_task_uncancel(t);
			cio_task_cancel(t);
		}
		rc = g->first_error;
	} else if (propagate) {
		t->cancel_pending = false; /* delivered by this return */
		rc = -ECANCELED;
	}
	/* Someone else may have freed the group while we waited. */
	maybe_release(g);
	return rc;
}

int cio_task_group_errors(cio_task_group *g, int *errs, size_t cap)
{
	if (!g || (!errs && cap))
		return -EINVAL;
	if (cap > g->nerrors)
		cap = g->nerrors;
	if (cap)
		memcpy(errs, g->errors, cap * sizeof(*errs));
	return (int)g->nerrors;
}

void cio_task_group_free(cio_task_group *g)
{
	struct cio__list *n, *next;

	if (!g || g->freed)
		return;
	g->freed = true;
	if (g->loop->closed) {
		/* No callback will ever run: the children were torn down with
		 * the loop but our references keep them allocated. */
		for (n = g->live.next; n != &g->live; n = next) {
			struct child *c = cio__container_of(n, struct child, link);
			next = n->next;
			cio__future_del_cb(&c->cb);
			cio_task_unref(c->task);
			free(c);
		}
		cio__list_init(&g->live);
		g->nlive = 0;
		g->waiting = false;
	} else if (g->nlive > 0) {
		abort_children(g);
	}
	maybe_release(g);
}
