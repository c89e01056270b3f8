/* pipeline — seeded random streams and scaled sleeps. */
#include "coreio.h"
#include "pipeline.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void pl_rng_init(struct pl_rng *r, uint64_t seed, char kind, uint64_t index)
{
	/* Mix the stream's name into the seed so that neighbouring seeds
	 * and neighbouring indexes start far apart. */
	uint64_t x = seed ^ ((uint64_t)(unsigned char)kind << 56);

	x = splitmix64(&x) ^ index;
	r->state = splitmix64(&x);
}

uint64_t pl_rng_next(struct pl_rng *r)
{
	return splitmix64(&r->state);
}

int pl_randint(struct pl_rng *r, int lo, int hi)
{
	uint64_t span = (uint64_t)((int64_t)hi - lo) + 1, limit, v;

	if (hi <= lo)
		return lo;
	/* Reject the top sliver so every value is equally likely. */
	limit = UINT64_MAX - UINT64_MAX % span;
	do
		v = pl_rng_next(r);
	while (v >= limit);
	return lo + (int)(v % span);
}

int pl_sleep(const struct pl_opts *o, int seconds)
{
	double ns = (double)seconds * o->time_scale * (double)CIO_NSEC_PER_SEC;

	/* cio_sleep(0) still yields, as asyncio.sleep(0): a zero time scale
	 * keeps every await point. */
	return cio_sleep((int64_t)ns);
}

double pl_now(void)
{
	return (double)cio_loop_time() / (double)CIO_NSEC_PER_SEC;
}
