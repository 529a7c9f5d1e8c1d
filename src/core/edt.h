/*
 * edt.h — exact Euclidean distance transforms (Felzenszwalb–Huttenlocher).
 *
 * The transform is separable: a column pass finds, for every pixel, how
 * many rows away the nearest feature pixel of its own column lies; a row
 * pass then takes the lower envelope of the parabolas (s_c (x - i))^2 +
 * (s_r g(i))^2 over the row. Both passes are linear, so the whole
 * transform is O(width * height), exact (no chamfer approximation), with
 * anisotropic pixel spacing.
 */
#ifndef EDT_H
#define EDT_H

#include <stddef.h>
#include <stdint.h>

#include "core/par.h"
#include "core/seg.h"

/* Column distance meaning "no feature pixel in this column". */
#define EDT_FAR INT32_C(0x3fffffff)

/*
 * Scratch for the row pass: rows up to cap pixels. Caller-allocated
 * struct; edt_scratch_init allocates the arrays (SEG_ENOMEM),
 * edt_scratch_release frees them (idempotent).
 */
typedef struct edt_scratch {
	int cap;
	double *v;     /* parabola apexes (column indices), cap */
	double *z;     /* envelope boundaries, cap + 1 */
	double *h;     /* f(v) + (sx v)^2 of each envelope parabola, cap */
	double *f;     /* f(v) of each envelope parabola, cap + 1 (segment_unit's zd needs the top's sentinel) */
	double *recip; /* recip[d] = 1/d for d in 1..cap-1 */
} edt_scratch;

seg_status edt_scratch_init(edt_scratch *s, int cap);
void edt_scratch_release(edt_scratch *s);

/*
 * Row pass on one row of n column distances g (borrowed; EDT_FAR for
 * none): writes to d2 (caller-owned, n doubles) the squared distance
 * min_i (sx (x - i))^2 + (sy g[i])^2, or INFINITY when the row holds no
 * finite g. s must have cap >= n.
 */
void edt_row(const int32_t *g, int n, double sy, double sx, double *d2, edt_scratch *s);

/*
 * edt_row for a row of n columns whose only column distances other than
 * EDT_FAR are among the m columns off..off+m-1, given as g[0..m)
 * (borrowed): the same values in d2 (caller-owned, n doubles), while the
 * work on the columns outside grows only with their count. For the weight
 * map's bands, whose margins hold no pixel of their instance.
 */
void edt_row_span(const int32_t *g, int m, int off, int n, double sy, double sx, double *d2, edt_scratch *s);

/*
 * Distance transform of a whole image. mask (borrowed, w*h) selects the
 * feature pixels: those with (mask[i] != 0) == (want != 0). out
 * (caller-owned, w*h doubles) receives, for each pixel, the Euclidean
 * distance to the nearest feature pixel, with rows spacing[0] apart and
 * columns spacing[1] apart (spacing may be NULL for [1, 1]); feature
 * pixels get 0; every pixel gets INFINITY when there is no feature pixel.
 *
 * With want = 0 this is scipy.ndimage.distance_transform_edt(mask).
 * par (may be NULL) runs the column and row passes in parallel.
 */
seg_status edt_dist(const uint8_t *mask, int w, int h, int want, const double *spacing, double *out,
		    const seg_par *par, seg_error *err);

/*
 * Like edt_dist, but the distances are wanted only at the pixels where
 * at[i] == 1 (at borrowed, w*h, holding 0 or 1): they are written to out (caller-owned,
 * one double per such pixel) in raster order. Rows without such a pixel
 * skip the row pass; in the others each wanted pixel first searches
 * outward along the row for its nearest feature, within a budget of
 * `width` steps per row, and the row takes the envelope only when that
 * budget runs out. The values are edt_dist's (bit for bit when the
 * spacing makes every candidate exact, as unit spacing does; else within
 * rounding where two features tie). Used for surface distances, where
 * only boundary pixels matter.
 */
seg_status edt_sample(const uint8_t *mask, int w, int h, int want, const double *spacing, const uint8_t *at,
		      double *out, const seg_par *par, seg_error *err);

#endif
