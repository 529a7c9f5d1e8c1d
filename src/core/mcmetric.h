/*
 * mcmetric.h — per-class metric values and their averages under a
 * profile's conventions (mcconv.h).
 *
 * A per-class value is a number, the library's NaN or inf, or segloss's
 * null; each keeps why it is not a plain number, for the warning that
 * explains it. Averages follow the metric's rule (mce_avg_rule), reading
 * the values and, for pooled (micro) averages, the one-vs-rest counts.
 */
#ifndef MCMETRIC_H
#define MCMETRIC_H

#include <stdint.h>

#include "core/mcconv.h"
#include "core/metric.h"

/* Why a value is not a plain number. */
typedef enum mcm_why {
	MCM_WHY_NONE,
	MCM_WHY_ABSENT,    /* the class is in neither the target nor the prediction */
	MCM_WHY_NO_TARGET, /* the class is not in the target */
	MCM_WHY_NO_PRED,   /* the class is not in the prediction */
	MCM_WHY_ZERO,      /* the ratio is 0/0 */
	MCM_WHY_COUNT
} mcm_why;

typedef struct mcm_value {
	double v;     /* the value: a number, or NAN / INFINITY where the library gives those */
	uint8_t null; /* segloss's null: no value at all (v is NAN) */
	uint8_t why;  /* mcm_why */
} mcm_value;

/* The per-class value of overlap metric mo from one class's counts m (borrowed) under mc; zd: zero_division (NAN: unset). */
mcm_value mcm_overlap(const mce_mconv *mc, metric_overlap mo, const metric_counts *m, double zd);

/*
 * The average of the per-class values v (borrowed, classes) of metric
 * mo (surface: is_surface set, mo ignored) over the classes with
 * include[k] (borrowed), as mc's rule says for average avg; counts
 * (borrowed, classes) are the one-vs-rest counts the values came from,
 * n_valid the valid pixels. *null is set when the result is segloss's null
 * (no value to average) rather than a number or the library's NaN / inf.
 */
double mcm_average(const mce_mconv *mc, int is_surface, metric_overlap mo, mce_average avg, const mcm_value *v,
		   const metric_counts *counts, const uint8_t *include, int classes, double zd, int *null);

#endif
