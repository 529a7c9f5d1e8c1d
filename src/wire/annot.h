/*
 * annot.h — masks in the JSON forms annotation tools export, read into
 * one "annotation image": an instance map plus what is known about each
 * instance (category, crowd flag, score).
 *
 * A MASK object is a JSON object with exactly one of these keys:
 *
 *   {"coco_rle": {"size": [h, w], "counts": "..." | [...]}}
 *       one COCO RLE (compressed string or uncompressed list); a list of
 *       them is one instance each. Optional "width"/"height" must agree.
 *   {"coco_polygons": [[x1, y1, x2, y2, ...], ...], "width": w, "height": h}
 *       one object's polygons (pycocotools unites them into one mask).
 *   {"coco": {"annotations": [...], "width": w, "height": h}}
 *       one image's annotations from a COCO file or a results file:
 *       "segmentation" (polygons, or an RLE with a string or list of
 *       counts), "category_id", "iscrowd", "score" (results below
 *       "min_score" are dropped), optional "categories" [{id, name}] to
 *       name the ids.
 *   {"labelstudio": RESULT or [RESULT, ...], "threshold": t}
 *       "brushlabels" results: value.rle, original_width/original_height,
 *       value.brushlabels[0] the class name; alpha >= t is foreground.
 *   {"cvat": {"shapes": [...], "width": w, "height": h}}
 *       mask shapes with "points" (or the XML attributes "rle", "left",
 *       "top", "width", "height"), "label" and/or "label_id", "z_order".
 *
 * All objects together may write at most 64 pixels per image pixel (at
 * least 2^24): thousands of overlapping full-image objects are refused
 * (SEG_ETOOBIG) rather than painted.
 *
 * Every object becomes its own instance, numbered 1..K in the order the
 * source lists them (objects dropped by min_score take no number). Where
 * objects overlap, the one painted later keeps the pixel: list order,
 * and for CVAT higher z_order first, then list order; a warning counts
 * the pixels covered more than once. Errors name the JSON path of the
 * field at fault ("coco.annotations[3].segmentation: counts sum to 13
 * but size [3, 4] has 12 pixels").
 */
#ifndef ANNOT_H
#define ANNOT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/eval.h"
#include "core/seg.h"

/* category_id of an instance whose source gives no integer id. */
#define ANNOT_NO_ID INT64_MIN

/* Options and caps; annot_opts_init sets the defaults given here. */
typedef struct annot_opts {
	double min_score;     /* COCO results: keep score >= min_score (0.5) */
	int ls_threshold;     /* Label Studio: alpha >= threshold is foreground (LSB_DEFAULT_THRESHOLD) */
	uint64_t max_pixels;  /* width*height cap (2^26) */
	size_t max_vertices;  /* polygon points in one MASK object (2^18) */
	size_t max_objects;   /* objects in one MASK object (2^16) */
} annot_opts;

typedef struct annot_instance {
	int64_t category_id; /* COCO category_id, CVAT label_id; ANNOT_NO_ID when absent */
	char *category;      /* name (Label Studio brushlabels[0], CVAT label, COCO categories); owned, may be NULL */
	int crowd;           /* a COCO iscrowd region: one instance, never split */
	double score;        /* COCO results score; NAN when absent */
	uint64_t pixels;     /* pixels the instance holds in map */
} annot_instance;

/*
 * map is width*height, row-major: 0 where no object is, k where
 * instance inst[k - 1] is. The struct owns map, inst and the names.
 */
typedef struct annot_image {
	int width;
	int height;
	uint32_t *map;
	size_t count;
	annot_instance *inst;
	eval_warnings warnings;
} annot_image;

/* Fills o with the defaults. */
void annot_opts_init(annot_opts *o);

/* Frees what a holds and zeroes it; safe on a zeroed or released struct and on NULL. */
void annot_image_release(annot_image *a);

/* True when obj (borrowed) is an object with one of the five MASK keys. */
int annot_is_mask(const cJSON *obj);

/*
 * Reads a MASK object (borrowed) under o (borrowed; NULL for defaults).
 * *out owns new memory on success and is zeroed on error. Errors:
 * SEG_EINVAL (a field's type or value), SEG_EDECODE (a malformed
 * compressed stream), SEG_ETOOBIG (over a cap), SEG_ENOMEM.
 */
seg_status annot_parse(const cJSON *obj, const annot_opts *o, annot_image *out, seg_error *err);

/* The same from JSON text text[0..len) (borrowed); SEG_EDECODE when it is not JSON. */
seg_status annot_parse_json(const char *text, size_t len, const annot_opts *o, annot_image *out,
			    seg_error *err);

/*
 * The binary union as a target: fg where any instance is, labels the
 * instance numbers, always (also for one object, so that a weight map's
 * `instances: auto` keeps each object whole, however many separate
 * parts it has). a borrowed; *out owns new arrays. SEG_ENOMEM.
 */
seg_status annot_to_target(const annot_image *a, seg_target *out, seg_error *err);

/*
 * Looks up the class index of one instance (borrowed) for
 * annot_to_classes: writes *cls and returns SEG_OK, or returns an error
 * with a message naming the category.
 */
typedef seg_status (*annot_class_fn)(void *ctx, const annot_instance *inst, uint32_t *cls, seg_error *err);

/*
 * A category map: out (caller-owned, width*height) gets background where
 * no instance is and the class fn gives each instance's category
 * elsewhere. fn is called once per instance, in order. a borrowed.
 */
seg_status annot_to_classes(const annot_image *a, annot_class_fn fn, void *ctx, uint32_t background,
			    uint32_t *out, seg_error *err);

/*
 * A ready lookup table for annot_to_classes: an entry matches an
 * instance with the same category_id (entries with id ANNOT_NO_ID match
 * by name only) or, failing that, the same name (entries with name NULL
 * match by id only). The first match wins.
 */
typedef struct annot_class {
	int64_t id;
	const char *name;
	uint32_t cls;
} annot_class;

typedef struct annot_class_table {
	const annot_class *entries; /* borrowed */
	size_t n;
} annot_class_table;

/* annot_class_fn over an annot_class_table (ctx, borrowed); SEG_EINVAL naming the category when none matches. */
seg_status annot_class_lookup(void *ctx, const annot_instance *inst, uint32_t *cls, seg_error *err);

#endif
