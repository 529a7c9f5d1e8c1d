/*
 * coco.h — COCO masks as pycocotools reads and writes them
 * (cocodataset/cocoapi common/maskApi.c): run-length counts, their
 * compressed string form, and polygons rasterised exactly as rleFrPoly
 * does.
 *
 * Counts describe an h x w mask in column-major order (pixel (x, y) is
 * index x*h + y) as alternating runs of 0s and 1s, starting with 0s (the
 * first count is 0 when pixel (0, 0) is set). Every decoder here checks
 * what pycocotools does not: the counts sum to exactly h*w (pycocotools
 * writes past its buffer when they sum to more, and leaves pixels
 * uninitialised when they sum to less). Masks are row-major uint8, 0 or
 * 1, h*w long. Messages name the field ("counts[4] is -2: ...") and are
 * written for a caller that prefixes where the field came from.
 */
#ifndef COCO_H
#define COCO_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/* rleToString never writes more than 7 characters for one count (a 33-bit signed delta). */
#define COCO_COUNT_CHARS_MAX 7

/* Boundary steps a polygon walk may take per image pixel (see coco_poly_budget). */
#define COCO_WALK_PER_PIXEL 16

/* Polygon points may lie up to max(h, w, this) pixels beyond the image's edges. */
#define COCO_POLY_SLACK_MIN 1024

/*
 * pixels start, start + step, ..., start + (len - 1) * step of a row-major
 * mask (a run of 1s); how decoders hand their output to a painter.
 */
typedef void (*coco_span_fn)(void *ctx, size_t start, size_t step, size_t len);

/*
 * SEG_OK when an image of h rows and w columns is allowed: both at least 1
 * (SEG_EINVAL), at most SEG_MAX_SIDE and h*w <= max_pixels (SEG_ETOOBIG).
 */
seg_status coco_check_size(int64_t h, int64_t w, uint64_t max_pixels, seg_error *err);

/*
 * Converts counts[i] as JSON gives it (a double) to a count: SEG_EINVAL
 * unless v is a whole number in [0, 4294967295] (pycocotools casts to
 * uint32 silently, so -1 would become 4294967295).
 */
seg_status coco_count_from_double(double v, size_t i, uint32_t *out, seg_error *err);

/*
 * SEG_OK when counts (borrowed, n) sum to exactly h*w; otherwise
 * SEG_EINVAL "counts sum to 13 but size [3, 4] has 12 pixels".
 */
seg_status coco_counts_check(const uint32_t *counts, size_t n, int h, int w, seg_error *err);

/*
 * Checks counts (borrowed) as coco_counts_check, then calls fn for the
 * 1s as horizontal spans (step 1), strip of 64 columns by strip, rows top
 * to bottom within a strip. Nothing is called when the check fails.
 * SEG_ENOMEM (a word per image row is allocated for the strips).
 */
seg_status coco_spans(const uint32_t *counts, size_t n, int h, int w, coco_span_fn fn, void *ctx,
		      seg_error *err);

/* Decodes counts (borrowed) into mask (caller-owned, h*w, row-major, 0/1); untouched when the check fails. */
seg_status coco_decode(const uint32_t *counts, size_t n, int h, int w, uint8_t *mask, seg_error *err);

/*
 * Encodes mask (borrowed, h*w row-major; non-zero is 1) as rleEncode does.
 * *counts is a new array the caller frees with free(), *n its length
 * (at least 1). SEG_ENOMEM.
 */
seg_status coco_encode(const uint8_t *mask, int h, int w, uint32_t **counts, size_t *n, seg_error *err);

/*
 * rleToString of counts (borrowed): *out is a new NUL-terminated string (caller frees with
 * free()), *len its length without the NUL (len may be NULL). SEG_ENOMEM.
 */
seg_status coco_to_string(const uint32_t *counts, size_t n, char **out, size_t *len, seg_error *err);

/*
 * rleFrString on s[0..len) (borrowed): *counts is a new array (caller
 * frees with free(); NULL when n is 0), *n its length. SEG_EINVAL for a
 * character outside '0'..'o', a string ending in the middle of a count,
 * a count longer than COCO_COUNT_CHARS_MAX characters, or a count that
 * decodes outside [0, 4294967295]. The sum is not checked here.
 */
seg_status coco_from_string(const char *s, size_t len, uint32_t **counts, size_t *n, seg_error *err);

/*
 * The walk budget for the polygons of one image: COCO_WALK_PER_PIXEL
 * steps per pixel, at least 2^20. A polygon's walk takes one step per
 * scaled unit along each edge's longer axis (about 5 per pixel of
 * perimeter), so this only stops inputs built to be slow.
 */
uint64_t coco_poly_budget(int h, int w);

/*
 * Rasterises one polygon xy[0..n_coords) (borrowed: x1, y1, x2, y2, ...)
 * on an h x w image exactly as rleFrPoly: vertices scaled by 5 and
 * rounded as C's (int)(v + .5), every edge walked one step at a time
 * along its longer axis, and for each integer column crossed inside the
 * image the row where the boundary crosses it kept; the sorted crossings
 * become counts. *counts is a new array (caller frees with free()), *n
 * its length; they always sum to h*w.
 *
 * Refused (SEG_EINVAL): an odd number of coordinates; 4 numbers
 * (pycocotools reads such a list as a box [x, y, w, h]); fewer than 3
 * points; a coordinate that is NaN, infinite or farther than
 * max(h, w, COCO_POLY_SLACK_MIN) beyond an edge of the image (points a
 * little outside are common and rasterised as pycocotools does). SEG_ETOOBIG: more than max_vertices
 * points, or a walk longer than what is left of *budget (which this call
 * decreases by its own walk). SEG_ENOMEM.
 */
seg_status coco_poly_to_counts(const double *xy, size_t n_coords, int h, int w, size_t max_vertices,
			       uint64_t *budget, uint32_t **counts, size_t *n, seg_error *err);

#endif
