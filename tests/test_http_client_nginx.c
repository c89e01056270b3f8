/* HTTP client against nginx: static files (small, 1 MiB with every byte
 * checked, kept in memory and streamed), 404, HEAD, a POST nginx refuses,
 * keep-alive reuse seen through nginx's $connection, relative and absolute
 * redirects, and chunked bodies (sub_filter drops the length). Each test
 * starts its own nginx (single process, everything in a temporary
 * directory) and stops it, whatever way the test ends; without nginx the
 * tests are skipped. */
#include "helpers/net.h"
#include "io/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LATER() cio_deadline_after(20 * CIO_NSEC_PER_SEC)
#define LOCAL "127.0.0.1"
#define BIG (1024u * 1024)

static int get(cio_http_client *c, const char *url,
	       struct cio_http_result *res)
{
	return cio_http_get(c, url, res, LATER());
}

static cio_http_client *client_new(void)
{
	cio_http_client *c;
	cr_assert_eq(cio_http_client_new(&c, NULL), 0);
	return c;
}

static struct cio_http_client_stats stats(const cio_http_client *c)
{
	struct cio_http_client_stats st;
	cr_assert_eq(cio_http_client_stats(c, &st), 0);
	return st;
}

#define NGINX "/usr/sbin/nginx"

static struct {
	pid_t pid;
	uint16_t port;
	char dir[64];
} ngx;

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(bind(fd, (struct sockaddr *)&a, al), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(fd);
	return ok;
}

static const char ngx_conf[] =
	"daemon off;\n"
	"master_process off;\n"
	"worker_processes 1;\n"
	"pid %1$s/nginx.pid;\n"
	"error_log %1$s/error.log;\n"
	"events { worker_connections 64; }\n"
	"http {\n"
	"  access_log off;\n"
	"  default_type text/plain;\n"
	"  client_body_temp_path %1$s/tmp;\n"
	"  proxy_temp_path %1$s/tmp;\n"
	"  fastcgi_temp_path %1$s/tmp;\n"
	"  uwsgi_temp_path %1$s/tmp;\n"
	"  scgi_temp_path %1$s/tmp;\n"
	"  keepalive_timeout 30s;\n"
	"  server {\n"
	"    listen 127.0.0.1:%2$u;\n"
	"    root %1$s/www;\n"
	"    add_header X-Conn $connection always;\n"
	"    location = /redir {\n"
	"      absolute_redirect off;\n"
	"      return 301 /small.txt;\n"
	"    }\n"
	"    location = /redir-abs { return 302 /small.txt; }\n"
	"    location /sub/ {\n"
	"      alias %1$s/www/;\n"
	"      sub_filter 'hello' 'HELLO';\n"
	"      sub_filter_once off;\n"
	"      sub_filter_types *;\n"
	"    }\n"
	"  }\n"
	"}\n";

#define LINES 20000

