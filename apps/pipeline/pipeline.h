/* pipeline — two asyncio design patterns from the Real Python walkthrough
 * (seeds/003, "Chaining" and "使用 Queue"), on coreio:
 *
 *   chain  coroutines chained part1 -> part2, several chains at once
 *          (chain.py: asyncio.gather of chain(n));
 *   queue  producers and consumers around a FIFO queue with task_done()
 *          and join(), the consumers cancelled once the queue is drained.
 *
 * Randomness is seeded: every chain, producer and consumer draws from its
 * own stream, derived from --seed and its number, so what each one prints
 * is the same for a given seed however the tasks interleave. The sleeps
 * are the seed's whole seconds times --time-scale, so a test can run the
 * same program logic in milliseconds.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PL_MAX_CHAINS 10000u
#define PL_MAX_WORKERS 10000u
#define PL_MAX_ITEMS 1000000u

struct pl_opts {
	uint64_t seed;
	double time_scale; /* a "second" of the seed lasts this many */
	/* chain */
	const long *chain_n;
	size_t nchains;
	/* queue */
	unsigned producers, consumers;
	unsigned max_items; /* each producer makes randint(0, max_items) */
};

/* One random stream (splitmix64: tiny, fast, good enough to draw sleeps). */
struct pl_rng {
	uint64_t state;
};

/* Stream `index` of kind `kind` ('c' chain, 'p' producer, 'q' consumer)
 * for `seed`: distinct streams for distinct (kind, index). */
void pl_rng_init(struct pl_rng *r, uint64_t seed, char kind, uint64_t index);
uint64_t pl_rng_next(struct pl_rng *r);
/* Python's random.randint(lo, hi): uniform in [lo, hi], both included. */
int pl_randint(struct pl_rng *r, int lo, int hi);

/* Await `seconds` of the seed's time, i.e. seconds * time_scale.
 * cio_sleep()'s result: 0 or -ECANCELED. */
int pl_sleep(const struct pl_opts *o, int seconds);
/* cio_loop_time() in seconds, for the "took" and "in" figures. */
double pl_now(void);

/* The modes, as main tasks of cio_run(): 0, or a negative errno. */
intptr_t pl_chain_main(void *opts);
intptr_t pl_queue_main(void *opts);

#endif
