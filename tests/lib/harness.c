/* Integration-test harness: runs the real daemon on a free loopback port
 * and talks to it with libcurl; see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

/* Bounds on waiting for the daemon: startup line and exit. */
#define GG_START_MS 10000
#define GG_STOP_MS 10000
#define GG_REQUEST_S 30L
#define GG_MAX_ARGS 64

static const char *gg_bin(void)
{
	const char *b = getenv("GRADGUARD_BIN");

	return b && *b ? b : "build/gradguard";
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where the daemon's stderr goes: $BUILD/logs/server-<pid>-<n>.log, or
 * inherited with GG_SERVER_STDERR=1, or /dev/null if neither works. */
static int gg_log_fd(char *path, size_t n)
{
	static atomic_uint seq;
	const char *build = getenv("BUILD");
	int fd;

	path[0] = '\0';
	if (getenv("GG_SERVER_STDERR"))
		return dup(STDERR_FILENO);
	snprintf(path, n, "%s/logs", build && *build ? build : "build");
	mkdir(path, 0755);
	snprintf(path + strlen(path), n - strlen(path), "/server-%ld-%u.log",
		 (long)getpid(), atomic_fetch_add(&seq, 1));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		path[0] = '\0';
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	}
	return fd;
}

/* fork + exec with stdout on out_fd (or /dev/null when -1). */
static pid_t gg_spawn(const char *const argv[], int out_fd, int err_fd)
{
	pid_t parent = getpid(), pid = fork();

	if (pid != 0)
		return pid;
	{
		int null = open("/dev/null", O_RDWR);

		/* a test that dies (failed assertion in a forked Check test)
		 * takes its daemon with it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);

		dup2(null, STDIN_FILENO);
		dup2(out_fd >= 0 ? out_fd : null, STDOUT_FILENO);
		dup2(err_fd >= 0 ? err_fd : null, STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

/* Waits up to ms for pid; returns the raw status, or -1 on time-out. */
static int gg_wait(pid_t pid, int ms)
{
	long long until = now_ms() + ms;
	int status, pfd;

	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		long long left;

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			status = -1;
		if (w < 0 && errno != EINTR)
			break;
		left = until - now_ms();
		if (left <= 0) {
			status = -1;
			break;
		}
		if (pfd >= 0) {
			struct pollfd p = {pfd, POLLIN, 0};

			poll(&p, 1, (int)left);
		} else {
			struct timespec ts = {0, 5000000};

			nanosleep(&ts, NULL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return status;
}

static int gg_exit_code(int status)
{
	if (status == -1)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Reads from fd until a full line, EOF or the deadline. */
static int gg_read_line(int fd, char *line, size_t n, int ms)
{
	long long until = now_ms() + ms;
	size_t len = 0;

	while (len + 1 < n) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = until - now_ms();
		ssize_t got;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		got = read(fd, line + len, 1);
		if (got <= 0)
			return -1;
		if (line[len] == '\n') {
			line[len] = '\0';
			return 0;
		}
		len++;
	}
	return -1;
}

int gg_server_start(struct gg_server *s, const char *const extra_args[])
{
	const char *argv[GG_MAX_ARGS];
	size_t argc = 0;
	int fds[2] = {-1, -1}, err_fd = -1;
	bool has_store = false;
	char line[256];
	const char *p;

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	s->out_fd = -1;
	for (size_t i = 0; extra_args && extra_args[i]; i++)
		if (!strcmp(extra_args[i], "--store") ||
		    !strncmp(extra_args[i], "--store=", 8))
			has_store = true;
	argv[argc++] = gg_bin();
	argv[argc++] = "--port";
	argv[argc++] = "0";
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	if (!has_store) {
		argv[argc++] = "--store";
		argv[argc++] = "memory:";
	}
	for (size_t i = 0; extra_args && extra_args[i]; i++) {
		if (argc + 1 >= GG_MAX_ARGS)
			return -1;
		argv[argc++] = extra_args[i];
	}
	argv[argc] = NULL;
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	err_fd = gg_log_fd(s->log_path, sizeof(s->log_path));
	s->pid = gg_spawn(argv, fds[1], err_fd);
	close(fds[1]);
	if (err_fd >= 0)
		close(err_fd);
	s->out_fd = fds[0];
	if (s->pid < 0)
		goto fail;
	if (gg_read_line(s->out_fd, line, sizeof(line), GG_START_MS))
		goto fail;
	p = strrchr(line, ':');
	if (strncmp(line, "listening on http://", 20) || !p)
		goto fail;
	s->port = (int)strtol(p + 1, NULL, 10);
	if (s->port <= 0 || s->port > 65535)
		goto fail;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	return 0;
fail:
	gg_server_kill(s);
	return -1;
}

int gg_server_stop(struct gg_server *s)
{
	int status;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	status = gg_wait(s->pid, GG_STOP_MS);
	if (status == -1) {
		kill(s->pid, SIGKILL);
		gg_wait(s->pid, GG_STOP_MS);
	}
	s->pid = -1;
	if (s->out_fd >= 0)
		close(s->out_fd);
	s->out_fd = -1;
	return gg_exit_code(status);
}

void gg_server_kill(struct gg_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		gg_wait(s->pid, GG_STOP_MS);
	}
	s->pid = -1;
	if (s->out_fd >= 0)
		close(s->out_fd);
	s->out_fd = -1;
}

int gg_run(const char *const args[], char *out, size_t out_len)
{
	const char *argv[GG_MAX_ARGS];
	size_t argc = 0, len = 0;
	int fds[2], status;
	long long until = now_ms() + GG_STOP_MS;
	pid_t pid;

	argv[argc++] = gg_bin();
	for (size_t i = 0; args && args[i] && argc + 1 < GG_MAX_ARGS; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = gg_spawn(argv, fds[1], -1);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	for (;;) {
		struct pollfd p = {fds[0], POLLIN, 0};
		long long left = until - now_ms();
		char tmp[4096];
		ssize_t got;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		got = read(fds[0], tmp, sizeof(tmp));
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got && out && len + 1 < out_len; i++)
			out[len++] = tmp[i];
	}
	if (out && out_len)
		out[len] = '\0';
	close(fds[0]);
	status = gg_wait(pid, (int)(until - now_ms() > 0 ? until - now_ms()
							  : 1));
	if (status == -1) {
		kill(pid, SIGKILL);
		gg_wait(pid, GG_STOP_MS);
	}
	return gg_exit_code(status);
}

int gg_connect(const struct gg_server *s, int rcvbuf)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)s->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

bool gg_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		if (k <= 0)
			return false;
		c += k;
		n -= (size_t)k;
	}
	return true;
}

