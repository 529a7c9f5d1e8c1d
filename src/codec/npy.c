/*
 * npy.c — NumPy .npy (format versions 1.0, 2.0, 3.0) to masks, and back.
 *
 * The format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a
 * major and minor version byte, the header length (2 bytes little-endian
 * in 1.0, 4 bytes in 2.0 and 3.0), then the header: the repr of a Python
 * dict with exactly the keys 'descr', 'fortran_order' and 'shape', padded
 * with spaces and ended by '\n' so the data starts at a multiple of 64;
 * then the raw array.
 *
 * The header is read by npyhdr.c: a small recursive-descent reader over
 * a bounded (NPY_HEADER_MAX) string that accepts whitespace anywhere
 * between tokens, either quote style (no escapes: no valid key or descr
 * needs one), trailing commas, True/False, and integer tuples, including
 * Python 2's "3L", and never allocates. The dtype, the shape and the
 * pixel cap are all checked and the data length is compared with the
 * shape's exact need before the output arrays are allocated; then one
 * pass converts every element,
 * reading it with memcpy (the data need not be aligned) and swapping
 * bytes when the file's order is not the host's. Elements are visited in
 * row-major output order, C or Fortran layout alike, so the first bad
 * value reported is the first in reading order.
 */
#include "codec/npy.h"
#include "codec/npy_int.h"
#include "core/vmath.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_ALIGN 64            /* data offset alignment written by NumPy */
#define NPY_SUM_TOLERANCE 1e-3f /* per-class probabilities must sum to 1 within this */

int npy_is_npy(const uint8_t *data, size_t len)
{
	return len >= sizeof(npyh_magic) && memcmp(data, npyh_magic, sizeof(npyh_magic)) == 0;
}

/* ---- elements ---------------------------------------------------------- */

static inline uint64_t load_bits(const uint8_t *p, int size, int swap)
{
	switch (size) {
	case 1:
		return p[0];
	case 2: {
		uint16_t v;

		memcpy(&v, p, 2);
		return swap ? __builtin_bswap16(v) : v;
	}
	case 4: {
		uint32_t v;

		memcpy(&v, p, 4);
		return swap ? __builtin_bswap32(v) : v;
	}
	default: {
		uint64_t v;

		memcpy(&v, p, 8);
		return swap ? __builtin_bswap64(v) : v;
	}
	}
}

/* IEEE 754 binary16 to double: exact (every half is a double). */
static double half_to_double(uint16_t h)
{
	int sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (e == 0)
		v = ldexp((double)m, -24); /* subnormal (or zero) */
	else if (e == 31)
		v = m ? NAN : INFINITY;
	else
		v = ldexp((double)(m | 0x400), e - 25);
	return sign ? -v : v;
}

/*
 * n host-order halves at src (unaligned bytes) to floats: the half's
 * exponent and mantissa moved into a float's place and scaled by 2^112
 * (the difference of the biases), exact for normal and subnormal halves
 * alike; infinities and NaNs get the float's all-ones exponent. Every
 * half is a float, so this is half_to_double's value; the loop has no
 * branch and vectorises.
 */
SEG_CLONES static void half_to_float(const uint8_t *restrict src, float *restrict dst, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t h;
		memcpy(&h, src + 2 * i, 2);
		uint32_t em = (uint32_t)h & 0x7fffu, sign = ((uint32_t)h & 0x8000u) << 16;
		uint32_t bits = em << 13;
		float f;
		memcpy(&f, &bits, 4);
		f *= 0x1p112f;
		uint32_t out;
		memcpy(&out, &f, 4);
		out = em >= 0x7c00u ? bits | 0x7f800000u : out;
		out |= sign;
		memcpy(&dst[i], &out, 4);
	}
}

/* n bytes to floats (quantised probabilities, before the division by their sum). */
SEG_CLONES static void u8_to_float(const uint8_t *restrict src, float *restrict dst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (float)src[i];
}

static inline double load_float(const uint8_t *p, int size, int swap)
{
	uint64_t bits = load_bits(p, size, swap);

	if (size == 2)
		return half_to_double((uint16_t)bits);
	if (size == 4) {
		uint32_t b32 = (uint32_t)bits;
		float f;

		memcpy(&f, &b32, 4);
		return f;
	} else {
		double d;

		memcpy(&d, &bits, 8);
		return d;
	}
}

