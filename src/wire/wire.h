/*
 * wire.h — JSON on the wire (cJSON): the catalogue, evaluation results,
 * and loss/metric specs given as JSON values. Shared by the CLI and the
 * daemon so both print the same shapes.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/classes.h"
#include "core/eval.h"
#include "core/mceval.h"
#include "core/profile.h"
#include "core/seg.h"
#include "core/spec.h"

/* The catalogue: {"losses": [...], "metrics": [...], "maps": [...], "conventions": {...}}. Caller frees with cJSON_Delete. */
cJSON *wire_catalogue(void);

/*
 * The profiles: {"profiles": [{"name", "library", "source", "summary",
 * "conventions": {...}, "defaults": [{"function", "kind", "parameter",
 * "value"}...]}...]}. Caller frees with cJSON_Delete; NULL when out of
 * memory.
 */
cJSON *wire_profiles(void);

/*
 * Adds "losses" and "metrics" objects (key -> number or null) and a
 * "warnings" array to obj (borrowed, modified). specs, values (n each)
 * and warn borrowed. SEG_ENOMEM.
 */
seg_status wire_add_results(cJSON *obj, const spec *specs, const double *values, size_t n,
			    const eval_warnings *warn);

/*
 * The multi-class answer's fields on obj (borrowed, modified): "classes"
 * [{"id", "name"}...], "losses" and "metrics" (the averages; metrics
 * averaged with "none" are left out), "per_class" {metric key: {class
 * key: value}} over every class, "confusion" when
 * asked, and "warnings" (r's, then the notes, borrowed, nnotes of them).
 * All arguments borrowed. SEG_ENOMEM.
 */
seg_status wire_add_mc_results(cJSON *obj, const cls_table *classes, const spec *specs, size_t n,
			       const mce_result *r, const mce_opts *o, int confusion, const char (*notes)[EVAL_WARN_LEN],
			       int nnotes);

/*
 * Parses one spec from a JSON value (borrowed): a string "name" (the
 * command-line form "name:key=value" is accepted too) or an object
 * {"name": ..., "as": alias, param: value...}. SEG_EINVAL naming the
 * problem; a parameter that only other functions take is refused naming
 * them and, when profile (borrowed, may be NULL) is given, the profile
 * in force: no library of any profile gives the function that parameter.
 */
seg_status wire_parse_spec(const cJSON *item, spec_kind kind, const char *profile, spec *out, seg_error *err);

/* A number, or null for NaN/infinity. NULL on allocation failure. */
cJSON *wire_number(double v);

/* ms since the Unix epoch as ISO 8601 in UTC with milliseconds, "2026-11-26T14:58:49.416Z", into out. */
void wire_iso8601(int64_t ms, char out[32]);

/*
 * Adds a time to obj (borrowed, modified) twice: key as milliseconds
 * since the Unix epoch, and key_iso as ISO 8601 (wire_iso8601). key
 * borrowed, at most 40 characters.
 */
void wire_add_time(cJSON *obj, const char *key, int64_t ms);

#endif
