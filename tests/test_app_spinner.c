/* spinner (apps/spinner): both modes through a pipe (no animation, just
 * the spinner object and the answer), under a pseudo-terminal (the frames
 * '|/-\' with their backspaces, the cleared line, the answer), and bad
 * command lines. */
#include "helpers/harness.h"
#include "helpers/proc.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define BIN TH_BUILD_DIR "/apps/spinner"
#define THREAD_OBJ "spinner object: <Thread(spin, initial)>\n"
#define CORO_OBJ "spinner object: <Task pending name='spin' coro=<spin()>>\n"
#define STATUS_LEN 11 /* strlen("| thinking!") */
#define WAIT_MS 10000

TestSuite(spinner, .timeout = 30);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run spinner with up to 4 arguments (NULL-terminated). */
static void run(struct th_proc *p, const char *a1, const char *a2,
		const char *a3, const char *a4)
{
	const char *argv[] = { BIN, a1, a2, a3, a4, NULL };
	th_proc_run(p, argv, NULL, 0);
}

static void check_piped(const char *mode, const char *want)
{
	struct th_proc p;
	double t0 = now_s();

	run(&p, mode, "--delay", "0.3", NULL);
	double took = now_s() - t0;
	cr_assert_eq(th_proc_exit(&p), 0, "%s: status %d, stderr: %s", mode,
		     p.status, p.err);
	cr_assert_str_eq(p.out, want, "%s: stdout: '%s'", mode, p.out);
	cr_assert_str_eq(p.err, "", "%s: stderr: '%s'", mode, p.err);
	/* The slow function really took its time. */
	cr_assert_geq(took, 0.3, "%s: %.3f s", mode, took);
	cr_assert_lt(took, 5.0, "%s: %.3f s", mode, took);
	th_proc_free(&p);
}

Test(spinner, thread_through_a_pipe)
{
	check_piped("--thread", THREAD_OBJ "Answer: 42\n");
}

Test(spinner, coro_through_a_pipe)
{
	check_piped("--coro", CORO_OBJ "Answer: 42\n");
}

Test(spinner, short_options_and_default_mode)
{
	struct th_proc p;

	run(&p, "-t", "-d", ".05", NULL);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert_str_eq(p.out, THREAD_OBJ "Answer: 42\n");
	th_proc_free(&p);
	/* No mode: the coroutine. */
	run(&p, "--delay=0", NULL, NULL, NULL);
	cr_assert_eq(th_proc_exit(&p), 0, "%s", p.err);
	cr_assert_str_eq(p.out, CORO_OBJ "Answer: 42\n");
	th_proc_free(&p);
}

static void check_usage(const char *a1, const char *a2, const char *a3,
			const char *needle)
{
	struct th_proc p;

	run(&p, a1, a2, a3, NULL);
	cr_assert_eq(th_proc_exit(&p), 2, "%s %s: status %d", a1,
		     a2 ? a2 : "", p.status);
	cr_assert_str_eq(p.out, "", "%s: stdout '%s'", a1, p.out);
	cr_assert(strstr(p.err, needle), "%s %s: stderr '%s', wanted '%s'",
		  a1, a2 ? a2 : "", p.err, needle);
	cr_assert(strstr(p.err, "Try 'spinner --help'"), "%s", p.err);
	th_proc_free(&p);
}

Test(spinner, bad_command_lines)
{
	check_usage("--delay", "-1", NULL, "bad delay '-1'");
	check_usage("--delay", "abc", NULL, "bad delay 'abc'");
	check_usage("--delay", "", NULL, "bad delay ''");
	check_usage("--delay", "nan", NULL, "bad delay 'nan'");
	check_usage("--delay", "inf", NULL, "bad delay 'inf'");
	check_usage("--delay", "1e99", NULL, "bad delay '1e99'");
	check_usage("--delay", "3s", NULL, "bad delay '3s'");
	check_usage("--delay", " 1", NULL, "bad delay ' 1'");
	check_usage("--thread", "--coro", NULL, "choose one of --thread and "
		    "--coro");
	check_usage("-c", "-t", NULL, "choose one");
	check_usage("--delay", NULL, NULL, "--delay needs an argument");
	check_usage("-d", NULL, NULL, "-d needs an argument");
	check_usage("--bogus", NULL, NULL, "unknown option '--bogus'");
	check_usage("-x", NULL, NULL, "unknown option '-x'");
	check_usage("--thread", "now", NULL, "unexpected argument 'now'");
}

