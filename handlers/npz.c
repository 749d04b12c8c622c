/* .npz reader: the zip container (PKWARE APPNOTE 6.3: end of central
 * directory, central directory, local headers; zip64 extra fields), stored
 * and deflated members, CRC-32 and zip-bomb checks; see npy.h. */
#include "npy.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "core/alloc.h"
#include "json.h"

#define EOCD_SIG 0x06054b50u
#define CDIR_SIG 0x02014b50u
#define LOCAL_SIG 0x04034b50u
#define EOCD_LEN 22u
#define CDIR_LEN 46u
#define LOCAL_LEN 30u

struct member {
	char name[NPZ_NAME_MAX + 1];
	unsigned method, flags;
	uint32_t crc;
	uint64_t csize, usize, offset;
};

static uint32_t le(const unsigned char *b, unsigned n)
{
	uint32_t v = 0;

	while (n--)
		v = v << 8 | b[n];
	return v;
}

static uint64_t le64(const unsigned char *b)
{
	return (uint64_t)le(b + 4, 4) << 32 | le(b, 4);
}

void npz_field_name(char *out, const char *name)
{
	size_t n = strlen(name);

	if (n > NPZ_NAME_MAX)
		n = NPZ_NAME_MAX;
	if (n > 4 && !memcmp(name + n - 4, ".npy", 4))
		n -= 4;
	memcpy(out, name, n);
	out[n] = '\0';
}

/* A 400 naming the member (its pointer) when one is known. */
static int bad(struct problem *p, const char *name, const char *what)
{
	char ptr[PROBLEM_POINTER_MAX], base[NPZ_NAME_MAX + 1];

	if (name) {
		npz_field_name(base, name);
		json_pointer(ptr, sizeof(ptr), "", base);
		problem_add(p, PROB_MALFORMED_BODY, ptr,
			    "not a valid .npz file: %s", what);
	} else {
		problem_set(p, PROB_MALFORMED_BODY, "not a valid .npz file: %s",
			    what);
	}
	return -1;
}

/* The zip64 extra field (id 1) of a central directory entry: replaces the
 * sizes and offset that are 0xFFFFFFFF, in this order. */
static int zip64_extra(const unsigned char *x, size_t n, struct member *m)
{
	size_t i = 0, k, len;
	uint64_t *vals[3] = { &m->usize, &m->csize, &m->offset };

	while (n - i >= 4) {
		len = le(x + i + 2, 2);
		if (n - i - 4 < len)
			return -1;
		if (le(x + i, 2) == 1) {
			size_t at = i + 4;

			for (k = 0; k < 3; k++) {
				if (*vals[k] != 0xFFFFFFFFu)
					continue;
				if (at + 8 > i + 4 + len)
					return -1;
				*vals[k] = le64(x + at);
				at += 8;
			}
			return 0;
		}
		i += 4 + len;
	}
	return i == n ? 0 : -1;
}

/* Inflates a raw deflate stream of exactly csize bytes into exactly usize. */
static int inflate_member(const unsigned char *src, uint64_t csize,
			  unsigned char *dst, uint64_t usize)
{
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
		return -2;
	z.next_in = (unsigned char *)(uintptr_t)src;
	z.avail_in = (uInt)csize;
	z.next_out = dst;
	z.avail_out = (uInt)usize;
	rc = inflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END && (z.total_out != usize || z.avail_in != 0))
		rc = Z_DATA_ERROR;
	inflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : rc == Z_MEM_ERROR ? -2 : -1;
}

/* The central directory entry at b[at..): fills m, moves at past it. */
static int read_cdir(const unsigned char *b, size_t end, size_t *at,
		     struct member *m, struct problem *p)
{
	size_t i = *at, nlen, xlen, clen;

	if (end - i < CDIR_LEN || le(b + i, 4) != CDIR_SIG)
		return bad(p, NULL, "a central directory entry is missing or truncated");
	memset(m, 0, sizeof(*m));
	m->flags = le(b + i + 8, 2);
	m->method = le(b + i + 10, 2);
	m->crc = le(b + i + 16, 4);
	m->csize = le(b + i + 20, 4);
	m->usize = le(b + i + 24, 4);
	nlen = le(b + i + 28, 2);
	xlen = le(b + i + 30, 2);
	clen = le(b + i + 32, 2);
	m->offset = le(b + i + 42, 4);
	if (end - i - CDIR_LEN < nlen + xlen + clen)
		return bad(p, NULL, "a central directory entry is truncated");
	if (nlen == 0 || nlen > NPZ_NAME_MAX || memchr(b + i + CDIR_LEN, 0, nlen))
		return bad(p, NULL, "a member name is empty, too long or holds a NUL");
	memcpy(m->name, b + i + CDIR_LEN, nlen);
	m->name[nlen] = '\0';
	if (zip64_extra(b + i + CDIR_LEN + nlen, xlen, m))
		return bad(p, m->name, "a malformed zip64 extra field");
	*at = i + CDIR_LEN + nlen + xlen + clen;
	return 0;
}

