/*
 * pixstats.h — the per-pixel passes behind every region and
 * cross-entropy loss.
 *
 * One fused pass gathers every sum the losses need (y in {0,1}, p the
 * probability, p^ = clip(p, eps, 1 - eps)); each loss is then a few
 * arithmetic operations on the sums (see loss.h). Sums are accumulated
 * in double, per block of pixels, then added into the totals, which keeps
 * the rounding error small on large images.
 *
 * Predictions decoded from 8- or 16-bit PNGs take only 256 or 65,536
 * values. For them a histogram of (y, level) is built once, and every sum
 * is taken over the levels instead of the pixels: the same terms, each
 * computed once per level and weighted by its count. Each function below
 * takes an optional histogram (NULL: the per-pixel path).
 */
#ifndef PIXSTATS_H
#define PIXSTATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct pix_stats {
	double n;       /* pixels */
	double n_pos;   /* Σ y, the foreground count */
	double tp;      /* soft true positives  Σ p y */
	double fp;      /* soft false positives Σ p (1 − y) */
	double fn;      /* soft false negatives Σ (1 − p) y */
	double tn;      /* soft true negatives  Σ (1 − p)(1 − y) */
	double sp2;     /* Σ p² */
	double se_pos;  /* Σ_{y=1} (y − p)² */
	double se_neg;  /* Σ_{y=0} (y − p)² */
	double ce_pos;  /* Σ_{y=1} −ln p^ */
	double ce_neg;  /* Σ_{y=0} −ln(1 − p^) */
	double foc_pos; /* Σ_{y=1} (1 − p^)² (−ln p^) */
	double foc_neg; /* Σ_{y=0} p^² (−ln(1 − p^)) */
} pix_stats;

/*
 * Histogram of a quantized prediction: every p[i] equals value[k] for
 * k = round(p[i]·(levels − 1)), value[k] = (float)(k / (levels − 1)) as
 * the PNG decoder computes it.
 */
typedef struct pix_hist {
	uint32_t levels;  /* 256 or 65536; 0 when the prediction is not quantized */
	uint64_t *count;  /* 2 * levels: count[y * levels + k] */
	float *value;     /* levels */
} pix_hist;

/*
 * Builds h when every p is an 8- or 16-bit level (one pass; it stops at
 * the first pixel that is not). Returns 1 when built, 0 otherwise (also
 * when out of memory: the per-pixel path then serves). y, p borrowed.
 */
int pix_hist_build(const uint8_t *y, const float *p, size_t n, pix_hist *h);

/* Frees what h holds; zeroed, NULL-safe and idempotent. */
void pix_hist_release(pix_hist *h);

/* The fused pass. y, p borrowed (n each); y holds 0 or 1; h optional. */
void pix_stats_compute(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps,
		       pix_stats *s);

/* Focal sums for any gamma: out[0] = Σ_{y=1} (1−p^)^γ (−ln p^), out[1] = Σ_{y=0} p^^γ (−ln(1−p^)). */
void pix_focal_sums(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, double gamma,
		    double out[2]);

/* Σ p^γ over raw (unclipped) p. */
double pix_pow_sum(const float *p, size_t n, const pix_hist *h, double gamma);

/* Exponential-log sums: out[0] = Σ_{y=1} (−ln p^)^γ, out[1] = Σ_{y=0} (−ln(1−p^))^γ. */
void pix_explog_sums(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, double gamma,
		     double out[2]);

/* Σ w(x) · −[y ln p^ + (1−y) ln(1−p^)]; w borrowed (n). */
double pix_weighted_ce(const uint8_t *y, const float *p, const float *w, size_t n, const pix_hist *h,
		       double eps);

/* out[i] = −[y ln p^ + (1−y) ln(1−p^)], the per-pixel BCE map; out caller-owned (n). */
void pix_bce_map(const uint8_t *y, const float *p, size_t n, const pix_hist *h, double eps, float *out);

/* p^ = clip(p, eps, 1 − eps). */
static inline double pix_clip(double p, double eps)
{
	return p < eps ? eps : (p > 1.0 - eps ? 1.0 - eps : p);
}

#endif
