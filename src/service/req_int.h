/*
 * req_int.h — what request.c (JSON bodies, and what each field means)
 * shares with reqform.c (multipart bodies). Not for other modules: they
 * use request.h.
 */
#ifndef REQ_INT_H
#define REQ_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "service/request.h"

/* ---- request.c: one field's meaning, whichever form carried it ---- */

/* "logits": true means kind logits for pred; SEG_EINVAL when its kind says otherwise. role names it. */
seg_status req_apply_logits(req_mask *pred, int logits, int logits_set, const char *role, seg_error *err);

/* Appends a loss or metric spec (item borrowed: a string or an object) to r. */
seg_status req_add_spec(req_eval *r, const cJSON *item, spec_kind kind, seg_error *err);

/* Appends a map spec (item borrowed), its heatmap "range" taken apart. */
seg_status req_add_map(req_eval *r, const cJSON *item, seg_error *err);

/* "[low,high]" as typed into out; what names the field in messages. */
seg_status req_range_from_text(const char *text, const char *what, double out[2], seg_error *err);

/* "npy", "png" or "coco_rle" into r->map_format. */
seg_status req_parse_map_format(const char *v, req_eval *r, seg_error *err);

/* SEG_EINVAL for a field not in known[] (NULL-terminated), suggesting the closest. */
seg_status req_unknown_field(const char *name, const char *const *known, seg_error *err);

/* The run's name (checked) into r->run. */
seg_status req_set_run(req_eval *r, const char *v, seg_error *err);

/* An item's name (len bytes of v, checked) into c->item. */
seg_status req_set_item(req_case *c, const char *v, size_t len, seg_error *err);

/* n cases for r, owned by r. */
seg_status req_alloc_cases(req_eval *r, size_t n, seg_error *err);

/* SEG_EINVAL when keep_masks is set without a run. */
seg_status req_keep_needs_run(const req_eval *r, seg_error *err);

/* Whether a weight-map field is a multi-class option (classes, ignore_index, background). */
int req_wmap_mco_field(const char *name);

/* ---- reqform.c ---- */

/* A multipart evaluation body (borrowed: masks point into it) into r, already initialised. */
seg_status reqform_eval(const char *content_type, const uint8_t *body, size_t len, req_eval *r, seg_error *err);

/* A multipart weight-map body (borrowed) into out, already initialised. */
seg_status reqform_wmap(const char *content_type, const uint8_t *body, size_t len, req_wmap *out, seg_error *err);

#endif