Test(spinner, help)
{
	struct th_proc p;

	run(&p, "--help", NULL, NULL, NULL);
	cr_assert_eq(th_proc_exit(&p), 0);
	cr_assert(strstr(p.out, "Usage: spinner"), "%s", p.out);
	cr_assert(strstr(p.out, "--delay SECONDS"), "%s", p.out);
	cr_assert_str_eq(p.err, "");
	th_proc_free(&p);
}

/* -- under a pseudo-terminal ------------------------------------------------ */

/* Run spinner on a raw pty (no "\n" -> "\r\n", so the bytes are the
 * program's own); return everything it wrote, and its wait status. */
static char *run_pty(const char *mode, const char *delay, size_t *len,
		     int *status)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int master;
	pid_t pid;

	cr_assert_not_null(buf);
	fflush(NULL);
	pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_geq(pid, 0, "forkpty");
	if (pid == 0) {
		struct termios tio;
		if (tcgetattr(STDOUT_FILENO, &tio) == 0) {
			cfmakeraw(&tio);
			tcsetattr(STDOUT_FILENO, TCSANOW, &tio);
		}
		execl(BIN, BIN, mode, "--delay", delay, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		struct pollfd pf = { .fd = master, .events = POLLIN };
		int r = poll(&pf, 1, WAIT_MS);
		cr_assert_gt(r, 0, "spinner on a pty: no output for %d ms",
			     WAIT_MS);
		if (n + 1024 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		ssize_t got = read(master, buf + n, cap - n - 1);
		if (got <= 0) /* EIO: the child closed the slave side */
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	close(master);
	cr_assert_eq(waitpid(pid, status, 0), pid);
	*len = n;
	return buf;
}

/* The output must be: the object line, frames "X thinking!" each followed
 * by 11 backspaces with X cycling through |/-\, 11 spaces and 11
 * backspaces, then "Answer: 42\n". Returns the number of frames. */
static unsigned check_frames(const char *out, size_t len, const char *obj)
{
	static const char frames[] = "|/-\\";
	char frame[32], bs[STATUS_LEN + 1], clear[2 * STATUS_LEN + 1];
	size_t off = strlen(obj);
	unsigned k = 0;

	memset(bs, '\b', STATUS_LEN);
	bs[STATUS_LEN] = '\0';
	memset(clear, ' ', STATUS_LEN);
	memset(clear + STATUS_LEN, '\b', STATUS_LEN);
	clear[2 * STATUS_LEN] = '\0';

	cr_assert(len >= off && memcmp(out, obj, off) == 0,
		  "object line: '%.*s'", (int)(len < 80 ? len : 80), out);
	for (;;) {
		snprintf(frame, sizeof(frame), "%c thinking!%s", frames[k % 4],
			 bs);
		if (len - off < strlen(frame) ||
		    memcmp(out + off, frame, strlen(frame)) != 0)
			break;
		off += strlen(frame);
		k++;
	}
	cr_assert(len - off >= strlen(clear) &&
		  memcmp(out + off, clear, strlen(clear)) == 0,
		  "after %u frames, no cleared line at byte %zu: '%s'", k, off,
		  out + off);
	off += strlen(clear);
	cr_assert_str_eq(out + off, "Answer: 42\n");
	return k;
}

static void check_animation(const char *mode, const char *obj)
{
	size_t len;
	int st;
	char *out = run_pty(mode, "0.6", &len, &st);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %d: %s",
		  mode, st, out);
	/* A frame every 0.1 s for 0.6 s: six, give or take a slow start;
	 * at least four shows every one of |/-\. */
	unsigned k = check_frames(out, len, obj);
	cr_assert(k >= 4 && k <= 8, "%s: %u frames", mode, k);
	free(out);
}

Test(spinner, thread_animates_on_a_terminal)
{
	check_animation("--thread", THREAD_OBJ);
}

Test(spinner, coro_animates_on_a_terminal)
{
	check_animation("--coro", CORO_OBJ);
}

/* A slow function that takes no time still shows one frame (the seed
 * draws before it checks the flag or sleeps), then clears it. */
Test(spinner, zero_delay_draws_one_frame)
{
	const char *modes[2] = { "--thread", "--coro" };
	const char *objs[2] = { THREAD_OBJ, CORO_OBJ };

	for (int i = 0; i < 2; i++) {
		size_t len;
		int st;
		char *out = run_pty(modes[i], "0", &len, &st);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s",
			  modes[i]);
		unsigned k = check_frames(out, len, objs[i]);
		cr_assert(k >= 1 && k <= 2, "%s: %u frames", modes[i], k);
		free(out);
	}
}
