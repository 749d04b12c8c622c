/* What /normalize and /sessions share about sessions: id syntax and
 * generation, the namespaced store key, store statuses as problems, and the
 * statistics fields of a response. */
#ifndef GRADGUARD_SESSION_H
#define GRADGUARD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "problem.h"
#include "store.h"

struct stats;

/* Longest session id; ids match [A-Za-z0-9_.-]{1,64}. */
#define SESSION_ID_MAX 64
/* Room for "<tenant>/<id>" keys. */
#define SESSION_KEY_MAX 256
/* Longest lifetime a request may ask for ("ttl"), seconds: ten years. */
#define SESSION_TTL_MAX 315360000

bool session_id_valid(const char *id);
/* A fresh id: 128 bits from getrandom(2) in base64url without padding (22
 * characters) into out (>= 23 bytes). Returns 0, or -1 if no entropy. */
int session_generate(char *out, size_t n);
/* "<tenant>/<id>" into out; returns -1 if it does not fit. tenant NULL = "". */
int session_key(char *out, size_t n, const char *tenant, const char *id);
/* Fills p for a failed store operation on session id (pointer names the
 * request field that chose it: "/session"; "" for a path parameter, which
 * gets the detail alone and no errors[] entry). */
void session_store_problem(struct problem *p, enum store_status st,
			   const char *id, const char *pointer);
/* 422 non-finite-number at /data for statistics that would overflow the
 * double range (STATS_OVERFLOW, STORE_OVERFLOW), naming feature (SIZE_MAX:
 * not known). */
void session_overflow_problem(struct problem *p, size_t feature);

/* Writes the members "session" (null when id is NULL: nothing stored),
 * "n_samples_seen" (a number, or an array
 * when per-feature counts differ), "n_features", "mean", "var", "scale"
 * into an open object. scale NULL writes sqrt(var) with constant features
 * at 1 (stats_scale). Returns -1 on OOM. */
int session_write_stats(struct jw *w, const char *id, const struct stats *st,
			const double *scale);
/* Parses a ?ttl= query value: a decimal integer in 1..SESSION_TTL_MAX
 * seconds, nothing else. Returns 0 with *ms, or -1. */
int session_parse_ttl(const char *text, int64_t *ms);
/* Writes the member "expires_at": RFC 3339 UTC, or null (0: never). */
void session_write_expiry(struct jw *w, int64_t expires_at_ms);
/* RFC 3339 UTC with milliseconds ("2026-11-29T00:15:02.123Z"); out >= 32. */
void session_format_time(char *out, size_t n, int64_t unix_ms);

#endif
