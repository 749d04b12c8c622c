/* The oracle cost source: libcurl calls to a client's cost endpoint behind
 * an allow-list checked on the URL and again on every address connected to
 * (so DNS cannot steer a listed name elsewhere); see oracle.h. One engine
 * thread drives a multi handle: each chunk of perturbations (or points) is
 * cut into calls that run ORACLE_MAX_INFLIGHT at a time, each on a pooled
 * easy handle with its own request and capped answer buffer. */
#include "oracle.h"

#include "core/alloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "handler.h"
#include "json.h"

#define ORACLE_URL_MAX 2048
#define ORACLE_DETAIL_MAX 400

/* ---- allow-list ------------------------------------------------------------ */

/* Ranges refused even inside a listed network, unless a listed network lies
 * within them (IPv4 as mapped IPv6). */
static const struct oracle_net guarded[] = {
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 0, 0}, 112}, /* link-local */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 100, 100, 200}, 128}, /* metadata */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, 104},    /* 0.0.0.0/8 */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 224, 0, 0, 0}, 100},  /* multicast */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 240, 0, 0, 0}, 100},  /* reserved */
	{{0xfe, 0x80}, 10},                                             /* link-local */
	{{0xff}, 8},                                                    /* multicast */
	{{0}, 128},                                                     /* :: */
	{{0, 0x64, 0xff, 0x9b}, 96},                                    /* NAT64 */
	{{0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128}, /* metadata */
};

static bool in_net(const unsigned char *a, const unsigned char *net,
		   unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ net[whole]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

/* 4 or 16 address bytes as 16 (IPv4 and IPv4-mapped alike). */
static bool to16(int family, const void *bytes, unsigned char out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, bytes, 4);
		return true;
	}
	if (family == AF_INET6) {
		memcpy(out, bytes, 16);
		return true;
	}
	return false;
}

/* Text to 16 bytes; *v4 tells the family. Brackets around IPv6 accepted. */
static bool parse_ip(const char *s, unsigned char out[16], bool *v4)
{
	unsigned char b[16];
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return false;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		s = tmp;
	}
	if (inet_pton(AF_INET, s, b) == 1) {
		*v4 = true;
		return to16(AF_INET, b, out);
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		*v4 = false;
		return to16(AF_INET6, b, out);
	}
	return false;
}

static bool name_ok(const char *s, size_t n)
{
	bool letter = false;

	if (n == 0 || n >= ORACLE_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (isalpha(ch))
			letter = true;
		else if (!isdigit(ch) && ch != '-' && ch != '.')
			return false;
	}
	return letter;
}

static int parse_entry(const char *s, size_t n, struct oracle_allow *a,
		       char *err, size_t errlen)
{
	char e[ORACLE_NAME_MAX];
	const char *slash;
	bool v4;
	struct oracle_net net;

	if (n == 0 || n >= sizeof(e)) {
		snprintf(err, errlen, "oracle allow-list: %s entry", n ? "overlong" : "empty");
		return -1;
	}
	memcpy(e, s, n);
	e[n] = '\0';
	if (a->n_nets >= ORACLE_ALLOW_MAX || a->n_names >= ORACLE_ALLOW_MAX) {
		snprintf(err, errlen, "oracle allow-list: more than %d entries",
			 ORACLE_ALLOW_MAX);
		return -1;
	}
	slash = strchr(e, '/');
	if (slash) {
		char *end;
		unsigned long p;

		e[slash - e] = '\0';
		if (!parse_ip(e, net.addr, &v4) || !isdigit((unsigned char)slash[1]))
			goto bad;
		p = strtoul(slash + 1, &end, 10);
		if (*end || p > (v4 ? 32u : 128u))
			goto bad;
		net.prefix = (unsigned)p + (v4 ? 96u : 0u);
		a->nets[a->n_nets++] = net;
		return 0;
	}
	if (parse_ip(e, net.addr, &v4)) {
		net.prefix = 128;
		a->nets[a->n_nets++] = net;
		return 0;
	}
	if (!name_ok(e, n))
		goto bad;
	for (size_t i = 0; i <= n; i++)
		a->names[a->n_names][i] = (char)tolower((unsigned char)e[i]);
	a->n_names++;
	return 0;
bad:
	snprintf(err, errlen, "oracle allow-list: '%.*s' is not a host name, "
		 "IP address or CIDR", (int)n, s);
	return -1;
}

