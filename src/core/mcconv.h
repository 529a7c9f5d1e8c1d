/*
 * mcconv.h — the conventions of a multi-class evaluation, as data.
 *
 * Each training library answers the same questions differently: what a
 * class absent from both maps scores, what a 0/0 is, how per-class values
 * become one number, what a surface distance is when a mask is empty, how
 * a loss divides and smooths. A profile (profile.c) answers every one of
 * them for one library in an mce_conv: one mce_mconv per metric and one
 * mce_lconv per loss. The zero value of every field is segloss's own
 * convention (docs/losses.md), so a zeroed entry means "segloss's
 * definition" — what a profile gives for a function its library lacks.
 * docs/profiles.md cites the library source behind each non-zero field.
 */
#ifndef MCCONV_H
#define MCCONV_H

#include <stdint.h>

#include "core/spec.h"

/* How per-class values are averaged; a profile may pick a default per metric. */
typedef enum mce_average {
	MCE_MACRO,    /* mean over the included classes whose value is defined */
	MCE_MICRO,    /* the ratio of the counts summed over the included classes */
	MCE_WEIGHTED, /* mean weighted by target pixels, over included classes with a defined value */
	MCE_NONE,     /* per class only */
} mce_average;

/* What a value is when the library leaves it undefined. */
typedef enum mce_undef {
	MCE_UNDEF_NULL, /* null with a warning; for a 0/0 ratio zero_division, when set, picks a number (segloss) */
	MCE_UNDEF_NAN,  /* the library's NaN: null in JSON, with a warning saying nan */
	MCE_UNDEF_INF,  /* the library's +inf: null in JSON, with a warning saying inf */
} mce_undef;

/* The per-class value of an overlap metric. */
typedef enum mce_ratio {
	MCE_RATIO_PLAIN,    /* the metric's ratio of one-vs-rest counts (dice 2TP/(2TP+FP+FN), ...) */
	MCE_RATIO_RECALL,   /* TP/(TP+FN) whatever the metric (torchmetrics' MulticlassAccuracy) */
	MCE_RATIO_EPS_IOU,  /* TP/(TP+FP+FN + 1e-7), undefined when the union is 0 (Keras MeanIoU) */
	MCE_RATIO_F1_TIES,  /* Keras F1Score(threshold=None): every class at the pixel's maximum score is
			       predicted; p = TP/(TP+FP+ε), r = TP/(TP+FN+ε), 2pr/(p+r+ε), ε = 1e-7 */
} mce_ratio;

/* How per-class values become one number (for the averages a rule does not define: segloss's). */
typedef enum mce_avg_rule {
	MCE_AVG_SEGLOSS,   /* macro: mean of the defined values; micro: pooled counts of the classes not absent
			      from both, 0/0 as zero_division; weighted: by support; surface metrics: macro */
	MCE_AVG_MONAI,     /* macro and surface metrics: mean over non-NaN values, inf kept, 0 when there is none
			      (do_metric_reduction); micro: counts averaged over every included class, 0/0 NaN */
	MCE_AVG_SMP,       /* macro: plain mean; micro: summed counts, 0/0 NaN; weighted: Σ (s_c/Σs) v_c, NaN
			      without support (smp _compute_metric) */
	MCE_AVG_TM_CLASS,  /* torchmetrics classification: macro weighs 1 each class with TP+FP+FN > 0, weighted
			      by support, micro summed counts; 0/0 is 0 (_adjust_weights_safe_divide) */
	MCE_AVG_TM_SEG,    /* torchmetrics DiceScore / MeanIoU: nanmean (NaN when none); dice micro summed
			      counts, dice weighted nansum(v·s/Σs) */
	MCE_AVG_TM_SUM,    /* torchmetrics HausdorffDistance: sum / count of the non-null values, inf kept */
	MCE_AVG_NANMEAN,   /* macro: nanmean, NaN when every value is NaN (mmseg) */
	MCE_AVG_KERAS_IOU, /* macro: Σ v / (n + 1e-7) over the defined values, 0 when none (Keras MeanIoU) */
	MCE_AVG_KERAS_F1,  /* macro: plain mean; weighted: Σ v·s/(Σs + 1e-7); micro: the F1 of summed counts */
} mce_avg_rule;

/* One metric's conventions (dice .. surface_dice). */
typedef struct mce_mconv {
	uint8_t scored;        /* a class absent from target and prediction gets its ratio (0/0 as `zero`) rather
				  than null (segloss) */
	uint8_t empty_target;  /* dice, iou: NaN for a class absent from the target, false positives or not
				  (MONAI's ignore_empty) */
	uint8_t no_background; /* include_background defaults to false for this metric */
	uint8_t zero;          /* mce_undef: a 0/0 ratio */
	uint8_t ratio;         /* mce_ratio */
	uint8_t avg;           /* mce_avg_rule */
	uint8_t average;       /* mce_average when the request gives none */
	uint8_t one_empty;     /* mce_undef: hausdorff, hausdorff95, assd when exactly one mask is empty
				  (surface_dice is then 0) */
	uint8_t both_empty;    /* mce_undef: a surface metric when both masks are empty */
	uint8_t hd_pooled;     /* hausdorff95: the percentile of both directions pooled (medpy), not the larger
				  of the two directed percentiles */
} mce_mconv;

