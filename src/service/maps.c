/*
 * maps.c — computing and encoding an answer's maps.
 *
 * Float maps come from the core (eval_map) and leave as float32 .npy or
 * a viridis heatmap whose scale the object states (and a fixed "range"
 * sets). Categorical maps are small integers: the hard prediction (0/1,
 * or each pixel's class id when multi-class) and the errors map, which
 * leave as .npy, as a grey PNG (the mask: 0/255, or class ids at 8 or 16
 * bits, ready to be sent back as a mask) or a palette PNG whose colours
 * are the legend (the errors: transparent where nothing is wrong to show,
 * so it can lie over the image), or as COCO RLE: one RLE per value, as
 * pycocotools writes them, so annotation tools draw them without
 * decoding an image.
 */
#include "service/maps.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/b64.h"
#include "codec/coco.h"
#include "codec/npy.h"
#include "codec/pngio.h"
#include "core/eval.h"
#include "core/mclass.h"

/* Okabe and Ito: transparent, bluish green, vermillion, blue; grey for ignored pixels. */
const uint32_t maps_errors_palette[5] = {0x00000000u, 0x009e73ffu, 0xd55e00ffu, 0x0072b2ffu, 0x999999a0u};

static const char *const errors_binary[4] = {"true_negative", "true_positive", "false_positive", "false_negative"};
static const char *const errors_multi[5] = {"background_right", "class_right", "predicted_on_background",
					    "wrong_class", "ignored"};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void maps_stats(const float *v, size_t n, double *lo, double *hi, double *mean)
{
	double a = INFINITY, b = -INFINITY, s = 0.0;

	for (size_t i = 0; i < n; i++) {
		a = v[i] < a ? v[i] : a;
		b = v[i] > b ? v[i] : b;
		s += v[i];
	}
	*lo = a;
	*hi = b;
	*mean = s / (double)n;
}

cJSON *maps_b64(const buf *raw)
{
	size_t n = b64_encoded_len(raw->len);
	char *text = malloc(n + 1);
	cJSON *s;

	if (text == NULL)
		return NULL;
	b64_encode(raw->data, raw->len, text);
	s = cJSON_CreateString(text);
	free(text);
	return s;
}

/* Adds "data": base64 of raw to obj; SEG_ENOMEM. */
static seg_status add_data(cJSON *obj, const buf *raw, seg_error *err)
{
	cJSON *data = maps_b64(raw);

	if (data == NULL || !cJSON_AddItemToObject(obj, "data", data)) {
		cJSON_Delete(data);
		return seg_fail(err, SEG_ENOMEM, "out of memory encoding a map");
	}
	return SEG_OK;
}

static void add_shape(cJSON *obj, int h, int w, int depth)
{
	int shape[3] = {h, w, depth};
	cJSON_AddItemToObject(obj, "shape", cJSON_CreateIntArray(shape, depth > 1 ? 3 : 2));
}

/* A float map: float32 .npy, or a heatmap PNG on range (NULL: its extremes) stating its scale. */
static seg_status float_map(const float *v, int w, int h, int png, const double *range, cJSON *obj, seg_error *err)
{
	buf raw;
	double lo, hi, mean, scale[2] = {0, 0};
	seg_status st;

	buf_init(&raw, 0);
	st = png ? pngio_encode_heatmap_range(v, w, h, range, &raw, scale, err) : npy_encode_f32(v, w, h, &raw, err);
	if (st == SEG_OK) {
		maps_stats(v, (size_t)w * (size_t)h, &lo, &hi, &mean);
		cJSON_AddStringToObject(obj, "format", png ? "png" : "npy");
		cJSON_AddStringToObject(obj, "dtype", png ? "uint8" : "float32");
		add_shape(obj, h, w, png ? 3 : 1);
		cJSON_AddNumberToObject(obj, "min", lo);
		cJSON_AddNumberToObject(obj, "max", hi);
		cJSON_AddNumberToObject(obj, "mean", mean);
		if (png) /* the ends of the colour scale: viridis' first colour at range[0], its last at range[1] */
			cJSON_AddItemToObject(obj, "range", cJSON_CreateDoubleArray(scale, 2));
		st = add_data(obj, &raw, err);
	}
	buf_release(&raw);
	return st;
}

