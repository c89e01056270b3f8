/* echo — option values and usage errors, shared by both programs. */
#include <sys/resource.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo.h"

int ec_usage_error(const char *prog, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return 2;
}

int ec_bad_option(const char *prog, int c, char **argv)
{
	char shortopt[3] = { '-', (char)optopt, '\0' };

	/* Missing argument: the word typed (-p or --port). Unknown: optopt
	 * names a short option; a long one is only in argv. */
	if (c == ':')
		return ec_usage_error(prog, "%s needs an argument",
				      argv[optind - 1]);
	return ec_usage_error(prog, "unknown option '%s'",
			      optopt ? shortopt : argv[optind - 1]);
}

bool ec_parse_uint(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool ec_parse_seconds(const char *s, double min, double max, int64_t *ns)
{
	char *end;
	double v;

	/* strtod would also take "inf", "nan", hex and leading blanks. */
	if (!((*s >= '0' && *s <= '9') || *s == '.'))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < min || v > max)
		return false;
	*ns = (int64_t)(v * (double)CIO_NSEC_PER_SEC + 0.5);
	return true;
}

const char *ec_host_port(char *buf, size_t n, const char *host,
			 unsigned port)
{
	snprintf(buf, n, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	return buf;
}

bool ec_parse_backend(const char *s, enum cio_backend_kind *out)
{
	if (strcmp(s, "uring") == 0 || strcmp(s, "io_uring") == 0)
		*out = CIO_BACKEND_URING;
	else if (strcmp(s, "epoll") == 0)
		*out = CIO_BACKEND_EPOLL;
	else if (strcmp(s, "auto") == 0)
		*out = CIO_BACKEND_AUTO;
	else
		return false;
	return true;
}

void ec_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl); /* best effort */
	}
}