/* Byte offset of output pixel (r, c) in the data. */
static inline size_t elem_offset(const struct npy_header *h, size_t r, size_t c)
{
	size_t k = h->fortran ? c * (size_t)h->height + r : r * (size_t)h->width + c;

	return k * (size_t)h->dt.size;
}

/*
 * 64-bit labels to 1..K in order of first appearance: an open-addressing
 * map that doubles when half full. Only 8-byte integer targets need it;
 * narrower integers keep their bit pattern as the label.
 */
typedef struct label64 {
	uint64_t *keys; /* 0 = empty (0 is background, never a key) */
	uint32_t *vals;
	size_t mask;
	size_t used;
} label64;

static size_t label64_slot(const label64 *m, uint64_t key)
{
	size_t i = (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 17) & m->mask;

	while (m->keys[i] != 0 && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

static int label64_grow(label64 *m)
{
	size_t size = m->mask ? (m->mask + 1) * 2 : 1024;
	label64 big = {calloc(size, sizeof(uint64_t)), malloc(size * sizeof(uint32_t)), size - 1, m->used};

	if (big.keys == NULL || big.vals == NULL) {
		free(big.keys);
		free(big.vals);
		return -1;
	}
	for (size_t i = 0; m->keys && i <= m->mask; i++) {
		if (m->keys[i] == 0)
			continue;
		size_t j = label64_slot(&big, m->keys[i]);
		big.keys[j] = m->keys[i];
		big.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	*m = big;
	return 0;
}

/* The label of key (non-zero), adding it when new; 0 on allocation failure. */
static uint32_t label64_get(label64 *m, uint64_t key)
{
	size_t s;

	if ((m->used + 1) * 2 > m->mask + 1 && label64_grow(m) != 0)
		return 0;
	s = label64_slot(m, key);
	if (m->keys[s] == 0) {
		m->keys[s] = key;
		m->vals[s] = (uint32_t)++m->used;
	}
	return m->vals[s];
}

seg_status npy_decode_target(const uint8_t *data, size_t len, uint64_t max_pixels,
			     seg_target *out, seg_error *err)
{
	struct npy_header h;
	seg_target t = {0, 0, NULL, NULL, 0};
	label64 map = {NULL, NULL, 0, 0};
	const uint8_t *base;
	uint64_t first = 0, last_raw = 0;
	uint32_t last_label = 0;
	int many = 0, wide;
	seg_status st;

	memset(out, 0, sizeof(*out));
	st = npyh_read_mask(data, len, &h, err);
	if (st != SEG_OK)
		goto out;
	if (h.dt.kind == 'f') {
		st = seg_fail(err, SEG_EINVAL, "target .npy must be bool or integer, got %s", h.dt.name);
		goto out;
	}
	st = npyh_check_data(len, max_pixels, &h, 1, err);
	if (st != SEG_OK)
		goto out;
	t.width = (int)h.width;
	t.height = (int)h.height;
	t.fg = malloc((size_t)(h.height * h.width));
	t.labels = malloc((size_t)(h.height * h.width) * sizeof(uint32_t));
	if (t.fg == NULL || t.labels == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "npy: out of memory for a %llux%llu target",
			      (unsigned long long)h.width, (unsigned long long)h.height);
		goto out;
	}

	/*
	 * Any non-zero value is foreground, negative ones included. Up to 32
	 * bits the value's bit pattern is its label (distinct values stay
	 * distinct); 64-bit values are renumbered 1..K, since only their
	 * distinctness matters to instances.
	 */
	wide = h.dt.kind != 'b' && h.dt.size == 8;
	base = data + h.data_off;
	for (size_t r = 0; r < h.height; r++) {
		for (size_t c = 0; c < h.width; c++) {
			size_t i = r * (size_t)h.width + c;
			uint64_t v = load_bits(base + elem_offset(&h, r, c), h.dt.size, h.dt.swap);
			uint32_t label;

			if (h.dt.kind == 'b')
				v = v != 0;
			if (v == 0) {
				label = 0;
			} else if (!wide) {
				label = (uint32_t)v;
			} else if (v == last_raw) {
				label = last_label;
			} else {
				label = label64_get(&map, v);
				if (label == 0) {
					st = seg_fail(err, SEG_ENOMEM, "npy: out of memory for target labels");
					goto out;
				}
				last_raw = v;
				last_label = label;
			}
			t.fg[i] = v != 0;
			t.labels[i] = label;
			if (v != 0 && v != first) {
				if (first == 0)
					first = v;
				else
					many = 1;
			}
		}
	}
	if (!many) {
		free(t.labels);
		t.labels = NULL;
		t.fg_value = (uint32_t)first; /* the raw value; a 64-bit one may be cut to 32 bits */
	}
	*out = t;
	memset(&t, 0, sizeof(t));
out:
	free(map.keys);
	free(map.vals);
	seg_target_release(&t);
	return st;
}

seg_status npy_decode_pred(const uint8_t *data, size_t len, uint64_t max_pixels, int logits,
			   seg_pred *out, seg_error *err)
{
	struct npy_header h;
	seg_pred p = {0, 0, NULL};
	const uint8_t *base;
	seg_status st;

	memset(out, 0, sizeof(*out));
	st = npyh_read_mask(data, len, &h, err);
	if (st != SEG_OK)
		goto out;
	if (h.dt.kind != 'f') {
		st = seg_fail(err, SEG_EINVAL, "prediction .npy must be float32 or float64, got %s",
			      h.dt.name);
		goto out;
	}
	st = npyh_check_data(len, max_pixels, &h, 1, err);
	if (st != SEG_OK)
		goto out;
	p.width = (int)h.width;
	p.height = (int)h.height;
	p.p = malloc((size_t)(h.height * h.width) * sizeof(float));
	if (p.p == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "npy: out of memory for a %llux%llu prediction",
			      (unsigned long long)h.width, (unsigned long long)h.height);
		goto out;
	}

	base = data + h.data_off;
	for (size_t r = 0; r < h.height; r++) {
		for (size_t c = 0; c < h.width; c++) {
			double x = load_float(base + elem_offset(&h, r, c), h.dt.size, h.dt.swap);

			if (!isfinite(x)) {
				st = seg_fail(err, SEG_EINVAL, "prediction has value %g at row %zu, column %zu",
					      x, r, c);
				goto out;
			}
			if (logits)
				x = 1.0 / (1.0 + exp(-x));
			if (!(x >= 0.0 && x <= 1.0)) {
				st = seg_fail(err, SEG_EINVAL,
					      "prediction has value %g outside [0, 1] at row %zu, column %zu",
					      x, r, c);
				goto out;
			}
			p.p[r * (size_t)h.width + c] = (float)x;
		}
	}
	*out = p;
	memset(&p, 0, sizeof(p));
out:
	seg_pred_release(&p);
	return st;
}

seg_status npy_probe(const uint8_t *data, size_t len, npy_info *out, seg_error *err)
{
	struct npy_header h;
	seg_status st = npyh_read(data, len, &h, err);

	memset(out, 0, sizeof(*out));
	if (st != SEG_OK)
		return st;
	out->kind = h.dt.kind;
	out->size = h.dt.size;
	out->ndim = h.ndim;
	for (int k = 0; k < h.ndim && k < 3; k++)
		out->shape[k] = h.shape[k];
	snprintf(out->dtype, sizeof(out->dtype), "%s", h.dt.name);
	snprintf(out->shape_text, sizeof(out->shape_text), "%s", h.shape_text);
	return SEG_OK;
}

seg_status npy_decode_values(const uint8_t *data, size_t len, uint64_t max_pixels, const char *role,
			     uint32_t **values, int *width, int *height, seg_error *err)
{
	struct npy_header h;
	uint32_t *v = NULL;
	const uint8_t *base;
	seg_status st;

	*values = NULL;
	st = npyh_read_mask(data, len, &h, err);
	if (st != SEG_OK)
		goto out;
	if (h.dt.kind == 'f') {
		st = seg_fail(err, SEG_EINVAL, "%s .npy of labels must be bool or integer, got %s", role, h.dt.name);
		goto out;
	}
	st = npyh_check_data(len, max_pixels, &h, 1, err);
	if (st != SEG_OK)
		goto out;
	v = malloc((size_t)(h.height * h.width) * sizeof(*v));
	if (v == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "npy: out of memory for a %llux%llu label map",
			      (unsigned long long)h.width, (unsigned long long)h.height);
		goto out;
	}
	/* Values keep their 32-bit two's complement pattern, so a signed ignore label (-1, -100) stays comparable. */
	base = data + h.data_off;
	for (size_t r = 0; r < h.height; r++) {
		for (size_t c = 0; c < h.width; c++) {
			uint64_t bits = load_bits(base + elem_offset(&h, r, c), h.dt.size, h.dt.swap);
			int64_t x;
			if (h.dt.kind == 'b') {
				x = bits != 0;
			} else if (h.dt.kind == 'u') {
				if (h.dt.size == 8 && bits > UINT32_MAX) {
					st = seg_fail(err, SEG_EINVAL, "%s has value %llu at row %zu, column %zu: "
						      "too large for a class id", role, (unsigned long long)bits, r, c);
					goto out;
				}
				x = (int64_t)bits;
			} else {
				int shift = 64 - 8 * h.dt.size;
				x = (int64_t)(bits << shift) >> shift; /* sign extension */
				if (x < INT32_MIN || x > (int64_t)UINT32_MAX) {
					st = seg_fail(err, SEG_EINVAL, "%s has value %lld at row %zu, column %zu: "
						      "out of range for a class id", role, (long long)x, r, c);
					goto out;
				}
			}
			v[r * (size_t)h.width + c] = (uint32_t)x;
		}
	}
	*width = (int)h.width;
	*height = (int)h.height;
	*values = v;
	v = NULL;
out:
	free(v);
	return st;
}

