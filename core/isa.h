/* The instruction sets the numeric kernels (vmath, matrix) have loops for.
 * Every loop uses IEEE basic operations only, no fused multiply-add, and
 * sums in the same order, so all of them give the same bits; the best one
 * the CPU runs is used, and tests ask for each in turn. */
#ifndef GRADGUARD_ISA_H
#define GRADGUARD_ISA_H

/* ISA_BEST: whatever isa_best() says. An instruction set the CPU lacks
 * must not be asked for (ISA_BASELINE <= isa <= isa_best() may be). */
enum isa { ISA_BASELINE, ISA_AVX2, ISA_AVX512, ISA_BEST };

enum isa isa_best(void);

/* Whether this build has the x86-64 loops (GCC, no sanitizer build). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define ISA_X86 1
#define ISA_TARGET_AVX2 __attribute__((target("avx2")))
#define ISA_TARGET_AVX512 __attribute__((target("avx512f")))
#endif

#endif