/* {"size": [h, w], "counts": "..."} of the pixels where v == value, under key in into. */
static seg_status rle_of(const uint16_t *v, int w, int h, uint16_t value, uint8_t *scratch, cJSON *into, const char *key,
			 seg_error *err)
{
	size_t n = (size_t)w * (size_t)h, nc = 0;
	uint32_t *counts = NULL;
	char *text = NULL;
	seg_status st;

	for (size_t i = 0; i < n; i++)
		scratch[i] = v[i] == value;
	st = coco_encode(scratch, h, w, &counts, &nc, err);
	if (st == SEG_OK)
		st = coco_to_string(counts, nc, &text, NULL, err);
	if (st == SEG_OK) {
		cJSON *o = cJSON_AddObjectToObject(into, key);
		int size[2] = {h, w};
		if (o == NULL)
			st = seg_fail(err, SEG_ENOMEM, "out of memory encoding a map");
		else {
			cJSON_AddItemToObject(o, "size", cJSON_CreateIntArray(size, 2));
			cJSON_AddStringToObject(o, "counts", text);
		}
	}
	free(counts);
	free(text);
	return st;
}

/*
 * A categorical map of values v (w*h, each below nvalues): .npy (uint8 up
 * to 255, else uint16), a PNG (palette when palette is given, else grey:
 * 0/255 for a binary mask, the values at 8 or 16 bits otherwise), or one
 * COCO RLE per value named in names (NULL entries are left out).
 */
static seg_status class_map(const uint16_t *v, int w, int h, int nvalues, uint16_t maxv, int binary_mask,
			    req_map_format fmt, const uint32_t *palette, const char *const *names, cJSON *obj,
			    seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	uint8_t *u8 = malloc(n);
	buf raw;
	seg_status st = SEG_OK;

	buf_init(&raw, 0);
	if (u8 == NULL) {
		st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d map", w, h);
		goto out;
	}
	if (fmt == REQ_MAP_COCO_RLE) {
		cJSON_AddStringToObject(obj, "format", "coco_rle");
		cJSON *rles = cJSON_AddObjectToObject(obj, "rle");
		for (int k = 0; k < nvalues && st == SEG_OK; k++)
			if (names[k])
				st = rle_of(v, w, h, (uint16_t)k, u8, rles, names[k], err);
		goto out;
	}
	int wide = maxv > 255;
	for (size_t i = 0; i < n && !wide; i++)
		u8[i] = (uint8_t)v[i];
	if (fmt == REQ_MAP_NPY) {
		st = wide ? npy_encode_u16(v, w, h, &raw, err) : npy_encode_u8(u8, w, h, &raw, err);
		cJSON_AddStringToObject(obj, "format", "npy");
	} else if (palette) {
		st = pngio_encode_palette(u8, w, h, palette, nvalues, &raw, err);
		cJSON_AddStringToObject(obj, "format", "png");
	} else {
		if (binary_mask) /* a binary hard mask reads as 0/255, as masks are usually saved */
			for (size_t i = 0; i < n; i++)
				u8[i] = (uint8_t)(u8[i] ? 255 : 0);
		st = wide ? pngio_encode_gray(v, w, h, 16, &raw, err) : pngio_encode_gray(u8, w, h, 8, &raw, err);
		cJSON_AddStringToObject(obj, "format", "png");
	}
	if (st != SEG_OK)
		goto out;
	cJSON_AddStringToObject(obj, "dtype", wide ? "uint16" : "uint8");
	add_shape(obj, h, w, 1);
	st = add_data(obj, &raw, err);
out:
	free(u8);
	buf_release(&raw);
	return st;
}

/* The legend of an errors map: each value's meaning and colour. */
static void add_legend(cJSON *obj, const char *const *names, int n)
{
	cJSON *leg = cJSON_AddArrayToObject(obj, "legend");

	for (int k = 0; leg && k < n; k++) {
		char hex[16];
		cJSON *e = cJSON_CreateObject();
		snprintf(hex, sizeof(hex), "#%08x", (unsigned)maps_errors_palette[k]);
		cJSON_AddNumberToObject(e, "value", k);
		cJSON_AddStringToObject(e, "name", names[k]);
		cJSON_AddStringToObject(e, "color", hex);
		cJSON_AddItemToArray(leg, e);
	}
}

