/*
 * multipart.h — multipart/form-data (RFC 7578) parsed from a complete,
 * in-memory body.
 *
 * Parsing takes a byte buffer, not a socket, so tests and fuzzers drive it
 * directly. Parts point into the body (borrowed, no copies); the number of
 * parts and the size of part headers are capped.
 */
#ifndef MULTIPART_H
#define MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

#define MP_MAX_PARTS 64
#define MP_NAME_MAX 64

typedef struct mp_part {
	char name[MP_NAME_MAX];       /* form field name */
	int has_filename;             /* a file part (filename= present) */
	const uint8_t *data;          /* borrowed from the body */
	size_t len;
} mp_part;

typedef struct mp_form {
	int count;
	mp_part parts[MP_MAX_PARTS];
} mp_form;

#define MP_BOUNDARY_MAX 70 /* longest boundary RFC 2046 allows */

/*
 * Extracts the boundary from a Content-Type value (borrowed) such as
 * `multipart/form-data; boundary="abc"` into out (cap bytes).
 * SEG_EDECODE when absent or longer than MP_BOUNDARY_MAX characters.
 */
seg_status mp_boundary(const char *content_type, char *out, size_t cap, seg_error *err);

/*
 * Splits body (borrowed, len bytes) into parts delimited by boundary
 * (borrowed; 1 to MP_BOUNDARY_MAX characters, else SEG_EDECODE).
 * SEG_EDECODE naming the problem ("multipart: no closing boundary"),
 * SEG_ETOOBIG past MP_MAX_PARTS parts.
 */
seg_status mp_parse(const uint8_t *body, size_t len, const char *boundary, mp_form *form,
		    seg_error *err);

/* The first part called name, or NULL. */
const mp_part *mp_find(const mp_form *form, const char *name);

#endif
