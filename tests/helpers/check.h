/* Checks for code on shard (or other non-test) threads: Criterion's
 * assertions must run on the test's thread, so TH_CHECK() records the
 * first failed check and the test asserts on it after the threads ended
 * (th_check_assert()). */
#ifndef CIO_TEST_CHECK_H
#define CIO_TEST_CHECK_H

/* Record `what` at `line` unless a failure is recorded already.
 * Thread-safe. */
void th_check_fail(int line, const char *what);
/* Forget what was recorded (before a run). */
void th_check_reset(void);
/* Fail the test with the first recorded failure, if any. */
void th_check_assert(void);

#define TH_CHECK(c)                                                            \
	do {                                                                   \
		if (!(c))                                                      \
			th_check_fail(__LINE__, #c);                           \
	} while (0)

#endif
