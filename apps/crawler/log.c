/* crawler — log lines on stderr in the seed's format:
 *
 *     logging.basicConfig(format="%(asctime)s %(levelname)s:%(name)s:
 *                         %(message)s", datefmt="%H:%M:%S", ...)
 *
 * gives "14:32:01 INFO:crawler: Found 12 links for http://...".
 *
 * Writing is synchronous, as Python's logging is: a line is small and
 * stderr is a terminal, a pipe or a file. Each line is formatted whole
 * and written with one write(2), so concurrent tasks' lines (and a test
 * reading the pipe) never see half a line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crawler.h"

static const char *const level_names[] = {
	[CRW_INFO] = "INFO",
	[CRW_WARNING] = "WARNING",
	[CRW_ERROR] = "ERROR",
};

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

void crw_log(enum crw_level level, const char *fmt, ...)
{
	char stack[1024], stamp[16];
	char *msg = stack;
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;
	int head, n;

	if (!localtime_r(&now, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm))
		strcpy(stamp, "--:--:--");
	head = snprintf(stack, sizeof(stack), "%s %s:" CRW_PROG ": ", stamp,
			level_names[level]);
	va_start(ap, fmt);
	n = vsnprintf(stack + head, sizeof(stack) - (size_t)head, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* URLs may be long (up to 64 KiB): format again into a buffer of
	 * the right size rather than cut the line. */
	if ((size_t)n + 1 >= sizeof(stack) - (size_t)head) {
		msg = malloc((size_t)head + (size_t)n + 2);
		if (!msg) {
			msg = stack; /* out of memory: the cut line it is */
			n = (int)(sizeof(stack) - (size_t)head - 2);
		} else {
			memcpy(msg, stack, (size_t)head);
			va_start(ap, fmt);
			vsnprintf(msg + head, (size_t)n + 1, fmt, ap);
			va_end(ap);
		}
	}
	msg[head + n] = '\n';
	write_all(msg, (size_t)head + (size_t)n + 1);
	if (msg != stack)
		free(msg);
}