/* One map of a binary pair. */
static seg_status binary_map(const req_eval *rq, size_t i, const inp_pair *in, cJSON *obj, svc_timing *t,
			     seg_error *err)
{
	const spec *s = &rq->maps[i];
	int w = in->target.width, h = in->target.height;
	size_t n = (size_t)w * (size_t)h;
	double c0 = now();
	seg_status st;

	if (s->fn == FN_MAP_WEIGHT || s->fn == FN_MAP_BCE) {
		float *v = malloc(n * sizeof(*v));
		if (v == NULL)
			return seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d map", w, h);
		st = eval_map(&in->target, &in->pred, s, v, err);
		double c1 = now();
		t->compute += c1 - c0;
		if (st == SEG_OK)
			st = float_map(v, w, h, rq->map_format == REQ_MAP_PNG, rq->map_has_range[i] ? rq->map_range[i] : NULL,
				       obj, err);
		t->encode += now() - c1;
		free(v);
		return st;
	}
	uint8_t *c = malloc(n);
	uint16_t *v = malloc(n * sizeof(*v));
	if (c == NULL || v == NULL) {
		free(c);
		free(v);
		return seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d map", w, h);
	}
	st = eval_map_classes(&in->target, &in->pred, s, c, err);
	for (size_t k = 0; st == SEG_OK && k < n; k++)
		v[k] = c[k];
	double c1 = now();
	t->compute += c1 - c0;
	if (st == SEG_OK && s->fn == FN_MAP_MASK) {
		static const char *const mask_names[2] = {NULL, "mask"};
		st = class_map(v, w, h, 2, 1, 1, rq->map_format, NULL, mask_names, obj, err);
	} else if (st == SEG_OK) {
		static const char *const rle_names[4] = {NULL, "true_positive", "false_positive", "false_negative"};
		st = class_map(v, w, h, 4, 3, 0, rq->map_format, maps_errors_palette,
			       rq->map_format == REQ_MAP_COCO_RLE ? rle_names : errors_binary, obj, err);
		if (st == SEG_OK)
			add_legend(obj, errors_binary, 4);
	}
	t->encode += now() - c1;
	free(c);
	free(v);
	return st;
}

/* One map of a multi-class pair: the hard labels as class ids, or the errors. */
static seg_status multi_map(const req_eval *rq, size_t i, const inp_pair *in, cJSON *obj, svc_timing *t,
			    seg_error *err)
{
	const cls_table *cl = &rq->mc.classes;
	const spec *s = &rq->maps[i];
	int w = in->labels.width, h = in->labels.height, C = cl->count;
	size_t n = (size_t)w * (size_t)h;
	uint16_t *v = malloc(n * sizeof(*v));
	uint8_t *c = NULL;
	const char **names = NULL;
	double c0 = now();
	seg_status st = SEG_OK;

	if (v == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d map", w, h);
	if (s->fn == FN_MAP_MASK) {
		uint16_t maxid = 0;
		for (int k = 0; k < C; k++)
			maxid = cl->id[k] > maxid ? (uint16_t)cl->id[k] : maxid;
		if (rq->map_format == REQ_MAP_COCO_RLE) {
			/* One RLE per class the prediction holds, keyed by the class. */
			uint8_t *seen = calloc((size_t)C, 1);
			names = calloc((size_t)C, sizeof(*names));
			if (seen == NULL || names == NULL) {
				free(seen);
				st = seg_fail(err, SEG_ENOMEM, "out of memory");
				goto out;
			}
			for (size_t k = 0; k < n; k++)
				seen[in->hard[k]] = 1;
			for (int k = 0; k < C; k++)
				names[k] = seen[k] ? cl->key[k] : NULL;
			free(seen);
			memcpy(v, in->hard, n * sizeof(*v));
			t->compute += now() - c0;
			st = class_map(v, w, h, C, (uint16_t)(C - 1), 0, rq->map_format, NULL, names, obj, err);
		} else {
			for (size_t k = 0; k < n; k++)
				v[k] = (uint16_t)cl->id[in->hard[k]];
			t->compute += now() - c0;
			st = class_map(v, w, h, maxid + 1, maxid, 0, rq->map_format, NULL, NULL, obj, err);
		}
	} else if (s->fn == FN_MAP_ERRORS) {
		static const char *const rle_names[5] = {NULL, "class_right", "predicted_on_background", "wrong_class",
							 "ignored"};
		c = malloc(n);
		if (c == NULL) {
			st = seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d map", w, h);
			goto out;
		}
		mc_errors(in->labels.cls, in->hard, n, cl->background, c);
		for (size_t k = 0; k < n; k++)
			v[k] = c[k];
		t->compute += now() - c0;
		st = class_map(v, w, h, 5, 4, 0, rq->map_format, maps_errors_palette,
			       rq->map_format == REQ_MAP_COCO_RLE ? rle_names : errors_multi, obj, err);
		if (st == SEG_OK)
			add_legend(obj, errors_multi, 5);
	} else {
		st = seg_fail(err, SEG_EINVAL, "map '%s' is for binary requests", s->key);
	}
out:
	free(v);
	free(c);
	free(names);
	return st;
}

seg_status maps_add(const req_eval *rq, const inp_pair *in, cJSON *into, svc_timing *t, seg_error *err)
{
	seg_status st = SEG_OK;

	for (size_t i = 0; i < rq->nmaps && st == SEG_OK; i++) {
		cJSON *obj = cJSON_CreateObject();
		if (obj == NULL)
			return seg_fail(err, SEG_ENOMEM, "out of memory");
		st = in->multi ? multi_map(rq, i, in, obj, t, err) : binary_map(rq, i, in, obj, t, err);
		if (st == SEG_OK)
			cJSON_AddItemToObject(into, rq->maps[i].key, obj);
		else
			cJSON_Delete(obj);
	}
	return st;
}
