/* Elementwise exp and tanh over contiguous arrays, written so that the
 * compiler vectorizes them (an AVX2 clone chosen at load time on x86-64,
 * the baseline elsewhere). Only IEEE basic operations, no fused
 * multiply-add: every clone and every vector width gives the same bits.
 * Faithfully rounded (within 1 ulp of the exact value, so at most 1 ulp
 * from a correctly rounded libm); tests/core/test_vmath.c checks this. */
#ifndef GRADGUARD_VMATH_H
#define GRADGUARD_VMATH_H

#include <stdbool.h>
#include <stddef.h>

/* y[i] = e^x[i]; y may equal x. */
void vm_exp(const double *x, double *y, size_t n);
/* y[i] = tanh(x[i]); y may equal x. */
void vm_tanh(const double *x, double *y, size_t n);

/* The same with a chosen instruction set (tests compare them): VM_BEST is
 * what vm_exp and vm_tanh use. */
enum vm_isa { VM_BASELINE, VM_BEST };
void vm_exp_isa(enum vm_isa isa, const double *x, double *y, size_t n);
void vm_tanh_isa(enum vm_isa isa, const double *x, double *y, size_t n);
/* Whether VM_BEST uses AVX2 on this CPU. */
bool vm_have_avx2(void);

#endif
