/*
 * mceval.h — evaluate losses and metrics on a multi-class target and
 * prediction: per-class values, their average, the confusion matrix.
 *
 * Metrics are one-vs-rest per class on the hard prediction (a label map,
 * or the argmax of per-class scores); losses read the per-class scores,
 * or the one-hot of a label map. How empty classes, averages and surface
 * distances are treated is a convention a profile sets (mce_conv).
 */
#ifndef MCEVAL_H
#define MCEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/eval.h"
#include "core/par.h"
#include "core/seg.h"
#include "core/spec.h"

typedef enum mce_average {
	MCE_MACRO,    /* mean over the included classes whose value is defined */
	MCE_MICRO,    /* the ratio of the counts summed over the included classes */
	MCE_WEIGHTED, /* mean weighted by target pixels, over included classes with a defined value */
	MCE_NONE,     /* per class only */
} mce_average;

/* Percentile of hausdorff95: of each direction then the larger (MONAI), or of both directions pooled (medpy). */
typedef enum mce_hd {
	MCE_HD_DIRECTED,
	MCE_HD_POOLED,
} mce_hd;

/* assd: both directions pooled (Σab + Σba)/(na + nb); prediction → target only (MONAI's default); mean of the two means (medpy). */
typedef enum mce_assd {
	MCE_ASSD_POOLED,
	MCE_ASSD_PRED_TO_TARGET,
	MCE_ASSD_MEAN_OF_MEANS,
} mce_assd;

/* The conventions a profile sets (profile.h); segloss's are all zero. */
typedef struct mce_conv {
	int absent_scored;      /* a class absent from target and prediction is scored (0/0 → zero_division) rather than null */
	int empty_target_null;  /* dice and iou are null for a class absent from the target, false positives or not */
	int surface_empty_zero; /* hausdorff, hausdorff95, assd: 0 when both masks are empty (else null) */
	mce_hd hd;
	mce_assd assd;
	int region_absent_zero; /* region losses: a class absent from the target scores 0 and still counts in the mean */
} mce_conv;

typedef struct mce_opts {
	int classes;
	const uint8_t *include;      /* classes: 1 when the class counts in averages and class means; NULL: all */
	const uint8_t *include_surface; /* the same for surface metrics; NULL: as include */
	const double *class_weights; /* classes, or NULL */
	mce_average average;
	const mce_conv *conv;        /* NULL: segloss's conventions */
	const char *const *names;    /* classes: each class's key, for warnings */
} mce_opts;

typedef struct mce_result {
	int classes;
	size_t nspecs;
	double *value;      /* nspecs: each spec's value; NAN null */
	double *per_class;  /* nspecs × classes: metrics per class (NAN null); NAN for losses */
	int64_t *confusion; /* classes²: m[i·C + j], target i predicted j */
	eval_warnings warn;
} mce_result;

/* Allocates r's arrays for nspecs specs and classes classes. SEG_ENOMEM. */
seg_status mce_result_init(mce_result *r, size_t nspecs, int classes, seg_error *err);
void mce_result_release(mce_result *r);

/*
 * Computes specs[0..n) (borrowed) on the target t, the hard prediction
 * hard (borrowed, width·height class indexes) and, when the prediction
 * has per-class scores, soft (borrowed; NULL: losses read the one-hot of
 * hard). r must come from mce_result_init(n, classes). A spec that does
 * not serve multi-class requests is SEG_EINVAL. par (may be NULL)
 * parallelises the distance transforms.
 */
seg_status mce_run(const seg_labels *t, const uint16_t *hard, const seg_scores *soft, const spec *specs, size_t n,
		   const mce_opts *o, mce_result *r, const seg_par *par, seg_error *err);

#endif
