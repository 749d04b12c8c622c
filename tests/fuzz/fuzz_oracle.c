/* Fuzzes what the oracle source of /gradcheck reads from the network: a
 * fake oracle on 127.0.0.1 (a thread of this process) answers every call
 * with the input, and a fixed /gradcheck request (theta = [0.5, -1, 2],
 * gradient = theta, the first input byte picks batch_size and the check
 * mode) runs against it with an allow-list of 127.0.0.1 only.
 *   input = <selector byte> <answer>
 * The answer is sent as an HTTP 200 body, or as it is when it starts with
 * "HTTP/". Every "COSTS" in it becomes the true costs J = sum(x^2)/2 of the
 * call's perturbations or points, so a well-formed answer passes the check.
 * Invariants: the handler's (fuzz_call_ctx, fuzz_check_gradcheck); the
 * oracle's requests are JSON with in-range perturbations; a success needs
 * an answer that was JSON. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fuzz.h"

#define N_THETA 3
#define MAX_REQUEST (1u << 20)

static const double theta[N_THETA] = {0.5, -1, 2};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *answer;          /* the current input's answer (under lock) */
static size_t answer_len;
static unsigned short port;

static double cost(const double *x)
{
	double j = 0;

	for (size_t i = 0; i < N_THETA; i++)
		j += x[i] * x[i] / 2;
	return j;
}

/* The costs the request asks for, as "c1,c2,..." into out. */
static void true_costs(const char *req, size_t len, struct buf *out)
{
	const cJSON *list, *it, *a, *b, *v;
	double x[N_THETA];
	char num[32];
	size_t i, k = 0;
	cJSON *root = cJSON_ParseWithLengthOpts(req, len, NULL, 0);

	if (!cJSON_IsObject(root))
		fuzz_fail("oracle request is not a JSON object: %.*s",
			  (int)(len > 300 ? 300 : len), req);
	list = cJSON_GetObjectItemCaseSensitive(root, "perturbations");
	if (list) {
		if (!cJSON_IsArray(list))
			fuzz_fail("oracle request: perturbations");
		cJSON_ArrayForEach(it, list) {
			a = cJSON_GetArrayItem(it, 0);
			b = cJSON_GetArrayItem(it, 1);
			if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 ||
			    !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
			    a->valuedouble < 0 || a->valuedouble >= N_THETA ||
			    a->valuedouble != floor(a->valuedouble) ||
			    !isfinite(b->valuedouble))
				fuzz_fail("oracle request: bad perturbation");
			memcpy(x, theta, sizeof(x));
			x[(size_t)a->valuedouble] += b->valuedouble;
			json_format_double(num, cost(x));
			if (k++)
				buf_putc(out, ',');
			buf_puts(out, num);
		}
	} else {
		list = cJSON_GetObjectItemCaseSensitive(root, "points");
		if (!cJSON_IsArray(list))
			fuzz_fail("oracle request: neither perturbations nor "
				  "points");
		cJSON_ArrayForEach(it, list) {
			if (cJSON_GetArraySize(it) != N_THETA)
				fuzz_fail("oracle request: a point of %d",
					  cJSON_GetArraySize(it));
			i = 0;
			cJSON_ArrayForEach(v, it) {
				if (!cJSON_IsNumber(v))
					fuzz_fail("oracle request: point");
				x[i++] = v->valuedouble;
			}
			json_format_double(num, cost(x));
			if (k++)
				buf_putc(out, ',');
			buf_puts(out, num);
		}
	}
	cJSON_Delete(root);
}

/* The reply: the answer with COSTS filled in, wrapped in HTTP unless it
 * already is HTTP. */
