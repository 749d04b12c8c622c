/* API keys: file parsing, SHA-256, constant-time checks, tenants; see
 * auth.h. */
#include "auth.h"

#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct auth_key {
	unsigned char digest[32];         /* SHA-256(key) */
	char tenant[AUTH_TENANT_LEN];
};

struct auth {
	struct auth_key *keys;
	size_t n;
};

/* ---- SHA-256 (FIPS 180-4, section 6.2) ---------------------------------- */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

struct sha256 {
	uint32_t h[8];
	unsigned char block[64];
	size_t used;          /* bytes in block */
	uint64_t total;       /* bytes hashed */
};

static uint32_t ror(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^
			      (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^
			      (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) +
			      ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) +
			      ((a & b) ^ (a & c) ^ (b & c));

		h = g, g = f, f = e, e = d + t1;
		d = c, c = b, b = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, h0, sizeof(h0));
	s->used = 0;
	s->total = 0;
}

static void sha256_update(struct sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;

	s->total += len;
	while (len) {
		size_t take = 64 - s->used < len ? 64 - s->used : len;

		memcpy(s->block + s->used, p, take);
		s->used += take;
		p += take;
		len -= take;
		if (s->used == 64) {
			sha256_block(s, s->block);
			s->used = 0;
		}
	}
}

static void sha256_final(struct sha256 *s, unsigned char out[32])
{
	uint64_t bits = s->total * 8;
	unsigned char pad = 0x80, zero = 0, len[8];

	sha256_update(s, &pad, 1);
	while (s->used != 56)
		sha256_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(s->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)s->h[i];
	}
}

void auth_sha256(const void *data, size_t len, unsigned char out[32])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, data, len);
	sha256_final(&s, out);
}

/* ---- keys ----------------------------------------------------------------- */

void auth_tenant_of(const char *key, size_t len,
		    char tenant[AUTH_TENANT_LEN])
{
	static const char prefix[] = "gradguard-tenant:";
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, prefix, sizeof(prefix) - 1);
	sha256_update(&s, key, len);
	sha256_final(&s, d);
	for (int i = 0; i < (AUTH_TENANT_LEN - 1) / 2; i++) {
		tenant[2 * i] = hex[d[i] >> 4];
		tenant[2 * i + 1] = hex[d[i] & 15];
	}
	tenant[AUTH_TENANT_LEN - 1] = '\0';
}

bool auth_digest_equal(const unsigned char a[32], const unsigned char b[32])
{
	unsigned diff = 0;

	for (int i = 0; i < 32; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	/* 1 when diff == 0, without a branch on diff */
	return (bool)(1u & ((diff - 1u) >> 8));
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	/* the digests are not the keys, but leave nothing behind anyway */
	if (a->keys)
		memset(a->keys, 0, a->n * sizeof(*a->keys));
	gg_free(a->keys);
	gg_free(a);
}

size_t auth_count(const struct auth *a)
{
	return a ? a->n : 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int auth_parse(const char *text, size_t len, const char *what,
	       struct auth **out, char *err, size_t errlen)
{
	struct auth *a = NULL;
	size_t pos = 0, line = 0;

	*out = NULL;
	a = gg_calloc(1, sizeof(*a));
	if (!a)
		goto nomem;
	while (pos < len) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		struct auth_key *k;

		pos += n + (nl ? 1 : 0);
		line++;
		while (n && is_blank(*s))
			s++, n--;
		while (n && is_blank(s[n - 1]))
			n--;
		if (n == 0 || s[0] == '#')
			continue;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)s[i] <= 0x20 ||
			    (unsigned char)s[i] >= 0x7f) {
				snprintf(err, errlen, "%s line %zu: an API key "
					 "must be printable ASCII without "
					 "blanks", what, line);
				goto fail;
			}
		if (n < AUTH_KEY_MIN || n > AUTH_KEY_MAX) {
			snprintf(err, errlen, "%s line %zu: an API key must "
				 "have %d to %d characters (this one has %zu)",
				 what, line, AUTH_KEY_MIN, AUTH_KEY_MAX, n);
			goto fail;
		}
		if (a->n == AUTH_KEYS_MAX) {
			snprintf(err, errlen, "%s: more than %d API keys",
				 what, AUTH_KEYS_MAX);
			goto fail;
		}
		k = gg_realloc(a->keys, (a->n + 1) * sizeof(*a->keys));
		if (!k)
			goto nomem;
		a->keys = k;
		auth_sha256(s, n, a->keys[a->n].digest);
		auth_tenant_of(s, n, a->keys[a->n].tenant);
		a->n++;
	}
	if (a->n == 0) {
		snprintf(err, errlen, "%s: no API keys (one per line; blank "
			 "lines and # comments are ignored)", what);
		goto fail;
	}
	*out = a;
	return 0;
nomem:
	snprintf(err, errlen, "%s: out of memory", what);
fail:
	auth_free(a);
	return -1;
}

int auth_load(const char *path, struct auth **out, char *err, size_t errlen)
{
	/* a key file bigger than this is not a key file */
	const size_t cap = (size_t)AUTH_KEYS_MAX * (AUTH_KEY_MAX + 2);
	char *text = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc = -1;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "API keys file %s: %s", path,
			 strerror(errno));
		goto out;
	}
	text = gg_malloc(cap + 1);
	if (!text) {
		snprintf(err, errlen, "API keys file %s: out of memory", path);
		goto out;
	}
	len = fread(text, 1, cap + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "API keys file %s: read error", path);
		goto out;
	}
	if (len > cap) {
		snprintf(err, errlen, "API keys file %s: larger than %zu bytes",
			 path, cap);
		goto out;
	}
	rc = auth_parse(text, len, path, out, err, errlen);
out:
	if (text) {
		memset(text, 0, len);
		gg_free(text);
	}
	if (f)
		fclose(f);
	return rc;
}

enum auth_result auth_check(const struct auth *a, const char *authorization,
			    char tenant[AUTH_TENANT_LEN])
{
	unsigned char d[32];
	const char *tok;
	size_t n, found = 0;
	unsigned match = 0;

	if (!authorization || strncasecmp(authorization, "Bearer", 6) != 0 ||
	    (authorization[6] != ' ' && authorization[6] != '\t'))
		return AUTH_MISSING;
	tok = authorization + 7;
	while (*tok == ' ' || *tok == '\t')
		tok++;
	n = strlen(tok);
	while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
		n--;
	if (n == 0 || n > AUTH_KEY_MAX)
		return AUTH_INVALID;
	auth_sha256(tok, n, d);
	/* every key, no early exit; the match index is selected by mask */
	for (size_t i = 0; i < a->n; i++) {
		unsigned eq = auth_digest_equal(d, a->keys[i].digest);
		size_t mask = (size_t)0 - (size_t)eq;

		match |= eq;
		found = (found & ~mask) | (i & mask);
	}
	memset(d, 0, sizeof(d));
	if (!match)
		return AUTH_INVALID;
	memcpy(tenant, a->keys[found].tenant, AUTH_TENANT_LEN);
	return AUTH_OK;
}
