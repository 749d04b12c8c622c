/* A fully connected network: forward pass, cost, back-propagation, and cheap
 * re-evaluation of the cost under single-coordinate perturbations (the
 * gradient check's inner loop). Samples are columns: X is n_0 x m. */
#ifndef GRADGUARD_MLP_H
#define GRADGUARD_MLP_H

#include <stdbool.h>
#include <stddef.h>

enum mlp_act {
	MLP_RELU,
	MLP_LEAKY_RELU, /* slope 0.01 below 0 */
	MLP_TANH,
	MLP_SIGMOID,
	MLP_LINEAR,
	MLP_SOFTMAX     /* last layer only, with MLP_CCE */
};

enum mlp_loss {
	MLP_BCE,        /* -(1/m) sum [y log a + (1-y) log(1-a)], sigmoid output */
	MLP_CCE,        /* -(1/m) sum y log a, softmax output */
	MLP_MSE         /* (1/2m) sum (a-y)^2, any non-softmax output */
};

enum mlp_status {
	MLP_OK = 0,
	MLP_EINVAL,       /* no layers or a zero width */
	MLP_ESOFTMAX,     /* softmax not on the last layer, or not with CCE */
	MLP_ELOSS,        /* CCE without softmax, BCE without sigmoid */
	MLP_ENOMEM
};

#define MLP_LEAKY_SLOPE 0.01

/* A network description; everything is borrowed. theta holds W1, b1, W2,
 * b2, ... each row-major (W<l> is dims[l] x dims[l-1], b<l> dims[l] x 1). */
struct mlp {
	size_t n_layers;          /* L >= 1 */
	const size_t *dims;       /* L + 1 widths n_0 ... n_L */
	const enum mlp_act *act;  /* L activations */
	enum mlp_loss loss;
	double l2;                /* cost adds l2/(2m) sum ||W||^2 */
	const double *theta;
};

/* Checks the combination rules; *layer (may be NULL) gets the 1-based layer
 * at fault (0: the loss). */
enum mlp_status mlp_check(const struct mlp *net, size_t *layer);
/* Parameter count, or 0 when it overflows size_t. */
size_t mlp_n_params(const size_t *dims, size_t n_layers);
/* Offset of W<l> (1-based l) in theta; b<l> follows at + dims[l]*dims[l-1]. */
size_t mlp_w_offset(const size_t *dims, size_t l);

/* Forward state of one evaluation at theta: Z<l>, A<l> per layer, the cost
 * and its parts. Owns one allocation; X and Y are borrowed (n_0 x m and
 * n_L x m, samples in columns) and must outlive it. */
struct mlp_cache {
	size_t m;
	const double *X, *Y;
	double **Z, **A;      /* [1..L] (index 0 unused: A<0> is X) */
	size_t *off;          /* [1..L] offsets of W<l>; off[L+1] = n_params */
	double *dz, *da;      /* back-propagation scratch */
	double data_cost;     /* the loss term */
	double wsumsq;        /* sum ||W||^2 over all layers */
	double reg_cost;      /* l2/(2m) wsumsq */
	double cost;          /* data_cost + reg_cost */
	void *block;
};

/* NULL on allocation failure. */
struct mlp_cache *mlp_cache_new(const struct mlp *net, size_t m);
void mlp_cache_free(struct mlp_cache *c);

/* Full forward pass at net->theta; fills c (cost, Z, A). Y must fit the
 * loss (the handler validates). */
void mlp_forward(const struct mlp *net, const double *X, const double *Y,
		 struct mlp_cache *c);
/* Back-propagation after mlp_forward: grad (n_params, theta's order) gets
 * dJ/dtheta including the L2 term. */
void mlp_backward(const struct mlp *net, struct mlp_cache *c, double *grad);
/* Gradient of the data term only (grad) and of the L2 term (reg), for
 * diagnostics; both n_params long. */
void mlp_backward_parts(const struct mlp *net, struct mlp_cache *c,
			double *grad, double *reg);

/* Cost at another theta (same shapes) by a forward pass that starts at
 * layer `from` (1-based), reusing base's A<from-1>: layers below `from` must
 * have equal parameters in theta and net->theta. work: mlp_eval_work
 * doubles. When kink is not NULL it is set to whether any ReLU/leaky-ReLU
 * pre-activation changed side of 0 relative to base. */
size_t mlp_eval_work(const struct mlp *net, size_t m);
double mlp_eval(const struct mlp *net, const double *theta,
		const struct mlp_cache *base, size_t from, double *work,
		bool *kink);

/* Costs of n single-coordinate perturbations theta[idx[t]] += delta[t] of
 * base's theta, without re-running unaffected work: layers below the
 * parameter's are reused, the parameter's own layer gets a rank-one row
 * update, the next layer a rank-one update, and later layers run as one
 * matrix product over all perturbations of a layer (batch x m columns).
 * n <= batch. kink[t] as in mlp_eval. Each cost is computed by the same
 * arithmetic whatever the other members of the batch. */
size_t mlp_perturb_work(const struct mlp *net, size_t m, size_t batch);
void mlp_perturb_costs(const struct mlp *net, const struct mlp_cache *base,
		       const size_t *idx, const double *delta, size_t n,
		       double *work, double *cost, bool *kink);

/* Activation names as in the API ("relu", …); NULL when out of range. */
const char *mlp_act_name(enum mlp_act a);

#endif