int oracle_allow_parse(const char *list, struct oracle_allow *a, char *err,
		       size_t errlen)
{
	const char *s = list ? list : ORACLE_DEFAULT_ALLOW;

	a->n_nets = a->n_names = 0;
	if (strcmp(s, "none") == 0)
		return 0;
	for (;;) {
		const char *end = strchr(s, ','), *b = s, *e;

		if (!end)
			end = s + strlen(s);
		e = end;
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (parse_entry(b, (size_t)(e - b), a, err, errlen) < 0)
			return -1;
		if (!*end)
			return 0;
		s = end + 1;
	}
}

bool oracle_allow_addr(const struct oracle_allow *a, int family,
		       const void *bytes)
{
	unsigned char x[16];
	const struct oracle_net *g = NULL;

	if (!to16(family, bytes, x))
		return false;
	for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++)
		if (in_net(x, guarded[i].addr, guarded[i].prefix)) {
			g = &guarded[i];
			break;
		}
	for (size_t i = 0; i < a->n_nets; i++) {
		const struct oracle_net *n = &a->nets[i];

		if (!in_net(x, n->addr, n->prefix))
			continue;
		if (!g || (n->prefix >= g->prefix && in_net(n->addr, g->addr, g->prefix)))
			return true;
	}
	return false;
}

bool oracle_allow_ip(const struct oracle_allow *a, const char *ip)
{
	unsigned char x[16];
	bool v4;

	return parse_ip(ip, x, &v4) && oracle_allow_addr(a, AF_INET6, x);
}

bool oracle_allow_host(const struct oracle_allow *a, const char *host)
{
	unsigned char x[16];
	bool v4;

	if (parse_ip(host, x, &v4))
		return oracle_allow_addr(a, AF_INET6, x);
	for (size_t i = 0; i < a->n_names; i++)
		if (strcasecmp(a->names[i], host) == 0)
			return true;
	return false;
}

/* ---- the client ------------------------------------------------------------ */

/* One transfer slot: a keep-alive easy handle with its own buffers. Up to
 * ORACLE_MAX_INFLIGHT slots run at once on the oracle's multi handle; the
 * connections live in the multi handle's pool and are reused by whichever
 * slot goes next. */
struct conn {
	struct oracle *o;
	CURL *easy;
	CURLU *url;
	bool active;                       /* added to the multi handle */
	bool by_deadline;                  /* the timeout is the deadline's */
	size_t first, m;                   /* items [first, first + m) */
	struct buf req, resp;
	size_t resp_cap;
	bool toobig;
	char refused[INET6_ADDRSTRLEN + 8];
	char errbuf[CURL_ERROR_SIZE];
};

struct oracle {
	struct oracle_allow allow;
	struct oracle_opts opts;
	const double *theta;
	size_t n;
	CURLU *url;
	struct curl_slist *headers;
	CURLM *multi;
	struct conn conns[ORACLE_MAX_INFLIGHT];
	bool base_claimed;
	bool has_base;
	double base;
	enum oracle_status st;
	char detail[ORACLE_DETAIL_MAX];
};

/* What one coord_costs or dir_costs call evaluates: items 0 .. n_items,
 * item 0 being J(theta) itself when base is set; results go to cost. */
