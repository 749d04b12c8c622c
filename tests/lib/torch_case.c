/* Test support: reading the PyTorch mlp fixture; see torch_case.h. */
#include "torch_case.h"

#include <stdlib.h>
#include <string.h>

#include "fixture.h"

cJSON *torch_case_load(void)
{
	return fixture_load("mlp_torch.json");
}

size_t torch_case_count(const cJSON *root)
{
	return (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(root, "cases"));
}

static int act_of(const char *s, enum mlp_act *a)
{
	for (int k = 0; k <= MLP_SOFTMAX; k++)
		if (strcmp(mlp_act_name((enum mlp_act)k), s) == 0) {
			*a = (enum mlp_act)k;
			return 0;
		}
	return -1;
}

int torch_case_get(const cJSON *root, size_t i, struct torch_case *c)
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
		if (act_of(e->valuestring, &c->act[k++]))
			return -1;
	loss = cJSON_GetObjectItem(cs, "loss")->valuestring;
	c->loss = strcmp(loss, "mse") == 0 ? MLP_MSE :
		  strcmp(loss, "binary_cross_entropy") == 0 ? MLP_BCE : MLP_CCE;
	c->l2 = cJSON_GetObjectItem(cs, "l2")->valuedouble;
	c->cost = cJSON_GetObjectItem(cs, "cost")->valuedouble;
	c->m = (size_t)cJSON_GetObjectItem(cs, "m")->valueint;
	c->X = fixture_matrix(cJSON_GetObjectItem(cs, "X"), NULL);
	c->Y = fixture_matrix(cJSON_GetObjectItem(cs, "Y"), NULL);
	c->theta = fixture_matrix(cJSON_GetObjectItem(cs, "theta"), &c->n_params);
	c->grad = fixture_matrix(cJSON_GetObjectItem(cs, "grad"), NULL);
	c->net.n_layers = c->L;
	c->net.dims = c->dims;
	c->net.act = c->act;
	c->net.loss = c->loss;
	c->net.l2 = c->l2;
	c->net.theta = c->theta;
	return 0;
}

void torch_case_free(struct torch_case *c)
{
	free(c->X);
	free(c->Y);
	free(c->theta);
	free(c->grad);
}

bool torch_case_is_smooth(const struct torch_case *c)
{
	for (size_t l = 0; l < c->L; l++)
		if (c->act[l] == MLP_RELU || c->act[l] == MLP_LEAKY_RELU)
			return false;
	return true;
}
