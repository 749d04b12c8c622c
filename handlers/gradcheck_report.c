/* POST /gradcheck, response side: the JSON report, warnings, and the
 * problems a run can end in. */
#include "gradcheck_internal.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

void gch_warn(struct warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w->n >= GC_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(w->text[w->n++], GC_WARNING_LEN, fmt, ap);
	va_end(ap);
}

/* A number, or null where it is unknown (NAN). */
static void write_number(struct jw *w, double v)
{
	if (isfinite(v))
		jw_double(w, v);
	else
		jw_null(w);
}

static void write_index(struct jw *w, const struct outcome *oc, size_t b,
			size_t pos)
{
	jw_arr_begin(w);
	if (oc->flat) {
		jw_uint(w, pos);
	} else {
		jw_uint(w, pos / oc->blocks[b].cols);
		jw_uint(w, pos % oc->blocks[b].cols);
	}
	jw_arr_end(w);
}

static void write_response(struct jw *w, const struct opts *o,
			   const struct outcome *oc,
			   const struct warnings *wn, uint64_t t0)
{
	const struct gc_report *r = &oc->rep;

	jw_obj_begin(w);
	jw_key(w, "relative_error");
	jw_double(w, r->relative_error);
	jw_key(w, "verdict");
	jw_string(w, gc_verdict_name(r->verdict));
	jw_key(w, "epsilon");
	if (o->eps_auto) {
		jw_string(w, "auto");
		jw_key(w, "epsilon_range");
		if (oc->evaluations) {
			jw_arr_begin(w);
			jw_double(w, oc->eps_lo);
			jw_double(w, oc->eps_hi);
			jw_arr_end(w);
		} else {
			jw_null(w);   /* the vector source: no step was taken here */
		}
	} else {
		jw_double(w, o->epsilon);
	}
	jw_key(w, "noise_floor");
	write_number(w, r->noise_floor);
	jw_key(w, "thresholds");
	jw_obj_begin(w);
	jw_key(w, "pass");
	jw_double(w, o->th.pass);
	jw_key(w, "warn");
	jw_double(w, o->th.warn);
	jw_key(w, "fail");
	jw_double(w, o->th.fail);
	jw_obj_end(w);
	jw_key(w, "cost");
	if (oc->has_cost)
		jw_double(w, oc->cost);
	else
		jw_null(w);
	jw_key(w, "n_parameters");
	jw_uint(w, oc->n_params);
	jw_key(w, "n_checked");
	jw_uint(w, r->n_checked);
	jw_key(w, "evaluations");
	jw_uint(w, oc->evaluations);
	jw_key(w, "blocks");
	jw_arr_begin(w);
	for (size_t b = 0; b < oc->nb; b++) {
		const struct gc_block_report *br = &r->blocks[b];

		jw_obj_begin(w);
		jw_key(w, "name");
		jw_string(w, oc->blocks[b].name);
		jw_key(w, "shape");
		jw_arr_begin(w);
		jw_uint(w, oc->blocks[b].rows);
		if (!oc->flat)
			jw_uint(w, oc->blocks[b].cols);
		jw_arr_end(w);
		jw_key(w, "n_checked");
		jw_uint(w, br->n_checked);
		jw_key(w, "relative_error");
		jw_double(w, br->relative_error);
		jw_key(w, "verdict");
		if (br->n_checked)
			jw_string(w, gc_verdict_name(br->verdict));
		else
			jw_null(w);
		jw_key(w, "noise_floor");
		write_number(w, br->noise_floor);
		jw_key(w, "max_abs_error");
		jw_double(w, br->max_abs_error);
		jw_key(w, "worst_index");
		if (br->n_checked && !oc->directions)
			write_index(w, oc, b, br->worst_pos);
		else
			jw_null(w);
		if (oc->directions) {   /* a direction number, not a position */
			jw_key(w, "worst_direction");
			if (br->n_checked)
				jw_uint(w, br->worst_pos);
			else
				jw_null(w);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "worst");
	jw_arr_begin(w);
	for (size_t i = 0; i < r->n_worst; i++) {
		size_t t = r->worst[i], b = oc->blk[t];

		jw_obj_begin(w);
		if (oc->directions) {   /* a direction number, not a coordinate */
			jw_key(w, "direction");
			jw_uint(w, oc->pos[t]);
		} else {
			jw_key(w, "name");
			jw_string(w, oc->blocks[b].name);
			jw_key(w, "index");
			write_index(w, oc, b, oc->pos[t]);
		}
		jw_key(w, "analytic");
		jw_double(w, oc->analytic[t]);
		jw_key(w, "numeric");
		jw_double(w, oc->numeric[t]);
		jw_key(w, "abs_error");
		jw_double(w, fabs(oc->analytic[t] - oc->numeric[t]));
		jw_key(w, "kink");
		jw_bool(w, oc->kink && oc->kink[t]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "kinks");
	jw_uint(w, r->kinks);
	jw_key(w, "warnings");
	jw_arr_begin(w);
	for (size_t i = 0; i < wn->n; i++)
		jw_string(w, wn->text[i]);
	jw_arr_end(w);
	if (o->return_gradients && oc->own_grad) {
		char name[24];

		jw_key(w, "gradients");
		jw_obj_begin(w);
		for (size_t b = 0; b < oc->nb; b++) {
			snprintf(name, sizeof(name), "d%s", oc->blocks[b].name);
			jw_key(w, name);
			jw_matrix(w, oc->own_grad + oc->blocks[b].offset,
				  oc->blocks[b].rows, oc->blocks[b].cols, false);
		}
		jw_obj_end(w);
	}
	jw_key(w, "elapsed_ms");
	jw_double(w, round((double)(clock_now_ns() - t0) / 1e3) / 1e3);
	jw_obj_end(w);
}

void gch_finish(struct hres *res, const struct opts *o,
		   const struct outcome *oc, const struct warnings *wn,
		   uint64_t t0)
{
	struct jw w;

	jw_init_format(&w, &res->body, res->format);
	write_response(&w, o, oc, wn, t0);
	if (jw_finish(&w))
		hres_body_failed(res);
	else
		res->status = 200;
}

/* Noise floors (gradcheck_noise_floor; J NAN: unknown), the step range,
 * and the rounding-noise warning: a block whose error is above pass but
 * within GC_NOISE_MARGIN times its floor is blamed on rounding, not on
 * the gradient. */
void gch_noise(struct warnings *wn, const struct opts *o, struct outcome *oc,
	       double J, const double *eps, size_t n)
{
	struct gc_report *r = &oc->rep;

	oc->eps_lo = n ? eps[0] : o->epsilon;
	oc->eps_hi = oc->eps_lo;
	for (size_t t = 1; t < n; t++) {
		oc->eps_lo = fmin(oc->eps_lo, eps[t]);
		oc->eps_hi = fmax(oc->eps_hi, eps[t]);
	}
	if (isnan(J))
		return;
	gradcheck_noise_floor(J, eps, oc->analytic, oc->numeric, oc->blk, n,
			      oc->nb, r);
	for (size_t b = 0; b < oc->nb; b++) {
		const struct gc_block_report *br = &r->blocks[b];

		if (br->n_checked && br->relative_error > o->th.pass &&
		    br->relative_error <= GC_NOISE_MARGIN * br->noise_floor)
			gch_warn(wn, "%s: relative error %.3g is within %gx of its rounding-noise "
				 "floor %.3g (u|J|/epsilon per item, u = 2^-53): this is rounding "
				 "noise, not a bug; try a larger epsilon (e.g. %g) or \"auto\"",
				 oc->blocks[b].name, br->relative_error, (double)GC_NOISE_MARGIN,
				 br->noise_floor, o->eps_auto ? oc->eps_hi * 10 : o->epsilon * 10);
	}
}

void gch_warn_epsilon(struct warnings *wn, const struct opts *o)
{
	if (!o->eps_auto && (o->epsilon < GC_EPS_LOW || o->epsilon > GC_EPS_HIGH))
		gch_warn(wn, "epsilon %g is outside the usual range %g to %g: below it "
		     "rounding noise dominates, above it the O(epsilon^2) truncation error",
		     o->epsilon, GC_EPS_LOW, GC_EPS_HIGH);
}

void gch_map_status(enum gc_status st, const struct opts *o,
		       struct problem *p)
{
	switch (st) {
	case GC_OK:
		break;
	case GC_EDEADLINE:
		problem_set(p, PROB_DEADLINE,
			    "the gradient check did not finish within %u ms",
			    (unsigned)o->deadline_ms);
		break;
	case GC_ENOMEM:
		problem_set(p, PROB_OUT_OF_MEMORY, "out of memory during the check");
		break;
	case GC_EINVAL:
	case GC_ESOURCE:
		problem_set(p, PROB_INTERNAL, "gradient check failed (status %d)", (int)st);
		break;
	}
}

/* Where |analytic - numeric| overflows the double range (both finite, near
 * DBL_MAX with opposite signs) there is no number to print as abs_error or
 * max_abs_error: the JSON would say null. Clamping to DBL_MAX would print
 * a wrong value and skipping the item would hide the worst one, so the
 * request is refused: 422 non-finite-number at pointer, naming the first
 * such item (flat: [i] indices, as in the response). The relative error
 * alone would be finite (gradcheck_compare scales), but a response without
 * the errors it explains is worse than a clear refusal. Returns -1 then. */
int gch_refuse_overflow(const struct gc_block *blocks, const size_t *bidx,
			   const size_t *pos, bool flat, const double *ana,
			   const double *num, size_t n, const char *pointer,
			   struct problem *p)
{
	size_t t = gradcheck_first_overflow(ana, num, n);
	const struct gc_block *b;
	char at[96];

	if (t == n)
		return 0;
	b = &blocks[bidx[t]];
	if (flat)
		snprintf(at, sizeof(at), "%.64s[%zu]", b->name, pos[t]);
	else
		snprintf(at, sizeof(at), "%.64s[%zu][%zu]", b->name,
			 pos[t] / b->cols, pos[t] % b->cols);
	problem_add(p, PROB_NON_FINITE, pointer,
		    "values too large to compare: at %s the analytic %.17g and "
		    "numeric %.17g differ by more than the double range", at,
		    ana[t], num[t]);
	return -1;
}

void gch_oracle_problem(enum oracle_status st, const char *detail,
			   struct problem *p)
{
	switch (st) {
	case ORACLE_OK:
		break;
	case ORACLE_EURL:
	case ORACLE_EREFUSED:
		problem_add(p, PROB_INVALID, "/oracle/url", "%s", detail);
		break;
	case ORACLE_EUPSTREAM:
		problem_set(p, PROB_UPSTREAM, "%s", detail);
		break;
	case ORACLE_ETIMEOUT:
	case ORACLE_EDEADLINE:
		problem_set(p, PROB_DEADLINE, "%s", detail);
		break;
	case ORACLE_ENOMEM:
		problem_set(p, PROB_OUT_OF_MEMORY, "%s", detail);
		break;
	case ORACLE_ECONFIG:
		problem_set(p, PROB_INTERNAL, "the server's oracle settings are invalid: %s", detail);
		break;
	}
}