struct job {
	bool base;
	size_t n_items;
	/* coordinates: item base + t is the perturbation [idx[t], delta[t]] */
	const size_t *idx;
	const double *delta;
	/* directions: item base + t is the point theta + d[t].delta d[t].u */
	const struct gc_dir *dirs;
	double *work;
	double *cost;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int fail(struct oracle *o, enum oracle_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first failure. */
static int fail(struct oracle *o, enum oracle_status st, const char *fmt, ...)
{
	va_list ap;

	if (o->st == ORACLE_OK) {
		o->st = st;
		va_start(ap, fmt);
		vsnprintf(o->detail, sizeof(o->detail), fmt, ap);
		va_end(ap);
	}
	return (int)st;
}

static curl_socket_t on_open(void *ud, curlsocktype purpose,
			     struct curl_sockaddr *sa)
{
	struct conn *c = ud;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	const void *bytes = NULL;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (sa->family == AF_INET && sa->addrlen >= sizeof(s4)) {
		memcpy(&s4, &sa->addr, sizeof(s4));
		bytes = &s4.sin_addr;
	} else if (sa->family == AF_INET6 && sa->addrlen >= sizeof(s6)) {
		memcpy(&s6, &sa->addr, sizeof(s6));
		bytes = &s6.sin6_addr;
	}
	if (!bytes || !oracle_allow_addr(&c->o->allow, sa->family, bytes)) {
		if (!bytes || !inet_ntop(sa->family, bytes, c->refused,
					 sizeof(c->refused)))
			snprintf(c->refused, sizeof(c->refused), "(family %d)",
				 sa->family);
		return CURL_SOCKET_BAD;
	}
	return socket(sa->family, sa->socktype | SOCK_CLOEXEC, sa->protocol);
}

/* Second look once connected (or reused): the peer address as curl sees it. */
static int on_prereq(void *ud, char *ip, char *local_ip, int port,
		     int local_port)
{
	struct conn *c = ud;

	(void)local_ip;
	(void)port;
	(void)local_port;
	if (oracle_allow_ip(&c->o->allow, ip))
		return CURL_PREREQFUNC_OK;
	snprintf(c->refused, sizeof(c->refused), "%s", ip);
	return CURL_PREREQFUNC_ABORT;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct conn *c = ud;
	size_t n = size * nmemb;

	if (n > c->resp_cap - c->resp.len) {
		c->toobig = true;
		return 0;
	}
	return buf_append(&c->resp, ptr, n) == 0 ? n : 0;
}

#define SET(opt, val) (bad |= curl_easy_setopt(c->easy, opt, val) != CURLE_OK)

static int conn_open(struct oracle *o, struct conn *c)
{
	int bad = 0;

	c->o = o;
	buf_init(&c->req, 0);
	buf_init(&c->resp, 0);
	c->easy = curl_easy_init();
	c->url = curl_url_dup(o->url);
	if (!c->easy || !c->url)
		return -1;
	SET(CURLOPT_CURLU, c->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	SET(CURLOPT_PROXY, "");          /* ignore *_proxy variables */
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_HTTPHEADER, o->headers);
	SET(CURLOPT_USERAGENT, "gradguard-oracle/1");
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_OPENSOCKETFUNCTION, on_open);
	SET(CURLOPT_OPENSOCKETDATA, c);
	SET(CURLOPT_PREREQFUNCTION, on_prereq);
	SET(CURLOPT_PREREQDATA, c);
	SET(CURLOPT_WRITEFUNCTION, on_data);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_PRIVATE, c);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	return bad ? -1 : 0;
}

#undef SET

/* Takes the transfer off the multi handle (aborting it if it still runs). */
static void conn_stop(struct oracle *o, struct conn *c)
{
	if (c->active) {
		curl_multi_remove_handle(o->multi, c->easy);
		c->active = false;
	}
}

static void conn_close(struct oracle *o, struct conn *c)
{
	conn_stop(o, c);
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_url_cleanup(c->url);
	buf_free(&c->req);
	buf_free(&c->resp);
	memset(c, 0, sizeof(*c));
}

/* What a bad answer may say about itself: its status, content type and
 * size, never its content (the oracle may be a loopback service whose
 * answers are not the client's to read). */
