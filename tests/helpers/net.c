#include "helpers/net.h"

uint8_t th_pat(size_t i, unsigned seed)
{
	return (uint8_t)(i * 131u + (i >> 9) + seed * 29u);
}

void th_fill_pat(uint8_t *b, size_t n, size_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = th_pat(off + i, seed);
}

void th_check_pat(const uint8_t *b, size_t n, size_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != th_pat(off + i, seed))
			cr_assert_fail("byte %zu: %u, want %u", off + i, b[i],
				       th_pat(off + i, seed));
}

void th_stream_finish(cio_stream *s, int want)
{
	int64_t later = cio_deadline_after(20 * CIO_NSEC_PER_SEC);

	cr_assert_eq(cio_stream_close(s), 0);
	cr_assert_eq(cio_stream_wait_closed(s, later), want);
	cio_stream_free(s);
}
