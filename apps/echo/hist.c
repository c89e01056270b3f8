/* echo — the latency histogram (see hist.h). */
#include "hist.h"

/* Values below 2^SUB are exact (one bucket each); above, the exponent
 * picks a group of 2^SUB buckets and the next SUB bits pick the bucket. */
static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < (1u << EH_SUB_BITS))
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	return ((e - EH_SUB_BITS + 1) << EH_SUB_BITS) +
	       (unsigned)(v >> (e - EH_SUB_BITS)) - (1u << EH_SUB_BITS);
}

/* Lowest value of bucket i and its width. */
static void bucket_range(unsigned i, double *lo, double *width)
{
	unsigned k;
	uint64_t m;

	if (i < (2u << EH_SUB_BITS)) {
		*lo = i;
		*width = 1;
		return;
	}
	k = (i >> EH_SUB_BITS) - 1;
	m = (i & ((1u << EH_SUB_BITS) - 1)) + (1u << EH_SUB_BITS);
	*lo = (double)(m << k);
	*width = (double)(1ull << k);
}

void eh_record(struct eh_hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

void eh_merge(struct eh_hist *to, const struct eh_hist *from)
{
	for (unsigned i = 0; i < EH_BUCKETS; i++)
		to->b[i] += from->b[i];
	to->count += from->count;
	if (from->max > to->max)
		to->max = from->max;
}

double eh_quantile(const struct eh_hist *h, double q)
{
	uint64_t rank, seen = 0;
	double lo, width, v;

	if (!h->count)
		return 0;
	/* The smallest value with at least q of the values at or below. */
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < EH_BUCKETS; i++) {
		seen += h->b[i];
		if (seen < rank)
			continue;
		bucket_range(i, &lo, &width);
		v = lo + (width - 1) / 2;
		return v > (double)h->max ? (double)h->max : v;
	}
	return (double)h->max;
}
