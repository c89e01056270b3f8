/* spinner — drawing frames, byte for byte as the seed's spin() does. */
#include <stdio.h>
#include <string.h>

#include "spinner.h"

static void backspaces(size_t n)
{
	while (n--)
		putchar('\b');
}

void spin_draw(unsigned i, const char *msg)
{
	/* status = char + ' ' + msg; write(status); flush();
	 * write('\x08' * len(status)) */
	size_t len = 2 + strlen(msg);

	putchar(SPIN_FRAMES[i % SPIN_NFRAMES]);
	putchar(' ');
	fputs(msg, stdout);
	fflush(stdout);
	backspaces(len);
}

void spin_clear(const char *msg)
{
	/* write(' ' * len(status) + '\x08' * len(status)) */
	size_t len = 2 + strlen(msg);

	for (size_t k = 0; k < len; k++)
		putchar(' ');
	backspaces(len);
	fflush(stdout);
}
