/* Fuzzes the JSON module: bytes -> json_parse; on success every getter kind
 * over the tree (checked against what cJSON parsed), json_pointer escaping,
 * the jw_* writer re-serializing the tree (its output must parse strictly
 * back to the same tree), and json_format_double round trips on raw bit
 * patterns taken from the input. */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "handlers/json.h"

#define MAX_GETTER_DEPTH 6     /* getters on nodes this shallow */
#define MAX_GETTER_NODES 512   /* and on at most this many nodes */
#define SMALL_ELEMENTS 64
#define LARGE_ELEMENTS 4096

static const char *const allowed[] = {
	"op", "data", "session", "layer_dims", "model", "X", "Y",
	"vector", "a", "~/", NULL
};
static const char *const names[] = {"fit", "relu", "he", "", NULL};

struct walk {
	size_t nodes;
};

/* ---- json_format_double: exact round trips ------------------------------ */

static void check_double(double v)
{
	char s[64], *end;
	size_t n;
	double back;

	memset(s, 'x', sizeof(s));
	n = json_format_double(s, v);
	if (n >= 32 || s[n] != '\0' || strlen(s) != n)
		fuzz_fail("json_format_double(%a): length %zu", v, n);
	if (!isfinite(v)) {
		if (strcmp(s, "null") != 0)
			fuzz_fail("json_format_double(%a) = \"%s\", want null",
				  v, s);
		return;
	}
	back = strtod(s, &end);
	if (*end != '\0' || memcmp(&back, &v, sizeof(v)) != 0)
		fuzz_fail("json_format_double(%a) = \"%s\" reads back as %a",
			  v, s, back);
	if (strchr(s, 'i') || strchr(s, 'n') || s[0] == '+' || s[0] == '.' ||
	    (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		fuzz_fail("json_format_double(%a) = \"%s\" is not JSON", v, s);
}

/* ---- pointers ------------------------------------------------------------ */

static void check_pointer(const char *base, const char *key)
{
	char got[PROBLEM_POINTER_MAX], want[2 * PROBLEM_POINTER_MAX + 8];
	size_t i = 0;
	const char *s;

	json_pointer(got, sizeof(got), base, key);
	if (!memchr(got, '\0', sizeof(got)))
		fuzz_fail("json_pointer: not terminated");
	if (got[0] != '/')
		fuzz_fail("json_pointer(\"%s\", \"%s\") = \"%s\"", base, key, got);
	for (s = base; *s && i < sizeof(want) - 3; s++)
		want[i++] = *s;
	want[i++] = '/';
	for (s = key; *s && i < sizeof(want) - 3; s++) {
		if (*s == '~' || *s == '/') {
			want[i++] = '~';
			want[i++] = *s == '~' ? '0' : '1';
		} else {
			want[i++] = *s;
		}
	}
	want[i] = '\0';
	if (strlen(want) < sizeof(got) && strcmp(got, want) != 0)
		fuzz_fail("json_pointer(\"%s\", \"%s\") = \"%s\", want \"%s\"",
			  base, key, got, want);
	if (strncmp(got, want, strlen(got)) != 0)
		fuzz_fail("json_pointer truncation \"%s\" is no prefix of "
			  "\"%s\"", got, want);
}

/* ---- getters --------------------------------------------------------------- */

/* rc must be -1/0/1 and agree with the problem. */
static void check_rc(int rc, const struct problem *p, const char *what)
{
	size_t i;

	if (rc < -1 || rc > 1)
		fuzz_fail("%s returned %d", what, rc);
	if ((rc == -1) != (problem_is_set(p) != 0))
		fuzz_fail("%s returned %d with problem kind %d", what, rc,
			  (int)p->kind);
	if (rc != -1)
		return;
	if (problem_status(p->kind) < 400 || problem_status(p->kind) > 599)
		fuzz_fail("%s: problem status %u", what,
			  problem_status(p->kind));
	for (i = 0; i < p->n_errors && i < PROBLEM_MAX_ERRORS; i++)
		if (p->errors[i].pointer[0] && p->errors[i].pointer[0] != '/')
			fuzz_fail("%s: pointer \"%s\"", what,
				  p->errors[i].pointer);
}

static double node_value(const cJSON *n)
{
	return cJSON_IsNull(n) ? NAN : n->valuedouble;
}

static void check_cell(const struct json_matrix *m, unsigned flags,
		       size_t i, size_t j, const cJSON *cell)
{
	double v, want;

	if (j >= m->cols)
		fuzz_fail("json_as_matrix: row %zu longer than %zu", i, m->cols);
	if (!cJSON_IsNumber(cell) && !cJSON_IsNull(cell))
		fuzz_fail("json_as_matrix: cell %zu,%zu is no number", i, j);
	if (cJSON_IsNull(cell) && !(flags & JSON_ALLOW_NULL))
		fuzz_fail("json_as_matrix: null accepted without ALLOW_NULL");
	want = node_value(cell);
	if (!isfinite(want) && !cJSON_IsNull(cell))
		fuzz_fail("json_as_matrix: non-finite number accepted");
	v = m->v[i * m->cols + j];
	if (isnan(want) ? !isnan(v) : v != want)
		fuzz_fail("json_as_matrix: cell %zu,%zu = %a, want %a", i, j, v,
			  want);
}

/* A successful matrix read must hold exactly what the tree holds. */
static void check_matrix(const cJSON *node, unsigned flags, size_t max,
			 const struct json_matrix *m)
{
	const cJSON *row, *cell;
	size_t i = 0, j;

	if (!m->v || !m->rows || !m->cols || m->rows > max || m->cols > max ||
	    m->rows * m->cols > max)
		fuzz_fail("json_as_matrix: %zux%zu (max %zu)", m->rows, m->cols,
			  max);
	if (!cJSON_IsArray(node))
		fuzz_fail("json_as_matrix accepted a non-array");
	cJSON_ArrayForEach(row, node) {
		if (i >= m->rows)
			fuzz_fail("json_as_matrix: more rows than %zu", m->rows);
		if (!cJSON_IsArray(row)) {
			if (!(flags & JSON_FLAT_COLUMN) || m->cols != 1)
				fuzz_fail("json_as_matrix: row %zu is no array",
					  i);
			check_cell(m, flags, i, 0, row);
			i++;
			continue;
		}
		j = 0;
		cJSON_ArrayForEach(cell, row)
			check_cell(m, flags, i, j++, cell);
		if (j != m->cols)
			fuzz_fail("json_as_matrix: row %zu has %zu of %zu", i,
				  j, m->cols);
		i++;
	}
	if (i != m->rows)
		fuzz_fail("json_as_matrix: %zu rows, said %zu", i, m->rows);
}

static void check_vector(const cJSON *node, size_t max, const double *v,
			 size_t n)
{
	const cJSON *it;
	size_t i = 0;

	if (!v || !n || n > max || !cJSON_IsArray(node) ||
	    (size_t)cJSON_GetArraySize(node) != n)
		fuzz_fail("json_as_vector: n %zu (max %zu)", n, max);
	cJSON_ArrayForEach(it, node) {
		if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) ||
		    v[i] != it->valuedouble)
			fuzz_fail("json_as_vector: element %zu", i);
		i++;
	}
}

