/*
 * annot_coco.c — COCO masks: RLE (compressed or not), polygons, and a list of
 * annotations with categories, on codec/coco.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/coco.h"
#include "wire/annot_int.h"

/* ---- COCO ---------------------------------------------------------------- */

/* Reads "size" of an RLE object into *h, *w. */
static seg_status rle_size(const cJSON *rle, const char *path, int *h, int *w, seg_error *err)
{
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(rle, "size");
	char p[PATH_MAX_LEN];
	int64_t v[2];

	if (!cJSON_IsObject(rle))
		return seg_fail(err, SEG_EINVAL, "%s must be an object {\"size\": [h, w], \"counts\": ...}", path);
	if (!cJSON_IsArray(size) || cJSON_GetArraySize(size) != 2)
		return seg_fail(err, SEG_EINVAL, "%s.size must be [height, width]", path);
	for (int i = 0; i < 2; i++) {
		seg_status st;
		snprintf(p, sizeof(p), "%s.size[%d]", path, i);
		st = annot_whole(cJSON_GetArrayItem(size, i), p, 1, SEG_MAX_SIDE, &v[i], err);
		if (st != SEG_OK)
			return st;
	}
	*h = (int)v[0];
	*w = (int)v[1];
	return SEG_OK;
}

/* Decodes one RLE object and paints it as the current instance; the image size is set. */
static seg_status paint_rle(annot_ctx *c, const cJSON *rle, const char *path)
{
	const cJSON *counts;
	uint32_t *cnt = NULL;
	size_t n = 0;
	int h, w;
	seg_error inner = {SEG_OK, ""};
	seg_status st = rle_size(rle, path, &h, &w, c->err);

	if (st != SEG_OK)
		return st;
	if (h != c->a->height || w != c->a->width) {
		if (h == c->a->width && w == c->a->height)
			return seg_fail(c->err, SEG_EINVAL,
					"%s.size is [%d, %d] but the image is %dx%d: size is [height, width], so it "
					"should be [%d, %d]",
					path, h, w, c->a->width, c->a->height, c->a->height, c->a->width);
		return seg_fail(c->err, SEG_EINVAL, "%s.size is [%d, %d] but the image is %dx%d ([%d, %d])", path, h, w,
				c->a->width, c->a->height, c->a->height, c->a->width);
	}
	counts = cJSON_GetObjectItemCaseSensitive(rle, "counts");
	if (cJSON_IsString(counts)) {
		st = coco_from_string(counts->valuestring, strlen(counts->valuestring), &cnt, &n, &inner);
	} else if (cJSON_IsArray(counts)) {
		const cJSON *it;
		size_t k = 0;

		n = (size_t)cJSON_GetArraySize(counts);
		cnt = malloc((n ? n : 1) * sizeof(*cnt));
		if (cnt == NULL)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for %zu counts", n);
		cJSON_ArrayForEach(it, counts)
		{
			if (!cJSON_IsNumber(it)) {
				st = seg_fail(&inner, SEG_EINVAL, "counts[%zu] is not a number", k);
				break;
			}
			st = coco_count_from_double(it->valuedouble, k, &cnt[k], &inner);
			if (st != SEG_OK)
				break;
			k++;
		}
	} else {
		return seg_fail(c->err, SEG_EINVAL, "%s.counts must be a string (compressed RLE) or a list of numbers",
				path);
	}
	if (st == SEG_OK && annot_charge(c, (uint64_t)h) != 0) {
		free(cnt);
		return annot_over_budget(c, path);
	}
	if (st == SEG_OK)
		st = coco_spans(cnt, n, h, w, annot_paint_span, c, &inner);
	free(cnt);
	if (st != SEG_OK)
		return annot_prefixed(c->err, path, &inner);
	if (c->over)
		return annot_over_budget(c, path);
	return SEG_OK;
}