long gg_raw(const struct gg_server *s, const char *req, size_t req_len,
	    char *resp, size_t resp_len, int timeout_ms)
{
	long long until = now_ms() + timeout_ms;
	size_t len = 0;
	int fd;

	resp[0] = '\0';
	fd = gg_connect(s, 0);
	if (fd < 0)
		return -1;
	gg_send_all(fd, req, req_len);
	while (len + 1 < resp_len) {
		struct pollfd p = {fd, POLLIN, 0};
		long long left = until - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = recv(fd, resp + len, resp_len - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	resp[len] = '\0';
	close(fd);
	return (long)len;
}

/* ---- libcurl ------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
	char *data;
	size_t len, cap;
	bool failed;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t add = size * n;

	if (k->len + add + 1 > k->cap) {
		size_t cap = k->cap ? k->cap : 4096;
		char *d;

		while (cap < k->len + add + 1)
			cap *= 2;
		d = realloc(k->data, cap);
		if (!d) {
			k->failed = true;
			return 0;
		}
		k->data = d;
		k->cap = cap;
	}
	memcpy(k->data + k->len, p, add);
	k->len += add;
	k->data[k->len] = '\0';
	return add;
}

static void header_copy(char *dst, size_t n, const char *v, size_t len)
{
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
		       v[len - 1] == ' '))
		len--;
	if (len >= n)
		len = n - 1;
	memcpy(dst, v, len);
	dst[len] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct gg_response *r = arg;
	size_t len = size * n, name_len;
	const char *colon = memchr(p, ':', len), *v;
	static const struct {
		const char *name;
		size_t off, size;
	} wanted[] = {
		{"content-type", offsetof(struct gg_response, content_type),
		 sizeof(((struct gg_response *)0)->content_type)},
		{"x-request-id", offsetof(struct gg_response, request_id),
		 sizeof(((struct gg_response *)0)->request_id)},
		{"allow", offsetof(struct gg_response, allow),
		 sizeof(((struct gg_response *)0)->allow)},
		{"retry-after", offsetof(struct gg_response, retry_after),
		 sizeof(((struct gg_response *)0)->retry_after)},
		{"location", offsetof(struct gg_response, location),
		 sizeof(((struct gg_response *)0)->location)},
		{"www-authenticate",
		 offsetof(struct gg_response, www_authenticate),
		 sizeof(((struct gg_response *)0)->www_authenticate)},
	};

	if (!colon)
		return len;
	name_len = (size_t)(colon - p);
	v = colon + 1;
	while (v < p + len && *v == ' ')
		v++;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(*wanted); i++)
		if (strlen(wanted[i].name) == name_len &&
		    !strncasecmp(p, wanted[i].name, name_len))
			header_copy((char *)r + wanted[i].off, wanted[i].size,
				    v, len - (size_t)(v - p));
	return len;
}

/* Bodies larger than this are recorded without their text. */
#define GG_RECORD_BODY_MAX (16u * 1024u * 1024u)
/* JSON request bodies up to this size are recorded with the response. */
#define GG_RECORD_REQUEST_MAX (1024u * 1024u)

/* Appends r to $GG_RECORD_DIR/<pid>.jsonl with one write (O_APPEND: lines
 * from threads of one process do not interleave). Best effort: a recording
 * that cannot be written is reported on stderr, the test goes on. */
static void gg_record(const char *method, const char *path,
		      const char *content_type, const char *body,
		      size_t body_len, const struct gg_response *r)
{
	const char *dir = getenv("GG_RECORD_DIR");
	char file[1024];
	cJSON *o = NULL;
	char *line = NULL;
	int fd = -1;
	size_t len;

	if (!dir || !*dir || !r->status)
		return;
	mkdir(dir, 0755);
	snprintf(file, sizeof(file), "%s/%ld.jsonl", dir, (long)getpid());
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "method", method) ||
	    !cJSON_AddStringToObject(o, "path", path) ||
	    !cJSON_AddNumberToObject(o, "status", (double)r->status) ||
	    !cJSON_AddStringToObject(o, "content_type", r->content_type))
		goto out;
	/* The JSON request too, so that tests/schema/check_shapes.py can tell
	 * which method / op / source / mode each response answered. */
	if (body && content_type && body_len <= GG_RECORD_REQUEST_MAX &&
	    !strncmp(content_type, "application/json", 16) &&
	    memchr(body, '\0', body_len) == NULL) {
		char *text = malloc(body_len + 1);

		if (!text)
			goto out;
		memcpy(text, body, body_len);
		text[body_len] = '\0';
		if (!cJSON_AddStringToObject(o, "request", text)) {
			free(text);
			goto out;
		}
		free(text);
	}
	if (r->body_len > GG_RECORD_BODY_MAX ||
	    strlen(r->body) != r->body_len) {
		if (!cJSON_AddTrueToObject(o, "truncated"))
			goto out;
	} else if (!cJSON_AddStringToObject(o, "body", r->body)) {
		goto out;
	}
	line = cJSON_PrintUnformatted(o);
	if (!line)
		goto out;
	len = strlen(line);
	line[len++] = '\n';   /* over the NUL: one write, no terminator */
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, len) != (ssize_t)len)
		fprintf(stderr, "harness: cannot record to %s\n", file);