/* Every json_as_* reader on one node. */
static void as_getters(const cJSON *node, const char *ptr)
{
	static const unsigned mflags[] = {
		0, JSON_ALLOW_NULL, JSON_FLAT_COLUMN,
		JSON_ALLOW_NULL | JSON_FLAT_COLUMN
	};
	static const size_t maxes[] = {1, SMALL_ELEMENTS, LARGE_ELEMENTS};
	struct problem p;
	struct json_matrix m;
	double d, *v;
	int64_t i64;
	size_t n, k, f;
	int rc;

	problem_init(&p);
	rc = json_as_double(node, ptr, &d, &p);
	check_rc(rc, &p, "json_as_double");
	if (rc == 1 && (!isfinite(d) || d != node->valuedouble))
		fuzz_fail("json_as_double: %a", d);

	problem_init(&p);
	rc = json_as_int(node, ptr, -1000, 1000, &i64, &p);
	check_rc(rc, &p, "json_as_int");
	if (rc == 1 && (i64 < -1000 || i64 > 1000 ||
			(double)i64 != node->valuedouble))
		fuzz_fail("json_as_int: %lld", (long long)i64);
	problem_init(&p);
	rc = json_as_int(node, ptr, INT64_MIN, INT64_MAX, &i64, &p);
	check_rc(rc, &p, "json_as_int (full range)");

	for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		problem_init(&p);
		v = NULL;
		n = 0;
		rc = json_as_vector(node, ptr, maxes[k], &v, &n, &p);
		check_rc(rc, &p, "json_as_vector");
		if (rc == 1)
			check_vector(node, maxes[k], v, n);
		free(v);
		for (f = 0; f < sizeof(mflags) / sizeof(mflags[0]); f++) {
			problem_init(&p);
			memset(&m, 0, sizeof(m));
			rc = json_as_matrix(node, ptr, mflags[f], maxes[k], &m,
					    &p);
			check_rc(rc, &p, "json_as_matrix");
			if (rc == 1)
				check_matrix(node, mflags[f], maxes[k], &m);
			free(m.v);
		}
	}
}