/* Rasterises a list of polygons as the current instance (their union, as annToRLE merges them). */
static seg_status paint_polygons(annot_ctx *c, const cJSON *list, const char *path)
{
	const cJSON *poly;
	size_t i = 0;
	seg_status st = SEG_OK;

	if (!cJSON_IsArray(list))
		return seg_fail(c->err, SEG_EINVAL, "%s must be a list of polygons [[x1, y1, x2, y2, ...], ...]", path);
	if (cJSON_GetArraySize(list) == 0)
		return seg_fail(c->err, SEG_EINVAL, "%s holds no polygon", path);
	if (cJSON_IsNumber(cJSON_GetArrayItem(list, 0)))
		return seg_fail(c->err, SEG_EINVAL,
				"%s is a list of polygons, each a list of numbers: put a single polygon [x1, y1, ...] "
				"inside another list",
				path);
	cJSON_ArrayForEach(poly, list)
	{
		char p[PATH_MAX_LEN];
		const cJSON *it;
		double *xy;
		uint32_t *cnt = NULL;
		size_t n, m = 0, k = 0;
		seg_error inner = {SEG_OK, ""};

		snprintf(p, sizeof(p), "%s[%zu]", path, i++);
		if (!cJSON_IsArray(poly))
			return seg_fail(c->err, SEG_EINVAL, "%s must be a list of numbers x1, y1, x2, y2, ...", p);
		n = (size_t)cJSON_GetArraySize(poly);
		if (n / 2 > c->vertices_left) {
			size_t before = c->o->max_vertices - c->vertices_left;
			if (before == 0)
				return seg_fail(c->err, SEG_ETOOBIG,
						"%s: %zu points, over the limit of %zu polygon points per mask", p, n / 2,
						c->o->max_vertices);
			return seg_fail(c->err, SEG_ETOOBIG,
					"%s: %zu points, %zu with the polygons before, over the limit of %zu polygon "
					"points per mask",
					p, n / 2, before + n / 2, c->o->max_vertices);
		}
		xy = malloc((n ? n : 1) * sizeof(*xy));
		if (xy == NULL)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a polygon of %zu numbers", n);
		cJSON_ArrayForEach(it, poly)
		{
			if (!cJSON_IsNumber(it)) {
				free(xy);
				return seg_fail(c->err, SEG_EINVAL, "%s[%zu] is not a number", p, k);
			}
			xy[k++] = it->valuedouble;
		}
		st = coco_poly_to_counts(xy, n, c->a->height, c->a->width, c->vertices_left, &c->budget, &cnt, &m,
					 &inner);
		free(xy);
		if (st == SEG_OK) {
			c->vertices_left -= n / 2;
			if (annot_charge(c, (uint64_t)c->a->height) != 0) {
				free(cnt);
				return annot_over_budget(c, p);
			}
			st = coco_spans(cnt, m, c->a->height, c->a->width, annot_paint_span, c, &inner);
		}
		free(cnt);
		if (st != SEG_OK)
			return annot_prefixed(c->err, p, &inner);
		if (c->over)
			return annot_over_budget(c, p);
	}
	return SEG_OK;
}

seg_status annot_coco_rle(annot_ctx *c, const cJSON *mask)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(mask, "coco_rle");
	const cJSON *first = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, 0) : v;
	const char *first_path = cJSON_IsArray(v) ? "coco_rle[0]" : "coco_rle";
	size_t objects = cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 1;
	int h, w;
	seg_status st;

	if (cJSON_IsArray(v) && objects == 0)
		return seg_fail(c->err, SEG_EINVAL, "coco_rle is an empty list");
	st = rle_size(first, first_path, &h, &w, c->err);
	if (st != SEG_OK)
		return st;
	if (cJSON_GetObjectItemCaseSensitive(mask, "width") || cJSON_GetObjectItemCaseSensitive(mask, "height")) {
		int iw, ih;
		st = annot_dims(mask, NULL, &iw, &ih, c->err);
		if (st != SEG_OK)
			return st;
		if (iw != w || ih != h)
			return seg_fail(c->err, SEG_EINVAL,
					"%s.size is [%d, %d] but width and height say %dx%d (size is [height, width])",
					first_path, h, w, iw, ih);
	}
	st = annot_start_image(c, w, h, objects, "coco_rle");
	if (st != SEG_OK)
		return st;
	if (!cJSON_IsArray(v)) {
		annot_new_instance(c);
		return paint_rle(c, v, "coco_rle");
	}
	for (size_t i = 0; i < objects; i++) {
		char p[PATH_MAX_LEN];
		snprintf(p, sizeof(p), "coco_rle[%zu]", i);
		annot_new_instance(c);
		st = paint_rle(c, cJSON_GetArrayItem(v, (int)i), p);
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}

seg_status annot_coco_polygons(annot_ctx *c, const cJSON *mask)
{
	int w, h;
	seg_status st;

	if (!cJSON_GetObjectItemCaseSensitive(mask, "width") || !cJSON_GetObjectItemCaseSensitive(mask, "height"))
		return seg_fail(c->err, SEG_EINVAL, "coco_polygons needs \"width\" and \"height\" beside it");
	st = annot_dims(mask, NULL, &w, &h, c->err);
	if (st != SEG_OK)
		return st;
	st = annot_start_image(c, w, h, 1, "coco_polygons");
	if (st != SEG_OK)
		return st;
	annot_new_instance(c);
	return paint_polygons(c, cJSON_GetObjectItemCaseSensitive(mask, "coco_polygons"), "coco_polygons");
}

/* The name of category id among coco.categories (borrowed; NULL when absent). */
static const char *category_name(const cJSON *categories, int64_t id)
{
	const cJSON *cat;

	cJSON_ArrayForEach(cat, categories)
	{
		const cJSON *cid = cJSON_GetObjectItemCaseSensitive(cat, "id");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(cat, "name");
		if (cJSON_IsNumber(cid) && cid->valuedouble == (double)id && cJSON_IsString(name))
			return name->valuestring;
	}
	return NULL;
}

