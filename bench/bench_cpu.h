/* bench/bench_cpu.h — CPU time from /proc, for the benchmarks that run
 * other programs (bench/http, bench/download): all CPUs' idle time, to
 * tell how much other processes took during a run, and one process's CPU
 * time. Header-only, every function static inline (see bench_util.h). */
#ifndef CIO_BENCH_CPU_H
#define CIO_BENCH_CPU_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static inline int64_t ticks_ns(unsigned long long t)
{
	return (int64_t)(t * 1000000000ull /
			 (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* Idle time (with iowait) of all CPUs, in ns. */
static inline int64_t cpus_idle(void)
{
	unsigned long long v[5], total = 0;
	char line[512];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int cpu;
		if (strncmp(line, "cpu", 3) ||
		    !isdigit((unsigned char)line[3]) ||
		    sscanf(line + 3, "%d %llu %llu %llu %llu %llu", &cpu, &v[0],
			   &v[1], &v[2], &v[3], &v[4]) < 6)
			continue;
		total += v[3] + v[4];
	}
	fclose(f);
	return ticks_ns(total);
}

/* CPU time of process `pid` (all its threads), in ns; 0 if it is gone. */
static inline int64_t proc_cpu(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ')' that ends the name. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
		   "%llu", &ut, &st) != 2)
		return 0;
	return ticks_ns(ut + st);
}

#endif
