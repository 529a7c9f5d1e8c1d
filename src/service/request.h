/*
 * request.h — the evaluation and weight-map requests, parsed from a body
 * (JSON or multipart/form-data) held in memory.
 *
 * Parsing takes bytes, not a connection: tests and fuzzers call it
 * directly. Masks are base64-decoded in place (inside the parsed JSON
 * strings, or taken as-is from multipart file parts), so a request never
 * holds a second copy of an upload.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/seg.h"
#include "core/spec.h"
#include "service/inputs.h"
#include "service/mcopts.h"

#define REQ_MAX_SPECS 64
#define REQ_MAX_MAPS 4

typedef enum req_map_format {
	REQ_MAP_NPY,
	REQ_MAP_PNG,
	REQ_MAP_COCO_RLE, /* categorical maps only: one COCO RLE per value */
} req_map_format;

/*
 * An uploaded mask: PNG or .npy bytes (or JSON text), borrowed from the
 * request's storage, with what it holds (kind; INP_AUTO when not given) and, for
 * per-class scores, the axis of the classes (-1: found from the shape).
 */
typedef struct req_mask {
	const uint8_t *data;
	size_t len;
	inp_kind kind;
	int channel_axis;
	const cJSON *annot; /* an annotation tool's MASK object (wire/annot.h) in the parsed body, or NULL */
} req_mask;

#define REQ_RUN_MAX 128   /* run names: 1..128 characters of A-Za-z0-9._- */
#define REQ_ITEM_MAX 512  /* item names: 1..512 bytes of UTF-8 */
#define REQ_MAX_ITEMS 1000

/* One target/prediction pair: the request itself, or one entry of a batch. */
typedef struct req_case {
	req_mask target;
	req_mask prediction;
	int logits;     /* "logits": true; with logits_set, false was said */
	int logits_set; /* "logits" was given (true or false) */
	char item[REQ_ITEM_MAX + 1]; /* empty when not given */
} req_case;

typedef struct req_eval {
	req_case *cases; /* owned; ncases >= 1 */
	size_t ncases;
	int batch;       /* the {"items": [...]} form */
	char run[REQ_RUN_MAX + 1]; /* empty: record nothing */
	int keep_masks;            /* with run: keep each item's target and prediction as uploaded */
	int logits;
	int logits_set; /* "logits" was given (true or false) */
	size_t nspecs; /* losses and metrics, in request order */
	spec specs[REQ_MAX_SPECS];
	size_t nmaps;
	spec maps[REQ_MAX_MAPS];
	double map_range[REQ_MAX_MAPS][2]; /* a heatmap's fixed colour scale ("range"), when map_has_range */
	int map_has_range[REQ_MAX_MAPS];
	req_map_format map_format;
	mco_opts mc;           /* classes, ignore label, averages, profile (owned) */
	double base64_seconds; /* time spent decoding base64 */
	cJSON *json;           /* owned: the parsed body, whose strings hold decoded masks */
	const struct jl_lifted *lift; /* while parsing in place: strings lifted out of the body (jsonlift.h) */
} req_eval;

typedef struct req_wmap {
	req_mask target;
	spec params; /* FN_MAP_WEIGHT with the request's parameters */
	double range[2]; /* a heatmap's fixed colour scale ("range"), when has_range */
	int has_range;
	mco_opts mc; /* classes and class weights, for a label-map target (owned) */
	double base64_seconds;
	cJSON *json; /* owned */
	const struct jl_lifted *lift; /* while parsing in place (jsonlift.h) */
} req_wmap;

/* SEG_EINVAL unless name is 1..128 characters of A-Za-z0-9._- . */
seg_status req_check_run(const char *name, seg_error *err);

/* SEG_EINVAL unless item is 1..512 bytes of valid UTF-8 without control characters. */
seg_status req_check_item(const char *item, size_t len, seg_error *err);

/* Releases what the request owns; the body it was parsed from stays the caller's. NULL-safe, idempotent. */
void req_eval_release(req_eval *r);
void req_wmap_release(req_wmap *r);

/*
 * A map's "range" (the fixed colour scale of a heatmap) is not a parameter
 * of the map's computation: it is taken out of the spec, [low, high] as a
 * JSON array of two numbers or as the text "[low,high]", two finite
 * numbers with low < high. Evaluations accept it only with map_format
 * "png".
 */

/*
 * Parses an evaluation request: one target and prediction, or the batch
 * form {"items": [{"target", "prediction", "item"}...], "losses",
 * "metrics", "run", "logits"}; "run" and "item" ask for the scores to be
 * recorded. content_type and body are borrowed; body (len bytes) must
 * outlive *out, since multipart masks point into it.
 * Errors: SEG_EUNSUPPORTED (content type), SEG_EDECODE (malformed JSON,
 * base64, multipart), SEG_EINVAL (missing or invalid fields, unknown
 * names, duplicate keys), SEG_ETOOBIG.
 */
seg_status req_parse_eval(const char *content_type, const uint8_t *body, size_t len, req_eval *out,
			  seg_error *err);

/*
 * The same, for a body the caller lets the parser overwrite: a JSON
 * body's masks are base64-decoded where their text was in body (which
 * must then outlive *out, as a multipart body does), without cJSON
 * copying the text first. Same answers and errors as req_parse_eval_capped.
 */
seg_status req_parse_eval_inplace(const char *content_type, uint8_t *body, size_t len, int max_classes,
				  req_eval *out, seg_error *err);

/*
 * Completes a request built field by field (the command line): default
 * specs, the profile's defaults and the multi-class checks, unique keys.
 */
seg_status req_eval_finish(req_eval *r, seg_error *err);

/* The same with the daemon's cap on "classes" (req_parse_eval uses MCO_DEFAULT_MAX_CLASSES). */
seg_status req_parse_eval_capped(const char *content_type, const uint8_t *body, size_t len, int max_classes,
				 req_eval *out, seg_error *err);

/* Parses a weight-map request; same contract as req_parse_eval. */
seg_status req_parse_wmap(const char *content_type, const uint8_t *body, size_t len, req_wmap *out,
			  seg_error *err);
seg_status req_parse_wmap_capped(const char *content_type, const uint8_t *body, size_t len, int max_classes,
				 req_wmap *out, seg_error *err);
seg_status req_parse_wmap_inplace(const char *content_type, uint8_t *body, size_t len, int max_classes,
				  req_wmap *out, seg_error *err);

#endif