/* Reads one annotation's fields (not its pixels) into a new instance, or drops it (*kept = 0). */
static seg_status coco_instance(annot_ctx *c, const cJSON *ann, const char *path, const cJSON *categories,
				double min_score, int *kept)
{
	const cJSON *score = cJSON_GetObjectItemCaseSensitive(ann, "score");
	const cJSON *cat = cJSON_GetObjectItemCaseSensitive(ann, "category_id");
	const cJSON *crowd = cJSON_GetObjectItemCaseSensitive(ann, "iscrowd");
	annot_instance *in;
	char p[PATH_MAX_LEN];
	int64_t v;
	seg_status st;

	*kept = 0;
	if (score) {
		annot_sub(p, sizeof(p), path, "score");
		if (!cJSON_IsNumber(score) || !isfinite(score->valuedouble))
			return seg_fail(c->err, SEG_EINVAL, "%s must be a number", p);
		if (score->valuedouble < min_score) {
			c->dropped++;
			return SEG_OK;
		}
	}
	*kept = 1;
	in = annot_new_instance(c);
	if (score)
		in->score = score->valuedouble;
	if (crowd) {
		annot_sub(p, sizeof(p), path, "iscrowd");
		if (cJSON_IsBool(crowd)) {
			in->crowd = cJSON_IsTrue(crowd);
		} else {
			st = annot_whole(crowd, p, 0, 1, &v, c->err);
			if (st != SEG_OK)
				return st;
			in->crowd = (int)v;
		}
	}
	if (cat) {
		annot_sub(p, sizeof(p), path, "category_id");
		st = annot_whole(cat, p, -((int64_t)1 << 53), (int64_t)1 << 53, &v, c->err);
		if (st != SEG_OK)
			return st;
		in->category_id = v;
		if (annot_set_name(in, category_name(categories, v)) != 0)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a category name");
	}
	return SEG_OK;
}

seg_status annot_coco(annot_ctx *c, const cJSON *mask)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(mask, "coco");
	const cJSON *anns, *ann, *categories, *ms, *image_id = NULL;
	double min_score = c->o->min_score;
	size_t i = 0;
	int w, h;
	seg_status st;

	if (!cJSON_IsObject(v))
		return seg_fail(c->err, SEG_EINVAL, "coco must be an object {\"annotations\": [...], \"width\", \"height\"}");
	anns = cJSON_GetObjectItemCaseSensitive(v, "annotations");
	if (!cJSON_IsArray(anns))
		return seg_fail(c->err, SEG_EINVAL, "coco.annotations must be a list of annotations");
	st = annot_dims(v, "coco", &w, &h, c->err);
	if (st != SEG_OK)
		return st;
	categories = cJSON_GetObjectItemCaseSensitive(v, "categories");
	if (categories && !cJSON_IsArray(categories))
		return seg_fail(c->err, SEG_EINVAL, "coco.categories must be a list of {\"id\", \"name\"}");
	ms = cJSON_GetObjectItemCaseSensitive(v, "min_score");
	if (ms) {
		if (!cJSON_IsNumber(ms) || !isfinite(ms->valuedouble))
			return seg_fail(c->err, SEG_EINVAL, "coco.min_score must be a number");
		min_score = ms->valuedouble;
	}
	st = annot_start_image(c, w, h, (size_t)cJSON_GetArraySize(anns), "coco.annotations");
	if (st != SEG_OK)
		return st;
	cJSON_ArrayForEach(ann, anns)
	{
		char p[PATH_MAX_LEN], q[PATH_MAX_LEN];
		const cJSON *seg, *iid;
		int kept;

		snprintf(p, sizeof(p), "coco.annotations[%zu]", i++);
		if (!cJSON_IsObject(ann))
			return seg_fail(c->err, SEG_EINVAL, "%s must be an object", p);
		iid = cJSON_GetObjectItemCaseSensitive(ann, "image_id");
		if (iid && image_id && !(cJSON_IsNumber(iid) && cJSON_IsNumber(image_id) &&
					 iid->valuedouble == image_id->valuedouble) &&
		    !(cJSON_IsString(iid) && cJSON_IsString(image_id) &&
		      strcmp(iid->valuestring, image_id->valuestring) == 0))
			return seg_fail(c->err, SEG_EINVAL,
					"%s.image_id differs from the first annotation's: send one image's annotations", p);
		if (iid && !image_id)
			image_id = iid;
		st = coco_instance(c, ann, p, categories, min_score, &kept);
		if (st != SEG_OK)
			return st;
		if (!kept)
			continue;
		seg = cJSON_GetObjectItemCaseSensitive(ann, "segmentation");
		annot_sub(q, sizeof(q), p, "segmentation");
		if (cJSON_IsArray(seg))
			st = paint_polygons(c, seg, q);
		else if (cJSON_IsObject(seg))
			st = paint_rle(c, seg, q);
		else if (seg == NULL)
			st = seg_fail(c->err, SEG_EINVAL, "%s has no \"segmentation\" (a box-only detection has no mask)", p);
		else
			st = seg_fail(c->err, SEG_EINVAL, "%s must be a list of polygons or an RLE object", q);
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}
