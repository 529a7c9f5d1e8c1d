/*
 * annot_int.h — what the annotation forms share (annot.c's entry points,
 * annot_canvas.c, and one file per tool: annot_coco.c, annot_ls.c,
 * annot_cvat.c): the state of one MASK being read, the JSON readers
 * that put the field's path into every message, and the painting of
 * instances into the map. Not for other modules: they use annot.h.
 */
#ifndef ANNOT_INT_H
#define ANNOT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "wire/annot.h"

#define PATH_MAX_LEN 96 /* a field's JSON path in messages */

/* One MASK being read into an annotation image. */
typedef struct annot_ctx {
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
} annot_ctx;

/* ---- readers (annot_canvas.c) ---- */

/* dst = "path.field" (cut short if it does not fit: a message only gets shorter). */
void annot_sub(char *dst, size_t size, const char *path, const char *field);

/* inner's message prefixed with path into err; returns inner's status. */
seg_status annot_prefixed(seg_error *err, const char *path, const seg_error *inner);

/* A whole number in [min, max] (it borrowed; path names it). */
seg_status annot_whole(const cJSON *it, const char *path, int64_t min, int64_t max, int64_t *out, seg_error *err);

/* A number given as a JSON number or as a string of one (XML attributes often are strings). */
seg_status annot_number_or_text(const cJSON *it, const char *path, double *out, seg_error *err);

/* obj's "width" and "height", both required, 1..SEG_MAX_SIDE; path (NULL at the top level) names obj. */
seg_status annot_dims(const cJSON *obj, const char *path, int *w, int *h, seg_error *err);

/* A copy of name as in's category (owned by in); 0, or -1 out of memory. */
int annot_set_name(annot_instance *in, const char *name);

/* ---- the image and painting (annot_canvas.c) ---- */

/* Checks w*h and the object count against the caps, then allocates the map and the instance table. */
seg_status annot_start_image(annot_ctx *c, int w, int h, size_t objects, const char *path);

/* Adds an instance (the table was sized by annot_start_image) and makes it the one being painted. */
annot_instance *annot_new_instance(annot_ctx *c);

/* Takes n pixel writes from the budget all objects share; -1 when it has run out. */
int annot_charge(annot_ctx *c, uint64_t n);

/* The error for a spent paint budget. */
seg_status annot_over_budget(annot_ctx *c, const char *path);

/* The decoders' span callback (p is the annot_ctx): paints len pixels from start, step apart. */
void annot_paint_span(void *p, size_t start, size_t step, size_t len);

/* Paints every set pixel of a row-major width*height mask (borrowed). */
void annot_paint_mask(annot_ctx *c, const uint8_t *mask);

/* Clears the overlap bits, counts each instance's pixels, and writes the warnings. */
void annot_finish(annot_ctx *c);

/* ---- one reader per form: the MASK object (borrowed) into c->a ---- */

seg_status annot_coco_rle(annot_ctx *c, const cJSON *mask);      /* annot_coco.c */
seg_status annot_coco_polygons(annot_ctx *c, const cJSON *mask); /* annot_coco.c */
seg_status annot_coco(annot_ctx *c, const cJSON *mask);          /* annot_coco.c */
seg_status annot_labelstudio(annot_ctx *c, const cJSON *mask);   /* annot_ls.c */
seg_status annot_cvat(annot_ctx *c, const cJSON *mask);          /* annot_cvat.c */

#endif