static void answer_facts(const struct conn *c, long code, const char *ctype,
			 char *out, size_t n)
{
	char type[64];
	size_t k = 0;

	for (; ctype && ctype[k] && k + 1 < sizeof(type); k++) {
		unsigned char ch = (unsigned char)ctype[k];

		type[k] = ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\' ?
			  (char)ch : '?';
	}
	type[k] = '\0';
	snprintf(out, n, "HTTP %ld, Content-Type %s, %zu bytes", code,
		 k ? type : "none", c->resp.len);
}

/* Starts the body: {"theta": [...], "<key>": [ */
static void body_begin(struct oracle *o, struct conn *c, struct jw *w,
		       const char *key, bool with_theta)
{
	buf_free(&c->req);
	buf_init(&c->req, 0);
	jw_init(w, &c->req);
	jw_obj_begin(w);
	if (with_theta) {
		jw_key(w, "theta");
		jw_double_array(w, o->theta, o->n);
	}
	jw_key(w, key);
	jw_arr_begin(w);
}

/* The body for items [c->first, c->first + c->m) of the job. */
static void body_write(struct oracle *o, struct conn *c, const struct job *j)
{
	struct jw w;

	body_begin(o, c, &w, j->dirs ? "points" : "perturbations", !j->dirs);
	for (size_t k = c->first; k < c->first + c->m; k++) {
		bool base = j->base && k == 0;
		size_t t = k - (j->base ? 1 : 0);

		if (!j->dirs) {
			jw_arr_begin(&w);
			jw_uint(&w, base ? 0 : j->idx[t]);
			jw_double(&w, base ? 0.0 : j->delta[t]);
			jw_arr_end(&w);
		} else if (base) {
			jw_double_array(&w, o->theta, o->n);
		} else {
			const struct gc_dir *d = &j->dirs[t];

			memcpy(j->work, o->theta, o->n * sizeof(double));
			for (size_t i = 0; i < d->len; i++)
				j->work[d->off + i] = o->theta[d->off + i] + d->delta * d->u[i];
			jw_double_array(&w, j->work, o->n);
		}
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
}

/* Sets up the call for items [first, first + m) and adds it to the multi
 * handle. Returns 0 or a status. */
static int conn_start(struct oracle *o, struct conn *c, const struct job *j,
		      size_t first, size_t m)
{
	uint32_t tmo = o->opts.timeout_ms;

	c->by_deadline = false;
	if (o->opts.deadline_ns) {
		uint64_t now = clock_now_ns(), left;

		if (now >= o->opts.deadline_ns)
			return fail(o, ORACLE_EDEADLINE, "the deadline passed before the oracle answered");
		left = (o->opts.deadline_ns - now + 999999u) / 1000000u;
		if (left < tmo) {
			tmo = (uint32_t)left;
			c->by_deadline = true;
		}
	}
	c->first = first;
	c->m = m;
	body_write(o, c, j);
	if (c->req.failed)
		return fail(o, ORACLE_ENOMEM, "out of memory for an oracle request");
	buf_free(&c->resp);
	buf_init(&c->resp, 0);
	c->resp_cap = ORACLE_ANSWER_BASE + ORACLE_ANSWER_PER_COST * m;
	c->toobig = false;
	c->refused[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->req.data);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.len);
	curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)tmo);
	curl_easy_setopt(c->easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->resp_cap);
	if (curl_multi_add_handle(o->multi, c->easy) != CURLM_OK)
		return fail(o, ORACLE_ENOMEM, "could not start an oracle call");
	c->active = true;
	return 0;
}

/* A finished transfer (rc its result): checks the answer and places its m
 * costs. Returns 0 or a status. */
