/*
 * distloss.h — the losses built on distance maps of the masks.
 */
#ifndef DISTLOSS_H
#define DISTLOSS_H

#include <stddef.h>
#include <stdint.h>

#include "core/par.h"
#include "core/seg.h"

/*
 * par (may be NULL) parallelises the distance transforms in every function below.
 *
 * Distance field of a binary mask M (borrowed, w*h, non-zero = in M):
 *   d_M(x) = EDT(M)(x) + EDT(¬M)(x),
 * i.e. the distance to the nearest pixel on the other side of M's edge;
 * 0 everywhere when M is empty or full. out caller-owned (w*h).
 */
seg_status dist_field(const uint8_t *mask, int w, int h, double *out, const seg_par *par, seg_error *err);

/*
 * hausdorff_dt (Karimi & Salcudean 2019): with P = (p >= 0.5),
 *   mean (p − y)² (d_P^α + d_y^α).
 * y, p borrowed (w*h).
 */
seg_status dist_hausdorff_dt(const uint8_t *y, const float *p, int w, int h, double alpha, double *loss,
			     const seg_par *par, seg_error *err);

/*
 * Signed distance map of the target G (Kervadec et al. 2019):
 *   φ = EDT(¬G)·[¬G] − (EDT(G) − 1)·[G],
 * positive outside G, ≤ 0 inside; φ = 0 when G is empty or full.
 * y borrowed, phi caller-owned (w*h).
 */
seg_status dist_signed_map(const uint8_t *y, int w, int h, double *phi, const seg_par *par, seg_error *err);

/* boundary: mean φ·p. y, p borrowed (w*h). */
seg_status dist_boundary(const uint8_t *y, const float *p, int w, int h, double *loss, const seg_par *par,
			 seg_error *err);

#endif
