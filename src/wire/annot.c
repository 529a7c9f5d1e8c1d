/*
 * annot.c — the JSON forms of annotation-tool masks (cJSON) into an
 * annotation image, on top of the pure decoders in src/codec (coco.h,
 * lsbrush.h, cvat.h).
 *
 * Each form is read in two steps: a first look fixes the image size and
 * the number of objects and checks both against the caps (pixels,
 * objects); only then are the instance map (width*height uint32) and the
 * instance table allocated. The second step decodes every object and
 * paints it straight into the map: the decoders hand over spans of
 * pixels (vertical ones for COCO's column-major runs, horizontal ones
 * for CVAT), so no per-object mask is built; Label Studio streams are
 * decoded into one reused byte mask (the alpha threshold needs the
 * whole canvas anyway) and painted from it. Painting writes the
 * object's instance number over whatever was there; a pixel that held
 * another instance gets the top bit of the map set, so the pixels
 * covered more than once are counted once each, and a last pass clears
 * that bit while it counts each instance's pixels. Instance numbers
 * never reach 2^31 (max_objects is capped far below).
 *
 * Polygons share one walk budget and one vertex budget per MASK object,
 * so many small polygons cannot add up to more work than one big one is
 * allowed; likewise all objects share a budget of pixel writes (64 per
 * image pixel, at least 2^24), so thousands of full-image objects in a
 * small request are refused instead of painted. Error messages from the decoders are prefixed with the JSON
 * path of the field they came from.
 */
#include "wire/annot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/coco.h"
#include "codec/cvat.h"
#include "codec/lsbrush.h"

#define OVERLAP 0x80000000u
#define MAX_OBJECTS_CAP ((size_t)1 << 30)
#define PATH_MAX_LEN 96
#define EMPTY_LISTED 8
#define PAINT_PER_PIXEL 64 /* pixel writes allowed per image pixel, all objects together */

static const char *const format_keys[] = {"coco_rle", "coco_polygons", "coco", "labelstudio", "cvat"};
enum format { F_COCO_RLE, F_COCO_POLYGONS, F_COCO, F_LABELSTUDIO, F_CVAT, F_COUNT };

struct ctx {
	const annot_opts *o;
	annot_image *a;
	seg_error *err;
	uint64_t budget;      /* polygon walk steps left */
	size_t vertices_left; /* polygon points left */
	uint8_t *scratch;     /* Label Studio mask, width*height */
	uint32_t id;          /* instance being painted */
	uint64_t overlapped;  /* pixels covered by two or more instances */
	size_t dropped;       /* COCO results under min_score */
	uint64_t paint_left;  /* pixel writes left for all objects together */
	int over;             /* paint_left ran out */
	const char *overlap_rule;
};

void annot_opts_init(annot_opts *o)
{
	o->min_score = 0.5;
	o->ls_threshold = LSB_DEFAULT_THRESHOLD;
	o->max_pixels = (uint64_t)1 << 26;
	o->max_vertices = (size_t)1 << 18;
	o->max_objects = (size_t)1 << 16;
}

void annot_image_release(annot_image *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->inst && i < a->count; i++)
		free(a->inst[i].category);
	free(a->inst);
	free(a->map);
	memset(a, 0, sizeof(*a));
}

int annot_is_mask(const cJSON *obj)
{
	if (!cJSON_IsObject(obj))
		return 0;
	for (int f = 0; f < F_COUNT; f++)
		if (cJSON_GetObjectItemCaseSensitive(obj, format_keys[f]) != NULL)
			return 1;
	return 0;
}

/* ---- small readers ------------------------------------------------------- */

/* dst = "path.field" (cut short if it does not fit: a message only gets shorter). */
static void sub(char *dst, size_t size, const char *path, const char *field)
{
	size_t a = strlen(path), b = strlen(field);

	if (a > size - 1)
		a = size - 1;
	memmove(dst, path, a);
	if (a + 1 < size)
		dst[a++] = '.';
	if (b > size - 1 - a)
		b = size - 1 - a;
	memcpy(dst + a, field, b);
	dst[a + b] = '\0';
}

