/* Test support for integration tests: start the real daemon on a free
 * loopback port and talk to it with libcurl (every request has a timeout). */
#ifndef GRADGUARD_TEST_HARNESS_H
#define GRADGUARD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cJSON.h>

struct gg_server {
	pid_t pid;
	int port;
	char base[64];        /* "http://127.0.0.1:PORT" */
	int out_fd;           /* the server's stdout (after the first line) */
	char log_path[256];   /* its stderr ($BUILD/logs/...), "" if none */
};

/* Starts $GRADGUARD_BIN (default build/gradguard) with --port 0 --bind
 * 127.0.0.1, --store memory: unless extra_args names a --store, plus
 * extra_args (NULL-terminated, may be NULL), and waits (bounded, no sleep)
 * for the "listening on http://127.0.0.1:PORT" line. Returns 0 or -1.
 * The daemon is SIGKILLed if the calling thread dies first (a failed
 * assertion in a forked test); its stderr goes to s->log_path. */
int gg_server_start(struct gg_server *s, const char *const extra_args[]);
/* SIGTERM, then waits up to 10 s; returns the exit status (or -1). */
int gg_server_stop(struct gg_server *s);
/* SIGKILL and reap (crash tests). */
void gg_server_kill(struct gg_server *s);

struct gg_response {
	long status;          /* 0 when the transfer failed */
	char *body;           /* NUL-terminated, malloc'd */
	size_t body_len;
	char content_type[128];
	char request_id[128];
	char allow[128];
	char retry_after[32];
	char location[256];
	char www_authenticate[128];
};

/* One request with a 30 s timeout. content_type NULL sends none; headers is
 * a NULL-terminated list of "Name: value" (may be NULL). Returns 0 when a
 * response arrived, -1 otherwise (r->status 0).
 * With $GG_RECORD_DIR set, every response that arrived is appended as one
 * JSON line {"method", "path", "status", "content_type", "body"} (body
 * omitted and "truncated": true past GG_RECORD_BODY_MAX bytes; "request":
 * the body sent, when it was JSON up to 1 MiB) to
 * $GG_RECORD_DIR/<pid>.jsonl, for tests/schema/validate_responses.py. */
int gg_request(const struct gg_server *s, const char *method,
	       const char *path, const char *content_type, const char *body,
	       size_t body_len, const char *const headers[],
	       struct gg_response *r);
/* POST a JSON text with Content-Type: application/json. */
int gg_post_json(const struct gg_server *s, const char *path,
		 const char *json, struct gg_response *r);
void gg_response_free(struct gg_response *r);
/* The body parsed (caller cJSON_Deletes), NULL if not JSON. */
cJSON *gg_response_json(const struct gg_response *r);

/* Runs $GRADGUARD_BIN with args (NULL-terminated; no defaults added),
 * stdin and stderr on /dev/null, and waits (at most 10 s). Up to out_len-1
 * bytes of its stdout land NUL-terminated in out (may be NULL). Returns
 * the exit status, or -1 (could not run, killed, timed out). */
int gg_run(const char *const args[], char *out, size_t out_len);

/* A TCP connection to the daemon, with an SO_RCVBUF of rcvbuf bytes set
 * before connecting when rcvbuf > 0 (a slow reader's small window), or -1. */
int gg_connect(const struct gg_server *s, int rcvbuf);
/* Sends all n bytes on fd (no SIGPIPE); false when the peer is gone. */
bool gg_send_all(int fd, const void *p, size_t n);

/* Sends req_len raw bytes to the server on a fresh TCP connection, then
 * reads until the server closes, resp_len-1 bytes arrive, or timeout_ms
 * passes; resp is NUL-terminated. Returns the bytes read, or -1 when the
 * connection failed. For requests libcurl will not send (lying
 * Content-Length, bad framing). */
long gg_raw(const struct gg_server *s, const char *req, size_t req_len,
	    char *resp, size_t resp_len, int timeout_ms);

#endif
