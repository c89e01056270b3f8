/* A small stand-in for Criterion's classic API, used only for
 * `make test SAN=thread`.
 *
 * Why: Criterion cannot start under ThreadSanitizer (upstream issue
 * Snaipe/Criterion#274): its BoxFort arena maps shared memory at random
 * fixed addresses, which land inside TSan's reserved shadow ranges, and the
 * runner aborts with "Could not initialize inheritable arena". The test
 * files are written against Criterion; this header gives the same source
 * the subset of Criterion they use (Test, TestSuite, cr_assert*,
 * cr_expect*, cr_log_*, cr_skip_test) with a fork-per-test runner
 * (runner.c), so the whole suite runs under TSan unchanged.
 */
#ifndef CIO_SHIM_CRITERION_H
#define CIO_SHIM_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct criterion_test_extra_data {
	void (*init)(void);
	void (*fini)(void);
	int signal;
	int exit_code;
	bool disabled;
	const char *description;
	double timeout;
};

struct shim_test {
	const char *suite;
	const char *name;
	void (*fn)(void);
	struct criterion_test_extra_data data;
	struct shim_test *next;
};

struct shim_suite {
	const char *name;
	struct criterion_test_extra_data data;
	struct shim_suite *next;
};

void shim_register_test(struct shim_test *t);
void shim_register_suite(struct shim_suite *s);
void shim_check(bool ok, bool fatal, const char *file, int line,
		const char *expr, const char *fmt, ...);
void shim_log(const char *level, const char *fmt, ...);
__attribute__((noreturn)) void shim_skip(const char *fmt, ...);

#define SHIM_ID(suite, name, what) shim_##suite##_##name##_##what

#define Test(suite, name, ...)                                                 \
	static void SHIM_ID(suite, name, fn)(void);                            \
	static struct shim_test SHIM_ID(suite, name, desc) = {                 \
		#suite, #name, SHIM_ID(suite, name, fn),                       \
		{ __VA_ARGS__ }, NULL                                          \
	};                                                                     \
	__attribute__((constructor)) static void SHIM_ID(suite, name, reg)(void) \
	{                                                                      \
		shim_register_test(&SHIM_ID(suite, name, desc));               \
	}                                                                      \
	static void SHIM_ID(suite, name, fn)(void)

#define TestSuite(suite, ...)                                                  \
	static struct shim_suite shim_suite_##suite = { #suite,                \
							{ __VA_ARGS__ }, NULL }; \
	__attribute__((constructor)) static void shim_suite_reg_##suite(void)  \
	{                                                                      \
		shim_register_suite(&shim_suite_##suite);                      \
	}                                                                      \
	struct shim_suite_dummy_##suite

/* "" glues an optional message format onto an empty one. */
#define SHIM_CHECK(fatal, cond, text, ...)                                     \
	shim_check((cond) ? true : false, fatal, __FILE__, __LINE__, text,     \
		   "" __VA_ARGS__)

#define cr_assert(cond, ...) SHIM_CHECK(true, cond, #cond, __VA_ARGS__)
#define cr_expect(cond, ...) SHIM_CHECK(false, cond, #cond, __VA_ARGS__)
#define cr_assert_not(cond, ...) SHIM_CHECK(true, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_expect_not(cond, ...) SHIM_CHECK(false, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_fail(...) SHIM_CHECK(true, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_expect_fail(...) SHIM_CHECK(false, 0, "cr_expect_fail", __VA_ARGS__)

#define SHIM_CMP(fatal, a, op, b, ...) \
	SHIM_CHECK(fatal, (a) op (b), #a " " #op " " #b, __VA_ARGS__)

#define cr_assert_eq(a, b, ...) SHIM_CMP(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) SHIM_CMP(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) SHIM_CMP(true, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) SHIM_CMP(true, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) SHIM_CMP(true, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) SHIM_CMP(true, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) SHIM_CMP(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) SHIM_CMP(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) SHIM_CMP(false, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) SHIM_CMP(false, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) SHIM_CMP(false, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) SHIM_CMP(false, a, >=, b, __VA_ARGS__)

#define cr_assert_null(p, ...) SHIM_CHECK(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) SHIM_CHECK(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) SHIM_CHECK(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) SHIM_CHECK(false, (p) != NULL, #p " != NULL", __VA_ARGS__)

#define cr_assert_str_eq(a, b, ...) SHIM_CHECK(true, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) SHIM_CHECK(true, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) SHIM_CHECK(false, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) SHIM_CHECK(false, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_assert_str_empty(a, ...) SHIM_CHECK(true, (a)[0] == '\0', #a " is empty", __VA_ARGS__)
#define cr_assert_str_not_empty(a, ...) SHIM_CHECK(true, (a)[0] != '\0', #a " is not empty", __VA_ARGS__)

#define cr_assert_arr_eq(a, b, size, ...) SHIM_CHECK(true, memcmp((a), (b), (size)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_arr_eq(a, b, size, ...) SHIM_CHECK(false, memcmp((a), (b), (size)) == 0, #a " == " #b, __VA_ARGS__)

#define SHIM_FEQ(a, b, eps) ((a) - (b) <= (eps) && (b) - (a) <= (eps))
#define cr_assert_float_eq(a, b, eps, ...) SHIM_CHECK(true, SHIM_FEQ(a, b, eps), #a " ~= " #b, __VA_ARGS__)
#define cr_expect_float_eq(a, b, eps, ...) SHIM_CHECK(false, SHIM_FEQ(a, b, eps), #a " ~= " #b, __VA_ARGS__)

#define cr_log_info(...) shim_log("info", __VA_ARGS__)
#define cr_log_warn(...) shim_log("warn", __VA_ARGS__)
#define cr_log_error(...) shim_log("error", __VA_ARGS__)
#define cr_skip_test(...) shim_skip("" __VA_ARGS__)

#endif