/* Writes "path: msg" of an inner error into err and returns its status. */
static seg_status prefixed(seg_error *err, const char *path, const seg_error *inner)
{
	return seg_fail(err, inner->status, "%s: %s", path, inner->msg);
}

/* A whole number in [min, max]. */
static seg_status whole(const cJSON *it, const char *path, int64_t min, int64_t max, int64_t *out, seg_error *err)
{
	double v;

	if (!cJSON_IsNumber(it))
		return seg_fail(err, SEG_EINVAL, "%s must be a number", path);
	v = it->valuedouble;
	if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max)
		return seg_fail(err, SEG_EINVAL, "%s is %.17g: a whole number from %lld to %lld is expected", path, v,
				(long long)min, (long long)max);
	*out = (int64_t)v;
	return SEG_OK;
}

/* A whole number given as a JSON number or as a string of one (XML attributes often are strings). */
static seg_status number_or_text(const cJSON *it, const char *path, double *out, seg_error *err)
{
	char *end;

	if (cJSON_IsNumber(it)) {
		*out = it->valuedouble;
		return SEG_OK;
	}
	if (cJSON_IsString(it) && it->valuestring[0] != '\0') {
		*out = strtod(it->valuestring, &end);
		if (*end == '\0')
			return SEG_OK;
	}
	return seg_fail(err, SEG_EINVAL, "%s must be a number", path);
}

/* "width" and "height" of obj, both required; path (NULL at the top level) names obj. */
static seg_status dims(const cJSON *obj, const char *path, int *w, int *h, seg_error *err)
{
	char p[PATH_MAX_LEN];
	int64_t v;
	seg_status st;

	snprintf(p, sizeof(p), "%s%swidth", path ? path : "", path ? "." : "");
	st = whole(cJSON_GetObjectItemCaseSensitive(obj, "width"), p, 1, SEG_MAX_SIDE, &v, err);
	if (st != SEG_OK)
		return st;
	*w = (int)v;
	snprintf(p, sizeof(p), "%s%sheight", path ? path : "", path ? "." : "");
	st = whole(cJSON_GetObjectItemCaseSensitive(obj, "height"), p, 1, SEG_MAX_SIDE, &v, err);
	if (st != SEG_OK)
		return st;
	*h = (int)v;
	return SEG_OK;
}

/* Copies a name (borrowed) for an instance; NULL stays NULL. -1 when out of memory. */
static int set_name(annot_instance *in, const char *name)
{
	size_t n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	in->category = malloc(n + 1);
	if (in->category == NULL)
		return -1;
	memcpy(in->category, name, n + 1);
	return 0;
}

/* ---- the image and painting ------------------------------------------------ */

/* Checks the size and the object count, then allocates the map and the instance table. */
static seg_status start_image(struct ctx *c, int w, int h, size_t objects, const char *path)
{
	annot_image *a = c->a;
	uint64_t px = (uint64_t)w * (uint64_t)h;

	if (px > c->o->max_pixels)
		return seg_fail(c->err, SEG_ETOOBIG, "%s: the %dx%d image is over the limit of %llu pixels", path, w, h,
				(unsigned long long)c->o->max_pixels);
	if (objects > c->o->max_objects || objects > MAX_OBJECTS_CAP)
		return seg_fail(c->err, SEG_ETOOBIG, "%s: %zu objects, over the limit of %zu", path, objects,
				c->o->max_objects);
	a->width = w;
	a->height = h;
	a->map = calloc((size_t)px, sizeof(*a->map));
	a->inst = calloc(objects ? objects : 1, sizeof(*a->inst));
	if (a->map == NULL || a->inst == NULL)
		return seg_fail(c->err, SEG_ENOMEM, "out of memory for a %dx%d instance map", w, h);
	c->budget = coco_poly_budget(h, w);
	c->vertices_left = c->o->max_vertices;
	c->paint_left = px * PAINT_PER_PIXEL < ((uint64_t)1 << 24) ? (uint64_t)1 << 24 : px * PAINT_PER_PIXEL;
	return SEG_OK;
}

