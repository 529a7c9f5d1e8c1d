/*
 * annot_ls.c — Label Studio brush results (its RLE), on codec/lsbrush.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/lsbrush.h"
#include "wire/annot_int.h"

/* ---- Label Studio ---------------------------------------------------------- */

/* Checks a result's shape and reads its canvas size; *rle gets value.rle. */
static seg_status ls_result(annot_ctx *c, const cJSON *r, const char *path, int *w, int *h, const cJSON **rle)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(r, "value");
	const cJSON *format;
	char p[PATH_MAX_LEN];
	int64_t v;
	seg_status st;

	if (!cJSON_IsObject(r))
		return seg_fail(c->err, SEG_EINVAL, "%s must be a brushlabels result object", path);
	if (!value && cJSON_GetObjectItemCaseSensitive(r, "result"))
		return seg_fail(c->err, SEG_EINVAL,
				"%s is an annotation, not a result: pass its \"result\" list", path);
	if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "brushlabels") != 0))
		return seg_fail(c->err, SEG_EINVAL, "%s.type is %s%s%s: only \"brushlabels\" results hold masks", path,
				cJSON_IsString(type) ? "\"" : "", cJSON_IsString(type) ? type->valuestring : "not a string",
				cJSON_IsString(type) ? "\"" : "");
	if (!cJSON_IsObject(value))
		return seg_fail(c->err, SEG_EINVAL, "%s.value must be an object with \"rle\"", path);
	format = cJSON_GetObjectItemCaseSensitive(value, "format");
	if (format && (!cJSON_IsString(format) || strcmp(format->valuestring, "rle") != 0))
		return seg_fail(c->err, SEG_EINVAL, "%s.value.format must be \"rle\"", path);
	*rle = cJSON_GetObjectItemCaseSensitive(value, "rle");
	if (!cJSON_IsArray(*rle))
		return seg_fail(c->err, SEG_EINVAL, "%s.value.rle must be a list of bytes", path);
	snprintf(p, sizeof(p), "%s.original_width", path);
	st = annot_whole(cJSON_GetObjectItemCaseSensitive(r, "original_width"), p, 1, SEG_MAX_SIDE, &v, c->err);
	if (st != SEG_OK)
		return st;
	*w = (int)v;
	snprintf(p, sizeof(p), "%s.original_height", path);
	st = annot_whole(cJSON_GetObjectItemCaseSensitive(r, "original_height"), p, 1, SEG_MAX_SIDE, &v, c->err);
	if (st != SEG_OK)
		return st;
	*h = (int)v;
	return SEG_OK;
}

static seg_status ls_paint(annot_ctx *c, const cJSON *r, const cJSON *rle, const char *path, int threshold)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "value"),
							       "brushlabels");
	const cJSON *first = cJSON_GetArrayItem(labels, 0), *it;
	annot_instance *in = annot_new_instance(c);
	size_t n = (size_t)cJSON_GetArraySize(rle), k = 0;
	uint8_t *bytes;
	lsb_stats stats;
	seg_error inner = {SEG_OK, ""};
	seg_status st;

	if (labels && !cJSON_IsArray(labels))
		return seg_fail(c->err, SEG_EINVAL, "%s.value.brushlabels must be a list of names", path);
	if (first) {
		if (!cJSON_IsString(first))
			return seg_fail(c->err, SEG_EINVAL, "%s.value.brushlabels[0] must be a string", path);
		if (annot_set_name(in, first->valuestring) != 0)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a label name");
	}
	if (annot_charge(c, (uint64_t)c->a->width * (uint64_t)c->a->height) != 0)
		return annot_over_budget(c, path);
	bytes = malloc(n ? n : 1);
	if (bytes == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "out of memory for %zu rle bytes", n);
	cJSON_ArrayForEach(it, rle)
	{
		double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
		if (!(v >= 0 && v <= 255 && v == floor(v))) {
			free(bytes);
			return seg_fail(c->err, SEG_EINVAL, "%s.value.rle[%zu] is not a byte (a whole number 0..255)", path,
					k);
		}
		bytes[k++] = (uint8_t)v;
	}
	st = lsb_decode_mask(bytes, n, c->a->width, c->a->height, threshold, c->scratch, &stats, &inner);
	free(bytes);
	if (st != SEG_OK)
		return seg_fail(c->err, inner.status, "%s.value.%s", path, inner.msg);
	if (stats.kept == 0 && stats.nonzero > 0)
		eval_warn(&c->a->warnings,
			  "%s: all %llu pixels with alpha above 0 are below threshold %d, so the object is empty", path,
			  (unsigned long long)stats.nonzero, threshold);
	annot_paint_mask(c, c->scratch);
	if (c->over)
		return annot_over_budget(c, path);
	return SEG_OK;
}

seg_status annot_labelstudio(annot_ctx *c, const cJSON *mask)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(mask, "labelstudio");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(mask, "threshold");
	int list = cJSON_IsArray(v);
	size_t objects = list ? (size_t)cJSON_GetArraySize(v) : 1;
	int threshold = c->o->ls_threshold, w = 0, h = 0;
	const cJSON *rle;
	seg_status st;

	if (t) {
		int64_t tv;
		st = annot_whole(t, "threshold", 1, 255, &tv, c->err);
		if (st != SEG_OK)
			return st;
		threshold = (int)tv;
	}
	if (list && objects == 0)
		return seg_fail(c->err, SEG_EINVAL, "labelstudio is an empty list");
	if (objects > c->o->max_objects)
		return seg_fail(c->err, SEG_ETOOBIG, "labelstudio: %zu results, over the limit of %zu", objects,
				c->o->max_objects);
	for (size_t i = 0; i < objects; i++) {
		char p[PATH_MAX_LEN];
		int rw, rh;

		snprintf(p, sizeof(p), list ? "labelstudio[%zu]" : "labelstudio", i);
		st = ls_result(c, list ? cJSON_GetArrayItem(v, (int)i) : v, p, &rw, &rh, &rle);
		if (st != SEG_OK)
			return st;
		if (i == 0) {
			w = rw;
			h = rh;
		} else if (rw != w || rh != h) {
			return seg_fail(c->err, SEG_EINVAL, "%s is %dx%d but the first result is %dx%d", p, rw, rh, w, h);
		}
	}
	st = annot_start_image(c, w, h, objects, "labelstudio");
	if (st != SEG_OK)
		return st;
	c->scratch = malloc((size_t)w * (size_t)h);
	if (c->scratch == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "out of memory for a %dx%d brush mask", w, h);
	for (size_t i = 0; i < objects; i++) {
		char p[PATH_MAX_LEN];
		const cJSON *r = list ? cJSON_GetArrayItem(v, (int)i) : v;
		int rw, rh;

		snprintf(p, sizeof(p), list ? "labelstudio[%zu]" : "labelstudio", i);
		ls_result(c, r, p, &rw, &rh, &rle);
		st = ls_paint(c, r, rle, p, threshold);
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}