static int conn_finish(struct oracle *o, struct conn *c, CURLcode rc,
		       const struct job *j)
{
	size_t m = c->m;
	long code = 0;
	char *ctype = NULL, facts[160];
	cJSON *root = NULL;
	const cJSON *arr = NULL;
	struct problem pr;
	double *v = NULL;
	size_t got = 0;
	int st = 0;

	if (rc != CURLE_OK) {
		if (c->refused[0])
			return fail(o, ORACLE_EREFUSED,
				    "the oracle's host resolved to %s, which --oracle-allow does not allow",
				    c->refused);
		if (rc == CURLE_OPERATION_TIMEDOUT)
			return c->by_deadline ?
			       fail(o, ORACLE_EDEADLINE, "the deadline passed while waiting for the oracle") :
			       fail(o, ORACLE_ETIMEOUT, "the oracle did not answer within timeout_ms %u",
				    (unsigned)o->opts.timeout_ms);
		if (c->toobig || rc == CURLE_FILESIZE_EXCEEDED)
			return fail(o, ORACLE_EUPSTREAM,
				    "the oracle's answer exceeds %zu bytes (%zu costs expected)",
				    c->resp_cap, m);
		if (rc == CURLE_OUT_OF_MEMORY)
			return fail(o, ORACLE_ENOMEM, "out of memory reading the oracle's answer");
		return fail(o, ORACLE_EUPSTREAM, "calling the oracle failed: curl error %d (%s)%s%s",
			    (int)rc, curl_easy_strerror(rc), c->errbuf[0] ? ": " : "",
			    c->errbuf);
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ctype);
	answer_facts(c, code, ctype, facts, sizeof(facts));
	if (code != 200)
		return fail(o, ORACLE_EUPSTREAM, "the oracle answered %s; expected HTTP 200%s",
			    facts, code >= 300 && code < 400 ? " (redirects are not followed)" : "");
	problem_init(&pr);
	if (json_parse(c->resp.data, c->resp.len, &root, &pr) < 0) {
		st = fail(o, pr.kind == PROB_OUT_OF_MEMORY ? ORACLE_ENOMEM : ORACLE_EUPSTREAM,
			  "the oracle's answer is not JSON (%s)", facts);
		goto out;
	}
	if (!cJSON_IsObject(root) ||
	    json_get_node(root, "", "costs", JSON_REQUIRED, cJSON_Array, &arr, &pr) < 0) {
		st = fail(o, ORACLE_EUPSTREAM,
			  "the oracle's answer is not {\"costs\": [...]} (%s)", facts);
		goto out;
	}
	got = (size_t)cJSON_GetArraySize(arr);
	if (got != m) {
		st = fail(o, ORACLE_EUPSTREAM, "the oracle answered %zu costs for %zu %s",
			  got, m, m == 1 ? "evaluation" : "evaluations");
		goto out;
	}
	if (json_as_vector(arr, "/costs", m, &v, &got, &pr) < 0) {
		st = fail(o, ORACLE_EUPSTREAM, "the oracle's answer has a bad cost at %s: %s",
			  pr.n_errors ? pr.errors[0].pointer : "/costs",
			  problem_title(pr.kind));
		goto out;
	}
	for (size_t k = 0; k < m; k++) {
		size_t item = c->first + k;

		if (j->base && item == 0) {
			o->base = v[k];
			o->has_base = true;
		} else {
			j->cost[item - (j->base ? 1 : 0)] = v[k];
		}
	}
out:
	gg_free(v);
	cJSON_Delete(root);
	return st;
}

/* Items in the call starting at item first: batch_size perturbations, or
 * one point (with J(theta) beside the first). */
static size_t call_items(const struct oracle *o, const struct job *j,
			 size_t first)
{
	size_t m = j->dirs ? (j->base && first == 0 ? 2 : 1) : o->opts.batch_size;

	return m < j->n_items - first ? m : j->n_items - first;
}

/* Lets the transfers on the multi handle progress without waiting. */
static int perform(struct oracle *o)
{
	int running = 0;
	CURLMcode mc = curl_multi_perform(o->multi, &running);

	if (mc == CURLM_OK)
		return 0;
	return fail(o, mc == CURLM_OUT_OF_MEMORY ? ORACLE_ENOMEM : ORACLE_EUPSTREAM,
		    "calling the oracle failed: %s", curl_multi_strerror(mc));
}

/* Runs the job's calls in order, ORACLE_MAX_INFLIGHT at a time on the
 * multi handle: a slot that finishes takes the next call. The first failure
 * stops the others (their transfers are taken off the multi handle). */
