/* The one JSON module: reads request fields from cJSON trees with shape,
 * range and finiteness checks that name the exact JSON Pointer in a problem,
 * and writes JSON text (numbers that round-trip exactly) into a struct buf.
 * No other code walks cJSON request trees.  Ownership: getters that return
 * arrays hand the caller a malloc'd block (gg_free() it, core/alloc.h); strings are borrowed
 * from the tree and live as long as it does. */
#ifndef GRADGUARD_JSON_H
#define GRADGUARD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "buf.h"
#include "limits.h"
#include "problem.h"

/* ---- parsing ---------------------------------------------------------- */

/* Parses a request body of len bytes (not NUL-terminated). Rejects empty
 * bodies, invalid UTF-8, syntax errors, trailing garbage and nesting deeper
 * than cJSON's limit with PROB_MALFORMED_JSON (detail names the byte
 * offset). Returns 0 and *out (free with cJSON_Delete), or -1. */
int json_parse(const char *body, size_t len, cJSON **out, struct problem *p);

/* json_parse that also turns every numeric array of at least min_block
 * numbers (a flat [1, null, 2e3] or equally long non-empty rows of them)
 * into a block node (below): numbers are read straight into doubles, bit
 * for bit what strtod gives, with no cJSON node per number. SIZE_MAX: no
 * blocks (json_parse). The server reads request bodies this way. */
int json_parse_blocks(const char *body, size_t len, size_t min_block,
		      cJSON **out, struct problem *p);
/* Arrays of this many numbers or more become blocks in request bodies. */
#define JSON_BLOCK_MIN 64

/* Correctly rounded value of the RFC 8259 number at s[0..n) (the whole
 * range must be one number); bit-identical to strtod. Returns 0, or -1 when
 * s is no JSON number. */
int json_read_number(const char *s, size_t n, double *out);

/* Length of the one valid UTF-8 sequence with a non-ASCII lead byte at s
 * (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or 0 and
 * *why says what is wrong. Shared by the parser and the string writer. */
size_t json_utf8_seq(const unsigned char *s, size_t n, const char **why);

/* ---- blocks: big numeric arrays as dense doubles ----------------------
 * A block node is a cJSON array (type cJSON_Array | JSON_BLOCK) without
 * children whose numbers are one dense row-major block of doubles; JSON
 * bodies (json_parse_blocks) and .npy / .npz bodies (npy.h) make them, and
 * the array getters below read them exactly as the equivalent cJSON array
 * (same values, limits, problems and pointers). A NaN cell is a JSON null
 * (a missing value). Ownership: the struct json_block hangs off the node's
 * valuestring, allocated with cJSON_malloc, so cJSON_Delete frees it with
 * the node. Never cJSON_Duplicate or cJSON_Print a tree holding blocks.
 * JSON_QUERY_TEXT marks a string node holding the raw text of a query
 * string parameter (request.h): the scalar getters read it as the type
 * they expect ("true", "1e-3", ...), as if the JSON had held that value. */
#define JSON_BLOCK      (1 << 12)
#define JSON_QUERY_TEXT (1 << 13)

struct json_block {
	size_t rows, cols;  /* ndim 1: rows values, cols = 1 */
	unsigned ndim;      /* 1: a flat array; 2: an array of rows */
	bool binary;        /* from a binary body: NaN is named NaN, not null */
	double v[];         /* rows * cols values, row-major */
};

/* A new block node of rows x cols uninitialized values, or NULL (out of
 * memory or a size that overflows). */
cJSON *json_block_new(size_t rows, size_t cols, unsigned ndim, bool binary);
/* The block of node, or NULL when node is no block node. */
const struct json_block *json_block_of(const cJSON *node);
/* Number of elements of an array node (a block's rows), 0 otherwise. */
size_t json_array_len(const cJSON *node);
/* True when node is a non-empty array whose first element is not an array
 * (a flat [a, b, c] rather than an array of rows). */
bool json_array_is_flat(const cJSON *node);

/* ---- pointers --------------------------------------------------------- */

