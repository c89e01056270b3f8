#include "helpers/proc.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coreio.h"

extern char **environ;

struct job {
	struct th_proc *p;
	const char *const *argv;
	const char *in;
	size_t in_len;
};

static void append(char **buf, size_t *len, size_t *cap, const char *p,
		   size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap ? *cap * 2 : 4096;
		*buf = realloc(*buf, *cap);
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Feed stdin and drain stdout and stderr together, so a chatty program
 * never blocks on a full pipe while we block on another. */
static intptr_t run_job(void *arg)
{
	struct job *j = arg;
	struct th_proc *p = j->p;
	int in[2], out[2], err[2];
	posix_spawn_file_actions_t fa;
	size_t ocap = 0, ecap = 0, off = 0;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    pipe2(err, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	int rc = posix_spawnp(&pid, j->argv[0], &fa, NULL,
			      (char *const *)j->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (rc) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		return -1;
	}
	if (!j->in_len) {
		close(in[1]);
		in[1] = -1;
	}
	struct pollfd fds[3] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 },
				 { in[1], POLLOUT, 0 } };
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 3, -1) < 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			char buf[65536];
			ssize_t n = read(fds[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
			} else if (i == 0) {
				append(&p->out, &p->out_len, &ocap, buf,
				       (size_t)n);
			} else {
				append(&p->err, &p->err_len, &ecap, buf,
				       (size_t)n);
			}
		}
		if (fds[2].fd >= 0 && fds[2].revents) {
			ssize_t n = write(fds[2].fd, j->in + off,
					  j->in_len - off);
			if (n > 0)
				off += (size_t)n;
			if (n <= 0 || off == j->in_len) {
				close(fds[2].fd);
				fds[2].fd = -1;
			}
		}
	}
	if (fds[2].fd >= 0)
		close(fds[2].fd);
	waitpid(pid, &p->status, 0);
	return 0;
}

void th_proc_run(struct th_proc *p, const char *const argv[], const void *in,
		 size_t in_len)
{
	struct job j = { p, argv, in, in_len };

	memset(p, 0, sizeof(*p));
	p->status = -1;
	p->out = calloc(1, 1);
	p->err = calloc(1, 1);
	if (cio_current_task())
		cio_to_thread(run_job, &j);
	else
		run_job(&j);
}

void th_proc_free(struct th_proc *p)
{
	free(p->out);
	free(p->err);
	p->out = p->err = NULL;
}

int th_proc_exit(const struct th_proc *p)
{
	if (p->status < 0 || !WIFEXITED(p->status))
		return -1;
	return WEXITSTATUS(p->status);
}

int th_have(const char *prog)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}