static int run_job(struct oracle *o, const struct job *j)
{
	size_t next = 0;
	int rc = 0, active = 0;

	while (rc == 0 && (next < j->n_items || active > 0)) {
		CURLMsg *msg;
		CURLMcode mc;
		int left;

		for (size_t i = 0; i < ORACLE_MAX_INFLIGHT && rc == 0 &&
				   next < j->n_items; i++) {
			struct conn *c = &o->conns[i];
			size_t m;

			if (c->active)
				continue;
			if (!c->easy && conn_open(o, c) < 0) {
				conn_close(o, c);
				rc = fail(o, ORACLE_ENOMEM, "out of memory for an oracle connection");
				break;
			}
			m = call_items(o, j, next);
			rc = conn_start(o, c, j, next, m);
			if (rc == 0) {
				next += m;
				active++;
				/* send it while the next body is written */
				rc = perform(o);
			}
		}
		if (rc == 0)
			rc = perform(o);
		if (rc)
			break;
		while (rc == 0 && (msg = curl_multi_info_read(o->multi, &left))) {
			char *pv = NULL;
			struct conn *c;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &pv);
			c = (struct conn *)(void *)pv;
			if (!c || !c->active)
				continue;
			rc = conn_finish(o, c, msg->data.result, j);
			conn_stop(o, c);
			active--;
		}
		if (rc == 0 && active > 0) {
			mc = curl_multi_poll(o->multi, NULL, 0, 1000, NULL);
			if (mc != CURLM_OK)
				rc = fail(o, ORACLE_EUPSTREAM, "waiting for the oracle failed: %s",
					  curl_multi_strerror(mc));
		}
	}
	for (size_t i = 0; i < ORACLE_MAX_INFLIGHT; i++)
		conn_stop(o, &o->conns[i]);
	return rc;
}

/* The base cost rides on the first call of the check. */
static bool claim_base(struct oracle *o)
{
	bool b = !o->base_claimed;

	o->base_claimed = true;
	return b;
}

static int oracle_coord_costs(void *ctx, double *work, const size_t *idx,
			      const double *delta, size_t n, double *cost,
			      bool *kink)
{
	struct oracle *o = ctx;
	struct job j = {0};

	(void)work;
	if (o->st != ORACLE_OK)
		return (int)o->st;
	memset(kink, 0, n * sizeof(*kink));
	j.base = claim_base(o);
	j.n_items = n + (j.base ? 1 : 0);
	j.idx = idx;
	j.delta = delta;
	j.cost = cost;
	return run_job(o, &j);
}

static int oracle_dir_costs(void *ctx, double *work, const struct gc_dir *d,
			    size_t n, double *cost, bool *kink)
{
	struct oracle *o = ctx;
	struct job j = {0};

	if (o->st != ORACLE_OK)
		return (int)o->st;
	memset(kink, 0, n * sizeof(*kink));
	j.base = claim_base(o);
	j.n_items = n + (j.base ? 1 : 0);
	j.dirs = d;
	j.work = work;
	j.cost = cost;
	return run_job(o, &j);
}

/* ---- lifecycle ----------------------------------------------------------------- */

static enum oracle_status check_url(struct oracle *o, char *err, size_t errlen)
{
	char *scheme = NULL, *host = NULL, *user = NULL, *zone = NULL;
	enum oracle_status st = ORACLE_EURL;
	CURLUcode uc;

