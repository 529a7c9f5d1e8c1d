/*
 * eval.h — evaluate a list of loss and metric specs on one target and
 * prediction, sharing work between them.
 */
#ifndef EVAL_H
#define EVAL_H

#include <stddef.h>

#include "core/par.h"
#include "core/seg.h"
#include "core/spec.h"

#define EVAL_WARN_MAX 32
#define EVAL_WARN_LEN 224

/* Why values came out null, one sentence each, in spec order. */
typedef struct eval_warnings {
	int count;
	int dropped; /* warnings beyond EVAL_WARN_MAX */
	char msg[EVAL_WARN_MAX][EVAL_WARN_LEN];
} eval_warnings;

/* Adds a printf-style warning (dropped past EVAL_WARN_MAX). */
void eval_warn(eval_warnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Computes specs[0..n) (borrowed; losses and metrics) on t and p
 * (borrowed, same size). values (caller-owned, n) receives each result;
 * NAN stands for null and is always explained by a warning in warn
 * (cleared first). Intermediate results are shared: one fused pixel pass
 * per eps, one confusion count per threshold, one surface computation per
 * (threshold, spacing), one weight map per parameter set.
 * par (may be NULL) parallelises the distance transforms.
 * Errors: SEG_EINVAL (size mismatch, a map spec), SEG_ENOMEM.
 */
seg_status eval_run(const seg_target *t, const seg_pred *p, const spec *specs, size_t n, double *values,
		    eval_warnings *warn, const seg_par *par, seg_error *err);

/*
 * Computes a map spec (FN_MAP_WEIGHT: the target's weight map, p may be
 * NULL; FN_MAP_BCE: per-pixel BCE) into out (caller-owned, width*height).
 */
seg_status eval_map(const seg_target *t, const seg_pred *p, const spec *s, float *out,
		    seg_error *err);

/*
 * Computes a categorical map spec of a binary pair into out (caller-owned,
 * width*height): FN_MAP_MASK 1 where p >= threshold (as metric_confusion
 * rounds it), else 0; FN_MAP_ERRORS 0 true negative, 1 true positive,
 * 2 false positive, 3 false negative. t, p, s borrowed.
 */
seg_status eval_map_classes(const seg_target *t, const seg_pred *p, const spec *s, uint8_t *out, seg_error *err);

#endif
