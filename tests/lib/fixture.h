/* Test support: the reference data recorded by tests/fixtures/make_*.py,
 * read from $GG_FIXTURES (default tests/fixtures) as cJSON trees, and the
 * few walks over them that several suites share. */
#ifndef GRADGUARD_TEST_FIXTURE_H
#define GRADGUARD_TEST_FIXTURE_H

#include <stddef.h>

#include <check.h>
#include <cJSON.h>

/* The path of fixture file name: $GG_FIXTURES/name, or tests/fixtures/name
 * when GG_FIXTURES is unset or empty (the suites run from the repo root). */
void fixture_path(char *out, size_t n, const char *name);

/* The bytes of $GG_FIXTURES/name (NUL-terminated, malloc'd; *len their
 * count), or NULL with the path on stderr when it is missing or empty. */
char *fixture_read(const char *name, size_t *len);

/* Reads and parses $GG_FIXTURES/name. Returns the tree (the caller
 * cJSON_Deletes it), or NULL with the path on stderr when the file is
 * missing, empty or not JSON. */
cJSON *fixture_load(const char *name);

/* A test program's whole main: loads fixture name into *root, then builds
 * the suite with make_suite (which may count the cases in *root), runs it
 * with CK_NORMAL and deletes *root. Returns the exit status: 0 when every
 * test passed, 1 when one failed or the fixture could not be loaded. */
int fixture_main(const char *name, cJSON **root, Suite *(*make_suite)(void));

/* The number of items of root[section] (0 when absent), for
 * tcase_add_loop_test. */
int fixture_count(const cJSON *root, const char *section);

/* root[section][i]; fails the running test when there is no such item. */
const cJSON *fixture_case(const cJSON *root, const char *section, int i);

/* The index of s in names (NULL-terminated), e.g. init_method_names for a
 * recorded request's "method"; fails the running test when s is not there. */
int fixture_name_index(const char *const names[], const char *s);

/* The numbers of a JSON vector or matrix (array of rows), row after row,
 * in a malloc'd array (the caller frees it); *n gets their count when n is
 * not NULL. Fails the running test when out of memory. */
double *fixture_matrix(const cJSON *arr, size_t *n);

#endif