int npz_walk(const void *data, size_t len, const struct limits *lim,
	     npz_member_fn *fn, void *arg, struct problem *p)
{
	const unsigned char *b = data;
	size_t eocd, cd_off, cd_len, at, n, k, nlen, xlen, start, dlen;
	uint64_t member_max, total = 0, total_max, prev_end = 0;
	unsigned char *buf = NULL;
	struct member m;
	const void *bytes;
	int rc = -1, z;

	if (len < EOCD_LEN)
		return bad(p, NULL, "truncated (no end of central directory)");
	/* the EOCD ends the file: comments are not written by numpy */
	eocd = len - EOCD_LEN;
	if (le(b + eocd, 4) != EOCD_SIG || le(b + eocd + 20, 2) != 0)
		return bad(p, NULL, "truncated or not a zip (no end of central directory "
			   "record at the end)");
	n = le(b + eocd + 10, 2);
	cd_len = le(b + eocd + 12, 4);
	cd_off = le(b + eocd + 16, 4);
	if (le(b + eocd + 4, 2) != 0 || le(b + eocd + 6, 2) != 0 ||
	    le(b + eocd + 8, 2) != n || cd_off > eocd || eocd - cd_off != cd_len)
		return bad(p, NULL, "the central directory does not end where the end "
			   "record says (truncated, spanned or zip64)");
	if (n > 4 * lim->max_layers + 16) {
		problem_set(p, PROB_TOO_LARGE, "the .npz has %zu members, over "
			    "the limit of %zu", n, 4 * lim->max_layers + 16);
		return -1;
	}
	member_max = NPY_MAX_HEADER + 16 + 8 * (uint64_t)npy_max_elements(lim);
	if (member_max < lim->max_body)
		member_max = lim->max_body;
	total_max = (uint64_t)GG_NPZ_INFLATE_FACTOR * lim->max_body;
	for (k = 0, at = cd_off; k < n; k++) {
		if (read_cdir(b, eocd, &at, &m, p))
			goto out;
		if (m.flags & 1)
			return bad(p, m.name, "the member is encrypted");
		if (m.method != 0 && m.method != 8)
			return bad(p, m.name, "the member uses a compression "
				   "method other than stored or deflate");
		/* members in file order, each before the next and before the
		 * central directory: no overlapping members (zip bombs) */
		if (m.offset < prev_end || m.offset > cd_off ||
		    cd_off - m.offset < LOCAL_LEN)
			return bad(p, m.name, "the member overlaps another or the central "
				   "directory");
		start = (size_t)m.offset;
		if (le(b + start, 4) != LOCAL_SIG)
			return bad(p, m.name, "no local header where the directory says");
		nlen = le(b + start + 26, 2);
		xlen = le(b + start + 28, 2);
		if (nlen != strlen(m.name) ||
		    memcmp(b + start + LOCAL_LEN, m.name, nlen) ||
		    (uint64_t)(cd_off - start - LOCAL_LEN) < (uint64_t)nlen + xlen)
			return bad(p, m.name, "the local header does not match the directory");
		start += LOCAL_LEN + nlen + xlen;
		if (m.csize > cd_off - start)
			return bad(p, m.name, "truncated member data");
		prev_end = start + m.csize;
		if (m.usize > member_max || total + m.usize > total_max) {
			char ptr[PROBLEM_POINTER_MAX];

			char base[NPZ_NAME_MAX + 1];

			npz_field_name(base, m.name);
			json_pointer(ptr, sizeof(ptr), "", base);
			problem_add(p, PROB_TOO_LARGE, ptr, "the member inflates "
				    "to %llu bytes, over the limit of %llu",
				    (unsigned long long)m.usize,
				    (unsigned long long)(m.usize > member_max ?
							 member_max : total_max - total));
			goto out;
		}
		total += m.usize;
		if (m.method == 0 ? m.csize != m.usize :
		    m.usize / GG_NPZ_MAX_RATIO > m.csize)
			return bad(p, m.name, m.method == 0 ? "a stored member whose sizes differ" :
				   "the declared size is beyond deflate's ratio "
				   "(a zip bomb)");
		dlen = (size_t)m.usize;
		if (m.method == 0) {
			bytes = b + start;
		} else {
			buf = gg_malloc(dlen ? dlen : 1);
			if (!buf) {
				problem_set(p, PROB_OUT_OF_MEMORY,
					    "out of memory inflating %s", m.name);
				goto out;
			}
			z = inflate_member(b + start, m.csize, buf, dlen);
			if (z == -2) {
				problem_set(p, PROB_OUT_OF_MEMORY,
					    "out of memory inflating %s", m.name);
				goto out;
			}
			if (z) {
				bad(p, m.name, "the deflate stream is corrupt "
				    "or its size is not the declared one");
				goto out;
			}
			bytes = buf;
		}
		if ((uint32_t)crc32(0L, bytes, (uInt)dlen) != m.crc) {
			bad(p, m.name, "CRC-32 mismatch");
			goto out;
		}
		if (fn(arg, m.name, bytes, dlen, p))
			goto out;
		gg_free(buf);
		buf = NULL;
	}
	if (at != eocd)
		return bad(p, NULL, "bytes after the central directory entries");
	rc = 0;
out:
	gg_free(buf);
	return rc;
}
