/* crawler — bulk_crawl_and_write() and write_one() of the seed.
 *
 *     async with ClientSession() as session:
 *         tasks = [write_one(file=file, url=url, session=session)
 *                  for url in urls]
 *         await asyncio.gather(*tasks)
 *
 * One task per URL, in a task group (gather with structured cleanup: on
 * Ctrl-C the main task is cancelled and the group cancels and waits for
 * every child). A task never fails the group: whatever goes wrong with
 * its URL is logged and counted, and the others go on, as the seed's
 * parse() catches and logs every exception.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crawler.h"

struct crawl {
	const struct crw_opts *o;
	cio_http_client *client;
	cio_sem *sem; /* -c permits: requests in flight */
	struct crw_out out;
	size_t fetched, failed;
};

struct job {
	struct crawl *cr;
	const char *url;
};

/* write_one(): fetch, parse, and append the page's lines in one block. */
static intptr_t write_one(void *arg)
{
	struct job *j = arg;
	struct crawl *cr = j->cr;
	struct cio_http_result res;
	struct crw_block b = { 0 };
	int rc;

	rc = crw_fetch(cr->client, cr->sem, j->url, cr->o->timeout, &res);
	if (rc < 0) {
		if (rc != -ECANCELED)
			cr->failed++;
		return 0;
	}
	/* Relative links are relative to the URL that answered: after a
	 * redirect that is not the one asked for (RFC 3986 §5.1.3). */
	rc = crw_links_extract(&b, j->url, res.url ? res.url : j->url, res.body,
			       res.body_len);
	cio_http_result_free(&res);
	if (rc < 0) {
		crw_log(CRW_ERROR, "Cannot parse %s: %s", j->url,
			strerror(-rc));
		cr->failed++;
		goto out;
	}
	crw_log(CRW_INFO, "Found %u links for %s", b.nlinks, j->url);
	if (b.nlinks == 0) {
		/* The seed writes nothing, and says nothing, for a page
		 * without links. */
		cr->fetched++;
		goto out;
	}
	rc = crw_out_append(&cr->out, b.buf, b.len, b.nlinks);
	if (rc == 0) {
		crw_log(CRW_INFO, "Wrote results for source URL: %s", j->url);
		cr->fetched++;
	} else if (rc != -ECANCELED) {
		crw_log(CRW_ERROR, "Cannot write the results for %s to %s: %s",
			j->url, cr->o->output, strerror(-rc));
		cr->failed++;
	}
out:
	crw_block_free(&b);
	return 0;
}

/* Spawn a task per URL and wait for all of them. 0, or -ECANCELED when
 * the crawl was interrupted, or a spawn error. */
static int crawl_all(struct crawl *cr, const struct crw_urls *urls)
{
	struct job *jobs = calloc(urls->n, sizeof(*jobs));
	cio_task_group *g;
	int rc, wrc;

	if (!jobs)
		return -ENOMEM;
	if ((rc = cio_task_group_new(&g)) < 0) {
		free(jobs);
		return rc;
	}
	for (size_t i = 0; i < urls->n; i++) {
		jobs[i] = (struct job){ .cr = cr, .url = urls->v[i] };
		if ((rc = cio_task_group_spawn(g, NULL, write_one, &jobs[i],
					       NULL)) < 0) {
			crw_log(CRW_ERROR, "Cannot start a task for %s: %s",
				urls->v[i], strerror(-rc));
			cio_task_group_cancel(g);
			break;
		}
	}
	wrc = cio_task_group_wait(g);
	cio_task_group_free(g);
	free(jobs);
	return rc < 0 ? rc : wrc;
}

static int setup(struct crawl *cr)
{
	/* Keep as many connections per host as can be busy at once, so a
	 * list of URLs on one site reuses them instead of reconnecting. */
	struct cio_http_client_opts co = {
		.max_idle_per_host = cr->o->concurrency,
		.user_agent = "coreio-crawler/0.1",
	};
	int rc;

	if ((rc = cio_sem_new(&cr->sem, (int)cr->o->concurrency, true)) < 0)
		return rc;
	return cio_http_client_new(&cr->client, &co);
}

/* A failure before the crawl starts: exit status 2, with a plain
 * message as for usage errors; an interruption stays -ECANCELED. */
static int startup_error(const char *what, const char *path, int rc)
{
	if (rc == -ECANCELED)
		return rc;
	fprintf(stderr, CRW_PROG ": cannot %s '%s': %s\n", what, path,
		rc == -EFBIG ? "larger than 256 MiB" : strerror(-rc));
	return 2;
}

intptr_t crw_main_task(void *arg)
{
	struct crawl cr = { .o = arg };
	struct crw_urls urls;
	int rc, crc, status;

	if ((rc = crw_urls_read(&urls, cr.o->input)) < 0)
		return startup_error("read the URL list", cr.o->input, rc);
	/* Truncated and headed before any fetch, as the seed does; the list
	 * is read first, so that a wrong -i does not clobber the output. */
	if ((rc = crw_out_open(&cr.out, cr.o->output)) < 0) {
		crw_urls_free(&urls);
		return startup_error("create", cr.o->output, rc);
	}
	if (urls.n == 0)
		crw_log(CRW_WARNING, "No URLs in %s", cr.o->input);
	if ((rc = setup(&cr)) < 0)
		crw_log(CRW_ERROR, "Cannot start: %s", strerror(-rc));
	else if (urls.n > 0)
		rc = crawl_all(&cr, &urls);
	status = rc < 0 || cr.failed ? 1 : 0;
	if (rc == -ECANCELED)
		crw_log(CRW_WARNING, "Interrupted: %zu of %zu URLs done",
			cr.fetched + cr.failed, urls.n);
	else if (rc >= 0)
		crw_log(CRW_INFO, "Done: %zu URLs, %zu fetched, %zu failed; "
			"%llu links written to %s", urls.n, cr.fetched,
			cr.failed, (unsigned long long)cr.out.lines,
			cr.o->output);
	/* cio_close() is not cancellable: this runs after Ctrl-C too. */
	if ((crc = crw_out_close(&cr.out)) < 0) {
		crw_log(CRW_ERROR, "%s is incomplete: %s", cr.o->output,
			strerror(-crc));
		status = 1;
	}
	cio_http_client_free(cr.client);
	cio_sem_free(cr.sem);
	crw_urls_free(&urls);
	return rc == -ECANCELED ? rc : status;
}
