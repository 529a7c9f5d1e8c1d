/*
 * classes.c — class tables and the mapping of label-map values.
 *
 * Ids map through a 65,536-entry table (128 KiB, built per call), colours
 * through a sorted array searched by bisection; label maps come in runs
 * of one value, so the last value's index is remembered and most pixels
 * cost one comparison. The first value that is no class stops the pass
 * with its pixel named.
 */
#include "core/classes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_CLASS 0xfffeu /* in the id table: the value is no class */
#define MAX_ID 65535u

seg_status cls_alloc(cls_table *t, int count, int max_classes, seg_error *err)
{
	memset(t, 0, sizeof(*t));
	t->background = -1;
	if (count < 1 || count > max_classes || count > SEG_MAX_CLASSES)
		return seg_fail(err, SEG_EINVAL, "classes must number 1 to %d, got %d",
				max_classes < SEG_MAX_CLASSES ? max_classes : SEG_MAX_CLASSES, count);
	t->id = malloc((size_t)count * sizeof(*t->id));
	t->key = calloc((size_t)count, sizeof(*t->key));
	t->color = malloc((size_t)count * sizeof(*t->color));
	if (t->id == NULL || t->key == NULL || t->color == NULL) {
		cls_release(t);
		return seg_fail(err, SEG_ENOMEM, "out of memory for %d classes", count);
	}
	t->count = count;
	for (int k = 0; k < count; k++) {
		t->id[k] = (uint32_t)k;
		t->color[k] = -1;
	}
	return SEG_OK;
}

void cls_release(cls_table *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->key);
	free(t->color);
	memset(t, 0, sizeof(*t));
	t->background = -1;
}

seg_status cls_set(cls_table *t, int k, uint32_t id, const char *name, int32_t color, seg_error *err)
{
	if (id > MAX_ID)
		return seg_fail(err, SEG_EINVAL, "classes[%d]: id %u is over %u", k, id, MAX_ID);
	t->id[k] = id;
	t->color[k] = color;
	t->key[k][0] = '\0';
	if (name == NULL)
		return SEG_OK;
	size_t n = strlen(name);
	if (n == 0 || n >= CLS_KEY_MAX)
		return seg_fail(err, SEG_EINVAL, "classes[%d]: a name is 1 to %d bytes, got %zu", k, CLS_KEY_MAX - 1, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.')
			return seg_fail(err, SEG_EINVAL, "classes[%d]: name '%s' holds '.', which separates metric and "
					"class in keys such as per_class.iou.car", k, name);
		if (c < 0x20 || c == 0x7f)
			return seg_fail(err, SEG_EINVAL, "classes[%d]: name holds a control character", k);
	}
	memcpy(t->key[k], name, n + 1);
	t->named = 1;
	return SEG_OK;
}

seg_status cls_finish(cls_table *t, int64_t background_id, seg_error *err)
{
	int ncolor = 0;

	for (int k = 0; k < t->count; k++) {
		if (t->key[k][0] == '\0')
			snprintf(t->key[k], CLS_KEY_MAX, "%u", t->id[k]);
		ncolor += t->color[k] >= 0;
	}
	for (int k = 0; k < t->count; k++) {
		for (int j = 0; j < k; j++) {
			if (t->id[j] == t->id[k])
				return seg_fail(err, SEG_EINVAL, "classes[%d] and classes[%d] share the id %u", j, k, t->id[k]);
			if (strcmp(t->key[j], t->key[k]) == 0)
				return seg_fail(err, SEG_EINVAL, "classes[%d] and classes[%d] share the name '%s'", j, k,
						t->key[k]);
			if (t->color[k] >= 0 && t->color[j] == t->color[k])
				return seg_fail(err, SEG_EINVAL, "classes[%d] and classes[%d] share the colour #%06x", j, k,
						(unsigned)t->color[k]);
		}
	}
	if (ncolor != 0 && ncolor != t->count)
		return seg_fail(err, SEG_EINVAL, "%d of %d classes have a colour: give every class a colour, or none",
				ncolor, t->count);
	t->colored = ncolor == t->count;
	t->background = -1;
	for (int k = 0; k < t->count; k++)
		if ((int64_t)t->id[k] == (background_id < 0 ? 0 : background_id))
			t->background = k;
	if (background_id >= 0 && t->background < 0)
		return seg_fail(err, SEG_EINVAL, "background is %lld but no class has that id", (long long)background_id);
	return SEG_OK;
}

