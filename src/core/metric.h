/*
 * metric.h — hard metrics on the thresholded prediction A = (p >= t)
 * against the target B.
 */
#ifndef METRIC_H
#define METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/par.h"
#include "core/seg.h"

/* Pixel counts of the confusion matrix. */
typedef struct metric_counts {
	double tp, fp, fn, tn;
} metric_counts;

/*
 * Counts with A = (p >= threshold), the threshold rounded to float32 first
 * (p is float32; NumPy compares a float32 array with a Python float the
 * same way). y, p borrowed (n).
 */
void metric_confusion(const uint8_t *y, const float *p, size_t n, double threshold,
		      metric_counts *c);

/*
 * Each overlap metric as a numerator and a denominator, so that 0/0 can be
 * reported rather than hidden:
 *   dice 2TP/(2TP+FP+FN), iou TP/(TP+FP+FN), precision TP/(TP+FP),
 *   recall TP/(TP+FN), specificity TN/(TN+FP), accuracy (TP+TN)/N.
 */
typedef enum metric_overlap {
	METRIC_DICE,
	METRIC_IOU,
	METRIC_PRECISION,
	METRIC_RECALL,
	METRIC_SPECIFICITY,
	METRIC_ACCURACY,
} metric_overlap;

/* Writes num and den of metric m; the value is num/den when den > 0. */
void metric_ratio(const metric_counts *c, metric_overlap m, double *num, double *den);

/*
 * Surface distances between the boundaries of two masks. The boundary of
 * a mask is its foreground pixels with a 4-neighbour outside the mask,
 * the image border counting as outside. Distances are Euclidean between
 * pixel centres, rows spacing[0] apart and columns spacing[1] apart.
 */
typedef struct metric_surface {
	size_t na, nb; /* boundary pixel counts of A and B */
	double *ab;    /* na distances from each boundary pixel of A to B's boundary */
	double *ba;    /* nb distances from each boundary pixel of B to A's boundary */
} metric_surface;

/*
 * Computes the two directed distance lists. a, b borrowed (w*h, non-zero
 * = in mask); spacing borrowed (2 doubles). *s owns the lists afterwards:
 * release with metric_surface_release. When either mask is empty its
 * list is empty and the other's is not computed (na or nb is 0).
 */
seg_status metric_surface_compute(const uint8_t *a, const uint8_t *b, int w, int h, const double spacing[2],
				  metric_surface *s, const seg_par *par, seg_error *err);

void metric_surface_release(metric_surface *s);

/* max(max ab, max ba); requires na > 0 and nb > 0. */
double metric_hausdorff(const metric_surface *s);

/*
 * max(percentile(ab, q), percentile(ba, q)) with linear interpolation
 * between ranks (NumPy's default method). Requires na, nb > 0. Reorders
 * the lists (partial selection), which is harmless to other metrics.
 */
double metric_hausdorff_pct(metric_surface *s, double q);

/* (Σ ab + Σ ba) / (na + nb); requires na, nb > 0. */
double metric_assd(const metric_surface *s);

/* (#{ab <= tol} + #{ba <= tol}) / (na + nb); 0 when exactly one is empty. */
double metric_surface_dice(const metric_surface *s, double tol);

/* Percentile of v (n > 0, reordered) with linear interpolation; q in [0, 100]. */
double metric_percentile(double *v, size_t n, double q);

#endif
