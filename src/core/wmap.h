/*
 * wmap.h — the U-Net weight map (Ronneberger et al. 2015):
 *
 *   w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))
 *
 * d1, d2: distances from x to the nearest pixel of the nearest and of the
 * second-nearest instance. The border term is added on background pixels
 * only, and only when the target holds two or more instances.
 */
#ifndef WMAP_H
#define WMAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/par.h"
#include "core/seg.h"

typedef enum wmap_class_mode {
	WMAP_CLASS_BALANCED, /* w_c = min_k n_k / n_c; a missing class gives 1 everywhere */
	WMAP_CLASS_NONE,     /* w_c = 1 */
	WMAP_CLASS_FIXED,    /* w_c = class_w[c] */
} wmap_class_mode;

typedef enum wmap_instances {
	WMAP_INST_AUTO,       /* labels when the target has them (seg_target), else components */
	WMAP_INST_LABELS,     /* each distinct non-zero value is one instance */
	WMAP_INST_COMPONENTS, /* connected components of the foreground */
} wmap_instances;

typedef struct wmap_params {
	double w0;          /* >= 0, default 10 */
	double sigma;       /* > 0, default 5 */
	int class_mode;     /* wmap_class_mode, default balanced */
	double class_w[2];  /* [background, foreground] for WMAP_CLASS_FIXED */
	int instances;      /* wmap_instances, default auto */
	int connectivity;   /* 4 or 8, default 8 */
} wmap_params;

/* What the computation found, for reports and tests. */
typedef struct wmap_info {
	uint32_t instances;  /* K */
	double class_w[2];   /* the class weights applied (background, foreground) */
	double reach;        /* D: distances beyond it were not computed */
	size_t band_pixels;  /* sum over instances of band areas */
} wmap_info;

/* Absolute error bound of the band-limited border term. */
#define WMAP_TOL 1e-6

/* Fills p with the defaults above (w0 10, sigma 5, balanced, auto, 8). */
void wmap_params_default(wmap_params *p);

/*
 * Computes the weight map of target t (borrowed) into w (caller-owned,
 * width*height floats). info may be NULL. Each instance's distances are
 * computed only inside its bounding box widened by
 *   D = sigma * sqrt(2 ln(w0 / WMAP_TOL)),
 * past which the border term is below WMAP_TOL, so the map equals the
 * full per-instance computation to within WMAP_TOL. Memory beyond w: one
 * label image (4 bytes/pixel), one float of second distances
 * (4 bytes/pixel) and the largest band.
 * Errors: SEG_EINVAL for bad parameters, SEG_ENOMEM.
 */
seg_status wmap_compute(const seg_target *t, const wmap_params *p, float *w, wmap_info *info,
			seg_error *err);

/*
 * The same with a class weight per pixel: w_c(x) = cw[x] (borrowed, w*h)
 * in place of p's class weights, for class maps whose C classes are
 * balanced by the caller.
 */
seg_status wmap_compute_weighted(const seg_target *t, const wmap_params *p, const float *cw, float *w,
				 wmap_info *info, seg_error *err);

/*
 * Either of the above (cw may be NULL) with the bands' work shared among
 * par's lanes (par may be NULL: this thread): rows of the map go to
 * tasks that each visit the bands reaching them, so the map is the same
 * with any number of lanes. Each running task holds scratch for its
 * rows' part of the largest band.
 */
seg_status wmap_run(const seg_target *t, const wmap_params *p, const float *cw, const seg_par *par, float *w,
		    wmap_info *info, seg_error *err);

/* SEG_EINVAL with a message when p is out of range. */
seg_status wmap_params_check(const wmap_params *p, seg_error *err);

#endif
