/*
 * jsonlift.h — a JSON request body parsed by cJSON without copying its
 * long strings.
 *
 * cJSON copies every string into one of its own, and a request is mostly
 * a few strings of base64. When the body may be overwritten, jl_parse
 * cuts its long value strings out of a copy (the skeleton) that cJSON
 * parses; the strings where a mask goes point back into the body, where
 * the caller decodes them in place (jl_text), and every other string
 * gets its text back. What parses and where an error is reported do not
 * change.
 */
#ifndef JSONLIFT_H
#define JSONLIFT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "core/seg.h"

/* The strings lifted out of one body: zero-initialised before jl_parse, then jl_release. */
typedef struct jl_lifted {
	uint8_t *body; /* borrowed: the body the strings stay in */
	struct jl_string *v;
	size_t n;
} jl_lifted;

/*
 * Parses body (len bytes; borrowed) as a JSON object into *out (owned by
 * the caller: cJSON_Delete). With lf, the body is writable and its long
 * strings are lifted (lf keeps them until jl_release; *out must not
 * outlive the body). items and prediction say which value strings are
 * masks: "target" (and "prediction" when prediction is set) at the top
 * or in an element of "items" (when items is set), directly or as the
 * "png" or "npy" of an object. SEG_EDECODE for invalid JSON (the byte
 * offset in the body), SEG_EINVAL for a \u0000 escape or a body that is
 * not an object, SEG_ENOMEM.
 */
seg_status jl_parse(const uint8_t *body, size_t len, jl_lifted *lf, int items, int prediction, cJSON **out,
		    seg_error *err);

/*
 * The text of the string node v and its length into *len: for a mask
 * string lifted out of the body (lf not NULL), its bytes in the body
 * (writable: the caller may decode it in place); otherwise v's own
 * string (writable, owned by the tree).
 */
char *jl_text(const cJSON *v, const jl_lifted *lf, size_t *len);

/* Frees what jl_parse kept in lf (not the body). */
void jl_release(jl_lifted *lf);

#endif
