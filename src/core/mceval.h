/*
 * mceval.h — evaluate losses and metrics on a multi-class target and
 * prediction: per-class values, their average, the confusion matrix.
 *
 * Metrics are one-vs-rest per class on the hard prediction (a label map,
 * or the argmax of per-class scores); losses read the per-class scores,
 * or the one-hot of a label map. How empty classes, averages, surface
 * distances and each loss's denominators are treated is a convention a
 * profile sets (mcconv.h). Every class gets its per-class value;
 * include_background only decides which classes enter averages and the
 * class mean of losses.
 */
#ifndef MCEVAL_H
#define MCEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/eval.h"
#include "core/mcconv.h"
#include "core/par.h"
#include "core/seg.h"
#include "core/spec.h"

typedef struct mce_opts {
	int classes;
	int background;              /* the background class's index, or -1 when there is none */
	int include_background;      /* 1, 0, or -1: each function's convention (mce_mconv.no_background) */
	const double *class_weights; /* classes, or NULL */
	int average;                 /* mce_average, or -1: each metric's convention (mce_mconv.average) */
	const mce_conv *conv;        /* NULL: segloss's conventions */
	const char *const *names;    /* classes: each class's key, for warnings */
} mce_opts;

typedef struct mce_result {
	int classes;
	size_t nspecs;
	double *value;      /* nspecs: each spec's value; NAN null */
	double *per_class;  /* nspecs × classes: metrics per class, every class (NAN null); NAN for losses */
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