/* Every json_get_* reader on one member key of obj. */
static void get_getters(const cJSON *obj, const char *base, const char *key)
{
	static const unsigned flags[] = {0, JSON_REQUIRED};
	struct problem p;
	struct json_matrix m;
	const cJSON *node;
	const char *s;
	double d, *v;
	int64_t i64, *iv;
	size_t n, f;
	bool b;
	int rc, e;

	for (f = 0; f < 2; f++) {
		problem_init(&p);
		rc = json_get_bool(obj, base, key, flags[f], true, &b, &p);
		check_rc(rc, &p, "json_get_bool");
		problem_init(&p);
		rc = json_get_double(obj, base, key, flags[f], 0.5, 0x1p-1074,
				     1e6, &d, &p);
		check_rc(rc, &p, "json_get_double");
		if (rc == 1 && !(d >= 0x1p-1074 && d <= 1e6))
			fuzz_fail("json_get_double out of range: %a", d);
		problem_init(&p);
		rc = json_get_double(obj, base, key, flags[f], 0, -DBL_MAX,
				     DBL_MAX, &d, &p);
		check_rc(rc, &p, "json_get_double (full)");
		problem_init(&p);
		rc = json_get_int(obj, base, key, flags[f], 7, 0, 4294967295,
				  &i64, &p);
		check_rc(rc, &p, "json_get_int");
		if (rc == 1 && (i64 < 0 || i64 > 4294967295))
			fuzz_fail("json_get_int out of range");
		problem_init(&p);
		rc = json_get_enum(obj, base, key, flags[f], names, 1, &e, &p);
		check_rc(rc, &p, "json_get_enum");
		if (rc == 1 && (e < 0 || e > 3))
			fuzz_fail("json_get_enum index %d", e);
		problem_init(&p);
		rc = json_get_string(obj, base, key, flags[f], 8, &s, &p);
		check_rc(rc, &p, "json_get_string");
		if (rc == 1 && (!s || strlen(s) > 8))
			fuzz_fail("json_get_string too long");
		problem_init(&p);
		rc = json_get_node(obj, base, key, flags[f], cJSON_Array,
				   &node, &p);
		check_rc(rc, &p, "json_get_node");
		if (rc == 1 && !cJSON_IsArray(node))
			fuzz_fail("json_get_node: not an array");
		problem_init(&p);
		rc = json_get_node(obj, base, key, flags[f], cJSON_Object,
				   &node, &p);
		check_rc(rc, &p, "json_get_node (object)");
		problem_init(&p);
		v = NULL;
		rc = json_get_vector(obj, base, key, flags[f], SMALL_ELEMENTS,
				     &v, &n, &p);
		check_rc(rc, &p, "json_get_vector");
		free(v);
		problem_init(&p);
		iv = NULL;
		rc = json_get_int_vector(obj, base, key, flags[f],
					 SMALL_ELEMENTS, 1, 64, &iv, &n, &p);
		check_rc(rc, &p, "json_get_int_vector");
		if (rc == 1) {
			if (!iv || !n || n > SMALL_ELEMENTS)
				fuzz_fail("json_get_int_vector: n %zu", n);
			while (n--)
				if (iv[n] < 1 || iv[n] > 64)
					fuzz_fail("json_get_int_vector: value");
		}
		free(iv);
		problem_init(&p);
		memset(&m, 0, sizeof(m));
		rc = json_get_matrix(obj, base, key, flags[f] | JSON_ALLOW_NULL,
				     SMALL_ELEMENTS, &m, &p);
		check_rc(rc, &p, "json_get_matrix");
		free(m.v);
	}
}

static void walk_getters(const cJSON *node, const char *ptr, unsigned depth,
			 struct walk *wk)
{
	char child[PROBLEM_POINTER_MAX];
	const cJSON *it;
	size_t i = 0;

	if (depth > MAX_GETTER_DEPTH || wk->nodes >= MAX_GETTER_NODES)
		return;
	wk->nodes++;
	as_getters(node, ptr);
	if (cJSON_IsObject(node)) {
		struct problem p;

		problem_init(&p);
		check_rc(json_check_object(node, ptr, allowed, &p), &p,
			 "json_check_object");
		get_getters(node, ptr, "absent-key");
	}
	cJSON_ArrayForEach(it, node) {
		if (cJSON_IsObject(node)) {
			const char *key = it->string ? it->string : "";

			check_pointer(ptr, key);
			get_getters(node, ptr, key);
			json_pointer(child, sizeof(child), ptr, key);
		} else {
			json_pointer_index(child, sizeof(child), ptr, i);
		}
		walk_getters(it, child, depth + 1, wk);
		i++;
	}
}

