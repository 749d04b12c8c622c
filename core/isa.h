/* The instruction sets the numeric kernels (vmath, matrix) have loops for.
 * Every loop uses IEEE basic operations only, no fused multiply-add, and
 * sums in the same order, so all of them give the same bits; the best one
 * the CPU runs is used, and tests ask for each in turn. */
#ifndef GRADGUARD_ISA_H
#define GRADGUARD_ISA_H

/* ISA_BEST: whatever isa_best() says. */
enum isa { ISA_BASELINE, ISA_AVX2, ISA_AVX512, ISA_BEST };

/* The best instruction set this CPU runs (and this build allows). */
enum isa isa_best(void);
/* The one to run for a request: ISA_BEST, or one the CPU lacks, is
 * isa_best(). */
enum isa isa_resolve(enum isa isa);

/* A build may cap the instruction sets used, to measure what a CPU
 * without them gets: make CFLAGS=-DGG_ISA_MAX=1 (AVX2 at most) or 0. */
#ifndef GG_ISA_MAX
#define GG_ISA_MAX 2
#endif

/* Whether this build has the x86-64 loops (GCC, no sanitizer build; else
 * the AVX loops are baseline code never chosen), and the attribute that
 * gives a function one clone per instruction set (the loader picks one;
 * for loops the compiler vectorizes by itself). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) && \
	GG_ISA_MAX > 0
#define ISA_X86 1
#define ISA_TARGET_AVX2 __attribute__((target("avx2")))
#define ISA_TARGET_AVX512 __attribute__((target("avx512f")))
#if GG_ISA_MAX > 1
#define ISA_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ISA_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#else
#define ISA_TARGET_AVX2
#define ISA_TARGET_AVX512
#define ISA_CLONES
#endif

#endif
