/*
 * pixstats.c — fused per-pixel passes.
 *
 * Each pixel costs one logarithm: with q = p^ on foreground and 1 − p^ on
 * background, −ln q is the pixel's cross-entropy, and (1 − q)² (−ln q)
 * its focal term for γ = 2. The foreground/background split is done by
 * multiplying with y (0 or 1), not by branching, so every pixel runs the
 * same instructions.
 *
 * The pixels are taken in blocks of BLOCK: a first loop turns the block
 * into doubles (y, p, q), a second takes the logarithms, a third sums.
 * Each loop is simple enough to vectorise, and the logarithm loop calls
 * glibc's vector log (vmath.h). Each block's partial sums are added to
 * the totals in block order, so the result depends only on the input and
 * on the vector width the CPU offers (AVX2 or SSE2), which can change the
 * last bits of a sum, nothing more.
 */
#include "core/pixstats.h"

#include <math.h>
#include <string.h>

#include "core/vmath.h"

#define BLOCK 1024

/* One block: yv, pv as doubles, q = y ? p^ : 1 − p^, l = −ln q. */
static inline __attribute__((always_inline)) void block_logs(const uint8_t *y, const float *p, size_t m,
							     double eps, double *yv, double *pv, double *q,
							     double *l)
{
	double lo = eps, hi = 1.0 - eps;

	for (size_t i = 0; i < m; i++) {
		double yi = (double)y[i];
		double pi = (double)p[i];
		double ph = pi > lo ? pi : lo;
		ph = ph < hi ? ph : hi;
		yv[i] = yi;
		pv[i] = pi;
		q[i] = yi * ph + (1.0 - yi) * (1.0 - ph);
	}
	VM_SIMD
	for (size_t i = 0; i < m; i++)
		l[i] = -vm_log(q[i]);
}

SEG_CLONES
void pix_stats_compute(const uint8_t *y, const float *p, size_t n, double eps, pix_stats *s)
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	memset(s, 0, sizeof(*s));
	s->n = (double)n;
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		double npos = 0, tp = 0, fp = 0, fn = 0, tn = 0, sp2 = 0, sep = 0, sen = 0;
		double cep = 0, cen = 0, fop = 0, fon = 0;
		block_logs(y + b, p + b, m, eps, yv, pv, q, l);
		VM_SIMD_REDUCE(npos, tp, fp, fn, tn, sp2, sep, sen, cep, cen, fop, fon)
		for (size_t i = 0; i < m; i++) {
			double yi = yv[i], ni = 1.0 - yi, pi = pv[i], li = l[i];
			double om = 1.0 - q[i];
			double foc = om * om * li;
			double d = yi - pi;
			npos += yi;
			tp += pi * yi;
			fp += pi * ni;
			fn += (1.0 - pi) * yi;
			tn += (1.0 - pi) * ni;
			sp2 += pi * pi;
			sep += yi * d * d;
			sen += ni * d * d;
			cep += yi * li;
			cen += ni * li;
			fop += yi * foc;
			fon += ni * foc;
		}
		s->n_pos += npos;
		s->tp += tp;
		s->fp += fp;
		s->fn += fn;
		s->tn += tn;
		s->sp2 += sp2;
		s->se_pos += sep;
		s->se_neg += sen;
		s->ce_pos += cep;
		s->ce_neg += cen;
		s->foc_pos += fop;
		s->foc_neg += fon;
	}
}

SEG_CLONES
void pix_focal_sums(const uint8_t *y, const float *p, size_t n, double eps, double gamma,
		    double out[2])
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	out[0] = out[1] = 0.0;
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		double pos = 0, neg = 0;
		block_logs(y + b, p + b, m, eps, yv, pv, q, l);
		VM_SIMD_REDUCE(pos, neg)
		for (size_t i = 0; i < m; i++) {
			double t = vm_pow(1.0 - q[i], gamma) * l[i];
			pos += yv[i] * t;
			neg += (1.0 - yv[i]) * t;
		}
		out[0] += pos;
		out[1] += neg;
	}
}

SEG_CLONES
double pix_pow_sum(const float *p, size_t n, double gamma)
{
	double total = 0.0;

	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		double acc = 0;
		VM_SIMD_REDUCE(acc)
		for (size_t i = 0; i < m; i++)
			acc += vm_pow((double)p[b + i], gamma);
		total += acc;
	}
	return total;
}

SEG_CLONES
void pix_explog_sums(const uint8_t *y, const float *p, size_t n, double eps, double gamma,
		     double out[2])
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	out[0] = out[1] = 0.0;
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		double pos = 0, neg = 0;
		block_logs(y + b, p + b, m, eps, yv, pv, q, l);
		/* l^γ as exp(γ ln l): l > 0 always (q < 1), and two vector calls beat one pow. */
		VM_SIMD_REDUCE(pos, neg)
		for (size_t i = 0; i < m; i++) {
			double t = vm_exp(gamma * vm_log(l[i]));
			pos += yv[i] * t;
			neg += (1.0 - yv[i]) * t;
		}
		out[0] += pos;
		out[1] += neg;
	}
}

SEG_CLONES
double pix_weighted_ce(const uint8_t *y, const float *p, const float *w, size_t n, double eps)
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];
	double total = 0.0;

	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		double acc = 0;
		block_logs(y + b, p + b, m, eps, yv, pv, q, l);
		VM_SIMD_REDUCE(acc)
		for (size_t i = 0; i < m; i++)
			acc += (double)w[b + i] * l[i];
		total += acc;
	}
	return total;
}

SEG_CLONES
void pix_bce_map(const uint8_t *y, const float *p, size_t n, double eps, float *out)
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		block_logs(y + b, p + b, m, eps, yv, pv, q, l);
		for (size_t i = 0; i < m; i++)
			out[b + i] = (float)l[i];
	}
}
