/* A gradguard cost oracle in C (libmicrohttpd + cJSON): L2-regularized
 * logistic regression on fixed data, the same function as cost_server.py.
 *
 *   POST {"theta": [...], "perturbations": [[i, d], ...]} -> {"costs": [...]}
 *   POST {"points": [[...], ...]}                          -> {"costs": [...]}
 *
 *   cost_server [--port 9000] [--bind 127.0.0.1]
 *   cost_server --request [--url URL] [--bug]   prints a /gradcheck body
 *
 * theta = [w1, w2, w3, b] (blocks W 1x3 and b 1); --bug drops the 1/m of
 * db in the client-side gradient. Build: make examples, or
 *   cc -std=c11 -O2 examples/oracle/cost_server.c -o cost_server \
 *      $(pkg-config --cflags --libs libmicrohttpd libcjson) -lm */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cJSON.h>
#include <microhttpd.h>

#define NP 4
#define M 8
#define MAX_BODY (1u << 20)
#define LAMBDA 0.1

static const double X[M][3] = {
	{0.5, -1.2, 0.3}, {1.5, 0.2, -0.7}, {-0.3, 0.8, 1.1}, {0.9, -0.4, 0.0},
	{-1.1, -0.6, 0.4}, {0.2, 1.3, -0.9}, {1.2, 0.7, 0.6}, {-0.8, 0.1, -1.4},
};
static const double Y[M] = {1, 0, 1, 1, 0, 1, 1, 0};
static const double THETA[NP] = {0.3, -0.2, 0.5, 0.1};

/* log(1 + e^z) without overflow. */
static double softplus(double z)
{
	return fmax(z, 0.0) + log1p(exp(-fabs(z)));
}

/* J = (1/m) sum [softplus(z) - y z] + lambda/(2m) |w|^2, z = w.x + b: the
 * cross-entropy of sigmoid(z), written stably. */
static double cost(const double *t)
{
	double j = 0.0;

	for (int s = 0; s < M; s++) {
		double z = t[0] * X[s][0] + t[1] * X[s][1] + t[2] * X[s][2] + t[3];

		j += softplus(z) - Y[s] * z;
	}
	return j / M + LAMBDA / (2.0 * M) * (t[0] * t[0] + t[1] * t[1] + t[2] * t[2]);
}

static void gradient(const double *t, bool bug, double *g)
{
	memset(g, 0, NP * sizeof(double));
	for (int s = 0; s < M; s++) {
		double z = t[0] * X[s][0] + t[1] * X[s][1] + t[2] * X[s][2] + t[3];
		double r = 1.0 / (1.0 + exp(-z)) - Y[s];

		for (int k = 0; k < 3; k++)
			g[k] += r * X[s][k];
		g[3] += r;
	}
	for (int k = 0; k < 3; k++)
		g[k] = g[k] / M + LAMBDA / M * t[k];
	if (!bug)
		g[3] /= M;
}

/* Reads NP numbers from a JSON array; false if it is not one. */
static bool read_vec(const cJSON *a, double *out)
{
	const cJSON *v;
	int i = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != NP)
		return false;
	cJSON_ArrayForEach(v, a) {
		if (!cJSON_IsNumber(v))
			return false;
		out[i++] = v->valuedouble;
	}
	return true;
}

/* Appends ", %.17g" (no comma first): every double printed so that it
 * reads back exactly (cJSON's printer may keep only 15 digits). */
static void put_num(char *out, size_t cap, size_t *len, double v, bool first)
{
	if (*len < cap)
		*len += (size_t)snprintf(out + *len, cap - *len, "%s%.17g", first ? "" : ", ", v);
}

/* {"costs": [...]} for one request (malloc'd text), or NULL when the
 * request is malformed. */
