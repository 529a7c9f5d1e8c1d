/*
 * b64.h — base64 (RFC 4648, standard alphabet) both ways.
 *
 * Decoding accepts what clients send: ASCII whitespace anywhere, padding
 * present or absent, and a leading "data:<type>;base64," URL prefix.
 * Anything else (a stray character, '=' in the middle, a single dangling
 * sextet, bits set in the padding) is an error that names its offset.
 */
#ifndef B64_H
#define B64_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"

/* Upper bound of the decoded size of len input characters. */
size_t b64_decoded_max(size_t len);

/* Exact encoded length of n bytes, with padding, without a NUL. */
size_t b64_encoded_len(size_t n);

/*
 * Decodes in[0..len) (borrowed) into out, which must hold
 * b64_decoded_max(len) bytes; out may equal (uint8_t *)in to decode in
 * place. Writes the decoded length to *outlen on success (0 on error;
 * out's contents are then unspecified, so in-place input is lost).
 * Errors: SEG_EDECODE "invalid base64 at offset N" (offsets count from
 * the start of in, data: prefix included).
 */
seg_status b64_decode(const char *in, size_t len, uint8_t *out, size_t *outlen, seg_error *err);

/*
 * Encodes in[0..n) (borrowed) into out, which must hold
 * b64_encoded_len(n) + 1 bytes; writes a terminating NUL. Returns the
 * number of characters written, without the NUL.
 */
size_t b64_encode(const uint8_t *in, size_t n, char *out);

#endif
