/* pipeline queue: the seed's producers and consumers around an
 * asyncio.Queue.
 *
 *     producers = [create_task(produce(n, q)) for n in range(nprod)]
 *     consumers = [create_task(consume(n, q)) for n in range(ncon)]
 *     await asyncio.gather(*producers)
 *     await q.join()   # every item put was taken and marked done
 *     for c in consumers:
 *         c.cancel()
 *
 * Consumers never end on their own: they are cancelled, wherever they are
 * parked (a sleep or a get), once join() has returned. A get cancelled
 * while it waits takes nothing (sync/queue.h), so no item is lost or
 * taken twice; an item still queued when things go wrong (a SIGINT) is
 * freed by the queue's drop callback.
 *
 * Two lines beyond the seed's say what the seed's comments say: how many
 * items went through when join() returned, and that every consumer ended
 * cancelled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coreio.h"
#include "pipeline.h"

/* The seed's (i, t): five random bytes in hex, and when it was put. */
struct item {
	char hex[11];
	double t;
};

struct shared {
	const struct pl_opts *o;
	cio_queue *q;
	unsigned produced, consumed;
};

struct worker {
	struct shared *sh;
	unsigned name;
	struct pl_rng rng;
};

static void drop_item(void *item, void *arg)
{
	(void)arg;
	free(item);
}

static int rand_sleep(struct worker *w, const char *caller)
{
	int i = pl_randint(&w->rng, 0, 3);

	printf("%s %u sleeping for %d seconds.\n", caller, w->name, i);
	return pl_sleep(w->sh->o, i);
}

/* os.urandom(5).hex(), from the producer's stream so a seed replays it. */
static void make_item(struct worker *w, struct item *it)
{
	uint64_t v = pl_rng_next(&w->rng);

	for (int k = 0; k < 5; k++)
		snprintf(it->hex + 2 * k, 3, "%02x",
			 (unsigned)(v >> (8 * k)) & 0xffu);
}

static intptr_t produce(void *arg)
{
	struct worker *w = arg;
	int n = pl_randint(&w->rng, 0, (int)w->sh->o->max_items), ret;

	for (int k = 0; k < n; k++) {
		struct item *it;

		ret = rand_sleep(w, "Producer");
		if (ret < 0)
			return ret;
		it = malloc(sizeof(*it));
		if (!it)
			return -ENOMEM;
		make_item(w, it);
		it->t = pl_now();
		ret = cio_queue_put(w->sh->q, it, CIO_NO_DEADLINE);
		if (ret < 0) {
			free(it);
			return ret;
		}
		w->sh->produced++;
		printf("Producer %u added <%s> to queue.\n", w->name, it->hex);
	}
	return 0;
}

static intptr_t consume(void *arg)
{
	struct worker *w = arg;
	void *p;
	int ret;

	for (;;) {
		ret = rand_sleep(w, "Consumer");
		if (ret < 0)
			return ret; /* -ECANCELED: the end of a consumer */
		ret = cio_queue_get(w->sh->q, &p, CIO_NO_DEADLINE);
		if (ret < 0)
			return ret;
		struct item *it = p;
		printf("Consumer %u got element <%s> in %0.5f seconds.\n",
		       w->name, it->hex, pl_now() - it->t);
		free(it);
		w->sh->consumed++;
		cio_queue_task_done(w->sh->q);
	}
}

/* Spawn n workers running fn; how many were spawned. */
static size_t spawn_all(struct shared *sh, struct worker *w, cio_task **t,
			size_t n, cio_task_fn fn, char kind, intptr_t *err)
{
	for (size_t i = 0; i < n; i++) {
		w[i] = (struct worker){ .sh = sh, .name = (unsigned)i };
		pl_rng_init(&w[i].rng, sh->o->seed, kind, i);
		*err = cio_spawn(&t[i], fn, &w[i], NULL);
		if (*err < 0)
			return i;
	}
	return n;
}

/* Cancel the tasks, await them, count those that ended cancelled. */
static unsigned cancel_all(cio_task **t, size_t n)
{
	unsigned cancelled = 0;

	for (size_t i = 0; i < n; i++)
		cio_task_cancel(t[i]);
	for (size_t i = 0; i < n; i++) {
		cio_await_task(t[i]);
		cancelled += cio_task_cancelled(t[i]);
		cio_task_unref(t[i]);
	}
	return cancelled;
}

static intptr_t await_producers(cio_task **t, size_t n)
{
	cio_future **f = calloc(n ? n : 1, sizeof(*f)), *all;
	intptr_t ret;

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		f[i] = cio_task_future(t[i]);
	ret = cio_gather(&all, f, n, 0);
	if (ret == 0) {
		ret = cio_await(all);
		cio_future_unref(all);
	}
	free(f);
	return ret;
}

intptr_t pl_queue_main(void *arg)
{
	const struct pl_opts *o = arg;
	struct cio_queue_opts qo = { .drop = drop_item };
	struct shared sh = { .o = o };
	size_t np = o->producers, nc = o->consumers, sp = 0, sc = 0;
	struct worker *w = calloc(np + nc, sizeof(*w));
	cio_task **t = calloc(np + nc, sizeof(*t));
	intptr_t ret = -ENOMEM;
	unsigned cancelled;

	if (!w || !t || (ret = cio_queue_new(&sh.q, &qo)) < 0)
		goto out;
	sp = spawn_all(&sh, w, t, np, produce, 'p', &ret);
	if (sp == np)
		sc = spawn_all(&sh, w + np, t + np, nc, consume, 'q', &ret);
	if (sp < np || sc < nc)
		goto out;

	ret = await_producers(t, np);
	if (ret == 0)
		ret = cio_queue_join(sh.q, CIO_NO_DEADLINE);
	if (ret < 0)
		goto out;
	printf("q.join() returned: %u items produced, %u consumed.\n",
	       sh.produced, sh.consumed);
	cancelled = cancel_all(t + np, nc);
	sc = 0;
	printf("Cancelled %u of %zu consumers.\n", cancelled, nc);
out:
	/* On failure or SIGINT: stop everyone before the queue goes. */
	cancel_all(t + np, sc);
	cancel_all(t, sp);
	if (sh.q && cio_queue_free(sh.q) < 0 && ret == 0)
		ret = -EBUSY;
	free(t);
	free(w);
	return ret;
}