/* Which axis of a 3-D shape holds the classes (0 or 2), or a precise error. */
static seg_status class_axis(const struct npy_header *h, int classes, int asked, int *axis, seg_error *err)
{
	int first = h->shape[0] == (uint64_t)classes, last = h->shape[2] == (uint64_t)classes;

	if (asked == 0 || asked == 2) {
		if (h->shape[asked] != (uint64_t)classes)
			return seg_fail(err, SEG_EINVAL,
					"prediction has shape %s: axis %d holds %llu classes but \"classes\" has %d",
					h->shape_text, asked, (unsigned long long)h->shape[asked], classes);
		*axis = asked;
		return SEG_OK;
	}
	if (first && last)
		return seg_fail(err, SEG_EINVAL,
				"prediction has shape %s: both the first and the last axis could hold the %d classes; "
				"set \"channel_axis\" to 0 (C, H, W) or -1 (H, W, C)",
				h->shape_text, classes);
	if (!first && !last)
		return seg_fail(err, SEG_EINVAL,
				"prediction has shape %s but \"classes\" has %d: expected (%d, H, W) or (H, W, %d)",
				h->shape_text, classes, classes, classes);
	*axis = first ? 0 : 2;
	return SEG_OK;
}

/* Checks the planes: finite logits, or probabilities in [0, 1] summing to 1 per pixel. */
static seg_status check_scores(const seg_scores *s, float *sum, seg_error *err)
{
	size_t n = (size_t)s->width * (size_t)s->height;

	for (size_t i = 0; i < n; i++)
		sum[i] = 0.0f;
	for (int c = 0; c < s->classes; c++) {
		const float *v = s->v + (size_t)c * n;
		int bad = 0;
		for (size_t i = 0; i < n; i++) {
			bad |= s->logits ? !isfinite(v[i]) : !(v[i] >= 0.0f && v[i] <= 1.0f);
			sum[i] += v[i];
		}
		if (!bad)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (s->logits ? !isfinite(v[i]) : !(v[i] >= 0.0f && v[i] <= 1.0f))
				return seg_fail(err, SEG_EINVAL, "prediction has value %g %sfor class %d at row %zu, column %zu",
						(double)v[i], s->logits ? "" : "outside [0, 1] ", c, i / (size_t)s->width,
						i % (size_t)s->width);
		}
	}
	if (s->logits)
		return SEG_OK;
	for (size_t i = 0; i < n; i++) {
		if (fabsf(sum[i] - 1.0f) > NPY_SUM_TOLERANCE)
			return seg_fail(err, SEG_EINVAL,
					"prediction's class probabilities sum to %.6g at row %zu, column %zu; they must sum "
					"to 1 within %g (send logits with kind \"logits\" to have the softmax applied)",
					(double)sum[i], i / (size_t)s->width, i % (size_t)s->width, NPY_SUM_TOLERANCE);
	}
	return SEG_OK;
}

