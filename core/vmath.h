/* Elementwise exp, tanh and log over contiguous arrays, written so that
 * the compiler vectorizes them (AVX-512 or AVX2 loops chosen at run time
 * on x86-64, the baseline elsewhere). Only IEEE basic operations, no fused
 * multiply-add: every clone and every vector width gives the same bits.
 * Faithfully rounded (within 1 ulp of the exact value, so at most 1 ulp
 * from a correctly rounded libm); tests/core/test_vmath.c checks this. */
#ifndef GRADGUARD_VMATH_H
#define GRADGUARD_VMATH_H

#include <stddef.h>

#include "isa.h"

/* y[i] = e^x[i]; y may equal x. */
void vm_exp(const double *x, double *y, size_t n);
/* y[i] = tanh(x[i]); y may equal x. */
void vm_tanh(const double *x, double *y, size_t n);
/* y[i] = log(x[i]) (-inf at 0, NaN below); y may equal x. */
void vm_log(const double *x, double *y, size_t n);

/* The same with a chosen instruction set (tests compare them). */
void vm_exp_isa(enum isa isa, const double *x, double *y, size_t n);
void vm_tanh_isa(enum isa isa, const double *x, double *y, size_t n);
void vm_log_isa(enum isa isa, const double *x, double *y, size_t n);

#endif
