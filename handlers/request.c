/* Request bodies of every media type into one tree of fields; see
 * request.h. */
#include "request.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "npy.h"

int request_media_of(const char *ct)
{
	static const char *const types[] = {
		"application/json", "application/x-npy", "application/x-npz"
	};
	size_t k, len;

	if (!ct)
		return -1;
	ct += strspn(ct, " \t");
	for (k = 0; k < 3; k++) {
		len = strlen(types[k]);
		if (strncasecmp(ct, types[k], len) == 0) {
			const char *rest = ct + len + strspn(ct + len, " \t");

			if (*rest == '\0' || *rest == ';')
				return (int)k;
		}
	}
	return -1;
}

/* Adds node to obj as key; a key already there is 422 naming it (and node
 * is deleted). */
static int add_field(cJSON *obj, const char *base, const char *key,
		     cJSON *node, struct problem *p)
{
	char ptr[PROBLEM_POINTER_MAX];

	json_pointer(ptr, sizeof(ptr), base, key);
	if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
		problem_add(p, PROB_INVALID, ptr, "'%s' is given twice (as an "
			    ".npz member, in request.json or in the query string)",
			    key);
		cJSON_Delete(node);
		return -1;
	}
	if (!cJSON_AddItemToObject(obj, key, node)) {
		cJSON_Delete(node);
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading %s", ptr);
		return -1;
	}
	return 0;
}

/* The object obj[key], created when absent; NULL (and a problem) when it
 * is something else. */
static cJSON *object_at(cJSON *obj, const char *key, struct problem *p)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	char ptr[PROBLEM_POINTER_MAX];

	if (cJSON_IsObject(it))
		return it;
	json_pointer(ptr, sizeof(ptr), "", key);
	if (it) {
		problem_add(p, PROB_WRONG_TYPE, ptr, "expected an object, got "
			    "something else next to .npz members for it");
		return NULL;
	}
	it = cJSON_AddObjectToObject(obj, key);
	if (!it)
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading %s", ptr);
	return it;
}

/* W1, b1 -> "parameters"; dW1, db1 -> "gradients"; else NULL. */
static const char *model_home(const char *name)
{
	const char *s = name;
	bool grad = false;

	if (s[0] == 'd' && (s[1] == 'W' || s[1] == 'b')) {
		grad = true;
		s++;
	}
	if ((s[0] != 'W' && s[0] != 'b') || !s[1] ||
	    strspn(s + 1, "0123456789") != strlen(s + 1))
		return NULL;
	return grad ? "gradients" : "parameters";
}

struct members {
	cJSON *arrays;            /* field name -> array node, in zip order */
	cJSON *json;              /* request.json, parsed */
	const struct limits *lim;
};

static int on_member(void *arg, const char *zname, const void *data,
		     size_t len, struct problem *p)
{
	struct members *m = arg;
	char name[NPZ_NAME_MAX + 1], ptr[PROBLEM_POINTER_MAX];
	cJSON *node = NULL;

	if (!strcmp(zname, "request.json")) {
		if (m->json) {
			problem_add(p, PROB_INVALID, "", "request.json is given twice");
			return -1;
		}
		if (json_parse_blocks(data, len, JSON_BLOCK_MIN, &m->json, p))
			return -1;
		if (!cJSON_IsObject(m->json)) {
			problem_add(p, PROB_WRONG_TYPE, "", "request.json must "
				    "hold a JSON object (the request's fields)");
			return -1;
		}
		return 0;
	}
	npz_field_name(name, zname);
	json_pointer(ptr, sizeof(ptr), "", name);
	if (npy_read(data, len, ptr, npy_field_limit(name, m->lim), &node, p))
		return -1;
	return add_field(m->arrays, "", name, node, p);
}

/* One query parameter into root: JSON text for values that open an object
 * or array, else the raw text for the getters to read as their type. */
static int add_param(cJSON *root, const struct request_param *q,
		     struct problem *p)
{
	char ptr[PROBLEM_POINTER_MAX];
	const char *v = q->value ? q->value : "";
	struct problem sub;
	cJSON *node = NULL;

	json_pointer(ptr, sizeof(ptr), "", q->key);
	if (v[0] == '{' || v[0] == '[') {
		problem_init(&sub);
		if (json_parse_blocks(v, strlen(v), JSON_BLOCK_MIN, &node, &sub)) {
			if (sub.kind == PROB_MALFORMED_JSON)
				problem_add(p, PROB_MALFORMED_JSON, ptr,
					    "query parameter '%s': %s", q->key,
					    sub.detail);
			else
				problem_set(p, sub.kind, "%s", sub.detail);
			return -1;
		}
	} else {
		node = cJSON_CreateString(v);
		if (node)
			node->type |= JSON_QUERY_TEXT;
	}
	if (!node) {
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading %s", ptr);
		return -1;
	}
	return add_field(root, "", q->key, node, p);
}

/* Moves the arrays into root, at their field's place. */
static int place(cJSON *root, cJSON *arrays, unsigned flags,
		 struct problem *p)
{
	cJSON *it, *home;
	const char *where;
	bool vector = cJSON_GetObjectItemCaseSensitive(root, "vector") ||
		      cJSON_GetObjectItemCaseSensitive(arrays, "numeric_gradient");

	while ((it = arrays->child)) {
		cJSON_DetachItemViaPointer(arrays, it);
		where = NULL;
		if (flags & REQUEST_MODEL_FIELDS) {
			where = model_home(it->string);
			if (vector && (!strcmp(it->string, "gradient") ||
				       !strcmp(it->string, "numeric_gradient")))
				where = "vector";
		}
		home = where ? object_at(root, where, p) : root;
		if (!home) {
			cJSON_Delete(it);
			return -1;
		}
		if (add_field(home, where ? (strcmp(where, "vector") ?
					     (where[0] == 'p' ? "/parameters" :
					      "/gradients") : "/vector") : "",
			      it->string, it, p))
			return -1;
	}
	return 0;
}

int request_parse(enum request_media media, const char *body, size_t len,
		  const struct request_param *query, size_t n, unsigned flags,
		  const struct limits *lim, cJSON **out, struct problem *p)
{
	struct members m = { NULL, NULL, lim };
	cJSON *root = NULL;
	size_t k;
	int rc = -1;

	*out = NULL;
	if (media == REQUEST_JSON)
		return json_parse_blocks(body, len, JSON_BLOCK_MIN, out, p);
	if (len == 0 && media == REQUEST_NPY) {
		problem_set(p, PROB_MALFORMED_BODY, "empty body (no .npy file)");
		return -1;
	}
	m.arrays = cJSON_CreateObject();
	if (!m.arrays)
		goto oom;
	if (media == REQUEST_NPY) {
		cJSON *node = NULL;

		if (npy_read(body, len, "/data", lim->max_elements, &node, p) ||
		    add_field(m.arrays, "", "data", node, p))
			goto out;
	} else if (len && npz_walk(body, len, lim, on_member, &m, p)) {
		goto out;
	}
	root = m.json ? m.json : cJSON_CreateObject();
	m.json = NULL;
	if (!root)
		goto oom;
	for (k = 0; k < n; k++)
		if (add_param(root, &query[k], p))
			goto out;
	if (place(root, m.arrays, flags, p))
		goto out;
	*out = root;
	root = NULL;
	rc = 0;
	goto out;
oom:
	problem_set(p, PROB_OUT_OF_MEMORY, "out of memory reading the body");
out:
	cJSON_Delete(root);
	cJSON_Delete(m.arrays);
	cJSON_Delete(m.json);
	return rc;
}
