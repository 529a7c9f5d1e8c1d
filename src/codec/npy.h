/*
 * npy.h — NumPy .npy arrays into masks, and float32 maps out.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0; little- and
 * big-endian; C and Fortran order; shapes (H, W), (1, H, W) and
 * (H, W, 1); dtypes bool, int8/16/32/64, uint8/16/32/64, float32 and
 * float64. The header is parsed strictly (a Python dict literal with the
 * keys descr, fortran_order and shape) and the data length must match the
 * shape exactly. The pixel cap is checked before allocation.
 *
 * Targets: bool or integer; non-zero (negative included) is foreground.
 * Up to 32 bits the value's bit pattern is the instance label; 64-bit
 * values are renumbered 1..K in order of first appearance, so distinct
 * values always stay distinct instances. Float targets are rejected with
 * SEG_EINVAL.
 *
 * Predictions: float32 or float64 in [0, 1]; with logits, p = 1/(1+e^-x)
 * first. NaN, infinity and values outside [0, 1] are SEG_EINVAL naming the
 * first offending row and column; integer and bool predictions are
 * rejected with SEG_EINVAL.
 */
#ifndef NPY_H
#define NPY_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/seg.h"

/* True when data starts with the .npy magic "\x93NUMPY". */
int npy_is_npy(const uint8_t *data, size_t len);

/* Decodes a target. data borrowed; *out owns new arrays on success, zeroed on error. */
seg_status npy_decode_target(const uint8_t *data, size_t len, uint64_t max_pixels,
			     seg_target *out, seg_error *err);

/* Decodes a prediction (see above). data borrowed; *out owns new memory on success. */
seg_status npy_decode_pred(const uint8_t *data, size_t len, uint64_t max_pixels, int logits,
			   seg_pred *out, seg_error *err);

/* Appends a version 1.0, little-endian, C-order float32 (h, w) .npy of v (borrowed) to out. */
seg_status npy_encode_f32(const float *v, int w, int h, buf *out, seg_error *err);

#endif
