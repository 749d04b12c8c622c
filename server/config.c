/* Daemon configuration from defaults, GRADGUARD_* env and flags; see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_kind { OPT_UINT, OPT_SIZE, OPT_U32, OPT_STR, OPT_LOGFMT, OPT_FLAG };

struct option_def {
	const char *name;          /* flag without "--"; env is derived */
	enum opt_kind kind;
	size_t offset;             /* into struct config */
	size_t size;               /* OPT_STR: capacity */
	unsigned long long lo, hi; /* numbers: accepted range */
	const char *arg;           /* usage placeholder, NULL for flags */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define NUM(name, kind, f, lo, hi, arg, help) \
	{name, kind, OFF(f), 0, lo, hi, arg, help}

static const struct option_def options[] = {
	NUM("port", OPT_UINT, port, 0, 65535, "N",
	    "TCP port; 0 picks a free one (default 8080)"),
	{"bind", OPT_STR, OFF(bind), sizeof(((struct config *)0)->bind), 0, 0,
	 "ADDR", "IPv4 or IPv6 address to listen on (default 127.0.0.1)"},
	NUM("threads", OPT_UINT, threads, 1, 1024, "N",
	    "HTTP polling threads (default: number of cores)"),
	NUM("workers", OPT_UINT, workers, 1, 1024, "N",
	    "compute worker threads (default: number of cores)"),
	NUM("queue", OPT_UINT, queue, 1, 1000000, "N",
	    "jobs waiting for a worker before 429 (default 64)"),
	NUM("connection-timeout", OPT_UINT, conn_timeout, 1, 3600, "SECONDS",
	    "idle connections (slow or stalled clients) are cut after this "
	    "(default 30)"),
	NUM("max-connections-per-ip", OPT_UINT, max_conn_per_ip, 0, 65535, "N",
	    "connections open at once from one client address; 0 (no limit) "
	    "behind a load balancer, where all share its address (default "
	    "64)"),
	NUM("header-timeout", OPT_UINT, header_timeout, 0, 3600, "SECONDS",
	    "a request's headers must arrive within this, counted from the "
	    "connection or the previous request; 0: no limit (default 10)"),
	NUM("min-body-rate", OPT_UINT, min_body_rate, 0, 1000000000,
	    "BYTES_PER_S", "a body must arrive at this average rate once "
	    "header-timeout seconds have passed since its headers; 0: no "
	    "minimum (default 1024)"),
	NUM("max-memory", OPT_SIZE, max_memory, 1, SIZE_MAX, "BYTES",
	    "request bodies held at once, over all connections; a request "
	    "that would exceed it gets 503 (default: a quarter of the RAM, "
	    "64 MiB..8 GiB)"),
	{"store", OPT_STR, OFF(store), CONFIG_STR_MAX, 0, 0, "URL",
	 "session store: memory:, sqlite:PATH or "
	 "redis://HOST:PORT[/DB][?ttl=SECONDS] "
	 "(default sqlite:./var/gradguard.db)"},
	NUM("session-ttl", OPT_U32, session_ttl, 0, UINT32_MAX, "SECONDS",
	    "expire a named session this long after its last write; every "
	    "store (default 0: never)"),
	NUM("anonymous-ttl", OPT_U32, anonymous_ttl, 1, UINT32_MAX, "SECONDS",
	    "expire a session under a generated id (fit or partial_fit "
	    "without session) this long after its last write (default "
	    "86400)"),
	{"api-keys-file", OPT_STR, OFF(api_keys_file), CONFIG_STR_MAX, 0, 0,
	 "PATH", "API keys, one per line; then all but the public routes "
	 "need Authorization: Bearer KEY (default: none, no auth)"},
	NUM("max-body", OPT_SIZE, limits.max_body, 1, SIZE_MAX, "BYTES",
	    "largest request body"),
	NUM("deadline-ms", OPT_U32, limits.deadline_ms, 1, UINT32_MAX, "MS",
	    "default and largest per-request deadline"),
	NUM("max-elements", OPT_SIZE, limits.max_elements, 1, SIZE_MAX, "N",
	    "elements in one matrix"),
	NUM("max-parameters", OPT_SIZE, limits.max_parameters, 1, SIZE_MAX,
	    "N", "total parameters of a network"),
	NUM("max-evaluations", OPT_SIZE, limits.max_evaluations, 1, SIZE_MAX,
	    "N", "cost evaluations of one gradient check"),
	NUM("max-sessions", OPT_SIZE, limits.max_sessions, 1, SIZE_MAX, "N",
	    "sessions kept per tenant (API key)"),
	NUM("max-rows", OPT_SIZE, limits.max_rows, 1, SIZE_MAX, "N",
	    "samples in one /normalize request"),
	NUM("max-features", OPT_SIZE, limits.max_features, 1, SIZE_MAX, "N",
	    "features of one /normalize request or session"),
	{"oracle-allow", OPT_STR, OFF(oracle_allow), CONFIG_STR_MAX, 0, 0, "LIST",
	 "hosts, IPs and CIDRs /gradcheck oracles may be on; \"none\" for no "
	 "oracle (default 127.0.0.0/8,::1,localhost)"},
	{"log-format", OPT_LOGFMT, OFF(log_format), 0, 0, 0, "text|json",
	 "access log format on stderr (default text)"},
	{"help", OPT_FLAG, OFF(help), 0, 0, 0, NULL, "print this and exit"},
	{"version", OPT_FLAG, OFF(version), 0, 0, 0, NULL,
	 "print the version and exit"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static unsigned cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (unsigned)n;
}

/* A quarter of the physical memory, within [64 MiB, 8 GiB]. */
static size_t default_max_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t q = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 4
					   : 0;
	uint64_t lo = 64ull << 20, hi = 8ull << 30;

	q = q < lo ? lo : q > hi ? hi : q;
	return q > SIZE_MAX ? SIZE_MAX : (size_t)q;
}