/* Adds an instance (the table was sized by start_image) and makes it the one being painted. */
static annot_instance *new_instance(struct ctx *c)
{
	annot_instance *in = &c->a->inst[c->a->count++];

	in->category_id = ANNOT_NO_ID;
	in->category = NULL;
	in->crowd = 0;
	in->score = NAN;
	in->pixels = 0;
	c->id = (uint32_t)c->a->count;
	return in;
}

/*
 * Takes n pixel writes from the budget shared by all objects (so that
 * many large overlapping objects cannot make a small request slow);
 * -1 when it has run out.
 */
static int charge(struct ctx *c, uint64_t n)
{
	if (c->over || n > c->paint_left) {
		c->over = 1;
		return -1;
	}
	c->paint_left -= n;
	return 0;
}

static seg_status over_budget(struct ctx *c, const char *path)
{
	return seg_fail(c->err, SEG_ETOOBIG,
			"%s: the objects so far cover the image more than %d times over in total, over the limit",
			path, PAINT_PER_PIXEL);
}

static void paint_span(void *p, size_t start, size_t step, size_t len)
{
	struct ctx *c = p;
	uint32_t *m = c->a->map + start;
	uint32_t id = c->id;

	if (charge(c, len) != 0)
		return;

	for (size_t k = 0; k < len; k++, m += step) {
		uint32_t old = *m, base = old & ~OVERLAP;

		if (base != 0 && base != id) {
			c->overlapped += (old & OVERLAP) == 0;
			*m = id | OVERLAP;
		} else {
			*m = id | (old & OVERLAP);
		}
	}
}

/* Paints every set pixel of a row-major mask (the Label Studio scratch). */
static void paint_mask(struct ctx *c, const uint8_t *mask)
{
	size_t n = (size_t)c->a->width * (size_t)c->a->height, i = 0;

	while (i < n) {
		const uint8_t *hit = memchr(mask + i, 1, n - i);
		size_t j;

		if (hit == NULL)
			break;
		i = (size_t)(hit - mask);
		for (j = i; j < n && mask[j]; j++)
			;
		paint_span(c, i, 1, j - i);
		i = j;
	}
}

/* Clears the overlap bits, counts each instance's pixels, and writes the warnings. */
static void finish(struct ctx *c)
{
	annot_image *a = c->a;
	size_t n = (size_t)a->width * (size_t)a->height, empty = 0;
	char list[160];
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t v = a->map[i] & ~OVERLAP;
		a->map[i] = v;
		if (v)
			a->inst[v - 1].pixels++;
	}
	if (c->overlapped)
		eval_warn(&a->warnings, "%llu pixels are covered by more than one object; each goes to %s",
			  (unsigned long long)c->overlapped, c->overlap_rule);
	if (c->dropped)
		eval_warn(&a->warnings, "%zu annotations with a score below min_score were dropped", c->dropped);
	list[0] = '\0';
	for (size_t k = 0; k < a->count; k++) {
		if (a->inst[k].pixels)
			continue;
		if (empty < EMPTY_LISTED && used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%zu", empty ? ", " : "", k + 1);
		empty++;
	}
	if (empty)
		eval_warn(&a->warnings, "%zu object%s cover%s no pixel of the image (instance%s %s%s)", empty,
			  empty == 1 ? "" : "s", empty == 1 ? "s" : "", empty == 1 ? "" : "s", list,
			  empty > EMPTY_LISTED ? ", ..." : "");
}

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
		st = whole(cJSON_GetArrayItem(size, i), p, 1, SEG_MAX_SIDE, &v[i], err);
		if (st != SEG_OK)
			return st;
	}
	*h = (int)v[0];
	*w = (int)v[1];
	return SEG_OK;
}