/* ---- writer ------------------------------------------------------------------ */

static void write_tree(struct jw *w, const cJSON *n)
{
	const cJSON *it;

	if (cJSON_IsObject(n) || cJSON_IsArray(n)) {
		if (cJSON_IsObject(n))
			jw_obj_begin(w);
		else
			jw_arr_begin(w);
		cJSON_ArrayForEach(it, n) {
			if (w->b->failed)
				break;
			if (cJSON_IsObject(n))
				jw_key(w, it->string);
			write_tree(w, it);
		}
		if (cJSON_IsObject(n))
			jw_obj_end(w);
		else
			jw_arr_end(w);
	} else if (cJSON_IsString(n)) {
		jw_string(w, n->valuestring);
	} else if (cJSON_IsNumber(n)) {
		/* integral values also through jw_int, the rest as doubles */
		if (fabs(n->valuedouble) < 0x1p62 &&
		    n->valuedouble == (double)(int64_t)n->valuedouble &&
		    !(n->valuedouble == 0 && signbit(n->valuedouble)))
			jw_int(w, (int64_t)n->valuedouble);
		else
			jw_double(w, n->valuedouble);
	} else if (cJSON_IsBool(n)) {
		jw_bool(w, cJSON_IsTrue(n) != 0);
	} else {
		jw_null(w);
	}
}

/* a (the input) and b (the writer's output reparsed) hold the same. */
static void same_tree(const cJSON *a, const cJSON *b, unsigned depth)
{
	const cJSON *x, *y;

	if (cJSON_IsNumber(a) && !isfinite(a->valuedouble)) {
		if (!cJSON_IsNull(b))
			fuzz_fail("writer: non-finite number not written as "
				  "null at depth %u", depth);
		return;
	}
	if ((a->type & 0xFF) != (b->type & 0xFF))
		fuzz_fail("writer: type %d became %d at depth %u",
			  a->type & 0xFF, b->type & 0xFF, depth);
	if (cJSON_IsNumber(a) && a->valuedouble != b->valuedouble)
		fuzz_fail("writer: %a became %a", a->valuedouble,
			  b->valuedouble);
	if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring) != 0)
		fuzz_fail("writer: string changed");
	if ((a->string == NULL) != (b->string == NULL) ||
	    (a->string && strcmp(a->string, b->string) != 0))
		fuzz_fail("writer: key changed at depth %u", depth);
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
		same_tree(x, y, depth + 1);
	if (x || y)
		fuzz_fail("writer: child count changed at depth %u", depth);
}

static void check_writer(const cJSON *tree)
{
	struct buf b;
	struct jw w;
	struct problem p;
	cJSON *back = NULL;

	buf_init(&b, 4u << 20);
	jw_init(&w, &b);
	write_tree(&w, tree);
	if (!b.failed) {
		if (w.depth != 0)
			fuzz_fail("writer: depth %u at the end", w.depth);
		problem_init(&p);
		if (json_parse(b.data, b.len, &back, &p) != 0)
			fuzz_fail("writer output rejected (%s): %.*s", p.detail,
				  (int)(b.len > 300 ? 300 : b.len), b.data);
		same_tree(tree, back, 0);
		cJSON_Delete(back);
	}
	buf_free(&b);
}

/* ---- blocks: the same reads as the arrays they replace ---------------------- */

static void same_problem(const struct problem *a, const struct problem *b,
			 const char *what)
{
	size_t k;

	if (a->kind != b->kind || a->n_errors != b->n_errors ||
	    a->n_dropped != b->n_dropped || strcmp(a->detail, b->detail))
		fuzz_fail("%s: block read differs: '%s' vs '%s'", what,
			  a->detail, b->detail);
	for (k = 0; k < a->n_errors && k < PROBLEM_MAX_ERRORS; k++)
		if (strcmp(a->errors[k].pointer, b->errors[k].pointer) ||
		    strcmp(a->errors[k].detail, b->errors[k].detail))
			fuzz_fail("%s: block error %zu differs", what, k);
}

static void same_values(const double *a, const double *b, size_t n,
			const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (isnan(a[i]) ? !isnan(b[i]) : memcmp(&a[i], &b[i], sizeof(*a)))
			fuzz_fail("%s: block value %zu differs", what, i);
}

/* tree (json_parse) and blocks (json_parse_blocks, every numeric array a
 * block) must read the same through every array getter. */
