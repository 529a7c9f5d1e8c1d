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
 *
 * Quantized predictions (pix_hist) skip the per-pixel logarithms
 * altogether: one counting pass, then each level's terms are computed
 * once, with the very expressions of the per-pixel path, and weighted by
 * the level's count.
 */
#include "core/pixstats.h"

#include <math.h>
#include <stdlib.h>
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

/* ---- histograms of quantized predictions ----------------------------------------- */

void pix_hist_release(pix_hist *h)
{
	if (h == NULL)
		return;
	free(h->count);
	free(h->value);
	memset(h, 0, sizeof(*h));
}

/* The level index of p, (p·qmax + ½) clamped to [0, qmax]; NaN and negatives give 0. */
static inline uint32_t level_of(float v, float scale, uint32_t qmax)
{
	float r = v * scale + 0.5f;

	r = r > 0.0f ? r : 0.0f;
	r = r < (float)qmax ? r : (float)qmax;
	return (uint32_t)(int32_t)r;
}

/*
 * Counts (y, level) with levels = qmax + 1; 0 as soon as a block holds a p
 * that is not exactly a level's value. Per block: a first loop, without
 * branches so that it vectorises, finds each pixel's level k and checks
 * that p is exactly (float)(k / qmax) — computed as a float division,
 * which gives the same float for every level (check_core_loss proves it
 * for all 256 + 65,536 of them); a second loop counts into four
 * 32-bit tables taken in turn, so that runs of equal levels (most of a
 * mask) do not wait on the previous increment of the same counter.
 */
SEG_CLONES
static int hist_try(const uint8_t *y, const float *p, size_t n, uint32_t qmax, pix_hist *h)
{
	uint32_t levels = qmax + 1, bin[BLOCK];
	size_t tab = 2 * (size_t)levels;
	float scale = (float)qmax;
	uint32_t *sub = calloc(4 * tab, sizeof(*sub));
	int ok = 0;

	if (sub == NULL)
		return 0;
	for (uint32_t k = 0; k < levels; k++)
		h->value[k] = (float)((double)k / (double)qmax);
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK, j = 0;
		const float *pb = p + b;
		const uint8_t *yb = y + b;
		int bad = 0;
		VM_PRAGMA(omp simd reduction(| : bad))
		for (size_t i = 0; i < m; i++) {
			uint32_t k = level_of(pb[i], scale, qmax);
			bad |= (float)(int32_t)k / scale != pb[i];
			bin[i] = k + (yb[i] != 0) * levels;
		}
		if (bad)
			goto out;
		for (; j + 4 <= m; j += 4) {
			sub[bin[j]]++;
			sub[tab + bin[j + 1]]++;
			sub[2 * tab + bin[j + 2]]++;
			sub[3 * tab + bin[j + 3]]++;
		}
		for (; j < m; j++)
			sub[bin[j]]++;
	}
	for (size_t k = 0; k < tab; k++)
		h->count[k] = (uint64_t)sub[k] + sub[tab + k] + sub[2 * tab + k] + sub[3 * tab + k];
	h->levels = levels;
	ok = 1;
out:
	free(sub);
	return ok;
}

int pix_hist_build(const uint8_t *y, const float *p, size_t n, pix_hist *h)
{
	memset(h, 0, sizeof(*h));
	/* Too small to pay for the tables; too large for 32-bit sub-counts (4 tables). */
	if (n < 4096 || n / 4 >= UINT32_MAX)
		return 0;
	/* Every 8-bit level is also a 16-bit one (k/255 = 257k/65535): try the small tables first. */
	for (uint32_t qmax = 255;; qmax = 65535) {
		h->count = malloc(2 * ((size_t)qmax + 1) * sizeof(*h->count));
		h->value = malloc(((size_t)qmax + 1) * sizeof(*h->value));
		if (h->count && h->value && hist_try(y, p, n, qmax, h))
			return 1;
		pix_hist_release(h);
		if (qmax == 65535)
			return 0;
	}
}

/* One level's clipped probability, class-wise q and −ln q, exactly as block_logs computes them. */
static inline void level_terms(double yi, double pi, double eps, double *q, double *l)
{
	double lo = eps, hi = 1.0 - eps;
	double ph = pi > lo ? pi : lo;

	ph = ph < hi ? ph : hi;
	*q = yi * ph + (1.0 - yi) * (1.0 - ph);
	*l = -log(*q);
}

