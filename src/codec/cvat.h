/*
 * cvat.h — CVAT mask shapes (cvat-ai/cvat: cvat-sdk/cvat_sdk/masks.py
 * encode_mask; cvat/apps/dataset_manager/formats/cvat.py, the <mask>
 * element).
 *
 * A mask shape's "points" are run-length counts of the mask inside its
 * box, row-major within the box, alternating 0s and 1s and starting
 * with 0s, followed by the box as left, top, right, bottom: inclusive
 * pixel coordinates, which CVAT stores as floats and reads truncated
 * toward zero. The XML export writes the same shape as the attributes
 * rle="c1, c2, ..." left, top, width and height (right = left + width - 1).
 *
 * Refused: a box not inside the image (or with right < left, bottom <
 * top), a count that is negative, fractional or not finite, counts that
 * cover more or fewer pixels than the box has, fewer than 5 numbers.
 * Masks are row-major uint8 (0/1) of the whole image.
 */
#ifndef CVAT_H
#define CVAT_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/* A box in image pixels, both ends included. */
typedef struct cvat_box {
	int left;
	int top;
	int right;
	int bottom;
} cvat_box;

/* Pixels start, start + step, ... (len of them) of the row-major image: a run of 1s. */
typedef void (*cvat_span_fn)(void *ctx, size_t start, size_t step, size_t len);

/*
 * Checks points[0..n) (borrowed) for an img_w x img_h image and writes the
 * box to *box (may be NULL). SEG_EINVAL naming the field and the reason.
 */
seg_status cvat_check(const double *points, size_t n, int img_w, int img_h, cvat_box *box, seg_error *err);

/* Checks points (borrowed) as cvat_check, then calls fn for every row piece of every run of 1s; nothing on error. */
seg_status cvat_spans(const double *points, size_t n, int img_w, int img_h, cvat_span_fn fn, void *ctx,
		      seg_error *err);

/* Decodes points (borrowed) into mask (caller-owned, img_w*img_h, row-major); untouched on error. */
seg_status cvat_decode(const double *points, size_t n, int img_w, int img_h, uint8_t *mask, seg_error *err);

/*
 * The XML form: rle[0..rle_len) (borrowed) is "c1, c2, ..." (decimal
 * counts separated by commas, spaces allowed around them); left, top,
 * width and height whole numbers, width and height at least 1. *points is
 * a new array (caller frees with free()) in the points form, *n its
 * length. Only the syntax is checked here: cvat_check does the rest.
 */
seg_status cvat_points_from_xml(const char *rle, size_t rle_len, double left, double top, double width,
				double height, double **points, size_t *n, seg_error *err);

/*
 * Encodes mask (borrowed, img_w*img_h, non-zero is 1) inside box as
 * encode_mask does: *points is a new array (caller frees with free()) of
 * the counts then left, top, right, bottom; *n its length. SEG_EINVAL
 * when box is not inside the image, SEG_ENOMEM.
 */
seg_status cvat_encode(const uint8_t *mask, int img_w, int img_h, const cvat_box *box, double **points,
		       size_t *n, seg_error *err);

/* The tight box of mask's (borrowed, img_w*img_h) non-zero pixels into *box; SEG_EINVAL when the mask is empty. */
seg_status cvat_box_of(const uint8_t *mask, int img_w, int img_h, cvat_box *box, seg_error *err);

#endif
