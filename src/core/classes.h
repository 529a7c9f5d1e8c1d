/*
 * classes.h — the classes of a multi-class request, and label-map values
 * turned into dense class indexes.
 *
 * A class has an id (0..65535: a grey level, a palette index, a COCO
 * category id, a CVAT label id), a key (its name, or its decimal id when
 * unnamed; names are unique and hold no '.', so "metric.class" splits at
 * the last dot), and optionally a colour 0xRRGGBB (colour-coded masks).
 * Dense indexes 0..count-1 follow the order the classes were given in.
 */
#ifndef CLASSES_H
#define CLASSES_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

#define CLS_KEY_MAX 64 /* a key is 1..63 bytes */

typedef struct cls_table {
	int count;
	uint32_t *id;           /* count class ids, distinct */
	char (*key)[CLS_KEY_MAX]; /* count keys: the name, or the decimal id */
	int32_t *color;         /* count colours 0xRRGGBB, -1 when none */
	int named;              /* at least one class has a name */
	int colored;            /* every class has a colour */
	int has_ignore;
	uint32_t ignore;        /* the ignore label as a 32-bit pattern (-1 and 255 both fit) */
	int background;         /* dense index of the background class, -1 when none */
} cls_table;

/*
 * Allocates a table of count classes, each with id k, no name and no
 * colour, after checking 1 <= count <= max_classes (SEG_EINVAL naming the
 * cap otherwise, before allocating). Release with cls_release.
 */
seg_status cls_alloc(cls_table *t, int count, int max_classes, seg_error *err);
void cls_release(cls_table *t);

/*
 * Sets class k's id, name (borrowed; NULL: keyed by its id) and colour
 * (-1: none). SEG_EINVAL for an id over 65535 or a name that is empty,
 * too long, holds '.' or a control character.
 */
seg_status cls_set(cls_table *t, int k, uint32_t id, const char *name, int32_t color, seg_error *err);

/*
 * Checks the whole table (distinct ids, unique keys, colours given for all
 * classes or none and distinct) and fills the keys of unnamed classes.
 * background_id (a class id, or -1 for the default: id 0 when a class has
 * it) sets t->background; an explicit id no class has is SEG_EINVAL.
 */
seg_status cls_finish(cls_table *t, int64_t background_id, seg_error *err);

/* The dense index of the class keyed key (borrowed), or -1. */
int cls_find_key(const cls_table *t, const char *key);

/*
 * Maps raw values (borrowed, w*h: ids, or packed 0xRRGGBB colours when
 * by_color) to dense indexes in out (caller-owned, w*h). With
 * allow_ignore, the ignore label becomes SEG_IGNORE; any other value that
 * is no class is SEG_EINVAL naming the value, a pixel holding it and the
 * role ("target has value 7 at row 3, column 5, ...").
 */
seg_status cls_map_values(const cls_table *t, const uint32_t *raw, int w, int h, int by_color, int allow_ignore,
			  const char *role, uint16_t *out, seg_error *err);

#endif