static char *answer(const cJSON *req)
{
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(req, "points");
	const cJSON *pert = cJSON_GetObjectItemCaseSensitive(req, "perturbations");
	const cJSON *items = cJSON_IsArray(pts) ? pts : pert, *it;
	double t[NP], base[NP];
	size_t cap, len = 0;
	char *out;
	bool first = true;

	if (!cJSON_IsArray(items) ||
	    (items == pert && !read_vec(cJSON_GetObjectItemCaseSensitive(req, "theta"), base)))
		return NULL;
	cap = 32 + 26 * (size_t)cJSON_GetArraySize(items);
	out = malloc(cap);
	if (!out)
		return NULL;
	len = (size_t)snprintf(out, cap, "{\"costs\": [");
	cJSON_ArrayForEach(it, items) {
		if (items == pts) {
			if (!read_vec(it, t))
				goto bad;
		} else {
			const cJSON *i = cJSON_GetArrayItem(it, 0), *d = cJSON_GetArrayItem(it, 1);

			if (!cJSON_IsNumber(i) || !cJSON_IsNumber(d) || i->valuedouble < 0 ||
			    i->valuedouble >= NP)
				goto bad;
			memcpy(t, base, sizeof(t));
			t[(int)i->valuedouble] += d->valuedouble;
		}
		put_num(out, cap, &len, cost(t), first);
		first = false;
	}
	if (len + 3 > cap)
		goto bad;
	memcpy(out + len, "]}", 3);
	return out;
bad:
	free(out);
	return NULL;
}

struct upload {
	char *data;
	size_t len;
	bool too_big;
};

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text,
								 MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *data, size_t *size, void **con_cls)
{
	struct upload *u = *con_cls;
	cJSON *req;
	char *text;

	(void)cls;
	(void)url;
	(void)version;
	if (!u) {
		*con_cls = u = calloc(1, sizeof(*u));
		return u ? MHD_YES : MHD_NO;
	}
	if (*size) {
		char *grown = u->len + *size <= MAX_BODY ? realloc(u->data, u->len + *size) : NULL;

		if (!grown) {
			u->too_big = true;
		} else {
			u->data = grown;
			memcpy(u->data + u->len, data, *size);
			u->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0 || u->too_big)
		return send_json(c, 400, strdup("{\"error\": \"POST a JSON body up to 1 MiB\"}"));
	req = cJSON_ParseWithLength(u->data ? u->data : "", u->len);
	text = req ? answer(req) : NULL;
	cJSON_Delete(req);
	if (!text)
		return send_json(c, 400, strdup("{\"error\": \"bad request\"}"));
	return send_json(c, 200, text);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u) {
		free(u->data);
		free(u);
	}
}

static int print_request(const char *url, bool bug)
{
	char out[1024];
	size_t len = 0;
	double g[NP];

	gradient(THETA, bug, g);
	if (strlen(url) > 512 || strpbrk(url, "\"\\")) {
		fprintf(stderr, "bad --url\n");
		return 2;
	}
	len = (size_t)snprintf(out, sizeof(out), "{\"oracle\": {\"url\": \"%s\"}, \"theta\": [", url);
	for (int k = 0; k < NP; k++)
		put_num(out, sizeof(out), &len, THETA[k], k == 0);
	len += (size_t)snprintf(out + len, sizeof(out) - len, "], \"gradient\": [");
	for (int k = 0; k < NP; k++)
		put_num(out, sizeof(out), &len, g[k], k == 0);
	snprintf(out + len, sizeof(out) - len, "], \"blocks\": [{\"name\": \"W\", \"shape\": [1, 3]}, "
		 "{\"name\": \"b\", \"shape\": [1]}], \"epsilon\": 1e-06}");
	puts(out);
	return 0;
}

int main(int argc, char **argv)
{
	const char *bind = "127.0.0.1", *url = "http://127.0.0.1:9000/cost";
	unsigned port = 9000;
	bool bug = false, request = false;
	struct sockaddr_in a;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bug")) {
			bug = true;
		} else if (!strcmp(argv[i], "--request")) {
			request = true;
		} else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			port = (unsigned)strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
			bind = argv[++i];
		} else if (!strcmp(argv[i], "--url") && i + 1 < argc) {
			url = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--port N] [--bind IPv4] | --request [--url URL] [--bug]\n",
				argv[0]);
			return 2;
		}
	}
	if (request)
		return print_request(url, bug);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (port > 65535 || inet_pton(AF_INET, bind, &a.sin_addr) != 1) {
		fprintf(stderr, "bad --bind or --port\n");
		return 2;
	}
	/* SIGINT/SIGTERM are waited for below, not delivered */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
			     on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
			     MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)4, MHD_OPTION_END);
	info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info) {
		fprintf(stderr, "cannot listen on %s port %u\n", bind, port);
		return 1;
	}
	printf("oracle listening on http://%s:%u/cost\n", bind, (unsigned)info->port);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