/* Decodes one RLE object and paints it as the current instance; the image size is set. */
static seg_status paint_rle(struct ctx *c, const cJSON *rle, const char *path)
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
	if (st == SEG_OK && charge(c, (uint64_t)h) != 0) {
		free(cnt);
		return over_budget(c, path);
	}
	if (st == SEG_OK)
		st = coco_spans(cnt, n, h, w, paint_span, c, &inner);
	free(cnt);
	if (st != SEG_OK)
		return prefixed(c->err, path, &inner);
	if (c->over)
		return over_budget(c, path);
	return SEG_OK;
}

/* Rasterises a list of polygons as the current instance (their union, as annToRLE merges them). */
static seg_status paint_polygons(struct ctx *c, const cJSON *list, const char *path)
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
		if (n / 2 > c->vertices_left)
			return seg_fail(c->err, SEG_ETOOBIG, "%s: %zu points, over the %zu left of the limit of %zu", p,
					n / 2, c->vertices_left, c->o->max_vertices);
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
			if (charge(c, (uint64_t)c->a->height) != 0) {
				free(cnt);
				return over_budget(c, p);
			}
			st = coco_spans(cnt, m, c->a->height, c->a->width, paint_span, c, &inner);
		}
		free(cnt);
		if (st != SEG_OK)
			return prefixed(c->err, p, &inner);
		if (c->over)
			return over_budget(c, p);
	}
	return SEG_OK;
}

static seg_status parse_coco_rle(struct ctx *c, const cJSON *mask)
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
		st = dims(mask, NULL, &iw, &ih, c->err);
		if (st != SEG_OK)
			return st;
		if (iw != w || ih != h)
			return seg_fail(c->err, SEG_EINVAL,
					"%s.size is [%d, %d] but width and height say %dx%d (size is [height, width])",
					first_path, h, w, iw, ih);
	}
	st = start_image(c, w, h, objects, "coco_rle");
	if (st != SEG_OK)
		return st;
	if (!cJSON_IsArray(v)) {
		new_instance(c);
		return paint_rle(c, v, "coco_rle");
	}
	for (size_t i = 0; i < objects; i++) {
		char p[PATH_MAX_LEN];
		snprintf(p, sizeof(p), "coco_rle[%zu]", i);
		new_instance(c);
		st = paint_rle(c, cJSON_GetArrayItem(v, (int)i), p);
		if (st != SEG_OK)
			return st;
	}
	return SEG_OK;
}

static seg_status parse_coco_polygons(struct ctx *c, const cJSON *mask)
{
	int w, h;
	seg_status st;

	if (!cJSON_GetObjectItemCaseSensitive(mask, "width") || !cJSON_GetObjectItemCaseSensitive(mask, "height"))
		return seg_fail(c->err, SEG_EINVAL, "coco_polygons needs \"width\" and \"height\" beside it");
	st = dims(mask, NULL, &w, &h, c->err);
	if (st != SEG_OK)
		return st;
	st = start_image(c, w, h, 1, "coco_polygons");
	if (st != SEG_OK)
		return st;
	new_instance(c);
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
static seg_status coco_instance(struct ctx *c, const cJSON *ann, const char *path, const cJSON *categories,
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
		sub(p, sizeof(p), path, "score");
		if (!cJSON_IsNumber(score) || !isfinite(score->valuedouble))
			return seg_fail(c->err, SEG_EINVAL, "%s must be a number", p);
		if (score->valuedouble < min_score) {
			c->dropped++;
			return SEG_OK;
		}
	}
	*kept = 1;
	in = new_instance(c);
	if (score)
		in->score = score->valuedouble;
	if (crowd) {
		sub(p, sizeof(p), path, "iscrowd");
		if (cJSON_IsBool(crowd)) {
			in->crowd = cJSON_IsTrue(crowd);
		} else {
			st = whole(crowd, p, 0, 1, &v, c->err);
			if (st != SEG_OK)
				return st;
			in->crowd = (int)v;
		}
	}
	if (cat) {
		sub(p, sizeof(p), path, "category_id");
		st = whole(cat, p, -((int64_t)1 << 53), (int64_t)1 << 53, &v, c->err);
		if (st != SEG_OK)
			return st;
		in->category_id = v;
		if (set_name(in, category_name(categories, v)) != 0)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a category name");
	}
	return SEG_OK;
}

