/*
 * annot_canvas.c — the parts every annotation form shares: JSON readers
 * whose messages carry the field's path, and the instance map objects
 * are painted into (see annot.c for how painting, overlaps and the
 * budgets work).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/coco.h"
#include "wire/annot_int.h"

#define OVERLAP 0x80000000u /* in the map: the pixel was painted by another instance too */
#define MAX_OBJECTS_CAP ((size_t)1 << 30)
#define EMPTY_LISTED 8
#define PAINT_PER_PIXEL 64 /* pixel writes allowed per image pixel, all objects together */

/* ---- small readers ------------------------------------------------------- */

/* dst = "path.field" (cut short if it does not fit: a message only gets shorter). */
void annot_sub(char *dst, size_t size, const char *path, const char *field)
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
seg_status annot_prefixed(seg_error *err, const char *path, const seg_error *inner)
{
	return seg_fail(err, inner->status, "%s: %s", path, inner->msg);
}

/* A whole number in [min, max]. */
seg_status annot_whole(const cJSON *it, const char *path, int64_t min, int64_t max, int64_t *out, seg_error *err)
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
seg_status annot_number_or_text(const cJSON *it, const char *path, double *out, seg_error *err)
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
seg_status annot_dims(const cJSON *obj, const char *path, int *w, int *h, seg_error *err)
{
	char p[PATH_MAX_LEN];
	int64_t v;
	seg_status st;

	snprintf(p, sizeof(p), "%s%swidth", path ? path : "", path ? "." : "");
	st = annot_whole(cJSON_GetObjectItemCaseSensitive(obj, "width"), p, 1, SEG_MAX_SIDE, &v, err);
	if (st != SEG_OK)
		return st;
	*w = (int)v;
	snprintf(p, sizeof(p), "%s%sheight", path ? path : "", path ? "." : "");
	st = annot_whole(cJSON_GetObjectItemCaseSensitive(obj, "height"), p, 1, SEG_MAX_SIDE, &v, err);
	if (st != SEG_OK)
		return st;
	*h = (int)v;
	return SEG_OK;
}

/* Copies a name (borrowed) for an instance; NULL stays NULL. -1 when out of memory. */
int annot_set_name(annot_instance *in, const char *name)
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
seg_status annot_start_image(annot_ctx *c, int w, int h, size_t objects, const char *path)
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

/* Adds an instance (the table was sized by annot_start_image) and makes it the one being painted. */
annot_instance *annot_new_instance(annot_ctx *c)
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
int annot_charge(annot_ctx *c, uint64_t n)
{
	if (c->over || n > c->paint_left) {
		c->over = 1;
		return -1;
	}
	c->paint_left -= n;
	return 0;
}

seg_status annot_over_budget(annot_ctx *c, const char *path)
{
	return seg_fail(c->err, SEG_ETOOBIG,
			"%s: the objects so far cover the image more than %d times over in total, over the limit",
			path, PAINT_PER_PIXEL);
}

void annot_paint_span(void *p, size_t start, size_t step, size_t len)
{
	annot_ctx *c = p;
	uint32_t *m = c->a->map + start;
	uint32_t id = c->id;

	if (annot_charge(c, len) != 0)
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
void annot_paint_mask(annot_ctx *c, const uint8_t *mask)
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
		annot_paint_span(c, i, 1, j - i);
		i = j;
	}
}

/* Clears the overlap bits, counts each instance's pixels, and writes the warnings. */
void annot_finish(annot_ctx *c)
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
