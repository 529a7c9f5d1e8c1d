/*
 * fuzzutil.h — what the fuzz targets share: the libFuzzer entry point,
 * the invariants every decoded mask, error and spec must hold, and the
 * decoding of a parsed request's masks.
 *
 * A broken invariant prints what broke and aborts; libFuzzer reports the
 * abort with the input that caused it, and replay.c names the file.
 */
#ifndef FUZZUTIL_H
#define FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/seg.h"
#include "core/spec.h"
#include "service/request.h"

/* Pixel cap for masks decoded by the targets: small, so every run stays fast. */
#define FZ_MAX_PIXELS (1u << 16)

/* Pixel cap for masks reached through a request (the decoders have their own targets). */
#define FZ_REQ_MAX_PIXELS (1u << 12)

/* The libFuzzer entry point: each fuzz_*.c defines it, replay.c calls it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A new copy of data (caller frees; NULL when out of memory) with the PNG
 * signature put in front when it is missing and every complete chunk's
 * CRC made right, so that mutations reach past the chunk checks; *len
 * receives its length.
 */
uint8_t *fz_png_repair(const uint8_t *data, size_t size, size_t *len);

/* Prints the printf-style message on stderr and aborts. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Aborts, naming the condition and its place, unless cond holds. */
#define FZ_ASSERT(cond) \
	((cond) ? (void)0 : fz_fail("%s:%d: invariant does not hold: %s", __FILE__, __LINE__, #cond))

/*
 * Aborts unless err (borrowed) describes st: on failure err->status is st
 * and err->msg a non-empty, NUL-terminated message. Callers clear err
 * before the call under test, so a failure that writes no message shows.
 */
void fz_check_error(seg_status st, const seg_error *err);

/*
 * Aborts unless t (borrowed) is a decoded target within max_pixels: sides
 * in 1..SEG_MAX_SIDE, fg[i] in {0, 1}, and labels either NULL or non-zero
 * exactly where fg is set and holding at least two distinct values.
 */
void fz_check_target(const seg_target *t, uint64_t max_pixels);

/*
 * The same for a target whose instances the source names (an annotation
 * export's objects, a label map's components): labels are never NULL and
 * may hold a single instance.
 */
void fz_check_given_target(const seg_target *t, uint64_t max_pixels);

/* Aborts unless p (borrowed) is a decoded prediction within max_pixels, every p[i] in [0, 1]. */
void fz_check_pred(const seg_pred *p, uint64_t max_pixels);

/*
 * Aborts unless s (borrowed) is a spec of the given kind as the parsers
 * leave it: a catalogue function, a valid key, every parameter of the
 * function within its declared range or choices, and weight-map
 * parameters that wmap_params_check accepts.
 */
void fz_check_spec(const spec *s, spec_kind kind);

/*
 * Checks a parsed evaluation request (borrowed), then decodes each case's
 * masks with mask_decode_* under FZ_REQ_MAX_PIXELS and checks what comes
 * out, so the fuzzer reaches the decoders through the request path.
 */
void fz_check_eval(const req_eval *r);

/* The same for a parsed weight-map request (borrowed). */
void fz_check_wmap(const req_wmap *r);

#endif
