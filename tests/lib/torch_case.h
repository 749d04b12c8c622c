/* Test support: the cases of tests/fixtures/mlp_torch.json (networks, data,
 * cost and gradients recorded from PyTorch autograd by
 * tests/fixtures/make_torch_fixtures.py), read into core/mlp's types. */
#ifndef GRADGUARD_TEST_TORCH_CASE_H
#define GRADGUARD_TEST_TORCH_CASE_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "core/mlp.h"

struct torch_case {
	size_t L, m, n_params;
	size_t dims[8];
	enum mlp_act act[8];
	enum mlp_loss loss;
	double l2, cost;
	double *X, *Y, *theta, *grad;   /* X n0 x m, Y nL x m, samples in columns */
	struct mlp net;                 /* points into the above */
};

/* fixture_load("mlp_torch.json"): the tree or NULL (reported on stderr). */
cJSON *torch_case_load(void);
/* The number of cases in root. */
size_t torch_case_count(const cJSON *root);
/* Reads case i of root into c (free with torch_case_free); returns 0, or -1
 * when there is no case i or it names an unknown activation. */
int torch_case_get(const cJSON *root, size_t i, struct torch_case *c);
void torch_case_free(struct torch_case *c);
/* True when no hidden activation has a kink (ReLU, leaky ReLU), which would
 * blur a gradient check's verdict. */
bool torch_case_is_smooth(const struct torch_case *c);

#endif