static void hist_stats(const pix_hist *h, size_t n, double eps, pix_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->n = (double)n;
	for (int y = 0; y < 2; y++) {
		const uint64_t *count = h->count + (size_t)y * h->levels;
		double yi = (double)y, ni = 1.0 - yi;
		for (uint32_t k = 0; k < h->levels; k++) {
			if (count[k] == 0)
				continue;
			double c = (double)count[k], pi = (double)h->value[k], q, l;
			level_terms(yi, pi, eps, &q, &l);
			double om = 1.0 - q, foc = om * om * l, d = yi - pi;
			s->n_pos += c * yi;
			s->tp += c * (pi * yi);
			s->fp += c * (pi * ni);
			s->fn += c * ((1.0 - pi) * yi);
			s->tn += c * ((1.0 - pi) * ni);
			s->sp2 += c * (pi * pi);
			s->se_pos += c * (yi * d * d);
			s->se_neg += c * (ni * d * d);
			s->ce_pos += c * (yi * l);
			s->ce_neg += c * (ni * l);
			s->foc_pos += c * (yi * foc);
			s->foc_neg += c * (ni * foc);
		}
	}
}

/* Per-level −ln q for y = 0 and 1, for the per-pixel gathers; caller frees. */
static double *level_logs(const pix_hist *h, double eps)
{
	double *t = malloc(2 * (size_t)h->levels * sizeof(*t));

	for (int y = 0; t && y < 2; y++)
		for (uint32_t k = 0; k < h->levels; k++) {
			double q;
			level_terms((double)y, (double)h->value[k], eps, &q, &t[(size_t)y * h->levels + k]);
		}
	return t;
}

/* ---- per-pixel passes ---------------------------------------------------------------- */

SEG_CLONES
void pix_stats_compute(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, pix_stats *s)
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	if (h && h->levels) {
		hist_stats(h, n, eps, s);
		return;
	}
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
void pix_focal_sums(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, double gamma,
		    double out[2])
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	out[0] = out[1] = 0.0;
	if (h && h->levels) {
		for (int c = 0; c < 2; c++)
			for (uint32_t k = 0; k < h->levels; k++) {
				uint64_t cnt = h->count[(size_t)c * h->levels + k];
				double qq, ll;
				if (cnt == 0)
					continue;
				level_terms((double)c, (double)h->value[k], eps, &qq, &ll);
				out[1 - c] += (double)cnt * (pow(1.0 - qq, gamma) * ll);
			}
		return;
	}
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
double pix_pow_sum(const float *p, size_t n, const pix_hist *h, double gamma)
{
	double total = 0.0;

	if (h && h->levels) {
		for (uint32_t k = 0; k < h->levels; k++) {
			uint64_t cnt = h->count[k] + h->count[h->levels + k];
			if (cnt)
				total += (double)cnt * pow((double)h->value[k], gamma);
		}
		return total;
	}
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
void pix_explog_sums(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, double gamma,
		     double out[2])
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];

	out[0] = out[1] = 0.0;
	if (h && h->levels) {
		for (int c = 0; c < 2; c++)
			for (uint32_t k = 0; k < h->levels; k++) {
				uint64_t cnt = h->count[(size_t)c * h->levels + k];
				double qq, ll;
				if (cnt == 0)
					continue;
				level_terms((double)c, (double)h->value[k], eps, &qq, &ll);
				out[1 - c] += (double)cnt * exp(gamma * log(ll));
			}
		return;
	}
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
double pix_weighted_ce(const uint8_t *y, const float *p, const float *w, size_t n, const pix_hist *h,
		       double eps)
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];
	double total = 0.0;
	double *tab = h && h->levels ? level_logs(h, eps) : NULL;

	if (tab) {
		uint32_t levels = h->levels, qmax = levels - 1;
		float scale = (float)qmax;
		for (size_t b = 0; b < n; b += BLOCK) {
			size_t e = b + BLOCK < n ? b + BLOCK : n;
			double acc = 0;
			for (size_t i = b; i < e; i++)
				acc += (double)w[i] * tab[(y[i] != 0) * levels + level_of(p[i], scale, qmax)];
			total += acc;
		}
		free(tab);
		return total;
	}
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
void pix_bce_map(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, float *out)
{
	double yv[BLOCK], pv[BLOCK], q[BLOCK], l[BLOCK];
	double *tab = h && h->levels ? level_logs(h, eps) : NULL;

	if (tab) {
		uint32_t levels = h->levels, qmax = levels - 1;
		float scale = (float)qmax;
		for (size_t i = 0; i < n; i++)
			out[i] = (float)tab[(y[i] != 0) * levels + level_of(p[i], scale, qmax)];
		free(tab);
		return;
	}
	for (size_t b = 0; b < n; b += BLOCK) {
		size_t m = n - b < BLOCK ? n - b : BLOCK;
		block_logs(y + b, p + b, m, eps, yv, pv, q, l);
		for (size_t i = 0; i < m; i++)
			out[b + i] = (float)l[i];
	}
}
