/* pipeline chain: the seed's chain.py.
 *
 *     async def chain(n):
 *         p1 = await part1(n)
 *         p2 = await part2(n, p1)
 *
 * Each chain is a task; the chains run at once (cio_gather), and within
 * one chain part2 starts only when part1 has returned: the printed lines
 * of one chain are always in causal order, the chains' lines interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coreio.h"
#include "pipeline.h"

struct chain {
	const struct pl_opts *o;
	long n;
	struct pl_rng rng;
	char p1[32];  /* "result<n>-1" */
	char p2[96];  /* "result<n>-2 derived from result<n>-1" */
};

static int part1(struct chain *c)
{
	int i = pl_randint(&c->rng, 0, 10), ret;

	printf("part1(%ld) sleeping for %d seconds.\n", c->n, i);
	ret = pl_sleep(c->o, i);
	if (ret < 0)
		return ret;
	snprintf(c->p1, sizeof(c->p1), "result%ld-1", c->n);
	printf("Returning part1(%ld) == %s.\n", c->n, c->p1);
	return 0;
}

/* Python prints the argument tuple: part2(9, 'result9-1'). */
static int part2(struct chain *c, const char *arg)
{
	int i = pl_randint(&c->rng, 0, 10), ret;

	printf("part2(%ld, '%s') sleeping for %d seconds.\n", c->n, arg, i);
	ret = pl_sleep(c->o, i);
	if (ret < 0)
		return ret;
	snprintf(c->p2, sizeof(c->p2), "result%ld-2 derived from %s", c->n,
		 arg);
	printf("Returning part2(%ld, '%s') == %s.\n", c->n, arg, c->p2);
	return 0;
}

static intptr_t chain(void *arg)
{
	struct chain *c = arg;
	double start = pl_now();
	int ret;

	ret = part1(c);
	if (ret < 0)
		return ret;
	ret = part2(c, c->p1);
	if (ret < 0)
		return ret;
	printf("-->Chained result%ld => %s (took %0.2f seconds).\n", c->n,
	       c->p2, pl_now() - start);
	return 0;
}

/* Cancel what still runs (after a failure or a SIGINT) and wait for it. */
static void finish(cio_task **t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cio_task_cancel(t[i]);
	for (size_t i = 0; i < n; i++) {
		cio_await_task(t[i]);
		cio_task_unref(t[i]);
	}
}

intptr_t pl_chain_main(void *arg)
{
	const struct pl_opts *o = arg;
	struct chain *c = calloc(o->nchains, sizeof(*c));
	cio_task **t = calloc(o->nchains, sizeof(*t));
	cio_future **f = calloc(o->nchains, sizeof(*f));
	cio_future *all = NULL;
	intptr_t ret = 0;
	size_t n = 0;

	if (!c || !t || !f) {
		ret = -ENOMEM;
		goto out;
	}
	for (; n < o->nchains; n++) {
		c[n].o = o;
		c[n].n = o->chain_n[n];
		/* By position, so "chain 3 3" runs two different chains. */
		pl_rng_init(&c[n].rng, o->seed, 'c', n);
		ret = cio_spawn(&t[n], chain, &c[n], NULL);
		if (ret < 0)
			goto out;
		f[n] = cio_task_future(t[n]);
	}
	/* await asyncio.gather(*(chain(n) for n in args)) */
	ret = cio_gather(&all, f, n, 0);
	if (ret == 0)
		ret = cio_await(all);
out:
	if (all)
		cio_future_unref(all);
	if (t)
		finish(t, n);
	free(f);
	free(t);
	free(c);
	return ret;
}