static void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 8080;
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	c->threads = cores();
	c->workers = cores();
	c->queue = 64;
	c->conn_timeout = 30;
	c->max_conn_per_ip = 64;
	c->header_timeout = 10;
	c->min_body_rate = 1024;
	c->max_memory = default_max_memory();
	c->anonymous_ttl = 86400;
	snprintf(c->store, sizeof(c->store), "sqlite:./var/gradguard.db");
	limits_default(&c->limits);
	c->log_format = LOG_TEXT;
}

/* "max-body" -> "GRADGUARD_MAX_BODY". */
static void env_name(char *out, size_t n, const char *name)
{
	size_t i = (size_t)snprintf(out, n, "GRADGUARD_");

	for (; *name && i + 1 < n; name++, i++)
		out[i] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	out[i < n ? i : n - 1] = '\0';
}

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static int parse_number(const char *s, unsigned long long lo,
			unsigned long long hi, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int option_set(struct config *c, const struct option_def *o,
		      const char *val, const char *from, char *err,
		      size_t errlen)
{
	char *field = (char *)c + o->offset;
	unsigned long long v = 0;

	switch (o->kind) {
	case OPT_UINT:
	case OPT_SIZE:
	case OPT_U32:
		if (parse_number(val, o->lo, o->hi, &v))
			goto bad;
		if (o->kind == OPT_UINT)
			*(unsigned *)(void *)field = (unsigned)v;
		else if (o->kind == OPT_SIZE)
			*(size_t *)(void *)field = (size_t)v;
		else
			*(uint32_t *)(void *)field = (uint32_t)v;
		return 0;
	case OPT_STR:
		if (val[0] == '\0' || strlen(val) >= o->size)
			goto bad;
		memcpy(field, val, strlen(val) + 1);
		return 0;
	case OPT_LOGFMT:
		if (!strcmp(val, "text"))
			c->log_format = LOG_TEXT;
		else if (!strcmp(val, "json"))
			c->log_format = LOG_JSON;
		else
			goto bad;
		return 0;
	case OPT_FLAG:
		*(bool *)(void *)field = true;
		return 0;
	}
bad:
	if (o->kind == OPT_UINT || o->kind == OPT_SIZE || o->kind == OPT_U32)
		snprintf(err, errlen, "%s: bad value '%s' for %s (want an "
			 "integer in %llu..%llu)", from, val, o->name, o->lo,
			 o->hi);
	else
		snprintf(err, errlen, "%s: bad value '%s' for %s", from, val,
			 o->name);
	return -1;
}

static const struct option_def *option_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strlen(options[i].name) == len &&
		    !strncmp(options[i].name, name, len))
			return &options[i];
	return NULL;
}

static const char *env_lookup(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

int config_load(struct config *c, int argc, char *const argv[],
		char *const envp[], char *err, size_t errlen)
{
	char name[64];

	config_defaults(c);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const char *v;

		if (options[i].kind == OPT_FLAG)
			continue;
		env_name(name, sizeof(name), options[i].name);
		v = env_lookup(envp, name);
		if (v && option_set(c, &options[i], v, name, err, errlen))
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		const struct option_def *o;
		size_t len;

		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		o = option_find(a, len);
		if (!o) {
			snprintf(err, errlen, "unknown option '--%.*s'",
				 (int)len, a);
			return -1;
		}
		if (o->kind == OPT_FLAG) {
			if (eq) {
				snprintf(err, errlen, "--%s takes no value",
					 o->name);
				return -1;
			}
			val = "";
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(err, errlen, "--%s needs a value", o->name);
			return -1;
		}
		if (option_set(c, o, val, "flag", err, errlen))
			return -1;
	}
	return 0;
}

void config_usage(FILE *f, const char *prog)
{
	char name[64], left[64];

	fprintf(f, "usage: %s [options]\n\noptions (each also read from the "
		"environment variable shown; a flag wins):\n", prog);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_def *o = &options[i];

		snprintf(left, sizeof(left), "--%s%s%s", o->name,
			 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-26s %s\n", left, o->help);
		if (o->kind != OPT_FLAG) {
			env_name(name, sizeof(name), o->name);
			fprintf(f, "  %-26s   env %s\n", "", name);
		}
	}
}
