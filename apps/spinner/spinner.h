/* spinner — Fluent Python's section 18.1 (spinner_thread.py and
 * spinner_asyncio.py) in C: a text spinner animates while a slow function
 * runs, once with a thread and once with a coroutine on the coreio loop.
 *
 * Both modes print the same thing: the spinner object, the frames (only
 * on a terminal), then "Answer: 42".
 */
#ifndef SPINNER_H
#define SPINNER_H

#include <stdbool.h>
#include <stdint.h>

#define SPIN_MSG "thinking!"
/* The seed's itertools.cycle('|/-\\'). */
#define SPIN_FRAMES "|/-\\"
#define SPIN_NFRAMES 4
/* The seed's time.sleep(.1) / asyncio.sleep(.1) between frames. */
#define SPIN_INTERVAL_NS (100 * 1000000LL)
/* What the slow function returns. */
#define SPIN_ANSWER 42

struct spin_opts {
	int64_t delay_ns; /* how long the slow function takes */
	bool animate;     /* draw frames: stdout is a terminal */
};

/* Draw frame `i` as the seed does: "<char> <msg>", flush, then one
 * backspace per character so the next frame overwrites it. */
void spin_draw(unsigned i, const char *msg);
/* Blank out the last frame the same way: spaces, then backspaces. */
void spin_clear(const char *msg);

/* Run the whole program in one mode; each returns the slow function's
 * answer, or a negative errno after printing what failed. */
intptr_t spin_thread_supervisor(const struct spin_opts *o);
intptr_t spin_coro_supervisor(const struct spin_opts *o);

#endif
