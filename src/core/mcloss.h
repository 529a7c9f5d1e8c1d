/*
 * mcloss.h — the multi-class losses on per-class scores.
 *
 * Notation: P_c(i) the probability of class c at pixel i (the softmax of
 * the logits when the scores are logits), G_c(i) = 1 when the target of
 * pixel i is c, sums over valid pixels (target not SEG_IGNORE), y_i the
 * target class of pixel i, w_c class weights (1 when not given).
 *
 * One fused pass (mcl_sums_compute) gathers every per-class sum the
 * losses need; each loss is then arithmetic on the sums, except the
 * Lovász-softmax, which sorts each class's errors.
 */
#ifndef MCLOSS_H
#define MCLOSS_H

#include <stddef.h>
#include <stdint.h>

#include "core/par.h"
#include "core/seg.h"

/* What the fused pass gathers besides the sums every loss reads. */
typedef struct mcl_opts {
	double eps;         /* log terms of probabilities use clip(p, eps, 1 − eps); logits use the exact log-softmax */
	double focal_gamma; /* gather the focal sums for this γ; NAN: none */
	double pow_gamma;   /* gather Σ P_c^γ for this γ; NAN: none */
	int want_lsum;      /* gather Σ_i −ln P_c(i) for every c (label smoothing) */
} mcl_opts;

/* Per-class sums, each array `classes` long (one allocation, owned). */
typedef struct mcl_sums {
	int classes;
	double n;     /* valid pixels */
	double *g;    /* Σ G_c: target pixels of class c */
	double *i;    /* Σ P_c G_c */
	double *p1;   /* Σ P_c */
	double *p2;   /* Σ P_c² */
	double *pg;   /* Σ P_c^γ for opts.pow_gamma (zeros when not asked) */
	double *nll;  /* Σ_{y_i = c} −ln P_c(i) */
	double *foc;  /* Σ_{y_i = c} (1 − P_c(i))^γ (−ln P_c(i)) for opts.focal_gamma */
	double *lsum; /* Σ_i −ln P_c(i), all valid pixels (when asked) */
} mcl_sums;

/*
 * The fused pass over s (borrowed) and the target classes t (borrowed,
 * width*height, every value < classes or SEG_IGNORE), split into tasks
 * through par (borrowed; NULL: this thread). The sums do not depend on
 * par. *out owns its arrays on success: mcl_sums_release. SEG_ENOMEM.
 */
seg_status mcl_sums_compute(const seg_scores *s, const uint16_t *t, const mcl_opts *o, const seg_par *par,
			    mcl_sums *out, seg_error *err);

void mcl_sums_release(mcl_sums *s);

/*
 * The same sums for a hard prediction, whose probabilities are its
 * one-hot (clipped to [eps, 1 − eps] in the log terms), read off the
 * confusion matrix m (borrowed, classes²). SEG_ENOMEM.
 */
seg_status mcl_sums_from_confusion(const int64_t *m, int classes, const mcl_opts *o, mcl_sums *out,
				   seg_error *err);

/*
 * cross_entropy, PyTorch's CrossEntropyLoss with reduction mean:
 * [(1 − ε) Σ_c w_c nll_c + (ε/C) Σ_c w_c lsum_c] / Σ_c w_c g_c.
 * NAN when no pixel is valid. w borrowed (classes) or NULL.
 */
double mcl_cross_entropy(const mcl_sums *s, const double *w, double smoothing);

/* focal, softmax form: Σ_c w_c foc_c / n. */
double mcl_focal(const mcl_sums *s, const double *w);

/* Which sum stands for Σ P_c^γ in a region loss. */
typedef enum mcl_pow {
	MCL_POW1, /* Σ P_c */
	MCL_POW2, /* Σ P_c² */
	MCL_POWG, /* Σ P_c^γ for opts.pow_gamma */
} mcl_pow;

/*
 * The region losses, one value per class into out (classes), from the
 * sums, with s_nr added to the numerator and s_dr to the denominator:
 *   MCL_DICE      1 − (2 I_c + s_nr)/(ΣP_c^γ + g_c + s_dr)
 *   MCL_JACCARD   1 − (I_c + s_nr)/(ΣP_c + g_c − I_c + s_dr)
 *   MCL_TVERSKY   1 − (I_c + s_nr)/(I_c + α FP_c + β FN_c + s_dr),
 *                 FP_c = ΣP_c − I_c, FN_c = g_c − I_c
 * (Σ G_c^γ = g_c since G is 0 or 1). A ratio whose denominator is 0 gives
 * a loss of 0 when its numerator is 0 too (nothing to predict, nothing
 * predicted) — the smoothing's own limit.
 */
typedef enum mcl_region {
	MCL_DICE,
	MCL_JACCARD,
	MCL_TVERSKY,
} mcl_region;

void mcl_region_per_class(const mcl_sums *s, mcl_region kind, mcl_pow pw, double s_nr, double s_dr, double alpha,
			  double beta, double *out);

/* A region loss with every convention a library adds: the ratio above, then den_eps added to its
 * denominator (Keras' epsilon) and the denominator raised to den_floor (smp's eps). */
typedef struct mcl_region_opts {
	mcl_region kind;
	double s_nr, s_dr, alpha, beta;
	double den_eps, den_floor;
} mcl_region_opts;

/* One region loss from the sums I, g (= Σ G), p (= Σ P) and pp (= Σ P^γ) of one class or of several pooled. */
double mcl_region_score(double in, double g, double p, double pp, const mcl_region_opts *o);

/*
 * Σ_c w_c v_c / Σ_c w_c over the classes with include[c] (borrowed,
 * classes; NULL: all) and a finite v_c; NAN when none. w may be NULL.
 */
double mcl_class_mean(const double *v, const uint8_t *include, const double *w, int classes);

/*
 * generalized_dice (Sudre et al.): w_c = 1/g_c², a class absent from the
 * target taking the largest finite weight of the included classes (MONAI's
 * rule; 0 when every class is absent);
 * 1 − (2 Σ_c w_c I_c + s)/(Σ_c w_c (ΣP_c + g_c) + s) over the included classes.
 */
double mcl_generalized_dice(const mcl_sums *s, const uint8_t *include, double smooth);

/*
 * lovasz_softmax (Berman et al. 2018, classes 'present'): for each class
 * present in the valid target, the errors e_i = |G_c(i) − P_c(i)| (in
 * double, as the float64 reference) sorted in decreasing order, dotted
 * with the Lovász gradient of the Jaccard loss at that order: per[c]
 * (classes), NAN for a class absent from the target or with include[c]
 * 0. s, t, include borrowed (include NULL: all). SEG_ENOMEM.
 */
seg_status mcl_lovasz(const seg_scores *s, const uint16_t *t, const uint8_t *include, double *per, seg_error *err);

#endif
