/*
 * mclass.h — counting on class maps: the confusion matrix, one-vs-rest
 * counts per class, the hard prediction of per-class scores, and the
 * per-class surface distances.
 *
 * Pixels whose target is SEG_IGNORE count nowhere: not in the matrix,
 * not in any class's counts, and they are background in both masks of a
 * class's surface distances.
 */
#ifndef MCLASS_H
#define MCLASS_H

#include <stddef.h>
#include <stdint.h>

#include "core/metric.h"
#include "core/par.h"
#include "core/seg.h"

/*
 * m[i * classes + j] = pixels of target class i predicted as class j
 * (scikit-learn's orientation), over pixels whose target is not
 * SEG_IGNORE. t, p borrowed (n); every p[i] < classes and every t[i] <
 * classes or SEG_IGNORE. m caller-owned, classes² entries, overwritten.
 * Split into tasks through par (borrowed; NULL: this thread).
 */
void mc_confusion(const uint16_t *t, const uint16_t *p, size_t n, int classes, const seg_par *par, int64_t *m);

/*
 * Class c's one-vs-rest counts from the matrix m (borrowed): TP = m[c][c],
 * FP = column sum − TP, FN = row sum − TP, TN = the rest.
 */
void mc_class_counts(const int64_t *m, int classes, int c, metric_counts *out);

/*
 * The hard prediction: out[i] = the class with the largest score at
 * pixel i, the lowest index on ties (NumPy's and PyTorch's argmax). The
 * softmax is monotone, so logits and probabilities give the same map.
 * s borrowed; out caller-owned (width*height). Split into tasks through
 * par (borrowed; NULL: this thread).
 */
void mc_argmax(const seg_scores *s, const seg_par *par, uint16_t *out);

/*
 * One-vs-rest counts (out, classes entries) when every class whose score
 * equals the pixel's maximum is predicted, and, for probabilities, only
 * when that score is above 1e-9 (Keras' F1Score with threshold=None): a
 * tie predicts several classes at once. Valid pixels only; TN is the rest.
 * s, t borrowed.
 */
void mc_tie_counts(const seg_scores *s, const uint16_t *t, metric_counts *out);

/* A class's pixels in the target or the prediction: rows [y0, y1), columns [x0, x1); empty when x0 >= x1. */
typedef struct mc_box {
	int x0, y0, x1, y1;
} mc_box;

/*
 * For every class, the box holding its pixels in the target (valid
 * pixels only) and in the prediction (pixels whose target is valid).
 * t, p borrowed; box caller-owned (classes entries).
 */
void mc_boxes(const uint16_t *t, const uint16_t *p, int w, int h, int classes, mc_box *box);

/*
 * The surface distances of class c (A = prediction == c, B = target ==
 * c, ignored pixels outside both) computed on box widened by one pixel
 * (clipped to the image): the boundaries and their distances are those
 * of the whole image, since the widened box holds every pixel of both
 * masks and a margin of background. scratch caller-owned, at least
 * 2 * (box area with its margin) bytes. s owns its lists on success
 * (metric_surface_release).
 */
seg_status mc_surface(const uint16_t *t, const uint16_t *p, int w, int h, int c, const mc_box *box,
		      const double spacing[2], uint8_t *scratch, metric_surface *s, const seg_par *par,
		      seg_error *err);

/*
 * The multi-class error map: 0 where both are the background class
 * (index bg; -1: none), 1 where they agree on another class, 2 where a
 * class is predicted on background, 3 where the class is wrong
 * elsewhere, 4 where the target is SEG_IGNORE. t, p borrowed; out
 * caller-owned (n).
 */
void mc_errors(const uint16_t *t, const uint16_t *p, size_t n, int bg, uint8_t *out);

#endif