static void check_blocks(const cJSON *tree, const cJSON *blocks)
{
	static const unsigned mflags[] = {
		0, JSON_ALLOW_NULL, JSON_FLAT_COLUMN,
		JSON_ALLOW_NULL | JSON_FLAT_COLUMN
	};
	static const size_t maxes[] = {1, SMALL_ELEMENTS, LARGE_ELEMENTS};
	const cJSON *it;
	struct problem pa, pb;
	struct json_matrix ma, mb;
	double *va, *vb;
	int64_t *ia, *ib;
	size_t na, nb, f, k;
	int ra, rb;

	if (!cJSON_IsObject(tree))
		return;
	cJSON_ArrayForEach(it, tree) {
		const char *key = it->string ? it->string : "";

		if (cJSON_GetObjectItemCaseSensitive(tree, key) != it)
			continue;   /* a duplicate key: getters see the first */
		if (json_array_len(it) !=
		    json_array_len(cJSON_GetObjectItemCaseSensitive(blocks, key)))
			fuzz_fail("json_array_len differs for a block");
		for (k = 0; k < 3; k++) {
			for (f = 0; f < 4; f++) {
				problem_init(&pa);
				problem_init(&pb);
				ra = json_get_matrix(tree, "", key, mflags[f], maxes[k], &ma, &pa);
				rb = json_get_matrix(blocks, "", key, mflags[f], maxes[k], &mb, &pb);
				if (ra != rb)
					fuzz_fail("json_get_matrix: %d vs block %d", ra, rb);
				same_problem(&pa, &pb, "json_get_matrix");
				if (ra == 1) {
					if (ma.rows != mb.rows || ma.cols != mb.cols)
						fuzz_fail("json_get_matrix: block shape");
					same_values(ma.v, mb.v, ma.rows * ma.cols,
						    "json_get_matrix");
				}
				free(ma.v);
				free(mb.v);
			}
			problem_init(&pa);
			problem_init(&pb);
			ra = json_get_vector(tree, "", key, 0, maxes[k], &va, &na, &pa);
			rb = json_get_vector(blocks, "", key, 0, maxes[k], &vb, &nb, &pb);
			if (ra != rb || (ra == 1 && na != nb))
				fuzz_fail("json_get_vector: %d vs block %d", ra, rb);
			same_problem(&pa, &pb, "json_get_vector");
			if (ra == 1)
				same_values(va, vb, na, "json_get_vector");
			free(va);
			free(vb);
			problem_init(&pa);
			problem_init(&pb);
			ra = json_get_int_vector(tree, "", key, 0, maxes[k], -5, 64, &ia, &na, &pa);
			rb = json_get_int_vector(blocks, "", key, 0, maxes[k], -5, 64, &ib, &nb, &pb);
			if (ra != rb || (ra == 1 && (na != nb ||
						     memcmp(ia, ib, na * sizeof(*ia)))))
				fuzz_fail("json_get_int_vector: %d vs block %d", ra, rb);
			same_problem(&pa, &pb, "json_get_int_vector");
			free(ia);
			free(ib);
		}
	}
}

/* ---- entry ---------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct problem p;
	cJSON *tree = NULL, *blocks = NULL;
	struct walk wk = {0};
	size_t i;
	double d;

	for (i = 0; i + sizeof(d) <= size && i < 16 * sizeof(d);
	     i += sizeof(d)) {
		memcpy(&d, data + i, sizeof(d));
		check_double(d);
	}

	problem_init(&p);
	if (json_parse((const char *)data, size, &tree, &p) != 0) {
		if (tree || p.kind != PROB_MALFORMED_JSON || !p.detail[0])
			fuzz_fail("json_parse failed with kind %d, tree %p",
				  (int)p.kind, (void *)tree);
		{
			struct problem pb;

			problem_init(&pb);
			if (json_parse_blocks((const char *)data, size, 1,
					      &blocks, &pb) == 0 ||
			    strcmp(pb.detail, p.detail))
				fuzz_fail("json_parse_blocks: '%s', json_parse "
					  "'%s'", pb.detail, p.detail);
		}
		return 0;
	}
	if (!tree || problem_is_set(&p))
		fuzz_fail("json_parse succeeded without a clean tree");
	walk_getters(tree, "", 0, &wk);
	check_writer(tree);
	problem_init(&p);
	if (json_parse_blocks((const char *)data, size, 1, &blocks, &p) != 0)
		fuzz_fail("json_parse_blocks refused what json_parse took: %s",
			  p.detail);
	check_blocks(tree, blocks);
	cJSON_Delete(blocks);
	cJSON_Delete(tree);
	return 0;
}
