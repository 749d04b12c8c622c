/* Test support: every Check test program's main in one call. */
#ifndef GRADGUARD_TEST_SUITE_RUN_H
#define GRADGUARD_TEST_SUITE_RUN_H

#include <check.h>

/* Runs s (CK_NORMAL output), frees it; EXIT_SUCCESS when nothing failed. */
int suite_run(Suite *s);

#endif