static void ngx_start(void)
{
	char path[256], conf[2048];

	if (access(NGINX, X_OK) != 0)
		return;
	strcpy(ngx.dir, "/tmp/cio-nginx-XXXXXX");
	cr_assert_not_null(mkdtemp(ngx.dir));
	snprintf(path, sizeof(path), "%s/www", ngx.dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/tmp", ngx.dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/www/dir", ngx.dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/www/dir/index.html", ngx.dir);
	write_file(path, "<p>index</p>\n", 13);
	snprintf(path, sizeof(path), "%s/www/small.txt", ngx.dir);
	write_file(path, "hello nginx\n", 12);

	uint8_t *big = malloc(BIG);
	cr_assert_not_null(big);
	th_fill_pat(big, BIG, 0, 7);
	snprintf(path, sizeof(path), "%s/www/big.bin", ngx.dir);
	write_file(path, big, BIG);
	/* Text for sub_filter: long enough for many chunks. */
	size_t tl = 0;
	for (int i = 0; i < LINES; i++)
		tl += (size_t)sprintf((char *)big + tl, "line %06d hello\n", i);
	snprintf(path, sizeof(path), "%s/www/text.txt", ngx.dir);
	write_file(path, big, tl);
	free(big);

	ngx.port = free_port();
	int n = snprintf(conf, sizeof(conf), ngx_conf, ngx.dir, ngx.port);
	snprintf(path, sizeof(path), "%s/nginx.conf", ngx.dir);
	write_file(path, conf, (size_t)n);

	char errlog[128];
	snprintf(errlog, sizeof(errlog), "%s/error.log", ngx.dir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* Dies with the test, whatever way the test ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execl(NGINX, "nginx", "-p", ngx.dir, "-c", path, "-e", errlog,
		      (char *)NULL);
		_exit(127);
	}
	ngx.pid = pid;
	/* nginx is another process: poll its port, bounded. */
	for (int i = 0; i < 500 && !port_open(ngx.port); i++) {
		int st;
		cr_assert_eq(waitpid(pid, &st, WNOHANG), 0,
			     "nginx exited (see %s)", errlog);
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	cr_assert(port_open(ngx.port), "nginx does not listen");
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void ngx_stop(void)
{
	if (ngx.pid > 0) {
		kill(ngx.pid, SIGQUIT);
		waitpid(ngx.pid, NULL, 0);
		ngx.pid = 0;
	}
	if (ngx.dir[0]) {
		nftw(ngx.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		ngx.dir[0] = '\0';
	}
}

static const char *ngx_url(const char *path)
{
	static char buf[4][128];
	static unsigned i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]), "http://" LOCAL ":%u%s", ngx.port, path);
	return b;
}

#define NGX_TEST(name)                                                       \
	static intptr_t name##_task(void *arg);                              \
	Test(http_client_nginx, name, .init = ngx_start, .fini = ngx_stop,   \
	     .timeout = 30)                                                  \
	{                                                                    \
		if (!ngx.pid)                                                \
			cr_skip_test("nginx is not installed");              \
		th_run_clean(name##_task, NULL);                             \
	}                                                                    \
	static intptr_t name##_task(void *arg)

NGX_TEST(files)
{
	struct cio_http_result res;
	(void)arg;

	cr_assert_eq(get(NULL, ngx_url("/small.txt"), &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(res.body, "hello nginx\n");
	cr_assert_str_eq(cio_http_result_header(&res, "content-type"),
			 "text/plain");
	cr_assert_not_null(strstr(cio_http_result_header(&res, "Server"),
				  "nginx"));
	cio_http_result_free(&res);

	cr_assert_eq(get(NULL, ngx_url("/big.bin"), &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_eq(res.body_len, BIG);
	th_check_pat((const uint8_t *)res.body, BIG, 0, 7);
	cio_http_result_free(&res);

	cr_assert_eq(get(NULL, ngx_url("/missing"), &res), 0);
	cr_assert_eq(res.status, 404);
	cr_assert_not_null(strstr(res.body, "404 Not Found"));
	cio_http_result_free(&res);

	struct cio_http_req req = { .method = "HEAD",
				    .url = ngx_url("/big.bin") };
	cr_assert_eq(cio_http_client_request(NULL, &req, &res, LATER()), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(cio_http_result_header(&res, "Content-Length"),
			 "1048576");
	cr_assert_eq(res.body_len, 0);
	cio_http_result_free(&res);

	/* A POST to a static file: 405, its body sent and answered. */
	req = (struct cio_http_req){ .method = "POST",
				     .url = ngx_url("/small.txt"),
				     .body = "x=1", .body_len = 3 };
	cr_assert_eq(cio_http_client_request(NULL, &req, &res, LATER()), 0);
	cr_assert_eq(res.status, 405);
	cio_http_result_free(&res);
	return 0;
}

struct pat_sink {
	size_t off;
};

static int pat_body(void *arg, const void *data, size_t len)
{
	struct pat_sink *k = arg;
	th_check_pat(data, len, k->off, 7);
	k->off += len;
	return 0;
}

NGX_TEST(keep_alive)
{
	struct cio_http_result res;
	char conn[3][16];
	(void)arg;

	cio_http_client *c = client_new();
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(get(c, ngx_url("/small.txt"), &res), 0);
		snprintf(conn[i], sizeof(conn[i]), "%s",
			 cio_http_result_header(&res, "X-Conn"));
		cio_http_result_free(&res);
	}
	cr_assert_str_eq(conn[0], conn[1], "the connection was reused");
	cr_assert_str_eq(conn[1], conn[2]);
	/* 404s and streamed bodies keep it too. */
	cr_assert_eq(get(c, ngx_url("/missing"), &res), 0);
	cr_assert_str_eq(cio_http_result_header(&res, "X-Conn"), conn[0]);
	cio_http_result_free(&res);
	struct pat_sink k = { 0 };
	struct cio_http_req req = { .url = ngx_url("/big.bin"),
				    .on_body = pat_body, .arg = &k };
	cr_assert_eq(cio_http_client_request(c, &req, &res, LATER()), 0);
	cr_assert_eq(k.off, BIG);
	cr_assert_str_eq(cio_http_result_header(&res, "X-Conn"), conn[0]);
	cio_http_result_free(&res);
	struct cio_http_client_stats st = stats(c);
	cr_assert_eq(st.connects, 1);
	cr_assert_eq(st.reused, 4);
	cr_assert_eq(st.idle, 1);

	/* Without a client: a connection each time. */
	cr_assert_eq(get(NULL, ngx_url("/small.txt"), &res), 0);
	cr_assert_str_neq(cio_http_result_header(&res, "X-Conn"), conn[0]);
	cr_assert_str_eq(cio_http_result_header(&res, "Connection"), "close");
	cio_http_result_free(&res);
	cio_http_client_free(c);
	return 0;
}

NGX_TEST(redirects_and_chunked)
{
	struct cio_http_result res;
	(void)arg;

	cio_http_client *c = client_new();
	/* Relative Location (absolute_redirect off), then nginx's own
	 * absolute one, then a directory without its slash. */
	cr_assert_eq(get(c, ngx_url("/redir"), &res), 0);
	cr_assert_str_eq(res.body, "hello nginx\n");
	cr_assert_eq(res.redirects, 1);
	cr_assert_str_eq(res.url, ngx_url("/small.txt"));
	cio_http_result_free(&res);
	cr_assert_eq(get(c, ngx_url("/redir-abs"), &res), 0);
	cr_assert_eq(res.status, 200);
	cr_assert_eq(res.redirects, 1);
	cio_http_result_free(&res);
	cr_assert_eq(get(c, ngx_url("/dir"), &res), 0);
	cr_assert_str_eq(res.body, "<p>index</p>\n");
	cr_assert_str_eq(res.url, ngx_url("/dir/"));
	cio_http_result_free(&res);

	/* sub_filter drops the length: chunked. */
	cr_assert_eq(get(c, ngx_url("/sub/small.txt"), &res), 0);
	cr_assert_str_eq(cio_http_result_header(&res, "Transfer-Encoding"),
			 "chunked");
	cr_assert_str_eq(res.body, "HELLO nginx\n");
	cio_http_result_free(&res);
	cr_assert_eq(get(c, ngx_url("/sub/text.txt"), &res), 0);
	cr_assert_str_eq(cio_http_result_header(&res, "Transfer-Encoding"),
			 "chunked");
	char line[32];
	size_t off = 0;
	for (int i = 0; i < LINES; i++) {
		int n = snprintf(line, sizeof(line), "line %06d HELLO\n", i);
		cr_assert_leq(off + (size_t)n, res.body_len);
		cr_assert_eq(memcmp(res.body + off, line, (size_t)n), 0,
			     "line %d", i);
		off += (size_t)n;
	}
	cr_assert_eq(off, res.body_len);
	cio_http_result_free(&res);
	cr_assert_eq(stats(c).connects, 1);
	cio_http_client_free(c);
	return 0;
}