/* Which definition a loss follows (each loss reads the forms that name it; 0 is segloss's). */
typedef enum mce_lform {
	MCE_LF_SEGLOSS,
	MCE_LF_CE_ALL_PIXELS,    /* cross_entropy divided by every pixel, ignored ones included (smp, mmseg) */
	MCE_LF_CE_KERAS,         /* cross_entropy: probabilities p/Σp then clipped; Σ w_y l / N_valid; smoothing
				    spreads ε/C over every class of the sample */
	MCE_LF_FOCAL_MONAI,      /* focal: softmax over the included classes only (probabilities renormalised),
				    w_c (1 − p_c)^γ (−ln p_c) G_c averaged over (included class, pixel) */
	MCE_LF_FOCAL_KERAS,      /* focal: α w_y (1 − p_y)^γ (−ln p_y), p renormalised and clipped, / N_valid */
	MCE_LF_FOCAL_SIGMOID_SUM,  /* focal: a sigmoid focal loss per class against (y == c), mean over pixels,
				      summed over classes (smp 0.5) */
	MCE_LF_FOCAL_SIGMOID_MEAN, /* focal: sigmoid focal with α per pixel and class, w_c, mean over every
				      pixel (ignored ones included) and included class (mmseg) */
	MCE_LF_DICE_SIGMOID_POOLED, /* dice: P = sigmoid of the logits, one score over every included class and
				       every pixel (ignored pixels' P counted): 1 − 2ΣPG/((ΣP² + ε) + (ΣG² + ε)),
				       ε = 1e-3 (mmseg) */
} mce_lform;

/* Flags of a loss's conventions. */
#define MCE_LC_ZERO_ABSENT 0x0001u    /* region: a class absent from the target scores 0, still counted (smp) */
#define MCE_LC_POW_AFTER_MEAN 0x0002u /* focal_tversky: (mean over classes)^γ (smp) */
#define MCE_LC_POOLED 0x0004u         /* region: one score from the sums of every included class (Keras) */
#define MCE_LC_HALF_SMOOTH 0x0008u    /* jaccard: 1 − (2I + s)/(2U + s) (MONAI's jaccard=True) */
#define MCE_LC_ALPHA_ON_FN 0x0010u    /* tversky: α weighs false negatives, β false positives (Keras) */
#define MCE_LC_MEAN_OVER_N 0x0020u    /* class weights scale each class's loss, the mean divides by the number
					 of classes (MONAI, mmseg) rather than by Σ w */
#define MCE_LC_NONE_ZERO 0x0040u      /* lovasz_softmax: 0 when no included class is present (smp) */
#define MCE_LC_NAN_EMPTY 0x0080u      /* cross_entropy: 0/0 when every pixel is ignored is the library's NaN */
#define MCE_LC_TAKES_ALPHA 0x0100u    /* focal: the library's α applies (its multi-class form has one) */
#define MCE_LC_NO_WEIGHTS 0x0200u     /* refused with class_weights: the library has no class weights */
#define MCE_LC_NO_SMOOTHING 0x0400u   /* refused with label_smoothing > 0: the library has no label smoothing */

/* One loss's conventions. */
typedef struct mce_lconv {
	uint8_t form;       /* mce_lform */
	uint16_t flags;     /* MCE_LC_* */
	double den_eps;     /* region: added to the denominator only (Keras' epsilon) */
	double den_floor;   /* region: the denominator is at least this (smp's eps) */
	const char *lib;    /* the library's class or function, for refusals */
} mce_lconv;

#define MCE_NMETRICS (FN_M_SURFACE_DICE - FN_M_DICE + 1)
#define MCE_NLOSSES (FN_LOVASZ_SOFTMAX + 1)

/* A profile's conventions: metric[fn − FN_M_DICE], loss[fn] (only multi-class losses are read). */
typedef struct mce_conv {
	const char *name;
	mce_mconv metric[MCE_NMETRICS];
	mce_lconv loss[MCE_NLOSSES];
} mce_conv;

/* c, or segloss's conventions when c is NULL (static; never NULL). Defined with the profile table. */
const mce_conv *mce_conv_of(const mce_conv *c);

/* The conventions of metric fn (FN_M_DICE .. FN_M_SURFACE_DICE) or loss fn (< MCE_NLOSSES); c NULL is segloss's. */
const mce_mconv *mce_metric_conv(const mce_conv *c, spec_fn fn);
const mce_lconv *mce_loss_conv(const mce_conv *c, spec_fn fn);

#endif
