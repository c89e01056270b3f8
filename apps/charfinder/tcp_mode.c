/* charfinder --tcp: the book's tcp_charfinder on coreio.
 *
 * A session: the server writes the prompt "?> ", reads one line, answers
 * with one line per character found and then a blank line, and prompts
 * again. An empty line, or the end of the input, ends the session. Lines
 * may end in "\n" or "\r\n"; the answer uses the client's line ending (a
 * telnet client wants "\r\n"). A line longer than CF_QUERY_MAX bytes, or
 * one that is not UTF-8 or holds control characters (telnet sends its
 * commands, e.g. for Ctrl-C, as such bytes), gets one "error: ..." line
 * and the connection is closed.
 *
 * Every shard serves (CIO_SERVER_SHARDED, one SO_REUSEPORT socket each);
 * the index is the one built before cio_run(), only read here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coreio.h"
#include "format.h"
#include "serve.h"

#define PROMPT "?> "
/* A client may think this long at the prompt. */
#define IDLE_TIMEOUT (300 * CIO_NSEC_PER_SEC)
/* ...and take this long to take each part of an answer. */
#define WRITE_TIMEOUT (60 * CIO_NSEC_PER_SEC)
/* After an error line: read what the client still sends, for at most this
 * long and this much, before closing (see refuse()). */
#define LINGER_TIME (2 * CIO_NSEC_PER_SEC)
#define LINGER_BYTES (1u << 20)

#define STR(x) #x
#define XSTR(x) STR(x)

static int stream_sink(void *ctx, const void *p, size_t n)
{
	cio_stream *s = ctx;
	int ret = cio_stream_write(s, p, n);

	/* Back-pressure: a client that reads slowly holds this task, not
	 * megabytes of "cjk" results in memory. */
	return ret < 0 ? ret
		       : cio_stream_drain(s, cio_deadline_after(WRITE_TIMEOUT));
}

/* Send `msg`, end our side, and close only once the client has closed
 * its side (or after LINGER_*). Closing a socket with unread input makes
 * the kernel send a reset, and a reset may destroy the error line before
 * the client has read it. */
static intptr_t refuse(cio_stream *s, const char *msg, const char *eol)
{
	int64_t dl = cio_deadline_after(LINGER_TIME);
	size_t seen = 0;
	char sink[1024];
	ssize_t n;

	if (cio_stream_write(s, msg, strlen(msg)) < 0 ||
	    cio_stream_write(s, eol, strlen(eol)) < 0 ||
	    cio_stream_write_eof(s) < 0 || cio_stream_flush(s, dl) < 0)
		return 0;
	while (seen < LINGER_BYTES &&
	       (n = cio_stream_read(s, sink, sizeof(sink), dl)) > 0)
		seen += (size_t)n;
	return 0;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7F)
			return true;
	}
	return false;
}

/* The answer to one query: its lines, then a blank line. */
static int answer(cio_stream *s, const struct cf_index *ix, const char *q,
		  size_t len, const char *eol)
{
	char buf[4096];
	struct cf_out o;
	struct cf_match m;
	struct cf_entry e;
	int ret;

	if ((ret = cf_index_find(ix, q, len, &m)) < 0)
		return ret;
	cf_out_init(&o, buf, sizeof(buf), stream_sink, s);
	for (size_t i = 0; i < m.n && ret >= 0; i++) {
		cf_index_entry(ix, m.ids[i], &e);
		ret = cf_out_text_row(&o, &e, eol);
	}
	cf_match_release(&m);
	if (ret >= 0)
		ret = cf_out_puts(&o, eol);
	return ret < 0 ? ret : cf_out_flush(&o);
}

static intptr_t session(cio_stream *s, void *arg)
{
	const struct cf_index *ix = arg;
	/* Room for CF_QUERY_MAX bytes and the '\n': readline() refuses a
	 * longer line with -EOVERFLOW before it is all in memory. */
	char line[CF_QUERY_MAX + 1];
	const char *eol = "\n";

	for (;;) {
		ssize_t n;
		size_t len, start = 0;

		if (cio_stream_write(s, PROMPT, strlen(PROMPT)) < 0 ||
		    cio_stream_drain(s, cio_deadline_after(WRITE_TIMEOUT)) < 0)
			return 0;
		n = cio_stream_readline(s, line, sizeof(line),
					cio_deadline_after(IDLE_TIMEOUT));
		if (n == -EOVERFLOW)
			return refuse(s, "error: query longer than "
					 XSTR(CF_QUERY_MAX) " bytes", eol);
		if (n <= 0)
			return 0; /* end of input, timeout, reset, shutdown */
		len = (size_t)n;
		bool lf = line[len - 1] == '\n'; /* not at end of input */
		if (lf)
			len--;
		if (len > 0 && line[len - 1] == '\r') {
			len--;
			if (lf)
				eol = "\r\n";
		} else if (lf) {
			eol = "\n";
		}
		while (start < len &&
		       (line[start] == ' ' || line[start] == '\t'))
			start++;
		while (len > start && (line[len - 1] == ' ' ||
				       line[len - 1] == '\t'))
			len--;
		if (len == start)
			return 0; /* an empty line ends the session */
		if (has_control(line + start, len - start) ||
		    !cf_utf8_valid(line + start, len - start))
			return refuse(s, "error: a query is UTF-8 text without "
					 "control characters", eol);
		if (answer(s, ix, line + start, len - start, eol) < 0)
			return 0;
	}
}

static intptr_t tcp_main(void *arg)
{
	const struct cf_serve_opts *o = arg;
	struct cio_stream_opts so = { .limit = CF_QUERY_MAX };
	struct cio_server_opts sopts = { .flags = CIO_SERVER_SHARDED,
					 .stream = &so };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	cio_server *srv;
	int ret;

	ret = cio_start_server(&srv, o->host, o->port, session, (void *)o->ix,
			       &sopts);
	if (ret < 0) {
		fprintf(stderr, "charfinder: cannot listen on %s port %u: %s\n",
			o->host ? o->host : "*", o->port, strerror(-ret));
		return 1;
	}
	if (cio_server_sockname(srv, (struct sockaddr *)&ss, &sl) == 0)
		cf_serve_announce((struct sockaddr *)&ss, sl);
	cf_serve_wait();
	/* cio_run() closed the server and ended its sessions already: this
	 * only collects them. */
	cio_server_close(srv);
	cio_server_wait_closed(srv, cio_deadline_after(CIO_NSEC_PER_SEC));
	cio_server_free(srv);
	return 0;
}

int cf_tcp_serve(const struct cf_serve_opts *o)
{
	return cf_serve_run(tcp_main, o);
}
