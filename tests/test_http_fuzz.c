/* The HTTP request fuzz target (tests/fuzz/http_request_fuzz.c), run for
 * a bounded number of inputs: its seed corpus, then mutations of it, with
 * a fixed seed. It exists when `make fuzz-build` (or `make fuzz`) built
 * it, which needs clang; otherwise the test is skipped.
 *
 * The target runs the real connection code on the backend of this run
 * ($CIO_BACKEND is passed on) under ASan, UBSan and LeakSanitizer, and
 * checks every response it gets back (see the target's header). New
 * inputs go to a temporary directory: the seed corpus is only read.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FUZZ_BIN TH_BUILD_DIR "/fuzz/http_request_fuzz"
#define SEEDS "tests/fuzz/corpus/http_request"
#define RUNS "20000"
#define MAX_SECONDS "20"

/* The seed corpus: under the working directory (make runs the tests from
 * the top of the tree), else above the build directory. */
static bool find_seeds(char *out, size_t cap)
{
	char dir[PATH_MAX];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", TH_BUILD_DIR);
	if (stat(SEEDS, &st) == 0 && S_ISDIR(st.st_mode))
		return realpath(SEEDS, out) != NULL;
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return false;
		*slash = '\0';
		if (snprintf(out, cap, "%s/%s", dir, SEEDS) >= (int)cap)
			return false;
		if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
			return true;
	}
}

/* The last lines of the fuzzer's log, for the failure message. */
static void log_tail(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");
	long size;

	out[0] = '\0';
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)cap - 1 ? size - (long)cap + 1 : 0, SEEK_SET);
	out[fread(out, 1, cap - 1, f)] = '\0';
	fclose(f);
}

Test(http_fuzz, bounded_run, .timeout = 120)
{
	char seeds[PATH_MAX], work[] = "/tmp/coreio-fuzz-XXXXXX";
	char corpus[PATH_MAX], log[PATH_MAX], tail[3000];
	int status;
	pid_t pid;

	if (access(FUZZ_BIN, X_OK) != 0)
		cr_skip_test("no %s (make fuzz-build needs clang)", FUZZ_BIN);
	cr_assert(find_seeds(seeds, sizeof(seeds)), "no seed corpus %s",
		  SEEDS);
	cr_assert_not_null(mkdtemp(work));
	snprintf(corpus, sizeof(corpus), "%s/corpus", work);
	snprintf(log, sizeof(log), "%s/log", work);
	cr_assert_eq(mkdir(corpus, 0700), 0);

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0600);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    chdir(work) < 0)
			_exit(127);
		execl(FUZZ_BIN, FUZZ_BIN, "-seed=1", "-runs=" RUNS,
		      "-max_total_time=" MAX_SECONDS, "-timeout=10",
		      "-print_final_stats=1", corpus, seeds, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	log_tail(log, tail, sizeof(tail));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "the fuzzer failed (status 0x%x; its inputs and log are in "
		  "%s); its log ends with:\n%s", status, work, tail);
	cr_assert_not_null(strstr(tail, "stat::number_of_executed_units"),
			   "no statistics:\n%s", tail);
	/* Clean up only on success: a failure leaves its crash-* input in
	 * the directory named above. */
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	cr_assert_eq(system(cmd), 0);
}
