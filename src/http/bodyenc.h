/*
 * bodyenc.h — compressed request bodies: Content-Encoding gzip and zstd.
 *
 * The HTTP layer reads the body as sent (its Content-Length is checked
 * against the body cap), then a worker inflates it here into a buffer
 * that may not grow past the same cap: a body that inflates past it is
 * refused while inflating (413), whatever its compressed size, so a
 * compression bomb costs at most the cap. Takes bytes, not a connection:
 * the fuzzer calls it directly.
 */
#ifndef BODYENC_H
#define BODYENC_H

#include <stddef.h>
#include <stdint.h>

#include "codec/buf.h"
#include "core/seg.h"

typedef enum bodyenc {
	BODYENC_IDENTITY, /* no header, or "identity" */
	BODYENC_GZIP,     /* "gzip" or "x-gzip" (RFC 9110 §8.4.1.3) */
	BODYENC_ZSTD,     /* "zstd" (RFC 8878) */
} bodyenc;

/* The accepted codings, for messages and the spec. */
#define BODYENC_NAMES "gzip, zstd or identity"

/*
 * The coding a Content-Encoding header names (header borrowed, NULL or
 * empty: identity; names are case-insensitive). Anything else, a list of
 * codings included, is SEG_EUNSUPPORTED naming it.
 */
seg_status bodyenc_parse(const char *header, bodyenc *out, seg_error *err);

/* "gzip", "zstd" or "identity". */
const char *bodyenc_name(bodyenc e);

/*
 * Inflates in[0..len) (borrowed), compressed with e, into out
 * (caller-initialised; released and left empty on error), which may not
 * grow past cap bytes. gzip: one or more members (RFC 1952), each with
 * its CRC and length checked; zstd: one or more frames, the decoder's
 * window held to the cap or 8 MiB, whichever is more (a larger window
 * is SEG_ETOOBIG). Errors: SEG_ETOOBIG when the inflated body
 * would pass cap, SEG_EDECODE for data that is not a whole, valid stream
 * (the message names the coding and the offset), SEG_ENOMEM.
 */
seg_status bodyenc_decode(bodyenc e, const uint8_t *in, size_t len, size_t cap, buf *out, seg_error *err);

#endif
