/* charfinder WORD...: one search, printed on stdout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"

static int stdout_sink(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	return fwrite(p, 1, n, stdout) == n ? 0 : -EIO;
}

/* words joined with single spaces: malloc'd, or NULL. */
static char *join(char **words, int n, size_t *len)
{
	size_t total = 1, at = 0;
	char *q;

	for (int i = 0; i < n; i++)
		total += strlen(words[i]) + 1;
	if (!(q = malloc(total)))
		return NULL;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(words[i]);
		if (i > 0)
			q[at++] = ' ';
		memcpy(q + at, words[i], l);
		at += l;
	}
	q[at] = '\0';
	*len = at;
	return q;
}

int cf_cli_query(const struct cf_index *ix, char **words, int n)
{
	char buf[8192];
	struct cf_out o;
	struct cf_match m;
	struct cf_entry e;
	size_t len;
	char *q;
	int ret;

	if (!(q = join(words, n, &len))) {
		fprintf(stderr, "charfinder: out of memory\n");
		return 2;
	}
	if ((ret = cf_index_find(ix, q, len, &m)) <= 0) {
		if (ret == 0)
			fprintf(stderr, "charfinder: no words to search for "
					"in '%s' (words are letters and "
					"digits)\n", q);
		else
			fprintf(stderr, "charfinder: %s\n", strerror(-ret));
		free(q);
		return 2;
	}
	if (m.n == 0) {
		fprintf(stderr, "charfinder: no match for '%s'\n", q);
		free(q);
		return 1;
	}
	free(q);
	cf_out_init(&o, buf, sizeof(buf), stdout_sink, NULL);
	for (size_t i = 0; i < m.n && ret >= 0; i++) {
		cf_index_entry(ix, m.ids[i], &e);
		ret = cf_out_text_row(&o, &e, "\n");
	}
	cf_match_release(&m);
	if (ret >= 0)
		ret = cf_out_flush(&o);
	if (ret < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "charfinder: cannot write the results: %s\n",
			strerror(errno ? errno : EIO));
		return 2;
	}
	return 0;
}