int cls_find_key(const cls_table *t, const char *key)
{
	for (int k = 0; k < t->count; k++)
		if (strcmp(t->key[k], key) == 0)
			return k;
	return -1;
}

typedef struct color_entry {
	uint32_t color;
	uint16_t index;
} color_entry;

static int cmp_color(const void *a, const void *b)
{
	uint32_t x = ((const color_entry *)a)->color, y = ((const color_entry *)b)->color;
	return (x > y) - (x < y);
}

static uint16_t find_color(const color_entry *e, int n, uint32_t c)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (e[mid].color == c)
			return e[mid].index;
		if (e[mid].color < c)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NO_CLASS;
}

static seg_status not_a_class(const cls_table *t, uint32_t v, size_t i, int w, int by_color, int allow_ignore,
			      const char *role, seg_error *err)
{
	size_t row = i / (size_t)w, col = i % (size_t)w;
	int value = (int32_t)v < 0 ? (int)(int32_t)v : (int)v;

	if (!allow_ignore && t->has_ignore && v == t->ignore)
		return seg_fail(err, SEG_EINVAL,
				"%s has the ignore label %d at row %zu, column %zu: a %s holds class ids only (the ignore "
				"label marks target pixels)",
				role, value, row, col, role);
	if (by_color)
		return seg_fail(err, SEG_EINVAL,
				"%s has colour #%06x at row %zu, column %zu, which is not the colour of any class%s", role,
				(unsigned)(v & 0xffffff), row, col, t->has_ignore && allow_ignore ? " nor the ignore label" : "");
	if (t->has_ignore && allow_ignore)
		return seg_fail(err, SEG_EINVAL,
				"%s has value %d at row %zu, column %zu, which is neither a class id nor the ignore label; "
				"list it in \"classes\"",
				role, value, row, col);
	return seg_fail(err, SEG_EINVAL,
			"%s has value %d at row %zu, column %zu, which is not a class id; list it in \"classes\"%s", role,
			value, row, col, allow_ignore ? " or set \"ignore_index\"" : "");
}

seg_status cls_map_values(const cls_table *t, const uint32_t *raw, int w, int h, int by_color, int allow_ignore,
			  const char *role, uint16_t *out, seg_error *err)
{
	size_t n = (size_t)w * (size_t)h;
	uint16_t *lut = NULL;
	color_entry *ce = NULL;
	uint32_t last = 0;
	uint16_t last_idx = NO_CLASS;
	seg_status st = SEG_OK;

	if (by_color) {
		ce = malloc((size_t)t->count * sizeof(*ce));
		if (ce == NULL)
			return seg_fail(err, SEG_ENOMEM, "out of memory");
		for (int k = 0; k < t->count; k++)
			ce[k] = (color_entry){(uint32_t)t->color[k], (uint16_t)k};
		qsort(ce, (size_t)t->count, sizeof(*ce), cmp_color);
	} else {
		lut = malloc((MAX_ID + 1) * sizeof(*lut));
		if (lut == NULL)
			return seg_fail(err, SEG_ENOMEM, "out of memory");
		for (uint32_t v = 0; v <= MAX_ID; v++)
			lut[v] = NO_CLASS;
		for (int k = 0; k < t->count; k++)
			lut[t->id[k]] = (uint16_t)k;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t v = raw[i];
		if (v != last || last_idx == NO_CLASS) {
			uint16_t idx;
			/* Classes first: a colour is a class's before it is the ignore label (which no class id is). */
			if (by_color)
				idx = find_color(ce, t->count, v);
			else
				idx = v <= MAX_ID ? lut[v] : NO_CLASS;
			if (idx == NO_CLASS && allow_ignore && t->has_ignore && v == t->ignore)
				idx = SEG_IGNORE;
			if (idx == NO_CLASS) {
				st = not_a_class(t, v, i, w, by_color, allow_ignore, role, err);
				goto out;
			}
			last = v;
			last_idx = idx;
		}
		out[i] = last_idx;
	}
out:
	free(lut);
	free(ce);
	return st;
}