/* "<base>/<key>" with RFC 6901 escaping of key ('~' -> "~0", '/' -> "~1"). */
void json_pointer(char *out, size_t n, const char *base, const char *key);
/* "<base>/<i>". */
void json_pointer_index(char *out, size_t n, const char *base, size_t i);

/* ---- reading ---------------------------------------------------------- */

/* flags for the getters */
#define JSON_REQUIRED   1u  /* absent -> PROB_MISSING_FIELD */
#define JSON_ALLOW_NULL 2u  /* matrices: null cells read as NAN */
#define JSON_FLAT_COLUMN 4u /* matrices: a flat [a,b,c] reads as a 3x1 column */

/* Getters return 1 when the field is present and valid (stored in *out),
 * 0 when it is absent and not required (*out = default), -1 when invalid
 * (p filled with the pointer "<base>/<key>" and why). A JSON null counts
 * as absent for scalars. `obj` must be an object (or NULL: all absent). */

/* Checks that obj is a JSON object whose keys are all in `allowed`
 * (NULL-terminated) and none repeats. Adds one PROB_UNKNOWN_FIELD error per
 * offender (a "did you mean" hint when one is close) and returns -1, else 0.
 * A non-object adds PROB_WRONG_TYPE at base. */
int json_check_object(const cJSON *obj, const char *base,
		      const char *const allowed[], struct problem *p);

int json_get_bool(const cJSON *obj, const char *base, const char *key,
		  unsigned flags, bool dflt, bool *out, struct problem *p);
/* A finite number in [lo, hi]. */
int json_get_double(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, double dflt, double lo, double hi,
		    double *out, struct problem *p);
/* An integral number in [lo, hi] (1.0 is accepted, 1.5 and 1e300 are not). */
int json_get_int(const cJSON *obj, const char *base, const char *key,
		 unsigned flags, int64_t dflt, int64_t lo, int64_t hi,
		 int64_t *out, struct problem *p);
/* A string that is one of names[] (NULL-terminated); *out = its index.
 * The error lists the allowed values. */
int json_get_enum(const cJSON *obj, const char *base, const char *key,
		  unsigned flags, const char *const names[], int dflt,
		  int *out, struct problem *p);
/* A string of at most max_len bytes; *out is borrowed from the tree. */
int json_get_string(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, size_t max_len, const char **out,
		    struct problem *p);
/* A member of the given cJSON type (cJSON_Object, cJSON_Array); borrowed. */
int json_get_node(const cJSON *obj, const char *base, const char *key,
		  unsigned flags, int type, const cJSON **out,
		  struct problem *p);

/* The value itself (for array elements and nested values); ptr names it. */
int json_as_double(const cJSON *node, const char *ptr, double *out,
		   struct problem *p);
int json_as_int(const cJSON *node, const char *ptr, int64_t lo, int64_t hi,
		int64_t *out, struct problem *p);

/* A non-empty array of finite numbers, at most max_len long (longer:
 * PROB_TOO_LARGE before allocating). *out is malloc'd. */
int json_get_vector(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, size_t max_len, double **out, size_t *n,
		    struct problem *p);
int json_as_vector(const cJSON *node, const char *ptr, size_t max_len,
		   double **out, size_t *n, struct problem *p);
/* A non-empty array of integers in [lo, hi], at most max_len long. */
int json_get_int_vector(const cJSON *obj, const char *base, const char *key,
			unsigned flags, size_t max_len, int64_t lo, int64_t hi,
			int64_t **out, size_t *n, struct problem *p);

/* A dense matrix, row-major, owned by the caller (gg_free(m->v)). */
struct json_matrix {
	double *v;
	size_t rows, cols;
};

/* An array of equally long, non-empty arrays of finite numbers. Ragged rows
 * are PROB_SHAPE_MISMATCH at the row's pointer; rows*cols beyond
 * max_elements is PROB_TOO_LARGE, found before anything is allocated.
 * JSON_ALLOW_NULL reads null cells as NAN; JSON_FLAT_COLUMN reads a flat
 * numeric array of n as n x 1. */
int json_get_matrix(const cJSON *obj, const char *base, const char *key,
		    unsigned flags, size_t max_elements, struct json_matrix *m,
		    struct problem *p);