/*
 * uint8 probabilities: each pixel's C values v_c sum to 255 within C/2
 * (each rounded to the nearest 1/255, the total is off by at most C/2);
 * then p_c = v_c / Σv, so the pixel sums to 1 again.
 */
static seg_status dequantise(seg_scores *s, float *sum, seg_error *err)
{
	size_t n = (size_t)s->width * (size_t)s->height;
	double tol = (double)s->classes / 2.0;

	for (size_t i = 0; i < n; i++)
		sum[i] = 0.0f;
	for (int c = 0; c < s->classes; c++) {
		const float *v = s->v + (size_t)c * n;
		for (size_t i = 0; i < n; i++)
			sum[i] += v[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (fabs((double)sum[i] - 255.0) > tol || sum[i] == 0.0f)
			return seg_fail(err, SEG_EINVAL,
					"prediction's quantised class probabilities sum to %.0f/255 at row %zu, column %zu; "
					"they must sum to 255/255 within %d classes/2 = %g",
					(double)sum[i], i / (size_t)s->width, i % (size_t)s->width, s->classes, tol);
		sum[i] = 1.0f / sum[i];
	}
	for (int c = 0; c < s->classes; c++) {
		float *v = s->v + (size_t)c * n;
		for (size_t i = 0; i < n; i++)
			v[i] *= sum[i];
	}
	return SEG_OK;
}

seg_status npy_decode_scores(const uint8_t *data, size_t len, uint64_t max_pixels, int classes, int channel_axis,
			     int logits, seg_scores *out, seg_error *err)
{
	struct npy_header h;
	seg_scores s = {0, 0, 0, 0, NULL};
	float *sum = NULL;
	int axis = 0;
	seg_status st;

	memset(out, 0, sizeof(*out));
	st = npyh_read(data, len, &h, err);
	if (st != SEG_OK)
		goto out;
	/* uint8 is quantised probabilities: v/255, the pixel's values renormalised (checked below). */
	int quantised = h.dt.kind == 'u' && h.dt.size == 1;
	if (h.dt.kind != 'f' && !quantised) {
		st = seg_fail(err, SEG_EINVAL,
			      "prediction .npy of per-class scores must be float16, float32, float64 or uint8 "
			      "(quantised probabilities), got %s",
			      h.dt.name);
		goto out;
	}
	if (quantised && logits) {
		st = seg_fail(err, SEG_EINVAL, "prediction: uint8 per-class scores are quantised probabilities, not logits");
		goto out;
	}
	if (h.ndim != 3) {
		st = seg_fail(err, SEG_EINVAL, "prediction has shape %s: per-class scores are (C, H, W) or (H, W, C)",
			      h.shape_text);
		goto out;
	}
	st = class_axis(&h, classes, channel_axis, &axis, err);
	if (st != SEG_OK)
		goto out;
	h.height = axis == 0 ? h.shape[1] : h.shape[0];
	h.width = axis == 0 ? h.shape[2] : h.shape[1];
	st = npyh_check_data(len, max_pixels, &h, (uint64_t)classes, err);
	if (st != SEG_OK)
		goto out;
	size_t n = (size_t)(h.height * h.width), C = (size_t)classes;
	s.width = (int)h.width;
	s.height = (int)h.height;
	s.classes = classes;
	s.logits = logits;
	s.v = malloc(n * C * sizeof(float));
	sum = malloc(n * sizeof(float));
	if (s.v == NULL || sum == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "npy: out of memory for %d classes of %llux%llu", classes,
			      (unsigned long long)h.width, (unsigned long long)h.height);
		goto out;
	}
	const uint8_t *base = data + h.data_off;
	if (axis == 0 && !h.fortran && h.dt.size == 4 && !h.dt.swap && !quantised) {
		memcpy(s.v, base, n * C * sizeof(float)); /* (C, H, W) float32 in host order: the planes as they are */
	} else if (axis == 0 && !h.fortran && (quantised || (h.dt.size == 2 && !h.dt.swap))) {
		/* (C, H, W) uint8 or float16 in host order: one conversion loop over the planes. */
		if (quantised)
			u8_to_float(base, s.v, n * C);
		else
			half_to_float(base, s.v, n * C);
	} else {
		/* Element (i0, i1, i2) of shape (s0, s1, s2): C order ((i0 s1) + i1) s2 + i2, Fortran i0 + s0 (i1 + s1 i2). */
		size_t s0 = (size_t)h.shape[0], s1 = (size_t)h.shape[1], s2 = (size_t)h.shape[2];
		for (size_t c = 0; c < C; c++) {
			float *plane = s.v + c * n;
			for (size_t i = 0; i < n; i++) {
				size_t y = i / (size_t)h.width, x = i % (size_t)h.width;
				size_t i0 = axis == 0 ? c : y, i1 = axis == 0 ? y : x, i2 = axis == 0 ? x : c;
				size_t k = h.fortran ? i0 + s0 * (i1 + s1 * i2) : (i0 * s1 + i1) * s2 + i2;
				plane[i] = quantised ? (float)base[k]
						     : (float)load_float(base + k * (size_t)h.dt.size, h.dt.size, h.dt.swap);
			}
		}
	}
	st = quantised ? dequantise(&s, sum, err) : check_scores(&s, sum, err);
	if (st != SEG_OK)
		goto out;
	*out = s;
	memset(&s, 0, sizeof(s));
out:
	free(sum);
	seg_scores_release(&s);
	return st;
}