static void reply(int fd, const char *req, size_t len)
{
	struct buf costs, body, msg;
	const char *s, *hit;
	size_t n, off;
	ssize_t w;

	buf_init(&costs, 0);
	buf_init(&body, 0);
	buf_init(&msg, 0);
	true_costs(req, len, &costs);
	pthread_mutex_lock(&lock);
	s = answer ? answer : "";
	n = answer ? answer_len : 0;
	while (n && (hit = memmem(s, n, "COSTS", 5)) != NULL) {
		buf_append(&body, s, (size_t)(hit - s));
		buf_append(&body, costs.data ? costs.data : "", costs.len);
		n -= (size_t)(hit - s) + 5;
		s = hit + 5;
	}
	buf_append(&body, s, n);
	pthread_mutex_unlock(&lock);
	if (!(body.len >= 5 && memcmp(body.data, "HTTP/", 5) == 0))
		buf_printf(&msg, "HTTP/1.1 200 OK\r\nContent-Type: "
			   "application/json\r\nContent-Length: %zu\r\n"
			   "Connection: close\r\n\r\n", body.len);
	buf_append(&msg, body.data ? body.data : "", body.len);
	for (off = 0; off < msg.len; off += (size_t)w) {
		w = send(fd, msg.data + off, msg.len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
	}
	buf_free(&costs);
	buf_free(&body);
	buf_free(&msg);
}

/* Reads one request (headers, then Content-Length bytes) and answers. */
static void serve(int fd)
{
	char *req = malloc(MAX_REQUEST + 1), *hdr_end = NULL, *cl;
	size_t len = 0, need = 0, hdr = 0;
	ssize_t r;

	if (!req)
		return;
	for (;;) {
		if (len >= MAX_REQUEST)
			fuzz_fail("oracle request over %u bytes", MAX_REQUEST);
		r = recv(fd, req + len, MAX_REQUEST - len, 0);
		if (r <= 0)
			break;  /* the client gave up (abort, timeout) */
		len += (size_t)r;
		req[len] = '\0';
		if (!hdr_end) {
			hdr_end = strstr(req, "\r\n\r\n");
			if (!hdr_end)
				continue;
			hdr = (size_t)(hdr_end - req) + 4;
			cl = strcasestr(req, "\r\nContent-Length:");
			if (!cl || cl > hdr_end)
				fuzz_fail("oracle request without "
					  "Content-Length");
			need = strtoul(cl + 17, NULL, 10);
			if (strcasestr(req, "\r\nExpect: 100-continue") &&
			    send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25,
				 MSG_NOSIGNAL) < 0)
				break;
		}
		if (len - hdr >= need) {
			reply(fd, req + hdr, need);
			break;
		}
	}
	free(req);
}

static void *server_main(void *arg)
{
	int lfd = *(int *)arg, fd;
	struct timeval tv = {2, 0};

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fuzz_fail("accept: %s", strerror(errno));
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve(fd);
		close(fd);
	}
	return NULL;
}

static void server_start(void)
{
	static int lfd = -1;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	pthread_t t;

	if (lfd >= 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0)
		fuzz_fail("fake oracle: %s", strerror(errno));
	port = ntohs(sa.sin_port);
	if (pthread_create(&t, NULL, server_main, &lfd) != 0)
		fuzz_fail("fake oracle: pthread_create");
	pthread_detach(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const checks[] = {
		"", ", \"check\": {\"directions\": 2, \"seed\": 1}",
		", \"check\": {\"sample\": 2, \"seed\": 2}"
	};
	char text[512];
	struct hctx ctx;
	cJSON *body, *out;
	unsigned st;

	if (size < 1)
		return 0;
	server_start();
	snprintf(text, sizeof(text),
		 "{\"oracle\": {\"url\": \"http://127.0.0.1:%u/cost\", "
		 "\"timeout_ms\": 1000, \"batch_size\": %u}, "
		 "\"theta\": [0.5, -1, 2], \"gradient\": [0.5, -1, 2]%s}",
		 (unsigned)port, (unsigned)(data[0] & 3) + 1,
		 checks[(data[0] >> 2) % 3]);
	body = fuzz_literal(text);
	pthread_mutex_lock(&lock);
	free(answer);
	answer_len = size - 1;
	answer = malloc(answer_len + 1);
	if (!answer)
		fuzz_fail("out of memory");
	memcpy(answer, data + 1, answer_len);
	answer[answer_len] = '\0';
	pthread_mutex_unlock(&lock);

	fuzz_ctx(&ctx, NULL);
	ctx.oracle_allow = "127.0.0.1";
	out = fuzz_call_ctx(handle_gradcheck, &ctx, body, &st);
	if (out) {
		fuzz_check_gradcheck(out);
		/* a 200 needs an answer holding {"costs": [...]} */
		if (!memmem(data + 1, size - 1, "costs", 5))
			fuzz_fail("oracle: success from an answer without "
				  "\"costs\"");
	}
	cJSON_Delete(out);
	cJSON_Delete(body);
	return 0;
}