static seg_status parse_coco(struct ctx *c, const cJSON *mask)
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
	st = dims(v, "coco", &w, &h, c->err);
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
	st = start_image(c, w, h, (size_t)cJSON_GetArraySize(anns), "coco.annotations");
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
		sub(q, sizeof(q), p, "segmentation");
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

/* ---- Label Studio ---------------------------------------------------------- */

/* Checks a result's shape and reads its canvas size; *rle gets value.rle. */
static seg_status ls_result(struct ctx *c, const cJSON *r, const char *path, int *w, int *h, const cJSON **rle)
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
	st = whole(cJSON_GetObjectItemCaseSensitive(r, "original_width"), p, 1, SEG_MAX_SIDE, &v, c->err);
	if (st != SEG_OK)
		return st;
	*w = (int)v;
	snprintf(p, sizeof(p), "%s.original_height", path);
	st = whole(cJSON_GetObjectItemCaseSensitive(r, "original_height"), p, 1, SEG_MAX_SIDE, &v, c->err);
	if (st != SEG_OK)
		return st;
	*h = (int)v;
	return SEG_OK;
}

static seg_status ls_paint(struct ctx *c, const cJSON *r, const cJSON *rle, const char *path, int threshold)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "value"),
							       "brushlabels");
	const cJSON *first = cJSON_GetArrayItem(labels, 0), *it;
	annot_instance *in = new_instance(c);
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
		if (set_name(in, first->valuestring) != 0)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a label name");
	}
	if (charge(c, (uint64_t)c->a->width * (uint64_t)c->a->height) != 0)
		return over_budget(c, path);
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
	paint_mask(c, c->scratch);
	if (c->over)
		return over_budget(c, path);
	return SEG_OK;
}

static seg_status parse_labelstudio(struct ctx *c, const cJSON *mask)
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
		st = whole(t, "threshold", 1, 255, &tv, c->err);
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
	st = start_image(c, w, h, objects, "labelstudio");
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
static seg_status cvat_instance(struct ctx *c, const cJSON *s, const char *path, int64_t *z)
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
	in = new_instance(c);
	if (zo) {
		sub(p, sizeof(p), path, "z_order");
		st = whole(zo, p, -((int64_t)1 << 53), (int64_t)1 << 53, z, c->err);
		if (st != SEG_OK)
			return st;
	}
	if (label_id) {
		sub(p, sizeof(p), path, "label_id");
		if (!cJSON_IsNumber(label_id))
			return seg_fail(c->err, SEG_EINVAL, "%s must be a number (a name goes in \"label\")", p);
		st = whole(label_id, p, -((int64_t)1 << 53), (int64_t)1 << 53, &in->category_id, c->err);
		if (st != SEG_OK)
			return st;
	}
	if (label) {
		if (!cJSON_IsString(label))
			return seg_fail(c->err, SEG_EINVAL, "%s.label must be a string", path);
		if (set_name(in, label->valuestring) != 0)
			return seg_fail(c->err, SEG_ENOMEM, "out of memory for a label name");
	}
	return SEG_OK;
}

/* A shape's points: the "points" list, or the XML attributes. *points is new (caller frees). */
static seg_status cvat_points(struct ctx *c, const cJSON *s, const char *path, double **points, size_t *n)
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
			sub(p, sizeof(p), path, names[i]);
			st = number_or_text(cJSON_GetObjectItemCaseSensitive(s, names[i]), p, &v[i], c->err);
			if (st != SEG_OK)
				return st;
		}
		st = cvat_points_from_xml(rle->valuestring, strlen(rle->valuestring), v[0], v[1], v[2], v[3], points, n,
					  &inner);
		if (st != SEG_OK)
			return prefixed(c->err, path, &inner);
		return SEG_OK;
	}
	if (rle && cJSON_IsArray(rle))
		return seg_fail(c->err, SEG_EINVAL, "%s.rle must be the XML text \"c1, c2, ...\" (or give \"points\")",
				path);
	return seg_fail(c->err, SEG_EINVAL, "%s has neither \"points\" nor the XML attribute \"rle\"", path);
}