int json_as_matrix(const cJSON *node, const char *ptr, unsigned flags,
		   size_t max_elements, struct json_matrix *m,
		   struct problem *p);

/* ---- writing ---------------------------------------------------------- */

/* Longest text json_format_double writes. */
#define JSON_DOUBLE_MAX 32

/* Shortest decimal form of v that strtod reads back as exactly v (at most
 * 17 significant digits), JSON syntax ("1e+300" style exponents allowed,
 * no "inf"/"nan": non-finite values print as null). out needs 32 bytes.
 * Returns the length written. */
size_t json_format_double(char *out, double v);

#define JW_MAX_DEPTH 64
/* Longest object key an npz member can be named after. */
#define JW_KEY_MAX 64

/* What a writer produces. JW_JSON: JSON text. JW_NPZ: a stored zip (what
 * np.savez writes) in which every array written with jw_matrix or
 * jw_double_array as the value of an object member is a member named
 * after its key ("W1.npy": .npy v1.0, '<f8', C order, 2-D for a matrix,
 * 1-D for a flat array), and "response.json" holds the rest of the JSON.
 * JW_NPY: only the array at key "data", as one .npy file. */
enum jw_format { JW_JSON, JW_NPZ, JW_NPY };

/* One finished npz member, for the central directory. */
struct jw_member {
	char name[JW_KEY_MAX + 8];
	uint32_t crc;
	uint32_t size;
	uint32_t offset;
};

/* A streaming writer into a struct buf; commas are its business. Errors
 * (cap reached, out of memory) are sticky in the buf: check buf.failed once
 * at the end. The output may be drained between calls (b->len reset): the
 * writer keeps its own byte count. */
struct jw {
	struct buf *b;            /* the output */
	struct buf *j;            /* JSON text: b, or side (JW_NPZ, JW_NPY) */
	struct buf side;
	enum jw_format fmt;
	unsigned depth;
	bool need_comma[JW_MAX_DEPTH];
	bool after_key;
	bool key_pending;         /* binary formats: key held until its value */
	char key[JW_KEY_MAX + 1];
	/* binary formats */
	uint64_t off;             /* bytes written to b so far */
	uint32_t crc;             /* of the member being written */
	uint64_t msize;
	uint64_t moff;            /* offset of its local header */
	bool in_member;           /* the array being written is a member */
	bool wrote_data;          /* JW_NPY: "data" was written */
	size_t mcols, mrow;       /* jw_matrix_begin .. _end */
	struct jw_member *members;
	size_t n_members, cap_members;
};

/* A JSON writer into b. */
void jw_init(struct jw *w, struct buf *b);
/* A writer of format f into b. Call jw_finish (or jw_free on a path that
 * gives up) afterwards. */
void jw_init_format(struct jw *w, struct buf *b, enum jw_format f);
/* Completes the output (npz: response.json, central directory) and frees
 * the writer's own storage. Returns 0, or -1 when the buf failed or a
 * JW_NPY writer got no "data" array. */
int jw_finish(struct jw *w);
/* Points the writer at another output buf (a streamed response writes
 * each piece into whatever buffer the reader supplies). */
void jw_set_output(struct jw *w, struct buf *b);
/* Frees the writer's own storage (idempotent; jw_finish calls it). */
void jw_free(struct jw *w);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_string(struct jw *w, const char *s);
void jw_double(struct jw *w, double v);     /* non-finite -> null */
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* [v0, v1, ...] */
void jw_double_array(struct jw *w, const double *v, size_t n);
/* A row-major rows x cols matrix as an array of rows; with transpose the
 * array has cols rows of rows values (for samples_in_columns output). NAN
 * prints as null. */
void jw_matrix(struct jw *w, const double *v, size_t rows, size_t cols,
	       bool transpose);
/* The same matrix written a few rows at a time (streamed responses):
 * begin, rows (n rows of cols values each) until all rows are out, end. */
void jw_matrix_begin(struct jw *w, size_t rows, size_t cols);
void jw_matrix_rows(struct jw *w, const double *v, size_t n);
void jw_matrix_end(struct jw *w);

#endif