out:
	if (fd >= 0)
		close(fd);
	cJSON_free(line);
	cJSON_Delete(o);
}

int gg_request(const struct gg_server *s, const char *method,
	       const char *path, const char *content_type, const char *body,
	       size_t body_len, const char *const headers[],
	       struct gg_response *r)
{
	struct curl_slist *hl = NULL;
	struct sink k = {NULL, 0, 0, false};
	char url[2048], ct[256];
	CURL *c = NULL;
	CURLcode rc;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	pthread_once(&curl_once, curl_init_once);
	c = curl_easy_init();
	if (!c)
		goto out;
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, GG_REQUEST_S);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? body_len : 0));
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	}
	if (content_type) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		hl = curl_slist_append(hl, ct);
	} else {
		hl = curl_slist_append(hl, "Content-Type:");
	}
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK || k.failed) {
		r->status = 0;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	ret = 0;
out:
	if (!k.data)
		k.data = calloc(1, 1);
	r->body = k.data;
	r->body_len = k.len;
	if (ret == 0 && r->body)
		gg_record(method, path, content_type, body, body_len, r);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return ret;
}

int gg_post_json(const struct gg_server *s, const char *path,
		 const char *json, struct gg_response *r)
{
	return gg_request(s, "POST", path, "application/json", json,
			  strlen(json), NULL, r);
}

void gg_response_free(struct gg_response *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

cJSON *gg_response_json(const struct gg_response *r)
{
	if (!r->body || !r->body_len)
		return NULL;
	return cJSON_ParseWithLength(r->body, r->body_len);
}