static seg_status parse_cvat(struct ctx *c, const cJSON *mask)
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
	st = dims(v, "cvat", &w, &h, c->err);
	if (st != SEG_OK)
		return st;
	objects = (size_t)cJSON_GetArraySize(shapes);
	st = start_image(c, w, h, objects, "cvat.shapes");
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
		st = cvat_spans(points, n, w, h, paint_span, c, &inner);
		free(points);
		if (st != SEG_OK) {
			st = prefixed(c->err, p, &inner);
			goto out;
		}
		if (c->over) {
			st = over_budget(c, p);
			goto out;
		}
	}
out:
	free(order);
	return st;
}

/* ---- entry points ----------------------------------------------------------- */

/* Checks the MASK object's keys; *fmt gets its format. */
static seg_status format_of(const cJSON *obj, enum format *fmt, seg_error *err)
{
	static const char *const extra[F_COUNT][3] = {
		[F_COCO_RLE] = {"width", "height", NULL},
		[F_COCO_POLYGONS] = {"width", "height", NULL},
		[F_COCO] = {NULL},
		[F_LABELSTUDIO] = {"threshold", NULL},
		[F_CVAT] = {NULL},
	};
	const cJSON *it;
	int found = -1;

	if (!cJSON_IsObject(obj))
		return seg_fail(err, SEG_EINVAL, "a MASK must be a JSON object");
	for (int f = 0; f < F_COUNT; f++) {
		if (cJSON_GetObjectItemCaseSensitive(obj, format_keys[f]) == NULL)
			continue;
		if (found >= 0)
			return seg_fail(err, SEG_EINVAL, "a MASK holds one format, but this one has both \"%s\" and \"%s\"",
					format_keys[found], format_keys[f]);
		found = f;
	}
	if (found < 0)
		return seg_fail(err, SEG_EINVAL,
				"a MASK needs one of \"coco_rle\", \"coco_polygons\", \"coco\", \"labelstudio\" or "
				"\"cvat\"");
	cJSON_ArrayForEach(it, obj)
	{
		int ok = strcmp(it->string, format_keys[found]) == 0;
		for (int k = 0; !ok && extra[found][k]; k++)
			ok = strcmp(it->string, extra[found][k]) == 0;
		if (!ok)
			return seg_fail(err, SEG_EINVAL, "unknown key \"%.64s\" beside \"%s\"", it->string,
					format_keys[found]);
	}
	*fmt = (enum format)found;
	return SEG_OK;
}

seg_status annot_parse(const cJSON *obj, const annot_opts *o, annot_image *out, seg_error *err)
{
	static const char *const rules[F_COUNT] = {
		[F_COCO_RLE] = "the later RLE in the list",
		[F_COCO_POLYGONS] = "the object",
		[F_COCO] = "the later annotation in the list",
		[F_LABELSTUDIO] = "the later result in the list",
		[F_CVAT] = "the shape with the higher z_order, then the later one in the list",
	};
	annot_opts def;
	struct ctx c;
	enum format fmt = F_COCO_RLE;
	seg_status st;

	memset(out, 0, sizeof(*out));
	if (o == NULL) {
		annot_opts_init(&def);
		o = &def;
	}
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.a = out;
	c.err = err;
	st = format_of(obj, &fmt, err);
	if (st != SEG_OK)
		return st;
	if (o->ls_threshold < 1 || o->ls_threshold > 255)
		return seg_fail(err, SEG_EINVAL, "threshold %d is outside 1..255", o->ls_threshold);
	c.overlap_rule = rules[fmt];
	switch (fmt) {
	case F_COCO_RLE:
		st = parse_coco_rle(&c, obj);
		break;
	case F_COCO_POLYGONS:
		st = parse_coco_polygons(&c, obj);
		break;
	case F_COCO:
		st = parse_coco(&c, obj);
		break;
	case F_LABELSTUDIO:
		st = parse_labelstudio(&c, obj);
		break;
	default:
		st = parse_cvat(&c, obj);
		break;
	}
	free(c.scratch);
	if (st != SEG_OK) {
		annot_image_release(out);
		return st;
	}
	finish(&c);
	return SEG_OK;
}

