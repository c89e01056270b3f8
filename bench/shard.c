/* bench/shard — messages between shards: how fast cio_submit_to() goes,
 * and which cross-thread wake-up is faster on io_uring: IORING_OP_MSG_RING
 * (a completion posted straight into the target's ring) or an eventfd
 * write (what any other thread uses).
 *
 * Two shards (pinned to two CPUs when there are two), in one cio_run() per
 * measurement. Cases:
 * - pingpong: shard 0 submits a no-op to shard 1 and awaits it, again and
 *   again. Each side goes to sleep between messages, so every message
 *   costs a wake-up both ways: this is the wake-up's latency. ns per round
 *   trip.
 * - stream: shard 0 keeps 64 submissions in flight (await the oldest,
 *   submit a new one). The target rarely sleeps: this is the ring's
 *   throughput, batching included. ns per message.
 * Systems: uring with CIO_WAKE=msgring, uring with CIO_WAKE=eventfd, and
 * the epoll backend (eventfd). Each run measures all three, alternating
 * the order; medians over --runs; the ratio is eventfd / msgring time
 * (> 1: MSG_RING is faster).
 */
#include <getopt.h>

#include "bench/bench_load.h"
#include "coreio.h"

enum { SYS_MSGRING, SYS_EVENTFD, SYS_EPOLL, NSYS };
static const char *const sys_name[NSYS] = { "uring-msgring", "uring-eventfd",
					    "epoll" };

enum { CASE_PINGPONG, CASE_STREAM, NCASES };
static const char *const case_name[NCASES] = { "pingpong", "stream" };

#define WINDOW 64

static struct {
	unsigned runs;
	double seconds;
	bool pin;
} cfg = { 5, 0.5, true };

struct job {
	int kind;
	double seconds;
	double ns_per_op;
	long ops;
};

static intptr_t noop(void *arg)
{
	return (intptr_t)arg;
}

static intptr_t bench_main(void *arg)
{
	struct job *j = arg;
	cio_future *win[WINDOW];
	int64_t t0, end;
	long ops = 0;
	int ret;

	/* Warm the free lists, task and stack caches first. */
	for (int i = 0; i < 1000; i++) {
		if ((ret = cio_submit_to(1, noop, NULL, &win[0])) < 0)
			return ret;
		cio_await(win[0]);
		cio_future_unref(win[0]);
	}
	t0 = bu_now_ns();
	end = t0 + (int64_t)(j->seconds * 1e9);
	if (j->kind == CASE_PINGPONG) {
		while (bu_now_ns() < end) {
			for (int i = 0; i < 100; i++) {
				if ((ret = cio_submit_to(1, noop, NULL,
							 &win[0])) < 0)
					return ret;
				cio_await(win[0]);
				cio_future_unref(win[0]);
			}
			ops += 100;
		}
	} else {
		for (int i = 0; i < WINDOW; i++)
			if ((ret = cio_submit_to(1, noop, NULL, &win[i])) < 0)
				return ret;
		for (unsigned k = 0;; k = (k + 1) % WINDOW) {
			cio_await(win[k]);
			cio_future_unref(win[k]);
			ops++;
			if ((ops & 255) == 0 && bu_now_ns() >= end) {
				for (unsigned i = 1; i < WINDOW; i++) {
					unsigned x = (k + i) % WINDOW;
					cio_await(win[x]);
					cio_future_unref(win[x]);
					ops++;
				}
				break;
			}
			if ((ret = cio_submit_to(1, noop, NULL, &win[k])) < 0)
				return ret;
		}
	}
	j->ops = ops;
	j->ns_per_op = (double)(bu_now_ns() - t0) / (double)ops;
	return 0;
}

static double measure(int sys, int kind)
{
	struct cio_loop_opts lo = { .backend = sys == SYS_EPOLL
						       ? CIO_BACKEND_EPOLL
						       : CIO_BACKEND_URING };
	struct cio_run_opts o = { .shards = 2, .loop = &lo };
	struct job j = { .kind = kind, .seconds = cfg.seconds };
	intptr_t r;

	if (!cfg.pin)
		o.flags |= CIO_RUN_NO_PIN;
	setenv("CIO_WAKE", sys == SYS_MSGRING ? "msgring" : "eventfd", 1);
	if ((r = cio_run(bench_main, &j, &o)) != 0)
		bu_die("cio_run", (long)r);
	return j.ns_per_op;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: shard [options]\n"
"cio_submit_to() between two shards: round-trip latency (pingpong) and\n"
"throughput with 64 in flight (stream), with io_uring wake-ups through\n"
"IORING_OP_MSG_RING or an eventfd, and on the epoll backend.\n"
"\n"
"  -j, --json          one JSON object per line (DESIGN.md section 8)\n"
"  -q, --quick         smoke run: 1 run of 0.1 s per case and system\n"
"  -r, --runs N        runs (default 5), medians reported\n"
"  -d, --duration SEC  seconds per measurement (default 0.5)\n"
"      --no-pin        do not pin the shards to CPUs\n"
"  -h, --help          this text\n");
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "no-pin", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jqr:d:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			bu.json = true;
			break;
		case 'q':
			cfg.runs = 1;
			cfg.seconds = 0.1;
			break;
		case 'r':
			cfg.runs = (unsigned)bu_parse_count("--runs", optarg, 1,
							    BU_MAX_REPS);
			break;
		case 'd':
			cfg.seconds = bl_parse_seconds("--duration", optarg,
						       0.01, 60);
			break;
		case 'P':
			cfg.pin = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			bu_bad_usage("option '%s' needs a value",
				     argv[optind - 1]);
		default:
			bu_bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bu_bad_usage("unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
	static struct bl_series s[NCASES][NSYS];
	char text[64];

	bu.prog = "shard";
	parse_args(argc, argv);
	bu_table_header();
	for (int k = 0; k < NCASES; k++) {
		for (unsigned r = 0; r < cfg.runs; r++)
			for (int i = 0; i < NSYS; i++) {
				/* Rotate the order from run to run. */
				int sys = (int)((unsigned)i + r) % NSYS;
				bl_add(&s[k][sys], measure(sys, k));
			}
		for (int sys = 0; sys < NSYS; sys++) {
			struct bu_stats st = bl_stats(&s[k][sys]);
			bu_row(case_name[k], sys_name[sys],
			       k == CASE_PINGPONG ? "ns_per_round_trip"
						  : "ns_per_message",
			       &st, 0, "ns", NULL, BU_NO_TARGET);
		}
		struct bl_series ratio = bl_ratios(&s[k][SYS_EVENTFD],
						   &s[k][SYS_MSGRING]);
		struct bu_stats st = bl_stats(&ratio);
		bu_row(case_name[k], "eventfd/msgring", "time_ratio", &st, 0,
		       "ratio", NULL, BU_NO_TARGET);
	}
	snprintf(text, sizeof(text), "median of %u runs x %.2f s", cfg.runs,
		 cfg.seconds);
	bu_text_row("env", "shard", "runs", text);
	bu_text_row("env", "shard", "pinned", cfg.pin ? "yes" : "no");
	return 0;
}