/* ---- encoding ---------------------------------------------------------- */

/* A version 1.0, little-endian, C-order (h, w) array of elements of size bytes (descr "<f4", "|u1", "<u2"). */
/*
 * Appends the header of a (h, w) array of descr to out, with room
 * reserved for extra more bytes after it; *hsize receives its length.
 */
static seg_status encode_header(const char *descr, size_t size, int w, int h, size_t extra, buf *out, size_t *hsize,
				seg_error *err)
{
	char dict[128];
	size_t n;
	size_t pad;
	size_t hlen;
	size_t count;
	uint8_t pre[10];
	seg_status st;

	if (w < 1 || h < 1 || w > SEG_MAX_SIDE || h > SEG_MAX_SIDE)
		return seg_fail(err, SEG_EINVAL, "npy: cannot encode a %dx%d map", w, h);
	count = (size_t)w * (size_t)h;
	if (count > (SIZE_MAX - 4096) / size)
		return seg_fail(err, SEG_ETOOBIG, "npy: a %dx%d map is too large", w, h);
	n = (size_t)snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }",
			     descr, h, w);
	/* magic + version + length + dict + padding + '\n' is a multiple of NPY_ALIGN. */
	pad = (NPY_ALIGN - (sizeof(pre) + n + 1) % NPY_ALIGN) % NPY_ALIGN;
	hlen = n + pad + 1;

	st = buf_reserve(out, sizeof(pre) + hlen + extra);
	if (st != SEG_OK)
		return seg_fail(err, st, "npy: no room for a %dx%d map (%zu bytes)", w, h, sizeof(pre) + hlen + extra);
	memcpy(pre, npyh_magic, sizeof(npyh_magic));
	pre[6] = 1;
	pre[7] = 0;
	pre[8] = (uint8_t)(hlen & 0xff);
	pre[9] = (uint8_t)(hlen >> 8);
	memcpy(out->data + out->len, pre, sizeof(pre));
	out->len += sizeof(pre);
	memcpy(out->data + out->len, dict, n);
	out->len += n;
	memset(out->data + out->len, ' ', pad);
	out->len += pad;
	out->data[out->len++] = '\n';
	out->data[out->len] = '\0';
	*hsize = sizeof(pre) + hlen;
	return SEG_OK;
}

