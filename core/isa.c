/* See isa.h. */
#include "isa.h"

enum isa isa_best(void)
{
#ifdef ISA_X86
	if (GG_ISA_MAX > 1 && __builtin_cpu_supports("avx512f"))
		return ISA_AVX512;
	if (__builtin_cpu_supports("avx2"))
		return ISA_AVX2;
#endif
	return ISA_BASELINE;
}

enum isa isa_resolve(enum isa isa)
{
	enum isa best = isa_best();

	return isa > best ? best : isa;
}