	if (strlen(o->opts.url) > ORACLE_URL_MAX) {
		snprintf(err, errlen, "the URL is longer than %d bytes", ORACLE_URL_MAX);
		return ORACLE_EURL;
	}
	o->url = curl_url();
	if (!o->url)
		return ORACLE_ENOMEM;
	uc = curl_url_set(o->url, CURLUPART_URL, o->opts.url, 0);
	if (uc != CURLUE_OK) {
		snprintf(err, errlen, "not a usable http(s) URL: %s", curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(o->url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "scheme '%s' is not allowed: use http or https",
			 scheme ? scheme : "");
		goto out;
	}
	if (curl_url_get(o->url, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(o->url, CURLUPART_PASSWORD, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "credentials in the URL are not allowed");
		goto out;
	}
	if (curl_url_get(o->url, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
		snprintf(err, errlen, "IPv6 zone ids are not allowed");
		goto out;
	}
	if (curl_url_get(o->url, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "the URL has no host");
		goto out;
	}
	if (!oracle_allow_host(&o->allow, host)) {
		snprintf(err, errlen, "host '%.200s' is not on the server's allow-list "
			 "(the operator sets it with --oracle-allow)", host);
		goto out;
	}
	st = ORACLE_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(zone);
	return st;
}

enum oracle_status oracle_new(const struct oracle_opts *opts,
			      const double *theta, size_t n,
			      struct oracle **out, char *err, size_t errlen)
{
	struct oracle *o = NULL;
	enum oracle_status st;
	struct curl_slist *h;

	*out = NULL;
	if (!opts->url || opts->batch_size < 1 || opts->timeout_ms < 1 || n == 0) {
		snprintf(err, errlen, "bad oracle options");
		return ORACLE_EURL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "libcurl failed to initialize");
		return ORACLE_ECONFIG;
	}
	o = gg_calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return ORACLE_ENOMEM;
	}
	o->opts = *opts;
	o->theta = theta;
	o->n = n;
	if (oracle_allow_parse(opts->allow, &o->allow, err, errlen) < 0) {
		st = ORACLE_ECONFIG;
		goto fail;
	}
	st = check_url(o, err, errlen);
	if (st != ORACLE_OK) {
		if (st == ORACLE_ENOMEM)
			snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* our headers only: nothing of the client's request is forwarded */
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h)
		o->headers = h;
	h = h ? curl_slist_append(o->headers, "Accept: application/json") : NULL;
	h = h ? curl_slist_append(o->headers, "Expect:") : NULL;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		st = ORACLE_ENOMEM;
		goto fail;
	}
	/* one multi handle per check: its pool keeps one connection per call
	 * in flight */
	o->multi = curl_multi_init();
	if (!o->multi ||
	    curl_multi_setopt(o->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			      (long)ORACLE_MAX_INFLIGHT) != CURLM_OK ||
	    curl_multi_setopt(o->multi, CURLMOPT_MAXCONNECTS,
			      (long)ORACLE_MAX_INFLIGHT) != CURLM_OK ||
	    curl_multi_setopt(o->multi, CURLMOPT_PIPELINING,
			      (long)CURLPIPE_NOTHING) != CURLM_OK) {
		snprintf(err, errlen, "out of memory");
		st = ORACLE_ENOMEM;
		goto fail;
	}
	*out = o;
	return ORACLE_OK;
fail:
	oracle_free(o);
	return st;
}

void oracle_free(struct oracle *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < ORACLE_MAX_INFLIGHT; i++)
		conn_close(o, &o->conns[i]);
	if (o->multi)
		curl_multi_cleanup(o->multi);
	curl_slist_free_all(o->headers);
	curl_url_cleanup(o->url);
	gg_free(o);
}

void oracle_source(struct oracle *o, struct gc_source *s)
{
	memset(s, 0, sizeof(*s));
	s->n_params = o->n;
	/* chunks of ORACLE_CHUNK_CALLS calls: enough to keep every slot busy */
	s->batch = ORACLE_CHUNK_CALLS * o->opts.batch_size;
	s->batch += s->batch & 1;
	s->dir_batch = ORACLE_CHUNK_CALLS / 2;
	s->work = o->n;
	s->max_threads = 1;
	s->ctx = o;
	s->coord_costs = oracle_coord_costs;
	s->dir_costs = oracle_dir_costs;
}

enum oracle_status oracle_error(const struct oracle *o, const char **detail)
{
	*detail = o->detail;
	return o->st;
}

bool oracle_base_cost(const struct oracle *o, double *cost)
{
	*cost = o->base;
	return o->has_base;
}
