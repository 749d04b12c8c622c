/* Test support: reading the recorded reference data; see fixture.h. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "suite_run.h"

void fixture_path(char *out, size_t n, const char *name)
{
	const char *dir = getenv("GG_FIXTURES");

	snprintf(out, n, "%s/%s", dir && *dir ? dir : "tests/fixtures", name);
}

char *fixture_read(const char *name, size_t *len)
{
	char path[512];
	FILE *f = NULL;
	char *data = NULL;
	long n = -1;

	fixture_path(path, sizeof(path), name);
	f = fopen(path, "rb");
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) &&
	    fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	if (f)
		fclose(f);
	if (!data) {
		fprintf(stderr, "cannot read fixture %s (GG_FIXTURES)\n", path);
		return NULL;
	}
	data[n] = '\0';
	*len = (size_t)n;
	return data;
}

cJSON *fixture_load(const char *name)
{
	size_t n = 0;
	char *text = fixture_read(name, &n);
	cJSON *root = text ? cJSON_ParseWithLength(text, n) : NULL;

	if (text && !root)
		fprintf(stderr, "fixture %s is not JSON\n", name);
	free(text);
	return root;
}

int fixture_main(const char *name, cJSON **root, Suite *(*make_suite)(void))
{
	int rc;

	*root = fixture_load(name);
	if (!*root)
		return EXIT_FAILURE;
	rc = suite_run(make_suite());
	cJSON_Delete(*root);
	*root = NULL;
	return rc;
}

int fixture_count(const cJSON *root, const char *section)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, section));
}

const cJSON *fixture_case(const cJSON *root, const char *section, int i)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, section);
	const cJSON *it = cJSON_GetArrayItem(arr, i);

	ck_assert_msg(it != NULL, "fixture %s[%d] missing", section, i);
	return it;
}

int fixture_name_index(const char *const names[], const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	ck_abort_msg("unknown name %s", s);
	return -1;
}

double *fixture_matrix(const cJSON *arr, size_t *n)
{
	size_t cnt = 0, k = 0;
	const cJSON *e, *f;
	double *v;

	cJSON_ArrayForEach(e, arr) {
		if (cJSON_IsArray(e))
			cnt += (size_t)cJSON_GetArraySize(e);
		else
			cnt++;
	}
	v = malloc((cnt ? cnt : 1) * sizeof(double));
	ck_assert_ptr_nonnull(v);
	cJSON_ArrayForEach(e, arr) {
		if (cJSON_IsArray(e)) {
			cJSON_ArrayForEach(f, e) v[k++] = f->valuedouble;
		} else {
			v[k++] = e->valuedouble;
		}
	}
	if (n)
		*n = cnt;
	return v;
}
