/* The "oracle" cost source of /gradcheck: a client's own HTTP endpoint,
 * called with libcurl, evaluates J(theta) for batches of perturbations.
 * Only hosts and addresses on the server's allow-list are ever contacted.
 * Concurrency comes from one libcurl multi handle per check, driven by the
 * one engine thread: the engine hands over chunks of ORACLE_CHUNK_CALLS
 * calls' worth, which run ORACLE_MAX_INFLIGHT at a time (curl_multi_perform
 * and curl_multi_poll) on a small pool of easy handles whose keep-alive
 * connections the multi handle reuses from chunk to chunk. */
#ifndef GRADGUARD_ORACLE_H
#define GRADGUARD_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/gradcheck.h"

/* Loopback only unless the operator says otherwise (--oracle-allow). */
#define ORACLE_DEFAULT_ALLOW "127.0.0.0/8,::1,localhost"
/* Requests in flight at once per check, each on its own easy handle and
 * keep-alive connection (also the multi handle's connection limit). */
#define ORACLE_MAX_INFLIGHT 4
/* Calls' worth of work per engine chunk: a slot that finishes takes the
 * next call of the chunk, so only a chunk's tail runs fewer at once. */
#define ORACLE_CHUNK_CALLS (4 * ORACLE_MAX_INFLIGHT)
/* Entries of one allow-list. */
#define ORACLE_ALLOW_MAX 64
/* A host name on the list (DNS limit 253 plus NUL). */
#define ORACLE_NAME_MAX 254
/* Answer size: a fixed allowance plus this many bytes per expected cost. */
#define ORACLE_ANSWER_BASE 4096u
#define ORACLE_ANSWER_PER_COST 64u

/* The parsed allow-list. Networks are kept as IPv6 (IPv4 as ::ffff:a.b.c.d
 * with the prefix plus 96); names are lower case. */
struct oracle_net {
	unsigned char addr[16];
	unsigned prefix;
};

struct oracle_allow {
	size_t n_nets, n_names;
	struct oracle_net nets[ORACLE_ALLOW_MAX];
	char names[ORACLE_ALLOW_MAX][ORACLE_NAME_MAX];
};

/* Parses "host,ip,cidr,..." (spaces around entries ignored; "none" alone:
 * nothing allowed). NULL means ORACLE_DEFAULT_ALLOW. Returns 0, or -1 with
 * the offending entry named in err. */
int oracle_allow_parse(const char *list, struct oracle_allow *a, char *err,
		       size_t errlen);
/* Is the address (AF_INET / AF_INET6 bytes: 4 or 16) allowed? It must lie
 * in a listed network; link-local, unspecified, multicast, NAT64 and cloud
 * metadata addresses only when a listed network lies inside their range
 * (so 0.0.0.0/0 does not open 169.254.169.254; listing it does). */
bool oracle_allow_addr(const struct oracle_allow *a, int family,
		       const void *bytes);
/* The same for a numeric address in text ("127.0.0.1", "::1"); false when
 * the text is not an address. */
bool oracle_allow_ip(const struct oracle_allow *a, const char *ip);
/* May a URL name this host? A listed name (case-insensitive), or an IP
 * literal (IPv6 with or without brackets) that oracle_allow_ip allows. A
 * name only admits the URL: each address connected to is checked again. */
bool oracle_allow_host(const struct oracle_allow *a, const char *host);

enum oracle_status {
	ORACLE_OK = 0,
	ORACLE_EURL,       /* URL refused or invalid (422 /oracle/url) */
	ORACLE_EREFUSED,   /* resolved to an address not allowed (422) */
	ORACLE_EUPSTREAM,  /* unreachable or a malformed answer (502) */
	ORACLE_ETIMEOUT,   /* no answer within timeout_ms (504) */
	ORACLE_EDEADLINE,  /* the request's deadline passed (504) */
	ORACLE_ENOMEM,
	ORACLE_ECONFIG     /* the server's allow-list is invalid (500) */
};

struct oracle_opts {
	const char *url;
	const char *allow;      /* the --oracle-allow text; NULL: default */
	uint32_t timeout_ms;    /* per call */
	size_t batch_size;      /* perturbations (or points) per call, >= 1 */
	uint64_t deadline_ns;   /* CLOCK_MONOTONIC; 0: none */
};

struct oracle;

/* Checks the URL (http/https, no user info, host on the list) and prepares
 * the client. theta (n values) is borrowed for the oracle's lifetime.
 * Returns ORACLE_OK and *out, or a status with a message in err. */
enum oracle_status oracle_new(const struct oracle_opts *opts,
			      const double *theta, size_t n,
			      struct oracle **out, char *err, size_t errlen);
void oracle_free(struct oracle *o);

/* The oracle as a gradcheck source: coord_costs POSTs {"theta": [...],
 * "perturbations": [[i, delta], ...]} in calls of at most batch_size
 * perturbations; dir_costs POSTs {"points": [[...]]} (one full theta per
 * call). Both expect {"costs": [...]}, one per item in order. The first
 * call also asks for J(theta) itself (perturbation [0, 0] or the point
 * theta). Each chunk's calls run up to ORACLE_MAX_INFLIGHT at once on the
 * oracle's multi handle; a failure takes the other calls in flight off it
 * (aborting them). Not thread-safe: the source sets max_threads = 1. */
void oracle_source(struct oracle *o, struct gc_source *s);

/* The first failure (status and a one-line message), ORACLE_OK if none. */
enum oracle_status oracle_error(const struct oracle *o, const char **detail);
/* J(theta) when an answer carried it. */
bool oracle_base_cost(const struct oracle *o, double *cost);

#endif
