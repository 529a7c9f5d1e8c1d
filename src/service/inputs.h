/*
 * inputs.h — what an uploaded mask holds (its kind), and the decoding of
 * a target and a prediction into what the core evaluates.
 *
 * Kinds: a prediction is a `probability` image (one value in [0, 1] per
 * pixel), `logits` (sigmoid, or softmax per class when multi-class),
 * a hard `mask`, `labels` (a class id per pixel) or per-class
 * `probabilities`; a target is a `mask`, `instances` or `labels`. A mask
 * sent without a kind is read by the rule in docs/losses.md ("What a
 * mask holds"), which never guesses silently: an ambiguous upload is
 * refused with a message saying how to be explicit, or read the
 * documented way with a warning.
 */
#ifndef INPUTS_H
#define INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/classes.h"
#include "core/eval.h"
#include "core/par.h"
#include "core/seg.h"

#include <cJSON.h>

typedef enum inp_kind {
	INP_AUTO,          /* not given: the detection rule */
	INP_PROBABILITY,
	INP_LOGITS,
	INP_MASK,
	INP_LABELS,
	INP_PROBABILITIES,
	INP_INSTANCES,
	INP_KIND_COUNT
} inp_kind;

/* "probability", "logits", ...; the name of INP_AUTO is "auto". */
const char *inp_kind_name(inp_kind k);

/* The kind called name (borrowed), or SEG_EINVAL naming the kinds role accepts. */
seg_status inp_kind_parse(const char *name, int is_target, inp_kind *out, seg_error *err);

/*
 * An upload: bytes (borrowed), its kind, and for per-class scores the axis
 * of the classes (-1 auto, 0, 2). An annotation tool's export comes as a
 * parsed JSON MASK object (annot, borrowed; see wire/annot.h) or as bytes
 * of JSON text (told by content: the first non-blank byte is '{').
 */
typedef struct inp_mask {
	const uint8_t *data;
	size_t len;
	inp_kind kind;
	int channel_axis;
	const cJSON *annot;
} inp_mask;

#define INP_NOTES_MAX 6

/* A decoded pair. Binary: target and pred. Multi-class: labels, hard, and scores when the prediction had them. */
typedef struct inp_pair {
	int multi;
	seg_target target;
	seg_pred pred;
	seg_labels labels; /* the target's classes */
	uint16_t *hard;    /* the prediction's classes (owned) */
	seg_scores scores; /* per-class scores, or zeroed */
	int nnotes;        /* readings worth a warning in the answer */
	char notes[INP_NOTES_MAX][EVAL_WARN_LEN];
} inp_pair;

void inp_pair_release(inp_pair *p);

/*
 * Decodes target and prediction (borrowed) for a binary request (classes
 * NULL) or a multi-class one. Readings the rule chose that a user might
 * not expect are explained in out->notes, for the answer's warnings. Errors name
 * the role ("prediction: ...") and how to be explicit; *out owns what it
 * holds on success and is zeroed on error. inp_decode_pair_par, with par
 * (may be NULL) of two lanes or more, decodes a binary pair's target and
 * prediction side by side: the same result and the same first error.
 */
seg_status inp_decode_pair(const inp_mask *target, const inp_mask *pred, const cls_table *classes,
			   uint64_t max_pixels, inp_pair *out, seg_error *err);
seg_status inp_decode_pair_par(const inp_mask *target, const inp_mask *pred, const cls_table *classes,
			       uint64_t max_pixels, const seg_par *par, inp_pair *out, seg_error *err);

/*
 * Decodes a target alone for a weight map: a mask or instances as today,
 * or with classes (kind labels) the instances are the connected
 * components of each class. *class_of (caller frees with free(); NULL
 * when binary) receives each pixel's dense class index (SEG_IGNORE for
 * ignored pixels) for class-balanced weights.
 */
seg_status inp_decode_target(const inp_mask *target, const cls_table *classes, uint64_t max_pixels,
			     seg_target *out, uint16_t **class_of, seg_error *err);

#endif
