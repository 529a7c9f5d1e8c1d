/*
 * npy.h — NumPy .npy arrays into masks, and float32 maps out.
 *
 * Reading accepts format versions 1.0, 2.0 and 3.0; little- and
 * big-endian; C and Fortran order; shapes (H, W), (1, H, W) and
 * (H, W, 1); dtypes bool, int8/16/32/64, uint8/16/32/64, float16,
 * float32 and float64. The header is parsed strictly (a Python dict literal with the
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

/* What a .npy holds, read from its header alone. */
typedef struct npy_info {
	char kind;           /* 'b' bool, 'u' unsigned, 'i' signed, 'f' float */
	int size;            /* bytes per element */
	int ndim;
	uint64_t shape[3];   /* the first three dimensions */
	char dtype[16];      /* NumPy's name: "uint8", "float32" */
	char shape_text[96]; /* "(3, 64, 64)" */
} npy_info;

/* Reads the header of data (borrowed). SEG_EDECODE for a malformed one. */
seg_status npy_probe(const uint8_t *data, size_t len, npy_info *out, seg_error *err);

/*
 * Decodes a bool or integer mask's values exactly: *values (caller frees
 * with free()) holds width*height values as 32-bit patterns (a signed
 * value keeps its two's complement, so -1 and -100 stay comparable with
 * an ignore label). A 64-bit value outside [-2^31, 2^32) is SEG_EINVAL
 * naming it and its pixel; role names the upload in messages.
 */
seg_status npy_decode_values(const uint8_t *data, size_t len, uint64_t max_pixels, const char *role,
			     uint32_t **values, int *width, int *height, seg_error *err);

/* channel_axis for npy_decode_scores: find it from the class count. */
#define NPY_AXIS_AUTO (-1)

/*
 * Decodes per-class scores: a float16, float32 or float64 array (or a
 * uint8 one of quantised probabilities: v/255, each pixel's sum within
 * C/2 of 255, then renormalised) of shape (C, H, W)
 * (channel_axis 0) or (H, W, C) (channel_axis 2), C = classes; with
 * NPY_AXIS_AUTO the axis whose size is C, an error naming the shape when
 * both or neither are. Probabilities must lie in [0, 1] and sum to 1 per
 * pixel within 1e-3; logits must be finite; each violation is SEG_EINVAL
 * naming the class, row and column. *out owns class-major planes on
 * success (seg_scores_release). max_pixels caps H*W.
 */
seg_status npy_decode_scores(const uint8_t *data, size_t len, uint64_t max_pixels, int classes, int channel_axis,
			     int logits, seg_scores *out, seg_error *err);

/* Appends a version 1.0, little-endian, C-order float32 (h, w) .npy of v (borrowed) to out. */
seg_status npy_encode_f32(const float *v, int w, int h, buf *out, seg_error *err);

/*
 * Appends only the header of npy_encode_f32's file to out. *raw is 1 when
 * this host stores floats little-endian: the file is then the header
 * followed by v's bytes as they are in memory, which a caller can write
 * without a copy; when 0 it must use npy_encode_f32.
 */
seg_status npy_header_f32(int w, int h, buf *out, int *raw, seg_error *err);

/* The same for uint8 and uint16 maps (masks, class ids, error classes). */
seg_status npy_encode_u8(const uint8_t *v, int w, int h, buf *out, seg_error *err);
seg_status npy_encode_u16(const uint16_t *v, int w, int h, buf *out, seg_error *err);

#endif
