/* Test helpers the stream and server suites share: a byte pattern that
 * tells every offset of every connection apart, and the close-wait-free
 * ending of a stream. */
#ifndef CIO_TEST_NET_H
#define CIO_TEST_NET_H

#include "helpers/harness.h"

/* Byte `i` of pattern `seed`. Offsets and seeds (one per connection)
 * give different bytes, so a chunk delivered at the wrong offset or on
 * the wrong connection shows. */
uint8_t th_pat(size_t i, unsigned seed);
/* Fill b[0..n) with the pattern from offset `off`. */
void th_fill_pat(uint8_t *b, size_t n, size_t off, unsigned seed);
/* Fail the test at the first byte of b[0..n) that is not the pattern
 * from offset `off`, naming that offset. */
void th_check_pat(const uint8_t *b, size_t n, size_t off, unsigned seed);

/* Close `s`, wait until it is closed (wait_closed must return `want`),
 * free it. In a task only. */
void th_stream_finish(cio_stream *s, int want);

#endif
