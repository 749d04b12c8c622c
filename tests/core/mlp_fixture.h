/* Test-only loader for tests/fixtures/mlp_torch.json (recorded from PyTorch
 * autograd by tests/fixtures/make_torch_fixtures.py). Header-only: static
 * functions shared by the core tests of mlp and gradcheck. */
#ifndef GRADGUARD_TEST_MLP_FIXTURE_H
#define GRADGUARD_TEST_MLP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "core/mlp.h"

struct fx_case {
	size_t L, m, n_params;
	size_t dims[8];
	enum mlp_act act[8];
	enum mlp_loss loss;
	double l2, cost;
	double *X, *Y, *theta, *grad;   /* X n0 x m, Y nL x m, samples in columns */
	struct mlp net;
};

static cJSON *fx_load(void)
{
	const char *dir = getenv("GG_FIXTURES");
	char path[512];
	FILE *f;
	char *txt = NULL;
	long n;
	cJSON *root = NULL;

	snprintf(path, sizeof(path), "%s/mlp_torch.json", dir ? dir : "tests/fixtures");
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (txt = malloc((size_t)n)) &&
	    fread(txt, 1, (size_t)n, f) == (size_t)n)
		root = cJSON_ParseWithLength(txt, (size_t)n);
	free(txt);
	fclose(f);
	return root;
}

static size_t fx_count(const cJSON *root)
{
	return (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(root, "cases"));
}

static double *fx_flat(const cJSON *arr, size_t *n)
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

static int fx_act(const char *s, enum mlp_act *a)
{
	for (int k = 0; k <= MLP_SOFTMAX; k++)
		if (strcmp(mlp_act_name((enum mlp_act)k), s) == 0) {
			*a = (enum mlp_act)k;
			return 0;
		}
	return -1;
}

/* Reads case i into c (free with fx_free); returns 0 or -1. */
static int fx_get(const cJSON *root, size_t i, struct fx_case *c)
{
	const cJSON *cs = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cases"), (int)i);
	const cJSON *e;
	const char *loss;
	size_t k = 0;

	memset(c, 0, sizeof(*c));
	if (!cs)
		return -1;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(cs, "dims")) c->dims[k++] = (size_t)e->valueint;
	c->L = k - 1;
	k = 0;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(cs, "activations"))
		if (fx_act(e->valuestring, &c->act[k++]))
			return -1;
	loss = cJSON_GetObjectItem(cs, "loss")->valuestring;
	c->loss = strcmp(loss, "mse") == 0 ? MLP_MSE :
		  strcmp(loss, "binary_cross_entropy") == 0 ? MLP_BCE : MLP_CCE;
	c->l2 = cJSON_GetObjectItem(cs, "l2")->valuedouble;
	c->cost = cJSON_GetObjectItem(cs, "cost")->valuedouble;
	c->m = (size_t)cJSON_GetObjectItem(cs, "m")->valueint;
	c->X = fx_flat(cJSON_GetObjectItem(cs, "X"), NULL);
	c->Y = fx_flat(cJSON_GetObjectItem(cs, "Y"), NULL);
	c->theta = fx_flat(cJSON_GetObjectItem(cs, "theta"), &c->n_params);
	c->grad = fx_flat(cJSON_GetObjectItem(cs, "grad"), NULL);
	c->net.n_layers = c->L;
	c->net.dims = c->dims;
	c->net.act = c->act;
	c->net.loss = c->loss;
	c->net.l2 = c->l2;
	c->net.theta = c->theta;
	return 0;
}

static void fx_free(struct fx_case *c)
{
	free(c->X);
	free(c->Y);
	free(c->theta);
	free(c->grad);
}

#endif
