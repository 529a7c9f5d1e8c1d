/*
 * annot_cvat.c — CVAT shapes (polygons, rectangles, masks) painted in z_order,
 * on codec/cvat.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/cvat.h"
#include "wire/annot_int.h"

/* ---- CVAT ------------------------------------------------------------------- */

struct zorder {
	int64_t z;
	size_t index;
	const cJSON *shape;
};

static int cmp_zorder(const void *a, const void *b)
{
	const struct zorder *x = a, *y = b;

	if (x->z != y->z)
		return x->z < y->z ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Reads a shape's label fields and z_order into a new instance. */
static seg_status cvat_instance(annot_ctx *c, const cJSON *s, const char *path, int64_t *z)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
	const cJSON *label = cJSON_GetObjectItemCaseSensitive(s, "label");
	const cJSON *label_id = cJSON_GetObjectItemCaseSensitive(s, "label_id");
	const cJSON *zo = cJSON_GetObjectItemCaseSensitive(s, "z_order");
	annot_instance *in;
	char p[PATH_MAX_LEN];
	seg_status st;

	*z = 0;
	if (!cJSON_IsObject(s))
		return seg_fail(c->err, SEG_EINVAL, "%s must be a shape object", path);
	if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "mask") != 0))
		return seg_fail(c->err, SEG_EINVAL, "%s.type is %s%s%s: only \"mask\" shapes are read", path,
				cJSON_IsString(type) ? "\"" : "", cJSON_IsString(type) ? type->valuestring : "not a string",
				cJSON_IsString(type) ? "\"" : "");
	in = annot_new_instance(c);
	if (zo) {
		annot_sub(p, sizeof(p), path, "z_order");
		st = annot_whole(zo, p, -((int64_t)1 << 53), (int64_t)1 << 53, z, c->err);
		if (st != SEG_OK)
			return st;
	}
	if (label_id) {
		annot_sub(p, sizeof(p), path, "label_id");
		if (!cJSON_IsNumber(label_id))
			return seg_fail(c->err, SEG_EINVAL, "%s must be a number (a name goes in \"label\")", p);
		st = annot_whole(label_id, p, -((int64_t)1 << 53), (int64_t)1 << 53, &in->category_id, c->err);
		if (st != SEG_OK)
			return st;
	}
	if (label) {
		if (!cJSON_IsString(label))
			return seg_fail(c->err, SEG_EINVAL, "%s.label must be a string", path);
		if (annot_set_name(in, label->valuestring) != 0)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a label name");
	}
	return SEG_OK;
}

/* A shape's points: the "points" list, or the XML attributes. *points is new (caller frees). */
static seg_status cvat_points(annot_ctx *c, const cJSON *s, const char *path, double **points, size_t *n)
{
	const cJSON *pts = cJSON_GetObjectItemCaseSensitive(s, "points");
	const cJSON *rle = cJSON_GetObjectItemCaseSensitive(s, "rle");
	seg_error inner = {SEG_OK, ""};
	seg_status st;

	*points = NULL;
	*n = 0;
	if (cJSON_IsArray(pts)) {
		const cJSON *it;
		size_t k = 0, m = (size_t)cJSON_GetArraySize(pts);
		double *out = malloc((m ? m : 1) * sizeof(*out));

		if (out == NULL)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for %zu points", m);
		cJSON_ArrayForEach(it, pts)
		{
			if (!cJSON_IsNumber(it)) {
				free(out);
				return seg_fail(c->err, SEG_EINVAL, "%s.points[%zu] is not a number", path, k);
			}
			out[k++] = it->valuedouble;
		}
		*points = out;
		*n = m;
		return SEG_OK;
	}
	if (pts)
		return seg_fail(c->err, SEG_EINVAL, "%s.points must be a list of numbers", path);
	if (cJSON_IsString(rle)) {
		static const char *const names[4] = {"left", "top", "width", "height"};
		double v[4];
		for (int i = 0; i < 4; i++) {
			char p[PATH_MAX_LEN];
			annot_sub(p, sizeof(p), path, names[i]);
			st = annot_number_or_text(cJSON_GetObjectItemCaseSensitive(s, names[i]), p, &v[i], c->err);
			if (st != SEG_OK)
				return st;
		}
		st = cvat_points_from_xml(rle->valuestring, strlen(rle->valuestring), v[0], v[1], v[2], v[3], points, n,
					  &inner);
		if (st != SEG_OK)
			return annot_prefixed(c->err, path, &inner);
		return SEG_OK;
	}
	if (rle && cJSON_IsArray(rle))
		return seg_fail(c->err, SEG_EINVAL, "%s.rle must be the XML text \"c1, c2, ...\" (or give \"points\")",
				path);
	return seg_fail(c->err, SEG_EINVAL, "%s has neither \"points\" nor the XML attribute \"rle\"", path);
}

seg_status annot_cvat(annot_ctx *c, const cJSON *mask)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(mask, "cvat");
	const cJSON *shapes, *s;
	struct zorder *order = NULL;
	size_t objects, i = 0;
	int w, h;
	seg_status st;

	if (!cJSON_IsObject(v))
		return seg_fail(c->err, SEG_EINVAL, "cvat must be an object {\"shapes\": [...], \"width\", \"height\"}");
	shapes = cJSON_GetObjectItemCaseSensitive(v, "shapes");
	if (!cJSON_IsArray(shapes))
		return seg_fail(c->err, SEG_EINVAL, "cvat.shapes must be a list of mask shapes");
	st = annot_dims(v, "cvat", &w, &h, c->err);
	if (st != SEG_OK)
		return st;
	objects = (size_t)cJSON_GetArraySize(shapes);
	st = annot_start_image(c, w, h, objects, "cvat.shapes");
	if (st != SEG_OK)
		return st;
	order = malloc((objects ? objects : 1) * sizeof(*order));
	if (order == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "out of memory for %zu shapes", objects);
	cJSON_ArrayForEach(s, shapes)
	{
		char p[PATH_MAX_LEN];
		snprintf(p, sizeof(p), "cvat.shapes[%zu]", i);
		order[i].index = i;
		order[i].shape = s;
		st = cvat_instance(c, s, p, &order[i].z);
		if (st != SEG_OK)
			goto out;
		i++;
	}
	qsort(order, objects, sizeof(*order), cmp_zorder);
	for (i = 0; i < objects; i++) {
		char p[PATH_MAX_LEN];
		double *points;
		size_t n;
		seg_error inner = {SEG_OK, ""};

		snprintf(p, sizeof(p), "cvat.shapes[%zu]", order[i].index);
		st = cvat_points(c, order[i].shape, p, &points, &n);
		if (st != SEG_OK)
			goto out;
		c->id = (uint32_t)order[i].index + 1;
		st = cvat_spans(points, n, w, h, annot_paint_span, c, &inner);
		free(points);
		if (st != SEG_OK) {
			st = annot_prefixed(c->err, p, &inner);
			goto out;
		}
		if (c->over) {
			st = annot_over_budget(c, p);
			goto out;
		}
	}
out:
	free(order);
	return st;
}