static seg_status encode_array(const void *v, const char *descr, size_t size, int w, int h, buf *out, seg_error *err)
{
	size_t count = (size_t)w * (size_t)h, hsize;
	seg_status st;

	if (v == NULL)
		return seg_fail(err, SEG_EINVAL, "npy: cannot encode a %dx%d map", w, h);
	st = encode_header(descr, size, w, h, w > 0 && h > 0 ? count * size : 0, out, &hsize, err);
	if (st != SEG_OK)
		return st;
	if (!npyh_host_big_endian() || size == 1) {
		memcpy(out->data + out->len, v, count * size);
		out->len += count * size;
	} else {
		const uint8_t *src = v;
		for (size_t i = 0; i < count; i++)
			for (size_t b = 0; b < size; b++)
				out->data[out->len++] = src[i * size + size - 1 - b];
	}
	out->data[out->len] = '\0';
	return SEG_OK;
}

seg_status npy_header_f32(int w, int h, buf *out, int *raw, seg_error *err)
{
	size_t hsize;

	*raw = !npyh_host_big_endian();
	return encode_header("<f4", sizeof(float), w, h, 0, out, &hsize, err);
}

seg_status npy_encode_f32(const float *v, int w, int h, buf *out, seg_error *err)
{
	return encode_array(v, "<f4", sizeof(float), w, h, out, err);
}

seg_status npy_encode_u8(const uint8_t *v, int w, int h, buf *out, seg_error *err)
{
	return encode_array(v, "|u1", 1, w, h, out, err);
}

seg_status npy_encode_u16(const uint16_t *v, int w, int h, buf *out, seg_error *err)
{
	return encode_array(v, "<u2", 2, w, h, out, err);
}
