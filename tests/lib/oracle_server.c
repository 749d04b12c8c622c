/* The test cost oracle; see oracle_server.h. One thread per connection, so
 * that /slow delays only its own caller. */
#include "oracle_server.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cJSON.h>
#include <microhttpd.h>

#define OS_MAX_BODY (64u << 20)
#define OS_SLOW_MS 700
#define OS_LAG_MS 40
#define OS_HUGE (5u << 20)

struct oracle_server {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	struct oracle_stats st;
	unsigned long inflight;
};

struct upload {
	char *data;
	size_t len, cap;
	bool too_big;
};

double oracle_test_cost(const double *theta, size_t n)
{
	double j = 0;

	for (size_t i = 0; i < n; i++)
		j += (1.0 + (double)(i % 3) * 0.5) * theta[i] * theta[i] + sin(theta[i]);
	return j;
}

void oracle_test_grad(const double *theta, size_t n, double *g)
{
	for (size_t i = 0; i < n; i++)
		g[i] = 2.0 * (1.0 + (double)(i % 3) * 0.5) * theta[i] + cos(theta[i]);
}

/* The costs of a request, malloc'd, *m of them; NULL if malformed. */
static double *costs_of(const cJSON *req, size_t *m)
{
	const cJSON *th = cJSON_GetObjectItemCaseSensitive(req, "theta");
	const cJSON *pert = cJSON_GetObjectItemCaseSensitive(req, "perturbations");
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(req, "points");
	const cJSON *it, *v;
	double *theta = NULL, *out = NULL;
	size_t n = 0, k = 0, i;

	if (cJSON_IsArray(pts)) {
		*m = (size_t)cJSON_GetArraySize(pts);
		out = calloc(*m + 1, sizeof(double));
		cJSON_ArrayForEach(it, pts) {
			size_t len = (size_t)cJSON_GetArraySize(it);
			double *p = calloc(len + 1, sizeof(double));

			i = 0;
			cJSON_ArrayForEach(v, it)
				p[i++] = v->valuedouble;
			out[k++] = oracle_test_cost(p, len);
			free(p);
		}
		return out;
	}
	if (!cJSON_IsArray(th) || !cJSON_IsArray(pert))
		return NULL;
	n = (size_t)cJSON_GetArraySize(th);
	theta = calloc(n + 1, sizeof(double));
	i = 0;
	cJSON_ArrayForEach(v, th)
		theta[i++] = v->valuedouble;
	*m = (size_t)cJSON_GetArraySize(pert);
	out = calloc(*m + 1, sizeof(double));
	cJSON_ArrayForEach(it, pert) {
		const cJSON *ji = cJSON_GetArrayItem(it, 0), *jd = cJSON_GetArrayItem(it, 1);
		size_t idx = cJSON_IsNumber(ji) ? (size_t)ji->valuedouble : n;
		double d = cJSON_IsNumber(jd) ? jd->valuedouble : 0, keep;

		if (idx >= n) {
			free(out);
			out = NULL;
			break;
		}
		keep = theta[idx];
		theta[idx] = keep + d;
		out[k++] = oracle_test_cost(theta, n);
		theta[idx] = keep;
	}
	free(theta);
	return out;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static ssize_t cut_short(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	if (pos > 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (max > 20)
		max = 20;
	memset(buf, ' ', max);
	buf[0] = '{';
	return (ssize_t)max;
}

/* A chunked answer (no Content-Length) of OS_HUGE bytes: only the
 * client's own count can stop it. */
static ssize_t endless(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	if (pos >= OS_HUGE)
		return MHD_CONTENT_READER_END_OF_STREAM;
	memset(buf, ' ', max);
	if (pos == 0 && max > 11)
		memcpy(buf, "{\"costs\": [", 11);
	return (ssize_t)max;
}

static char *costs_json(const char *path, const double *v, size_t m)
{
	size_t cap = 64 + 32 * m + (strcmp(path, "/bigstr") == 0 ? 4096 : 0);
	char *s = malloc(cap);
	size_t len = (size_t)snprintf(s, cap, "{\"costs\": [");
	size_t first = strcmp(path, "/short") == 0 ? 1 : 0;

	for (size_t i = first; i < m; i++) {
		const char *sep = i > first ? ", " : "";

		if (i == 0 && strcmp(path, "/null") == 0) {
			len += (size_t)snprintf(s + len, cap - len, "%snull", sep);
		} else if (i == 0 && strcmp(path, "/inf") == 0) {
			len += (size_t)snprintf(s + len, cap - len, "%s1e999", sep);
		} else if (i == 0 && strcmp(path, "/bigstr") == 0) {
			len += (size_t)snprintf(s + len, cap - len, "%s\"1", sep);
			for (int k = 0; k < 3000; k++)
				s[len++] = '9';
			len += (size_t)snprintf(s + len, cap - len, "\"");
		} else {
			len += (size_t)snprintf(s + len, cap - len, "%s%.17g", sep, v[i]);
		}
	}
	snprintf(s + len, cap - len, "]}");
	return s;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct oracle_server *s = cls;
	struct upload *u = *con_cls;
	cJSON *req = NULL;
	double *v = NULL;
	size_t m = 0;
	enum MHD_Result ret;
	char *body;

	(void)version;
	if (!u) {
		u = calloc(1, sizeof(*u));
		*con_cls = u;
		return u ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		if (u->len + *data_size > OS_MAX_BODY) {
			u->too_big = true;
		} else {
			if (u->len + *data_size > u->cap) {
				u->cap = 2 * (u->len + *data_size);
				u->data = realloc(u->data, u->cap);
			}
			memcpy(u->data + u->len, data, *data_size);
			u->len += *data_size;
		}
		*data_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0 || u->too_big)
		return reply(c, 400, "application/json", "{}", 2);
	req = cJSON_ParseWithLength(u->data ? u->data : "", u->len);
	v = req ? costs_of(req, &m) : NULL;
	cJSON_Delete(req);
	if (!v)
		return reply(c, 400, "application/json", "{\"error\": \"bad request\"}", 24);
	pthread_mutex_lock(&s->lock);
	s->st.requests++;
	s->st.items += m;
	if (m > s->st.max_items)
		s->st.max_items = m;
	if (++s->inflight > s->st.max_inflight)
		s->st.max_inflight = s->inflight;
	pthread_mutex_unlock(&s->lock);
	if (strcmp(url, "/slow") == 0 || strcmp(url, "/lag") == 0) {
		struct timespec ts = {0, (strcmp(url, "/lag") ? OS_SLOW_MS : OS_LAG_MS) * 1000000L};

		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&s->lock);
	s->inflight--;
	pthread_mutex_unlock(&s->lock);
	if (strncmp(url, "/secret", 7) == 0) {
		/* a loopback service's private answer, in three wrappings */
		static const char secret[] = OS_SECRET;
		static const char json[] = "{\"costs\": [\"" OS_SECRET "\"]}";

		if (strcmp(url, "/secret_cost") == 0)
			ret = reply(c, 200, "application/json", json, sizeof(json) - 1);
		else
			ret = reply(c, strcmp(url, "/secret_500") ? 200 : 500,
				    "text/plain", secret, sizeof(secret) - 1);
	} else if (strcmp(url, "/html") == 0) {
		static const char html[] = "<html><body><h1>Welcome</h1></body></html>";

		ret = reply(c, 200, "text/html", html, sizeof(html) - 1);
	} else if (strcmp(url, "/500") == 0) {
		ret = reply(c, 500, "application/json", "{\"error\": \"boom\"}", 17);
	} else if (strcmp(url, "/redirect") == 0) {
		struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"",
									 MHD_RESPMEM_PERSISTENT);

		MHD_add_response_header(r, "Location", "/ok");
		ret = MHD_queue_response(c, 302, r);
		MHD_destroy_response(r);
	} else if (strcmp(url, "/close") == 0) {
		struct MHD_Response *r = MHD_create_response_from_callback(1000, 64, cut_short,
									   NULL, NULL);

		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
	} else if (strcmp(url, "/chunked") == 0) {
		struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536,
									   endless, NULL, NULL);

		ret = MHD_queue_response(c, 200, r);
		MHD_destroy_response(r);
	} else if (strcmp(url, "/huge") == 0) {
		char *big = malloc(OS_HUGE);

		memset(big, ' ', OS_HUGE);
		memcpy(big, "{\"costs\": [", 11);
		memcpy(big + OS_HUGE - 2, "]}", 2);
		ret = reply(c, 200, "application/json", big, OS_HUGE);
		free(big);
	} else {
		body = costs_json(url, v, m);
		ret = reply(c, 200, "application/json", body, strlen(body));
		free(body);
	}
	free(v);
	return ret;
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
		*con_cls = NULL;
	}
}

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
		    enum MHD_ConnectionNotificationCode code)
{
	struct oracle_server *s = cls;

	(void)c;
	(void)socket_ctx;
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	pthread_mutex_lock(&s->lock);
	s->st.connections++;
	pthread_mutex_unlock(&s->lock);
}

int oracle_server_start(struct oracle_server **out, unsigned *port)
{
	struct oracle_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a;
	const union MHD_DaemonInfo *info;

	*out = NULL;
	if (!s)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
				MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
				MHD_OPTION_NOTIFY_CONNECTION, on_conn, s,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				MHD_OPTION_END);
	info = s->d ? MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (!info || !info->port) {
		oracle_server_stop(s);
		return -1;
	}
	*port = info->port;
	*out = s;
	return 0;
}

void oracle_server_stats(struct oracle_server *s, struct oracle_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->st;
	pthread_mutex_unlock(&s->lock);
}

void oracle_server_stop(struct oracle_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