seg_status annot_parse_json(const char *text, size_t len, const annot_opts *o, annot_image *out,
			    seg_error *err)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	seg_status st;

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return seg_fail(err, SEG_EDECODE, "MASK is not valid JSON");
	st = annot_parse(root, o, out, err);
	cJSON_Delete(root);
	return st;
}

/* ---- conversions ------------------------------------------------------------ */

seg_status annot_to_target(const annot_image *a, seg_target *out, seg_error *err)
{
	size_t n = (size_t)a->width * (size_t)a->height, visible = 0;

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < a->count && visible < 2; k++)
		visible += a->inst[k].pixels > 0;
	out->fg = malloc(n ? n : 1);
	if (out->fg == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++)
		out->fg[i] = a->map[i] != 0;
	if (visible >= 2) {
		out->labels = malloc(n * sizeof(*out->labels));
		if (out->labels == NULL)
			goto oom;
		memcpy(out->labels, a->map, n * sizeof(*out->labels));
	}
	out->width = a->width;
	out->height = a->height;
	return SEG_OK;
oom:
	seg_target_release(out);
	return seg_fail(err, SEG_ENOMEM, "out of memory for a %dx%d target", a->width, a->height);
}

seg_status annot_to_classes(const annot_image *a, annot_class_fn fn, void *ctx, uint32_t background,
			    uint32_t *out, seg_error *err)
{
	size_t n = (size_t)a->width * (size_t)a->height;
	uint32_t *cls = malloc((a->count ? a->count : 1) * sizeof(*cls));
	seg_status st = SEG_OK;

	if (cls == NULL)
		return seg_fail(err, SEG_ENOMEM, "out of memory for %zu classes", a->count);
	for (size_t k = 0; k < a->count; k++) {
		st = fn(ctx, &a->inst[k], &cls[k], err);
		if (st != SEG_OK)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = a->map[i] ? cls[a->map[i] - 1] : background;
out:
	free(cls);
	return st;
}

seg_status annot_class_lookup(void *ctx, const annot_instance *inst, uint32_t *cls, seg_error *err)
{
	const annot_class_table *t = ctx;

	for (size_t i = 0; i < t->n; i++) {
		const annot_class *e = &t->entries[i];
		if (e->id != ANNOT_NO_ID && inst->category_id != ANNOT_NO_ID && e->id == inst->category_id) {
			*cls = e->cls;
			return SEG_OK;
		}
	}
	for (size_t i = 0; inst->category && i < t->n; i++) {
		const annot_class *e = &t->entries[i];
		if (e->name && strcmp(e->name, inst->category) == 0) {
			*cls = e->cls;
			return SEG_OK;
		}
	}
	if (inst->category && inst->category_id != ANNOT_NO_ID)
		return seg_fail(err, SEG_EINVAL, "no class for category \"%.64s\" (id %lld)", inst->category,
				(long long)inst->category_id);
	if (inst->category)
		return seg_fail(err, SEG_EINVAL, "no class for category \"%.64s\"", inst->category);
	if (inst->category_id != ANNOT_NO_ID)
		return seg_fail(err, SEG_EINVAL, "no class for category id %lld", (long long)inst->category_id);
	return seg_fail(err, SEG_EINVAL, "an object has no category, so it has no class");
}
