/* charfinder — the modes that run without the coreio runtime: a search
 * from the command line, and the hidden --bench. */
#ifndef CF_CLI_H
#define CF_CLI_H

#include "index.h"

/* Print the characters matching words[0..n) (joined with spaces) on
 * stdout. The exit status: 0 found, 1 no match ("no match" on stderr),
 * 2 no word to search for, or stdout failed. */
int cf_cli_query(const struct cf_index *ix, char **words, int n);

/* Time building the index from `path` (NULL: the default) and answering
 * some queries (words[0..n) joined as one, or a built-in set when n is 0);
 * print the times. The exit status. */
int cf_bench(const char *path, char **words, int n);

#endif
