/* echo — a latency histogram in the HDR manner: log-linear buckets, 32 per
 * power of two, so every recorded value is known to within 1/32 (3%) of
 * itself from 1 ns to hours, in a fixed 15 KiB, with O(1) recording. */
#ifndef ECHO_HIST_H
#define ECHO_HIST_H

#include <stdint.h>

#define EH_SUB_BITS 5
#define EH_BUCKETS ((64 - EH_SUB_BITS + 1) << EH_SUB_BITS)

struct eh_hist {
	uint64_t count;
	uint64_t max; /* exact */
	uint64_t b[EH_BUCKETS];
};

void eh_record(struct eh_hist *h, uint64_t v);
/* Add every value of `from` to `to`. */
void eh_merge(struct eh_hist *to, const struct eh_hist *from);
/* The value at quantile q (0..1): the middle of its bucket, never above
 * the maximum; 0 for an empty histogram. */
double eh_quantile(const struct eh_hist *h, double q);

#endif
