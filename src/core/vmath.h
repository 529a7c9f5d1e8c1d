/*
 * vmath.h — log, exp and pow that loops can vectorise.
 *
 * With GCC on x86-64 glibc, these are the libm functions declared with the
 * `simd` attribute, so a vectorised loop calls glibc's libmvec variants
 * (_ZGVdN4v_log on AVX2, _ZGVbN2v_log on SSE2; at most 4 ulp, as glibc
 * documents) instead of one scalar call per element. Elsewhere (clang,
 * other libcs) they are the plain libm functions. Either way the core
 * links libm alone. Loops that use them are compiled with
 * -fopenmp-simd -fno-math-errno -fno-trapping-math (see Makefile) and
 * marked with VM_SIMD_REDUCE; SEG_CLONES compiles a function twice, for
 * x86-64-v3 (AVX2, FMA) and the baseline, and picks one at load time.
 */
#ifndef VMATH_H
#define VMATH_H

#include <math.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
double vm_log(double) __asm__("log") __attribute__((simd("notinbranch"), const, nothrow));
double vm_pow(double, double) __asm__("pow") __attribute__((simd("notinbranch"), const, nothrow));
double vm_exp(double) __asm__("exp") __attribute__((simd("notinbranch"), const, nothrow));
#if defined(SEG_NO_CLONES)
/* ThreadSanitizer: an ifunc resolver runs before its runtime is up, so no clones. */
#define SEG_CLONES
#else
#define SEG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
#else
static inline double vm_log(double x)
{
	return log(x);
}
static inline double vm_pow(double x, double y)
{
	return pow(x, y);
}
static inline double vm_exp(double x)
{
	return exp(x);
}
#define SEG_CLONES
#endif

#define VM_PRAGMA(x) _Pragma(#x)
/* A loop whose iterations are independent and whose listed doubles are sums. */
#define VM_SIMD_REDUCE(...) VM_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#define VM_SIMD VM_PRAGMA(omp simd)

#endif
