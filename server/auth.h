/* API-key authentication: keys read from a file, checked in constant time
 * (SHA-256 digests compared against every key, no early exit), and the
 * tenant (session namespace) each key stands for. Keys never leave this
 * module: not in logs, not in store keys (the tenant is a digest). */
#ifndef GRADGUARD_AUTH_H
#define GRADGUARD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Shortest key accepted: 16 characters of a random token are ~96 bits. */
#define AUTH_KEY_MIN 16
/* Longest key (and Authorization token) looked at. */
#define AUTH_KEY_MAX 1024
/* Keys in one file. */
#define AUTH_KEYS_MAX 4096
/* Tenant: 16 hex digits (64 bits of a domain-separated SHA-256) + NUL. */
#define AUTH_TENANT_LEN 17

struct auth;

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING,      /* no Authorization header, or not "Bearer" */
	AUTH_INVALID,      /* a Bearer token that is not a configured key */
};

/* FIPS 180-4 SHA-256 of data[0..len) into out[32]. */
void auth_sha256(const void *data, size_t len, unsigned char out[32]);

/* Parses a key file: one key per line, surrounding blanks trimmed, blank
 * lines and lines starting with '#' ignored. A key must be AUTH_KEY_MIN to
 * AUTH_KEY_MAX printable ASCII characters without blanks. Returns 0 and
 * *out (caller auth_frees), or -1 with a message in err naming the line
 * (never the key). A file without keys is an error too. */
int auth_load(const char *path, struct auth **out, char *err, size_t errlen);
/* Same, from a buffer (text[0..len)); "what" names it in messages. */
int auth_parse(const char *text, size_t len, const char *what,
	       struct auth **out, char *err, size_t errlen);
void auth_free(struct auth *a);
size_t auth_count(const struct auth *a);

/* Checks an Authorization header value (NULL: none). On AUTH_OK copies
 * the key's tenant into tenant[AUTH_TENANT_LEN]. The time taken depends
 * on the header's length and the number of keys, not on which key (if
 * any) matched or how many bytes of one did. */
enum auth_result auth_check(const struct auth *a, const char *authorization,
			    char tenant[AUTH_TENANT_LEN]);

/* The tenant of a key: the first 16 hex digits of
 * SHA-256("gradguard-tenant:" || key). Stable across restarts, distinct
 * per key, and not the digest auth_check compares. */
void auth_tenant_of(const char *key, size_t len,
		    char tenant[AUTH_TENANT_LEN]);

/* Equality of two 32-byte digests without data-dependent branches. */
bool auth_digest_equal(const unsigned char a[32], const unsigned char b[32]);

#endif
